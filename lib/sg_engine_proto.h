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
    SG_OUTCOME_A_TIERS,			/* TIERS, to the end */
};
enum sg_outcome_reply {
    SG_OUTCOME_R_LOGIN,			/* "" if the qid is unknown */
    SG_OUTCOME_R_NEWLY_QUARANTINED,	/* "1" or "0" */
    SG_OUTCOME_R_REASON,		/* the quarantine's, or "" */
    SG_OUTCOME_R_SEEN,			/* as commit's */
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

#endif
