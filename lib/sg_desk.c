/*
 * NAME
 *	sg_desk 3
 * SUMMARY
 *	the support desk's calls of engine.lua
 * DESCRIPTION
 *	See sg_desk.h. The replies' layout is in lib/sg_engine_proto.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_desk.h"
#include "sg_engine.h"
#include "sg_engine_impl.h"
#include "sg_engine_proto.h"
#include "sg_keys.h"

/* count_of - reply field i as a count no larger than what follows */
static int count_of(const struct sg_reply *r, int i, int each, int rest,
		            int *n)
{
    char   *end;
    long    v = strtol(r->v[i], &end, 10);

    if (end == r->v[i] || *end || v < 0 || (each && v > rest / each))
	return (-1);
    *n = (int) v;
    return (0);
}

/* sg_desk_parse_qlist - the index's entries, checked against the layout */
int     sg_desk_parse_qlist(const struct sg_reply *r, struct sg_desk_list *l,
			            char *err, size_t errlen)
{
    int     i;
    const struct sg_reply *e;
    struct sg_reply sub;

    memset(l, 0, sizeof(*l));
    if (r->n < SG_QLIST_NREPLY
	|| count_of(r, SG_QLIST_R_COUNT, SG_QLIST_E_COUNT,
		    r->n - SG_QLIST_NREPLY, &l->n) < 0
	|| r->n != SG_QLIST_NREPLY + l->n * SG_QLIST_E_COUNT
	|| count_of(r, SG_QLIST_R_HEALED, 0, 0, &l->healed) < 0) {
	snprintf(err, errlen, "engine.lua qlist: malformed reply (%d fields)",
		 r->n);
	l->n = 0;
	return (-1);
    }
    if (l->n && (l->e = calloc(l->n, sizeof(*l->e))) == 0) {
	snprintf(err, errlen, "out of memory");
	l->n = 0;
	return (-1);
    }
    for (i = 0; i < l->n; i++) {
	sub.n = SG_QLIST_E_COUNT;
	sub.v = r->v + SG_QLIST_NREPLY + i * SG_QLIST_E_COUNT;
	e = &sub;
	sg_reply_copy(l->e[i].login, sizeof(l->e[i].login), e,
		      SG_QLIST_E_LOGIN);
	l->e[i].since = sg_reply_ulong(e, SG_QLIST_E_SINCE);
	sg_reply_copy(l->e[i].reason, sizeof(l->e[i].reason), e,
		      SG_QLIST_E_REASON);
	sg_reply_copy(l->e[i].by, sizeof(l->e[i].by), e, SG_QLIST_E_BY);
	sg_reply_copy(l->e[i].source, sizeof(l->e[i].source), e,
		      SG_QLIST_E_SOURCE);
	l->e[i].held = sg_reply_ulong(e, SG_QLIST_E_HELD);
    }
    return (0);
}

void    sg_desk_list_free(struct sg_desk_list *l)
{
    free(l->e);
    memset(l, 0, sizeof(*l));
}

/* call - run one desk operation (no TIERS); the reply is the caller's */
static int call(const struct sg_engine *e, const struct sg_store *store,
		        int nkeys, int nargs, const char **argv,
		        struct sg_reply *r, char *err, size_t errlen)
{
    return (sg_engine_call(e, store, nkeys, nkeys + nargs, argv, 0, r, err,
			   errlen) == SG_STORE_OK ? 0 : -1);
}

