/*
 * NAME
 *	sg_engine 3
 * SUMMARY
 *	per-message decisions: limits, tiers, quarantine
 * DESCRIPTION
 *	See sg_engine.h. This file builds the arguments of engine.lua from a
 *	configuration (once: the tier table does not change until reload),
 *	runs a message through begin and commit, reads their answers into
 *	named fields once (sg_engine_proto.h names every place), and words
 *	what the customer is told. Outcomes, feed positions and inspect are
 *	in sg_account.c.
 * DIAGNOSTICS
 *	Store failures come back as SG_ACT_STORE_DOWN with a reason in err;
 *	a malformed answer from the script is treated the same way.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "sg_engine_impl.h"

#define SG_HELD_TTL	(30 * 86400)	/* held-id list outlives a hold queue */

/* push_arg - append one argument to the tier table */
static int push_arg(struct sg_engine *e, int *cap, const char *text)
{
    char  **n;

    if (e->ntarg == *cap) {
	*cap = *cap ? 2 * *cap : 16;
	if ((n = realloc(e->targ, *cap * sizeof(*n))) == 0)
	    return (-1);
	e->targ = n;
    }
    if ((e->targ[e->ntarg] = strdup(text)) == 0)
	return (-1);
    e->ntarg++;
    return (0);
}

/*
 * tier_spec - one tier's numbers as one JSON argument, which engine.lua
 * turns into its tables in one cjson.decode (less than half of what
 * parsing a list of numbers in Lua cost): each list a list of
 * [limit, seconds], "d" the failure test's lf, ls, upper, lower and
 * spam_failure, "su" recipients_surge.
 */
static void tier_spec(const struct sg_tier *t, char *buf, size_t len)
{
    static const char *const name[5] = {"m", "r", "qr", "qx", "qf"};
    const struct sg_windows *lists[5] = {
	&t->messages, &t->recipients, &t->q_recipients, &t->q_rejected,
	&t->q_failed,
    };
    double  d[4];
    size_t  n = 0;
    int     l, j;

    n += snprintf(buf + n, len - n, "{");
    for (l = 0; l < 5 && n < len; l++) {
	n += snprintf(buf + n, len - n, "\"%s\":[", name[l]);
	for (j = 0; j < lists[l]->n && n < len; j++)
	    n += snprintf(buf + n, len - n, "%s[%lu,%lu]", j ? "," : "",
			  lists[l]->w[j].limit, lists[l]->w[j].seconds);
	if (n < len)
	    n += snprintf(buf + n, len - n, "],");
    }
    sg_detection_numbers(t, d);
    if (n < len)
	snprintf(buf + n, len - n, "\"d\":[%.6f,%.6f,%.6f,%.6f,%.6f],"
		 "\"su\":%.3f}", d[0], d[1], d[2], d[3], t->spam_failure,
		 t->surge);
}

/* sg_detection_numbers - the failure test's lf, ls, upper, lower */
void    sg_detection_numbers(const struct sg_tier *t, double d[4])
{
    double  p0 = t->normal_failure, p1 = t->spam_failure;
    double  a = t->false_alarm, b = t->missed_alarm;

    /*
     * Wald's test of "failure ratio p0" against "p1": each failure adds
     * ln(p1/p0), each good recipient ln((1-p1)/(1-p0)); decide at
     * ln((1-b)/a) and ln(b/(1-a)).
     */
    memset(d, 0, 4 * sizeof(d[0]));
    if (p0 <= 0 || p1 <= p0 || p1 >= 1 || a <= 0 || a >= 1 || b <= 0
	|| b >= 1)
	return;					/* test off */
    d[0] = log(p1 / p0);
    d[1] = log((1 - p1) / (1 - p0));
    d[2] = log((1 - b) / a);
    d[3] = log(b / (1 - a));
}

/*
 * node_id - 16 random hex digits naming this process's reservations, so
 * that nodes sharing one Redis never take each other's ids
 */
static void node_id(char *buf, size_t len)
{
    unsigned char r[8];
    size_t  i;

    if (getrandom(r, sizeof(r), GRND_NONBLOCK) != (ssize_t) sizeof(r)) {
	unsigned long x = (unsigned long) time(0) * 2654435761u
	    ^ (unsigned long) getpid() << 20;

	for (i = 0; i < sizeof(r); i++, x >>= 8)
	    r[i] = (unsigned char) x;
    }
    for (i = 0; i < sizeof(r) && 2 * i + 2 < len; i++)
	snprintf(buf + 2 * i, 3, "%02x", r[i]);
}

