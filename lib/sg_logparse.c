/*
 * NAME
 *	sg_logparse 3
 * SUMMARY
 *	delivery outcomes from Postfix and Sendmail log records
 * DESCRIPTION
 *	See sg_logparse.h for the formats and the message shapes.
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
 *
 *	The message, by structure: "QID: to=" is a delivery record, "QID:
 *	from=<" from qmgr an expiry if "status=expired" follows the sender;
 *	anything else is ignored. Which of the two is decided by the word
 *	after the queue id, so a quoted sender holding " to=" is still an
 *	expiry.
 *
 *	Untrusted parts. The recipient (client-controlled) comes before the
 *	MTA's own fields and the remote server's text comes after them. A
 *	recipient is skipped quote-aware (RFC 5321 quoted local parts may hold
 *	">", "," and "dsn="), so a crafted address cannot forge the fields
 *	that follow it, and the first dsn= after the addresses is the MTA's.
 *	This holds for Postfix's default info_log_address_format = external
 *	(3.5 and later), which quotes such local parts; with "internal" the
 *	address is logged unquoted and a crafted one can forge the outcome.
 *
 *	Postfix expiry. Postfix does not log "status=expired" per recipient:
 *	qmgr logs it once per message, "QID: from=<sender>, status=expired,
 *	returned to sender", after the last deferral. That line is reported
 *	as one SG_DSN_EXPIRED recipient (nrcpt 1, rcpt and dsn empty): how
 *	many recipients were still deferred is not in the line. A to= line
 *	with status=expired (the form sg_logparse.h names) is understood too.
 *
 *	Sendmail. Several recipients share one line (to=<a>,<b> or to=a,b);
 *	a list too long for one syslog line is split by Sendmail into lines
 *	"to=<a>,<b>, [more], delay=..." each with the full outcome, so each is
 *	its own outcome with its own count. Classification is by DSN; stat=
 *	only tells deferral ("Deferred", "queued") and, for 4.4.7, a queue
 *	timeout return.
 * DIAGNOSTICS
 *	SG_PARSE_FORMAT when the header is not one of the configured format
 *	(a feed told the wrong format, or a line cut or mangled);
 *	SG_PARSE_BAD when a delivery agent's "QID: to=" record (or a
 *	journal record whose _COMM is not the agent it names) does not
 *	parse: truncated, unbalanced <> or quotes, a malformed DSN, an
 *	unknown Postfix status word, a queue id too long.
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

/* Postfix and Sendmail queue ids: [0-9A-Za-z], long Postfix ids included. */
#define QID_MAX		(sizeof(((struct sg_delivery *) 0)->qid) - 1)

#define IS_DIGIT(c)	((c) >= '0' && (c) <= '9')
#define IS_ALPHA(c)	(((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z')
#define IS_ALNUM(c)	(IS_DIGIT(c) || IS_ALPHA(c))
#define IS_PRINT(c)	((c) > ' ' && (c) < 0x7f)	/* and not a space */

/* Internal answer of the shape parsers: the line is not of this shape. */
#define NOT_SHAPE	2

/* JSON nesting of a journal record: object, array (multi-valued), array. */
#define JOURNAL_DEPTH	4

/* The longest journal value written as an array of bytes that is read. */
#define BYTES_MAX	(64 * 1024)

/* Whose record a line is, from its program name. */
enum who { WHO_OTHER, WHO_POSTFIX, WHO_QMGR, WHO_SENDMAIL };

/* The programs whose records count; see the DESCRIPTION. */
static const char *const postfix_agents[] = {
    "smtp", "lmtp", "local", "virtual", "error", "discard", "pipe", "qmgr", 0,
};
static const char *const sendmail_programs[] = {"sendmail", "sm-mta", 0};

static const char *const format_names[] = {
    "syslog", "rfc5424", "journal-json", 0,
};

/* lit - does [p, end) start with the literal s? */
static int lit(const char *p, const char *end, const char *s, size_t n)
{
    return ((size_t) (end - p) >= n && memcmp(p, s, n) == 0);
}

