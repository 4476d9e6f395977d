/*
 * NAME
 *	subguard-replay 1
 * SUMMARY
 *	replay a traffic trace through the real engine
 * SYNOPSIS
 *	subguard-replay [-c FILE] [-R] [-t USERS] [-e LOGIN] [-j N] [-q]
 *		[TRACE | -]
 * DESCRIPTION
 *	Reads a trace (../shared/trace-format.md: JSON Lines of submit and
 *	delivery events, sorted by time) and writes one verdict line per
 *	submit event, in input order. It drives exactly the code that runs
 *	in the daemon and the log feed: lib/sg_engine and engine.lua, on a
 *	real Redis, with the trace's clock instead of the wall clock:
 *
 *	submit		sg_engine_begin at MAIL, sg_engine_rcpt_at for each
 *			recipient (smtp other than 250: rejected by the MTA),
 *			sg_engine_commit at end of message, qid = msg.
 *	delivery	as subguard-feed would: sg_engine_outcome for a final
 *			failure (5.x.x) of a recipient the engine let
 *			through; deliveries and deferrals need no work. A
 *			delivery of a recipient or message the engine did not
 *			accept (tempfailed, refused, held) never happened and
 *			is skipped.
 *
 *	By default it starts a private redis-server on a unix socket in a
 *	scratch directory, so a replay can never touch production counters;
 *	-R uses the [redis] address of the configuration instead. Without -c
 *	the built-in defaults apply (those of subguard.conf(5)).
 *
 *	-t USERS reads JSON Lines with "user" and "tier" (a trace's users
 *	file) and sets each login's tier key before the replay, as support
 *	staff would for their business customers. Other fields are ignored:
 *	ground truth never reaches the engine.
 *
 *	-e LOGIN prints that account's timeline on standard error: every
 *	event, the decision, the counts, the reasons, and after each the
 *	account's score and its recipients and bounces over the last hour
 *	(sliding, as the limits count), read with sg_engine_inspect.
 *	-q prints no verdicts (for benchmarks). -j N shares the accounts out
 *	among N threads (default 4); each account stays in trace order.
 *	Receiver incidents span accounts: replay traces with them with -j 1
 *	(with more threads they follow the threads' interleaving, not the
 *	trace's clock). Incidents that start or end go to standard error.
 * DIAGNOSTICS
 *	A line that is not valid JSON or lacks a field is reported with its
 *	line number on standard error and skipped; the replay goes on.
 *	Exit status 1 if Redis cannot be started or reached.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <pthread.h>

#include <json-c/json.h>

#include "sg_config.h"
#include "sg_engine.h"
#include "sg_logparse.h"
#include "sg_redis.h"

/* What replay remembers of a message the engine let through. */
struct accepted {
    struct accepted *next;
    char   *msg;
    char  **rcpt;			/* recipients let through */
    int     nrcpt;
    int     worker;			/* the thread that owns its login */
};

#define NBUCKET	(1 << 20)
#define RING	4096			/* events queued per worker */

/*
 * Accounts are independent, so events are shared out by login among
 * worker threads, each in trace order, each with its own connection:
 * Redis then serves several requests per wake-up instead of one. The
 * main thread reads and parses; verdicts are printed in input order.
 */
struct job {
    json_object *ev;			/* NULL: stop */
    double  t;
    long    index;			/* submit: its verdict's slot */
    struct accepted *a;
};

struct worker {
    pthread_t tid;
    pthread_mutex_t lock;
    pthread_cond_t more, room;
    struct job ring[RING];
    int     head, n;
    const struct sg_engine *eng;
    const struct sg_store *store;
};

/*
 * Verdicts by submit index, in chunks that never move: workers fill them
 * in while the main thread adds chunks.
 */
#define CHUNK	65536
static char **verdicts[1 << 16];
static int quiet;

static struct accepted *table[NBUCKET];
static const char *explain;
static struct sg_redis *pool;
static char redis_dir[64];
static pid_t redis_pid;

/* hash - FNV-1a of a message id */
static unsigned hash(const char *s)
{
    unsigned h = 2166136261u;

    while (*s)
	h = (h ^ (unsigned char) *s++) * 16777619u;
    return (h & (NBUCKET - 1));
}

/* lookup - the accepted message msg, or NULL */
static struct accepted *lookup(const char *msg)
{
    struct accepted *a;

    for (a = table[hash(msg)]; a; a = a->next)
	if (strcmp(a->msg, msg) == 0)
	    return (a);
    return (0);
}

