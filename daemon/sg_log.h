/*
 * NAME
 *	sg_log 3h
 * SUMMARY
 *	syslog, and standard error in the foreground
 * DESCRIPTION
 *	The levels are syslog's (LOG_NOTICE, LOG_WARNING, ...). The
 *	facility is named in the configuration (syslog_facility); the names
 *	allowed there are sg_syslog_facilities[] in lib/sg_config.c, and
 *	sg_log_facility() maps each to its LOG_* value.
 */
#ifndef SG_LOG_H
#define SG_LOG_H

#include <syslog.h>

#include "sg_engine.h"

/* sg_log_facility - LOG_* value of a facility name, or -1 */
extern int sg_log_facility(const char *name);

/* sg_log_open - start logging */
extern void sg_log_open(const char *facility, int to_stderr);

/* sg_log - one line at a syslog level */
extern void sg_log(int level, const char *fmt,...)
		__attribute__((format(printf, 2, 3)));

/* sg_log_message - the decision line of one message */
extern void sg_log_message(int level, const struct sg_msg *,
			           const char *client, const char *qid,
			           int dry_run, const char *action,
			           const char *stage, const char *fmt,...)
		__attribute__((format(printf, 8, 9)));

/*
 * sg_log_decision_hook - when set (at start-up), told of every decision
 * line sg_log_message() writes: its action= and stage= words (metrics)
 */
extern void (*sg_log_decision_hook) (const char *action, const char *stage);

#endif