/* sg_desk_qlist - the quarantined accounts, newest first */
int     sg_desk_qlist(const struct sg_engine *e, const struct sg_store *store,
		              double now, int max, struct sg_desk_list *l,
		              char *err, size_t errlen)
{
    const struct sg_config *cfg = sg_engine_config(e);
    char    index[SG_KEY_MAX], tnow[32], smax[16];
    const char *argv[SG_QLIST_NKEYS + SG_QLIST_NARGS];
    const char **arg = argv + SG_QLIST_NKEYS;
    struct sg_reply r = {0, 0};
    int     rc;

    memset(l, 0, sizeof(*l));
    sg_key_index(index, sizeof(index), cfg->key_prefix);
    snprintf(tnow, sizeof(tnow), "%.3f", now);
    snprintf(smax, sizeof(smax), "%d", max);
    argv[SG_QLIST_K_INDEX] = index;
    arg[SG_QLIST_A_OP] = SG_OP_QLIST;
    arg[SG_QLIST_A_NOW] = tnow;
    arg[SG_QLIST_A_PREFIX] = cfg->key_prefix;
    arg[SG_QLIST_A_SUFFIX_QUARANTINE] = sg_account_key_suffix(SG_AKEY_QUARANTINE);
    arg[SG_QLIST_A_SUFFIX_HELD] = sg_account_key_suffix(SG_AKEY_HELD);
    arg[SG_QLIST_A_MAX] = smax;
    if (call(e, store, SG_QLIST_NKEYS, SG_QLIST_NARGS, argv, &r, err,
	     errlen) < 0)
	return (-1);
    rc = sg_desk_parse_qlist(&r, l, err, errlen);
    sg_reply_free(&r);
    return (rc);
}

/* sg_desk_parse_events - the entries, pointing into r, which is kept */
int     sg_desk_parse_events(struct sg_reply *r, struct sg_desk_events *ev,
			             char *err, size_t errlen)
{
    int     i, at, nf;

    memset(ev, 0, sizeof(*ev));
    ev->r = *r;
    r->n = 0;
    r->v = 0;
    if (ev->r.n < SG_EVENTS_NREPLY
	|| count_of(&ev->r, SG_EVENTS_R_COUNT, SG_EVENTS_E_COUNT,
		    ev->r.n - SG_EVENTS_NREPLY, &ev->n) < 0)
	goto bad;
    if (ev->n && (ev->ev = calloc(ev->n, sizeof(*ev->ev))) == 0)
	goto bad;
    for (at = SG_EVENTS_NREPLY, i = 0; i < ev->n; i++) {
	if (ev->r.n - at < SG_EVENTS_E_COUNT
	    || count_of(&ev->r, at + SG_EVENTS_E_NFIELDS, 2,
			ev->r.n - at - SG_EVENTS_E_COUNT, &nf) < 0)
	    goto bad;
	ev->ev[i].id = ev->r.v[at + SG_EVENTS_E_ID];
	ev->ev[i].nf = nf;
	ev->ev[i].f = ev->r.v + at + SG_EVENTS_E_COUNT;
	at += SG_EVENTS_E_COUNT + 2 * nf;
    }
    if (at != ev->r.n)
	goto bad;
    return (0);
bad:
    snprintf(err, errlen, "engine.lua events: malformed reply (%d fields)",
	     ev->r.n);
    sg_desk_events_free(ev);
    return (-1);
}

void    sg_desk_events_free(struct sg_desk_events *ev)
{
    free(ev->ev);
    sg_reply_free(&ev->r);
    memset(ev, 0, sizeof(*ev));
}

/* sg_desk_event_field - a field's value by name, or "" */
const char *sg_desk_event_field(const struct sg_desk_event *e,
				        const char *name)
{
    int     i;

    for (i = 0; i < e->nf; i++)
	if (strcmp(e->f[2 * i], name) == 0)
	    return (e->f[2 * i + 1]);
    return ("");
}

/* sg_desk_events - the events stream, newest first, filtered */
int     sg_desk_events(const struct sg_engine *e, const struct sg_store *store,
		               double since, const char *login,
		               const char *type, int max,
		               struct sg_desk_events *ev, char *err,
		               size_t errlen)
{
    const struct sg_config *cfg = sg_engine_config(e);
    char    key[SG_KEY_MAX], ssince[32], smax[16];
    const char *argv[SG_EVENTS_NKEYS + SG_EVENTS_NARGS];
    const char **arg = argv + SG_EVENTS_NKEYS;
    struct sg_reply r = {0, 0};

    memset(ev, 0, sizeof(*ev));
    sg_key_events(key, sizeof(key), cfg->key_prefix);
    snprintf(ssince, sizeof(ssince), "%.0f", since);
    snprintf(smax, sizeof(smax), "%d", max);
    argv[SG_EVENTS_K_EVENTS] = key;
    arg[SG_EVENTS_A_OP] = SG_OP_EVENTS;
    arg[SG_EVENTS_A_NOW] = "0";
    arg[SG_EVENTS_A_SINCE] = ssince;
    arg[SG_EVENTS_A_LOGIN] = login ? login : "";
    arg[SG_EVENTS_A_TYPE] = type ? type : "";
    arg[SG_EVENTS_A_MAX] = smax;
    if (call(e, store, SG_EVENTS_NKEYS, SG_EVENTS_NARGS, argv, &r, err,
	     errlen) < 0)
	return (-1);
    return (sg_desk_parse_events(&r, ev, err, errlen));
}

