/*
 * NAME
 *	sg_redis_eval 3
 * SUMMARY
 *	script calls and replies: the second half of the hiredis layer
 * SYNOPSIS
 *	#include "sg_redis.h"
 * DESCRIPTION
 *	redis/sg_redis.c (connections, outages, Sentinel) and this file are
 *	the hiredis layer: the only two files that include hiredis. This one
 *	builds FCALL calls, loads a library Redis does not have ("Function
 *	not found": a restart without persistence, FUNCTION FLUSH, a master
 *	that never had it) and flattens replies into struct sg_reply. It
 *	sends everything through sg_redis_exec() and sg_redis_exec_many().
 *
 *	Why Functions and not EVALSHA: an EVALSHA runs the whole script's
 *	chunk at every call, defining each of engine.lua's helper functions
 *	again (some 70 closures) before the operation starts; a library is
 *	run once, at FUNCTION LOAD, and an FCALL calls the operation
 *	straight away. Measured on the begin and commit of a clean message
 *	(redis-cli --pipe, INFO commandstats): 53-60 us a call with EVALSHA,
 *	35 us with FCALL. Functions need Redis 7.0 (Debian 12 has 7.0.15).
 * DIAGNOSTICS
 *	Errors are written into the caller's buffer, one line.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "sg_redis.h"
#include "sg_redis_int.h"

/* count_leaves - number of strings a reply flattens to */
static size_t count_leaves(const redisReply *r)
{
    size_t  n = 0;
    size_t  i;

    if (r->type != REDIS_REPLY_ARRAY)
	return (1);
    for (i = 0; i < r->elements; i++)
	n += count_leaves(r->element[i]);
    return (n);
}

/* fill_leaves - flatten a reply depth-first into v[*pos...] */
static int fill_leaves(const redisReply *r, char **v, size_t *pos)
{
    char    num[32];
    size_t  i;

    switch (r->type) {
    case REDIS_REPLY_ARRAY:
	for (i = 0; i < r->elements; i++)
	    if (fill_leaves(r->element[i], v, pos) < 0)
		return (-1);
	return (0);
    case REDIS_REPLY_INTEGER:
	snprintf(num, sizeof(num), "%lld", r->integer);
	v[*pos] = sg_redis_strndup(num, strlen(num));
	break;
    case REDIS_REPLY_NIL:
	v[*pos] = sg_redis_strndup("", 0);
	break;
    default:					/* string, status, error */
	v[*pos] = sg_redis_strndup(r->str ? r->str : "", r->str ? r->len : 0);
	break;
    }
    return (v[(*pos)++] ? 0 : -1);
}

/* flatten - turn a hiredis reply into a struct sg_reply */
static int flatten(const redisReply *r, struct sg_reply *out,
		           char *err, size_t errlen)
{
    size_t  n = count_leaves(r);
    size_t  pos = 0;
    char  **v;

    if (n == 0)
	return (SG_STORE_OK);
    if (n > INT_MAX || (v = calloc(n, sizeof(*v))) == 0) {
	sg_redis_seterr(err, errlen, "redis: out of memory for a %zu-element reply",
		  n);
	return (SG_STORE_ERROR);
    }
    if (fill_leaves(r, v, &pos) < 0) {
	while (pos > 0)
	    free(v[--pos]);
	free(v);
	sg_redis_seterr(err, errlen, "redis: out of memory for a %zu-element reply",
		  n);
	return (SG_STORE_ERROR);
    }
    out->n = (int) n;
    out->v = v;
    return (SG_STORE_OK);
}

/* answer - an error reply becomes err, anything else the result */
static int answer(redisReply *r, const char *what, struct sg_reply *out,
		          char *err, size_t errlen)
{
    int     status;

    if (r->type == REDIS_REPLY_ERROR) {
	sg_redis_seterr(err, errlen, "%s: %s", what, r->str ? r->str : "error");
	status = SG_STORE_ERROR;
    } else {
	status = flatten(r, out, err, errlen);
    }
    freeReplyObject(r);
    return (status);
}

/*
 * load_script - FUNCTION LOAD a library Redis does not have. Another
 * node may have loaded the same one meanwhile: "already exists" is
 * success.
 */
