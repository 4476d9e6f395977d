/*
 * NAME
 *	test_logparse - sg_logparse on Postfix and Sendmail log lines
 * DESCRIPTION
 *	Table-driven: each line as syslog, rsyslog (RFC 3339 or RFC 5424),
 *	journalctl -o json or maillog_file write it, read in its format,
 *	with the answer wanted. Every line is copied into a heap buffer of
 *	exactly its length with no NUL after it, so AddressSanitizer
 *	(-DSG_SANITIZE=ON) catches any read past len.
 *
 *	Forged lines: records whose text an SMTP client or a remote server
 *	wrote (a pipelining complaint, a recipient address, a server's
 *	reply, a fake program prefix in the message) are rendered in every
 *	format the feed reads and must count nothing, while the real bounce
 *	rendered the same way counts in each.
 *
 *	Beyond the table: every prefix of every good line (a line cut
 *	anywhere) must not parse as OK until the part that decides the
 *	outcome is complete, and the same as the whole line after; and
 *	random lines made of the tokens that matter must never crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sg_logparse.h"

#define SYSLOG	SG_LOG_SYSLOG
#define RFC5424	SG_LOG_RFC5424
#define JOURNAL	SG_LOG_JOURNAL_JSON
#define P_FMT	SG_PARSE_FORMAT

#define P_OK	SG_PARSE_OK
#define P_IGN	SG_PARSE_IGNORED
#define P_BAD	SG_PARSE_BAD

struct want {
    const char *name;
    const char *line;
    int     rc;
    const char *qid;
    const char *rcpt;
    int     nrcpt;
    const char *dsn;
    enum sg_dsn_class cls;
    enum sg_mta mta;
    const char *decides;	/* the line parses once this text is whole */
    enum sg_log_format fmt;	/* omitted: syslog */
};

