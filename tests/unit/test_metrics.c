/*
 * NAME
 *	test_metrics 1
 * SUMMARY
 *	unit tests for daemon/sg_metrics, lib/sg_hostport and [metrics]
 * DESCRIPTION
 *	The registry's text is Prometheus 0.0.4 to the byte: HELP (escaped)
 *	and TYPE once per family, labels, histogram buckets cumulative with
 *	+Inf equal to _count, values at a boundary in that boundary's
 *	bucket. Updates from several threads at once lose nothing.
 *	HOST:PORT parsing refuses what a hostile file could put there, and
 *	the [metrics] section's values are checked with their line.
 * DIAGNOSTICS
 *	Exit status 0 when every test passed, as cmocka reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sg_config.h"
#include "sg_hostport.h"
#include "sg_metrics.h"

/* render - the registry's text (freed by the caller) */
static char *render(struct sg_metrics *m)
{
    size_t  len;
    char   *text = sg_metrics_render(m, &len);

    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return (text);
}

/* test_counter_gauge - the exact text of a counter with labels and a gauge */
static void test_counter_gauge(void **state)
{
    struct sg_metrics *m = sg_metrics_new();
    struct sg_mfamily *f;
    struct sg_mseries *a, *b, *g;
    char   *text;

    (void) state;
    f = sg_metrics_family(m, "x_total", "Lines\nwith \\ in help.",
			  SG_MCOUNTER, 0, 0);
    a = sg_metrics_series(f, "action=\"accept\"");
    b = sg_metrics_series(f, "action=\"hold\"");
    g = sg_metrics_series(sg_metrics_family(m, "y", "A gauge.", SG_MGAUGE,
					    0, 0), 0);
    sg_mseries_add(a, 3);
    sg_mseries_add(b, 1);
    sg_mseries_add(a, 1);
    sg_mseries_set(g, 7);
    sg_mseries_add(g, -2);
    text = render(m);
    assert_string_equal(text,
			"# HELP x_total Lines\\nwith \\\\ in help.\n"
			"# TYPE x_total counter\n"
			"x_total{action=\"accept\"} 4\n"
			"x_total{action=\"hold\"} 1\n"
			"# HELP y A gauge.\n"
			"# TYPE y gauge\n"
			"y 5\n");
    free(text);
    /* NULL series (a maker that failed) cost a metric, not a crash. */
    sg_mseries_add(0, 1);
    sg_mseries_observe(0, 1.0);
    assert_int_equal(sg_mseries_get(0), 0);
    sg_metrics_free(m);
}

/* read_half - a gauge read at render time */
static double read_half(void *arg)
{
    return (*(int *) arg / 2.0);
}

/* test_gauge_fn - a gauge read when rendered, each time */
static void test_gauge_fn(void **state)
{
    struct sg_metrics *m = sg_metrics_new();
    int     v = 3;
    char   *text;

    (void) state;
    sg_metrics_gauge_fn(sg_metrics_family(m, "q", "Q.", SG_MGAUGE, 0, 0),
			"k=\"v\"", read_half, &v);
    text = render(m);
    assert_non_null(strstr(text, "\nq{k=\"v\"} 1.5\n"));
    free(text);
    v = 8;
    text = render(m);
    assert_non_null(strstr(text, "\nq{k=\"v\"} 4\n"));
    free(text);
    sg_metrics_free(m);
}

/* test_histogram - buckets cumulative, a value on a bound in its bucket */
static void test_histogram(void **state)
{
    static const double bounds[] = {0.001, 0.01, 0.1};
    struct sg_metrics *m = sg_metrics_new();
    struct sg_mseries *h;
    char   *text;

    (void) state;
    h = sg_metrics_series(sg_metrics_family(m, "rt_seconds", "Round trips.",
					    SG_MHISTOGRAM, bounds, 3), 0);
    sg_mseries_observe(h, 0.0005);
    sg_mseries_observe(h, 0.001);		/* le="0.001" includes it */
    sg_mseries_observe(h, 0.05);
    sg_mseries_observe(h, 2.5);		/* only +Inf */
    text = render(m);
    assert_string_equal(text,
			"# HELP rt_seconds Round trips.\n"
			"# TYPE rt_seconds histogram\n"
			"rt_seconds_bucket{le=\"0.001\"} 2\n"
			"rt_seconds_bucket{le=\"0.01\"} 2\n"
			"rt_seconds_bucket{le=\"0.1\"} 3\n"
			"rt_seconds_bucket{le=\"+Inf\"} 4\n"
			"rt_seconds_sum 2.5515\n"
			"rt_seconds_count 4\n");
    free(text);
    sg_metrics_free(m);
}

/* test_histogram_labels - labels come before le */
static void test_histogram_labels(void **state)
{
    static const double bounds[] = {1};
    struct sg_metrics *m = sg_metrics_new();
    struct sg_mseries *h;
    char   *text;

    (void) state;
    h = sg_metrics_series(sg_metrics_family(m, "h", "H.", SG_MHISTOGRAM,
					    bounds, 1), "op=\"begin\"");
    sg_mseries_observe(h, 0.5);
    text = render(m);
    assert_non_null(strstr(text, "h_bucket{op=\"begin\",le=\"1\"} 1\n"));
    assert_non_null(strstr(text, "h_bucket{op=\"begin\",le=\"+Inf\"} 1\n"));
    assert_non_null(strstr(text, "h_sum{op=\"begin\"} 0.5\n"));
    assert_non_null(strstr(text, "h_count{op=\"begin\"} 1\n"));
    free(text);
    /* Too many bounds: refused, not overrun. */
    assert_null(sg_metrics_family(m, "big", "B.", SG_MHISTOGRAM, bounds,
				  SG_MBUCKETS_MAX + 1));
    sg_metrics_free(m);
}

