/*
 * NAME
 *	test_store - the engine and engine.lua against a real Redis
 * DESCRIPTION
 *	Run through with-redis.sh, which starts a private redis-server and
 *	sets SG_REDIS. Every test passes time in; nothing sleeps. Two engines
 *	with separate connection pools stand for two MTA nodes.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <cmocka.h>

#include "sg_config.h"
#include "sg_engine.h"
#include "sg_logparse.h"
#include "sg_redis.h"
#include "world.h"

#define T0	1763798400.0		/* 2025-11-22 08:00 UTC: on an hour */

/* world_new - one node: a config with tiers "default" and "bulk" */
static struct world *world_new(const char *def_rcpts, const char *def_msgs,
			               const char *q_rej, const char *q_rcpts)
{
    struct world *w = calloc(1, sizeof(*w));
    struct sg_redis_params rp;
    char    err[256];
    const char *addr = getenv("SG_REDIS");

    assert_non_null(addr);
    sg_config_init(&w->cfg);
    w->cfg.ntiers = 2;
    memset(w->cfg.tiers, 0, 2 * sizeof(w->cfg.tiers[0]));
    strcpy(w->cfg.tiers[0].name, "default");
    world_windows(&w->cfg.tiers[0].recipients, def_rcpts);
    world_windows(&w->cfg.tiers[0].messages, def_msgs);
    world_windows(&w->cfg.tiers[0].q_rejected, q_rej);
    world_windows(&w->cfg.tiers[0].q_recipients, q_rcpts);
    strcpy(w->cfg.tiers[1].name, "bulk");
    world_windows(&w->cfg.tiers[1].recipients, "1000/1h");
    world_windows(&w->cfg.tiers[1].messages, "1000/1h");
    world_windows(&w->cfg.tiers[1].q_rejected, "500/1h");
    w->cfg.hold_max = 2;
    memset(&rp, 0, sizeof(rp));
    rp.address = addr;
    rp.timeout_ms = 1000;
    rp.connect_timeout_ms = 1000;
    rp.log = world_quiet_log;
    w->redis = sg_redis_new(&rp, err, sizeof(err));
    assert_non_null(w->redis);
    w->store = sg_redis_store(w->redis);
    w->eng = sg_engine_new(&w->cfg);
    assert_non_null(w->eng);
    return (w);
}

static void world_free(struct world *w)
{
    sg_engine_free(w->eng);
    sg_redis_free(w->redis);
    free(w);
}

/* send - one message of n recipients, nrej of them rejected by the MTA */
static enum sg_action send_msg(struct world *w, const char *login, double t,
			               int n, int nrej, const char *qid,
			               int *tempfailed)
{
    struct sg_msg m;
    char    err[256];
    enum sg_action a;
    int     i;

    *tempfailed = 0;
    a = sg_engine_begin(w->eng, &w->store, &m, login, t, err, sizeof(err));
    if (a != SG_ACT_CONTINUE)
	return (a);
    for (i = 0; i < nrej; i++)
	assert_int_equal(sg_engine_rcpt_at(w->eng, &w->store, &m, 1, 0, t, err,
					   sizeof(err)), SG_ACT_CONTINUE);
    for (i = 0; i < n; i++)
	if (sg_engine_rcpt_at(w->eng, &w->store, &m, 0, 0, t, err,
			      sizeof(err)) == SG_ACT_TEMPFAIL)
	    (*tempfailed)++;
    return (sg_engine_commit(w->eng, &w->store, &m, qid, 1, t, err,
			     sizeof(err)));
}

static int setup(void **state)
{
    struct world *w = world_new("3/1h", "100/1h", "3/1h", "50/1d");

    world_redis(w, 0, "FLUSHALL");
    *state = w;
    return (0);
}

static int teardown(void **state)
{
    world_free(*state);
    return (0);
}

/* A login gets its budget, the recipient past it is tempfailed, alone. */
static void test_recipient_limit(void **state)
{
    struct world *w = *state;
    struct sg_msg m;
    char    err[256], text[512];
    int     i;

    assert_int_equal(sg_engine_begin(w->eng, &w->store, &m, "Alice@Example.NET",
				     T0 + 100, err, sizeof(err)),
		     SG_ACT_CONTINUE);
    assert_string_equal(m.login, "alice@example.net");
    assert_string_equal(m.tier, "default");
    assert_int_equal(m.budget, 3);
    for (i = 0; i < 3; i++)
	assert_int_equal(sg_engine_rcpt(&m, 0, 0), SG_ACT_CONTINUE);
    assert_int_equal(sg_engine_rcpt(&m, 0, 0), SG_ACT_TEMPFAIL);
    assert_int_equal(m.limit, SG_LIMIT_RECIPIENTS);
    sg_engine_text(w->eng, &m, SG_ACT_TEMPFAIL, text, sizeof(text));
    assert_non_null(strstr(text, "limit of 3 recipients per hour"));
    assert_int_equal(sg_engine_commit(w->eng, &w->store, &m, "QID1", 1,
				      T0 + 100, err, sizeof(err)),
		     SG_ACT_CONTINUE);
    assert_string_equal(world_redis(w, 0, "HGET subguard:{alice@example.net}:counters rcpts"), "3");
    assert_string_equal(world_redis(w, 0, "HGET subguard:{alice@example.net}:counters refused"), "1");
    assert_string_equal(world_redis(w, 0, "GET subguard:qid:QID1"), "alice@example.net 1763798500 3");

    /* The next message has no room; the retry time is the window's. */
    assert_int_equal(sg_engine_begin(w->eng, &w->store, &m, "alice@example.net",
				     T0 + 200, err, sizeof(err)),
		     SG_ACT_CONTINUE);
    assert_int_equal(m.budget, 0);
    assert_int_equal(m.rcpt_limit, 3);
    assert_int_equal(m.rcpt_secs, 3600);
    /* cur 3 of 3: the estimate drops to 2 a third into the next hour. */
    assert_in_range(m.rcpt_retry, 3400 + 1190, 3400 + 1210);
}

/* The window slides: half an hour into the next bucket half the old counts. */
static void test_sliding_window(void **state)
{
    struct world *w = *state;
    struct sg_msg m;
    char    err[256];
    int     tf;

    assert_int_equal(send_msg(w, "bob", T0 + 10, 3, 0, "Q1", &tf),
		     SG_ACT_CONTINUE);
    sg_engine_begin(w->eng, &w->store, &m, "bob", T0 + 3600 + 1800, err,
		    sizeof(err));
    assert_int_equal(m.budget, 1);		/* 3 - 3 * 0.5 = 1.5 */
    sg_engine_commit(w->eng, &w->store, &m, 0, 0, T0 + 5400, err, sizeof(err));
    sg_engine_begin(w->eng, &w->store, &m, "bob", T0 + 3 * 3600, err,
		    sizeof(err));
    assert_int_equal(m.budget, 3);
}

/* The message limit refuses at MAIL and counts the attempt apart. */
static void test_message_limit(void **state)
{
    struct world *w0 = *state;
    struct world *w = world_new("100/1h", "2/1h", "30/1h", "");
    struct sg_msg m;
    char    err[256], text[512];
    int     tf;

    (void) w0;
    assert_int_equal(send_msg(w, "carol", T0, 1, 0, "A", &tf), SG_ACT_CONTINUE);
    assert_int_equal(send_msg(w, "carol", T0 + 1, 1, 0, "B", &tf), SG_ACT_CONTINUE);
    assert_int_equal(sg_engine_begin(w->eng, &w->store, &m, "carol", T0 + 2,
				     err, sizeof(err)), SG_ACT_TEMPFAIL);
    assert_int_equal(m.limit, SG_LIMIT_MESSAGES);
    assert_int_equal(m.msg_limit, 2);
    sg_engine_text(w->eng, &m, SG_ACT_TEMPFAIL, text, sizeof(text));
    assert_non_null(strstr(text, "limit of 2 messages per hour"));
    /* Refused attempts do not use quota but are visible. */
    assert_string_equal(world_redis(w, 0, "HGET subguard:{carol}:counters msgs"), "2");
    assert_string_equal(world_redis(w, 0, "HGET subguard:{carol}:counters refused"), "1");
    world_free(w);
}

/* A tier set with redis-cli applies to the next message; unknown ones fall back. */
static void test_tiers(void **state)
{
    struct world *w = *state;
    struct sg_msg m;
    char    err[256];

    world_redis(w, 0, "SET subguard:{dave}:tier bulk");
    sg_engine_begin(w->eng, &w->store, &m, "dave", T0, err, sizeof(err));
    assert_string_equal(m.tier, "bulk");
    /* 1000 an hour: begin reserves a chunk, and more may follow. */
    assert_int_equal(m.budget, 20);
    assert_int_equal(m.resv_more, 1);
    assert_string_equal(m.unknown_tier, "");
    /* Abandoned: its reservation is released for the next message. */
    sg_engine_commit(w->eng, &w->store, &m, 0, 0, T0, err, sizeof(err));
    world_redis(w, 0, "SET subguard:{dave}:tier gold");
    sg_engine_begin(w->eng, &w->store, &m, "dave", T0, err, sizeof(err));
    assert_string_equal(m.tier, "default");
    assert_string_equal(m.unknown_tier, "gold");
    assert_int_equal(m.budget, 3);
}

