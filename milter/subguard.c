/*
 * NAME
 *	subguard 8
 * SUMMARY
 *	submission milter: per-login limits, tiers and quarantine in Redis
 * SYNOPSIS
 *	subguard [-f] [-t] [-V] [-c FILE] [-k LOGIN]
 * DESCRIPTION
 *	See subguard(8). This file is the process: options, the milter
 *	socket, privileges, signals. The decisions are in sg_milter.c and
 *	lib/; Redis is in redis/sg_redis.c.
 *
 *	Signals: libmilter's own signal thread treats SIGHUP like SIGTERM
 *	(it stops the milter). subguard wants SIGHUP to reload, so libmilter
 *	runs in a thread of its own while the main thread, the only one that
 *	does not block SIGHUP, SIGTERM and SIGINT, takes them through a
 *	handler and a pipe (see main). SIGTERM ends the milter through
 *	smfi_stop(), see stop_milter() for why that needs a nudge.
 * DIAGNOSTICS
 *	Configuration errors go to standard error as "file:line: what" with
 *	exit status 1; at run time everything goes to syslog (and standard
 *	error with -f).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "sg_duration.h"
#include "sg_metrics_serve.h"
#include "sg_milter.h"
#include "sg_socket.h"
#include "sg_sdnotify.h"

#define DEF_CONFIG	"/etc/subguard/subguard.conf"

static pthread_t main_thread;
static int milter_status;
static int milter_done;			/* smfi_main returned (atomic) */
static int sig_pipe[2];			/* signal handler -> main loop */

/* What the command line asks for. */
struct options {
    const char *path;			/* configuration file */
    const char *keys_for;		/* -k LOGIN */
    int     check;			/* -t */
    int     foreground;			/* -f */
};

/* on_signal - hand a signal to the main loop; async-signal-safe */
static void on_signal(int sig)
{
    unsigned char b = (unsigned char) sig;
    int     saved = errno;
    ssize_t n;

    /* A full pipe already holds a wakeup: a failure needs nothing. */
    n = write(sig_pipe[1], &b, 1);
    (void) n;
    errno = saved;
}

/* on_nudge - SIGUSR1: only interrupts a system call (see stop_milter) */
static void on_nudge(int sig)
{
    (void) sig;
}

/* usage - how to call */
static void usage(void)
{
    fprintf(stderr, "usage: subguard [-f] [-t] [-V] [-c FILE] [-k LOGIN]\n"
	    "  -c FILE   configuration (default " DEF_CONFIG ")\n"
	    "  -t        check the configuration and exit\n"
	    "  -f        stay in the foreground, log to standard error too\n"
	    "  -k LOGIN  print the Redis keys of a login and exit\n"
	    "  -V        print the version and exit\n");
    exit(2);
}

/* print_keys - -k: the keys support staff type for one login */
static int print_keys(const struct sg_config *cfg, const char *raw)
{
    char    login[SG_LOGIN_MAX], key[SG_KEY_MAX];
    int     k;
    int     form = sg_login_normalise(raw, cfg->login_case, login,
				      sizeof(login));

    if (form == SG_LOGIN_EMPTY) {
	fprintf(stderr, "subguard: an empty login is never counted\n");
	return (1);
    }
    printf("login %s%s\n", login, form == SG_LOGIN_HASHED ?
	   " (too long: digest form)" : "");
    for (k = 0; k < SG_AKEY_COUNT; k++) {
	sg_account_key(key, sizeof(key), cfg->key_prefix, login, k);
	printf("%-10s '%s'\n", sg_account_key_suffix(k), key);
    }
    return (0);
}

/* socket_path - the file of a unix: listen address, or NULL */
static const char *socket_path(const char *listen)
{
    if (strncmp(listen, "unix:", 5) == 0)
	return (listen + 5);
    if (strncmp(listen, "local:", 6) == 0)
	return (listen + 6);
    return (0);
}

/*
 * socket_access - give the unix socket the configured owner and mode,
 * acting on the socket itself, never on whatever the path now names
 * (its directory may be writable by the unprivileged user: sg_socket.h)
 */
