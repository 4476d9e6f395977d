/*
 * NAME
 *	sg_redis 3
 * SUMMARY
 *	connection pool, outages and Sentinel: the hiredis layer, part 1
 * SYNOPSIS
 *	#include "sg_redis.h"
 * DESCRIPTION
 *	This file and redis/sg_redis_eval.c (script calls, replies) are the
 *	hiredis layer: the only two files that include hiredis (0.14.1,
 *	blocking API). redis/sg_redis_params.c makes the pool and holds what
 *	needs no hiredis (address parsing, SHA1, password files).
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
 *	of declaring an outage (see stale() for the one ambiguous case).
 *
 *	Redis Sentinel (hiredis 0.14 has none). With sentinels instead of an
 *	address, a new connection goes to the master last found; the first
 *	one, and every reconnection attempt of an outage, asks the sentinels
 *	in turn (SENTINEL get-master-addr-by-name), connects to the address
 *	given and checks with ROLE that it is a master (a sentinel may name a
 *	master just demoted, or a dead one: then the next sentinel is asked).
 *	A READONLY or MASTERDOWN reply starts an outage like an I/O error. A
 *	new address bumps the epoch and closes the idle connections, so none
 *	to the old master is used again.
 *
 *	Why no thread subscribed to +switch-master: a dead master is noticed
 *	at the next command (connection refused or reset), a demoted one
 *	answers READONLY, and a hung one times out; each starts an outage
 *	whose attempts (at most 1 s apart) ask the sentinels again. So the
 *	new master is used at most one backoff step after the sentinels name
 *	it (tests/ha/t_failover.sh measures it). A subscriber would save that
 *	step at the price of a thread and a blocking connection in every
 *	program (the daemon, the feed, replay), its own reconnection and
 *	signal handling, and a race between its news and the callers'
 *	errors; the one case it alone would catch, an old master still
 *	writable after a partition, is what min-replicas-to-write is for
 *	(docs/CAPACITY.md).
 *
 *	Scripts are Redis Functions libraries (Redis 7.0 or later), called
 *	with FCALL by a name made of the SHA1 of their source, computed with
 *	OpenSSL from the sources compiled into the program (sg_redis_eval.c).
 *	"Function not found" (Redis restarted empty, FUNCTION FLUSH, a new
 *	master that never had it) loads the library and tries once more.
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

#include "sg_redis.h"
#include "sg_redis_params.h"
#include "sg_redis_int.h"

/* A connection on loan to one caller. */
struct lease {
    redisContext *rc;
    unsigned long epoch;	/* pool epoch when it was made */
    int     reused;		/* came from the free list */
    int     probe;		/* this caller is the outage's prober */
    char    host[SG_HOST_MAX];	/* Sentinel: the master it leads to */
    int     port;
};


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
    for (i = 0; i < pool->nsentinel; i++)
	sg_redis_addr_free(&pool->sentinel[i]);
    sg_redis_addr_free(&pool->fixed);
    if (pool->sentinel_password) {
	explicit_bzero(pool->sentinel_password,
		       strlen(pool->sentinel_password));
	free(pool->sentinel_password);
    }
    for (i = 0; i < SG_SCRIPT_COUNT; i++)
	free(pool->library[i]);
    free(pool->username);
    free(pool->master_name);
    free(pool->address);
    pthread_mutex_destroy(&pool->lock);
    free(pool);
}

/* scrub - hide the password should a server ever echo it back */
static void scrub(const struct sg_redis *pool, char *text)
{
    const char *secret[2] = {pool->password, pool->sentinel_password};
    char   *p;
    size_t  len;
    int     i;

    for (i = 0; i < 2; i++) {
	if (secret[i] == 0 || (len = strlen(secret[i])) == 0)
	    continue;
	while ((p = strstr(text, secret[i])) != 0)
	    memset(p, '*', len);
    }
}