/* Delivery outcomes: what the feed acts on. */
static const struct want good[] = {
    {"postfix sent, syslog prefix, long queue id",
	"Nov 22 14:00:01 mx1 postfix/smtp[2201]: 4bX9Qd2nJzz9sWK: "
	"to=<bob@example.org>, relay=mx.example.org[203.0.113.25]:25, "
	"delay=0.42, delays=0.05/0.01/0.12/0.24, dsn=2.0.0, status=sent "
	"(250 2.0.0 Ok: queued as 4bX9Qf0Lmnz3xyz)",
	P_OK, "4bX9Qd2nJzz9sWK", "bob@example.org", 1, "2.0.0",
    SG_DSN_DELIVERED, SG_MTA_POSTFIX, "status=sent", SYSLOG},
    {"postfix 5.1.1, rsyslog RFC 3339 prefix, short hex queue id",
	"2025-11-22T14:00:02.123456+01:00 mx1 postfix/smtp[2202]: 3F2A81C0E4: "
	"to=<nouser7@isp.example>, relay=mx.isp.example[198.51.100.7]:25, "
	"delay=1.2, delays=0.1/0/0.5/0.6, dsn=5.1.1, status=bounced (host "
	"mx.isp.example[198.51.100.7] said: 550 5.1.1 <nouser7@isp.example>: "
	"Recipient address rejected: User unknown in virtual mailbox table "
	"(in reply to RCPT TO command))",
	P_OK, "3F2A81C0E4", "nouser7@isp.example", 1, "5.1.1",
    SG_DSN_MAILBOX, SG_MTA_POSTFIX, "status=bounced", SYSLOG},
    {"postfix 5.4.4 no such domain",
	"Nov 22 14:00:03 mx1 postfix/smtp[2203]: 4bX9Qd3pKzz9sWL: "
	"to=<x@no-such-domain.example>, relay=none, delay=0.03, "
	"delays=0.01/0/0.02/0, dsn=5.4.4, status=bounced (Host or domain name "
	"not found. Name service error for name=no-such-domain.example "
	"type=AAAA: Host not found)",
	P_OK, "4bX9Qd3pKzz9sWL", "x@no-such-domain.example", 1, "5.4.4",
    SG_DSN_DOMAIN, SG_MTA_POSTFIX, "status=bounced", SYSLOG},
    {"postfix 5.1.2 via relay, journalctl -o json",
	"{\"__CURSOR\":\"s=5f1c;i=1a2b\",\"__REALTIME_TIMESTAMP\":"
	"\"1763816404000000\",\"_TRANSPORT\":\"syslog\",\"PRIORITY\":\"6\","
	"\"SYSLOG_FACILITY\":\"2\",\"SYSLOG_IDENTIFIER\":\"postfix/smtp\","
	"\"SYSLOG_PID\":\"2204\",\"_PID\":\"2204\",\"_COMM\":\"smtp\","
	"\"_SYSTEMD_UNIT\":\"postfix@-.service\",\"MESSAGE\":"
	"\"4bX9Qd4qLzz9sWM: to=<someone@nxdomain.example>, "
	"relay=relay.example[192.0.2.10]:25, delay=0.7, "
	"delays=0.1/0/0.3/0.3, dsn=5.1.2, status=bounced (host "
	"relay.example[192.0.2.10] said: 550 5.1.2 <someone@nxdomain.example>:"
	" Recipient address rejected: Domain not found (in reply to RCPT TO "
	"command))\"}",
	P_OK, "4bX9Qd4qLzz9sWM", "someone@nxdomain.example", 1, "5.1.2",
    SG_DSN_DOMAIN, SG_MTA_POSTFIX, "command))\"}", JOURNAL},
    {"postfix 5.7.1 policy, journalctl short-iso prefix",
	"2025-11-22T14:00:05+0100 mx1 postfix/smtp[2205]: 4bX9Qd5rMzz9sWN: "
	"to=<ceo@bigcorp.example>, relay=mx.bigcorp.example[192.0.2.44]:25, "
	"delay=2.1, delays=0.1/0/0.4/1.6, dsn=5.7.1, status=bounced (host "
	"mx.bigcorp.example[192.0.2.44] said: 554 5.7.1 Service unavailable; "
	"Client host [198.51.100.2] blocked using zen.spamhaus.org (in reply "
	"to RCPT TO command))",
	P_OK, "4bX9Qd5rMzz9sWN", "ceo@bigcorp.example", 1, "5.7.1",
    SG_DSN_POLICY, SG_MTA_POSTFIX, "status=bounced", SYSLOG},
    {"postfix 4.4.1 deferred is not final",
	"Nov 22 14:00:06 mx1 postfix/smtp[2206]: 4bX9Qd6sNzz9sWP: "
	"to=<info@slow.example>, relay=none, delay=30, delays=0.01/0/30/0, "
	"dsn=4.4.1, status=deferred (connect to mx.slow.example"
	"[203.0.113.9]:25: Connection timed out)",
	P_OK, "4bX9Qd6sNzz9sWP", "info@slow.example", 1, "4.4.1",
    SG_DSN_DEFERRED, SG_MTA_POSTFIX, "status=deferred", SYSLOG},
    {"postfix qmgr expiry (the line Postfix really writes)",
	"Nov 27 14:00:07 mx1 postfix/qmgr[1001]: 4bX9Qd6sNzz9sWP: "
	"from=<alice@isp.example>, status=expired, returned to sender",
	P_OK, "4bX9Qd6sNzz9sWP", "", 1, "",
    SG_DSN_EXPIRED, SG_MTA_POSTFIX, "status=expired", SYSLOG},
    {"postfix qmgr expiry of a bounce (null sender)",
	"Nov 27 14:00:07 mx1 postfix/qmgr[1001]: 3F2A81C0F1: from=<>, "
	"status=expired, returned to sender",
	P_OK, "3F2A81C0F1", "", 1, "",
    SG_DSN_EXPIRED, SG_MTA_POSTFIX, "status=expired", SYSLOG},
    {"postfix to= line with status=expired",
	"Nov 27 14:00:08 mx1 postfix/error[2207]: 3F2A81C0E5: "
	"to=<info@slow.example>, relay=none, delay=432000, "
	"delays=432000/0/0/0, dsn=4.4.7, status=expired, returned to sender",
	P_OK, "3F2A81C0E5", "info@slow.example", 1, "4.4.7",
    SG_DSN_EXPIRED, SG_MTA_POSTFIX, "status=expired", SYSLOG},
    {"postfix lmtp with orig_to",
	"Nov 22 14:00:08 mx1 postfix/lmtp[2210]: 4bX9Qd7tPzz9sWQ: "
	"to=<carol@isp.example>, orig_to=<Carol.Smith@isp.example>, "
	"relay=mail.isp.example[private/dovecot-lmtp], delay=0.08, "
	"delays=0.02/0.01/0.01/0.04, dsn=2.0.0, status=sent (250 2.0.0 "
	"<carol@isp.example> X1b2C3d4e5 Saved)",
	P_OK, "4bX9Qd7tPzz9sWQ", "carol@isp.example", 1, "2.0.0",
    SG_DSN_DELIVERED, SG_MTA_POSTFIX, "status=sent", SYSLOG},
    {"postfix local",
	"Nov 22 14:00:09 mx1 postfix/local[2211]: 3F2A81C0E6: "
	"to=<root@mx1.isp.example>, orig_to=<root>, relay=local, delay=0.02,"
	" delays=0.01/0/0/0.01, dsn=2.0.0, status=sent (delivered to mailbox)",
	P_OK, "3F2A81C0E6", "root@mx1.isp.example", 1, "2.0.0",
    SG_DSN_DELIVERED, SG_MTA_POSTFIX, "status=sent", SYSLOG},
    {"postfix virtual 5.2.2 mailbox full",
	"Nov 22 14:00:10 mx1 postfix/virtual[2212]: 3F2A81C0E7: "
	"to=<full@isp.example>, relay=virtual, delay=0.05, "
	"delays=0.02/0/0/0.03, dsn=5.2.2, status=bounced (cannot update "
	"mailbox /var/mail/vhosts/isp.example/full for user full. error "
	"writing message: File too large)",
	P_OK, "3F2A81C0E7", "full@isp.example", 1, "5.2.2",
    SG_DSN_FULL, SG_MTA_POSTFIX, "status=bounced", SYSLOG},
    {"postfix error agent",
	"Nov 22 14:00:11 mx1 postfix/error[2213]: 3F2A81C0E8: "
	"to=<x@blocked.example>, relay=none, delay=0.1, delays=0.1/0/0/0, "
	"dsn=5.0.0, status=bounced (blocked.example: mail for this domain is "
	"not accepted)",
	P_OK, "3F2A81C0E8", "x@blocked.example", 1, "5.0.0",
    SG_DSN_OTHER, SG_MTA_POSTFIX, "status=bounced", SYSLOG},
    {"postfix discard",
	"Nov 22 14:00:12 mx1 postfix/discard[2214]: 3F2A81C0E9: "
	"to=<trap@isp.example>, relay=none, delay=0.01, delays=0.01/0/0/0, "
	"dsn=2.0.0, status=sent (discarded)",
	P_OK, "3F2A81C0E9", "trap@isp.example", 1, "2.0.0",
    SG_DSN_DELIVERED, SG_MTA_POSTFIX, "status=sent", SYSLOG},
    {"postfix qmgr deferral from its own cache",
	"Nov 22 14:00:13 mx1 postfix/qmgr[1001]: 4bX9Qd8vQzz9sWR: "
	"to=<b@slow.example>, relay=none, delay=60, delays=60/0/0/0, "
	"dsn=4.4.1, status=deferred (delivery temporarily suspended: connect"
	" to mx.slow.example[203.0.113.9]:25: Connection timed out)",
	P_OK, "4bX9Qd8vQzz9sWR", "b@slow.example", 1, "4.4.1",
    SG_DSN_DEFERRED, SG_MTA_POSTFIX, "status=deferred", SYSLOG},
    {"postfix RFC 5424 line",
	"<22>1 2025-11-22T14:00:09.000001+00:00 mx1 postfix/smtp 2215 - - "
	"4bX9Qd9wRzz9sWS: to=<dave@example.net>, "
	"relay=mx.example.net[192.0.2.80]:25, delay=0.3, "
	"delays=0.01/0/0.1/0.19, dsn=5.1.1, status=bounced (host "
	"mx.example.net[192.0.2.80] said: 550 5.1.1 User unknown (in reply "
	"to RCPT TO command))",
	P_OK, "4bX9Qd9wRzz9sWS", "dave@example.net", 1, "5.1.1",
    SG_DSN_MAILBOX, SG_MTA_POSTFIX, "status=bounced", RFC5424},
    {"postfix RFC 5424 with structured data",
	"<22>1 2025-11-22T14:00:09Z mx1 postfix/smtp 2215 - "
	"[meta seq=\"1\" x=\"a\\\"]b\"] 4bX9QdAxSzz9sWT: to=<e@example.net>, "
	"relay=none, delay=0.3, delays=0.3/0/0/0, dsn=5.4.4, status=bounced "
	"(Host not found)",
	P_OK, "4bX9QdAxSzz9sWT", "e@example.net", 1, "5.4.4",
    SG_DSN_DOMAIN, SG_MTA_POSTFIX, "status=bounced", RFC5424},
    {"postfix second instance syslog_name",
	"Nov 22 14:00:14 mx1 postfix-out/smtp[2216]: 3F2A81C0EC: "
	"to=<f@example.com>, relay=mx.example.com[192.0.2.90]:25, "
	"conn_use=2, delay=0.2, delays=0/0/0/0.2, dsn=5.7.26, status=bounced"
	" (host mx.example.com[192.0.2.90] said: 550 5.7.26 Unauthenticated "
	"email is not accepted (in reply to end of DATA command))",
	P_OK, "3F2A81C0EC", "f@example.com", 1, "5.7.26",
    SG_DSN_POLICY, SG_MTA_POSTFIX, "status=bounced", SYSLOG},
    {"postfix quoted recipient cannot forge the outcome",
	"Nov 22 14:00:15 mx1 postfix/smtp[2217]: 3F2A81C0EA: "
	"to=<\"x>, dsn=2.0.0, status=sent (y\"@evil.example>, "
	"relay=mx.evil.example[192.0.2.66]:25, delay=0.2, "
	"delays=0.1/0/0.05/0.05, dsn=5.1.1, status=bounced (host "
	"mx.evil.example[192.0.2.66] said: 550 5.1.1 no such user (in reply "
	"to RCPT TO command))",
	P_OK, "3F2A81C0EA", "\"x>, dsn=2.0.0, status=sent (y\"@evil.example",
	1, "5.1.1", SG_DSN_MAILBOX, SG_MTA_POSTFIX,
    "dsn=5.1.1, status=bounced", SYSLOG},
    {"postfix remote text cannot forge the outcome",
	"Nov 22 14:00:16 mx1 postfix/smtp[2218]: 3F2A81C0EB: "
	"to=<g@spam.example>, relay=mx.spam.example[192.0.2.67]:25, "
	"delay=0.2, delays=0.1/0/0.05/0.05, dsn=5.7.1, status=bounced (host "
	"mx.spam.example[192.0.2.67] said: 550 5.7.1 x, dsn=2.0.0, "
	"status=sent (in reply to RCPT TO command))",
	P_OK, "3F2A81C0EB", "g@spam.example", 1, "5.7.1",
    SG_DSN_POLICY, SG_MTA_POSTFIX, "dsn=5.7.1, status=bounced", SYSLOG},
    {"postfix soft_bounce is a deferral",
	"Nov 22 14:00:17 mx1 postfix/smtp[2219]: 3F2A81C0ED: "
	"to=<h@example.org>, relay=mx.example.org[203.0.113.25]:25, "
	"delay=0.4, delays=0/0/0.2/0.2, dsn=5.1.1, status=SOFTBOUNCE (host "
	"mx.example.org[203.0.113.25] said: 550 5.1.1 unknown)",
	P_OK, "3F2A81C0ED", "h@example.org", 1, "5.1.1",
    SG_DSN_DEFERRED, SG_MTA_POSTFIX, "status=SOFTBOUNCE", SYSLOG},
    {"postfix null MX (RFC 7505) is a domain failure",
	"Nov 22 14:00:18 mx1 postfix/smtp[2220]: 3F2A81C0EE: "
	"to=<i@nullmx.example>, relay=none, delay=0.01, delays=0.01/0/0/0, "
	"dsn=5.1.10, status=bounced (Domain nullmx.example does not accept "
	"mail (nullMX))",
	P_OK, "3F2A81C0EE", "i@nullmx.example", 1, "5.1.10",
    SG_DSN_DOMAIN, SG_MTA_POSTFIX, "status=bounced", SYSLOG},
    {"sendmail sent",
	"Nov 22 14:01:01 mx2 sm-mta[12345]: 5AMD0x1a012345: "
	"to=<bob@example.com>, ctladdr=<alice@isp.example> (1000/1000), "
	"delay=00:00:01, xdelay=00:00:01, mailer=relay, pri=30345, "
	"relay=[127.0.0.1] [127.0.0.1], dsn=2.0.0, stat=Sent (Ok: queued as "
	"4bX9Qd2nJzz9sWK)",
	P_OK, "5AMD0x1a012345", "bob@example.com", 1, "2.0.0",
    SG_DSN_DELIVERED, SG_MTA_SENDMAIL, "stat=S", SYSLOG},
    {"sendmail user unknown with reply=",
	"Nov 22 14:01:02 mx2 sm-mta[12346]: 5AMD0x1b012346: "
	"to=<x@y.example>, delay=00:00:02, xdelay=00:00:01, mailer=esmtp, "
	"pri=120345, relay=mx.y.example. [192.0.2.1], dsn=5.1.1, reply=550 "
	"5.1.1 <x@y.example>... User unknown, stat=User unknown",
	P_OK, "5AMD0x1b012346", "x@y.example", 1, "5.1.1",
    SG_DSN_MAILBOX, SG_MTA_SENDMAIL, "stat=U", SYSLOG},
    {"sendmail several recipients on one line",
	"Nov 22 14:01:03 mx2 sm-mta[12347]: 5AMD0x1c012347: "
	"to=<a@x.example>,<b@y.example>,<c@z.example>, delay=00:00:03, "
	"xdelay=00:00:03, mailer=esmtp, pri=150347, relay=mx.x.example. "
	"[192.0.2.2], dsn=5.7.1, stat=Service unavailable",
	P_OK, "5AMD0x1c012347", "a@x.example", 3, "5.7.1",
    SG_DSN_POLICY, SG_MTA_SENDMAIL, "stat=S", SYSLOG},
    {"sendmail recipients without angle brackets",
	"Nov 22 14:01:04 mx2 sendmail[12348]: 5AMD0x1d012348: "
	"to=a@x.example,b@y.example, delay=00:00:00, xdelay=00:00:00, "
	"mailer=esmtp, pri=120348, relay=mx.x.example. [192.0.2.2], "
	"dsn=2.0.0, stat=Sent (OK id=1vB2c3-0004Xy-Zz)",
	P_OK, "5AMD0x1d012348", "a@x.example", 2, "2.0.0",
    SG_DSN_DELIVERED, SG_MTA_SENDMAIL, "stat=S", SYSLOG},
    {"sendmail deferred",
	"Nov 22 14:01:05 mx2 sm-mta[12349]: 5AMD0x1e012349: "
	"to=<info@slow.example>, delay=00:05:00, xdelay=00:05:00, "
	"mailer=esmtp, pri=120349, relay=mx.slow.example., dsn=4.0.0, "
	"stat=Deferred: Connection timed out with mx.slow.example.",
	P_OK, "5AMD0x1e012349", "info@slow.example", 1, "4.0.0",
    SG_DSN_DEFERRED, SG_MTA_SENDMAIL, "stat=D", SYSLOG},
    {"sendmail long list split with [more]",
	"Nov 22 14:01:06 mx2 sm-mta[12350]: 5AMD0x1f012350: "
	"to=<a1@x.example>,<a2@x.example>, [more], delay=00:00:01, "
	"xdelay=00:00:01, mailer=esmtp, pri=150350, relay=mx.x.example. "
	"[192.0.2.2], dsn=5.1.1, stat=User unknown",
	P_OK, "5AMD0x1f012350", "a1@x.example", 2, "5.1.1",
    SG_DSN_MAILBOX, SG_MTA_SENDMAIL, "stat=U", SYSLOG},
    {"sendmail queued without dsn",
	"Nov 22 14:01:07 mx2 sm-mta[12351]: 5AMD0x1g012351: "
	"to=<bob@example.com>, delay=00:00:00, mailer=esmtp, pri=30351, "
	"stat=queued",
	P_OK, "5AMD0x1g012351", "bob@example.com", 1, "",
    SG_DSN_DEFERRED, SG_MTA_SENDMAIL, "stat=queued", SYSLOG},
    {"sendmail local delivery, bare user",
	"Nov 22 14:01:08 mx2 sm-mta[12352]: 5AMD0x1h012352: to=alice, "
	"ctladdr=<alice@isp.example> (1000/1000), delay=00:00:00, "
	"xdelay=00:00:00, mailer=local, pri=30352, dsn=2.0.0, stat=Sent",
	P_OK, "5AMD0x1h012352", "alice", 1, "2.0.0",
    SG_DSN_DELIVERED, SG_MTA_SENDMAIL, "stat=S", SYSLOG},
};

