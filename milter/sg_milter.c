/*
 * NAME
 *	sg_milter 3
 * SUMMARY
 *	libmilter callbacks: the engine's steps at RCPT and end of message
 * DESCRIPTION
 *	subguard negotiates away every protocol step it does not use
 *	(CONNECT, HELO, DATA, headers, body, unknown commands), takes MAIL
 *	without a reply, and asks for recipients the MTA has already
 *	rejected (SMFIP_RCPT_REJ): those are failures worth counting (see
 *	sg_negotiate.h). MAIL only marks a new message. Per message there
 *	are two Redis round trips: one at the first RCPT (sg_engine_begin,
 *	which decides the message as a whole and reserves room for it; a
 *	refusal then answers that recipient and every later one of the
 *	message alike, and is logged as stage=mail, the decision on the
 *	message) and one at end of message or abort (sg_engine_commit,
 *	which settles it);
 *	each RCPT is decided in memory against the reserved recipients, and
 *	only a message past reserve_recipients asks for more
 *	(sg_engine_reserve, about log2(N / reserve_recipients) calls). Only
 *	the first is waited for, as a rule: a commit that cannot quarantine,
 *	hold or refuse the message goes to sg_commitq.c and is sent after
 *	the reply, unless this node has lately learned that the login is
 *	quarantined (lib/sg_quarseen.c): then it is committed at once.
 *
 *	libmilter may run one connection's callbacks on different threads
 *	(never at once), so all state lives in the context from smfi_setpriv.
 *
 *	Nothing here exits the process or blocks for longer than the Redis
 *	timeout: all SMTP sessions share it. Store trouble follows
 *	on_redis_error; the Redis module reports each outage once.
 * DIAGNOSTICS
 *	One syslog line of key=value pairs per decision:
 *	action=accept|tempfail|hold|quarantine|reject|redis-error stage=...
 *	login= client= qid= tier= and the counts and limit involved.
 *	In dry-run mode the line says dry_run=yes and the client is never
 *	told anything but yes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libmilter/mfapi.h>

#include "sg_logparse.h"
#include "sg_milter.h"
#include "sg_negotiate.h"
#include "sg_quarseen.h"

#define MAX_LINES	32		/* libmilter's limit for a reply */

/* Per-connection state. */
struct sg_conn {
    char    client[64];			/* client IP address */
    unsigned long steps;		/* the SMFIP_* flags agreed on */
    int     pending;			/* MAIL seen; begin at the first RCPT */
    enum sg_action refused;		/* the message refused as a whole */
    struct sg_runtime *rt;		/* held for the message in progress */
    struct sg_msg msg;
    int     logged_rcpt_tempfail;	/* one log line per message, not per rcpt */
    unsigned long ticket;		/* the last message's queued commit */
};

/* The logins this node learned lately are quarantined. */
static struct sg_quarseen quarseen;
static pthread_mutex_t quarseen_lock = PTHREAD_MUTEX_INITIALIZER;

/* wall_clock - now, in seconds */
static double wall_clock(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (ts.tv_sec + ts.tv_nsec / 1e9);
}

/*
 * sg_milter_quarantine_seen - note what an answer said of a quarantine.
 * asked: when the call was sent (a "not quarantined" answer clears only
 * what was noted before it); kept: how long a message begun before the
 * quarantine may still reach its end (milter_timeout).
 */
void    sg_milter_quarantine_seen(const char *login, int quarantined,
				          double asked, unsigned long kept)
{
    pthread_mutex_lock(&quarseen_lock);
    if (quarantined)
	sg_quarseen_add(&quarseen, login, wall_clock(), kept + 60.0);
    else
	sg_quarseen_clear(&quarseen, login, asked);
    pthread_mutex_unlock(&quarseen_lock);
}

/* quarantine_known - whether this node learned login is quarantined */
static int quarantine_known(const char *login)
{
    int     yes;

    pthread_mutex_lock(&quarseen_lock);
    yes = sg_quarseen_has(&quarseen, login, wall_clock());
    pthread_mutex_unlock(&quarseen_lock);
    return (yes);
}

