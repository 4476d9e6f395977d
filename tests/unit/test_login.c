/*
 * NAME
 *	test_login - login normalisation and key names
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "sg_keys.h"
#include "sg_login.h"

static void test_table(void **state)
{
    static const struct {
	const char *raw;
	enum sg_case lcase;
	int     want_rc;
	const char *want;
    }       t[] = {
	{"alice@example.net", SG_CASE_LOWER, SG_LOGIN_OK, "alice@example.net"},
	{"Alice@Example.NET", SG_CASE_LOWER, SG_LOGIN_OK, "alice@example.net"},
	{"Alice@Example.NET", SG_CASE_KEEP, SG_LOGIN_OK, "Alice@Example.NET"},
	{"b.o-b_+x=y", SG_CASE_LOWER, SG_LOGIN_OK, "b.o-b_+x=y"},
	{"", SG_CASE_LOWER, SG_LOGIN_EMPTY, ""},
	{"a}b{c", SG_CASE_LOWER, SG_LOGIN_OK, "a%7Db%7Bc"},
	{"a:b", SG_CASE_LOWER, SG_LOGIN_OK, "a%3Ab"},
	{"50%", SG_CASE_LOWER, SG_LOGIN_OK, "50%25"},
	{"a b\r\n", SG_CASE_LOWER, SG_LOGIN_OK, "a%20b%0D%0A"},
	{"\"q\"'", SG_CASE_LOWER, SG_LOGIN_OK, "%22q%22%27"},
	{"caf\xc3\xa9", SG_CASE_LOWER, SG_LOGIN_OK, "caf%C3%A9"},
	{"\xff\xfe", SG_CASE_LOWER, SG_LOGIN_OK, "%FF%FE"},
	{"sha256:abc", SG_CASE_LOWER, SG_LOGIN_OK, "sha256%3Aabc"},
    };
    char    out[SG_LOGIN_MAX];
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
	assert_int_equal(sg_login_normalise(t[i].raw, t[i].lcase, out,
					    sizeof(out)), t[i].want_rc);
	assert_string_equal(out, t[i].want);
    }
    assert_int_equal(sg_login_normalise(0, SG_CASE_LOWER, out, sizeof(out)),
		     SG_LOGIN_EMPTY);
}

/* Long logins become a digest; different ones stay different. */
static void test_long(void **state)
{
    char    a[4097], b[4097], oa[SG_LOGIN_MAX], ob[SG_LOGIN_MAX];

    (void) state;
    memset(a, 'x', 4096);
    a[4096] = 0;
    memcpy(b, a, sizeof(a));
    b[4095] = 'y';
    assert_int_equal(sg_login_normalise(a, SG_CASE_LOWER, oa, sizeof(oa)),
		     SG_LOGIN_HASHED);
    assert_int_equal(sg_login_normalise(b, SG_CASE_LOWER, ob, sizeof(ob)),
		     SG_LOGIN_HASHED);
    assert_int_equal(strncmp(oa, "sha256:", 7), 0);
    assert_int_equal(strlen(oa), 7 + 64);
    assert_string_not_equal(oa, ob);
    /* Case folding applies before hashing. */
    a[0] = 'X';
    assert_int_equal(sg_login_normalise(a, SG_CASE_LOWER, ob, sizeof(ob)),
		     SG_LOGIN_HASHED);
    assert_string_equal(oa, ob);
    /* Exactly at the limit stays text; one escaped byte over does not. */
    memset(a, 'x', SG_LOGIN_KEEP);
    a[SG_LOGIN_KEEP] = 0;
    assert_int_equal(sg_login_normalise(a, SG_CASE_LOWER, oa, sizeof(oa)),
		     SG_LOGIN_OK);
    a[SG_LOGIN_KEEP - 1] = ' ';
    assert_int_equal(sg_login_normalise(a, SG_CASE_LOWER, oa, sizeof(oa)),
		     SG_LOGIN_HASHED);
}

static void test_keys_and_log(void **state)
{
    char    buf[SG_KEY_MAX], small[8];

    (void) state;
    assert_int_equal(sg_key(buf, sizeof(buf), "subguard", "bob@biz.example",
			    "tier"), 31);
    assert_string_equal(buf, "subguard:{bob@biz.example}:tier");
    assert_int_equal(sg_key(small, sizeof(small), "subguard", "x", "tier"), -1);
    assert_string_equal(sg_log_safe("a b\"c%", buf, sizeof(buf)),
			"a%20b%22c%25");
    assert_string_equal(sg_log_safe("", buf, sizeof(buf)), "-");
    assert_string_equal(sg_log_safe(0, buf, sizeof(buf)), "-");
}

/* Sendmail's xtext logins decode to what the customer typed. */
static void test_xtext(void **state)
{
    static const struct {
	const char *in;
	int     rc;
	const char *want;
    }       t[] = {
	{"first+2Btag", 0, "first+tag"},
	{"jane+20doe", 0, "jane doe"},
	{"x+3Dy", 0, "x=y"},
	{"p+28ar+29en", 0, "p(ar)en"},
	{"plain@example.net", 0, "plain@example.net"},
	{"bad+2", -1, 0},
	{"bad+ZZ", -1, 0},
	{"nul+00", -1, 0},
    };
    char    out[64];
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
	strcpy(out, "untouched");
	assert_int_equal(sg_xtext_decode(t[i].in, out, sizeof(out)), t[i].rc);
	assert_string_equal(out, t[i].want ? t[i].want : "untouched");
    }
    assert_int_equal(sg_xtext_decode("longer than four", out, 4), -1);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_table),
	cmocka_unit_test(test_long),
	cmocka_unit_test(test_keys_and_log),
	cmocka_unit_test(test_xtext),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
