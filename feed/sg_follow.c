/*
 * NAME
 *	sg_follow 3
 * SUMMARY
 *	follow a log file like tail -F, with a position to resume from
 * DESCRIPTION
 *	See sg_follow.h. One buffer of SG_FOLLOW_LINE_MAX plus one read's
 *	worth; lines are handed out in place, so reading costs one read() per
 *	64 KiB and one memchr() per line. The file is looked at (fstat of the
 *	descriptor, stat of the name) only when a read finds its end, so a
 *	busy log costs no system calls beyond the reads.
 *
 *	Offsets: roff is where the next read() reads, coff is just past the
 *	last line handed out (the position). They differ by what is
 *	buffered: a partial line, or lines not yet asked for.
 * DIAGNOSTICS
 *	Through opts->log: the name missing or back, rotation, truncation,
 *	where a resume started. Read errors: SG_FOLLOW_ERROR and
 *	sg_follow_error().
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "sg_follow.h"

#define READ_CHUNK	(64 * 1024)
#define BUF_SIZE	(SG_FOLLOW_LINE_MAX + READ_CHUNK)
#define DEF_POLL_MS	200

struct sg_follow {
    char   *name;
    int     stream;		/* no rotation, no position; EOF is the end */
    int     own_fd;		/* ours to close */
    int     fd;			/* -1 while the file is waited for */
    dev_t   dev;
    ino_t   ino;
    off_t   roff;		/* where the next read() reads */
    off_t   coff;		/* just past the last line handed out */
    int     next_fd;		/* the name's new file, once it has data */
    dev_t   next_dev;
    ino_t   next_ino;
    char   *buf;
    size_t  start;		/* buf[start..fill) not handed out yet */
    size_t  fill;
    int     skipping;		/* dropping the rest of an over-long line */
    int     force;		/* sg_follow_reopen() asked for a switch */
    int     ended;		/* a stream reached its end */
    int     missing;		/* the name was gone last time: said once */
    int     open_errno;		/* last open() error said, to say it once */
    int     have_resume;	/* resume_* apply when the file is opened */
    uintmax_t resume_dev;
    uintmax_t resume_ino;
    intmax_t resume_off;
    char    resume[SG_FOLLOW_POS_MAX];
    char    pos[SG_FOLLOW_POS_MAX];
    char    error[256];
    struct sg_follow_opts opts;
};

/* Internal answers of the steps of sg_follow_next(). */
#define STEP_MORE	2	/* look again at once: data may be there */
#define STEP_READ	3	/* no complete line buffered: read more */

/* say - a note through the caller's log, if any */
#define say(f, level, ...) do { \
	if ((f)->opts.log) \
	    (f)->opts.log((level), __VA_ARGS__); \
    } while (0)

/* idle - what "nothing now" means: in once mode it is the end */
static int idle(const struct sg_follow *f)
{
    return (f->opts.once ? SG_FOLLOW_END : SG_FOLLOW_AGAIN);
}

/* reset_buffer - forget buffered bytes (the file they came from is gone) */
static void reset_buffer(struct sg_follow *f)
{
    f->start = f->fill = 0;
    f->skipping = 0;
}

/* hand_out - return n bytes at p as a line; consumed counts toward coff */
static int hand_out(struct sg_follow *f, const char *p, size_t n,
		            size_t consumed, const char **line, size_t *len)
{
    f->start += consumed;
    f->coff += (off_t) consumed;
    *line = p;
    *len = n;
    return (SG_FOLLOW_LINE);
}

/*
 * apply_resume - the first open of the file, with a saved position: seek
 * there if it is the same file and long enough; otherwise say why not.
 */
static void apply_resume(struct sg_follow *f, const struct stat *st)
{
    f->have_resume = 0;
    if ((uintmax_t) st->st_ino != f->resume_ino) {
	say(f, LOG_WARNING, "%s: not the file of position %s (rotated while "
	    "stopped?): reading it from the start; lines added to the old "
	    "file after the stop are not read", f->name, f->resume);
	return;
    }
    if ((uintmax_t) st->st_dev != f->resume_dev)
	say(f, LOG_NOTICE, "%s: device number changed since position %s, "
	    "same inode: taken as the same file", f->name, f->resume);
    if ((intmax_t) st->st_size < f->resume_off) {
	say(f, LOG_WARNING, "%s: shorter than position %s (truncated while "
	    "stopped?): reading it from the start", f->name, f->resume);
	return;
    }
    if (lseek(f->fd, (off_t) f->resume_off, SEEK_SET) < 0) {
	say(f, LOG_ERR, "%s: seek to %jd: %s: reading from the start",
	    f->name, f->resume_off, strerror(errno));
	return;
    }
    f->roff = f->coff = (off_t) f->resume_off;
    say(f, LOG_INFO, "%s: resuming at offset %jd", f->name, f->resume_off);
}