/* conn_get - this connection's state; made on first use */
static struct sg_conn *conn_get(SMFICTX *ctx)
{
    struct sg_conn *c = smfi_getpriv(ctx);

    if (c == 0 && (c = calloc(1, sizeof(*c))) != 0) {
	snprintf(c->client, sizeof(c->client), "unknown");
	if (smfi_setpriv(ctx, c) != MI_SUCCESS) {
	    free(c);
	    c = 0;
	}
    }
    return (c);
}

/* macro - a macro's value or "" */
static const char *macro(SMFICTX *ctx, const char *name)
{
    const char *v = smfi_getsymval(ctx, (char *) name);

    return (v ? v : "");
}

/* dry_run - whether decisions are only logged */
static int dry_run(const struct sg_conn *c)
{
    return (c->rt->cfg.mode == SG_MODE_DRYRUN);
}

/* log_decision - the key=value line postmasters grep */
static void log_decision(SMFICTX *ctx, struct sg_conn *c, int level,
			         const char *action, const char *stage,
			         const char *fmt,...)
{
    va_list ap;
    char    extra[768] = "";

    if (fmt) {
	va_start(ap, fmt);
	vsnprintf(extra, sizeof(extra), fmt, ap);
	va_end(ap);
    }
    sg_log_message(level, &c->msg, c->client, macro(ctx, "i"),
		   c->rt && dry_run(c), action, stage, "%s", extra);
}

/* set_reply - a possibly multi-line SMTP reply; '%' escaped, controls cut */
static void set_reply(SMFICTX *ctx, const char *code, const char *xcode,
		              const char *text)
{
    char    buf[SG_TEXT_MAX * 2];
    char   *line[MAX_LINES + 1] = {0};
    const char *cp;
    size_t  n = 0;
    int     nl = 0;

    line[nl++] = buf;
    for (cp = text; *cp && n + 2 < sizeof(buf); cp++) {
	if (*cp == '\n') {
	    buf[n++] = 0;
	    if (nl == MAX_LINES)
		break;
	    line[nl++] = buf + n;
	} else if (*cp == '%') {
	    buf[n++] = '%';
	    buf[n++] = '%';
	} else if ((unsigned char) *cp >= ' ' && *cp != 127) {
	    buf[n++] = *cp;
	}
    }
    buf[n] = 0;
    if (nl == 1)
	smfi_setreply(ctx, (char *) code, (char *) xcode, line[0]);
    else
	smfi_setmlreply(ctx, code, xcode, line[0], line[1], line[2], line[3],
			line[4], line[5], line[6], line[7], line[8], line[9],
			line[10], line[11], line[12], line[13], line[14],
			line[15], line[16], line[17], line[18], line[19],
			line[20], line[21], line[22], line[23], line[24],
			line[25], line[26], line[27], line[28], line[29],
			line[30], line[31], (char *) 0);
}

/* refuse - tell the client no (unless dry-run); return the milter status */
static sfsistat refuse(SMFICTX *ctx, struct sg_conn *c, enum sg_action act)
{
    const struct sg_config *cfg = &c->rt->cfg;
    char    text[SG_TEXT_MAX * 2];
    int     perm;

    if (dry_run(c))
	return (SMFIS_CONTINUE);
    sg_engine_text(c->rt->engine, &c->msg, act, text, sizeof(text));
    if (act == SG_ACT_QUARANTINE_REFUSE) {
	perm = cfg->quarantine_action != SG_QACT_TEMPFAIL;
	set_reply(ctx, perm ? "550" : "451", perm ? "5.7.1" : "4.7.1", text);
	return (perm ? SMFIS_REJECT : SMFIS_TEMPFAIL);
    }
    if (act == SG_ACT_STORE_DOWN) {
	set_reply(ctx, "451", "4.3.0", text);
	return (SMFIS_TEMPFAIL);
    }
    set_reply(ctx, "451", "4.7.1", text);
    return (SMFIS_TEMPFAIL);
}

