/*
 * NAME
 *	test_desk - the support desk's operations against a real Redis
 * DESCRIPTION
 *	engine.lua's index of quarantined accounts and the desk operations
 *	(lib/sg_desk.c) on a private redis-server (with-redis.sh), driven
 *	through the engine as the milter drives it:
 *	  - the lift trap: a lift by plain DEL, then a new spray, holds
 *	    again up to hold_max (the old held list counted before);
 *	  - the index heals when a quarantine key is deleted by hand;
 *	  - lift records who and why at once and the next message does not
 *	    log a second lift; quarantine by hand; a misspelt tier is
 *	    refused and Redis is not touched; the events filters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sg_config.h"
#include "sg_desk.h"
#include "sg_engine.h"
#include "sg_logparse.h"
#include "sg_redis.h"
#include "world.h"

#define T0	1763798400.0		/* 2025-11-22 08:00 UTC: on an hour */

/* setup - tiers default (3 rejected/1h quarantines) and bulk; hold_max 2 */
static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    struct sg_redis_params rp;
    char    err[256];

    assert_non_null(getenv("SG_REDIS"));
    sg_config_init(&w->cfg);
    w->cfg.ntiers = 2;
    memset(w->cfg.tiers, 0, 2 * sizeof(w->cfg.tiers[0]));
    strcpy(w->cfg.tiers[0].name, "default");
    world_windows(&w->cfg.tiers[0].recipients, "100/1h");
    world_windows(&w->cfg.tiers[0].messages, "100/1h");
    world_windows(&w->cfg.tiers[0].q_rejected, "3/1h");
    strcpy(w->cfg.tiers[1].name, "bulk");
    world_windows(&w->cfg.tiers[1].recipients, "1000/1h");
    world_windows(&w->cfg.tiers[1].messages, "1000/1h");
    world_windows(&w->cfg.tiers[1].q_failed, "3/1h");
    w->cfg.hold_max = 2;
    memset(&rp, 0, sizeof(rp));
    rp.address = getenv("SG_REDIS");
    rp.timeout_ms = 1000;
    rp.connect_timeout_ms = 1000;
    rp.log = world_quiet_log;
    assert_non_null(w->redis = sg_redis_new(&rp, err, sizeof(err)));
    w->store = sg_redis_store(w->redis);
    assert_non_null(w->eng = sg_engine_new(&w->cfg));
    world_redis(w, 0, "FLUSHALL");
    *state = w;
    return (0);
}

static int teardown(void **state)
{
    struct world *w = *state;

    sg_engine_free(w->eng);
    sg_redis_free(w->redis);
    free(w);
    return (0);
}

/* send - one message: one accepted recipient, nrej rejected by the MTA */
static enum sg_action send_msg(struct world *w, const char *login, double t,
			               int nrej, const char *qid,
			               struct sg_msg *m)
{
    char    err[256];
    enum sg_action a;
    int     i;

    a = sg_engine_begin(w->eng, &w->store, m, login, t, err, sizeof(err));
    if (a != SG_ACT_CONTINUE)
	return (a);
    for (i = 0; i < nrej; i++)
	sg_engine_rcpt_at(w->eng, &w->store, m, 1, 0, t, err, sizeof(err));
    sg_engine_rcpt_at(w->eng, &w->store, m, 0, 0, t, err, sizeof(err));
    return (sg_engine_commit(w->eng, &w->store, m, qid, 1, t, err,
			     sizeof(err)));
}

/* spray - quarantine login at t: the second message is held (newly) */
static void spray(struct world *w, const char *login, double t,
		          const char *q1, const char *q2)
{
    struct sg_msg m;

    assert_int_equal(send_msg(w, login, t, 2, q1, &m), SG_ACT_CONTINUE);
    assert_int_equal(send_msg(w, login, t + 1, 2, q2, &m), SG_ACT_HOLD);
    assert_int_equal(m.newly_quarantined, 1);
    assert_int_equal(m.held, 1);
}

