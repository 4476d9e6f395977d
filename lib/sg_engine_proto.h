/*
 * NAME
 *	sg_engine_proto 3h
 * SUMMARY
 *	the contract between lib/sg_engine.c and lib/lua/engine.lua
 * DESCRIPTION
 *	Every call of engine.lua passes KEYS, then ARGV, and gets back a flat
 *	list of strings. This header names each of them by its place, as
 *	Postfix's anvil names the attributes of its requests: _K_ a key
 *	(Lua KEYS[i + 1]), _A_ an argument (Lua ARGV[i + 1]), _R_ a reply
 *	field (the reply's element i + 1 in Lua). The indexes here count
 *	from 0, as C does; Lua counts from 1.
 *
 *	engine.lua mirrors these names: at the top of each operation a
 *	named local for each key and argument, "local A_NOW = ARGV[2] --
 *	SG_BEGIN_A_NOW", and for each reply an ordered list of field names,
 *	"'status', -- SG_BEGIN_R_STATUS". tests/unit/test_proto.c reads
 *	engine.lua and checks every such line against the numbers below:
 *	change both sides together.
 *
 *	Only lib/sg_engine.c and lib/sg_inspect.c build calls and read
 *	replies; everything else uses the parsed structures of sg_engine.h.
 *
 *	TIER is two arguments: a tier's name and its numbers as one JSON
 *	object (see engine.lua). TIERS is any number of TIERs, to the end of
 *	ARGV; an operation's _A_TIERS is where they start.
 */
#ifndef SG_ENGINE_PROTO_H
#define SG_ENGINE_PROTO_H

/* ARGV[1], the operation. */
#define SG_OP_BEGIN	"begin"
#define SG_OP_COMMIT	"commit"
#define SG_OP_OUTCOME	"outcome"
#define SG_OP_POSITION	"position"
#define SG_OP_INSPECT	"inspect"
#define SG_OP_RESERVE	"reserve"
/* The support desk's operations (ctl/subguardctl, lib/sg_desk.c). */
#define SG_OP_LIFT	"lift"
#define SG_OP_QUARANTINE	"quarantine"
#define SG_OP_SETTIER	"settier"
#define SG_OP_TRUST	"trust"
#define SG_OP_QLIST	"qlist"
#define SG_OP_EVENTS	"events"
#define SG_OP_SCAN	"scan"

/*
 * Every operation's first two arguments: its name and the time (seconds
 * since the epoch, "%.3f"; the daemon's wall clock, the replay's trace
 * clock).
 */
#define SG_A_OP		0
#define SG_A_NOW	1

/*
 * begin - at MAIL FROM: may this account send a message, and how many
 * recipients? Reserves, in the reservation hash, one message and up to
 * RESV_RCPTS recipients under RESV_ID until commit settles them (or
 * RESV_TTL seconds pass); counts nothing else but a refused attempt.
 */
