/*
 * NAME
 *	sg_redis 3
 * SUMMARY
 *	connection pool, outage handling and script calls for Redis
 * SYNOPSIS
 *	#include "sg_redis.h"
 * DESCRIPTION
 *	This is the only file that includes hiredis (0.14.1, blocking API).
 *
 *	A redisContext is not thread-safe, and libmilter runs its callbacks
 *	on a pool of worker threads, so contexts live on a mutex-protected
 *	free list. A caller takes one (or connects a new one), runs its
 *	command without holding the lock, and gives it back. A context that
 *	saw any error is freed, never returned: hiredis leaves it unusable,
 *	and redisReconnect() would forget the timeout, AUTH and SELECT.
 *
 *	Every new connection gets the command timeout (redisSetTimeout; the
 *	connect timeout limits connect() only), then AUTH and SELECT.
 *
 *	Outages. The first I/O error or timeout marks the pool down, drops
 *	the idle connections and logs one warning. While down, calls fail at
 *	once: a milter that waits on a dead Redis holds every SMTP session
 *	with it. When the backoff (100 ms, doubling to 1 s) is due, the next
 *	caller, and only that one, tries to connect; its success ends the
 *	outage and logs one notice. Each connection carries the "epoch" in
 *	which it was made, so a failure on a connection older than the
 *	current outage, or from before the recovery, cannot start a second
 *	outage report.
 *
 *	A connection taken from the free list may have been closed by the
 *	server while idle (a Redis restart between two calls). If such a
 *	connection reports end of file or a broken pipe, the idle list is
 *	emptied and the command sent once more on a fresh connection instead
 *	of declaring an outage (see sg_exec() for the one ambiguous case).
 *
 *	Scripts are called by SHA1, computed here with OpenSSL from the
 *	sources compiled into the program. A NOSCRIPT answer (Redis restarted
 *	empty, SCRIPT FLUSH) loads the script and tries once more.
 *
 *	hiredis writes with write(2), so a connection closed by the server
 *	raises SIGPIPE. Unless the program ignored SIGPIPE before making the
 *	pool (the daemon and the feed do: that spares two system calls a
 *	command), SIGPIPE is blocked in the calling thread while it uses a
 *	connection, and a SIGPIPE raised meanwhile is discarded: a library
 *	must not kill a program that forgot to ignore it.
 * DIAGNOSTICS
 *	Errors are written into the caller's buffer, one line, never with
 *	the password. The start and end of an outage go to params.log.
 */
#include <sys/time.h>
#include <sys/un.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include "sg_redis.h"

#define SG_REDIS_IDLE_DEFAULT	128	/* idle connections are cheap */
#define SG_SLOW_TRIP		3	/* timeouts in a row that make an outage */
#define SG_BACKOFF_MIN_MS	100
#define SG_BACKOFF_MAX_MS	1000
#define SG_SHA1_HEX		41	/* 40 hex digits and a NUL */
#define SG_REASON_MAX		256

struct sg_redis {
    /* Set by sg_redis_new(), read-only afterwards: no lock needed. */
    char   *address;		/* as configured, for messages */
    char   *host;		/* TCP host, or NULL */
    char   *path;		/* unix socket path, or NULL */
    int     port;
    char   *password;		/* NULL for none */
    int     db;
    unsigned long timeout_ms;
    unsigned long connect_timeout_ms;
    int     max_idle;
    void    (*log) (int, const char *,...);
    char    sha[SG_SCRIPT_COUNT][SG_SHA1_HEX];

    /* Everything below is guarded by lock. */
    pthread_mutex_t lock;
    redisContext **idle;	/* max_idle slots */
    int     nidle;
    unsigned long epoch;	/* bumped when an outage starts */
    int     down;
    int     probing;		/* one caller is reconnecting */
    unsigned backoff_ms;
    long long down_since;	/* monotonic ns */
    long long next_try;		/* monotonic ns */
    unsigned long failed;	/* calls failed during this outage */
    unsigned slow;		/* command timeouts since the last success */
    int     sigpipe_ignored;	/* SIG_IGN when the pool was made */
};

/* A connection on loan to one caller. */
struct sg_lease {
    redisContext *rc;
    unsigned long epoch;	/* pool epoch when it was made */
    int     reused;		/* came from the free list */
    int     probe;		/* this caller is the outage's prober */
};

/* sg_seterr - format a one-line error into the caller's buffer */
static void sg_seterr(char *err, size_t errlen, const char *fmt,...)
{
    va_list ap;

    if (err == 0 || errlen == 0)
	return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* sg_now - monotonic time in nanoseconds: outages must not follow NTP */
static long long sg_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((long long) ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

/* sg_ms_tv - milliseconds as a struct timeval */
static struct timeval sg_ms_tv(unsigned long ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return (tv);
}

/* sg_strndup - copy len bytes and a NUL; NULL when memory is short */
static char *sg_strndup(const char *s, size_t len)
{
    char   *p;

    if ((p = malloc(len + 1)) == 0)
	return (0);
    memcpy(p, s, len);
    p[len] = 0;
    return (p);
}

/* sg_sigpipe_block - block SIGPIPE in this thread while using a socket */
static int sg_sigpipe_block(sigset_t *old)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &set, old) != 0)
	return (0);
    /* Already blocked by the caller: the caller owns any pending one. */
    return (!sigismember(old, SIGPIPE));
}

