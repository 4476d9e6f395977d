/*
 * NAME
 *	sg_journal 3
 * SUMMARY
 *	follow the systemd journal, filtered to the MTA's units, with a cursor
 * DESCRIPTION
 *	See sg_journal.h. sd_journal does the reading; this file adds the
 *	unit filter, the waiting (on sd_journal_get_fd(), in steps, so that
 *	a signal ends a wait at once), the copying of the three fields that
 *	are read, and the position.
 * DIAGNOSTICS
 *	Through the log callback: where reading starts, skipped ambiguous
 *	records. Errors as sg_journal.h says.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <systemd/sd-journal.h>

#include "sg_journal.h"

#define FIELD_MAX	SG_FOLLOW_LINE_MAX	/* longer values are cut */
#define NAME_MAX_LEN	256			/* program, _COMM, unit */
#define STEP_MS		200			/* a wait's longest step */
#define AMBIGUOUS_SAY	5			/* skipped records quoted */

struct sg_journal {
    sd_journal *j;
    int     fd;				/* sd_journal_get_fd() */
    int     once;
    int     pending;		/* the current record is not handed out */
    unsigned long ambiguous;
    void    (*log) (int, const char *,...);
    char    name[300];
    char    pos[SG_JOURNAL_POS_MAX];
    char    error[640];
    char    prog[NAME_MAX_LEN];
    char    comm[NAME_MAX_LEN];
    char   *msg;			/* FIELD_MAX + 1 */
};

#define say(jr, level, ...) do { \
	if ((jr)->log) \
	    (jr)->log((level), __VA_ARGS__); \
    } while (0)

/* unit_ok - a systemd unit name: no byte that a match could misread */
static int unit_ok(const char *s, size_t n)
{
    size_t  i;

    if (n == 0 || n >= NAME_MAX_LEN)
	return (0);
    for (i = 0; i < n; i++)
	if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
	      || (s[i] >= '0' && s[i] <= '9') || strchr("@._:-\\", s[i])))
	    return (0);
    return (1);
}

/* add_units - one _SYSTEMD_UNIT match a unit (the same field: OR) */
static int add_units(struct sg_journal *jr, const char *units, char *err,
		             size_t errlen)
{
    char    m[NAME_MAX_LEN + 32];
    const char *p = units;
    size_t  n;
    int     count = 0, r;

    for (;;) {
	p += strspn(p, ", \t");
	if ((n = strcspn(p, ", \t")) == 0)
	    break;
	if (!unit_ok(p, n)) {
	    snprintf(err, errlen, "journal_units: bad unit name \"%.*s\"",
		     (int) (n > 64 ? 64 : n), p);
	    return (-1);
	}
	snprintf(m, sizeof(m), "_SYSTEMD_UNIT=%.*s", (int) n, p);
	if ((r = sd_journal_add_match(jr->j, m, 0)) < 0) {
	    snprintf(err, errlen, "journal match %s: %s", m, strerror(-r));
	    return (-1);
	}
	count++;
	p += n;
    }
    if (count == 0) {
	snprintf(err, errlen, "journal_units: no unit named");
	return (-1);
    }
    return (0);
}

/*
 * resume_at - seek to "journal:BOOT:MONO:REALTIME:CURSOR"; its record,
 * when still there, was handed out before and is skipped
 */
static int resume_at(struct sg_journal *jr, const char *resume, char *err,
		             size_t errlen)
{
    const char *cursor;
    int     n = 0, r;
    char    boot[33];
    unsigned long long mono, real;

    if (strlen(resume) >= SG_JOURNAL_POS_MAX
	|| sscanf(resume, "journal:%32[0-9a-f]:%llu:%llu:%n", boot, &mono,
		  &real, &n) != 3 || n == 0 || strlen(boot) != 32
	|| *(cursor = resume + n) == 0 || strpbrk(cursor, " \t\r\n:")) {
	snprintf(err, errlen, "bad position \"%.64s\": want "
		 "journal:BOOT:MONO:REALTIME:CURSOR", resume);
	return (-1);
    }
    snprintf(jr->pos, sizeof(jr->pos), "%s", resume);
    if ((r = sd_journal_seek_cursor(jr->j, cursor)) < 0) {
	snprintf(err, errlen, "seek to cursor %.64s: %s", cursor,
		 strerror(-r));
	return (-1);
    }
    if ((r = sd_journal_next(jr->j)) > 0) {
	if (sd_journal_test_cursor(jr->j, cursor) > 0) {
	    say(jr, LOG_INFO, "%s: resuming after cursor %s", jr->name, cursor);
	} else {
	    say(jr, LOG_WARNING, "%s: the record of position %s is gone "
		"(vacuumed?): resuming at the next one there is", jr->name,
		resume);
	    jr->pending = 1;
	}
    }
    return (0);
}

