/*
 * NAME
 *	sg-milterload 1
 * SUMMARY
 *	milter protocol load driver: plays many MTA sessions against a milter
 * SYNOPSIS
 *	sg-milterload -s SOCKET [-c SESSIONS] [-d SECONDS | -n MESSAGES]
 *		[-w WARMUP] [-r RCPTS] [-x REJECTED] [-m MSGS_PER_CONN]
 *		[-k LOGINS] [-l PATTERN] [-K FIRST] [-R] [-z BODY] [-S]
 *		[-A] [-q RATE] [-T TIMEOUT] [-L LABEL] [-v]
 * DESCRIPTION
 *	Talks the Sendmail milter protocol (version 6) to a milter socket
 *	the way Postfix's smtpd does, with no MTA: per connection OPTNEG,
 *	CONNECT (an IPv4 client address per session), then per message the
 *	macros and MAIL, one RCPT per recipient, the steps the milter did
 *	not negotiate away (DATA, headers, end of headers, body), end of
 *	message; QUIT at the end of the connection. Postfix 3.7 sends no
 *	ABORT after a completed message (checked: sg-nullmilter -c counts
 *	none), so neither does this driver unless -A asks for one after
 *	each message (an MTA that resets the transaction every time).
 *
 *	Macros: at MAIL {auth_authen} (a login from PATTERN, default
 *	user%d@example.net, spread round-robin over LOGINS accounts starting
 *	at FIRST), {auth_type} PLAIN, {mail_addr}; at RCPT {rcpt_addr},
 *	{rcpt_host}, {rcpt_mailer} (smtp, or error with host 5.1.1 for the
 *	REJECTED recipients the MTA itself refused: sent only when the
 *	milter asked for SMFIP_RCPT_REJ), and i from the second recipient on
 *	(Postfix assigns the queue id when the first recipient is accepted);
 *	at DATA and end of message i and {auth_authen}. -S (Sendmail style)
 *	sends i at MAIL too. When the milter sets macro lists
 *	(smfi_setsymlist) only the listed macros are sent, as an MTA does.
 *
 *	Every session runs messages back to back; -m gives the messages per
 *	milter connection (default 1: Postfix opens one milter connection
 *	per SMTP session, and most submission clients send one message per
 *	session). The run ends after SECONDS (default 10) or MESSAGES;
 *	sessions then finish the message in hand. Statistics skip the first
 *	WARMUP seconds (default 1; 0 with -n).
 *
 *	-q RATE runs open loop: message k starts at k / RATE seconds
 *	whichever session is free (connections are set up beforehand), so
 *	two milters compared at one RATE see the same offered load and the
 *	latency is service time, not queueing behind a saturated milter.
 *	Starts more than 1 ms late are counted (too few sessions).
 *
 *	Stages timed: conn (connect, OPTNEG and CONNECT), mail, rcpt (each
 *	recipient), eom, and msg (from sending MAIL to the end-of-message
 *	reply: what the milter adds to one message). -R prints the results
 *	only as the RESULT line.
 *
 *	Only unix sockets and loopback addresses are accepted. Every wait
 *	is bounded: a reply not seen within TIMEOUT seconds (default 10)
 *	drops the connection and counts an error; the whole run ends at
 *	SECONDS + TIMEOUT + 5 whatever happens.
 * DIAGNOSTICS
 *	Exit status 0 after a run (whatever the replies were), 1 if no
 *	message completed, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sg_bench.h"

#define SMFI_PROT_VERSION	6
#define MTA_ACTIONS		0x1ffUL		/* every action Postfix 3.7 knows */
#define MTA_PROTOCOL		0x1fffffUL	/* every step flag up to LEADSPC */

/* Protocol step flags (libmilter/mfdef.h); copied to stay header-free. */
#define P_NOCONNECT	0x00000001UL
#define P_NOHELO	0x00000002UL
#define P_NOMAIL	0x00000004UL
#define P_NORCPT	0x00000008UL
#define P_NOBODY	0x00000010UL
#define P_NOHDRS	0x00000020UL
#define P_NOEOH		0x00000040UL
#define P_NR_HDR	0x00000080UL
#define P_NOUNKNOWN	0x00000100UL
#define P_NODATA	0x00000200UL
#define P_RCPT_REJ	0x00000800UL
#define P_NR_CONN	0x00001000UL
#define P_NR_HELO	0x00002000UL
#define P_NR_MAIL	0x00004000UL
#define P_NR_RCPT	0x00008000UL
#define P_NR_DATA	0x00010000UL
#define P_NR_EOH	0x00040000UL
#define P_NR_BODY	0x00080000UL

#define END		((const char *) 0)	/* ends a macro list */
#define NSYM		7		/* SMFIM_CONNECT .. SMFIM_EOH */
#define OUTMAX		(72 * 1024)
#define INMAX		(72 * 1024)

/* Steps of a connection, in order. */
enum step {
    ST_CONNECTING, ST_OPTNEG, ST_CONNECT, ST_HELO, ST_MAIL, ST_RCPT,
    ST_DATA, ST_HDR, ST_EOH, ST_BODY, ST_EOM, ST_CLOSED,
    ST_WAIT,			/* -q: waiting for the message's start time */
};

/* Reply classes, counted per stage. */
enum rclass { R_CONT, R_ACCEPT, R_TEMPFAIL, R_REJECT, R_DISCARD, R_OTHER,
R_NCLASS };
static const char *const rclass_name[R_NCLASS] = {
    "continue", "accept", "tempfail", "reject", "discard", "other",
};

