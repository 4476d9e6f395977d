/*
 * NAME
 *	sg_quarseen 3h
 * SUMMARY
 *	the logins a node has lately learned are quarantined
 * DESCRIPTION
 *	A commit sent after the MTA's reply (the milter's deferred commits)
 *	can learn that an account is quarantined only after its message was
 *	accepted. The milter keeps what it learned here, so that the next
 *	message of that login at end of message is not deferred but
 *	committed at once, and held or refused as quarantine_action says.
 *
 *	A small, fixed table: SG_QUARSEEN_MAX logins, each forgotten
 *	SG_QUARSEEN_TTL seconds after it was last noted, or at once when
 *	a begin finds the account not quarantined (support lifted it). When
 *	full, the entry closest to expiry gives way. Not locked: the
 *	caller serialises access. Time comes in as an argument.
 */
#ifndef SG_QUARSEEN_H
#define SG_QUARSEEN_H

#include "sg_login.h"

#define SG_QUARSEEN_MAX	256		/* logins remembered at most */
#define SG_QUARSEEN_TTL	60		/* seconds each is remembered */

struct sg_quarseen {
    struct {
	char    login[SG_LOGIN_MAX];	/* "" when free */
	double  until;			/* forgotten after this time */
    }       e[SG_QUARSEEN_MAX];
};

/* sg_quarseen_add - login is quarantined, as learned at time now */
extern void sg_quarseen_add(struct sg_quarseen *, const char *login,
			            double now);

/* sg_quarseen_has - 1 if login was learned quarantined lately */
extern int sg_quarseen_has(const struct sg_quarseen *, const char *login,
			           double now);

/* sg_quarseen_clear - login is not quarantined (any more) */
extern void sg_quarseen_clear(struct sg_quarseen *, const char *login);

#endif
