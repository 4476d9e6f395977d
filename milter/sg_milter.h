/*
 * NAME
 *	sg_milter 3h
 * SUMMARY
 *	what the parts of the subguard daemon share
 * DESCRIPTION
 *	The runtime is one loaded configuration with everything built from
 *	it: the engine, the Redis pool and the store. SIGHUP builds a new
 *	one and swaps it in; each message holds a reference to the runtime
 *	it started with, so a reload never changes the rules under a message
 *	in flight, and the old runtime goes when its last message is done.
 */
#ifndef SG_MILTER_H
#define SG_MILTER_H

#include <stdarg.h>
#include <syslog.h>

#include "sg_config.h"
#include "sg_engine.h"
#include "sg_redis.h"

struct sg_runtime {
    int     refs;
    struct sg_config cfg;
    struct sg_engine *engine;
    struct sg_redis *redis;
    struct sg_store store;
};

/* sg_runtime.c */
extern int sg_runtime_build(const char *path, struct sg_runtime **,
			            char *err, size_t errlen);
extern void sg_runtime_install(struct sg_runtime *);
extern struct sg_runtime *sg_runtime_acquire(void);
extern void sg_runtime_hold(struct sg_runtime *);
extern void sg_runtime_release(struct sg_runtime *);
extern int sg_config_check_system(const struct sg_config *, char *err,
				          size_t errlen);

/* sg_milter.c */
extern struct smfiDesc sg_milter_desc;

/* sg_notify.c */
extern void sg_notify(const char *command, const char *login,
		              const char *reason, const char *source);

/* sg_log.c */
extern void sg_log_open(const char *facility, int to_stderr);
extern void sg_log(int level, const char *fmt,...)
		__attribute__((format(printf, 2, 3)));
extern void sg_log_message(int level, const struct sg_msg *,
			           const char *client, const char *qid,
			           int dry_run, const char *action,
			           const char *stage, const char *fmt,...)
		__attribute__((format(printf, 8, 9)));

/* sg_commitq.c */
extern int sg_commitq_put(struct sg_runtime *, const struct sg_msg *,
			          const char *qid, int eom, double now,
			          const char *client, unsigned long *ticket);
extern int sg_commitq_wait(unsigned long ticket, unsigned long timeout_ms);
extern void sg_commitq_stop(void);

#endif
