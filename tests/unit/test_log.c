/*
 * NAME
 *	test_log 1
 * SUMMARY
 *	unit tests for daemon/sg_log: every allowed facility name maps
 * DESCRIPTION
 *	lib/'s sg_syslog_facilities[] is the one list of names the
 *	configuration accepts; sg_log_facility() gives each its LOG_*
 *	value. Each name in the list must map, to the value syslog.h gives
 *	that name, and nothing outside the list may.
 * DIAGNOSTICS
 *	Exit status 0 when every test passed, as cmocka reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <cmocka.h>

#include "sg_config.h"
#include "sg_log.h"
#include "sg_runtime.h"

/* test_every_name_maps - each allowed name has a facility, all distinct */
static void test_every_name_maps(void **state)
{
    int     seen[LOG_NFACILITIES];
    int     i;
    int     v;

    (void) state;
    memset(seen, 0, sizeof(seen));
    assert_non_null(sg_syslog_facilities[0]);
    for (i = 0; sg_syslog_facilities[i] != 0; i++) {
	v = sg_log_facility(sg_syslog_facilities[i]);
	if (v < 0)
	    fail_msg("\"%s\" does not map", sg_syslog_facilities[i]);
	assert_int_equal(v & ~LOG_FACMASK, 0);
	assert_in_range(LOG_FAC(v), 0, LOG_NFACILITIES - 1);
	if (seen[LOG_FAC(v)]++)
	    fail_msg("\"%s\" maps to a facility already taken",
		     sg_syslog_facilities[i]);
    }
}

/* test_known_values - the names mean what syslog.h says they mean */
static void test_known_values(void **state)
{
    static const struct {
	const char *name;
	int     want;
    }       cases[] = {
	{"mail", LOG_MAIL}, {"daemon", LOG_DAEMON}, {"user", LOG_USER},
	{"auth", LOG_AUTH}, {"authpriv", LOG_AUTHPRIV},
	{"local0", LOG_LOCAL0}, {"local3", LOG_LOCAL3},
	{"local7", LOG_LOCAL7},
    };
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	assert_int_equal(sg_log_facility(cases[i].name), cases[i].want);
}

/* test_unknown_names - outside the list nothing maps, not even syslog's */
static void test_unknown_names(void **state)
{
    static const char *const bad[] = {
	"local8", "Mail", "MAIL", "", "kern", "cron", "mark", "security",
	"mail ",
    };
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
	if (sg_log_facility(bad[i]) != -1)
	    fail_msg("\"%s\" maps", bad[i]);
    assert_int_equal(sg_log_facility(0), -1);
}

/* test_config_takes_the_list - every name loads, and the runtime takes it */
static void test_config_takes_the_list(void **state)
{
    static struct sg_config cfg;
    char    text[256];
    char    err[256];
    int     i;

    (void) state;
    for (i = 0; sg_syslog_facilities[i] != 0; i++) {
	/* No users to look up: only the facility is left to check. */
	snprintf(text, sizeof(text), "[subguard]\nuser =\nsocket_owner =\n"
		 "socket_group =\nsyslog_facility = %s\n",
		 sg_syslog_facilities[i]);
	if (sg_config_parse_string("t.conf", text, &cfg, err, sizeof(err)))
	    fail_msg("%s", err);
	assert_string_equal(cfg.syslog_facility, sg_syslog_facilities[i]);
	if (sg_config_check_system(&cfg, err, sizeof(err)) != 0)
	    fail_msg("%s", err);
    }
}

int     main(void)
{
    static const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_every_name_maps),
	cmocka_unit_test(test_known_values),
	cmocka_unit_test(test_unknown_names),
	cmocka_unit_test(test_config_takes_the_list),
    };

    return (cmocka_run_group_tests_name("sg_log", tests, 0, 0));
}