/* word_is - case-insensitive comparison of a NUL-terminated word */
static int word_is(const char *w, const char *s)
{
    for (; *w && *s; w++, s++)
	if ((*w | 0x20) != *s)
	    return (0);
    return (*w == 0 && *s == 0);
}

/* qid_len - length of a queue id at p followed by sep, 0 if none */
static size_t qid_len(const char *p, const char *end, const char *sep,
		              size_t seplen)
{
    const char *q = p;

    while (q < end && IS_ALNUM(*q) && (size_t) (q - p) <= QID_MAX)
	q++;
    if (q == p || (size_t) (q - p) > QID_MAX || !lit(q, end, sep, seplen))
	return (0);
    return ((size_t) (q - p));
}

/*
 * addr_end - the end of one address at p: the '>' closing a '<' at p, or
 * for a bare address the first ',' or ' ' (both outside double quotes).
 * NULL if a '<' or a quote is never closed: the line was cut or is not
 * what it seems, and guessing could let a crafted address forge fields.
 */
static const char *addr_end(const char *p, const char *end)
{
    int     bracket = (*p == '<');
    int     quoted = 0;
    const char *q;

    for (q = p + bracket; q < end; q++) {
	if (quoted) {
	    if (*q == '\\') {
		if (end - q < 2)
		    return (0);
		q++;
	    } else if (*q == '"')
		quoted = 0;
	} else if (*q == '"')
	    quoted = 1;
	else if (bracket && *q == '>')
	    return (q);
	else if (!bracket && (*q == ',' || *q == ' '))
	    return (q);
    }
    return (bracket || quoted ? 0 : end);
}

/* dsn_len - length of an RFC 3463 code "c.sss.ddd" at p, 0 if none */
static size_t dsn_len(const char *p, const char *end)
{
    const char *q = p;
    int     part, n;

    if (q >= end || (*q != '2' && *q != '4' && *q != '5'))
	return (0);
    q++;
    for (part = 0; part < 2; part++) {
	if (q >= end || *q != '.')
	    return (0);
	for (q++, n = 0; q < end && IS_DIGIT(*q); q++)
	    n++;
	if (n < 1 || n > 3)
	    return (0);
    }
    if (q < end && (IS_ALNUM(*q) || *q == '.'))
	return (0);
    return ((size_t) (q - p));
}

/* copy_word - the letters at p into a small buffer; their number */
static size_t copy_word(const char *p, const char *end, char *buf,
			        size_t len)
{
    size_t  n = 0;

    while (p + n < end && IS_ALPHA(p[n]) && n < len - 1) {
	buf[n] = p[n];
	n++;
    }
    buf[n] = 0;
    return (n);
}

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
 * syslog_msg - where the message of "TIME HOST PROG[PID]: MSG" starts,
 * 0 if the line is not one; the program in *prog, *plen.
 */
