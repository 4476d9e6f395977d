/*
 * NAME
 *	sg_log 3
 * SUMMARY
 *	syslog, and standard error in the foreground
 * DESCRIPTION
 *	Every decision is one line of key=value pairs; see sg_milter.c.
 *	Shared by the milter and the log feed.
 *	In the foreground (-f) each line also goes to standard error, so a
 *	test or a postmaster at a terminal sees it without a syslog daemon.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SYSLOG_NAMES			/* facilitynames[]: in this file only */
#include <syslog.h>

#include "sg_config.h"
#include "sg_log.h"
#include "sg_login.h"

static int log_stderr;

/* sg_log_facility - LOG_* value of a facility name, or -1 */
int     sg_log_facility(const char *name)
{
    const char *const *np;
    const CODE *cp;

    /*
     * The names subguard allows are lib/'s one list (the configuration
     * checks against it); their values are the C library's own table.
     */
    for (np = sg_syslog_facilities; *np; np++)
	if (name != 0 && strcmp(*np, name) == 0)
	    break;
    if (*np == 0)
	return (-1);
    for (cp = facilitynames; cp->c_name; cp++)
	if (strcmp(cp->c_name, name) == 0)
	    return (cp->c_val);
    return (-1);
}

/* sg_log_open - start logging; mail if the name is unknown (checked by -t) */
void    sg_log_open(const char *name, int to_stderr)
{
    int     fac = sg_log_facility(name);

    log_stderr = to_stderr;
    openlog("subguard", LOG_PID | LOG_NDELAY, fac < 0 ? LOG_MAIL : fac);
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

void    (*sg_log_decision_hook) (const char *, const char *);

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
    if (sg_log_decision_hook)
	sg_log_decision_hook(action, stage);
    sg_log(level, "action=%s stage=%s login=%s client=%s qid=%s tier=%s "
	   "rcpts=%u rejected=%u refused=%u%s%s%s", action, stage,
	   m->login[0] ? m->login : "-",
	   sg_log_safe(client, sclient, sizeof(sclient)),
	   sg_log_safe(qid, sqid, sizeof(sqid)),
	   m->tier[0] ? m->tier : "-", m->accepted, m->rejected, m->refused,
	   extra[0] ? " " : "", extra, dry_run ? " dry_run=yes" : "");
}
