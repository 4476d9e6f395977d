/*
 * NAME
 *	sg_account 3
 * SUMMARY
 *	engine calls keyed by queue id, feed or account: outcome,
 *	position, inspect
 * DESCRIPTION
 *	See sg_engine.h. The message path (begin, rcpt, commit) is in
 *	sg_engine.c; this file holds the calls made from outside a message:
 *	the log feed's outcomes and positions, and inspect, which reads an
 *	account's state for the replay, tests and support tools so that
 *	nobody reads engine.lua's private hash fields. Each reply is read
 *	into named fields here, once (sg_engine_proto.h names each place).
 * DIAGNOSTICS
 *	Store trouble and malformed replies return -1 with a reason in err.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_engine_impl.h"
#include "sg_logparse.h"

/*
 * dsn_class - the class word engine.lua counts (SG_OUTCOME_A_CLASS), or
 * NULL for outcomes that need no work: every accepted recipient was
 * already counted as presumed delivered, and deferrals are not final.
 * These are wire words ("policy" is looked for in the script), kept
 * apart from sg_dsn_class_name's words for logs.
 */
static const char *dsn_class(int cls)
{
    static const char *const word[] = {
	[SG_DSN_MAILBOX] = "mailbox",
	[SG_DSN_DOMAIN] = "domain",
	[SG_DSN_POLICY] = "policy",
	[SG_DSN_EXPIRED] = "expired",
	[SG_DSN_OTHER] = "other",
	[SG_DSN_FULL] = "full",
    };

    return (cls >= 0 && (size_t) cls < sizeof(word) / sizeof(word[0]) ?
	    word[cls] : 0);
}

/* read_outcome - outcome's reply into *out; 1 counted, 0 unknown, -1 */
static int read_outcome(struct sg_reply *r, struct sg_outcome *out,
			        char *err, size_t errlen)
{
    if (sg_reply_check(r, SG_OUTCOME_NREPLY, SG_OP_OUTCOME, err, errlen) < 0)
	return (-1);
    sg_reply_copy(out->login, sizeof(out->login), r, SG_OUTCOME_R_LOGIN);
    out->newly_quarantined =
	strcmp(r->v[SG_OUTCOME_R_NEWLY_QUARANTINED], "1") == 0;
    sg_reply_copy(out->reason, sizeof(out->reason), r, SG_OUTCOME_R_REASON);
    sg_seen_parse(r->v[SG_OUTCOME_R_SEEN], &out->seen);
    sg_reply_copy(out->incident_domain, sizeof(out->incident_domain), r,
		  SG_OUTCOME_R_INCIDENT_DOMAIN);
    sg_reply_copy(out->incident_state, sizeof(out->incident_state), r,
		  SG_OUTCOME_R_INCIDENT_STATE);
    if (r->v[SG_OUTCOME_R_INCIDENT_LOGINS])
	out->incident_logins = atoi(r->v[SG_OUTCOME_R_INCIDENT_LOGINS]);
    sg_reply_free(r);
    return (out->login[0] != 0);
}

