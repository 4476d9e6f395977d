/*
 * NAME
 *	sg_logparse 3h
 * SUMMARY
 *	delivery outcomes from Postfix and Sendmail log lines
 * DESCRIPTION
 *	sg_logparse() reads one log line (as syslog, journalctl -o cat or
 *	Postfix's maillog_file writes it; with or without the syslog prefix)
 *	and says whether it is the delivery outcome of one recipient:
 *
 *	Postfix:  QID: to=<rcpt>, [orig_to=<..>,] relay=..., delay=...,
 *		  delays=..., dsn=X.Y.Z, status=sent|bounced|deferred|expired (...)
 *	Sendmail: QID: to=<rcpt>[,<rcpt2>...], [ctladdr=...,] delay=...,
 *		  xdelay=..., mailer=..., pri=..., relay=..., dsn=X.Y.Z,
 *		  stat=Sent (...) | User unknown | Deferred: ... | ...
 *
 *	It classifies the outcome by the DSN code (RFC 3463). It never
 *	allocates, never reads past len, and treats the line as untrusted
 *	bytes (it is fuzzed).
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
    SG_DSN_OTHER		/* any other 5.x.x */
};

enum sg_mta { SG_MTA_POSTFIX, SG_MTA_SENDMAIL };

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

/* sg_logparse - one line (no newline needed) into d */
extern int sg_logparse(const char *line, size_t len, struct sg_delivery *d);

/* sg_dsn_classify - "5.1.1" and the MTA's status word into a class */
extern enum sg_dsn_class sg_dsn_classify(const char *dsn, const char *status);

/* sg_dsn_class_name - "delivered", "mailbox", ... for logs */
extern const char *sg_dsn_class_name(enum sg_dsn_class);

#endif