static int socket_access(const struct sg_config *cfg)
{
    const char *path = socket_path(cfg->listen);
    uid_t   uid = (uid_t) -1;
    gid_t   gid = (gid_t) -1;
    struct passwd *pw;
    struct group *gr;
    char    err[512];

    if (path == 0)
	return (0);
    if (cfg->socket_owner[0] && (pw = getpwnam(cfg->socket_owner)) != 0)
	uid = pw->pw_uid;
    if (cfg->socket_group[0] && (gr = getgrnam(cfg->socket_group)) != 0)
	gid = gr->gr_gid;
    if (sg_socket_secure(path, uid, gid, cfg->socket_mode, err,
			 sizeof(err)) < 0) {
	sg_log(LOG_ERR, "listen socket: %s", err);
	return (-1);
    }
    return (0);
}

/* drop_privileges - become the configured user once the socket is open */
static int drop_privileges(const struct sg_config *cfg)
{
    struct passwd *pw;
    struct group *gr;
    gid_t   gid;

    if (cfg->user[0] == 0) {
	if (geteuid() == 0)
	    sg_log(LOG_WARNING, "running as root: set user in %s", cfg->path);
	return (0);
    }
    if ((pw = getpwnam(cfg->user)) == 0) {
	sg_log(LOG_ERR, "user %s: no such user", cfg->user);
	return (-1);
    }
    gid = pw->pw_gid;
    if (cfg->group[0]) {
	if ((gr = getgrnam(cfg->group)) == 0) {
	    sg_log(LOG_ERR, "group %s: no such group", cfg->group);
	    return (-1);
	}
	gid = gr->gr_gid;
    }
    if (geteuid() != 0 && geteuid() == pw->pw_uid)
	return (0);
    if (initgroups(pw->pw_name, gid) < 0 || setgid(gid) < 0
	|| setuid(pw->pw_uid) < 0) {
	sg_log(LOG_ERR, "cannot become %s: %s", cfg->user, strerror(errno));
	return (-1);
    }
    if (setuid(0) == 0) {
	sg_log(LOG_ERR, "could regain root after dropping it");
	return (-1);
    }
    return (0);
}

/* daemonize - detach from the terminal */
static int daemonize(void)
{
    pid_t   pid;
    int     fd;

    if ((pid = fork()) < 0)
	return (-1);
    if (pid > 0)
	_exit(0);
    if (setsid() < 0)
	return (-1);
    if ((pid = fork()) < 0)
	return (-1);
    if (pid > 0)
	_exit(0);
    if (chdir("/") < 0)
	return (-1);
    if ((fd = open("/dev/null", O_RDWR)) >= 0) {
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
	    close(fd);
    }
    return (0);
}

/* milter_thread - libmilter's accept loop; tells main when it ends */
static void *milter_thread(void *arg)
{
    (void) arg;
    milter_status = smfi_main();
    __atomic_store_n(&milter_done, 1, __ATOMIC_RELEASE);
    pthread_kill(main_thread, SIGUSR2);
    return (0);
}

/* stop_thread - smfi_stop(), which may block (see stop_milter) */
static void *stop_thread(void *arg)
{
    (void) arg;
    smfi_stop();
    return (0);
}

/*
 * stop_milter - make smfi_main() in thread "milter" return, promptly.
 *
 * libmilter's listener (listener.c, mi_listener) holds its mutex L_Mutex
 * while it waits in poll() for a connection, for up to MI_CHK_TIME (5 s),
 * and checks the stop flag only between two waits. smfi_stop() sets the
 * flag and then closes the listening socket (mi_closener), which takes
 * L_Mutex: it blocks until that poll() times out, so SIGTERM took up to
 * 5 s. A poll() interrupted by a signal also lets go of L_Mutex and
 * re-checks the flag (its EINTR case), so smfi_stop() runs in a thread of
 * its own while this one interrupts the listener with SIGUSR1 (a handler
 * that does nothing) every 10 ms until smfi_main() has returned.
 */
static void stop_milter(pthread_t milter)
{
    struct timespec tick = {0, 10 * 1000 * 1000};
    pthread_t tid;
    int     i;

    if (pthread_create(&tid, 0, stop_thread, 0) != 0) {
	smfi_stop();				/* the slow way */
	return;
    }
    for (i = 0; i < 1000 && !__atomic_load_n(&milter_done, __ATOMIC_ACQUIRE);
	 i++) {
	pthread_kill(milter, SIGUSR1);
	nanosleep(&tick, 0);
    }
    pthread_join(tid, 0);
}