/* io_reason - say why a command on a context failed */
static int io_reason(const struct sg_redis *pool, const redisContext *rc,
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

/* setup_command - run AUTH or SELECT on a new connection */
static int setup_command(const struct sg_redis *pool, redisContext *rc,
			         int argc, const char **argv,
			         char *reason, size_t len)
{
    redisReply *reply;
    int     status;

    errno = 0;
    if ((reply = redisCommandArgv(rc, argc, argv, 0)) == 0) {
	status = io_reason(pool, rc, errno, reason, len);
	/* The reason is hiredis text, never an argument, but be sure. */
	scrub(pool, reason);
	return (status);
    }
    if (reply->type == REDIS_REPLY_ERROR) {
	/* A refused AUTH or SELECT is a configuration error; treating it
	 * as an outage gives one log line and paced retries instead of a
	 * connection storm. */
	snprintf(reason, len, "%s refused: %s", argv[0],
		 reply->str ? reply->str : "error");
	scrub(pool, reason);
	freeReplyObject(reply);
	return (SG_STORE_DOWN);
    }
    freeReplyObject(reply);
    return (SG_STORE_OK);
}

/* dial - a connection with the command timeout set, or a reason */
static redisContext *dial(const struct sg_redis *pool, const char *host,
				  int port, const char *path,
				  int *status, char *reason, size_t len)
{
    redisContext *rc;
    struct timeval tv = sg_redis_ms_tv(pool->connect_timeout_ms);

    if (path)
	rc = redisConnectUnixWithTimeout(path, tv);
    else
	rc = redisConnectWithTimeout(host, port, tv);
    if (rc == 0) {
	snprintf(reason, len, "out of memory");
	*status = SG_STORE_ERROR;
	return (0);
    }
    if (rc->err) {
	if (path)
	    snprintf(reason, len, "connect: %s", rc->errstr);
	else
	    snprintf(reason, len, "connect to %.100s:%d: %s", host, port,
		     rc->errstr);
	*status = (rc->err == REDIS_ERR_OOM ? SG_STORE_ERROR : SG_STORE_DOWN);
	redisFree(rc);
	return (0);
    }
    if (redisSetTimeout(rc, sg_redis_ms_tv(pool->timeout_ms)) != REDIS_OK) {
	snprintf(reason, len, "setting the command timeout: %s", rc->errstr);
	*status = SG_STORE_DOWN;
	redisFree(rc);
	return (0);
    }
    *status = SG_STORE_OK;
    return (rc);
}

/* conn_open - connect to the lease's target, then AUTH and SELECT */
static int conn_open(const struct sg_redis *pool, struct lease *lease,
			     char *reason, size_t len)
{
    redisContext *rc;
    char    dbbuf[16];
    const char *argv[3];
    int     status;

    if (pool->nsentinel)
	rc = dial(pool, lease->host, lease->port, 0, &status, reason,
			len);
    else
	rc = dial(pool, pool->fixed.host, pool->fixed.port,
			pool->fixed.path, &status, reason, len);
    if (rc == 0)
	return (status);
    if (pool->password) {
	/* Redis 6 ACL: AUTH user password; the user "default" otherwise. */
	argv[0] = "AUTH";
	argv[1] = pool->username ? pool->username : pool->password;
	argv[2] = pool->password;
	if ((status = setup_command(pool, rc, pool->username ? 3 : 2, argv,
				       reason, len)) != 0) {
	    redisFree(rc);
	    return (status);
	}
    }
    if (pool->db != 0) {
	snprintf(dbbuf, sizeof(dbbuf), "%d", pool->db);
	argv[0] = "SELECT";
	argv[1] = dbbuf;
	if ((status = setup_command(pool, rc, 2, argv, reason, len)) != 0) {
	    redisFree(rc);
	    return (status);
	}
    }
    lease->rc = rc;
    return (SG_STORE_OK);
}

/* sentinel_one - ask one sentinel where the master is */
static int sentinel_one(const struct sg_redis *pool,
			        const struct sg_redis_addr *sa, char *host,
			        int *port, char *reason, size_t len)
{
    redisContext *rc;
    redisReply *r;
    const char *argv[3];
    int     status;
    long    p;
    char   *end;

    if ((rc = dial(pool, sa->host, sa->port, 0, &status, reason,
			 len)) == 0)
	return (-1);
    if (pool->sentinel_password) {
	argv[0] = "AUTH";
	argv[1] = pool->sentinel_password;
	if (setup_command(pool, rc, 2, argv, reason, len) != 0) {
	    redisFree(rc);
	    return (-1);
	}
    }
    argv[0] = "SENTINEL";
    argv[1] = "get-master-addr-by-name";
    argv[2] = pool->master_name;
    errno = 0;
    if ((r = redisCommandArgv(rc, 3, argv, 0)) == 0) {
	io_reason(pool, rc, errno, reason, len);
	redisFree(rc);
	return (-1);
    }
    status = -1;
    if (r->type == REDIS_REPLY_ERROR)
	snprintf(reason, len, "%s", r->str ? r->str : "error");
    else if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
	     || r->element[0]->type != REDIS_REPLY_STRING
	     || r->element[1]->type != REDIS_REPLY_STRING
	     || r->element[0]->len == 0 || r->element[0]->len >= SG_HOST_MAX)
	snprintf(reason, len, "does not know a master named %s",
		 pool->master_name);
    else if ((p = strtol(r->element[1]->str, &end, 10)) <= 0 || p > 65535
	     || *end != 0)
	snprintf(reason, len, "answered a bad port");
    else {
	memcpy(host, r->element[0]->str, r->element[0]->len + 1);
	*port = (int) p;
	status = 0;
    }
    freeReplyObject(r);
    redisFree(rc);
    return (status);
}

