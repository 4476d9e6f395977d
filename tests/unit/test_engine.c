/*
 * NAME
 *	test_engine - engine decisions and wording, without a store
 * DESCRIPTION
 *	What the engine asks engine.lua and what it makes of the answers is
 *	tested against a real Redis in tests/integration/test_store.c. Here:
 *	the in-memory recipient decisions, the texts, and the shape of the
 *	arguments built from the tier table, checked by a recording store
 *	that answers like engine.lua's documented reply.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sg_engine.h"
#include "sg_engine_proto.h"
#include "sg_logparse.h"

struct recorder {
    int     calls;
    int     nkeys, argc;
    char    argv[64][160];
    const char *const *answer;
    int     nanswer;
};

/* record - a store that keeps the request and returns a fixed answer */
static int record(void *ctx, enum sg_script s, int nkeys, int argc,
		          const char *const *argv, const size_t *lens,
		          struct sg_reply *r, char *err, size_t errlen)
{
    struct recorder *rec = ctx;
    int     i;

    (void) s;
    (void) lens;
    (void) err;
    (void) errlen;
    rec->calls++;
    rec->nkeys = nkeys;
    rec->argc = argc;
    for (i = 0; i < argc && i < 64; i++)
	snprintf(rec->argv[i], sizeof(rec->argv[i]), "%s", argv[i]);
    r->n = rec->nanswer;
    r->v = calloc(r->n, sizeof(char *));
    for (i = 0; i < r->n; i++)
	r->v[i] = strdup(rec->answer[i]);
    return (SG_STORE_OK);
}

static void config(struct sg_config *cfg)
{
    char    err[128];

    sg_config_init(cfg);
    cfg->ntiers = 1;
    memset(&cfg->tiers[0], 0, sizeof(cfg->tiers[0]));
    strcpy(cfg->tiers[0].name, "default");
    assert_int_equal(sg_parse_windows("100/1m, 1000/1h", &cfg->tiers[0].recipients,
				      err, sizeof(err)), 0);
    assert_int_equal(sg_parse_windows("20/1h", &cfg->tiers[0].q_rejected,
				      err, sizeof(err)), 0);
}