/* remember - a message, for the recipients the engine will let through */
static struct accepted *remember(const char *msg, int max, int worker)
{
    struct accepted *a = calloc(1, sizeof(*a));
    unsigned h = hash(msg);

    if (a == 0 || (a->msg = strdup(msg)) == 0
	|| (a->rcpt = calloc(max > 0 ? max : 1, sizeof(char *))) == 0) {
	fprintf(stderr, "subguard-replay: out of memory\n");
	exit(1);
    }
    a->worker = worker;
    a->next = table[h];
    table[h] = a;
    return (a);
}

/* stop_redis - end the private Redis and remove its directory */
static void stop_redis(void)
{
    char    path[128];

    if (redis_pid > 0) {
	kill(redis_pid, SIGTERM);
	waitpid(redis_pid, 0, 0);
	redis_pid = 0;
    }
    if (redis_dir[0]) {
	snprintf(path, sizeof(path), "%s/redis.sock", redis_dir);
	unlink(path);
	rmdir(redis_dir);
	redis_dir[0] = 0;
    }
}

/* start_redis - a private redis-server on a unix socket; its address */
static int start_redis(char *addr, size_t len)
{
    char    sock[128];
    int     devnull;

    snprintf(redis_dir, sizeof(redis_dir), "/tmp/sgreplay.XXXXXX");
    if (mkdtemp(redis_dir) == 0) {
	fprintf(stderr, "subguard-replay: mkdtemp: %s\n", strerror(errno));
	redis_dir[0] = 0;
	return (-1);
    }
    snprintf(sock, sizeof(sock), "%s/redis.sock", redis_dir);
    snprintf(addr, len, "unix:%s", sock);
    if ((redis_pid = fork()) < 0)
	return (-1);
    if (redis_pid == 0) {
	if ((devnull = open("/dev/null", 0)) >= 0) {
	    dup2(devnull, 1);
	    dup2(devnull, 2);
	}
	execlp("redis-server", "redis-server", "--port", "0", "--unixsocket",
	       sock, "--save", "", "--appendonly", "no", "--dir", redis_dir,
	       (char *) 0);
	_exit(127);
    }
    atexit(stop_redis);
    return (0);
}

/* command - a plain Redis command; element i of the answer or "" */
static const char *command(char *buf, size_t len, int i, int argc,
			           const char **argv)
{
    struct sg_reply r = {0, 0};
    char    err[256];

    buf[0] = 0;
    if (sg_redis_command(pool, argc, argv, 0, &r, err, sizeof(err)) == 0) {
	if (i < r.n)
	    snprintf(buf, len, "%s", r.v[i]);
	sg_reply_free(&r);
    }
    return (buf);
}

/* timeline - -e: one line of the explained account's history */
static void timeline(const struct sg_engine *eng, const struct sg_store *store,
		             const char *login, double t, const char *fmt,...)
{
    struct sg_inspect in;
    const struct sg_inspect_window *hour;
    char    what[512], err[256];
    time_t  when = (time_t) t;
    struct tm tm;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    if (sg_engine_inspect(eng, store, login, t, &in, err, sizeof(err)) < 0) {
	fprintf(stderr, "subguard-replay: redis: %s\n", err);
	exit(1);
    }
    hour = sg_inspect_window(&in, 3600);
    gmtime_r(&when, &tm);
    fprintf(stderr, "%04d-%02d-%02dT%02d:%02d:%02dZ %s  [score=%.4f "
	    "rcpts_last_hour=%ld bounced_last_hour=%ld]\n", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, what,
	    in.score, hour ? hour->recipients : 0, hour ? hour->bounced : 0);
}

/* field - a member of a JSON object, or NULL */
static json_object *field(json_object *o, const char *name)
{
    json_object *v;

    return (json_object_object_get_ex(o, name, &v) ? v : 0);
}