/* is_master - ROLE says this server takes writes */
static int is_master(const struct sg_redis *pool, redisContext *rc,
			     char *reason, size_t len)
{
    const char *argv[1] = {"ROLE"};
    redisReply *r;
    int     ok;

    errno = 0;
    if ((r = redisCommandArgv(rc, 1, argv, 0)) == 0)
	return (io_reason(pool, rc, errno, reason, len), 0);
    ok = (r->type == REDIS_REPLY_ARRAY && r->elements > 0
	  && r->element[0]->type == REDIS_REPLY_STRING
	  && strcmp(r->element[0]->str, "master") == 0);
    if (!ok)
	snprintf(reason, len, "ROLE: not a master (%s)",
		 r->type == REDIS_REPLY_ERROR ? r->str :
		 r->type == REDIS_REPLY_ARRAY && r->elements > 0
		 && r->element[0]->str ? r->element[0]->str : "?");
    freeReplyObject(r);
    return (ok);
}

/*
 * discover - ask the sentinels in turn (starting with the one that
 * answered last) for the master, connect to it and check with ROLE that
 * it is one: a sentinel may still name a master that was just demoted.
 * A new address bumps the epoch, so that no connection to the old
 * master goes back to the pool, and closes the idle ones.
 */
static int discover(struct sg_redis *pool, struct lease *lease,
		            char *reason, size_t len)
{
    char    why[SG_REASON_MAX] = "";
    char    old[SG_HOST_MAX];
    int     first, i, k = 0, oldport, status;

    char    tried[SG_HOST_MAX] = "";
    int     tried_port = 0;

    pthread_mutex_lock(&pool->lock);
    first = pool->sentinel_next;
    pthread_mutex_unlock(&pool->lock);

    /*
     * During a failover the sentinels disagree for a moment: one that
     * still names the dead master must not end the attempt while the
     * next one knows better. An address already found dead in this
     * round is not tried twice.
     */
    for (i = 0; i < pool->nsentinel; i++) {
	k = (first + i) % pool->nsentinel;
	if (sentinel_one(pool, &pool->sentinel[k], lease->host,
			    &lease->port, why, sizeof(why)) < 0) {
	    snprintf(reason, len, "no sentinel named a master (last: "
		     "%.100s:%d: %.100s)", pool->sentinel[k].host,
		     pool->sentinel[k].port, why);
	    continue;
	}
	if (strcmp(tried, lease->host) == 0 && tried_port == lease->port)
	    continue;
	memcpy(tried, lease->host, sizeof(tried));
	tried_port = lease->port;
	if ((status = conn_open(pool, lease, why, sizeof(why))) != 0) {
	    snprintf(reason, len, "master at %.100s:%d: %.120s", lease->host,
		     lease->port, why);
	    if (status == SG_STORE_ERROR)
		return (status);
	    continue;
	}
	if (is_master(pool, lease->rc, why, sizeof(why)))
	    break;
	snprintf(reason, len, "%.100s:%d: %.120s", lease->host, lease->port,
		 why);
	redisFree(lease->rc);
	lease->rc = 0;
    }
    if (i == pool->nsentinel)
	return (SG_STORE_DOWN);
    pthread_mutex_lock(&pool->lock);
    pool->sentinel_next = k;
    memcpy(old, pool->master_host, sizeof(old));
    oldport = pool->master_port;
    if (strcmp(old, lease->host) != 0 || oldport != lease->port) {
	snprintf(pool->master_host, sizeof(pool->master_host), "%s",
		 lease->host);
	pool->master_port = lease->port;
	pool->epoch++;
	for (i = 0; i < pool->nidle; i++)
	    redisFree(pool->idle[i]);
	pool->nidle = 0;
    } else {
	old[0] = 0;			/* nothing new to say */
    }
    lease->epoch = pool->epoch;
    pthread_mutex_unlock(&pool->lock);
    if (old[0] && pool->log)
	pool->log(LOG_NOTICE, "redis %s now at %s:%d (was %s:%d)",
		  pool->address, lease->host, lease->port, old, oldport);
    return (SG_STORE_OK);
}