/* Too many MTA-rejected recipients quarantine; mail is held, then capped. */
static void test_quarantine_hold_and_lift(void **state)
{
    struct world *w = *state;
    struct sg_msg m;
    char    err[256];
    int     tf;

    assert_int_equal(send_msg(w, "eve", T0, 1, 2, "Q1", &tf), SG_ACT_CONTINUE);
    assert_int_equal(send_msg(w, "eve", T0 + 1, 1, 2, "Q2", &tf), SG_ACT_HOLD);
    assert_string_equal(world_redis(w, 0, "HGET subguard:{eve}:quarantine by"), "subguard");
    assert_non_null(strstr(world_redis(w, 0, "HGET subguard:{eve}:quarantine reason"),
			   "4 recipients rejected by the MTA in 1h"));
    assert_string_equal(world_redis(w, 0, "HGET subguard:{eve}:quarantine qids"), "Q2 Q1");
    assert_string_equal(world_redis(w, 0, "LRANGE subguard:{eve}:held 0 -1"), "Q2");

    /* Already quarantined: held until hold_max (2), then refused. A bigger
     * tier leaves room for the recipients; quarantine outranks tiers. */
    world_redis(w, 0, "SET subguard:{eve}:tier bulk");
    assert_int_equal(sg_engine_begin(w->eng, &w->store, &m, "eve", T0 + 2, err,
				     sizeof(err)), SG_ACT_CONTINUE);
    assert_int_equal(m.status, SG_BEGIN_HOLD);
    sg_engine_rcpt(&m, 0, 0);
    assert_int_equal(sg_engine_commit(w->eng, &w->store, &m, "Q3", 1, T0 + 2,
				      err, sizeof(err)), SG_ACT_HOLD);
    assert_int_equal(m.newly_quarantined, 0);
    assert_int_equal(m.held, 2);
    assert_int_equal(send_msg(w, "eve", T0 + 3, 1, 0, "Q4", &tf),
		     SG_ACT_QUARANTINE_REFUSE);
    assert_string_equal(world_redis(w, 0, "LLEN subguard:{eve}:held"), "2");

    /* Support lifts it; the next message goes through. */
    world_redis(w, 0, "DEL subguard:{eve}:quarantine");
    assert_int_equal(send_msg(w, "eve", T0 + 4, 1, 0, "Q5", &tf), SG_ACT_CONTINUE);
}

/* A quarantine set by hand, in reject mode, refuses at MAIL with the text. */
static void test_manual_quarantine_reject(void **state)
{
    struct world *w = world_new("3/1h", "100/1h", "3/1h", "");
    struct sg_msg m;
    char    err[256], text[1024];

    (void) state;
    w->cfg.quarantine_action = SG_QACT_REJECT;
    snprintf(w->cfg.support_contact, sizeof(w->cfg.support_contact),
	     "help@isp.example");
    world_redis(w, 0, "HSET subguard:{frank}:quarantine reason manual");
    assert_int_equal(sg_engine_begin(w->eng, &w->store, &m, "frank", T0, err,
				     sizeof(err)), SG_ACT_QUARANTINE_REFUSE);
    assert_string_equal(m.qreason, "manual");
    sg_engine_text(w->eng, &m, SG_ACT_QUARANTINE_REFUSE, text, sizeof(text));
    assert_non_null(strstr(text, "frank"));
    assert_non_null(strstr(text, "help@isp.example"));
    assert_non_null(strchr(text, '\n'));		/* multi-line reply */
    assert_string_equal(world_redis(w, 0, "HGET subguard:{frank}:counters refused"), "1");
    world_free(w);
}

/* The recipient ceiling far above the limit quarantines too. */
static void test_recipient_ceiling(void **state)
{
    struct world *w = world_new("100/1h", "100/1h", "", "150/1d");
    int     tf;

    (void) state;
    assert_int_equal(send_msg(w, "gina", T0, 100, 0, "A", &tf), SG_ACT_CONTINUE);
    assert_int_equal(send_msg(w, "gina", T0 + 7200, 60, 0, "B", &tf), SG_ACT_HOLD);
    assert_non_null(strstr(world_redis(w, 0, "HGET subguard:{gina}:quarantine reason"),
			   "160 recipients in 1d"));
    world_free(w);
}

/* Two nodes, one Redis, one limit. */
static void test_two_nodes_one_limit(void **state)
{
    struct world *a = *state;
    struct world *b = world_new("3/1h", "100/1h", "3/1h", "50/1d");
    int     tf;

    assert_int_equal(send_msg(a, "hank", T0, 2, 0, "A", &tf), SG_ACT_CONTINUE);
    assert_int_equal(tf, 0);
    assert_int_equal(send_msg(b, "hank", T0 + 1, 2, 0, "B", &tf), SG_ACT_CONTINUE);
    assert_int_equal(tf, 1);
    assert_int_equal(send_msg(a, "hank", T0 + 2, 1, 0, "C", &tf), SG_ACT_CONTINUE);
    assert_int_equal(tf, 1);
    world_free(b);
}

/*
 * The library keeps the tiers it decoded between calls. Two nodes whose
 * tier of one name differs (a reload on one of them) each get their own
 * limits, whatever was decoded before.
 */
static void test_tiers_kept_per_text(void **state)
{
    struct world *a = *state;
    struct world *b = world_new("5/1h", "100/1h", "3/1h", "50/1d");
    const char *login[] = {"ivy", "jon", "kim", "lou"};
    struct sg_msg m;
    char    err[256];
    int     i;

    for (i = 0; i < 4; i++) {
	struct world *w = i % 2 ? b : a;

	assert_int_equal(sg_engine_begin(w->eng, &w->store, &m, login[i], T0,
					 err, sizeof(err)), SG_ACT_CONTINUE);
	assert_string_equal(m.tier, "default");
	assert_int_equal(m.budget, i % 2 ? 5 : 3);
	sg_engine_commit(w->eng, &w->store, &m, 0, 0, T0, err, sizeof(err));
    }
    world_free(b);
}

/* Every key expires; at most two calls per message whatever its size. */
static void test_expiry_and_round_trips(void **state)
{
    struct world *w = *state;
    struct sg_msg m;
    char    err[256];
    long    ttl, before, after;
    int     tf, i;

    world_redis(w, 0, "CONFIG RESETSTAT");
    send_msg(w, "ivan", T0, 3, 2, "QX", &tf);
    ttl = atol(world_redis(w, 0, "TTL subguard:{ivan}:counters"));
    assert_in_range(ttl, 3600, 2 * 86400);
    ttl = atol(world_redis(w, 0, "TTL subguard:qid:QX"));
    assert_in_range(ttl, 6 * 86400 - 10, 6 * 86400);

    before = atol(strstr(world_redis(w, 0, "INFO commandstats"), "cmdstat_fcall:calls=")
		  + strlen("cmdstat_fcall:calls="));
    sg_engine_begin(w->eng, &w->store, &m, "ivan2", T0, err, sizeof(err));
    for (i = 0; i < 1000; i++)
	sg_engine_rcpt(&m, i % 10 == 0, 0);
    sg_engine_commit(w->eng, &w->store, &m, "QY", 1, T0, err, sizeof(err));
    after = atol(strstr(world_redis(w, 0, "INFO commandstats"), "cmdstat_fcall:calls=")
		 + strlen("cmdstat_fcall:calls="));
    assert_int_equal(after - before, 2);

    /*
     * An abandoned message counts nothing but still costs its second
     * call: it releases the room begin reserved for it.
     */
    sg_engine_begin(w->eng, &w->store, &m, "ivan3", T0, err, sizeof(err));
    assert_string_equal(world_redis(w, 0, "HLEN subguard:{ivan3}:resv"), "1");
    assert_int_equal(sg_engine_rcpt(&m, 0, 0), SG_ACT_CONTINUE);
    sg_engine_commit(w->eng, &w->store, &m, 0, 0, T0, err, sizeof(err));
    before = atol(strstr(world_redis(w, 0, "INFO commandstats"), "cmdstat_fcall:calls=")
		  + strlen("cmdstat_fcall:calls="));
    assert_int_equal(before, after + 2);
    assert_string_equal(world_redis(w, 0, "HLEN subguard:{ivan3}:resv"), "0");
    assert_string_equal(world_redis(w, 0, "EXISTS subguard:{ivan3}:counters"), "0");
}