/* resv_id - a reservation id unique to this message: node, counter */
static void resv_id(const struct sg_engine *e, char *buf, size_t len)
{
    static unsigned long counter;
    unsigned long n = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);

    snprintf(buf, len, "%s.%lx", e->node, n);
}

/* chunk - recipients reserved at a time */
static unsigned long chunk(const struct sg_config *cfg)
{
    return (cfg->reserve_recipients ? cfg->reserve_recipients : 1);
}

/* sg_engine_new - prepare the tier table once per configuration */
struct sg_engine *sg_engine_new(const struct sg_config *cfg)
{
    struct sg_engine *e;
    char    spec[5 * (1 + 2 * SG_MAX_WINDOWS) * 24 + 6 * 24];
    int     cap = 0, i;

    if ((e = calloc(1, sizeof(*e))) == 0)
	return (0);
    e->cfg = cfg;
    e->tdefault = 0;
    node_id(e->node, sizeof(e->node));
    if (cfg->history)
	snprintf(e->hist, sizeof(e->hist), "%lu %lu %lu %lu %lu",
		 cfg->history_floor, cfg->history_factor, cfg->history_ramp,
		 cfg->history_learn, cfg->history_keep);

    /*
     * Two arguments a tier, its name and its numbers in one string: Redis
     * turns every argument into a Lua string, and the script parses only
     * the tier it needs.
     */
    for (i = 0; i < cfg->ntiers; i++) {
	if (strcmp(cfg->tiers[i].name, cfg->default_tier) == 0)
	    e->tdefault = i;
	e->toff[i] = e->ntarg;
	tier_spec(cfg->tiers + i, spec, sizeof(spec));
	if (push_arg(e, &cap, cfg->tiers[i].name) < 0
	    || push_arg(e, &cap, spec) < 0) {
	    sg_engine_free(e);
	    return (0);
	}
	e->tlen[i] = 2;
    }
    return (e);
}

/* sg_engine_free - release */
void    sg_engine_free(struct sg_engine *e)
{
    int     i;

    if (e == 0)
	return;
    for (i = 0; i < e->ntarg; i++)
	free(e->targ[i]);
    free(e->targ);
    free(e);
}

/* sg_engine_config - the configuration the engine was made for */
const struct sg_config *sg_engine_config(const struct sg_engine *e)
{
    return (e->cfg);
}

/* sg_engine_call - run engine.lua with fixed arguments, then TIERS */
int     sg_engine_call(const struct sg_engine *e, const struct sg_store *store,
		               int nkeys, int nfixed, const char **fixed,
		               int tiers, struct sg_reply *reply, char *err,
		               size_t errlen)
{
    const char **argv;
    int     ntiers = tiers ? e->ntarg : 0;
    int     argc = nfixed + ntiers, i, rc;

    if ((argv = malloc(argc * sizeof(*argv))) == 0) {
	snprintf(err, errlen, "out of memory");
	return (SG_STORE_ERROR);
    }
    for (i = 0; i < nfixed; i++)
	argv[i] = fixed[i];
    for (i = 0; i < ntiers; i++)
	argv[nfixed + i] = e->targ[i];
    rc = store->eval(store->ctx, SG_SCRIPT_ENGINE, nkeys, argc, argv, 0,
		     reply, err, errlen);
    free(argv);
    return (rc);
}

/* sg_reply_ulong - a reply field as a number; clamps junk to 0 */
unsigned long sg_reply_ulong(const struct sg_reply *r, int i)
{
    long    v = strtol(r->v[i], 0, 10);

    return (v < 0 ? 0 : (unsigned long) v);
}

/* sg_reply_copy - a reply field into a fixed buffer */
void    sg_reply_copy(char *dst, size_t len, const struct sg_reply *r, int i)
{
    snprintf(dst, len, "%s", r->v[i]);
}

/* sg_reply_check - the reply has the fields the contract names */
int     sg_reply_check(struct sg_reply *r, int want, const char *op,
		               char *err, size_t errlen)
{
    if (r->n == want)
	return (0);
    snprintf(err, errlen, "engine.lua %s: %d fields, want %d", op, r->n, want);
    sg_reply_free(r);
    return (-1);
}

/* Begin's status words (SG_BEGIN_R_STATUS), by enum sg_begin_status. */
static const char *const begin_status[] = {
    [SG_BEGIN_OK] = "ok",
    [SG_BEGIN_HOLD] = "hold",
    [SG_BEGIN_MESSAGES] = "messages",
    [SG_BEGIN_QUARANTINED] = "quarantined",
};

