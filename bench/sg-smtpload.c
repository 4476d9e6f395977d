/*
 * NAME
 *	sg-smtpload 1
 * SUMMARY
 *	authenticated submission load: many concurrent SMTP AUTH sessions
 * SYNOPSIS
 *	sg-smtpload -s HOST:PORT [-c SESSIONS] [-d SECONDS | -n MESSAGES]
 *		[-w WARMUP] [-m MSGS_PER_SESSION] [-r RCPTS] [-x REJECTED]
 *		[-z SIZE] [-k LOGINS] [-K FIRST] [-l PATTERN] [-p PASSWORD]
 *		[-q RATE] [-T TIMEOUT] [-L LABEL] [-R] [-v]
 * DESCRIPTION
 *	What smtp-source(1) does, with AUTH PLAIN: SESSIONS concurrent SMTP
 *	sessions, each connect, EHLO, AUTH PLAIN as a login from PATTERN
 *	(default user%d@example.net; LOGINS accounts starting at FIRST,
 *	taken round-robin, password PASSWORD, default "secret"), then
 *	MSGS_PER_SESSION messages (default 1) of RCPTS recipients (default
 *	1) and SIZE bytes (default 2048), then QUIT, and a new session.
 *	REJECTED of the recipients go to unknownN@isp.example, which the
 *	test world's Postfix refuses at RCPT (tests/e2e/harness.sh).
 *
 *	No PIPELINING: each command waits for its reply, as most mail
 *	programs do, so every stage has its own latency: conn (connect to
 *	banner), ehlo, auth, mail, rcpt, data (DATA to 354), dot (the body
 *	and its final reply: the MTA's end-of-message work, milter
 *	included), msg (MAIL to the final reply). Replies are counted as
 *	2xx/3xx/4xx/5xx per stage; a message counts as accepted only on a
 *	2xx final reply.
 *
 *	-q RATE starts RATE messages per second in all (open loop) instead
 *	of running flat out. The run ends after SECONDS (default 10) or
 *	MESSAGES; sessions finish the message in hand. Only loopback
 *	addresses are accepted. Every wait is bounded by TIMEOUT (default
 *	30 s); the run ends at SECONDS + TIMEOUT + 5 whatever happens.
 * DIAGNOSTICS
 *	Exit status 0 after a run, 1 if no message was accepted, 2 on bad
 *	usage. -v prints the first unexpected reply of each kind.
 */
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

#define CMDMAX	1024
#define INMAX	8192

enum step {
    ST_CONNECTING, ST_BANNER, ST_EHLO, ST_AUTH, ST_MAIL, ST_RCPT, ST_DATA,
    ST_DOT, ST_RSET, ST_QUIT, ST_CLOSED, ST_WAIT,
};

/* Reply counts per stage: 2xx 3xx 4xx 5xx other. */
enum { S_CONN, S_EHLO, S_AUTH, S_MAIL, S_RCPT, S_DATA, S_DOT, S_QUIT, S_N };
static const char *const sname[S_N] = {
    "conn", "ehlo", "auth", "mail", "rcpt", "data", "dot", "quit",
};
static unsigned long codes[S_N][5];

enum { L_CONN, L_EHLO, L_AUTH, L_MAIL, L_RCPT, L_DATA, L_DOT, L_MSG, L_N };
static struct sg_lat lat[L_N] = {
    {.name = "conn"}, {.name = "ehlo"}, {.name = "auth"}, {.name = "mail"},
    {.name = "rcpt"}, {.name = "data"}, {.name = "dot"}, {.name = "msg"},
};

/* Options. */
static const char *opt_server;
static int opt_sessions = 50;
static double opt_duration = 10;
static long opt_messages;
static double opt_warmup = -1;
static long opt_per_sess = 1;
static int opt_rcpts = 1;
static int opt_rejected;
static long opt_size = 2048;
static long opt_logins = 100;
static long opt_first_login;
static const char *opt_pattern = "user%d@example.net";
static const char *opt_password = "secret";
static double opt_rate;
static double opt_timeout = 30;
static const char *opt_label = "";
static int opt_result_only;
static int opt_verbose;

