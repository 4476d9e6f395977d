/*
 * NAME
 *	test_keys - the Redis key schema of lib/sg_keys.c
 * DESCRIPTION
 *	Every key subguard uses, spelled out once here as support staff
 *	type them (README.md, subguard.conf(5)), table-driven; and keys that
 *	do not fit are refused, never cut short silently.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "sg_keys.h"

/* The account keys, in the order subguard -k prints them. */
static void test_account_keys(void **state)
{
    static const struct {
	enum sg_account_key k;
	const char *suffix;
	const char *want;
    }       t[] = {
	{SG_AKEY_TIER, "tier", "subguard:{bob@biz.example}:tier"},
	{SG_AKEY_QUARANTINE, "quarantine",
	"subguard:{bob@biz.example}:quarantine"},
	{SG_AKEY_HELD, "held", "subguard:{bob@biz.example}:held"},
	{SG_AKEY_COUNTERS, "counters", "subguard:{bob@biz.example}:counters"},
	{SG_AKEY_RESV, "resv", "subguard:{bob@biz.example}:resv"},
    };
    char    buf[SG_KEY_MAX];
    size_t  i;

    (void) state;
    assert_int_equal(sizeof(t) / sizeof(t[0]), SG_AKEY_COUNT);
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
	assert_int_equal(t[i].k, (int) i);
	assert_string_equal(sg_account_key_suffix(t[i].k), t[i].suffix);
	assert_int_equal(sg_account_key(buf, sizeof(buf), "subguard",
					"bob@biz.example", t[i].k),
			 (int) strlen(t[i].want));
	assert_string_equal(buf, t[i].want);
    }
    assert_string_equal(sg_account_key_suffix(SG_AKEY_COUNT), "");
    assert_int_equal(sg_account_key(buf, sizeof(buf), "p", "x", SG_AKEY_COUNT),
		     -1);
}

/* The keys not of an account, and a prefix of one's own. */
static void test_other_keys(void **state)
{
    char    buf[SG_KEY_MAX];

    (void) state;
    assert_int_equal(sg_key_qid(buf, sizeof(buf), "subguard", "4XyZ1"), 18);
    assert_string_equal(buf, "subguard:qid:4XyZ1");
    assert_int_equal(sg_key_feed(buf, sizeof(buf), "sg2", "mx1"), 12);
    assert_string_equal(buf, "sg2:feed:mx1");
    assert_int_equal(sg_key_events(buf, sizeof(buf), "subguard"), 15);
    assert_string_equal(buf, "subguard:events");
    assert_int_equal(sg_key(buf, sizeof(buf), "sg2", "a", "other"), 13);
    assert_string_equal(buf, "sg2:{a}:other");
}

/* A key that does not fit is an error (the caller refuses the call). */
static void test_too_long(void **state)
{
    char    small[12];

    (void) state;
    assert_int_equal(sg_account_key(small, sizeof(small), "subguard", "x",
				    SG_AKEY_TIER), -1);
    assert_int_equal(sg_key_qid(small, sizeof(small), "subguard", "Q"), -1);
    assert_int_equal(sg_key_feed(small, sizeof(small), "subguard", "f"), -1);
    assert_int_equal(sg_key_events(small, sizeof(small), "subguard"), -1);
    assert_int_equal(sg_key_events(small, sizeof(small), "sg"), 9);
}

/* Postfix short queue ids are told from long ones and Sendmail's. */
static void test_qid_short(void **state)
{
    (void) state;
    assert_true(sg_qid_short("3F2A1C0B7D"));
    assert_true(sg_qid_short("4BCD1"));
    assert_false(sg_qid_short("4Xs1Jc0sHkz1Qn"));	/* long */
    assert_false(sg_qid_short("3kK2Bq6WnTz5xm"));
    assert_false(sg_qid_short("4B1JxYZk012345"));	/* Sendmail */
    assert_false(sg_qid_short(""));
    assert_false(sg_qid_short("abc123"));
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_qid_short),
	cmocka_unit_test(test_account_keys),
	cmocka_unit_test(test_other_keys),
	cmocka_unit_test(test_too_long),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
