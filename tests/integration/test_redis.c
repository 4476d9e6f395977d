/*
 * NAME
 *	test_redis 1
 * SUMMARY
 *	redis/sg_redis.c against real redis-server processes
 * SYNOPSIS
 *	sh tests/integration/with-redis.sh test_redis
 * DESCRIPTION
 *	Commands and reply flattening, scripts as Functions libraries named
 *	by their SHA1 (and reloading after FUNCTION FLUSH), address checking, an outage and its recovery, the
 *	command timeout, AUTH and SELECT, and many threads on one pool.
 *
 *	$SG_REDIS (from with-redis.sh) is the shared server. Tests that stop
 *	a server, pause it or need a password start their own redis-server in
 *	their own scratch directory, so they cannot disturb the others.
 *
 *	The engine's scripts are not this module's business and change as
 *	they are written: the script tests call script 0 with arbitrary
 *	arguments, accept a result or a script error, and look at Redis
 *	(FUNCTION LIST, INFO commandstats) to see what was sent.
 *
 *	Measured timings are printed with a "# " prefix.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "sg_config.h"
#include "sg_redis.h"

#define KEY(k)	"sgtest:redis:" k

/*
 * The log callback counts lines per syslog level and keeps the last line
 * of each level. Pools log from any thread, hence the lock.
 */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static int log_count[8];
static char log_last[8][512];

/* test_log - the pools' log callback */
static void test_log(int level, const char *fmt,...)
{
    va_list ap;
    char    buf[512];

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (level < 0 || level > 7)
	level = 7;
    pthread_mutex_lock(&log_lock);
    log_count[level]++;
    snprintf(log_last[level], sizeof(log_last[level]), "%s", buf);
    pthread_mutex_unlock(&log_lock);
    fprintf(stderr, "# log %d: %s\n", level, buf);
}

/* log_reset - forget what earlier tests logged */
static void log_reset(void)
{
    pthread_mutex_lock(&log_lock);
    memset(log_count, 0, sizeof(log_count));
    memset(log_last, 0, sizeof(log_last));
    pthread_mutex_unlock(&log_lock);
}

/* logged - lines logged at a level since the last reset */
static int logged(int level)
{
    int     n;

    pthread_mutex_lock(&log_lock);
    n = log_count[level];
    pthread_mutex_unlock(&log_lock);
    return (n);
}

/* now_ms - monotonic milliseconds */
static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ts.tv_sec * 1e3 + ts.tv_nsec / 1e6);
}

/* sleep_ms - nanosleep in milliseconds */
static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
	 /* void */ ;
}

/* shared_address - the server from with-redis.sh */
static const char *shared_address(void)
{
    const char *a = getenv("SG_REDIS");

    if (a == 0 || *a == 0)
	fail_msg("SG_REDIS is not set: run through with-redis.sh");
    return (a);
}

/* pool_open - a pool with test defaults; asserts success */
static struct sg_redis *pool_open(const char *address, unsigned long timeout,
				          const char *password, int db,
				          int max_idle)
{
    struct sg_redis_params p;
    struct sg_redis *pool;
    char    err[256] = "";

    memset(&p, 0, sizeof(p));
    p.address = address;
    p.password = password;
    p.db = db;
    p.timeout_ms = timeout;
    p.connect_timeout_ms = 500;
    p.max_idle = max_idle;
    p.log = test_log;
    pool = sg_redis_new(&p, err, sizeof(err));
    if (pool == 0)
	fail_msg("sg_redis_new(%s): %s", address, err);
    return (pool);
}

/* run - a NULL-terminated command; status, reply in *r, err in err */
static int run(struct sg_redis *pool, struct sg_reply *r, char *err,
	               size_t errlen, const char *arg0,...)
{
    const char *argv[16];
    va_list ap;
    int     argc = 0;

    argv[argc++] = arg0;
    va_start(ap, arg0);
    while (argc < 16 && (argv[argc] = va_arg(ap, const char *)) != 0)
	argc++;
    va_end(ap);
    err[0] = 0;
    return (sg_redis_command(pool, argc, argv, 0, r, err, errlen));
}

/* run_ok - run a command that must succeed; the reply stays in *r */
#define run_ok(pool, r, ...) do { \
	char run_err_[256]; \
	int run_st_ = run((pool), (r), run_err_, sizeof(run_err_), __VA_ARGS__, \
			  (const char *) 0); \
	if (run_st_ != SG_STORE_OK) \
	    fail_msg("%s: status %d: %s", #__VA_ARGS__, run_st_, run_err_); \
    } while (0)

/* info_field - a numeric field from INFO SECTION, -1 when missing */
static long info_field(struct sg_redis *pool, const char *section,
		               const char *field)
{
    struct sg_reply r;
    const char *p;
    long    v = -1;
    char    pat[128];

    run_ok(pool, &r, "INFO", section);
    assert_int_equal(r.n, 1);
    snprintf(pat, sizeof(pat), "\n%s", field);
    if ((p = strstr(r.v[0], pat)) != 0)
	v = strtol(p + strlen(pat), 0, 10);
    else if (strncmp(r.v[0], field, strlen(field)) == 0)
	v = strtol(r.v[0] + strlen(field), 0, 10);
    sg_reply_free(&r);
    return (v);
}

/* cmd_calls - calls= of a command in INFO commandstats (0 if never run) */
static long cmd_calls(struct sg_redis *pool, const char *cmd)
{
    char    field[128];
    long    v;

    snprintf(field, sizeof(field), "cmdstat_%s:calls=", cmd);
    v = info_field(pool, "commandstats", field);
    return (v < 0 ? 0 : v);
}

/* sha1_hex - the SHA1 a script is filed under, computed independently */
static void sha1_hex(const char *src, char *hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    unsigned int i;

    assert_int_equal(EVP_Digest(src, strlen(src), md, &len, EVP_sha1(), 0), 1);
    for (i = 0; i < len; i++)
	sprintf(hex + 2 * i, "%02x", md[i]);
}

/*
 * script_exists - whether Redis has a script's library, named "sg_" and
 * the SHA1 of its source, with one function of the same name
 */
static int script_exists(struct sg_redis *pool, enum sg_script s)
{
    struct sg_reply r;
    char    name[64];
    int     yes, i, nfn = 0;

    strcpy(name, "sg_");
    sha1_hex(sg_script_source[s], name + 3);
    run_ok(pool, &r, "FUNCTION", "LIST", "LIBRARYNAME", name);
    /* library_name NAME engine LUA functions [name NAME description ...] */
    yes = r.n > 1 && strcmp(r.v[0], "library_name") == 0
	&& strcmp(r.v[1], name) == 0;
    for (i = 0; i + 1 < r.n; i++)
	if (strcmp(r.v[i], "name") == 0 && strcmp(r.v[i + 1], name) == 0)
	    nfn++;
    if (yes)
	assert_int_equal(nfn, 1);
    sg_reply_free(&r);
    return (yes);
}

/*
 * The engine's first script with arbitrary arguments. Whether the script
 * likes them is its business: only an outage or a missing library leaking out is
 * a failure here.
 */
