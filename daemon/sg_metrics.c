/*
 * NAME
 *	sg_metrics 3
 * SUMMARY
 *	counters, gauges and histograms, rendered as Prometheus text
 * DESCRIPTION
 *	See sg_metrics.h. The lists are only appended to at start-up and
 *	freed at exit, so a renderer walks them without a lock. A
 *	histogram keeps one atomic count per bucket (not cumulative: one
 *	increment per observation) and its sum as a double's bits updated by
 *	compare-and-swap; render adds the buckets up, so the +Inf bucket
 *	and _count always agree in one scrape.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_metrics.h"

/* sg_metrics_new - an empty registry */
struct sg_metrics *sg_metrics_new(void)
{
    struct sg_metrics *m = calloc(1, sizeof(*m));

    if (m)
	m->tail = &m->families;
    return (m);
}

/* sg_metrics_free - the registry, its families and series */
void    sg_metrics_free(struct sg_metrics *m)
{
    struct sg_mfamily *f, *fnext;
    struct sg_mseries *s, *snext;

    if (m == 0)
	return;
    for (f = m->families; f; f = fnext) {
	fnext = f->next;
	for (s = f->series; s; s = snext) {
	    snext = s->next;
	    free(s->labels);
	    free(s);
	}
	free(f->name);
	free(f->help);
	free(f);
    }
    free(m);
}

/* sg_metrics_family - a family of series under one name */
struct sg_mfamily *sg_metrics_family(struct sg_metrics *m, const char *name,
				             const char *help, enum sg_mtype type,
				             const double *bounds, int nbounds)
{
    struct sg_mfamily *f;

    if (m == 0 || nbounds < 0 || nbounds > SG_MBUCKETS_MAX
	|| (f = calloc(1, sizeof(*f))) == 0)
	return (0);
    if ((f->name = strdup(name)) == 0 || (f->help = strdup(help)) == 0) {
	free(f->name);
	free(f);
	return (0);
    }
    f->type = type;
    if (type == SG_MHISTOGRAM && bounds) {
	memcpy(f->bounds, bounds, (size_t) nbounds * sizeof(*bounds));
	f->nbounds = nbounds;
    }
    f->tail = &f->series;
    *m->tail = f;
    m->tail = &f->next;
    return (f);
}

/* sg_metrics_series - one series of a family */
struct sg_mseries *sg_metrics_series(struct sg_mfamily *f, const char *labels)
{
    struct sg_mseries *s;

    if (f == 0 || (s = calloc(1, sizeof(*s))) == 0)
	return (0);
    if ((s->labels = strdup(labels ? labels : "")) == 0) {
	free(s);
	return (0);
    }
    s->fam = f;
    *f->tail = s;
    f->tail = &s->next;
    return (s);
}

/* sg_metrics_gauge_fn - a gauge read at render time */
struct sg_mseries *sg_metrics_gauge_fn(struct sg_mfamily *f,
				               const char *labels,
				               double (*read) (void *), void *arg)
{
    struct sg_mseries *s = sg_metrics_series(f, labels);

    if (s) {
	s->read = read;
	s->arg = arg;
    }
    return (s);
}

/* sg_mseries_add - a counter or gauge goes up (or a gauge down) by n */
void    sg_mseries_add(struct sg_mseries *s, long long n)
{
    if (s)
	atomic_fetch_add_explicit(&s->value, n, memory_order_relaxed);
}

/* sg_mseries_set - a gauge's value */
void    sg_mseries_set(struct sg_mseries *s, long long v)
{
    if (s)
	atomic_store_explicit(&s->value, v, memory_order_relaxed);
}

/* sg_mseries_get - a counter's or gauge's value; a histogram's count */
long long sg_mseries_get(const struct sg_mseries *s)
{
    return (s ? atomic_load_explicit(&s->value, memory_order_relaxed) : 0);
}

/* bits - a double's bits and back */
static unsigned long long bits(double d)
{
    unsigned long long u;

    memcpy(&u, &d, sizeof(u));
    return (u);
}

static double unbits(unsigned long long u)
{
    double  d;

    memcpy(&d, &u, sizeof(d));
    return (d);
}

