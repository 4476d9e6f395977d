/*
 * NAME
 *	sg_config 3
 * SUMMARY
 *	subguard configuration: the reader
 * DESCRIPTION
 *	See sg_config.h and subguard.conf(5) for the format. This file reads
 *	it line by line: each line is blank or a comment, a [section]
 *	header, a "name = value" pair, or an indented continuation of the
 *	value before. Values go to the tables of sg_config_param.c
 *	([subguard], [redis], [text]) and sg_config_tier.c ([tier NAME]).
 *
 *	The reader is our own rather than inih: Debian's inih reports no
 *	line numbers to its handler, no section without parameters and no
 *	difference between a continuation and a repeated name; it cuts
 *	section names and strips " ;" from reply texts. Each of those had
 *	to be learnt again from the raw line, so the raw line is all we read.
 *
 *	The file is untrusted input (and fuzzed): lines are bounded, null
 *	bytes refused, and text quoted back in messages is made printable.
 * DIAGNOSTICS
 *	sg_config_load() and sg_config_parse_string() return 0, or -1 with
 *	"file:line: what is wrong" (or "file: what is wrong") in err; a failed
 *	load leaves the caller's configuration untouched.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_config_impl.h"

 /*
  * A line holds at most 198 characters, as long as subguard has read this
  * format (it is inih's limit): a file that loaded before loads the same.
  */
#define SG_LINE_MAX	198
#define SG_LINE_BUF	(SG_LINE_MAX + 2)	/* and a CR, and the null */

enum section {
    SEC_NONE,				/* before the first header */
    SEC_PARAMS,				/* [subguard], [redis] or [text] */
    SEC_TIER,
};

/* The state of one read. */
struct parse {
    const char *name;			/* file name in messages */
    FILE   *fp;				/* source: a file, or */
    const char *text;			/* a string */
    struct sg_config *cfg;
    int     lineno;
    char    line[SG_LINE_BUF];		/* current line, no newline, no BOM */
    enum section sec;
    char    secname[SG_LINE_BUF];	/* e.g. "redis", "tier bulk" */
    struct sg_tier *tier;		/* under [tier NAME] */
    int     tier_lines[SG_NTIER_KEYS];	/* lines of this tier's keys */
    int     have_prev;			/* an indented line continues */
    const struct sg_param *last;	/* ... this parameter (0: not text) */
    char    last_name[SG_QUOTE_MAX];	/* ... named so in messages */
    int     lines[SG_PARAMS_MAX];	/* where each parameter was set */
    int     file_tiers;			/* built-in tiers were dropped */
    int     failed;
    int     read_error;			/* errno of a failed read, or 0 */
    char    err[SG_PATH_MAX + 512];
};

/* fail_at - record the first error of a parse at a line (0: none) */
static int __attribute__((format(printf, 3, 4)))
fail_at(struct parse *p, int line, const char *fmt,...)
{
    char    msg[512];
    va_list ap;

    if (p->failed)
	return (-1);
    p->failed = 1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
	snprintf(p->err, sizeof(p->err), "%s:%d: %s", p->name, line, msg);
    else
	snprintf(p->err, sizeof(p->err), "%s: %s", p->name, msg);
    return (-1);
}

/* next_byte - one byte from the file or string, or EOF */
static int next_byte(struct parse *p)
{
    int     c;

    if (p->fp) {
	if ((c = getc(p->fp)) == EOF && ferror(p->fp))
	    p->read_error = errno ? errno : EIO;
	return (c);
    }
    if (*p->text == 0)
	return (EOF);
    return ((unsigned char) *p->text++);
}

