/*
 * NAME
 *	sg_config 3
 * SUMMARY
 *	subguard configuration: parameters, defaults, tiers
 * DESCRIPTION
 *	See sg_config.h. inih splits the file into sections and name = value
 *	pairs; everything it cannot tell us comes from our own reader, which
 *	sees every raw line before inih does: the line number, whether the
 *	line is indented (a continuation, not a repeated parameter), the full
 *	section name (inih cuts it at 49 bytes) and section headers that have
 *	no parameters (inih does not report those at all).
 *
 *	Every parameter of [subguard], [redis] and [text] is one row of
 *	sg_params[] with its default written in the file's own syntax, so
 *	sg_config_init() and a file go through the same checks. Built-in tiers
 *	are sg_builtin_tiers[]; any [tier NAME] in a file replaces all of them.
 *
 *	The file is untrusted input (and fuzzed): every value is checked, every
 *	copy is bounded, and text quoted back in messages is made printable.
 * DIAGNOSTICS
 *	sg_config_load() and sg_config_parse_string() return 0, or -1 with
 *	"file:line: what is wrong" (or "file: what is wrong") in err; a failed
 *	load leaves the caller's configuration untouched. sg_parse_duration()
 *	returns -1 on bad input; sg_parse_windows() returns -1 with a message.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include <ini.h>

#include "sg_config.h"

 /*
  * Durations stop at ten years: nothing subguard times lasts longer, and
  * the cap keeps seconds * 1000 far inside the 2^53 that Lua numbers (the
  * Redis scripts) hold exactly and inside a 32-bit unsigned long.
  */
#define SG_DURATION_MAX	(3650UL * 86400UL)

#define SG_SUN_PATH	(sizeof(((struct sockaddr_un *) 0)->sun_path) - 1)
#define SG_REPLY_LINES	32		/* smfi_setmlreply() takes no more */
#define SG_LINE_BUF	1024		/* raw line; inih's own is smaller */
#define SG_QUOTE_MAX	64		/* input quoted back in messages */

/* A setter checks one value and stores it, or says why not (naming it). */
struct sg_param;
typedef int (*sg_setter) (const struct sg_param *, void *, const char *,
			          char *, size_t);

struct sg_param {
    const char *section;		/* "subguard", "redis" or "text" */
    const char *name;
    const char *def;			/* default, in the file's syntax */
    sg_setter set;
    size_t  offset;			/* field in struct sg_config */
    size_t  size;
    const char *const *words;		/* allowed words, in enum order */
    int     multiline;			/* may go on over indented lines */
};

 /*
  * The enum setter stores the word's index through memcpy; that is only
  * right while every enum is int-sized, which C leaves to the compiler.
  */
_Static_assert(sizeof(enum sg_mode) == sizeof(int), "enum size");
_Static_assert(sizeof(enum sg_on_error) == sizeof(int), "enum size");
_Static_assert(sizeof(enum sg_qaction) == sizeof(int), "enum size");
_Static_assert(sizeof(enum sg_case) == sizeof(int), "enum size");
_Static_assert(sizeof(enum sg_encoding) == sizeof(int), "enum size");

static int set_listen(const struct sg_param *, void *, const char *,
		              char *, size_t);
static int set_user(const struct sg_param *, void *, const char *,
		            char *, size_t);
static int set_octal(const struct sg_param *, void *, const char *,
		             char *, size_t);
static int set_enum(const struct sg_param *, void *, const char *,
		            char *, size_t);
static int set_word(const struct sg_param *, void *, const char *,
		            char *, size_t);
static int set_prefix(const struct sg_param *, void *, const char *,
		              char *, size_t);
static int set_tiername(const struct sg_param *, void *, const char *,
			        char *, size_t);
static int set_count(const struct sg_param *, void *, const char *,
		             char *, size_t);
static int set_duration(const struct sg_param *, void *, const char *,
			        char *, size_t);
static int set_msec(const struct sg_param *, void *, const char *,
		            char *, size_t);
static int set_address(const struct sg_param *, void *, const char *,
		               char *, size_t);
static int set_abspath(const struct sg_param *, void *, const char *,
		               char *, size_t);
static int set_database(const struct sg_param *, void *, const char *,
			        char *, size_t);
static int set_text(const struct sg_param *, void *, const char *,
		            char *, size_t);
static int set_sentinels(const struct sg_param *, void *, const char *,
			         char *, size_t);
static int set_redisname(const struct sg_param *, void *, const char *,
			         char *, size_t);

static const char *const sg_mode_words[] = {"enforce", "dry-run", 0};
static const char *const sg_onerr_words[] = {"accept", "tempfail", 0};
static const char *const sg_qact_words[] = {"hold", "reject", "tempfail", 0};
static const char *const sg_case_words[] = {"lower", "keep", 0};
static const char *const sg_encoding_words[] = {"auto", "xtext", "none", 0};
static const char *const sg_facility_words[] = {
    "auth", "authpriv", "daemon", "mail", "user", "local0", "local1",
    "local2", "local3", "local4", "local5", "local6", "local7", 0,
};

#define FIELD(f) offsetof(struct sg_config, f), \
		 sizeof(((struct sg_config *) 0)->f)

 /*
  * The one table of parameters: section, name, default, checker, field.
  * contrib/subguard.conf and subguard.conf(5) must say the same.
  */
