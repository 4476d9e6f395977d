/*
 * NAME
 *	sg_engine 3h
 * SUMMARY
 *	per-message decisions: limits, tiers, quarantine
 * DESCRIPTION
 *	The engine turns one message's life (MAIL FROM, each RCPT, end of
 *	message) into two store calls (more only for a message past
 *	reserve_recipients) and a decision at each step:
 *
 *	sg_engine_begin() at MAIL FROM asks the store (engine.lua "begin")
 *	for the account's tier, quarantine state and room, and reserves one
 *	message and up to reserve_recipients recipients for this message; it
 *	counts nothing but a refused attempt.
 *
 *	sg_engine_rcpt() decides each recipient locally against the
 *	recipients begin reserved (reserve_recipients of them, at most): no
 *	store call per recipient. A message with more recipients asks for
 *	more with sg_engine_reserve() (engine.lua "reserve"): each call asks
 *	for as many again as the message holds, so a message of N
 *	recipients makes about log2(N / reserve_recipients) such calls.
 *
 *	sg_engine_commit() at end of message (or when the message is
 *	abandoned) settles: in one call (engine.lua "commit") it removes the
 *	message's reservation and adds the counts, decides quarantine and
 *	whether this message is held.
 *
 *	Reserve-then-settle: begin reserves one message and a chunk of
 *	recipients for this message in the login's reservation hash, in the
 *	same atomic call that finds the room (limit, less the sliding
 *	estimate, less the other messages' live reservations); commit
 *	removes the reservation in the call that counts what was sent. So
 *	messages in flight at once, on one node or on many nodes sharing
 *	one Redis, never share room, and a window's limit holds. Bounds: a
 *	reservation expires reserve_ttl after its last begin or reserve (a
 *	dead node holds room no longer; at least milter_timeout, so a slow
 *	upload keeps its room; docs/SECURITY.md says what remains); and
 *	with on_redis_error = accept nothing is counted
 *	while Redis is down.
 *
 *	The engine is shared by the milter and the replay; it never sleeps,
 *	reads the clock or talks to a socket: time and the store come in.
 */
#ifndef SG_ENGINE_H
#define SG_ENGINE_H

#include "sg_config.h"
#include "sg_duration.h"
#include "sg_engine_proto.h"
#include "sg_keys.h"
#include "sg_login.h"
#include "sg_net.h"
#include "sg_store.h"

struct sg_engine;

/* What a step tells the caller to do. */
enum sg_action {
    SG_ACT_CONTINUE,		/* carry on; at EOM: accept */
    SG_ACT_TEMPFAIL,		/* 451 4.7.1 limit text */
    SG_ACT_HOLD,		/* EOM: quarantine into the hold queue */
    SG_ACT_QUARANTINE_REFUSE,	/* quarantine text, 550 or 451 */
    SG_ACT_STORE_DOWN,		/* store failed: follow on_redis_error */
    SG_ACT_IGNORE,		/* not authenticated: pass untouched */
    SG_ACT_RESERVE		/* RCPT: the reserved recipients are used
				 * up; ask for more (sg_engine_reserve) */
};

#define SG_TAGS_MAX	16	/* failing recipients remembered a message */
#define SG_TAG_LEN	9	/* "89abcdef" */

/* Which limit a tempfail is about. */
enum sg_limit { SG_LIMIT_NONE, SG_LIMIT_MESSAGES, SG_LIMIT_RECIPIENTS,
    SG_LIMIT_HISTORY };		/* recipients from a new network */

/* What begin found (engine.lua's status, SG_BEGIN_R_STATUS). */
enum sg_begin_status {
    SG_BEGIN_OK,			/* "ok": go ahead */
    SG_BEGIN_HOLD,			/* "hold": quarantined, mail is held */
    SG_BEGIN_MESSAGES,			/* "messages": message limit reached */
    SG_BEGIN_QUARANTINED		/* "quarantined": refused at MAIL */
};

/* What support changed by hand since the account's last update. */
enum sg_seen_what {
    SG_SEEN_NONE,			/* "" */
    SG_SEEN_LIFT,			/* "lift": a quarantine was lifted */
    SG_SEEN_TIER			/* "tier OLD NEW": the tier changed */
};

struct sg_seen {
    enum sg_seen_what what;
    char    old_tier[SG_NAME_MAX];	/* SG_SEEN_TIER only */
    char    new_tier[SG_NAME_MAX];
};