static void test_begin_arguments(void **state)
{
    static const char *const ok[] = {
	"ok", "default", "", "2", "1000", "3600", "60", "0", "0", "0", "",
	"998", "5", "40", "-1", "0", "0", "0",
    };
    struct sg_config cfg;
    struct sg_engine *e;
    struct recorder rec = {.answer = ok, .nanswer = SG_BEGIN_NREPLY};
    struct sg_store store = {record, &rec, 0};
    struct sg_msg m;
    char    err[128];

    (void) state;
    config(&cfg);
    e = sg_engine_new(&cfg);
    assert_int_equal(sg_engine_begin(e, &store, &m, "Bob", 1000.5, err,
				     sizeof(err)), SG_ACT_CONTINUE);
    assert_int_equal(rec.nkeys, 4);
    assert_string_equal(rec.argv[0], "subguard:{bob}:tier");
    assert_string_equal(rec.argv[1], "subguard:{bob}:quarantine");
    assert_string_equal(rec.argv[2], "subguard:{bob}:counters");
    assert_string_equal(rec.argv[3], "subguard:{bob}:resv");
    assert_string_equal(rec.argv[4], "begin");
    assert_string_equal(rec.argv[5], "1000.500");
    assert_string_equal(rec.argv[6], "default");
    assert_string_equal(rec.argv[7], "0");	/* hold: no refusal at MAIL */
    /* The reservation: an id of this node and message, chunk, ttl. */
    assert_string_equal(rec.argv[8], m.resv_id);
    assert_true(strlen(m.resv_id) > 17 && m.resv_id[16] == '.');
    assert_string_equal(rec.argv[9], "20");
    assert_string_equal(rec.argv[10], "7200");
    /* No client address: no network; history's numbers, by default. */
    assert_string_equal(rec.argv[11], "");
    assert_string_equal(rec.argv[12], "30 4 2592000 43200 2592000");
    /* The tier: its name, then its numbers as one JSON argument: five
     * lists of [limit, seconds], then the failure test (off here) and
     * recipients_surge (a tier set up by hand here: 0, off). */
    assert_int_equal(rec.argc, 13 + 2);
    assert_string_equal(rec.argv[13], "default");
    assert_string_equal(rec.argv[14], "{\"m\":[],\"r\":[[100,60],[1000,3600]],"
			"\"qr\":[],\"qx\":[[20,3600]],\"qf\":[],"
			"\"d\":[0.000000,0.000000,0.000000,0.000000,"
			"0.000000],\"su\":0.000}");
    assert_int_equal(m.budget, 2);
    assert_int_equal(m.quarantine_room, 40);
    assert_int_equal(sg_engine_rcpt(&m, 0, 0), SG_ACT_CONTINUE);
    assert_int_equal(sg_engine_rcpt(&m, 1, "<Old.Friend@Example.ORG>"),
		     SG_ACT_CONTINUE);			/* the MTA's */
    {
	char    tag[SG_TAG_LEN];

	sg_rcpt_tag("old.friend@example.org", tag);
	assert_string_equal(m.tags, tag);	/* case and <> ignored */
	assert_int_equal(m.ntags, 1);
    }
    assert_int_equal(sg_engine_rcpt(&m, 0, 0), SG_ACT_CONTINUE);
    assert_int_equal(sg_engine_rcpt(&m, 0, 0), SG_ACT_TEMPFAIL);
    assert_int_equal(m.accepted, 2);
    assert_int_equal(m.rejected, 1);
    assert_int_equal(m.refused, 1);

    /* Commit: four keys, counts, and only this message's tier. */
    {
	static const char *const held[] = {"hold", "1", "why", "3", "lift"};

	rec.answer = held;
	rec.nanswer = 5;
	assert_int_equal(sg_engine_commit(e, &store, &m, "ABC123", 1, 1001, err,
					  sizeof(err)), SG_ACT_HOLD);
#define CA(i)	rec.argv[SG_COMMIT_NKEYS + (i)]
	assert_int_equal(rec.nkeys, 7);
	assert_string_equal(rec.argv[3], "subguard:qid:ABC123");
	assert_string_equal(rec.argv[4], "subguard:events");
	assert_string_equal(rec.argv[5], "subguard:{bob}:resv");
	assert_string_equal(rec.argv[SG_COMMIT_K_INDEX], "subguard:quarantined");
	assert_string_equal(CA(SG_COMMIT_A_OP), "commit");
	assert_string_equal(CA(SG_COMMIT_A_ACCEPTED), "2");
	assert_string_equal(CA(SG_COMMIT_A_REJECTED), "1");
	assert_string_equal(CA(SG_COMMIT_A_REFUSED), "1");
	assert_string_equal(CA(SG_COMMIT_A_MESSAGE), "1");
	assert_string_equal(CA(SG_COMMIT_A_TAGS), m.tags);
	assert_string_equal(CA(SG_COMMIT_A_TIER_NAME), "default");
	assert_string_equal(CA(SG_COMMIT_A_RESV_ID), m.resv_id);	/* settled */
	assert_string_equal(CA(SG_COMMIT_A_NET), "");	/* no network */
	assert_string_equal(CA(SG_COMMIT_A_HISTORY),
			    "30 4 2592000 43200 2592000");
	assert_string_equal(CA(SG_COMMIT_A_DEFAULT_TIER), "default");
	assert_int_equal(rec.argc, SG_COMMIT_NKEYS + SG_COMMIT_NARGS);
#undef CA
	assert_int_equal(m.newly_quarantined, 1);
	assert_string_equal(m.qreason, "why");
	assert_int_equal(m.held, 3);
	assert_int_equal(m.seen.what, SG_SEEN_LIFT);
	/* A second commit of the same message does nothing. */
	assert_int_equal(sg_engine_commit(e, &store, &m, "ABC123", 1, 1001, err,
					  sizeof(err)), SG_ACT_CONTINUE);
	assert_int_equal(rec.calls, 2);
    }
    sg_engine_free(e);
}

/*
 * Past the reserved chunk a recipient asks for more: RESERVE, then one
 * "reserve" call with the message's id and tier, and the budget grows by
 * what was granted; a short grant stops further calls.
 */
