/*
 * NAME
 *	sg_follow 3h
 * SUMMARY
 *	follow a log file like tail -F, with a position to resume from
 * DESCRIPTION
 *	sg_follow_open() follows a file by name; sg_follow_fdopen() reads
 *	an open descriptor (standard input, a pipe) with no rotation and no
 *	position. sg_follow_next() never blocks: it returns the next complete
 *	line, or says there is none yet. The caller decides when to look
 *	again (sg_follow_wait(), or sg_follow_line() which does both), so a
 *	test drives a follower step by step without sleeping.
 *
 *	Lines. A line is returned without its '\n' and stays valid until the
 *	next call. A last line without '\n' waits for it; it is returned as
 *	it is only when nothing can complete it: at the end of a stream, and
 *	when a rotated file is left for its successor. A line longer than
 *	SG_FOLLOW_LINE_MAX is returned cut at that length and the rest of it
 *	is skipped.
 *
 *	Rotation, checked whenever the file is at its end:
 *	- rename (logrotate's default, postfix logrotate): the name now
 *	  names another file. The old file is read to its end, then the new
 *	  one from offset 0. The switch waits until the new file has data
 *	  (or sg_follow_reopen() asks for it): until then the writer may
 *	  still be writing to the old one, as between logrotate's rename and
 *	  its postrotate HUP, and those lines are not lost.
 *	- copytruncate: same file, now shorter than what was read: read it
 *	  again from 0 (lines written between the copy and the truncation are
 *	  lost: that is copytruncate's own flaw), dropping a partial line.
 *	- the name gone: keep reading the open file; follow the name again
 *	  when it reappears. A name missing at the start is waited for.
 *
 *	Position. "dev:ino:offset" (decimal), the offset just past the last
 *	line returned. Given back to sg_follow_open(), reading resumes there
 *	when the file at the name is the same file (same inode; a different
 *	st_dev alone is accepted, since device numbers can change across a
 *	reboot) and at least that long. Otherwise: another inode means the
 *	file was rotated while stopped, and reading starts at 0 of the new
 *	one; lines appended to the rotated file after the stop are then
 *	lost. The same inode but shorter means it was truncated: start at 0.
 *	A copytruncate while stopped that let the file grow past the old
 *	offset cannot be seen, and lines are skipped.
 * DIAGNOSTICS
 *	sg_follow_open() and sg_follow_fdopen() return NULL with err set.
 *	Rotation, truncation and a missing file are reported through the
 *	optional log callback (a syslog level and a message).
 */
#ifndef SG_FOLLOW_H
#define SG_FOLLOW_H

#include <signal.h>
#include <stddef.h>

#define SG_FOLLOW_LINE_MAX	(64 * 1024)	/* longer lines are cut */
#define SG_FOLLOW_POS_MAX	64		/* "dev:ino:offset" and NUL */

/* What sg_follow_next() and sg_follow_line() return. */
#define SG_FOLLOW_LINE	1	/* *line, *len: one line */
#define SG_FOLLOW_AGAIN	0	/* nothing complete yet: wait, call again */
#define SG_FOLLOW_END	(-1)	/* no more: end of stream, or once at EOF */
#define SG_FOLLOW_ERROR	(-2)	/* read error; sg_follow_error() says it */

struct sg_follow_opts {
    int     once;		/* END at the end of the file (batch, tests) */
    int     poll_ms;		/* sg_follow_line() step; 0: 200 ms */
    void    (*log) (int level, const char *fmt,...);	/* NULL: quiet */
};

struct sg_follow;

/*
 * sg_follow_open - follow path from position resume ("" or NULL: from 0).
 * A missing file is waited for, except with once. A malformed resume
 * string is an error, not a silent start at 0.
 */
extern struct sg_follow *sg_follow_open(const char *path, const char *resume,
				                const struct sg_follow_opts *,
				                char *err, size_t errlen);

/* sg_follow_fdopen - read fd (not closed at the end): no rotation, no position */
extern struct sg_follow *sg_follow_fdopen(int fd, const char *name,
				                  const struct sg_follow_opts *,
				                  char *err, size_t errlen);

/* sg_follow_next - the next complete line, without blocking */
extern int sg_follow_next(struct sg_follow *, const char **line,
			          size_t *len);

/* sg_follow_wait - sleep up to ms or until a stream is readable or a signal */
extern void sg_follow_wait(struct sg_follow *, int ms);

/*
 * sg_follow_line - sg_follow_next(), waiting in poll steps: returns a
 * line, END, ERROR, or AGAIN after idle_ms without one or as soon as
 * *stop is set (checked at every step).
 */
extern int sg_follow_line(struct sg_follow *, const char **line, size_t *len,
			          int idle_ms, const volatile sig_atomic_t *stop);

/*
 * sg_follow_position - "dev:ino:offset" after the last line returned;
 * "" for a stream or before any file was opened without a resume.
 */
extern const char *sg_follow_position(struct sg_follow *);

/*
 * sg_follow_reopen - look at the name now (SIGHUP): when it names another
 * file, finish the old one and switch even if the new one is empty.
 */
extern void sg_follow_reopen(struct sg_follow *);

/* sg_follow_error - the last read error */
extern const char *sg_follow_error(const struct sg_follow *);

/* sg_follow_name - the path, or the name given to sg_follow_fdopen() */
extern const char *sg_follow_name(const struct sg_follow *);

extern void sg_follow_close(struct sg_follow *);

#endif
