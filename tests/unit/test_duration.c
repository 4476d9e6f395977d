/*
 * NAME
 *	test_duration 1
 * SUMMARY
 *	unit tests for sg_duration: milliseconds, and durations in words
 * DESCRIPTION
 *	Table-driven. sg_parse_duration() and sg_format_duration() are
 *	tested with the configuration (test_config.c), sg_human_duration()
 *	with the engine's texts (test_engine.c); here are the rest: what a
 *	customer reads as a limit's window, and the Redis timeouts' unit.
 * DIAGNOSTICS
 *	Exit status 0 when every test passed, as cmocka reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sg_duration.h"

/* test_window_words - "per hour", "per 15 minutes", never "per 1 hour" */
static void test_window_words(void **state)
{
    static const struct {
	unsigned long seconds;
	const char *want;
    }       cases[] = {
	{1, "second"}, {60, "minute"}, {3600, "hour"}, {86400, "day"},
	{604800, "week"}, {2, "2 seconds"}, {90, "90 seconds"},
	{120, "2 minutes"}, {900, "15 minutes"}, {5400, "90 minutes"},
	{7200, "2 hours"}, {129600, "36 hours"}, {172800, "2 days"},
	{1209600, "14 days"}, {315360000, "3650 days"}, {0, "0 seconds"},
    };
    char    buf[32];
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	assert_string_equal(sg_window_words(cases[i].seconds, buf,
					    sizeof(buf)), cases[i].want);

    /* A short buffer is cut, not overrun. */
    memset(buf, 'x', sizeof(buf));
    assert_string_equal(sg_window_words(900, buf, 4), "15 ");
    assert_int_equal(buf[4], 'x');
}

/* test_parse_msec - a unit is required; the cap is ten years */
static void test_parse_msec(void **state)
{
    static const struct {
	const char *text;
	int     ok;
	unsigned long msec;
    }       cases[] = {
	{"100ms", 1, 100}, {"2s", 1, 2000}, {"1m", 1, 60000},
	{"1h", 1, 3600000}, {"1d", 1, 86400000}, {"1w", 1, 604800000},
	{"0ms", 1, 0}, {"3650d", 1, 315360000000UL},
	{"3651d", 0, 0}, {"100", 0, 0}, {"", 0, 0}, {"ms", 0, 0},
	{"1 ms", 0, 0}, {"1MS", 0, 0}, {"-1ms", 0, 0}, {"1.5s", 0, 0},
	{"1us", 0, 0},
    };
    unsigned long v;
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	v = 777;
	if ((sg_parse_msec(cases[i].text, &v) == 0) != cases[i].ok)
	    fail_msg("\"%s\": want %s", cases[i].text,
		     cases[i].ok ? "ok" : "an error");
	assert_int_equal(v, cases[i].ok ? cases[i].msec : 777);
    }
    assert_int_equal(sg_parse_msec(0, &v), -1);
}

/* test_parse_number - digits only */
static void test_parse_number(void **state)
{
    unsigned long v = 5;

    (void) state;
    assert_int_equal(sg_parse_number("42", &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(sg_parse_number("18446744073709551615", &v), 0);
    assert_int_equal(sg_parse_number("18446744073709551616", &v), -1);
    assert_int_equal(sg_parse_number(" 1", &v), -1);
    assert_int_equal(sg_parse_number("+1", &v), -1);
    assert_int_equal(sg_parse_number("1x", &v), -1);
    assert_int_equal(sg_parse_number("", &v), -1);
    assert_int_equal(sg_parse_number(0, &v), -1);
    assert_int_equal(v, 18446744073709551615UL);
}

int     main(void)
{
    static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_window_words),
	cmocka_unit_test(test_parse_msec),
	cmocka_unit_test(test_parse_number),
    };

    return (cmocka_run_group_tests_name("sg_duration", tests, 0, 0));
}
