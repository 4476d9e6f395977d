/*
 * NAME
 *	sg_commitq 3
 * SUMMARY
 *	commits sent after the MTA has its reply, many per round trip
 * DESCRIPTION
 *	Most messages' commits cannot change what happens to the message:
 *	a clean message from an account in good standing can only lower its
 *	failure score (sg_engine_commit_deferrable). Waiting for such a
 *	commit in the end-of-message callback costs a libmilter worker a
 *	round trip and a sleep, and libmilter starts another worker for the
 *	next ready session meanwhile; on a busy relay that was most of what
 *	subguard cost beyond a do-nothing milter (docs/PERFORMANCE.md).
 *
 *	So the callback hands such a commit to sg_commitq_put() and answers
 *	the MTA at once. One thread takes whatever has gathered, sends it in
 *	one pipelined batch (sg_store_eval_many), and logs what the answers
 *	say as the callback would have: a quarantine that began, support's
 *	lift or tier change, Redis trouble. Counting is as exact as before;
 *	it happens a few milliseconds later.
 *
 *	Bounded: with SG_COMMITQ_MAX commits waiting, sg_commitq_put()
 *	refuses and the callback commits itself, so a stalled Redis slows
 *	the callbacks down (each bounded by the Redis timeout) instead of
 *	growing memory. sg_commitq_stop() sends what is queued and stops the
 *	thread; commits still queued when the process is killed are lost
 *	(counts, never mail).
 * DIAGNOSTICS
 *	The lines of sg_milter.c, with stage=commit.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sg_milter.h"

#define SG_COMMITQ_MAX		1024	/* commits waiting, at most */
#define SG_COMMITQ_BATCH	128	/* commits per round trip, at most */
#define SG_COMMITQ_GATHER_NS	1000000	/* let a batch gather: 1 ms */

struct sg_pending {
    struct sg_pending *next;
    unsigned long seq;			/* its ticket */
    struct sg_runtime *rt;		/* a reference of its own */
    struct sg_msg msg;
    struct sg_commit req;		/* points into msg and rt */
    char    client[64];
    char    qid[64];
};

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t q_wake = PTHREAD_COND_INITIALIZER;
static struct sg_pending *q_head, **q_tail = &q_head;
static int q_len;
static int q_idle;			/* the thread waits for work */
static int q_urgent;			/* a caller waits: no gathering */
static unsigned long q_seq;		/* the last ticket given */
static unsigned long q_done;		/* every ticket up to it is sent */
static pthread_cond_t q_sent = PTHREAD_COND_INITIALIZER;
static int q_state;			/* 0 not started, 1 running, 2 stopping,
					 * 3 stopped or failed to start */
static pthread_t q_thread;
static long long q_last_put;		/* when the last commit came, in ns */
static long long q_gap = SG_COMMITQ_GATHER_NS * 1000LL;	/* between
					 * commits lately (a moving average) */

/* mono_ns - now on the monotonic clock, in nanoseconds */
static long long mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

/* report - log what one commit's answer says */
static void report(struct sg_pending *p, enum sg_action act, const char *err)
{
    struct sg_msg *m = &p->msg;
    int     dry = p->rt->cfg.mode == SG_MODE_DRYRUN;

    if (act == SG_ACT_STORE_DOWN) {
	/* An outage is reported once by the Redis module. */
	if (m->store_rc != SG_STORE_DOWN)
	    sg_log_message(LOG_ERR, m, p->client, p->qid, dry, "none",
			   "commit", "reason=redis-error error=\"%s\"", err);
	return;
    }
    /* The login's next message on this node is not deferred. */
    if (m->newly_quarantined || act == SG_ACT_HOLD
	|| act == SG_ACT_QUARANTINE_REFUSE)
	sg_milter_quarantine_seen(m->login, 1, 0, p->rt->cfg.milter_timeout);
    if (m->seen.what == SG_SEEN_LIFT)
	sg_log_message(LOG_NOTICE, m, p->client, p->qid, dry, "lift",
		       "commit", "reason=\"quarantine lifted in Redis\"");
    else if (m->seen.what == SG_SEEN_TIER)
	sg_log_message(LOG_NOTICE, m, p->client, p->qid, dry, "tier",
		       "commit", "change=\"%s %s\"", m->seen.old_tier,
		       m->seen.new_tier);
    if (m->newly_quarantined) {
	sg_log_message(LOG_WARNING, m, p->client, p->qid, dry, "quarantine",
		       "commit", "reason=\"%s\"", m->qreason);
	sg_notify(p->rt->cfg.notify_command, m->login, m->qreason,
		  "submission");
    }
}

