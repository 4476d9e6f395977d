/*
 * NAME
 *	sg_keys 3
 * SUMMARY
 *	subguard's Redis key schema, in one place
 * DESCRIPTION
 *	See sg_keys.h for the list of keys and what each holds.
 */
#include <stdio.h>
#include <string.h>

#include "sg_keys.h"

/* Suffixes of the account keys, by enum sg_account_key. */
static const char *const suffix[SG_AKEY_COUNT] = {
    [SG_AKEY_TIER] = "tier",
    [SG_AKEY_QUARANTINE] = "quarantine",
    [SG_AKEY_HELD] = "held",
    [SG_AKEY_COUNTERS] = "counters",
    [SG_AKEY_RESV] = "resv",
};

/* fits - snprintf's answer as a length, or -1 if the key did not fit */
static int fits(int n, size_t len)
{
    return (n < 0 || (size_t) n >= len ? -1 : n);
}

/* sg_account_key_suffix - the suffix of an account key */
const char *sg_account_key_suffix(enum sg_account_key k)
{
    return ((unsigned) k < SG_AKEY_COUNT ? suffix[k] : "");
}

/* sg_key - PREFIX:{LOGIN}:SUFFIX */
int     sg_key(char *buf, size_t len, const char *prefix, const char *login,
	               const char *sfx)
{
    return (fits(snprintf(buf, len, "%s:{%s}:%s", prefix, login, sfx), len));
}

/* sg_account_key - one of an account's keys */
int     sg_account_key(char *buf, size_t len, const char *prefix,
		               const char *login, enum sg_account_key k)
{
    if ((unsigned) k >= SG_AKEY_COUNT) {
	if (len)
	    buf[0] = 0;
	return (-1);
    }
    return (sg_key(buf, len, prefix, login, suffix[k]));
}

/* sg_key_qid - PREFIX:qid:QID */
int     sg_key_qid(char *buf, size_t len, const char *prefix, const char *qid)
{
    return (fits(snprintf(buf, len, "%s:qid:%s", prefix, qid), len));
}

/* sg_key_feed - PREFIX:feed:NAME */
int     sg_key_feed(char *buf, size_t len, const char *prefix,
		            const char *feed)
{
    return (fits(snprintf(buf, len, "%s:feed:%s", prefix, feed), len));
}

/* sg_key_events - PREFIX:events */
int     sg_key_events(char *buf, size_t len, const char *prefix)
{
    return (fits(snprintf(buf, len, "%s:events", prefix), len));
}

/* sg_key_index - PREFIX:quarantined */
int     sg_key_index(char *buf, size_t len, const char *prefix)
{
    return (fits(snprintf(buf, len, "%s:quarantined", prefix), len));
}

/* sg_qid_short - a Postfix short queue id: hex digits only, reused */
int     sg_qid_short(const char *qid)
{
    size_t  n = strspn(qid, "0123456789ABCDEF");

    return (n > 0 && qid[n] == 0);
}