static void test_reserve(void **state)
{
    static const char *const ok[] = {
	"ok", "default", "", "2", "1000", "3600", "60", "0", "0", "0", "",
	"998", "5", "-1", "-1", "0", "0", "0",
    };
    static const char *const one[] = {"1"};
    struct sg_config cfg;
    struct sg_engine *e;
    struct recorder rec = {.answer = ok, .nanswer = SG_BEGIN_NREPLY};
    struct sg_store store = {record, &rec, 0};
    struct sg_msg m;
    char    err[128], id[48];

    (void) state;
    config(&cfg);
    cfg.reserve_recipients = 2;			/* begin's grant is a full chunk */
    e = sg_engine_new(&cfg);
    assert_int_equal(sg_engine_begin(e, &store, &m, "bob", 1, err, sizeof(err)),
		     SG_ACT_CONTINUE);
    snprintf(id, sizeof(id), "%s", m.resv_id);
    assert_int_equal(m.resv_more, 1);
    assert_int_equal(sg_engine_rcpt(&m, 0, 0), SG_ACT_CONTINUE);
    assert_int_equal(sg_engine_rcpt(&m, 0, 0), SG_ACT_CONTINUE);
    assert_int_equal(sg_engine_rcpt(&m, 0, 0), SG_ACT_RESERVE);
    assert_int_equal(m.accepted, 2);		/* undecided: not counted */
    assert_int_equal(m.refused, 0);
    rec.answer = one;
    rec.nanswer = 1;
    assert_int_equal(sg_engine_rcpt_at(e, &store, &m, 0, 0, 2, err, sizeof(err)),
		     SG_ACT_CONTINUE);
    assert_int_equal(rec.calls, 2);
    assert_int_equal(rec.nkeys, SG_RESERVE_NKEYS);
    assert_int_equal(rec.argc, SG_RESERVE_NKEYS + SG_RESERVE_NARGS);
    assert_string_equal(rec.argv[SG_RESERVE_K_COUNTERS], "subguard:{bob}:counters");
    assert_string_equal(rec.argv[SG_RESERVE_K_RESV], "subguard:{bob}:resv");
#define RA(i) (rec.argv[SG_RESERVE_NKEYS + (i)])
    assert_string_equal(RA(SG_RESERVE_A_OP), "reserve");
    assert_string_equal(RA(SG_RESERVE_A_NOW), "2.000");
    assert_string_equal(RA(SG_RESERVE_A_RESV_ID), id);
    assert_string_equal(RA(SG_RESERVE_A_WANT), "2");
    assert_string_equal(RA(SG_RESERVE_A_RESV_TTL), "7200");
    assert_string_equal(RA(SG_RESERVE_A_TIER_NAME), "default");
#undef RA
    assert_int_equal(m.budget, 3);
    assert_int_equal(m.accepted, 3);
    assert_int_equal(m.resv_more, 0);		/* 1 of 2: the room is used */
    /* No more calls: the next recipient is tempfailed in memory. */
    assert_int_equal(sg_engine_rcpt_at(e, &store, &m, 0, 0, 3, err, sizeof(err)),
		     SG_ACT_TEMPFAIL);
    assert_int_equal(rec.calls, 2);
    assert_int_equal(m.refused, 1);
    sg_engine_free(e);
}

/*
 * Which commits may wait until after the MTA has its reply: only those
 * whose answer cannot quarantine, hold or refuse this message.
 */
static void test_deferrable(void **state)
{
    struct sg_msg m;

    (void) state;
    memset(&m, 0, sizeof(m));
    assert_int_equal(sg_engine_commit_deferrable(&m, 1), 1);	/* not begun */
    m.begun = 1;
    m.quarantine_room = -1;
    m.status = SG_BEGIN_OK;
    m.accepted = 1000;
    assert_int_equal(sg_engine_commit_deferrable(&m, 1), 1);	/* clean */
    m.quarantine_room = 999;
    assert_int_equal(sg_engine_commit_deferrable(&m, 1), 0);	/* past the room */
    m.quarantine_room = 1000;
    assert_int_equal(sg_engine_commit_deferrable(&m, 1), 1);	/* up to it */
    m.rejected = 1;
    assert_int_equal(sg_engine_commit_deferrable(&m, 1), 0);	/* a failure */
    assert_int_equal(sg_engine_commit_deferrable(&m, 0), 1);	/* abandoned */
    m.rejected = 0;
    m.status = SG_BEGIN_HOLD;
    assert_int_equal(sg_engine_commit_deferrable(&m, 1), 0);	/* quarantined */
    m.committed = 1;
    assert_int_equal(sg_engine_commit_deferrable(&m, 1), 1);	/* done */
}