static void eval_any(struct sg_redis *pool)
{
    const char *argv[] = {KEY("script"), "x", "1", "2"};
    struct sg_reply r;
    char    err[512] = "";
    int     st;

    st = sg_redis_eval(pool, (enum sg_script) 0, 1, 4, argv, 0, &r, err,
		       sizeof(err));
    if (st != SG_STORE_OK && st != SG_STORE_ERROR)
	fail_msg("eval: status %d: %s", st, err);
    if (st == SG_STORE_ERROR && strstr(err, "not found"))
	fail_msg("eval: a missing library was not loaded: %s", err);
    if (st == SG_STORE_OK)
	sg_reply_free(&r);
}

 /*
  * Private servers, each in its own scratch directory. They are stopped by
  * the teardown even when a test fails half-way.
  */
struct private_redis {
    char    dir[64];
    char    sock[128];
    char    address[140];
    char    conf[128];
};

#define MAX_PRIVATE 4
static struct private_redis privates[MAX_PRIVATE];
static int nprivate;

/* shell - run a shell command, return its exit status */
static int shell(const char *fmt,...)
{
    char    cmd[1024];
    va_list ap;
    int     st;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    st = system(cmd);
    return (st == -1 ? -1 : WEXITSTATUS(st));
}

/* private_start - start (or restart) a private server; wait until it answers */
static void private_start(struct private_redis *pr)
{
    int     i;

    assert_int_equal(shell("redis-server %s", pr->conf), 0);
    for (i = 0; i < 500; i++) {
	/* With requirepass, NOAUTH is an answer too. */
	if (shell("redis-cli -s %s ping 2>&1 | grep -q -e PONG -e NOAUTH",
		  pr->sock) == 0)
	    return;
	sleep_ms(10);
    }
    fail_msg("private redis-server in %s does not answer", pr->dir);
}

/* private_new - write a config for a private server and start it */
static struct private_redis *private_new(const char *extra)
{
    struct private_redis *pr;
    FILE   *fp;
    char    dir[] = "/tmp/sgr.XXXXXX";

    assert_true(nprivate < MAX_PRIVATE);
    assert_non_null(mkdtemp(dir));
    pr = &privates[nprivate++];
    /* Format from locals: gcc -Wrestrict cannot tell the members apart. */
    snprintf(pr->dir, sizeof(pr->dir), "%s", dir);
    snprintf(pr->sock, sizeof(pr->sock), "%s/redis.sock", dir);
    snprintf(pr->address, sizeof(pr->address), "unix:%s/redis.sock", dir);
    snprintf(pr->conf, sizeof(pr->conf), "%s/redis.conf", dir);
    assert_non_null(fp = fopen(pr->conf, "w"));
    fprintf(fp, "port 0\nunixsocket %s\nunixsocketperm 777\nsave \"\"\n"
	    "appendonly no\ndaemonize yes\npidfile %s/redis.pid\ndir %s\n"
	    "logfile %s/redis.log\n%s\n", pr->sock, pr->dir, pr->dir,
	    pr->dir, extra ? extra : "");
    assert_int_equal(fclose(fp), 0);
    private_start(pr);
    return (pr);
}

/* private_stop - SIGTERM the server; wait until its socket is gone */
static void private_stop(struct private_redis *pr)
{
    char    pidfile[128];
    FILE   *fp;
    long    pid = 0;
    int     i;

    snprintf(pidfile, sizeof(pidfile), "%s/redis.pid", pr->dir);
    if ((fp = fopen(pidfile, "r")) == 0)
	return;
    if (fscanf(fp, "%ld", &pid) != 1)
	pid = 0;
    fclose(fp);
    if (pid > 0)
	kill((pid_t) pid, SIGTERM);
    /* Redis unlinks socket and pid file on the way out. */
    for (i = 0; i < 500 && access(pidfile, F_OK) == 0; i++)
	sleep_ms(10);
    if (access(pidfile, F_OK) == 0 && pid > 0)
	kill((pid_t) pid, SIGKILL);
    unlink(pr->sock);
}

/* private_cleanup - teardown: stop every private server, remove dirs */
static int private_cleanup(void **state)
{
    (void) state;
    while (nprivate > 0) {
	struct private_redis *pr = &privates[--nprivate];

	private_stop(pr);
	shell("rm -rf %s", pr->dir);
    }
    return (0);
}

/* Plain commands, binary values and the flattening of replies. */
static void test_command_roundtrip(void **state)
{
    struct sg_redis *pool = pool_open(shared_address(), 1000, 0, 0, 0);
    const char *argv[3] = {"SET", KEY("bin"), "a\0b\r\nc"};
    size_t  lens[3] = {3, strlen(KEY("bin")), 7};
    struct sg_reply r;
    char    err[256];

    (void) state;
    log_reset();

    run_ok(pool, &r, "PING");
    assert_int_equal(r.n, 1);
    assert_string_equal(r.v[0], "PONG");
    sg_reply_free(&r);

    /* Arguments are binary safe when lengths are given. */
    assert_int_equal(sg_redis_command(pool, 3, argv, lens, &r, err,
				      sizeof(err)), SG_STORE_OK);
    sg_reply_free(&r);
    run_ok(pool, &r, "STRLEN", KEY("bin"));
    assert_string_equal(r.v[0], "7");
    sg_reply_free(&r);

    /* Integers become decimal; nil becomes "". */
    run_ok(pool, &r, "DEL", KEY("n"), KEY("bin"));
    sg_reply_free(&r);
    run_ok(pool, &r, "INCRBY", KEY("n"), "-42");
    assert_int_equal(r.n, 1);
    assert_string_equal(r.v[0], "-42");
    sg_reply_free(&r);
    run_ok(pool, &r, "GET", KEY("missing"));
    assert_int_equal(r.n, 1);
    assert_string_equal(r.v[0], "");
    sg_reply_free(&r);

    /* Nested arrays flatten depth-first; Lua false is nil is "". */
    run_ok(pool, &r, "EVAL",
	   "return {1, 'a', false, {2, {'x', {}}, 'y'}, 'z'}", "0");
    assert_int_equal(r.n, 7);
    assert_string_equal(r.v[0], "1");
    assert_string_equal(r.v[1], "a");
    assert_string_equal(r.v[2], "");
    assert_string_equal(r.v[3], "2");
    assert_string_equal(r.v[4], "x");
    assert_string_equal(r.v[5], "y");
    assert_string_equal(r.v[6], "z");
    sg_reply_free(&r);
    run_ok(pool, &r, "LRANGE", KEY("nolist"), "0", "-1");
    assert_int_equal(r.n, 0);
    sg_reply_free(&r);

    /* Error replies are errors, not outages. */
    assert_int_equal(run(pool, &r, err, sizeof(err), "NOSUCHCOMMAND", "x",
			 (const char *) 0), SG_STORE_ERROR);
    assert_non_null(strstr(err, "unknown command"));
    assert_int_equal(r.n, 0);
    assert_int_equal(run(pool, &r, err, sizeof(err), "EVAL",
			 "return redis.error_reply('boom')", "0",
			 (const char *) 0), SG_STORE_ERROR);
    assert_non_null(strstr(err, "boom"));
    run_ok(pool, &r, "PING");
    sg_reply_free(&r);
    assert_int_equal(logged(LOG_WARNING), 0);
    sg_redis_free(pool);
}

