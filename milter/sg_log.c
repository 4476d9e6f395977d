/*
 * NAME
 *	sg_log 3
 * SUMMARY
 *	syslog, and standard error in the foreground
 * DESCRIPTION
 *	Every decision is one line of key=value pairs; see sg_milter.c.
 *	In the foreground (-f) each line also goes to standard error, so a
 *	test or a postmaster at a terminal sees it without a syslog daemon.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "sg_milter.h"

static int log_stderr;

/* facility - syslog facility by name; mail if unknown (checked by -t) */
static int facility(const char *name)
{
    static const struct {
	const char *name;
	int     code;
    }       tab[] = {
	{"mail", LOG_MAIL}, {"daemon", LOG_DAEMON}, {"user", LOG_USER},
	{"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
	{"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3},
	{"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
	{"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7},
    };
    size_t  i;

    for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
	if (strcasecmp(name, tab[i].name) == 0)
	    return (tab[i].code);
    return (LOG_MAIL);
}

/* sg_log_open - start logging */
void    sg_log_open(const char *fac, int to_stderr)
{
    log_stderr = to_stderr;
    openlog("subguard", LOG_PID | LOG_NDELAY, facility(fac));
}

/* sg_log - one line at a syslog level */
void    sg_log(int level, const char *fmt,...)
{
    va_list ap;
    char    buf[2048];

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    syslog(level, "%s", buf);
    if (log_stderr)
	fprintf(stderr, "subguard: %s\n", buf);
}

/*
 * sg_log_message - the decision line of one message: action=... stage=...
 * login= client= qid= tier= and its counts, then fmt's key=value pairs.
 * Client and queue id come from outside and are made safe here.
 */
void    sg_log_message(int level, const struct sg_msg *m, const char *client,
		               const char *qid, int dry_run, const char *action,
		               const char *stage, const char *fmt,...)
{
    va_list ap;
    char    extra[768] = "", sqid[64], sclient[80];

    if (fmt) {
	va_start(ap, fmt);
	vsnprintf(extra, sizeof(extra), fmt, ap);
	va_end(ap);
    }
    sg_log(level, "action=%s stage=%s login=%s client=%s qid=%s tier=%s "
	   "rcpts=%u rejected=%u refused=%u%s%s%s", action, stage,
	   m->login[0] ? m->login : "-",
	   sg_log_safe(client, sclient, sizeof(sclient)),
	   sg_log_safe(qid, sqid, sizeof(sqid)),
	   m->tier[0] ? m->tier : "-", m->accepted, m->rejected, m->refused,
	   extra[0] ? " " : "", extra, dry_run ? " dry_run=yes" : "");
}
