/*
 * NAME
 *	sg_engine 3
 * SUMMARY
 *	per-message decisions: limits, tiers, quarantine
 * DESCRIPTION
 *	See sg_engine.h. This file builds the arguments of engine.lua from a
 *	configuration (once: the tier table does not change until reload),
 *	reads its answers, and words what the customer is told.
 * DIAGNOSTICS
 *	Store failures come back as SG_ACT_STORE_DOWN with a reason in err;
 *	a malformed answer from the script is treated the same way.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_engine.h"
#include "sg_logparse.h"

#define SG_HELD_TTL	(30 * 86400)	/* held-id list outlives a hold queue */
#define SG_FIXED_ARGS	20		/* keys and fixed arguments per call */

struct sg_engine {
    const struct sg_config *cfg;
    char  **targ;			/* the tier table as script arguments */
    int     ntarg;
    int     toff[SG_MAX_TIERS];		/* where each tier starts in targ */
    int     tlen[SG_MAX_TIERS];
    int     tdefault;			/* index of the default tier */
};

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
 * [limit, seconds], and "d" the failure test's lf, ls, upper, lower.
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
	snprintf(buf + n, len - n, "\"d\":[%.6f,%.6f,%.6f,%.6f]}", d[0], d[1],
		 d[2], d[3]);
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

/* sg_engine_new - prepare the tier table once per configuration */
struct sg_engine *sg_engine_new(const struct sg_config *cfg)
{
    struct sg_engine *e;
    char    spec[5 * (1 + 2 * SG_MAX_WINDOWS) * 24 + 5 * 24];
    int     cap = 0, i;

    if ((e = calloc(1, sizeof(*e))) == 0)
	return (0);
    e->cfg = cfg;
    e->tdefault = 0;

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

/* call - run engine.lua with fixed arguments followed by tier arguments */
static int call(const struct sg_store *store, int nkeys, int nfixed,
		        const char **fixed, char *const *tiers, int ntiers,
		        struct sg_reply *reply, char *err, size_t errlen)
{
    const char **argv;
    int     argc = nfixed + ntiers, i, rc;