/* sg_begin_status_parse - a status word into its enum */
int     sg_begin_status_parse(const char *text, enum sg_begin_status *st)
{
    size_t  i;

    for (i = 0; i < sizeof(begin_status) / sizeof(begin_status[0]); i++) {
	if (strcmp(text, begin_status[i]) == 0) {
	    *st = (enum sg_begin_status) i;
	    return (0);
	}
    }
    return (-1);
}

/* sg_seen_parse - "lift", "tier OLD NEW" or "" into a struct sg_seen */
void    sg_seen_parse(const char *text, struct sg_seen *seen)
{
    const char *old, *sp;

    memset(seen, 0, sizeof(*seen));
    if (strcmp(text, "lift") == 0) {
	seen->what = SG_SEEN_LIFT;
	return;
    }
    if (strncmp(text, "tier ", 5) != 0)
	return;
    /* Tier names are words (sg_config.c): one space parts them. */
    old = text + 5;
    if ((sp = strchr(old, ' ')) == 0 || sp == old || sp[1] == 0
	|| strchr(sp + 1, ' ') != 0
	|| (size_t) (sp - old) >= sizeof(seen->old_tier)
	|| strlen(sp + 1) >= sizeof(seen->new_tier))
	return;
    seen->what = SG_SEEN_TIER;
    memcpy(seen->old_tier, old, sp - old);
    seen->old_tier[sp - old] = 0;
    strcpy(seen->new_tier, sp + 1);
}

/* read_begin - begin's reply into the message; -1 if malformed */
static int read_begin(struct sg_msg *m, struct sg_reply *r, char *err,
		              size_t errlen)
{
    if (sg_reply_check(r, SG_BEGIN_NREPLY, SG_OP_BEGIN, err, errlen) < 0)
	return (-1);
    if (sg_begin_status_parse(r->v[SG_BEGIN_R_STATUS], &m->status) < 0) {
	snprintf(err, errlen, "engine.lua begin: unknown status \"%.32s\"",
		 r->v[SG_BEGIN_R_STATUS]);
	sg_reply_free(r);
	return (-1);
    }
    sg_reply_copy(m->tier, sizeof(m->tier), r, SG_BEGIN_R_TIER);
    sg_reply_copy(m->unknown_tier, sizeof(m->unknown_tier), r,
		  SG_BEGIN_R_UNKNOWN_TIER);
    m->budget = strtol(r->v[SG_BEGIN_R_BUDGET], 0, 10);
    m->rcpt_limit = sg_reply_ulong(r, SG_BEGIN_R_RCPT_LIMIT);
    m->rcpt_secs = sg_reply_ulong(r, SG_BEGIN_R_RCPT_SECS);
    m->rcpt_retry = sg_reply_ulong(r, SG_BEGIN_R_RCPT_RETRY);
    m->msg_limit = sg_reply_ulong(r, SG_BEGIN_R_MSG_LIMIT);
    m->msg_secs = sg_reply_ulong(r, SG_BEGIN_R_MSG_SECS);
    m->msg_retry = sg_reply_ulong(r, SG_BEGIN_R_MSG_RETRY);
    sg_reply_copy(m->qreason, sizeof(m->qreason), r,
		  SG_BEGIN_R_QUARANTINE_REASON);
    m->rcpts_in_window = sg_reply_ulong(r, SG_BEGIN_R_RCPTS_IN_WINDOW);
    m->msgs_in_window = sg_reply_ulong(r, SG_BEGIN_R_MSGS_IN_WINDOW);
    m->quarantine_room = strtol(r->v[SG_BEGIN_R_QUARANTINE_ROOM], 0, 10);
    m->hist_room = strtol(r->v[SG_BEGIN_R_HIST_ROOM], 0, 10);
    m->hist_limit = sg_reply_ulong(r, SG_BEGIN_R_HIST_LIMIT);
    m->hist_count = sg_reply_ulong(r, SG_BEGIN_R_HIST_COUNT);
    m->hist_retry = sg_reply_ulong(r, SG_BEGIN_R_HIST_RETRY);
    if (m->hist_room < -1)
	m->hist_room = 0;
    sg_reply_free(r);
    return (0);
}

/* sg_engine_begin - at MAIL FROM, the client's address unknown */
enum sg_action sg_engine_begin(const struct sg_engine *e,
			               const struct sg_store *store,
			               struct sg_msg *m, const char *raw_login,
			               double now, char *err, size_t errlen)
{
    return (sg_engine_begin_from(e, store, m, raw_login, 0, now, err,
				 errlen));
}