/* qlist - the index, asserted to parse */
static void qlist(struct world *w, struct sg_desk_list *l)
{
    char    err[256];

    assert_int_equal(sg_desk_qlist(w->eng, &w->store, T0, 100, l, err,
				   sizeof(err)), 0);
}

/* The trap of issue 15: a lift by plain DEL, a new spray, held again. */
static void test_lift_by_del_then_hold_again(void **state)
{
    struct world *w = *state;
    struct sg_desk_list l;
    struct sg_msg m;

    spray(w, "eve", T0, "Q1", "Q2");
    assert_string_equal(world_redis(w, 1, "ZRANGE subguard:quarantined 0 -1 WITHSCORES"),
			"1763798401");
    assert_int_equal(send_msg(w, "eve", T0 + 2, 0, "Q3", &m), SG_ACT_HOLD);
    assert_int_equal(send_msg(w, "eve", T0 + 3, 0, "Q4", &m),
		     SG_ACT_QUARANTINE_REFUSE);		/* hold_max 2 */
    qlist(w, &l);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.e[0].login, "eve");
    assert_int_equal(l.e[0].since, (unsigned long) T0 + 1);
    assert_int_equal(l.e[0].held, 2);
    assert_string_equal(l.e[0].by, "subguard");
    assert_non_null(strstr(l.e[0].reason, "rejected by the MTA"));
    sg_desk_list_free(&l);

    /* Support's documented baseline: redis-cli DEL. The index heals. */
    world_redis(w, 0, "DEL subguard:{eve}:quarantine");
    qlist(w, &l);
    assert_int_equal(l.n, 0);
    assert_int_equal(l.healed, 1);
    sg_desk_list_free(&l);
    assert_string_equal(world_redis(w, 0, "ZCARD subguard:quarantined"), "0");

    /* A new spray within the held list's 30 days: held again, twice. */
    spray(w, "eve", T0 + 10, "Q5", "Q6");
    assert_string_equal(world_redis(w, 0, "LRANGE subguard:{eve}:held 0 -1"), "Q6");
    assert_int_equal(send_msg(w, "eve", T0 + 12, 0, "Q7", &m), SG_ACT_HOLD);
    assert_int_equal(m.held, 2);
    qlist(w, &l);
    assert_int_equal(l.n, 1);
    assert_int_equal(l.e[0].since, (unsigned long) T0 + 11);
    sg_desk_list_free(&l);
}

/* A lift seen by the next message (plain DEL) empties the held list. */
static void test_lift_seen_drops_index_and_held(void **state)
{
    struct world *w = *state;
    struct sg_msg m;

    spray(w, "fay", T0, "Q1", "Q2");
    world_redis(w, 0, "DEL subguard:{fay}:quarantine");
    assert_int_equal(send_msg(w, "fay", T0 + 5, 0, "Q3", &m), SG_ACT_CONTINUE);
    assert_int_equal(m.seen.what, SG_SEEN_LIFT);
    assert_string_equal(world_redis(w, 0, "EXISTS subguard:{fay}:held"), "0");
    assert_string_equal(world_redis(w, 0, "ZCARD subguard:quarantined"), "0");

    /* The README's manual quarantine, redis-cli HSET: indexed when the
     * account next sends, under its since. */
    world_redis(w, 0, "HSET subguard:{fay}:quarantine reason manual since 1763798000 by support");
    assert_int_equal(send_msg(w, "fay", T0 + 6, 0, "Q4", &m), SG_ACT_HOLD);
    assert_string_equal(world_redis(w, 1, "ZRANGE subguard:quarantined 0 -1 WITHSCORES"),
			"1763798000");
}