/* FCALL: the first call loads the library, later ones only FCALL. */
static void test_fcall(void **state)
{
    struct sg_redis *pool = pool_open(shared_address(), 1000, 0, 0, 0);
    struct sg_reply r;
    long    fcall;
    long    load;
    int     s;

    (void) state;
    log_reset();
    run_ok(pool, &r, "FUNCTION", "FLUSH");
    sg_reply_free(&r);
    run_ok(pool, &r, "CONFIG", "RESETSTAT");
    sg_reply_free(&r);
    for (s = 0; s < SG_SCRIPT_COUNT; s++)
	assert_false(script_exists(pool, s));

    eval_any(pool);
    assert_true(script_exists(pool, 0));
    assert_int_equal(cmd_calls(pool, "function|load"), 1);
    fcall = cmd_calls(pool, "fcall");
    assert_int_equal(fcall, 2);		/* not found, then the call */

    eval_any(pool);
    assert_int_equal(cmd_calls(pool, "fcall"), fcall + 1);
    load = cmd_calls(pool, "function|load");
    assert_int_equal(load, 1);
    assert_int_equal(cmd_calls(pool, "eval"), 0);
    assert_int_equal(cmd_calls(pool, "evalsha"), 0);
    assert_int_equal(logged(LOG_WARNING), 0);
    sg_redis_free(pool);
}

/* After FUNCTION FLUSH (or an empty restarted Redis) eval just works. */
static void test_noscript(void **state)
{
    struct sg_redis *pool = pool_open(shared_address(), 1000, 0, 0, 0);
    struct sg_reply r;

    (void) state;
    log_reset();
    eval_any(pool);
    run_ok(pool, &r, "FUNCTION", "FLUSH");
    sg_reply_free(&r);
    assert_false(script_exists(pool, 0));
    run_ok(pool, &r, "CONFIG", "RESETSTAT");
    sg_reply_free(&r);

    eval_any(pool);
    assert_true(script_exists(pool, 0));
    assert_int_equal(cmd_calls(pool, "function|load"), 1);
    assert_int_equal(cmd_calls(pool, "fcall"), 2);
    assert_int_equal(logged(LOG_WARNING), 0);
    sg_redis_free(pool);
}

/*
 * eval_many: several calls in one round trip, each answered as if alone
 * and in order; one the store cannot send fails alone; a missing
 * library is loaded once and the calls that found it missing run again;
 * Redis gone: every call fails with SG_STORE_DOWN, none hangs.
 */
static void test_eval_many(void **state)
{
    struct sg_redis *pool = pool_open(shared_address(), 1000, 0, 0, 0);
    const char *a0[] = {KEY("pos0"), "position", "0"};
    const char *a1[] = {KEY("pos1"), "position", "0"};
    const char *bad[] = {KEY("pos2")};
    const char *a3[] = {KEY("nopos"), "position", "0"};
    const char *const *argvs[4] = {a0, a1, bad, a3};
    struct sg_call calls[4];
    struct sg_reply r;
    struct private_redis *pr;
    int     i, pass;

    (void) state;
    log_reset();
    run_ok(pool, &r, "SET", KEY("pos0"), "1:2:300");
    sg_reply_free(&r);
    run_ok(pool, &r, "SET", KEY("pos1"), "1:2:400");
    sg_reply_free(&r);
    run_ok(pool, &r, "DEL", KEY("nopos"));
    sg_reply_free(&r);
    for (pass = 0; pass < 2; pass++) {
	if (pass == 1) {			/* the script forgotten */
	    run_ok(pool, &r, "FUNCTION", "FLUSH");
	    sg_reply_free(&r);
	}
	run_ok(pool, &r, "CONFIG", "RESETSTAT");
	sg_reply_free(&r);
	memset(calls, 0, sizeof(calls));
	for (i = 0; i < 4; i++) {
	    calls[i].nkeys = 1;
	    calls[i].argc = 3;
	    calls[i].argv = argvs[i];
	}
	calls[2].nkeys = 2;			/* more keys than arguments */
	calls[2].argc = 1;
	sg_redis_eval_many(pool, SG_SCRIPT_ENGINE, calls, 4);
	assert_int_equal(calls[0].status, SG_STORE_OK);
	assert_int_equal(calls[0].reply.n, 1);
	assert_string_equal(calls[0].reply.v[0], "1:2:300");
	assert_int_equal(calls[1].status, SG_STORE_OK);
	assert_string_equal(calls[1].reply.v[0], "1:2:400");
	assert_int_equal(calls[2].status, SG_STORE_ERROR);
	assert_non_null(strstr(calls[2].err, "bad script call"));
	assert_int_equal(calls[3].status, SG_STORE_OK);
	assert_string_equal(calls[3].reply.v[0], "");
	for (i = 0; i < 4; i++)
	    sg_reply_free(&calls[i].reply);
	/* 3 FCALL in one batch; after a flush 1 FUNCTION LOAD and 3 again. */
	assert_int_equal(cmd_calls(pool, "fcall"), pass ? 6 : 3);
	assert_int_equal(cmd_calls(pool, "function|load"), pass ? 1 : 0);
    }

    /* A server that is gone: every call fails at once, none hangs. */
    pr = private_new(0);
    sg_redis_free(pool);
    pool = pool_open(pr->address, 300, 0, 0, 0);
    private_stop(pr);
    memset(calls, 0, sizeof(calls));
    for (i = 0; i < 2; i++) {
	calls[i].nkeys = 1;
	calls[i].argc = 3;
	calls[i].argv = argvs[i];
    }
    sg_redis_eval_many(pool, SG_SCRIPT_ENGINE, calls, 2);
    for (i = 0; i < 2; i++) {
	assert_int_equal(calls[i].status, SG_STORE_DOWN);
	assert_int_equal(calls[i].reply.n, 0);
	assert_true(calls[i].err[0] != 0);
    }
    sg_redis_free(pool);
}