static const struct sg_param sg_params[] = {
    {"subguard", "listen", "unix:/run/subguard/subguard.sock",
    set_listen, FIELD(listen), 0, 0},
    {"subguard", "socket_owner", "subguard", set_user, FIELD(socket_owner),
    0, 0},
    {"subguard", "socket_group", "postfix", set_user, FIELD(socket_group),
    0, 0},
    {"subguard", "socket_mode", "0660", set_octal, FIELD(socket_mode), 0, 0},
    {"subguard", "user", "subguard", set_user, FIELD(user), 0, 0},
    {"subguard", "group", "", set_user, FIELD(group), 0, 0},
    {"subguard", "mode", "enforce", set_enum, FIELD(mode), sg_mode_words, 0},
    {"subguard", "on_redis_error", "accept", set_enum, FIELD(on_redis_error),
    sg_onerr_words, 0},
    {"subguard", "login_case", "lower", set_enum, FIELD(login_case),
    sg_case_words, 0},
    {"subguard", "login_encoding", "auto", set_enum, FIELD(login_encoding),
    sg_encoding_words, 0},
    {"subguard", "key_prefix", "subguard", set_prefix, FIELD(key_prefix), 0, 0},
    {"subguard", "default_tier", "default", set_tiername, FIELD(default_tier),
    0, 0},
    {"subguard", "quarantine_action", "hold", set_enum,
    FIELD(quarantine_action), sg_qact_words, 0},
    {"subguard", "hold_max", "50", set_count, FIELD(hold_max), 0, 0},
    {"subguard", "queue_id_ttl", "6d", set_duration, FIELD(queue_id_ttl), 0, 0},
    {"subguard", "milter_timeout", "2h", set_duration, FIELD(milter_timeout),
    0, 0},
    {"subguard", "syslog_facility", "mail", set_word, FIELD(syslog_facility),
    sg_facility_words, 0},
    {"subguard", "notify_command", "", set_abspath, FIELD(notify_command),
    0, 0},
    {"redis", "address", "127.0.0.1:6379", set_address, FIELD(redis_address),
    0, 0},
    {"redis", "password_file", "", set_abspath, FIELD(redis_password_file),
    0, 0},
    {"redis", "database", "0", set_database, FIELD(redis_db), 0, 0},
    {"redis", "timeout", "100ms", set_msec, FIELD(redis_timeout_ms), 0, 0},
    {"redis", "connect_timeout", "100ms", set_msec,
    FIELD(redis_connect_timeout_ms), 0, 0},
    /* Sentinel and ACL user: checked together by sg_check_redis_ha(). */
    {"redis", "sentinels", "", set_sentinels, FIELD(redis_sentinels), 0, 0},
    {"redis", "master_name", "", set_redisname, FIELD(redis_master_name),
    0, 0},
    {"redis", "sentinel_password_file", "", set_abspath,
    FIELD(redis_sentinel_password_file), 0, 0},
    {"redis", "username", "", set_redisname, FIELD(redis_username), 0, 0},
    {"text", "recipients", "You have reached your limit of %{limit} "
	"recipients per %{window}. Please try again in %{retry}.",
    set_text, FIELD(text_recipients), 0, 1},
    {"text", "messages", "You have reached your limit of %{limit} "
	"messages per %{window}. Please try again in %{retry}.",
    set_text, FIELD(text_messages), 0, 1},
    {"text", "quarantine", "Your account %{login} appears to be sending "
	"mail it should not\n(for example because a password was stolen "
	"or a computer is infected),\nso its outgoing mail is on hold. "
	"Please contact %{support}.",
    set_text, FIELD(text_quarantine), 0, 1},
    {"text", "redis_error", "Temporary local problem, please try again later.",
    set_text, FIELD(text_redis_error), 0, 1},
    {"text", "support", "your provider's support desk",
    set_text, FIELD(support_contact), 0, 1},
};

#define SG_NPARAMS (sizeof(sg_params) / sizeof(sg_params[0]))

/*
 * The keys of a [tier NAME] section: limit lists (an omitted one means no
 * limit) and the failure test's ratios (an omitted one keeps the value
 * in sg_test_defaults, so a tier written by hand is still protected).
 */
static const struct sg_tier_key {
    const char *name;
    size_t  offset;			/* in struct sg_tier */
    int     ratio;			/* a double, not a window list */
} sg_tier_keys[] = {
    {"messages", offsetof(struct sg_tier, messages), 0},
    {"recipients", offsetof(struct sg_tier, recipients), 0},
    {"quarantine_recipients", offsetof(struct sg_tier, q_recipients), 0},
    {"quarantine_rejected", offsetof(struct sg_tier, q_rejected), 0},
    {"quarantine_failed", offsetof(struct sg_tier, q_failed), 0},
    {"normal_failure", offsetof(struct sg_tier, normal_failure), 1},
    {"spam_failure", offsetof(struct sg_tier, spam_failure), 1},
    {"false_alarm", offsetof(struct sg_tier, false_alarm), 1},
    {"missed_alarm", offsetof(struct sg_tier, missed_alarm), 1},
};

#define SG_NTIER_KEYS (sizeof(sg_tier_keys) / sizeof(sg_tier_keys[0]))

/* The failure test of a tier that does not set it; see subguard.conf(5). */
static const char *const sg_test_defaults[] = {
    "2%", "15%", "0.1%", "1%",
};

/*
 * Tiers that exist while the file has no [tier NAME] section. The
 * numbers come from the evaluation in docs/EVALUATION.md.
 */
static const struct sg_builtin_tier {
    const char *name;
    const char *lists[SG_NTIER_KEYS];	/* in sg_tier_keys[] order */
} sg_builtin_tiers[] = {
    {"default", {"50/1h, 200/1d", "300/1h, 1000/1d", "2000/1d", "20/1h",
    "40/1h", "2%", "15%", "0.1%", "1%"}},
    {"business", {"500/1h, 2000/1d", "1000/1h, 5000/1d", "50000/1d",
    "100/1h", "150/1h", "3%", "20%", "0.1%", "1%"}},
    {"bulk", {"50000/1h, 500000/1d", "50000/1h, 500000/1d", "1000000/1d",
    "500/1h", "1500/1h", "5%", "25%", "0.1%", "1%"}},
};

/* sg_parse_ratio - "2%" or "0.02": a number strictly between 0 and 1 */
static int sg_parse_ratio(const char *text, double *out, char *err,
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
    if (errno != 0 || !(v > 0 && v < 1)) {
	if (err)
	    snprintf(err, errlen, "bad ratio \"%.40s\": want a share such as "
		     "2%% or 0.02, above 0 and below 1", text);
	return (-1);
    }
    *out = v;
    return (0);
}

/* sg_tier_value - parse one tier key's value into its field */
static int sg_tier_value(struct sg_tier *t, size_t k, const char *value,
			         char *err, size_t errlen)
{
    char   *field = (char *) t + sg_tier_keys[k].offset;

    if (sg_tier_keys[k].ratio)
	return (sg_parse_ratio(value, (double *) field, err, errlen));
    return (sg_parse_windows(value, (struct sg_windows *) field, err, errlen));
}

/* Placeholders a [text] value may use; the milter expands them. */
static const char *const sg_placeholders[] = {
    "limit", "window", "retry", "login", "support", "reason", 0,
};

/* What the reader decided the current raw line is, mirroring inih. */
enum sg_line {
    SG_LINE_NONE,			/* blank, comment, or nothing read */
    SG_LINE_SECTION,			/* [name] */
    SG_LINE_PAIR,			/* name = value */
    SG_LINE_CONT,			/* indented: continues the last value */
};

enum sg_section {
    SG_SEC_NONE,			/* before the first header */
    SG_SEC_PARAMS,			/* [subguard], [redis] or [text] */
    SG_SEC_TIER,
};

/* Parser state shared by the reader and the handler. */
struct sg_parse {
    const char *name;			/* file name in messages */
    FILE   *fp;				/* source: a file, or */
    const char *text;			/* a string */
    struct sg_config *cfg;
    int     lineno;
    char    raw[SG_LINE_BUF];		/* current line, no newline, no BOM */
    enum sg_line kind;
    int     handled;			/* the handler ran for this line */
    int     have_prev;			/* an indented line would continue */
    enum sg_section sec;
    char    secname[SG_LINE_BUF];	/* e.g. "redis", "tier bulk" */
    char    rawsec[SG_LINE_BUF];	/* between the brackets, untrimmed */
    struct sg_tier *tier;		/* under [tier NAME] */
    int     tier_lines[SG_NTIER_KEYS];	/* lines of this tier's keys */
    const struct sg_param *last;	/* what an indented line continues */
    char    last_name[SG_QUOTE_MAX];	/* ... and its name for messages */
    int     lines[SG_NPARAMS];		/* where each parameter was set */
    int     file_tiers;			/* built-in tiers were dropped */
    int     failed;
    int     read_error;			/* errno of a failed read, or 0 */
    char    err[SG_PATH_MAX + 512];
};

