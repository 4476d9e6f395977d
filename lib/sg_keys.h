/*
 * NAME
 *	sg_keys 3h
 * SUMMARY
 *	subguard's Redis key schema, in one place
 * DESCRIPTION
 *	Every Redis key subguard reads or writes is named here and nowhere
 *	else in C. With PREFIX the configured key_prefix ("subguard") and
 *	LOGIN a normalised login (sg_login.h):
 *
 *	PREFIX:{LOGIN}:tier	 string, the account's tier (support sets it)
 *	PREFIX:{LOGIN}:quarantine hash, present while quarantined
 *	PREFIX:{LOGIN}:held	 list, queue ids held while quarantined
 *	PREFIX:{LOGIN}:counters	 hash, engine.lua's private counts
 *	PREFIX:{LOGIN}:resv	 hash, reservations of messages in flight:
 *				 id -> "MSGS RCPTS EXPIRY" (engine.lua)
 *	PREFIX:qid:QID		 string "LOGIN TIME N B TAGS F" of an accepted message
 *				 with N recipients, then " B TAGS" once the
 *				 feed counted B of them bounced
 *	PREFIX:feed:NAME	 string, a log feed's position
 *	PREFIX:events		 stream of quarantines, lifts, tier changes
 *
 *	The braces make LOGIN a Redis Cluster hash tag, so one account's
 *	keys share a slot. engine.lua gets every key as KEYS[] except the
 *	account keys of an outcome, which it derives from the qid key's
 *	login: for those the C side passes PREFIX and the suffixes below
 *	(sg_account_key_suffix) as arguments, so the spelling stays here.
 *
 *	Every function writes a NUL-terminated key into buf and returns its
 *	length, or -1 if it does not fit (buf then holds a truncated key).
 */
#ifndef SG_KEYS_H
#define SG_KEYS_H

#include <stddef.h>

#include "sg_login.h"

/* Room for any key: the prefix, a normalised login and the rest. */
#define SG_KEY_MAX	(SG_NAME_MAX + SG_LOGIN_MAX + 32)

/* The keys of one account, PREFIX:{LOGIN}:SUFFIX. */
enum sg_account_key {
    SG_AKEY_TIER,			/* "tier" */
    SG_AKEY_QUARANTINE,			/* "quarantine" */
    SG_AKEY_HELD,			/* "held" */
    SG_AKEY_COUNTERS,			/* "counters" */
    SG_AKEY_RESV,			/* "resv" */
    SG_AKEY_COUNT			/* number of account keys */
};

/* sg_account_key_suffix - "tier", "quarantine", ... of an account key */
extern const char *sg_account_key_suffix(enum sg_account_key);

/* sg_account_key - PREFIX:{LOGIN}:SUFFIX of one account key */
extern int sg_account_key(char *buf, size_t len, const char *prefix,
			          const char *login, enum sg_account_key);

/* sg_key - PREFIX:{LOGIN}:SUFFIX with any suffix (tests, tools) */
extern int sg_key(char *buf, size_t len, const char *prefix,
		          const char *login, const char *suffix);

/* sg_key_qid - PREFIX:qid:QID, the login and time of a queue id */
extern int sg_key_qid(char *buf, size_t len, const char *prefix,
		              const char *qid);

/* sg_key_feed - PREFIX:feed:NAME, where a log feed stopped */
extern int sg_key_feed(char *buf, size_t len, const char *prefix,
		               const char *feed);

/* sg_key_events - PREFIX:events, the stream support reads */
extern int sg_key_events(char *buf, size_t len, const char *prefix);

/* sg_key_index - PREFIX:quarantined, the index of quarantined accounts */
extern int sg_key_index(char *buf, size_t len, const char *prefix);

/*
 * sg_qid_short - 1 if qid looks like a Postfix short queue id (upper
 * case hex, what enable_long_queue_ids = no gives). Short ids are
 * reused within hours, so a bounce of a later message with the same id
 * could be read as one of an earlier message: the feed warns.
 */
extern int sg_qid_short(const char *qid);

#endif