/*
 * sg_seen_parse - engine.lua's seen field into *seen. Anything it does
 * not know reads as SG_SEEN_NONE (it only changes what is logged).
 */
extern void sg_seen_parse(const char *text, struct sg_seen *seen);

/* sg_begin_status_parse - begin's status word; -1 if unknown */
extern int sg_begin_status_parse(const char *text, enum sg_begin_status *);

/* One message in progress. Lives in the milter's per-connection context. */
struct sg_msg {
    char    login[SG_LOGIN_MAX];	/* normalised */
    int     login_form;			/* SG_LOGIN_OK or SG_LOGIN_HASHED */
    char    tier[SG_NAME_MAX];
    char    unknown_tier[SG_NAME_MAX];	/* a tier name Redis held, unknown */
    int     begun;			/* begin went through the store */
    int     store_rc;			/* last store status, SG_STORE_* */
    int     committed;
    enum sg_begin_status status;	/* what begin found */
    long    budget;			/* recipients reserved; -1: any */
    char    resv_id[48];		/* its reservation, "" if none */
    int     resv_more;			/* a reserve call may grant more */
    long    quarantine_room;		/* recipients before quarantine_
					 * recipients is passed; -1: no limit */
    unsigned long rcpt_limit, rcpt_secs, rcpt_retry, rcpts_in_window;
    unsigned long msg_limit, msg_secs, msg_retry, msgs_in_window;
    char    qreason[256];		/* quarantine reason, "" if none */
    unsigned accepted;			/* recipients let through */
    unsigned rejected;			/* recipients the MTA rejected */
    unsigned refused;			/* recipients subguard tempfailed */
    char    tags[SG_TAGS_MAX * SG_TAG_LEN + 1];	/* of rejected recipients */
    int     ntags;
    enum sg_limit limit;		/* the limit of the last tempfail */
    /* Each account's history (engine_history.lua): from begin. */
    char    net[SG_NET_KEY_MAX];	/* the client's network, "" unknown */
    char    net_text[SG_NET_TEXT_MAX];	/* the same for the log */
    long    hist_room;			/* recipients it may still send from
					 * this network; -1: not limited */
    unsigned long hist_limit, hist_count, hist_retry;
    /* From commit. */
    int     newly_quarantined;
    unsigned long held;			/* messages now held for the login */
    struct sg_seen seen;		/* support's changes since last time */
    char    incident_domain[256];	/* an incident started or ended */
    char    incident_state[8];		/* "start", "end" or "" */
    int     incident_logins;		/* logins refused at its start */
};

/* sg_engine_new - prepare the engine for one configuration */
extern struct sg_engine *sg_engine_new(const struct sg_config *);
extern void sg_engine_free(struct sg_engine *);
extern const struct sg_config *sg_engine_config(const struct sg_engine *);

/* sg_engine_begin - at MAIL FROM; raw_login is {auth_authen} or NULL */
extern enum sg_action sg_engine_begin(const struct sg_engine *,
				              const struct sg_store *,
				              struct sg_msg *, const char *raw_login,
				              double now, char *err, size_t errlen);

/*
 * sg_engine_begin_from - sg_engine_begin for a client at address client
 * (as the MTA gives it; NULL or not an IP address: unknown), so that
 * the account's history can judge the network the mail comes from.
 */
extern enum sg_action sg_engine_begin_from(const struct sg_engine *,
				                   const struct sg_store *,
				                   struct sg_msg *,
				                   const char *raw_login,
				                   const char *client, double now,
				                   char *err, size_t errlen);

/*
 * sg_engine_rcpt - one recipient; mta_rejected: the MTA already refused
 * it; rcpt: its address (may be NULL), so that repeated failures of one
 * address count once.
 */
extern enum sg_action sg_engine_rcpt(struct sg_msg *, int mta_rejected,
				             const char *rcpt);

/*
 * sg_engine_reserve - the message's reserved recipients are used up
 * (sg_engine_rcpt said SG_ACT_RESERVE): reserve as many again as it
 * holds (reserve_recipients at least) in one store call. Returns SG_ACT_CONTINUE (m->budget grew by
 * what was granted, maybe nothing) or SG_ACT_STORE_DOWN (err). Either
 * way no further reserve is asked for when nothing more was granted.
 */
extern enum sg_action sg_engine_reserve(const struct sg_engine *,
				                const struct sg_store *,
				                struct sg_msg *, double now,
				                char *err, size_t errlen);

