/*
 * NAME
 *	sg_config_param 3
 * SUMMARY
 *	the parameters of [subguard], [redis] and [text], and their checks
 * DESCRIPTION
 *	Every parameter is one row of sg_params[] with its default written in
 *	the file's own syntax, so sg_config_init() and a file go through the
 *	same checks. A setter checks one value and stores it into its field
 *	of struct sg_config, or says why not.
 *
 *	To add a parameter: a field in struct sg_config (sg_config.h), a row
 *	here (an existing setter, or a new one below; set_enum with a word
 *	list for a choice), and the same words in subguard.conf(5) and
 *	contrib/subguard.conf. The reader needs no change.
 *
 *	Values come from an untrusted file (and are fuzzed): every copy is
 *	bounded, and text quoted back in messages is made printable.
 * DIAGNOSTICS
 *	A setter returns 0, or -1 with "name: what is wrong" in its buffer.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "sg_config_impl.h"
#include "sg_duration.h"
#include "sg_hostport.h"
#include "sg_logparse.h"

#define SG_SUN_PATH	(sizeof(((struct sockaddr_un *) 0)->sun_path) - 1)
#define SG_REPLY_LINES	32		/* smfi_setmlreply() takes no more */

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
static int set_address(const struct sg_param *, void *, const char *,
		               char *, size_t);
static int set_abspath(const struct sg_param *, void *, const char *,
		               char *, size_t);
static int set_database(const struct sg_param *, void *, const char *,
			        char *, size_t);
static int set_lognames(const struct sg_param *, void *, const char *,
			        char *, size_t);
static int set_units(const struct sg_param *, void *, const char *,
		             char *, size_t);
static int set_command(const struct sg_param *, void *, const char *,
		               char *, size_t);
static int set_sentinels(const struct sg_param *, void *, const char *,
			         char *, size_t);
static int set_redisname(const struct sg_param *, void *, const char *,
			         char *, size_t);
static int set_text(const struct sg_param *, void *, const char *,
		            char *, size_t);
static int set_hostport(const struct sg_param *, void *, const char *,
			        char *, size_t);
static int set_interval(const struct sg_param *, void *, const char *,
			        char *, size_t);

static const char *const mode_words[] = {"enforce", "dry-run", 0};
static const char *const onerr_words[] = {"accept", "tempfail", 0};
static const char *const qact_words[] = {"hold", "reject", "tempfail", 0};
static const char *const case_words[] = {"lower", "keep", 0};
static const char *const encoding_words[] = {"auto", "xtext", "none", 0};
static const char *const logformat_words[] = {
    "syslog", "rfc5424", "journal-json", 0,
};

/* The syslog facilities allowed; daemon/sg_log.c maps each to LOG_*. */
const char *const sg_syslog_facilities[] = {
    "auth", "authpriv", "daemon", "mail", "user", "local0", "local1",
    "local2", "local3", "local4", "local5", "local6", "local7", 0,
};

/* history = on|off, stored as 1|0 */
static const char *const onoff_words[] = {"off", "on", 0};

#define FIELD(f) offsetof(struct sg_config, f), \
		 sizeof(((struct sg_config *) 0)->f)

 /*
  * The one table of parameters: section, name, default, checker, field,
  * allowed words, flags.
  * contrib/subguard.conf and subguard.conf(5) must say the same.
  */
