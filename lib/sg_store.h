/*
 * NAME
 *	sg_store 3h
 * SUMMARY
 *	what the engine needs from the shared store (Redis, through Lua)
 * DESCRIPTION
 *	The engine in lib/ never talks to Redis itself. It asks a store to run
 *	one of the engine's scripts with a list of keys and arguments and gets
 *	back a flat list of strings. The one real store is redis/sg_redis.c;
 *	the programs (milter, feed, replay) pass it in. This keeps lib/ free
 *	of sockets and lets one code path serve the daemon and the replay.
 */
#ifndef SG_STORE_H
#define SG_STORE_H

#include <stddef.h>

/* The engine's scripts, kept as files in lib/lua/ and compiled in. */
enum sg_script {
    SG_SCRIPT_ENGINE,		/* lib/lua/engine.lua: begin, commit, ... */
    SG_SCRIPT_COUNT		/* number of scripts */
};

/* Script sources and names, generated from lib/lua/ by the build. */
extern const char *const sg_script_source[SG_SCRIPT_COUNT];
extern const char *const sg_script_name[SG_SCRIPT_COUNT];

/* A script's answer: a flat array of strings (integers as decimal). */
struct sg_reply {
    int     n;
    char  **v;			/* v[0..n-1], each NUL-terminated */
};

extern void sg_reply_free(struct sg_reply *);

/* Status of a store call. */
#define SG_STORE_OK	0
#define SG_STORE_DOWN	(-1)	/* unreachable, timed out, or backing off */
#define SG_STORE_ERROR	(-2)	/* the script itself failed */

/* One call of a batch: see eval_many. */
struct sg_call {
    int     nkeys;
    int     argc;
    const char *const *argv;		/* KEYS then ARGV, NUL-terminated */
    struct sg_reply reply;		/* the answer when status is OK */
    int     status;			/* SG_STORE_* */
    char    err[256];			/* why, when status is not OK */
};

struct sg_store {
    /*
     * Run a script. argv[0..nkeys-1] are KEYS, the rest ARGV. On success
     * *reply is filled and must be freed with sg_reply_free(). On failure
     * err holds a one-line reason (never a password).
     */
    int     (*eval) (void *ctx, enum sg_script, int nkeys, int argc,
		             const char *const *argv, const size_t *argvlen,
		             struct sg_reply *reply, char *err, size_t errlen);
    void   *ctx;

    /*
     * Optional: run n calls of one script at once (one round trip where
     * the store can). Each call gets its own status and reply, as if it
     * had been run alone, in order. NULL: sg_store_eval_many() runs
     * them one by one.
     */
    int     (*eval_many) (void *ctx, enum sg_script, struct sg_call *,
			          int n);
};

/* sg_store_eval_many - n calls through eval_many, or one by one */
extern void sg_store_eval_many(const struct sg_store *, enum sg_script,
			               struct sg_call *, int n);

#endif