/* store_trouble - Redis failed for this message: follow on_redis_error */
static sfsistat store_trouble(SMFICTX *ctx, struct sg_conn *c,
			              const char *stage, const char *err)
{
    int     tempfail = c->rt->cfg.on_redis_error == SG_ONERR_TEMPFAIL;

    /*
     * An outage is reported once by the Redis module; a script error is a
     * bug or a broken Redis, worth a line every time.
     */
    if (c->msg.store_rc != SG_STORE_DOWN)
	log_decision(ctx, c, LOG_ERR, tempfail ? "tempfail" : "accept", stage,
		     "reason=redis-error error=\"%s\"", err);
    else
	sg_mmetrics_outage_decision(tempfail ? "tempfail" : "accept", stage);
    return (tempfail ? refuse(ctx, c, SG_ACT_STORE_DOWN) : SMFIS_ACCEPT);
}

/* message_done - drop the message's runtime reference */
static void message_done(struct sg_conn *c)
{
    sg_runtime_release(c->rt);
    c->rt = 0;
    c->logged_rcpt_tempfail = 0;
    c->refused = 0;
}

/* finish - commit an unfinished message when it is abandoned */
static void finish(SMFICTX *ctx, struct sg_conn *c, const char *stage)
{
    char    err[256];

    c->pending = 0;
    if (c->rt == 0)
	return;
    if (c->refused) {				/* refused as a whole: counted */
	message_done(c);
	return;
    }
    /* Nothing waits on an abandoned message's commit. */
    if (sg_commitq_put(c->rt, &c->msg, 0, 0, wall_clock(), c->client,
		       &c->ticket) < 0
	&& sg_engine_commit(c->rt->engine, &c->rt->store, &c->msg, 0, 0,
			    wall_clock(), err, sizeof(err)) == SG_ACT_STORE_DOWN
	&& c->msg.store_rc != SG_STORE_DOWN)
	log_decision(ctx, c, LOG_ERR, "none", stage,
		     "reason=redis-error error=\"%s\"", err);
    message_done(c);
}

/* sg_negotiate - ask for only the steps subguard uses; see sg_negotiate.h */
static sfsistat sg_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			             unsigned long f2, unsigned long f3,
			             unsigned long *pf0, unsigned long *pf1,
			             unsigned long *pf2, unsigned long *pf3)
{
    struct sg_conn *c = conn_get(ctx);
    unsigned long steps = SG_NEGOTIATE_STEPS;

    (void) f2;
    (void) f3;
    /* Without its state the connection cannot tell what MAIL expects. */
    if (c == 0)
	steps &= ~SMFIP_NR_MAIL;
    (void) sg_negotiate_steps(ctx, f0, f1, steps, pf0, pf1, pf2, pf3);
    if (c)
	c->steps = *pf1;
    return (SMFIS_CONTINUE);
}

/*
 * client_from_macro - the client's address from {client_addr} (CONNECT
 * is not taken). Sendmail writes IPv6 as "IPv6:...". Anything but an
 * address's characters leaves "unknown".
 */
static void client_from_macro(SMFICTX *ctx, struct sg_conn *c)
{
    const char *v = macro(ctx, "{client_addr}");
    size_t  n;

    if (strncasecmp(v, "IPv6:", 5) == 0)
	v += 5;
    n = strspn(v, "0123456789abcdefABCDEF:.");
    if (n == 0 || v[n] != 0 || n >= sizeof(c->client)) {
	v = "unknown";
	n = strlen(v);
    }
    memcpy(c->client, v, n);
    c->client[n] = 0;
}

/*
 * plain_login - {auth_authen} as the customer typed it. Sendmail passes
 * it xtext-encoded ("first+2Btag"), Postfix as it is; with
 * login_encoding = auto the MTA's name ({v}: "Postfix 3.7.11" or
 * "8.17.1.9") tells which, so both count one customer under one key.
 */
static const char *plain_login(SMFICTX *ctx, const struct sg_config *cfg,
			               const char *login, char *buf, size_t len)
{
    int     xtext = cfg->login_encoding == SG_ENC_XTEXT
    || (cfg->login_encoding == SG_ENC_AUTO
	&& strncmp(macro(ctx, "v"), "Postfix", 7) != 0);

    if (xtext && strchr(login, '+') && sg_xtext_decode(login, buf, len) == 0)
	return (buf);
    return (login);
}