/*
 * Each account's history: begin_from passes the client's network; a room
 * begin reports binds before the windows' budget, the refused recipients
 * are told the history text, and commit marks the network "!".
 */
static void test_history(void **state)
{
    static const char *const ok[SG_BEGIN_NREPLY] = {
	"ok", "default", "", "20", "1000", "3600", "60", "0", "0", "0", "",
	"3", "1", "-1", "2", "45", "43", "3600",
    };
    static const char *const done[] = {"accept", "0", "", "0", ""};
    struct sg_config cfg;
    struct sg_engine *e;
    struct recorder rec = {.answer = ok, .nanswer = SG_BEGIN_NREPLY};
    struct sg_store store = {record, &rec, 0};
    struct sg_msg m;
    char    err[128], text[512];

    (void) state;
    config(&cfg);
    e = sg_engine_new(&cfg);
    assert_int_equal(sg_engine_begin_from(e, &store, &m, "bob",
					  "::ffff:192.0.2.77", 1000, err,
					  sizeof(err)), SG_ACT_CONTINUE);
    assert_string_equal(rec.argv[4 + SG_BEGIN_A_NET], "c00002");
    assert_string_equal(m.net_text, "192.0.2.0/24");
    assert_int_equal(m.hist_room, 2);
    assert_int_equal(m.hist_limit, 45);
    assert_int_equal(m.hist_count, 43);
    assert_int_equal(sg_engine_rcpt(&m, 0, 0), SG_ACT_CONTINUE);
    assert_int_equal(sg_engine_rcpt(&m, 1, "gone@example.org"),
		     SG_ACT_CONTINUE);		/* the MTA's: not counted */
    assert_int_equal(sg_engine_rcpt(&m, 0, 0), SG_ACT_CONTINUE);
    assert_int_equal(sg_engine_rcpt(&m, 0, 0), SG_ACT_TEMPFAIL);
    assert_int_equal(m.limit, SG_LIMIT_HISTORY);
    assert_int_equal(m.refused, 1);
    sg_engine_text(e, &m, SG_ACT_TEMPFAIL, text, sizeof(text));
    assert_non_null(strstr(text, "limited to\n45 recipients a day"));
    assert_non_null(strstr(text, "in 60 minutes"));
    rec.answer = done;
    rec.nanswer = SG_COMMIT_NREPLY;
    assert_int_equal(sg_engine_commit(e, &store, &m, "Q", 1, 1001, err,
				      sizeof(err)), SG_ACT_CONTINUE);
    assert_string_equal(rec.argv[SG_COMMIT_NKEYS + SG_COMMIT_A_NET],
			"!c00002");
    assert_string_equal(rec.argv[SG_COMMIT_NKEYS + SG_COMMIT_A_ACCEPTED], "2");

    /* Not an IP address: no network, never limited by history. */
    rec.answer = ok;
    rec.nanswer = SG_BEGIN_NREPLY;
    assert_int_equal(sg_engine_begin_from(e, &store, &m, "bob",
					  "/run/sock\r\n", 2000, err,
					  sizeof(err)), SG_ACT_CONTINUE);
    assert_string_equal(rec.argv[4 + SG_BEGIN_A_NET], "");
    /* history = off: no numbers, whatever a reply would say. */
    cfg.history = 0;
    sg_engine_free(e);
    e = sg_engine_new(&cfg);
    assert_int_equal(sg_engine_begin_from(e, &store, &m, "bob", "192.0.2.1",
					  3000, err, sizeof(err)),
		     SG_ACT_CONTINUE);
    assert_string_equal(rec.argv[4 + SG_BEGIN_A_HISTORY], "");
    sg_engine_free(e);
}

