/*
 * NAME
 *	sg_logformat 3
 * SUMMARY
 *	the framing of mail log lines: headers, journal records, programs
 * DESCRIPTION
 *	See sg_logparse.h for the formats. This file finds where the message
 *	of a line starts and whose program wrote it; sg_logparse.c reads the
 *	message. It also turns the configured format word and Postfix
 *	syslog_name list into a struct sg_logsource.
 *
 *	One format, parsed strictly. The feed is told which format its log
 *	has; each line's header is parsed in that format alone, and the
 *	message starts where that header ends, nowhere else. A line whose
 *	header does not parse is SG_PARSE_FORMAT, never searched for a
 *	message: the position right after some ": " (what an earlier version
 *	tried on every line) can hold text an SMTP client sent, such as the
 *	100 bytes smtpd quotes in "improper command pipelining after CONNECT
 *	from host[addr]: <client bytes>", and the program name is then the
 *	client's too. In the journal's fields, MESSAGE is the message and
 *	SYSLOG_IDENTIFIER the program; "journalctl -o cat" drops the program
 *	and cannot be read safely at all.
 *
 *	Whose lines. The program name decides, from the header: Postfix's
 *	delivery agents (smtp, lmtp, local, virtual, error, discard, pipe;
 *	qmgr, which writes expiries and deferrals it makes itself) under a
 *	configured syslog_name ("postfix", "postfix-out"; a name also covers
 *	"NAME/anything/AGENT", as syslog_name=postfix/relay gives), and
 *	Sendmail ("sendmail", "sm-mta"). smtpd, cleanup, anvil and every
 *	other program count nothing, whatever their text holds. In the
 *	journal, _COMM (set by the kernel, not by the logger) must also be
 *	the Postfix agent's name when present: "logger -t postfix/smtp" does
 *	not pass. Anyone who may log to the same syslog can still write any
 *	program name; the journal read with "-u postfix@-.service" is the
 *	one source that excludes them (journald sets _SYSTEMD_UNIT itself).
 * DIAGNOSTICS
 *	A header that does not parse gives 0 (SG_PARSE_FORMAT to the caller
 *	of sg_logparse()); a journal record whose _COMM is not the agent it
 *	names is SG_PARSE_BAD. sg_logsource_init() says what is wrong with a
 *	format word or a syslog name in the caller's buffer.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE			/* memmem(), memrchr(), also for fuzz */
#endif
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "sg_logparse.h"
#include "sg_logparse_impl.h"

/* JSON nesting of a journal record: object, array (multi-valued), array. */
#define JOURNAL_DEPTH	4

/* The longest journal value written as an array of bytes that is read. */
#define BYTES_MAX	(64 * 1024)

/* The programs whose records count; see the DESCRIPTION. */
static const char *const postfix_agents[] = {
    "smtp", "lmtp", "local", "virtual", "error", "discard", "pipe", "qmgr", 0,
};
static const char *const sendmail_programs[] = {"sendmail", "sm-mta", 0};

static const char *const format_names[] = {
    "syslog", "rfc5424", "journal-json", 0,
};

/* span_is - [p, p + n) is exactly the string s */
static int span_is(const char *p, size_t n, const char *s)
{
    return (strlen(s) == n && memcmp(p, s, n) == 0);
}

/* digits - n decimal digits at l[i]; the index after them, 0 if none */
static size_t digits(const char *l, size_t len, size_t i, int n)
{
    for (; n > 0; n--, i++)
	if (i >= len || !IS_DIGIT(l[i]))
	    return (0);
    return (i);
}

/* clock_at - "hh:mm:ss" and an optional ".frac" at l[i]; 0 if not */
static size_t clock_at(const char *l, size_t len, size_t i)
{
    int     n;

    if ((i = digits(l, len, i, 2)) == 0 || i >= len || l[i++] != ':'
	|| (i = digits(l, len, i, 2)) == 0 || i >= len || l[i++] != ':'
	|| (i = digits(l, len, i, 2)) == 0)
	return (0);
    if (i < len && l[i] == '.') {
	for (i++, n = 0; i < len && IS_DIGIT(l[i]) && n < 9; i++, n++)
	     /* fraction */ ;
	if (n == 0)
	    return (0);
    }
    return (i);
}

