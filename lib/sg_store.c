/*
 * NAME
 *	sg_store 3
 * SUMMARY
 *	store replies
 */
#include <stdlib.h>

#include "sg_store.h"

/* sg_reply_free - release a script's answer */
void    sg_reply_free(struct sg_reply *r)
{
    int     i;

    for (i = 0; i < r->n; i++)
	free(r->v[i]);
    free(r->v);
    r->v = 0;
    r->n = 0;
}