    if ((argv = malloc(argc * sizeof(*argv))) == 0) {
	snprintf(err, errlen, "out of memory");
	return (SG_STORE_ERROR);
    }
    for (i = 0; i < nfixed; i++)
	argv[i] = fixed[i];
    for (i = 0; i < ntiers; i++)
	argv[nfixed + i] = tiers[i];
    rc = store->eval(store->ctx, SG_SCRIPT_ENGINE, nkeys, argc, argv, 0,
		     reply, err, errlen);
    free(argv);
    return (rc);
}

/* num - a reply field as a number; clamps junk to 0 */
static unsigned long num(const struct sg_reply *r, int i)
{
    long    v = strtol(r->v[i], 0, 10);

    return (v < 0 ? 0 : (unsigned long) v);
}

/* copy - a reply field into a fixed buffer */
static void copy(char *dst, size_t len, const struct sg_reply *r, int i)
{
    snprintf(dst, len, "%s", r->v[i]);
}

/* sg_engine_begin - at MAIL FROM */
enum sg_action sg_engine_begin(const struct sg_engine *e,
			               const struct sg_store *store,
			               struct sg_msg *m, const char *raw_login,
			               double now, char *err, size_t errlen)
{
    const struct sg_config *cfg = e->cfg;
    char    k_tier[SG_KEY_MAX], k_quar[SG_KEY_MAX], k_cnt[SG_KEY_MAX];
    char    tnow[32];
    const char *fixed[SG_FIXED_ARGS];
    struct sg_reply r = {0, 0};
    enum sg_action act;

    memset(m, 0, sizeof(*m));
    m->budget = -1;
    m->quarantine_room = -1;
    err[0] = 0;
    m->login_form = sg_login_normalise(raw_login, cfg->login_case,
				       m->login, sizeof(m->login));
    if (m->login_form == SG_LOGIN_EMPTY)
	return (SG_ACT_IGNORE);
    if (sg_key(k_tier, sizeof(k_tier), cfg->key_prefix, m->login, "tier") < 0
	|| sg_key(k_quar, sizeof(k_quar), cfg->key_prefix, m->login,
		  "quarantine") < 0
	|| sg_key(k_cnt, sizeof(k_cnt), cfg->key_prefix, m->login,
		  "counters") < 0) {
	snprintf(err, errlen, "key too long");
	m->store_rc = SG_STORE_ERROR;
	return (SG_ACT_STORE_DOWN);
    }
    snprintf(tnow, sizeof(tnow), "%.3f", now);
    fixed[0] = k_tier;
    fixed[1] = k_quar;
    fixed[2] = k_cnt;
    fixed[3] = "begin";
    fixed[4] = tnow;
    fixed[5] = cfg->default_tier;
    fixed[6] = cfg->quarantine_action == SG_QACT_HOLD ? "0" : "1";
    if ((m->store_rc = call(store, 3, 7, fixed, e->targ, e->ntarg, &r, err,
			    errlen)) != SG_STORE_OK)
	return (SG_ACT_STORE_DOWN);
    if (r.n != 14) {
	snprintf(err, errlen, "engine.lua begin: %d fields, want 14", r.n);
	m->store_rc = SG_STORE_ERROR;
	sg_reply_free(&r);
	return (SG_ACT_STORE_DOWN);
    }
    copy(m->status, sizeof(m->status), &r, 0);
    copy(m->tier, sizeof(m->tier), &r, 1);
    copy(m->unknown_tier, sizeof(m->unknown_tier), &r, 2);
    m->budget = strtol(r.v[3], 0, 10);
    m->rcpt_limit = num(&r, 4);
    m->rcpt_secs = num(&r, 5);
    m->rcpt_retry = num(&r, 6);
    m->msg_limit = num(&r, 7);
    m->msg_secs = num(&r, 8);
    m->msg_retry = num(&r, 9);
    copy(m->qreason, sizeof(m->qreason), &r, 10);
    m->rcpts_in_window = num(&r, 11);
    m->msgs_in_window = num(&r, 12);
    m->quarantine_room = strtol(r.v[13], 0, 10);
    sg_reply_free(&r);
    m->begun = 1;

    if (strcmp(m->status, "quarantined") == 0) {
	act = SG_ACT_QUARANTINE_REFUSE;
	m->committed = 1;			/* nothing more to count */
    } else if (strcmp(m->status, "messages") == 0) {
	act = SG_ACT_TEMPFAIL;
	m->limit = SG_LIMIT_MESSAGES;
	m->committed = 1;
    } else {
	act = SG_ACT_CONTINUE;
    }
    return (act);
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
    if (m->budget >= 0 && (long) m->accepted >= m->budget) {
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

/* sg_engine_commit_prepare - the commit call for a message, not run */
int     sg_engine_commit_prepare(const struct sg_engine *e, struct sg_msg *m,
				         const char *qid, int eom, int replied,
				         double now, struct sg_commit *c,
				         char *err, size_t errlen)
{
    const struct sg_config *cfg = e->cfg;
    int     message = eom && m->accepted > 0;
    int     t, i;

    err[0] = 0;
    c->argc = 0;
    if (!m->begun || m->committed)
	return (0);
    m->committed = 1;
    if (!message && m->rejected == 0 && m->refused == 0)
	return (0);				/* nothing worth a round trip */
    if (qid == 0)
	qid = "";
    if (sg_key(c->keys[0], SG_KEY_MAX, cfg->key_prefix, m->login,
	       "quarantine") < 0
	|| sg_key(c->keys[1], SG_KEY_MAX, cfg->key_prefix, m->login,
		  "counters") < 0
	|| sg_key(c->keys[2], SG_KEY_MAX, cfg->key_prefix, m->login,
		  "held") < 0
	|| snprintf(c->keys[3], SG_KEY_MAX, "%s:qid:%s", cfg->key_prefix,
		    qid) >= SG_KEY_MAX
	|| snprintf(c->keys[4], SG_KEY_MAX, "%s:events",
		    cfg->key_prefix) >= SG_KEY_MAX) {
	snprintf(err, errlen, "key too long");
	m->store_rc = SG_STORE_ERROR;
	return (-1);
    }
    /* The queue id is the tail of its key: no copy of its own. */
    qid = c->keys[3] + strlen(c->keys[3]) - strlen(qid);
    snprintf(c->num[0], sizeof(c->num[0]), "%.3f", now);
    snprintf(c->num[1], sizeof(c->num[1]), "%u", message ? m->accepted : 0);
    snprintf(c->num[2], sizeof(c->num[2]), "%u", m->rejected);
    snprintf(c->num[3], sizeof(c->num[3]), "%u", m->refused);
    snprintf(c->num[4], sizeof(c->num[4]), "%lu", cfg->hold_max);
    snprintf(c->num[5], sizeof(c->num[5]), "%lu", cfg->queue_id_ttl);
    snprintf(c->num[6], sizeof(c->num[6]), "%d", SG_HELD_TTL);
    for (i = 0; i < 5; i++)
	c->argv[i] = c->keys[i];
    c->argv[5] = "commit";
    c->argv[6] = c->num[0];
    c->argv[7] = m->login;
    c->argv[8] = qid;
    c->argv[9] = c->num[1];
    c->argv[10] = c->num[2];
    c->argv[11] = c->num[3];
    c->argv[12] = message ? "1" : "0";
    /* A message the MTA has accepted already is never listed as held. */
    c->argv[13] = !replied && cfg->quarantine_action == SG_QACT_HOLD ?
	"1" : "0";
    c->argv[14] = c->num[4];
    c->argv[15] = c->num[5];
    c->argv[16] = c->num[6];
    c->argv[17] = m->tags;
    t = tier_index(e, m->tier);
    for (i = 0; i < e->tlen[t] && 18 + i < SG_COMMIT_ARGS; i++)
	c->argv[18 + i] = e->targ[e->toff[t] + i];
    c->argc = 18 + i;
    c->nkeys = 5;
    return (1);
}

/* sg_engine_commit_result - what the commit call's answer means */
enum sg_action sg_engine_commit_result(struct sg_msg *m, int status,
				               struct sg_reply *r, char *err,
				               size_t errlen)
{
    enum sg_action act;

    if ((m->store_rc = status) != SG_STORE_OK)
	return (SG_ACT_STORE_DOWN);
    if (r->n != 5) {
	snprintf(err, errlen, "engine.lua commit: %d fields, want 5", r->n);
	m->store_rc = SG_STORE_ERROR;
	sg_reply_free(r);
	return (SG_ACT_STORE_DOWN);
    }
    if (strcmp(r->v[0], "hold") == 0)
	act = SG_ACT_HOLD;
    else if (strcmp(r->v[0], "refuse") == 0)
	act = SG_ACT_QUARANTINE_REFUSE;
    else
	act = SG_ACT_CONTINUE;
    m->newly_quarantined = strcmp(r->v[1], "1") == 0;
    if (r->v[2][0])
	copy(m->qreason, sizeof(m->qreason), r, 2);
    m->held = num(r, 3);
    copy(m->seen, sizeof(m->seen), r, 4);
    sg_reply_free(r);
    return (act);
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
    if (strcmp(m->status, "hold") == 0 || m->rejected > 0)
	return (0);
    return (m->quarantine_room < 0
	    || m->accepted <= (unsigned long) m->quarantine_room);
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
    char    k_qid[SG_KEY_MAX] = "", k_pos[SG_KEY_MAX] = "";
    char    k_events[SG_KEY_MAX], tnow[32], n[16], tag[SG_TAG_LEN] = "";
    const char *fixed[SG_FIXED_ARGS];
    const char *class;
    struct sg_reply r = {0, 0};
    int     rc;

    memset(out, 0, sizeof(*out));
    err[0] = 0;

    /*
     * Deliveries need no work: every accepted recipient was already
     * counted as presumed delivered. Deferrals are not final.
     */
    switch (cls) {
    case SG_DSN_MAILBOX:
	class = "mailbox";
	break;
    case SG_DSN_DOMAIN:
	class = "domain";
	break;
    case SG_DSN_POLICY:
	class = "policy";
	break;
    case SG_DSN_EXPIRED:
	class = "expired";
	break;
    case SG_DSN_OTHER:
	class = "other";
	break;
    default:
	class = 0;
	qid = 0;
	break;
    }
    if (qid == 0 && (feed == 0 || position == 0))
	return (0);
    if ((qid && snprintf(k_qid, sizeof(k_qid), "%s:qid:%s", cfg->key_prefix,
			 qid) >= (int) sizeof(k_qid))
	|| (feed && snprintf(k_pos, sizeof(k_pos), "%s:feed:%s",
			     cfg->key_prefix, feed) >= (int) sizeof(k_pos))) {
	snprintf(err, errlen, "key too long");
	return (-1);
    }
    snprintf(k_events, sizeof(k_events), "%s:events", cfg->key_prefix);
    snprintf(tnow, sizeof(tnow), "%.3f", now);
    snprintf(n, sizeof(n), "%d", nrcpt > 0 ? nrcpt : 1);
    fixed[0] = k_qid;
    fixed[1] = k_pos;
    fixed[2] = k_events;
    fixed[3] = "outcome";
    fixed[4] = tnow;
    fixed[5] = cfg->key_prefix;
    fixed[6] = class ? class : "none";
    fixed[7] = n;
    fixed[8] = position && feed ? position : "";
    fixed[9] = cfg->default_tier;
    if (rcpt && *rcpt)
	sg_rcpt_tag(rcpt, tag);
    fixed[10] = tag;
    if (call(store, 3, 11, fixed, e->targ, e->ntarg, &r, err, errlen) != 0)
	return (-1);
    if (r.n != 4) {
	snprintf(err, errlen, "engine.lua outcome: %d fields, want 4", r.n);
	sg_reply_free(&r);
	return (-1);
    }
    copy(out->login, sizeof(out->login), &r, 0);
    out->newly_quarantined = strcmp(r.v[1], "1") == 0;
    copy(out->reason, sizeof(out->reason), &r, 2);
    copy(out->seen, sizeof(out->seen), &r, 3);
    rc = out->login[0] != 0;
    sg_reply_free(&r);
    return (rc);
}

/* sg_engine_feed_position - where feed stopped last time */
int     sg_engine_feed_position(const struct sg_engine *e,
				        const struct sg_store *store,
				        const char *feed, char *pos, size_t len,
				        char *err, size_t errlen)
{
    char    key[SG_KEY_MAX];
    const char *fixed[SG_FIXED_ARGS];
    struct sg_reply r = {0, 0};

    pos[0] = 0;
    snprintf(key, sizeof(key), "%s:feed:%s", e->cfg->key_prefix, feed);
    fixed[0] = key;
    fixed[1] = "position";
    fixed[2] = "0";
    if (call(store, 1, 3, fixed, 0, 0, &r, err, errlen) != 0)
	return (-1);
    if (r.n == 1)
	copy(pos, len, &r, 0);
    sg_reply_free(&r);
    return (0);
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