/* bsd_time - "Mmm dd hh:mm:ss" ("Nov  2 ..." too) at the start; or 0 */
static size_t bsd_time(const char *l, size_t len)
{
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    int     m;

    if (len < 15)
	return (0);
    for (m = 0; m < 12 && memcmp(l, months + 3 * m, 3) != 0; m++)
	 /* void */ ;
    if (m == 12 || l[3] != ' ' || !(l[4] == ' ' || IS_DIGIT(l[4]))
	|| !IS_DIGIT(l[5]) || l[6] != ' ')
	return (0);
    return (clock_at(l, len, 7));
}

/* iso_time - "YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|+hhmm)"; or 0 */
static size_t iso_time(const char *l, size_t len)
{
    size_t  i;

    if ((i = digits(l, len, 0, 4)) == 0 || i >= len || l[i++] != '-'
	|| (i = digits(l, len, i, 2)) == 0 || i >= len || l[i++] != '-'
	|| (i = digits(l, len, i, 2)) == 0 || i >= len || l[i++] != 'T'
	|| (i = clock_at(l, len, i)) == 0 || i >= len)
	return (0);
    if (l[i] == 'Z')
	return (i + 1);
    if (l[i] != '+' && l[i] != '-')
	return (0);
    if ((i = digits(l, len, i + 1, 2)) == 0)
	return (0);
    if (i < len && l[i] == ':')
	i++;
    return (digits(l, len, i, 2));
}

/*
 * sg_log_syslog_msg - where the message of "TIME HOST PROG[PID]: MSG" starts,
 * 0 if the line is not one; the program in *prog, *plen.
 */
size_t  sg_log_syslog_msg(const char *l, size_t len, const char **prog,
			          size_t *plen)
{
    size_t  i, at;
    int     n;

    if ((i = bsd_time(l, len)) == 0 && (i = iso_time(l, len)) == 0)
	return (0);
    if (i >= len || l[i++] != ' ')
	return (0);
    for (at = i; i < len && IS_PRINT(l[i]); i++)
	 /* HOST */ ;
    if (i == at || i >= len || l[i++] != ' ')
	return (0);
    for (at = i; i < len && IS_PRINT(l[i]) && l[i] != '[' && l[i] != ':'; i++)
	 /* PROG */ ;
    if (i == at || i >= len)
	return (0);
    *prog = l + at;
    *plen = i - at;
    if (l[i] == '[') {
	for (i++, n = 0; i < len && IS_DIGIT(l[i]) && n < 10; i++, n++)
	     /* PID */ ;
	if (n == 0 || i >= len || l[i++] != ']')
	    return (0);
    }
    if (i >= len || l[i++] != ':' || (i < len && l[i] != ' '))
	return (0);
    return (i < len ? i + 1 : i);
}

/*
 * sg_log_rfc5424_msg - where the MSG of "<PRI>1 TIMESTAMP HOST APP
 * PROCID MSGID SD [MSG]" starts (len when there is none), 0 if the line
 * is not one; APP-NAME in *prog, *plen.
 */
size_t  sg_log_rfc5424_msg(const char *l, size_t len, const char **prog,
			           size_t *plen)
{
    size_t  i = 1, at;
    int     field, quoted, n, pri = 0;

    if (len < 1 || l[0] != '<')
	return (0);
    for (n = 0; i < len && IS_DIGIT(l[i]) && n < 3; i++, n++)
	pri = pri * 10 + (l[i] - '0');
    if (n == 0 || pri > 191 || i >= len || l[i++] != '>')
	return (0);
    if (i >= len || l[i] < '1' || l[i] > '9')
	return (0);
    for (n = 0; i < len && IS_DIGIT(l[i]) && n < 3; i++, n++)
	 /* VERSION */ ;
    if (i >= len || l[i++] != ' ')
	return (0);
    for (field = 0; field < 5; field++) {
	for (at = i; i < len && IS_PRINT(l[i]); i++)
	     /* TIMESTAMP HOSTNAME APP-NAME PROCID MSGID */ ;
	if (i == at || i >= len || l[i++] != ' ')
	    return (0);
	if (field == 2) {
	    *prog = l + at;
	    *plen = i - 1 - at;
	}
    }
    if (i < len && l[i] == '-') {
	i++;
    } else {
	if (i >= len || l[i] != '[')
	    return (0);
	while (i < len && l[i] == '[') {
	    for (i++, quoted = 0; i < len; i++) {
		if (quoted && l[i] == '\\')
		    i++;
		else if (l[i] == '"')
		    quoted = !quoted;
		else if (!quoted && l[i] == ']')
		    break;
	    }
	    if (i >= len)
		return (0);
	    i++;
	}
    }
    if (i == len)
	return (i);
    if (l[i++] != ' ')
	return (0);
    if (len - i >= 3 && memcmp(l + i, "\xEF\xBB\xBF", 3) == 0)
	i += 3;
    return (i);
}