/*
 * try_open - open the name; -1 with errno when it cannot be (yet). A
 * missing file is said once, not at every poll.
 */
static int try_open(struct sg_follow *f)
{
    struct stat st;
    int     fd;

    if ((fd = open(f->name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0) {
	int     e = errno;

	if (e == ENOENT && !f->missing)
	    say(f, LOG_WARNING, "%s: no such file: waiting for it", f->name);
	else if (e != ENOENT && e != f->open_errno)
	    say(f, LOG_ERR, "%s: %s: trying again", f->name, strerror(e));
	f->missing = (e == ENOENT);
	f->open_errno = e;
	errno = e;
	return (-1);
    }
    if (fstat(fd, &st) < 0) {
	int     e = errno;

	close(fd);
	errno = e;
	return (-1);
    }
    if (f->missing)
	say(f, LOG_NOTICE, "%s: the file is there now", f->name);
    f->missing = 0;
    f->open_errno = 0;
    f->fd = fd;
    f->own_fd = 1;
    f->dev = st.st_dev;
    f->ino = st.st_ino;
    f->roff = f->coff = 0;
    reset_buffer(f);
    if (!S_ISREG(st.st_mode)) {
	/* A named pipe (opened without blocking for a writer): a stream. */
	f->stream = 1;
	f->have_resume = 0;
	return (0);
    }
    if (f->have_resume)
	apply_resume(f, &st);
    return (0);
}

/* new_follow - the common part of both constructors */
static struct sg_follow *new_follow(const char *name,
				            const struct sg_follow_opts *opts,
				            char *err, size_t errlen)
{
    struct sg_follow *f;

    if ((f = calloc(1, sizeof(*f))) == 0
	|| (f->name = strdup(name)) == 0
	|| (f->buf = malloc(BUF_SIZE)) == 0) {
	if (f)
	    free(f->name);
	free(f);
	snprintf(err, errlen, "out of memory");
	return (0);
    }
    f->fd = -1;
    f->next_fd = -1;
    if (opts)
	f->opts = *opts;
    if (f->opts.poll_ms <= 0)
	f->opts.poll_ms = DEF_POLL_MS;
    return (f);
}

/* sg_follow_open - follow path from a saved position */
struct sg_follow *sg_follow_open(const char *path, const char *resume,
				         const struct sg_follow_opts *opts,
				         char *err, size_t errlen)
{
    struct sg_follow *f;
    int     n = 0;

    if ((f = new_follow(path, opts, err, errlen)) == 0)
	return (0);
    if (resume && *resume) {
	if (strlen(resume) >= sizeof(f->resume)
	    || sscanf(resume, "%ju:%ju:%jd%n", &f->resume_dev, &f->resume_ino,
		      &f->resume_off, &n) != 3
	    || resume[n] != 0 || f->resume_off < 0) {
	    snprintf(err, errlen, "bad position \"%.64s\": want dev:ino:offset",
		     resume);
	    sg_follow_close(f);
	    return (0);
	}
	strcpy(f->resume, resume);
	f->have_resume = 1;
    }

    /*
     * A file that is not there yet is waited for; one that is there but
     * cannot be read is a mistake to report now, not at every poll.
     */
    if (try_open(f) < 0 && (errno != ENOENT || f->opts.once)) {
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	sg_follow_close(f);
	return (0);
    }
    return (f);
}

/* sg_follow_fdopen - read an open descriptor to its end */
struct sg_follow *sg_follow_fdopen(int fd, const char *name,
				           const struct sg_follow_opts *opts,
				           char *err, size_t errlen)
{
    struct sg_follow *f;

    if ((f = new_follow(name ? name : "-", opts, err, errlen)) == 0)
	return (0);
    f->fd = fd;
    f->stream = 1;
    return (f);
}

/* switch_file - leave the drained old file for the name's new one */
static void switch_file(struct sg_follow *f)
{
    if (f->own_fd)
	close(f->fd);
    f->fd = f->next_fd;
    f->own_fd = 1;
    f->dev = f->next_dev;
    f->ino = f->next_ino;
    f->next_fd = -1;
    f->roff = f->coff = 0;
    reset_buffer(f);
    say(f, LOG_NOTICE, "%s: rotated: reading the new file (inode %ju)",
	f->name, (uintmax_t) f->ino);
}

/*
 * at_eof - a file read to its end: truncated, rotated, or just idle.
 * STEP_MORE when reading should go on at once.
 */
static int at_eof(struct sg_follow *f)
{
    struct stat st, ns;
    int     fd;

    if (fstat(f->fd, &st) == 0 && st.st_size < f->roff) {
	say(f, LOG_NOTICE, "%s: truncated (%jd < %jd bytes): reading it "
	    "from the start", f->name, (intmax_t) st.st_size,
	    (intmax_t) f->roff);
	if (lseek(f->fd, 0, SEEK_SET) == 0) {
	    f->roff = f->coff = 0;
	    reset_buffer(f);
	    return (STEP_MORE);
	}
    }
    if (stat(f->name, &ns) < 0) {
	if (errno == ENOENT && !f->missing) {
	    say(f, LOG_NOTICE, "%s: gone: reading what was open until it "
		"reappears", f->name);
	    f->missing = 1;
	}
	f->force = 0;
	return (idle(f));
    }
    if (f->missing)
	say(f, LOG_NOTICE, "%s: reappeared", f->name);
    f->missing = 0;
    if (ns.st_ino == f->ino && ns.st_dev == f->dev) {
	f->force = 0;
	return (idle(f));
    }

    /*
     * Another file. Until it has data the writer may still be writing to
     * the old one (logrotate renames, creates, and only then tells the
     * writer), so stay unless told to switch.
     */
    if (ns.st_size == 0 && !f->force)
	return (idle(f));
    f->force = 0;
    if ((fd = open(f->name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
	return (idle(f));
    if (fstat(fd, &ns) < 0) {
	close(fd);
	return (idle(f));
    }
    f->next_fd = fd;
    f->next_dev = ns.st_dev;
    f->next_ino = ns.st_ino;

    /*
     * Read the old file once more before switching: the writer may have
     * appended to it between our last read and its move to the new file.
     */
    return (STEP_MORE);
}

/*
 * buffered - the next line already in the buffer (one longer than
 * SG_FOLLOW_LINE_MAX is cut there, and the rest of it skipped):
 * STEP_MORE after skipping to a newline, STEP_READ when the buffer holds
 * no complete line.
 */
static int buffered(struct sg_follow *f, const char **line, size_t *len)
{
    const char *p, *nl;
    size_t  n;

    if (f->fill <= f->start)
	return (STEP_READ);
    p = f->buf + f->start;
    n = f->fill - f->start;
    nl = memchr(p, '\n', n);
    if (f->skipping) {
	if (nl) {
	    f->skipping = 0;
	    f->start += (size_t) (nl - p) + 1;
	    f->coff += (nl - p) + 1;
	    return (STEP_MORE);
	}
	f->start = f->fill;
	f->coff += (off_t) n;
    } else if (nl) {
	n = (size_t) (nl - p);
	return (hand_out(f, p, n < SG_FOLLOW_LINE_MAX ? n :
			 SG_FOLLOW_LINE_MAX, n + 1, line, len));
    } else if (n >= SG_FOLLOW_LINE_MAX) {
	f->skipping = 1;
	return (hand_out(f, p, SG_FOLLOW_LINE_MAX, SG_FOLLOW_LINE_MAX,
			 line, len));
    }
    return (STEP_READ);
}

/* sg_follow_next - the next complete line, without blocking */
int     sg_follow_next(struct sg_follow *f, const char **line, size_t *len)
{
    struct pollfd pfd;
    size_t  n;
    ssize_t got;
    int     rc;

    for (;;) {
	if (f->fd < 0) {
	    if (f->stream || try_open(f) < 0)
		return (f->stream ? SG_FOLLOW_END : idle(f));
	}

	/* A line in the buffer? */
	if ((rc = buffered(f, line, len)) == STEP_MORE)
	    continue;
	if (rc != STEP_READ)
	    return (rc);
	if (f->start > 0) {
	    memmove(f->buf, f->buf + f->start, f->fill - f->start);
	    f->fill -= f->start;
	    f->start = 0;
	}

	/* More bytes, without blocking on a pipe or terminal. */
	if (f->stream && !f->ended) {
	    pfd.fd = f->fd;
	    pfd.events = POLLIN;
	    if (poll(&pfd, 1, 0) == 0)
		return (SG_FOLLOW_AGAIN);
	}
	got = f->ended ? 0 : read(f->fd, f->buf + f->fill, BUF_SIZE - f->fill);
	if (got > 0) {
	    f->fill += (size_t) got;
	    f->roff += got;
	    continue;
	}
	if (got < 0) {
	    if (errno == EINTR || errno == EAGAIN)
		return (SG_FOLLOW_AGAIN);
	    snprintf(f->error, sizeof(f->error), "read %s: %s", f->name,
		     strerror(errno));
	    return (SG_FOLLOW_ERROR);
	}

	/*
	 * The end of what there is. A last line without '\n' is handed out
	 * only when nothing can complete it any more.
	 */
	if (f->stream || f->next_fd >= 0) {
	    n = f->fill - f->start;
	    if (n > 0 && !f->skipping)
		return (hand_out(f, f->buf + f->start, n, n, line, len));
	    if (f->stream) {
		f->ended = 1;
		reset_buffer(f);
		return (SG_FOLLOW_END);
	    }
	    switch_file(f);
	    continue;
	}
	if ((rc = at_eof(f)) != STEP_MORE)
	    return (rc);
    }
}

/* sg_follow_wait - sleep up to ms, or less when there is input or a signal */
void    sg_follow_wait(struct sg_follow *f, int ms)
{
    struct pollfd pfd;

    if (ms <= 0)
	return;
    if (f->stream && f->fd >= 0 && !f->ended) {
	pfd.fd = f->fd;
	pfd.events = POLLIN;
	(void) poll(&pfd, 1, ms);
    } else {
	(void) poll(0, 0, ms);			/* EINTR ends it early */
    }
}

/* ms_since - milliseconds from t0 to now, monotonic */
static long ms_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return ((long) (t.tv_sec - t0->tv_sec) * 1000
	    + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* sg_follow_line - the next line, waiting in poll steps */
int     sg_follow_line(struct sg_follow *f, const char **line, size_t *len,
		               int idle_ms, const volatile sig_atomic_t *stop)
{
    struct timespec t0;
    long    spent;
    int     rc;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
	if (stop && *stop)
	    return (SG_FOLLOW_AGAIN);
	if ((rc = sg_follow_next(f, line, len)) != SG_FOLLOW_AGAIN)
	    return (rc);
	if ((spent = ms_since(&t0)) >= idle_ms)
	    return (SG_FOLLOW_AGAIN);
	sg_follow_wait(f, (int) (idle_ms - spent < f->opts.poll_ms ?
				 idle_ms - spent : f->opts.poll_ms));
    }
}

/* sg_follow_position - "dev:ino:offset" after the last line handed out */
const char *sg_follow_position(struct sg_follow *f)
{
    if (f->stream)
	return ("");
    if (f->fd < 0)
	return (f->have_resume ? f->resume : "");
    snprintf(f->pos, sizeof(f->pos), "%ju:%ju:%jd", (uintmax_t) f->dev,
	     (uintmax_t) f->ino, (intmax_t) f->coff);
    return (f->pos);
}

/* sg_follow_reopen - switch to what the name names now, once read to EOF */
void    sg_follow_reopen(struct sg_follow *f)
{
    if (!f->stream)
	f->force = 1;
}

/* sg_follow_error - the last read error */
const char *sg_follow_error(const struct sg_follow *f)
{
    return (f->error);
}

/* sg_follow_name - what is followed */
const char *sg_follow_name(const struct sg_follow *f)
{
    return (f->name);
}

/* sg_follow_close - release everything; a descriptor given stays open */
void    sg_follow_close(struct sg_follow *f)
{
    if (f == 0)
	return;
    if (f->fd >= 0 && f->own_fd)
	close(f->fd);
    if (f->next_fd >= 0)
	close(f->next_fd);
    free(f->buf);
    free(f->name);
    free(f);
}
