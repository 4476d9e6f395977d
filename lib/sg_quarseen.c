/*
 * NAME
 *	sg_quarseen 3
 * SUMMARY
 *	the logins a node has lately learned are quarantined
 * DESCRIPTION
 *	See sg_quarseen.h. A linear table: a few hundred entries are
 *	searched faster than anything a hash would save, and only at begin
 *	and end of message.
 */
#include <stdio.h>
#include <string.h>

#include "sg_quarseen.h"

/* find - the entry of login, or -1 */
static int find(const struct sg_quarseen *q, const char *login)
{
    int     i;

    for (i = 0; i < SG_QUARSEEN_MAX; i++)
	if (q->e[i].login[0] && strcmp(q->e[i].login, login) == 0)
	    return (i);
    return (-1);
}

/* sg_quarseen_add - remember login for ttl seconds */
void    sg_quarseen_add(struct sg_quarseen *q, const char *login, double now,
			        double ttl)
{
    int     i, pick;

    if (login == 0 || *login == 0 || strlen(login) >= sizeof(q->e[0].login)) {
	/* Cannot be remembered by name: then everyone, for a while. */
	if (q->all_until < now + ttl)
	    q->all_until = now + ttl;
	return;
    }
    if ((pick = find(q, login)) < 0) {
	/* A free or expired slot; none: fail safe, forget nobody early. */
	for (pick = -1, i = 0; i < SG_QUARSEEN_MAX && pick < 0; i++)
	    if (q->e[i].login[0] == 0 || q->e[i].until <= now)
		pick = i;
	if (pick < 0) {
	    if (q->all_until < now + ttl)
		q->all_until = now + ttl;
	    return;
	}
	snprintf(q->e[pick].login, sizeof(q->e[pick].login), "%s", login);
	q->e[pick].until = 0;
    }
    q->e[pick].noted = now;
    if (q->e[pick].until < now + ttl)
	q->e[pick].until = now + ttl;
}

/* sg_quarseen_has - login noted within its time */
int     sg_quarseen_has(const struct sg_quarseen *q, const char *login,
			        double now)
{
    int     i;

    if (now < q->all_until)
	return (1);
    if (login == 0 || *login == 0)
	return (0);
    return ((i = find(q, login)) >= 0 && q->e[i].until > now);
}

/* sg_quarseen_clear - forget login, if asked after it was noted */
void    sg_quarseen_clear(struct sg_quarseen *q, const char *login,
			          double asked)
{
    int     i;

    if (login && (i = find(q, login)) >= 0 && q->e[i].noted < asked)
	q->e[i].login[0] = 0;
}