/* A line without a wanted delivery: only the answer matters. */
struct other {
    const char *name;
    const char *line;
    enum sg_log_format fmt;	/* omitted: syslog */
};

/* Lines that are not delivery outcomes. */
static const struct other ignored[] = {
    {"sendmail quarantined by a milter",
	"Nov 22 15:20:01 mail sm-mta[4242]: 5AMFK1a7004242: "
    "to=<friend@remote.example>, delay=00:00:00, mailer=relay, pri=30346, "
    "quarantine=subguard: manual, stat=quarantined", SYSLOG},
    {"qmgr removed",
	"Nov 22 14:00:01 mx1 postfix/qmgr[1001]: 4bX9Qd2nJzz9sWK: removed", SYSLOG},
    {"qmgr from=",
	"Nov 22 14:00:00 mx1 postfix/qmgr[1001]: 4bX9Qd2nJzz9sWK: "
    "from=<alice@isp.example>, size=2345, nrcpt=1 (queue active)", SYSLOG},
    {"cleanup message-id",
	"Nov 22 14:00:00 mx1 postfix/cleanup[2100]: 4bX9Qd2nJzz9sWK: "
    "message-id=<20251122140000.4bX9Qd2nJzz9sWK@isp.example>", SYSLOG},
    {"smtpd connect",
	"Nov 22 14:00:00 mx1 postfix/submission/smtpd[2000]: connect from "
    "client.example[198.51.100.2]", SYSLOG},
    {"smtpd sasl_username",
	"Nov 22 14:00:00 mx1 postfix/submission/smtpd[2000]: 4bX9Qd2nJzz9sWK:"
	" client=client.example[198.51.100.2], sasl_method=PLAIN, "
    "sasl_username=alice@isp.example", SYSLOG},
    {"bounce notification",
	"Nov 22 14:00:02 mx1 postfix/bounce[2300]: 3F2A81C0E4: sender "
    "non-delivery notification: 4bX9QdBxTzz9sWV", SYSLOG},
    {"smtpd NOQUEUE reject has to= but no outcome",
	"Nov 22 14:00:00 mx1 postfix/submission/smtpd[2000]: NOQUEUE: reject:"
	" RCPT from client.example[198.51.100.2]: 550 5.1.1 <x@isp.example>: "
	"Recipient address rejected: User unknown in virtual mailbox table; "
	"from=<alice@isp.example> to=<x@isp.example> proto=ESMTP "
    "helo=<stat.example>", SYSLOG},
    {"cleanup milter-hold",
	"Nov 22 14:00:00 mx1 postfix/cleanup[2101]: 4bX9QdCyVzz9sWW: "
	"milter-hold: END-OF-MESSAGE from client.example[198.51.100.2]: "
	"milter triggers HOLD action; from=<alice@isp.example> "
    "to=<x@example.org> proto=ESMTP helo=<pc>", SYSLOG},
    {"postfix address verification probe",
	"Nov 22 14:00:19 mx1 postfix/smtp[2221]: 3F2A81C0EF: "
	"to=<probe@example.org>, relay=mx.example.org[203.0.113.25]:25, "
	"delay=0.5, delays=0/0/0.3/0.2, dsn=2.1.5, status=deliverable (250 "
    "2.1.5 Ok)", SYSLOG},
    {"sendmail from=",
	"Nov 22 14:01:00 mx2 sm-mta[12345]: 5AMD0x1a012345: "
	"from=<alice@isp.example>, size=1234, class=0, nrcpts=1, "
	"msgid=<1@pc.isp.example>, proto=ESMTPSA, daemon=MSA, "
    "relay=client.example [198.51.100.2]", SYSLOG},
    {"sendmail DSN notice",
	"Nov 22 14:01:02 mx2 sm-mta[12346]: 5AMD0x1b012346: 5AMD0x1i012346: "
    "DSN: User unknown", SYSLOG},
    {"sendmail milter reject",
	"Nov 22 14:01:09 mx2 sm-mta[12360]: 5AMD0x1j012360: Milter: "
    "to=<x@y.example>, reject=550 5.7.1 Command rejected", SYSLOG},
    {"qmgr line that mentions status=expired in its sender",
	"Nov 22 14:00:00 mx1 postfix/qmgr[1001]: 4bX9QdDzWzz9sWX: "
    "from=<\"a, status=expired\"@x.example>, size=1, nrcpt=1 (queue active)", SYSLOG},
    {"empty line", "", SYSLOG},
    {"empty line in RFC 5424", "", RFC5424},
    {"empty line in journal-json", "", JOURNAL},
    {"a line of CRs", "\r\r", SYSLOG},
};

/* Bytes no MTA writes, NULs included; sizeof() is its length. */
static const char junk[] = "\x00\xff\xfe\x01 \x02: \x7f\x80\x81\x00to=\x00"
    "\xc3\x28 ok: \xff\xfe";

/* Lines that look like outcomes and do not parse: counted and sampled. */
static const struct other bad[] = {
    {"cut in the middle of dsn=",
	"Nov 22 14:00:02 mx1 postfix/smtp[2202]: 3F2A81C0E4: "
	"to=<nouser7@isp.example>, relay=mx.isp.example[198.51.100.7]:25, "
    "delay=1.2, delays=0.1/0/0.5/0.6, dsn=5.1", SYSLOG},
    {"a to=< without >",
	"Nov 22 14:00:02 mx1 postfix/smtp[2202]: 3F2A81C0E4: "
	"to=<nouser7@isp.example, relay=none, delay=1, delays=1/0/0/0, "
    "dsn=5.1.1, status=bounced (x)", SYSLOG},
    {"cut inside the status word",
	"Nov 22 14:00:02 mx1 postfix/smtp[2202]: 3F2A81C0E4: "
	"to=<nouser7@isp.example>, relay=none, delay=1, delays=1/0/0/0, "
    "dsn=5.1.1, status=bou", SYSLOG},
    {"cut before dsn=",
	"Nov 22 14:00:02 mx1 postfix/smtp[2202]: 3F2A81C0E4: "
    "to=<nouser7@isp.example>, relay=none, delay=1", SYSLOG},
    {"unknown postfix status word",
	"Nov 22 14:00:02 mx1 postfix/smtp[2202]: 3F2A81C0E4: "
	"to=<nouser7@isp.example>, relay=none, delay=1, delays=1/0/0/0, "
    "dsn=5.1.1, status=vanished (x)", SYSLOG},
    {"malformed dsn",
	"Nov 22 14:00:02 mx1 postfix/smtp[2202]: 3F2A81C0E4: "
	"to=<nouser7@isp.example>, relay=none, delay=1, delays=1/0/0/0, "
    "dsn=6.1.1, status=bounced (x)", SYSLOG},
    {"dsn with a fourth part",
	"Nov 22 14:00:02 mx1 postfix/smtp[2202]: 3F2A81C0E4: "
	"to=<nouser7@isp.example>, relay=none, delay=1, delays=1/0/0/0, "
    "dsn=5.1.1.1, status=bounced (x)", SYSLOG},
    {"unterminated quoted local part",
	"Nov 22 14:00:02 mx1 postfix/smtp[2202]: 3F2A81C0E4: "
	"to=<\"abc@x.example>, relay=none, delay=1, delays=1/0/0/0, "
    "dsn=5.1.1, status=bounced (x)", SYSLOG},
    {"queue id too long",
	"Nov 22 14:00:02 mx1 postfix/smtp[2202]: "
	"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789: to=<a@b.example>, relay=none,"
    " delay=1, delays=1/0/0/0, dsn=5.1.1, status=bounced (x)", SYSLOG},
    {"sendmail cut before stat=",
	"Nov 22 14:01:02 mx2 sm-mta[12346]: 5AMD0x1b012346: "
	"to=<x@y.example>, delay=00:00:02, xdelay=00:00:01, mailer=esmtp, "
    "pri=120345, relay=mx.y.example. [192.0.2.1], dsn=5.1.1", SYSLOG},
    {"sendmail list cut after a comma",
    "Nov 22 14:01:03 mx2 sm-mta[12347]: 5AMD0x1c012347: to=<a@x.example>,", SYSLOG},
};