/*
 * Ten messages of one login in flight at once, across two nodes (two
 * engines, one Redis): all begin, then all take recipients, then all
 * commit. With 2 messages and 10 recipients an hour, at most 2 messages
 * and 10 recipients get through, whatever the interleaving.
 */
static void test_concurrent_messages_hold_the_limit(void **state)
{
    struct world *a = world_new("10/1h", "2/1h", "", "");
    struct world *b = world_new("10/1h", "2/1h", "", "");
    struct world *node[2] = {a, b};
    struct sg_msg m[10];
    enum sg_action act[10];
    char    err[256], qid[16];
    unsigned accepted = 0;
    int     i, j, begun = 0;

    (void) state;
    a->cfg.reserve_recipients = 4;		/* so that reserve is used */
    b->cfg.reserve_recipients = 4;
    for (i = 0; i < 10; i++) {
	act[i] = sg_engine_begin(node[i % 2]->eng, &node[i % 2]->store, &m[i],
				 "conc", T0 + i * 0.1, err, sizeof(err));
	begun += act[i] == SG_ACT_CONTINUE;
	if (act[i] == SG_ACT_TEMPFAIL)
	    assert_int_equal(m[i].limit, SG_LIMIT_MESSAGES);
    }
    assert_int_equal(begun, 2);
    assert_string_equal(world_redis(a, 0, "HLEN subguard:{conc}:resv"), "2");
    for (j = 0; j < 10; j++)
	for (i = 0; i < 10; i++)
	    if (act[i] == SG_ACT_CONTINUE)
		sg_engine_rcpt_at(node[i % 2]->eng, &node[i % 2]->store, &m[i],
				  0, 0, T0 + 1 + j * 0.1, err, sizeof(err));
    for (i = 0; i < 10; i++) {
	if (act[i] != SG_ACT_CONTINUE)
	    continue;
	accepted += m[i].accepted;
	snprintf(qid, sizeof(qid), "C%d", i);
	assert_int_equal(sg_engine_commit(node[i % 2]->eng, &node[i % 2]->store,
					  &m[i], qid, 1, T0 + 3, err,
					  sizeof(err)), SG_ACT_CONTINUE);
    }
    assert_int_equal(accepted, 10);
    assert_string_equal(world_redis(a, 0, "HGET subguard:{conc}:counters msgs"), "2");
    assert_string_equal(world_redis(a, 0, "HGET subguard:{conc}:counters rcpts"), "10");
    assert_string_equal(world_redis(a, 0, "HGET subguard:{conc}:counters refused"), "18");
    /* Settled: nothing is left reserved. */
    assert_string_equal(world_redis(a, 0, "HLEN subguard:{conc}:resv"), "0");
    world_free(a);
    world_free(b);
}

/*
 * reserve grants what the windows and the other reservations leave;
 * commit frees the unused part of a reservation for the others.
 */
static void test_reserve_and_settle(void **state)
{
    struct world *w = world_new("10/1h", "100/1h", "", "");
    struct sg_msg m1, m2;
    char    err[256];

    (void) state;
    w->cfg.reserve_recipients = 6;
    assert_int_equal(sg_engine_begin(w->eng, &w->store, &m1, "res", T0, err,
				     sizeof(err)), SG_ACT_CONTINUE);
    assert_int_equal(m1.budget, 6);
    assert_int_equal(sg_engine_begin(w->eng, &w->store, &m2, "res", T0, err,
				     sizeof(err)), SG_ACT_CONTINUE);
    assert_int_equal(m2.budget, 4);		/* 10 less m1's 6 */
    assert_int_equal(m2.resv_more, 0);
    /* m1 uses 2 of its 6 and ends: the other 4 are free again. */
    sg_engine_rcpt(&m1, 0, 0);
    sg_engine_rcpt(&m1, 0, 0);
    assert_int_equal(sg_engine_commit(w->eng, &w->store, &m1, "R1", 1, T0 + 1,
				      err, sizeof(err)), SG_ACT_CONTINUE);
    m2.resv_more = 1;				/* ask, as a full chunk would */
    m2.accepted = 4;
    assert_int_equal(sg_engine_reserve(w->eng, &w->store, &m2, T0 + 2, err,
				       sizeof(err)), SG_ACT_CONTINUE);
    assert_int_equal(m2.budget, 8);		/* 10 - 2 sent - 4 held + 4 */
    assert_int_equal(m2.resv_more, 0);
    assert_string_equal(world_redis(w, 0, "HLEN subguard:{res}:resv"), "1");
    assert_non_null(strstr(world_redis(w, 0, "HGET subguard:{res}:resv %s",
				 m2.resv_id), "1 8 "));
    world_free(w);
}

/*
 * A reservation whose node died expires reserve_ttl after its last
 * grant: the room comes back, and the next call that reads the hash
 * drops the entry; the hash itself has an expiry.
 */
static void test_reservation_expires(void **state)
{
    struct world *w = world_new("10/1h", "1/1h", "", "");
    struct sg_msg m;
    char    err[256];
    long    ttl;

    (void) state;
    assert_int_equal(sg_engine_begin(w->eng, &w->store, &m, "gone", T0, err,
				     sizeof(err)), SG_ACT_CONTINUE);
    ttl = atol(world_redis(w, 0, "TTL subguard:{gone}:resv"));
    assert_in_range(ttl, 7200, 7300);	/* the default reserve_ttl, 2h */
    /* Never committed: the node died. Within the ttl the room is held. */
    assert_int_equal(sg_engine_begin(w->eng, &w->store, &m, "gone", T0 + 7199,
				     err, sizeof(err)), SG_ACT_TEMPFAIL);
    assert_int_equal(m.limit, SG_LIMIT_MESSAGES);
    /* Past it, the room is back and the dead entry is gone. */
    assert_int_equal(sg_engine_begin(w->eng, &w->store, &m, "gone", T0 + 7201,
				     err, sizeof(err)), SG_ACT_CONTINUE);
    assert_int_equal(m.budget, 10);
    assert_string_equal(world_redis(w, 0, "HLEN subguard:{gone}:resv"), "1");
    assert_non_null(strstr(world_redis(w, 0, "HGET subguard:{gone}:resv %s",
				 m.resv_id), "1 10 "));
    world_free(w);
}

/*
 * Bounces of a queue id never count past the recipients the message had
 * accepted, each recipient once; a repeated line adds nothing; an
 * unknown queue id counts nothing; a record with 0 accepted neither.
 */
static void test_bounce_caps(void **state)
{
    struct world *w = world_new("1000/1h", "1000/1h", "", "");
    struct sg_outcome out;
    char    err[256], to[32];
    int     tf, i, rc;

    (void) state;
    assert_int_equal(send_msg(w, "cap", T0, 2, 0, "CAP1", &tf), SG_ACT_CONTINUE);
    assert_non_null(strstr(world_redis(w, 0, "GET subguard:qid:CAP1"), " 2"));
    /* The same recipient's line twice: once. */
    for (i = 0; i < 2; i++) {
	rc = sg_engine_outcome(w->eng, &w->store, "CAP1", "<a@x.example>",
			       SG_DSN_MAILBOX, 1, T0 + 10 + i, 0, 0, &out, err,
			       sizeof(err));
	assert_int_equal(rc, 1);
	assert_string_equal(out.login, "cap");
    }
    assert_string_equal(world_redis(w, 0, "HGET subguard:{cap}:counters bounced"), "1");
    /* Five more recipients: only one more fits the two accepted. */
    for (i = 0; i < 5; i++) {
	snprintf(to, sizeof(to), "<f%d@x.example>", i);
	sg_engine_outcome(w->eng, &w->store, "CAP1", to, SG_DSN_MAILBOX, 1,
			  T0 + 20 + i, 0, 0, &out, err, sizeof(err));
    }
    assert_string_equal(world_redis(w, 0, "HGET subguard:{cap}:counters bounced"), "2");
    /* A line about many recipients cannot pass the cap either. */
    sg_engine_outcome(w->eng, &w->store, "CAP1", 0, SG_DSN_OTHER, 50, T0 + 30,
		      0, 0, &out, err, sizeof(err));
    assert_string_equal(world_redis(w, 0, "HGET subguard:{cap}:counters bounced"), "2");
    assert_true(atol(world_redis(w, 0, "TTL subguard:qid:CAP1")) > 0);
    /* A whole-message expiry (no recipient named) counts once a qid. */
    assert_int_equal(send_msg(w, "exp", T0, 3, 0, "EXP1", &tf), SG_ACT_CONTINUE);
    for (i = 0; i < 3; i++)
	sg_engine_outcome(w->eng, &w->store, "EXP1", 0, SG_DSN_EXPIRED, 1,
			  T0 + 35 + i, 0, 0, &out, err, sizeof(err));
    assert_string_equal(world_redis(w, 0, "HGET subguard:{exp}:counters bounced"), "1");
    /* Unknown queue id. */
    assert_int_equal(sg_engine_outcome(w->eng, &w->store, "NOSUCH", "<z@x>",
				       SG_DSN_MAILBOX, 1, T0 + 40, 0, 0, &out,
				       err, sizeof(err)), 0);
    assert_string_equal(out.login, "");
    /* A record with no accepted recipient counts nothing. */
    {
	const char *set[] = {"SET", "subguard:qid:ZERO", "cap 1763798400 0"};
	size_t  lens[] = {3, 17, 16};
	struct sg_reply r = {0, 0};

	assert_int_equal(sg_redis_command(w->redis, 3, set, lens, &r, err,
					  sizeof(err)), SG_STORE_OK);
	sg_reply_free(&r);
    }
    sg_engine_outcome(w->eng, &w->store, "ZERO", "<y@x.example>",
		      SG_DSN_MAILBOX, 1, T0 + 50, 0, 0, &out, err, sizeof(err));
    assert_string_equal(world_redis(w, 0, "HGET subguard:{cap}:counters bounced"), "2");
    world_free(w);
}