enum sg_begin_key {
    SG_BEGIN_K_TIER,			/* PREFIX:{LOGIN}:tier */
    SG_BEGIN_K_QUARANTINE,		/* PREFIX:{LOGIN}:quarantine */
    SG_BEGIN_K_COUNTERS,		/* PREFIX:{LOGIN}:counters */
    SG_BEGIN_K_RESV,			/* PREFIX:{LOGIN}:resv */
    SG_BEGIN_NKEYS
};
enum sg_begin_arg {
    SG_BEGIN_A_OP = SG_A_OP,		/* "begin" */
    SG_BEGIN_A_NOW = SG_A_NOW,
    SG_BEGIN_A_DEFAULT_TIER,		/* the tier without a tier key */
    SG_BEGIN_A_REFUSE_QUARANTINED,	/* "1": refuse at MAIL; "0": hold */
    SG_BEGIN_A_RESV_ID,			/* this message's reservation, or ""
					 * to reserve nothing */
    SG_BEGIN_A_RESV_RCPTS,		/* recipients to reserve, at most */
    SG_BEGIN_A_RESV_TTL,		/* seconds a reservation lives */
    SG_BEGIN_A_NET,			/* the client's network (sg_net.h),
					 * "" if not an IP address */
    SG_BEGIN_A_HISTORY,			/* history's numbers "FLOOR FACTOR
					 * RAMP LEARN KEEP", "" when off */
    SG_BEGIN_A_TIERS,			/* TIERS, to the end */
};
enum sg_begin_reply {
    SG_BEGIN_R_STATUS,			/* ok|hold|messages|quarantined */
    SG_BEGIN_R_TIER,			/* the tier in use */
    SG_BEGIN_R_UNKNOWN_TIER,		/* a tier key naming no tier, or "" */
    SG_BEGIN_R_BUDGET,			/* recipients reserved; -1: any */
    SG_BEGIN_R_RCPT_LIMIT,		/* the binding recipient window: */
    SG_BEGIN_R_RCPT_SECS,		/* its limit, length and */
    SG_BEGIN_R_RCPT_RETRY,		/* seconds until it has room */
    SG_BEGIN_R_MSG_LIMIT,		/* the same for messages */
    SG_BEGIN_R_MSG_SECS,
    SG_BEGIN_R_MSG_RETRY,
    SG_BEGIN_R_QUARANTINE_REASON,	/* "" if not quarantined */
    SG_BEGIN_R_RCPTS_IN_WINDOW,		/* the binding windows' counts */
    SG_BEGIN_R_MSGS_IN_WINDOW,
    SG_BEGIN_R_QUARANTINE_ROOM,		/* recipients before
					 * quarantine_recipients; -1: none */
    SG_BEGIN_R_HIST_ROOM,		/* recipients from this network
					 * today; -1: not limited by history */
    SG_BEGIN_R_HIST_LIMIT,		/* that room's limit a day, */
    SG_BEGIN_R_HIST_COUNT,		/* recipients from new networks today, */
    SG_BEGIN_R_HIST_RETRY,		/* seconds until the room grows */
    SG_BEGIN_NREPLY
};

/*
 * commit - at end of message (or abort): count what happened, run the
 * failure test, decide whether this message is held.
 */
enum sg_commit_key {
    SG_COMMIT_K_QUARANTINE,		/* PREFIX:{LOGIN}:quarantine */
    SG_COMMIT_K_COUNTERS,		/* PREFIX:{LOGIN}:counters */
    SG_COMMIT_K_HELD,			/* PREFIX:{LOGIN}:held */
    SG_COMMIT_K_QID,			/* PREFIX:qid:QID */
    SG_COMMIT_K_EVENTS,			/* PREFIX:events */
    SG_COMMIT_K_RESV,			/* PREFIX:{LOGIN}:resv */
    SG_COMMIT_K_INDEX,			/* PREFIX:quarantined */
    SG_COMMIT_NKEYS
};
enum sg_commit_arg {
    SG_COMMIT_A_OP = SG_A_OP,		/* "commit" */
    SG_COMMIT_A_NOW = SG_A_NOW,
    SG_COMMIT_A_LOGIN,			/* normalised */
    SG_COMMIT_A_QID,			/* "" if none */
    SG_COMMIT_A_ACCEPTED,		/* recipients let through */
    SG_COMMIT_A_REJECTED,		/* recipients the MTA rejected */
    SG_COMMIT_A_REFUSED,		/* recipients subguard tempfailed */
    SG_COMMIT_A_MESSAGE,		/* "1": a message was accepted */
    SG_COMMIT_A_HOLD,			/* "1": it may be held */
    SG_COMMIT_A_HOLD_MAX,		/* held messages, then refuse */
    SG_COMMIT_A_QID_TTL,		/* seconds the qid key lives */
    SG_COMMIT_A_HELD_TTL,		/* seconds the held list lives */
    SG_COMMIT_A_TAGS,			/* tags of the rejected recipients */
    SG_COMMIT_A_TIER_NAME,		/* the message's TIER: name, */
    SG_COMMIT_A_TIER_SPEC,		/* numbers */
    SG_COMMIT_A_RESV_ID,		/* the reservation it settles, or "" */
    SG_COMMIT_A_NET,			/* as begin's; "!" in front when the
					 * history limit refused recipients */
    SG_COMMIT_A_HISTORY,		/* as begin's */
    SG_COMMIT_A_DEFAULT_TIER,		/* not written as the account's last
					 * tier (field tn): memory */
    SG_COMMIT_NARGS
};
enum sg_commit_reply {
    SG_COMMIT_R_ACTION,			/* accept|hold|refuse */
    SG_COMMIT_R_NEWLY_QUARANTINED,	/* "1" or "0" */
    SG_COMMIT_R_REASON,			/* the quarantine's, or "" */
    SG_COMMIT_R_HELD,			/* messages held; 0 unless quarantined */
    SG_COMMIT_R_SEEN,			/* "lift", "tier OLD NEW" or "" */
    SG_COMMIT_NREPLY
};