/* reload - SIGHUP: a new configuration, or the old one kept */
static void reload(const char *path, const struct sg_config *started)
{
    struct sg_runtime *rt;
    char    err[1024];

    if (sg_runtime_build(path, &rt, err, sizeof(err)) < 0) {
	sg_log(LOG_ERR, "reload refused, old configuration kept: %s", err);
	return;
    }
    if (strcmp(rt->cfg.listen, started->listen) != 0
	|| strcmp(rt->cfg.user, started->user) != 0)
	sg_log(LOG_WARNING, "listen and user take effect only on restart");
    if (strcmp(rt->cfg.metrics_listen, started->metrics_listen) != 0
	|| rt->cfg.stats_interval != started->stats_interval)
	sg_log(LOG_WARNING, "[metrics] takes effect only on restart");
    sg_runtime_install(rt);
    sg_log(LOG_NOTICE, "configuration reloaded from %s: %d tiers, mode=%s",
	   path, rt->cfg.ntiers,
	   rt->cfg.mode == SG_MODE_DRYRUN ? "dry-run" : "enforce");
}

/* options - the command line; exits on a bad one */
static void options(int argc, char **argv, struct options *o)
{
    int     ch;

    memset(o, 0, sizeof(*o));
    o->path = DEF_CONFIG;
    while ((ch = getopt(argc, argv, "c:fk:tV")) != -1) {
	switch (ch) {
	case 'c':
	    o->path = optarg;
	    break;
	case 'f':
	    o->foreground = 1;
	    break;
	case 'k':
	    o->keys_for = optarg;
	    break;
	case 't':
	    o->check = 1;
	    break;
	case 'V':
	    printf("subguard %s\n", SG_VERSION);
	    exit(0);
	default:
	    usage();
	}
    }
    if (optind != argc)
	usage();
}

/* print_windows - "  what 100/1m, 1000/1h" when the list is not empty */
static void print_windows(const char *what, const struct sg_windows *w)
{
    char    d[32];
    int     i;

    if (w->n == 0)
	return;
    printf(" %s", what);
    for (i = 0; i < w->n; i++)
	printf("%s%lu/%s", i ? ", " : " ", w->w[i].limit,
	       sg_format_duration(w->w[i].seconds, d, sizeof(d)));
    printf(";");
}

/* print_tiers - for -t: each tier's name and limits, one line each */
static void print_tiers(const struct sg_config *cfg)
{
    const struct sg_tier *t;
    int     i;

    for (i = 0; i < cfg->ntiers; i++) {
	t = cfg->tiers + i;
	printf("tier %s%s:", t->name,
	       strcmp(t->name, cfg->default_tier) ? "" : " (default)");
	print_windows("messages", &t->messages);
	print_windows("recipients", &t->recipients);
	printf(" recipients_surge %g;", t->surge);
	print_windows("quarantine_recipients", &t->q_recipients);
	print_windows("quarantine_rejected", &t->q_rejected);
	print_windows("quarantine_failed", &t->q_failed);
	printf(" failure test %s\n", t->normal_failure > 0 ? "on" : "off");
    }
}

/* open_milter - libmilter set up, socket open, privileges dropped */
static int open_milter(const struct sg_config *cfg, int foreground)
{
    mode_t  old_umask;
    int     opened;

    if (smfi_setconn((char *) cfg->listen) == MI_FAILURE
	|| smfi_settimeout(cfg->milter_timeout) == MI_FAILURE
	|| smfi_register(sg_milter_desc) == MI_FAILURE) {
	fprintf(stderr, "subguard: cannot set up libmilter for %s\n",
		cfg->listen);
	return (-1);
    }
    /* Born private: nobody may connect before its owner and mode are set. */
    old_umask = umask(077);
    opened = smfi_opensocket(1);
    umask(old_umask);
    if (opened == MI_FAILURE) {
	fprintf(stderr, "subguard: cannot listen on %s\n", cfg->listen);
	return (-1);
    }
    if (socket_access(cfg) < 0 || drop_privileges(cfg) < 0) {
	fprintf(stderr, "subguard: cannot set up socket or privileges: "
		"see the log\n");
	return (-1);
    }
    if (!foreground && daemonize() < 0) {
	fprintf(stderr, "subguard: cannot detach: %s\n", strerror(errno));
	return (-1);
    }
    return (0);
}