struct sess {
    int     id;
    int     fd;
    unsigned gen;
    enum step step;
    int     sub;			/* recipient index */
    char    cmd[CMDMAX];		/* a command being written */
    const char *wp;			/* what is being written */
    size_t  wlen;
    char    in[INMAX];
    size_t  inlen;
    int64_t t_conn, t_sent, t_msg, deadline, slot;
    int     have_slot;
    long    on_sess;
    int     in_msg, record, rcpt_ok;
    unsigned long msgno;
    char    login[256];
};

static struct {
    unsigned long msgs, accepted, tempfail, reject, failed_mail,
            no_rcpt, errors, timeouts, sessions, auth_fail, started, late;
    unsigned long all;			/* every message that ended, counted
					 * or not (warm-up, tail) */
    int64_t t_last;
} tot;

static int epfd, stopping, open_conns;
static int64_t t_start, t_warm, t_stop, t_hard, rate_next, rate_period;
static unsigned long next_login, next_msgno;
static struct sess *sessions;
static char *body;
static size_t body_len;
static int warned[S_N][5];

static void sess_open(struct sess *);
static void sess_close_why(struct sess *, int, int);

#define sess_close(s, e) sess_close_why((s), (e), __LINE__)

/* usage - how to call */
static void usage(void)
{
    fprintf(stderr,
	    "usage: sg-smtpload -s HOST:PORT [-c SESSIONS] [-d SECONDS | -n MESSAGES]\n"
	    "         [-w WARMUP] [-m MSGS_PER_SESSION] [-r RCPTS] [-x REJECTED]\n"
	    "         [-z SIZE] [-k LOGINS] [-K FIRST] [-l PATTERN] [-p PASSWORD]\n"
	    "         [-q RATE] [-T TIMEOUT] [-L LABEL] [-R] [-v]\n");
    exit(2);
}

/* b64 - base64 of n bytes into out (NUL-terminated) */
static void b64(const unsigned char *in, size_t n, char *out)
{
    static const char t[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t  i;
    char   *o = out;

    for (i = 0; i + 2 < n; i += 3) {
	*o++ = t[in[i] >> 2];
	*o++ = t[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
	*o++ = t[((in[i + 1] & 15) << 2) | (in[i + 2] >> 6)];
	*o++ = t[in[i + 2] & 63];
    }
    if (i < n) {
	*o++ = t[in[i] >> 2];
	if (i + 1 < n) {
	    *o++ = t[((in[i] & 3) << 4) | (in[i + 1] >> 4)];
	    *o++ = t[(in[i + 1] & 15) << 2];
	} else {
	    *o++ = t[(in[i] & 3) << 4];
	    *o++ = '=';
	}
	*o++ = '=';
    }
    *o = 0;
}

/* watch - epoll interest */
static void watch(struct sess *s, int out)
{
    struct epoll_event ev;

    ev.events = EPOLLIN | (out ? EPOLLOUT : 0);
    ev.data.ptr = s;
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0)
	sg_die("epoll_ctl: %s", strerror(errno));
}

/* flush - write what is pending: 0 done, 1 more, -1 error */
static int flush(struct sess *s)
{
    ssize_t n;

    while (s->wlen > 0) {
	n = send(s->fd, s->wp, s->wlen, MSG_NOSIGNAL);
	if (n < 0) {
	    if (errno == EINTR)
		continue;
	    if (errno == EAGAIN || errno == EWOULDBLOCK)
		return (1);
	    return (-1);
	}
	s->wp += n;
	s->wlen -= n;
    }
    return (0);
}

/* put - send a command (or the body) and wait for the reply to it */
static void put(struct sess *s, enum step step, const char *data, size_t len)
{
    int     rc;

    s->wp = data;
    s->wlen = len;
    s->step = step;
    s->t_sent = sg_now_ns();
    s->deadline = s->t_sent + (int64_t) (opt_timeout * 1e9);
    if ((rc = flush(s)) < 0)
	sess_close(s, 1);
    else if (rc > 0)
	watch(s, 1);
}

/* command - format a command line into the session and send it */
static void command(struct sess *s, enum step step, const char *fmt,...)
{
    va_list ap;
    int     n;

    va_start(ap, fmt);
    n = vsnprintf(s->cmd, sizeof(s->cmd) - 2, fmt, ap);
    va_end(ap);
    if (n < 0 || n >= (int) sizeof(s->cmd) - 2)
	sg_die("command too long");
    memcpy(s->cmd + n, "\r\n", 2);
    put(s, step, s->cmd, n + 2);
}

/* sess_close_why - drop the session; open a new one unless stopping */
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
    if (error)
	tot.errors++;
    s->in_msg = 0;
    s->step = ST_CLOSED;
    if (!stopping && (opt_messages == 0
		      || tot.started < (unsigned long) opt_messages))
	sess_open(s);
}