/* sg_envfrom - a new message: its macros are read at its first RCPT */
static sfsistat sg_envfrom(SMFICTX *ctx, char **argv)
{
    struct sg_conn *c = smfi_getpriv(ctx);

    (void) argv;
    if (c == 0)
	return (SMFIS_CONTINUE);		/* MAIL was not NR: see above */
    finish(ctx, c, "mail");			/* a message left half done */
    memset(&c->msg, 0, sizeof(c->msg));
    client_from_macro(ctx, c);
    c->pending = 1;
    return ((c->steps & SMFIP_NR_MAIL) ? SMFIS_NOREPLY : SMFIS_CONTINUE);
}

/*
 * begin - at the message's first recipient: may this login send a
 * message now? SMFIS_CONTINUE to go on with the recipient; anything
 * else is the recipient's answer (c->refused then answers the rest).
 */
static sfsistat begin(SMFICTX *ctx, struct sg_conn *c)
{
    const char *login = smfi_getsymval(ctx, "{auth_authen}");
    char    err[256], plain[1024];
    enum sg_action act;
    double  asked;

    if (login == 0 || *login == 0)
	return (SMFIS_ACCEPT);			/* not ours to count */
    if ((c->rt = sg_runtime_acquire()) == 0)
	return (SMFIS_ACCEPT);
    /* This connection's last message counted first, as a client expects. */
    if (c->ticket) {
	if (sg_commitq_wait(c->ticket, c->rt->cfg.redis_timeout_ms + 10) < 0)
	    sg_log(LOG_WARNING, "client=%s: the previous message's commit "
		   "is still queued after %lums; going on without it",
		   c->client, c->rt->cfg.redis_timeout_ms + 10);
	c->ticket = 0;
    }
    login = plain_login(ctx, &c->rt->cfg, login, plain, sizeof(plain));
    asked = wall_clock();
    act = sg_engine_begin_from(c->rt->engine, &c->rt->store, &c->msg, login,
			       c->client, asked, err, sizeof(err));
    if (c->msg.login_form == SG_LOGIN_HASHED) {
	char    raw[96];

	sg_log(LOG_NOTICE, "login too long for a key: %zu bytes starting "
	       "\"%s\" counted as %s", strlen(login),
	       sg_log_safe(login, raw, sizeof(raw)), c->msg.login);
    }
    if (c->msg.unknown_tier[0])
	sg_log(LOG_WARNING, "login=%s has unknown tier \"%s\"; using %s",
	       c->msg.login, c->msg.unknown_tier, c->msg.tier);
    if (c->msg.begun)
	sg_milter_quarantine_seen(c->msg.login, c->msg.qreason[0] != 0, asked,
				  c->rt->cfg.milter_timeout);
    switch (act) {
    case SG_ACT_IGNORE:
	message_done(c);
	return (SMFIS_ACCEPT);
    case SG_ACT_STORE_DOWN:{
	    sfsistat st = store_trouble(ctx, c, "mail", err);

	    if (st == SMFIS_ACCEPT)
		message_done(c);
	    else
		c->refused = SG_ACT_STORE_DOWN;
	    return (st);
	}
    case SG_ACT_TEMPFAIL:{
	    char    w[16];

	    log_decision(ctx, c, LOG_NOTICE, "tempfail", "mail",
			 "limit=messages:%lu/%s count=%lu retry=%lu",
			 c->msg.msg_limit, sg_format_duration(c->msg.msg_secs,
							  w, sizeof(w)),
			 c->msg.msgs_in_window, c->msg.msg_retry);
	    c->refused = act;
	    return (refuse(ctx, c, act));
	}
    case SG_ACT_QUARANTINE_REFUSE:
	log_decision(ctx, c, LOG_NOTICE, "reject", "mail",
		     "reason=quarantined quarantine=\"%s\"", c->msg.qreason);
	c->refused = act;
	return (refuse(ctx, c, act));
    default:
	return (SMFIS_CONTINUE);
    }
}