const struct sg_param sg_params[] = {
    {"subguard", "listen", "unix:/run/subguard/subguard.sock",
    set_listen, FIELD(listen), 0, 0},
    {"subguard", "socket_owner", "subguard", set_user, FIELD(socket_owner),
    0, 0},
    {"subguard", "socket_group", "postfix", set_user, FIELD(socket_group),
    0, 0},
    {"subguard", "socket_mode", "0660", set_octal, FIELD(socket_mode), 0, 0},
    {"subguard", "user", "subguard", set_user, FIELD(user), 0, 0},
    {"subguard", "group", "", set_user, FIELD(group), 0, 0},
    {"subguard", "mode", "enforce", set_enum, FIELD(mode), mode_words, 0},
    {"subguard", "on_redis_error", "accept", set_enum, FIELD(on_redis_error),
    onerr_words, 0},
    {"subguard", "login_case", "lower", set_enum, FIELD(login_case),
    case_words, 0},
    {"subguard", "login_encoding", "auto", set_enum, FIELD(login_encoding),
    encoding_words, 0},
    {"subguard", "key_prefix", "subguard", set_prefix, FIELD(key_prefix), 0, 0},
    {"subguard", "default_tier", "default", set_tiername, FIELD(default_tier),
    0, 0},
    {"subguard", "quarantine_action", "hold", set_enum,
    FIELD(quarantine_action), qact_words, 0},
    {"subguard", "hold_max", "50", set_count, FIELD(hold_max), 0, 0},
    {"subguard", "queue_id_ttl", "6d", set_duration, FIELD(queue_id_ttl), 0, 0},
    {"subguard", "reserve_recipients", "20", set_count,
    FIELD(reserve_recipients), 0, 0},
    {"subguard", "reserve_ttl", "2h", set_duration, FIELD(reserve_ttl), 0, 0},
    {"subguard", "milter_timeout", "2h", set_duration, FIELD(milter_timeout),
    0, 0},
    {"subguard", "syslog_facility", "mail", set_word, FIELD(syslog_facility),
    sg_syslog_facilities, 0},
    {"subguard", "notify_command", "", set_command, FIELD(notify_command),
    0, 0},
    {"subguard", "incident_logins", "10", set_count, FIELD(incident_logins),
    0, 0},
    {"subguard", "incident_window", "10m", set_duration,
    FIELD(incident_window), 0, 0},
    {"subguard", "incident_quiet", "30m", set_duration, FIELD(incident_quiet),
    0, 0},
    /* Each account's history: see subguard.conf(5), "HISTORY". */
    {"subguard", "history", "on", set_enum, FIELD(history), onoff_words, 0},
    {"subguard", "history_floor", "30", set_count, FIELD(history_floor), 0, 0},
    {"subguard", "history_factor", "4", set_count, FIELD(history_factor),
    0, 0},
    {"subguard", "history_ramp", "30d", set_duration, FIELD(history_ramp),
    0, 0},
    {"subguard", "history_learn", "12h", set_duration, FIELD(history_learn),
    0, 0},
    {"subguard", "history_keep", "30d", set_duration, FIELD(history_keep),
    0, 0},
    {"redis", "address", "127.0.0.1:6379", set_address, FIELD(redis_address),
    0, 0},
    {"redis", "password_file", "", set_abspath, FIELD(redis_password_file),
    0, 0},
    {"redis", "database", "0", set_database, FIELD(redis_db), 0, 0},
    {"redis", "timeout", "100ms", set_duration, FIELD(redis_timeout_ms), 0,
    SG_PARAM_MSEC},
    {"redis", "connect_timeout", "100ms", set_duration,
    FIELD(redis_connect_timeout_ms), 0, SG_PARAM_MSEC},
    /* Sentinel and ACL user: checked together by the reader's finish(). */
    {"redis", "sentinels", "", set_sentinels, FIELD(redis_sentinels), 0, 0},
    {"redis", "master_name", "", set_redisname, FIELD(redis_master_name),
    0, 0},
    {"redis", "sentinel_password_file", "", set_abspath,
    FIELD(redis_sentinel_password_file), 0, 0},
    {"redis", "username", "", set_redisname, FIELD(redis_username), 0, 0},
    {"feed", "log_format", "syslog", set_word, FIELD(log_format),
    logformat_words, 0},
    {"feed", "postfix_syslog_name", "postfix", set_lognames,
    FIELD(postfix_syslog_name), 0, 0},
    {"feed", "journal_units", "postfix@-.service sendmail.service",
    set_units, FIELD(journal_units), 0, 0},
    {"feed", "journal_directory", "", set_abspath, FIELD(journal_directory),
    0, 0},
    /* [metrics]: see daemon/sg_metrics_serve.c */
    {"metrics", "listen", "", set_hostport, FIELD(metrics_listen), 0, 0},
    {"metrics", "feed_listen", "", set_hostport, FIELD(metrics_feed_listen),
    0, 0},
    {"metrics", "stats_interval", "5m", set_interval, FIELD(stats_interval),
    0, 0},
    {"text", "recipients", "You have reached your limit of %{limit} "
	"recipients per %{window}. Please try again in %{retry}.",
    set_text, FIELD(text_recipients), 0, SG_PARAM_MULTILINE},
    {"text", "messages", "You have reached your limit of %{limit} "
	"messages per %{window}. Please try again in %{retry}.",
    set_text, FIELD(text_messages), 0, SG_PARAM_MULTILINE},
    {"text", "quarantine", "Your account %{login} appears to be sending "
	"mail it should not\n(for example because a password was stolen "
	"or a computer is infected),\nso its outgoing mail is on hold. "
	"Please contact %{support}.",
    set_text, FIELD(text_quarantine), 0, SG_PARAM_MULTILINE},
    {"text", "redis_error", "Temporary local problem, please try again later.",
    set_text, FIELD(text_redis_error), 0, SG_PARAM_MULTILINE},
    {"text", "support", "your provider's support desk",
    set_text, FIELD(support_contact), 0, SG_PARAM_MULTILINE},
    {"text", "history", "Mail from a place this account has not used "
	"before is limited to\n%{limit} recipients a day until that place "
	"is known. Please try again\nin %{retry}, send from your usual "
	"connection, or contact %{support}.",
    set_text, FIELD(text_history), 0, SG_PARAM_MULTILINE},
};