/* sg_quote - printable, bounded copy of untrusted text for a message */
static const char *sg_quote(char *buf, size_t len, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    size_t  n = 0;
    unsigned char c;

    /* Room for one escape (4 bytes), "..." and the null byte. */
    if (len < 9) {
	if (len > 0)
	    buf[0] = 0;
	return (buf);
    }
    for (; (c = (unsigned char) *s) != 0; s++) {
	if (n + 4 + 4 > len) {
	    memcpy(buf + n, "...", 3);
	    n += 3;
	    break;
	}
	if (c >= 0x20 && c < 0x7f) {
	    buf[n++] = (char) c;
	} else {
	    buf[n++] = '\\';
	    buf[n++] = 'x';
	    buf[n++] = hex[c >> 4];
	    buf[n++] = hex[c & 15];
	}
    }
    buf[n] = 0;
    return (buf);
}

/* sg_why - write a setter's or list parser's reason, if there is room */
static int __attribute__((format(printf, 3, 4)))
sg_why(char *why, size_t len, const char *fmt,...)
{
    va_list ap;

    if (why != 0 && len > 0) {
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
    }
    return (-1);
}

/* sg_fail_at - record the first error of a parse at a line (0: none) */
static int __attribute__((format(printf, 3, 4)))
sg_fail_at(struct sg_parse *p, int line, const char *fmt,...)
{
    char    msg[512];
    va_list ap;

    if (p->failed)
	return (0);
    p->failed = 1;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (line > 0)
	snprintf(p->err, sizeof(p->err), "%s:%d: %s", p->name, line, msg);
    else
	snprintf(p->err, sizeof(p->err), "%s: %s", p->name, msg);
    return (0);				/* inih's "handler failed" */
}

/* sg_trim - strip white space at both ends, in place */
static char *sg_trim(char *s)
{
    char   *end;

    while (*s && isspace((unsigned char) *s))
	s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char) end[-1]))
	*--end = 0;
    return (s);
}

/* sg_copy - bounded string copy into a parameter's field */
static int sg_copy(const struct sg_param *sp, void *field, const char *value,
		           char *why, size_t len)
{
    size_t  n = strlen(value);

    if (n >= sp->size)
	return (sg_why(why, len, "%s: value too long (at most %zu characters)",
		       sp->name, sp->size - 1));
    memcpy(field, value, n + 1);
    return (0);
}

/* sg_has_byte - any space, control, non-ASCII byte, or one of bad? */
static int sg_has_byte(const char *s, const char *bad)
{
    const unsigned char *cp;

    for (cp = (const unsigned char *) s; *cp; cp++)
	if (*cp <= 0x20 || *cp >= 0x7f || (bad && strchr(bad, *cp)))
	    return (1);
    return (0);
}

/* sg_parse_number - strict unsigned decimal: digits only, no sign, no space */
static int sg_parse_number(const char *s, unsigned long *out)
{
    unsigned long v;
    char   *end;

    /* strtoul would take leading space, a sign and "0x"; insist on a digit. */
    if (s == 0 || !isdigit((unsigned char) s[0]))
	return (-1);
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno == ERANGE || *end != 0)
	return (-1);
    *out = v;
    return (0);
}

/* sg_parse_scaled - digits and a unit from units[], to value * scale */
static int sg_parse_scaled(const char *text, const char *const *units,
			           const unsigned long *scale, int need_unit,
			           unsigned long max, unsigned long *out)
{
    char    num[32];
    const char *cp;
    unsigned long v;
    size_t  n;
    int     i;

    if (text == 0)
	return (-1);
    for (cp = text; isdigit((unsigned char) *cp); cp++)
	 /* void */ ;
    n = (size_t) (cp - text);
    if (n == 0 || n >= sizeof(num))
	return (-1);
    memcpy(num, text, n);
    num[n] = 0;
    if (sg_parse_number(num, &v) < 0)
	return (-1);
    if (*cp == 0) {
	if (need_unit)
	    return (-1);
	i = -1;
    } else {
	for (i = 0; units[i] != 0 && strcmp(cp, units[i]) != 0; i++)
	     /* void */ ;
	if (units[i] == 0)
	    return (-1);
    }
    if (i >= 0) {
	if (v > max / scale[i])
	    return (-1);
	v *= scale[i];
    }
    if (v > max)
	return (-1);
    *out = v;
    return (0);
}

/* sg_parse_duration - "90", "90s", "15m", "1h", "1d", "1w" to seconds */
int     sg_parse_duration(const char *text, unsigned long *seconds)
{
    static const char *const units[] = {"s", "m", "h", "d", "w", 0};
    static const unsigned long scale[] = {1, 60, 3600, 86400, 604800};
    unsigned long v;

    if (sg_parse_scaled(text, units, scale, 0, SG_DURATION_MAX, &v) < 0)
	return (-1);
    if (seconds)
	*seconds = v;
    return (0);
}

/* sg_parse_msec - "100ms", "2s" to milliseconds; the unit is required */
static int sg_parse_msec(const char *text, unsigned long *msec)
{
    static const char *const units[] = {"ms", "s", "m", "h", "d", "w", 0};
    static const unsigned long scale[] = {1, 1000, 60000, 3600000,
    86400000, 604800000};

    return (sg_parse_scaled(text, units, scale, 1, SG_DURATION_MAX * 1000,
			    msec));
}

/* sg_format_duration - 3600 -> "1h", 90 -> "90s" */
const char *sg_format_duration(unsigned long seconds, char *buf, size_t len)
{
    static const struct {
	unsigned long seconds;
	char    unit;
    }       units[] = {
	{604800, 'w'}, {86400, 'd'}, {3600, 'h'}, {60, 'm'},
    };
    size_t  i;

    if (buf == 0 || len == 0)
	return ("");

    /*
     * The largest unit that divides exactly gives the fewest digits: 1d, not
     * 24h; 36h, since 1.5d cannot be written.
     */
    for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
	if (seconds != 0 && seconds % units[i].seconds == 0) {
	    snprintf(buf, len, "%lu%c", seconds / units[i].seconds,
		     units[i].unit);
	    return (buf);
	}
    }
    snprintf(buf, len, "%lus", seconds);
    return (buf);
}

