/*
 * NAME
 *	sg_logparse 3
 * SUMMARY
 *	delivery outcomes from Postfix and Sendmail log records
 * DESCRIPTION
 *	See sg_logparse.h for the formats and the message shapes.
 *
 *	The framing of a line (its header in the one format read, the
 *	journal's fields, and whose program wrote it) is sg_logformat.c's;
 *	this file reads the message of a record whose program counts.
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
#define _GNU_SOURCE			/* memmem(), also for fuzz */
#endif
#include <string.h>

#include "sg_logparse.h"
#include "sg_logparse_impl.h"

/* Postfix and Sendmail queue ids: [0-9A-Za-z], long Postfix ids included. */
#define QID_MAX		(sizeof(((struct sg_delivery *) 0)->qid) - 1)

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
 * recipients - the addresses of "to=" at p (one for Postfix, a list for
 * Sendmail): the first into d->rcpt, their number into d->nrcpt; where
 * the list ends, NULL if it does not parse.
 */
static const char *recipients(const char *p, const char *end,
			              struct sg_delivery *d)
{
    const char *q, *a;
    size_t  n;

    for (;;) {
	if (p >= end || (a = addr_end(p, end)) == 0)
	    return (0);
	if (*p == '<') {
	    q = p + 1;
	    p = a + 1;
	} else {
	    if (a == p)
		return (0);
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
	    return (p);
    }
}

/*
 * mta_fields - the MTA's fields after the recipients, up to dsn= (into
 * d->dsn, *have_dsn set) or, without one, to the status. Values in <>
 * (orig_to, ctladdr) are addresses again, skipped quote-aware; others
 * (relay, delay, mailer...) end at the next ", ". Where the reading
 * stops (after the DSN, or at the ", " before the status); NULL if the
 * fields do not parse.
 */
static const char *mta_fields(const char *p, const char *end,
			              struct sg_delivery *d, int *have_dsn)
{
    const char *q, *a, *k, *v;
    size_t  n, klen;

    *have_dsn = 0;
    for (;;) {
	if ((q = memmem(p, (size_t) (end - p), ", ", 2)) == 0)
	    return (0);
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
		return (0);
	    memcpy(d->dsn, v, n);
	    d->dsn[n] = 0;
	    *have_dsn = 1;
	    return (v + n);
	}
	if ((klen == 6 && memcmp(k, "status", 6) == 0)
	    || (klen == 4 && memcmp(k, "stat", 4) == 0))
	    return (q);
	if (v < end && *v == '<') {
	    if ((a = addr_end(v, end)) == 0)
		return (0);
	    p = a + 1;
	} else
	    p = v;
    }
}

/*
 * postfix_status - ", status=WORD" right at p (Postfix writes it right
 * after dsn=), WORD into word; IGNORED for address verification probes.
 */
static int postfix_status(const char *p, const char *end, char *word,
			          size_t wlen)
{
    size_t  n;

    if (!lit(p, end, ", status=", 9))
	return (SG_PARSE_BAD);
    p += 9;
    n = copy_word(p, end, word, wlen);
    if (p + n < end && p[n] != ' ' && p[n] != ',')
	return (SG_PARSE_BAD);
    if (word_is(word, "deliverable") || word_is(word, "undeliverable"))
	return (SG_PARSE_IGNORED);		/* address verification probes */
    if (!word_is(word, "sent") && !word_is(word, "bounced")
	&& !word_is(word, "deferred") && !word_is(word, "expired")
	&& !word_is(word, "softbounce"))
	return (SG_PARSE_BAD);			/* cut short, or unknown */
    return (SG_PARSE_OK);
}

/*
 * sendmail_stat - the first word of stat= into word. Sendmail may put
 * reply= (the remote server's text) between dsn= and stat=; the word is
 * used only to tell deferrals. IGNORED for a message a milter held.
 */