static int load_script(struct sg_redis *pool, enum sg_script script,
			       char *err, size_t errlen)
{
    const char *argv[3];
    redisReply *r;
    int     status;

    argv[0] = "FUNCTION";
    argv[1] = "LOAD";
    argv[2] = pool->library[script];
    if ((status = sg_redis_exec(pool, 3, argv, 0, &r, err, errlen)) != SG_STORE_OK)
	return (status);
    if (r->type == REDIS_REPLY_ERROR && r->str
	&& strstr(r->str, "already exists") != 0) {
	/* Loaded by another node between our FCALL and this. */
    } else if (r->type == REDIS_REPLY_ERROR) {
	sg_redis_seterr(err, errlen, "loading script %s: %s%s",
			sg_script_name[script], r->str ? r->str : "error",
			r->str && strstr(r->str, "unknown command") ?
			" (subguard needs Redis 7.0 or later: Functions)" : "");
	status = SG_STORE_ERROR;
    } else if (r->type != REDIS_REPLY_STRING || r->str == 0
	       || strcmp(r->str, sg_redis_fname(pool, script)) != 0) {
	/* Not ours to fix, but FCALL would loop on "not found". */
	sg_redis_seterr(err, errlen, "loading script %s: Redis filed it under "
		  "%s, expected %s", sg_script_name[script],
		  r->str ? r->str : "(nothing)", sg_redis_fname(pool, script));
	status = SG_STORE_ERROR;
    }
    freeReplyObject(r);
    return (status);
}

/* fcall_argv - FCALL FUNCTION NKEYS ARGS..., in av/len (malloc'd) */
static int fcall_argv(const struct sg_redis *pool, enum sg_script script,
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
	sg_redis_seterr(err, errlen, "redis: bad script call (script %d, %d keys, "
		  "%d arguments)", (int) script, nkeys, argc);
	return (SG_STORE_ERROR);
    }
    av = malloc((argc + 3) * sizeof(*av));
    len = malloc((argc + 3) * sizeof(*len));
    if (av == 0 || len == 0) {
	free(av);
	free(len);
	sg_redis_seterr(err, errlen, "redis: out of memory");
	return (SG_STORE_ERROR);
    }
    snprintf(nkeybuf, 16, "%d", nkeys);
    av[0] = "FCALL";
    av[1] = sg_redis_fname(pool, script);
    av[2] = nkeybuf;
    len[0] = 5;
    len[1] = strlen(av[1]);
    len[2] = strlen(nkeybuf);
    for (i = 0; i < argc; i++) {
	av[i + 3] = argv[i];
	len[i + 3] = argvlen ? argvlen[i] : strlen(argv[i]);
    }
    *avp = av;
    *lenp = len;
    return (SG_STORE_OK);
}

/*
 * noscript - whether Redis does not have the library. FCALL's error is
 * "ERR Function not found"; an FCALL sent to a Redis without Functions
 * is "unknown command", which loading then reports with the version
 * needed.
 */
static int noscript(const redisReply *r)
{
    return (r && r->type == REDIS_REPLY_ERROR && r->str
	    && (strstr(r->str, "Function not found") != 0
		|| (strncmp(r->str, "ERR unknown command", 19) == 0
		    && strstr(r->str, "FCALL") != 0)));
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
    if ((status = fcall_argv(pool, script, nkeys, argc, argv, argvlen,
				  nkeybuf, &av, &len, err,
				  errlen)) != SG_STORE_OK)
	return (status);
    status = sg_redis_exec(pool, argc + 3, av, len, &r, err, errlen);
    if (status == SG_STORE_OK && noscript(r)) {
	freeReplyObject(r);
	r = 0;
	if ((status = load_script(pool, script, err, errlen)) == SG_STORE_OK)
	    status = sg_redis_exec(pool, argc + 3, av, len, &r, err, errlen);
    }
    if (status == SG_STORE_OK) {
	snprintf(what, sizeof(what), "script %s", sg_script_name[script]);
	status = answer(r, what, reply, err, errlen);
    }
    free(av);
    free(len);
    return (status);
}

/* The FCALL commands of one batch of calls, in parallel arrays. */
struct batch {
    int     n;				/* calls */
    const char ***av;			/* commands, sendable ones packed */
    size_t **len;
    int    *ac;
    char    (*nkeybuf)[16];		/* NKEYS of each, av[m][2] */
    redisReply **r;			/* answers, in av order */
};

/* batch_new - room for n calls; -1 when out of memory */
static int batch_new(struct batch *b, int n)
{
    b->n = n;
    b->av = calloc(n, sizeof(*b->av));
    b->len = calloc(n, sizeof(*b->len));
    b->ac = calloc(n, sizeof(*b->ac));
    b->nkeybuf = calloc(n, sizeof(*b->nkeybuf));
    b->r = calloc(n, sizeof(*b->r));
    return (b->av && b->len && b->ac && b->nkeybuf && b->r ? 0 : -1);
}

/* batch_free - the arrays and the commands built in them */
static void batch_free(struct batch *b)
{
    int     i;

    for (i = 0; b->av && b->len && i < b->n; i++) {
	free(b->av[i]);
	free(b->len[i]);
    }
    free(b->av);
    free(b->len);
    free(b->ac);
    free(b->nkeybuf);
    free(b->r);
}