/* sg_engine_begin_from - at MAIL FROM, from a client address */
enum sg_action sg_engine_begin_from(const struct sg_engine *e,
				            const struct sg_store *store,
				            struct sg_msg *m,
				            const char *raw_login,
				            const char *client, double now,
				            char *err, size_t errlen)
{
    const struct sg_config *cfg = e->cfg;
    char    keys[SG_BEGIN_NKEYS][SG_KEY_MAX], tnow[32], rcpts[24], ttl[24];
    const char *argv[SG_CALL_MAX], **arg = argv + SG_BEGIN_NKEYS;
    struct sg_reply r = {0, 0};

    memset(m, 0, sizeof(*m));
    m->budget = -1;
    m->quarantine_room = -1;
    m->hist_room = -1;
    err[0] = 0;
    m->login_form = sg_login_normalise(raw_login, cfg->login_case,
				       m->login, sizeof(m->login));
    if (m->login_form == SG_LOGIN_EMPTY)
	return (SG_ACT_IGNORE);
    if (sg_account_key(keys[SG_BEGIN_K_TIER], SG_KEY_MAX, cfg->key_prefix,
		       m->login, SG_AKEY_TIER) < 0
	|| sg_account_key(keys[SG_BEGIN_K_QUARANTINE], SG_KEY_MAX,
			  cfg->key_prefix, m->login, SG_AKEY_QUARANTINE) < 0
	|| sg_account_key(keys[SG_BEGIN_K_COUNTERS], SG_KEY_MAX,
			  cfg->key_prefix, m->login, SG_AKEY_COUNTERS) < 0
	|| sg_account_key(keys[SG_BEGIN_K_RESV], SG_KEY_MAX,
			  cfg->key_prefix, m->login, SG_AKEY_RESV) < 0) {
	snprintf(err, errlen, "key too long");
	m->store_rc = SG_STORE_ERROR;
	return (SG_ACT_STORE_DOWN);
    }
    snprintf(tnow, sizeof(tnow), "%.3f", now);
    argv[SG_BEGIN_K_TIER] = keys[SG_BEGIN_K_TIER];
    argv[SG_BEGIN_K_QUARANTINE] = keys[SG_BEGIN_K_QUARANTINE];
    argv[SG_BEGIN_K_COUNTERS] = keys[SG_BEGIN_K_COUNTERS];
    argv[SG_BEGIN_K_RESV] = keys[SG_BEGIN_K_RESV];
    resv_id(e, m->resv_id, sizeof(m->resv_id));
    snprintf(rcpts, sizeof(rcpts), "%lu", chunk(cfg));
    snprintf(ttl, sizeof(ttl), "%lu", cfg->reserve_ttl);
    arg[SG_BEGIN_A_OP] = SG_OP_BEGIN;
    arg[SG_BEGIN_A_NOW] = tnow;
    arg[SG_BEGIN_A_DEFAULT_TIER] = cfg->default_tier;
    arg[SG_BEGIN_A_REFUSE_QUARANTINED] =
	cfg->quarantine_action == SG_QACT_HOLD ? "0" : "1";
    arg[SG_BEGIN_A_RESV_ID] = m->resv_id;
    arg[SG_BEGIN_A_RESV_RCPTS] = rcpts;
    arg[SG_BEGIN_A_RESV_TTL] = ttl;
    (void) sg_net_key(client, m->net, m->net_text, sizeof(m->net_text));
    arg[SG_BEGIN_A_NET] = m->net;
    arg[SG_BEGIN_A_HISTORY] = e->hist;
    if ((m->store_rc = sg_engine_call(e, store, SG_BEGIN_NKEYS,
				      SG_BEGIN_NKEYS + SG_BEGIN_A_TIERS, argv,
				      1, &r, err, errlen)) != SG_STORE_OK)
	return (SG_ACT_STORE_DOWN);
    if (read_begin(m, &r, err, errlen) < 0) {
	m->store_rc = SG_STORE_ERROR;
	return (SG_ACT_STORE_DOWN);
    }
    m->begun = 1;
    /* A full chunk: the window may hold more for a long message. */
    m->resv_more = m->budget >= 0 && (unsigned long) m->budget >= chunk(cfg);
    switch (m->status) {
    case SG_BEGIN_QUARANTINED:
	m->committed = 1;			/* nothing more to count */
	m->resv_id[0] = 0;			/* nothing was reserved */
	return (SG_ACT_QUARANTINE_REFUSE);
    case SG_BEGIN_MESSAGES:
	m->limit = SG_LIMIT_MESSAGES;
	m->committed = 1;
	m->resv_id[0] = 0;
	return (SG_ACT_TEMPFAIL);
    default:
	return (SG_ACT_CONTINUE);
    }
}

