/*
 * NAME
 *	sg_feed_metrics 3
 * SUMMARY
 *	what subguard-feed counts for Prometheus and the statistics line
 * DESCRIPTION
 *	subguard_feed_lines_total{kind} (its rate is the lines per second),
 *	subguard_feed_outcomes_total{result}, subguard_feed_lag_seconds,
 *	the feed's quarantines and lifts (the same names as the milter's,
 *	source="feed"), incidents, and what sg_metrics_std.c has (Redis
 *	round trips, outages, the notifier). The lag is a double kept as
 *	milliseconds in an integer gauge.
 */
#include <stdio.h>
#include <string.h>

#include "sg_feed_metrics.h"
#include "sg_log.h"
#include "sg_metrics_std.h"

static const char *const kinds[SG_FLINE_COUNT] = {
    "outcome", "delivered", "deferred", "ignored", "unparsable",
    "not_in_format",
};

static struct sg_mseries *m_lines[SG_FLINE_COUNT];
static struct sg_mseries *m_outcomes[2];	/* unknown_qid, counted */
static struct sg_mseries *m_quarantines, *m_lifts, *m_incidents;
static struct sg_mseries *m_behind;
static atomic_llong lag_ms;
static unsigned long stats_every;

/* sg_fmetrics_line - one line read, of this kind */
void    sg_fmetrics_line(enum sg_fline k)
{
    if ((int) k >= 0 && k < SG_FLINE_COUNT)
	sg_mseries_add(m_lines[k], 1);
}

/* sg_fmetrics_outcome - a failure counted (1) or of an unknown qid (0) */
void    sg_fmetrics_outcome(int counted)
{
    sg_mseries_add(m_outcomes[counted != 0], 1);
}

/* sg_fmetrics_quarantine - an outcome's answer: a new quarantine */
void    sg_fmetrics_quarantine(void)
{
    sg_mseries_add(m_quarantines, 1);
}

/* sg_fmetrics_lift - an outcome's answer: a quarantine found lifted */
void    sg_fmetrics_lift(void)
{
    sg_mseries_add(m_lifts, 1);
}

/* sg_fmetrics_incident - one incident */
void    sg_fmetrics_incident(void)
{
    sg_mseries_add(m_incidents, 1);
}

/* sg_fmetrics_behind - bytes of the log not yet read */
void    sg_fmetrics_behind(long long bytes)
{
    sg_mseries_set(m_behind, bytes > 0 ? bytes : 0);
}

/* sg_fmetrics_lag - seconds behind the log */
void    sg_fmetrics_lag(double seconds)
{
    atomic_store_explicit(&lag_ms, seconds > 0 ? (long long) (seconds * 1e3)
			  : 0, memory_order_relaxed);
}

/* read_lag - the lag gauge, in seconds */
static double read_lag(void *arg)
{
    (void) arg;
    return (atomic_load_explicit(&lag_ms, memory_order_relaxed) / 1e3);
}

/* sg_fmetrics_init - the feed's metrics, and the shared ones */
int     sg_fmetrics_init(struct sg_metrics *m, unsigned long interval)
{
    struct sg_mfamily *f;
    char    labels[64];
    int     k;

    stats_every = interval;
    if (sg_metrics_std(m, "subguard-feed") < 0)
	return (-1);
    f = sg_metrics_family(m, "subguard_feed_lines_total", "Lines of the "
			  "delivery log read, by what they were.",
			  SG_MCOUNTER, 0, 0);
    for (k = 0; k < SG_FLINE_COUNT; k++) {
	snprintf(labels, sizeof(labels), "kind=\"%s\"", kinds[k]);
	if ((m_lines[k] = sg_metrics_series(f, labels)) == 0)
	    return (-1);
    }
    f = sg_metrics_family(m, "subguard_feed_outcomes_total", "Final failures "
			  "sent to Redis: counted against a login, or of a "
			  "queue id subguard did not record.",
			  SG_MCOUNTER, 0, 0);
    m_outcomes[1] = sg_metrics_series(f, "result=\"counted\"");
    m_outcomes[0] = sg_metrics_series(f, "result=\"unknown_qid\"");
    f = sg_metrics_family(m, "subguard_feed_lag_seconds", "How long the "
			  "line being handled has waited (for Redis); 0 as a "
			  "rule.", SG_MGAUGE, 0, 0);
    sg_metrics_gauge_fn(f, 0, read_lag, 0);
    f = sg_metrics_family(m, "subguard_feed_behind_bytes", "Bytes of the "
			  "log file not yet read (checked at most once a "
			  "second).", SG_MGAUGE, 0, 0);
    m_behind = sg_metrics_series(f, 0);
    f = sg_metrics_family(m, "subguard_quarantines_total", "Accounts newly "
			  "quarantined by this feed.", SG_MCOUNTER, 0, 0);
    m_quarantines = sg_metrics_series(f, "source=\"feed\"");
    f = sg_metrics_family(m, "subguard_lifts_total", "Quarantines found "
			  "lifted (support removed them in Redis).",
			  SG_MCOUNTER, 0, 0);
    m_lifts = sg_metrics_series(f, 0);
    f = sg_metrics_family(m, "subguard_feed_incidents_total", "Incidents: "
			  "many accounts failing at once.", SG_MCOUNTER, 0, 0);
    m_incidents = sg_metrics_series(f, 0);
    return (m_outcomes[0] && m_outcomes[1] && m_quarantines && m_lifts
	    && m_incidents && m_behind ? 0 : -1);
}

/* sg_fmetrics_stats_line - what changed since the last line, to syslog */
void    sg_fmetrics_stats_line(void)
{
    static long long last[SG_FLINE_COUNT + 4];
    static struct sg_metrics_snap before;
    struct sg_metrics_snap now;
    long long n[SG_FLINE_COUNT + 4];
    char    std[384];
    int     k;

    for (k = 0; k < SG_FLINE_COUNT; k++)
	n[k] = sg_mseries_get(m_lines[k]);
    n[SG_FLINE_COUNT] = sg_mseries_get(m_outcomes[1]);
    n[SG_FLINE_COUNT + 1] = sg_mseries_get(m_outcomes[0]);
    n[SG_FLINE_COUNT + 2] = sg_mseries_get(m_quarantines);
    n[SG_FLINE_COUNT + 3] = sg_mseries_get(m_lifts);
    sg_metrics_snap(&now);
    sg_metrics_snap_text(&now, &before, std, sizeof(std));
    sg_log(LOG_INFO, "stats: interval=%lus lines=%lld outcomes=%lld "
	   "delivered=%lld deferred=%lld ignored=%lld unparsable=%lld "
	   "not_in_format=%lld counted=%lld unknown_qid=%lld quarantine=%lld "
	   "lift=%lld lag=%.1fs behind=%lldB %s", stats_every,
	   n[0] + n[1] + n[2] + n[3] + n[4] + n[5] - (last[0] + last[1]
						      + last[2] + last[3]
						      + last[4] + last[5]),
	   n[0] - last[0], n[1] - last[1], n[2] - last[2], n[3] - last[3],
	   n[4] - last[4], n[5] - last[5], n[6] - last[6], n[7] - last[7],
	   n[8] - last[8], n[9] - last[9], read_lag(0),
	   sg_mseries_get(m_behind), std);
    memcpy(last, n, sizeof(last));
    before = now;
}
