/*
 * NAME
 *	sm_shim 3
 * SUMMARY
 *	LD_PRELOAD shim for the private Sendmail of the end-to-end tests
 * DESCRIPTION
 *	A Sendmail unpacked from Debian's packages into a scratch prefix runs
 *	on this machine except for two things the machine lacks, which this
 *	shim supplies (see shared/platform-facts.md, Sendmail section):
 *
 *	- a qualified host name: Sendmail asks gethostname() before it reads
 *	  its .cf, and with an unqualified one ("vm") it sleeps 60 s per
 *	  invocation waiting for the name to resolve. gethostname() here
 *	  answers $SG_SHIM_HOSTNAME.
 *	- a syslog daemon (/dev/log): Sendmail's log lines, which the tests
 *	  and subguard-feed read, would go nowhere. openlog(), syslog(),
 *	  vsyslog() and glibc's fortified __syslog_chk()/__vsyslog_chk()
 *	  append one line per message to the file $SG_SHIM_LOG instead, in
 *	  the traditional format "Nov 22 14:00:01 host ident[pid]: message".
 *
 *	Sendmail clears its environment early in main(), so both variables
 *	are read in a constructor, which runs before main(). Sendmail also
 *	closes every descriptor it does not know, so the log file is opened
 *	for each line (O_APPEND: one write() per line keeps concurrent
 *	processes' lines whole).
 *
 *	Built by tests/e2e/harness.sh with "cc -shared -fPIC"; the unpacked
 *	sendmail binary must not be setgid, or the loader ignores LD_PRELOAD.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static char shim_log[4096];
static char shim_host[256];
static char shim_ident[64] = "sendmail";

/* shim_init - read the settings before Sendmail clears its environment */
__attribute__((constructor))
static void shim_init(void)
{
    const char *v;

    if ((v = getenv("SG_SHIM_LOG")) != 0)
	snprintf(shim_log, sizeof(shim_log), "%s", v);
    if ((v = getenv("SG_SHIM_HOSTNAME")) != 0)
	snprintf(shim_host, sizeof(shim_host), "%s", v);
}

/* gethostname - the configured name, else the kernel's */
int     gethostname(char *name, size_t len)
{
    struct utsname u;
    const char *h = shim_host;

    if (*h == 0) {
	if (uname(&u) < 0)
	    return (-1);
	h = u.nodename;
    }
    if (strlen(h) >= len) {
	errno = ENAMETOOLONG;
	return (-1);
    }
    strcpy(name, h);
    return (0);
}

/* openlog - remember the ident; nothing is opened */
void    openlog(const char *ident, int option, int facility)
{
    (void) option;
    (void) facility;
    if (ident)
	snprintf(shim_ident, sizeof(shim_ident), "%s", ident);
}

/* closelog - nothing to close */
void    closelog(void)
{
}

/* shim_vlog - one line into the log file ("%m" is strerror(errno)) */
static void shim_vlog(int pri, const char *fmt, va_list ap)
{
    char    f[2048], line[8192], host[256];
    const char *err = strerror(errno), *cp;
    size_t  n = 0, m;
    time_t  now = time(0);
    struct tm tm;
    int     fd, len;

    (void) pri;
    if (shim_log[0] == 0)
	return;
    for (cp = fmt; *cp && n + 1 < sizeof(f); cp++) {
	if (cp[0] == '%' && cp[1] == '%') {
	    f[n++] = *cp++;
	    if (n + 1 < sizeof(f))
		f[n++] = *cp;
	} else if (cp[0] == '%' && cp[1] == 'm') {
	    for (m = 0; err[m] && n + 1 < sizeof(f); m++)
		f[n++] = err[m] == '%' ? '?' : err[m];
	    cp++;
	} else
	    f[n++] = *cp;
    }
    f[n] = 0;
    if (gethostname(host, sizeof(host)) < 0)
	strcpy(host, "localhost");
    localtime_r(&now, &tm);
    len = (int) strftime(line, sizeof(line), "%b %e %H:%M:%S ", &tm);
    len += snprintf(line + len, sizeof(line) - len, "%s %s[%ld]: ", host,
		    shim_ident, (long) getpid());
    if (len < (int) sizeof(line) - 1)
	len += vsnprintf(line + len, sizeof(line) - len, f, ap);
    if (len > (int) sizeof(line) - 2)
	len = (int) sizeof(line) - 2;
    while (len > 0 && line[len - 1] == '\n')
	len--;
    line[len++] = '\n';
    if ((fd = open(shim_log, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) >= 0) {
	(void) write(fd, line, (size_t) len);
	close(fd);
    }
}

void    vsyslog(int pri, const char *fmt, va_list ap)
{
    shim_vlog(pri, fmt, ap);
}

void    syslog(int pri, const char *fmt,...)
{
    va_list ap;

    va_start(ap, fmt);
    shim_vlog(pri, fmt, ap);
    va_end(ap);
}

void    __vsyslog_chk(int pri, int flag, const char *fmt, va_list ap)
{
    (void) flag;
    shim_vlog(pri, fmt, ap);
}

void    __syslog_chk(int pri, int flag, const char *fmt,...)
{
    va_list ap;

    (void) flag;
    va_start(ap, fmt);
    shim_vlog(pri, fmt, ap);
    va_end(ap);
}