const size_t sg_nparams = sizeof(sg_params) / sizeof(sg_params[0]);

/* The reader remembers a line per parameter in an array of this size. */
_Static_assert(sizeof(sg_params) / sizeof(sg_params[0]) <= SG_PARAMS_MAX,
	       "raise SG_PARAMS_MAX in sg_config_impl.h");

/* Placeholders a [text] value may use; the milter expands them. */
static const char *const placeholders[] = {
    "limit", "window", "retry", "login", "support", "reason", 0,
};

/* sg_conf_quote - printable, bounded copy of untrusted text for a message */
const char *sg_conf_quote(char *buf, size_t len, const char *s)
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

/* sg_conf_why - write a setter's or list parser's reason, if there is room */
int     sg_conf_why(char *why, size_t len, const char *fmt,...)
{
    va_list ap;

    if (why != 0 && len > 0) {
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
    }
    return (-1);
}

/* sg_conf_trim - strip white space at both ends, in place */
char   *sg_conf_trim(char *s)
{
    char   *end;

    while (*s && isspace((unsigned char) *s))
	s++;
    end = s + strlen(s);
    while (end > s && isspace((unsigned char) end[-1]))
	*--end = 0;
    return (s);
}

/* copy_value - bounded string copy into a parameter's field */
static int copy_value(const struct sg_param *sp, void *field, const char *value,
		           char *why, size_t len)
{
    size_t  n = strlen(value);

    if (n >= sp->size)
	return (sg_conf_why(why, len, "%s: value too long (at most %zu characters)",
		       sp->name, sp->size - 1));
    memcpy(field, value, n + 1);
    return (0);
}

/* has_byte - any space, control, non-ASCII byte, or one of bad? */
static int has_byte(const char *s, const char *bad)
{
    const unsigned char *cp;

    for (cp = (const unsigned char *) s; *cp; cp++)
	if (*cp <= 0x20 || *cp >= 0x7f || (bad && strchr(bad, *cp)))
	    return (1);
    return (0);
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
	if (*rest != '/' || has_byte(rest, 0))
	    return (sg_conf_why(why, len, "%s: a unix socket needs an absolute "
			   "path, like unix:/run/subguard/subguard.sock",
			   sp->name));
	if (strlen(rest) > SG_SUN_PATH)
	    return (sg_conf_why(why, len, "%s: a unix socket path has at most %zu "
			   "characters", sp->name, SG_SUN_PATH));
	return (copy_value(sp, field, value, why, len));
    }
    if (strncmp(value, "inet:", 5) == 0)
	rest = value + 5;
    else if (strncmp(value, "inet6:", 6) == 0)
	rest = value + 6;
    if (rest == 0)
	return (sg_conf_why(why, len, "%s must be unix:/path or inet:port@host",
		       sp->name));

    /*
     * Postfix writes a milter as inet:host:port, libmilter as inet:port@host;
     * the first form here would fail only when the daemon starts.
     */
    at = strchr(rest, '@');
    n = at ? (size_t) (at - rest) : strlen(rest);
    if (n == 0 || n >= sizeof(num) || (at != 0 && at[1] == 0)
	|| has_byte(rest, 0))
	goto bad;
    memcpy(num, rest, n);
    num[n] = 0;
    if (sg_parse_number(num, &port) == 0) {
	if (port == 0 || port > 65535)
	    goto bad;
    } else if (strspn(num, "abcdefghijklmnopqrstuvwxyz0123456789-") != n) {
	goto bad;				/* not a port, not a service */
    }
    return (copy_value(sp, field, value, why, len));

