/*
 * NAME
 *	sg_metrics_std 3h
 * SUMMARY
 *	the metrics subguard and subguard-feed both have
 * DESCRIPTION
 *	Redis round trips (a histogram of their seconds, a count by result),
 *	the outage state and count as the calls saw them, the notifier's
 *	queue and results, the build and the start time. sg_metrics_std()
 *	makes them and sets sg_runtime_trip; the programs add their own.
 */
#ifndef SG_METRICS_STD_H
#define SG_METRICS_STD_H

#include "sg_metrics.h"

/* What the statistics line says of Redis and the notifier. */
struct sg_metrics_snap {
    long long calls, failed, outages;
    double  seconds;			/* of all calls */
    int     outage;			/* now */
    unsigned long notify_queued, notify_ran, notify_failed, notify_dropped;
};

/* sg_metrics_std - the shared metrics, prog as in "subguard" */
extern int sg_metrics_std(struct sg_metrics *, const char *prog);

/* sg_metrics_snap - their values now */
extern void sg_metrics_snap(struct sg_metrics_snap *);

/* sg_metrics_snap_text - "redis_calls=N ..." of the change since *last */
extern void sg_metrics_snap_text(const struct sg_metrics_snap *now,
				         const struct sg_metrics_snap *last,
				         char *buf, size_t len);

#endif