/* send_batch - commits of one runtime in one round trip; frees them */
static void send_batch(struct sg_pending **batch, int n)
{
    struct sg_call calls[SG_COMMITQ_BATCH];
    enum sg_action act;
    int     i;

    for (i = 0; i < n; i++) {
	memset(&calls[i], 0, sizeof(calls[i]));
	calls[i].nkeys = batch[i]->req.nkeys;
	calls[i].argc = batch[i]->req.argc;
	calls[i].argv = batch[i]->req.argv;
    }
    sg_store_eval_many(&batch[0]->rt->store, SG_SCRIPT_ENGINE, calls, n);
    for (i = 0; i < n; i++) {
	act = sg_engine_commit_result(&batch[i]->msg, calls[i].status,
				      &calls[i].reply, calls[i].err,
				      sizeof(calls[i].err));
	report(batch[i], act, calls[i].err);
	sg_runtime_release(batch[i]->rt);
	free(batch[i]);
    }
}

/* worker - send what gathers until stopped and empty */
static void *worker(void *arg)
{
    struct sg_pending *list, *p, *batch[SG_COMMITQ_BATCH];
    unsigned long seq;
    int     n;

    (void) arg;
    for (;;) {
	pthread_mutex_lock(&q_lock);
	while (q_head == 0 && q_state == 1) {
	    q_idle = 1;
	    pthread_cond_wait(&q_wake, &q_lock);
	}
	q_idle = 0;
	if (q_head == 0) {
	    pthread_mutex_unlock(&q_lock);
	    return (0);
	}

	/*
	 * Woken for one commit: wait a moment for others, if others are
	 * likely to come in that moment. Each wake-up costs two context
	 * switches and each batch a round trip, so on a busy relay this
	 * turns one of each per message into one per batch. Where commits
	 * come further apart than the moment (a relay at a few hundred
	 * messages a second), the wait would gather nothing and cost a
	 * timer's wake-up per message, so the batch goes at once; commits
	 * that come while it is on its way still go together in the next.
	 */
	if (q_state == 1 && q_len < SG_COMMITQ_BATCH && !q_urgent
	    && q_gap < SG_COMMITQ_GATHER_NS) {
	    struct timespec until;

	    clock_gettime(CLOCK_REALTIME, &until);
	    until.tv_nsec += SG_COMMITQ_GATHER_NS;
	    if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	    }
	    (void) pthread_cond_timedwait(&q_wake, &q_lock, &until);
	}
	q_urgent = 0;
	list = q_head;
	q_head = 0;
	q_tail = &q_head;
	q_len = 0;
	pthread_mutex_unlock(&q_lock);

	/* Runs of one runtime (one Redis) go together, in order. */
	while (list) {
	    n = 0;
	    do {
		p = list;
		list = p->next;
		batch[n++] = p;
	    } while (list && n < SG_COMMITQ_BATCH
		     && list->rt == batch[0]->rt);
	    seq = batch[n - 1]->seq;
	    send_batch(batch, n);
	    pthread_mutex_lock(&q_lock);
	    q_done = seq;
	    pthread_cond_broadcast(&q_sent);
	    pthread_mutex_unlock(&q_lock);
	}
    }
}

/* start - the thread, on first use */
static void start(void)
{
    q_state = pthread_create(&q_thread, 0, worker, 0) == 0 ? 1 : 3;
    if (q_state == 3)
	sg_log(LOG_ERR, "cannot start the commit thread: every commit "
	       "waits for Redis in its callback");
}