/*
 * outcome - a final delivery outcome from the MTA's log: nrcpt
 * recipients of a queue id bounced. The account comes from the qid key,
 * so its keys are derived in the script from PREFIX and the suffixes.
 */
enum sg_outcome_key {
    SG_OUTCOME_K_QID,			/* PREFIX:qid:QID, or "" */
    SG_OUTCOME_K_POSITION,		/* PREFIX:feed:NAME, or "" */
    SG_OUTCOME_K_EVENTS,		/* PREFIX:events */
    SG_OUTCOME_K_INDEX,			/* PREFIX:quarantined */
    SG_OUTCOME_NKEYS
};
enum sg_outcome_arg {
    SG_OUTCOME_A_OP = SG_A_OP,		/* "outcome" */
    SG_OUTCOME_A_NOW = SG_A_NOW,
    SG_OUTCOME_A_PREFIX,		/* key_prefix */
    SG_OUTCOME_A_CLASS,			/* mailbox|domain|policy|expired|
					 * other|none (save the position) */
    SG_OUTCOME_A_NRCPT,			/* recipients it is about */
    SG_OUTCOME_A_POSITION,		/* the feed's position, or "" */
    SG_OUTCOME_A_DEFAULT_TIER,
    SG_OUTCOME_A_TAG,			/* tag of the first recipient, or "" */
    SG_OUTCOME_A_SUFFIX_TIER,		/* the account keys' suffixes */
    SG_OUTCOME_A_SUFFIX_QUARANTINE,
    SG_OUTCOME_A_SUFFIX_COUNTERS,
    SG_OUTCOME_A_SUFFIX_HELD,
    SG_OUTCOME_A_WEIGHT,		/* a bounce's weight as evidence, 0-1
					 * (sg_dsn_weight) */
    SG_OUTCOME_A_DOMAIN,		/* the recipient's domain, or "" */
    SG_OUTCOME_A_INCIDENT_LOGINS,	/* logins refused by policy that make
					 * an incident; 0: incidents off */
    SG_OUTCOME_A_INCIDENT_WINDOW,	/* ... within these seconds */
    SG_OUTCOME_A_INCIDENT_QUIET,	/* seconds without one that end it */
    SG_OUTCOME_A_TIERS,			/* TIERS, to the end */
};
enum sg_outcome_reply {
    SG_OUTCOME_R_LOGIN,			/* "" if the qid is unknown */
    SG_OUTCOME_R_NEWLY_QUARANTINED,	/* "1" or "0" */
    SG_OUTCOME_R_REASON,		/* the quarantine's, or "" */
    SG_OUTCOME_R_SEEN,			/* as commit's */
    SG_OUTCOME_R_INCIDENT_DOMAIN,	/* an incident that started or ended
					 * in this call, or "" */
    SG_OUTCOME_R_INCIDENT_STATE,	/* "start", "end" or "" */
    SG_OUTCOME_R_INCIDENT_LOGINS,	/* logins refused at its start */
    SG_OUTCOME_NREPLY
};

