/*
 * NAME
 *	test_net - client addresses into networks, hostile input included
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "sg_net.h"

static const struct {
    const char *addr;
    int     want_rc;
    const char *want_key;
    const char *want_text;
}       cases[] = {
    {"192.0.2.7", 0, "c00002", "192.0.2.0/24"},
    {"192.0.2.255", 0, "c00002", "192.0.2.0/24"},	/* same /24 */
    {"192.0.3.1", 0, "c00003", "192.0.3.0/24"},
    {"[10.1.2.3]", 0, "0a0102", "10.1.2.0/24"},
    {"2001:db8:1:2::1", 0, "20010db80001", "2001:db8:1::/48"},
    {"2001:db8:1:ffff::9", 0, "20010db80001", "2001:db8:1::/48"},
    {"IPv6:2001:db8::1", 0, "20010db80000", "2001:db8:0::/48"},
    {"[IPv6:2001:db8::1]", -1, "", ""},	/* brackets outside only */
    {"::ffff:192.0.2.7", 0, "c00002", "192.0.2.0/24"},	/* mapped */
    {"::1", 0, "000000000000", "0:0:0::/48"},
    {"", -1, "", ""},
    {"unknown", -1, "", ""},
    {"/run/sock", -1, "", ""},
    {"192.0.2", -1, "", ""},
    {"192.0.2.256", -1, "", ""},
    {"192.0.2.7 ", -1, "", ""},
    {"192.0.2.7\n", -1, "", ""},
    {"1.2.3.4:25", -1, "", ""},
    {"[]", -1, "", ""},
    {"[", -1, "", ""},
    {"2001:db8::1%eth0", -1, "", ""},
    {"fe80::1:2:3:4:5:6:7:8", -1, "", ""},
};

static void test_cases(void **state)
{
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	char    key[SG_NET_KEY_MAX], text[SG_NET_TEXT_MAX];

	assert_int_equal(sg_net_key(cases[i].addr, key, text, sizeof(text)),
			 cases[i].want_rc);
	assert_string_equal(key, cases[i].want_key);
	assert_string_equal(text, cases[i].want_text);
	/* And back: the key gives the same text. */
	if (cases[i].want_rc == 0) {
	    char    back[SG_NET_TEXT_MAX];

	    assert_int_equal(sg_net_text(key, back, sizeof(back)), 0);
	    assert_string_equal(back, cases[i].want_text);
	}
    }
}

/* A key read back from Redis is input too: only what sg_net_key writes. */
static void test_text_hostile(void **state)
{
    static const char *bad[] = {"", "c0000", "c000021", "C00002", "c0000g",
	"c00002 ", "-c0000", "20010db8000", "20010db800010", "0x0002",
    "c00002\n"};
    char    text[SG_NET_TEXT_MAX], small[4];
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
	strcpy(text, "x");
	assert_int_equal(sg_net_text(bad[i], text, sizeof(text)), -1);
	assert_string_equal(text, "");
    }
    assert_int_equal(sg_net_text("ffffff", text, sizeof(text)), 0);
    assert_string_equal(text, "255.255.255.0/24");
    assert_int_equal(sg_net_text("c00002", small, sizeof(small)), 0);
    assert_string_equal(small, "192");
}

/* Long, null and unterminated-looking input: no overflow, a clean -1. */
static void test_hostile(void **state)
{
    char    big[4096], key[SG_NET_KEY_MAX], small[4];

    (void) state;
    memset(big, '1', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    assert_int_equal(sg_net_key(big, key, 0, 0), -1);
    assert_string_equal(key, "");
    assert_int_equal(sg_net_key(0, key, 0, 0), -1);
    memcpy(big, "[192.0.2.1", 10);
    assert_int_equal(sg_net_key(big, key, 0, 0), -1);
    /* A short text buffer is cut, the key is whole. */
    assert_int_equal(sg_net_key("192.0.2.1", key, small, sizeof(small)), 0);
    assert_string_equal(key, "c00002");
    assert_string_equal(small, "192");
    /* Keys never hold a separator the profile uses. */
    assert_int_equal(sg_net_key("2001:db8:ab:cd::", key, 0, 0), 0);
    assert_null(strpbrk(key, " ,:;"));
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_cases),
	cmocka_unit_test(test_hostile),
	cmocka_unit_test(test_text_hostile),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