/* lift: who and why at once, the held ids, no second lift logged later. */
static void test_desk_lift(void **state)
{
    struct world *w = *state;
    struct sg_desk_lift lift;
    struct sg_desk_events ev;
    struct sg_msg m;
    char    err[256];

    spray(w, "gus", T0, "Q1", "Q2");
    assert_int_equal(sg_desk_lift(w->eng, &w->store, "gus", "anna",
				  "customer cleaned the PC", T0 + 60, &lift,
				  err, sizeof(err)), 0);
    assert_int_equal(lift.lifted, 1);
    assert_string_equal(lift.held, "Q2");
    assert_non_null(strstr(lift.reason, "rejected by the MTA"));
    assert_string_equal(world_redis(w, 0, "EXISTS subguard:{gus}:quarantine"), "0");
    assert_string_equal(world_redis(w, 0, "EXISTS subguard:{gus}:held"), "0");
    assert_string_equal(world_redis(w, 0, "ZCARD subguard:quarantined"), "0");
    /* Windows start afresh, totals stay. */
    assert_string_equal(world_redis(w, 0, "HGET subguard:{gus}:counters rejected"), "4");
    assert_string_equal(world_redis(w, 0, "HEXISTS subguard:{gus}:counters q"), "0");

    assert_int_equal(sg_desk_events(w->eng, &w->store, 0, "gus", "lift", 10,
				    &ev, err, sizeof(err)), 0);
    assert_int_equal(ev.n, 1);
    assert_string_equal(sg_desk_event_field(ev.ev, "by"), "anna");
    assert_string_equal(sg_desk_event_field(ev.ev, "why"),
			"customer cleaned the PC");
    assert_string_equal(sg_desk_event_field(ev.ev, "held"), "Q2");
    sg_desk_events_free(&ev);

    /* The next message is plain: no second lift, counted from zero. */
    assert_int_equal(send_msg(w, "gus", T0 + 61, 2, "Q3", &m), SG_ACT_CONTINUE);
    assert_int_equal(m.seen.what, SG_SEEN_NONE);
    assert_int_equal(sg_desk_events(w->eng, &w->store, 0, "gus", "lift", 10,
				    &ev, err, sizeof(err)), 0);
    assert_int_equal(ev.n, 1);
    sg_desk_events_free(&ev);

    /* Nothing to lift: 1, and no event. */
    assert_int_equal(sg_desk_lift(w->eng, &w->store, "gus", "anna", "again",
				  T0 + 62, &lift, err, sizeof(err)), 1);
}

/* quarantine by hand; a misspelt tier is refused without touching Redis. */
static void test_desk_quarantine_and_tier(void **state)
{
    struct world *w = *state;
    struct sg_desk_list l;
    struct sg_desk_events ev;
    struct sg_msg m;
    char    err[256], reason[256], old[64];

    assert_int_equal(sg_desk_quarantine(w->eng, &w->store, "hal", "abuse-bob",
					"complaint #4711", T0, reason,
					sizeof(reason), err, sizeof(err)), 0);
    assert_int_equal(sg_desk_quarantine(w->eng, &w->store, "hal", "x", "y",
					T0 + 1, reason, sizeof(reason), err,
					sizeof(err)), 1);
    assert_string_equal(reason, "complaint #4711");
    qlist(w, &l);
    assert_int_equal(l.n, 1);
    assert_string_equal(l.e[0].by, "abuse-bob");
    assert_string_equal(l.e[0].source, "desk");
    sg_desk_list_free(&l);
    assert_int_equal(send_msg(w, "hal", T0 + 2, 0, "H1", &m), SG_ACT_HOLD);

    assert_int_equal(sg_desk_settier(w->eng, &w->store, "hal", "bulkk", "bob",
				     T0, old, sizeof(old), err, sizeof(err)), 1);
    assert_non_null(strstr(err, "\"bulkk\""));
    assert_non_null(strstr(err, "default bulk"));
    assert_string_equal(world_redis(w, 0, "EXISTS subguard:{hal}:tier"), "0");
    assert_int_equal(sg_desk_settier(w->eng, &w->store, "hal", "bulk", "bob",
				     T0, old, sizeof(old), err, sizeof(err)), 0);
    assert_string_equal(world_redis(w, 0, "GET subguard:{hal}:tier"), "bulk");
    assert_int_equal(sg_desk_settier(w->eng, &w->store, "hal", "", "bob",
				     T0, old, sizeof(old), err, sizeof(err)), 0);
    assert_string_equal(old, "bulk");
    assert_string_equal(world_redis(w, 0, "EXISTS subguard:{hal}:tier"), "0");
    assert_int_equal(sg_desk_events(w->eng, &w->store, 0, "", "tier", 10,
				    &ev, err, sizeof(err)), 0);
    assert_int_equal(ev.n, 2);
    assert_string_equal(sg_desk_event_field(ev.ev, "from"), "bulk");
    assert_string_equal(sg_desk_event_field(ev.ev + 1, "to"), "bulk");
    sg_desk_events_free(&ev);
}