bad:
    return (sg_conf_why(why, len, "%s: expected inet:PORT@HOST like "
		   "inet:9025@127.0.0.1 (libmilter's order, not Postfix's)",
		   sp->name));
}

/* set_user - user or group name; empty is allowed and means "none" */
static int set_user(const struct sg_param *sp, void *field, const char *value,
		            char *why, size_t len)
{
    if (has_byte(value, ":"))
	return (sg_conf_why(why, len, "%s: a user or group name has no spaces, "
		       "colons or control characters", sp->name));
    return (copy_value(sp, field, value, why, len));
}

/* set_octal - a file mode like 0660 */
static int set_octal(const struct sg_param *sp, void *field,
		             const char *value, char *why, size_t len)
{
    unsigned v;

    /* A leading 0 and exactly three octal digits: no room for doubt. */
    if (strlen(value) != 4 || value[0] != '0'
	|| strspn(value + 1, "01234567") != 3)
	return (sg_conf_why(why, len, "%s must be octal like 0660", sp->name));
    v = (unsigned) strtoul(value, 0, 8);
    memcpy(field, &v, sizeof(v));
    return (0);
}

/* word_list - "a, b or c" from a word list, for messages */
static const char *word_list(const char *const *words, char *buf, size_t len)
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
    return (sg_conf_why(why, len, "%s must be %s", sp->name,
		   word_list(sp->words, buf, sizeof(buf))));
}

/* set_word - one of sp->words, stored as the string */
static int set_word(const struct sg_param *sp, void *field, const char *value,
		            char *why, size_t len)
{
    char    buf[256];
    int     i;

    for (i = 0; sp->words[i] != 0; i++)
	if (strcmp(value, sp->words[i]) == 0)
	    return (copy_value(sp, field, value, why, len));
    return (sg_conf_why(why, len, "%s must be %s", sp->name,
		   word_list(sp->words, buf, sizeof(buf))));
}

/* set_prefix - the start of every Redis key */
static int set_prefix(const struct sg_param *sp, void *field,
		              const char *value, char *why, size_t len)
{
    /* Braces would move a key's Redis Cluster hash tag off the login. */
    if (*value == 0 || has_byte(value, "{}"))
	return (sg_conf_why(why, len, "%s must be non-empty, without spaces, "
		       "braces or control characters", sp->name));
    return (copy_value(sp, field, value, why, len));
}

/* set_tiername - default_tier; that the tier exists is checked at the end */
static int set_tiername(const struct sg_param *sp, void *field,
			        const char *value, char *why, size_t len)
{
    if (sg_tier_name_bad(value))
	return (sg_conf_why(why, len, "%s must be a tier name of letters, digits, "
		       "\".\", \"_\" or \"-\" (at most %d)", sp->name,
		       SG_NAME_MAX - 1));
    return (copy_value(sp, field, value, why, len));
}

/* set_count - a number, 0 allowed */
static int set_count(const struct sg_param *sp, void *field,
		             const char *value, char *why, size_t len)
{
    unsigned long v;
    char    q[SG_QUOTE_MAX];

    if (sg_parse_number(value, &v) < 0)
	return (sg_conf_why(why, len, "%s must be a number, not \"%s\"", sp->name,
		       sg_conf_quote(q, sizeof(q), value)));
    memcpy(field, &v, sizeof(v));
    return (0);
}

