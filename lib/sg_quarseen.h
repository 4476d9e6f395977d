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
 *	A small, fixed table: SG_QUARSEEN_MAX logins, each kept for the
 *	ttl it was noted with (the milter passes milter_timeout and a
 *	minute: as long as a message begun before the quarantine can still
 *	reach its end), or until a begin *sent after it was noted* finds
 *	the account not quarantined (support lifted it): a begin that ran in
 *	Redis before the quarantine and answered late must not clear it.
 *	When the table is full, nothing is forgotten early: every login
 *	counts as quarantined until the new entry's ttl is over (messages
 *	are then committed at end of message, never deferred: slower, never
 *	less safe). Not locked: the caller serialises access. Time comes in
 *	as an argument.
 */
#ifndef SG_QUARSEEN_H
#define SG_QUARSEEN_H

#include "sg_login.h"

#define SG_QUARSEEN_MAX	256		/* logins remembered at most */
struct sg_quarseen {
    struct {
	char    login[SG_LOGIN_MAX];	/* "" when free */
	double  noted;			/* when it was last noted */
	double  until;			/* forgotten after this time */
    }       e[SG_QUARSEEN_MAX];
    double  all_until;			/* full: every login until then */
};

/* sg_quarseen_add - login is quarantined, as learned at now, for ttl s */
extern void sg_quarseen_add(struct sg_quarseen *, const char *login,
			            double now, double ttl);

/* sg_quarseen_has - 1 if login was learned quarantined lately */
extern int sg_quarseen_has(const struct sg_quarseen *, const char *login,
			           double now);

/*
 * sg_quarseen_clear - login is not quarantined (any more), as a store call
 * sent at time asked said; an entry noted at or after asked stays
 */
extern void sg_quarseen_clear(struct sg_quarseen *, const char *login,
			              double asked);

#endif