/* Latency stages. */
enum { L_CONN, L_MAIL, L_RCPT, L_EOM, L_MSG, L_N };
static struct sg_lat lat[L_N] = {
    {.name = "conn"}, {.name = "mail"}, {.name = "rcpt"}, {.name = "eom"},
    {.name = "msg"},
};
static const char *const stage_name[] = {"conn", "mail", "rcpt", "eom"};
static unsigned long replies[4][R_NCLASS];

/* Options. */
static const char *opt_socket;
static int opt_sessions = 64;
static double opt_duration = 10;
static long opt_messages;		/* 0: run for opt_duration */
static double opt_warmup = -1;
static int opt_rcpts = 10;
static int opt_rejected;
static long opt_per_conn = 1;
static long opt_logins = 1000;
static long opt_first_login;
static const char *opt_pattern = "user%d@example.net";
static int opt_body = 1024;
static int opt_sendmail;
static int opt_abort;			/* -A: ABORT after every message */
static double opt_timeout = 10;
static int opt_result_only;
static const char *opt_label = "";
static int opt_verbose;
static double opt_rate;			/* -q: messages per second, 0: flat out */
static int64_t rate_next, rate_period;

/* One MTA session (one milter connection at a time). */
struct sess {
    int     id;
    int     fd;
    unsigned gen;			/* bumped by every (re)connect */
    enum step step;
    int     sub;			/* recipient or header index */
    int     want_reply;
    unsigned char out[OUTMAX];
    size_t  outlen, outoff;
    unsigned char in[INMAX];
    size_t  inlen;
    int64_t t_conn, t_sent, t_msg, deadline;
    long    on_conn;		/* messages begun on this connection */
    int     in_msg;			/* a message is under way */
    int     record;			/* this message is after the warm-up */
    int     rcpt_ok;			/* recipients the milter let through */
    unsigned long msgno;
    char    login[256];
    char    qid[16];
    int     have_slot;			/* -q: slot taken, not yet used */
    int64_t slot;
    unsigned long prot;		/* step flags the milter asked for */
    char   *sym[NSYM];		/* macro lists, NULL: send defaults */
    int     have_sym;
};

/* Totals. */
static struct {
    unsigned long late;			/* -q: starts more than 1 ms late */
    unsigned long msgs, accepted, held, tempfail, reject, discard,
            other, mail_accept, errors, timeouts, conns, conns_refused,
            started, all_rcpts_refused, rcpt_tempfail;
    int64_t t_last;
} tot;

static int epfd;
static int stopping;
static int64_t t_start, t_warm, t_stop, t_hard;
static unsigned long next_login, next_msgno;
static int open_conns;
static struct sess *sessions;
static char *body_chunk;

/* usage - how to call */
static void usage(void)
{
    fprintf(stderr,
	    "usage: sg-milterload -s SOCKET [-c SESSIONS] [-d SECONDS | -n MESSAGES]\n"
	    "         [-w WARMUP] [-r RCPTS] [-x REJECTED] [-m MSGS_PER_CONN]\n"
	    "         [-k LOGINS] [-K FIRST] [-l PATTERN] [-z BODY_BYTES] [-S] [-A]\n"
	    "         [-q RATE] [-T TIMEOUT] [-L LABEL] [-R] [-v]\n"
	    "  -q RATE  start RATE messages per second in all (open loop)\n"
	    "  SOCKET: unix:/path, inet:PORT@127.0.0.1 or 127.0.0.1:PORT\n"
	    "  -S  Sendmail style: {i} at MAIL too   -A  ABORT after each message\n"
	    "  -R  only the RESULT line              -v  show the negotiation\n");
    exit(2);
}

/* ---- packets ---------------------------------------------------------- */

/* put_u32 - big-endian */
static void put_u32(unsigned char *p, uint32_t v)
{
    v = htonl(v);
    memcpy(p, &v, 4);
}

/* get_u32 - big-endian */
static uint32_t get_u32(const unsigned char *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return (ntohl(v));
}

/* pkt_begin - start a packet in the session's output; returns its offset */
static size_t pkt_begin(struct sess *s, int cmd)
{
    size_t  at = s->outlen;

    if (s->outlen + 5 > OUTMAX)
	sg_die("output buffer overflow");
    s->outlen += 4;
    s->out[s->outlen++] = (unsigned char) cmd;
    return (at);
}

/* pkt_bytes - append raw bytes */
static void pkt_bytes(struct sess *s, const void *p, size_t n)
{
    if (s->outlen + n > OUTMAX)
	sg_die("output buffer overflow (body too large?)");
    memcpy(s->out + s->outlen, p, n);
    s->outlen += n;
}

/* pkt_str - append a string and its NUL */
static void pkt_str(struct sess *s, const char *str)
{
    pkt_bytes(s, str, strlen(str) + 1);
}

/* pkt_end - fill in the length */
static void pkt_end(struct sess *s, size_t at)
{
    put_u32(s->out + at, (uint32_t) (s->outlen - at - 4));
}