/* A reply of the wrong shape is a store error, never a crash. */
static void test_bad_reply(void **state)
{
    static const char *const junk[] = {"ok"};
    struct sg_config cfg;
    struct sg_engine *e;
    struct recorder rec = {.answer = junk, .nanswer = 1};
    struct sg_store store = {record, &rec, 0};
    struct sg_msg m;
    char    err[128];

    (void) state;
    config(&cfg);
    e = sg_engine_new(&cfg);
    assert_int_equal(sg_engine_begin(e, &store, &m, "bob", 1, err, sizeof(err)),
		     SG_ACT_STORE_DOWN);
    assert_int_equal(m.store_rc, SG_STORE_ERROR);
    assert_non_null(strstr(err, "want 18"));
    /* Not begun: recipients pass, nothing is committed. */
    assert_int_equal(sg_engine_rcpt(&m, 0, 0), SG_ACT_CONTINUE);
    assert_int_equal(sg_engine_commit(e, &store, &m, "Q", 1, 1, err,
				      sizeof(err)), SG_ACT_CONTINUE);
    assert_int_equal(rec.calls, 1);
    sg_engine_free(e);
}

/* engine.lua's seen field, parsed once into struct sg_seen. */
static void test_seen_parse(void **state)
{
    static const struct {
	const char *text;
	enum sg_seen_what what;
	const char *old_tier, *new_tier;
    }       t[] = {
	{"", SG_SEEN_NONE, "", ""},
	{"lift", SG_SEEN_LIFT, "", ""},
	{"tier default bulk", SG_SEEN_TIER, "default", "bulk"},
	{"tier a b", SG_SEEN_TIER, "a", "b"},
	{"tier default", SG_SEEN_NONE, "", ""},		/* one name */
	{"tier a b c", SG_SEEN_NONE, "", ""},		/* three */
	{"tier  b", SG_SEEN_NONE, "", ""},		/* empty old */
	{"tier a ", SG_SEEN_NONE, "", ""},		/* empty new */
	{"lifted", SG_SEEN_NONE, "", ""},
	{"Lift", SG_SEEN_NONE, "", ""},
	{"tierx a b", SG_SEEN_NONE, "", ""},
    };
    struct sg_seen seen;
    char    longer[3 * SG_NAME_MAX];
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
	memset(&seen, 'x', sizeof(seen));
	sg_seen_parse(t[i].text, &seen);
	assert_int_equal(seen.what, t[i].what);
	assert_string_equal(seen.old_tier, t[i].old_tier);
	assert_string_equal(seen.new_tier, t[i].new_tier);
    }
    /* A name too long for the fields is not cut short: not understood. */
    memset(longer, 'n', sizeof(longer));
    memcpy(longer, "tier a ", 7);
    longer[sizeof(longer) - 1] = 0;
    sg_seen_parse(longer, &seen);
    assert_int_equal(seen.what, SG_SEEN_NONE);
}

/* begin's status words, parsed once into enum sg_begin_status. */
static void test_begin_status_parse(void **state)
{
    static const struct {
	const char *text;
	int     rc;
	enum sg_begin_status want;
    }       t[] = {
	{"ok", 0, SG_BEGIN_OK},
	{"hold", 0, SG_BEGIN_HOLD},
	{"messages", 0, SG_BEGIN_MESSAGES},
	{"quarantined", 0, SG_BEGIN_QUARANTINED},
	{"", -1, SG_BEGIN_OK},
	{"OK", -1, SG_BEGIN_OK},
	{"holding", -1, SG_BEGIN_OK},
    };
    enum sg_begin_status st;
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
	st = SG_BEGIN_OK;
	assert_int_equal(sg_begin_status_parse(t[i].text, &st), t[i].rc);
	assert_int_equal(st, t[i].want);
    }
}

/*
 * Unknown statuses and actions are malformed replies (store trouble);
 * each field lands where the contract names it.
 */