/* set_duration - seconds (milliseconds in a SG_PARAM_MSEC row), above 0 */
static int set_duration(const struct sg_param *sp, void *field,
			        const char *value, char *why, size_t len)
{
    int     msec = (sp->flags & SG_PARAM_MSEC) != 0;
    unsigned long v;
    char    q[SG_QUOTE_MAX];

    /* A bare "100" could be seconds or milliseconds: a time in ms says. */
    if ((msec ? sg_parse_msec(value, &v) : sg_parse_duration(value, &v)) < 0)
	return (sg_conf_why(why, len, "%s: bad duration \"%s\" (%s)", sp->name,
			    sg_conf_quote(q, sizeof(q), value), msec ?
			    "a number and a unit, like 100ms or 2s" :
			    "like 30s, 15m, 6d; at most 3650d"));
    if (v == 0)
	return (sg_conf_why(why, len, "%s must be more than 0", sp->name));
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
	if (value[5] != '/' || has_byte(value, 0))
	    goto bad;
	if (strlen(value + 5) > SG_SUN_PATH)
	    return (sg_conf_why(why, len, "%s: a unix socket path has at most %zu "
			   "characters", sp->name, SG_SUN_PATH));
	return (copy_value(sp, field, value, why, len));
    }
    /* The last colon, so that an IPv6 address keeps its own. */
    if ((colon = strrchr(value, ':')) == 0 || colon == value
	|| has_byte(value, 0) || sg_parse_number(colon + 1, &port) < 0
	|| port == 0 || port > 65535)
	goto bad;
    return (copy_value(sp, field, value, why, len));

bad:
    return (sg_conf_why(why, len, "%s must be unix:/path or host:port",
		   sp->name));
}

/* set_abspath - a file name; relative names would depend on the cwd */
static int set_abspath(const struct sg_param *sp, void *field,
		               const char *value, char *why, size_t len)
{
    if (*value != 0 && (*value != '/' || has_byte(value, 0)))
	return (sg_conf_why(why, len, "%s must be empty or an absolute path",
		       sp->name));
    return (copy_value(sp, field, value, why, len));
}

/* set_lognames - Postfix syslog_name list, checked as subguard-feed reads it */
static int set_lognames(const struct sg_param *sp, void *field,
			        const char *value, char *why, size_t len)
{
    struct sg_logsource src;
    char    buf[200];

    if (sg_logsource_init(&src, "syslog", value, buf, sizeof(buf)) < 0)
	return (sg_conf_why(why, len, "%s: %s", sp->name, buf));
    return (copy_value(sp, field, value, why, len));
}

/*
 * set_units - systemd unit names, commas or blanks between: what a
 * _SYSTEMD_UNIT match may hold (subguard-feed -J checks them again)
 */
static int set_units(const struct sg_param *sp, void *field,
		             const char *value, char *why, size_t len)
{
    const char *cp;

    for (cp = value; *cp; cp++)
	if (!((*cp >= 'a' && *cp <= 'z') || (*cp >= 'A' && *cp <= 'Z')
	      || (*cp >= '0' && *cp <= '9') || strchr("@._:-\\, \t", *cp)))
	    return (sg_conf_why(why, len, "%s: unit names, commas or spaces "
				"between (byte \\x%02x)", sp->name,
				(unsigned char) *cp));
    if (value[strspn(value, ", \t")] == 0)
	return (sg_conf_why(why, len, "%s: no unit named", sp->name));
    return (copy_value(sp, field, value, why, len));
}

/*
 * set_command - an absolute path, possibly followed by arguments (the
 * shell splits them, subguard.conf(5)); no control or non-ASCII byte
 */
static int set_command(const struct sg_param *sp, void *field,
		               const char *value, char *why, size_t len)
{
    const unsigned char *cp;

    for (cp = (const unsigned char *) value; *cp; cp++)
	if (*cp < 0x20 || *cp >= 0x7f)
	    return (sg_conf_why(why, len, "%s: control or non-ASCII byte",
				sp->name));
    if (*value != 0 && *value != '/')
	return (sg_conf_why(why, len, "%s must be empty or an absolute path, "
			    "possibly with arguments", sp->name));
    return (copy_value(sp, field, value, why, len));
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
	    return (sg_conf_why(why, len, "%s: at most 16 host:port items",
				sp->name));
	memcpy(one, p, n);
	one[n] = 0;
	p += n;
	if ((colon = strrchr(one, ':')) == 0 || colon == one
	    || has_byte(one, "/") || sg_parse_number(colon + 1, &port) < 0
	    || port == 0 || port > 65535)
	    return (sg_conf_why(why, len, "%s: \"%s\" is not host:port",
				sp->name, sg_conf_quote(q, sizeof(q), one)));
    }
    return (copy_value(sp, field, value, why, len));
}