/* pool_failed - count a failure; the first one starts an outage */
static void pool_failed(struct sg_redis *pool, const struct lease *lease,
			        const char *reason)
{
    long long now = sg_redis_now();
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

/* pool_recovered - the prober got through: end the outage */
static void pool_recovered(struct sg_redis *pool)
{
    long long now = sg_redis_now();
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

/* probe_free - give up the outage's probe without a verdict on Redis */
static void probe_free(struct sg_redis *pool, const struct lease *lease)
{
    if (lease->probe) {
	pthread_mutex_lock(&pool->lock);
	pool->probing = 0;
	pthread_mutex_unlock(&pool->lock);
    }
}

/* conn_get - lend a connection, or fail at once during an outage */
static int conn_get(struct sg_redis *pool, struct lease *lease,
		            int fresh, char *err, size_t errlen)
{
    char    reason[SG_REASON_MAX];
    long long now;
    double  since;
    int     status;

    memset(lease, 0, sizeof(*lease));
    pthread_mutex_lock(&pool->lock);
    if (pool->down) {
	now = sg_redis_now();
	if (pool->probing || now < pool->next_try) {
	    pool->failed++;
	    since = (now - pool->down_since) / 1e9;
	    pthread_mutex_unlock(&pool->lock);
	    sg_redis_seterr(err, errlen, "redis unavailable at %s (down for %.1fs, "
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
    memcpy(lease->host, pool->master_host, sizeof(lease->host));
    lease->port = pool->master_port;
    pthread_mutex_unlock(&pool->lock);

    /*
     * Connect without the lock: other callers must not wait on us. With
     * Sentinel, each reconnection attempt of an outage asks the sentinels
     * again: that is how a failover is followed (see the file header).
     */
    if (pool->nsentinel && (lease->probe || lease->host[0] == 0))
	status = discover(pool, lease, reason, sizeof(reason));
    else
	status = conn_open(pool, lease, reason, sizeof(reason));
    if (status == SG_STORE_OK)
	return (SG_STORE_OK);		/* a probe ends the outage only once
					 * its command is answered: a paused
					 * server accepts connections */
    if (status == SG_STORE_DOWN) {
	pool_failed(pool, lease, reason);
	sg_redis_seterr(err, errlen, "redis unavailable at %s: %s",
		  pool->address, reason);
    } else {
	/* Out of memory says nothing about Redis: just free the probe. */
	probe_free(pool, lease);
	sg_redis_seterr(err, errlen, "redis at %s: %s", pool->address, reason);
    }
    return (status);
}

/* conn_put - return a healthy connection, or close a surplus one */
static void conn_put(struct sg_redis *pool, struct lease *lease)
{
    redisContext *rc = lease->rc;

    if (lease->probe) {
	pool_recovered(pool);
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

/* drop_idle - close idle connections that a restart has broken too */
static void drop_idle(struct sg_redis *pool, unsigned long epoch)
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
 * demoted - an answer says this server no longer takes writes: a
 * READONLY replica (also inside a script's error) or MASTERDOWN.
 */
static int demoted(redisReply **r, int n, char *reason, size_t len)
{
    int     i;

    for (i = 0; i < n; i++)
	if (r[i]->type == REDIS_REPLY_ERROR && r[i]->str
	    && (strncmp(r[i]->str, "MASTERDOWN", 10) == 0
		|| strncmp(r[i]->str, "READONLY", 8) == 0
		|| strstr(r[i]->str, "-READONLY") != 0)) {
	    snprintf(reason, len, "%.200s", r[i]->str);
	    return (1);
	}
    return (0);
}

/*
 * send_all - queue the n commands on the lease's connection. Out of
 * memory (nothing was sent yet) closes it, frees the probe and says so.
 */
static int send_all(struct sg_redis *pool, struct lease *lease, int n,
		            const int *argc, const char **const *argv,
		            const size_t *const *argvlen, char *err,
		            size_t errlen)
{
    int     i;

    for (i = 0; i < n; i++) {
	if (redisAppendCommandArgv(lease->rc, argc[i], argv[i],
				   argvlen[i]) != REDIS_OK) {
	    redisFree(lease->rc);
	    lease->rc = 0;
	    probe_free(pool, lease);
	    sg_redis_seterr(err, errlen, "redis at %s: out of memory",
			    pool->address);
	    return (SG_STORE_ERROR);
	}
    }
    return (SG_STORE_OK);
}

/*
 * master_lost - every command was answered, but by a master demoted
 * under us: drop the answers and the connection, and start an outage
 * until a probe has asked the sentinels for the new one.
 */
static int master_lost(struct sg_redis *pool, struct lease *lease,
		               redisReply **out, int *got, const char *reason,
		               char *err, size_t errlen)
{
    while (*got > 0)
	freeReplyObject(out[--(*got)]);
    redisFree(lease->rc);
    lease->rc = 0;
    pool_failed(pool, lease, reason);
    sg_redis_seterr(err, errlen, "redis unavailable at %s: %s",
		    pool->address, reason);
    return (SG_STORE_DOWN);
}

/*
 * stale - whether a command that got no answer may be sent once more on
 * a new connection. A connection that sat idle may have been closed by a
 * restarted server; that says nothing about Redis now. A timeout is not
 * retried: the server is slow or gone.
 *
 * After a broken pipe the command never left; after end of file a
 * server that died while running it cannot be told apart from one
 * closed before. A script counted twice in that rare case is the
 * lesser harm than failing mail at every Redis restart.
 */
static int stale(const struct lease *lease, int attempt, int got, int saved)
{
    return (lease->reused && attempt == 0 && got == 0
	    && (lease->rc->err == REDIS_ERR_EOF
		|| (lease->rc->err == REDIS_ERR_IO
		    && (saved == EPIPE || saved == ECONNRESET))));
}

/*
 * read_failed - the command cmd got no answer (errno saved): close the
 * connection, count a timeout or start an outage, and say why.
 */
static int read_failed(struct sg_redis *pool, struct lease *lease,
		               int saved, const char *cmd, char *err,
		               size_t errlen)
{
    char    reason[SG_REASON_MAX];
    int     slow, trip, status;

    slow = (lease->rc->err == REDIS_ERR_IO
	    && (saved == EAGAIN || saved == EWOULDBLOCK));
    status = io_reason(pool, lease->rc, saved, reason, sizeof(reason));
    redisFree(lease->rc);
    lease->rc = 0;

    /*
     * One late answer on a busy host is not an outage: declaring one
     * would let every message through uncounted until the next probe
     * (measured: 9% of messages at 64 sessions, 69% at 500). Only a few
     * timeouts in a row, with no success between, mean Redis is hung.
     */
    if (slow && !lease->probe) {
	pthread_mutex_lock(&pool->lock);
	trip = ++pool->slow >= SG_SLOW_TRIP;
	pthread_mutex_unlock(&pool->lock);
	if (!trip) {
	    sg_redis_seterr(err, errlen, "redis at %s: %s: %s", pool->address,
			    cmd, reason);
	    return (status);
	}
    }
    if (status == SG_STORE_DOWN) {
	pool_failed(pool, lease, reason);
	sg_redis_seterr(err, errlen, "redis unavailable at %s: %s: %s",
			pool->address, cmd, reason);
    } else {
	sg_redis_seterr(err, errlen, "redis at %s: %s: %s",
			pool->address, cmd, reason);
    }
    return (status);
}

/*
 * sg_redis_exec_many - run n commands on one pooled connection, pipelined: all
 * are written at once, then the answers read in order. out[0..*got-1]
 * are the answers; the status is that of the first command that got
 * none (the rest got none either), SG_STORE_OK when all were answered.
 * A stale connection from the free list is replaced once (see stale());
 * its idle siblings are as stale as it is: they are closed, or each
 * would cost one more caller a failure.
 */
int     sg_redis_exec_many(struct sg_redis *pool, int n, const int *argc,
			           const char **const *argv,
			           const size_t *const *argvlen, redisReply **out,
			           int *got, char *err, size_t errlen)
{
    struct lease lease;
    char    reason[SG_REASON_MAX];
    sigset_t oldmask;
    void   *reply;
    int     attempt, blocked, broke = 0, saved, status;

    *got = 0;
    blocked = pool->sigpipe_ignored ? 0 : sg_redis_sigpipe_block(&oldmask);
    for (attempt = 0; /* see below */ ; attempt++) {
	status = conn_get(pool, &lease, attempt > 0, err, errlen);
	if (status != SG_STORE_OK) {
	    broke = 1;				/* AUTH may have hit EPIPE */
	    break;
	}
	if ((status = send_all(pool, &lease, n, argc, argv, argvlen, err,
			       errlen)) != SG_STORE_OK)
	    break;
	errno = 0;
	while (*got < n && redisGetReply(lease.rc, &reply) == REDIS_OK)
	    out[(*got)++] = reply;
	saved = errno;
	if (*got == n && !(pool->nsentinel
			   && demoted(out, n, reason, sizeof(reason)))) {
	    conn_put(pool, &lease);
	    status = SG_STORE_OK;
	    break;
	}
	broke = 1;
	if (*got == n) {
	    status = master_lost(pool, &lease, out, got, reason, err, errlen);
	    break;
	}
	if (stale(&lease, attempt, *got, saved)) {
	    redisFree(lease.rc);
	    lease.rc = 0;
	    drop_idle(pool, lease.epoch);
	    continue;
	}
	status = read_failed(pool, &lease, saved, argv[*got][0], err, errlen);
	break;
    }
    sg_redis_sigpipe_restore(blocked, broke, &oldmask);
    return (status);
}

/* sg_redis_exec - run one command on a pooled connection */
int     sg_redis_exec(struct sg_redis *pool, int argc, const char **argv,
		              const size_t *argvlen, redisReply **out,
		              char *err, size_t errlen)
{
    int     got;

    *out = 0;
    return (sg_redis_exec_many(pool, 1, &argc, (const char **const *) &argv,
			 (const size_t *const *) &argvlen, out, &got,
			 err, errlen));
}

/* sg_redis_fname - the function (and library) a script is called by */
const char *sg_redis_fname(const struct sg_redis *pool, enum sg_script script)
{
    return (pool->fname[script]);
}
