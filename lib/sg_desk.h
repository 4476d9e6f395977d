/*
 * NAME
 *	sg_desk 3h
 * SUMMARY
 *	the support desk's calls of engine.lua: list, lift, quarantine,
 *	tier, events
 * DESCRIPTION
 *	What ctl/subguardctl asks the store, and the parsing of the
 *	answers (pure: tests/unit/test_desk.c feeds replies in). Logins are
 *	in key form (sg_login_normalise). Every call returns 0, 1 (not
 *	found: nothing quarantined, unknown tier), or -1 with err (the
 *	store failed or the reply is malformed).
 */
#ifndef SG_DESK_H
#define SG_DESK_H

#include <stddef.h>

#include "sg_config.h"
#include "sg_login.h"
#include "sg_net.h"
#include "sg_store.h"

struct sg_engine;

/* One quarantined account, as the index and its quarantine hash say. */
struct sg_desk_entry {
    char    login[SG_LOGIN_MAX];
    unsigned long since;
    char    reason[256];
    char    by[64];
    char    source[32];
    unsigned long held;
};

struct sg_desk_list {
    int     n;
    int     healed;			/* lifted with plain DEL, dropped now */
    struct sg_desk_entry *e;
};

/* sg_desk_parse_qlist - a qlist reply into *list (free with _list_free) */
extern int sg_desk_parse_qlist(const struct sg_reply *, struct sg_desk_list *,
			               char *err, size_t errlen);
extern void sg_desk_list_free(struct sg_desk_list *);

/* sg_desk_qlist - the quarantined accounts, newest first, at most max */
extern int sg_desk_qlist(const struct sg_engine *, const struct sg_store *,
			         double now, int max, struct sg_desk_list *,
			         char *err, size_t errlen);

/* One entry of the events stream: its id and name/value pairs. */
struct sg_desk_event {
    const char *id;
    int     nf;
    char  **f;				/* f[2i] a name, f[2i + 1] its value */
};

struct sg_desk_events {
    int     n;
    struct sg_desk_event *ev;
    struct sg_reply r;			/* owns the strings */
};

/* sg_desk_parse_events - takes over *r (freed with sg_desk_events_free) */
extern int sg_desk_parse_events(struct sg_reply *r, struct sg_desk_events *,
				        char *err, size_t errlen);
extern void sg_desk_events_free(struct sg_desk_events *);

/* sg_desk_event_field - a field's value, or "" */
extern const char *sg_desk_event_field(const struct sg_desk_event *,
				               const char *name);

/* sg_desk_events - events since (0: all), login and type ("" any) */
extern int sg_desk_events(const struct sg_engine *, const struct sg_store *,
			          double since, const char *login,
			          const char *type, int max,
			          struct sg_desk_events *, char *err,
			          size_t errlen);

/* What a lift found. */
struct sg_desk_lift {
    int     lifted;			/* 0: was not quarantined */
    char    reason[256];
    char    held[4096];			/* held queue ids, space separated */
};

/* sg_desk_lift - remove the quarantine and the held list, recorded */
extern int sg_desk_lift(const struct sg_engine *, const struct sg_store *,
			        const char *login, const char *by,
			        const char *why, double now,
			        struct sg_desk_lift *, char *err, size_t errlen);

/* sg_desk_quarantine - quarantine by hand; 1: quarantined already */
extern int sg_desk_quarantine(const struct sg_engine *,
			              const struct sg_store *, const char *login,
			              const char *by, const char *why,
			              double now, char *reason, size_t rlen,
			              char *err, size_t errlen);

/*
 * sg_desk_settier - set the tier key (name "" clears it). A name that is
 * no configured tier is refused (1, err lists the names) before Redis
 * is asked.
 */
extern int sg_desk_settier(const struct sg_engine *, const struct sg_store *,
			           const char *login, const char *name,
			           const char *by, double now, char *old,
			           size_t oldlen, char *err, size_t errlen);

/* What trust did. */
struct sg_desk_trust {
    char    network[SG_NET_TEXT_MAX];	/* "192.0.2.0/24", "2001:db8::/48" */
    char    was[16];			/* known, learning, refused, new */
    int     known;			/* networks the account knows now */
};

/*
 * sg_desk_trust - support confirms the network of address (an IP
 * address, or a network as the log writes it: "192.0.2.0/24",
 * "2001:db8:1::/48") for login: mail from it is no longer held to the
 * history limit. 1 (err says why) when history is off or address is no
 * address or another prefix length, before Redis is asked.
 */
extern int sg_desk_trust(const struct sg_engine *, const struct sg_store *,
			         const char *login, const char *address,
			         const char *by, const char *why, double now,
			         struct sg_desk_trust *, char *err,
			         size_t errlen);

/* sg_desk_tier_check - 0 if name is a configured tier, else 1, err lists */
extern int sg_desk_tier_check(const struct sg_config *, const char *name,
			              char *err, size_t errlen);

/* An account and the limit or bound it is nearest (scan). */
struct sg_desk_near {
    char    login[SG_LOGIN_MAX];
    char    tier[SG_NAME_MAX];
    double  ratio;			/* use over limit; 1: at it */
    char    what[128];			/* in words */
};

/*
 * sg_desk_parse_scan - a scan reply: the next cursor ("0": done) and
 * *n entries in *v (malloc'ed; free it)
 */
extern int sg_desk_parse_scan(const struct sg_reply *, char *cursor,
			              size_t clen, struct sg_desk_near **v,
			              int *n, char *err, size_t errlen);

/* sg_desk_scan - one SCAN step of count keys from cursor (in and out) */
extern int sg_desk_scan(const struct sg_engine *, const struct sg_store *,
			        double now, char *cursor, size_t clen,
			        int count, struct sg_desk_near **v, int *n,
			        char *err, size_t errlen);

#endif
