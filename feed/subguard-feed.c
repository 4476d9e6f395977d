/*
 * NAME
 *	subguard-feed 8
 * SUMMARY
 *	delivery outcomes from the MTA's log into subguard's Redis
 * SYNOPSIS
 *	subguard-feed [-f] [-o] [-V] [-c FILE] [-F FORMAT] [-n NAME]
 *		[-m ADDRESS] LOGFILE|-|-J
 * DESCRIPTION
 *	See subguard-feed(8). Bounces only show in the MTA's delivery log;
 *	this program follows that log (sg_follow; with -J the journal itself,
 *	sg_journal, its records read by sg_logparse_fields()), parses each line in the
 *	one format it is told ([feed] log_format, or -F; sg_logparse) and
 *	hands each final failure to the engine
 *	(sg_engine_outcome), which finds the login from the queue id that
 *	the milter recorded and counts it, quarantining the account when the
 *	failures say it is compromised.
 *
 *	Work per line. Lines that are not outcomes, deferrals (not final)
 *	and deliveries (the milter counted every accepted recipient as
 *	delivered already) cost no Redis call. A failure costs one call,
 *	which also saves the position after that line, atomically, so a
 *	restart neither loses nor double counts it. The position alone is
 *	saved after 1000 lines without a call, and at least every second
 *	while lines were read, so a restart re-reads at most that much, and
 *	re-reading such lines does nothing.
 *
 *	Redis down: the failure being counted is retried with backoff until
 *	Redis answers, never skipped; reading waits meanwhile. A signal to
 *	stop ends the wait; the position then stays before that line.
 *
 *	The configuration, the Redis pool and the engine are built exactly
 *	as the daemon builds them (sg_runtime_build() in daemon/).
 *
 *	Signals: SIGTERM and SIGINT save the position and exit 0; SIGHUP
 *	makes the follower switch to whatever file the name names now.
 * DIAGNOSTICS
 *	Usage and configuration errors go to standard error, exit status 1
 *	(2 for usage). At run time everything goes to syslog, and to
 *	standard error as well with -f.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sg_feed_metrics.h"
#include "sg_follow.h"
#include "sg_journal.h"
#include "sg_metrics_serve.h"
#include "sg_log.h"
#include "sg_notify.h"
#include "sg_runtime.h"
#include "sg_logparse.h"
#include "sg_sdnotify.h"

#define DEF_CONFIG	"/etc/subguard/subguard.conf"
#define DEF_FEED	"default"

#define SAVE_EVERY_LINES 1000	/* lines without a Redis call, then save */
#define SAVE_EVERY_MS	1000	/* or this long, whichever comes first */
#define BAD_SAMPLES	5	/* unparsable lines quoted in the log */
#define BAD_REPORT_SECS	60	/* then a count at most this often */
#define SAMPLE_MAX	240	/* bytes of a quoted line */
#define RETRY_MIN_MS	100
#define RETRY_MAX_MS	5000
#define COMPLAIN_SECS	60	/* repeat a persisting trouble this often */

static volatile sig_atomic_t stop;
static volatile sig_atomic_t hup;
static volatile sig_atomic_t wake;	/* any signal: end the wait for lines */

struct feed {
    struct sg_runtime *rt;
    struct sg_follow *follow;
    struct sg_journal *journal;	/* -J: read instead of follow */
    struct sg_journal_rec rec;	/* the journal's record being handled */
    const char *name;		/* NULL: no position (standard input) */
    int     dirty;		/* lines done since the position was saved */
    unsigned long since_save;	/* how many */
    double  last_save;		/* monotonic seconds */
    double  save_complained;	/* last "cannot save" said */
    unsigned long bad_reported;	/* bad lines already reported */
    double  bad_report_at;
    struct sg_logsource src;	/* the log's format, whose lines count */
    unsigned long foreign_reported;	/* lines not of the format, reported */
    double  foreign_report_at;
    /* Totals, for the summary. */
    unsigned long lines, ignored, delivered, deferred, bad, foreign;
    unsigned long outcomes, counted, unknown, quarantined;
    int     warned_short_qid;		/* said once: short queue ids */
    /* Metrics: the registry, its listener bound before detaching. */
    struct sg_metrics *metrics;
    int     msock;
    double  behind_at;			/* when the bytes behind were checked */
};

