/*
 * NAME
 *	sg_runtime 3
 * SUMMARY
 *	the loaded configuration and what is built from it
 * DESCRIPTION
 *	See sg_runtime.h. sg_runtime_build() does all the work that can fail
 *	(parse, check users, read the Redis password, make the pool) before
 *	anything changes, so a bad file on SIGHUP leaves the running
 *	configuration alone.
 * DIAGNOSTICS
 *	Errors come back in err as "file:line: what" or "what".
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sg_log.h"
#include "sg_runtime.h"

static pthread_mutex_t rt_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sg_runtime *rt_current;

void    (*sg_runtime_trip) (double, int, struct sg_redis *);

/* mono_secs - monotonic seconds */
static double mono_secs(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/* timed_eval - one store call, its time told to sg_runtime_trip */
static int timed_eval(void *ctx, enum sg_script script, int nkeys, int argc,
		              const char *const *argv, const size_t *argvlen,
		              struct sg_reply *reply, char *err, size_t errlen)
{
    struct sg_runtime *rt = ctx;
    double  t0 = mono_secs();
    int     rc;

    rc = rt->redis_store.eval(rt->redis_store.ctx, script, nkeys, argc, argv,
			      argvlen, reply, err, errlen);
    if (sg_runtime_trip)
	sg_runtime_trip(mono_secs() - t0, rc, rt->redis);
    return (rc);
}

/* timed_eval_many - a batch in one round trip, timed as one */
static int timed_eval_many(void *ctx, enum sg_script script,
			           struct sg_call *calls, int n)
{
    struct sg_runtime *rt = ctx;
    double  t0 = mono_secs();
    int     i, rc = SG_STORE_OK;

    sg_store_eval_many(&rt->redis_store, script, calls, n);
    for (i = 0; i < n && rc == SG_STORE_OK; i++)
	rc = calls[i].status;
    if (sg_runtime_trip)
	sg_runtime_trip(mono_secs() - t0, rc, rt->redis);
    return (0);
}

/* sg_config_check_system - what only this machine can tell about a config */
int     sg_config_check_system(const struct sg_config *cfg, char *err,
			               size_t errlen)
{
    if (cfg->user[0] && getpwnam(cfg->user) == 0) {
	snprintf(err, errlen, "%s: user \"%s\" does not exist", cfg->path,
		 cfg->user);
	return (-1);
    }
    if (cfg->group[0] && getgrnam(cfg->group) == 0) {
	snprintf(err, errlen, "%s: group \"%s\" does not exist", cfg->path,
		 cfg->group);
	return (-1);
    }
    if (cfg->socket_owner[0] && getpwnam(cfg->socket_owner) == 0) {
	snprintf(err, errlen, "%s: socket_owner \"%s\" does not exist",
		 cfg->path, cfg->socket_owner);
	return (-1);
    }
    if (cfg->socket_group[0] && getgrnam(cfg->socket_group) == 0) {
	snprintf(err, errlen, "%s: socket_group \"%s\" does not exist",
		 cfg->path, cfg->socket_group);
	return (-1);
    }
    if (strncmp(cfg->listen, "unix:", 5) != 0
	&& strncmp(cfg->listen, "local:", 6) != 0
	&& strncmp(cfg->listen, "inet:", 5) != 0
	&& strncmp(cfg->listen, "inet6:", 6) != 0) {
	snprintf(err, errlen, "%s: listen \"%s\": want unix:/path or "
		 "inet:port@host", cfg->path, cfg->listen);
	return (-1);
    }
    if (sg_log_facility(cfg->syslog_facility) < 0) {
	snprintf(err, errlen, "%s: unknown syslog_facility \"%s\"", cfg->path,
		 cfg->syslog_facility);
	return (-1);
    }
    return (0);
}

/* runtime_free - release everything built for one configuration */
static void runtime_free(struct sg_runtime *rt)
{
    if (rt == 0)
	return;
    sg_engine_free(rt->engine);
    if (rt->redis)
	sg_redis_free(rt->redis);
    free(rt);
}

/* sg_runtime_build - load a configuration and build on it */
int     sg_runtime_build(const char *path, struct sg_runtime **out, char *err,
			         size_t errlen)
{
    struct sg_runtime *rt;
    struct sg_redis_params rp;
    char    password[512] = "";
    char    spassword[512] = "";

    *out = 0;
    if ((rt = calloc(1, sizeof(*rt))) == 0) {
	snprintf(err, errlen, "out of memory");
	return (-1);
    }
    if (sg_config_load(path, &rt->cfg, err, errlen) < 0
	|| sg_config_check_system(&rt->cfg, err, errlen) < 0)
	goto fail;
    if (sg_redis_params_config(&rt->cfg, &rp, password, sizeof(password),
			       spassword, sizeof(spassword), err,
			       errlen) == 0) {
	rp.log = sg_log;
	rt->redis = sg_redis_new(&rp, err, errlen);
    }
    explicit_bzero(password, sizeof(password));
    explicit_bzero(spassword, sizeof(spassword));
    if (rt->redis == 0)
	goto fail;
    if ((rt->engine = sg_engine_new(&rt->cfg)) == 0) {
	snprintf(err, errlen, "out of memory");
	goto fail;
    }
    rt->redis_store = sg_redis_store(rt->redis);
    rt->store.eval = timed_eval;
    rt->store.eval_many = timed_eval_many;
    rt->store.ctx = rt;
    rt->refs = 1;
    *out = rt;
    return (0);
fail:
    runtime_free(rt);
    return (-1);
}

/* sg_runtime_install - make rt the one new messages use */
void    sg_runtime_install(struct sg_runtime *rt)
{
    struct sg_runtime *old;

    pthread_mutex_lock(&rt_lock);
    old = rt_current;
    rt_current = rt;
    pthread_mutex_unlock(&rt_lock);
    if (old)
	sg_runtime_release(old);
}

/* sg_runtime_acquire - a reference to the current runtime */
struct sg_runtime *sg_runtime_acquire(void)
{
    struct sg_runtime *rt;

    pthread_mutex_lock(&rt_lock);
    if ((rt = rt_current) != 0)
	rt->refs++;
    pthread_mutex_unlock(&rt_lock);
    return (rt);
}

/* sg_runtime_hold - one more reference to a runtime already held */
void    sg_runtime_hold(struct sg_runtime *rt)
{
    pthread_mutex_lock(&rt_lock);
    rt->refs++;
    pthread_mutex_unlock(&rt_lock);
}

/* sg_runtime_release - drop a reference; the last one frees */
void    sg_runtime_release(struct sg_runtime *rt)
{
    int     last;

    if (rt == 0)
	return;
    pthread_mutex_lock(&rt_lock);
    last = --rt->refs == 0;
    pthread_mutex_unlock(&rt_lock);
    if (last)
	runtime_free(rt);
}
