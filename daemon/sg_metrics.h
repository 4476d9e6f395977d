/*
 * NAME
 *	sg_metrics 3h
 * SUMMARY
 *	counters, gauges and histograms, rendered as Prometheus text
 * DESCRIPTION
 *	A registry of metric families, each with its series (one per label
 *	set). Families and series are made at start-up, by one thread,
 *	before any other thread uses them; afterwards every update is one
 *	or two C11 atomic operations (no lock on the message path), and
 *	sg_metrics_render() may run on any thread at any time.
 *
 *	Values are integers, except a histogram's sum and a gauge read by a
 *	function at render time. The text is Prometheus exposition format
 *	0.0.4: "# HELP", "# TYPE", then one line per series.
 *
 *	What the milter and the feed count is named in their own files
 *	(milter/sg_milter_metrics.c, feed/sg_feed_metrics.c); the HTTP
 *	listener is sg_metrics_serve.c.
 * DIAGNOSTICS
 *	The makers return NULL only when out of memory; every updater takes
 *	NULL and does nothing, so a failed maker costs a metric, not mail.
 */
#ifndef SG_METRICS_H
#define SG_METRICS_H

#include <stdatomic.h>
#include <stddef.h>

enum sg_mtype { SG_MCOUNTER, SG_MGAUGE, SG_MHISTOGRAM };

#define SG_MBUCKETS_MAX	16		/* histogram bounds, at most */

struct sg_mseries {
    struct sg_mseries *next;
    struct sg_mfamily *fam;
    char   *labels;			/* 'a="x",b="y"' or "" */
    atomic_llong value;			/* counter, gauge; histogram count */
    double  (*read) (void *);		/* a gauge read at render time */
    void   *arg;
    atomic_ullong bucket[SG_MBUCKETS_MAX + 1];	/* not cumulative; +Inf */
    atomic_ullong sum;			/* a double's bits */
};

struct sg_mfamily {
    struct sg_mfamily *next;
    char   *name;
    char   *help;
    enum sg_mtype type;
    int     nbounds;
    double  bounds[SG_MBUCKETS_MAX];	/* ascending upper bounds */
    struct sg_mseries *series, **tail;
};

struct sg_metrics {
    struct sg_mfamily *families, **tail;
};

/* sg_metrics_new - an empty registry */
extern struct sg_metrics *sg_metrics_new(void);
extern void sg_metrics_free(struct sg_metrics *);

/*
 * sg_metrics_family - a family; for a histogram, nbounds ascending
 * upper bounds (at most SG_MBUCKETS_MAX; +Inf is implied)
 */
extern struct sg_mfamily *sg_metrics_family(struct sg_metrics *,
					            const char *name,
					            const char *help,
					            enum sg_mtype,
					            const double *bounds,
					            int nbounds);

/* sg_metrics_series - a series with labels ('k="v",k2="v2"' or NULL) */
extern struct sg_mseries *sg_metrics_series(struct sg_mfamily *,
					            const char *labels);

/* sg_metrics_gauge_fn - a gauge series whose value read() gives */
extern struct sg_mseries *sg_metrics_gauge_fn(struct sg_mfamily *,
					              const char *labels,
					              double (*read) (void *),
					              void *arg);

/* Updates: atomic, any thread. */
extern void sg_mseries_add(struct sg_mseries *, long long n);
extern void sg_mseries_set(struct sg_mseries *, long long v);
extern long long sg_mseries_get(const struct sg_mseries *);
extern void sg_mseries_observe(struct sg_mseries *, double v);
extern double sg_mseries_sum(const struct sg_mseries *);

/* sg_metrics_render - the text, malloc'd (*len its length); NULL: no memory */
extern char *sg_metrics_render(struct sg_metrics *, size_t *len);

#endif