/*
 * reserve - a message needs more recipients than begin reserved: reserve
 * up to WANT more under its RESV_ID, within what the windows and the
 * other messages' reservations leave.
 */
enum sg_reserve_key {
    SG_RESERVE_K_COUNTERS,		/* PREFIX:{LOGIN}:counters */
    SG_RESERVE_K_RESV,			/* PREFIX:{LOGIN}:resv */
    SG_RESERVE_NKEYS
};
enum sg_reserve_arg {
    SG_RESERVE_A_OP = SG_A_OP,		/* "reserve" */
    SG_RESERVE_A_NOW = SG_A_NOW,
    SG_RESERVE_A_RESV_ID,		/* the message's reservation */
    SG_RESERVE_A_WANT,			/* recipients wanted */
    SG_RESERVE_A_RESV_TTL,		/* seconds it lives from now */
    SG_RESERVE_A_TIER_NAME,		/* the message's TIER: name, */
    SG_RESERVE_A_TIER_SPEC,		/* numbers */
    SG_RESERVE_NARGS
};
enum sg_reserve_reply {
    SG_RESERVE_R_GRANTED,		/* recipients reserved, 0..WANT */
    SG_RESERVE_NREPLY
};

/* position - where a log feed stopped. */
enum sg_position_key {
    SG_POSITION_K_POSITION,		/* PREFIX:feed:NAME */
    SG_POSITION_NKEYS
};
enum sg_position_arg {
    SG_POSITION_A_OP = SG_A_OP,		/* "position" */
    SG_POSITION_A_NOW = SG_A_NOW,	/* unused */
    SG_POSITION_NARGS
};
enum sg_position_reply {
    SG_POSITION_R_POSITION,		/* "" if none */
    SG_POSITION_NREPLY
};

/*
 * inspect - an account's state, read only: what support staff, the
 * replay and tests look at instead of the script's private fields.
 * The reply is SG_INSPECT_NREPLY fields, then SG_INSPECT_R_NWINDOWS
 * groups of SG_INSPECT_W_COUNT fields, one per window length in use,
 * shortest first.
 */