/* Journal records that name a Postfix agent they do not come from. */
static const struct other bad_journal[] = {
    {"_COMM is not the agent (logger -t postfix/smtp)",
	"{\"SYSLOG_IDENTIFIER\":\"postfix/smtp\",\"_COMM\":\"logger\","
	"\"MESSAGE\":\"3F2A81C0E4: to=<a@b.example>, relay=none, delay=1, "
    "delays=1/0/0/0, dsn=5.1.1, status=bounced (x)\"}", JOURNAL},
};

/* Lines not of the format read: nothing in them is looked at. */
static const struct other foreign[] = {
    {"short line", "to=", SYSLOG},
    {"mangled prefix, outcome present",
	"Nov 22 14:00:02 mx1 postfix/smtp[2202] 3F2A81C0E4 to=<a@b.example>, "
    "dsn=5.1.1, status=bounced (x)", SYSLOG},
    {"journalctl -o cat: the message alone, read as syslog",
	"3F2A81C0E4: to=<a@b.example>, relay=none, delay=1, delays=1/0/0/0, "
    "dsn=5.1.1, status=bounced (x)", SYSLOG},
    {"journalctl -o cat: the message alone, read as journal-json",
	"3F2A81C0E4: to=<a@b.example>, relay=none, delay=1, delays=1/0/0/0, "
    "dsn=5.1.1, status=bounced (x)", JOURNAL},
    {"journalctl -o cat: the message alone, read as RFC 5424",
	"3F2A81C0E4: to=<a@b.example>, relay=none, delay=1, delays=1/0/0/0, "
    "dsn=5.1.1, status=bounced (x)", RFC5424},
    {"syslog line read as RFC 5424",
	"Nov 22 14:00:02 mx1 postfix/smtp[2202]: 3F2A81C0E4: "
	"to=<a@b.example>, relay=none, delay=1, delays=1/0/0/0, dsn=5.1.1, "
    "status=bounced (x)", RFC5424},
    {"syslog line read as journal-json",
	"Nov 22 14:00:02 mx1 postfix/smtp[2202]: 3F2A81C0E4: "
	"to=<a@b.example>, relay=none, delay=1, delays=1/0/0/0, dsn=5.1.1, "
    "status=bounced (x)", JOURNAL},
    {"RFC 5424 line read as syslog",
	"<22>1 2025-11-22T14:00:09Z mx1 postfix/smtp 2215 - - 3F2A81C0E4: "
	"to=<a@b.example>, relay=none, delay=1, delays=1/0/0/0, dsn=5.1.1, "
    "status=bounced (x)", SYSLOG},
    {"journal line read as syslog",
	"{\"SYSLOG_IDENTIFIER\":\"postfix/smtp\",\"MESSAGE\":\"3F2A81C0E4: "
	"to=<a@b.example>, relay=none, delay=1, delays=1/0/0/0, dsn=5.1.1, "
    "status=bounced (x)\"}", SYSLOG},
    {"journal line cut short",
	"{\"SYSLOG_IDENTIFIER\":\"postfix/smtp\",\"MESSAGE\":\"3F2A81C0E4: "
    "to=<a@b.example>, dsn=5.1.1, status=bounced (x)", JOURNAL},
    {"two journal objects on one line",
	"{\"SYSLOG_IDENTIFIER\":\"postfix/smtpd\"}{\"SYSLOG_IDENTIFIER\":"
	"\"postfix/smtp\",\"MESSAGE\":\"3F2A81C0E4: to=<a@b.example>, "
    "dsn=5.1.1, status=bounced (x)\"}", JOURNAL},
    {"journal line not JSON",
	"{SYSLOG_IDENTIFIER=postfix/smtp MESSAGE=3F2A81C0E4: to=<a@b.example>, "
    "dsn=5.1.1, status=bounced (x)}", JOURNAL},
    {"RFC 5424 PRI above 191",
	"<192>1 2025-11-22T14:00:09Z mx1 postfix/smtp 2215 - - 3F2A81C0E4: "
	"to=<a@b.example>, relay=none, delay=1, delays=1/0/0/0, dsn=5.1.1, "
    "status=bounced (x)", RFC5424},
    {"RFC 5424 version 0",
	"<22>0 2025-11-22T14:00:09Z mx1 postfix/smtp 2215 - - 3F2A81C0E4: "
	"to=<a@b.example>, relay=none, delay=1, delays=1/0/0/0, dsn=5.1.1, "
    "status=bounced (x)", RFC5424},
    {"RFC 5424 without structured data",
	"<22>1 2025-11-22T14:00:09Z mx1 postfix/smtp 2215 - 3F2A81C0E4: "
	"to=<a@b.example>, relay=none, delay=1, delays=1/0/0/0, dsn=5.1.1, "
    "status=bounced (x)", RFC5424},
    {"syslog line with an unknown month",
	"Nvm 22 14:00:02 mx1 postfix/smtp[2202]: 3F2A81C0E4: "
	"to=<a@b.example>, relay=none, delay=1, delays=1/0/0/0, dsn=5.1.1, "
    "status=bounced (x)", SYSLOG},
    {"syslog line without a space after the tag's colon",
	"Nov 22 14:00:02 mx1 postfix/smtp[2202]:3F2A81C0E4: "
	"to=<a@b.example>, relay=none, delay=1, delays=1/0/0/0, dsn=5.1.1, "
    "status=bounced (x)", SYSLOG},
    {"syslog line with a letter in the pid",
	"Nov 22 14:00:02 mx1 postfix/smtp[22x]: 3F2A81C0E4: "
	"to=<a@b.example>, relay=none, delay=1, delays=1/0/0/0, dsn=5.1.1, "
    "status=bounced (x)", SYSLOG},
    {"RFC 3339 time without a zone",
	"2025-11-22T14:00:02.123456 mx1 postfix/smtp[2202]: 3F2A81C0E4: "
	"to=<a@b.example>, relay=none, delay=1, delays=1/0/0/0, dsn=5.1.1, "
    "status=bounced (x)", SYSLOG},
};

/* exact - a heap copy of n bytes of s with nothing after it */
static char *exact(const char *s, size_t n)
{
    char   *p = malloc(n ? n : 1);

    assert_non_null(p);
    memcpy(p, s, n);
    return (p);
}

/* source - a log source of format fmt for Postfix syslog_names names */
static const struct sg_logsource *source(enum sg_log_format fmt,
					         const char *names)
{
    static struct sg_logsource src;
    char    err[200];

    if (sg_logsource_init(&src, sg_log_format_name(fmt), names, err,
			  sizeof(err)) < 0)
	fail_msg("sg_logsource_init(%s, %s): %s", sg_log_format_name(fmt),
		 names ? names : "NULL", err);
    return (&src);
}

/* parse_src - sg_logparse on the first n bytes of s, from an exact copy */
static int parse_src(const struct sg_logsource *src, const char *s,
		             size_t n, struct sg_delivery *d)
{
    char   *p = exact(s, n);
    int     rc;

    memset(d, 0x5a, sizeof(*d));		/* no stale field passes */
    rc = sg_logparse(src, p, n, d);
    free(p);
    return (rc);
}

/*
 * parse_n - the same in format fmt, for a Postfix with two instances
 * (test_instances has the default, "postfix" alone)
 */
static int parse_n(enum sg_log_format fmt, const char *s, size_t n,
		           struct sg_delivery *d)
{
    return (parse_src(source(fmt, "postfix, postfix-out"), s, n, d));
}

/* check - one table entry */
static void check(const struct want *w, size_t len)
{
    struct sg_delivery d;
    int     rc = parse_n(w->fmt, w->line, len, &d);

    if (rc != w->rc)
	fail_msg("%s: rc %d, want %d", w->name, rc, w->rc);
    if (rc != P_OK) {
	assert_string_equal(d.qid, "");
	return;
    }
    assert_string_equal(d.qid, w->qid);
    assert_string_equal(d.rcpt, w->rcpt);
    assert_int_equal(d.nrcpt, w->nrcpt);
    assert_string_equal(d.dsn, w->dsn);
    if (d.cls != w->cls)
	fail_msg("%s: class %s, want %s", w->name, sg_dsn_class_name(d.cls),
		 sg_dsn_class_name(w->cls));
    assert_int_equal(d.mta, w->mta);
}