/* Hostile logins stay in their own keys. */
static void test_odd_logins(void **state)
{
    struct world *w = *state;
    struct sg_msg m;
    char    err[256];
    int     tf;

    send_msg(w, "x}:counters{y", T0, 1, 0, "Q1", &tf);
    assert_string_equal(world_redis(w, 0, "EXISTS %s", "subguard:{x%7D%3Acounters%7By}:counters"), "1");
    assert_int_equal(sg_engine_begin(w->eng, &w->store, &m, "", T0, err,
				     sizeof(err)), SG_ACT_IGNORE);
    assert_int_equal(sg_engine_begin(w->eng, &w->store, &m, "a b\r\n", T0, err,
				     sizeof(err)), SG_ACT_CONTINUE);
    assert_string_equal(m.login, "a%20b%0D%0A");
}

/* detect - turn the failure test on: 2%/15% by default, 5%/25% for bulk */
static void detect(struct world *w)
{
    w->cfg.tiers[0].normal_failure = 0.02;
    w->cfg.tiers[0].spam_failure = 0.15;
    w->cfg.tiers[1].normal_failure = 0.05;
    w->cfg.tiers[1].spam_failure = 0.25;
    w->cfg.tiers[0].false_alarm = w->cfg.tiers[1].false_alarm = 0.001;
    w->cfg.tiers[0].missed_alarm = w->cfg.tiers[1].missed_alarm = 0.01;
    world_windows(&w->cfg.tiers[1].recipients, "100000/1h");
    world_windows(&w->cfg.tiers[1].messages, "100000/1h");
    sg_engine_free(w->eng);
    w->eng = sg_engine_new(&w->cfg);
}

/* bounce - one bounced recipient of qid through the feed's path */
static int bounce(struct world *w, const char *qid, double t, int cls,
		          struct sg_outcome *out)
{
    char    err[256];
    int     rc = sg_engine_outcome(w->eng, &w->store, qid, 0, cls, 1, t, 0, 0,
				   out, err, sizeof(err));

    if (rc < 0)
	fail_msg("outcome: %s", err);
    return (rc);
}

/*
 * A spam run: 100 recipients accepted in 10 messages, then bounces. By
 * hand: the score floors at ln(0.01/0.999) = -4.60; each bounce adds
 * ln 7.5 - ln(.85/.98) = 2.157. A message adds at most 0.6 of the bound
 * ln(0.99/0.001) = 6.90, i.e. 4.14: S1's 9 bounces (-1.42 + 9 x 2.157 =
 * 17.99 uncapped) count 4.14, so one message quarantines nobody. The
 * hour weighs F failures of 100 as 2.015 F - 0.1424 (100 - F) less what
 * the cap took (13.85): other messages failing, each adding 2.157,
 * cross it at F = 17 (34.26 - 11.68 - 13.85 = 8.7; at 16, 6.4).
 */
static void test_failure_test_quarantines(void **state)
{
    struct world *w = world_new("1000/1h", "1000/1h", "", "");
    struct sg_outcome out;
    char    qid[16];
    int     tf, i;

    (void) state;
    detect(w);
    for (i = 0; i < 10; i++) {
	snprintf(qid, sizeof(qid), "S%d", i);
	assert_int_equal(send_msg(w, "spam", T0 + i, 10, 0, qid, &tf),
			 SG_ACT_CONTINUE);
    }
    for (i = 0; i < 9; i++) {
	assert_int_equal(bounce(w, "S1", T0 + 60 + i, SG_DSN_MAILBOX, &out), 1);
	assert_string_equal(out.login, "spam");
	assert_int_equal(out.newly_quarantined, 0);
    }
    /* The message's record remembers what it added, uncapped. */
    assert_string_equal(world_redis(w, 0, "GET subguard:qid:S1"),
			"spam 1763798401 10 9 - 17.990");
    bounce(w, "S2", T0 + 70, SG_DSN_DOMAIN, &out);
    assert_int_equal(out.newly_quarantined, 0);
    for (i = 3; i < 9; i++) {
	snprintf(qid, sizeof(qid), "S%d", i);
	bounce(w, qid, T0 + 70 + i, SG_DSN_MAILBOX, &out);
	assert_int_equal(out.newly_quarantined, 0);
    }
    bounce(w, "S9", T0 + 80, SG_DSN_DOMAIN, &out);
    assert_int_equal(out.newly_quarantined, 1);
    assert_non_null(strstr(out.reason, "failure test: 17 of 100 recipients failed in 1h"));
    assert_string_equal(world_redis(w, 0, "HGET subguard:{spam}:quarantine source"), "feed");
    assert_string_equal(world_redis(w, 0, "HGET subguard:{spam}:quarantine qids"),
			"S9 S8 S7 S6 S5 S4 S3 S2 S1");
    assert_string_equal(world_redis(w, 0, "HGET subguard:{spam}:quarantine failed"), "17");
    assert_string_equal(world_redis(w, 0, "XLEN subguard:events"), "1");
    assert_string_equal(world_redis(w, 4, "XRANGE subguard:events - +"), "quarantine");
    /* Unknown queue ids (not ours) count nothing. */
    assert_int_equal(bounce(w, "NOPE", T0 + 90, SG_DSN_MAILBOX, &out), 0);
    world_free(w);
}

/*
 * A clean bulk sender whose 20 bounces (1%) all arrive after its 2,000
 * deliveries: the score alone would cross, the ratio gate holds it.
 */
static void test_clean_bulk_tail_not_quarantined(void **state)
{
    struct world *w = world_new("1000/1h", "1000/1h", "", "");
    struct sg_outcome out;
    char    qid[16];
    int     tf, i;

    (void) state;
    detect(w);
    world_redis(w, 0, "SET subguard:{shop}:tier bulk");
    for (i = 0; i < 20; i++) {
	snprintf(qid, sizeof(qid), "B%d", i);
	send_msg(w, "shop", T0 + i, 100, 0, qid, &tf);
	assert_int_equal(tf, 0);
    }
    for (i = 0; i < 20; i++) {
	bounce(w, "B19", T0 + 600 + i, SG_DSN_MAILBOX, &out);
	assert_int_equal(out.newly_quarantined, 0);
    }
    assert_true(atof(world_redis(w, 0, "HGET subguard:{shop}:counters s"))
		/ 10000 > 6.9);	/* kept in ten-thousandths */
    assert_string_equal(world_redis(w, 0, "EXISTS subguard:{shop}:quarantine"), "0");
    world_free(w);
}

/*
 * A customer writing again and again to one dead address is no spammer:
 * the repeats count in the totals but are no evidence. Different dead
 * addresses are.
 */
static void test_repeated_failure_counts_once(void **state)
{
    struct world *w = world_new("1000/1h", "1000/1h", "", "");
    struct sg_outcome out;
    char    err[256], qid[16];
    int     tf, i;

    (void) state;
    detect(w);
    for (i = 0; i < 8; i++) {
	snprintf(qid, sizeof(qid), "R%d", i);
	send_msg(w, "kim", T0 + i, 1, 0, qid, &tf);
	assert_int_equal(sg_engine_outcome(w->eng, &w->store, qid,
					   "<Georg@Webmail.example>",
					   SG_DSN_MAILBOX, 1, T0 + i + 1, 0, 0,
					   &out, err, sizeof(err)), 1);
	assert_int_equal(out.newly_quarantined, 0);
    }
    assert_string_equal(world_redis(w, 0, "HGET subguard:{kim}:counters bounced"), "8");
    assert_string_equal(world_redis(w, 0, "HGET subguard:{kim}:counters b3600"), "1");
    for (i = 0; i < 8; i++) {
	char    to[32];

	snprintf(qid, sizeof(qid), "S%d", i);
	snprintf(to, sizeof(to), "dead%d@list.example", i);
	send_msg(w, "kim", T0 + 100 + i, 1, 0, qid, &tf);
	sg_engine_outcome(w->eng, &w->store, qid, to, SG_DSN_MAILBOX, 1,
			  T0 + 101 + i, 0, 0, &out, err, sizeof(err));
	if (out.newly_quarantined)
	    break;
    }
    assert_int_equal(out.newly_quarantined, 1);
    world_free(w);
}