/* read_line - the next line into p->line: 1, or 0 at the end or on error */
static int read_line(struct parse *p)
{
    size_t  n = 0;
    int     nul = 0;
    int     c;

    if ((c = next_byte(p)) == EOF) {
	if (p->read_error)
	    fail_at(p, 0, "read error: %s", strerror(p->read_error));
	return (0);
    }
    p->lineno++;
    for (; c != EOF && c != '\n'; c = next_byte(p)) {
	if (c == 0)
	    nul = 1;
	if (n <= SG_LINE_MAX)
	    p->line[n] = (char) c;		/* one more: a CR may go */
	n++;
    }
    if (p->read_error)
	return (fail_at(p, 0, "read error: %s", strerror(p->read_error)), 0);
    if (n > 0 && n <= SG_LINE_MAX + 1 && p->line[n - 1] == '\r')
	n--;					/* CRLF file */
    if (nul)
	return (fail_at(p, p->lineno, "null byte in line"), 0);
    if (n > SG_LINE_MAX)
	return (fail_at(p, p->lineno, "line longer than %d characters "
			"(a [text] value may go on over indented lines)",
			SG_LINE_MAX), 0);
    p->line[n] = 0;

    /* One UTF-8 byte order mark may start the file. */
    if (p->lineno == 1 && strncmp(p->line, "\xEF\xBB\xBF", 3) == 0)
	memmove(p->line, p->line + 3, n - 3 + 1);
    return (1);
}

/* tier_section - [tier NAME]: start a tier (name already trimmed) */
static int tier_section(struct parse *p, const char *name)
{
    char    q[SG_QUOTE_MAX];
    int     i;

    if (*name == 0)
	return (fail_at(p, p->lineno,
			"[tier] needs a name, like [tier default]"));
    if (sg_tier_name_bad(name))
	return (fail_at(p, p->lineno, "bad tier name \"%s\": use letters, "
			"digits, \".\", \"_\" or \"-\" (at most %d)",
			sg_conf_quote(q, sizeof(q), name), SG_NAME_MAX - 1));

    /* The first [tier] of a file replaces the built-in tiers, not adds. */
    if (!p->file_tiers) {
	p->file_tiers = 1;
	p->cfg->ntiers = 0;
    }
    for (i = 0; i < p->cfg->ntiers; i++)
	if (strcmp(p->cfg->tiers[i].name, name) == 0)
	    return (fail_at(p, p->lineno, "duplicate tier \"%s\" (first at "
			    "line %d)", name, p->cfg->tiers[i].line));
    if (p->cfg->ntiers >= SG_MAX_TIERS)
	return (fail_at(p, p->lineno, "more than %d tiers", SG_MAX_TIERS));
    p->tier = p->cfg->tiers + p->cfg->ntiers++;
    sg_tier_start(p->tier, name, p->lineno);
    memset(p->tier_lines, 0, sizeof(p->tier_lines));
    p->sec = SEC_TIER;
    snprintf(p->secname, sizeof(p->secname), "tier %s", name);
    return (0);
}

/* section - a [header] line (trimmed): which section follows */
static int section(struct parse *p, char *line)
{
    char    q[SG_QUOTE_MAX];
    char   *close;
    char   *inner;
    char   *after;

    /* The name goes up to the first "]"; a comment may follow. */
    if ((close = strchr(line, ']')) == 0)
	return (fail_at(p, p->lineno, "section header without \"]\""));
    *close = 0;
    after = sg_conf_trim(close + 1);
    if (*after != 0 && *after != '#' && *after != ';')
	return (fail_at(p, p->lineno, "text after \"]\" of a section header"));
    inner = sg_conf_trim(line + 1);
    p->tier = 0;
    p->last = 0;
    p->have_prev = 0;
    if (strcmp(inner, "subguard") == 0 || strcmp(inner, "redis") == 0
	|| strcmp(inner, "text") == 0 || strcmp(inner, "feed") == 0
	|| strcmp(inner, "metrics") == 0) {
	p->sec = SEC_PARAMS;
	snprintf(p->secname, sizeof(p->secname), "%s", inner);
	return (0);
    }
    if (strncmp(inner, "tier", 4) != 0
	|| (inner[4] != 0 && !isspace((unsigned char) inner[4])))
	return (fail_at(p, p->lineno, "unknown section \"[%s]\"",
			sg_conf_quote(q, sizeof(q), inner)));
    return (tier_section(p, sg_conf_trim(inner + 4)));
}