enum sg_inspect_key {
    SG_INSPECT_K_TIER,			/* PREFIX:{LOGIN}:tier */
    SG_INSPECT_K_QUARANTINE,		/* PREFIX:{LOGIN}:quarantine */
    SG_INSPECT_K_COUNTERS,		/* PREFIX:{LOGIN}:counters */
    SG_INSPECT_K_HELD,			/* PREFIX:{LOGIN}:held */
    SG_INSPECT_NKEYS
};
enum sg_inspect_arg {
    SG_INSPECT_A_OP = SG_A_OP,		/* "inspect" */
    SG_INSPECT_A_NOW = SG_A_NOW,	/* windows are estimated at now */
    SG_INSPECT_A_DEFAULT_TIER,
    SG_INSPECT_A_HISTORY,		/* as SG_BEGIN_A_HISTORY */
    SG_INSPECT_A_TIERS,			/* TIERS, to the end */
};
enum sg_inspect_reply {
    SG_INSPECT_R_TIER,			/* the tier in use */
    SG_INSPECT_R_UNKNOWN_TIER,		/* a tier key naming no tier, or "" */
    SG_INSPECT_R_QUARANTINED,		/* "1" or "0" */
    SG_INSPECT_R_QUARANTINE_REASON,	/* the quarantine hash's fields, */
    SG_INSPECT_R_QUARANTINE_SINCE,	/* "" when absent */
    SG_INSPECT_R_QUARANTINE_BY,
    SG_INSPECT_R_QUARANTINE_SOURCE,
    SG_INSPECT_R_HELD,			/* queue ids in the held list */
    SG_INSPECT_R_SCORE,			/* the failure test's score */
    SG_INSPECT_R_LAST,			/* time of the last update, or 0 */
    SG_INSPECT_R_MSGS,			/* totals while the counters live: */
    SG_INSPECT_R_RCPTS,			/* messages, recipients accepted, */
    SG_INSPECT_R_REJECTED,		/* rejected by the MTA, bounced, */
    SG_INSPECT_R_BOUNCED,		/* of those for policy, and */
    SG_INSPECT_R_POLICY,		/* recipients or messages */
    SG_INSPECT_R_REFUSED,		/* subguard refused */
    SG_INSPECT_R_NWINDOWS,		/* window groups that follow */
    SG_INSPECT_R_HELD_IDS,		/* held queue ids (50 at most) */
    SG_INSPECT_R_EVIDENCE,		/* the quarantine's evidence as
					 * "name=value ..." (score ratio
					 * window rcpts failed qids), or "" */
    SG_INSPECT_R_HIST_SINCE,		/* the history profile: the time its
					 * clean history started, 0: none */
    SG_INSPECT_R_HIST_USUAL,		/* usual recipients a day ("%.1f") */
    SG_INSPECT_R_HIST_TODAY,		/* today's (UTC) recipients, */
    SG_INSPECT_R_HIST_TODAY_NEW,	/* of them from networks not known */
    SG_INSPECT_R_HIST_ROOM,		/* the day's room from networks not
					 * known; -1: not judged */
    SG_INSPECT_R_HIST_NETS,		/* "KEY STATE TIME ...": STATE known
					 * (TIME the day last used),
					 * learning, due or refused (TIME
					 * first seen); KEY as sg_net.h */
    SG_INSPECT_NREPLY
};
/* One window group: counts estimated over the last SECS seconds. */
enum sg_inspect_window_field {
    SG_INSPECT_W_SECS,
    SG_INSPECT_W_MESSAGES,		/* -1: not counted at this length */
    SG_INSPECT_W_RECIPIENTS,
    SG_INSPECT_W_REJECTED,
    SG_INSPECT_W_BOUNCED,
    SG_INSPECT_W_COUNT
};

/*
 * The support desk's operations. The index of quarantined accounts,
 * PREFIX:quarantined, is a sorted set of logins scored by the time their
 * quarantine started; commit and outcome keep it in the same call that
 * starts a quarantine or sees one lifted, qlist drops the logins whose
 * quarantine key is gone (a lift by plain redis-cli DEL).
 *
 * lift - remove a quarantine and its held list at once, with a record:
 * the events stream gets "lift" with who and why; the counters start
 * afresh (totals kept), as after a lift seen by commit.
 */
enum sg_lift_key {
    SG_LIFT_K_QUARANTINE,		/* PREFIX:{LOGIN}:quarantine */
    SG_LIFT_K_HELD,			/* PREFIX:{LOGIN}:held */
    SG_LIFT_K_COUNTERS,			/* PREFIX:{LOGIN}:counters */
    SG_LIFT_K_INDEX,			/* PREFIX:quarantined */
    SG_LIFT_K_EVENTS,			/* PREFIX:events */
    SG_LIFT_NKEYS
};
enum sg_lift_arg {
    SG_LIFT_A_OP = SG_A_OP,		/* "lift" */
    SG_LIFT_A_NOW = SG_A_NOW,
    SG_LIFT_A_LOGIN,
    SG_LIFT_A_BY,			/* who lifted it */
    SG_LIFT_A_WHY,			/* and why */
    SG_LIFT_NARGS
};
enum sg_lift_reply {
    SG_LIFT_R_LIFTED,			/* "1", or "0": was not quarantined */
    SG_LIFT_R_REASON,			/* the quarantine's reason */
    SG_LIFT_R_HELD,			/* held queue ids, space separated */
    SG_LIFT_NREPLY
};