/* sg_journal_open - the journal, its unit filter and where to start */
struct sg_journal *sg_journal_open(const char *directory, const char *units,
				           const char *resume, int once,
				           void (*log) (int, const char *,...),
				           char *err, size_t errlen)
{
    struct sg_journal *jr;
    int     r;

    if ((jr = calloc(1, sizeof(*jr))) == 0
	|| (jr->msg = malloc(FIELD_MAX + 1)) == 0) {
	free(jr);
	snprintf(err, errlen, "out of memory");
	return (0);
    }
    jr->fd = -1;
    jr->once = once;
    jr->log = log;
    snprintf(jr->name, sizeof(jr->name), "journal%s%s",
	     directory && *directory ? ":" : "", directory ? directory : "");
    r = directory && *directory ?
	sd_journal_open_directory(&jr->j, directory, 0) :
	sd_journal_open(&jr->j, SD_JOURNAL_LOCAL_ONLY | SD_JOURNAL_SYSTEM);
    if (r < 0) {
	snprintf(err, errlen, "%s: %s", jr->name, strerror(-r));
	jr->j = 0;
	goto fail;
    }
    (void) sd_journal_set_data_threshold(jr->j, FIELD_MAX);
    if (add_units(jr, units ? units : "", err, errlen) < 0)
	goto fail;
    if (!once && (jr->fd = sd_journal_get_fd(jr->j)) < 0) {
	snprintf(err, errlen, "%s: cannot watch: %s", jr->name,
		 strerror(-jr->fd));
	goto fail;
    }
    if (resume && *resume) {
	if (resume_at(jr, resume, err, errlen) < 0)
	    goto fail;
    } else {
	/* At the end: the last record is taken as read (journalctl -n 0). */
	if ((r = sd_journal_seek_tail(jr->j)) < 0
	    || (r = sd_journal_previous(jr->j)) < 0) {
	    snprintf(err, errlen, "%s: seek to the end: %s", jr->name,
		     strerror(-r));
	    goto fail;
	}
	say(jr, LOG_NOTICE, "%s: no saved position: reading from the end",
	    jr->name);
    }
    return (jr);
fail:
    sg_journal_close(jr);
    return (0);
}

/* copy - a field's value into buf (cut to size - 1); its length */
static size_t copy(char *buf, size_t size, const char *v, size_t n)
{
    if (n > size - 1)
	n = size - 1;
    memcpy(buf, v, n);
    buf[n] = 0;
    return (n);
}

/*
 * record - the current record's three fields into rec; 0 when one of
 * them is there more than once (ambiguous: skipped)
 */
static int record(struct sg_journal *jr, struct sg_journal_rec *rec)
{
    const void *data;
    size_t  len;
    int     nprog = 0, nmsg = 0, ncomm = 0;
    const char *d;

    memset(rec, 0, sizeof(*rec));
    rec->prog = rec->msg = "";
    SD_JOURNAL_FOREACH_DATA(jr->j, data, len) {
	d = data;
	if (len >= 18 && memcmp(d, "SYSLOG_IDENTIFIER=", 18) == 0 && !nprog++)
	    rec->plen = copy(jr->prog, sizeof(jr->prog), d + 18, len - 18);
	else if (len >= 8 && memcmp(d, "MESSAGE=", 8) == 0 && !nmsg++)
	    rec->mlen = copy(jr->msg, FIELD_MAX + 1, d + 8, len - 8);
	else if (len >= 6 && memcmp(d, "_COMM=", 6) == 0 && !ncomm++)
	    rec->clen = copy(jr->comm, sizeof(jr->comm), d + 6, len - 6);
    }
    if (nprog > 1 || nmsg > 1 || ncomm > 1) {
	if (++jr->ambiguous <= AMBIGUOUS_SAY)
	    say(jr, LOG_WARNING, "%s: record with a field given twice "
		"(SYSLOG_IDENTIFIER %d, MESSAGE %d, _COMM %d), skipped "
		"(sample %lu of %d)", jr->name, nprog, nmsg, ncomm,
		jr->ambiguous, AMBIGUOUS_SAY);
	return (0);
    }
    if (nprog)
	rec->prog = jr->prog;
    if (nmsg)
	rec->msg = jr->msg;
    if (ncomm)
	rec->comm = jr->comm;
    return (1);
}