/*
 * sg_engine_rcpt_at - sg_engine_rcpt, asking the store for more room
 * when the message needs it: CONTINUE, TEMPFAIL or STORE_DOWN (the
 * recipient is then undecided: the caller follows on_redis_error).
 */
extern enum sg_action sg_engine_rcpt_at(const struct sg_engine *,
				                const struct sg_store *,
				                struct sg_msg *, int mta_rejected,
				                const char *rcpt, double now,
				                char *err, size_t errlen);

/* sg_rcpt_tag - a short tag of an address (case and <> ignored) */
extern void sg_rcpt_tag(const char *rcpt, char tag[SG_TAG_LEN]);

/*
 * sg_engine_commit - count the message. eom: it reached end of message
 * with at least one recipient and qid is its queue id; otherwise it was
 * abandoned and only failures and refusals count. Returns CONTINUE,
 * HOLD or QUARANTINE_REFUSE (or STORE_DOWN). Calling it twice, or for a
 * message that never began, does nothing.
 */
extern enum sg_action sg_engine_commit(const struct sg_engine *,
				               const struct sg_store *,
				               struct sg_msg *, const char *qid,
				               int eom, double now, char *err,
				               size_t errlen);

/*
 * The commit call of one message, built apart from running it, so that
 * the milter can queue it (sg_commitq) and send many at once. argv
 * points into this structure, into the message and into the engine:
 * all three must stay put until the call is made.
 */
#define SG_COMMIT_ARGS	(SG_COMMIT_NKEYS + SG_COMMIT_NARGS)

struct sg_commit {
    int     nkeys;
    int     argc;
    const char *argv[SG_COMMIT_ARGS];	/* SG_COMMIT_K_*, SG_COMMIT_A_* */
    char    keys[SG_COMMIT_NKEYS][SG_KEY_MAX];
    char    now[32], accepted[16], rejected[16], refused[16];
    char    hold_max[24], qid_ttl[24], held_ttl[24];
    char    net[SG_NET_KEY_MAX + 1];	/* SG_COMMIT_A_NET */
};

/*
 * sg_engine_commit_prepare - what sg_engine_commit would send, unsent.
 * replied: the MTA has had its answer already (the call is sent later),
 * so the message cannot be held. Returns 1 ready, 0 nothing to count
 * (no call needed), -1 error (err). The message counts as committed
 * from here: a second call does nothing.
 */
extern int sg_engine_commit_prepare(const struct sg_engine *,
				            struct sg_msg *, const char *qid,
				            int eom, int replied, double now,
				            struct sg_commit *, char *err,
				            size_t errlen);

/*
 * sg_engine_commit_result - read the answer (status: SG_STORE_*) to a
 * prepared call into the message, free the reply, and return the action
 * as sg_engine_commit does.
 */
extern enum sg_action sg_engine_commit_result(struct sg_msg *, int status,
				                      struct sg_reply *, char *err,
				                      size_t errlen);

/*
 * sg_engine_commit_deferrable - 1 when the commit's answer cannot change
 * what happens to this message (it cannot quarantine it, hold it or
 * refuse it), so the commit may be sent after the MTA has its reply.
 */
extern int sg_engine_commit_deferrable(const struct sg_msg *, int eom);

/*
 * sg_engine_text - the customer-facing text for an action, with the
 * placeholders of subguard.conf(5) filled in. Lines are separated by
 * '\n'. Returns buf.
 */
extern char *sg_engine_text(const struct sg_engine *, const struct sg_msg *,
			            enum sg_action, char *buf, size_t len);

/* The result of one delivery outcome, from the log feed or the replay. */
struct sg_outcome {
    char    login[SG_LOGIN_MAX];	/* "" when the queue id is not ours */
    int     newly_quarantined;
    char    reason[256];
    struct sg_seen seen;		/* support's changes since last time */
    char    incident_domain[256];	/* an incident started or ended */
    char    incident_state[8];		/* "start", "end" or "" */
    int     incident_logins;		/* logins refused at its start */
};

/*
 * sg_engine_outcome - count the final delivery outcome of nrcpt
 * recipients of queue id qid, the first of them rcpt (may be NULL), in
 * one store call. feed and position name
 * the caller's place in its log; they are saved in the same atomic call,
 * so a restart neither loses nor counts an outcome twice (NULL: none).
 * With qid NULL only the position is saved (lines that count nothing).
 * Returns 1 counted, 0 the queue id is unknown (not an authenticated
 * submission, or expired), -1 store trouble (err says why).
 */
