/*
 * NAME
 *	sg_redis 3h
 * SUMMARY
 *	the one module that talks to Redis (hiredis 0.14)
 * DESCRIPTION
 *	A pool of connections shared by all threads, each command bounded by
 *	a timeout, reconnection with backoff, and the engine's Lua scripts
 *	called as Redis Functions (FCALL) under a name made of their SHA1
 *	(computed locally with OpenSSL; loaded on "Function not found").
 *	While Redis is down every call fails at once (no waiting) until the
 *	next reconnection attempt is due; the outage is reported once through
 *	the log callback when it starts and once when it ends.
 *
 *	With sentinels instead of an address, the pool asks them for the
 *	master (first use, each reconnection attempt of an outage, and any
 *	READONLY or MASTERDOWN reply), checks it with ROLE, and drops every
 *	connection to the old master when the address changes.
 */
#ifndef SG_REDIS_H
#define SG_REDIS_H

#include "sg_store.h"

struct sg_redis;

struct sg_redis_params {
    const char *address;	/* "unix:/path" or "host:port", or NULL */
    /* Or Redis Sentinel: "host:port, host:port ..." and the master's name. */
    const char *sentinels;	/* NULL or "" when address is given */
    const char *master_name;
    const char *sentinel_password;	/* NULL or "" for none */
    const char *username;	/* ACL user (Redis 6+); NULL or "" for none */
    const char *password;	/* NULL or "" for none */
    int     db;
    unsigned long timeout_ms;	/* per command */
    unsigned long connect_timeout_ms;
    int     max_idle;		/* idle connections kept in the pool */
    /* Outage reporting: level is a syslog priority (LOG_WARNING etc). */
    void    (*log) (int level, const char *fmt,...);
};

/* sg_redis_new - make a pool; connects lazily; NULL with err on bad params */
extern struct sg_redis *sg_redis_new(const struct sg_redis_params *,
				             char *err, size_t errlen);
extern void sg_redis_free(struct sg_redis *);

/* sg_redis_store - the pool as the engine's store */
extern struct sg_store sg_redis_store(struct sg_redis *);

/* sg_redis_eval - run an engine script; see struct sg_store */
extern int sg_redis_eval(void *pool, enum sg_script, int nkeys, int argc,
			         const char *const *argv, const size_t *argvlen,
			         struct sg_reply *, char *err, size_t errlen);

/* sg_redis_eval_many - many calls, one round trip; see struct sg_store */
extern int sg_redis_eval_many(void *pool, enum sg_script, struct sg_call *,
			              int n);

/* sg_redis_command - a plain command (tests, tools); reply flattened */
extern int sg_redis_command(struct sg_redis *, int argc,
			            const char *const *argv, const size_t *argvlen,
			            struct sg_reply *, char *err, size_t errlen);

/* sg_redis_read_password - first line of a file, for [redis] password_file */
extern int sg_redis_read_password(const char *path, char *buf, size_t len,
				          char *err, size_t errlen);

/* sg_redis_is_down - whether the pool is in an outage (for metrics) */
extern int sg_redis_is_down(struct sg_redis *);

struct sg_config;

/* sg_redis_params_config - [redis] as parameters; reads password files */
extern int sg_redis_params_config(const struct sg_config *,
				          struct sg_redis_params *,
				          char *pw, size_t pwlen, char *spw,
				          size_t spwlen, char *err, size_t errlen);

#endif