/* sess_open - connect */
static void sess_open(struct sess *s)
{
    char    err[256];
    struct epoll_event ev;

    if ((s->fd = sg_connect_spec(opt_server, err, sizeof(err))) < 0) {
	tot.errors++;
	s->step = ST_CLOSED;
	if (opt_verbose)
	    fprintf(stderr, "%s: %s\n", sg_progname, err);
	return;
    }
    open_conns++;
    s->gen++;
    s->step = ST_CONNECTING;
    s->inlen = 0;
    s->wlen = 0;
    s->on_sess = 0;
    s->in_msg = 0;
    s->have_slot = 0;
    s->t_conn = sg_now_ns();
    s->deadline = s->t_conn + (int64_t) (opt_timeout * 1e9);
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = s;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
	sg_die("epoll_ctl: %s", strerror(errno));
}

/* counted - whether what ends now belongs to the measurement */
static int counted(struct sess *s, int64_t now)
{
    if (s->record && !opt_messages && now > t_stop)
	s->record = 0;
    return (s->record);
}

/* start_message - MAIL FROM of the next message, or QUIT */
static void start_message(struct sess *s)
{
    int64_t now = sg_now_ns();

    if (stopping || s->on_sess >= opt_per_sess
	|| (opt_messages && tot.started >= (unsigned long) opt_messages)) {
	command(s, ST_QUIT, "QUIT");
	return;
    }
    if (opt_rate > 0) {
	if (!s->have_slot) {
	    s->slot = rate_next;
	    rate_next += rate_period;
	    s->have_slot = 1;
	}
	if (s->slot > now) {
	    s->step = ST_WAIT;
	    s->deadline = s->slot + (int64_t) (opt_timeout * 1e9);
	    return;
	}
	s->have_slot = 0;
	if (now - s->slot > 1000000 && now >= t_warm)
	    tot.late++;
    }
    s->on_sess++;
    tot.started++;
    s->in_msg = 1;
    s->msgno = next_msgno++;
    s->rcpt_ok = 0;
    s->sub = 0;
    s->t_msg = now;
    s->record = now >= t_warm;
    command(s, ST_MAIL, "MAIL FROM:<%s> SIZE=%zu", s->login, body_len);
}

/* send_rcpt - RCPT TO for recipient s->sub */
static void send_rcpt(struct sess *s)
{
    if (s->sub >= opt_rcpts - opt_rejected)
	command(s, ST_RCPT, "RCPT TO:<unknown%d.%lu@isp.example>", s->sub,
		s->msgno);
    else
	command(s, ST_RCPT, "RCPT TO:<r%d.%lu@remote.example>", s->sub,
		s->msgno);
}

/* message_end - a message is over (any outcome); class is the reply's
 * first digit, or 0 for "never got to DATA" */
static void message_end(struct sess *s, int64_t now, int class)
{
    s->in_msg = 0;
    tot.all++;				/* warm-up and tail included */
    if (!counted(s, now))
	return;
    tot.msgs++;
    tot.t_last = now;
    if (class == 2)
	tot.accepted++;
    else if (class == 4)
	tot.tempfail++;
    else if (class == 5)
	tot.reject++;
    sg_lat_add(&lat[L_MSG], now - s->t_msg);
}

/* stage_of - which reply table a step counts in */
static int stage_of(enum step st)
{
    switch (st) {
    case ST_BANNER:
	return (S_CONN);
    case ST_EHLO:
	return (S_EHLO);
    case ST_AUTH:
	return (S_AUTH);
    case ST_MAIL:
	return (S_MAIL);
    case ST_RCPT:
	return (S_RCPT);
    case ST_DATA:
	return (S_DATA);
    case ST_DOT:
	return (S_DOT);
    default:
	return (S_QUIT);
    }
}