/* account_keys - n account keys of login by role; -1 if one is too long */
static int account_keys(const struct sg_config *cfg, const char *login,
			        const enum sg_account_key *role, int n,
			        char keys[][SG_KEY_MAX], const char **argv,
			        char *err, size_t errlen)
{
    int     k;

    if (login == 0 || *login == 0) {
	snprintf(err, errlen, "no login");
	return (-1);
    }
    for (k = 0; k < n; k++) {
	if (sg_account_key(keys[k], SG_KEY_MAX, cfg->key_prefix, login,
			   role[k]) < 0) {
	    snprintf(err, errlen, "login too long");
	    return (-1);
	}
	argv[k] = keys[k];
    }
    return (0);
}

/* sg_desk_lift - remove the quarantine and the held list, recorded */
int     sg_desk_lift(const struct sg_engine *e, const struct sg_store *store,
		             const char *login, const char *by, const char *why,
		             double now, struct sg_desk_lift *out, char *err,
		             size_t errlen)
{
    static const enum sg_account_key role[] = {
	[SG_LIFT_K_QUARANTINE] = SG_AKEY_QUARANTINE,
	[SG_LIFT_K_HELD] = SG_AKEY_HELD,
	[SG_LIFT_K_COUNTERS] = SG_AKEY_COUNTERS,
    };
    const struct sg_config *cfg = sg_engine_config(e);
    char    keys[SG_LIFT_NKEYS][SG_KEY_MAX], tnow[32];
    const char *argv[SG_LIFT_NKEYS + SG_LIFT_NARGS];
    const char **arg = argv + SG_LIFT_NKEYS;
    struct sg_reply r = {0, 0};

    memset(out, 0, sizeof(*out));
    if (account_keys(cfg, login, role, SG_LIFT_K_COUNTERS + 1, keys, argv,
		     err, errlen) < 0)
	return (-1);
    sg_key_index(keys[SG_LIFT_K_INDEX], SG_KEY_MAX, cfg->key_prefix);
    sg_key_events(keys[SG_LIFT_K_EVENTS], SG_KEY_MAX, cfg->key_prefix);
    argv[SG_LIFT_K_INDEX] = keys[SG_LIFT_K_INDEX];
    argv[SG_LIFT_K_EVENTS] = keys[SG_LIFT_K_EVENTS];
    snprintf(tnow, sizeof(tnow), "%.3f", now);
    arg[SG_LIFT_A_OP] = SG_OP_LIFT;
    arg[SG_LIFT_A_NOW] = tnow;
    arg[SG_LIFT_A_LOGIN] = login;
    arg[SG_LIFT_A_BY] = by;
    arg[SG_LIFT_A_WHY] = why;
    if (call(e, store, SG_LIFT_NKEYS, SG_LIFT_NARGS, argv, &r, err,
	     errlen) < 0
	|| sg_reply_check(&r, SG_LIFT_NREPLY, SG_OP_LIFT, err, errlen) < 0)
	return (-1);
    out->lifted = strcmp(r.v[SG_LIFT_R_LIFTED], "1") == 0;
    sg_reply_copy(out->reason, sizeof(out->reason), &r, SG_LIFT_R_REASON);
    sg_reply_copy(out->held, sizeof(out->held), &r, SG_LIFT_R_HELD);
    sg_reply_free(&r);
    return (out->lifted ? 0 : 1);
}