/*
 * sg_log_program - whose record: a Postfix delivery agent under a configured
 * syslog_name (the agent's name in *agent, *alen), Sendmail, or other.
 */
enum sg_log_who sg_log_program(const struct sg_logsource *src, const char *p,
			               size_t n, const char **agent, size_t *alen)
{
    const char *slash;
    size_t  plen, nl;
    int     i;

    *agent = p;
    *alen = n;
    if ((slash = memrchr(p, '/', n)) == 0) {
	for (i = 0; sendmail_programs[i]; i++)
	    if (span_is(p, n, sendmail_programs[i]))
		return (SG_WHO_SENDMAIL);
	return (SG_WHO_OTHER);
    }
    plen = (size_t) (slash - p);
    *agent = slash + 1;
    *alen = n - plen - 1;
    for (i = 0; postfix_agents[i]; i++)
	if (span_is(*agent, *alen, postfix_agents[i]))
	    break;
    if (postfix_agents[i] == 0)
	return (SG_WHO_OTHER);
    for (i = 0; i < src->nnames; i++) {
	nl = strlen(src->names[i]);
	if ((plen == nl || (plen > nl && p[nl] == '/'))
	    && memcmp(p, src->names[i], nl) == 0)
	    return (span_is(*agent, *alen, "qmgr") ? SG_WHO_QMGR : SG_WHO_POSTFIX);
    }
    return (SG_WHO_OTHER);
}

/*
 * field - a journal field with one value: a string, or an array of bytes
 * (how journalctl writes a value that is not printable UTF-8), copied
 * into *buf (to free). 0 if absent, null (too long) or multi-valued.
 */
static const char *field(struct json_object *o, const char *name,
			         size_t *len, char **buf)
{
    struct json_object *v, *b;
    size_t  i, n;
    int     byte;

    if (!json_object_object_get_ex(o, name, &v) || v == 0)
	return (0);
    if (json_object_is_type(v, json_type_string)) {
	*len = (size_t) json_object_get_string_len(v);
	return (json_object_get_string(v));
    }
    if (!json_object_is_type(v, json_type_array)
	|| (n = json_object_array_length(v)) == 0 || n > BYTES_MAX
	|| (*buf = malloc(n)) == 0)
	return (0);
    for (i = 0; i < n; i++) {
	b = json_object_array_get_idx(v, i);
	if (!json_object_is_type(b, json_type_int)
	    || (byte = json_object_get_int(b)) < 0 || byte > 255) {
	    free(*buf);
	    *buf = 0;
	    return (0);				/* several values: ambiguous */
	}
	(*buf)[i] = (char) byte;
    }
    *len = n;
    return (*buf);
}

/*
 * sg_log_journal - one line of "journalctl -o json": SYSLOG_IDENTIFIER is the
 * program, MESSAGE the message, _COMM checked against the program.
 */