/* What is read: a file or a stream (sg_follow), or the journal (-J). */
#define SRC_NAME(fd)	((fd)->journal ? sg_journal_name((fd)->journal) \
			 : sg_follow_name((fd)->follow))
#define SRC_POS(fd)	((fd)->journal ? sg_journal_position((fd)->journal) \
			 : sg_follow_position((fd)->follow))

/* usage - how to call */
static void usage(void)
{
    fprintf(stderr, "usage: subguard-feed [-f] [-o] [-V] [-c FILE] "
	    "[-F FORMAT] [-n NAME] [-m ADDRESS] LOGFILE|-|-J\n"
	    "  -c FILE   configuration (default " DEF_CONFIG ")\n"
	    "  -F FORMAT the log's format: syslog, rfc5424 or journal-json\n"
	    "            (default: [feed] log_format)\n"
	    "  -f        stay in the foreground, log to standard error too\n"
	    "  -o        read to the end once and exit\n"
	    "  -n NAME   name of this feed's saved position (default "
	    DEF_FEED ")\n"
	    "  -m ADDRESS serve metrics on HOST:PORT (default: [metrics] "
	    "feed_listen)\n"
	    "  -J        read the journal, not a file ([feed] journal_units)\n"
	    "  -V        print the version and exit\n"
	    "  LOGFILE   the MTA's delivery log; - reads standard input "
	    "(no position)\n");
    exit(2);
}

/* on_signal - note the signal; the main loop acts on it */
static void on_signal(int sig)
{
    if (sig == SIGHUP)
	hup = 1;
    else
	stop = 1;
    wake = 1;
}

/* mono - monotonic seconds, for intervals */
static double mono(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec + t.tv_nsec / 1e9);
}

/* wall - the time the engine counts an outcome at */
static double wall(void)
{
    struct timespec t;

    clock_gettime(CLOCK_REALTIME, &t);
    return (t.tv_sec + t.tv_nsec / 1e9);
}

/* nap - sleep ms, or less when a signal comes */
static void nap(int ms)
{
    (void) poll(0, 0, ms);
}

/* valid_name - a feed name becomes part of a Redis key: keep it plain */
static int valid_name(const char *name)
{
    size_t  n;

    for (n = 0; name[n]; n++)
	if (!((name[n] >= 'a' && name[n] <= 'z')
	      || (name[n] >= 'A' && name[n] <= 'Z')
	      || (name[n] >= '0' && name[n] <= '9')
	      || name[n] == '.' || name[n] == '_' || name[n] == '-'))
	    return (0);
    return (n > 0 && n <= 64);
}

/* quoted - untrusted text for inside "..." in a log line */
static const char *quoted(const char *text, size_t len, char *buf,
			          size_t size)
{
    size_t  i, n = 0;
    unsigned char c;

    for (i = 0; i < len && n + 4 < size; i++) {
	c = (unsigned char) text[i];
	buf[n++] = (c < ' ' || c >= 127 || c == '"' || c == '\\') ? '?' : c;
    }
    if (i < len) {
	memcpy(buf + n, "...", 3);
	n += 3;
    }
    buf[n] = 0;
    return (buf);
}

/* mark_done - a line that needed no Redis call */
static void mark_done(struct feed *fd)
{
    fd->dirty = 1;
    fd->since_save++;
}

/* saved - the position went to Redis (alone or with an outcome) */
static void saved(struct feed *fd)
{
    fd->dirty = 0;
    fd->since_save = 0;
    fd->last_save = mono();
}

/* incident_log - a receiver incident that started or ended */
static void incident_log(const struct sg_outcome *out)
{
    char    domain[300];

    sg_log(LOG_NOTICE, "action=incident domain=%s state=%s logins=%d",
	   sg_log_safe(out->incident_domain, domain, sizeof(domain)),
	   out->incident_state, out->incident_logins);
    if (strcmp(out->incident_state, "start") == 0)
	sg_fmetrics_incident();
}

/*
 * save_position - the position alone, when lines were read since the
 * last save. Failure is not fatal: the lines are re-read after a
 * restart and count nothing; it is tried again later.
 */
