/*
 * NAME
 *	sg_store 3
 * SUMMARY
 *	store replies, and batches on stores that run one call at a time
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

/* sg_store_eval_many - n calls through eval_many, or one by one */
void    sg_store_eval_many(const struct sg_store *store, enum sg_script script,
			           struct sg_call *calls, int n)
{
    int     i;

    if (store->eval_many) {
	store->eval_many(store->ctx, script, calls, n);
	return;
    }
    for (i = 0; i < n; i++)
	calls[i].status = store->eval(store->ctx, script, calls[i].nkeys,
				      calls[i].argc, calls[i].argv, 0,
				      &calls[i].reply, calls[i].err,
				      sizeof(calls[i].err));
}