/* set_param - store one value through its row's setter */
static int set_param(struct parse *p, const struct sg_param *sp,
		             const char *value)
{
    char    why[256];

    if (sp->set(sp, (char *) p->cfg + sp->offset, value, why, sizeof(why)) < 0)
	return (fail_at(p, p->lineno, "%s", why));
    return (0);
}

/* continuation - an indented line: more of a [text] value, else an error */
static int continuation(struct parse *p, const char *more)
{
    const struct sg_param *sp = p->last;
    const char *field;
    char    joined[SG_TEXT_MAX + SG_LINE_BUF];

    if (sp == 0 || !(sp->flags & SG_PARAM_MULTILINE))
	return (fail_at(p, p->lineno, "indented line continues \"%s\", but "
			"only [text] values may go on over several lines",
			p->last_name));
    field = (char *) p->cfg + sp->offset;
    snprintf(joined, sizeof(joined), "%s%s%s", field, *field ? "\n" : "",
	     more);
    if (strlen(joined) >= sp->size)
	return (fail_at(p, p->lineno, "%s: value too long (at most %zu "
			"characters)", sp->name, sp->size - 1));
    return (set_param(p, sp, joined));
}

/* tier_param - name = value under [tier NAME] */
static int tier_param(struct parse *p, const char *name, const char *value)
{
    char    q[SG_QUOTE_MAX];
    char    why[256];
    int     k;

    if ((k = sg_tier_key(name)) < 0)
	return (fail_at(p, p->lineno, "unknown parameter \"%s\" in [%s]",
			sg_conf_quote(q, sizeof(q), name), p->secname));
    if (p->tier_lines[k])
	return (fail_at(p, p->lineno, "duplicate parameter \"%s\" in [%s] "
			"(first at line %d)", name, p->secname,
			p->tier_lines[k]));
    p->tier_lines[k] = p->lineno;
    if (sg_tier_set(p->tier, k, value, why, sizeof(why)) < 0)
	return (fail_at(p, p->lineno, "%s", why));
    return (0);
}

/* misplaced - a parameter that is not one of its section's */
static int misplaced(struct parse *p, const char *name)
{
    const struct sg_param *other = sg_param_find(0, name);
    char    q[SG_QUOTE_MAX];
    char    hint[64] = "";

    if (other)
	snprintf(hint, sizeof(hint), " (it belongs in [%s])", other->section);
    sg_conf_quote(q, sizeof(q), name);
    if (p->sec == SEC_NONE)
	return (fail_at(p, p->lineno, "parameter \"%s\" before any "
			"section%s", q, hint));
    return (fail_at(p, p->lineno, "unknown parameter \"%s\" in [%s]%s", q,
		    p->secname, hint));
}

/* param - name = value under [subguard], [redis] or [text] */
static int param(struct parse *p, const char *name, const char *value,
		         const char *raw)
{
    const struct sg_param *sp;
    size_t  i;

    if (p->sec != SEC_PARAMS || (sp = sg_param_find(p->secname, name)) == 0)
	return (misplaced(p, name));
    i = (size_t) (sp - sg_params);
    if (p->lines[i])
	return (fail_at(p, p->lineno, "duplicate parameter \"%s\" in [%s] "
			"(first at line %d)", name, p->secname, p->lines[i]));
    p->lines[i] = p->lineno;
    p->last = sp;

    /* Reply texts are prose: a " ;" in them is text, not a comment. */
    return (set_param(p, sp, sp->flags & SG_PARAM_MULTILINE ? raw : value));
}

/* separator - the first "=", ":" or " ;" comment of a line, or its end */
static char *separator(char *s, const char *stops)
{
    int     was_space = 0;

    for (; *s && !strchr(stops, *s) && !(was_space && *s == ';'); s++)
	was_space = isspace((unsigned char) *s);
    return (s);
}