/* sg_envrcpt - one recipient, decided in memory */
static sfsistat sg_envrcpt(SMFICTX *ctx, char **argv)
{
    struct sg_conn *c = smfi_getpriv(ctx);
    char    err[256];
    int     mta_rejected;
    enum sg_action act;

    if (c == 0)
	return (SMFIS_CONTINUE);
    if (c->pending) {
	sfsistat st;

	c->pending = 0;
	if ((st = begin(ctx, c)) != SMFIS_CONTINUE || c->refused)
	    return (st);
    } else if (c->refused)
	return (refuse(ctx, c, c->refused));	/* the same answer, unlogged */
    if (c->rt == 0)
	return (SMFIS_CONTINUE);

    /*
     * With SMFIP_RCPT_REJ the MTA also shows us recipients it refused:
     * {rcpt_mailer} is "error" for them. Our answer to those is ignored.
     */
    mta_rejected = strcmp(macro(ctx, "{rcpt_mailer}"), "error") == 0;
    /*
     * {rcpt_host} then holds the status. A temporary refusal (4.x.x) says
     * nothing of the address: neither a failure nor a recipient, so that
     * neither a legitimate sender over smtpd_recipient_limit is charged
     * with failures nor a spammer credited with deliveries.
     */
    if (mta_rejected && !sg_rcpt_rejection_counts(macro(ctx, "{rcpt_host}")))
	return (SMFIS_CONTINUE);
    act = sg_engine_rcpt(&c->msg, mta_rejected, argv[0]);
    if (act == SG_ACT_RESERVE) {
	/* Past the reserved chunk: one round trip for more room. */
	if (sg_engine_reserve(c->rt->engine, &c->rt->store, &c->msg,
			      wall_clock(), err, sizeof(err))
	    == SG_ACT_STORE_DOWN) {
	    sfsistat st = store_trouble(ctx, c, "rcpt", err);

	    sg_mmetrics_reserve(c->msg.store_rc ? c->msg.store_rc
				: SG_STORE_ERROR);
	    if (st != SMFIS_ACCEPT)
		return (st);
	    /*
	     * on_redis_error = accept: this recipient passes, and the next
	     * asks Redis again; one slow answer does not unlimit the rest.
	     */
	    c->msg.budget = (long) c->msg.accepted + 1;
	    (void) sg_engine_rcpt(&c->msg, mta_rejected, argv[0]);
	    return (SMFIS_CONTINUE);
	}
	sg_mmetrics_reserve(SG_STORE_OK);
	act = sg_engine_rcpt(&c->msg, mta_rejected, argv[0]);
    }
    if (act != SG_ACT_TEMPFAIL)
	return (SMFIS_CONTINUE);
    if (!c->logged_rcpt_tempfail) {
	char    w[16];

	c->logged_rcpt_tempfail = 1;
	if (c->msg.limit == SG_LIMIT_HISTORY)
	    log_decision(ctx, c, LOG_NOTICE, "tempfail", "rcpt",
			 "reason=history net=%s limit=%lu/1d count=%lu "
			 "retry=%lu", c->msg.net_text, c->msg.hist_limit,
			 c->msg.hist_count + c->msg.accepted,
			 c->msg.hist_retry);
	else
	    log_decision(ctx, c, LOG_NOTICE, "tempfail", "rcpt",
			 "limit=recipients:%lu/%s count=%lu retry=%lu",
			 c->msg.rcpt_limit,
			 sg_format_duration(c->msg.rcpt_secs, w, sizeof(w)),
			 c->msg.rcpts_in_window + c->msg.accepted,
			 c->msg.rcpt_retry);
    }
    return (refuse(ctx, c, SG_ACT_TEMPFAIL));
}