/* The feed's outcome starts a quarantine: indexed, stale held list gone. */
static void test_outcome_indexes(void **state)
{
    struct world *w = *state;
    struct sg_outcome out;
    struct sg_msg m;
    char    err[256], qid[8], rcpt[32];
    int     i;

    world_redis(w, 0, "SET subguard:{ida}:tier bulk");
    /* A held list left by a lift the engine never saw (counters gone). */
    world_redis(w, 0, "RPUSH subguard:{ida}:held OLD1 OLD2");
    for (i = 1; i <= 4; i++) {
	snprintf(qid, sizeof(qid), "B%d", i);
	assert_int_equal(send_msg(w, "ida", T0 + i, 0, qid, &m),
			 SG_ACT_CONTINUE);
    }
    for (i = 1; i <= 4; i++) {
	snprintf(qid, sizeof(qid), "B%d", i);
	snprintf(rcpt, sizeof(rcpt), "gone%d@remote.example", i);
	assert_int_equal(sg_engine_outcome(w->eng, &w->store, qid, rcpt,
					   SG_DSN_MAILBOX, 1, T0 + 10 + i, 0,
					   0, &out, err, sizeof(err)), 1);
    }
    assert_int_equal(out.newly_quarantined, 1);
    assert_string_equal(world_redis(w, 1, "ZRANGE subguard:quarantined 0 -1 WITHSCORES"),
			"1763798414");
    assert_string_equal(world_redis(w, 0, "EXISTS subguard:{ida}:held"), "0");
    assert_int_equal(send_msg(w, "ida", T0 + 20, 0, "B5", &m), SG_ACT_HOLD);
    assert_int_equal(m.held, 1);
}

/* scan: every account with its nearest limit, in steps, to cursor 0. */
static void test_scan_nearest(void **state)
{
    struct world *w = *state;
    struct sg_desk_near *v;
    struct sg_msg m;
    char    cursor[32] = "0", err[256], login[16];
    int     i, n, steps = 0, seen = 0, found = 0;

    for (i = 0; i < 30; i++) {
	snprintf(login, sizeof(login), "u%02d", i);
	assert_int_equal(send_msg(w, login, T0, 0, "S", &m), SG_ACT_CONTINUE);
    }
    world_redis(w, 0, "HSET subguard:{u07}:counters r3600 90");
    do {
	assert_int_equal(sg_desk_scan(w->eng, &w->store, T0 + 1, cursor,
				      sizeof(cursor), 5, &v, &n, err,
				      sizeof(err)), 0);
	for (i = 0; i < n; i++) {
	    seen++;
	    if (strcmp(v[i].login, "u07") == 0) {
		found++;
		assert_string_equal(v[i].what, "90 of 100 recipients in 1h");
		assert_true(v[i].ratio > 0.89 && v[i].ratio < 0.91);
	    } else
		assert_string_equal(v[i].what, "1 of 100 messages in 1h");
	}
	free(v);
	steps++;
    } while (strcmp(cursor, "0") != 0);
    assert_int_equal(seen, 30);
    assert_int_equal(found, 1);
    assert_true(steps > 1);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(test_lift_by_del_then_hold_again,
					setup, teardown),
	cmocka_unit_test_setup_teardown(test_lift_seen_drops_index_and_held,
					setup, teardown),
	cmocka_unit_test_setup_teardown(test_desk_lift, setup, teardown),
	cmocka_unit_test_setup_teardown(test_outcome_indexes, setup, teardown),
	cmocka_unit_test_setup_teardown(test_scan_nearest, setup, teardown),
	cmocka_unit_test_setup_teardown(test_desk_quarantine_and_tier, setup,
					teardown),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
