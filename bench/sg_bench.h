/*
 * NAME
 *	sg_bench 3h
 * SUMMARY
 *	what the load generators share: clocks, latency samples, sockets
 * DESCRIPTION
 *	The load generators (sg-milterload, sg-smtpload) are single-threaded
 *	epoll loops: one thread drives every session, so the generator
 *	costs the machine as little CPU as it can, and costs it the same
 *	whichever milter is under test.
 *
 *	Latencies are kept as every sample (nanoseconds, 32 bits: up to 4 s,
 *	longer ones are clamped), so percentiles are exact. The number of
 *	samples per stage is capped (SG_LAT_CAP); a run that would exceed it
 *	says so.
 *
 *	Results go to standard output twice: a table for people, then one
 *	line "RESULT key=value ..." for the benchmark scripts.
 */
#ifndef SG_BENCH_H
#define SG_BENCH_H

#include <stddef.h>
#include <stdint.h>

#define SG_LAT_CAP	(16u << 20)	/* samples kept per stage */

/* All samples of one stage. */
struct sg_lat {
    const char *name;
    uint32_t *v;
    size_t  n, cap;
    size_t  dropped;			/* past SG_LAT_CAP */
    int     sorted;			/* v is in order */
};

/* sg_now_ns - monotonic clock in nanoseconds */
extern int64_t sg_now_ns(void);

/* sg_lat_add - record one latency in nanoseconds */
extern void sg_lat_add(struct sg_lat *, int64_t ns);

/* sg_lat_pct - the p-th percentile (0 < p <= 100) in microseconds;
 * sorts the samples on first use after an add */
extern double sg_lat_pct(struct sg_lat *, double p);

/* sg_lat_mean - mean in microseconds */
extern double sg_lat_mean(const struct sg_lat *);

/* sg_lat_free - release the samples */
extern void sg_lat_free(struct sg_lat *);

/* sg_lat_table - print a table of stages: n p50 p90 p99 p99.9 max mean */
extern void sg_lat_table(struct sg_lat *stages, int n);

/* sg_lat_result - append "NAME_p50=.. NAME_p90=.. NAME_p99=.. NAME_p999=..
 * NAME_max=.. NAME_n=.." (microseconds) to a RESULT line on stdout */
extern void sg_lat_result(struct sg_lat *);

/*
 * sg_connect_spec - start a non-blocking connect to a spec:
 * unix:/path, local:/path, /path, inet:PORT@HOST (libmilter),
 * inet:HOST:PORT (Postfix) or HOST:PORT. Only loopback and unix sockets
 * are accepted: these tools never load anything else. Returns the fd,
 * or -1 with a message in err.
 */
extern int sg_connect_spec(const char *spec, char *err, size_t errlen);

/* sg_check_spec - whether a spec parses and is loopback/unix; -1 + err */
extern int sg_check_spec(const char *spec, char *err, size_t errlen);

/* sg_die - print "PROG: message" and exit 2 */
extern void sg_die(const char *fmt,...)
		__attribute__((format(printf, 1, 2), noreturn));

/* sg_progname - set by main for messages */
extern const char *sg_progname;

/* sg_atol_range - a decimal option value in [min, max], or die */
extern long sg_atol_range(const char *opt, const char *s, long min, long max);

/* sg_atof_range - a decimal option value in [min, max], or die */
extern double sg_atof_range(const char *opt, const char *s, double min,
			            double max);

/* sg_rng - xorshift64*, for reproducible choices */
extern uint64_t sg_rng(uint64_t *state);

#endif