/*
 * Thread stacks of SG_THREAD_STACK instead of glibc's default (the stack
 * rlimit, 8 MiB on Debian). libmilter's worker pool starts a thread
 * whenever a command arrives and no worker is idle, and a worker quits
 * when two others are idle: under load threads come and go by the
 * hundred a second. glibc keeps 40 MiB of freed stacks for reuse, which
 * is five 8 MiB stacks: the rest were unmapped and mapped again, with a
 * TLB shootdown on every CPU each time. At 256 KiB the cache holds 160
 * and a new worker reuses one. Measured side by side on the milter
 * socket (bench/run-ab.sh; one message of one recipient per connection):
 * subguard's CPU per message 0.56-0.62 ms -> 0.42-0.48 ms, the
 * do-nothing milter's being 0.41-0.43.
 * No thread here needs much: every ctest test but the packaging and
 * benchmark ones (77) passed with -DSG_THREAD_STACK=65536, Sentinel,
 * reconnects and the notify script included; 256 KiB leaves a factor of
 * four, and the ASan build in CI runs with it too.
 */
#ifndef SG_THREAD_STACK
#define SG_THREAD_STACK	(256 * 1024)
#endif

static void *stack_probe(void *arg)
{
    return (arg);
}

static void small_thread_stacks(void)
{
    pthread_attr_t a, before;
    pthread_t t;
    int     have_before;

    have_before = pthread_getattr_default_np(&before) == 0;
    if (pthread_attr_init(&a) != 0)
	return;
    if (pthread_attr_setstacksize(&a, SG_THREAD_STACK) == 0
	&& pthread_setattr_default_np(&a) == 0) {
	/*
	 * A runtime may refuse threads of the new default: ThreadSanitizer's
	 * pthread_create() does (every thread failed to start). Then keep
	 * the default it had.
	 */
	if (pthread_create(&t, 0, stack_probe, 0) == 0)
	    pthread_join(t, 0);
	else if (have_before && pthread_setattr_default_np(&before) == 0)
	    sg_log(LOG_INFO, "threads keep the default stack size: %d KiB "
		   "stacks cannot be started here", SG_THREAD_STACK / 1024);
    }
    pthread_attr_destroy(&a);
    if (have_before)
	pthread_attr_destroy(&before);
}

/* start_milter - signals to the main thread alone, libmilter on its own */
static int start_milter(pthread_t *tid)
{
    struct sigaction sa;
    sigset_t set;

    /*
     * Block the signals in every thread, libmilter's included; then the
     * main thread alone unblocks them, with a handler that only writes to
     * a pipe. Linux gives a process-directed signal to the main thread
     * whenever that thread does not block it, so libmilter's signal
     * thread (which would stop the milter on SIGHUP) never sees one, even
     * while the main thread is busy reloading (a storm of SIGHUPs once
     * reached libmilter when the main thread waited in sigwait() instead).
     */
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, 0);
    if (pipe(sig_pipe) < 0) {
	sg_log(LOG_ERR, "pipe: %s", strerror(errno));
	return (-1);
    }
    main_thread = pthread_self();

    /*
     * SIGUSR1 nudges the milter thread out of poll() at shutdown (see
     * stop_milter); it must never end the process, whoever sends it.
     */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_nudge;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, 0);
    if (pthread_create(tid, 0, milter_thread, 0) != 0) {
	sg_log(LOG_ERR, "cannot start the milter thread");
	return (-1);
    }
    /*
     * SA_NODEFER and an empty mask: the main thread must not block these
     * signals even while its handler runs, or one sent meanwhile would go
     * to libmilter's thread.
     */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, 0);
    sigaction(SIGTERM, &sa, 0);
    sigaction(SIGINT, &sa, 0);
    sigaction(SIGUSR2, &sa, 0);
    pthread_sigmask(SIG_UNBLOCK, &set, 0);
    return (0);
}

/*
 * metrics_bind - the registry, and its listener bound before the process
 * detaches, so that an address in use fails the start on standard error
 */