/* pair - a "name = value" line (trimmed) */
static int pair(struct parse *p, char *line)
{
    char    q[SG_QUOTE_MAX];
    char    value[SG_LINE_BUF];
    char   *eq = separator(line, "=:");
    char   *name;

    /* Only "=" separates; "name: value" is an error, as the page says. */
    if (*eq != '=')
	return (fail_at(p, p->lineno,
			"expected \"name = value\" or \"[section]\""));
    *eq = 0;
    name = sg_conf_trim(line);
    if (*name == 0)
	return (fail_at(p, p->lineno,
			"missing parameter name before \"=\""));
    p->have_prev = 1;
    p->last = 0;
    snprintf(p->last_name, sizeof(p->last_name), "%s",
	     sg_conf_quote(q, sizeof(q), name));

    /* Outside [text], a ";" after a blank starts a comment. */
    snprintf(value, sizeof(value), "%s", eq + 1);
    *separator(value, "") = 0;
    if (p->sec == SEC_TIER)
	return (tier_param(p, name, sg_conf_trim(value)));
    return (param(p, name, sg_conf_trim(value), sg_conf_trim(eq + 1)));
}

/* one_line - whatever the current line is, take it */
static int one_line(struct parse *p)
{
    char    copy[SG_LINE_BUF];
    char   *s;

    memcpy(copy, p->line, strlen(p->line) + 1);
    s = sg_conf_trim(copy);

    /* Blank and comment lines do not end a value that goes on. */
    if (*s == 0 || *s == ';' || *s == '#')
	return (0);
    if (p->have_prev && isspace((unsigned char) p->line[0]))
	return (continuation(p, s));
    if (*s == '[')
	return (section(p, s));
    return (pair(p, s));
}

/* check_redis_ha - address or sentinels + master_name; user needs pw */
static void check_redis_ha(struct parse *p)
{
    const struct sg_config *c = p->cfg;
    int     addr = p->lines[sg_param_find("redis", "address") - sg_params];
    int     sent = p->lines[sg_param_find("redis", "sentinels") - sg_params];

    if (addr && c->redis_sentinels[0])
	fail_at(p, sent, "[redis] takes address or sentinels, not both");
    else if (!c->redis_sentinels[0] != !c->redis_master_name[0])
	fail_at(p, sent, "[redis] sentinels and master_name go together");
    else if (c->redis_sentinel_password_file[0] && !c->redis_sentinels[0])
	fail_at(p, 0, "[redis] sentinel_password_file without sentinels");
    else if (c->redis_username[0] && !c->redis_password_file[0])
	fail_at(p, 0, "[redis] username needs a password_file");
}

/* finish - what can be checked only when the whole file is read */
static void finish(struct parse *p)
{
    const struct sg_param *sp;
    size_t  i;

    /* A reply text may start on the line after its name, but not stay empty. */
    for (i = 0; !p->failed && i < sg_nparams; i++) {
	sp = sg_params + i;
	if ((sp->flags & SG_PARAM_MULTILINE)
	    && *((char *) p->cfg + sp->offset) == 0)
	    fail_at(p, p->lines[i], "%s must not be empty", sp->name);
    }

    /* Only now are all tiers known. */
    if (!p->failed && sg_config_tier(p->cfg, p->cfg->default_tier) == 0) {
	i = (size_t) (sg_param_find("subguard", "default_tier") - sg_params);
	if (p->lines[i])
	    fail_at(p, p->lines[i], "default_tier \"%s\": no [tier %s] "
		    "section", p->cfg->default_tier, p->cfg->default_tier);
	else
	    fail_at(p, 0, "no [tier %s] section", p->cfg->default_tier);
    }
    /* A test whose spam ratio is not above the normal one tests nothing. */
    for (i = 0; !p->failed && i < (size_t) p->cfg->ntiers; i++) {
	const struct sg_tier *t = p->cfg->tiers + i;

	if (t->normal_failure > 0 && t->spam_failure <= t->normal_failure)
	    fail_at(p, t->line, "[tier %s]: spam_failure (%g%%) must be above "
		    "normal_failure (%g%%), or set normal_failure = 0 to turn "
		    "the failure test off", t->name, 100 * t->spam_failure,
		    100 * t->normal_failure);
    }
    if (!p->failed)
	check_redis_ha(p);
    /*
     * A message may take milter_timeout between two milter steps (nothing
     * is sent to the milter while the body comes in); its room must stay
     * reserved until its end, or a slow message's room is handed out twice.
     */
    if (!p->failed && p->cfg->reserve_ttl < p->cfg->milter_timeout) {
	i = (size_t) (sg_param_find("subguard", "reserve_ttl") - sg_params);
	fail_at(p, p->lines[i], "reserve_ttl (%lus) must be at least "
		"milter_timeout (%lus): a message may take that long to reach "
		"its end, and its room must stay reserved until then",
		p->cfg->reserve_ttl, p->cfg->milter_timeout);
    }
}

