/*
 * NAME
 *	sg_metrics_std 3
 * SUMMARY
 *	the metrics subguard and subguard-feed both have
 * DESCRIPTION
 *	Every store call goes through sg_runtime's timed store, which calls
 *	trip() below on the caller's thread: one histogram observation and
 *	one counter (atomics). An outage is counted when a call fails while
 *	the pool says it is down and the last call had not seen it so (one
 *	compare-and-swap); the first call that succeeds ends it. A single
 *	late answer is not an outage, for the metrics as for the log.
 */
#include <stdio.h>
#include <time.h>

#include "sg_metrics_std.h"
#include "sg_notify.h"
#include "sg_runtime.h"

/* Seconds: a local Redis answers in well under a millisecond. */
static const double trip_bounds[] = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1,
};

static struct sg_mseries *m_trip;		/* histogram */
static struct sg_mseries *m_calls[3];		/* ok, down, error */
static struct sg_mseries *m_outages;
static atomic_int outage;			/* as the calls saw it */
/* volatile: written, never read, a plain static would be optimised away */
static struct sg_metrics *volatile registry;	/* the process's, for its life */

/* trip - one store call: sg_runtime_trip */
static void trip(double seconds, int status, struct sg_redis *pool)
{
    int     was = 0;

    sg_mseries_observe(m_trip, seconds);
    sg_mseries_add(m_calls[status == SG_STORE_OK ? 0 :
			   status == SG_STORE_DOWN ? 1 : 2], 1);
    if (status == SG_STORE_OK) {
	if (atomic_load_explicit(&outage, memory_order_relaxed))
	    atomic_store(&outage, 0);
    } else if (status == SG_STORE_DOWN && sg_redis_is_down(pool)
	       && atomic_compare_exchange_strong(&outage, &was, 1)) {
	sg_mseries_add(m_outages, 1);
    }
}

/* read_outage - the outage gauge */
static double read_outage(void *arg)
{
    (void) arg;
    return (atomic_load(&outage));
}

/* read_notify - one field of the notifier's stats (arg: which) */
static double read_notify(void *arg)
{
    struct sg_notify_stats st;
    const char *which = arg;

    sg_notify_stats(&st);
    return (which[0] == 'q' ? st.queued : which[0] == 'r' ? st.ran :
	    which[0] == 'f' ? st.failed : st.dropped);
}

/* sg_metrics_std - the shared metrics */
int     sg_metrics_std(struct sg_metrics *m, const char *prog)
{
    struct sg_mfamily *f;
    char    labels[128];

    f = sg_metrics_family(m, "subguard_build_info", "Version of the program "
			  "serving these metrics.", SG_MGAUGE, 0, 0);
    snprintf(labels, sizeof(labels), "program=\"%s\",version=\"%s\"", prog,
	     SG_VERSION);
    sg_mseries_set(sg_metrics_series(f, labels), 1);
    f = sg_metrics_family(m, "subguard_start_time_seconds", "When the "
			  "program started, Unix time.", SG_MGAUGE, 0, 0);
    sg_mseries_set(sg_metrics_series(f, 0), (long long) time(0));
    f = sg_metrics_family(m, "subguard_redis_roundtrip_seconds", "Time of "
			  "each Redis round trip (a script call or a batch).",
			  SG_MHISTOGRAM, trip_bounds,
			  (int) (sizeof(trip_bounds) / sizeof(trip_bounds[0])));
    m_trip = sg_metrics_series(f, 0);
    f = sg_metrics_family(m, "subguard_redis_calls_total", "Redis round "
			  "trips by result: ok, down (unreachable, timed out, "
			  "backing off), error (the script failed).",
			  SG_MCOUNTER, 0, 0);
    m_calls[0] = sg_metrics_series(f, "result=\"ok\"");
    m_calls[1] = sg_metrics_series(f, "result=\"down\"");
    m_calls[2] = sg_metrics_series(f, "result=\"error\"");
    f = sg_metrics_family(m, "subguard_redis_outage", "1 while Redis is "
			  "unavailable (mail follows on_redis_error), else 0.",
			  SG_MGAUGE, 0, 0);
    sg_metrics_gauge_fn(f, 0, read_outage, 0);
    f = sg_metrics_family(m, "subguard_redis_outages_total", "Redis outages "
			  "begun.", SG_MCOUNTER, 0, 0);
    m_outages = sg_metrics_series(f, 0);
    f = sg_metrics_family(m, "subguard_notify_queue", "notify_command runs "
			  "waiting or running.", SG_MGAUGE, 0, 0);
    sg_metrics_gauge_fn(f, 0, read_notify, "q");
    f = sg_metrics_family(m, "subguard_notify_total", "notify_command runs "
			  "by result: ok, failed (could not start, non-zero "
			  "exit, killed), dropped (queue full).",
			  SG_MCOUNTER, 0, 0);
    sg_metrics_gauge_fn(f, "result=\"ok\"", read_notify, "r");
    sg_metrics_gauge_fn(f, "result=\"failed\"", read_notify, "f");
    sg_metrics_gauge_fn(f, "result=\"dropped\"", read_notify, "d");
    if (m_trip == 0 || m_calls[2] == 0 || m_outages == 0)
	return (-1);
    registry = m;
    sg_runtime_trip = trip;
    return (0);
}

/* sg_metrics_snap - their values now */
void    sg_metrics_snap(struct sg_metrics_snap *s)
{
    struct sg_notify_stats st;

    s->calls = sg_mseries_get(m_calls[0]) + sg_mseries_get(m_calls[1])
	+ sg_mseries_get(m_calls[2]);
    s->failed = sg_mseries_get(m_calls[1]) + sg_mseries_get(m_calls[2]);
    s->outages = sg_mseries_get(m_outages);
    s->seconds = sg_mseries_sum(m_trip);
    s->outage = atomic_load(&outage);
    sg_notify_stats(&st);
    s->notify_queued = st.queued;
    s->notify_ran = st.ran;
    s->notify_failed = st.failed;
    s->notify_dropped = st.dropped;
}

/* sg_metrics_snap_text - the change since *last, for the statistics line */
void    sg_metrics_snap_text(const struct sg_metrics_snap *now,
			             const struct sg_metrics_snap *last,
			             char *buf, size_t len)
{
    long long calls = now->calls - last->calls;

    snprintf(buf, len, "redis_calls=%lld redis_failed=%lld redis_avg_ms=%.3f "
	     "redis_outage=%d redis_outages=%lld notify_queue=%lu notify_ok=%lu "
	     "notify_failed=%lu notify_dropped=%lu", calls,
	     now->failed - last->failed,
	     calls > 0 ? (now->seconds - last->seconds) * 1e3 / calls : 0.0,
	     now->outage, now->outages - last->outages, now->notify_queued,
	     now->notify_ran - last->notify_ran,
	     now->notify_failed - last->notify_failed,
	     now->notify_dropped - last->notify_dropped);
}
