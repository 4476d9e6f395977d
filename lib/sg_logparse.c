/*
 * NAME
 *	sg_logparse 3
 * SUMMARY
 *	delivery outcomes from Postfix and Sendmail log lines
 * DESCRIPTION
 *	See sg_logparse.h for the line shapes. Most lines of a mail log are
 *	not delivery outcomes, so the first thing done is a memmem() for
 *	" to=": a line without it is rejected at the cost of one scan, with
 *	no allocation and no copying.
 *
 *	Where the message starts. The queue id must be the first word of the
 *	syslog message: at the start of the line (journalctl -o cat), after
 *	the first ": " (the traditional "Nov 22 14:00:01 host prog[pid]: "
 *	prefix, the RFC 3339 one that Debian 12's rsyslog writes, journalctl's
 *	short formats, Postfix's maillog_file), or after an RFC 5424 header.
 *	Program names are not checked: they vary with syslog_name and
 *	multiple instances (postfix/submission/smtpd, postfix-out/smtp), and
 *	journalctl -o cat drops them. The shape is enough: only delivery
 *	agents (smtp, lmtp, local, virtual, error, discard, pipe; qmgr for
 *	deferrals it makes itself) write "QID: to=<...>, ..., dsn=..., status=".
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
 *	SG_PARSE_BAD when a line has the delivery shape (or contains " to="
 *	and a dsn=/stat) but does not parse: truncated, unbalanced <> or
 *	quotes, a malformed DSN, an unknown Postfix status word.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE			/* memmem(), also for fuzz builds */
#endif
#include <string.h>

#include "sg_logparse.h"

/* Postfix and Sendmail queue ids: [0-9A-Za-z], long Postfix ids included. */
#define QID_MAX		(sizeof(((struct sg_delivery *) 0)->qid) - 1)

#define IS_DIGIT(c)	((c) >= '0' && (c) <= '9')
#define IS_ALPHA(c)	(((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z')
#define IS_ALNUM(c)	(IS_DIGIT(c) || IS_ALPHA(c))

/* Internal answer of the shape parsers: the line is not of this shape. */
#define NOT_SHAPE	2

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

/*
 * rfc5424_msg - where the MSG of an RFC 5424 line starts, 0 if the line
 * is not one: "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG".
 */
static size_t rfc5424_msg(const char *line, size_t len)
{
    size_t  i = 1, n;
    int     field, quoted;

    for (n = 0; i < len && IS_DIGIT(line[i]) && n < 4; i++, n++)
	 /* PRI */ ;
    if (n == 0 || i >= len || line[i++] != '>')
	return (0);
    for (n = 0; i < len && IS_DIGIT(line[i]) && n < 3; i++, n++)
	 /* VERSION */ ;
    if (n == 0 || i >= len || line[i++] != ' ')
	return (0);
    for (field = 0; field < 5; field++) {
	for (n = 0; i < len && line[i] != ' '; i++, n++)
	     /* TIMESTAMP HOSTNAME APP-NAME PROCID MSGID */ ;
	if (n == 0 || i >= len)
	    return (0);
	i++;
    }
    if (i < len && line[i] == '-') {
	i++;
    } else {
	while (i < len && line[i] == '[') {
	    for (i++, quoted = 0; i < len; i++) {
		if (quoted && line[i] == '\\')
		    i++;
		else if (line[i] == '"')
		    quoted = !quoted;
		else if (!quoted && line[i] == ']')
		    break;
	    }
	    if (i >= len)
		return (0);
	    i++;
	}
    }
    if (i < len && line[i] == ' ')
	i++;
    if (len - i >= 3 && memcmp(line + i, "\xEF\xBB\xBF", 3) == 0)
	i += 3;
    return (i < len ? i : 0);
}

/* msg_starts - where the syslog message may start; how many places */
static int msg_starts(const char *line, size_t len, size_t *at)
{
    const char *colon;
    int     n = 0;
    size_t  m;

    at[n++] = 0;
    if (line[0] == '<' && (m = rfc5424_msg(line, len)) != 0)
	at[n++] = m;
    if ((colon = memmem(line, len, ": ", 2)) != 0)
	at[n++] = (size_t) (colon - line) + 2;
    return (n);
}

/*
 * delivery - "QID: to=ADDR[,ADDR...], key=value, ..., dsn=X.Y.Z,
 * status=WORD ..." (Postfix) or "... dsn=X.Y.Z, [reply=...,] stat=TEXT"
 * (Sendmail) at m. NOT_SHAPE when m does not start with "QID: to=".
 */
static int delivery(const char *m, const char *end, struct sg_delivery *d)
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
    if (lit(p, end, ", status=", 9)) {
	d->mta = SG_MTA_POSTFIX;
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
	d->mta = SG_MTA_SENDMAIL;
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

/* sg_logparse - one line (no newline needed) into d */
int     sg_logparse(const char *line, size_t len, struct sg_delivery *d)
{
    const char *end;
    size_t  at[3];
    int     n, i, rc;

    d->qid[0] = d->rcpt[0] = d->dsn[0] = 0;
    d->nrcpt = 0;
    d->cls = SG_DSN_NONE;
    d->mta = SG_MTA_POSTFIX;
    if (line == 0 || len < 8)
	return (SG_PARSE_IGNORED);
    end = line + len;

    /* The quick reject: most lines end here after one scan. */
    if (memmem(line, len, " to=", 4) == 0) {
	if (memmem(line, len, ", status=expired", 16) == 0)
	    return (SG_PARSE_IGNORED);
	n = msg_starts(line, len, at);
	for (i = 0; i < n; i++)
	    if (expired(line + at[i], end, d) == SG_PARSE_OK)
		return (SG_PARSE_OK);
	d->qid[0] = 0;
	return (SG_PARSE_IGNORED);
    }
    n = msg_starts(line, len, at);
    for (i = 0; i < n; i++) {
	if ((rc = delivery(line + at[i], end, d)) != NOT_SHAPE)
	    return (rc);
	d->qid[0] = 0;
    }

    /*
     * Not the shape, but it names a recipient and an outcome: something
     * mangled the prefix or the line. Count it rather than guess.
     */
    if (memmem(line, len, "dsn=", 4) || memmem(line, len, " stat=", 6)
	|| memmem(line, len, " status=", 8))
	return (SG_PARSE_BAD);
    return (SG_PARSE_IGNORED);
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