/* sg_rcpt_tag - FNV-1a of the address without <>, case folded, in hex */
void    sg_rcpt_tag(const char *rcpt, char tag[SG_TAG_LEN])
{
    unsigned h = 2166136261u;
    const unsigned char *cp = (const unsigned char *) (rcpt ? rcpt : "");

    for (; *cp; cp++) {
	if (*cp == '<' || *cp == '>' || *cp == ' ')
	    continue;
	h = (h ^ (*cp >= 'A' && *cp <= 'Z' ? *cp + 32 : *cp)) * 16777619u;
    }
    snprintf(tag, SG_TAG_LEN, "%08x", h);
}

/* sg_engine_rcpt - one recipient, decided against the budget from begin */
enum sg_action sg_engine_rcpt(struct sg_msg *m, int mta_rejected,
			              const char *rcpt)
{
    if (!m->begun)
	return (SG_ACT_CONTINUE);
    if (mta_rejected) {
	m->rejected++;
	if (rcpt && m->ntags < SG_TAGS_MAX) {
	    char    tag[SG_TAG_LEN];
	    size_t  n = strlen(m->tags);

	    sg_rcpt_tag(rcpt, tag);
	    snprintf(m->tags + n, sizeof(m->tags) - n, "%s%s", n ? " " : "", tag);
	    m->ntags++;
	}
	return (SG_ACT_CONTINUE);
    }
    /* The history's room binds before the windows' budget is asked for. */
    if (m->hist_room >= 0 && (long) m->accepted >= m->hist_room) {
	m->refused++;
	m->limit = SG_LIMIT_HISTORY;
	return (SG_ACT_TEMPFAIL);
    }
    if (m->budget >= 0 && (long) m->accepted >= m->budget) {
	if (m->resv_more)
	    return (SG_ACT_RESERVE);		/* counted once decided */
	m->refused++;
	m->limit = SG_LIMIT_RECIPIENTS;
	return (SG_ACT_TEMPFAIL);
    }
    m->accepted++;
    return (SG_ACT_CONTINUE);
}

/* tier_index - the engine's tier of a name, or the default tier */
static int tier_index(const struct sg_engine *e, const char *name)
{
    int     i;

    for (i = 0; i < e->cfg->ntiers; i++)
	if (strcmp(e->cfg->tiers[i].name, name) == 0)
	    return (i);
    return (e->tdefault);
}

/* sg_engine_reserve - more recipients for a message, if there is room */
enum sg_action sg_engine_reserve(const struct sg_engine *e,
			                 const struct sg_store *store,
			                 struct sg_msg *m, double now, char *err,
			                 size_t errlen)
{
    const struct sg_config *cfg = e->cfg;
    char    keys[SG_RESERVE_NKEYS][SG_KEY_MAX], tnow[32], want[24], ttl[24];
    const char *argv[SG_RESERVE_NKEYS + SG_RESERVE_NARGS];
    const char **arg = argv + SG_RESERVE_NKEYS;
    struct sg_reply r = {0, 0};
    unsigned long granted, ask;
    int     t = tier_index(e, m->tier);

    err[0] = 0;
    m->resv_more = 0;
    if (e->tlen[t] != 2
	|| sg_account_key(keys[SG_RESERVE_K_COUNTERS], SG_KEY_MAX,
			  cfg->key_prefix, m->login, SG_AKEY_COUNTERS) < 0
	|| sg_account_key(keys[SG_RESERVE_K_RESV], SG_KEY_MAX,
			  cfg->key_prefix, m->login, SG_AKEY_RESV) < 0) {
	snprintf(err, errlen, "key too long");
	m->store_rc = SG_STORE_ERROR;
	return (SG_ACT_STORE_DOWN);
    }
    /*
     * Ask for as many again as the message holds: a message of N
     * recipients makes about log2(N / reserve_recipients) calls.
     */
    ask = m->budget > 0 && (unsigned long) m->budget > chunk(cfg) ?
	(unsigned long) m->budget : chunk(cfg);
    snprintf(tnow, sizeof(tnow), "%.3f", now);
    snprintf(want, sizeof(want), "%lu", ask);
    snprintf(ttl, sizeof(ttl), "%lu", cfg->reserve_ttl);
    argv[SG_RESERVE_K_COUNTERS] = keys[SG_RESERVE_K_COUNTERS];
    argv[SG_RESERVE_K_RESV] = keys[SG_RESERVE_K_RESV];
    arg[SG_RESERVE_A_OP] = SG_OP_RESERVE;
    arg[SG_RESERVE_A_NOW] = tnow;
    arg[SG_RESERVE_A_RESV_ID] = m->resv_id;
    arg[SG_RESERVE_A_WANT] = want;
    arg[SG_RESERVE_A_RESV_TTL] = ttl;
    arg[SG_RESERVE_A_TIER_NAME] = e->targ[e->toff[t]];
    arg[SG_RESERVE_A_TIER_SPEC] = e->targ[e->toff[t] + 1];
    if ((m->store_rc = sg_engine_call(e, store, SG_RESERVE_NKEYS,
				      SG_RESERVE_NKEYS + SG_RESERVE_NARGS,
				      argv, 0, &r, err, errlen))
	!= SG_STORE_OK)
	return (SG_ACT_STORE_DOWN);
    if (sg_reply_check(&r, SG_RESERVE_NREPLY, SG_OP_RESERVE, err, errlen) < 0) {
	m->store_rc = SG_STORE_ERROR;
	return (SG_ACT_STORE_DOWN);
    }
    granted = sg_reply_ulong(&r, SG_RESERVE_R_GRANTED);
    sg_reply_free(&r);
    if (granted > ask)
	granted = ask;
    m->budget += (long) granted;
    m->resv_more = granted == ask;
    return (SG_ACT_CONTINUE);
}