/* parse_source - read a prepared source; 0 or -1 with p->err */
static int parse_source(struct parse *p, struct sg_config *out)
{
    if ((p->cfg = malloc(sizeof(*p->cfg))) == 0)
	return (fail_at(p, 0, "out of memory"));
    sg_config_init(p->cfg);
    snprintf(p->cfg->path, sizeof(p->cfg->path), "%s", p->name);
    while (!p->failed && read_line(p))
	(void) one_line(p);
    if (!p->failed)
	finish(p);
    if (!p->failed)
	memcpy(out, p->cfg, sizeof(*out));
    free(p->cfg);
    p->cfg = 0;
    return (p->failed ? -1 : 0);
}

/* report - copy the outcome into the caller's buffer */
static int report(const struct parse *p, int rc, char *err, size_t errlen)
{
    if (err != 0 && errlen > 0)
	snprintf(err, errlen, "%s", rc < 0 ? p->err : "");
    return (rc);
}

/* sg_config_init - fill in every default; the result is a valid config */
void    sg_config_init(struct sg_config *cfg)
{
    if (cfg == 0)
	return;
    memset(cfg, 0, sizeof(*cfg));
    sg_params_init(cfg);
    sg_tiers_builtin(cfg);
}

/* sg_config_tier - tier by name, or NULL */
const struct sg_tier *sg_config_tier(const struct sg_config *cfg,
				             const char *name)
{
    int     i;

    if (cfg == 0 || name == 0)
	return (0);
    for (i = 0; i < cfg->ntiers && i < SG_MAX_TIERS; i++)
	if (strcmp(cfg->tiers[i].name, name) == 0)
	    return (cfg->tiers + i);
    return (0);
}

/* sg_config_parse_string - same, from memory; name is used in errors */
int     sg_config_parse_string(const char *name, const char *text,
			               struct sg_config *cfg, char *err,
			               size_t errlen)
{
    struct parse *p;
    int     rc = -1;

    if ((p = calloc(1, sizeof(*p))) == 0) {
	if (err != 0 && errlen > 0)
	    snprintf(err, errlen, "%s: out of memory", name ? name : "config");
	return (-1);
    }
    p->name = name ? name : "config";
    p->text = text ? text : "";
    if (cfg == 0)
	fail_at(p, 0, "no configuration to fill");
    else
	rc = parse_source(p, cfg);
    rc = report(p, rc, err, errlen);
    free(p);
    return (rc);
}

/* sg_config_load - read and check a file; defaults for what it omits */
int     sg_config_load(const char *path, struct sg_config *cfg, char *err,
		               size_t errlen)
{
    struct parse *p;
    int     rc = -1;

    if ((p = calloc(1, sizeof(*p))) == 0) {
	if (err != 0 && errlen > 0)
	    snprintf(err, errlen, "%s: out of memory", path ? path : "config");
	return (-1);
    }
    p->name = path ? path : "(null)";
    if (path == 0 || cfg == 0) {
	fail_at(p, 0, "no file name or configuration");
    } else if (strlen(path) >= SG_PATH_MAX) {
	fail_at(p, 0, "file name too long");
    } else if ((p->fp = fopen(path, "r")) == 0) {
	fail_at(p, 0, "cannot open: %s", strerror(errno));
    } else {
	rc = parse_source(p, cfg);
	fclose(p->fp);
    }
    rc = report(p, rc, err, errlen);
    free(p);
    return (rc);
}
