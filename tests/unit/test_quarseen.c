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

/* Noted, found until its time is up, then forgotten. */
static void test_expiry(void **state)
{
    (void) state;
    memset(&q, 0, sizeof(q));
    assert_false(sg_quarseen_has(&q, "bob", 100));
    sg_quarseen_add(&q, "bob", 100);
    assert_true(sg_quarseen_has(&q, "bob", 100));
    assert_true(sg_quarseen_has(&q, "bob", 100 + SG_QUARSEEN_TTL - 1));
    assert_false(sg_quarseen_has(&q, "bob", 100 + SG_QUARSEEN_TTL));
    assert_false(sg_quarseen_has(&q, "bo", 100));
    assert_false(sg_quarseen_has(&q, "", 100));
    /* Noting again extends it. */
    sg_quarseen_add(&q, "bob", 150);
    assert_true(sg_quarseen_has(&q, "bob", 100 + SG_QUARSEEN_TTL + 5));
}

/* A begin that finds the account free clears it at once. */
static void test_clear(void **state)
{
    (void) state;
    memset(&q, 0, sizeof(q));
    sg_quarseen_add(&q, "bob", 100);
    sg_quarseen_add(&q, "alice", 100);
    sg_quarseen_clear(&q, "bob");
    assert_false(sg_quarseen_has(&q, "bob", 101));
    assert_true(sg_quarseen_has(&q, "alice", 101));
    sg_quarseen_clear(&q, "nobody");
    assert_true(sg_quarseen_has(&q, "alice", 101));
}

/* Bounded: a full table drops the entry closest to expiry. */
static void test_bounded(void **state)
{
    char    login[32];
    int     i, n;

    (void) state;
    memset(&q, 0, sizeof(q));
    /* All within one TTL, so none has expired: the table is full. */
    for (i = 0; i < SG_QUARSEEN_MAX + 10; i++) {
	snprintf(login, sizeof(login), "u%d", i);
	sg_quarseen_add(&q, login, 1000 + i / 10.0);
    }
    for (n = 0, i = 0; i < SG_QUARSEEN_MAX + 10; i++) {
	snprintf(login, sizeof(login), "u%d", i);
	n += sg_quarseen_has(&q, login, 1030);
    }
    assert_int_equal(n, SG_QUARSEEN_MAX);
    assert_false(sg_quarseen_has(&q, "u0", 1030));	/* oldest gone */
    assert_false(sg_quarseen_has(&q, "u9", 1030));
    assert_true(sg_quarseen_has(&q, "u10", 1030));
    snprintf(login, sizeof(login), "u%d", SG_QUARSEEN_MAX + 9);
    assert_true(sg_quarseen_has(&q, login, 1030));
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_expiry),
	cmocka_unit_test(test_clear),
	cmocka_unit_test(test_bounded),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
