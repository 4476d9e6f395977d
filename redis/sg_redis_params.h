/*
 * NAME
 *	sg_redis_params 3h
 * SUMMARY
 *	the parts of the Redis module that need no hiredis (internal)
 * DESCRIPTION
 *	Shared by redis/sg_redis.c (the hiredis layer) and
 *	redis/sg_redis_params.c only; programs include sg_redis.h.
 */
#ifndef SG_REDIS_PARAMS_H
#define SG_REDIS_PARAMS_H

#include <signal.h>
#include <stddef.h>
#include <sys/time.h>

#define SG_SENTINELS_MAX	16	/* more is a configuration mistake */

/* One endpoint: a unix socket path, or a TCP host and port. */
struct sg_redis_addr {
    char   *host;			/* NULL for a unix socket */
    char   *path;			/* NULL for TCP */
    int     port;
};

/* sg_redis_parse_address - split unix:/path, host:port or [v6]:port */
extern int sg_redis_parse_address(const char *, struct sg_redis_addr *,
				          char *err, size_t errlen);

/* sg_redis_parse_sentinels - "host:port, host:port ..." into an array */
extern int sg_redis_parse_sentinels(const char *, struct sg_redis_addr *,
				            int max, char *err, size_t errlen);

/* sg_redis_addr_free - release what sg_redis_parse_address() allocated */
extern void sg_redis_addr_free(struct sg_redis_addr *);

/* sg_redis_sha1_hex - the SHA1 Redis files a script under, 40 hex + NUL */
extern int sg_redis_sha1_hex(const char *src, char *hex);

/*
 * sg_redis_library - a script as a Redis Functions library (what
 * FUNCTION LOAD gets, malloc'ed): the "#!lua name=" line, the source, and
 * the registration of its entry point (sg_entry, the last local function
 * of the source) under the name written into name (SG_FNAME_MAX bytes):
 * "sg_" and the SHA1 of the source, so that nodes of different versions
 * sharing one Redis each call their own. The name is added here, not
 * written in the source, because it is the source's own SHA1. NULL when
 * out of memory.
 */
#define SG_FNAME_MAX	44		/* "sg_", 40 hex digits, NUL */
extern char *sg_redis_library(const char *src, char *name);

/* sg_redis_seterr - format a one-line error into the caller's buffer */
extern void sg_redis_seterr(char *err, size_t errlen, const char *fmt,...);

/* sg_redis_now - monotonic time in nanoseconds */
extern long long sg_redis_now(void);

/* sg_redis_ms_tv - milliseconds as a struct timeval */
extern struct timeval sg_redis_ms_tv(unsigned long ms);

/* sg_redis_strndup - copy len bytes and a NUL; NULL when memory is short */
extern char *sg_redis_strndup(const char *s, size_t len);

/* sg_redis_sigpipe_block - block SIGPIPE in this thread around I/O */
extern int sg_redis_sigpipe_block(sigset_t *old);

/* sg_redis_sigpipe_restore - discard a SIGPIPE we caused, restore mask */
extern void sg_redis_sigpipe_restore(int blocked, int broke,
				             const sigset_t *old);

#endif