/* quarantine - quarantine an account by hand (the abuse desk). */
enum sg_quarantine_key {
    SG_QUARANTINE_K_QUARANTINE,		/* PREFIX:{LOGIN}:quarantine */
    SG_QUARANTINE_K_HELD,		/* PREFIX:{LOGIN}:held */
    SG_QUARANTINE_K_INDEX,		/* PREFIX:quarantined */
    SG_QUARANTINE_K_EVENTS,		/* PREFIX:events */
    SG_QUARANTINE_NKEYS
};
enum sg_quarantine_arg {
    SG_QUARANTINE_A_OP = SG_A_OP,	/* "quarantine" */
    SG_QUARANTINE_A_NOW = SG_A_NOW,
    SG_QUARANTINE_A_LOGIN,
    SG_QUARANTINE_A_BY,
    SG_QUARANTINE_A_WHY,		/* becomes the reason */
    SG_QUARANTINE_NARGS
};
enum sg_quarantine_reply {
    SG_QUARANTINE_R_NEW,		/* "1", or "0": quarantined already */
    SG_QUARANTINE_R_REASON,		/* the quarantine's reason now */
    SG_QUARANTINE_NREPLY
};

/* settier - set (or with NAME "" clear) an account's tier, recorded. */
enum sg_settier_key {
    SG_SETTIER_K_TIER,			/* PREFIX:{LOGIN}:tier */
    SG_SETTIER_K_EVENTS,		/* PREFIX:events */
    SG_SETTIER_NKEYS
};
enum sg_settier_arg {
    SG_SETTIER_A_OP = SG_A_OP,		/* "settier" */
    SG_SETTIER_A_NOW = SG_A_NOW,
    SG_SETTIER_A_LOGIN,
    SG_SETTIER_A_NAME,			/* checked by the caller; "": clear */
    SG_SETTIER_A_BY,
    SG_SETTIER_NARGS
};
enum sg_settier_reply {
    SG_SETTIER_R_OLD,			/* the tier key before, or "" */
    SG_SETTIER_NREPLY
};

/*
 * trust - support confirms a network for an account: known from now on,
 * as if learnt (engine_history.lua), recorded in the events stream.
 */
enum sg_trust_key {
    SG_TRUST_K_COUNTERS,		/* PREFIX:{LOGIN}:counters */
    SG_TRUST_K_EVENTS,			/* PREFIX:events */
    SG_TRUST_NKEYS
};
enum sg_trust_arg {
    SG_TRUST_A_OP = SG_A_OP,		/* "trust" */
    SG_TRUST_A_NOW = SG_A_NOW,
    SG_TRUST_A_LOGIN,
    SG_TRUST_A_NET,			/* sg_net_key(), hex */
    SG_TRUST_A_NET_TEXT,		/* "192.0.2.0/24", for the record */
    SG_TRUST_A_BY,
    SG_TRUST_A_WHY,
    SG_TRUST_A_HISTORY,			/* as SG_BEGIN_A_HISTORY; not "" */
    SG_TRUST_NARGS
};
enum sg_trust_reply {
    SG_TRUST_R_WAS,			/* known, learning, refused or new */
    SG_TRUST_R_KNOWN,			/* networks known now */
    SG_TRUST_NREPLY
};

/*
 * qlist - the quarantined accounts, newest first, at most MAX. The reply
 * is SG_QLIST_NREPLY fields, then SG_QLIST_R_COUNT groups of
 * SG_QLIST_E_COUNT fields.
 */