static void test_reply_fields(void **state)
{
    static const char *const weird[SG_BEGIN_NREPLY] = {
	"later", "default", "", "2", "1000", "3600", "60", "0", "0", "0", "",
	"998", "5", "40", "-1", "0", "0", "0",
    };
    static const char *const full[SG_BEGIN_NREPLY] = {
	[SG_BEGIN_R_STATUS] = "hold", [SG_BEGIN_R_TIER] = "default",
	[SG_BEGIN_R_UNKNOWN_TIER] = "gold", [SG_BEGIN_R_BUDGET] = "7",
	[SG_BEGIN_R_RCPT_LIMIT] = "100", [SG_BEGIN_R_RCPT_SECS] = "60",
	[SG_BEGIN_R_RCPT_RETRY] = "30", [SG_BEGIN_R_MSG_LIMIT] = "9",
	[SG_BEGIN_R_MSG_SECS] = "3600", [SG_BEGIN_R_MSG_RETRY] = "120",
	[SG_BEGIN_R_QUARANTINE_REASON] = "manual",
	[SG_BEGIN_R_RCPTS_IN_WINDOW] = "93",
	[SG_BEGIN_R_MSGS_IN_WINDOW] = "4",
	[SG_BEGIN_R_QUARANTINE_ROOM] = "-1",
	[SG_BEGIN_R_HIST_ROOM] = "-1", [SG_BEGIN_R_HIST_LIMIT] = "0",
	[SG_BEGIN_R_HIST_COUNT] = "0", [SG_BEGIN_R_HIST_RETRY] = "0",
    };
    static const char *const commit[SG_COMMIT_NREPLY] = {
	[SG_COMMIT_R_ACTION] = "refuse",
	[SG_COMMIT_R_NEWLY_QUARANTINED] = "0",
	[SG_COMMIT_R_REASON] = "",
	[SG_COMMIT_R_HELD] = "50",
	[SG_COMMIT_R_SEEN] = "tier bulk default",
    };
    static const char *const junk[SG_COMMIT_NREPLY] = {"keep", "0", "", "0",
    ""};
    struct sg_config cfg;
    struct sg_engine *e;
    struct recorder rec = {.answer = weird, .nanswer = SG_BEGIN_NREPLY};
    struct sg_store store = {record, &rec, 0};
    struct sg_msg m;
    char    err[128];

    (void) state;
    config(&cfg);
    e = sg_engine_new(&cfg);
    assert_int_equal(sg_engine_begin(e, &store, &m, "bob", 1, err, sizeof(err)),
		     SG_ACT_STORE_DOWN);
    assert_non_null(strstr(err, "unknown status \"later\""));
    assert_int_equal(m.begun, 0);

    rec.answer = full;
    assert_int_equal(sg_engine_begin(e, &store, &m, "bob", 1, err, sizeof(err)),
		     SG_ACT_CONTINUE);
    assert_int_equal(m.status, SG_BEGIN_HOLD);
    assert_string_equal(m.tier, "default");
    assert_string_equal(m.unknown_tier, "gold");
    assert_int_equal(m.budget, 7);
    assert_int_equal(m.rcpt_limit, 100);
    assert_int_equal(m.rcpt_secs, 60);
    assert_int_equal(m.rcpt_retry, 30);
    assert_int_equal(m.msg_limit, 9);
    assert_int_equal(m.msg_secs, 3600);
    assert_int_equal(m.msg_retry, 120);
    assert_string_equal(m.qreason, "manual");
    assert_int_equal(m.rcpts_in_window, 93);
    assert_int_equal(m.msgs_in_window, 4);
    assert_int_equal(m.quarantine_room, -1);
    assert_int_equal(sg_engine_commit_deferrable(&m, 1), 0);	/* hold */

    sg_engine_rcpt(&m, 0, 0);
    rec.answer = commit;
    rec.nanswer = SG_COMMIT_NREPLY;
    assert_int_equal(sg_engine_commit(e, &store, &m, "Q1", 1, 2, err,
				      sizeof(err)), SG_ACT_QUARANTINE_REFUSE);
    assert_int_equal(m.held, 50);
    assert_string_equal(m.qreason, "manual");	/* "" keeps begin's */
    assert_int_equal(m.seen.what, SG_SEEN_TIER);
    assert_string_equal(m.seen.old_tier, "bulk");
    assert_string_equal(m.seen.new_tier, "default");
    assert_int_equal(rec.nkeys, SG_COMMIT_NKEYS);
    assert_int_equal(rec.argc, SG_COMMIT_NKEYS + SG_COMMIT_NARGS);
    assert_string_equal(rec.argv[SG_COMMIT_NKEYS + SG_COMMIT_A_OP], "commit");
    assert_string_equal(rec.argv[SG_COMMIT_NKEYS + SG_COMMIT_A_QID], "Q1");
    assert_string_equal(rec.argv[SG_COMMIT_NKEYS + SG_COMMIT_A_HOLD], "1");
    assert_string_equal(rec.argv[SG_COMMIT_NKEYS + SG_COMMIT_A_HOLD_MAX],
			"50");

    rec.answer = full;
    rec.nanswer = SG_BEGIN_NREPLY;
    assert_int_equal(sg_engine_begin(e, &store, &m, "bob", 3, err,
				     sizeof(err)), SG_ACT_CONTINUE);
    sg_engine_rcpt(&m, 0, 0);
    rec.answer = junk;
    rec.nanswer = SG_COMMIT_NREPLY;
    assert_int_equal(sg_engine_commit(e, &store, &m, "Q2", 1, 3, err,
				      sizeof(err)), SG_ACT_STORE_DOWN);
    assert_int_equal(m.store_rc, SG_STORE_ERROR);
    assert_non_null(strstr(err, "unknown action \"keep\""));
    sg_engine_free(e);
}