/* The feed's position is saved with the outcome, and alone. */
static void test_feed_position(void **state)
{
    struct world *w = *state;
    struct sg_outcome out;
    char    err[256], pos[64];

    assert_int_equal(sg_engine_feed_position(w->eng, &w->store, "mx1", pos,
					     sizeof(pos), err, sizeof(err)), 0);
    assert_string_equal(pos, "");
    assert_int_equal(sg_engine_outcome(w->eng, &w->store, "X", 0, SG_DSN_MAILBOX,
				       1, T0, "mx1", "1:2:300", &out, err,
				       sizeof(err)), 0);
    sg_engine_feed_position(w->eng, &w->store, "mx1", pos, sizeof(pos), err,
			    sizeof(err));
    assert_string_equal(pos, "1:2:300");
    assert_int_equal(sg_engine_outcome(w->eng, &w->store, 0, 0, SG_DSN_NONE, 0,
				       T0, "mx1", "1:2:400", &out, err,
				       sizeof(err)), 0);
    sg_engine_feed_position(w->eng, &w->store, "mx1", pos, sizeof(pos), err,
			    sizeof(err));
    assert_string_equal(pos, "1:2:400");

    /*
     * A line sent again (its call timed out after Redis ran it) is not
     * counted twice; the next line is; a new file (inode) starts over.
     */
    {
	int     tf;

	send_msg(w, "dup", T0, 10, 0, "D1", &tf);
	assert_int_equal(sg_engine_outcome(w->eng, &w->store, "D1", 0,
					   SG_DSN_MAILBOX, 1, T0, "mx1",
					   "1:2:500", &out, err, sizeof(err)), 1);
	assert_int_equal(sg_engine_outcome(w->eng, &w->store, "D1", 0,
					   SG_DSN_MAILBOX, 1, T0, "mx1",
					   "1:2:500", &out, err, sizeof(err)), 1);
	assert_string_equal(world_redis(w, 0, "HGET subguard:{dup}:counters bounced"), "1");
	assert_int_equal(sg_engine_outcome(w->eng, &w->store, "D1", 0,
					   SG_DSN_MAILBOX, 1, T0, "mx1",
					   "1:2:600", &out, err, sizeof(err)), 1);
	assert_int_equal(sg_engine_outcome(w->eng, &w->store, "D1", 0,
					   SG_DSN_MAILBOX, 1, T0, "mx1",
					   "1:3:100", &out, err, sizeof(err)), 1);
	assert_string_equal(world_redis(w, 0, "HGET subguard:{dup}:counters bounced"), "3");
    }
    /* A delivery with no position to save costs no call. */
    world_redis(w, 0, "CONFIG RESETSTAT");
    sg_engine_outcome(w->eng, &w->store, "X", 0, SG_DSN_DELIVERED, 1, T0, 0, 0,
		      &out, err, sizeof(err));
    assert_null(strstr(world_redis(w, 0, "INFO commandstats"), "cmdstat_fcall"));
}

/*
 * Journal positions (subguard-feed -J): a record sent again is not counted
 * twice, by the cursor's sequence number within one sequence, by
 * monotonic time within one boot, else by wall-clock time.
 */
static void test_feed_journal_position(void **state)
{
    struct world *w = *state;
    struct sg_outcome out;
    char    err[256], pos[512];
    int     tf, i;

#define BA "0123456789abcdef0123456789abcdef"
#define BB "fedcba9876543210fedcba9876543210"
    static const struct {
	const char *pos;
	int     counts;
    } step[] = {
	{"journal:" BA ":100:5000:s=aa01;i=5;b=" BA ";m=64;t=1;x=1", 1},
	{"journal:" BA ":100:5000:s=aa01;i=5;b=" BA ";m=64;t=1;x=1", 0},
	{"journal:" BA ":101:5001:s=aa01;i=4;b=" BA ";m=65;t=1;x=1", 0},
	{"journal:" BA ":102:5002:s=aa01;i=1f;b=" BA ";m=66;t=1;x=1", 1},
	/* another sequence, the same boot: monotonic time decides */
	{"journal:" BA ":90:9000:s=bb02;i=1;b=" BA ";m=5a;t=1;x=1", 0},
	{"journal:" BA ":200:9001:s=bb02;i=2;b=" BA ";m=c8;t=1;x=1", 1},
	/* another boot: wall-clock time decides */
	{"journal:" BB ":5:8000:s=cc03;i=1;b=" BB ";m=5;t=1;x=1", 0},
	{"journal:" BB ":6:9500:s=cc03;i=2;b=" BB ";m=6;t=1;x=1", 1},
    };
    char    login[16], qid[16], cmd[64];

    /* One account and queue id a step (the test tier allows 3 rcpts). */
    for (i = 0; i < (int) (sizeof(step) / sizeof(step[0])); i++) {
	snprintf(login, sizeof(login), "jay%d", i);
	snprintf(qid, sizeof(qid), "J%d", i);
	send_msg(w, login, T0, 1, 0, qid, &tf);
	assert_int_equal(tf, 0);
	assert_int_equal(sg_engine_outcome(w->eng, &w->store, qid, 0,
					   SG_DSN_MAILBOX, 1, T0, "jr",
					   step[i].pos, &out, err,
					   sizeof(err)), 1);
	snprintf(cmd, sizeof(cmd), "HGET subguard:{%s}:counters bounced",
		 login);
	if (atoi(world_redis(w, 0, cmd)) != step[i].counts)
	    fail_msg("step %d (%s): bounced %s, want %d", i, step[i].pos,
		     world_redis(w, 0, cmd), step[i].counts);
    }
    sg_engine_feed_position(w->eng, &w->store, "jr", pos, sizeof(pos), err,
			    sizeof(err));
    assert_string_equal(pos, step[7].pos);
#undef BA
#undef BB
}

/* Lifts and tier changes seen by subguard go into the events stream. */
static void test_events(void **state)
{
    struct world *w = *state;
    int     tf;

    send_msg(w, "lou", T0, 1, 4, "L1", &tf);		/* quarantined */
    assert_string_equal(world_redis(w, 0, "XLEN subguard:events"), "1");
    world_redis(w, 0, "DEL subguard:{lou}:quarantine");
    world_redis(w, 0, "SET subguard:{lou}:tier bulk");
    send_msg(w, "lou", T0 + 1, 1, 0, "L2", &tf);
    assert_string_equal(world_redis(w, 0, "XLEN subguard:events"), "3");
    assert_string_equal(world_redis(w, 0, "EXISTS subguard:{lou}:quarantine"), "0");
}

/*
 * inspect reads an account through the engine: what the counts, the
 * score and the quarantine are, by name, without writing anything.
 */
