/*
 * NAME
 *	sg_logparse 3h
 * SUMMARY
 *	delivery outcomes from Postfix and Sendmail log records
 * DESCRIPTION
 *	sg_logparse() reads one line of a mail log in ONE format, fixed by
 *	the caller (never guessed per line), and says whether it is the
 *	delivery outcome of one recipient. The formats (struct sg_logsource):
 *
 *	syslog:       "Mmm dd hh:mm:ss[.frac] HOST PROG[PID]: MSG" (syslogd,
 *		      rsyslog's traditional format, journalctl -o short,
 *		      Postfix's maillog_file), or the same with an RFC 3339
 *		      timestamp (rsyslog's RSYSLOG_FileFormat, Debian 12's
 *		      default; journalctl -o short-iso);
 *	rfc5424:      "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG";
 *	journal-json: one JSON object a line (journalctl -o json): the
 *		      program is SYSLOG_IDENTIFIER, the text MESSAGE.
 *
 *	The program comes from the header (or the journal's fields), never
 *	from the message text, and only the MTA's delivery agents are read:
 *	Postfix's smtp, lmtp, local, virtual, error, discard, pipe and qmgr,
 *	logging as "NAME/AGENT" where NAME is one of the configured Postfix
 *	syslog_name values (or NAME/anything: "postfix/relay/smtp"); Sendmail
 *	as "sendmail" or "sm-mta". Their messages:
 *
 *	Postfix:  QID: to=<rcpt>, [orig_to=<..>,] relay=..., delay=...,
 *		  delays=..., dsn=X.Y.Z, status=sent|bounced|deferred|expired (...)
 *		  QID: from=<sender>, status=expired, returned to sender (qmgr)
 *	Sendmail: QID: to=<rcpt>[,<rcpt2>...], [ctladdr=...,] delay=...,
 *		  xdelay=..., mailer=..., pri=..., relay=..., dsn=X.Y.Z,
 *		  stat=Sent (...) | User unknown | Deferred: ... | ...
 *
 *	It classifies the outcome by the DSN code (RFC 3463). It never reads
 *	past len and treats the line as untrusted bytes (it is fuzzed); only
 *	journal-json allocates (json-c), and frees before returning.
 */
#ifndef SG_LOGPARSE_H
#define SG_LOGPARSE_H

#include <stddef.h>

enum sg_dsn_class {
    SG_DSN_NONE = 0,		/* not a delivery outcome */
    SG_DSN_DELIVERED,		/* 2.x.x */
    SG_DSN_DEFERRED,		/* 4.x.x not final (status=deferred) */
    SG_DSN_EXPIRED,		/* given up after deferrals (status=expired) */
    SG_DSN_MAILBOX,		/* 5.1.x but 5.1.2: bad mailbox or address */
    SG_DSN_DOMAIN,		/* 5.1.2, 5.4.4: no such domain */
    SG_DSN_POLICY,		/* 5.7.x: remote policy or spam rejection */
    SG_DSN_OTHER,		/* any other 5.x.x */
    SG_DSN_FULL			/* 5.2.x: mailbox full or disabled */
};

enum sg_mta { SG_MTA_POSTFIX, SG_MTA_SENDMAIL };

/* The one format a feed reads; the words are sg_log_format_name()'s. */
enum sg_log_format {
    SG_LOG_SYSLOG = 0,		/* "syslog" */
    SG_LOG_RFC5424,		/* "rfc5424" */
    SG_LOG_JOURNAL_JSON		/* "journal-json" */
};

#define SG_LOG_NAMES_MAX	16	/* Postfix syslog_name values */
#define SG_LOG_NAME_LEN		64	/* each, with its null byte */

/* What a feed reads: the format and whose lines count. */
struct sg_logsource {
    enum sg_log_format format;
    int     nnames;
    char    names[SG_LOG_NAMES_MAX][SG_LOG_NAME_LEN];
};

struct sg_delivery {
    char    qid[32];		/* queue id */
    char    rcpt[256];		/* first recipient, without <> */
    int     nrcpt;		/* Sendmail may list several: to=<a>,<b> */
    char    dsn[16];		/* "5.1.1" */
    enum sg_dsn_class cls;
    enum sg_mta mta;
};

#define SG_PARSE_IGNORED	0	/* not a delivery line */
#define SG_PARSE_OK		1	/* d is filled in */
#define SG_PARSE_BAD		(-1)	/* looks like one, does not parse */
#define SG_PARSE_FORMAT		(-2)	/* not a line of the format read */

/*
 * sg_logsource_init - format word and Postfix syslog_name list ("postfix,
 * postfix-out": commas or spaces) into src; -1 with a message in err
 */
extern int sg_logsource_init(struct sg_logsource *src, const char *format,
			             const char *names, char *err,
			             size_t errlen);

/* sg_log_format_name - "syslog", "rfc5424", "journal-json" */
extern const char *sg_log_format_name(enum sg_log_format);

/* sg_logparse - one line (no newline needed) of src's format into d */
extern int sg_logparse(const struct sg_logsource *src, const char *line,
		               size_t len, struct sg_delivery *d);

/*
 * sg_logparse_fields - one record whose fields are already apart (the
 * journal read through sd-journal): prog is SYSLOG_IDENTIFIER, msg
 * MESSAGE, comm _COMM (NULL when absent), judged and read exactly as
 * journal-json's same fields are
 */
extern int sg_logparse_fields(const struct sg_logsource *src,
			              const char *prog, size_t plen,
			              const char *msg, size_t mlen,
			              const char *comm, size_t clen,
			              struct sg_delivery *d);

/* sg_dsn_classify - "5.1.1" and the MTA's status word into a class */
extern enum sg_dsn_class sg_dsn_classify(const char *dsn, const char *status);

/* sg_dsn_class_name - "delivered", "mailbox", ... for logs */
extern const char *sg_dsn_class_name(enum sg_dsn_class);

/*
 * sg_dsn_weight - what one final failure of a class weighs as evidence
 * against its sender: 1 for an address that does not exist (mailbox,
 * domain), could not be reached for days (expired), or a receiver's
 * policy or content refusal of this sender's mail; 0.5 for a full or
 * disabled mailbox or another cause; 0 for what is no failure. A
 * policy refusal during a receiver incident (many accounts refused by
 * one domain) weighs 0: the engine decides that, across accounts.
 */
extern double sg_dsn_weight(enum sg_dsn_class);

/*
 * sg_rcpt_rejection_counts - whether the MTA's refusal of a recipient at
 * RCPT, its enhanced status status ({rcpt_host} of the error mailer), is
 * a failure: 0 for a temporary one (4.x.x: too many recipients, a
 * verification that timed out), which says nothing of the address and
 * is then neither a failure nor a recipient; 1 otherwise, also when the
 * status is missing or unreadable.
 */
extern int sg_rcpt_rejection_counts(const char *status);

/*
 * sg_rcpt_domain - the domain of a recipient address ("<a@B.example>" ->
 * "b.example") into buf: letters, digits, '.', '-' only, lower case, at
 * most 253 bytes. 0, or -1 (buf empty) if there is none such.
 */
extern int sg_rcpt_domain(const char *rcpt, char *buf, size_t len);

#endif