int     sg_log_journal(const struct sg_logsource *src, const char *line,
		               size_t len, struct sg_delivery *d)
{
    struct json_tokener *tok;
    struct json_object *o;
    const char *prog, *msg, *comm;
    char   *pbuf = 0, *mbuf = 0, *cbuf = 0;
    size_t  plen = 0, mlen = 0, clen = 0, end;
    int     rc;

    if (line[0] != '{' || line[len - 1] != '}' || len > INT_MAX)
	return (SG_PARSE_FORMAT);

    /*
     * The quick reject, on the raw bytes: journalctl escapes neither, but
     * writes a MESSAGE that is not printable UTF-8 as an array of bytes.
     */
    if (memmem(line, len, " to=", 4) == 0
	&& memmem(line, len, "status=expired", 14) == 0
	&& memmem(line, len, "\"MESSAGE\":[", 11) == 0)
	return (SG_PARSE_IGNORED);

    if ((tok = json_tokener_new_ex(JOURNAL_DEPTH)) == 0)
	return (SG_PARSE_BAD);			/* out of memory: say so */
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    o = json_tokener_parse_ex(tok, line, (int) len);
    end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (o == 0 || end != len || !json_object_is_type(o, json_type_object)) {
	json_object_put(o);
	return (SG_PARSE_FORMAT);
    }
    rc = SG_PARSE_IGNORED;
    if ((prog = field(o, "SYSLOG_IDENTIFIER", &plen, &pbuf)) != 0
	&& (msg = field(o, "MESSAGE", &mlen, &mbuf)) != 0) {
	comm = field(o, "_COMM", &clen, &cbuf);
	rc = sg_log_record(src, prog, plen, msg, mlen, comm, clen, d);
    }
    free(pbuf);
    free(mbuf);
    free(cbuf);
    json_object_put(o);
    return (rc);
}

/* sg_log_format_name - "syslog", "rfc5424", "journal-json" */
const char *sg_log_format_name(enum sg_log_format f)
{
    return ((unsigned) f < sizeof(format_names) / sizeof(format_names[0]) - 1
	    ? format_names[f] : "unknown");
}

/* say - an error message into err, if there is room; -1 */
static int say(char *err, size_t errlen, const char *fmt, const char *arg,
	               size_t n)
{
    if (err && errlen)
	snprintf(err, errlen, fmt, (int) (n > 40 ? 40 : n), arg);
    return (-1);
}

/*
 * sg_logsource_init - format word and Postfix syslog_name list ("postfix,
 * postfix-out": commas or spaces) into src; -1 with a message in err
 */
int     sg_logsource_init(struct sg_logsource *src, const char *format,
			          const char *names, char *err, size_t errlen)
{
    const char *p, *w;
    size_t  n;
    int     i;

    memset(src, 0, sizeof(*src));
    for (i = 0; format_names[i]; i++)
	if (format && strcmp(format, format_names[i]) == 0)
	    break;
    if (format_names[i] == 0)
	return (say(err, errlen, "log format \"%.*s\": want syslog, rfc5424 "
		    "or journal-json", format ? format : "",
		    format ? strlen(format) : 0));
    src->format = (enum sg_log_format) i;

    /* Names as Postfix's syslog_name allows them; none empty, no "//". */
    for (p = names ? names : "postfix";;) {
	while (*p == ',' || *p == ' ' || *p == '\t')
	    p++;
	if (*p == 0)
	    break;
	for (w = p; *p && *p != ',' && *p != ' ' && *p != '\t'; p++)
	    if (!IS_ALNUM(*p) && !strchr("._-/", *p))
		return (say(err, errlen, "syslog name \"%.*s\": want letters, "
			    "digits, \".\", \"_\", \"-\" and \"/\"", w,
			    strcspn(w, ", \t")));
	n = (size_t) (p - w);
	if (w[0] == '/' || w[n - 1] == '/' || memmem(w, n, "//", 2))
	    return (say(err, errlen, "syslog name \"%.*s\": a \"/\" at its "
			"start or end, or two in a row", w, n));
	if (n >= SG_LOG_NAME_LEN)
	    return (say(err, errlen, "syslog name \"%.*s...\": longer than 63 "
			"bytes", w, n));
	if (src->nnames == SG_LOG_NAMES_MAX)
	    return (say(err, errlen, "syslog names: more than 16 (at "
			"\"%.*s\")", w, n));
	memcpy(src->names[src->nnames], w, n);
	src->names[src->nnames++][n] = 0;
    }
    if (src->nnames == 0)
	return (say(err, errlen, "syslog names: none given%.*s", "", 0));
    return (0);
}
