/*
 * NAME
 *	test_desk - lib/sg_desk.c's parsing of the desk operations' replies
 * DESCRIPTION
 *	Replies as engine.lua gives them, and malformed or hostile ones (a
 *	count larger than what follows, a field count that runs past the
 *	end, junk numbers): each is refused with an error, nothing read past
 *	the reply. A misspelt tier is refused with the list of names.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sg_desk.h"

/* reply - a heap copy of n strings, as a store gives them */
static struct sg_reply reply(int n, const char *const *v)
{
    struct sg_reply r;
    int     i;

    r.n = n;
    r.v = calloc(n + 1, sizeof(char *));
    for (i = 0; i < n; i++)
	r.v[i] = strdup(v[i]);
    return (r);
}

#define REPLY(...) \
    reply(sizeof((const char *[]){__VA_ARGS__}) / sizeof(char *), \
	  (const char *[]){__VA_ARGS__})

static void test_qlist(void **state)
{
    struct sg_reply r = REPLY("2", "1",
			      "eve", "1763798401", "4 recipients rejected",
			      "subguard", "submission", "2",
			      "hal", "1763798300", "complaint", "anna", "desk",
			      "0");
    struct sg_desk_list l;
    char    err[256];

    (void) state;
    assert_int_equal(sg_desk_parse_qlist(&r, &l, err, sizeof(err)), 0);
    assert_int_equal(l.n, 2);
    assert_int_equal(l.healed, 1);
    assert_string_equal(l.e[0].login, "eve");
    assert_int_equal(l.e[0].since, 1763798401);
    assert_int_equal(l.e[0].held, 2);
    assert_string_equal(l.e[1].by, "anna");
    assert_string_equal(l.e[1].source, "desk");
    sg_desk_list_free(&l);
    sg_reply_free(&r);
}

static void test_qlist_malformed(void **state)
{
    static const char *const counts[] = {"3", "-1", "x", "99999999999", ""};
    struct sg_reply r;
    struct sg_desk_list l;
    char    err[256];
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
	r = REPLY(counts[i], "0", "eve", "1", "r", "b", "s", "0");
	err[0] = 0;
	assert_int_equal(sg_desk_parse_qlist(&r, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "malformed"));
	assert_int_equal(l.n, 0);
	sg_reply_free(&r);
    }
    r = REPLY("0");
    assert_int_equal(sg_desk_parse_qlist(&r, &l, err, sizeof(err)), -1);
    sg_reply_free(&r);
}

static void test_events(void **state)
{
    struct sg_reply r = REPLY("2",
			      "2-0", "3", "time", "20", "event", "lift",
			      "by", "anna",
			      "1-0", "2", "time", "10", "event", "quarantine");
    struct sg_desk_events ev;
    char    err[256];

    (void) state;
    assert_int_equal(sg_desk_parse_events(&r, &ev, err, sizeof(err)), 0);
    assert_int_equal(r.n, 0);			/* taken over */
    assert_int_equal(ev.n, 2);
    assert_string_equal(ev.ev[0].id, "2-0");
    assert_string_equal(sg_desk_event_field(ev.ev, "by"), "anna");
    assert_string_equal(sg_desk_event_field(ev.ev + 1, "event"), "quarantine");
    assert_string_equal(sg_desk_event_field(ev.ev + 1, "by"), "");
    sg_desk_events_free(&ev);
}

static void test_events_malformed(void **state)
{
    struct sg_reply bad[] = {
	REPLY("1", "1-0", "3", "time", "10"),		/* fields past the end */
	REPLY("2", "1-0", "1", "time", "10"),		/* entries missing */
	REPLY("1", "1-0", "1", "time", "10", "x"),	/* left over */
	REPLY("1", "1-0", "-1", "time", "10"),
	REPLY("1000000", "1-0"),
    };
    struct sg_desk_events ev;
    char    err[256];
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
	assert_int_equal(sg_desk_parse_events(bad + i, &ev, err, sizeof(err)),
			 -1);
	assert_non_null(strstr(err, "malformed"));
	assert_int_equal(ev.n, 0);
    }
}

static void test_scan(void **state)
{
    struct sg_reply r = REPLY("17", "2",
			      "eve", "default", "0.9000", "45 of 50 recipients in 1h",
			      "bob", "bulk", "0.1000", "score 0.69 of bound 6.90");
    struct sg_reply bad = REPLY("1x", "0");
    struct sg_reply short_ = REPLY("0", "1", "eve", "default", "0.9");
    struct sg_desk_near *v;
    char    cursor[32], err[256];
    int     n;

    (void) state;
    assert_int_equal(sg_desk_parse_scan(&r, cursor, sizeof(cursor), &v, &n,
					err, sizeof(err)), 0);
    assert_string_equal(cursor, "17");
    assert_int_equal(n, 2);
    assert_string_equal(v[0].login, "eve");
    assert_true(v[0].ratio > 0.89 && v[0].ratio < 0.91);
    assert_string_equal(v[1].what, "score 0.69 of bound 6.90");
    free(v);
    assert_int_equal(sg_desk_parse_scan(&bad, cursor, sizeof(cursor), &v, &n,
					err, sizeof(err)), -1);
    assert_int_equal(sg_desk_parse_scan(&short_, cursor, sizeof(cursor), &v,
					&n, err, sizeof(err)), -1);
    assert_int_equal(n, 0);
    sg_reply_free(&r);
    sg_reply_free(&bad);
    sg_reply_free(&short_);
}

static void test_tier_check(void **state)
{
    struct sg_config cfg;
    char    err[256];

    (void) state;
    sg_config_init(&cfg);
    cfg.ntiers = 2;
    strcpy(cfg.tiers[0].name, "default");
    strcpy(cfg.tiers[1].name, "business");
    assert_int_equal(sg_desk_tier_check(&cfg, "business", err, sizeof(err)), 0);
    assert_int_equal(sg_desk_tier_check(&cfg, "bussiness", err, sizeof(err)), 1);
    assert_string_equal(err, "no tier named \"bussiness\"; the tiers are: "
			"default business");
    assert_int_equal(sg_desk_tier_check(&cfg, "", err, sizeof(err)), 1);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_qlist),
	cmocka_unit_test(test_qlist_malformed),
	cmocka_unit_test(test_events),
	cmocka_unit_test(test_events_malformed),
	cmocka_unit_test(test_scan),
	cmocka_unit_test(test_tier_check),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