/* The outcome call names its keys, and the account keys' suffixes. */
static void test_outcome_arguments(void **state)
{
    static const char *const bounced[SG_OUTCOME_NREPLY] = {
	[SG_OUTCOME_R_LOGIN] = "bob", [SG_OUTCOME_R_NEWLY_QUARANTINED] = "1",
	[SG_OUTCOME_R_REASON] = "why", [SG_OUTCOME_R_SEEN] = "lift",
	[SG_OUTCOME_R_INCIDENT_DOMAIN] = "big.example",
	[SG_OUTCOME_R_INCIDENT_STATE] = "start",
	[SG_OUTCOME_R_INCIDENT_LOGINS] = "12",
    };
    struct sg_config cfg;
    struct sg_engine *e;
    struct recorder rec = {.answer = bounced, .nanswer = SG_OUTCOME_NREPLY};
    struct sg_store store = {record, &rec, 0};
    struct sg_outcome out;
    const char *a;
    char    err[128];

    (void) state;
    config(&cfg);
    e = sg_engine_new(&cfg);
    assert_int_equal(sg_engine_outcome(e, &store, "Q9", "<x@y>", SG_DSN_MAILBOX,
				       2, 5, "mx1", "1:2:3", &out, err,
				       sizeof(err)), 1);
    assert_int_equal(rec.nkeys, SG_OUTCOME_NKEYS);
    assert_string_equal(rec.argv[SG_OUTCOME_K_QID], "subguard:qid:Q9");
    assert_string_equal(rec.argv[SG_OUTCOME_K_POSITION], "subguard:feed:mx1");
    assert_string_equal(rec.argv[SG_OUTCOME_K_EVENTS], "subguard:events");
#define ARG(i) (rec.argv[SG_OUTCOME_NKEYS + (i)])
    assert_string_equal(ARG(SG_OUTCOME_A_OP), "outcome");
    assert_string_equal(ARG(SG_OUTCOME_A_CLASS), "mailbox");
    assert_string_equal(ARG(SG_OUTCOME_A_NRCPT), "2");
    assert_string_equal(ARG(SG_OUTCOME_A_POSITION), "1:2:3");
    assert_string_equal(ARG(SG_OUTCOME_A_PREFIX), "subguard");
    assert_string_equal(ARG(SG_OUTCOME_A_SUFFIX_TIER), "tier");
    assert_string_equal(ARG(SG_OUTCOME_A_SUFFIX_QUARANTINE), "quarantine");
    assert_string_equal(ARG(SG_OUTCOME_A_SUFFIX_COUNTERS), "counters");
    assert_string_equal(ARG(SG_OUTCOME_A_TIERS), "default");
    /* The cause's weight, the domain, and the incident's numbers. */
    assert_string_equal(ARG(SG_OUTCOME_A_WEIGHT), "1.00");
    assert_string_equal(ARG(SG_OUTCOME_A_DOMAIN), "y");
    assert_string_equal(ARG(SG_OUTCOME_A_INCIDENT_LOGINS), "10");
    assert_string_equal(ARG(SG_OUTCOME_A_INCIDENT_WINDOW), "600");
    assert_string_equal(ARG(SG_OUTCOME_A_INCIDENT_QUIET), "1800");
    a = ARG(SG_OUTCOME_A_TAG);
    assert_int_equal(strlen(a), SG_TAG_LEN - 1);
#undef ARG
    assert_string_equal(out.login, "bob");
    assert_int_equal(out.newly_quarantined, 1);
    assert_string_equal(out.reason, "why");
    assert_int_equal(out.seen.what, SG_SEEN_LIFT);
    assert_string_equal(out.incident_domain, "big.example");
    assert_string_equal(out.incident_state, "start");
    assert_int_equal(out.incident_logins, 12);
    rec.nanswer = 3;
    assert_int_equal(sg_engine_outcome(e, &store, "Q9", 0, SG_DSN_MAILBOX, 1,
				       5, 0, 0, &out, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "want 7"));
    sg_engine_free(e);
}