/* sg_parse_window - one "LIMIT/DURATION" item, already trimmed */
static int sg_parse_window(char *item, struct sg_window *w, char *err,
			           size_t errlen)
{
    char    q1[SG_QUOTE_MAX];
    char    q2[SG_QUOTE_MAX];
    char   *slash;
    char   *limit;
    char   *dur;

    if ((slash = strchr(item, '/')) == 0)
	return (sg_why(err, errlen, "expected LIMIT/DURATION like 100/1h, "
		       "not \"%s\"", sg_quote(q1, sizeof(q1), item)));
    *slash = 0;
    limit = sg_trim(item);
    dur = sg_trim(slash + 1);
    sg_quote(q1, sizeof(q1), limit);
    sg_quote(q2, sizeof(q2), dur);
    if (sg_parse_number(limit, &w->limit) < 0)
	return (sg_why(err, errlen, "bad limit \"%s\" in \"%s/%s\"",
		       q1, q1, q2));
    if (w->limit == 0)
	return (sg_why(err, errlen, "limit must be at least 1 in \"%s/%s\"",
		       q1, q2));
    if (sg_parse_duration(dur, &w->seconds) < 0)
	return (sg_why(err, errlen, "bad duration \"%s\" in \"%s/%s\"",
		       q2, q1, q2));
    if (w->seconds == 0)
	return (sg_why(err, errlen, "window must be at least 1s in \"%s/%s\"",
		       q1, q2));
    return (0);
}

/* sg_parse_windows - "100/1m, 1000/1h" */
int     sg_parse_windows(const char *text, struct sg_windows *out,
			         char *err, size_t errlen)
{
    struct sg_windows ws;
    char    q[SG_QUOTE_MAX];
    char    d[32];
    char   *copy;
    char   *item;
    char   *next;
    int     i;

    if (text == 0 || out == 0)
	return (sg_why(err, errlen, "no window list"));
    memset(&ws, 0, sizeof(ws));

    /* An empty list is a limit that is not there: no windows, no limit. */
    if ((copy = strdup(text)) == 0)
	return (sg_why(err, errlen, "out of memory"));
    if (*sg_trim(copy) == 0) {
	free(copy);
	*out = ws;
	return (0);
    }
    for (item = copy; item != 0; item = next) {
	if ((next = strchr(item, ',')) != 0)
	    *next++ = 0;
	item = sg_trim(item);
	if (*item == 0) {
	    sg_why(err, errlen, "empty item in window list \"%s\"",
		   sg_quote(q, sizeof(q), text));
	    goto bad;
	}
	if (ws.n == SG_MAX_WINDOWS) {
	    sg_why(err, errlen, "more than %d windows in one list",
		   SG_MAX_WINDOWS);
	    goto bad;
	}
	if (sg_parse_window(item, ws.w + ws.n, err, errlen) < 0)
	    goto bad;

	/*
	 * Of two windows of the same length only the smaller limit could ever
	 * matter: the other one is a typing error.
	 */
	for (i = 0; i < ws.n; i++) {
	    if (ws.w[i].seconds == ws.w[ws.n].seconds) {
		sg_why(err, errlen, "two windows of %s in \"%s\"",
		       sg_format_duration(ws.w[i].seconds, d, sizeof(d)),
		       sg_quote(q, sizeof(q), text));
		goto bad;
	    }
	}
	ws.n++;
    }
    free(copy);
    *out = ws;
    return (0);

bad:
    free(copy);
    return (-1);
}

/* set_listen - libmilter's unix:/path, local:/path, inet[6]:port[@host] */
static int set_listen(const struct sg_param *sp, void *field,
		              const char *value, char *why, size_t len)
{
    const char *rest = 0;
    const char *at;
    unsigned long port;
    char    num[16];
    size_t  n;

    if (strncmp(value, "unix:", 5) == 0 || strncmp(value, "local:", 6) == 0) {
	rest = strchr(value, ':') + 1;
	if (*rest != '/' || sg_has_byte(rest, 0))
	    return (sg_why(why, len, "%s: a unix socket needs an absolute "
			   "path, like unix:/run/subguard/subguard.sock",
			   sp->name));
	if (strlen(rest) > SG_SUN_PATH)
	    return (sg_why(why, len, "%s: a unix socket path has at most %zu "
			   "characters", sp->name, SG_SUN_PATH));
	return (sg_copy(sp, field, value, why, len));
    }
    if (strncmp(value, "inet:", 5) == 0)
	rest = value + 5;
    else if (strncmp(value, "inet6:", 6) == 0)
	rest = value + 6;
    if (rest == 0)
	return (sg_why(why, len, "%s must be unix:/path or inet:port@host",
		       sp->name));

    /*
     * Postfix writes a milter as inet:host:port, libmilter as inet:port@host;
     * the first form here would fail only when the daemon starts.
     */
    at = strchr(rest, '@');
    n = at ? (size_t) (at - rest) : strlen(rest);
    if (n == 0 || n >= sizeof(num) || (at != 0 && at[1] == 0)
	|| sg_has_byte(rest, 0))
	goto bad;
    memcpy(num, rest, n);
    num[n] = 0;
    if (sg_parse_number(num, &port) == 0) {
	if (port == 0 || port > 65535)
	    goto bad;
    } else if (strspn(num, "abcdefghijklmnopqrstuvwxyz0123456789-") != n) {
	goto bad;				/* not a port, not a service */
    }
    return (sg_copy(sp, field, value, why, len));

bad:
    return (sg_why(why, len, "%s: expected inet:PORT@HOST like "
		   "inet:9025@127.0.0.1 (libmilter's order, not Postfix's)",
		   sp->name));
}

/* set_user - user or group name; empty is allowed and means "none" */
static int set_user(const struct sg_param *sp, void *field, const char *value,
		            char *why, size_t len)
{
    if (sg_has_byte(value, ":"))
	return (sg_why(why, len, "%s: a user or group name has no spaces, "
		       "colons or control characters", sp->name));
    return (sg_copy(sp, field, value, why, len));
}

/* set_octal - a file mode like 0660 */
static int set_octal(const struct sg_param *sp, void *field,
		             const char *value, char *why, size_t len)
{
    unsigned v;

    /* A leading 0 and exactly three octal digits: no room for doubt. */
    if (strlen(value) != 4 || value[0] != '0'
	|| strspn(value + 1, "01234567") != 3)
	return (sg_why(why, len, "%s must be octal like 0660", sp->name));
    v = (unsigned) strtoul(value, 0, 8);
    memcpy(field, &v, sizeof(v));
    return (0);
}

/* sg_words - "a, b or c" from a word list, for messages */
static const char *sg_words(const char *const *words, char *buf, size_t len)
{
    size_t  n = 0;
    int     i;

    buf[0] = 0;
    for (i = 0; words[i] != 0 && n < len; i++)
	n += (size_t) snprintf(buf + n, len - n, "%s%s",
			       i == 0 ? "" : words[i + 1] ? ", " : " or ",
			       words[i]);
    return (buf);
}

/* set_enum - one of sp->words, stored as its index */
static int set_enum(const struct sg_param *sp, void *field, const char *value,
		            char *why, size_t len)
{
    char    buf[256];
    int     i;

    for (i = 0; sp->words[i] != 0; i++) {
	if (strcmp(value, sp->words[i]) == 0) {
	    memcpy(field, &i, sizeof(i));
	    return (0);
	}
    }
    return (sg_why(why, len, "%s must be %s", sp->name,
		   sg_words(sp->words, buf, sizeof(buf))));
}

