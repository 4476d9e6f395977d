/*
 * NAME
 *	sg_milter 3h
 * SUMMARY
 *	what the parts of the subguard milter share
 * DESCRIPTION
 *	The libmilter glue: the callbacks (sg_milter.c) and the queue that
 *	commits counts after the MTA has its reply (sg_commitq.c). What the
 *	milter shares with the log feed (the runtime, logging, notification)
 *	is in daemon/, one header per module, included here for the glue.
 */
#ifndef SG_MILTER_H
#define SG_MILTER_H

#include <stdarg.h>

#include "sg_log.h"
#include "sg_notify.h"
#include "sg_runtime.h"

/* sg_milter.c */
extern struct smfiDesc sg_milter_desc;

/*
 * sg_milter_quarantine_seen - what a store answer said of a login's
 * quarantine: 1 quarantined (its next message is committed at end of
 * message, not deferred), 0 not. Thread-safe; see sg_quarseen.h.
 */
extern void sg_milter_quarantine_seen(const char *login, int quarantined,
				              double asked, unsigned long kept);

/* sg_commitq.c */
extern int sg_commitq_put(struct sg_runtime *, const struct sg_msg *,
			          const char *qid, int eom, double now,
			          const char *client, unsigned long *ticket);
extern int sg_commitq_wait(unsigned long ticket, unsigned long timeout_ms);
extern void sg_commitq_stop(void);
extern unsigned long sg_commitq_depth(void);

/* sg_milter_metrics.c: what the milter counts; see sg_metrics.h */
struct sg_metrics;
extern int sg_mmetrics_init(struct sg_metrics *, unsigned long interval);
extern void sg_mmetrics_reserve(int status);
extern void sg_mmetrics_outage_decision(const char *action,
				                const char *stage);
extern void sg_mmetrics_stats_line(void);

#endif