/* sg_sigpipe_restore - discard a SIGPIPE we caused, restore the mask */
static void sg_sigpipe_restore(int blocked, int broke, const sigset_t *old)
{
    sigset_t set;
    sigset_t pending;
    struct timespec zero = {0, 0};
    int     saved = errno;

    if (!blocked)
	return;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    /* Only a failed write raises SIGPIPE: spare the syscall otherwise. */
    if (broke && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
	while (sigtimedwait(&set, 0, &zero) < 0 && errno == EINTR)
	     /* void */ ;
    pthread_sigmask(SIG_SETMASK, old, 0);
    errno = saved;
}

/* sg_parse_port - a decimal port 1..65535, nothing else */
static int sg_parse_port(const char *s)
{
    long    port = 0;

    if (*s == 0)
	return (-1);
    for (; *s; s++) {
	if (!isdigit((unsigned char) *s))
	    return (-1);
	port = port * 10 + (*s - '0');
	if (port > 65535)
	    return (-1);
    }
    return (port > 0 ? (int) port : -1);
}

/* sg_parse_address - split unix:/path, host:port or [v6]:port */
static int sg_parse_address(struct sg_redis *pool, const char *addr,
			            char *err, size_t errlen)
{
    const char *colon;
    const char *host;
    size_t  hostlen;
    struct sockaddr_un sun;

    if (addr == 0 || *addr == 0) {
	sg_seterr(err, errlen, "redis address is empty: expected "
		  "unix:/path, host:port or [v6]:port");
	return (-1);
    }
    if (strncmp(addr, "unix:", 5) == 0) {
	if (addr[5] != '/') {
	    sg_seterr(err, errlen, "redis address \"%s\": the socket path "
		      "after unix: must be absolute", addr);
	    return (-1);
	}
	if (strlen(addr + 5) >= sizeof(sun.sun_path)) {
	    sg_seterr(err, errlen, "redis address \"%s\": socket path "
		      "longer than %zu bytes", addr, sizeof(sun.sun_path) - 1);
	    return (-1);
	}
	if ((pool->path = strdup(addr + 5)) == 0)
	    goto nomem;
	return (0);
    }
    if (addr[0] == '[') {
	const char *close = strchr(addr, ']');

	if (close == 0 || close == addr + 1 || close[1] != ':') {
	    sg_seterr(err, errlen, "redis address \"%s\": expected "
		      "[v6address]:port", addr);
	    return (-1);
	}
	host = addr + 1;
	hostlen = close - host;
	colon = close + 1;
    } else {
	if ((colon = strrchr(addr, ':')) == 0) {
	    sg_seterr(err, errlen, "redis address \"%s\": expected "
		      "unix:/path, host:port or [v6]:port", addr);
	    return (-1);
	}
	if (memchr(addr, ':', colon - addr) != 0) {
	    sg_seterr(err, errlen, "redis address \"%s\": write an IPv6 "
		      "address in brackets, as [::1]:6379", addr);
	    return (-1);
	}
	host = addr;
	hostlen = colon - addr;
	if (hostlen == 0) {
	    sg_seterr(err, errlen, "redis address \"%s\": host is missing",
		      addr);
	    return (-1);
	}
    }
    if ((pool->port = sg_parse_port(colon + 1)) < 0) {
	sg_seterr(err, errlen, "redis address \"%s\": port must be a "
		  "number from 1 to 65535", addr);
	return (-1);
    }
    for (size_t i = 0; i < hostlen; i++) {
	if (isspace((unsigned char) host[i]) || host[i] == '/') {
	    sg_seterr(err, errlen, "redis address \"%s\": bad host name",
		      addr);
	    return (-1);
	}
    }
    if ((pool->host = sg_strndup(host, hostlen)) == 0)
	goto nomem;
    return (0);

nomem:
    sg_seterr(err, errlen, "redis address \"%s\": out of memory", addr);
    return (-1);
}

/* sg_sha1_hex - the SHA1 Redis will file a script under */
static int sg_sha1_hex(const char *src, char *hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    unsigned int i;

    /* SHA1() is deprecated in OpenSSL 3; the EVP call is the same hash. */
    if (EVP_Digest(src, strlen(src), md, &mdlen, EVP_sha1(), 0) != 1
	|| mdlen != 20)
	return (-1);
    for (i = 0; i < mdlen; i++)
	snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return (0);
}

/* sg_redis_new - make a pool; connects lazily; NULL with err on bad params */
struct sg_redis *sg_redis_new(const struct sg_redis_params *params,
			              char *err, size_t errlen)
{
    struct sg_redis *pool;
    int     i;

    if (params == 0) {
	sg_seterr(err, errlen, "redis: no parameters");
	return (0);
    }
    if (params->timeout_ms == 0 || params->connect_timeout_ms == 0) {
	/* Zero would mean "wait forever" to hiredis: never in a milter. */
	sg_seterr(err, errlen, "redis: %s must be greater than 0 ms",
		  params->timeout_ms == 0 ? "timeout" : "connect timeout");
	return (0);
    }
    if (params->timeout_ms > 3600000 || params->connect_timeout_ms > 3600000) {
	sg_seterr(err, errlen, "redis: timeouts over one hour make no sense");
	return (0);
    }
    if (params->db < 0) {
	sg_seterr(err, errlen, "redis: database number %d is negative",
		  params->db);
	return (0);
    }
    if (params->max_idle < 0) {
	sg_seterr(err, errlen, "redis: max_idle %d is negative",
		  params->max_idle);
	return (0);
    }
    if ((pool = calloc(1, sizeof(*pool))) == 0) {
	sg_seterr(err, errlen, "redis: out of memory");
	return (0);
    }
    if (pthread_mutex_init(&pool->lock, 0) != 0) {
	free(pool);
	sg_seterr(err, errlen, "redis: cannot create a mutex");
	return (0);
    }
    {
	struct sigaction sa;

	pool->sigpipe_ignored = sigaction(SIGPIPE, 0, &sa) == 0
	    && sa.sa_handler == SIG_IGN;
    }
    if (sg_parse_address(pool, params->address, err, errlen) < 0)
	goto fail;
    pool->db = params->db;
    pool->timeout_ms = params->timeout_ms;
    pool->connect_timeout_ms = params->connect_timeout_ms;
    pool->max_idle = params->max_idle ? params->max_idle : SG_REDIS_IDLE_DEFAULT;
    pool->log = params->log;
    pool->backoff_ms = SG_BACKOFF_MIN_MS;
    if ((pool->address = strdup(params->address)) == 0
	|| (pool->idle = calloc(pool->max_idle, sizeof(*pool->idle))) == 0
	|| (params->password && *params->password
	    && (pool->password = strdup(params->password)) == 0)) {
	sg_seterr(err, errlen, "redis: out of memory");
	goto fail;
    }
    for (i = 0; i < SG_SCRIPT_COUNT; i++) {
	if (sg_script_source[i] == 0
	    || sg_sha1_hex(sg_script_source[i], pool->sha[i]) < 0) {
	    sg_seterr(err, errlen, "redis: cannot compute the SHA1 of "
		      "script %s", sg_script_name[i]);
	    goto fail;
	}
    }
    return (pool);

fail:
    sg_redis_free(pool);
    return (0);
}

/* sg_redis_free - close every idle connection and forget the password */
void    sg_redis_free(struct sg_redis *pool)
{
    int     i;

    if (pool == 0)
	return;
    /* Connections still on loan are the callers' bug; we cannot wait. */
    for (i = 0; i < pool->nidle; i++)
	redisFree(pool->idle[i]);
    free(pool->idle);
    if (pool->password) {
	explicit_bzero(pool->password, strlen(pool->password));
	free(pool->password);
    }
    free(pool->address);
    free(pool->host);
    free(pool->path);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

/* sg_redis_store - the pool as the engine's store */
struct sg_store sg_redis_store(struct sg_redis *pool)
{
    struct sg_store store;

    store.eval = sg_redis_eval;
    store.eval_many = sg_redis_eval_many;
    store.ctx = pool;
    return (store);
}

/* sg_scrub - hide the password should a server ever echo it back */
static void sg_scrub(const struct sg_redis *pool, char *text)
{
    char   *p;
    size_t  len;

    if (pool->password == 0 || (len = strlen(pool->password)) == 0)
	return;
    while ((p = strstr(text, pool->password)) != 0)
	memset(p, '*', len);
}

/* sg_io_reason - say why a command on a context failed */
static int sg_io_reason(const struct sg_redis *pool, const redisContext *rc,
			        int saved_errno, char *buf, size_t len)
{
    /* SO_RCVTIMEO expiring shows up as EAGAIN in a blocking context. */
    if (rc->err == REDIS_ERR_IO
	&& (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK))
	snprintf(buf, len, "no answer within %lu ms", pool->timeout_ms);
    else
	snprintf(buf, len, "%s", rc->errstr[0] ? rc->errstr : "I/O error");
    return (rc->err == REDIS_ERR_OOM ? SG_STORE_ERROR : SG_STORE_DOWN);
}

/* sg_setup_command - run AUTH or SELECT on a new connection */
static int sg_setup_command(const struct sg_redis *pool, redisContext *rc,
			            int argc, const char **argv,
			            char *reason, size_t len)
{
    redisReply *reply;
    int     status;

    errno = 0;
    if ((reply = redisCommandArgv(rc, argc, argv, 0)) == 0) {
	status = sg_io_reason(pool, rc, errno, reason, len);
	/* The reason is hiredis text, never an argument, but be sure. */
	sg_scrub(pool, reason);
	return (status);
    }
    if (reply->type == REDIS_REPLY_ERROR) {
	/* A refused AUTH or SELECT is a configuration error; treating it
	 * as an outage gives one log line and paced retries instead of a
	 * connection storm. */
	snprintf(reason, len, "%s refused: %s", argv[0],
		 reply->str ? reply->str : "error");
	sg_scrub(pool, reason);
	freeReplyObject(reply);
	return (SG_STORE_DOWN);
    }
    freeReplyObject(reply);
    return (SG_STORE_OK);
}

/* sg_conn_open - connect, then set timeout, AUTH and SELECT */
static int sg_conn_open(const struct sg_redis *pool, redisContext **rcp,
			        char *reason, size_t len)
{
    redisContext *rc;
    struct timeval tv = sg_ms_tv(pool->connect_timeout_ms);
    char    dbbuf[16];
    const char *argv[2];
    int     status;

    *rcp = 0;
    if (pool->path)
	rc = redisConnectUnixWithTimeout(pool->path, tv);
    else
	rc = redisConnectWithTimeout(pool->host, pool->port, tv);
    if (rc == 0) {
	snprintf(reason, len, "out of memory");
	return (SG_STORE_ERROR);
    }
    if (rc->err) {
	snprintf(reason, len, "connect: %s", rc->errstr);
	status = (rc->err == REDIS_ERR_OOM ? SG_STORE_ERROR : SG_STORE_DOWN);
	redisFree(rc);
	return (status);
    }
    if (redisSetTimeout(rc, sg_ms_tv(pool->timeout_ms)) != REDIS_OK) {
	snprintf(reason, len, "setting the command timeout: %s", rc->errstr);
	redisFree(rc);
	return (SG_STORE_DOWN);
    }
    if (pool->password) {
	argv[0] = "AUTH";
	argv[1] = pool->password;
	if ((status = sg_setup_command(pool, rc, 2, argv, reason, len)) != 0) {
	    redisFree(rc);
	    return (status);
	}
    }
    if (pool->db != 0) {
	snprintf(dbbuf, sizeof(dbbuf), "%d", pool->db);
	argv[0] = "SELECT";
	argv[1] = dbbuf;
	if ((status = sg_setup_command(pool, rc, 2, argv, reason, len)) != 0) {
	    redisFree(rc);
	    return (status);
	}
    }
    *rcp = rc;
    return (SG_STORE_OK);
}

/* sg_pool_failed - count a failure; the first one starts an outage */
static void sg_pool_failed(struct sg_redis *pool, const struct sg_lease *lease,
			           const char *reason)
{
    long long now = sg_now();
    int     announce = 0;
    int     i;

    pthread_mutex_lock(&pool->lock);
    if (lease->probe) {
	pool->probing = 0;
	pool->backoff_ms *= 2;
	if (pool->backoff_ms > SG_BACKOFF_MAX_MS)
	    pool->backoff_ms = SG_BACKOFF_MAX_MS;
	pool->next_try = now + pool->backoff_ms * 1000000LL;
	pool->failed++;
    } else if (!pool->down && lease->epoch == pool->epoch) {
	pool->down = 1;
	pool->epoch++;
	pool->down_since = now;
	pool->backoff_ms = SG_BACKOFF_MIN_MS;
	pool->next_try = now + pool->backoff_ms * 1000000LL;
	pool->failed = 1;
	/* The idle connections lead to the same dead server. Closing a
	 * socket does not wait on the peer, so do it under the lock. */
	for (i = 0; i < pool->nidle; i++)
	    redisFree(pool->idle[i]);
	pool->nidle = 0;
	announce = 1;
    } else if (pool->down) {
	pool->failed++;
    }
    pthread_mutex_unlock(&pool->lock);
    if (announce && pool->log)
	pool->log(LOG_WARNING, "redis unavailable at %s: %s; mail follows "
		  "on_redis_error until it is back", pool->address, reason);
}

/* sg_pool_recovered - the prober got through: end the outage */
static void sg_pool_recovered(struct sg_redis *pool)
{
    long long now = sg_now();
    long long span;
    unsigned long failed;

    pthread_mutex_lock(&pool->lock);
    span = now - pool->down_since;
    failed = pool->failed;
    pool->down = 0;
    pool->probing = 0;
    pool->failed = 0;
    pool->backoff_ms = SG_BACKOFF_MIN_MS;
    pthread_mutex_unlock(&pool->lock);
    if (pool->log)
	pool->log(LOG_NOTICE, "redis back at %s after %.1fs, %lu calls failed",
		  pool->address, span / 1e9, failed);
}

/* sg_conn_get - lend a connection, or fail at once during an outage */
static int sg_conn_get(struct sg_redis *pool, struct sg_lease *lease,
		               int fresh, char *err, size_t errlen)
{
    char    reason[SG_REASON_MAX];
    long long now;
    double  since;
    int     status;

    memset(lease, 0, sizeof(*lease));
    pthread_mutex_lock(&pool->lock);
    if (pool->down) {
	now = sg_now();
	if (pool->probing || now < pool->next_try) {
	    pool->failed++;
	    since = (now - pool->down_since) / 1e9;
	    pthread_mutex_unlock(&pool->lock);
	    sg_seterr(err, errlen, "redis unavailable at %s (down for %.1fs, "
		      "retrying)", pool->address, since);
	    return (SG_STORE_DOWN);
	}
	pool->probing = 1;
	lease->probe = 1;
    } else if (pool->nidle > 0 && !fresh) {
	lease->rc = pool->idle[--pool->nidle];
	lease->epoch = pool->epoch;
	lease->reused = 1;
	pthread_mutex_unlock(&pool->lock);
	return (SG_STORE_OK);
    }
    lease->epoch = pool->epoch;
    pthread_mutex_unlock(&pool->lock);

    /* Connect without the lock: other callers must not wait on us. */
    status = sg_conn_open(pool, &lease->rc, reason, sizeof(reason));
    if (status == SG_STORE_OK)
	return (SG_STORE_OK);		/* a probe ends the outage only once
					 * its command is answered: a paused
					 * server accepts connections */
    if (status == SG_STORE_DOWN) {
	sg_pool_failed(pool, lease, reason);
	sg_seterr(err, errlen, "redis unavailable at %s: %s",
		  pool->address, reason);
    } else {
	/* Out of memory says nothing about Redis: just free the probe. */
	if (lease->probe) {
	    pthread_mutex_lock(&pool->lock);
	    pool->probing = 0;
	    pthread_mutex_unlock(&pool->lock);
	}
	sg_seterr(err, errlen, "redis at %s: %s", pool->address, reason);
    }
    return (status);
}

/* sg_conn_put - return a healthy connection, or close a surplus one */
static void sg_conn_put(struct sg_redis *pool, struct sg_lease *lease)
{
    redisContext *rc = lease->rc;

    if (lease->probe) {
	sg_pool_recovered(pool);
	lease->probe = 0;
    }
    pthread_mutex_lock(&pool->lock);
    pool->slow = 0;
    /* One made before the latest outage goes too: no mixing of eras. */
    if (!pool->down && lease->epoch == pool->epoch
	&& pool->nidle < pool->max_idle) {
	pool->idle[pool->nidle++] = rc;
	rc = 0;
    }
    pthread_mutex_unlock(&pool->lock);
    if (rc)
	redisFree(rc);
    lease->rc = 0;
}

/* sg_drop_idle - close idle connections that a restart has broken too */
static void sg_drop_idle(struct sg_redis *pool, unsigned long epoch)
{
    int     i;

    pthread_mutex_lock(&pool->lock);
    if (epoch == pool->epoch) {
	for (i = 0; i < pool->nidle; i++)
	    redisFree(pool->idle[i]);
	pool->nidle = 0;
    }
    pthread_mutex_unlock(&pool->lock);
}

/*
 * sg_exec_many - run n commands on one pooled connection, pipelined: all
 * are written at once, then the answers read in order. out[0..*got-1]
 * are the answers; the status is that of the first command that got
 * none (the rest got none either), SG_STORE_OK when all were answered.
 */
static int sg_exec_many(struct sg_redis *pool, int n, const int *argc,
			        const char **const *argv,
			        const size_t *const *argvlen, redisReply **out,
			        int *got, char *err, size_t errlen)
{
    struct sg_lease lease;
    char    reason[SG_REASON_MAX];
    sigset_t oldmask;
    void   *reply;
    int     attempt;
    int     blocked;
    int     broke = 0;
    int     saved;
    int     stale;
    int     slow;
    int     trip;
    int     status;
    int     i;

    *got = 0;
    blocked = pool->sigpipe_ignored ? 0 : sg_sigpipe_block(&oldmask);
    for (attempt = 0; /* see below */ ; attempt++) {
	status = sg_conn_get(pool, &lease, attempt > 0, err, errlen);
	if (status != SG_STORE_OK) {
	    broke = 1;				/* AUTH may have hit EPIPE */
	    break;
	}
	for (i = 0; i < n; i++) {
	    if (redisAppendCommandArgv(lease.rc, argc[i], argv[i],
				       argvlen[i]) != REDIS_OK) {
		/* Out of memory: nothing was sent yet. */
		redisFree(lease.rc);
		lease.rc = 0;
		if (lease.probe) {
		    pthread_mutex_lock(&pool->lock);
		    pool->probing = 0;
		    pthread_mutex_unlock(&pool->lock);
		}
		sg_seterr(err, errlen, "redis at %s: out of memory",
			  pool->address);
		sg_sigpipe_restore(blocked, broke, &oldmask);
		return (SG_STORE_ERROR);
	    }
	}
	errno = 0;
	while (*got < n && redisGetReply(lease.rc, &reply) == REDIS_OK)
	    out[(*got)++] = reply;
	saved = errno;
	if (*got == n) {
	    sg_conn_put(pool, &lease);
	    status = SG_STORE_OK;
	    break;
	}
	broke = 1;

	/*
	 * A connection that sat idle may have been closed by a restarted
	 * server; that says nothing about Redis now, so try once more on a
	 * new connection. Its idle siblings are as stale as it is: close
	 * them, or each would cost one more caller a failure. A timeout is
	 * not retried: the server is slow or gone.
	 *
	 * After a broken pipe the command never left; after end of file a
	 * server that died while running it cannot be told apart from one
	 * closed before. A script counted twice in that rare case is the
	 * lesser harm than failing mail at every Redis restart.
	 */
	stale = (lease.reused && attempt == 0 && *got == 0
		 && (lease.rc->err == REDIS_ERR_EOF
		     || (lease.rc->err == REDIS_ERR_IO
			 && (saved == EPIPE || saved == ECONNRESET))));
	slow = (lease.rc->err == REDIS_ERR_IO
		&& (saved == EAGAIN || saved == EWOULDBLOCK));
	status = sg_io_reason(pool, lease.rc, saved, reason, sizeof(reason));
	redisFree(lease.rc);
	lease.rc = 0;
	if (stale) {
	    sg_drop_idle(pool, lease.epoch);
	    continue;
	}

	/*
	 * One late answer on a busy host is not an outage: declaring one
	 * would let every message through uncounted until the next probe
	 * (measured: 9% of messages at 64 sessions, 69% at 500). Only a few
	 * timeouts in a row, with no success between, mean Redis is hung.
	 */
	if (slow && !lease.probe) {
	    pthread_mutex_lock(&pool->lock);
	    trip = ++pool->slow >= SG_SLOW_TRIP;
	    pthread_mutex_unlock(&pool->lock);
	    if (!trip) {
		sg_seterr(err, errlen, "redis at %s: %s: %s", pool->address,
			  argv[*got][0], reason);
		break;
	    }
	}
	if (status == SG_STORE_DOWN) {
	    sg_pool_failed(pool, &lease, reason);
	    sg_seterr(err, errlen, "redis unavailable at %s: %s: %s",
		      pool->address, argv[*got][0], reason);
	} else {
	    sg_seterr(err, errlen, "redis at %s: %s: %s",
		      pool->address, argv[*got][0], reason);
	}
	break;
    }
    sg_sigpipe_restore(blocked, broke, &oldmask);
    return (status);
}

/* sg_exec - run one command on a pooled connection */
static int sg_exec(struct sg_redis *pool, int argc, const char **argv,
		           const size_t *argvlen, redisReply **out,
		           char *err, size_t errlen)
{
    int     got;

    *out = 0;
    return (sg_exec_many(pool, 1, &argc, (const char **const *) &argv,
			 (const size_t *const *) &argvlen, out, &got,
			 err, errlen));
}

/* sg_count_leaves - number of strings a reply flattens to */
static size_t sg_count_leaves(const redisReply *r)
{
    size_t  n = 0;
    size_t  i;

    if (r->type != REDIS_REPLY_ARRAY)
	return (1);
    for (i = 0; i < r->elements; i++)
	n += sg_count_leaves(r->element[i]);
    return (n);
}

/* sg_fill - flatten a reply depth-first into v[*pos...] */
static int sg_fill(const redisReply *r, char **v, size_t *pos)
{
    char    num[32];
    size_t  i;

    switch (r->type) {
    case REDIS_REPLY_ARRAY:
	for (i = 0; i < r->elements; i++)
	    if (sg_fill(r->element[i], v, pos) < 0)
		return (-1);
	return (0);
    case REDIS_REPLY_INTEGER:
	snprintf(num, sizeof(num), "%lld", r->integer);
	v[*pos] = sg_strndup(num, strlen(num));
	break;
    case REDIS_REPLY_NIL:
	v[*pos] = sg_strndup("", 0);
	break;
    default:					/* string, status, error */
	v[*pos] = sg_strndup(r->str ? r->str : "", r->str ? r->len : 0);
	break;
    }
    return (v[(*pos)++] ? 0 : -1);
}

/* sg_flatten - turn a hiredis reply into a struct sg_reply */
static int sg_flatten(const redisReply *r, struct sg_reply *out,
		              char *err, size_t errlen)
{
    size_t  n = sg_count_leaves(r);
    size_t  pos = 0;
    char  **v;

    if (n == 0)
	return (SG_STORE_OK);
    if (n > INT_MAX || (v = calloc(n, sizeof(*v))) == 0) {
	sg_seterr(err, errlen, "redis: out of memory for a %zu-element reply",
		  n);
	return (SG_STORE_ERROR);
    }
    if (sg_fill(r, v, &pos) < 0) {
	while (pos > 0)
	    free(v[--pos]);
	free(v);
	sg_seterr(err, errlen, "redis: out of memory for a %zu-element reply",
		  n);
	return (SG_STORE_ERROR);
    }
    out->n = (int) n;
    out->v = v;
    return (SG_STORE_OK);
}

/* sg_answer - an error reply becomes err, anything else the result */
static int sg_answer(redisReply *r, const char *what, struct sg_reply *out,
		             char *err, size_t errlen)
{
    int     status;

    if (r->type == REDIS_REPLY_ERROR) {
	sg_seterr(err, errlen, "%s: %s", what, r->str ? r->str : "error");
	status = SG_STORE_ERROR;
    } else {
	status = sg_flatten(r, out, err, errlen);
    }
    freeReplyObject(r);
    return (status);
}

/* sg_load_script - SCRIPT LOAD a script Redis has forgotten */
static int sg_load_script(struct sg_redis *pool, enum sg_script script,
			          char *err, size_t errlen)
{
    const char *argv[3];
    redisReply *r;
    int     status;

    argv[0] = "SCRIPT";
    argv[1] = "LOAD";
    argv[2] = sg_script_source[script];
    if ((status = sg_exec(pool, 3, argv, 0, &r, err, errlen)) != SG_STORE_OK)
	return (status);
    if (r->type == REDIS_REPLY_ERROR) {
	sg_seterr(err, errlen, "loading script %s: %s",
		  sg_script_name[script], r->str ? r->str : "error");
	status = SG_STORE_ERROR;
    } else if (r->type != REDIS_REPLY_STRING || r->str == 0
	       || strcasecmp(r->str, pool->sha[script]) != 0) {
	/* Not ours to fix, but EVALSHA would loop on NOSCRIPT. */
	sg_seterr(err, errlen, "loading script %s: Redis filed it under "
		  "%s, expected %s", sg_script_name[script],
		  r->str ? r->str : "(nothing)", pool->sha[script]);
	status = SG_STORE_ERROR;
    }
    freeReplyObject(r);
    return (status);
}

/* sg_evalsha_argv - EVALSHA SHA NKEYS ARGS..., in av/len (malloc'd) */
static int sg_evalsha_argv(const struct sg_redis *pool, enum sg_script script,
			           int nkeys, int argc, const char *const *argv,
			           const size_t *argvlen, char *nkeybuf,
			           const char ***avp, size_t **lenp,
			           char *err, size_t errlen)
{
    const char **av;
    size_t *len;
    int     i;

    if ((int) script < 0 || script >= SG_SCRIPT_COUNT || argc < 0
	|| nkeys < 0 || nkeys > argc || (argc > 0 && argv == 0)
	|| argc > INT_MAX - 3) {
	sg_seterr(err, errlen, "redis: bad script call (script %d, %d keys, "
		  "%d arguments)", (int) script, nkeys, argc);
	return (SG_STORE_ERROR);
    }
    av = malloc((argc + 3) * sizeof(*av));
    len = malloc((argc + 3) * sizeof(*len));
    if (av == 0 || len == 0) {
	free(av);
	free(len);
	sg_seterr(err, errlen, "redis: out of memory");
	return (SG_STORE_ERROR);
    }
    snprintf(nkeybuf, 16, "%d", nkeys);
    av[0] = "EVALSHA";
    av[1] = pool->sha[script];
    av[2] = nkeybuf;
    len[0] = 7;
    len[1] = 40;
    len[2] = strlen(nkeybuf);
    for (i = 0; i < argc; i++) {
	av[i + 3] = argv[i];
	len[i + 3] = argvlen ? argvlen[i] : strlen(argv[i]);
    }
    *avp = av;
    *lenp = len;
    return (SG_STORE_OK);
}

/* sg_noscript - whether Redis has forgotten the script */
static int sg_noscript(const redisReply *r)
{
    return (r && r->type == REDIS_REPLY_ERROR && r->str
	    && strncmp(r->str, "NOSCRIPT", 8) == 0);
}

/* sg_redis_eval - run an engine script; see struct sg_store */
int     sg_redis_eval(void *ctx, enum sg_script script, int nkeys, int argc,
		              const char *const *argv, const size_t *argvlen,
		              struct sg_reply *reply, char *err, size_t errlen)
{
    struct sg_redis *pool = ctx;
    const char **av;
    size_t *len;
    char    nkeybuf[16];
    char    what[64];
    redisReply *r = 0;
    int     status;

    reply->n = 0;
    reply->v = 0;
    if ((status = sg_evalsha_argv(pool, script, nkeys, argc, argv, argvlen,
				  nkeybuf, &av, &len, err,
				  errlen)) != SG_STORE_OK)
	return (status);
    status = sg_exec(pool, argc + 3, av, len, &r, err, errlen);
    if (status == SG_STORE_OK && sg_noscript(r)) {
	freeReplyObject(r);
	r = 0;
	if ((status = sg_load_script(pool, script, err, errlen)) == SG_STORE_OK)
	    status = sg_exec(pool, argc + 3, av, len, &r, err, errlen);
    }
    if (status == SG_STORE_OK) {
	snprintf(what, sizeof(what), "script %s", sg_script_name[script]);
	status = sg_answer(r, what, reply, err, errlen);
    }
    free(av);
    free(len);
    return (status);
}

/*
 * sg_redis_eval_many - n calls of one script in one round trip; see
 * struct sg_store. Calls Redis did not answer get the batch's error; a
 * call that found the script forgotten is run again alone once loaded.
 */
int     sg_redis_eval_many(void *ctx, enum sg_script script,
			           struct sg_call *calls, int n)
{
    struct sg_redis *pool = ctx;
    const char ***av;
    size_t **len;
    int    *ac;
    char  (*nkeybuf)[16];
    redisReply **r;
    char    what[64], err[sizeof(calls->err)], loaderr[sizeof(calls->err)];
    int     i, m = 0, got = 0, status, loaded = 0;

    if (n <= 0)
	return (SG_STORE_OK);
    av = calloc(n, sizeof(*av));
    len = calloc(n, sizeof(*len));
    ac = calloc(n, sizeof(*ac));
    nkeybuf = calloc(n, sizeof(*nkeybuf));
    r = calloc(n, sizeof(*r));
    if (av == 0 || len == 0 || ac == 0 || nkeybuf == 0 || r == 0) {
	for (i = 0; i < n; i++) {
	    calls[i].status = SG_STORE_ERROR;
	    sg_seterr(calls[i].err, sizeof(calls[i].err),
		      "redis: out of memory");
	}
	goto out;
    }
    snprintf(what, sizeof(what), "script %s",
	     (int) script >= 0 && script < SG_SCRIPT_COUNT ?
	     sg_script_name[script] : "?");

    /* Calls that cannot be sent fail alone; the others go together. */
    for (i = 0; i < n; i++) {
	calls[i].reply.n = 0;
	calls[i].reply.v = 0;
	calls[i].status = sg_evalsha_argv(pool, script, calls[i].nkeys,
					  calls[i].argc, calls[i].argv, 0,
					  nkeybuf[i], &av[i], &len[i],
					  calls[i].err, sizeof(calls[i].err));
	if (calls[i].status == SG_STORE_OK)
	    ac[i] = calls[i].argc + 3;
    }
    for (i = 0; i < n; i++)
	if (av[i]) {
	    av[m] = av[i];
	    len[m] = len[i];
	    ac[m] = ac[i];
	    memmove(nkeybuf[m], nkeybuf[i], sizeof(nkeybuf[m]));
	    av[m][2] = nkeybuf[m];
	    if (i != m)
		av[i] = 0, len[i] = 0;
	    m++;
	}
    status = m ? sg_exec_many(pool, m, ac, (const char **const *) av,
			      (const size_t *const *) len, r, &got, err,
			      sizeof(err)) : SG_STORE_OK;

    /* Answers back to their calls, in order. */
    for (i = 0, m = 0; i < n; i++) {
	if (calls[i].status != SG_STORE_OK)
	    continue;
	if (m >= got) {
	    calls[i].status = status;
	    memcpy(calls[i].err, err, sizeof(err));
	} else if (sg_noscript(r[m])) {
	    freeReplyObject(r[m]);
	    r[m] = 0;
	    if (loaded == 0)
		loaded = sg_load_script(pool, script, loaderr,
					sizeof(loaderr)) == SG_STORE_OK ?
		    1 : -1;
	    if (loaded < 0) {
		calls[i].status = SG_STORE_ERROR;
		memcpy(calls[i].err, loaderr, sizeof(loaderr));
	    } else if ((calls[i].status = sg_exec(pool, ac[m], av[m], len[m],
						  &r[m], calls[i].err,
						  sizeof(calls[i].err)))
		       == SG_STORE_OK) {
		calls[i].status = sg_answer(r[m], what, &calls[i].reply,
					    calls[i].err,
					    sizeof(calls[i].err));
	    }
	    r[m] = 0;
	} else {
	    calls[i].status = sg_answer(r[m], what, &calls[i].reply,
					calls[i].err, sizeof(calls[i].err));
	    r[m] = 0;
	}
	m++;
    }
out:
    for (i = 0; av && i < n; i++) {
	free(av[i]);
	free(len[i]);
    }
    free(av);
    free(len);
    free(ac);
    free(nkeybuf);
    free(r);
    return (SG_STORE_OK);
}

/* sg_redis_command - a plain command (tests, tools); reply flattened */
int     sg_redis_command(struct sg_redis *pool, int argc,
			         const char *const *argv, const size_t *argvlen,
			         struct sg_reply *reply, char *err, size_t errlen)
{
    redisReply *r;
    int     status;

    reply->n = 0;
    reply->v = 0;
    if (argc < 1 || argv == 0 || argv[0] == 0) {
	sg_seterr(err, errlen, "redis: empty command");
	return (SG_STORE_ERROR);
    }
    status = sg_exec(pool, argc, (const char **) argv, argvlen, &r,
		     err, errlen);
    if (status == SG_STORE_OK)
	status = sg_answer(r, argv[0], reply, err, errlen);
    return (status);
}

/* sg_redis_read_password - first line of a file, for [redis] password_file */
int     sg_redis_read_password(const char *path, char *buf, size_t len,
			               char *err, size_t errlen)
{
    FILE   *fp;
    size_t  n;
    int     ch;

    if (buf == 0 || len < 2) {
	sg_seterr(err, errlen, "%s: no room for a password", path);
	return (-1);
    }
    buf[0] = 0;
    if ((fp = fopen(path, "re")) == 0) {
	sg_seterr(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	return (-1);
    }
    if (fgets(buf, len, fp) == 0) {
	if (ferror(fp))
	    sg_seterr(err, errlen, "%s: cannot read: %s", path,
		      strerror(errno));
	else
	    sg_seterr(err, errlen, "%s: file is empty", path);
	fclose(fp);
	buf[0] = 0;
	return (-1);
    }
    n = strlen(buf);
    if (n > 0 && buf[n - 1] != '\n') {
	/* The buffer filled up: only an end of line may follow. */
	if ((ch = getc(fp)) == '\r')
	    ch = getc(fp);
	if (ch != EOF && ch != '\n') {
	    /* A truncated password would fail AUTH misleadingly. */
	    explicit_bzero(buf, len);
	    sg_seterr(err, errlen, "%s: first line is longer than %zu bytes",
		      path, len - 1);
	    fclose(fp);
	    return (-1);
	}
    }
    fclose(fp);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
	buf[--n] = 0;
    if (n == 0) {
	sg_seterr(err, errlen, "%s: the first line is empty", path);
	return (-1);
    }
    return (0);
}