/* Bad addresses are refused by sg_redis_new; dead ones fail fast. */
static void test_bad_address(void **state)
{
    static const char *bad[] = {
	"", "localhost", "localhost:", ":6379", "localhost:0",
	"localhost:65536", "localhost:63a9", "::1:6379", "[::1]", "[]:6379",
	"[::1]6379", "unix:", "unix:relative/redis.sock", "bad host:6379",
	0,
    };
    static const char *good[] = {
	"127.0.0.1:6379", "localhost:1", "[::1]:6379", "unix:/x/redis.sock",
	0,
    };
    struct sg_redis_params p;
    struct sg_redis *pool;
    struct sg_reply r;
    char    err[256];
    double  t0;
    double  took;
    int     i;

    (void) state;
    memset(&p, 0, sizeof(p));
    p.timeout_ms = 100;
    p.connect_timeout_ms = 100;
    for (i = 0; bad[i]; i++) {
	p.address = bad[i];
	err[0] = 0;
	assert_null(sg_redis_new(&p, err, sizeof(err)));
	if (strncmp(err, "redis address", 13) != 0)
	    fail_msg("%s: unclear error: \"%s\"", bad[i], err);
	if (*bad[i] && strstr(err, bad[i]) == 0)
	    fail_msg("%s: error does not say which: \"%s\"", bad[i], err);
    }
    p.address = 0;
    assert_null(sg_redis_new(&p, err, sizeof(err)));
    for (i = 0; good[i]; i++) {
	p.address = good[i];
	if ((pool = sg_redis_new(&p, err, sizeof(err))) == 0)
	    fail_msg("%s: %s", good[i], err);
	sg_redis_free(pool);
    }
    p.address = "127.0.0.1:6379";
    p.timeout_ms = 0;
    assert_null(sg_redis_new(&p, err, sizeof(err)));
    assert_non_null(strstr(err, "timeout"));

    /* Nothing listens there: DOWN at once, one warning, then backoff. */
    log_reset();
    pool = pool_open("unix:/nonexistent-sg/redis.sock", 100, 0, 0, 0);
    t0 = now_ms();
    assert_int_equal(run(pool, &r, err, sizeof(err), "PING", (const char *) 0),
		     SG_STORE_DOWN);
    took = now_ms() - t0;
    printf("# dead unix socket: DOWN after %.2f ms: %s\n", took, err);
    assert_true(took < 100);
    assert_non_null(strstr(err, "unix:/nonexistent-sg/redis.sock"));
    assert_non_null(strstr(err, "No such file or directory"));
    assert_int_equal(run(pool, &r, err, sizeof(err), "PING", (const char *) 0),
		     SG_STORE_DOWN);
    assert_non_null(strstr(err, "unavailable"));
    assert_int_equal(logged(LOG_WARNING), 1);
    sg_redis_free(pool);

    log_reset();
    pool = pool_open("127.0.0.1:1", 100, 0, 0, 0);
    t0 = now_ms();
    assert_int_equal(run(pool, &r, err, sizeof(err), "PING", (const char *) 0),
		     SG_STORE_DOWN);
    took = now_ms() - t0;
    printf("# refused TCP port: DOWN after %.2f ms: %s\n", took, err);
    assert_true(took < 100);
    assert_non_null(strstr(err, "127.0.0.1:1"));
    assert_int_equal(logged(LOG_WARNING), 1);
    sg_redis_free(pool);
}

/* Worker for warming a pool with several connections at once. */
static void *ping_some(void *arg)
{
    struct sg_redis *pool = arg;
    struct sg_reply r;
    char    err[256];
    int     i;
    long    bad = 0;

    for (i = 0; i < 50; i++) {
	if (run(pool, &r, err, sizeof(err), "PING", (const char *) 0) != 0)
	    bad++;
	else
	    sg_reply_free(&r);
    }
    return ((void *) bad);
}

/* A stopped Redis: DOWN at once, one warning, one notice on recovery. */
static void test_outage_recovery(void **state)
{
    struct private_redis *pr = private_new(0);
    struct sg_redis *pool = pool_open(pr->address, 200, 0, 0, 0);
    pthread_t th[4];
    struct sg_reply r;
    char    err[256];
    char   *p;
    void   *bad;
    double  t0;
    double  t_start;
    double  t_ready;
    double  took;
    double  worst = 0;
    long    failed = 0;
    long    reported;
    int     st;
    int     i;

    (void) state;
    log_reset();
    /* Several idle connections, all of which the outage will break. */
    for (i = 0; i < 4; i++)
	assert_int_equal(pthread_create(&th[i], 0, ping_some, pool), 0);
    for (i = 0; i < 4; i++) {
	pthread_join(th[i], &bad);
	assert_int_equal((long) bad, 0);
    }

    /*
     * Probes fail at about 0.1, 0.3, 0.7, 1.5 and 2.5 s into the outage
     * (100 ms doubling to 1 s). Restarting at 2.6 s puts the next probe
     * almost a full second away: the slowest recovery there is.
     */
    private_stop(pr);
    t0 = now_ms();
    while (now_ms() - t0 < 2600) {
	double  t = now_ms();

	st = run(pool, &r, err, sizeof(err), "PING", (const char *) 0);
	took = now_ms() - t;
	if (took > worst)
	    worst = took;
	assert_int_equal(st, SG_STORE_DOWN);
	failed++;
	sleep_ms(2);
    }
    printf("# outage: %ld calls failed, slowest %.2f ms, last err: %s\n",
	   failed, worst, err);
    assert_true(worst < 50);
    assert_int_equal(logged(LOG_WARNING), 1);
    assert_int_equal(logged(LOG_NOTICE), 0);
    assert_non_null(strstr(log_last[LOG_WARNING], pr->address));
    assert_non_null(strstr(log_last[LOG_WARNING], "on_redis_error"));

    /* Same socket again; the backoff is at its 1 s cap by now. */
    t_start = now_ms();
    private_start(pr);
    t_ready = now_ms();
    for (;;) {
	st = run(pool, &r, err, sizeof(err), "PING", (const char *) 0);
	if (st == SG_STORE_OK)
	    break;
	assert_int_equal(st, SG_STORE_DOWN);
	failed++;
	if (now_ms() - t_start > 3000)
	    fail_msg("no recovery 3 s after restart: %s", err);
	sleep_ms(5);
    }
    sg_reply_free(&r);
    took = now_ms() - t_start;
    printf("# recovery: %.0f ms after starting redis-server "
	   "(%.0f ms after it answered PING)\n", took, now_ms() - t_ready);
    assert_true(took < 1500);
    assert_int_equal(logged(LOG_WARNING), 1);
    assert_int_equal(logged(LOG_NOTICE), 1);
    assert_non_null(strstr(log_last[LOG_NOTICE], "redis back at"));
    assert_non_null(p = strstr(log_last[LOG_NOTICE], "s, "));
    reported = strtol(p + 3, 0, 10);
    assert_int_equal(reported, failed);

    /* Normal service, and no further log lines. */
    for (i = 0; i < 10; i++) {
	run_ok(pool, &r, "PING");
	sg_reply_free(&r);
    }
    assert_int_equal(logged(LOG_WARNING), 1);
    assert_int_equal(logged(LOG_NOTICE), 1);
    sg_redis_free(pool);
}

/* Worker for the outage under load: calls until told to stop. */
struct outage_worker {
    struct sg_redis *pool;
    volatile int *stop;			/* read under stop_lock */
    long    ok;
    long    down;
    long    other;
    int     last;
};

static pthread_mutex_t stop_lock = PTHREAD_MUTEX_INITIALIZER;

/* stopped - has the main thread said stop? */
static int stopped(volatile int *flag)
{
    int     v;

    pthread_mutex_lock(&stop_lock);
    v = *flag;
    pthread_mutex_unlock(&stop_lock);
    return (v);
}

/* outage_caller - PING in a loop, counting outcomes */
static void *outage_caller(void *arg)
{
    struct outage_worker *w = arg;
    struct sg_reply r;
    char    err[256];

    while (!stopped(w->stop)) {
	w->last = run(w->pool, &r, err, sizeof(err), "PING", (const char *) 0);
	if (w->last == SG_STORE_OK) {
	    w->ok++;
	    sg_reply_free(&r);
	} else if (w->last == SG_STORE_DOWN) {
	    w->down++;
	} else {
	    w->other++;
	}
	sleep_ms(1);
    }
    return (0);
}

