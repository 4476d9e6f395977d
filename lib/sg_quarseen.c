/*
 * NAME
 *	sg_quarseen 3
 * SUMMARY
 *	the logins a node has lately learned are quarantined
 * DESCRIPTION
 *	See sg_quarseen.h. A linear table: a few hundred entries of
 *	accounts quarantined within the last minute are searched faster than
 *	anything a hash would save, and only at end of message.
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

/* sg_quarseen_add - remember login for SG_QUARSEEN_TTL seconds */
void    sg_quarseen_add(struct sg_quarseen *q, const char *login, double now)
{
    int     i, pick;

    if (login == 0 || *login == 0 || strlen(login) >= sizeof(q->e[0].login))
	return;
    if ((pick = find(q, login)) < 0) {
	/* A free or expired slot, else the one closest to expiry. */
	for (pick = 0, i = 0; i < SG_QUARSEEN_MAX; i++) {
	    if (q->e[i].login[0] == 0 || q->e[i].until <= now) {
		pick = i;
		break;
	    }
	    if (q->e[i].until < q->e[pick].until)
		pick = i;
	}
	snprintf(q->e[pick].login, sizeof(q->e[pick].login), "%s", login);
    }
    q->e[pick].until = now + SG_QUARSEEN_TTL;
}

/* sg_quarseen_has - login noted within its time */
int     sg_quarseen_has(const struct sg_quarseen *q, const char *login,
			        double now)
{
    int     i;

    if (login == 0 || *login == 0)
	return (0);
    return ((i = find(q, login)) >= 0 && q->e[i].until > now);
}

/* sg_quarseen_clear - forget login */
void    sg_quarseen_clear(struct sg_quarseen *q, const char *login)
{
    int     i;

    if (login && (i = find(q, login)) >= 0)
	q->e[i].login[0] = 0;
}