/* sg_eom - commit: count the message, hold or refuse it if quarantined */
static sfsistat sg_eom(SMFICTX *ctx)
{
    struct sg_conn *c = smfi_getpriv(ctx);
    const char *qid;
    char    err[256], reason[300];
    enum sg_action act;
    sfsistat st = SMFIS_CONTINUE;

    if (c == 0)
	return (SMFIS_CONTINUE);
    c->pending = 0;
    if (c->rt == 0 || c->refused) {	/* not ours, or dry-run's refusal */
	message_done(c);
	return (SMFIS_CONTINUE);
    }
    qid = macro(ctx, "i");

    /*
     * A commit whose answer cannot touch this message (the usual case)
     * is sent after the reply, batched with others: see sg_commitq.c.
     */
    if (sg_engine_commit_deferrable(&c->msg, 1)
	&& !quarantine_known(c->msg.login)
	&& sg_commitq_put(c->rt, &c->msg, qid, 1, wall_clock(),
			  c->client, &c->ticket) == 0) {
	log_decision(ctx, c, LOG_INFO, "accept", "eom", 0);
	message_done(c);
	return (SMFIS_CONTINUE);
    }
    act = sg_engine_commit(c->rt->engine, &c->rt->store, &c->msg, qid, 1,
			   wall_clock(), err, sizeof(err));
    if (c->msg.newly_quarantined || act == SG_ACT_HOLD
	|| act == SG_ACT_QUARANTINE_REFUSE)
	sg_milter_quarantine_seen(c->msg.login, 1, 0,
				  c->rt->cfg.milter_timeout);
    /* Support's hands seen in Redis since the account's last message. */
    if (c->msg.seen.what == SG_SEEN_LIFT)
	log_decision(ctx, c, LOG_NOTICE, "lift", "eom",
		     "reason=\"quarantine lifted in Redis\"");
    else if (c->msg.seen.what == SG_SEEN_TIER)
	log_decision(ctx, c, LOG_NOTICE, "tier", "eom", "change=\"%s %s\"",
		     c->msg.seen.old_tier, c->msg.seen.new_tier);
    if (c->msg.newly_quarantined) {
	log_decision(ctx, c, LOG_WARNING, "quarantine", "eom",
		     "reason=\"%s\"", c->msg.qreason);
	sg_notify(c->rt->cfg.notify_command, c->msg.login, c->msg.qreason,
		  "submission");
    }
    switch (act) {
    case SG_ACT_HOLD:
	log_decision(ctx, c, LOG_NOTICE, "hold", "eom",
		     "held=%lu quarantine=\"%s\"", c->msg.held, c->msg.qreason);
	if (!dry_run(c)) {
	    snprintf(reason, sizeof(reason), "subguard: %s", c->msg.qreason);
	    smfi_quarantine(ctx, reason);
	}
	break;
    case SG_ACT_QUARANTINE_REFUSE:
	log_decision(ctx, c, LOG_NOTICE, "reject", "eom",
		     "reason=%s quarantine=\"%s\"",
		     c->rt->cfg.quarantine_action == SG_QACT_HOLD ?
		     "hold-limit" : "quarantined", c->msg.qreason);
	st = refuse(ctx, c, act);
	break;
    case SG_ACT_STORE_DOWN:
	st = store_trouble(ctx, c, "eom", err);
	if (st == SMFIS_ACCEPT)
	    st = SMFIS_CONTINUE;
	break;
    default:
	log_decision(ctx, c, LOG_INFO, "accept", "eom", 0);
	break;
    }
    message_done(c);
    return (st);
}

/* sg_abort - the message was abandoned: count its failures */
static sfsistat sg_abort(SMFICTX *ctx)
{
    struct sg_conn *c = smfi_getpriv(ctx);

    if (c)
	finish(ctx, c, "abort");
    return (SMFIS_CONTINUE);
}

/* sg_close - the connection is gone */
static sfsistat sg_close(SMFICTX *ctx)
{
    struct sg_conn *c = smfi_getpriv(ctx);

    if (c) {
	finish(ctx, c, "close");
	free(c);
	smfi_setpriv(ctx, 0);
    }
    return (SMFIS_CONTINUE);
}

struct smfiDesc sg_milter_desc = {
    .xxfi_name = "subguard",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_QUARANTINE | SMFIF_SETSYMLIST,
    .xxfi_envfrom = sg_envfrom,
    .xxfi_envrcpt = sg_envrcpt,
    .xxfi_eom = sg_eom,
    .xxfi_abort = sg_abort,
    .xxfi_close = sg_close,
    .xxfi_negotiate = sg_negotiate,
};