/* Eight threads through an outage: one warning, one notice, all counted. */
static void test_outage_threads(void **state)
{
    struct private_redis *pr = private_new(0);
    struct sg_redis *pool = pool_open(pr->address, 200, 0, 0, 0);
    struct outage_worker w[8];
    pthread_t th[8];
    volatile int stop = 0;
    const char *p;
    long    down = 0;
    long    reported;
    int     i;

    (void) state;
    log_reset();
    for (i = 0; i < 8; i++) {
	memset(&w[i], 0, sizeof(w[i]));
	w[i].pool = pool;
	w[i].stop = &stop;
	assert_int_equal(pthread_create(&th[i], 0, outage_caller, &w[i]), 0);
    }
    sleep_ms(300);
    private_stop(pr);
    sleep_ms(1000);
    private_start(pr);
    sleep_ms(1500);
    pthread_mutex_lock(&stop_lock);
    stop = 1;
    pthread_mutex_unlock(&stop_lock);
    for (i = 0; i < 8; i++) {
	pthread_join(th[i], 0);
	assert_int_equal(w[i].other, 0);
	assert_int_equal(w[i].last, SG_STORE_OK);
	assert_true(w[i].ok > 0);
	down += w[i].down;
    }
    assert_int_equal(logged(LOG_WARNING), 1);
    assert_int_equal(logged(LOG_NOTICE), 1);
    assert_non_null(p = strstr(log_last[LOG_NOTICE], "s, "));
    reported = strtol(p + 3, 0, 10);
    printf("# 8 threads through an outage: %ld calls failed, notice says %ld\n",
	   down, reported);
    assert_int_equal(reported, down);
    sg_redis_free(pool);
}

/* Redis restarted while the pool sat idle: no outage for the next caller. */
static void test_restart_between_calls(void **state)
{
    struct private_redis *pr = private_new(0);
    struct sg_redis *pool = pool_open(pr->address, 200, 0, 0, 0);
    pthread_t th[4];
    struct sg_reply r;
    void   *bad;
    int     i;

    (void) state;
    log_reset();
    for (i = 0; i < 4; i++)
	assert_int_equal(pthread_create(&th[i], 0, ping_some, pool), 0);
    for (i = 0; i < 4; i++) {
	pthread_join(th[i], &bad);
	assert_int_equal((long) bad, 0);
    }
    private_stop(pr);
    private_start(pr);

    /* Every idle connection is dead now; the first call finds out and
     * goes on with a new one, and the others are not tried. */
    for (i = 0; i < 4; i++) {
	run_ok(pool, &r, "PING");
	sg_reply_free(&r);
    }
    assert_int_equal(logged(LOG_WARNING), 0);
    assert_int_equal(logged(LOG_NOTICE), 0);
    sg_redis_free(pool);
}

/* free_port - a TCP port free a moment ago (Redis takes it right after) */
static int free_port(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int     fd;
    int     port;

    assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *) &sin, sizeof(sin)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *) &sin, &len), 0);
    port = ntohs(sin.sin_port);
    close(fd);
    return (port);
}

/* host:port and [v6]:port reach a server listening on TCP. */
static void test_tcp(void **state)
{
    static const char *hosts[] = {"127.0.0.1:%d", "localhost:%d",
    "[::1]:%d", 0};
    struct private_redis *pr;
    struct sg_redis *pool;
    struct sg_reply r;
    char    extra[64];
    char    address[64];
    int     port = free_port();
    int     i;

    (void) state;
    log_reset();
    /* "-::1": Redis 7 skips an address it cannot bind instead of failing. */
    snprintf(extra, sizeof(extra), "port %d\nbind 127.0.0.1 -::1", port);
    pr = private_new(extra);
    for (i = 0; hosts[i]; i++) {
	snprintf(address, sizeof(address), hosts[i], port);
	pool = pool_open(address, 1000, 0, 0, 0);
	run_ok(pool, &r, "PING");
	assert_string_equal(r.v[0], "PONG");
	sg_reply_free(&r);
	eval_any(pool);
	sg_redis_free(pool);
    }
    assert_int_equal(logged(LOG_WARNING), 0);
    (void) pr;
}

/* A stalled server: the command timeout holds, and recovery follows. */
static void test_timeout(void **state)
{
    struct private_redis *pr = private_new(0);
    struct sg_redis *pool = pool_open(pr->address, 100, 0, 0, 0);
    struct sg_redis *control = pool_open(pr->address, 2000, 0, 0, 0);
    struct sg_reply r;
    char    err[256];
    double  paused;
    double  t0;
    double  took;
    int     st;

    (void) state;
    log_reset();
    run_ok(pool, &r, "PING");
    sg_reply_free(&r);

    /* CLIENT PAUSE answers at once and then holds every client. */
    run_ok(control, &r, "CLIENT", "PAUSE", "500");
    sg_reply_free(&r);
    paused = now_ms();
    t0 = now_ms();
    st = run(pool, &r, err, sizeof(err), "PING", (const char *) 0);
    took = now_ms() - t0;
    printf("# 100 ms timeout against a 500 ms pause: DOWN after %.1f ms: %s\n",
	   took, err);
    assert_int_equal(st, SG_STORE_DOWN);
    assert_true(took >= 90);
    assert_true(took < 300);
    assert_non_null(strstr(err, "no answer within 100 ms"));
    /* One late answer is not an outage; three in a row are. */
    assert_int_equal(logged(LOG_WARNING), 0);
    assert_int_equal(run(pool, &r, err, sizeof(err), "PING", (const char *) 0),
		     SG_STORE_DOWN);
    assert_int_equal(logged(LOG_WARNING), 0);
    assert_int_equal(run(pool, &r, err, sizeof(err), "PING", (const char *) 0),
		     SG_STORE_DOWN);
    assert_int_equal(logged(LOG_WARNING), 1);

    /* Once the pause is over the pool comes back by itself. */
    while (now_ms() - paused < 550)
	sleep_ms(10);
    t0 = now_ms();
    while ((st = run(pool, &r, err, sizeof(err), "PING",
		     (const char *) 0)) != SG_STORE_OK) {
	assert_int_equal(st, SG_STORE_DOWN);
	if (now_ms() - t0 > 1500)
	    fail_msg("no recovery after the pause: %s", err);
	sleep_ms(5);
    }
    sg_reply_free(&r);
    printf("# recovery after the pause ended: %.0f ms\n", now_ms() - t0);
    assert_int_equal(logged(LOG_NOTICE), 1);
    sg_redis_free(control);
    sg_redis_free(pool);
}