/* sg_desk_quarantine - quarantine by hand; 1: quarantined already */
int     sg_desk_quarantine(const struct sg_engine *e,
			           const struct sg_store *store,
			           const char *login, const char *by,
			           const char *why, double now, char *reason,
			           size_t rlen, char *err, size_t errlen)
{
    static const enum sg_account_key role[] = {
	[SG_QUARANTINE_K_QUARANTINE] = SG_AKEY_QUARANTINE,
	[SG_QUARANTINE_K_HELD] = SG_AKEY_HELD,
    };
    const struct sg_config *cfg = sg_engine_config(e);
    char    keys[SG_QUARANTINE_NKEYS][SG_KEY_MAX], tnow[32];
    const char *argv[SG_QUARANTINE_NKEYS + SG_QUARANTINE_NARGS];
    const char **arg = argv + SG_QUARANTINE_NKEYS;
    struct sg_reply r = {0, 0};
    int     isnew;

    if (account_keys(cfg, login, role, SG_QUARANTINE_K_HELD + 1, keys, argv,
		     err, errlen) < 0)
	return (-1);
    sg_key_index(keys[SG_QUARANTINE_K_INDEX], SG_KEY_MAX, cfg->key_prefix);
    sg_key_events(keys[SG_QUARANTINE_K_EVENTS], SG_KEY_MAX, cfg->key_prefix);
    argv[SG_QUARANTINE_K_INDEX] = keys[SG_QUARANTINE_K_INDEX];
    argv[SG_QUARANTINE_K_EVENTS] = keys[SG_QUARANTINE_K_EVENTS];
    snprintf(tnow, sizeof(tnow), "%.3f", now);
    arg[SG_QUARANTINE_A_OP] = SG_OP_QUARANTINE;
    arg[SG_QUARANTINE_A_NOW] = tnow;
    arg[SG_QUARANTINE_A_LOGIN] = login;
    arg[SG_QUARANTINE_A_BY] = by;
    arg[SG_QUARANTINE_A_WHY] = why;
    if (call(e, store, SG_QUARANTINE_NKEYS, SG_QUARANTINE_NARGS, argv, &r,
	     err, errlen) < 0
	|| sg_reply_check(&r, SG_QUARANTINE_NREPLY, SG_OP_QUARANTINE, err,
			  errlen) < 0)
	return (-1);
    isnew = strcmp(r.v[SG_QUARANTINE_R_NEW], "1") == 0;
    sg_reply_copy(reason, rlen, &r, SG_QUARANTINE_R_REASON);
    sg_reply_free(&r);
    return (isnew ? 0 : 1);
}

/* sg_desk_parse_scan - the next cursor and the accounts of one step */
int     sg_desk_parse_scan(const struct sg_reply *r, char *cursor,
			           size_t clen, struct sg_desk_near **v, int *n,
			           char *err, size_t errlen)
{
    struct sg_reply e;
    int     i;

    *v = 0;
    *n = 0;
    if (r->n < SG_SCAN_NREPLY
	|| count_of(r, SG_SCAN_R_COUNT, SG_SCAN_E_COUNT,
		    r->n - SG_SCAN_NREPLY, n) < 0
	|| r->n != SG_SCAN_NREPLY + *n * SG_SCAN_E_COUNT
	|| r->v[SG_SCAN_R_CURSOR][strspn(r->v[SG_SCAN_R_CURSOR],
					 "0123456789")] != 0
	|| !*r->v[SG_SCAN_R_CURSOR]
	|| (*n && (*v = calloc(*n, sizeof(**v))) == 0)) {
	snprintf(err, errlen, "engine.lua scan: malformed reply (%d fields)",
		 r->n);
	*n = 0;
	return (-1);
    }
    sg_reply_copy(cursor, clen, r, SG_SCAN_R_CURSOR);
    for (i = 0; i < *n; i++) {
	e.n = SG_SCAN_E_COUNT;
	e.v = r->v + SG_SCAN_NREPLY + i * SG_SCAN_E_COUNT;
	sg_reply_copy((*v)[i].login, sizeof((*v)[i].login), &e,
		      SG_SCAN_E_LOGIN);
	sg_reply_copy((*v)[i].tier, sizeof((*v)[i].tier), &e, SG_SCAN_E_TIER);
	(*v)[i].ratio = strtod(e.v[SG_SCAN_E_RATIO], 0);
	sg_reply_copy((*v)[i].what, sizeof((*v)[i].what), &e, SG_SCAN_E_WHAT);
    }
    return (0);
}