/* on_reply - one complete (possibly multi-line) reply */
static void on_reply(struct sess *s, int code, const char *text)
{
    int64_t now = sg_now_ns();
    int     class = code / 100;
    int     st = stage_of(s->step);
    int     ci = (class >= 2 && class <= 5) ? class - 2 : 4;
    char    plain[600], auth[820];
    int     n;

    codes[st][ci]++;
    if (opt_verbose && class != 2 && !(class == 3 && s->step == ST_DATA)
	&& !warned[st][ci]) {
	warned[st][ci] = 1;
	fprintf(stderr, "%s: %s: %d %s\n", sg_progname, sname[st], code,
		text);
    }
    switch (s->step) {
    case ST_BANNER:
	if (now >= t_warm && now <= t_stop)
	    sg_lat_add(&lat[L_CONN], now - s->t_conn);
	if (class != 2) {
	    sess_close(s, 1);
	    return;
	}
	command(s, ST_EHLO, "EHLO load%d.example", s->id);
	return;
    case ST_EHLO:
	if (now >= t_warm && now <= t_stop)
	    sg_lat_add(&lat[L_EHLO], now - s->t_sent);
	if (class != 2) {
	    sess_close(s, 1);
	    return;
	}
	snprintf(s->login, sizeof(s->login), opt_pattern,
		 (int) (opt_first_login + next_login++ % opt_logins));
	n = snprintf(plain, sizeof(plain), "%c%s%c%s", 0, s->login, 0,
		     opt_password);
	if (n < 0 || n >= (int) sizeof(plain))
	    sg_die("login or password too long");
	b64((unsigned char *) plain, n, auth);
	command(s, ST_AUTH, "AUTH PLAIN %s", auth);
	return;
    case ST_AUTH:
	if (now >= t_warm && now <= t_stop)
	    sg_lat_add(&lat[L_AUTH], now - s->t_sent);
	if (class != 2) {
	    tot.auth_fail++;
	    command(s, ST_QUIT, "QUIT");
	    return;
	}
	start_message(s);
	return;
    case ST_MAIL:
	if (s->record)
	    sg_lat_add(&lat[L_MAIL], now - s->t_sent);
	if (class != 2) {
	    if (counted(s, now))
		tot.failed_mail++;
	    message_end(s, now, class);
	    command(s, ST_RSET, "RSET");
	    return;
	}
	send_rcpt(s);
	return;
    case ST_RCPT:
	if (s->record)
	    sg_lat_add(&lat[L_RCPT], now - s->t_sent);
	if (class == 2)
	    s->rcpt_ok++;
	if (++s->sub < opt_rcpts) {
	    send_rcpt(s);
	    return;
	}
	if (s->rcpt_ok == 0) {
	    if (counted(s, now))
		tot.no_rcpt++;
	    message_end(s, now, 4);
	    command(s, ST_RSET, "RSET");
	    return;
	}
	command(s, ST_DATA, "DATA");
	return;
    case ST_DATA:
	if (s->record)
	    sg_lat_add(&lat[L_DATA], now - s->t_sent);
	if (class != 3) {
	    message_end(s, now, class);
	    command(s, ST_RSET, "RSET");
	    return;
	}
	put(s, ST_DOT, body, body_len);
	return;
    case ST_DOT:
	if (s->record)
	    sg_lat_add(&lat[L_DOT], now - s->t_sent);
	message_end(s, now, class);
	start_message(s);
	return;
    case ST_RSET:
	start_message(s);
	return;
    case ST_QUIT:
	tot.sessions++;
	sess_close(s, 0);
	return;
    default:
	sess_close(s, 1);
	return;
    }
}

/* on_input - read, split into reply lines, dispatch final lines */
static void on_input(struct sess *s)
{
    ssize_t n;
    char   *line, *eol;
    unsigned gen = s->gen;

    if (s->inlen >= INMAX - 1) {
	sess_close(s, 1);			/* a line too long */
	return;
    }
    n = recv(s->fd, s->in + s->inlen, INMAX - 1 - s->inlen, 0);
    if (n < 0 && (errno == EAGAIN || errno == EINTR))
	return;
    if (n <= 0) {
	sess_close(s, s->step != ST_QUIT);
	return;
    }
    s->inlen += n;
    s->in[s->inlen] = 0;
    line = s->in;
    while ((eol = strstr(line, "\r\n")) != 0) {
	*eol = 0;
	if (eol - line >= 3 && line[3] == ' ') {
	    int     code = atoi(line);

	    if (s->wlen > 0) {			/* replied before we finished */
		sess_close(s, 1);
		return;
	    }
	    on_reply(s, code, line + 4);
	    if (s->gen != gen || s->fd < 0)
		return;
	} else if (eol - line == 3) {
	    on_reply(s, atoi(line), "");
	    if (s->gen != gen || s->fd < 0)
		return;
	}
	line = eol + 2;
    }
    s->inlen -= line - s->in;
    memmove(s->in, line, s->inlen);
}