static void save_position(struct feed *fd)
{
    struct sg_outcome out;
    const char *pos;
    char    err[256];

    if (fd->name == 0 || !fd->dirty)
	return;
    if (*(pos = SRC_POS(fd)) == 0)
	return;
    if (sg_engine_outcome(fd->rt->engine, &fd->rt->store, 0, 0, SG_DSN_NONE, 0,
			  wall(), fd->name, pos, &out, err, sizeof(err)) < 0) {
	if (mono() - fd->save_complained >= COMPLAIN_SECS) {
	    sg_log(LOG_WARNING, "feed=%s cannot save position %s: %s; trying "
		   "again later", fd->name, pos, err);
	    fd->save_complained = mono();
	}
	fd->last_save = mono();			/* not at every line */
	return;
    }
    if (out.incident_state[0])
	incident_log(&out);
    saved(fd);
}

/* bad_report - how many lines did not parse, at most once a minute */
static void bad_report(struct feed *fd, int now)
{
    if (fd->bad <= fd->bad_reported)
	return;
    if (!now && mono() - fd->bad_report_at < BAD_REPORT_SECS)
	return;
    if (fd->bad > BAD_SAMPLES)
	sg_log(LOG_WARNING, "unparsable lines: %lu more, %lu in all in %s",
	       fd->bad - fd->bad_reported, fd->bad,
	       SRC_NAME(fd));
    fd->bad_reported = fd->bad;
    fd->bad_report_at = mono();
}

/* bad_line - count a line that looks like an outcome and does not parse */
static void bad_line(struct feed *fd, const char *line, size_t len)
{
    char    buf[SAMPLE_MAX + 8];

    fd->bad++;
    if (fd->bad <= BAD_SAMPLES) {
	sg_log(LOG_WARNING, "unparsable line %lu in %s (sample %lu of %d): "
	       "\"%s\"", fd->lines, SRC_NAME(fd), fd->bad,
	       BAD_SAMPLES, quoted(line, len, buf, sizeof(buf)));
	fd->bad_reported = fd->bad;
	fd->bad_report_at = mono();
    } else
	bad_report(fd, 0);
}

/* foreign_report - how many lines were not of the format, once a minute */
static void foreign_report(struct feed *fd, int now)
{
    if (fd->foreign <= fd->foreign_reported)
	return;
    if (!now && mono() - fd->foreign_report_at < BAD_REPORT_SECS)
	return;
    if (fd->foreign > BAD_SAMPLES)
	sg_log(LOG_WARNING, "lines not in %s format: %lu more, %lu in all in "
	       "%s", sg_log_format_name(fd->src.format),
	       fd->foreign - fd->foreign_reported, fd->foreign,
	       SRC_NAME(fd));
    fd->foreign_reported = fd->foreign;
    fd->foreign_report_at = mono();
}

/*
 * foreign_line - count a line whose header is not of the configured
 * format: nothing in it is read. Many of them mean a wrong log_format.
 */
static void foreign_line(struct feed *fd, const char *line, size_t len)
{
    char    buf[SAMPLE_MAX + 8];

    fd->foreign++;
    if (fd->foreign <= BAD_SAMPLES) {
	sg_log(LOG_WARNING, "line %lu in %s is not in %s format, skipped "
	       "(sample %lu of %d; is log_format or -F right?): \"%s\"",
	       fd->lines, SRC_NAME(fd),
	       sg_log_format_name(fd->src.format), fd->foreign, BAD_SAMPLES,
	       quoted(line, len, buf, sizeof(buf)));
	fd->foreign_reported = fd->foreign;
	fd->foreign_report_at = mono();
    } else
	foreign_report(fd, 0);
}

/*
 * outcome - count one failure; retried until Redis answers. Returns -1
 * only when told to stop while retrying: the line is then not done.
 */