/* sg_engine_rcpt_at - one recipient, with more room asked for if needed */
enum sg_action sg_engine_rcpt_at(const struct sg_engine *e,
			                 const struct sg_store *store,
			                 struct sg_msg *m, int mta_rejected,
			                 const char *rcpt, double now, char *err,
			                 size_t errlen)
{
    enum sg_action act = sg_engine_rcpt(m, mta_rejected, rcpt);

    if (act != SG_ACT_RESERVE)
	return (act);
    if (sg_engine_reserve(e, store, m, now, err, errlen) == SG_ACT_STORE_DOWN)
	return (SG_ACT_STORE_DOWN);
    return (sg_engine_rcpt(m, mta_rejected, rcpt));
}

/* commit_keys - the commit call's keys; -1 if one does not fit */
static int commit_keys(const struct sg_config *cfg, const struct sg_msg *m,
		               const char *qid, struct sg_commit *c)
{
    const char *prefix = cfg->key_prefix;
    int     k;

    if (sg_account_key(c->keys[SG_COMMIT_K_QUARANTINE], SG_KEY_MAX, prefix,
		       m->login, SG_AKEY_QUARANTINE) < 0
	|| sg_account_key(c->keys[SG_COMMIT_K_COUNTERS], SG_KEY_MAX, prefix,
			  m->login, SG_AKEY_COUNTERS) < 0
	|| sg_account_key(c->keys[SG_COMMIT_K_HELD], SG_KEY_MAX, prefix,
			  m->login, SG_AKEY_HELD) < 0
	|| sg_key_qid(c->keys[SG_COMMIT_K_QID], SG_KEY_MAX, prefix, qid) < 0
	|| sg_key_events(c->keys[SG_COMMIT_K_EVENTS], SG_KEY_MAX, prefix) < 0
	|| sg_account_key(c->keys[SG_COMMIT_K_RESV], SG_KEY_MAX, prefix,
			  m->login, SG_AKEY_RESV) < 0
	|| sg_key_index(c->keys[SG_COMMIT_K_INDEX], SG_KEY_MAX, prefix) < 0)
	return (-1);
    for (k = 0; k < SG_COMMIT_NKEYS; k++)
	c->argv[k] = c->keys[k];
    return (0);
}