/* sym_wanted - whether the milter's list for a stage names a macro */
static int sym_wanted(const struct sess *s, int stage, const char *name)
{
    const char *list, *p;
    size_t  n;
    char    bare[64];

    if (!s->have_sym || (list = s->sym[stage]) == 0)
	return (1);
    /* Compare without braces: "{i}" and "i" are one macro. */
    n = strlen(name);
    if (name[0] == '{' && n > 2 && name[n - 1] == '}') {
	name++;
	n -= 2;
    }
    if (n >= sizeof(bare))
	return (0);
    memcpy(bare, name, n);
    bare[n] = 0;
    for (p = list; *p;) {
	const char *e;
	size_t  l;

	while (*p == ' ' || *p == ',')
	    p++;
	for (e = p; *e && *e != ' ' && *e != ','; e++)
	     /* void */ ;
	l = e - p;
	if (l > 2 && p[0] == '{' && p[l - 1] == '}') {
	    if (l - 2 == n && strncmp(p + 1, bare, n) == 0)
		return (1);
	} else if (l == n && strncmp(p, bare, n) == 0) {
	    return (1);
	}
	p = e;
    }
    return (0);
}

/* macros - a SMFIC_MACRO packet for one command: name, value, ..., NULL */
static void macros(struct sess *s, int stage, int cmd,...)
{
    va_list ap;
    const char *name, *value;
    size_t  at = pkt_begin(s, 'D');
    unsigned char c = (unsigned char) cmd;
    int     n = 0;

    pkt_bytes(s, &c, 1);
    va_start(ap, cmd);
    while ((name = va_arg(ap, const char *)) != 0) {
	value = va_arg(ap, const char *);
	if (value && sym_wanted(s, stage, name)) {
	    pkt_str(s, name);
	    pkt_str(s, value);
	    n++;
	}
    }
    va_end(ap);
    if (n == 0)
	s->outlen = at;				/* nothing to send */
    else
	pkt_end(s, at);
}

/* ---- sessions --------------------------------------------------------- */

static void sess_open(struct sess *);
static void advance(struct sess *);
static void sess_close_why(struct sess *, int, int);

#define sess_close(s, e) sess_close_why((s), (e), __LINE__)

/* flush - write what is pending; 0 done, 1 more to write, -1 error */
static int flush(struct sess *s)
{
    ssize_t n;

    while (s->outoff < s->outlen) {
	n = send(s->fd, s->out + s->outoff, s->outlen - s->outoff,
		 MSG_NOSIGNAL);
	if (n < 0) {
	    if (errno == EINTR)
		continue;
	    if (errno == EAGAIN || errno == EWOULDBLOCK)
		return (1);
	    return (-1);
	}
	s->outoff += n;
    }
    s->outoff = s->outlen = 0;
    return (0);
}

/* watch - epoll interest: input always, output while some is pending */
static void watch(struct sess *s, int out)
{
    struct epoll_event ev;

    ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
    ev.data.ptr = s;
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0)
	sg_die("epoll_ctl: %s", strerror(errno));
}

/* sess_close - drop the connection; open a new one unless stopping */
static void sess_close_why(struct sess *s, int error, int line)
{
    if (error && opt_verbose)
	fprintf(stderr, "%s: session %d: error in step %d (line %d)\n",
		sg_progname, s->id, (int) s->step, line);
    if (s->fd >= 0) {
	close(s->fd);
	s->fd = -1;
	open_conns--;
    }
    if (error) {
	tot.errors++;
	if (s->in_msg && s->record)
	    tot.other++;
    }
    s->in_msg = 0;
    s->step = ST_CLOSED;
    if (!stopping && (opt_messages == 0 || tot.started < (unsigned long) opt_messages))
	sess_open(s);
}

/* send_now - push the packets built so far; close on error */
static int send_now(struct sess *s)
{
    int     rc = flush(s);

    if (rc < 0) {
	sess_close(s, 1);
	return (-1);
    }
    if (rc > 0)
	watch(s, 1);
    return (0);
}

/* message_done - one message finished at any stage */
static void message_done(struct sess *s, int64_t now)
{
    s->in_msg = 0;
    /* A message that ends after the stop is not counted: the rate is
     * messages completed inside the measured window. */
    if (s->record && (opt_messages || now <= t_stop)) {
	tot.msgs++;
	tot.t_last = now;
	sg_lat_add(&lat[L_MSG], now - s->t_msg);
    } else {
	s->record = 0;
    }
}

/* sess_open - connect a session */
static void sess_open(struct sess *s)
{
    char    err[256];
    struct epoll_event ev;
    int     i;

    s->fd = sg_connect_spec(opt_socket, err, sizeof(err));
    if (s->fd < 0) {
	tot.errors++;
	tot.conns_refused++;
	s->step = ST_CLOSED;
	if (opt_verbose)
	    fprintf(stderr, "%s: %s\n", sg_progname, err);
	return;					/* retried by the timer */
    }
    open_conns++;
    s->gen++;
    s->step = ST_CONNECTING;
    s->outlen = s->outoff = s->inlen = 0;
    s->on_conn = 0;
    s->in_msg = 0;
    s->t_conn = sg_now_ns();
    s->deadline = s->t_conn + (int64_t) (opt_timeout * 1e9);
    for (i = 0; i < NSYM; i++) {
	free(s->sym[i]);
	s->sym[i] = 0;
    }
    s->have_sym = 0;
    ev.events = EPOLLOUT | EPOLLIN;
    ev.data.ptr = s;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
	sg_die("epoll_ctl: %s", strerror(errno));
}

