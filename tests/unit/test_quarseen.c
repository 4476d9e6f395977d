/*
 * NAME
 *	test_quarseen - the node-local set of logins learned quarantined
 * DESCRIPTION
 *	Entries are found, expire after SG_QUARSEEN_TTL, are cleared by
 *	name, and a full table keeps the newest (the oldest gives way).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sg_quarseen.h"

static struct sg_quarseen q;

#define TTL 7260.0			/* milter_timeout 2h and a minute */

/* Noted, found until its time is up, then forgotten. */
static void test_expiry(void **state)
{
    (void) state;
    memset(&q, 0, sizeof(q));
    assert_false(sg_quarseen_has(&q, "bob", 100));
    sg_quarseen_add(&q, "bob", 100, TTL);
    assert_true(sg_quarseen_has(&q, "bob", 100));
    /* A message begun before the quarantine may end up to 2h later. */
    assert_true(sg_quarseen_has(&q, "bob", 100 + TTL - 1));
    assert_false(sg_quarseen_has(&q, "bob", 100 + TTL));
    assert_false(sg_quarseen_has(&q, "bo", 100));
    assert_false(sg_quarseen_has(&q, "", 100));
    /* Noting again extends it. */
    sg_quarseen_add(&q, "bob", 150, TTL);
    assert_true(sg_quarseen_has(&q, "bob", 100 + TTL + 5));
}

/* A begin sent after the note, finding the account free, clears it. */
static void test_clear(void **state)
{
    (void) state;
    memset(&q, 0, sizeof(q));
    sg_quarseen_add(&q, "bob", 100, TTL);
    sg_quarseen_add(&q, "alice", 100, TTL);
    sg_quarseen_clear(&q, "bob", 101);
    assert_false(sg_quarseen_has(&q, "bob", 102));
    assert_true(sg_quarseen_has(&q, "alice", 102));
    sg_quarseen_clear(&q, "nobody", 101);
    assert_true(sg_quarseen_has(&q, "alice", 102));
}

/*
 * The race: a begin that ran in Redis before the quarantine answers
 * "free" after the node noted it. It was sent before the note: it must
 * not clear it (else messages in flight would be deferred and delivered).
 */
static void test_stale_begin(void **state)
{
    (void) state;
    memset(&q, 0, sizeof(q));
    sg_quarseen_add(&q, "mallory", 200, TTL);
    sg_quarseen_clear(&q, "mallory", 199.5);	/* sent before the note */
    assert_true(sg_quarseen_has(&q, "mallory", 201));
    sg_quarseen_clear(&q, "mallory", 200);	/* same instant: still stale */
    assert_true(sg_quarseen_has(&q, "mallory", 201));
    sg_quarseen_clear(&q, "mallory", 300);	/* sent after: a real lift */
    assert_false(sg_quarseen_has(&q, "mallory", 301));
}

/* Full: nobody is forgotten early; every login counts until it eases. */
static void test_full_fails_safe(void **state)
{
    char    login[32];
    int     i, n;

    (void) state;
    memset(&q, 0, sizeof(q));
    for (i = 0; i < SG_QUARSEEN_MAX + 10; i++) {
	snprintf(login, sizeof(login), "u%d", i);
	sg_quarseen_add(&q, login, 1000 + i / 10.0, TTL);
    }
    for (n = 0, i = 0; i < SG_QUARSEEN_MAX + 10; i++) {
	snprintf(login, sizeof(login), "u%d", i);
	n += sg_quarseen_has(&q, login, 1030);
    }
    assert_int_equal(n, SG_QUARSEEN_MAX + 10);	/* u0 not dropped */
    assert_true(sg_quarseen_has(&q, "u0", 1030));
    assert_true(sg_quarseen_has(&q, "someone-else", 1030));	/* fail safe */
    /* Once every entry has run out, the table is free again. */
    assert_false(sg_quarseen_has(&q, "someone-else", 1040 + TTL));
    sg_quarseen_add(&q, "late", 1040 + TTL, TTL);
    assert_true(sg_quarseen_has(&q, "late", 1041 + TTL));
    assert_false(sg_quarseen_has(&q, "u0", 1041 + TTL));
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_expiry),
	cmocka_unit_test(test_clear),
	cmocka_unit_test(test_stale_begin),
	cmocka_unit_test(test_full_fails_safe),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
