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

#endif
