/*
 * NAME
 *	sg_redis_int 3h
 * SUMMARY
 *	between the two halves of the hiredis layer (internal)
 * DESCRIPTION
 *	redis/sg_redis.c lends connections and runs commands on them;
 *	redis/sg_redis_eval.c builds script calls and reads the replies.
 *	Only these two files include hiredis.
 */
#ifndef SG_REDIS_INT_H
#define SG_REDIS_INT_H

#include <stddef.h>

#include <pthread.h>

#include "sg_redis.h"
#include "sg_redis_params.h"

struct redisReply;
struct redisContext;

#define SG_REDIS_IDLE_DEFAULT	128	/* idle connections are cheap */
#define SG_SLOW_TRIP		3	/* timeouts in a row that make an outage */
#define SG_BACKOFF_MIN_MS	100
#define SG_BACKOFF_MAX_MS	1000
#define SG_SHA1_HEX		41	/* 40 hex digits and a NUL */
#define SG_REASON_MAX		256
#define SG_HOST_MAX		256

struct sg_redis {
    /* Set by sg_redis_new(), read-only afterwards: no lock needed. */
    char   *address;		/* as configured, for messages */
    struct sg_redis_addr fixed;	/* [redis] address, unless sentinels */
    struct sg_redis_addr sentinel[SG_SENTINELS_MAX];
    int     nsentinel;		/* 0: no Sentinel, use fixed */
    char   *master_name;
    char   *sentinel_password;	/* NULL for none */
    char   *username;		/* ACL user, NULL for "default" */
    char   *password;		/* NULL for none */
    int     db;
    unsigned long timeout_ms;
    unsigned long connect_timeout_ms;
    int     max_idle;
    void    (*log) (int, const char *,...);
    /*
     * Each script is a Redis Functions library named, with its one
     * function, fname: "sg_" and the SHA1 of its source, so nodes of
     * different versions sharing a Redis each call their own.
     */
    char    fname[SG_SCRIPT_COUNT][SG_FNAME_MAX];
    char   *library[SG_SCRIPT_COUNT];	/* what FUNCTION LOAD gets */

    /* Everything below is guarded by lock. */
    pthread_mutex_t lock;
    struct redisContext **idle;	/* max_idle slots */
    int     nidle;
    unsigned long epoch;	/* bumped at an outage and a new master */
    int     down;
    int     probing;		/* one caller is reconnecting */
    unsigned backoff_ms;
    long long down_since;	/* monotonic ns */
    long long next_try;		/* monotonic ns */
    unsigned long failed;	/* calls failed during this outage */
    unsigned slow;		/* command timeouts since the last success */
    int     sigpipe_ignored;	/* SIG_IGN when the pool was made */
    char    master_host[SG_HOST_MAX];	/* Sentinel: "" until asked */
    int     master_port;
    int     sentinel_next;	/* the one that answered last */
};


/* sg_redis_exec_many - n commands pipelined on one pooled connection */
extern int sg_redis_exec_many(struct sg_redis *, int n, const int *argc,
			              const char **const *argv,
			              const size_t *const *argvlen,
			              struct redisReply **out, int *got,
			              char *err, size_t errlen);

/* sg_redis_exec - one command on a pooled connection */
extern int sg_redis_exec(struct sg_redis *, int argc, const char **argv,
			         const size_t *argvlen, struct redisReply **out,
			         char *err, size_t errlen);

/* sg_redis_fname - the function (and library) a script is called by */
extern const char *sg_redis_fname(const struct sg_redis *, enum sg_script);

#endif
