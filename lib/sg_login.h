/*
 * NAME
 *	sg_login 3h
 * SUMMARY
 *	SASL login normalisation
 * DESCRIPTION
 *	Every Redis key of one account is PREFIX:{LOGIN}:SUFFIX (sg_keys.h),
 *	where LOGIN is the normalised login: a Redis Cluster hash tag, so one
 *	account's keys share a slot, and plain text that support staff can
 *	type.
 *
 *	Normalisation is injective: after optional lower-casing, letters,
 *	digits and "@._-+=" stay as they are and every other byte becomes
 *	%XX (so "%", braces, colons, spaces, CR, LF and non-ASCII bytes can
 *	never make one login's key look like another's). A result longer than
 *	SG_LOGIN_KEEP bytes is replaced by "sha256:" and the hex digest of the
 *	cased login; ":" never survives escaping, so that form cannot collide
 *	with an escaped one.
 */
#ifndef SG_LOGIN_H
#define SG_LOGIN_H

#include <stddef.h>

#include "sg_config.h"

#define SG_LOGIN_KEEP	192	/* longest escaped login kept as text */
#define SG_LOGIN_MAX	200	/* buffer for a normalised login */

#define SG_LOGIN_OK	0	/* plain or escaped text */
#define SG_LOGIN_HASHED	1	/* too long: digest form */
#define SG_LOGIN_EMPTY	(-1)	/* nothing to key on */

/* sg_login_normalise - raw {auth_authen} to the key form; see above */
extern int sg_login_normalise(const char *raw, enum sg_case, char *out,
			              size_t outlen);

/*
 * sg_xtext_decode - RFC 3461 xtext ("+2B" is "+") to plain text, as
 * Sendmail passes {auth_authen}. Returns -1, with out untouched, when
 * text is not valid xtext or does not fit.
 */
extern int sg_xtext_decode(const char *text, char *out, size_t outlen);

/* sg_log_safe - a copy of untrusted text fit for one key=value log field */
extern const char *sg_log_safe(const char *text, char *buf, size_t len);

#endif
