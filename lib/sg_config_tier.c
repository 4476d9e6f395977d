/*
 * NAME
 *	sg_config_tier 3
 * SUMMARY
 *	the [tier NAME] sections: keys, limit lists, built-in tiers
 * DESCRIPTION
 *	A tier is a set of limit lists ("100/1m, 1000/1h") and the four
 *	numbers of the failure test. tier_keys[] names the keys a [tier NAME]
 *	section may set; builtin_tiers[] are the tiers a file without any
 *	[tier NAME] section gets.
 * DIAGNOSTICS
 *	sg_parse_windows() and sg_tier_set() return 0, or -1 with the reason
 *	in err (without a file name or line: the reader adds those).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_config_impl.h"
#include "sg_duration.h"

/*
 * The keys of a [tier NAME] section: limit lists (an omitted one means no
 * limit) and the failure test's ratios (an omitted one keeps its value
 * in def, so a tier written by hand is still protected; see
 * subguard.conf(5)).
 */
static const struct tier_key {
    const char *name;
    size_t  offset;			/* in struct sg_tier */
    enum {
	TK_LIST,			/* a limit list */
	TK_RATIO,			/* a share, 0 < v < 1 */
	TK_RATIO0,			/* the same, or 0: off */
	TK_FACTOR,			/* 1 <= v <= 100 */
    }       kind;
    const char *def;			/* the default; 0: a list's, none */
} tier_keys[SG_NTIER_KEYS] = {
    {"messages", offsetof(struct sg_tier, messages), TK_LIST, 0},
    {"recipients", offsetof(struct sg_tier, recipients), TK_LIST, 0},
    {"quarantine_recipients", offsetof(struct sg_tier, q_recipients),
    TK_LIST, 0},
    {"quarantine_rejected", offsetof(struct sg_tier, q_rejected), TK_LIST, 0},
    {"quarantine_failed", offsetof(struct sg_tier, q_failed), TK_LIST, 0},
    {"normal_failure", offsetof(struct sg_tier, normal_failure), TK_RATIO0,
    "2%"},
    {"spam_failure", offsetof(struct sg_tier, spam_failure), TK_RATIO, "15%"},
    {"false_alarm", offsetof(struct sg_tier, false_alarm), TK_RATIO, "0.1%"},
    {"missed_alarm", offsetof(struct sg_tier, missed_alarm), TK_RATIO, "1%"},
    {"recipients_surge", offsetof(struct sg_tier, surge), TK_FACTOR, "2"},
};

/*
 * Tiers that exist while the file has no [tier NAME] section. The
 * numbers come from the evaluation in docs/EVALUATION.md.
 */
static const struct builtin_tier {
    const char *name;
    const char *lists[SG_NTIER_KEYS];	/* in tier_keys[] order */
} builtin_tiers[] = {
    {"default", {"50/1h, 200/1d", "300/1h, 1000/1d", "2000/1d", "20/1h",
    "40/1h", "2%", "15%", "0.1%", "1%", "2"}},
    {"business", {"500/1h, 2000/1d", "1000/1h, 5000/1d", "50000/1d",
    "100/1h", "150/1h", "3%", "20%", "0.1%", "1%", "2"}},
    {"bulk", {"50000/1h, 500000/1d", "50000/1h, 500000/1d", "1000000/1d",
    "500/1h", "1500/1h", "5%", "25%", "0.1%", "1%", "2"}},
};

/* parse_ratio - "2%" or "0.02": a number strictly between 0 and 1 */
static int parse_ratio(const char *text, double *out, char *err,
		               size_t errlen)
{
    char   *end;
    double  v;

    errno = 0;
    v = strtod(text, &end);
    if (end != text && *end == '%' && end[1] == 0)
	v /= 100;
    else if (end == text || *end != 0)
	v = -1;
    if (errno != 0 || !(v > 0 && v < 1))
	return (sg_conf_why(err, errlen, "bad ratio \"%.40s\": want a share "
			    "such as 2%% or 0.02, above 0 and below 1", text));
    *out = v;
    return (0);
}

/* parse_factor - "2" or "1.5": how many times over, 1 (off) to 100 */
static int parse_factor(const char *text, double *out, char *err,
			        size_t errlen)
{
    char   *end;
    double  v;

    errno = 0;
    v = strtod(text, &end);
    if (errno != 0 || end == text || *end != 0 || !(v >= 1 && v <= 100))
	return (sg_conf_why(err, errlen, "bad factor \"%.40s\": want a "
			    "number from 1 (off) to 100, such as 2", text));
    *out = v;
    return (0);
}

/* parse_window - one "LIMIT/DURATION" item, already trimmed */
static int parse_window(char *item, struct sg_window *w, char *err,
			        size_t errlen)
{
    char    q1[SG_QUOTE_MAX];
    char    q2[SG_QUOTE_MAX];
    char   *slash;
    char   *limit;
    char   *dur;

    if ((slash = strchr(item, '/')) == 0)
	return (sg_conf_why(err, errlen, "expected LIMIT/DURATION like "
			    "100/1h, not \"%s\"",
			    sg_conf_quote(q1, sizeof(q1), item)));
    *slash = 0;
    limit = sg_conf_trim(item);
    dur = sg_conf_trim(slash + 1);
    sg_conf_quote(q1, sizeof(q1), limit);
    sg_conf_quote(q2, sizeof(q2), dur);
    if (sg_parse_number(limit, &w->limit) < 0)
	return (sg_conf_why(err, errlen, "bad limit \"%s\" in \"%s/%s\"",
			    q1, q1, q2));
    if (w->limit == 0)
	return (sg_conf_why(err, errlen, "limit must be at least 1 in "
			    "\"%s/%s\"", q1, q2));
    if (sg_parse_duration(dur, &w->seconds) < 0)
	return (sg_conf_why(err, errlen, "bad duration \"%s\" in \"%s/%s\"",
			    q2, q1, q2));
    if (w->seconds == 0)
	return (sg_conf_why(err, errlen, "window must be at least 1s in "
			    "\"%s/%s\"", q1, q2));
    return (0);
}