/* sg_engine_outcome - a final delivery outcome from the MTA's log */
int     sg_engine_outcome(const struct sg_engine *e,
			          const struct sg_store *store, const char *qid,
			          const char *rcpt, int cls, int nrcpt, double now,
			          const char *feed,
			          const char *position, struct sg_outcome *out,
			          char *err, size_t errlen)
{
    const struct sg_config *cfg = e->cfg;
    char    keys[SG_OUTCOME_NKEYS][SG_KEY_MAX], tnow[32], n[16];
    char    tag[SG_TAG_LEN] = "", domain[256] = "", weight[16];
    char    ilogins[24], iwindow[24], iquiet[24];
    const char *argv[SG_CALL_MAX], **arg = argv + SG_OUTCOME_NKEYS;
    const char *class = dsn_class(cls);
    struct sg_reply r = {0, 0};
    int     k;

    memset(out, 0, sizeof(*out));
    memset(keys, 0, sizeof(keys));
    err[0] = 0;
    if (class == 0)
	qid = 0;				/* only the position to save */
    if (qid == 0 && (feed == 0 || position == 0))
	return (0);
    if ((qid && sg_key_qid(keys[SG_OUTCOME_K_QID], SG_KEY_MAX,
			   cfg->key_prefix, qid) < 0)
	|| (feed && sg_key_feed(keys[SG_OUTCOME_K_POSITION], SG_KEY_MAX,
				cfg->key_prefix, feed) < 0)) {
	snprintf(err, errlen, "key too long");
	return (-1);
    }
    sg_key_events(keys[SG_OUTCOME_K_EVENTS], SG_KEY_MAX, cfg->key_prefix);
    sg_key_index(keys[SG_OUTCOME_K_INDEX], SG_KEY_MAX, cfg->key_prefix);
    for (k = 0; k < SG_OUTCOME_NKEYS; k++)
	argv[k] = keys[k];
    snprintf(tnow, sizeof(tnow), "%.3f", now);
    snprintf(n, sizeof(n), "%d", nrcpt > 0 ? nrcpt : 1);
    if (rcpt && *rcpt) {
	sg_rcpt_tag(rcpt, tag);
	(void) sg_rcpt_domain(rcpt, domain, sizeof(domain));
    }
    snprintf(weight, sizeof(weight), "%.2f", sg_dsn_weight(cls));
    snprintf(ilogins, sizeof(ilogins), "%lu", cfg->incident_logins);
    snprintf(iwindow, sizeof(iwindow), "%lu", cfg->incident_window);
    snprintf(iquiet, sizeof(iquiet), "%lu", cfg->incident_quiet);
    arg[SG_OUTCOME_A_OP] = SG_OP_OUTCOME;
    arg[SG_OUTCOME_A_NOW] = tnow;
    arg[SG_OUTCOME_A_PREFIX] = cfg->key_prefix;
    arg[SG_OUTCOME_A_CLASS] = class ? class : "none";
    arg[SG_OUTCOME_A_NRCPT] = n;
    arg[SG_OUTCOME_A_POSITION] = position && feed ? position : "";
    arg[SG_OUTCOME_A_DEFAULT_TIER] = cfg->default_tier;
    arg[SG_OUTCOME_A_TAG] = tag;
    arg[SG_OUTCOME_A_SUFFIX_TIER] = sg_account_key_suffix(SG_AKEY_TIER);
    arg[SG_OUTCOME_A_SUFFIX_QUARANTINE] =
	sg_account_key_suffix(SG_AKEY_QUARANTINE);
    arg[SG_OUTCOME_A_SUFFIX_COUNTERS] = sg_account_key_suffix(SG_AKEY_COUNTERS);
    arg[SG_OUTCOME_A_SUFFIX_HELD] = sg_account_key_suffix(SG_AKEY_HELD);
    arg[SG_OUTCOME_A_WEIGHT] = weight;
    arg[SG_OUTCOME_A_DOMAIN] = domain;
    arg[SG_OUTCOME_A_INCIDENT_LOGINS] = ilogins;
    arg[SG_OUTCOME_A_INCIDENT_WINDOW] = iwindow;
    arg[SG_OUTCOME_A_INCIDENT_QUIET] = iquiet;
    if (sg_engine_call(e, store, SG_OUTCOME_NKEYS,
		       SG_OUTCOME_NKEYS + SG_OUTCOME_A_TIERS, argv, 1, &r, err,
		       errlen) != SG_STORE_OK)
	return (-1);
    return (read_outcome(&r, out, err, errlen));
}

/* sg_engine_feed_position - where feed stopped last time */
int     sg_engine_feed_position(const struct sg_engine *e,
				        const struct sg_store *store,
				        const char *feed, char *pos, size_t len,
				        char *err, size_t errlen)
{
    char    key[SG_KEY_MAX];
    const char *argv[SG_CALL_MAX], **arg = argv + SG_POSITION_NKEYS;
    struct sg_reply r = {0, 0};

    pos[0] = 0;
    if (sg_key_feed(key, sizeof(key), e->cfg->key_prefix, feed) < 0) {
	snprintf(err, errlen, "key too long");
	return (-1);
    }
    argv[SG_POSITION_K_POSITION] = key;
    arg[SG_POSITION_A_OP] = SG_OP_POSITION;
    arg[SG_POSITION_A_NOW] = "0";
    if (sg_engine_call(e, store, SG_POSITION_NKEYS,
		       SG_POSITION_NKEYS + SG_POSITION_NARGS, argv, 0, &r, err,
		       errlen) != SG_STORE_OK)
	return (-1);
    if (r.n == SG_POSITION_NREPLY)
	sg_reply_copy(pos, len, &r, SG_POSITION_R_POSITION);
    sg_reply_free(&r);
    return (0);
}

/* read_windows - inspect's window groups, after its fixed fields */
static int read_windows(const struct sg_reply *r, struct sg_inspect *in)
{
    const char *const *w;
    long    nw = strtol(r->v[SG_INSPECT_R_NWINDOWS], 0, 10);
    int     i;

    if (nw < 0 || nw > SG_INSPECT_WINDOWS
	|| r->n != SG_INSPECT_NREPLY + nw * SG_INSPECT_W_COUNT)
	return (-1);
    in->nwindows = (int) nw;
    for (i = 0; i < in->nwindows; i++) {
	w = (const char *const *) r->v + SG_INSPECT_NREPLY
	    + i * SG_INSPECT_W_COUNT;
	in->win[i].secs = strtoul(w[SG_INSPECT_W_SECS], 0, 10);
	in->win[i].messages = strtol(w[SG_INSPECT_W_MESSAGES], 0, 10);
	in->win[i].recipients = strtol(w[SG_INSPECT_W_RECIPIENTS], 0, 10);
	in->win[i].rejected = strtol(w[SG_INSPECT_W_REJECTED], 0, 10);
	in->win[i].bounced = strtol(w[SG_INSPECT_W_BOUNCED], 0, 10);
    }
    return (0);
}

