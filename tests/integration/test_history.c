/*
 * NAME
 *	test_history - each account's own history against a real Redis
 * DESCRIPTION
 *	Run through with-redis.sh (a private redis-server, SG_REDIS). Days
 *	of simulated time are passed in; nothing sleeps. The attacks and the
 *	legitimate surges of issue 14: an account learns its home network
 *	over days; a contact-list phishing run from a network it never used
 *	is held to the day's room, and coming back later from that network
 *	teaches it nothing; a greeting to the whole address book from home
 *	is not limited at all; a traveller's normal mail from a new network
 *	passes, and the network is learnt; an account with nothing learnt
 *	yet, history = off, and a mangled profile are not judged. Support
 *	confirms a network (sg_desk_trust, subguardctl trust): the held
 *	mail goes through on its retry, and junk is refused before Redis.
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

#define DAY	86400.0
#define T0	(20415 * DAY)		/* a UTC midnight (2025-11-22) */
#define HOME	"192.0.2.17"
#define HOME2	"192.0.2.201"		/* the same /24: the same network */
#define THIEF	"203.0.113.9"
#define HOTEL	"2001:db8:77:1::5"

/* setup - one node, a tier whose windows never bind: history alone */
static int setup(void **state)
{
    struct world *w = calloc(1, sizeof(*w));
    struct sg_redis_params rp;
    struct sg_reply r = {0, 0};
    const char *flush[] = {"FLUSHALL"};
    size_t  flen[] = {8};
    char    err[256];

    assert_non_null(getenv("SG_REDIS"));
    sg_config_init(&w->cfg);
    w->cfg.ntiers = 1;
    memset(w->cfg.tiers, 0, sizeof(w->cfg.tiers[0]));
    strcpy(w->cfg.tiers[0].name, "default");
    assert_int_equal(sg_parse_windows("5000/1h", &w->cfg.tiers[0].recipients,
				      err, sizeof(err)), 0);
    memset(&rp, 0, sizeof(rp));
    rp.address = getenv("SG_REDIS");
    rp.timeout_ms = rp.connect_timeout_ms = 1000;
    rp.log = world_quiet_log;
    assert_non_null(w->redis = sg_redis_new(&rp, err, sizeof(err)));
    w->store = sg_redis_store(w->redis);
    assert_non_null(w->eng = sg_engine_new(&w->cfg));
    assert_int_equal(sg_redis_command(w->redis, 1, flush, flen, &r, err,
				      sizeof(err)), SG_STORE_OK);
    sg_reply_free(&r);
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

/* profile - the account's profile text (field p), "" if none */
static const char *profile(struct world *w, const char *login)
{
    static char out[512];
    char    key[128], err[256];
    const char *argv[3] = {"HGET", key, "p"};
    size_t  lens[3];
    struct sg_reply r = {0, 0};

    snprintf(key, sizeof(key), "subguard:{%s}:counters", login);
    lens[0] = 4, lens[1] = strlen(key), lens[2] = 1;
    assert_int_equal(sg_redis_command(w->redis, 3, argv, lens, &r, err,
				      sizeof(err)), SG_STORE_OK);
    snprintf(out, sizeof(out), "%s", r.n > 0 && r.v[0] ? r.v[0] : "");
    sg_reply_free(&r);
    return (out);
}

/* inspect - the account's state as support reads it (caller frees) */
static struct sg_inspect *inspect(struct world *w, const char *login,
				          double t)
{
    struct sg_inspect *in = calloc(1, sizeof(*in));
    char    err[256];

    assert_non_null(in);
    assert_int_equal(sg_engine_inspect(w->eng, &w->store, login, t, in, err,
				       sizeof(err)), 0);
    return (in);
}

/* send_qid - one message of n recipients from client at t, queue id qid;
 * how many the history limit tempfailed */
static int send_qid(struct world *w, const char *login, const char *client,
		            double t, int n, const char *qid, struct sg_msg *m)
{
    char    err[256];
    int     i, refused = 0;

    assert_int_equal(sg_engine_begin_from(w->eng, &w->store, m, login, client,
					  t, err, sizeof(err)),
		     SG_ACT_CONTINUE);
    for (i = 0; i < n; i++) {
	enum sg_action a = sg_engine_rcpt_at(w->eng, &w->store, m, 0, 0, t,
					     err, sizeof(err));

	assert_int_not_equal(a, SG_ACT_STORE_DOWN);
	if (a == SG_ACT_TEMPFAIL) {
	    assert_int_equal(m->limit, SG_LIMIT_HISTORY);
	    refused++;
	}
    }
    assert_int_not_equal(sg_engine_commit(w->eng, &w->store, m, qid, 1, t,
					  err, sizeof(err)),
			 SG_ACT_STORE_DOWN);
    return (refused);
}

/* send_from - the same without a queue id */
static int send_from(struct world *w, const char *login, const char *client,
		             double t, int n, struct sg_msg *m)
{
    return (send_qid(w, login, client, t, n, "", m));
}

/* live - days of ordinary mail from home: 3 messages of 5 a day */
static void live(struct world *w, const char *login, int from, int days)
{
    struct sg_msg m;
    int     d;

    for (d = from; d < from + days; d++) {
	assert_int_equal(send_from(w, login, HOME, T0 + d * DAY + 8 * 3600, 5,
				   &m), 0);
	assert_int_equal(send_from(w, login, HOME2, T0 + d * DAY + 13 * 3600,
				   5, &m), 0);
	assert_int_equal(send_from(w, login, HOME, T0 + d * DAY + 21 * 3600,
				   5, &m), 0);
    }
}

/* The home network is learnt: first seen, seen again 12 hours later. */
static void test_learn_home(void **state)
{
    struct world *w = *state;
    struct sg_msg m;
    int     refused;

    assert_int_equal(send_from(w, "anna", HOME, T0 + 8 * 3600, 5, &m), 0);
    assert_int_equal(m.hist_room, -1);		/* no profile yet */
    assert_non_null(strstr(profile(w, "anna"), "c00002-"));	/* learning */
    assert_int_equal(send_from(w, "anna", HOME2, T0 + 13 * 3600, 5, &m), 0);
    assert_non_null(strstr(profile(w, "anna"), "c00002-"));	/* 5h: not yet */
    assert_int_equal(send_from(w, "anna", HOME, T0 + 21 * 3600, 5, &m), 0);
    assert_non_null(strstr(profile(w, "anna"), "c00002."));	/* known */
    /* An account with nothing learnt yet is not judged. */
    assert_int_equal(send_from(w, "newbie", HOME, T0, 1, &m), 0);
    assert_int_equal(send_from(w, "newbie", THIEF, T0 + 60, 200, &m), 0);
    assert_int_equal(m.hist_room, -1);
    /*
     * A light user's one earlier place is no evidence against a second
     * (the home after the phone), and a profile's first day is not
     * judged: the office is learnt after the phone, not refused.
     */
    assert_int_equal(send_from(w, "light", HOME, T0 + 3600, 2, &m), 0);
    assert_int_equal(send_from(w, "light", THIEF, T0 + 2 * DAY, 200, &m), 0);
    assert_int_equal(m.hist_room, -1);
    assert_int_equal(send_from(w, "office", HOTEL, T0 + 3 * 3600, 1, &m), 0);
    assert_int_equal(send_from(w, "office", HOTEL, T0 + 16 * 3600, 1, &m), 0);
    assert_non_null(strstr(profile(w, "office"), "20010db80077."));
    assert_int_equal(send_from(w, "office", HOME, T0 + 17 * 3600, 100, &m), 0);
    assert_int_equal(m.hist_room, -1);
    /* The next day the account is judged: a thief meets the room. */
    refused = send_from(w, "office", THIEF, T0 + DAY + 3600, 200, &m);
    assert_int_equal(refused, 200 - (int) m.hist_limit);
    assert_true(m.hist_limit > 0 && m.hist_limit < 100);
}

/*
 * Contact-list phishing from a network the account never used: held to
 * the day's room; coming back 12 hours later and the next day teaches
 * the thief's network nothing. A greeting from home is not limited.
 */
static void test_phishing_and_greeting(void **state)
{
    struct world *w = *state;
    struct sg_msg m;
    int     refused;
    double  t = T0 + 10 * DAY + 10 * 3600;
    unsigned long limit;
    struct sg_inspect *in;
    char   *before;

    live(w, "anna", 0, 10);
    refused = send_from(w, "anna", THIEF, t, 200, &m);
    /* usual 15 a day, 10 days of 30 on the ramp: (30 + 4 * 15) * 2/3 */
    assert_int_equal(m.hist_limit, 60);
    assert_int_equal(m.hist_count, 0);
    assert_int_equal(refused, 200 - 60);
    assert_int_equal(m.hist_retry, 14 * 3600);
    assert_string_equal(m.net_text, "203.0.113.0/24");
    assert_non_null(strstr(profile(w, "anna"), "cb0071!"));
    limit = m.hist_limit;
    /* What support sees (subguardctl show): the profile, read only. */
    before = strdup(profile(w, "anna"));
    in = inspect(w, "anna", t + 60);
    assert_int_equal(in->hsince, (unsigned long) T0);
    assert_true(in->husual == 15.0);
    assert_int_equal(in->htoday, 60);
    assert_int_equal(in->htoday_new, 60);
    assert_int_equal(in->hroom, 60);
    assert_int_equal(in->nnets, 2);
    assert_string_equal(in->nets[0].text, "192.0.2.0/24");
    assert_string_equal(in->nets[0].state, "known");
    assert_int_equal(in->nets[0].at, (unsigned long) (T0 + 9 * DAY));
    assert_string_equal(in->nets[1].text, "203.0.113.0/24");
    assert_string_equal(in->nets[1].state, "refused");
    assert_int_equal(in->nets[1].at, (unsigned long) t);
    assert_string_equal(profile(w, "anna"), before);	/* read only */
    free(in);
    /* Later the same day: nothing left. */
    assert_int_equal(send_from(w, "anna", THIEF, t + 1800,
			       50, &m), 50);
    assert_int_equal(m.hist_count, limit);
    /* The next day, 24 hours on: a new day's room, the network not known. */
    refused = send_from(w, "anna", THIEF, t + DAY, 200, &m);
    assert_true(m.hist_room >= 0);
    assert_true(refused >= 200 - (int) m.hist_limit);
    assert_null(strstr(profile(w, "anna"), "cb0071."));
    /* A greeting from home to 350 contacts: not limited by history. */
    refused = send_from(w, "anna", HOME2, t + DAY + 3600, 350, &m);
    assert_int_equal(m.hist_room, -1);
    assert_int_equal(refused, 0);
    free(before);
}

/* A traveller's normal mail from a new network passes and is learnt. */
static void test_traveller(void **state)
{
    struct world *w = *state;
    struct sg_msg m;
    int     d;

    live(w, "tom", 0, 5);
    for (d = 5; d < 8; d++) {
	double  t = T0 + d * DAY;

	assert_int_equal(send_from(w, "tom", HOTEL, t + 9 * 3600, 8, &m), 0);
	assert_int_equal(send_from(w, "tom", HOTEL, t + 19 * 3600, 8, &m), 0);
    }
    assert_int_equal(m.hist_room, -1);		/* learnt on day 5's evening */
    assert_non_null(strstr(profile(w, "tom"), "20010db80077."));
    assert_non_null(strstr(profile(w, "tom"), "c00002."));	/* home kept */
}

/*
 * The attack on the room: a thief opens many connections at once from
 * his network, so that every message is in flight before any is
 * counted. The first holds the day's room while it lasts; the rest get
 * none, and all of them together get no more through than one message
 * would (the room, 60 here). Once they are committed the room is used
 * up: the next message gets none either.
 */
static void test_concurrent_new_network(void **state)
{
    struct world *w = *state;
    struct sg_msg m[6];
    char    err[256];
    double  t = T0 + 10 * DAY + 10 * 3600;
    int     i, j, accepted = 0;

    live(w, "rita", 0, 10);
    for (i = 0; i < 5; i++)
	assert_int_equal(sg_engine_begin_from(w->eng, &w->store, &m[i], "rita",
					      THIEF, t, err, sizeof(err)),
			 SG_ACT_CONTINUE);
    assert_int_equal(m[0].hist_room, 60);
    for (i = 1; i < 5; i++) {
	assert_int_equal(m[i].hist_room, 0);
	assert_int_equal(m[i].hist_count, 60);	/* held by the first */
    }
    for (j = 0; j < 60; j++)
	for (i = 0; i < 5; i++)
	    if (sg_engine_rcpt_at(w->eng, &w->store, &m[i], 0, 0, t, err,
				  sizeof(err)) == SG_ACT_CONTINUE)
		accepted++;
    assert_int_equal(accepted, 60);
    for (i = 0; i < 5; i++)
	assert_int_not_equal(sg_engine_commit(w->eng, &w->store, &m[i], "", 1,
					      t, err, sizeof(err)),
			     SG_ACT_STORE_DOWN);
    assert_int_equal(send_from(w, "rita", THIEF, t + 60, 100, &m[5]), 100);
    assert_int_equal(m[5].hist_room, 0);
    assert_int_equal(m[5].hist_count, 60);
}

/* xlast - the newest entry of the events stream, fields joined by spaces */
static const char *xlast(struct world *w)
{
    static char out[1024];
    const char *argv[] = {"XREVRANGE", "subguard:events", "+", "-", "COUNT",
	"1"};
    size_t  lens[6];
    struct sg_reply r = {0, 0};
    char    err[256];
    size_t  len = 0;
    int     i;

    for (i = 0; i < 6; i++)
	lens[i] = strlen(argv[i]);
    assert_int_equal(sg_redis_command(w->redis, 6, argv, lens, &r, err,
				      sizeof(err)), SG_STORE_OK);
    out[0] = 0;
    for (i = 0; i < r.n; i++)
	if (r.v[i])
	    len += snprintf(out + len, sizeof(out) - len, "%s ", r.v[i]);
    sg_reply_free(&r);
    return (out);
}

/*
 * The customer on holiday calls support: her greetings from the hotel
 * were held to the day's room. Support confirms the hotel's network and
 * the rest goes through on the client's retry, the same day; the record
 * says who and why. What support types is hostile input too: junk, a
 * prefix the history does not keep, and no history at all are refused
 * before Redis is asked.
 */
static void test_trust_network(void **state)
{
    struct world *w = *state;
    struct sg_msg m;
    struct sg_desk_trust tr;
    char    err[256], before[512];
    double  t = T0 + 10 * DAY + 10 * 3600;

    live(w, "tina", 0, 10);
    assert_int_equal(send_from(w, "tina", THIEF, t, 200, &m), 200 - 60);
    assert_int_equal(sg_desk_trust(w->eng, &w->store, "tina",
				   "203.0.113.0/24", "sam", "on holiday, "
				   "called from her hotel", t + 600, &tr,
				   err, sizeof(err)), 0);
    assert_string_equal(tr.network, "203.0.113.0/24");
    assert_string_equal(tr.was, "refused");	/* the room refused some */
    assert_int_equal(tr.known, 2);		/* home and the hotel */
    assert_non_null(strstr(profile(w, "tina"), "cb0071."));
    assert_non_null(strstr(xlast(w), "event trust login tina network "
			   "203.0.113.0/24 was refused by sam why on holiday"));
    /* The retry, 20 minutes on: all 140 through, no limit from history. */
    assert_int_equal(send_from(w, "tina", THIEF, t + 1200, 140, &m), 0);
    assert_int_equal(m.hist_room, -1);
    /* Again: known already; an address of the network does as well. */
    assert_int_equal(sg_desk_trust(w->eng, &w->store, "tina", "203.0.113.99",
				   "sam", "again", t + 1300, &tr, err,
				   sizeof(err)), 0);
    assert_string_equal(tr.was, "known");

    /* An account with no profile yet gets one that knows the network. */
    assert_int_equal(sg_desk_trust(w->eng, &w->store, "neo",
				   "2001:db8:77:1::5", "sam", "new customer",
				   t, &tr, err, sizeof(err)), 0);
    assert_string_equal(tr.was, "new");
    assert_string_equal(tr.network, "2001:db8:77::/48");
    assert_non_null(strstr(profile(w, "neo"), "20010db80077."));

    /* Refused before Redis: the profile is as it was. */
    snprintf(before, sizeof(before), "%s", profile(w, "tina"));
    assert_int_equal(sg_desk_trust(w->eng, &w->store, "tina", "junk", "sam",
				   "x", t, &tr, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "not an address"));
    assert_int_equal(sg_desk_trust(w->eng, &w->store, "tina", "10.0.0.0/8",
				   "sam", "x", t, &tr, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "/24"));
    assert_int_equal(sg_desk_trust(w->eng, &w->store, "tina",
				   "2001:db8::/32", "sam", "x", t, &tr, err,
				   sizeof(err)), 1);
    assert_int_equal(sg_desk_trust(w->eng, &w->store, "tina",
				   "203.0.113.0/24\n1.2.3.4", "sam", "x", t,
				   &tr, err, sizeof(err)), 1);
    assert_string_equal(profile(w, "tina"), before);
    w->cfg.history = 0;
    sg_engine_free(w->eng);
    assert_non_null(w->eng = sg_engine_new(&w->cfg));
    assert_int_equal(sg_desk_trust(w->eng, &w->store, "tina", "192.0.2.1",
				   "sam", "x", t, &tr, err, sizeof(err)), 1);
    assert_non_null(strstr(err, "history is off"));
    assert_string_equal(profile(w, "tina"), before);
}

/*
 * A quarantine and its lift keep what the account's history knows: the
 * customer's home network stays known, and a thief from a new network
 * is held to the room (restarted by the quarantine) at once, the same
 * day as the lift, not only from the next UTC day on.
 */
static void test_lift_keeps_history(void **state)
{
    struct world *w = *state;
    struct sg_msg m;
    struct sg_desk_lift lf;
    struct sg_outcome out;
    char    err[256], reason[256];
    double  t = T0 + 10 * DAY + 10 * 3600;

    live(w, "lara", 0, 10);
    assert_non_null(strstr(profile(w, "lara"), "c00002."));
    assert_int_equal(sg_desk_quarantine(w->eng, &w->store, "lara", "sam",
					"password stolen", t, reason,
					sizeof(reason), err, sizeof(err)), 0);
    /* A message while quarantined: the ramp restarts, home stays known. */
    (void) send_from(w, "lara", HOME, t + 60, 1, &m);
    assert_int_equal(sg_desk_lift(w->eng, &w->store, "lara", "sam",
				  "password changed", t + 600, &lf, err,
				  sizeof(err)), 0);
    assert_int_equal(lf.lifted, 1);
    assert_non_null(strstr(profile(w, "lara"), "c00002."));
    /* From home the same day: not limited; the home network still known. */
    assert_int_equal(send_from(w, "lara", HOME, t + 1200, 5, &m), 0);
    assert_non_null(strstr(profile(w, "lara"), "c00002."));
    /*
     * Later the same day a new network is held to the young room: usual
     * 15 a day, the ramp restarted a day back, (30 + 4 * 15) * (1/2 +
     * 1/60) = 46.
     */
    assert_int_equal(send_from(w, "lara", THIEF, t + 1800, 200, &m), 200 - 46);
    assert_int_equal(m.hist_limit, 46);
    /* And the next day. */
    assert_true(send_from(w, "lara", THIEF, t + DAY, 200, &m) > 0);
    assert_true(m.hist_room >= 0);
    assert_true(m.hist_limit > 0 && m.hist_limit < 200);

    /*
     * While quarantined the quarantine decides (mail is held for
     * support), not the history limit: a new network's mail is not
     * tempfailed, that day nor the next.
     */
    live(w, "mona", 0, 10);
    assert_int_equal(sg_desk_quarantine(w->eng, &w->store, "mona", "sam",
					"password stolen", t, reason,
					sizeof(reason), err, sizeof(err)), 0);
    assert_int_equal(send_from(w, "mona", THIEF, t + 60, 200, &m), 0);
    assert_int_equal(m.hist_room, -1);
    assert_int_equal(send_from(w, "mona", THIEF, t + DAY, 200, &m), 0);
    assert_int_equal(m.hist_room, -1);
    assert_int_equal(sg_desk_lift(w->eng, &w->store, "mona", "sam",
				  "password changed", t + DAY + 600, &lf, err,
				  sizeof(err)), 0);
    /* Lifted: judged again at once (its held mail used the day's room). */
    assert_int_equal(send_from(w, "mona", THIEF, t + DAY + 1200, 10, &m), 10);
    assert_int_equal(m.limit, SG_LIMIT_HISTORY);

    /*
     * Lifted the plain way (redis-cli DEL of the quarantine key), and the
     * first to see it is a bounce read back by the feed: that write
     * starts the hash afresh too, and keeps the profile and its expiry.
     */
    live(w, "lena", 0, 10);
    assert_int_equal(sg_desk_quarantine(w->eng, &w->store, "lena", "sam",
					"password stolen", t, reason,
					sizeof(reason), err, sizeof(err)), 0);
    (void) send_qid(w, "lena", HOME, t + 60, 1, "LENA1", &m);
    world_redis(w, 0, "DEL subguard:{lena}:quarantine");
    assert_int_equal(sg_engine_outcome(w->eng, &w->store, "LENA1",
				       "gone@remote.example", SG_DSN_MAILBOX,
				       1, t + 120, 0, 0, &out, err,
				       sizeof(err)), 1);
    assert_non_null(strstr(profile(w, "lena"), "c00002."));
    assert_true(atol(world_redis(w, 0, "TTL subguard:{lena}:counters"))
		> 20 * 86400);
}

/* history = off, and a mangled profile: nothing is limited, no error. */
static void test_off_and_mangled(void **state)
{
    struct world *w = *state;
    struct sg_msg m;
    char    err[256];
    const char *argv[4] = {"HSET", "subguard:{eve}:counters", "p",
	"zz\377 9 c00002.!! -- 1e999"};
    size_t  lens[4];
    struct sg_reply r = {0, 0};
    struct sg_inspect *in;

    for (int i = 0; i < 4; i++)
	lens[i] = strlen(argv[i]);
    live(w, "eve", 0, 3);
    assert_int_equal(sg_redis_command(w->redis, 4, argv, lens, &r, err,
				      sizeof(err)), SG_STORE_OK);
    sg_reply_free(&r);
    assert_int_equal(send_from(w, "eve", THIEF, T0 + 3 * DAY, 100, &m), 0);
    assert_int_equal(m.hist_room, -1);		/* a fresh profile */
    assert_non_null(strstr(profile(w, "eve"), "cb0071-"));

    /* A key that is no network is left out of what support is shown. */
    live(w, "ivy", 0, 3);
    argv[1] = "subguard:{ivy}:counters";
    argv[3] = "hga 5 a 0 0 abc.1 c00002.2 fffffff-3 c00003!4";
    for (int i = 0; i < 4; i++)
	lens[i] = strlen(argv[i]);
    assert_int_equal(sg_redis_command(w->redis, 4, argv, lens, &r, err,
				      sizeof(err)), SG_STORE_OK);
    sg_reply_free(&r);
    in = inspect(w, "ivy", T0 + 3 * DAY);
    assert_int_equal(in->nnets, 2);
    assert_string_equal(in->nets[0].text, "192.0.2.0/24");
    assert_string_equal(in->nets[1].text, "192.0.3.0/24");
    assert_string_equal(in->nets[1].state, "refused");
    free(in);

    live(w, "otto", 0, 3);
    w->cfg.history = 0;
    sg_engine_free(w->eng);
    assert_non_null(w->eng = sg_engine_new(&w->cfg));
    assert_int_equal(send_from(w, "otto", THIEF, T0 + 3 * DAY, 300, &m), 0);
    assert_int_equal(m.hist_room, -1);
    assert_null(strstr(profile(w, "otto"), "cb0071"));	/* not written */
    in = inspect(w, "otto", T0 + 3 * DAY);	/* history off: nothing */
    assert_int_equal(in->hsince, 0);
    assert_int_equal(in->hroom, -1);
    assert_int_equal(in->nnets, 0);
    free(in);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(test_learn_home, setup, teardown),
	cmocka_unit_test_setup_teardown(test_phishing_and_greeting, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_traveller, setup, teardown),
	cmocka_unit_test_setup_teardown(test_concurrent_new_network, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_trust_network, setup, teardown),
	cmocka_unit_test_setup_teardown(test_lift_keeps_history, setup,
					teardown),
	cmocka_unit_test_setup_teardown(test_off_and_mangled, setup, teardown),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