static int outcome(struct feed *fd, const struct sg_delivery *d)
{
    const struct sg_config *cfg = &fd->rt->cfg;
    struct sg_outcome out;
    const char *pos = fd->name ? SRC_POS(fd) : 0;
    char    err[256], login[SG_LOGIN_MAX + 16], reason[300], qid[64];
    double  failing = 0, said = 0;
    int     rc, wait = RETRY_MIN_MS;

    sg_log_safe(d->qid, qid, sizeof(qid));
    if (!fd->warned_short_qid && sg_qid_short(d->qid)) {
	fd->warned_short_qid = 1;
	sg_log(LOG_WARNING, "qid=%s is a short Postfix queue id: short ids "
	       "are reused, so a bounce of a later message may meet an "
	       "earlier message's record (counted at most up to its "
	       "recipients); set enable_long_queue_ids = yes in main.cf", qid);
    }
    for (;;) {
	rc = sg_engine_outcome(fd->rt->engine, &fd->rt->store, d->qid, d->rcpt,
			       d->cls,
			       d->nrcpt, wall(), fd->name,
			       pos && *pos ? pos : 0, &out, err, sizeof(err));
	if (rc >= 0)
	    break;
	if (failing)
	    sg_fmetrics_lag(mono() - failing);
	if (failing == 0 || mono() - said >= COMPLAIN_SECS) {
	    sg_log(LOG_WARNING, "qid=%s class=%s cannot be counted: %s; "
		   "retrying this line, reading waits", qid,
		   sg_dsn_class_name(d->cls), err);
	    said = mono();
	    if (failing == 0)
		failing = said;
	}
	if (stop)
	    return (-1);
	nap(wait);
	wait = wait * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : wait * 2;
    }
    if (failing) {
	sg_log(LOG_NOTICE, "qid=%s counted after %.0f s of store trouble", qid,
	       mono() - failing);
	sg_fmetrics_lag(0);
    }
    fd->outcomes++;
    if (rc == 1)
	fd->counted++;
    else
	fd->unknown++;
    sg_fmetrics_outcome(rc == 1);
    if (out.seen.what == SG_SEEN_LIFT) {
	sg_fmetrics_lift();
	sg_log(LOG_NOTICE, "action=lift source=feed login=%s",
	       sg_log_safe(out.login, login, sizeof(login)));
    } else if (out.seen.what == SG_SEEN_TIER)
	sg_log(LOG_NOTICE, "action=tier source=feed login=%s "
	       "change=\"%s %s\"", sg_log_safe(out.login, login, sizeof(login)),
	       out.seen.old_tier, out.seen.new_tier);
    if (out.incident_state[0])
	incident_log(&out);
    if (out.newly_quarantined) {
	fd->quarantined++;
	sg_fmetrics_quarantine();
	sg_log(LOG_NOTICE, "action=quarantine source=feed login=%s qid=%s "
	       "class=%s rcpts=%d reason=\"%s\"%s",
	       sg_log_safe(out.login, login, sizeof(login)), qid,
	       sg_dsn_class_name(d->cls), d->nrcpt,
	       quoted(out.reason, strlen(out.reason), reason, sizeof(reason)),
	       cfg->mode == SG_MODE_DRYRUN ? " dry_run=yes" : "");
	sg_notify(cfg->notify_command, out.login, out.reason, "feed");
    }
    if (pos && *pos)
	saved(fd);
    return (0);
}

/* handle - one line of the log; -1 when it could not be finished */
static int handle(struct feed *fd, const char *line, size_t len)
{
    struct sg_delivery d;

    fd->lines++;
    switch (fd->journal ? sg_logparse_fields(&fd->src, fd->rec.prog,
					     fd->rec.plen, fd->rec.msg,
					     fd->rec.mlen, fd->rec.comm,
					     fd->rec.clen, &d)
	    : sg_logparse(&fd->src, line, len, &d)) {
    case SG_PARSE_FORMAT:
	sg_fmetrics_line(SG_FLINE_FOREIGN);
	foreign_line(fd, line, len);
	mark_done(fd);
	return (0);
    case SG_PARSE_BAD:
	sg_fmetrics_line(SG_FLINE_BAD);
	bad_line(fd, line, len);
	mark_done(fd);
	return (0);
    case SG_PARSE_IGNORED:
	sg_fmetrics_line(SG_FLINE_IGNORED);
	fd->ignored++;
	mark_done(fd);
	return (0);
    }
    switch (d.cls) {
    case SG_DSN_DELIVERED:
	sg_fmetrics_line(SG_FLINE_DELIVERED);
	fd->delivered++;
	mark_done(fd);
	return (0);
    case SG_DSN_DEFERRED:
	sg_fmetrics_line(SG_FLINE_DEFERRED);
	fd->deferred++;
	mark_done(fd);
	return (0);
    default:
	sg_fmetrics_line(SG_FLINE_OUTCOME);
	return (outcome(fd, &d));
    }
}

/*
 * resume_position - where this feed stopped last time; Redis is waited
 * for, since starting anywhere else would lose or double count. "" when
 * there is none, or when told to stop meanwhile (stop says which).
 */
