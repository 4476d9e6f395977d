/*
 * NAME
 *	sg_notify 3
 * SUMMARY
 *	run notify_command for each new quarantine, away from SMTP sessions
 * DESCRIPTION
 *	A quarantine is news for the abuse desk and the customer. The
 *	configured notify_command runs once per new quarantine, as
 *
 *		/bin/sh -c 'notify_command "$@"' subguard LOGIN REASON SOURCE
 *
 *	so the login and the reason, which come from outside, reach the
 *	command as arguments and are never parsed by the shell.
 *
 *	Commands run one at a time on a thread of their own, fed by a small
 *	queue: a milter callback only enqueues, so a slow or hanging command
 *	never holds an SMTP session. A command that runs longer than
 *	SG_NOTIFY_TIMEOUT seconds is killed. When the queue is full the
 *	notification is dropped with a log line: the quarantine itself is in
 *	Redis and in the events stream whatever happens here.
 * DIAGNOSTICS
 *	A command that cannot start, exits non-zero, is killed or is dropped
 *	is logged with the login; nothing here is fatal.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sg_config.h"
#include "sg_log.h"
#include "sg_notify.h"

#define SG_NOTIFY_QUEUE		64
#define SG_NOTIFY_TIMEOUT	30

extern char **environ;

struct job {
    char   *command;
    char   *arg[3];			/* login, reason, source */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct job queue[SG_NOTIFY_QUEUE];
static int head, count, started;
static int running;			/* a command runs now */
static unsigned long n_ran, n_failed, n_dropped;	/* under lock */

/* tally - count one outcome (a field above) */
static void tally(unsigned long *what)
{
    pthread_mutex_lock(&lock);
    (*what)++;
    pthread_mutex_unlock(&lock);
}

/* sg_notify_stats - a snapshot */
void    sg_notify_stats(struct sg_notify_stats *st)
{
    pthread_mutex_lock(&lock);
    st->queued = (unsigned long) (count + running);
    st->ran = n_ran;
    st->failed = n_failed;
    st->dropped = n_dropped;
    pthread_mutex_unlock(&lock);
}

/* job_free - release one job's strings */
static void job_free(struct job *j)
{
    int     i;

    free(j->command);
    for (i = 0; i < 3; i++)
	free(j->arg[i]);
    memset(j, 0, sizeof(*j));
}

/* run - one command, bounded in time */
static void run(struct job *j)
{
    char    script[SG_PATH_MAX + 16];
    char   *argv[8];
    pid_t   pid;
    int     status = 0, waited = 0, rc;
    sigset_t none;
    posix_spawnattr_t attr;

    snprintf(script, sizeof(script), "%s \"$@\"", j->command);
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = script;
    argv[3] = "subguard";
    argv[4] = j->arg[0];
    argv[5] = j->arg[1];
    argv[6] = j->arg[2];
    argv[7] = 0;
    /* The daemon blocks signals in its threads; the command must not. */
    sigemptyset(&none);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    rc = posix_spawn(&pid, "/bin/sh", 0, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
	sg_log(LOG_WARNING, "notify login=%s: cannot run %s: %s", j->arg[0],
	       j->command, strerror(rc));
	tally(&n_failed);
	return;
    }
    while ((rc = waitpid(pid, &status, WNOHANG)) == 0
	   && waited < SG_NOTIFY_TIMEOUT * 10) {
	struct timespec ts = {0, 100 * 1000 * 1000};

	nanosleep(&ts, 0);
	waited++;
    }
    if (rc == 0) {
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	sg_log(LOG_WARNING, "notify login=%s: %s killed after %ds", j->arg[0],
	       j->command, SG_NOTIFY_TIMEOUT);
	tally(&n_failed);
    } else if (rc > 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
	sg_log(LOG_WARNING, "notify login=%s: %s failed with status %d",
	       j->arg[0], j->command, WIFEXITED(status) ?
	       WEXITSTATUS(status) : 128 + WTERMSIG(status));
	tally(&n_failed);
    } else if (rc > 0) {
	tally(&n_ran);
    }
}

/* worker - run queued commands one after the other */
static void *worker(void *unused)
{
    struct job j;

    (void) unused;
    for (;;) {
	pthread_mutex_lock(&lock);
	while (count == 0)
	    pthread_cond_wait(&wake, &lock);
	j = queue[head];
	memset(&queue[head], 0, sizeof(queue[head]));
	head = (head + 1) % SG_NOTIFY_QUEUE;
	count--;
	running = 1;
	pthread_mutex_unlock(&lock);
	run(&j);
	job_free(&j);
	pthread_mutex_lock(&lock);
	running = 0;
	pthread_mutex_unlock(&lock);
    }
    return (0);
}

/* sg_notify - queue a notification for a new quarantine */
void    sg_notify(const char *command, const char *login, const char *reason,
		          const char *source)
{
    struct job j;
    pthread_t tid;

    if (command == 0 || *command == 0)
	return;
    memset(&j, 0, sizeof(j));
    if ((j.command = strdup(command)) == 0 || (j.arg[0] = strdup(login)) == 0
	|| (j.arg[1] = strdup(reason)) == 0 || (j.arg[2] = strdup(source)) == 0) {
	job_free(&j);
	sg_log(LOG_WARNING, "notify login=%s: out of memory, dropped", login);
	tally(&n_dropped);
	return;
    }
    pthread_mutex_lock(&lock);
    if (!started) {
	if (pthread_create(&tid, 0, worker, 0) != 0) {
	    pthread_mutex_unlock(&lock);
	    job_free(&j);
	    sg_log(LOG_WARNING, "notify login=%s: cannot start a thread", login);
	    return;
	}
	pthread_detach(tid);
	started = 1;
    }
    if (count == SG_NOTIFY_QUEUE) {
	n_dropped++;
	pthread_mutex_unlock(&lock);
	sg_log(LOG_WARNING, "notify login=%s: queue full, dropped", login);
	job_free(&j);
	return;
    }
    queue[(head + count) % SG_NOTIFY_QUEUE] = j;
    count++;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
}