/* add_window - the next item of a list: parse it, refuse a second length */
static int add_window(struct sg_windows *ws, char *item, const char *text,
		              char *err, size_t errlen)
{
    char    q[SG_QUOTE_MAX];
    char    d[32];
    int     i;

    item = sg_conf_trim(item);
    if (*item == 0)
	return (sg_conf_why(err, errlen, "empty item in window list \"%s\"",
			    sg_conf_quote(q, sizeof(q), text)));
    if (ws->n == SG_MAX_WINDOWS)
	return (sg_conf_why(err, errlen, "more than %d windows in one list",
			    SG_MAX_WINDOWS));
    if (parse_window(item, ws->w + ws->n, err, errlen) < 0)
	return (-1);

    /*
     * Of two windows of the same length only the smaller limit could ever
     * matter: the other one is a typing error.
     */
    for (i = 0; i < ws->n; i++)
	if (ws->w[i].seconds == ws->w[ws->n].seconds)
	    return (sg_conf_why(err, errlen, "two windows of %s in \"%s\"",
				sg_format_duration(ws->w[i].seconds, d,
						   sizeof(d)),
				sg_conf_quote(q, sizeof(q), text)));
    ws->n++;
    return (0);
}

/* sg_parse_windows - "100/1m, 1000/1h" */
int     sg_parse_windows(const char *text, struct sg_windows *out,
			         char *err, size_t errlen)
{
    struct sg_windows ws;
    char   *copy;
    char   *item;
    char   *next;
    int     rc = 0;

    if (text == 0 || out == 0)
	return (sg_conf_why(err, errlen, "no window list"));
    memset(&ws, 0, sizeof(ws));
    if ((copy = strdup(text)) == 0)
	return (sg_conf_why(err, errlen, "out of memory"));

    /* An empty list is a limit that is not there: no windows, no limit. */
    if (*sg_conf_trim(copy) != 0) {
	for (item = copy; rc == 0 && item != 0; item = next) {
	    if ((next = strchr(item, ',')) != 0)
		*next++ = 0;
	    rc = add_window(&ws, item, text, err, errlen);
	}
    }
    free(copy);
    if (rc == 0)
	*out = ws;
    return (rc);
}

/* sg_tier_key - index of a [tier NAME] key, or -1 */
int     sg_tier_key(const char *name)
{
    int     k;

    for (k = 0; k < SG_NTIER_KEYS; k++)
	if (strcmp(tier_keys[k].name, name) == 0)
	    return (k);
    return (-1);
}

/* sg_tier_key_name - the name of a key, for messages */
const char *sg_tier_key_name(int key)
{
    return (tier_keys[key].name);
}

/* sg_tier_set - parse one key's value into its field */
int     sg_tier_set(struct sg_tier *t, int key, const char *value,
		            char *err, size_t errlen)
{
    char   *field = (char *) t + tier_keys[key].offset;

    if (tier_keys[key].kind == TK_RATIO0 && strcmp(value, "0") == 0) {
	*(double *) field = 0;			/* the failure test off */
	return (0);
    }
    if (tier_keys[key].kind == TK_RATIO || tier_keys[key].kind == TK_RATIO0)
	return (parse_ratio(value, (double *) field, err, errlen));
    if (tier_keys[key].kind == TK_FACTOR)
	return (parse_factor(value, (double *) field, err, errlen));
    return (sg_parse_windows(value, (struct sg_windows *) field, err, errlen));
}

/* sg_tier_start - an empty tier: no limits, the default failure test */
void    sg_tier_start(struct sg_tier *t, const char *name, int line)
{
    int     k;

    memset(t, 0, sizeof(*t));
    snprintf(t->name, sizeof(t->name), "%s", name);
    t->line = line;
    for (k = 0; k < SG_NTIER_KEYS; k++)
	if (tier_keys[k].def != 0)
	    (void) sg_tier_set(t, k, tier_keys[k].def, 0, 0);
}

/* sg_tiers_builtin - the tiers of a configuration without [tier] sections */
void    sg_tiers_builtin(struct sg_config *cfg)
{
    const struct builtin_tier *bt;
    struct sg_tier *t;
    size_t  i;
    int     k;

    cfg->ntiers = 0;
    for (i = 0; i < sizeof(builtin_tiers) / sizeof(builtin_tiers[0]); i++) {
	bt = builtin_tiers + i;
	t = cfg->tiers + cfg->ntiers++;
	sg_tier_start(t, bt->name, 0);
	for (k = 0; k < SG_NTIER_KEYS; k++)
	    (void) sg_tier_set(t, k, bt->lists[k], 0, 0);
    }
}

/* sg_tier_name_bad - tier names go into Redis and logs: keep them plain */
int     sg_tier_name_bad(const char *name)
{
    return (*name == 0 || strlen(name) >= SG_NAME_MAX
	    || strspn(name, "abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
	    != strlen(name));
}