/* expect - wait for a reply to what was just sent */
static void expect(struct sess *s, enum step step)
{
    s->step = step;
    s->want_reply = 1;
    s->t_sent = sg_now_ns();
    s->deadline = s->t_sent + (int64_t) (opt_timeout * 1e9);
}

/* send_optneg - the MTA's offer */
static void send_optneg(struct sess *s)
{
    size_t  at = pkt_begin(s, 'O');
    unsigned char b[12];

    put_u32(b, SMFI_PROT_VERSION);
    put_u32(b + 4, MTA_ACTIONS);
    put_u32(b + 8, MTA_PROTOCOL);
    pkt_bytes(s, b, 12);
    pkt_end(s, at);
    expect(s, ST_OPTNEG);
}

/* start_message - MAIL for the next message, or QUIT */
static void start_message(struct sess *s)
{
    char    from[300], size[32];
    size_t  at;

    if (stopping || s->on_conn >= opt_per_conn
	|| (opt_messages && tot.started >= (unsigned long) opt_messages)) {
	at = pkt_begin(s, 'Q');
	pkt_end(s, at);
	(void) flush(s);			/* QUIT has no reply */
	tot.conns++;
	sess_close(s, 0);
	return;
    }
    if (opt_rate > 0) {
	int64_t now = sg_now_ns();

	/*
	 * Open loop: message k starts at t0 + k / RATE whoever is free, so
	 * both milters see the same offered load and latency is service
	 * time, not queueing behind a saturated milter.
	 */
	if (!s->have_slot) {
	    s->slot = rate_next;
	    rate_next += rate_period;
	    s->have_slot = 1;
	}
	if (s->slot > now) {
	    s->step = ST_WAIT;
	    s->want_reply = 0;
	    s->deadline = s->slot + (int64_t) (opt_timeout * 1e9);
	    return;
	}
	s->have_slot = 0;
	if (now - s->slot > 1000000 && now >= t_warm)
	    tot.late++;
    }
    s->on_conn++;
    tot.started++;
    s->in_msg = 1;
    s->msgno = next_msgno++;
    s->rcpt_ok = 0;
    s->t_msg = sg_now_ns();
    s->record = s->t_msg >= t_warm;
    snprintf(s->login, sizeof(s->login), opt_pattern,
	     (int) (opt_first_login + next_login++ % opt_logins));
    snprintf(s->qid, sizeof(s->qid), "%010lX",
	     (s->msgno * 2654435761UL) & 0xffffffffffUL);
    snprintf(from, sizeof(from), "<%s>", s->login);
    snprintf(size, sizeof(size), "SIZE=%d", opt_body);
    if (s->prot & P_NOMAIL) {
	s->step = ST_MAIL;
	s->want_reply = 0;
	return;
    }
    macros(s, 2, 'M', "i", opt_sendmail ? s->qid : END, "{auth_type}", "PLAIN",
	   "{auth_authen}", s->login, "{mail_addr}", s->login,
	   "{mail_host}", "example.net", "{mail_mailer}", "smtp", END);
    at = pkt_begin(s, 'M');
    pkt_str(s, from);
    pkt_str(s, size);
    pkt_end(s, at);
    if (s->prot & P_NR_MAIL) {
	s->step = ST_MAIL;
	s->want_reply = 0;
	return;
    }
    expect(s, ST_MAIL);
}

/* send_rcpt - recipient number s->sub */
static int send_rcpt(struct sess *s)
{
    char    addr[300], bare[280];
    int     rejected = s->sub >= opt_rcpts - opt_rejected;
    size_t  at;

    if ((rejected && !(s->prot & P_RCPT_REJ)) || (s->prot & P_NORCPT))
	return (0);				/* the milter never sees it */
    if (rejected)
	snprintf(bare, sizeof(bare), "unknown%d.%lu@isp.example", s->sub,
		 s->msgno);
    else
	snprintf(bare, sizeof(bare), "r%d.%lu@remote.example", s->sub,
		 s->msgno);
    snprintf(addr, sizeof(addr), "<%s>", bare);
    macros(s, 3, 'R', "i", (s->sub > 0 || opt_sendmail) ? s->qid : END,
	   "{rcpt_addr}", rejected ? "550 5.1.1 User unknown" : bare,
	   "{rcpt_host}", rejected ? "5.1.1" : "remote.example",
	   "{rcpt_mailer}", rejected ? "error" : "smtp", END);
    at = pkt_begin(s, 'R');
    pkt_str(s, addr);
    pkt_end(s, at);
    return (!(s->prot & P_NR_RCPT));
}

/* send_abort - -A: reset the transaction after each message */
static void send_abort(struct sess *s)
{
    size_t  at;

    if (!opt_abort)
	return;
    at = pkt_begin(s, 'A');
    pkt_end(s, at);
}

/*
 * next_message - the message is over: ABORT, then MAIL of the next one
 * (or QUIT). Returns 1 if a reply is now awaited (the packets are queued,
 * not sent), 0 if the caller should advance, -1 if the session closed.
 */
static int next_message(struct sess *s, int64_t now)
{
    message_done(s, now);
    send_abort(s);
    start_message(s);
    if (s->step == ST_CLOSED || s->fd < 0)
	return (-1);
    return (s->want_reply);
}

/* finish_message - next_message, then send or carry on */
static void finish_message(struct sess *s, int64_t now)
{
    int     rc = next_message(s, now);

    if (rc > 0)
	(void) send_now(s);
    else if (rc == 0)
	advance(s);
}