/* sg_desk_scan - one SCAN step over the accounts' counters */
int     sg_desk_scan(const struct sg_engine *e, const struct sg_store *store,
		             double now, char *cursor, size_t clen, int count,
		             struct sg_desk_near **v, int *n, char *err,
		             size_t errlen)
{
    const struct sg_config *cfg = sg_engine_config(e);
    char    tnow[32], scount[16];
    const char *argv[SG_SCAN_A_TIERS], **arg = argv;
    struct sg_reply r = {0, 0};
    int     rc;

    *v = 0;
    *n = 0;
    snprintf(tnow, sizeof(tnow), "%.3f", now);
    snprintf(scount, sizeof(scount), "%d", count);
    arg[SG_SCAN_A_OP] = SG_OP_SCAN;
    arg[SG_SCAN_A_NOW] = tnow;
    arg[SG_SCAN_A_PREFIX] = cfg->key_prefix;
    arg[SG_SCAN_A_CURSOR] = cursor;
    arg[SG_SCAN_A_COUNT] = scount;
    arg[SG_SCAN_A_DEFAULT_TIER] = cfg->default_tier;
    arg[SG_SCAN_A_SUFFIX_TIER] = sg_account_key_suffix(SG_AKEY_TIER);
    arg[SG_SCAN_A_SUFFIX_QUARANTINE] = sg_account_key_suffix(SG_AKEY_QUARANTINE);
    arg[SG_SCAN_A_SUFFIX_COUNTERS] = sg_account_key_suffix(SG_AKEY_COUNTERS);
    if (sg_engine_call(e, store, SG_SCAN_NKEYS, SG_SCAN_A_TIERS, argv, 1, &r,
		       err, errlen) != SG_STORE_OK)
	return (-1);
    rc = sg_desk_parse_scan(&r, cursor, clen, v, n, err, errlen);
    sg_reply_free(&r);
    return (rc);
}

/*
 * trust_network - the key and text of the network address names: an
 * address, or "ADDRESS/24" (IPv4) or "ADDRESS/48" (IPv6), the networks
 * the history keeps. 0, or -1 with err.
 */
static int trust_network(const char *address, char key[SG_NET_KEY_MAX],
			         char *text, size_t textlen, char *err,
			         size_t errlen)
{
    char    addr[SG_NET_TEXT_MAX + 8], *slash;
    size_t  len = strlen(address);

    if (len == 0 || len >= sizeof(addr)) {
	snprintf(err, errlen, "not an address or network: \"%.64s\"", address);
	return (-1);
    }
    memcpy(addr, address, len + 1);
    if ((slash = strchr(addr, '/')) != 0)
	*slash++ = 0;
    if (sg_net_key(addr, key, text, textlen) < 0) {
	snprintf(err, errlen, "not an address or network: \"%.64s\"", address);
	return (-1);
    }
    if (slash && strcmp(slash, strlen(key) == 6 ? "24" : "48") != 0) {
	snprintf(err, errlen, "subguard remembers IPv4 networks by their /24 "
		 "and IPv6 networks by their /48, not /%.8s", slash);
	return (-1);
    }
    return (0);
}