/*
 * sg_commitq_put - queue the commit of message m (its runtime rt, its
 * queue id, eom as for sg_engine_commit). Returns 0 when the commit is
 * queued (*ticket says which, for sg_commitq_wait) or there was nothing
 * to count (*ticket is 0), -1 when the caller must commit itself (queue
 * full, stopping, no memory). m is copied; the caller keeps its
 * reference to rt.
 */
int     sg_commitq_put(struct sg_runtime *rt, const struct sg_msg *m,
		               const char *qid, int eom, double now,
		               const char *client, unsigned long *ticket)
{
    struct sg_pending *p;
    char    err[256];

    *ticket = 0;
    if ((p = malloc(sizeof(*p))) == 0)
	return (-1);
    p->next = 0;
    p->msg = *m;
    snprintf(p->client, sizeof(p->client), "%s", client);
    snprintf(p->qid, sizeof(p->qid), "%s", qid ? qid : "");
    switch (sg_engine_commit_prepare(rt->engine, &p->msg, qid, eom, 1, now,
				     &p->req, err, sizeof(err))) {
    case 1:
	break;
    case 0:
	free(p);
	return (0);
    default:
	sg_log_message(LOG_ERR, &p->msg, p->client, p->qid,
		       rt->cfg.mode == SG_MODE_DRYRUN, "none", "commit",
		       "reason=redis-error error=\"%s\"", err);
	free(p);
	return (0);
    }
    pthread_mutex_lock(&q_lock);
    if (q_state == 0)
	start();
    if (q_state != 1 || q_len >= SG_COMMITQ_MAX) {
	pthread_mutex_unlock(&q_lock);
	free(p);
	return (-1);
    }
    /* The gap between commits, averaged over the last eight or so. */
    {
	long long t = mono_ns(), gap = t - q_last_put;

	if (gap > 1000000000LL || q_last_put == 0)
	    gap = 1000000000LL;
	q_gap += (gap - q_gap) / 8;
	q_last_put = t;
    }
    sg_runtime_hold(rt);
    p->rt = rt;
    p->seq = *ticket = ++q_seq;
    *q_tail = p;
    q_tail = &p->next;
    q_len++;
    if (q_idle) {				/* once per batch, not per put */
	q_idle = 0;
	pthread_cond_signal(&q_wake);
    }
    pthread_mutex_unlock(&q_lock);
    return (0);
}

/*
 * sg_commitq_wait - wait until the commit with this ticket has been sent
 * and answered, at most timeout_ms. A connection calls it before its
 * next message begins, so that the message sees its predecessor counted,
 * as when commits were waited for at the end of each message; the
 * thread then sends at once instead of gathering. Returns 0, or -1 on
 * timeout (the next message then sees its predecessor uncounted).
 */
int     sg_commitq_wait(unsigned long ticket, unsigned long timeout_ms)
{
    struct timespec until;
    int     rc = 0;

    if (ticket == 0)
	return (0);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long) (timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
	until.tv_sec++;
	until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&q_lock);
    if (q_done < ticket) {
	q_urgent = 1;
	pthread_cond_signal(&q_wake);
    }
    while (q_done < ticket && q_state != 3 && rc == 0)
	if (pthread_cond_timedwait(&q_sent, &q_lock, &until) != 0)
	    rc = q_done < ticket ? -1 : 0;
    pthread_mutex_unlock(&q_lock);
    return (rc);
}

/* sg_commitq_depth - commits queued or being sent, not yet answered */
unsigned long sg_commitq_depth(void)
{
    unsigned long n;

    pthread_mutex_lock(&q_lock);
    n = q_seq - q_done;
    pthread_mutex_unlock(&q_lock);
    return (n);
}

/* sg_commitq_stop - send what is queued, then stop the thread */
void    sg_commitq_stop(void)
{
    int     running;

    pthread_mutex_lock(&q_lock);
    running = q_state == 1;
    q_state = 3;
    if (running) {
	q_state = 2;
	pthread_cond_signal(&q_wake);
    }
    pthread_mutex_unlock(&q_lock);
    if (running) {
	pthread_join(q_thread, 0);
	pthread_mutex_lock(&q_lock);
	q_state = 3;
	pthread_mutex_unlock(&q_lock);
    }
}