static int metrics_bind(const struct sg_config *cfg, struct sg_metrics **m,
			        int *sock)
{
    char    err[512];

    *sock = -1;
    if ((*m = sg_metrics_new()) == 0
	|| sg_mmetrics_init(*m, cfg->stats_interval) < 0) {
	fprintf(stderr, "subguard: metrics: out of memory\n");
	return (-1);
    }
    if (cfg->metrics_listen[0]
	&& (*sock = sg_metrics_listen(cfg->metrics_listen, err,
				      sizeof(err))) < 0) {
	fprintf(stderr, "subguard: [metrics] listen: %s\n", err);
	return (-1);
    }
    return (0);
}

/* metrics_start - after detaching: the listener and the statistics line */
static int metrics_start(const struct sg_config *cfg, struct sg_metrics *m,
			         int sock)
{
    char    err[512];

    if (sock >= 0 && sg_metrics_serve(sock, m, err, sizeof(err)) < 0) {
	sg_log(LOG_ERR, "%s", err);
	return (-1);
    }
    if (sg_metrics_stats(cfg->stats_interval, sg_mmetrics_stats_line) < 0)
	sg_log(LOG_ERR, "cannot start the statistics thread");
    return (0);
}

/* serve - take signals until the milter is to stop, or stopped itself */
static void serve(const char *path, const struct sg_config *started,
		          pthread_t tid)
{
    unsigned char b;
    ssize_t n;

    for (;;) {
	n = read(sig_pipe[0], &b, 1);
	if (n < 0 && errno == EINTR)
	    continue;
	if (n <= 0)
	    break;
	if (b == SIGHUP) {
	    sg_sdnotify_reloading();
	    reload(path, started);
	    sg_sdnotify_ready();
	    continue;
	}
	if (b == SIGUSR2)
	    break;				/* smfi_main returned by itself */
	sg_log(LOG_NOTICE, "stopping on signal %d", b);
	sg_sdnotify_stopping();
	stop_milter(tid);
	break;
    }
}

int     main(int argc, char **argv)
{
    struct options o;
    struct sg_runtime *rt;
    struct sg_config started;
    struct sg_metrics *metrics;
    char    err[1024];
    pthread_t tid;
    int     rc, msock;

    /* Before the Redis pool is made: it then needs not guard each write. */
    signal(SIGPIPE, SIG_IGN);
    options(argc, argv, &o);

    /*
     * Everything that can be wrong with the configuration is found here,
     * before the process detaches, and said on standard error.
     */
    if (sg_runtime_build(o.path, &rt, err, sizeof(err)) < 0) {
	fprintf(stderr, "subguard: %s\n", err);
	return (1);
    }
    if (o.keys_for) {
	rc = print_keys(&rt->cfg, o.keys_for);
	sg_runtime_release(rt);
	return (rc);
    }
    if (o.check) {
	printf("subguard: %s: configuration is valid (%d tiers, mode %s)\n",
	       o.path, rt->cfg.ntiers,
	       rt->cfg.mode == SG_MODE_DRYRUN ? "dry-run" : "enforce");
	print_tiers(&rt->cfg);
	sg_runtime_release(rt);
	return (0);
    }
    started = rt->cfg;
    if (metrics_bind(&started, &metrics, &msock) < 0)
	return (1);
    sg_log_open(rt->cfg.syslog_facility, o.foreground);
    if (open_milter(&rt->cfg, o.foreground) < 0)
	return (1);
    small_thread_stacks();
    sg_runtime_install(rt);
    if (metrics_start(&started, metrics, msock) < 0
	|| start_milter(&tid) < 0)
	return (1);
    sg_log(LOG_NOTICE, "subguard %s started on %s: %d tiers, mode=%s, "
	   "redis=%s%s metrics=%s", SG_VERSION, started.listen, started.ntiers,
	   started.mode == SG_MODE_DRYRUN ? "dry-run" : "enforce",
	   started.redis_sentinels[0] ? "sentinel:" : "",
	   started.redis_sentinels[0] ? started.redis_master_name :
	   started.redis_address, started.metrics_listen[0] ?
	   started.metrics_listen : "off");
    sg_sdnotify_ready();
    serve(o.path, &started, tid);
    pthread_join(tid, 0);
    sg_commitq_stop();				/* send commits still queued */
    sg_metrics_serve_stop();
    if (socket_path(started.listen))
	unlink(socket_path(started.listen));
    sg_runtime_install(0);
    sg_log(LOG_NOTICE, "stopped");
    return (milter_status == MI_SUCCESS ? 0 : 1);
}