static size_t syslog_msg(const char *l, size_t len, const char **prog,
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
 * rfc5424_msg - where the MSG of "<PRI>1 TIMESTAMP HOST APP PROCID MSGID
 * SD [MSG]" starts (len when there is none), 0 if the line is not one;
 * APP-NAME in *prog, *plen.
 */
static size_t rfc5424_msg(const char *l, size_t len, const char **prog,
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
 * program - whose record: a Postfix delivery agent under a configured
 * syslog_name (the agent's name in *agent, *alen), Sendmail, or other.
 */
static enum who program(const struct sg_logsource *src, const char *p,
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
		return (WHO_SENDMAIL);
	return (WHO_OTHER);
    }
    plen = (size_t) (slash - p);
    *agent = slash + 1;
    *alen = n - plen - 1;
    for (i = 0; postfix_agents[i]; i++)
	if (span_is(*agent, *alen, postfix_agents[i]))
	    break;
    if (postfix_agents[i] == 0)
	return (WHO_OTHER);
    for (i = 0; i < src->nnames; i++) {
	nl = strlen(src->names[i]);
	if ((plen == nl || (plen > nl && p[nl] == '/'))
	    && memcmp(p, src->names[i], nl) == 0)
	    return (span_is(*agent, *alen, "qmgr") ? WHO_QMGR : WHO_POSTFIX);
    }
    return (WHO_OTHER);
}

/*
 * delivery - "QID: to=ADDR[,ADDR...], key=value, ..., dsn=X.Y.Z,
 * status=WORD ..." (Postfix) or "... dsn=X.Y.Z, [reply=...,] stat=TEXT"
 * (Sendmail) at m, from the MTA the program name said. NOT_SHAPE when m
 * does not start with "QID: to=".
 */
static int delivery(const char *m, const char *end, enum sg_mta mta,
		            struct sg_delivery *d)
{
    size_t  n, klen;
    const char *p, *q, *a, *k, *v;
    char    word[16];
    int     have_dsn = 0;

    if ((n = qid_len(m, end, ": to=", 5)) == 0)
	return (NOT_SHAPE);
    memcpy(d->qid, m, n);
    d->qid[n] = 0;

    /* The recipients: one for Postfix, a list for Sendmail. */
    for (p = m + n + 5;;) {
	if (p >= end || (a = addr_end(p, end)) == 0)
	    return (SG_PARSE_BAD);
	if (*p == '<') {
	    q = p + 1;
	    p = a + 1;
	} else {
	    if (a == p)
		return (SG_PARSE_BAD);
	    q = p;
	    p = a;
	}
	if (d->nrcpt++ == 0) {
	    n = (size_t) (a - q);
	    if (n >= sizeof(d->rcpt))
		n = sizeof(d->rcpt) - 1;
	    memcpy(d->rcpt, q, n);
	    d->rcpt[n] = 0;
	}
	/* "<a>,<b>" continues; "<a>, key=" and "<a>, [more]" end it. */
	if (end - p >= 2 && p[0] == ',' && p[1] != ' ')
	    p++;
	else
	    break;
    }

    /*
     * The MTA's fields up to dsn= (or to the status, without one). Values
     * in <> (orig_to, ctladdr) are addresses again, skipped quote-aware;
     * others (relay, delay, mailer...) end at the next ", ".
     */
    for (;;) {
	if ((q = memmem(p, (size_t) (end - p), ", ", 2)) == 0)
	    return (SG_PARSE_BAD);
	for (k = q + 2, klen = 0; k + klen < end
	     && (IS_ALPHA(k[klen]) || k[klen] == '_'); klen++)
	     /* key */ ;
	if (klen == 0 || k + klen >= end || k[klen] != '=') {
	    p = q + 2;				/* "[more]", or a value's ", " */
	    continue;
	}
	v = k + klen + 1;
	if (klen == 3 && memcmp(k, "dsn", 3) == 0) {
	    if ((n = dsn_len(v, end)) == 0 || n >= sizeof(d->dsn))
		return (SG_PARSE_BAD);
	    memcpy(d->dsn, v, n);
	    d->dsn[n] = 0;
	    have_dsn = 1;
	    p = v + n;
	    break;
	}
	if ((klen == 6 && memcmp(k, "status", 6) == 0)
	    || (klen == 4 && memcmp(k, "stat", 4) == 0)) {
	    p = q;
	    break;
	}
	if (v < end && *v == '<') {
	    if ((a = addr_end(v, end)) == 0)
		return (SG_PARSE_BAD);
	    p = a + 1;
	} else
	    p = v;
    }

    /*
     * Postfix writes status= right after dsn=. Sendmail may put reply=
     * (the remote server's text) between dsn= and stat=; only the first
     * word of stat= is used, and only to tell deferrals.
     */
    d->mta = mta;
    if (mta == SG_MTA_POSTFIX) {
	if (!lit(p, end, ", status=", 9))
	    return (SG_PARSE_BAD);
	p += 9;
	n = copy_word(p, end, word, sizeof(word));
	if (p + n < end && p[n] != ' ' && p[n] != ',')
	    return (SG_PARSE_BAD);
	if (word_is(word, "deliverable") || word_is(word, "undeliverable"))
	    return (SG_PARSE_IGNORED);		/* address verification probes */
	if (!word_is(word, "sent") && !word_is(word, "bounced")
	    && !word_is(word, "deferred") && !word_is(word, "expired")
	    && !word_is(word, "softbounce"))
	    return (SG_PARSE_BAD);		/* cut short, or unknown */
    } else {
	if (lit(p, end, ", stat=", 7))
	    q = p;
	else if (!have_dsn
		 || (q = memmem(p, (size_t) (end - p), ", stat=", 7)) == 0)
	    return (SG_PARSE_BAD);
	p = q + 7;
	if (copy_word(p, end, word, sizeof(word)) == 0)
	    return (SG_PARSE_BAD);
	/* A message a milter quarantined: held, not an outcome. */
	if (!have_dsn && word_is(word, "quarantined"))
	    return (SG_PARSE_IGNORED);
    }
    d->cls = sg_dsn_classify(have_dsn ? d->dsn : 0, word);
    return (d->cls == SG_DSN_NONE ? SG_PARSE_BAD : SG_PARSE_OK);
}

/* expired - Postfix qmgr's "QID: from=<sender>, status=expired, ..." */
static int expired(const char *m, const char *end, struct sg_delivery *d)
{
    size_t  n;
    const char *a;

    if ((n = qid_len(m, end, ": from=<", 8)) == 0
	|| (a = addr_end(m + n + 7, end)) == 0
	|| !lit(a + 1, end, ", status=expired", 16)
	|| (a + 17 < end && a[17] != ',' && a[17] != ' '))
	return (NOT_SHAPE);
    memcpy(d->qid, m, n);
    d->qid[n] = 0;
    d->nrcpt = 1;
    d->cls = SG_DSN_EXPIRED;
    d->mta = SG_MTA_POSTFIX;
    return (SG_PARSE_OK);
}

/*
 * record - the message of one record, its program known: a delivery
 * record of a delivery agent, a qmgr expiry, or nothing. comm (journal
 * only, NULL elsewhere) is the process's _COMM.
 */
static int record(const struct sg_logsource *src, const char *prog,
		          size_t plen, const char *msg, size_t mlen,
		          const char *comm, size_t clen, struct sg_delivery *d)
{
    const char *end = msg + mlen, *agent;
    size_t  alen, n;
    enum who who;
    int     rc;

    if ((who = program(src, prog, plen, &agent, &alen)) == WHO_OTHER)
	return (SG_PARSE_IGNORED);
    if (comm && who != WHO_SENDMAIL && !(clen == alen
					 && memcmp(comm, agent, alen) == 0))
	return (SG_PARSE_BAD);			/* not the agent it names */
    while (msg < end && *msg == ' ')
	msg++;
    for (n = 0; msg + n < end && IS_ALNUM(msg[n]); n++)
	 /* QID */ ;
    if (n == 0)
	return (SG_PARSE_IGNORED);
    if (lit(msg + n, end, ": to=", 5)) {
	if (n > QID_MAX)
	    return (SG_PARSE_BAD);
	rc = delivery(msg, end, who == WHO_SENDMAIL ? SG_MTA_SENDMAIL :
		      SG_MTA_POSTFIX, d);
    } else if (who == WHO_QMGR && lit(msg + n, end, ": from=<", 8)) {
	rc = expired(msg, end, d);
    } else
	return (SG_PARSE_IGNORED);
    if (rc == NOT_SHAPE)
	rc = SG_PARSE_IGNORED;
    if (rc != SG_PARSE_OK)
	d->qid[0] = d->rcpt[0] = d->dsn[0] = 0;
    return (rc);
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
 * journal - one line of "journalctl -o json": SYSLOG_IDENTIFIER is the
 * program, MESSAGE the message, _COMM checked against the program.
 */
static int journal(const struct sg_logsource *src, const char *line,
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
	rc = record(src, prog, plen, msg, mlen, comm, clen, d);
    }
    free(pbuf);
    free(mbuf);
    free(cbuf);
    json_object_put(o);
    return (rc);
}

/* sg_logparse - one line (no newline needed) of src's format into d */
int     sg_logparse(const struct sg_logsource *src, const char *line,
		            size_t len, struct sg_delivery *d)
{
    const char *prog = 0;
    size_t  plen = 0, at;

    d->qid[0] = d->rcpt[0] = d->dsn[0] = 0;
    d->nrcpt = 0;
    d->cls = SG_DSN_NONE;
    d->mta = SG_MTA_POSTFIX;
    if (line == 0)
	return (SG_PARSE_IGNORED);
    while (len > 0 && line[len - 1] == '\r')
	len--;
    if (len == 0)
	return (SG_PARSE_IGNORED);
    switch (src->format) {
    case SG_LOG_JOURNAL_JSON:
	return (journal(src, line, len, d));
    case SG_LOG_RFC5424:
	at = rfc5424_msg(line, len, &prog, &plen);
	break;
    default:
	at = syslog_msg(line, len, &prog, &plen);
	break;
    }
    if (at == 0)
	return (SG_PARSE_FORMAT);
    return (record(src, prog, plen, line + at, len - at, 0, 0, d));
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

/* sg_dsn_classify - "5.1.1" and the MTA's status word into a class */
enum sg_dsn_class sg_dsn_classify(const char *dsn, const char *status)
{
    unsigned subject = 0, detail = 0;
    const char *p;
    int     deferral = 0;

    /*
     * The status word decides whether the outcome is final: a deferral
     * is never final whatever its code (soft_bounce turns 5xx into
     * SOFTBOUNCE), and an expiry always is.
     */
    if (status && *status) {
	if (word_is(status, "expired"))
	    return (SG_DSN_EXPIRED);
	deferral = word_is(status, "deferred") || word_is(status, "softbounce")
	    || word_is(status, "queued");
	if (deferral)
	    return (SG_DSN_DEFERRED);
    }
    if (dsn == 0 || dsn_len(dsn, dsn + strlen(dsn)) == 0) {
	if (status && word_is(status, "sent"))
	    return (SG_DSN_DELIVERED);
	if (status && word_is(status, "bounced"))
	    return (SG_DSN_OTHER);
	return (SG_DSN_NONE);
    }
    for (p = dsn + 2; IS_DIGIT(*p); p++)
	subject = subject * 10 + (unsigned) (*p - '0');
    for (p++; IS_DIGIT(*p); p++)
	detail = detail * 10 + (unsigned) (*p - '0');

    switch (dsn[0]) {
    case '2':
	return (SG_DSN_DELIVERED);
    case '4':

	/*
	 * A temporary code on a final line: Postfix "bounced" with a 4.x.x
	 * code, or Sendmail giving up at its queue timeout (4.4.7 with a
	 * stat= other than Deferred).
	 */
	if (status && *status && (word_is(status, "bounced")
				  || (subject == 4 && detail == 7)))
	    return (SG_DSN_EXPIRED);
	return (SG_DSN_DEFERRED);
    default:				/* '5' */
	if ((subject == 1 && (detail == 2 || detail == 10))
	    || (subject == 4 && detail == 4))
	    return (SG_DSN_DOMAIN);		/* 5.1.10: RFC 7505 null MX */
	if (subject == 1)
	    return (SG_DSN_MAILBOX);
	if (subject == 7)
	    return (SG_DSN_POLICY);
	return (SG_DSN_OTHER);
    }
}

/* sg_dsn_class_name - "delivered", "mailbox", ... for logs */
const char *sg_dsn_class_name(enum sg_dsn_class cls)
{
    switch (cls) {
    case SG_DSN_DELIVERED:
	return ("delivered");
    case SG_DSN_DEFERRED:
	return ("deferred");
    case SG_DSN_EXPIRED:
	return ("expired");
    case SG_DSN_MAILBOX:
	return ("mailbox");
    case SG_DSN_DOMAIN:
	return ("domain");
    case SG_DSN_POLICY:
	return ("policy");
    case SG_DSN_OTHER:
	return ("other");
    default:
	return ("none");
    }
}