static void test_inspect(void **state)
{
    struct world *w = world_new("1000/1h", "1000/1h", "3/1h", "");
    struct sg_inspect in;
    struct sg_outcome out;
    const struct sg_inspect_window *hour, *day;
    char    err[256], before[64];
    int     tf, i;

    (void) state;
    detect(w);
    /* Nothing yet: the default tier, zeros, the windows in use. */
    assert_int_equal(sg_engine_inspect(w->eng, &w->store, "nina", T0, &in,
				       err, sizeof(err)), 0);
    assert_string_equal(in.login, "nina");
    assert_string_equal(in.tier, "default");
    assert_int_equal(in.quarantined, 0);
    assert_int_equal(in.msgs + in.rcpts + in.held, 0);
    assert_true(in.score == 0 && in.last == 0);
    assert_int_equal(in.nwindows, 2);		/* 1h (limits, test), 1d */
    hour = sg_inspect_window(&in, 3600);
    day = sg_inspect_window(&in, 86400);
    assert_non_null(hour);
    assert_non_null(day);
    assert_ptr_equal(hour, in.win);		/* shortest first */
    assert_int_equal(hour->messages, 0);
    assert_int_equal(day->messages, -1);	/* no message limit per day */
    assert_int_equal(day->recipients, 0);
    assert_null(sg_inspect_window(&in, 60));

    /* Three messages, 10 recipients each, two bounces, one rejection. */
    for (i = 0; i < 3; i++) {
	char    qid[8];

	snprintf(qid, sizeof(qid), "N%d", i);
	send_msg(w, "nina", T0 + 600 + i, 10, i == 2, qid, &tf);
    }
    bounce(w, "N0", T0 + 700, SG_DSN_MAILBOX, &out);
    bounce(w, "N1", T0 + 701, SG_DSN_POLICY, &out);
    world_redis(w, 0, "SET subguard:{nina}:tier bulk");
    snprintf(before, sizeof(before), "%s",
	     world_redis(w, 0, "HGET subguard:{nina}:counters s"));
    world_redis(w, 0, "CONFIG RESETSTAT");
    assert_int_equal(sg_engine_inspect(w->eng, &w->store, "nina", T0 + 800,
				       &in, err, sizeof(err)), 0);
    /* Read only: no write command ran, the score is as stored. */
    assert_null(strstr(world_redis(w, 0, "INFO commandstats"), "cmdstat_hset"));
    assert_null(strstr(world_redis(w, 0, "INFO commandstats"), "cmdstat_hincrby"));
    assert_true(in.score == atof(before) / 10000 && in.score > -4.7);
    assert_string_equal(in.tier, "bulk");	/* the tier key, now */
    assert_int_equal(in.msgs, 3);
    assert_int_equal(in.rcpts, 30);
    assert_int_equal(in.rejected, 1);
    assert_int_equal(in.bounced, 2);
    assert_int_equal(in.policy, 1);
    assert_true(in.last == T0 + 701);
    hour = sg_inspect_window(&in, 3600);
    assert_non_null(hour);
    assert_int_equal(hour->messages, 3);
    assert_int_equal(hour->recipients, 30);
    assert_int_equal(hour->rejected, 1);
    assert_int_equal(hour->bounced, 2);
    /* Half an hour into the next hour, half of the last hour is left. */
    assert_int_equal(sg_engine_inspect(w->eng, &w->store, "nina",
				       T0 + 3600 + 1800, &in, err,
				       sizeof(err)), 0);
    hour = sg_inspect_window(&in, 3600);
    assert_int_equal(hour->recipients, 15);
    assert_int_equal(hour->messages, 2);	/* 1.5 rounds up */

    /* Quarantined by hand, with mail held: all of it by name. */
    world_redis(w, 0, "HSET subguard:{nina}:quarantine reason manual since 1763800000 "
	  "by support source cli");
    world_redis(w, 0, "RPUSH subguard:{nina}:held Q1 Q2");
    assert_int_equal(sg_engine_inspect(w->eng, &w->store, "nina", T0 + 900,
				       &in, err, sizeof(err)), 0);
    assert_int_equal(in.quarantined, 1);
    assert_string_equal(in.qreason, "manual");
    assert_int_equal(in.qsince, 1763800000);
    assert_string_equal(in.qby, "support");
    assert_string_equal(in.qsource, "cli");
    assert_int_equal(in.held, 2);

    /* An unknown tier name reads as the default, and says so. */
    world_redis(w, 0, "SET subguard:{nina}:tier gold");
    sg_engine_inspect(w->eng, &w->store, "nina", T0 + 900, &in, err,
		      sizeof(err));
    assert_string_equal(in.tier, "default");
    assert_string_equal(in.unknown_tier, "gold");
    assert_int_equal(sg_engine_inspect(w->eng, &w->store, "", T0, &in, err,
				       sizeof(err)), -1);
    world_free(w);
}

/* A quarantine the engine set, and the state after support lifts it. */
static void test_inspect_quarantine_and_lift(void **state)
{
    struct world *w = *state;
    struct sg_inspect in;
    char    err[256];
    int     tf;

    send_msg(w, "olga", T0, 1, 2, "O1", &tf);
    assert_int_equal(send_msg(w, "olga", T0 + 1, 1, 2, "O2", &tf), SG_ACT_HOLD);
    assert_int_equal(sg_engine_inspect(w->eng, &w->store, "olga", T0 + 2, &in,
				       err, sizeof(err)), 0);
    assert_int_equal(in.quarantined, 1);
    assert_non_null(strstr(in.qreason, "4 recipients rejected by the MTA"));
    assert_string_equal(in.qby, "subguard");
    assert_string_equal(in.qsource, "submission");
    assert_int_equal(in.qsince, (unsigned long) (T0 + 1));
    assert_int_equal(in.held, 1);
    assert_int_equal(sg_inspect_window(&in, 3600)->rejected, 4);
    /* Lifted: the next update starts afresh; inspect shows that now. */
    world_redis(w, 0, "DEL subguard:{olga}:quarantine");
    sg_engine_inspect(w->eng, &w->store, "olga", T0 + 3, &in, err, sizeof(err));
    assert_int_equal(in.quarantined, 0);
    assert_int_equal(in.rejected, 4);			/* totals stay */
    assert_int_equal(sg_inspect_window(&in, 3600)->rejected, 0);
}


/* refuse - one failed recipient rcpt of qid, of class cls, as the feed */
static void refuse(struct world *w, const char *qid, const char *rcpt,
		           double t, int cls, struct sg_outcome *out)
{
    char    err[256];

    if (sg_engine_outcome(w->eng, &w->store, qid, rcpt, cls, 1, t, 0, 0, out,
			  err, sizeof(err)) < 0)
	fail_msg("outcome: %s", err);
}

/*
 * One message's failures are one observation: a consumer writing once to
 * an old group (5 of 11 gone) and a greeting with 7 of 56 refused at RCPT
 * are not quarantined, though the score alone crosses. A spam run of two
 * messages is: its second message is held at its own commit, its own
 * accepted recipients (no outcome yet) not vouching for it.
 */
static void test_one_message_is_one_observation(void **state)
{
    struct world *w = world_new("1000/1h", "1000/1h", "", "");
    struct sg_outcome out;
    char    to[64];
    int     tf, i;

    (void) state;
    detect(w);
    assert_int_equal(send_msg(w, "ann", T0, 11, 0, "OLD", &tf), SG_ACT_CONTINUE);
    for (i = 0; i < 5; i++) {
	snprintf(to, sizeof(to), "friend%d@isp%d.example", i, i);
	refuse(w, "OLD", to, T0 + 30 + i, SG_DSN_MAILBOX, &out);
	assert_int_equal(out.newly_quarantined, 0);
    }
    assert_true(atof(world_redis(w, 0, "HGET subguard:{ann}:counters s"))
		/ 10000 > 6.9);	/* kept in ten-thousandths */
    assert_string_equal(world_redis(w, 0, "EXISTS subguard:{ann}:quarantine"), "0");
    /* 5 bounces of 11: 5 x 2.157 - 11 x 0.1424, uncapped, in the record. */
    assert_non_null(strstr(world_redis(w, 0, "GET subguard:qid:OLD"),
			   "d696de45 9.220"));
    assert_int_equal(send_msg(w, "gus", T0, 49, 7, "XMAS", &tf),
		     SG_ACT_CONTINUE);
    assert_string_equal(world_redis(w, 0, "EXISTS subguard:{gus}:quarantine"), "0");
    /* The run: 10 of 50 refused at RCPT, then 2 of 50. */
    assert_int_equal(send_msg(w, "run", T0, 40, 10, "R1", &tf),
		     SG_ACT_CONTINUE);
    assert_int_equal(send_msg(w, "run", T0 + 60, 48, 2, "R2", &tf),
		     SG_ACT_HOLD);
    assert_non_null(strstr(world_redis(w, 0, "HGET subguard:{run}:quarantine reason"),
			   "failure test: 12 of 100"));
    world_free(w);
}

/*
 * quarantine_failed counts weighted failures, and only above spam_failure
 * of the window's recipients: an old list at 6% of 2,000 (120 failures
 * over a net of 100) is not caught by its size; 30% is.
 */