/* set_word - one of sp->words, stored as the string */
static int set_word(const struct sg_param *sp, void *field, const char *value,
		            char *why, size_t len)
{
    char    buf[256];
    int     i;

    for (i = 0; sp->words[i] != 0; i++)
	if (strcmp(value, sp->words[i]) == 0)
	    return (sg_copy(sp, field, value, why, len));
    return (sg_why(why, len, "%s must be %s", sp->name,
		   sg_words(sp->words, buf, sizeof(buf))));
}

/* set_prefix - the start of every Redis key */
static int set_prefix(const struct sg_param *sp, void *field,
		              const char *value, char *why, size_t len)
{
    /* Braces would move a key's Redis Cluster hash tag off the login. */
    if (*value == 0 || sg_has_byte(value, "{}"))
	return (sg_why(why, len, "%s must be non-empty, without spaces, "
		       "braces or control characters", sp->name));
    return (sg_copy(sp, field, value, why, len));
}

/* sg_bad_tiername - tier names go into Redis and logs: keep them plain */
static int sg_bad_tiername(const char *name)
{
    return (*name == 0 || strlen(name) >= SG_NAME_MAX
	    || strspn(name, "abcdefghijklmnopqrstuvwxyz"
		      "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
	    != strlen(name));
}

/* set_tiername - default_tier; that the tier exists is checked at the end */
static int set_tiername(const struct sg_param *sp, void *field,
			        const char *value, char *why, size_t len)
{
    if (sg_bad_tiername(value))
	return (sg_why(why, len, "%s must be a tier name of letters, digits, "
		       "\".\", \"_\" or \"-\" (at most %d)", sp->name,
		       SG_NAME_MAX - 1));
    return (sg_copy(sp, field, value, why, len));
}

/* set_count - a number, 0 allowed */
static int set_count(const struct sg_param *sp, void *field,
		             const char *value, char *why, size_t len)
{
    unsigned long v;
    char    q[SG_QUOTE_MAX];

    if (sg_parse_number(value, &v) < 0)
	return (sg_why(why, len, "%s must be a number, not \"%s\"", sp->name,
		       sg_quote(q, sizeof(q), value)));
    memcpy(field, &v, sizeof(v));
    return (0);
}

/* set_duration - seconds, more than zero */
static int set_duration(const struct sg_param *sp, void *field,
			        const char *value, char *why, size_t len)
{
    unsigned long v;
    char    q[SG_QUOTE_MAX];

    if (sg_parse_duration(value, &v) < 0)
	return (sg_why(why, len, "%s: bad duration \"%s\" (like 30s, 15m, "
		       "6d; at most 3650d)", sp->name,
		       sg_quote(q, sizeof(q), value)));
    if (v == 0)
	return (sg_why(why, len, "%s must be more than 0", sp->name));
    memcpy(field, &v, sizeof(v));
    return (0);
}

/* set_msec - milliseconds, with a unit, more than zero */
static int set_msec(const struct sg_param *sp, void *field, const char *value,
		            char *why, size_t len)
{
    unsigned long v;
    char    q[SG_QUOTE_MAX];

    /* A bare "100" could be seconds or milliseconds: make the file say. */
    if (sg_parse_msec(value, &v) < 0)
	return (sg_why(why, len, "%s: bad duration \"%s\" (a number and a "
		       "unit, like 100ms or 2s)", sp->name,
		       sg_quote(q, sizeof(q), value)));
    if (v == 0)
	return (sg_why(why, len, "%s must be more than 0", sp->name));
    memcpy(field, &v, sizeof(v));
    return (0);
}

/* set_address - Redis at unix:/path or host:port */
static int set_address(const struct sg_param *sp, void *field,
		               const char *value, char *why, size_t len)
{
    const char *colon;
    unsigned long port;

    if (strncmp(value, "unix:", 5) == 0) {
	if (value[5] != '/' || sg_has_byte(value, 0))
	    goto bad;
	if (strlen(value + 5) > SG_SUN_PATH)
	    return (sg_why(why, len, "%s: a unix socket path has at most %zu "
			   "characters", sp->name, SG_SUN_PATH));
	return (sg_copy(sp, field, value, why, len));
    }
    /* The last colon, so that an IPv6 address keeps its own. */
    if ((colon = strrchr(value, ':')) == 0 || colon == value
	|| sg_has_byte(value, 0) || sg_parse_number(colon + 1, &port) < 0
	|| port == 0 || port > 65535)
	goto bad;
    return (sg_copy(sp, field, value, why, len));

bad:
    return (sg_why(why, len, "%s must be unix:/path or host:port",
		   sp->name));
}

/* set_abspath - a file name; relative names would depend on the cwd */
static int set_abspath(const struct sg_param *sp, void *field,
		               const char *value, char *why, size_t len)
{
    if (*value != 0 && (*value != '/' || sg_has_byte(value, 0)))
	return (sg_why(why, len, "%s must be empty or an absolute path",
		       sp->name));
    return (sg_copy(sp, field, value, why, len));
}

/* set_database - Redis database number */
static int set_database(const struct sg_param *sp, void *field,
			        const char *value, char *why, size_t len)
{
    unsigned long v;
    int     db;

    if (sg_parse_number(value, &v) < 0 || v > 2147483647UL)
	return (sg_why(why, len, "%s must be a number like 0", sp->name));
    db = (int) v;
    memcpy(field, &db, sizeof(db));
    return (0);
}

/* set_text - a reply text: SMTP-safe characters and known placeholders */
static int set_text(const struct sg_param *sp, void *field, const char *value,
		            char *why, size_t len)
{
    const unsigned char *cp;
    const char *start;
    const char *end;
    char    q[SG_QUOTE_MAX];
    char    name[16];
    size_t  n;
    int     lines = 1;
    int     i;

    /*
     * Empty is allowed here, for a value that starts on the next, indented
     * line; sg_parse_source() refuses a text that stays empty.
     *
     * RFC 5321 reply text is printable US-ASCII and tab; the newlines are
     * ours, between continuation lines, and become separate reply lines.
     */
    for (cp = (const unsigned char *) value; *cp; cp++) {
	if ((*cp < 0x20 && *cp != '\t' && *cp != '\n') || *cp >= 0x7f)
	    return (sg_why(why, len, "%s: only printable ASCII may go into "
			   "an SMTP reply (byte \\x%02x)", sp->name, *cp));
	if (*cp == '\n' && ++lines > SG_REPLY_LINES)
	    return (sg_why(why, len, "%s: more than %d lines", sp->name,
			   SG_REPLY_LINES));
    }

    /* A mistyped placeholder would reach the customer as it is. */
    for (start = strstr(value, "%{"); start; start = strstr(end, "%{")) {
	if ((end = strchr(start + 2, '}')) == 0)
	    return (sg_why(why, len, "%s: \"%%{\" without \"}\"", sp->name));
	n = (size_t) (end - start - 2);
	for (i = 0; sg_placeholders[i] != 0; i++)
	    if (strlen(sg_placeholders[i]) == n
		&& strncmp(start + 2, sg_placeholders[i], n) == 0)
		break;
	if (sg_placeholders[i] == 0) {
	    snprintf(name, sizeof(name), "%.*s", (int) (n < 15 ? n : 15),
		     start + 2);
	    return (sg_why(why, len, "%s: unknown placeholder \"%%{%s}\"",
			   sp->name, sg_quote(q, sizeof(q), name)));
	}
    }
    return (sg_copy(sp, field, value, why, len));
}

/* sg_find_param - row of a parameter in a section, or NULL */
static const struct sg_param *sg_find_param(const char *section,
					            const char *name)
{
    size_t  i;

    for (i = 0; i < SG_NPARAMS; i++)
	if ((section == 0 || strcmp(sg_params[i].section, section) == 0)
	    && strcmp(sg_params[i].name, name) == 0)
	    return (sg_params + i);
    return (0);
}

/* sg_config_init - fill in every default; the result is a valid config */
void    sg_config_init(struct sg_config *cfg)
{
    const struct sg_builtin_tier *bt;
    struct sg_tier *t;
    size_t  i;
    size_t  k;

    if (cfg == 0)
	return;
    memset(cfg, 0, sizeof(*cfg));

    /* The defaults are written as in a file and go through the same checks. */
    for (i = 0; i < SG_NPARAMS; i++)
	(void) sg_params[i].set(sg_params + i,
				(char *) cfg + sg_params[i].offset,
				sg_params[i].def, 0, 0);
    for (i = 0; i < sizeof(sg_builtin_tiers) / sizeof(sg_builtin_tiers[0]);
	 i++) {
	bt = sg_builtin_tiers + i;
	t = cfg->tiers + cfg->ntiers++;
	snprintf(t->name, sizeof(t->name), "%s", bt->name);
	for (k = 0; k < SG_NTIER_KEYS; k++)
	    (void) sg_tier_value(t, k, bt->lists[k], 0, 0);
    }
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

/* sg_section - a [header] line: which section follows */
static int sg_section(struct sg_parse *p, char *line)
{
    char    q[SG_QUOTE_MAX];
    char   *close;
    char   *inner;
    char   *name;
    char   *after;
    int     i;

    /* inih takes the name up to the first "]" and ignores what follows. */
    if ((close = strchr(line, ']')) == 0)
	return (sg_fail_at(p, p->lineno, "section header without \"]\""));
    *close = 0;
    snprintf(p->rawsec, sizeof(p->rawsec), "%s", line + 1);
    after = sg_trim(close + 1);
    if (*after != 0 && *after != '#' && *after != ';')
	return (sg_fail_at(p, p->lineno,
			   "text after \"]\" of a section header"));
    inner = sg_trim(line + 1);
    p->tier = 0;
    p->last = 0;
    if (strcmp(inner, "subguard") == 0 || strcmp(inner, "redis") == 0
	|| strcmp(inner, "text") == 0) {
	p->sec = SG_SEC_PARAMS;
	snprintf(p->secname, sizeof(p->secname), "%s", inner);
	return (1);
    }
    if (strncmp(inner, "tier", 4) != 0
	|| (inner[4] != 0 && !isspace((unsigned char) inner[4])))
	return (sg_fail_at(p, p->lineno, "unknown section \"[%s]\"",
			   sg_quote(q, sizeof(q), inner)));
    name = sg_trim(inner + 4);
    if (*name == 0)
	return (sg_fail_at(p, p->lineno,
			   "[tier] needs a name, like [tier default]"));
    if (sg_bad_tiername(name))
	return (sg_fail_at(p, p->lineno, "bad tier name \"%s\": use letters, "
			   "digits, \".\", \"_\" or \"-\" (at most %d)",
			   sg_quote(q, sizeof(q), name), SG_NAME_MAX - 1));

    /* The first [tier] of a file replaces the built-in tiers, not adds. */
    if (!p->file_tiers) {
	p->file_tiers = 1;
	p->cfg->ntiers = 0;
    }
    for (i = 0; i < p->cfg->ntiers; i++)
	if (strcmp(p->cfg->tiers[i].name, name) == 0)
	    return (sg_fail_at(p, p->lineno,
			       "duplicate tier \"%s\" (first at line %d)",
			       name, p->cfg->tiers[i].line));
    if (p->cfg->ntiers >= SG_MAX_TIERS)
	return (sg_fail_at(p, p->lineno, "more than %d tiers", SG_MAX_TIERS));
    p->tier = p->cfg->tiers + p->cfg->ntiers++;
    memset(p->tier, 0, sizeof(*p->tier));
    memcpy(p->tier->name, name, strlen(name) + 1);
    for (i = 0; i < 4; i++)
	(void) sg_parse_ratio(sg_test_defaults[i], &p->tier->normal_failure + i,
			      0, 0);
    p->tier->line = p->lineno;
    memset(p->tier_lines, 0, sizeof(p->tier_lines));
    p->sec = SG_SEC_TIER;
    snprintf(p->secname, sizeof(p->secname), "tier %s", name);
    return (1);
}

/* sg_next_byte - one byte from the file or string, or EOF */
static int sg_next_byte(struct sg_parse *p)
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

/* sg_reader - inih's line source: counts lines, sees each raw line first */
static char *sg_reader(char *str, int num, void *stream)
{
    struct sg_parse *p = stream;
    size_t  max;
    size_t  n = 0;
    int     nul = 0;
    int     bom;
    int     c;
    char   *s;
    char    copy[SG_LINE_BUF];

    /*
     * inih calls the handler for a "name = value" line before it asks for
     * the next one. If it did not, it found no "=": inih's own error, which
     * it would report only as a line number.
     */
    if (p->kind == SG_LINE_PAIR && !p->handled)
	sg_fail_at(p, p->lineno, "expected \"name = value\" or \"[section]\"");
    p->kind = SG_LINE_NONE;
    p->handled = 0;
    if (p->failed || num < 3)
	return (0);

    /* inih's buffer holds num - 1 bytes and the newline: never split lines. */
    max = (size_t) num - 2;
    if (max > sizeof(p->raw) - 2)
	max = sizeof(p->raw) - 2;
    if ((c = sg_next_byte(p)) == EOF) {
	if (p->read_error)
	    sg_fail_at(p, 0, "read error: %s", strerror(p->read_error));
	return (0);
    }
    p->lineno++;
    for (; c != EOF && c != '\n'; c = sg_next_byte(p)) {
	if (c == 0)
	    nul = 1;
	if (n <= max)
	    p->raw[n] = (char) c;		/* one more: a CR may go */
	n++;
    }
    if (p->read_error)
	return (sg_fail_at(p, 0, "read error: %s", strerror(p->read_error)),
		(char *) 0);
    if (n > 0 && n <= max + 1 && p->raw[n - 1] == '\r')
	n--;					/* CRLF file */
    if (nul)
	return (sg_fail_at(p, p->lineno, "null byte in line"), (char *) 0);
    if (n > max)
	return (sg_fail_at(p, p->lineno, "line longer than %zu characters "
			   "(a [text] value may go on over indented lines)",
			   max), (char *) 0);
    p->raw[n] = 0;

    /* inih skips one UTF-8 byte order mark, and so must we to agree. */
    bom = p->lineno == 1 && strncmp(p->raw, "\xEF\xBB\xBF", 3) == 0;
    if (bom)
	memmove(p->raw, p->raw + 3, n - 3 + 1);

    /* Classify the line exactly as inih 55 will, so the handler knows. */
    memcpy(copy, p->raw, strlen(p->raw) + 1);
    s = sg_trim(copy);
    if (*s == 0 || *s == ';' || *s == '#') {
	p->kind = SG_LINE_NONE;
    } else if (p->have_prev && isspace((unsigned char) p->raw[0])) {
	p->kind = SG_LINE_CONT;
    } else if (*s == '[') {
	p->kind = SG_LINE_SECTION;
	p->have_prev = 0;
	if (!sg_section(p, s))
	    return (0);
    } else {
	p->kind = SG_LINE_PAIR;
    }
    snprintf(str, (size_t) num, "%s%s\n", bom ? "\xEF\xBB\xBF" : "", p->raw);
    return (str);
}

/* sg_raw_value - the value as written, after "=" (inih strips " ;" comments) */
static const char *sg_raw_value(struct sg_parse *p)
{
    char   *s;
    char   *eq;

    s = p->raw;
    if (p->kind == SG_LINE_PAIR && (eq = strchr(s, '=')) != 0)
	s = eq + 1;
    return (sg_trim(s));
}

/* sg_continue - an indented line: more of a [text] value, else an error */
static int sg_continue(struct sg_parse *p)
{
    const struct sg_param *sp = p->last;
    char   *field;
    char    joined[SG_TEXT_MAX + SG_LINE_BUF];
    char    why[256];

    if (sp == 0 || !sp->multiline)
	return (sg_fail_at(p, p->lineno, "indented line continues \"%s\", but "
			   "only [text] values may go on over several lines",
			   p->last_name));
    field = (char *) p->cfg + sp->offset;
    snprintf(joined, sizeof(joined), "%s%s%s", field, *field ? "\n" : "",
	     sg_raw_value(p));
    if (strlen(joined) >= sp->size)
	return (sg_fail_at(p, p->lineno, "%s: value too long (at most %zu "
			   "characters)", sp->name, sp->size - 1));
    if (sp->set(sp, field, joined, why, sizeof(why)) < 0)
	return (sg_fail_at(p, p->lineno, "%s", why));
    return (1);
}

/* sg_tier_param - name = value under [tier NAME] */
static int sg_tier_param(struct sg_parse *p, const char *name,
			         const char *value)
{
    char    q[SG_QUOTE_MAX];
    char    why[256];
    size_t  k;

    for (k = 0; k < SG_NTIER_KEYS; k++)
	if (strcmp(sg_tier_keys[k].name, name) == 0)
	    break;
    if (k == SG_NTIER_KEYS)
	return (sg_fail_at(p, p->lineno, "unknown parameter \"%s\" in [%s]",
			   sg_quote(q, sizeof(q), name), p->secname));
    if (p->tier_lines[k])
	return (sg_fail_at(p, p->lineno, "duplicate parameter \"%s\" in [%s] "
			   "(first at line %d)", name, p->secname,
			   p->tier_lines[k]));
    p->tier_lines[k] = p->lineno;
    if (sg_tier_value(p->tier, k, value, why, sizeof(why)) < 0)
	return (sg_fail_at(p, p->lineno, "%s", why));
    return (1);
}

/* sg_handler - inih's callback for each name = value and continuation */
static int sg_handler(void *user, const char *section, const char *name,
		              const char *value)
{
    struct sg_parse *p = user;
    const struct sg_param *sp;
    const struct sg_param *other;
    const char *s;
    char    q[SG_QUOTE_MAX];
    char    why[256];

    /* A build that reports new sections calls with no name: we know already. */
    if (p->failed)
	return (0);
    if (name == 0 || value == 0 || section == 0)
	return (1);
    p->handled = 1;

    /*
     * Should our reader and inih ever disagree about what this line is (a
     * later inih could change its rules), refuse rather than guess.
     */
    for (s = p->raw; isspace((unsigned char) *s); s++)
	 /* void */ ;
    if (strncmp(section, p->rawsec, strlen(section)) != 0
	|| (p->kind == SG_LINE_PAIR && strncmp(s, name, strlen(name)) != 0)
	|| (p->kind == SG_LINE_CONT && strncmp(s, value, strlen(value)) != 0))
	return (sg_fail_at(p, p->lineno, "cannot parse this line"));
    if (p->kind == SG_LINE_CONT)
	return (sg_continue(p));
    if (p->kind != SG_LINE_PAIR)
	return (sg_fail_at(p, p->lineno, "cannot parse this line"));

    p->have_prev = *name != 0;
    p->last = 0;
    snprintf(p->last_name, sizeof(p->last_name), "%s",
	     sg_quote(q, sizeof(q), name));

    /* inih also splits at ":"; the file format has only "=". */
    s += strcspn(s, "=:");
    if (*s != '=')
	return (sg_fail_at(p, p->lineno,
			   "expected \"name = value\" or \"[section]\""));
    if (*name == 0)
	return (sg_fail_at(p, p->lineno,
			   "missing parameter name before \"=\""));

    switch (p->sec) {
    case SG_SEC_TIER:
	return (sg_tier_param(p, name, value));
    case SG_SEC_PARAMS:
	if ((sp = sg_find_param(p->secname, name)) != 0)
	    break;
	/* FALLTHROUGH */
    default:
	other = sg_find_param(0, name);
	if (p->sec == SG_SEC_NONE)
	    return (sg_fail_at(p, p->lineno, "parameter \"%s\" before any "
			       "section%s%s%s", sg_quote(q, sizeof(q), name),
			       other ? " (it belongs in [" : "",
			       other ? other->section : "", other ? "])" : ""));
	return (sg_fail_at(p, p->lineno,
			   "unknown parameter \"%s\" in [%s]%s%s%s",
			   sg_quote(q, sizeof(q), name), p->secname,
			   other ? " (it belongs in [" : "",
			   other ? other->section : "", other ? "])" : ""));
    }
    if (p->lines[sp - sg_params])
	return (sg_fail_at(p, p->lineno, "duplicate parameter \"%s\" in [%s] "
			   "(first at line %d)", name, p->secname,
			   p->lines[sp - sg_params]));
    p->lines[sp - sg_params] = p->lineno;
    p->last = sp;

    /* Reply texts are prose: a " ;" in them is text, not a comment. */
    if (sp->multiline)
	value = sg_raw_value(p);
    if (sp->set(sp, (char *) p->cfg + sp->offset, value, why, sizeof(why)) < 0)
	return (sg_fail_at(p, p->lineno, "%s", why));
    return (1);
}

/*
 * [redis] Sentinel and ACL user (issue 17). The list is checked here for
 * its form only (host:port items, commas or blanks between); the Redis
 * module parses it again when it makes its pool.
 */

/* set_sentinels - "host:port, host:port ...", at most 16 */
static int set_sentinels(const struct sg_param *sp, void *field,
			         const char *value, char *why, size_t len)
{
    const char *p = value;
    const char *colon;
    char    one[SG_PATH_MAX];
    char    q[SG_QUOTE_MAX];
    unsigned long port;
    size_t  n;
    int     count = 0;

    while (*(p += strspn(p, ", \t")) != 0) {
	n = strcspn(p, ", \t");
	if (n >= sizeof(one) || ++count > 16)
	    return (sg_why(why, len, "%s: at most 16 host:port items",
			   sp->name));
	memcpy(one, p, n);
	one[n] = 0;
	p += n;
	if ((colon = strrchr(one, ':')) == 0 || colon == one
	    || sg_has_byte(one, "/") || sg_parse_number(colon + 1, &port) < 0
	    || port == 0 || port > 65535)
	    return (sg_why(why, len, "%s: \"%s\" is not host:port", sp->name,
			   sg_quote(q, sizeof(q), one)));
    }
    return (sg_copy(sp, field, value, why, len));
}

/* set_redisname - a master or ACL user name: no spaces or controls */
static int set_redisname(const struct sg_param *sp, void *field,
			         const char *value, char *why, size_t len)
{
    if (sg_has_byte(value, 0))
	return (sg_why(why, len, "%s must be without spaces or control "
		       "characters", sp->name));
    return (sg_copy(sp, field, value, why, len));
}

/* sg_check_redis_ha - address or sentinels + master_name; user needs pw */
static void sg_check_redis_ha(struct sg_parse *p)
{
    const struct sg_config *c = p->cfg;
    int     addr = p->lines[sg_find_param("redis", "address") - sg_params];
    int     sent = p->lines[sg_find_param("redis", "sentinels") - sg_params];

    if (p->failed)
	return;
    if (addr && c->redis_sentinels[0])
	sg_fail_at(p, sent, "[redis] takes address or sentinels, not both");
    else if (!c->redis_sentinels[0] != !c->redis_master_name[0])
	sg_fail_at(p, sent, "[redis] sentinels and master_name go together");
    else if (c->redis_sentinel_password_file[0] && !c->redis_sentinels[0])
	sg_fail_at(p, 0, "[redis] sentinel_password_file without sentinels");
    else if (c->redis_username[0] && !c->redis_password_file[0])
	sg_fail_at(p, 0, "[redis] username needs a password_file");
}

/* sg_parse_source - run inih over a prepared source; 0 or -1 with p->err */
static int sg_parse_source(struct sg_parse *p, struct sg_config *out)
{
    const struct sg_param *sp;
    int     rc;

    if ((p->cfg = malloc(sizeof(*p->cfg))) == 0)
	return (sg_fail_at(p, 0, "out of memory"), -1);
    sg_config_init(p->cfg);
    snprintf(p->cfg->path, sizeof(p->cfg->path), "%s", p->name);

    rc = ini_parse_stream(sg_reader, p, sg_handler, p);
    if (!p->failed && rc != 0)
	sg_fail_at(p, rc > 0 ? rc : 0, "%s",
		   rc > 0 ? "syntax error" : "cannot parse");

    /* A reply text may start on the line after its name, but not stay empty. */
    for (sp = sg_params; !p->failed && sp < sg_params + SG_NPARAMS; sp++)
	if (sp->multiline && *((char *) p->cfg + sp->offset) == 0)
	    sg_fail_at(p, p->lines[sp - sg_params], "%s must not be empty",
		       sp->name);

    /* Only now are all tiers known. */
    if (!p->failed && sg_config_tier(p->cfg, p->cfg->default_tier) == 0) {
	sp = sg_find_param("subguard", "default_tier");
	if (p->lines[sp - sg_params])
	    sg_fail_at(p, p->lines[sp - sg_params], "default_tier \"%s\": no "
		       "[tier %s] section", p->cfg->default_tier,
		       p->cfg->default_tier);
	else
	    sg_fail_at(p, 0, "no [tier %s] section", p->cfg->default_tier);
    }
    sg_check_redis_ha(p);
    if (!p->failed)
	memcpy(out, p->cfg, sizeof(*out));
    free(p->cfg);
    p->cfg = 0;
    return (p->failed ? -1 : 0);
}

/* sg_report - copy the outcome into the caller's buffer */
static int sg_report(const struct sg_parse *p, int rc, char *err,
		             size_t errlen)
{
    if (err != 0 && errlen > 0)
	snprintf(err, errlen, "%s", rc < 0 ? p->err : "");
    return (rc);
}

/* sg_config_parse_string - same, from memory; name is used in errors */
int     sg_config_parse_string(const char *name, const char *text,
			               struct sg_config *cfg, char *err,
			               size_t errlen)
{
    struct sg_parse *p;
    int     rc;

    if ((p = calloc(1, sizeof(*p))) == 0) {
	if (err != 0 && errlen > 0)
	    snprintf(err, errlen, "%s: out of memory", name ? name : "config");
	return (-1);
    }
    p->name = name ? name : "config";
    p->text = text ? text : "";
    if (cfg == 0) {
	sg_fail_at(p, 0, "no configuration to fill");
	rc = -1;
    } else {
	rc = sg_parse_source(p, cfg);
    }
    rc = sg_report(p, rc, err, errlen);
    free(p);
    return (rc);
}

/* sg_config_load - read and check a file; defaults for what it omits */
int     sg_config_load(const char *path, struct sg_config *cfg, char *err,
		               size_t errlen)
{
    struct sg_parse *p;
    int     rc;

    if ((p = calloc(1, sizeof(*p))) == 0) {
	if (err != 0 && errlen > 0)
	    snprintf(err, errlen, "%s: out of memory", path ? path : "config");
	return (-1);
    }
    p->name = path ? path : "(null)";
    rc = -1;
    if (path == 0 || cfg == 0) {
	sg_fail_at(p, 0, "no file name or configuration");
    } else if (strlen(path) >= SG_PATH_MAX) {
	sg_fail_at(p, 0, "file name too long");
    } else if ((p->fp = fopen(path, "r")) == 0) {
	sg_fail_at(p, 0, "cannot open: %s", strerror(errno));
    } else {
	rc = sg_parse_source(p, cfg);
	fclose(p->fp);
    }
    rc = sg_report(p, rc, err, errlen);
    free(p);
    return (rc);
}