enum sg_qlist_key {
    SG_QLIST_K_INDEX,			/* PREFIX:quarantined */
    SG_QLIST_NKEYS
};
enum sg_qlist_arg {
    SG_QLIST_A_OP = SG_A_OP,		/* "qlist" */
    SG_QLIST_A_NOW = SG_A_NOW,		/* unused */
    SG_QLIST_A_PREFIX,			/* key_prefix */
    SG_QLIST_A_SUFFIX_QUARANTINE,	/* the account keys' suffixes */
    SG_QLIST_A_SUFFIX_HELD,
    SG_QLIST_A_MAX,			/* entries at most */
    SG_QLIST_NARGS
};
enum sg_qlist_reply {
    SG_QLIST_R_COUNT,			/* entries that follow */
    SG_QLIST_R_HEALED,			/* lifted logins dropped now */
    SG_QLIST_NREPLY
};
enum sg_qlist_entry {
    SG_QLIST_E_LOGIN,
    SG_QLIST_E_SINCE,
    SG_QLIST_E_REASON,
    SG_QLIST_E_BY,
    SG_QLIST_E_SOURCE,
    SG_QLIST_E_HELD,			/* messages held */
    SG_QLIST_E_COUNT
};

/*
 * events - the events stream, newest first, filtered: at most MAX
 * entries since SINCE. The reply is SG_EVENTS_NREPLY fields, then
 * SG_EVENTS_R_COUNT entries, each SG_EVENTS_E_COUNT fields followed by
 * SG_EVENTS_E_NFIELDS names and values (time, event, login, ...).
 */
enum sg_events_key {
    SG_EVENTS_K_EVENTS,			/* PREFIX:events */
    SG_EVENTS_NKEYS
};
enum sg_events_arg {
    SG_EVENTS_A_OP = SG_A_OP,		/* "events" */
    SG_EVENTS_A_NOW = SG_A_NOW,		/* unused */
    SG_EVENTS_A_SINCE,			/* seconds since the epoch; 0: all */
    SG_EVENTS_A_LOGIN,			/* "": any */
    SG_EVENTS_A_TYPE,			/* "": any */
    SG_EVENTS_A_MAX,			/* entries at most */
    SG_EVENTS_NARGS
};
enum sg_events_reply {
    SG_EVENTS_R_COUNT,
    SG_EVENTS_NREPLY
};
enum sg_events_entry {
    SG_EVENTS_E_ID,			/* the stream's entry id */
    SG_EVENTS_E_NFIELDS,		/* name/value pairs that follow */
    SG_EVENTS_E_COUNT
};

/*
 * scan - one SCAN step over the accounts' counters (COUNT keys at most,
 * so Redis is never blocked long): for each account, the limit or bound
 * it is nearest, as use over limit. The reply is SG_SCAN_NREPLY fields,
 * then SG_SCAN_R_COUNT groups of SG_SCAN_E_COUNT fields. Cursor "0"
 * starts and, in the reply, ends.
 */
enum sg_scan_key {
    SG_SCAN_NKEYS
};
enum sg_scan_arg {
    SG_SCAN_A_OP = SG_A_OP,		/* "scan" */
    SG_SCAN_A_NOW = SG_A_NOW,		/* windows are estimated at now */
    SG_SCAN_A_PREFIX,			/* key_prefix */
    SG_SCAN_A_CURSOR,
    SG_SCAN_A_COUNT,			/* SCAN's COUNT */
    SG_SCAN_A_DEFAULT_TIER,
    SG_SCAN_A_SUFFIX_TIER,		/* the account keys' suffixes */
    SG_SCAN_A_SUFFIX_QUARANTINE,
    SG_SCAN_A_SUFFIX_COUNTERS,
    SG_SCAN_A_TIERS,			/* TIERS, to the end */
};
enum sg_scan_reply {
    SG_SCAN_R_CURSOR,			/* the next cursor; "0": done */
    SG_SCAN_R_COUNT,			/* entries that follow */
    SG_SCAN_NREPLY
};
enum sg_scan_entry {
    SG_SCAN_E_LOGIN,
    SG_SCAN_E_TIER,
    SG_SCAN_E_RATIO,			/* use over limit, "%.4f"; 1: at it */
    SG_SCAN_E_WHAT,			/* in words: "45 of 50 recipients in
					 * 1h", "score 5.10 of bound 6.90" */
    SG_SCAN_E_COUNT
};

#endif