/*
 * advance - send what comes after the step just answered (or needing no
 * answer), until something needs a reply.
 */
static void advance(struct sess *s)
{
    size_t  at;
    char    ip[32];
    unsigned char fam = '4', port[2] = {0x9c, 0x40};

    for (;;) {
	switch (s->step) {
	case ST_CONNECTING:
	    send_optneg(s);
	    goto sent;
	case ST_OPTNEG:
	    snprintf(ip, sizeof(ip), "10.%d.%d.%d", (s->id >> 16) & 255,
		     (s->id >> 8) & 255, 1 + (s->id & 127));
	    macros(s, 0, 'C', "j", "mail.isp.example", "{daemon_name}",
		   "submission", "{daemon_addr}", "127.0.0.1", "v",
		   "Postfix 3.7.11", "_", "client.example [10.0.0.1]",
		   "{client_addr}", ip, END);
	    s->step = ST_CONNECT;
	    if (s->prot & P_NOCONNECT)
		continue;
	    at = pkt_begin(s, 'C');
	    pkt_str(s, "client.example");
	    pkt_bytes(s, &fam, 1);
	    pkt_bytes(s, port, 2);
	    pkt_str(s, ip);
	    pkt_end(s, at);
	    if (s->prot & P_NR_CONN)
		continue;
	    expect(s, ST_CONNECT);
	    goto sent;
	case ST_CONNECT:
	    {
		int64_t now = sg_now_ns();

		if (now >= t_warm && now <= t_stop)
		    sg_lat_add(&lat[L_CONN], now - s->t_conn);
	    }
	    s->step = ST_HELO;
	    if (s->prot & P_NOHELO)
		continue;
	    macros(s, 1, 'H', END);
	    at = pkt_begin(s, 'H');
	    pkt_str(s, "client.example");
	    pkt_end(s, at);
	    if (s->prot & P_NR_HELO)
		continue;
	    expect(s, ST_HELO);
	    goto sent;
	case ST_HELO:
	    start_message(s);
	    if (s->step == ST_CLOSED || s->fd < 0)
		return;
	    if (s->want_reply)
		goto sent;
	    continue;
	case ST_MAIL:
	    s->step = ST_RCPT;
	    s->sub = 0;
	    goto rcpt;
	case ST_RCPT:
	    s->sub++;
    rcpt:
	    while (s->sub < opt_rcpts) {
		if (send_rcpt(s)) {
		    expect(s, ST_RCPT);
		    goto sent;
		}
		/* No reply expected: the milter let it through. */
		if (s->sub < opt_rcpts - opt_rejected)
		    s->rcpt_ok++;
		s->sub++;
	    }
	    if (s->rcpt_ok == 0) {
		/* Every recipient refused: no DATA; the MTA resets. */
		tot.all_rcpts_refused++;
		if (s->record)
		    tot.tempfail++;
		switch (next_message(s, sg_now_ns())) {
		case -1:
		    return;
		case 1:
		    goto sent;
		default:
		    continue;
		}
	    }
	    s->step = ST_DATA;
	    if (s->prot & P_NODATA)
		continue;
	    macros(s, 4, 'T', "i", s->qid, END);
	    at = pkt_begin(s, 'T');
	    pkt_end(s, at);
	    if (s->prot & P_NR_DATA)
		continue;
	    expect(s, ST_DATA);
	    goto sent;
	case ST_DATA:
	    s->step = ST_HDR;
	    s->sub = -1;
	    /* FALLTHROUGH */
	case ST_HDR:
	    if (s->prot & P_NOHDRS) {
		s->step = ST_EOH;
		s->sub = 0;
		goto eoh;
	    }
	    if (++s->sub < 3) {
		static const char *const hn[] = {"From", "To", "Subject"};
		static const char *const hv[] = {"<sender@example.net>",
		"<r@remote.example>", "load test"};

		macros(s, 6, 'L', END);
		at = pkt_begin(s, 'L');
		pkt_str(s, hn[s->sub]);
		pkt_str(s, hv[s->sub]);
		pkt_end(s, at);
		if (s->prot & P_NR_HDR)
		    continue;
		expect(s, ST_HDR);
		goto sent;
	    }
	    s->step = ST_EOH;
    eoh:
	    if (!(s->prot & P_NOEOH)) {
		at = pkt_begin(s, 'N');
		pkt_end(s, at);
		if (!(s->prot & P_NR_EOH)) {
		    expect(s, ST_EOH);
		    goto sent;
		}
	    }
	    /* FALLTHROUGH */
	case ST_EOH:
	    s->step = ST_BODY;
	    if (!(s->prot & P_NOBODY) && opt_body > 0) {
		at = pkt_begin(s, 'B');
		pkt_bytes(s, body_chunk, opt_body);
		pkt_end(s, at);
		if (!(s->prot & P_NR_BODY)) {
		    expect(s, ST_BODY);
		    goto sent;
		}
	    }
	    /* FALLTHROUGH */
	case ST_BODY:
	    macros(s, 5, 'E', "i", s->qid, "{auth_authen}", s->login, END);
	    at = pkt_begin(s, 'E');
	    pkt_end(s, at);
	    expect(s, ST_EOM);
	    goto sent;
	case ST_WAIT:
	    goto sent;				/* flush the ABORT, if any */
	case ST_EOM:
	case ST_CLOSED:
	    return;
	}
    }
sent:
    (void) send_now(s);
}