/* submit - one message attempt through begin, rcpt and commit */
static void submit(const struct sg_engine *eng, const struct sg_store *store,
		           json_object *ev, double t, struct accepted *a,
		           long index)
{
    const struct sg_config *cfg = sg_engine_config(eng);
    json_object *jmsg = field(ev, "msg"), *jrcpts = field(ev, "rcpts");
    json_object *jclient = field(ev, "client");
    const char *msg = jmsg ? json_object_get_string(jmsg) : "";
    const char *user = json_object_get_string(field(ev, "user"));
    const char *verdict, *reason = "";
    struct sg_msg m;
    char    err[256];
    int     n = jrcpts ? (int) json_object_array_length(jrcpts) : 0, i;
    enum sg_action act;

    act = sg_engine_begin_from(eng, store, &m, user, jclient ?
			       json_object_get_string(jclient) : 0, t, err,
			       sizeof(err));
    if (act == SG_ACT_STORE_DOWN) {
	fprintf(stderr, "subguard-replay: redis: %s\n", err);
	exit(1);
    }
    if (act == SG_ACT_CONTINUE || act == SG_ACT_IGNORE) {
	for (i = 0; i < n; i++) {
	    json_object *r = json_object_array_get_idx(jrcpts, i);
	    json_object *code = field(r, "smtp");
	    int     mta_rejected = code && json_object_get_int(code) != 250;

	    const char *to = json_object_get_string(field(r, "to"));

	    enum sg_action ra = sg_engine_rcpt_at(eng, store, &m, mta_rejected,
						 to, t, err, sizeof(err));

	    if (ra == SG_ACT_STORE_DOWN) {
		fprintf(stderr, "subguard-replay: redis: %s\n", err);
		exit(1);
	    }
	    if (ra == SG_ACT_CONTINUE && !mta_rejected && to
		&& (a->rcpt[a->nrcpt] = strdup(to)))
		a->nrcpt++;
	}
	if (act == SG_ACT_CONTINUE)
	    act = sg_engine_commit(eng, store, &m, msg, m.accepted > 0, t, err,
				   sizeof(err));
	if (act == SG_ACT_STORE_DOWN) {
	    fprintf(stderr, "subguard-replay: redis: %s\n", err);
	    exit(1);
	}
    }
    switch (act) {
    case SG_ACT_HOLD:
	verdict = "quarantine";
	reason = m.qreason;
	break;
    case SG_ACT_QUARANTINE_REFUSE:
	verdict = cfg->quarantine_action == SG_QACT_TEMPFAIL ? "tempfail" :
	    "reject";
	reason = m.qreason;
	break;
    case SG_ACT_TEMPFAIL:
	verdict = "tempfail";
	reason = "messages";
	break;
    default:
	verdict = m.refused ? "tempfail" : "accept";
	reason = !m.refused ? "" : m.limit == SG_LIMIT_HISTORY ? "history" :
	    "recipients";
	break;
    }
    /* Held or refused mail is never delivered: forget its recipients. */
    if (act == SG_ACT_HOLD || act == SG_ACT_QUARANTINE_REFUSE)
	a->nrcpt = 0;
    if (!quiet) {
	json_object *o = json_object_new_object();

	json_object_object_add(o, "msg", json_object_new_string(msg));
	json_object_object_add(o, "verdict", json_object_new_string(verdict));
	if (m.refused)
	    json_object_object_add(o, "refused", json_object_new_int(m.refused));
	if (reason[0])
	    json_object_object_add(o, "reason", json_object_new_string(reason));
	if (m.tier[0])
	    json_object_object_add(o, "tier", json_object_new_string(m.tier));
	verdicts[index / CHUNK][index % CHUNK] =
	    strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
    }
    if (explain && strcmp(m.login, explain) == 0)
	timeline(eng, store, m.login, t, "submit %s rcpts=%d mta_rejected=%u -> %s "
		 "accepted=%u refused=%u tier=%s%s%s%s", msg, n, m.rejected,
		 verdict, m.accepted, m.refused, m.tier[0] ? m.tier : "-",
		 reason[0] ? " reason=\"" : "", reason, reason[0] ? "\"" : "");
}

/* delivery - a delivery outcome, as the log feed would see it */
static void delivery(const struct sg_engine *eng, const struct sg_store *store,
		             json_object *ev, double t, struct accepted *a)
{
    const char *msg = a->msg;
    const char *to = json_object_get_string(field(ev, "to"));
    const char *dsn = json_object_get_string(field(ev, "dsn"));
    struct sg_outcome out;
    char    err[256];
    int     i, cls;

    if (to == 0 || dsn == 0)
	return;
    for (i = 0; i < a->nrcpt; i++)
	if (strcmp(a->rcpt[i], to) == 0)
	    break;
    if (i == a->nrcpt)
	return;				/* never let through: never delivered */
    cls = sg_dsn_classify(dsn, 0);
    if (sg_engine_outcome(eng, store, msg, to, cls, 1, t, 0, 0, &out, err,
			  sizeof(err)) < 0) {
	fprintf(stderr, "subguard-replay: redis: %s\n", err);
	exit(1);
    }
    if (out.incident_state[0])
	fprintf(stderr, "subguard-replay: action=incident domain=%s state=%s "
		"logins=%d t=%.0f\n", out.incident_domain, out.incident_state,
		out.incident_logins, t);
    if (explain && strcmp(out.login, explain) == 0)
	timeline(eng, store, out.login, t, "delivery %s to=%s "
		 "dsn=%s (%s)%s%s%s", msg, to, dsn, sg_dsn_class_name(cls),
		 out.newly_quarantined ? " -> QUARANTINE \"" : "",
		 out.newly_quarantined ? out.reason : "",
		 out.newly_quarantined ? "\"" : "");
}