/* sg_engine_commit_prepare - the commit call for a message, not run */
int     sg_engine_commit_prepare(const struct sg_engine *e, struct sg_msg *m,
				         const char *qid, int eom, int replied,
				         double now, struct sg_commit *c,
				         char *err, size_t errlen)
{
    const struct sg_config *cfg = e->cfg;
    const char **arg = c->argv + SG_COMMIT_NKEYS;
    int     message = eom && m->accepted > 0;
    int     t;

    err[0] = 0;
    c->argc = 0;
    if (!m->begun || m->committed)
	return (0);
    m->committed = 1;
    if (!message && m->rejected == 0 && m->refused == 0 && !m->resv_id[0])
	return (0);				/* nothing worth a round trip */
    if (qid == 0)
	qid = "";
    t = tier_index(e, m->tier);
    if (e->tlen[t] != 2 || commit_keys(cfg, m, qid, c) < 0) {
	snprintf(err, errlen, e->tlen[t] != 2 ? "no tier" : "key too long");
	m->store_rc = SG_STORE_ERROR;
	return (-1);
    }
    snprintf(c->now, sizeof(c->now), "%.3f", now);
    snprintf(c->accepted, sizeof(c->accepted), "%u", message ? m->accepted : 0);
    snprintf(c->rejected, sizeof(c->rejected), "%u", m->rejected);
    snprintf(c->refused, sizeof(c->refused), "%u", m->refused);
    snprintf(c->hold_max, sizeof(c->hold_max), "%lu", cfg->hold_max);
    snprintf(c->qid_ttl, sizeof(c->qid_ttl), "%lu", cfg->queue_id_ttl);
    snprintf(c->held_ttl, sizeof(c->held_ttl), "%d", SG_HELD_TTL);
    arg[SG_COMMIT_A_OP] = SG_OP_COMMIT;
    arg[SG_COMMIT_A_NOW] = c->now;
    arg[SG_COMMIT_A_LOGIN] = m->login;
    /* The queue id is the tail of its key: no copy of its own. */
    arg[SG_COMMIT_A_QID] = c->keys[SG_COMMIT_K_QID]
	+ strlen(c->keys[SG_COMMIT_K_QID]) - strlen(qid);
    arg[SG_COMMIT_A_ACCEPTED] = c->accepted;
    arg[SG_COMMIT_A_REJECTED] = c->rejected;
    arg[SG_COMMIT_A_REFUSED] = c->refused;
    arg[SG_COMMIT_A_MESSAGE] = message ? "1" : "0";
    /* A message the MTA has accepted already is never listed as held. */
    arg[SG_COMMIT_A_HOLD] = !replied && cfg->quarantine_action == SG_QACT_HOLD ?
	"1" : "0";
    arg[SG_COMMIT_A_HOLD_MAX] = c->hold_max;
    arg[SG_COMMIT_A_QID_TTL] = c->qid_ttl;
    arg[SG_COMMIT_A_HELD_TTL] = c->held_ttl;
    arg[SG_COMMIT_A_TAGS] = m->tags;
    arg[SG_COMMIT_A_TIER_NAME] = e->targ[e->toff[t]];
    arg[SG_COMMIT_A_TIER_SPEC] = e->targ[e->toff[t] + 1];
    arg[SG_COMMIT_A_RESV_ID] = m->resv_id;
    /* The network, marked when the history limit refused some of it. */
    snprintf(c->net, sizeof(c->net), "%s%s",
	     m->net[0] && m->limit == SG_LIMIT_HISTORY ? "!" : "", m->net);
    arg[SG_COMMIT_A_NET] = c->net;
    arg[SG_COMMIT_A_HISTORY] = e->hist;
    arg[SG_COMMIT_A_DEFAULT_TIER] = cfg->default_tier;
    c->argc = SG_COMMIT_NKEYS + SG_COMMIT_NARGS;
    c->nkeys = SG_COMMIT_NKEYS;
    return (1);
}

/* Commit's actions (SG_COMMIT_R_ACTION) and what they mean here. */
static const struct {
    const char *word;
    enum sg_action act;
}       commit_action[] = {
    {"accept", SG_ACT_CONTINUE},
    {"hold", SG_ACT_HOLD},
    {"refuse", SG_ACT_QUARANTINE_REFUSE},
};

/* sg_engine_commit_result - what the commit call's answer means */
enum sg_action sg_engine_commit_result(struct sg_msg *m, int status,
				               struct sg_reply *r, char *err,
				               size_t errlen)
{
    size_t  i;

    if ((m->store_rc = status) != SG_STORE_OK)
	return (SG_ACT_STORE_DOWN);
    if (sg_reply_check(r, SG_COMMIT_NREPLY, SG_OP_COMMIT, err, errlen) < 0) {
	m->store_rc = SG_STORE_ERROR;
	return (SG_ACT_STORE_DOWN);
    }
    for (i = 0; i < sizeof(commit_action) / sizeof(commit_action[0]); i++)
	if (strcmp(r->v[SG_COMMIT_R_ACTION], commit_action[i].word) == 0)
	    break;
    if (i == sizeof(commit_action) / sizeof(commit_action[0])) {
	snprintf(err, errlen, "engine.lua commit: unknown action \"%.32s\"",
		 r->v[SG_COMMIT_R_ACTION]);
	m->store_rc = SG_STORE_ERROR;
	sg_reply_free(r);
	return (SG_ACT_STORE_DOWN);
    }
    m->newly_quarantined = strcmp(r->v[SG_COMMIT_R_NEWLY_QUARANTINED], "1") == 0;
    if (r->v[SG_COMMIT_R_REASON][0])
	sg_reply_copy(m->qreason, sizeof(m->qreason), r, SG_COMMIT_R_REASON);
    m->held = sg_reply_ulong(r, SG_COMMIT_R_HELD);
    sg_seen_parse(r->v[SG_COMMIT_R_SEEN], &m->seen);
    sg_reply_free(r);
    return (commit_action[i].act);
}