/* note_position - "journal:BOOT:MONO:REALTIME:CURSOR" of the current one */
static int note_position(struct sg_journal *jr)
{
    sd_id128_t boot;
    uint64_t mono, real;
    char   *cursor = 0, b[SD_ID128_STRING_MAX];
    int     r;

    if ((r = sd_journal_get_monotonic_usec(jr->j, &mono, &boot)) < 0
	|| (r = sd_journal_get_realtime_usec(jr->j, &real)) < 0
	|| (r = sd_journal_get_cursor(jr->j, &cursor)) < 0) {
	snprintf(jr->error, sizeof(jr->error), "%s: record without time "
		 "or cursor: %s", jr->name, strerror(-r));
	return (-1);
    }
    r = snprintf(jr->pos, sizeof(jr->pos), "journal:%s:%" PRIu64 ":%"
		 PRIu64 ":%s", sd_id128_to_string(boot, b), mono, real,
		 cursor);
    free(cursor);
    if (r < 0 || (size_t) r >= sizeof(jr->pos)) {
	snprintf(jr->error, sizeof(jr->error), "%s: cursor too long",
		 jr->name);
	return (-1);
    }
    return (0);
}

/* ms_since - milliseconds since t0, monotonic */
static long ms_since(const struct timespec *t0)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return ((long) (t.tv_sec - t0->tv_sec) * 1000
	    + (t.tv_nsec - t0->tv_nsec) / 1000000);
}

/* next - move to the next record: 1, 0 at the end, -1 on error */
static int next(struct sg_journal *jr)
{
    int     r;

    if (jr->pending) {
	jr->pending = 0;
	return (1);
    }
    if ((r = sd_journal_next(jr->j)) < 0)
	snprintf(jr->error, sizeof(jr->error), "%s: read: %s", jr->name,
		 strerror(-r));
    return (r < 0 ? -1 : r > 0);
}

/* sg_journal_line - the next record, waiting in steps */
int     sg_journal_line(struct sg_journal *jr, struct sg_journal_rec *rec,
		                int idle_ms, const volatile sig_atomic_t *stop)
{
    struct pollfd pfd;
    struct timespec t0;
    long    left;
    int     r;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
	if (stop && *stop)
	    return (SG_FOLLOW_AGAIN);
	if ((r = next(jr)) < 0)
	    return (SG_FOLLOW_ERROR);
	if (r > 0) {
	    if (note_position(jr) < 0)
		return (SG_FOLLOW_ERROR);
	    if (record(jr, rec))
		return (SG_FOLLOW_LINE);
	    continue;				/* ambiguous: skipped */
	}
	if (jr->once)
	    return (SG_FOLLOW_END);
	if ((left = idle_ms - ms_since(&t0)) <= 0)
	    return (SG_FOLLOW_AGAIN);
	pfd.fd = jr->fd;
	pfd.events = (short) sd_journal_get_events(jr->j);
	(void) poll(&pfd, 1, (int) (left < STEP_MS ? left : STEP_MS));
	(void) sd_journal_process(jr->j);
    }
}

/* sg_journal_position - after the last record handed out */
const char *sg_journal_position(const struct sg_journal *jr)
{
    return (jr->pos);
}

/* sg_journal_error - the last error */
const char *sg_journal_error(const struct sg_journal *jr)
{
    return (jr->error);
}

/* sg_journal_name - what is read */
const char *sg_journal_name(const struct sg_journal *jr)
{
    return (jr->name);
}

/* sg_journal_close - release everything */
void    sg_journal_close(struct sg_journal *jr)
{
    if (jr == 0)
	return;
    if (jr->j)
	sd_journal_close(jr->j);
    free(jr->msg);
    free(jr);
}