static int sendmail_stat(const char *p, const char *end, int have_dsn,
			         char *word, size_t wlen)
{
    const char *q;

    if (lit(p, end, ", stat=", 7))
	q = p;
    else if (!have_dsn
	     || (q = memmem(p, (size_t) (end - p), ", stat=", 7)) == 0)
	return (SG_PARSE_BAD);
    p = q + 7;
    if (copy_word(p, end, word, wlen) == 0)
	return (SG_PARSE_BAD);
    /* A message a milter quarantined: held, not an outcome. */
    if (!have_dsn && word_is(word, "quarantined"))
	return (SG_PARSE_IGNORED);
    return (SG_PARSE_OK);
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
    const char *p;
    size_t  n;
    char    word[16];
    int     have_dsn, rc;

    if ((n = qid_len(m, end, ": to=", 5)) == 0)
	return (NOT_SHAPE);
    memcpy(d->qid, m, n);
    d->qid[n] = 0;
    if ((p = recipients(m + n + 5, end, d)) == 0
	|| (p = mta_fields(p, end, d, &have_dsn)) == 0)
	return (SG_PARSE_BAD);
    d->mta = mta;
    if (mta == SG_MTA_POSTFIX)
	rc = postfix_status(p, end, word, sizeof(word));
    else
	rc = sendmail_stat(p, end, have_dsn, word, sizeof(word));
    if (rc != SG_PARSE_OK)
	return (rc);
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
 * sg_log_record - the message of one record, its program known: a
 * delivery record of a delivery agent, a qmgr expiry, or nothing. comm
 * (journal only, NULL elsewhere) is the process's _COMM.
 */
int     sg_log_record(const struct sg_logsource *src, const char *prog,
		              size_t plen, const char *msg, size_t mlen,
		              const char *comm, size_t clen, struct sg_delivery *d)
{
    const char *end = msg + mlen, *agent;
    size_t  alen, n;
    enum sg_log_who who;
    int     rc;

    who = sg_log_program(src, prog, plen, &agent, &alen);
    if (who == SG_WHO_OTHER)
	return (SG_PARSE_IGNORED);
    if (comm && who != SG_WHO_SENDMAIL && !(clen == alen
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
	rc = delivery(msg, end, who == SG_WHO_SENDMAIL ? SG_MTA_SENDMAIL :
		      SG_MTA_POSTFIX, d);
    } else if (who == SG_WHO_QMGR && lit(msg + n, end, ": from=<", 8)) {
	rc = expired(msg, end, d);
    } else
	return (SG_PARSE_IGNORED);
    if (rc == NOT_SHAPE)
	rc = SG_PARSE_IGNORED;
    if (rc != SG_PARSE_OK)
	d->qid[0] = d->rcpt[0] = d->dsn[0] = 0;
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
	return (sg_log_journal(src, line, len, d));
    case SG_LOG_RFC5424:
	at = sg_log_rfc5424_msg(line, len, &prog, &plen);
	break;
    default:
	at = sg_log_syslog_msg(line, len, &prog, &plen);
	break;
    }
    if (at == 0)
	return (SG_PARSE_FORMAT);
    return (sg_log_record(src, prog, plen, line + at, len - at, 0, 0, d));
}

/* sg_logparse_fields - a record already split into its fields */
int     sg_logparse_fields(const struct sg_logsource *src, const char *prog,
			           size_t plen, const char *msg, size_t mlen,
			           const char *comm, size_t clen,
			           struct sg_delivery *d)
{
    d->qid[0] = d->rcpt[0] = d->dsn[0] = 0;
    d->nrcpt = 0;
    d->cls = SG_DSN_NONE;
    d->mta = SG_MTA_POSTFIX;
    if (prog == 0 || msg == 0 || plen == 0 || mlen == 0)
	return (SG_PARSE_IGNORED);
    return (sg_log_record(src, prog, plen, msg, mlen, comm, clen, d));
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
	if (subject == 2)
	    return (SG_DSN_FULL);
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
    case SG_DSN_FULL:
	return ("mailbox-full");
    default:
	return ("none");
    }
}

/* sg_dsn_weight - what one final failure of a class weighs as evidence */
double  sg_dsn_weight(enum sg_dsn_class cls)
{
    switch (cls) {
    case SG_DSN_MAILBOX:
    case SG_DSN_DOMAIN:
    case SG_DSN_EXPIRED:
    case SG_DSN_POLICY:
	return (1.0);
    case SG_DSN_FULL:
    case SG_DSN_OTHER:
	return (0.5);
    default:
	return (0.0);
    }
}

/* sg_rcpt_rejection_counts - a refusal at RCPT that is a failure */
int     sg_rcpt_rejection_counts(const char *status)
{
    return (sg_dsn_classify(status, 0) != SG_DSN_DEFERRED);
}

/* sg_rcpt_domain - the lower-case domain of a recipient, or -1 */
int     sg_rcpt_domain(const char *rcpt, char *buf, size_t len)
{
    const char *at = rcpt ? strrchr(rcpt, '@') : 0;
    size_t  n = 0;

    if (len == 0)
	return (-1);
    buf[0] = 0;
    if (at == 0)
	return (-1);
    for (at++; *at && *at != '>'; at++) {
	unsigned char c = (unsigned char) *at;

	if (c >= 'A' && c <= 'Z')
	    c += 32;
	if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.'
	      || c == '-') || n + 1 >= len || n >= 253) {
	    buf[0] = 0;
	    return (-1);
	}
	buf[n++] = (char) c;
    }
    buf[n] = 0;
    if (n == 0 || (*at == '>' && at[1] != 0))
	buf[0] = 0;
    return (buf[0] ? 0 : -1);
}