static void resume_position(struct feed *fd, char *pos, size_t len)
{
    char    err[256];
    double  said = 0;
    int     wait = RETRY_MIN_MS;

    while (sg_engine_feed_position(fd->rt->engine, &fd->rt->store, fd->name,
				   pos, len, err, sizeof(err)) < 0) {
	if (said == 0 || mono() - said >= COMPLAIN_SECS) {
	    sg_log(LOG_WARNING, "feed=%s cannot read the saved position: %s; "
		   "waiting for Redis", fd->name, err);
	    said = mono();
	}
	if (stop)
	    return;
	nap(wait);
	wait = wait * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : wait * 2;
    }
}

/* absolute - path made absolute, for after the chdir("/") of daemon() */
static char *absolute(const char *path)
{
    char    cwd[PATH_MAX], *out;

    if (path[0] == '/' || getcwd(cwd, sizeof(cwd)) == 0)
	return (strdup(path));
    if ((out = malloc(strlen(cwd) + strlen(path) + 2)) != 0)
	sprintf(out, "%s/%s", cwd, path);
    return (out);
}

/* What the command line asked for. */
struct options {
    const char *path;			/* -c */
    const char *feed_name;		/* -n */
    const char *format;			/* -F, or NULL */
    const char *metrics;		/* -m, or NULL: [metrics] feed_listen */
    int     foreground;			/* -f */
    int     once;			/* -o */
    int     from_stdin;			/* LOGFILE is "-" */
    int     journal;			/* -J */
    char   *logfile;			/* absolute, or "-" */
};

/* options - read the command line; exits on a usage error */
static void options(int argc, char **argv, struct options *o,
		            struct feed *fd)
{
    char    err[256];
    int     ch;

    memset(o, 0, sizeof(*o));
    o->path = DEF_CONFIG;
    o->feed_name = DEF_FEED;
    while ((ch = getopt(argc, argv, "c:F:fJm:n:oV")) != -1) {
	switch (ch) {
	case 'c':
	    o->path = optarg;
	    break;
	case 'F':
	    o->format = optarg;
	    break;
	case 'f':
	    o->foreground = 1;
	    break;
	case 'J':
	    o->journal = 1;
	    break;
	case 'm':
	    o->metrics = optarg;
	    break;
	case 'n':
	    o->feed_name = optarg;
	    break;
	case 'o':
	    o->once = 1;
	    break;
	case 'V':
	    printf("subguard-feed %s\n", SG_VERSION);
	    exit(0);
	default:
	    usage();
	}
    }
    if (optind != argc - (o->journal ? 0 : 1))
	usage();
    if (o->format && sg_logsource_init(&fd->src, o->format, 0, err,
				       sizeof(err)) < 0) {
	fprintf(stderr, "subguard-feed: -F %s\n", err);
	exit(2);
    }
    if (!valid_name(o->feed_name)) {
	fprintf(stderr, "subguard-feed: -n %s: want 1 to 64 of "
		"A-Z a-z 0-9 . _ -\n", o->feed_name);
	exit(2);
    }
    o->from_stdin = !o->journal && strcmp(argv[optind], "-") == 0;
    o->logfile = o->journal ? strdup("journal") : o->from_stdin ?
	strdup("-") : absolute(argv[optind]);
    if (o->logfile == 0) {
	fprintf(stderr, "subguard-feed: out of memory\n");
	exit(1);
    }
}

/*
 * metrics_bind - the registry, and its listener (-m, or [metrics]
 * feed_listen) bound before detaching: an address in use fails the start
 */
static int metrics_bind(const struct options *o, struct feed *fd)
{
    const char *addr = o->metrics ? o->metrics :
    fd->rt->cfg.metrics_feed_listen;
    char    err[512];

    fd->msock = -1;
    if ((fd->metrics = sg_metrics_new()) == 0
	|| sg_fmetrics_init(fd->metrics, fd->rt->cfg.stats_interval) < 0) {
	fprintf(stderr, "subguard-feed: metrics: out of memory\n");
	return (-1);
    }
    if (*addr && (fd->msock = sg_metrics_listen(addr, err, sizeof(err))) < 0) {
	fprintf(stderr, "subguard-feed: %s %s\n", o->metrics ? "-m" :
		"[metrics] feed_listen:", err);
	return (-1);
    }
    return (0);
}