/* write_file - create a file with some content */
static void write_file(const char *path, const char *text, size_t len)
{
    FILE   *fp;

    assert_non_null(fp = fopen(path, "w"));
    assert_int_equal(fwrite(text, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* sg_redis_read_password: first line, CR/LF stripped, clear errors. */
static void test_read_password(void **state)
{
    char    dir[] = "/tmp/sgr.XXXXXX";
    char    path[128];
    char    buf[16];
    char    err[256];

    (void) state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/pw", dir);

    write_file(path, "secret\r\nsecond line\n", 20);
    assert_int_equal(sg_redis_read_password(path, buf, sizeof(buf), err,
					    sizeof(err)), 0);
    assert_string_equal(buf, "secret");
    write_file(path, "no-newline", 10);
    assert_int_equal(sg_redis_read_password(path, buf, sizeof(buf), err,
					    sizeof(err)), 0);
    assert_string_equal(buf, "no-newline");
    write_file(path, "exactly15bytes!\r\n", 17);
    assert_int_equal(sg_redis_read_password(path, buf, sizeof(buf), err,
					    sizeof(err)), 0);
    assert_string_equal(buf, "exactly15bytes!");

    write_file(path, "sixteen-bytes-xx\n", 17);
    assert_int_equal(sg_redis_read_password(path, buf, sizeof(buf), err,
					    sizeof(err)), -1);
    assert_non_null(strstr(err, "longer than 15 bytes"));
    assert_null(strstr(err, "sixteen"));
    write_file(path, "", 0);
    assert_int_equal(sg_redis_read_password(path, buf, sizeof(buf), err,
					    sizeof(err)), -1);
    assert_non_null(strstr(err, "empty"));
    write_file(path, "\r\nsecret\n", 9);
    assert_int_equal(sg_redis_read_password(path, buf, sizeof(buf), err,
					    sizeof(err)), -1);
    assert_non_null(strstr(err, "empty"));

    snprintf(path, sizeof(path), "%s/missing", dir);
    assert_int_equal(sg_redis_read_password(path, buf, sizeof(buf), err,
					    sizeof(err)), -1);
    {
	char    want[256];

	snprintf(want, sizeof(want), "%s: cannot open: No such file or "
		 "directory", path);
	assert_string_equal(err, want);
    }
    shell("rm -rf %s", dir);
}

/* AUTH from a password file, SELECT, and no password in any error. */
static void test_auth(void **state)
{
    static const char pw[] = "s3cret-Pass-7Q";
    static const char wrong[] = "wrong-Pass-Z9";
    struct private_redis *pr = private_new("requirepass s3cret-Pass-7Q");
    struct sg_redis *pool;
    struct sg_redis *db3;
    struct sg_reply r;
    char    path[128];
    char    buf[128];
    char    err[256];
    int     i;

    (void) state;
    log_reset();
    snprintf(path, sizeof(path), "%s/password", pr->dir);
    write_file(path, "s3cret-Pass-7Q\n", 15);
    assert_int_equal(sg_redis_read_password(path, buf, sizeof(buf), err,
					    sizeof(err)), 0);
    assert_string_equal(buf, pw);

    pool = pool_open(pr->address, 1000, buf, 0, 0);
    db3 = pool_open(pr->address, 1000, buf, 3, 0);
    run_ok(pool, &r, "PING");
    assert_string_equal(r.v[0], "PONG");
    sg_reply_free(&r);
    run_ok(db3, &r, "SET", KEY("db"), "three");
    sg_reply_free(&r);
    run_ok(db3, &r, "GET", KEY("db"));
    assert_string_equal(r.v[0], "three");
    sg_reply_free(&r);
    run_ok(pool, &r, "GET", KEY("db"));
    assert_string_equal(r.v[0], "");		/* SELECT 3 really happened */
    sg_reply_free(&r);
    eval_any(db3);				/* scripts pass AUTH too */
    sg_redis_free(db3);
    sg_redis_free(pool);
    assert_int_equal(logged(LOG_WARNING), 0);

    /* Without a password Redis refuses the command: an error, not an
     * outage. */
    pool = pool_open(pr->address, 1000, 0, 0, 0);
    assert_int_equal(run(pool, &r, err, sizeof(err), "PING", (const char *) 0),
		     SG_STORE_ERROR);
    assert_non_null(strstr(err, "NOAUTH"));
    sg_redis_free(pool);

    /* A wrong password: DOWN, paced retries, the password nowhere. */
    pool = pool_open(pr->address, 1000, wrong, 0, 0);
    for (i = 0; i < 3; i++) {
	assert_int_equal(run(pool, &r, err, sizeof(err), "PING",
			     (const char *) 0), SG_STORE_DOWN);
	printf("# wrong password: %s\n", err);
	assert_null(strstr(err, wrong));
	assert_null(strstr(err, pw));
    }
    assert_int_equal(logged(LOG_WARNING), 1);
    assert_non_null(strstr(log_last[LOG_WARNING], "AUTH"));
    assert_null(strstr(log_last[LOG_WARNING], wrong));
    sg_redis_free(pool);
}

/* pool_user - a pool that logs in as an ACL user (AUTH user password) */
static struct sg_redis *pool_user(const char *address, const char *user,
				          const char *password, char *err,
				          size_t errlen)
{
    struct sg_redis_params p;

    memset(&p, 0, sizeof(p));
    p.address = address;
    p.username = user;
    p.password = password;
    p.timeout_ms = 1000;
    p.connect_timeout_ms = 500;
    p.log = test_log;
    return (sg_redis_new(&p, err, errlen));
}

/* Redis 6+ ACL users: AUTH user password, the user's key patterns hold. */
static void test_acl_user(void **state)
{
    static const char pw[] = "acl-Pass-3x";
    struct private_redis *pr;
    struct sg_redis *pool;
    struct sg_reply r;
    char    err[256];

    (void) state;
    log_reset();
    /* The default user is off: only a named user gets in. */
    pr = private_new("user sgmilter on >acl-Pass-3x ~sgtest:* &* +@all\n"
		     "user default off");
    assert_non_null(pool = pool_user(pr->address, "sgmilter", pw, err,
				     sizeof(err)));
    run_ok(pool, &r, "ACL", "WHOAMI");
    assert_string_equal(r.v[0], "sgmilter");
    sg_reply_free(&r);
    run_ok(pool, &r, "SET", KEY("acl"), "1");
    sg_reply_free(&r);
    eval_any(pool);				/* scripts run as the user */
    /* Outside its key pattern the user is refused: an error, no outage. */
    assert_int_equal(run(pool, &r, err, sizeof(err), "SET", "other:key", "1",
			 (const char *) 0), SG_STORE_ERROR);
    assert_non_null(strstr(err, "NOPERM"));
    sg_redis_free(pool);
    assert_int_equal(logged(LOG_WARNING), 0);

    /* A wrong user: AUTH refused, an outage, the password never shown. */
    assert_non_null(pool = pool_user(pr->address, "nobody", pw, err,
				     sizeof(err)));
    assert_int_equal(run(pool, &r, err, sizeof(err), "PING",
			 (const char *) 0), SG_STORE_DOWN);
    printf("# wrong user: %s\n", err);
    assert_non_null(strstr(err, "AUTH"));
    assert_null(strstr(err, pw));
    assert_int_equal(logged(LOG_WARNING), 1);
    assert_null(strstr(log_last[LOG_WARNING], pw));
    sg_redis_free(pool);

    /* A user without a password is refused when the pool is made. */
    assert_null(pool_user(pr->address, "sgmilter", 0, err, sizeof(err)));
    assert_non_null(strstr(err, "password"));
}

/* [redis]: address or sentinels + master_name; username needs a password. */
static void test_config_ha(void **state)
{
    static const char *bad[] = {
	"address = 127.0.0.1:6379\nsentinels = 127.0.0.1:26379\n"
	"master_name = m\n",
	"sentinels = 127.0.0.1:26379\n",
	"master_name = m\n",
	"sentinels = 127.0.0.1:26379 127.0.0.1\nmaster_name = m\n",
	"sentinels = 127.0.0.1:0\nmaster_name = m\n",
	"sentinels = 127.0.0.1:26379\nmaster_name = m\nusername = u\n",
	"sentinel_password_file = /etc/pw\n",
	0,
    };
    struct sg_config cfg;
    struct sg_redis_params rp;
    char    text[512], err[256], pw[64], spw[64];
    int     i;

    (void) state;
    for (i = 0; bad[i]; i++) {
	snprintf(text, sizeof(text), "[redis]\n%s", bad[i]);
	if (sg_config_parse_string("t", text, &cfg, err, sizeof(err)) == 0)
	    fail_msg("accepted: %s", bad[i]);
	printf("# refused: %s", err);
	printf("\n");
    }
    assert_int_equal(sg_config_parse_string("t", "[redis]\nsentinels = "
					    "127.0.0.1:26379, [::1]:26380 "
					    "h:1\nmaster_name = mymaster\n",
					    &cfg, err, sizeof(err)), 0);
    assert_int_equal(sg_redis_params_config(&cfg, &rp, pw, sizeof(pw), spw,
					    sizeof(spw), err, sizeof(err)), 0);
    assert_null(rp.address);
    assert_string_equal(rp.master_name, "mymaster");
    rp.log = test_log;
    {
	struct sg_redis *pool = sg_redis_new(&rp, err, sizeof(err));

	if (pool == 0)
	    fail_msg("%s", err);
	sg_redis_free(pool);
    }
}

/*
 * Redis Sentinel: a master and a replica on TCP, one sentinel (quorum 1,
 * with a password). The sentinel list starts with a dead one.
 */
static char sentinel_pidfile[160];

/* sentinel_cleanup - teardown: the sentinel first, then the servers */
static int sentinel_cleanup(void **state)
{
    FILE   *fp;
    long    pid = 0;

    if (sentinel_pidfile[0] && (fp = fopen(sentinel_pidfile, "r")) != 0) {
	if (fscanf(fp, "%ld", &pid) == 1 && pid > 0)
	    kill((pid_t) pid, SIGKILL);
	fclose(fp);
    }
    sentinel_pidfile[0] = 0;
    return (private_cleanup(state));
}

/* pool_sentinel - a pool on sentinels; NULL with err on bad parameters */
static struct sg_redis *pool_sentinel(const char *sentinels, const char *name,
				              const char *spw, char *err,
				              size_t errlen)
{
    struct sg_redis_params p;

    memset(&p, 0, sizeof(p));
    p.sentinels = sentinels;
    p.master_name = name;
    p.sentinel_password = spw;
    p.timeout_ms = 1000;
    p.connect_timeout_ms = 500;
    p.log = test_log;
    return (sg_redis_new(&p, err, errlen));
}

/* role_is - "master" or "slave" as redis-cli sees a server on a port */
static int role_is(int port, const char *role)
{
    return (shell("redis-cli -h 127.0.0.1 -p %d ROLE 2>/dev/null | head -1 "
		  "| grep -qx %s", port, role) == 0);
}

/* Discovery, ROLE, a forced failover followed through READONLY; the library. */
static void test_sentinel(void **state)
{
    struct private_redis *pm, *pr;
    struct sg_redis *pool;
    struct sg_reply r;
    char    extra[160], list[96], err[512], conf[160];
    int     mport = free_port(), rport = free_port(), sport = free_port();
    int     i, st, saw_readonly = 0;
    double  t0;
    FILE   *fp;

    (void) state;
    log_reset();
    if (mport == rport || rport == sport || mport == sport)
	skip();					/* the kernel reused a port */
    snprintf(extra, sizeof(extra), "port %d\nbind 127.0.0.1", mport);
    pm = private_new(extra);
    snprintf(extra, sizeof(extra), "port %d\nbind 127.0.0.1\nreplicaof "
	     "127.0.0.1 %d", rport, mport);
    pr = private_new(extra);
    snprintf(conf, sizeof(conf), "%s/sentinel.conf", pm->dir);
    snprintf(sentinel_pidfile, sizeof(sentinel_pidfile), "%s/sentinel.pid",
	     pm->dir);
    assert_non_null(fp = fopen(conf, "w"));
    fprintf(fp, "port %d\nbind 127.0.0.1\ndaemonize yes\npidfile %s\n"
	    "logfile %s/sentinel.log\ndir %s\nrequirepass sent-Pw-5\n"
	    "sentinel monitor sgt 127.0.0.1 %d 1\n"
	    "sentinel down-after-milliseconds sgt 1000\n"
	    "sentinel failover-timeout sgt 3000\n", sport, sentinel_pidfile,
	    pm->dir, pm->dir, mport);
    assert_int_equal(fclose(fp), 0);
    assert_int_equal(shell("redis-sentinel %s", conf), 0);
    for (i = 0; i < 300; i++) {
	if (shell("redis-cli -p %d -a sent-Pw-5 --no-auth-warning SENTINEL "
		  "replicas sgt 2>/dev/null | grep -qx 'slave'", sport) == 0
	    && shell("redis-cli -p %d INFO replication | grep -q "
		     "'^master_link_status:up'", rport) == 0)
	    break;
	sleep_ms(100);
    }
    if (i == 300)
	fail_msg("the sentinel did not see the replica within 30 s");

    /* The first sentinel is dead: the next one is asked. */
    snprintf(list, sizeof(list), "127.0.0.1:1, 127.0.0.1:%d", sport);
    assert_non_null(pool = pool_sentinel(list, "sgt", "sent-Pw-5", err,
					 sizeof(err)));
    run_ok(pool, &r, "SET", KEY("ha"), "before");
    sg_reply_free(&r);
    eval_any(pool);
    assert_int_equal(logged(LOG_WARNING), 0);

    /* Wrong master name, wrong sentinel password: outages that say why. */
    {
	struct sg_redis *bad;

	assert_non_null(bad = pool_sentinel(list, "nope", "sent-Pw-5", err,
					    sizeof(err)));
	assert_int_equal(run(bad, &r, err, sizeof(err), "PING",
			     (const char *) 0), SG_STORE_DOWN);
	printf("# unknown master: %s\n", err);
	assert_non_null(strstr(err, "does not know a master named nope"));
	sg_redis_free(bad);
	assert_non_null(bad = pool_sentinel(list, "sgt", "wrong-Pw-1", err,
					    sizeof(err)));
	assert_int_equal(run(bad, &r, err, sizeof(err), "PING",
			     (const char *) 0), SG_STORE_DOWN);
	printf("# wrong sentinel password: %s\n", err);
	assert_non_null(strstr(err, "AUTH"));
	assert_null(strstr(err, "wrong-Pw-1"));
	sg_redis_free(bad);
	assert_null(pool_sentinel(list, "", 0, err, sizeof(err)));
	assert_null(pool_sentinel("127.0.0.1", "sgt", 0, err, sizeof(err)));
    }

    /* A forced failover: the old master is demoted and answers READONLY. */
    log_reset();
    assert_int_equal(shell("redis-cli -p %d -a sent-Pw-5 --no-auth-warning "
			   "SENTINEL FAILOVER sgt | grep -q OK", sport), 0);
    for (i = 0; i < 300 && !(role_is(mport, "slave")
			     && role_is(rport, "master")); i++)
	sleep_ms(100);
    if (i == 300)
	fail_msg("the failover did not happen within 30 s");
    t0 = now_ms();
    for (;;) {
	st = run(pool, &r, err, sizeof(err), "SET", KEY("ha"), "after",
		 (const char *) 0);
	if (st == SG_STORE_OK)
	    break;
	assert_int_equal(st, SG_STORE_DOWN);
	if (strstr(err, "READONLY"))
	    saw_readonly = 1;
	if (now_ms() - t0 > 10000)
	    fail_msg("no write to the new master within 10 s: %s", err);
	sleep_ms(20);
    }
    sg_reply_free(&r);
    printf("# new master in use %.0f ms after the old one was demoted\n",
	   now_ms() - t0);
    assert_true(saw_readonly);			/* the idle connection's answer */
    assert_int_equal(logged(LOG_WARNING), 1);
    assert_non_null(strstr(log_last[LOG_WARNING], "READONLY"));
    assert_int_equal(logged(LOG_NOTICE), 2);	/* new master, back */
    run_ok(pool, &r, "ROLE");
    assert_string_equal(r.v[0], "master");
    sg_reply_free(&r);
    assert_int_equal(shell("redis-cli -p %d GET %s | grep -qx after", rport,
			   KEY("ha")), 0);
    /*
     * The new master has the library, replicated from the old one or
     * loaded on the spot after "Function not found": the call is answered.
     */
    eval_any(pool);
    assert_int_equal(shell("redis-cli -p %d FUNCTION LIST | grep -q "
			   "'^sg_'", rport), 0);
    sg_redis_free(pool);
    (void) pr;
}

/* Worker state for the concurrency test. */
struct worker {
    struct sg_redis *pool;
    int     calls;
    int     failed;
    char    first_err[256];
};

/* hammer - calls from one thread; cmocka asserts stay in the main thread */
static void *hammer(void *arg)
{
    struct worker *w = arg;
    struct sg_reply r;
    char    err[256];
    int     i;
    int     st;

    for (i = 0; i < w->calls; i++) {
	if (i % 4 == 3)
	    st = run(w->pool, &r, err, sizeof(err), "PING", (const char *) 0);
	else
	    st = run(w->pool, &r, err, sizeof(err), "INCR", KEY("threads"),
		     (const char *) 0);
	if (st != SG_STORE_OK) {
	    if (w->failed++ == 0)
		snprintf(w->first_err, sizeof(w->first_err), "%s", err);
	    continue;
	}
	if (r.n != 1)
	    w->failed++;
	sg_reply_free(&r);
    }
    return (0);
}

/* run_workers - N threads of hammer() on one pool */
static void run_workers(struct sg_redis *pool, int nthreads, int calls)
{
    pthread_t th[16];
    struct worker w[16];
    int     i;

    assert_true(nthreads <= 16);
    for (i = 0; i < nthreads; i++) {
	memset(&w[i], 0, sizeof(w[i]));
	w[i].pool = pool;
	w[i].calls = calls;
	assert_int_equal(pthread_create(&th[i], 0, hammer, &w[i]), 0);
    }
    for (i = 0; i < nthreads; i++)
	pthread_join(th[i], 0);
    for (i = 0; i < nthreads; i++)
	if (w[i].failed)
	    fail_msg("thread %d: %d of %d calls failed, first: %s", i,
		     w[i].failed, calls, w[i].first_err);
}

/* 8 threads x 2000 calls on one pool; connections are reused. */
static void test_threads(void **state)
{
    struct sg_redis *pool = pool_open(shared_address(), 2000, 0, 0, 0);
    struct sg_redis *small;
    struct sg_reply r;
    long    conn0;
    long    conn1;
    long    clients0;
    long    clients = 0;
    double  t0;
    int     i;

    (void) state;
    log_reset();
    run_ok(pool, &r, "DEL", KEY("threads"));
    sg_reply_free(&r);
    conn0 = info_field(pool, "stats", "total_connections_received:");
    t0 = now_ms();
    run_workers(pool, 8, 2000);
    printf("# 8 threads x 2000 calls: %.0f ms\n", now_ms() - t0);
    conn1 = info_field(pool, "stats", "total_connections_received:");
    run_ok(pool, &r, "GET", KEY("threads"));
    assert_string_equal(r.v[0], "12000");	/* 3 of 4 calls are INCR */
    sg_reply_free(&r);
    printf("# connections made for 16000 calls: %ld\n", conn1 - conn0);
    assert_true(conn1 - conn0 <= 8);
    assert_int_equal(logged(LOG_WARNING), 0);

    /* With max_idle 2, the surplus connections are closed after use. */
    clients0 = info_field(pool, "clients", "connected_clients:");
    small = pool_open(shared_address(), 2000, 0, 0, 2);
    run_workers(small, 8, 200);
    for (i = 0; i < 100; i++) {
	clients = info_field(pool, "clients", "connected_clients:");
	if (clients <= clients0 + 2)
	    break;
	sleep_ms(10);
    }
    printf("# max_idle 2: %ld connections left open\n", clients - clients0);
    assert_true(clients <= clients0 + 2);
    sg_redis_free(small);
    sg_redis_free(pool);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_command_roundtrip),
	cmocka_unit_test(test_fcall),
	cmocka_unit_test(test_noscript),
	cmocka_unit_test_teardown(test_eval_many, private_cleanup),
	cmocka_unit_test(test_bad_address),
	cmocka_unit_test_teardown(test_outage_recovery, private_cleanup),
	cmocka_unit_test_teardown(test_outage_threads, private_cleanup),
	cmocka_unit_test_teardown(test_restart_between_calls, private_cleanup),
	cmocka_unit_test_teardown(test_timeout, private_cleanup),
	cmocka_unit_test_teardown(test_tcp, private_cleanup),
	cmocka_unit_test(test_read_password),
	cmocka_unit_test_teardown(test_auth, private_cleanup),
	cmocka_unit_test_teardown(test_acl_user, private_cleanup),
	cmocka_unit_test(test_config_ha),
	cmocka_unit_test_teardown(test_sentinel, sentinel_cleanup),
	cmocka_unit_test(test_threads),
    };

    /* Output lines interleave with cmocka's; keep them in order. */
    setvbuf(stdout, 0, _IONBF, 0);
    return (cmocka_run_group_tests(tests, 0, private_cleanup));
}