/* work - a worker thread: its accounts' events, in order */
static void *work(void *arg)
{
    struct worker *w = arg;
    struct job j;

    for (;;) {
	pthread_mutex_lock(&w->lock);
	while (w->n == 0)
	    pthread_cond_wait(&w->more, &w->lock);
	j = w->ring[w->head];
	w->head = (w->head + 1) % RING;
	w->n--;
	pthread_cond_signal(&w->room);
	pthread_mutex_unlock(&w->lock);
	if (j.ev == 0)
	    return (0);
	if (j.index >= 0)
	    submit(w->eng, w->store, j.ev, j.t, j.a, j.index);
	else
	    delivery(w->eng, w->store, j.ev, j.t, j.a);
	json_object_put(j.ev);
    }
}

/* enqueue - hand an event to the worker that owns its account */
static void enqueue(struct worker *w, const struct job *j)
{
    pthread_mutex_lock(&w->lock);
    while (w->n == RING)
	pthread_cond_wait(&w->room, &w->lock);
    w->ring[(w->head + w->n) % RING] = *j;
    w->n++;
    pthread_cond_signal(&w->more);
    pthread_mutex_unlock(&w->lock);
}

/* set_tiers - -t: each login's tier, as support would set it */
static long set_tiers(const struct sg_config *cfg, const char *path)
{
    FILE   *fp = fopen(path, "r");
    char   *line = 0, login[SG_LOGIN_MAX], key[SG_KEY_MAX], buf[64];
    const char *argv[3];
    size_t  cap = 0;
    long    n = 0;

    if (fp == 0) {
	fprintf(stderr, "subguard-replay: %s: %s\n", path, strerror(errno));
	exit(1);
    }
    while (getline(&line, &cap, fp) > 0) {
	json_object *o = json_tokener_parse(line), *u, *t;

	if (o && (u = field(o, "user")) != 0 && (t = field(o, "tier")) != 0
	    && strcmp(json_object_get_string(t), cfg->default_tier) != 0
	    && sg_login_normalise(json_object_get_string(u), cfg->login_case,
				  login, sizeof(login)) != SG_LOGIN_EMPTY) {
	    sg_account_key(key, sizeof(key), cfg->key_prefix, login,
			   SG_AKEY_TIER);
	    argv[0] = "SET";
	    argv[1] = key;
	    argv[2] = json_object_get_string(t);
	    command(buf, sizeof(buf), 0, 3, argv);
	    n++;
	}
	json_object_put(o);
    }
    free(line);
    fclose(fp);
    return (n);
}