/* classify - a reply command as a class; 4xx/5xx from the text */
static enum rclass classify(int cmd, const unsigned char *data, size_t len)
{
    switch (cmd) {
    case 'c':
    case 's':
	return (R_CONT);
    case 'a':
	return (R_ACCEPT);
    case 't':
	return (R_TEMPFAIL);
    case 'r':
	return (R_REJECT);
    case 'd':
	return (R_DISCARD);
    case 'y':
	if (len > 0 && data[0] == '4')
	    return (R_TEMPFAIL);
	if (len > 0 && data[0] == '5')
	    return (R_REJECT);
	return (R_OTHER);
    default:
	return (R_OTHER);
    }
}

/* parse_optneg - the milter's answer: its step flags and macro lists */
static int parse_optneg(struct sess *s, const unsigned char *d, size_t len)
{
    size_t  off = 12;

    if (len < 12)
	return (-1);
    s->prot = get_u32(d + 8);
    while (off + 5 <= len) {
	uint32_t id = get_u32(d + off);
	const unsigned char *str = d + off + 4;
	size_t  n = strnlen((const char *) str, len - off - 4);

	if (off + 4 + n >= len)
	    break;
	if (id < NSYM) {
	    free(s->sym[id]);
	    s->sym[id] = strndup((const char *) str, n);
	    s->have_sym = 1;
	}
	off += 4 + n + 1;
    }
    if (opt_verbose && s->id == 0 && tot.conns == 0) {
	int     i;

	fprintf(stderr, "%s: milter version %u actions 0x%x protocol 0x%lx\n",
		sg_progname, get_u32(d), get_u32(d + 4), s->prot);
	for (i = 0; i < NSYM; i++)
	    if (s->sym[i])
		fprintf(stderr, "%s: macros for stage %d: %s\n", sg_progname,
			i, s->sym[i]);
    }
    return (0);
}

/* on_reply - one packet from the milter */
static void on_reply(struct sess *s, int cmd, const unsigned char *d,
		             size_t len)
{
    int64_t now = sg_now_ns();
    enum rclass rc;

    if (!s->want_reply) {
	sess_close(s, 1);			/* a reply nobody asked for */
	return;
    }
    /* Only what ends inside the measured window counts. */
    if (s->record && !opt_messages && now > t_stop)
	s->record = 0;
    if (s->step == ST_OPTNEG) {
	if (cmd != 'O' || parse_optneg(s, d, len) < 0) {
	    sess_close(s, 1);
	    return;
	}
	s->want_reply = 0;
	advance(s);
	return;
    }
    /* Progress and modifications come before the final answer. */
    if (cmd == 'p') {
	s->deadline = now + (int64_t) (opt_timeout * 1e9);
	return;
    }
    if (strchr("+-2behimql", cmd)) {
	if (cmd == 'q' && s->step == ST_EOM && s->record)
	    tot.held++;
	return;
    }
    rc = classify(cmd, d, len);
    s->want_reply = 0;
    switch (s->step) {
    case ST_CONNECT:
	replies[0][rc]++;
	if (rc != R_CONT) {
	    tot.conns++;
	    sess_close(s, 0);
	    return;
	}
	break;
    case ST_MAIL:
	replies[1][rc]++;
	if (s->record)
	    sg_lat_add(&lat[L_MAIL], now - s->t_sent);
	if (rc != R_CONT) {
	    if (s->record) {
		if (rc == R_ACCEPT)
		    tot.mail_accept++, tot.accepted++;
		else if (rc == R_TEMPFAIL)
		    tot.tempfail++;
		else if (rc == R_REJECT)
		    tot.reject++;
		else
		    tot.other++;
	    }
	    finish_message(s, now);
	    return;
	}
	break;
    case ST_RCPT:
	replies[2][rc]++;
	if (s->record)
	    sg_lat_add(&lat[L_RCPT], now - s->t_sent);
	if (s->sub < opt_rcpts - opt_rejected) {
	    if (rc == R_CONT || rc == R_ACCEPT)
		s->rcpt_ok++;
	    else if (rc == R_TEMPFAIL)
		tot.rcpt_tempfail++;
	}
	break;
    case ST_DATA:
    case ST_HDR:
    case ST_EOH:
    case ST_BODY:
	if (rc != R_CONT) {
	    if (s->record)
		tot.other++;
	    finish_message(s, now);
	    return;
	}
	break;
    case ST_EOM:
	replies[3][rc]++;
	if (s->record) {
	    sg_lat_add(&lat[L_EOM], now - s->t_sent);
	    if (rc == R_CONT || rc == R_ACCEPT)
		tot.accepted++;
	    else if (rc == R_TEMPFAIL)
		tot.tempfail++;
	    else if (rc == R_REJECT)
		tot.reject++;
	    else if (rc == R_DISCARD)
		tot.discard++;
	    else
		tot.other++;
	}
	finish_message(s, now);
	return;
    default:
	sess_close(s, 1);
	return;
    }
    advance(s);
}