/* check_others - every line of a table gives rc */
static void check_others(const struct other *o, size_t n, int rc)
{
    size_t  i;
    struct want w;

    memset(&w, 0, sizeof(w));
    w.rc = rc;
    for (i = 0; i < n; i++) {
	w.name = o[i].name;
	w.line = o[i].line;
	w.fmt = o[i].fmt;
	check(&w, strlen(w.line));
    }
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* test_good - delivery outcomes of both MTAs */
static void test_good(void **state)
{
    size_t  i;

    (void) state;
    for (i = 0; i < NELEM(good); i++)
	check(&good[i], strlen(good[i].line));
}

/* test_ignored - everything else in a mail log */
static void test_ignored(void **state)
{
    (void) state;
    check_others(ignored, NELEM(ignored), P_IGN);
}

/* test_bad - look like outcomes, do not parse */
static void test_bad(void **state)
{
    (void) state;
    check_others(bad, NELEM(bad), P_BAD);
    check_others(bad_journal, NELEM(bad_journal), P_BAD);
}

/* test_foreign - not of the format read: nothing in them counts */
static void test_foreign(void **state)
{
    struct want w;
    int     f;

    (void) state;
    check_others(foreign, NELEM(foreign), P_FMT);
    memset(&w, 0, sizeof(w));
    w.rc = P_FMT;
    w.name = "binary junk";
    w.line = junk;
    for (f = SYSLOG; f <= JOURNAL; f++) {
	w.fmt = (enum sg_log_format) f;
	check(&w, sizeof(junk) - 1);
    }
}

 /*
  * Records as the MTA's programs write them, rendered in every format
  * the feed reads: program, message, what must come of it.
  */
struct rec {
    const char *name;
    const char *prog;		/* SYSLOG_IDENTIFIER, APP-NAME, tag */
    const char *msg;
    int     rc;
    const char *qid;		/* when rc is P_OK */
    enum sg_dsn_class cls;
};

#define BOUNCE_TAIL "relay=mx.x.example[192.0.2.9]:25, delay=0.2, " \
    "delays=0.1/0/0.05/0.05, dsn=5.1.1, status=bounced (host " \
    "mx.x.example[192.0.2.9] said: 550 5.1.1 no such user (in reply to " \
    "RCPT TO command))"
#define FORGED ": to=<a@b.example>, dsn=5.1.1, status=bounced (x)"

/* The attacks: none of these may count against VICTIMQID. */
static const struct rec forged[] = {
    {"client bytes in smtpd's pipelining complaint", "postfix/smtpd",
	"improper command pipelining after CONNECT from "
    "unknown[198.51.100.9]: VICTIMQID" FORGED, P_IGN, 0, SG_DSN_NONE},
    {"the same from the submission smtpd", "postfix/submission/smtpd",
	"improper command pipelining after CONNECT from "
    "unknown[198.51.100.9]: VICTIMQID" FORGED, P_IGN, 0, SG_DSN_NONE},
    {"client bytes as the whole smtpd message", "postfix/smtpd",
    "VICTIMQID" FORGED, P_IGN, 0, SG_DSN_NONE},
    {"a fake program prefix in smtpd's message", "postfix/smtpd",
	"improper command pipelining after CONNECT from "
    "unknown[198.51.100.9]: mx1 postfix/smtp[99]: VICTIMQID" FORGED, P_IGN, 0, SG_DSN_NONE},
    {"a message starting with a fake program prefix", "postfix/smtpd",
    "postfix/smtp[99]: VICTIMQID" FORGED, P_IGN, 0, SG_DSN_NONE},
    {"a fake syslog header in smtpd's message", "postfix/smtpd",
	"improper command pipelining after CONNECT from unknown[198.51.100.9]:"
    " Nov 22 14:00:02 mx1 postfix/smtp[99]: VICTIMQID" FORGED, P_IGN, 0, SG_DSN_NONE},
    {"a fake program prefix in an agent's message", "postfix/smtp",
    "postfix/smtp[99]: VICTIMQID" FORGED, P_IGN, 0, SG_DSN_NONE},
    {"client text in a recipient of smtpd's reject", "postfix/smtpd",
	"NOQUEUE: reject: RCPT from unknown[198.51.100.9]: 550 5.1.1 "
	"<\"VICTIMQID: to=<a@b.example>, dsn=5.1.1, status=bounced\"@x.example>"
	": Recipient address rejected; from=<s@x.example> "
	"to=<\"VICTIMQID: to=<a@b.example>, dsn=5.1.1, status=bounced\"@x.example>"
    " proto=ESMTP helo=<x>", P_IGN, 0, SG_DSN_NONE},
    {"client text in a recipient of cleanup's milter-reject",
	"postfix/cleanup", "4bX9QdCyVzz9sWW: milter-reject: END-OF-MESSAGE "
	"from unknown[198.51.100.9]: 5.7.1 no; from=<s@x.example> "
	"to=<VICTIMQID: to=<a@b.example>, dsn=5.1.1, status=bounced> "
    "proto=ESMTP helo=<x>", P_IGN, 0, SG_DSN_NONE},
    {"client text in a quoted recipient of a delivery", "postfix/smtp",
	"3F2A81C0EA: to=<\"VICTIMQID: to=<a@b.example>, dsn=5.1.1, "
	"status=bounced (x)\"@x.example>, relay=mx.x.example[192.0.2.9]:25, "
	"delay=0.2, delays=0.1/0/0.05/0.05, dsn=2.0.0, status=sent (250 2.0.0 "
    "Ok)", P_OK, "3F2A81C0EA", SG_DSN_DELIVERED},
    {"a remote server's reply in a delivery", "postfix/smtp",
	"3F2A81C0EB: to=<g@x.example>, relay=mx.x.example[192.0.2.9]:25, "
	"delay=0.2, delays=0.1/0/0.05/0.05, dsn=2.0.0, status=sent (250 2.0.0 "
	"Ok VICTIMQID: to=<a@b.example>, dsn=5.1.1, status=bounced (x))",
    P_OK, "3F2A81C0EB", SG_DSN_DELIVERED},
    {"a remote server's reply in a deferral", "postfix/smtp",
	"3F2A81C0EC: to=<g@x.example>, relay=mx.x.example[192.0.2.9]:25, "
	"delay=0.2, delays=0.1/0/0.05/0.05, dsn=4.0.0, status=deferred (host "
	"mx.x.example[192.0.2.9] said: 450 VICTIMQID" FORGED " (in reply to "
    "RCPT TO command))", P_OK, "3F2A81C0EC", SG_DSN_DEFERRED},
    {"a remote server's reply in an agent's other message", "postfix/smtp",
	"3F2A81C0ED: host mx.x.example[192.0.2.9] said: 451 VICTIMQID" FORGED
    " (in reply to MAIL FROM command)", P_IGN, 0, SG_DSN_NONE},
    {"a remote server's greeting refused", "postfix/smtp",
	"3F2A81C0EE: host mx.x.example[192.0.2.9] refused to talk to me: 554 "
    "VICTIMQID" FORGED, P_IGN, 0, SG_DSN_NONE},
    {"an agent's warning", "postfix/smtp",
    "warning: VICTIMQID" FORGED, P_IGN, 0, SG_DSN_NONE},
    {"a sender's text in qmgr's from= line", "postfix/qmgr",
	"3F2A81C0EF: from=<\"VICTIMQID: to=<a@b.example>, dsn=5.1.1, "
    "status=bounced\"@x.example>, size=1, nrcpt=1 (queue active)", P_IGN, 0, SG_DSN_NONE},
    {"an expiry from a program that is not qmgr", "postfix/cleanup",
	"VICTIMQID: from=<s@x.example>, status=expired, returned to sender",
    P_IGN, 0, SG_DSN_NONE},
    {"anvil", "postfix/anvil", "VICTIMQID" FORGED, P_IGN, 0, SG_DSN_NONE},
    {"the bounce daemon", "postfix/bounce", "VICTIMQID" FORGED, P_IGN, 0, SG_DSN_NONE},
    {"an instance not configured", "postfix-evil/smtp",
    "VICTIMQID: to=<a@b.example>, " BOUNCE_TAIL, P_IGN, 0, SG_DSN_NONE},
    {"a name that only starts like the configured one", "postfixx/smtp",
    "VICTIMQID: to=<a@b.example>, " BOUNCE_TAIL, P_IGN, 0, SG_DSN_NONE},
    {"the configured name further down", "evil/postfix/smtp",
    "VICTIMQID: to=<a@b.example>, " BOUNCE_TAIL, P_IGN, 0, SG_DSN_NONE},
    {"an agent name only starting like one", "postfix/smtpx",
    "VICTIMQID: to=<a@b.example>, " BOUNCE_TAIL, P_IGN, 0, SG_DSN_NONE},
    {"Sendmail's client queue runner", "sm-msp-queue",
	"VICTIMQID: to=<a@b.example>, delay=00:00:01, mailer=relay, "
    "pri=1, relay=[127.0.0.1], dsn=5.1.1, stat=User unknown", P_IGN, 0, SG_DSN_NONE},
    {"a program named like Sendmail's with a slash", "x/sendmail",
	"VICTIMQID: to=<a@b.example>, delay=00:00:01, mailer=relay, "
    "pri=1, relay=[127.0.0.1], dsn=5.1.1, stat=User unknown", P_IGN, 0, SG_DSN_NONE},
};

/* The real thing, in every format: these must count. */
static const struct rec real[] = {
    {"postfix smtp bounce", "postfix/smtp",
	"3F2A81C0E4: to=<nouser@x.example>, " BOUNCE_TAIL,
    P_OK, "3F2A81C0E4", SG_DSN_MAILBOX},
    {"postfix lmtp bounce under a sub-name", "postfix/relay/lmtp",
	"3F2A81C0E5: to=<nouser@x.example>, " BOUNCE_TAIL,
    P_OK, "3F2A81C0E5", SG_DSN_MAILBOX},
    {"postfix pipe bounce", "postfix/pipe",
	"3F2A81C0E6: to=<nouser@x.example>, relay=filter, delay=0.2, "
	"delays=0.1/0/0/0.1, dsn=5.3.0, status=bounced (Command died with "
    "status 1)", P_OK, "3F2A81C0E6", SG_DSN_OTHER},
    {"postfix qmgr's own bounce", "postfix/qmgr",
	"3F2A81C0E7: to=<x@x.example>, relay=none, delay=0, delays=0/0/0/0, "
	"dsn=5.1.3, status=bounced (bad address syntax)",
    P_OK, "3F2A81C0E7", SG_DSN_MAILBOX},
    {"postfix expiry, plain sender", "postfix/qmgr",
	"4bX9Qd6sNzz9sWP: from=<alice@isp.example>, status=expired, returned "
    "to sender", P_OK, "4bX9Qd6sNzz9sWP", SG_DSN_EXPIRED},
    {"postfix expiry, \" to=\" in the quoted sender", "postfix/qmgr",
	"4bX9Qd6sNzz9sWQ: from=<\"x to=y\"@spam.example>, status=expired, "
    "returned to sender", P_OK, "4bX9Qd6sNzz9sWQ", SG_DSN_EXPIRED},
    {"postfix expiry, a whole fake record in the quoted sender",
	"postfix/qmgr", "4bX9Qd6sNzz9sWR: from=<\"a to=<b@c>, dsn=5.1.1, "
	"status=bounced\\\" x\"@spam.example>, status=expired, returned to "
    "sender", P_OK, "4bX9Qd6sNzz9sWR", SG_DSN_EXPIRED},
    {"sendmail bounce", "sm-mta",
	"5AMD0x1b012346: to=<x@y.example>, delay=00:00:02, xdelay=00:00:01, "
	"mailer=esmtp, pri=120345, relay=mx.y.example. [192.0.2.1], "
	"dsn=5.1.1, reply=550 5.1.1 <x@y.example>... User unknown, stat=User "
    "unknown", P_OK, "5AMD0x1b012346", SG_DSN_MAILBOX},
    {"sendmail (its own name) bounce", "sendmail",
	"5AMD0x1b012347: to=<x@y.example>, delay=00:00:02, mailer=esmtp, "
	"pri=120345, relay=mx.y.example. [192.0.2.1], dsn=5.7.1, "
    "stat=Service unavailable", P_OK, "5AMD0x1b012347", SG_DSN_POLICY},
};

/* json_str - s as a JSON string the way journalctl writes it */
static void json_str(char *buf, size_t size, const char *s)
{
    size_t  n = 0;

    buf[n++] = '"';
    for (; *s && n + 8 < size; s++) {
	if (*s == '"' || *s == '\\') {
	    buf[n++] = '\\';
	    buf[n++] = *s;
	} else if ((unsigned char) *s < 0x20)
	    n += (size_t) snprintf(buf + n, size - n, "\\u%04x",
				   (unsigned char) *s);
	else
	    buf[n++] = *s;
    }
    assert_true(*s == 0);
    buf[n++] = '"';
    buf[n] = 0;
}

 /*
  * render - record r as fmt writes it: 0 syslog, 1 syslog with RFC 3339
  * time, 2 RFC 5424, 3 journal-json. The format to read it in: *f.
  */
static void render(const struct rec *r, int how, char *buf, size_t size,
		           enum sg_log_format *f)
{
    char    p[256], m[2048], c[64];
    const char *agent = strrchr(r->prog, '/');

    agent = agent ? agent + 1 : r->prog;
    switch (how) {
    case 0:
	snprintf(buf, size, "Nov  2 14:00:02 mx1 %s[2202]: %s", r->prog,
		 r->msg);
	*f = SYSLOG;
	break;
    case 1:
	snprintf(buf, size, "2025-11-22T14:00:02.123456+01:00 mx1 %s[2202]: "
		 "%s", r->prog, r->msg);
	*f = SYSLOG;
	break;
    case 2:
	snprintf(buf, size, "<22>1 2025-11-22T14:00:02.123456+01:00 mx1 %s "
		 "2202 - - %s", r->prog, r->msg);
	*f = RFC5424;
	break;
    default:
	json_str(p, sizeof(p), r->prog);
	json_str(m, sizeof(m), r->msg);
	json_str(c, sizeof(c), strcmp(agent, "sm-mta") == 0 ? "sendmail-mta"
		 : agent);
	snprintf(buf, size, "{\"__CURSOR\":\"s=1;i=2\",\"_TRANSPORT\":"
		 "\"syslog\",\"SYSLOG_IDENTIFIER\":%s,\"SYSLOG_PID\":\"2202\","
		 "\"_PID\":\"2202\",\"_COMM\":%s,\"MESSAGE\":%s}", p, c, m);
	*f = JOURNAL;
	break;
    }
}

/*
 * fields - record r as subguard-feed -J hands it over: the journal's
 * SYSLOG_IDENTIFIER, MESSAGE and _COMM apart (sg_logparse_fields())
 */
static int fields(const struct rec *r, char *line, size_t size,
		          struct sg_delivery *d)
{
    const char *agent = strrchr(r->prog, '/');

    agent = agent ? agent + 1 : r->prog;
    if (strcmp(agent, "sm-mta") == 0)
	agent = "sendmail-mta";
    snprintf(line, size, "%s|%s|%s", r->prog, agent, r->msg);
    return (sg_logparse_fields(source(JOURNAL, "postfix, postfix-out"), r->prog, strlen(r->prog), r->msg,
			       strlen(r->msg), agent, strlen(agent), d));
}

/* check_recs - every record in every format, and as sd-journal fields */
static void check_recs(const struct rec *r, size_t n)
{
    static const char *const how_name[] = {
	"syslog", "syslog RFC 3339", "RFC 5424", "journal-json",
	"sd-journal fields",
    };
    char    line[4096];
    struct sg_delivery d;
    enum sg_log_format f;
    size_t  i;
    int     how, rc;

    for (i = 0; i < n; i++) {
	for (how = 0; how < 5; how++) {
	    if (how == 4) {
		rc = fields(r + i, line, sizeof(line), &d);
	    } else {
		render(r + i, how, line, sizeof(line), &f);
		rc = parse_n(f, line, strlen(line), &d);
	    }
	    if (rc != r[i].rc)
		fail_msg("%s, %s: rc %d, want %d: %s", r[i].name,
			 how_name[how], rc, r[i].rc, line);
	    if (rc != P_OK) {
		assert_string_equal(d.qid, "");
		continue;
	    }
	    if (strcmp(d.qid, r[i].qid) != 0 || d.cls != r[i].cls)
		fail_msg("%s, %s: %s %s, want %s %s", r[i].name, how_name[how],
			 d.qid, sg_dsn_class_name(d.cls), r[i].qid,
			 sg_dsn_class_name(r[i].cls));
	}
    }
}

/* test_forged - what clients and remote servers write counts nothing */
static void test_forged(void **state)
{
    struct sg_delivery d;
    const char *m = real[0].msg;

    (void) state;
    check_recs(forged, NELEM(forged));
    /* -J: _COMM not the agent named (logger -t postfix/smtp), or absent */
    assert_int_equal(sg_logparse_fields(source(JOURNAL, "postfix"),
					"postfix/smtp", 12, m, strlen(m),
					"logger", 6, &d), P_BAD);
    assert_string_equal(d.qid, "");
    assert_int_equal(sg_logparse_fields(source(JOURNAL, "postfix"),
					"postfix/smtp", 12, m, strlen(m),
					"smtp", 4, &d), P_OK);
}

/* test_real - the real outcomes count in every format */
static void test_real(void **state)
{
    (void) state;
    check_recs(real, NELEM(real));
}

/*
 * test_instances - Postfix syslog_names: only the configured ones, each
 * also as NAME/anything/AGENT.
 */
static void test_instances(void **state)
{
    static const struct {
	const char *names, *prog;
	int     rc;
    } t[] = {
	{"postfix", "postfix/smtp", P_OK},
	{"postfix", "postfix/submission/smtp", P_OK},
	{"postfix", "postfix-out/smtp", P_IGN},
	{"postfix", "postfix", P_IGN},
	{"postfix", "smtp", P_IGN},
	{"postfix", "/smtp", P_IGN},
	{"postfix, postfix-out", "postfix-out/smtp", P_OK},
	{"postfix,postfix-out", "postfix-out/lmtp", P_OK},
	{"postfix postfix-out", "postfix-out/error", P_OK},
	{"postfix-out", "postfix/smtp", P_IGN},
	{"postfix-out", "postfix-out/relay/smtp", P_OK},
	{"mta/out", "mta/out/smtp", P_OK},
	{"mta/out", "mta/smtp", P_IGN},
	{"mta/out", "mta/outer/smtp", P_IGN},
    };
    static const char msg[] = "3F2A81C0E4: to=<nouser@x.example>, "
	BOUNCE_TAIL;
    char    line[1024];
    struct sg_delivery d;
    size_t  i;
    int     rc;

    (void) state;
    for (i = 0; i < NELEM(t); i++) {
	snprintf(line, sizeof(line), "Nov 22 14:00:02 mx1 %s[1]: %s",
		 t[i].prog, msg);
	rc = parse_src(source(SYSLOG, t[i].names), line, strlen(line), &d);
	if (rc != t[i].rc)
	    fail_msg("names \"%s\", program %s: rc %d, want %d", t[i].names,
		     t[i].prog, rc, t[i].rc);
    }
}

/* test_journal_fields - the journal's values as journalctl writes them */
static void test_journal_fields(void **state)
{
    static const struct other ok[] = {
	{"MESSAGE as an array of bytes (not printable UTF-8)",
	    "{\"SYSLOG_IDENTIFIER\":\"postfix/smtp\",\"MESSAGE\":[51,70,50,"
	    "65,58,32,116,111,61,60,97,64,98,62,44,32,100,115,110,61,53,46,49,"
	"46,49,44,32,115,116,97,116,117,115,61,98,111,117,110,99,101,100]}", JOURNAL},
	{"no _COMM (a journal from elsewhere)",
	    "{\"SYSLOG_IDENTIFIER\":\"postfix/smtp\",\"MESSAGE\":\"3F2E: "
	"to=<a@b>, dsn=5.1.1, status=bounced (x)\"}", JOURNAL},
	{"keys in another order, spaces between tokens",
	    "{ \"MESSAGE\" : \"3F2E: to=<a@b>, dsn=5.1.1, status=bounced (x)\""
	" , \"_COMM\" : \"smtp\" , \"SYSLOG_IDENTIFIER\" : \"postfix/smtp\" }",
	JOURNAL},
    };
    static const struct other ign[] = {
	{"no SYSLOG_IDENTIFIER (not a syslog record)",
	    "{\"_COMM\":\"smtp\",\"MESSAGE\":\"3F2E: to=<a@b>, dsn=5.1.1, "
	"status=bounced (x)\"}", JOURNAL},
	{"SYSLOG_IDENTIFIER with two values",
	    "{\"SYSLOG_IDENTIFIER\":[\"postfix/smtpd\",\"postfix/smtp\"],"
	"\"MESSAGE\":\"3F2E: to=<a@b>, dsn=5.1.1, status=bounced (x)\"}", JOURNAL},
	{"MESSAGE with two values",
	    "{\"SYSLOG_IDENTIFIER\":\"postfix/smtp\",\"MESSAGE\":[\"x\","
	"\"3F2E: to=<a@b>, dsn=5.1.1, status=bounced (x)\"]}", JOURNAL},
	{"MESSAGE null (too long for journalctl without --all)",
	    "{\"SYSLOG_IDENTIFIER\":\"postfix/smtp\",\"MESSAGE\":null,"
	"\"X\":\" to=\"}", JOURNAL},
	{"a byte out of range in a MESSAGE array",
	    "{\"SYSLOG_IDENTIFIER\":\"postfix/smtp\",\"MESSAGE\":[51,256],"
	"\"X\":\" to=\"}", JOURNAL},
	{"the program in _COMM only",
	    "{\"_COMM\":\"smtp\",\"SYSLOG_IDENTIFIER\":\"postfix/smtpd\","
	"\"MESSAGE\":\"3F2E: to=<a@b>, dsn=5.1.1, status=bounced (x)\"}", JOURNAL},
	{"no quick-reject text",
	    "{\"SYSLOG_IDENTIFIER\":\"postfix/smtp\",\"MESSAGE\":\"3F2E: "
	"removed\"}", JOURNAL},
    };
    struct sg_delivery d;
    size_t  i;
    int     rc;

    (void) state;
    for (i = 0; i < NELEM(ok); i++) {
	rc = parse_n(JOURNAL, ok[i].line, strlen(ok[i].line), &d);
	if (rc != P_OK)
	    fail_msg("%s: rc %d", ok[i].name, rc);
	assert_int_equal(d.cls, SG_DSN_MAILBOX);
    }
    assert_string_equal(d.qid, "3F2E");
    for (i = 0; i < NELEM(ign); i++) {
	rc = parse_n(JOURNAL, ign[i].line, strlen(ign[i].line), &d);
	if (rc != P_IGN)
	    fail_msg("%s: rc %d, want ignored", ign[i].name, rc);
    }
}

/* test_logsource - format words and syslog_name lists, good and bad */
static void test_logsource(void **state)
{
    static const struct {
	const char *format, *names, *err;
	int     n;
    } t[] = {
	{"syslog", 0, 0, 1},
	{"rfc5424", "postfix", 0, 1},
	{"journal-json", " postfix ,postfix-out\tpostfix/x ", 0, 3},
	{"cat", "postfix", "log format \"cat\": want syslog, rfc5424 or "
	"journal-json", 0},
	{"", "postfix", "log format \"\": want syslog, rfc5424 or "
	"journal-json", 0},
	{"Syslog", "postfix", "log format \"Syslog\": want syslog, rfc5424 or "
	"journal-json", 0},
	{"syslog", "", "syslog names: none given", 0},
	{"syslog", " , ", "syslog names: none given", 0},
	{"syslog", "post;fix", "syslog name \"post;fix\": want letters, "
	"digits, \".\", \"_\", \"-\" and \"/\"", 0},
	{"syslog", "/postfix", "syslog name \"/postfix\": a \"/\" at its "
	"start or end, or two in a row", 0},
	{"syslog", "postfix/", "syslog name \"postfix/\": a \"/\" at its "
	"start or end, or two in a row", 0},
	{"syslog", "a//b", "syslog name \"a//b\": a \"/\" at its start or "
	"end, or two in a row", 0},
	{"syslog", "a b c d e f g h i j k l m n o p q", "syslog names: more "
	"than 16 (at \"q\")", 0},
	{"syslog", "x123456789012345678901234567890123456789012345678901234"
	    "5678901234", "syslog name \"x12345678901234567890123456789012345"
	"6789...\": longer than 63 bytes", 0},
    };
    struct sg_logsource src;
    char    err[200];
    size_t  i;
    int     rc;

    (void) state;
    for (i = 0; i < NELEM(t); i++) {
	err[0] = 0;
	rc = sg_logsource_init(&src, t[i].format, t[i].names, err,
			       sizeof(err));
	if (t[i].err == 0) {
	    if (rc != 0)
		fail_msg("%s %s: %s", t[i].format, t[i].names, err);
	    assert_int_equal(src.nnames, t[i].n);
	    assert_string_equal(sg_log_format_name(src.format), t[i].format);
	} else {
	    assert_int_equal(rc, -1);
	    assert_string_equal(err, t[i].err);
	}
    }
    assert_int_equal(sg_logsource_init(&src, "journal-json",
				       " postfix ,postfix-out\tpostfix/x ",
				       err, sizeof(err)), 0);
    assert_string_equal(src.names[0], "postfix");
    assert_string_equal(src.names[1], "postfix-out");
    assert_string_equal(src.names[2], "postfix/x");
    assert_int_equal(src.format, JOURNAL);
    assert_string_equal(sg_log_format_name((enum sg_log_format) 7),
			"unknown");
}

/*
 * test_len - len is the end, whatever follows it in memory. The same
 * buffer parses differently with different lengths; bytes after len that
 * would complete the line must not be seen.
 */
static void test_len(void **state)
{
    static const char line[] =
	"Nov 22 14:00:02 mx1 postfix/smtp[2202]: 3F2A81C0E4: "
	"to=<nouser7@isp.example>, relay=none, delay=1, delays=1/0/0/0, "
	"dsn=5.1.1, status=bounced (host said: 550 5.1.1 unknown)";
    static const char json[] =
	"{\"SYSLOG_IDENTIFIER\":\"postfix/smtp\",\"MESSAGE\":\"3F2A81C0E4: "
	"to=<a@b>, dsn=5.1.1, status=bounced (x)\"}";
    const struct sg_logsource *src = source(SYSLOG, 0);
    struct sg_delivery d;
    const char *cut;

    (void) state;
    /* Ends in the middle of dsn=, with the rest of the line after it. */
    cut = strstr(line, "dsn=5.1") + 7;
    assert_int_equal(sg_logparse(src, line, (size_t) (cut - line), &d),
		     P_BAD);

    /* Ends right after the status word: enough. */
    cut = strstr(line, "bounced") + 7;
    assert_int_equal(sg_logparse(src, line, (size_t) (cut - line), &d),
		     P_OK);
    assert_int_equal(d.cls, SG_DSN_MAILBOX);

    /* Ends inside the recipient, whose '>' is just past len. */
    cut = strstr(line, "example>");
    assert_int_equal(sg_logparse(src, line, (size_t) (cut - line) + 7, &d),
		     P_BAD);

    /* Nothing at all. */
    assert_int_equal(sg_logparse(src, line, 0, &d), P_IGN);
    assert_int_equal(sg_logparse(src, 0, 0, &d), P_IGN);

    /* A journal line one byte short is not JSON; whole, it counts. */
    src = source(JOURNAL, 0);
    assert_int_equal(sg_logparse(src, json, sizeof(json) - 2, &d), P_FMT);
    assert_int_equal(sg_logparse(src, json, sizeof(json) - 1, &d), P_OK);
}

/*
 * test_prefixes - a good line cut anywhere: not OK until the text that
 * decides its outcome is whole, and exactly the full answer from there.
 */
static void test_prefixes(void **state)
{
    struct sg_delivery d, full;
    size_t  i, n, len, need;
    const char *at;
    int     rc;

    (void) state;
    for (i = 0; i < NELEM(good); i++) {
	len = strlen(good[i].line);
	at = strstr(good[i].line, good[i].decides);
	assert_non_null(at);
	need = (size_t) (at - good[i].line) + strlen(good[i].decides);
	assert_int_equal(parse_n(good[i].fmt, good[i].line, len, &full),
			 P_OK);
	for (n = 0; n <= len; n++) {
	    rc = parse_n(good[i].fmt, good[i].line, n, &d);
	    if (n < need && rc == P_OK)
		fail_msg("%s: cut at %zu of %zu parses", good[i].name, n, len);
	    if (n < need)
		continue;
	    if (rc != P_OK)
		fail_msg("%s: cut at %zu of %zu: rc %d", good[i].name, n, len,
			 rc);
	    assert_string_equal(d.qid, full.qid);
	    assert_string_equal(d.dsn, full.dsn);
	    assert_int_equal(d.nrcpt, full.nrcpt);
	    assert_int_equal(d.cls, full.cls);
	}
    }
}


/*
 * Each cause weighs what it says about its sender: an address that does
 * not exist or a refusal of its mail is a whole failure, a full mailbox
 * half of one.
 */
static void test_weight(void **state)
{
    static const struct {
	const char *dsn, *status;
	double  w;
    } t[] = {
	{"5.1.1", "bounced", 1.0}, {"5.1.2", "bounced", 1.0},
	{"5.4.4", "bounced", 1.0}, {0, "expired", 1.0},
	{"5.2.2", "bounced", 0.5}, {"5.2.1", "bounced", 0.5},
	{"5.7.1", "bounced", 1.0}, {"5.3.0", "bounced", 0.5},
	{"2.0.0", "sent", 0.0}, {"4.4.1", "deferred", 0.0}, {0, 0, 0.0},
    };
    size_t  i;
    double  w;

    (void) state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
	w = sg_dsn_weight(sg_dsn_classify(t[i].dsn, t[i].status));
	if (w != t[i].w)
	    fail_msg("weight(%s, %s) = %.2f, want %.2f",
		     t[i].dsn ? t[i].dsn : "NULL",
		     t[i].status ? t[i].status : "NULL", w, t[i].w);
    }
    assert_string_equal(sg_dsn_class_name(SG_DSN_FULL), "mailbox-full");
    /* A refusal at RCPT: temporary ones are no failure. */
    assert_int_equal(sg_rcpt_rejection_counts("5.1.1"), 1);
    assert_int_equal(sg_rcpt_rejection_counts("5.7.1"), 1);
    assert_int_equal(sg_rcpt_rejection_counts("4.5.3"), 0);
    assert_int_equal(sg_rcpt_rejection_counts("4.1.1"), 0);
    assert_int_equal(sg_rcpt_rejection_counts(""), 1);
    assert_int_equal(sg_rcpt_rejection_counts("mx.example"), 1);
    assert_int_equal(sg_rcpt_rejection_counts(0), 1);
}