/* set_redisname - a master or ACL user name: no spaces or controls */
static int set_redisname(const struct sg_param *sp, void *field,
			         const char *value, char *why, size_t len)
{
    if (has_byte(value, 0))
	return (sg_conf_why(why, len, "%s must be without spaces or control "
			    "characters", sp->name));
    return (copy_value(sp, field, value, why, len));
}

/* set_database - Redis database number */
static int set_database(const struct sg_param *sp, void *field,
			        const char *value, char *why, size_t len)
{
    unsigned long v;
    int     db;

    if (sg_parse_number(value, &v) < 0 || v > 2147483647UL)
	return (sg_conf_why(why, len, "%s must be a number like 0", sp->name));
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
     * line; the reader refuses a text that stays empty (sg_config.c).
     *
     * RFC 5321 reply text is printable US-ASCII and tab; the newlines are
     * ours, between continuation lines, and become separate reply lines.
     */
    for (cp = (const unsigned char *) value; *cp; cp++) {
	if ((*cp < 0x20 && *cp != '\t' && *cp != '\n') || *cp >= 0x7f)
	    return (sg_conf_why(why, len, "%s: only printable ASCII may go into "
			   "an SMTP reply (byte \\x%02x)", sp->name, *cp));
	if (*cp == '\n' && ++lines > SG_REPLY_LINES)
	    return (sg_conf_why(why, len, "%s: more than %d lines", sp->name,
			   SG_REPLY_LINES));
    }

    /* A mistyped placeholder would reach the customer as it is. */
    for (start = strstr(value, "%{"); start; start = strstr(end, "%{")) {
	if ((end = strchr(start + 2, '}')) == 0)
	    return (sg_conf_why(why, len, "%s: \"%%{\" without \"}\"", sp->name));
	n = (size_t) (end - start - 2);
	for (i = 0; placeholders[i] != 0; i++)
	    if (strlen(placeholders[i]) == n
		&& strncmp(start + 2, placeholders[i], n) == 0)
		break;
	if (placeholders[i] == 0) {
	    snprintf(name, sizeof(name), "%.*s", (int) (n < 15 ? n : 15),
		     start + 2);
	    return (sg_conf_why(why, len, "%s: unknown placeholder \"%%{%s}\"",
			   sp->name, sg_conf_quote(q, sizeof(q), name)));
	}
    }
    return (copy_value(sp, field, value, why, len));
}

/* sg_param_find - row of a parameter in a section, or NULL */
const struct sg_param *sg_param_find(const char *section,
				              const char *name)
{
    size_t  i;

    for (i = 0; i < sg_nparams; i++)
	if ((section == 0 || strcmp(sg_params[i].section, section) == 0)
	    && strcmp(sg_params[i].name, name) == 0)
	    return (sg_params + i);
    return (0);
}


/* sg_params_init - every parameter at its default */
void    sg_params_init(struct sg_config *cfg)
{
    size_t  i;

    /* The defaults are written as in a file and go through the same checks. */
    for (i = 0; i < sg_nparams; i++)
	(void) sg_params[i].set(sg_params + i,
				(char *) cfg + sg_params[i].offset,
				sg_params[i].def, 0, 0);
}

/* set_hostport - a metrics listener: "" (off), HOST:PORT or [IPv6]:PORT */
static int set_hostport(const struct sg_param *sp, void *field,
			        const char *value, char *why, size_t len)
{
    struct sg_hostport hp;
    char    q[SG_QUOTE_MAX], e[128];

    if (*value != 0 && sg_hostport_parse(value, &hp, e, sizeof(e)) < 0)
	return (sg_conf_why(why, len, "%s \"%s\": %s", sp->name,
			    sg_conf_quote(q, sizeof(q), value), e));
    return (copy_value(sp, field, value, why, len));
}

/* set_interval - a duration in seconds where 0 means off */
static int set_interval(const struct sg_param *sp, void *field,
			        const char *value, char *why, size_t len)
{
    unsigned long v = 0;
    char    q[SG_QUOTE_MAX];

    if (strcmp(value, "0") != 0 && sg_parse_duration(value, &v) < 0)
	return (sg_conf_why(why, len, "%s: bad duration \"%s\" (like 30s, "
			    "5m; 0 for off)", sp->name,
			    sg_conf_quote(q, sizeof(q), value)));
    memcpy(field, &v, sizeof(v));
    return (0);
}