/* sg_desk_trust - a network known for an account from now on, recorded */
int     sg_desk_trust(const struct sg_engine *e, const struct sg_store *store,
		              const char *login, const char *address,
		              const char *by, const char *why, double now,
		              struct sg_desk_trust *out, char *err,
		              size_t errlen)
{
    static const enum sg_account_key role[] = {
	[SG_TRUST_K_COUNTERS] = SG_AKEY_COUNTERS,
    };
    const struct sg_config *cfg = sg_engine_config(e);
    char    keys[SG_TRUST_NKEYS][SG_KEY_MAX], tnow[32], net[SG_NET_KEY_MAX];
    const char *argv[SG_TRUST_NKEYS + SG_TRUST_NARGS];
    const char **arg = argv + SG_TRUST_NKEYS;
    struct sg_reply r = {0, 0};

    memset(out, 0, sizeof(*out));
    if (!cfg->history || !*e->hist) {
	snprintf(err, errlen, "history is off in the configuration: no "
		 "network is limited, none needs trust");
	return (1);
    }
    if (trust_network(address, net, out->network, sizeof(out->network), err,
		      errlen) < 0)
	return (1);
    if (account_keys(cfg, login, role, SG_TRUST_K_COUNTERS + 1, keys, argv,
		     err, errlen) < 0)
	return (-1);
    sg_key_events(keys[SG_TRUST_K_EVENTS], SG_KEY_MAX, cfg->key_prefix);
    argv[SG_TRUST_K_EVENTS] = keys[SG_TRUST_K_EVENTS];
    snprintf(tnow, sizeof(tnow), "%.3f", now);
    arg[SG_TRUST_A_OP] = SG_OP_TRUST;
    arg[SG_TRUST_A_NOW] = tnow;
    arg[SG_TRUST_A_LOGIN] = login;
    arg[SG_TRUST_A_NET] = net;
    arg[SG_TRUST_A_NET_TEXT] = out->network;
    arg[SG_TRUST_A_BY] = by;
    arg[SG_TRUST_A_WHY] = why;
    arg[SG_TRUST_A_HISTORY] = e->hist;
    if (call(e, store, SG_TRUST_NKEYS, SG_TRUST_NARGS, argv, &r, err,
	     errlen) < 0
	|| sg_reply_check(&r, SG_TRUST_NREPLY, SG_OP_TRUST, err, errlen) < 0)
	return (-1);
    sg_reply_copy(out->was, sizeof(out->was), &r, SG_TRUST_R_WAS);
    out->known = atoi(r.v[SG_TRUST_R_KNOWN] ? r.v[SG_TRUST_R_KNOWN] : "0");
    sg_reply_free(&r);
    return (0);
}

/* sg_desk_tier_check - 0 if name is a configured tier, else 1, err lists */
int     sg_desk_tier_check(const struct sg_config *cfg, const char *name,
			           char *err, size_t errlen)
{
    size_t  len;
    int     i;

    for (i = 0; i < cfg->ntiers; i++)
	if (strcmp(cfg->tiers[i].name, name) == 0)
	    return (0);
    snprintf(err, errlen, "no tier named \"%.64s\"; the tiers are:", name);
    for (i = 0; i < cfg->ntiers; i++) {
	len = strlen(err);
	snprintf(err + len, errlen - len, " %s", cfg->tiers[i].name);
    }
    return (1);
}

/* sg_desk_settier - set or clear the tier key, checked and recorded */
int     sg_desk_settier(const struct sg_engine *e, const struct sg_store *store,
			        const char *login, const char *name,
			        const char *by, double now, char *old,
			        size_t oldlen, char *err, size_t errlen)
{
    static const enum sg_account_key role[] = {
	[SG_SETTIER_K_TIER] = SG_AKEY_TIER,
    };
    const struct sg_config *cfg = sg_engine_config(e);
    char    keys[SG_SETTIER_NKEYS][SG_KEY_MAX], tnow[32];
    const char *argv[SG_SETTIER_NKEYS + SG_SETTIER_NARGS];
    const char **arg = argv + SG_SETTIER_NKEYS;
    struct sg_reply r = {0, 0};

    if (*name && sg_desk_tier_check(cfg, name, err, errlen))
	return (1);
    if (account_keys(cfg, login, role, SG_SETTIER_K_TIER + 1, keys, argv,
		     err, errlen) < 0)
	return (-1);
    sg_key_events(keys[SG_SETTIER_K_EVENTS], SG_KEY_MAX, cfg->key_prefix);
    argv[SG_SETTIER_K_EVENTS] = keys[SG_SETTIER_K_EVENTS];
    snprintf(tnow, sizeof(tnow), "%.3f", now);
    arg[SG_SETTIER_A_OP] = SG_OP_SETTIER;
    arg[SG_SETTIER_A_NOW] = tnow;
    arg[SG_SETTIER_A_LOGIN] = login;
    arg[SG_SETTIER_A_NAME] = name;
    arg[SG_SETTIER_A_BY] = by;
    if (call(e, store, SG_SETTIER_NKEYS, SG_SETTIER_NARGS, argv, &r, err,
	     errlen) < 0
	|| sg_reply_check(&r, SG_SETTIER_NREPLY, SG_OP_SETTIER, err,
			  errlen) < 0)
	return (-1);
    sg_reply_copy(old, oldlen, &r, SG_SETTIER_R_OLD);
    sg_reply_free(&r);
    return (0);
}