/* The recipient's domain: lower case, or nothing for hostile bytes. */
static void test_rcpt_domain(void **state)
{
    static const struct {
	const char *rcpt, *want;
    } t[] = {
	{"<Ann@Big.Example>", "big.example"}, {"bob@mx-1.example.net", "mx-1.example.net"},
	{"a@b@c.example", "c.example"}, {"<a@b.example> ", ""},
	{"nobody", ""}, {"a@", ""}, {"<a@>", ""}, {"a@b example", ""},
	{"a@b:c", ""}, {"a@b\nc", ""}, {"a@\xc3\xa9.example", ""}, {"", ""},
    };
    char    buf[256], big[400], small[4];
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
	int     rc = sg_rcpt_domain(t[i].rcpt, buf, sizeof(buf));

	if (strcmp(buf, t[i].want) != 0 || rc != (t[i].want[0] ? 0 : -1))
	    fail_msg("domain(%s) = \"%s\" (%d), want \"%s\"", t[i].rcpt, buf,
		     rc, t[i].want);
    }
    assert_int_equal(sg_rcpt_domain(0, buf, sizeof(buf)), -1);
    /* Longer than a domain can be, or than the buffer: nothing. */
    memset(big, 'a', sizeof(big));
    big[0] = 'x';
    big[1] = '@';
    big[sizeof(big) - 1] = 0;
    assert_int_equal(sg_rcpt_domain(big, buf, sizeof(buf)), -1);
    assert_string_equal(buf, "");
    assert_int_equal(sg_rcpt_domain("a@bcdef", small, sizeof(small)), -1);
    assert_string_equal(small, "");
}

