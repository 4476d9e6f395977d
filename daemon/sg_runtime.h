/*
 * NAME
 *	sg_runtime 3h
 * SUMMARY
 *	the loaded configuration and what is built from it
 * DESCRIPTION
 *	The runtime is one loaded configuration with everything built from
 *	it: the engine, the Redis pool and the store. SIGHUP builds a new
 *	one and swaps it in; each message holds a reference to the runtime
 *	it started with, so a reload never changes the rules under a message
 *	in flight, and the old runtime goes when its last message is done.
 *	The milter (milter/) and the log feed (feed/) both build on it.
 * DIAGNOSTICS
 *	sg_runtime_build() and sg_config_check_system() return 0, or -1 with
 *	"file:line: what" or "what" in err.
 */
#ifndef SG_RUNTIME_H
#define SG_RUNTIME_H

#include <stddef.h>

#include "sg_config.h"
#include "sg_engine.h"
#include "sg_redis.h"

struct sg_runtime {
    int     refs;
    struct sg_config cfg;
    struct sg_engine *engine;
    struct sg_redis *redis;
    struct sg_store store;		/* redis_store, timed for metrics */
    struct sg_store redis_store;
};

/*
 * sg_runtime_trip - when set (once, before the first runtime is built),
 * told of every store call: its seconds, its SG_STORE_* status, and the
 * pool, for metrics. It runs on the caller's thread: keep it cheap.
 */
extern void (*sg_runtime_trip) (double seconds, int status,
				        struct sg_redis *);

/* sg_runtime_build - load a configuration and build on it */
extern int sg_runtime_build(const char *path, struct sg_runtime **,
			            char *err, size_t errlen);

/* sg_runtime_install - make rt the one new messages use */
extern void sg_runtime_install(struct sg_runtime *);

/* sg_runtime_acquire - a reference to the current runtime */
extern struct sg_runtime *sg_runtime_acquire(void);

/* sg_runtime_hold - one more reference to a runtime already held */
extern void sg_runtime_hold(struct sg_runtime *);

/* sg_runtime_release - drop a reference; the last one frees */
extern void sg_runtime_release(struct sg_runtime *);

/* sg_config_check_system - what only this machine can tell about a config */
extern int sg_config_check_system(const struct sg_config *, char *err,
				          size_t errlen);

#endif