/* on_event - epoll said something */
static void on_event(struct sess *s, uint32_t ev)
{
    int     err = 0;
    socklen_t elen = sizeof(err);

    if (s->fd < 0)
	return;
    if (s->step == ST_CONNECTING) {
	if (!(ev & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
	    return;
	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
	    sess_close(s, 1);
	    return;
	}
	s->step = ST_BANNER;
	s->deadline = sg_now_ns() + (int64_t) (opt_timeout * 1e9);
	watch(s, 0);
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

/* wait_ms - how long epoll may sleep */
static int wait_ms(int64_t now)
{
    int64_t first = now + 50000000;
    int     i;

    if (opt_rate > 0)
	for (i = 0; i < opt_sessions; i++)
	    if (sessions[i].fd >= 0 && sessions[i].step == ST_WAIT
		&& sessions[i].slot < first)
		first = sessions[i].slot;
    return (first <= now ? 0 : (int) ((first - now + 999999) / 1000000));
}

/* timers - start waiting messages, time out stuck sessions */
static void timers(int64_t now)
{
    int     i;

    for (i = 0; i < opt_sessions; i++) {
	struct sess *s = sessions + i;

	if (s->fd >= 0 && s->step == ST_WAIT && (now >= s->slot || stopping)) {
	    start_message(s);
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

/* report - the table and the RESULT line */
static void report(void)
{
    double  secs;
    int     i, j;
    static const char *const cn[5] = {"2xx", "3xx", "4xx", "5xx", "other"};

    if (opt_messages)
	secs = (tot.t_last - (t_warm > t_start ? t_warm : t_start)) / 1e9;
    else
	secs = (t_stop - t_warm) / 1e9;
    if (secs <= 0)
	secs = 1e-9;
    if (!opt_result_only) {
	printf("sg-smtpload %s%s%s: %d sessions, %ld msgs/session, %d rcpts/msg "
	       "(%d rejected), %zu bytes, %ld logins\n", opt_server,
	       opt_label[0] ? " " : "", opt_label, opt_sessions, opt_per_sess,
	       opt_rcpts, opt_rejected, body_len, opt_logins);
	printf("messages %lu in %.2f s: %.1f msgs/s (accepted %.1f/s); "
	       "sessions %lu; errors %lu (timeouts %lu)\n", tot.msgs, secs,
	       tot.msgs / secs, tot.accepted / secs, tot.sessions, tot.errors,
	       tot.timeouts);
	if (opt_rate > 0)
	    printf("offered %.0f msgs/s; %lu starts more than 1 ms late\n",
		   opt_rate, tot.late);
	printf("outcome: accepted %lu tempfail %lu reject %lu (refused at "
	       "MAIL %lu, no recipient accepted %lu); AUTH failures %lu\n",
	       tot.accepted, tot.tempfail, tot.reject, tot.failed_mail,
	       tot.no_rcpt, tot.auth_fail);
	for (i = 0; i < S_N; i++) {
	    printf("replies %-5s", sname[i]);
	    for (j = 0; j < 5; j++)
		if (codes[i][j])
		    printf(" %s=%lu", cn[j], codes[i][j]);
	    printf("\n");
	}
	sg_lat_table(lat, L_N);
    }
    printf("RESULT tool=smtpload label=%s sessions=%d per_session=%ld "
	   "rcpts=%d rejected=%d size=%zu logins=%ld msgs=%lu secs=%.3f "
	   "mps=%.1f accepted=%lu tempfail=%lu reject=%lu auth_fail=%lu "
	   "errors=%lu timeouts=%lu begun=%lu rate=%.0f late=%lu "
	   "rcpt_4xx=%lu rcpt_5xx=%lu all=%lu",
	   opt_label[0] ? opt_label : "-", opt_sessions, opt_per_sess,
	   opt_rcpts, opt_rejected, body_len, opt_logins, tot.msgs, secs,
	   tot.msgs / secs, tot.accepted, tot.tempfail, tot.reject,
	   tot.auth_fail, tot.errors, tot.timeouts, tot.started, opt_rate,
	   tot.late, codes[S_RCPT][2], codes[S_RCPT][3], tot.all);
    for (i = 0; i < L_N; i++)
	sg_lat_result(&lat[i]);
    printf("\n");
    fflush(stdout);
}

/* make_body - headers, filler lines, and the final dot */
static void make_body(void)
{
    static const char head[] = "From: <load@example.net>\r\n"
    "To: <r@remote.example>\r\nSubject: sg-smtpload\r\n\r\n";
    size_t  cap = opt_size + 256, n;

    if ((body = malloc(cap)) == 0)
	sg_die("out of memory");
    n = strlen(head);
    memcpy(body, head, n);
    while (n + 78 + 5 <= (size_t) opt_size + 5 && n + 78 + 5 < cap) {
	memset(body + n, 'x', 76);
	memcpy(body + n + 76, "\r\n", 2);
	n += 78;
    }
    memcpy(body + n, ".\r\n", 3);
    body_len = n + 3;
}

int     main(int argc, char **argv)
{
    struct epoll_event evs[256];
    char    err[256];
    int     ch, i, n;
    int64_t now = 0;

    sg_progname = "sg-smtpload";
    while ((ch = getopt(argc, argv, "K:L:RT:c:d:k:l:m:n:p:q:r:s:vw:x:z:")) != -1) {
	switch (ch) {
	case 'K':
	    opt_first_login = sg_atol_range("-K", optarg, 0, 2000000000);
	    break;
	case 'L':
	    opt_label = optarg;
	    break;
	case 'R':
	    opt_result_only = 1;
	    break;
	case 'T':
	    opt_timeout = sg_atof_range("-T", optarg, 0.1, 600);
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
	    opt_per_sess = sg_atol_range("-m", optarg, 1, 1000000);
	    break;
	case 'n':
	    opt_messages = sg_atol_range("-n", optarg, 1, 1000000000);
	    break;
	case 'p':
	    opt_password = optarg;
	    break;
	case 'q':
	    opt_rate = sg_atof_range("-q", optarg, 0.1, 1e6);
	    break;
	case 'r':
	    opt_rcpts = (int) sg_atol_range("-r", optarg, 1, 1000);
	    break;
	case 's':
	    opt_server = optarg;
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
	    opt_size = sg_atol_range("-z", optarg, 64, 64L << 20);
	    break;
	default:
	    usage();
	}
    }
    if (optind != argc || opt_server == 0)
	usage();
    if (opt_rejected > opt_rcpts)
	sg_die("-x %d: more rejected recipients than recipients", opt_rejected);
    {
	const char *p = strchr(opt_pattern, '%');

	if (p == 0 || p[1] != 'd' || strchr(p + 2, '%'))
	    sg_die("-l %s: want exactly one %%d", opt_pattern);
    }
    if (sg_check_spec(opt_server, err, sizeof(err)) < 0)
	sg_die("-s %s: %s", opt_server, err);
    if (opt_warmup < 0)
	opt_warmup = opt_messages ? 0 : 1;
    signal(SIGPIPE, SIG_IGN);
    make_body();
    if ((epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
	sg_die("epoll_create1: %s", strerror(errno));
    if ((sessions = calloc(opt_sessions, sizeof(*sessions))) == 0)
	sg_die("out of memory");

    t_start = sg_now_ns();
    t_warm = t_start + (int64_t) (opt_warmup * 1e9);
    t_stop = opt_messages ? INT64_MAX : t_warm + (int64_t) (opt_duration * 1e9);
    t_hard = opt_messages ? t_start + (int64_t) (3600 * 1e9)
	: t_stop + (int64_t) ((opt_timeout + 5) * 1e9);
    if (opt_rate > 0) {
	rate_period = (int64_t) (1e9 / opt_rate);
	rate_next = t_start;
    }
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
	if (!stopping && (now >= t_stop || now > t_hard
			  || (opt_messages
			      && tot.started >= (unsigned long) opt_messages
			      && open_conns == 0)))
	    stopping = 1;
	if (stopping && (open_conns == 0 || now > t_hard))
	    break;
	timers(now);
    }
    if (opt_messages && tot.t_last)
	t_stop = tot.t_last;
    report();
    return (tot.accepted ? 0 : 1);
}