/* test_classify - the DSN and status word rules on their own */
static void test_classify(void **state)
{
    static const struct {
	const char *dsn, *status;
	enum sg_dsn_class cls;
    } t[] = {
	{"2.0.0", "sent", SG_DSN_DELIVERED},
	{"2.1.5", 0, SG_DSN_DELIVERED},
	{"4.4.1", "deferred", SG_DSN_DEFERRED},
	{"4.2.2", 0, SG_DSN_DEFERRED},
	{"4.4.7", "Deferred", SG_DSN_DEFERRED},
	{"4.4.7", "deferred", SG_DSN_DEFERRED},
	{"4.4.7", "Cannot", SG_DSN_EXPIRED},	/* Sendmail queue timeout */
	{"4.4.1", "expired", SG_DSN_EXPIRED},
	{"4.2.0", "bounced", SG_DSN_EXPIRED},
	{"5.1.1", "bounced", SG_DSN_MAILBOX},
	{"5.1.0", "bounced", SG_DSN_MAILBOX},
	{"5.1.20", "bounced", SG_DSN_MAILBOX},
	{"5.1.2", "bounced", SG_DSN_DOMAIN},
	{"5.1.10", "bounced", SG_DSN_DOMAIN},
	{"5.4.4", "bounced", SG_DSN_DOMAIN},
	{"5.4.1", "bounced", SG_DSN_OTHER},
	{"5.7.1", "bounced", SG_DSN_POLICY},
	{"5.7.26", "User", SG_DSN_POLICY},
	{"5.2.2", "bounced", SG_DSN_FULL},
	{"5.2.1", "bounced", SG_DSN_FULL},	/* mailbox disabled */
	{"5.4.1", "bounced", SG_DSN_OTHER},
	{"5.3.0", "bounced", SG_DSN_OTHER},
	{"5.7.1", "bounced", SG_DSN_POLICY},
	{"5.0.0", 0, SG_DSN_OTHER},
	{"5.1.1", "deferred", SG_DSN_DEFERRED},
	{"5.1.1", "SOFTBOUNCE", SG_DSN_DEFERRED},
	{"5.1.1", "queued", SG_DSN_DEFERRED},
	{0, "sent", SG_DSN_DELIVERED},
	{0, "Sent", SG_DSN_DELIVERED},
	{0, "bounced", SG_DSN_OTHER},
	{0, "expired", SG_DSN_EXPIRED},
	{0, 0, SG_DSN_NONE},
	{"", "", SG_DSN_NONE},
	{"x", 0, SG_DSN_NONE},
	{"3.0.0", 0, SG_DSN_NONE},
	{"5.1", 0, SG_DSN_NONE},
	{"5.1111.1", 0, SG_DSN_NONE},
	{"5.1", "bounced", SG_DSN_OTHER},	/* no usable code: the word */
    };
    size_t  i;
    enum sg_dsn_class got;

    (void) state;
    for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
	got = sg_dsn_classify(t[i].dsn, t[i].status);
	if (got != t[i].cls)
	    fail_msg("classify(%s, %s) = %s, want %s",
		     t[i].dsn ? t[i].dsn : "NULL",
		     t[i].status ? t[i].status : "NULL",
		     sg_dsn_class_name(got), sg_dsn_class_name(t[i].cls));
    }
    assert_string_equal(sg_dsn_class_name(SG_DSN_MAILBOX), "mailbox");
    assert_string_equal(sg_dsn_class_name(SG_DSN_DOMAIN), "domain");
    assert_string_equal(sg_dsn_class_name(SG_DSN_POLICY), "policy");
    assert_string_equal(sg_dsn_class_name(SG_DSN_EXPIRED), "expired");
    assert_string_equal(sg_dsn_class_name(SG_DSN_OTHER), "other");
    assert_string_equal(sg_dsn_class_name(SG_DSN_DELIVERED), "delivered");
    assert_string_equal(sg_dsn_class_name(SG_DSN_DEFERRED), "deferred");
    assert_string_equal(sg_dsn_class_name(SG_DSN_NONE), "none");
    assert_string_equal(sg_dsn_class_name((enum sg_dsn_class) 99), "none");
}

