/*
 * NAME
 *	sg_journal 3h
 * SUMMARY
 *	follow the systemd journal, filtered to the MTA's units, with a cursor
 * DESCRIPTION
 *	The journal counterpart of sg_follow: sg_journal_open() opens the
 *	system journal (or one directory of journal files, for tests) through
 *	libsystemd's sd-journal, keeps to the records journald attributes to
 *	the given units (_SYSTEMD_UNIT, set by journald from the sender's
 *	cgroup, not by the sender) and hands out one record at a time:
 *	its program (SYSLOG_IDENTIFIER), message (MESSAGE) and process name
 *	(_COMM), copied, so they stay valid until the next call. They are
 *	read as the journal-json format reads the same fields
 *	(sg_logparse_fields()), so the defences against forged records hold.
 *
 *	Position. "journal:BOOT:MONO:REALTIME:CURSOR" after the last record
 *	handed out: the record's boot id, monotonic and wall-clock time in
 *	microseconds, and its journal cursor. Given back to sg_journal_open(),
 *	reading seeks to the cursor and skips that record when it is still
 *	there; when it was vacuumed, reading goes on from the record after
 *	that place (by time). The engine compares two positions without
 *	libsystemd (engine.lua: journal_at_or_past): the same sequence
 *	(the cursor's s=) by its number i=, else the same boot by monotonic
 *	time, else by wall-clock time.
 *
 *	Without a position reading starts at the journal's end, as
 *	"journalctl -f -n 0" did: records logged before the first start are
 *	not read (an upgrade from the journalctl pipe counts nothing twice).
 *
 *	A record with MESSAGE, SYSLOG_IDENTIFIER or _COMM given more than once
 *	is ambiguous: it is skipped and said (the journal-json reader skips
 *	them too).
 * DIAGNOSTICS
 *	sg_journal_open() returns NULL with err set. Read errors: the
 *	SG_FOLLOW_ERROR answer and sg_journal_error().
 */
#ifndef SG_JOURNAL_H
#define SG_JOURNAL_H

#include <signal.h>
#include <stddef.h>

#include "sg_follow.h"			/* SG_FOLLOW_LINE, ... answers */

#define SG_JOURNAL_POS_MAX	512	/* a position and its NUL */

/* One record, valid until the next call. */
struct sg_journal_rec {
    const char *prog;			/* SYSLOG_IDENTIFIER, "" if none */
    size_t  plen;
    const char *msg;			/* MESSAGE, "" if none */
    size_t  mlen;
    const char *comm;			/* _COMM, NULL if none */
    size_t  clen;
};

struct sg_journal;

/*
 * sg_journal_open - the system journal (directory NULL or "") or the
 * files in directory, filtered to units (unit names separated by commas
 * or spaces), from position resume ("" or NULL: at the end). once: END
 * at the end instead of waiting. A malformed resume is an error.
 */
extern struct sg_journal *sg_journal_open(const char *directory,
				                  const char *units,
				                  const char *resume, int once,
				                  void (*log) (int, const char *,...),
				                  char *err, size_t errlen);

/*
 * sg_journal_line - the next record, waiting: SG_FOLLOW_LINE with *rec
 * filled in, SG_FOLLOW_END (once), SG_FOLLOW_ERROR, or SG_FOLLOW_AGAIN
 * after idle_ms without one or as soon as *stop is set.
 */
extern int sg_journal_line(struct sg_journal *, struct sg_journal_rec *rec,
			           int idle_ms, const volatile sig_atomic_t *stop);

/* sg_journal_position - after the last record; the resume before any */
extern const char *sg_journal_position(const struct sg_journal *);

/* sg_journal_error - the last error */
extern const char *sg_journal_error(const struct sg_journal *);

/* sg_journal_name - "journal" or "journal:DIRECTORY", for logs */
extern const char *sg_journal_name(const struct sg_journal *);

extern void sg_journal_close(struct sg_journal *);

#endif
