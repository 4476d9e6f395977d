/*
 * NAME
 *	sg_feed_metrics 3h
 * SUMMARY
 *	what subguard-feed counts for Prometheus and the statistics line
 * DESCRIPTION
 *	The feed's main loop calls these as it handles lines; a scrape and
 *	the statistics thread read them (atomics, see sg_metrics.h).
 */
#ifndef SG_FEED_METRICS_H
#define SG_FEED_METRICS_H

#include "sg_metrics.h"

/* What a line of the log was. */
enum sg_fline {
    SG_FLINE_OUTCOME,			/* a final failure, sent to Redis */
    SG_FLINE_DELIVERED,
    SG_FLINE_DEFERRED,
    SG_FLINE_IGNORED,			/* not a delivery line */
    SG_FLINE_BAD,			/* looked like one, did not parse */
    SG_FLINE_FOREIGN,			/* not of the configured format */
    SG_FLINE_COUNT
};

/* sg_fmetrics_init - the feed's metrics (and the shared ones) in m */
extern int sg_fmetrics_init(struct sg_metrics *m, unsigned long interval);

/* sg_fmetrics_line - one line read, of this kind */
extern void sg_fmetrics_line(enum sg_fline);

/* sg_fmetrics_outcome - a failure counted (1) or of an unknown qid (0) */
extern void sg_fmetrics_outcome(int counted);

/* sg_fmetrics_quarantine, sg_fmetrics_lift - what an outcome's answer said */
extern void sg_fmetrics_quarantine(void);
extern void sg_fmetrics_lift(void);

/*
 * sg_fmetrics_incident - one incident (many accounts failing at once,
 * as the detection of a feed names it); counted, for later work
 */
extern void sg_fmetrics_incident(void);

/*
 * sg_fmetrics_lag - how far behind the log the feed is, in seconds. The
 * feed says how long its current line has waited for Redis (0 as a
 * rule); a reader that knows each line's time may say how old it is.
 */
extern void sg_fmetrics_lag(double seconds);

/* sg_fmetrics_behind - bytes of the log not yet read */
extern void sg_fmetrics_behind(long long bytes);

/* sg_fmetrics_stats_line - what changed since the last line, to syslog */
extern void sg_fmetrics_stats_line(void);

#endif