/*
 * read_nets - the history's networks, "KEY STATE TIME ...". Words that
 * are not what engine_history.lua writes (a profile is stored in Redis,
 * where anyone with access may have edited it) are left out.
 */
static void read_nets(const char *text, struct sg_inspect *in)
{
    char    key[32], state[16];
    unsigned long at;
    int     used;

    while (in->nnets < SG_INSPECT_NETS
	   && sscanf(text, " %31s %15s %lu%n", key, state, &at, &used) == 3) {
	struct sg_inspect_net *n = in->nets + in->nnets;

	text += used;
	if (sg_net_text(key, n->text, sizeof(n->text)) < 0
	    || (strcmp(state, "known") && strcmp(state, "learning")
		&& strcmp(state, "due") && strcmp(state, "refused")))
	    continue;
	snprintf(n->key, sizeof(n->key), "%.12s", key);
	snprintf(n->state, sizeof(n->state), "%.11s", state);
	n->at = at;
	in->nnets++;
    }
}

/* read_inspect - inspect's reply into *in; -1 if malformed */
static int read_inspect(struct sg_reply *r, struct sg_inspect *in,
			        char *err, size_t errlen)
{
    if (r->n < SG_INSPECT_NREPLY || read_windows(r, in) < 0) {
	snprintf(err, errlen, "engine.lua inspect: %d fields, want %d and "
		 "the windows", r->n, SG_INSPECT_NREPLY);
	sg_reply_free(r);
	return (-1);
    }
    sg_reply_copy(in->tier, sizeof(in->tier), r, SG_INSPECT_R_TIER);
    sg_reply_copy(in->unknown_tier, sizeof(in->unknown_tier), r,
		  SG_INSPECT_R_UNKNOWN_TIER);
    in->quarantined = strcmp(r->v[SG_INSPECT_R_QUARANTINED], "1") == 0;
    sg_reply_copy(in->qreason, sizeof(in->qreason), r,
		  SG_INSPECT_R_QUARANTINE_REASON);
    in->qsince = sg_reply_ulong(r, SG_INSPECT_R_QUARANTINE_SINCE);
    sg_reply_copy(in->qby, sizeof(in->qby), r, SG_INSPECT_R_QUARANTINE_BY);
    sg_reply_copy(in->qsource, sizeof(in->qsource), r,
		  SG_INSPECT_R_QUARANTINE_SOURCE);
    in->held = sg_reply_ulong(r, SG_INSPECT_R_HELD);
    sg_reply_copy(in->held_ids, sizeof(in->held_ids), r,
		  SG_INSPECT_R_HELD_IDS);
    sg_reply_copy(in->evidence, sizeof(in->evidence), r,
		  SG_INSPECT_R_EVIDENCE);
    in->score = strtod(r->v[SG_INSPECT_R_SCORE], 0);
    in->last = strtod(r->v[SG_INSPECT_R_LAST], 0);
    in->msgs = sg_reply_ulong(r, SG_INSPECT_R_MSGS);
    in->rcpts = sg_reply_ulong(r, SG_INSPECT_R_RCPTS);
    in->rejected = sg_reply_ulong(r, SG_INSPECT_R_REJECTED);
    in->bounced = sg_reply_ulong(r, SG_INSPECT_R_BOUNCED);
    in->policy = sg_reply_ulong(r, SG_INSPECT_R_POLICY);
    in->refused = sg_reply_ulong(r, SG_INSPECT_R_REFUSED);
    in->hsince = sg_reply_ulong(r, SG_INSPECT_R_HIST_SINCE);
    in->husual = strtod(r->v[SG_INSPECT_R_HIST_USUAL], 0);
    in->htoday = sg_reply_ulong(r, SG_INSPECT_R_HIST_TODAY);
    in->htoday_new = sg_reply_ulong(r, SG_INSPECT_R_HIST_TODAY_NEW);
    in->hroom = strtol(r->v[SG_INSPECT_R_HIST_ROOM], 0, 10);
    read_nets(r->v[SG_INSPECT_R_HIST_NETS], in);
    sg_reply_free(r);
    return (0);
}

