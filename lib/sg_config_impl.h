/*
 * NAME
 *	sg_config_impl 3h
 * SUMMARY
 *	what the parts of the configuration reader share (lib/ only)
 * DESCRIPTION
 *	sg_config.c reads the file line by line and hands each value to a
 *	row of a table: sg_params[] (sg_config_param.c) for [subguard],
 *	[redis] and [text], or the tier keys (sg_config_tier.c) for
 *	[tier NAME]. Nothing outside lib/sg_config*.c includes this file.
 */
#ifndef SG_CONFIG_IMPL_H
#define SG_CONFIG_IMPL_H

#include <stddef.h>

#include "sg_config.h"

#define SG_QUOTE_MAX	64		/* input quoted back in messages */
#define SG_PARAMS_MAX	64		/* rows sg_params[] may grow to */
#define SG_NTIER_KEYS	10		/* keys of a [tier NAME] section */

/* A setter checks one value and stores it, or says why not (naming it). */
struct sg_param;
typedef int (*sg_setter) (const struct sg_param *, void *, const char *,
			          char *, size_t);

/* One parameter of [subguard], [redis] or [text]; see sg_config_param.c. */
struct sg_param {
    const char *section;		/* "subguard", "redis" or "text" */
    const char *name;
    const char *def;			/* default, in the file's syntax */
    sg_setter set;
    size_t  offset;			/* field in struct sg_config */
    size_t  size;
    const char *const *words;		/* allowed words, in enum order */
    int     flags;			/* SG_PARAM_* */
};

#define SG_PARAM_MULTILINE 1		/* may go on over indented lines */
#define SG_PARAM_MSEC	2		/* set_duration: milliseconds */

/* sg_config_param.c */
extern const struct sg_param sg_params[];
extern const size_t sg_nparams;
extern const struct sg_param *sg_param_find(const char *section,
					            const char *name);
extern void sg_params_init(struct sg_config *);
extern const char *sg_conf_quote(char *buf, size_t len, const char *text);
extern int sg_conf_why(char *why, size_t len, const char *fmt,...)
		__attribute__((format(printf, 3, 4)));
extern char *sg_conf_trim(char *text);

/* sg_config_tier.c */
extern int sg_tier_key(const char *name);
extern const char *sg_tier_key_name(int key);
extern int sg_tier_set(struct sg_tier *, int key, const char *value,
		               char *err, size_t errlen);
extern void sg_tier_start(struct sg_tier *, const char *name, int line);
extern void sg_tiers_builtin(struct sg_config *);
extern int sg_tier_name_bad(const char *name);

#endif