/*
 * batch_build - each call's FCALL into b. Calls that cannot be sent
 * fail alone (their status and err set); the others are packed at the
 * front of b, in order. How many were packed.
 */
static int batch_build(const struct sg_redis *pool, enum sg_script script,
		               struct sg_call *calls, struct batch *b)
{
    int     i, m = 0;

    for (i = 0; i < b->n; i++) {
	calls[i].reply.n = 0;
	calls[i].reply.v = 0;
	calls[i].status = fcall_argv(pool, script, calls[i].nkeys,
				       calls[i].argc, calls[i].argv, 0,
				       b->nkeybuf[i], &b->av[i], &b->len[i],
				       calls[i].err, sizeof(calls[i].err));
	if (calls[i].status == SG_STORE_OK)
	    b->ac[i] = calls[i].argc + 3;
    }
    for (i = 0; i < b->n; i++)
	if (b->av[i]) {
	    b->av[m] = b->av[i];
	    b->len[m] = b->len[i];
	    b->ac[m] = b->ac[i];
	    memmove(b->nkeybuf[m], b->nkeybuf[i], sizeof(b->nkeybuf[m]));
	    b->av[m][2] = b->nkeybuf[m];
	    if (i != m)
		b->av[i] = 0, b->len[i] = 0;
	    m++;
	}
    return (m);
}

/*
 * rerun - command m of b found the script forgotten: load it (once a
 * batch: *loaded 1 when done, -1 when that failed, loaderr saying why)
 * and run the call alone again.
 */
static void rerun(struct sg_redis *pool, enum sg_script script,
		          const char *what, struct sg_call *call,
		          struct batch *b, int m, int *loaded, char *loaderr)
{
    freeReplyObject(b->r[m]);
    b->r[m] = 0;
    if (*loaded == 0)
	*loaded = load_script(pool, script, loaderr,
			      sizeof(call->err)) == SG_STORE_OK ? 1 : -1;
    if (*loaded < 0) {
	call->status = SG_STORE_ERROR;
	memcpy(call->err, loaderr, sizeof(call->err));
    } else if ((call->status = sg_redis_exec(pool, b->ac[m], b->av[m],
					     b->len[m], &b->r[m], call->err,
					     sizeof(call->err)))
	       == SG_STORE_OK) {
	call->status = answer(b->r[m], what, &call->reply, call->err,
			      sizeof(call->err));
    }
    b->r[m] = 0;
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
    struct batch b;
    char    what[64], err[sizeof(calls->err)], loaderr[sizeof(calls->err)];
    int     i, m, got = 0, status, loaded = 0;

    if (n <= 0)
	return (SG_STORE_OK);
    if (batch_new(&b, n) < 0) {
	for (i = 0; i < n; i++) {
	    calls[i].status = SG_STORE_ERROR;
	    sg_redis_seterr(calls[i].err, sizeof(calls[i].err),
			    "redis: out of memory");
	}
	batch_free(&b);
	return (SG_STORE_OK);
    }
    snprintf(what, sizeof(what), "script %s",
	     (int) script >= 0 && script < SG_SCRIPT_COUNT ?
	     sg_script_name[script] : "?");
    m = batch_build(pool, script, calls, &b);
    status = m ? sg_redis_exec_many(pool, m, b.ac,
				    (const char **const *) b.av,
				    (const size_t *const *) b.len, b.r, &got,
				    err, sizeof(err)) : SG_STORE_OK;

    /* Answers back to their calls, in order. */
    for (i = 0, m = 0; i < n; i++) {
	if (calls[i].status != SG_STORE_OK)
	    continue;
	if (m >= got) {
	    calls[i].status = status;
	    memcpy(calls[i].err, err, sizeof(err));
	} else if (noscript(b.r[m])) {
	    rerun(pool, script, what, &calls[i], &b, m, &loaded, loaderr);
	} else {
	    calls[i].status = answer(b.r[m], what, &calls[i].reply,
				     calls[i].err, sizeof(calls[i].err));
	    b.r[m] = 0;
	}
	m++;
    }
    batch_free(&b);
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
	sg_redis_seterr(err, errlen, "redis: empty command");
	return (SG_STORE_ERROR);
    }
    status = sg_redis_exec(pool, argc, (const char **) argv, argvlen, &r,
		     err, errlen);
    if (status == SG_STORE_OK)
	status = answer(r, argv[0], reply, err, errlen);
    return (status);
}

/* sg_redis_is_down - whether the pool is in an outage (metrics) */
int     sg_redis_is_down(struct sg_redis *pool)
{
    int     down;

    pthread_mutex_lock(&pool->lock);
    down = pool->down;
    pthread_mutex_unlock(&pool->lock);
    return (down);
}