/*
 * test_junk - random lines built from the pieces the parser looks for,
 * and random bytes, read in each format: never a crash, never a read
 * past len (under ASan), and an OK answer is always a complete one.
 * Deterministic.
 */
static void test_junk(void **state)
{
    static const char *const piece[] = {
	" to=", ": to=<", "to=", "<", ">", ",", ", ", "\"", "\\", ": ",
	"dsn=", "5.1.1", "4.4.7", "2.0.0", ", status=", "bounced", "sent",
	"deferred", "expired", ", stat=", "Sent", "Deferred", "3F2A81C0E4",
	"a@b.example", " ", "[more]", "from=<", ", status=expired", "<22>1 ",
	"- ", "[x y=\"]\"]", "relay=none", "=", "\xEF\xBB\xBF", "\n", "\0",
	"Nov 22 14:00:02 mx1 postfix/smtp[1]: ", "postfix/qmgr[2]: ",
	"2025-11-22T14:00:02Z ", "mx1 sm-mta[3]: ",
	"<22>1 2025-11-22T14:00:09Z mx1 postfix/smtp 2215 - - ",
	"{", "}", "[", "]", "\"SYSLOG_IDENTIFIER\":", "\"postfix/smtp\"",
	"\"MESSAGE\":", "\"_COMM\":", "\"smtp\"", "51,", "null", ":",
	"\"3F2A81C0E4: to=<a@b>, dsn=5.1.1, status=bounced\"",
    };
    uint32_t seed = 12345;
    char    buf[512];
    struct sg_delivery d;
    size_t  len, n, j;
    int     i, rc;

    (void) state;
    for (i = 0; i < 300000; i++) {
	len = 0;
	seed = seed * 1103515245u + 12345u;
	n = (seed >> 16) % 24;
	for (j = 0; j < n; j++) {
	    const char *p;
	    size_t  pl;

	    seed = seed * 1103515245u + 12345u;
	    if ((seed >> 16) % 7 == 0) {
		buf[len < sizeof(buf) ? len : sizeof(buf) - 1] =
		    (char) (seed >> 8);
		if (len < sizeof(buf))
		    len++;
		continue;
	    }
	    p = piece[(seed >> 16) % NELEM(piece)];
	    pl = *p ? strlen(p) : 1;
	    if (len + pl > sizeof(buf))
		break;
	    memcpy(buf + len, p, pl);
	    len += pl;
	}
	rc = parse_n((enum sg_log_format) (i % 3), buf, len, &d);
	assert_true(rc == P_OK || rc == P_IGN || rc == P_BAD || rc == P_FMT);
	if (rc == P_OK) {
	    assert_true(d.qid[0] != 0);
	    assert_true(strlen(d.qid) < sizeof(d.qid));
	    assert_true(strlen(d.rcpt) < sizeof(d.rcpt));
	    assert_true(strlen(d.dsn) < sizeof(d.dsn));
	    assert_true(d.nrcpt >= 1);
	    assert_true(d.cls != SG_DSN_NONE);
	}
    }
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_good),
	cmocka_unit_test(test_ignored),
	cmocka_unit_test(test_bad),
	cmocka_unit_test(test_foreign),
	cmocka_unit_test(test_forged),
	cmocka_unit_test(test_real),
	cmocka_unit_test(test_instances),
	cmocka_unit_test(test_journal_fields),
	cmocka_unit_test(test_logsource),
	cmocka_unit_test(test_len),
	cmocka_unit_test(test_prefixes),
	cmocka_unit_test(test_classify),
	cmocka_unit_test(test_weight),
	cmocka_unit_test(test_rcpt_domain),
	cmocka_unit_test(test_junk),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