/* sg_engine_commit - prepare, run and read the commit call */
enum sg_action sg_engine_commit(const struct sg_engine *e,
			                const struct sg_store *store,
			                struct sg_msg *m, const char *qid, int eom,
			                double now, char *err, size_t errlen)
{
    struct sg_commit c;
    struct sg_reply r = {0, 0};
    int     status;

    switch (sg_engine_commit_prepare(e, m, qid, eom, 0, now, &c, err,
				     errlen)) {
    case 0:
	return (SG_ACT_CONTINUE);
    case 1:
	break;
    default:
	return (SG_ACT_STORE_DOWN);
    }
    status = store->eval(store->ctx, SG_SCRIPT_ENGINE, c.nkeys, c.argc,
			 c.argv, 0, &r, err, errlen);
    return (sg_engine_commit_result(m, status, &r, err, errlen));
}

/*
 * sg_engine_commit_deferrable - whether nothing about this message waits
 * for its commit's answer. Only the answer to a message that may be
 * quarantined matters before the MTA gets its reply: one from an account
 * already quarantined (hold or refuse, up to hold_max), one with
 * recipients the MTA rejected (failures: the failure test and the
 * rejected and failed limits), and one whose recipients take the
 * account past the room begin reported under quarantine_recipients. A
 * clean message, the usual case, can only lower the failure score.
 */
int     sg_engine_commit_deferrable(const struct sg_msg *m, int eom)
{
    if (!m->begun || m->committed || !eom)
	return (1);
    if (m->status == SG_BEGIN_HOLD || m->rejected > 0)
	return (0);
    return (m->quarantine_room < 0
	    || m->accepted <= (unsigned long) m->quarantine_room);
}

/* sg_engine_text - fill in a configured text */
char   *sg_engine_text(const struct sg_engine *e, const struct sg_msg *m,
		               enum sg_action act, char *buf, size_t len)
{
    const struct sg_config *cfg = e->cfg;
    const char *tmpl, *cp, *val, *end;
    char    limit[24], wbuf[32], rbuf[32];
    unsigned long lim = 0, secs = 0, retry = 0;
    size_t  n = 0, vl;

    if (act == SG_ACT_QUARANTINE_REFUSE || act == SG_ACT_HOLD) {
	tmpl = cfg->text_quarantine;
    } else if (act == SG_ACT_STORE_DOWN) {
	tmpl = cfg->text_redis_error;
    } else if (m->limit == SG_LIMIT_HISTORY) {
	tmpl = cfg->text_history;
	lim = m->hist_limit, secs = 86400, retry = m->hist_retry;
    } else if (m->limit == SG_LIMIT_MESSAGES) {
	tmpl = cfg->text_messages;
	lim = m->msg_limit, secs = m->msg_secs, retry = m->msg_retry;
    } else {
	tmpl = cfg->text_recipients;
	lim = m->rcpt_limit, secs = m->rcpt_secs, retry = m->rcpt_retry;
    }
    snprintf(limit, sizeof(limit), "%lu", lim);
    for (cp = tmpl; *cp && n + 1 < len; cp++) {
	if (cp[0] == '%' && cp[1] == '{' && (end = strchr(cp, '}')) != 0) {
	    size_t  kl = end - cp - 2;

#define IS(k) (kl == sizeof(k) - 1 && strncmp(cp + 2, k, kl) == 0)
	    if (IS("limit"))
		val = limit;
	    else if (IS("window"))
		val = sg_window_words(secs, wbuf, sizeof(wbuf));
	    else if (IS("retry"))
		val = sg_human_duration(retry, rbuf, sizeof(rbuf));
	    else if (IS("login"))
		val = m->login;
	    else if (IS("support"))
		val = cfg->support_contact;
	    else if (IS("reason"))
		val = m->qreason[0] ? m->qreason : "manual";
	    else
		val = 0;
#undef IS
	    if (val) {
		vl = strlen(val);
		if (n + vl >= len)
		    vl = len - n - 1;
		memcpy(buf + n, val, vl);
		n += vl;
		cp = end;
		continue;
	    }
	}
	buf[n++] = *cp;
    }
    buf[n] = 0;
    return (buf);
}
