/*
 * NAME
 *	sg_notify 3h
 * SUMMARY
 *	run notify_command for each new quarantine, away from SMTP sessions
 * DESCRIPTION
 *	See sg_notify.c: the command runs on a thread of its own, one at a
 *	time, bounded in time; the caller only enqueues.
 */
#ifndef SG_NOTIFY_H
#define SG_NOTIFY_H

/* sg_notify - queue a notification for a new quarantine */
extern void sg_notify(const char *command, const char *login,
		              const char *reason, const char *source);

/* What the notifier did so far, for metrics and the statistics line. */
struct sg_notify_stats {
    unsigned long queued;		/* waiting or running now */
    unsigned long ran;			/* exited 0 */
    unsigned long failed;		/* could not start, non-zero, killed */
    unsigned long dropped;		/* queue full or no memory */
};

/* sg_notify_stats - a snapshot */
extern void sg_notify_stats(struct sg_notify_stats *);

#endif
