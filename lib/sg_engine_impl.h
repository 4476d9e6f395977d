/*
 * NAME
 *	sg_engine_impl 3h
 * SUMMARY
 *	what the engine's source files share, and nobody else
 * DESCRIPTION
 *	The engine is split by the road a call takes: sg_engine.c builds
 *	the engine and runs a message (begin, rcpt, commit); sg_account.c
 *	runs what is keyed by queue id, feed or account rather than by a
 *	message in progress (outcome, position, inspect). Both build their
 *	calls from sg_engine_proto.h and read replies with the helpers
 *	below. Programs include sg_engine.h only.
 */
#ifndef SG_ENGINE_IMPL_H
#define SG_ENGINE_IMPL_H

#include "sg_engine.h"

struct sg_engine {
    const struct sg_config *cfg;
    char  **targ;			/* the tier table as script arguments */
    int     ntarg;
    int     toff[SG_MAX_TIERS];		/* where each tier starts in targ */
    int     tlen[SG_MAX_TIERS];
    int     tdefault;			/* index of the default tier */
    char    node[17];			/* random: reservation ids unique
					 * across nodes */
    char    hist[128];			/* SG_BEGIN_A_HISTORY, "" when off */
};

/* Keys and fixed arguments of any one call, TIERS not counted. */
#define SG_CALL_MAX	24

/*
 * sg_engine_call - run engine.lua: nkeys keys then fixed arguments, in
 * argv[0..nfixed-1], followed by the whole tier table when tiers is
 * set. Returns SG_STORE_*; on success *reply must be freed.
 */
extern int sg_engine_call(const struct sg_engine *, const struct sg_store *,
			          int nkeys, int nfixed, const char **argv,
			          int tiers, struct sg_reply *, char *err,
			          size_t errlen);

/* sg_reply_ulong - reply field i as a number; junk and negatives: 0 */
extern unsigned long sg_reply_ulong(const struct sg_reply *, int i);

/* sg_reply_copy - reply field i into a fixed buffer, truncated */
extern void sg_reply_copy(char *dst, size_t len, const struct sg_reply *,
			          int i);

/* sg_reply_check - 0 if the reply has want fields, else -1 with err */
extern int sg_reply_check(struct sg_reply *, int want, const char *op,
			          char *err, size_t errlen);

#endif