extern int sg_engine_outcome(const struct sg_engine *, const struct sg_store *,
			             const char *qid, const char *rcpt,
			             int dsn_class, int nrcpt,
			             double now, const char *feed,
			             const char *position, struct sg_outcome *,
			             char *err, size_t errlen);

/*
 * sg_engine_feed_position - the position saved for feed, "" if none.
 * Returns 0, or -1 on store trouble.
 */
extern int sg_engine_feed_position(const struct sg_engine *,
				           const struct sg_store *,
				           const char *feed, char *pos,
				           size_t len, char *err, size_t errlen);

/* An account's state, as sg_engine_inspect reads it. */
#define SG_INSPECT_WINDOWS	(5 * SG_MAX_WINDOWS + 2)
#define SG_INSPECT_NETS		8	/* engine_history.lua keeps 4 */

struct sg_inspect_window {
    unsigned long secs;			/* the last secs seconds: */
    long    messages;			/* estimated counts, -1 where */
    long    recipients;			/* no limit counts that kind */
    long    rejected;			/* at this length */
    long    bounced;
};

struct sg_inspect {
    char    login[SG_LOGIN_MAX];	/* as asked for */
    char    tier[SG_NAME_MAX];		/* the tier in use */
    char    unknown_tier[SG_NAME_MAX];	/* a tier key naming no tier */
    int     quarantined;
    char    qreason[256];		/* the quarantine hash's reason, */
    unsigned long qsince;		/* since (0: not set), */
    char    qby[64];			/* who set it, */
    char    qsource[32];		/* and from what: submission, feed */
    unsigned long held;			/* queue ids in the held list */
    double  score;			/* the failure test's score */
    double  last;			/* time of the last update, 0: never */
    unsigned long msgs, rcpts, rejected, bounced, policy, refused;
    char    held_ids[1024];		/* held queue ids, space separated */
    char    evidence[1024];		/* the quarantine's, "name=value ..." */
    int     nwindows;			/* shortest first */
    struct sg_inspect_window win[SG_INSPECT_WINDOWS];
    /* The history profile (history on, and the account has one). */
    unsigned long hsince;		/* clean history since; 0: none */
    double  husual;			/* usual recipients a day */
    unsigned long htoday, htoday_new;	/* today's (UTC), from networks */
					/* not known */
    long    hroom;			/* a day from those; -1: not judged */
    int     nnets;
    struct sg_inspect_net {
	char    key[SG_NET_KEY_MAX];	/* sg_net.h */
	char    text[SG_NET_TEXT_MAX];	/* "192.0.2.0/24" */
	char    state[12];		/* known, learning, due, refused */
	unsigned long at;		/* known: the day last used; the */
    }       nets[SG_INSPECT_NETS];	/* others: when first seen */
};

/*
 * sg_engine_inspect - an account's state at time now, read through
 * engine.lua ("inspect") without changing anything. login is in key
 * form (sg_login_normalise, as struct sg_msg holds it). Returns 0, or
 * -1 (err says why).
 */
extern int sg_engine_inspect(const struct sg_engine *, const struct sg_store *,
			             const char *login, double now,
			             struct sg_inspect *, char *err,
			             size_t errlen);

/* sg_inspect_window - the window of secs seconds, or NULL */
extern const struct sg_inspect_window *sg_inspect_window(
				           const struct sg_inspect *,
				           unsigned long secs);

/*
 * sg_inspect_surge - 1 when the tier's recipients_surge applies to the
 * inspected account now (its last hour's failures under half of
 * spam_failure), else 0; *rcpts and *failed: the hour's estimates.
 */
extern int sg_inspect_surge(const struct sg_inspect *, const struct sg_tier *,
			            long *rcpts, long *failed);

/*
 * sg_tier_surge - the factor recipients_surge can give a tier's login:
 * 1 (none) when it is off or the tier has fewer than two recipient
 * windows (only windows shorter than the longest grow). t may be NULL.
 */
extern double sg_tier_surge(const struct sg_tier *t);

/*
 * sg_tier_surged_limit - the limit of t's recipient window of secs
 * seconds while the surge applies (the plain one when t can give none);
 * 0 when t has no such window.
 */
extern unsigned long sg_tier_surged_limit(const struct sg_tier *t,
					          unsigned long secs);

/* sg_detection_numbers - lf, ls, upper, lower of a tier's test */
extern void sg_detection_numbers(const struct sg_tier *, double d[4]);

#endif