/* metrics_start - after detaching: the listener and the statistics line */
static int metrics_start(struct feed *fd)
{
    char    err[512];

    if (fd->msock >= 0 && sg_metrics_serve(fd->msock, fd->metrics, err,
					   sizeof(err)) < 0) {
	sg_log(LOG_ERR, "%s", err);
	return (-1);
    }
    if (sg_metrics_stats(fd->rt->cfg.stats_interval,
			 sg_fmetrics_stats_line) < 0)
	sg_log(LOG_ERR, "cannot start the statistics thread");
    return (0);
}

/*
 * start - configuration, syslog, signals, detaching and the follower.
 * What can be wrong locally is said on standard error before the
 * process detaches; Redis is waited for after (it may come up later).
 * Returns 0, 1 (failed: exit 1) or 2 (stopped before starting: exit 0).
 */
static int start(const struct options *o, struct feed *fd, char *pos,
		         size_t poslen)
{
    struct sg_follow_opts fo;
    struct sigaction sa;
    char    err[1024];
    int     detach;

    if (sg_runtime_build(o->path, &fd->rt, err, sizeof(err)) < 0) {
	fprintf(stderr, "subguard-feed: %s\n", err);
	return (1);
    }
    if (sg_logsource_init(&fd->src, o->format ? o->format :
			  fd->rt->cfg.log_format,
			  fd->rt->cfg.postfix_syslog_name, err,
			  sizeof(err)) < 0) {
	fprintf(stderr, "subguard-feed: %s: [feed] %s\n", o->path, err);
	return (1);
    }
    fd->name = o->from_stdin ? 0 : o->feed_name;
    if (metrics_bind(o, fd) < 0)
	return (1);
    sg_log_open(fd->rt->cfg.syslog_facility, o->foreground);

    /* No SA_RESTART: a signal must end a sleep or a poll at once. */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, 0);
    sigaction(SIGINT, &sa, 0);
    sigaction(SIGHUP, &sa, 0);

    /*
     * Detach only a long-running follower of a file: standard input would
     * be lost, and a batch run is waited for by whoever started it.
     */
    detach = !o->foreground && !o->once && !o->from_stdin;
    if (!o->from_stdin && !o->journal && access(o->logfile, R_OK) < 0
	&& (errno != ENOENT || o->once)) {
	fprintf(stderr, "subguard-feed: %s: %s\n", o->logfile,
		strerror(errno));
	return (1);
    }
    if (detach && daemon(0, 0) < 0) {
	fprintf(stderr, "subguard-feed: cannot detach: %s\n",
		strerror(errno));
	return (1);
    }
    if (metrics_start(fd) < 0)
	return (1);
    memset(&fo, 0, sizeof(fo));
    fo.once = o->once;
    fo.log = sg_log;
    if (o->from_stdin) {
	fd->follow = sg_follow_fdopen(0, "-", &fo, err, sizeof(err));
    } else {
	resume_position(fd, pos, poslen);
	if (stop) {
	    sg_log(LOG_NOTICE, "stopped before starting");
	    return (2);
	}
	if (o->journal)
	    fd->journal = sg_journal_open(fd->rt->cfg.journal_directory,
					  fd->rt->cfg.journal_units, pos,
					  o->once, sg_log, err, sizeof(err));
	else
	    fd->follow = sg_follow_open(o->logfile, pos, &fo, err,
					sizeof(err));
    }
    if (fd->follow == 0 && fd->journal == 0) {
	sg_log(LOG_ERR, "cannot follow %s: %s", o->logfile, err);
	if (!o->foreground && !detach)
	    fprintf(stderr, "subguard-feed: %s\n", err);
	return (1);
    }
    return (0);
}

/*
 * behind - at most once a second, the bytes of the log not yet read: its
 * size less the position, when the position is in the file now named
 */
static void behind(struct feed *fd, const char *logfile)
{
    unsigned long long dev, ino, off;
    struct stat st;

    if (fd->name == 0 || fd->journal || mono() - fd->behind_at < 1.0)
	return;
    fd->behind_at = mono();
    if (stat(logfile, &st) == 0
	&& sscanf(sg_follow_position(fd->follow), "%llu:%llu:%llu", &dev,
		  &ino, &off) == 3
	&& dev == (unsigned long long) st.st_dev
	&& ino == (unsigned long long) st.st_ino)
	sg_fmetrics_behind((long long) st.st_size - (long long) off);
}

/*
 * follow - handle lines until the end, a signal or a line stopped in
 * its retry. Returns 1 when a line is pending (not finished), else 0.
 */