static void test_failed_net_scales(void **state)
{
    struct world *w = world_new("1000/1h", "1000/1h", "", "");
    struct sg_outcome out;
    char    qid[16], to[64];
    int     tf, i, j;

    (void) state;
    w->cfg.tiers[1].spam_failure = 0.25;	/* the test itself is off */
    world_windows(&w->cfg.tiers[1].q_failed, "100/1h");
    world_windows(&w->cfg.tiers[1].recipients, "100000/1h");
    world_windows(&w->cfg.tiers[1].messages, "100000/1h");
    sg_engine_free(w->eng);
    w->eng = sg_engine_new(&w->cfg);
    world_redis(w, 0, "SET subguard:{shop}:tier bulk");
    world_redis(w, 0, "SET subguard:{bad}:tier bulk");
    for (i = 0; i < 20; i++) {
	snprintf(qid, sizeof(qid), "L%d", i);
	assert_int_equal(send_msg(w, "shop", T0 + i, 100, 0, qid, &tf),
			 SG_ACT_CONTINUE);
	for (j = 0; j < 6; j++) {
	    snprintf(to, sizeof(to), "old%d.%d@list.example", i, j);
	    refuse(w, qid, to, T0 + 30 + i, SG_DSN_MAILBOX, &out);
	    assert_int_equal(out.newly_quarantined, 0);
	}
    }
    assert_string_equal(world_redis(w, 0, "HGET subguard:{shop}:counters bounced"),
			"120");
    assert_string_equal(world_redis(w, 0, "EXISTS subguard:{shop}:quarantine"), "0");
    for (i = 0; i < 4 && !out.newly_quarantined; i++) {
	snprintf(qid, sizeof(qid), "D%d", i);
	send_msg(w, "bad", T0 + i, 100, 0, qid, &tf);
	for (j = 0; j < 30 && !out.newly_quarantined; j++) {
	    snprintf(to, sizeof(to), "x%d.%d@list.example", i, j);
	    refuse(w, qid, to, T0 + 30 + i, SG_DSN_MAILBOX, &out);
	}
    }
    assert_int_equal(out.newly_quarantined, 1);
    assert_non_null(strstr(out.reason, "failed recipients in 1h (quarantine "
			   "threshold 100)"));
    world_free(w);
}

/*
 * quarantine_rejected counts the MTA's refusals only where they are at
 * least the share at which the failure test weighs neither way (bulk:
 * 5% against 25%, 12.8%): a big old list, 60 of every 4,000 refused at
 * RCPT (1.5%), passes 500 an hour unharmed; a run whose list the MTA
 * refuses in bulk (30%) is still caught (the failure test sees it
 * first). With the test off the net counts plainly, as before.
 */
static void test_rejected_net_scales(void **state)
{
    struct world *w = world_new("1000/1h", "1000/1h", "", "");
    int     tf, i;
    enum sg_action a = SG_ACT_CONTINUE;

    (void) state;
    detect(w);
    world_windows(&w->cfg.tiers[1].q_rejected, "500/1h");
    sg_engine_free(w->eng);
    w->eng = sg_engine_new(&w->cfg);
    world_redis(w, 0, "SET subguard:{shop}:tier bulk");
    world_redis(w, 0, "SET subguard:{bad}:tier bulk");
    for (i = 0; i < 12; i++)
	assert_int_equal(send_msg(w, "shop", T0 + 60 * i, 4000, 60, "", &tf),
			 SG_ACT_CONTINUE);
    assert_string_equal(world_redis(w, 0, "HGET subguard:{shop}:counters "
				    "rejected"), "720");
    assert_string_equal(world_redis(w, 0, "EXISTS subguard:{shop}:quarantine"),
			"0");
    for (i = 0; i < 20 && a == SG_ACT_CONTINUE; i++)
	a = send_msg(w, "bad", T0 + 60 * i, 70, 30, "", &tf);
    assert_int_not_equal(a, SG_ACT_CONTINUE);
    assert_string_equal(world_redis(w, 0, "EXISTS subguard:{bad}:quarantine"),
			"1");

    /* The test off: a plain count, 720 over 500. */
    w->cfg.tiers[1].normal_failure = 0;
    sg_engine_free(w->eng);
    w->eng = sg_engine_new(&w->cfg);
    world_redis(w, 0, "SET subguard:{shop2}:tier bulk");
    a = SG_ACT_CONTINUE;
    for (i = 0; i < 12 && a == SG_ACT_CONTINUE; i++)
	a = send_msg(w, "shop2", T0 + 60 * i, 4000, 60, "", &tf);
    assert_int_not_equal(a, SG_ACT_CONTINUE);
    assert_non_null(strstr(world_redis(w, 0, "HGET subguard:{shop2}:quarantine "
				       "reason"), "rejected by the MTA"));
    world_free(w);
}

/*
 * A receiver incident: big.example refuses by policy the mail of 3
 * logins within the window, so its policy refusals weigh nothing while
 * it lasts: a customer with 20 of 20 refused there is not quarantined.
 * An attacker sending meanwhile is caught from his dead addresses. The
 * incident ends by itself after incident_quiet without a refusal.
 */
static void test_receiver_incident(void **state)
{
    struct world *w = world_new("1000/1h", "1000/1h", "", "");
    struct sg_outcome out;
    char    qid[16], to[64], login[16];
    int     tf, i, j;

    (void) state;
    w->cfg.incident_logins = 3;
    w->cfg.incident_window = 600;
    w->cfg.incident_quiet = 1800;
    detect(w);
    for (i = 0; i < 3; i++) {
	snprintf(login, sizeof(login), "c%d", i);
	snprintf(qid, sizeof(qid), "C%d", i);
	send_msg(w, login, T0 + i, 4, 0, qid, &tf);
	refuse(w, qid, "<Ann@Big.Example>", T0 + 10 + i, SG_DSN_POLICY, &out);
	assert_string_equal(out.incident_state, i == 2 ? "start" : "");
    }
    assert_string_equal(out.incident_domain, "big.example");
    assert_int_equal(out.incident_logins, 3);
    assert_non_null(strstr(world_redis(w, 0, "ZRANGE subguard:incidents 0 -1"),
			   "big.example"));
    assert_string_equal(world_redis(w, 0, "XLEN subguard:events"), "1");
    for (i = 0; i < 5; i++) {
	snprintf(qid, sizeof(qid), "V%d", i);
	send_msg(w, "victim", T0 + 20 + i, 4, 0, qid, &tf);
	for (j = 0; j < 4; j++) {
	    snprintf(to, sizeof(to), "p%d.%d@big.example", i, j);
	    refuse(w, qid, to, T0 + 30 + i, SG_DSN_POLICY, &out);
	    assert_int_equal(out.newly_quarantined, 0);
	}
    }
    assert_string_equal(world_redis(w, 0, "HGET subguard:{victim}:counters policy"),
			"20");
    for (i = 0; i < 5 && !out.newly_quarantined; i++) {
	snprintf(qid, sizeof(qid), "A%d", i);
	send_msg(w, "mallory", T0 + 40 + i, 10, 0, qid, &tf);
	for (j = 0; j < 6 && !out.newly_quarantined; j++) {
	    snprintf(to, sizeof(to), "t%d.%d@%s", i, j,
		     j < 3 ? "big.example" : "gone.example");
	    refuse(w, qid, to, T0 + 50 + i, j < 3 ? SG_DSN_POLICY :
		   SG_DSN_MAILBOX, &out);
	}
    }
    assert_int_equal(out.newly_quarantined, 1);
    assert_true(i <= 3);
    /* Quiet for incident_quiet: it ends with the next outcome read. */
    refuse(w, "NONE", "a@b.example", T0 + 60 + 1801, SG_DSN_MAILBOX, &out);
    assert_string_equal(out.incident_domain, "big.example");
    assert_string_equal(out.incident_state, "end");
    assert_string_equal(world_redis(w, 0, "ZCARD subguard:incidents"), "0");
    /* Over: big.example's refusals are evidence again. */
    for (i = 0; i < 5 && !out.newly_quarantined; i++) {
	snprintf(qid, sizeof(qid), "W%d", i);
	send_msg(w, "late", T0 + 4000 + i, 4, 0, qid, &tf);
	for (j = 0; j < 4 && !out.newly_quarantined; j++) {
	    snprintf(to, sizeof(to), "q%d.%d@big.example", i, j);
	    refuse(w, qid, to, T0 + 4010 + i, SG_DSN_POLICY, &out);
	}
    }
    assert_int_equal(out.newly_quarantined, 1);
    world_free(w);
}

/*
 * The score is kept in ten-thousandths ("-1423": 3 bytes of the hash's
 * listpack, not 9). A hash an older engine wrote ("3.5000") is read as
 * the score itself, and the next message writes it the new way.
 */
static void test_score_kept_in_ten_thousandths(void **state)
{
    struct world *w = world_new("1000/1h", "1000/1h", "3/1h", "");
    struct sg_inspect in;
    char    err[256];
    const char *s;
    int     tf;

    (void) state;
    detect(w);
    send_msg(w, "neo", T0, 3, 0, "S1", &tf);
    s = world_redis(w, 0, "HGET subguard:{neo}:counters s");
    assert_null(strchr(s, '.'));
    assert_true(atoi(s) < 0);			/* clean mail: below zero */
    assert_int_equal(sg_engine_inspect(w->eng, &w->store, "neo", T0 + 1, &in,
				       err, sizeof(err)), 0);
    assert_true(in.score < 0 && in.score > -5);
    assert_true(fabs(in.score - atoi(s) / 10000.0) < 1e-9);

    world_redis(w, 0, "HSET subguard:{old}:counters t %d s 3.5000",
		(int) T0);
    assert_int_equal(sg_engine_inspect(w->eng, &w->store, "old", T0 + 1, &in,
				       err, sizeof(err)), 0);
    assert_true(fabs(in.score - 3.5) < 1e-9);
    send_msg(w, "old", T0 + 2, 1, 0, "S2", &tf);
    s = world_redis(w, 0, "HGET subguard:{old}:counters s");
    assert_null(strchr(s, '.'));
    assert_true(atoi(s) > 30000 && atoi(s) < 35000);	/* 3.5, less a little */
    world_free(w);
}