/* quiet_log - the pool's outage reports, on standard error */
static void quiet_log(int level, const char *fmt,...)
{
    va_list ap;

    (void) level;
    va_start(ap, fmt);
    fprintf(stderr, "subguard-replay: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
}

/* What the command line asked for. */
struct options {
    const char *conf;			/* -c */
    const char *path;			/* the trace, "-": standard input */
    const char *users;			/* -t */
    int     use_config_redis;		/* -R */
    int     nworkers;			/* -j */
};

/* options - the command line; exits on a bad one */
static void options(int argc, char **argv, struct options *o)
{
    int     ch;

    memset(o, 0, sizeof(*o));
    o->path = "-";
    o->nworkers = 4;
    while ((ch = getopt(argc, argv, "c:e:j:qRt:")) != -1) {
	switch (ch) {
	case 'c':
	    o->conf = optarg;
	    break;
	case 'e':
	    explain = optarg;
	    break;
	case 'q':
	    quiet = 1;
	    break;
	case 'R':
	    o->use_config_redis = 1;
	    break;
	case 't':
	    o->users = optarg;
	    break;
	case 'j':
	    if ((o->nworkers = atoi(optarg)) < 1 || o->nworkers > 64)
		o->nworkers = 4;
	    break;
	default:
	    fprintf(stderr, "usage: subguard-replay [-c FILE] [-R] [-t USERS] "
		    "[-e LOGIN] [-j N] [-q] [TRACE | -]\n");
	    exit(2);
	}
    }
    if (optind < argc)
	o->path = argv[optind];
}

/* connect_redis - the pool on the private or configured Redis; -1 */
static int connect_redis(const struct options *o, const struct sg_config *cfg)
{
    struct sg_redis_params rp;
    const char *ping[1] = {"PING"}, *flush[1] = {"FLUSHALL"};
    char    err[1024], addr[SG_PATH_MAX + 8], pw[512], spw[512];
    int     i;

    if (o->use_config_redis) {
	/* The configuration's own way to Redis: address or sentinels, ACL
	 * user and password files. */
	if (sg_redis_params_config(cfg, &rp, pw, sizeof(pw), spw,
				   sizeof(spw), err, sizeof(err)) < 0) {
	    fprintf(stderr, "subguard-replay: %s\n", err);
	    return (-1);
	}
	snprintf(addr, sizeof(addr), "%s", cfg->redis_sentinels[0] ?
		 cfg->redis_master_name : cfg->redis_address);
    } else if (start_redis(addr, sizeof(addr)) < 0) {
	fprintf(stderr, "subguard-replay: cannot start redis-server\n");
	return (-1);
    } else {
	memset(&rp, 0, sizeof(rp));
	rp.address = addr;
    }
    /* A replay is a batch job: generous timeouts, as always. */
    rp.timeout_ms = 5000;
    rp.connect_timeout_ms = 1000;
    rp.log = quiet_log;
    pool = sg_redis_new(&rp, err, sizeof(err));
    explicit_bzero(pw, sizeof(pw));
    explicit_bzero(spw, sizeof(spw));
    if (pool == 0) {
	fprintf(stderr, "subguard-replay: %s\n", err);
	return (-1);
    }
    /* Wait for the private server's socket before the first command, so
     * its start-up is not reported as an outage. */
    for (i = 0; i < 100 && !o->use_config_redis; i++) {
	struct stat st;

	if (stat(addr + 5, &st) == 0)
	    break;
	usleep(50000);
    }
    for (i = 0; i < 100 && command(err, sizeof(err), 0, 1, ping)[0] == 0; i++)
	usleep(50000);
    if (i == 100) {
	fprintf(stderr, "subguard-replay: redis at %s does not answer\n", addr);
	return (-1);
    }
    if (!o->use_config_redis)
	command(err, sizeof(err), 0, 1, flush);
    return (0);
}

/* start_workers - n threads on one engine and store */
static struct worker *start_workers(int n, const struct sg_engine *eng,
				            const struct sg_store *store)
{
    struct worker *workers;
    int     i;

    if ((workers = calloc(n, sizeof(*workers))) == 0) {
	fprintf(stderr, "subguard-replay: out of memory\n");
	exit(1);
    }
    for (i = 0; i < n; i++) {
	pthread_mutex_init(&workers[i].lock, 0);
	pthread_cond_init(&workers[i].more, 0);
	pthread_cond_init(&workers[i].room, 0);
	workers[i].eng = eng;
	workers[i].store = store;
	pthread_create(&workers[i].tid, 0, work, workers + i);
    }
    return (workers);
}

/* stop_workers - let each finish its queue, then free them */
static void stop_workers(struct worker *workers, int n)
{
    int     i;

    for (i = 0; i < n; i++) {
	struct job stop = {0, 0, 0, 0};

	enqueue(workers + i, &stop);
    }
    for (i = 0; i < n; i++) {
	pthread_join(workers[i].tid, 0);
	pthread_mutex_destroy(&workers[i].lock);
	pthread_cond_destroy(&workers[i].more);
	pthread_cond_destroy(&workers[i].room);
    }
    free(workers);
}

/* What reading the trace counted. */
struct tally {
    long    lineno, bad, submits, deliveries;
};

/* skip - report a line that is no event we replay */
static void skip(struct tally *n, const char *path, const char *why,
		         json_object *ev)
{
    if (n->bad++ < 10)
	fprintf(stderr, "subguard-replay: %s:%ld: %s, skipped\n", path,
		n->lineno, why);
    json_object_put(ev);
}

/* dispatch - one trace line to the worker that owns its account */
static void dispatch(const struct sg_config *cfg, struct worker *workers,
		             int nworkers, const char *path, const char *line,
		             struct tally *n)
{
    json_object *ev, *jt, *jev, *jrcpts;
    const char *kind;
    struct job j;
    char    who[SG_LOGIN_MAX];

    if ((ev = json_tokener_parse(line)) == 0
	|| (jt = field(ev, "t")) == 0 || (jev = field(ev, "ev")) == 0) {
	skip(n, path, "not an event", ev);
	return;
    }
    kind = json_object_get_string(jev);
    j.ev = ev;
    j.t = json_object_get_double(jt);
    if (strcmp(kind, "submit") == 0 && field(ev, "user") && field(ev, "msg")) {
	sg_login_normalise(json_object_get_string(field(ev, "user")),
			   cfg->login_case, who, sizeof(who));
	jrcpts = field(ev, "rcpts");
	if (!quiet && n->submits % CHUNK == 0
	    && (n->submits / CHUNK >= (long) (sizeof(verdicts) / sizeof(verdicts[0]))
		|| (verdicts[n->submits / CHUNK] = calloc(CHUNK,
						sizeof(char *))) == 0)) {
	    fprintf(stderr, "subguard-replay: out of memory\n");
	    exit(1);
	}
	j.index = n->submits++;
	j.a = remember(json_object_get_string(field(ev, "msg")),
		       jrcpts ? (int) json_object_array_length(jrcpts) : 0,
		       hash(who) % nworkers);
	enqueue(workers + j.a->worker, &j);
    } else if (strcmp(kind, "delivery") == 0) {
	n->deliveries++;
	j.index = -1;
	if (field(ev, "msg") == 0
	    || (j.a = lookup(json_object_get_string(field(ev, "msg")))) == 0) {
	    json_object_put(ev);		/* never submitted: skip */
	    return;
	}
	enqueue(workers + j.a->worker, &j);
    } else {
	skip(n, path, "unknown or incomplete event", ev);
    }
}

/* print_verdicts - every submit's verdict, in input order */
static void print_verdicts(long submits)
{
    long    l;

    for (l = 0; !quiet && l < submits; l++) {
	char   *v = verdicts[l / CHUNK][l % CHUNK];

	fputs(v ? v : "{}", stdout);
	putchar('\n');
	free(v);
	if (l % CHUNK == CHUNK - 1 || l == submits - 1)
	    free(verdicts[l / CHUNK]);
    }
    fflush(stdout);
}

int     main(int argc, char **argv)
{
    static struct sg_config cfg;
    struct options o;
    struct sg_engine *eng;
    struct sg_store store;
    struct worker *workers;
    struct tally n = {0, 0, 0, 0};
    char    err[1024], *line = 0, login[SG_LOGIN_MAX];
    size_t  cap = 0;
    FILE   *in;

    options(argc, argv, &o);
    if (o.conf) {
	if (sg_config_load(o.conf, &cfg, err, sizeof(err)) < 0) {
	    fprintf(stderr, "subguard-replay: %s\n", err);
	    return (1);
	}
    } else {
	sg_config_init(&cfg);
    }
    if (explain) {
	sg_login_normalise(explain, cfg.login_case, login, sizeof(login));
	explain = login;
    }
    if (strcmp(o.path, "-") == 0)
	in = stdin;
    else if ((in = fopen(o.path, "r")) == 0) {
	fprintf(stderr, "subguard-replay: %s: %s\n", o.path, strerror(errno));
	return (1);
    }
    if (connect_redis(&o, &cfg) < 0)
	return (1);
    store = sg_redis_store(pool);
    eng = sg_engine_new(&cfg);
    if (o.users)
	fprintf(stderr, "subguard-replay: %ld tiers set from %s\n",
		set_tiers(&cfg, o.users), o.users);
    workers = start_workers(o.nworkers, eng, &store);
    while (getline(&line, &cap, in) > 0) {
	n.lineno++;
	dispatch(&cfg, workers, o.nworkers, o.path, line, &n);
    }
    stop_workers(workers, o.nworkers);
    if (in != stdin)
	fclose(in);
    print_verdicts(n.submits);
    fprintf(stderr, "subguard-replay: %ld lines, %ld submits, %ld deliveries, "
	    "%ld skipped\n", n.lineno, n.submits, n.deliveries, n.bad);
    free(line);
    sg_engine_free(eng);
    sg_redis_free(pool);
    return (0);
}