/* on_input - read and dispatch whole packets */
static void on_input(struct sess *s)
{
    ssize_t n;
    size_t  off = 0;

    n = recv(s->fd, s->in + s->inlen, INMAX - s->inlen, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
	return;
    if (n <= 0) {
	sess_close(s, 1);			/* the milter hung up */
	return;
    }
    s->inlen += n;
    while (s->inlen - off >= 5) {
	uint32_t len = get_u32(s->in + off);
	unsigned gen = s->gen;

	if (len == 0 || len > INMAX - 4) {
	    sess_close(s, 1);
	    return;
	}
	if (s->inlen - off < 4 + len)
	    break;
	on_reply(s, s->in[off + 4], s->in + off + 5, len - 1);
	if (s->gen != gen || s->fd < 0)
	    return;				/* closed, maybe reopened */
	off += 4 + len;
    }
    memmove(s->in, s->in + off, s->inlen - off);
    s->inlen -= off;
}

/* on_event - epoll said something about a session */
static void on_event(struct sess *s, uint32_t ev)
{
    int     err = 0;
    socklen_t elen = sizeof(err);

    if (s->fd < 0)
	return;
    if (s->step == ST_CONNECTING) {
	if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
	    return;				/* stale: not connected yet */
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
	    tot.conns_refused++;
	    sess_close(s, 1);
	    return;
	}
	watch(s, 0);
	advance(s);
	return;
    }
    if (ev & EPOLLOUT) {
	int     rc = flush(s);

	if (rc < 0) {
	    sess_close(s, 1);
	    return;
	}
	if (rc == 0)
	    watch(s, 0);
    }
    if (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))
	on_input(s);
}

/* timers - time out stuck sessions, reopen refused ones */
static void timers(int64_t now)
{
    int     i;

    for (i = 0; i < opt_sessions; i++) {
	struct sess *s = sessions + i;

	if (s->fd >= 0 && s->step == ST_WAIT && now >= s->slot && !stopping) {
	    s->step = ST_HELO;			/* start the message */
	    advance(s);
	} else if (s->fd >= 0 && now > s->deadline) {
	    tot.timeouts++;
	    sess_close(s, 1);
	} else if (s->fd < 0 && !stopping
		   && (opt_messages == 0
		       || tot.started < (unsigned long) opt_messages)) {
	    sess_open(s);
	}
    }
}

/* wait_ms - how long epoll may sleep: 50 ms, or until the next -q start */
static int wait_ms(int64_t now)
{
    int64_t first = now + 50000000;
    int     i;

    if (opt_rate > 0)
	for (i = 0; i < opt_sessions; i++)
	    if (sessions[i].fd >= 0 && sessions[i].step == ST_WAIT
		&& sessions[i].slot < first)
		first = sessions[i].slot;
    if (first <= now)
	return (0);
    return ((int) ((first - now + 999999) / 1000000));
}

/* report - the table and the RESULT line */
static void report(void)
{
    double  secs;
    int     i, j;

    if (opt_messages)
	secs = (tot.t_last - (t_warm > t_start ? t_warm : t_start)) / 1e9;
    else
	secs = (t_stop - t_warm) / 1e9;
    if (secs <= 0)
	secs = 1e-9;
    if (!opt_result_only) {
	printf("sg-milterload %s%s%s: %d sessions, %d rcpts/msg (%d rejected "
	       "by the MTA), %ld msgs/conn, %ld logins\n", opt_socket,
	       opt_label[0] ? " " : "", opt_label, opt_sessions, opt_rcpts,
	       opt_rejected, opt_per_conn, opt_logins);
	printf("messages %lu in %.2f s: %.1f msgs/s; connections %lu; "
	       "errors %lu (timeouts %lu)\n", tot.msgs, secs, tot.msgs / secs,
	       tot.conns, tot.errors, tot.timeouts);
	if (opt_rate > 0)
	    printf("offered %.0f msgs/s; %lu starts more than 1 ms late%s\n",
		   opt_rate, tot.late, tot.late ? " (too few sessions, or "
		   "the milter cannot keep up)" : "");
	printf("outcome: accepted %lu (at MAIL %lu) held %lu tempfail %lu "
	       "reject %lu discard %lu other %lu; recipients tempfailed %lu\n",
	       tot.accepted, tot.mail_accept, tot.held, tot.tempfail,
	       tot.reject, tot.discard, tot.other, tot.rcpt_tempfail);
	for (i = 0; i < 4; i++) {
	    printf("replies %-5s", stage_name[i]);
	    for (j = 0; j < R_NCLASS; j++)
		if (replies[i][j])
		    printf(" %s=%lu", rclass_name[j], replies[i][j]);
	    printf("\n");
	}
	sg_lat_table(lat, L_N);
    }
    printf("RESULT tool=milterload label=%s sessions=%d rcpts=%d rejected=%d "
	   "per_conn=%ld logins=%ld msgs=%lu secs=%.3f mps=%.1f conns=%lu "
	   "errors=%lu timeouts=%lu accepted=%lu held=%lu tempfail=%lu "
	   "reject=%lu other=%lu rcpt_tempfail=%lu begun=%lu rate=%.0f late=%lu "
	   "accepted_at_mail=%lu",
	   opt_label[0] ? opt_label : "-", opt_sessions, opt_rcpts,
	   opt_rejected, opt_per_conn, opt_logins, tot.msgs, secs,
	   tot.msgs / secs, tot.conns, tot.errors, tot.timeouts, tot.accepted,
	   tot.held, tot.tempfail, tot.reject, tot.other, tot.rcpt_tempfail,
	   tot.started, opt_rate, tot.late, tot.mail_accept);
    for (i = 0; i < L_N; i++)
	sg_lat_result(&lat[i]);
    printf("\n");
    fflush(stdout);
}