static int follow(struct feed *fd, const char *logfile)
{
    const char *line;
    size_t  len;
    int     rc;

    for (;;) {
	wake = 0;				/* before looking: none is missed */
	if (stop)
	    return (0);
	if (hup && fd->journal == 0) {
	    hup = 0;
	    sg_log(LOG_NOTICE, "SIGHUP: reopening %s", logfile);
	    sg_follow_reopen(fd->follow);
	}
	if (fd->journal) {
	    rc = sg_journal_line(fd->journal, &fd->rec, SAVE_EVERY_MS, &wake);
	    line = fd->rec.msg;
	    len = fd->rec.mlen;
	} else
	    rc = sg_follow_line(fd->follow, &line, &len, SAVE_EVERY_MS, &wake);
	behind(fd, logfile);
	if (rc == SG_FOLLOW_LINE) {
	    if (handle(fd, line, len) < 0)
		return (1);			/* stopped in a retry */
	    if (fd->since_save >= SAVE_EVERY_LINES
		|| (fd->dirty && mono() - fd->last_save >= SAVE_EVERY_MS / 1e3))
		save_position(fd);
	    continue;
	}
	if (rc == SG_FOLLOW_END)
	    return (0);
	if (rc == SG_FOLLOW_ERROR) {
	    sg_log(LOG_ERR, "%s; trying again in 1 s", fd->journal ?
		   sg_journal_error(fd->journal) : sg_follow_error(fd->follow));
	    nap(1000);
	}
	save_position(fd);			/* idle */
	bad_report(fd, 0);
	foreign_report(fd, 0);
    }
}

/*
 * finish - the position after the last finished line (a line stopped in
 * its retry is not finished: the saved position stays before it), the
 * reports and the summary
 */
static void finish(struct feed *fd, int pending)
{
    if (!pending)
	save_position(fd);
    if (fd->dirty && fd->name && !pending)
	sg_log(LOG_WARNING, "feed=%s position not saved: the last lines "
	       "will be read again", fd->name);
    bad_report(fd, 1);
    foreign_report(fd, 1);
    sg_log(LOG_NOTICE, "stopped: lines=%lu outcomes=%lu counted=%lu "
	   "unknown_qid=%lu quarantined=%lu delivered=%lu deferred=%lu "
	   "ignored=%lu unparsable=%lu not_in_format=%lu position=%s",
	   fd->lines, fd->outcomes, fd->counted, fd->unknown, fd->quarantined,
	   fd->delivered, fd->deferred, fd->ignored, fd->bad, fd->foreign,
	   fd->name ? SRC_POS(fd) : "-");
}

int     main(int argc, char **argv)
{
    struct options o;
    struct feed fd;
    char    pos[SG_JOURNAL_POS_MAX + 64] = "";
    int     rc;

    /* Before the Redis pool is made: it then needs not guard each write. */
    signal(SIGPIPE, SIG_IGN);
    memset(&fd, 0, sizeof(fd));
    options(argc, argv, &o, &fd);
    if ((rc = start(&o, &fd, pos, sizeof(pos))) != 0)
	return (rc == 2 ? 0 : 1);
    sg_log(LOG_NOTICE, "subguard-feed %s started: log=%s feed=%s resume=%s "
	   "redis=%s%s format=%s postfix_syslog_name=%s metrics=%s%s",
	   SG_VERSION,
	   o.logfile, fd.name ? fd.name : "-", pos[0] ? pos : "-",
	   fd.rt->cfg.redis_sentinels[0] ? "sentinel:" : "",
	   fd.rt->cfg.redis_sentinels[0] ? fd.rt->cfg.redis_master_name :
	   fd.rt->cfg.redis_address, sg_log_format_name(fd.src.format),
	   fd.rt->cfg.postfix_syslog_name, o.metrics ? o.metrics :
	   fd.rt->cfg.metrics_feed_listen[0] ? fd.rt->cfg.metrics_feed_listen :
	   "off", o.once ? " once=yes" : "");
    sg_sdnotify_ready();
    fd.last_save = mono();
    finish(&fd, follow(&fd, o.logfile));
    sg_metrics_serve_stop();
    sg_follow_close(fd.follow);
    sg_journal_close(fd.journal);
    sg_runtime_release(fd.rt);
    free(o.logfile);
    return (0);
}