static void test_texts(void **state)
{
    struct sg_config cfg;
    struct sg_engine *e;
    struct sg_msg m;
    char    buf[1024];

    (void) state;
    config(&cfg);
    snprintf(cfg.text_recipients, sizeof(cfg.text_recipients),
	     "max %%{limit} per %%{window}, retry in %%{retry} %%{nope} 100%%");
    snprintf(cfg.text_quarantine, sizeof(cfg.text_quarantine),
	     "%%{login} held: %%{reason}\ncall %%{support}");
    snprintf(cfg.support_contact, sizeof(cfg.support_contact), "+1 555 0100");
    e = sg_engine_new(&cfg);
    memset(&m, 0, sizeof(m));
    strcpy(m.login, "bob");
    m.limit = SG_LIMIT_RECIPIENTS;
    m.rcpt_limit = 100;
    m.rcpt_secs = 60;
    m.rcpt_retry = 30;
    sg_engine_text(e, &m, SG_ACT_TEMPFAIL, buf, sizeof(buf));
    assert_string_equal(buf, "max 100 per minute, retry in 1 minute %{nope} 100%");
    m.rcpt_secs = 900;
    m.rcpt_retry = 5400;
    sg_engine_text(e, &m, SG_ACT_TEMPFAIL, buf, sizeof(buf));
    assert_string_equal(buf, "max 100 per 15 minutes, retry in 90 minutes %{nope} 100%");
    sg_engine_text(e, &m, SG_ACT_HOLD, buf, sizeof(buf));
    assert_string_equal(buf, "bob held: manual\ncall +1 555 0100");
    /* Truncation keeps the buffer a string. */
    sg_engine_text(e, &m, SG_ACT_HOLD, buf, 8);
    assert_string_equal(buf, "bob hel");
    sg_engine_free(e);
}

static void test_human_duration(void **state)
{
    static const struct {
	unsigned long secs;
	const char *want;
    }       t[] = {
	{0, "1 minute"}, {1, "1 minute"}, {60, "1 minute"}, {61, "2 minutes"},
	{5400, "90 minutes"}, {5401, "2 hours"}, {86400, "24 hours"},
	{129600, "36 hours"}, {129601, "2 days"}, {604800, "7 days"},
    };
    char    buf[32];
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
	assert_string_equal(sg_human_duration(t[i].secs, buf, sizeof(buf)),
			    t[i].want);
}

/* The failure test's numbers, worked out by hand for 2% against 15%. */
static void test_detection_numbers(void **state)
{
    struct sg_tier t;
    double  d[4];

    (void) state;
    memset(&t, 0, sizeof(t));
    t.normal_failure = 0.02;
    t.spam_failure = 0.15;
    t.false_alarm = 0.001;
    t.missed_alarm = 0.01;
    sg_detection_numbers(&t, d);
    assert_true(fabs(d[0] - 2.0149) < 1e-3);	/* ln 7.5 */
    assert_true(fabs(d[1] + 0.1424) < 1e-3);	/* ln(0.85/0.98) */
    assert_true(fabs(d[2] - 6.8977) < 1e-3);	/* ln(0.99/0.001) */
    assert_true(fabs(d[3] + 4.6042) < 1e-3);	/* ln(0.01/0.999) */
    /* Nonsense turns the test off rather than inverting it. */
    t.spam_failure = 0.01;
    sg_detection_numbers(&t, d);
    assert_true(d[0] == 0 && d[2] == 0);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_begin_arguments),
	cmocka_unit_test(test_reserve),
	cmocka_unit_test(test_bad_reply),
	cmocka_unit_test(test_history),
	cmocka_unit_test(test_deferrable),
	cmocka_unit_test(test_seen_parse),
	cmocka_unit_test(test_begin_status_parse),
	cmocka_unit_test(test_reply_fields),
	cmocka_unit_test(test_outcome_arguments),
	cmocka_unit_test(test_texts),
	cmocka_unit_test(test_human_duration),
	cmocka_unit_test(test_detection_numbers),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