/* surge_now - whether recipients_surge applies to login at t (default) */
static int surge_now(struct world *w, const char *login, double t, long *r,
		             long *f)
{
    struct sg_inspect in;
    char    err[256];

    assert_int_equal(sg_engine_inspect(w->eng, &w->store, login, t, &in, err,
				       sizeof(err)), 0);
    return (sg_inspect_surge(&in, &w->cfg.tiers[0], r, f));
}

/*
 * recipients_surge: a sender whose recipients of the last hour failed
 * less than half as often as a spam run (spam_failure 15%: 7.5%) may go
 * twice over the hourly window, never past the day's; a greeting to 400
 * contacts goes out in one go. One whose recipients fail, at the MTA or
 * later as bounces, is held to the hour's limit. Concurrent messages
 * share the surged room as they share the plain one (reservations).
 */
static void test_recipients_surge(void **state)
{
    struct world *w = *state;
    struct sg_outcome out;
    char    qid[16], rcpt[64];
    long    r, f;
    int     tf, i;

    world_windows(&w->cfg.tiers[0].recipients, "300/1h, 1000/1d");
    world_windows(&w->cfg.tiers[0].q_rejected, "1000/1h");
    world_windows(&w->cfg.tiers[0].q_recipients, "");
    w->cfg.tiers[0].spam_failure = 0.15;	/* the test itself is off */
    w->cfg.tiers[0].surge = 2;
    sg_engine_free(w->eng);
    assert_non_null(w->eng = sg_engine_new(&w->cfg));

    /* A greeting: 4 x 100, 2% refused by the MTA; then 250 more: 200 go. */
    for (i = 0; i < 4; i++) {
	assert_int_equal(send_msg(w, "gina", T0 + 60 + i, 98, 2, "", &tf),
			 SG_ACT_CONTINUE);
	assert_int_equal(tf, 0);
    }
    assert_int_equal(surge_now(w, "gina", T0 + 65, &r, &f), 1);
    assert_int_equal(r, 392);
    assert_int_equal(f, 8);
    assert_int_equal(send_msg(w, "gina", T0 + 70, 250, 0, "", &tf),
		     SG_ACT_CONTINUE);
    assert_int_equal(tf, 250 - (600 - 392));

    /* 10% refused by the MTA: the plain 300 an hour. */
    for (i = 0; i < 3; i++) {
	assert_int_equal(send_msg(w, "sam", T0 + 60 + i, 100, 10, "", &tf),
			 SG_ACT_CONTINUE);
	assert_int_equal(tf, 0);
    }
    assert_int_equal(send_msg(w, "sam", T0 + 70, 100, 0, "", &tf),
		     SG_ACT_CONTINUE);
    assert_int_equal(tf, 100);
    assert_int_equal(surge_now(w, "sam", T0 + 75, &r, &f), 0);
    assert_int_equal(f, 30);

    /* Clean at the MTA, but 20 of 200 bounced since: the plain limit. */
    for (i = 0; i < 2; i++) {
	snprintf(qid, sizeof(qid), "BB%d", i);
	assert_int_equal(send_msg(w, "bob", T0 + 60 + i, 100, 0, qid, &tf),
			 SG_ACT_CONTINUE);
    }
    for (i = 0; i < 20; i++) {
	snprintf(rcpt, sizeof(rcpt), "gone%d@remote.example", i);
	refuse(w, i % 2 ? "BB1" : "BB0", rcpt, T0 + 300, SG_DSN_MAILBOX, &out);
    }
    assert_int_equal(send_msg(w, "bob", T0 + 400, 200, 0, "", &tf),
		     SG_ACT_CONTINUE);
    assert_int_equal(tf, 100);

    /* Never past the longest window: 300/1h, 400/1d lets 400 through. */
    world_windows(&w->cfg.tiers[0].recipients, "300/1h, 400/1d");
    sg_engine_free(w->eng);
    assert_non_null(w->eng = sg_engine_new(&w->cfg));
    assert_int_equal(send_msg(w, "dora", T0 + 60, 250, 0, "", &tf),
		     SG_ACT_CONTINUE);
    assert_int_equal(send_msg(w, "dora", T0 + 61, 250, 0, "", &tf),
		     SG_ACT_CONTINUE);
    assert_int_equal(tf, 100);

    /* What support is told the tier can give: 2, 1 with one window. */
    assert_true(sg_tier_surge(&w->cfg.tiers[0]) == 2);
    assert_int_equal(sg_tier_surged_limit(&w->cfg.tiers[0], 3600), 400);
    assert_int_equal(sg_tier_surged_limit(&w->cfg.tiers[0], 86400), 400);
    assert_int_equal(sg_tier_surged_limit(&w->cfg.tiers[0], 60), 0);
    world_windows(&w->cfg.tiers[0].recipients, "300/1h, 1000/1d");
    assert_int_equal(sg_tier_surged_limit(&w->cfg.tiers[0], 3600), 600);
    assert_int_equal(sg_tier_surged_limit(&w->cfg.tiers[0], 86400), 1000);
    assert_int_equal(sg_tier_surged_limit(&w->cfg.tiers[1], 3600), 1000);
    w->cfg.tiers[1].surge = 2;			/* but 1000/1h alone */
    assert_true(sg_tier_surge(&w->cfg.tiers[1]) == 1);
    assert_true(sg_tier_surge(0) == 1);

    /* recipients_surge = 1: off. */
    w->cfg.tiers[0].surge = 1;
    sg_engine_free(w->eng);
    assert_non_null(w->eng = sg_engine_new(&w->cfg));
    assert_int_equal(send_msg(w, "otto", T0 + 60, 250, 0, "", &tf),
		     SG_ACT_CONTINUE);
    assert_int_equal(send_msg(w, "otto", T0 + 61, 250, 0, "", &tf),
		     SG_ACT_CONTINUE);
    assert_int_equal(tf, 200);
    assert_true(sg_tier_surge(&w->cfg.tiers[0]) == 1);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(test_recipient_limit, setup, teardown),
	cmocka_unit_test_setup_teardown(test_sliding_window, setup, teardown),
	cmocka_unit_test_setup_teardown(test_message_limit, setup, teardown),
	cmocka_unit_test_setup_teardown(test_tiers, setup, teardown),
	cmocka_unit_test_setup_teardown(test_quarantine_hold_and_lift, setup, teardown),
	cmocka_unit_test_setup_teardown(test_manual_quarantine_reject, setup, teardown),
	cmocka_unit_test_setup_teardown(test_recipient_ceiling, setup, teardown),
	cmocka_unit_test_setup_teardown(test_two_nodes_one_limit, setup, teardown),
	cmocka_unit_test_setup_teardown(test_tiers_kept_per_text, setup, teardown),
	cmocka_unit_test_setup_teardown(test_concurrent_messages_hold_the_limit,
					setup, teardown),
	cmocka_unit_test_setup_teardown(test_reserve_and_settle, setup, teardown),
	cmocka_unit_test_setup_teardown(test_reservation_expires, setup, teardown),
	cmocka_unit_test_setup_teardown(test_bounce_caps, setup, teardown),
	cmocka_unit_test_setup_teardown(test_expiry_and_round_trips, setup, teardown),
	cmocka_unit_test_setup_teardown(test_odd_logins, setup, teardown),
	cmocka_unit_test_setup_teardown(test_failure_test_quarantines, setup, teardown),
	cmocka_unit_test_setup_teardown(test_clean_bulk_tail_not_quarantined, setup, teardown),
	cmocka_unit_test_setup_teardown(test_feed_position, setup, teardown),
	cmocka_unit_test_setup_teardown(test_feed_journal_position, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_repeated_failure_counts_once, setup, teardown),
	cmocka_unit_test_setup_teardown(test_events, setup, teardown),
	cmocka_unit_test_setup_teardown(test_inspect, setup, teardown),
	cmocka_unit_test_setup_teardown(test_inspect_quarantine_and_lift, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_one_message_is_one_observation,
					setup, teardown),
	cmocka_unit_test_setup_teardown(test_failed_net_scales, setup, teardown),
	cmocka_unit_test_setup_teardown(test_rejected_net_scales, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_receiver_incident, setup, teardown),
	cmocka_unit_test_setup_teardown(test_score_kept_in_ten_thousandths,
					setup, teardown),
	cmocka_unit_test_setup_teardown(test_recipients_surge, setup, teardown),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