#define THREADS	4
#define EACH	100000

/* hammer - many updates from one thread */
static void *hammer(void *arg)
{
    struct sg_mseries **s = arg;
    int     i;

    for (i = 0; i < EACH; i++) {
	sg_mseries_add(s[0], 1);
	sg_mseries_observe(s[1], 0.25);
    }
    return (0);
}

/* test_threads - concurrent updates lose nothing (no locks) */
static void test_threads(void **state)
{
    static const double bounds[] = {0.1, 1};
    struct sg_metrics *m = sg_metrics_new();
    struct sg_mseries *s[2];
    pthread_t tid[THREADS];
    int     i;

    (void) state;
    s[0] = sg_metrics_series(sg_metrics_family(m, "c", "C.", SG_MCOUNTER, 0,
					       0), 0);
    s[1] = sg_metrics_series(sg_metrics_family(m, "h", "H.", SG_MHISTOGRAM,
					       bounds, 2), 0);
    for (i = 0; i < THREADS; i++)
	assert_int_equal(pthread_create(&tid[i], 0, hammer, s), 0);
    for (i = 0; i < THREADS; i++)
	pthread_join(tid[i], 0);
    assert_int_equal(sg_mseries_get(s[0]), THREADS * EACH);
    assert_int_equal(sg_mseries_get(s[1]), THREADS * EACH);
    assert_true(sg_mseries_sum(s[1]) == THREADS * EACH * 0.25);
    sg_metrics_free(m);
}

/* test_hostport - good addresses, and what must be refused */
static void test_hostport(void **state)
{
    static const char *const bad[] = {
	"", "9154", ":9154", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0",
	"127.0.0.1:65536", "127.0.0.1:99999999999", "127.0.0.1:+80",
	"127.0.0.1: 80", "127.0.0.1:80x", "::1:9154", "[::1]9154", "[::1]",
	"[]:9154", "[127.0.0.1]:9154", "host name:80", "a\nb:80",
	"evil/../x:80", "h\x01:80", 0,
    };
    struct sg_hostport hp;
    char    err[128];
    int     i;

    (void) state;
    assert_int_equal(sg_hostport_parse("127.0.0.1:9154", &hp, err,
				       sizeof(err)), 0);
    assert_string_equal(hp.host, "127.0.0.1");
    assert_int_equal(hp.port, 9154);
    assert_int_equal(sg_hostport_parse("[::1]:1", &hp, err, sizeof(err)), 0);
    assert_string_equal(hp.host, "::1");
    assert_int_equal(hp.port, 1);
    assert_int_equal(sg_hostport_parse("localhost:65535", &hp, err,
				       sizeof(err)), 0);
    assert_string_equal(hp.host, "localhost");
    assert_int_equal(hp.port, 65535);
    assert_int_equal(sg_hostport_parse("[fe80::1%eth0]:9154", &hp, err,
				       sizeof(err)), 0);
    assert_string_equal(hp.host, "fe80::1%eth0");
    for (i = 0; bad[i]; i++) {
	if (sg_hostport_parse(bad[i], &hp, err, sizeof(err)) == 0)
	    fail_msg("\"%s\" accepted", bad[i]);
	assert_true(err[0] != 0);
    }
}

/* test_config - [metrics]: defaults, values, and refusals with the line */
static void test_config(void **state)
{
    struct sg_config cfg;
    char    err[512];

    (void) state;
    sg_config_init(&cfg);
    assert_string_equal(cfg.metrics_listen, "");
    assert_string_equal(cfg.metrics_feed_listen, "");
    assert_int_equal(cfg.stats_interval, 300);
    assert_int_equal(sg_config_parse_string("t.conf", "[metrics]\n"
					    "listen = 127.0.0.1:9154\n"
					    "feed_listen = [::1]:9155\n"
					    "stats_interval = 0\n", &cfg,
					    err, sizeof(err)), 0);
    assert_string_equal(cfg.metrics_listen, "127.0.0.1:9154");
    assert_string_equal(cfg.metrics_feed_listen, "[::1]:9155");
    assert_int_equal(cfg.stats_interval, 0);
    assert_int_equal(sg_config_parse_string("t.conf", "[metrics]\n"
					    "stats_interval = 1m\n", &cfg,
					    err, sizeof(err)), 0);
    assert_int_equal(cfg.stats_interval, 60);
    assert_int_equal(sg_config_parse_string("t.conf", "[metrics]\n"
					    "\nlisten = 127.0.0.1:0\n", &cfg,
					    err, sizeof(err)), -1);
    assert_non_null(strstr(err, "t.conf:3:"));
    assert_non_null(strstr(err, "listen"));
    assert_int_equal(sg_config_parse_string("t.conf", "[metrics]\n"
					    "stats_interval = soon\n", &cfg,
					    err, sizeof(err)), -1);
    assert_non_null(strstr(err, "t.conf:2:"));
    assert_int_equal(sg_config_parse_string("t.conf", "[subguard]\n"
					    "stats_interval = 1m\n", &cfg,
					    err, sizeof(err)), -1);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_counter_gauge),
	cmocka_unit_test(test_gauge_fn),
	cmocka_unit_test(test_histogram),
	cmocka_unit_test(test_histogram_labels),
	cmocka_unit_test(test_threads),
	cmocka_unit_test(test_hostport),
	cmocka_unit_test(test_config),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