/* sg_engine_inspect - an account's state, read through engine.lua */
int     sg_engine_inspect(const struct sg_engine *e,
			          const struct sg_store *store,
			          const char *login, double now,
			          struct sg_inspect *in, char *err, size_t errlen)
{
    static const enum sg_account_key role[SG_INSPECT_NKEYS] = {
	[SG_INSPECT_K_TIER] = SG_AKEY_TIER,
	[SG_INSPECT_K_QUARANTINE] = SG_AKEY_QUARANTINE,
	[SG_INSPECT_K_COUNTERS] = SG_AKEY_COUNTERS,
	[SG_INSPECT_K_HELD] = SG_AKEY_HELD,
    };
    const struct sg_config *cfg = e->cfg;
    char    keys[SG_INSPECT_NKEYS][SG_KEY_MAX], tnow[32];
    const char *argv[SG_CALL_MAX], **arg = argv + SG_INSPECT_NKEYS;
    struct sg_reply r = {0, 0};
    int     k;

    memset(in, 0, sizeof(*in));
    err[0] = 0;
    if (login == 0 || *login == 0
	|| snprintf(in->login, sizeof(in->login), "%s", login)
	>= (int) sizeof(in->login)) {
	snprintf(err, errlen, "no login, or too long");
	return (-1);
    }
    for (k = 0; k < SG_INSPECT_NKEYS; k++) {
	if (sg_account_key(keys[k], SG_KEY_MAX, cfg->key_prefix, in->login,
			   role[k]) < 0) {
	    snprintf(err, errlen, "key too long");
	    return (-1);
	}
	argv[k] = keys[k];
    }
    snprintf(tnow, sizeof(tnow), "%.3f", now);
    arg[SG_INSPECT_A_OP] = SG_OP_INSPECT;
    arg[SG_INSPECT_A_NOW] = tnow;
    arg[SG_INSPECT_A_DEFAULT_TIER] = cfg->default_tier;
    arg[SG_INSPECT_A_HISTORY] = e->hist;
    if (sg_engine_call(e, store, SG_INSPECT_NKEYS,
		       SG_INSPECT_NKEYS + SG_INSPECT_A_TIERS, argv, 1, &r, err,
		       errlen) != SG_STORE_OK)
	return (-1);
    return (read_inspect(&r, in, err, errlen));
}

/* sg_inspect_window - the window of secs seconds, or NULL */
const struct sg_inspect_window *sg_inspect_window(const struct sg_inspect *in,
						          unsigned long secs)
{
    int     i;

    for (i = 0; i < in->nwindows; i++)
	if (in->win[i].secs == secs)
	    return (in->win + i);
    return (0);
}

/*
 * sg_inspect_surge - whether recipients_surge applies now, as engine.lua's
 * rcpt_windows decides it: the tier has a surge and two recipient
 * windows or more, and the last hour's failures (rejected by the MTA,
 * bounced) are at most half of spam_failure of its recipients. *rcpts
 * and *failed get the hour's estimates.
 */
int     sg_inspect_surge(const struct sg_inspect *in, const struct sg_tier *t,
			         long *rcpts, long *failed)
{
    const struct sg_inspect_window *h = sg_inspect_window(in, 3600);

    *rcpts = h && h->recipients > 0 ? h->recipients : 0;
    *failed = h ? (h->rejected > 0 ? h->rejected : 0)
	+ (h->bounced > 0 ? h->bounced : 0) : 0;
    return (sg_tier_surge(t) > 1 && *failed <= t->spam_failure / 2 * *rcpts);
}

/* sg_tier_surge - the surge a tier can give: 1 (none) without two windows */
double  sg_tier_surge(const struct sg_tier *t)
{
    return (t != 0 && t->surge > 1 && t->recipients.n >= 2 ? t->surge : 1);
}

/*
 * sg_tier_surged_limit - the limit of the recipient window of secs while
 * the surge applies, as engine.lua's rcpt_windows computes it: every
 * window but the longest (the first of them, if two are as long) grows
 * by the factor, never past the longest one's limit (nor below its own).
 * The plain limit when the tier can give no surge; 0 when the tier has
 * no such window.
 */
unsigned long sg_tier_surged_limit(const struct sg_tier *t, unsigned long secs)
{
    const struct sg_window *top = 0, *w;
    double  su = sg_tier_surge(t), grown;
    unsigned long cap;
    int     i;

    if (t == 0)
	return (0);
    for (i = 0; i < t->recipients.n; i++)
	if (top == 0 || t->recipients.w[i].seconds > top->seconds)
	    top = t->recipients.w + i;
    for (i = 0; i < t->recipients.n; i++) {
	w = t->recipients.w + i;
	if (w->seconds != secs)
	    continue;
	if (su <= 1 || w == top)
	    return (w->limit);
	cap = top->limit > w->limit ? top->limit : w->limit;
	grown = floor(w->limit * su);
	return (grown < (double) cap ? (unsigned long) grown : cap);
    }
    return (0);
}