int     main(int argc, char **argv)
{
    struct epoll_event evs[256];
    char    err[256];
    int     ch, i, n;
    int64_t now;

    sg_progname = "sg-milterload";
    while ((ch = getopt(argc, argv, "AK:L:Rc:d:k:l:m:n:q:r:s:ST:vw:x:z:")) != -1) {
	switch (ch) {
	case 'A':
	    opt_abort = 1;
	    break;
	case 'K':
	    opt_first_login = sg_atol_range("-K", optarg, 0, 2000000000);
	    break;
	case 'L':
	    opt_label = optarg;
	    break;
	case 'R':
	    opt_result_only = 1;
	    break;
	case 'S':
	    opt_sendmail = 1;
	    break;
	case 'T':
	    opt_timeout = sg_atof_range("-T", optarg, 0.01, 600);
	    break;
	case 'c':
	    opt_sessions = (int) sg_atol_range("-c", optarg, 1, 10000);
	    break;
	case 'd':
	    opt_duration = sg_atof_range("-d", optarg, 0.1, 86400);
	    break;
	case 'k':
	    opt_logins = sg_atol_range("-k", optarg, 1, 100000000);
	    break;
	case 'l':
	    opt_pattern = optarg;
	    break;
	case 'm':
	    opt_per_conn = sg_atol_range("-m", optarg, 1, 1000000000);
	    break;
	case 'n':
	    opt_messages = sg_atol_range("-n", optarg, 1, 1000000000);
	    break;
	case 'r':
	    opt_rcpts = (int) sg_atol_range("-r", optarg, 1, 1000);
	    break;
	case 's':
	    opt_socket = optarg;
	    break;
	case 'q':
	    opt_rate = sg_atof_range("-q", optarg, 1, 1e7);
	    break;
	case 'v':
	    opt_verbose = 1;
	    break;
	case 'w':
	    opt_warmup = sg_atof_range("-w", optarg, 0, 3600);
	    break;
	case 'x':
	    opt_rejected = (int) sg_atol_range("-x", optarg, 0, 1000);
	    break;
	case 'z':
	    opt_body = (int) sg_atol_range("-z", optarg, 0, 65535);
	    break;
	default:
	    usage();
	}
    }
    if (optind != argc || opt_socket == 0)
	usage();
    if (opt_rejected > opt_rcpts)
	sg_die("-x %d: more rejected recipients than recipients (%d)",
	       opt_rejected, opt_rcpts);
    {
	/* One %d and nothing else that printf would read. */
	const char *p = strchr(opt_pattern, '%');

	if (p == 0 || p[1] != 'd' || strchr(p + 2, '%'))
	    sg_die("-l %s: want exactly one %%d", opt_pattern);
    }
    if (sg_check_spec(opt_socket, err, sizeof(err)) < 0)
	sg_die("-s %s: %s", opt_socket, err);
    if (opt_warmup < 0)
	opt_warmup = opt_messages ? 0 : 1;
    signal(SIGPIPE, SIG_IGN);
    if ((body_chunk = malloc(opt_body + 1)) == 0)
	sg_die("out of memory");
    for (i = 0; i < opt_body; i++)
	body_chunk[i] = (i % 78 == 76) ? '\r' : (i % 78 == 77) ? '\n' : 'x';
    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
	sg_die("epoll_create1: %s", strerror(errno));
    if ((sessions = calloc(opt_sessions, sizeof(*sessions))) == 0)
	sg_die("out of memory");

    t_start = sg_now_ns();
    if (opt_rate > 0) {
	rate_period = (int64_t) (1e9 / opt_rate);
	rate_next = t_start;
    }
    t_warm = t_start + (int64_t) (opt_warmup * 1e9);
    t_stop = opt_messages ? INT64_MAX
	: t_warm + (int64_t) (opt_duration * 1e9);
    t_hard = opt_messages ? t_start + (int64_t) (3600 * 1e9)
	: t_stop + (int64_t) ((opt_timeout + 5) * 1e9);
    for (i = 0; i < opt_sessions; i++) {
	sessions[i].id = i;
	sessions[i].fd = -1;
	sess_open(&sessions[i]);
    }
    for (;;) {
	n = epoll_wait(epfd, evs, 256, wait_ms(sg_now_ns()));
	if (n < 0 && errno != EINTR)
	    sg_die("epoll_wait: %s", strerror(errno));
	for (i = 0; i < n; i++)
	    on_event(evs[i].data.ptr, evs[i].events);
	now = sg_now_ns();
	if (!stopping && (now >= t_stop
			  || (opt_messages
			      && tot.started >= (unsigned long) opt_messages
			      && open_conns == 0)))
	    stopping = 1;
	if (!stopping && opt_messages && now > t_hard)
	    stopping = 1;
	if (stopping) {
	    /* Idle sessions quit; busy ones finish their message. */
	    for (i = 0; i < opt_sessions; i++) {
		struct sess *s = sessions + i;

		if (s->fd >= 0 && !s->in_msg && s->step != ST_CONNECTING
		    && s->want_reply == 0)
		    start_message(s);		/* sends QUIT */
	    }
	    if (open_conns == 0 || now > t_hard)
		break;
	}
	timers(now);
    }
    if (opt_messages && tot.t_last)
	t_stop = tot.t_last;
    else if (!opt_messages && stopping)
	t_stop = t_stop < now ? t_stop : now;
    report();
    return (tot.msgs ? 0 : 1);
}