/* sg_mseries_observe - one observation into a histogram */
void    sg_mseries_observe(struct sg_mseries *s, double v)
{
    unsigned long long old, new;
    int     i = 0;

    if (s == 0 || isnan(v))
	return;
    while (i < s->fam->nbounds && v > s->fam->bounds[i])
	i++;
    atomic_fetch_add_explicit(&s->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->value, 1, memory_order_relaxed);
    old = atomic_load_explicit(&s->sum, memory_order_relaxed);
    do {
	new = bits(unbits(old) + v);
    } while (!atomic_compare_exchange_weak_explicit(&s->sum, &old, new,
						    memory_order_relaxed,
						    memory_order_relaxed));
}

/* sg_mseries_sum - a histogram's sum */
double  sg_mseries_sum(const struct sg_mseries *s)
{
    return (s ? unbits(atomic_load_explicit(&s->sum, memory_order_relaxed))
	    : 0);
}

/* put_help - "# HELP" text, with backslash and newline escaped */
static void put_help(FILE *fp, const struct sg_mfamily *f)
{
    static const char *const type[] = {"counter", "gauge", "histogram"};
    const char *cp;

    fprintf(fp, "# HELP %s ", f->name);
    for (cp = f->help; *cp; cp++) {
	if (*cp == '\\')
	    fputs("\\\\", fp);
	else if (*cp == '\n')
	    fputs("\\n", fp);
	else
	    fputc(*cp, fp);
    }
    fprintf(fp, "\n# TYPE %s %s\n", f->name, type[f->type]);
}

/* put_number - a double as Prometheus writes one */
static void put_number(FILE *fp, double v)
{
    if (isinf(v))
	fputs(v > 0 ? "+Inf" : "-Inf", fp);
    else if (isnan(v))
	fputs("NaN", fp);
    else
	fprintf(fp, "%.15g", v);
}

/* put_histogram - the buckets (cumulative), sum and count of one series */
static void put_histogram(FILE *fp, const struct sg_mfamily *f,
			          const struct sg_mseries *s)
{
    const char *sep = s->labels[0] ? "," : "";
    unsigned long long cum = 0;
    int     i;

    for (i = 0; i <= f->nbounds; i++) {
	cum += atomic_load_explicit(&s->bucket[i], memory_order_relaxed);
	fprintf(fp, "%s_bucket{%s%sle=\"", f->name, s->labels, sep);
	if (i < f->nbounds)
	    put_number(fp, f->bounds[i]);
	else
	    fputs("+Inf", fp);
	fprintf(fp, "\"} %llu\n", cum);
    }
    fprintf(fp, "%s_sum%s%s%s ", f->name, s->labels[0] ? "{" : "", s->labels,
	    s->labels[0] ? "}" : "");
    put_number(fp, sg_mseries_sum(s));
    fprintf(fp, "\n%s_count%s%s%s %llu\n", f->name, s->labels[0] ? "{" : "",
	    s->labels, s->labels[0] ? "}" : "", cum);
}

/* sg_metrics_render - every family, in the order they were made */
char   *sg_metrics_render(struct sg_metrics *m, size_t *len)
{
    const struct sg_mfamily *f;
    const struct sg_mseries *s;
    char   *buf = 0;
    FILE   *fp;

    *len = 0;
    if ((fp = open_memstream(&buf, len)) == 0)
	return (0);
    for (f = m ? m->families : 0; f; f = f->next) {
	put_help(fp, f);
	for (s = f->series; s; s = s->next) {
	    if (f->type == SG_MHISTOGRAM) {
		put_histogram(fp, f, s);
		continue;
	    }
	    fprintf(fp, "%s%s%s%s ", f->name, s->labels[0] ? "{" : "",
		    s->labels, s->labels[0] ? "}" : "");
	    if (s->read)
		put_number(fp, s->read(s->arg));
	    else
		fprintf(fp, "%lld", sg_mseries_get(s));
	    fputc('\n', fp);
	}
    }
    if (fclose(fp) != 0) {
	free(buf);
	*len = 0;
	return (0);
    }
    return (buf);
}
