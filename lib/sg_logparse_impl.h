/*
 * NAME
 *	sg_logparse_impl 3h
 * SUMMARY
 *	what the two halves of the log parser share (lib/ only)
 * DESCRIPTION
 *	sg_logformat.c frames a line (its header, or the journal's fields)
 *	and judges its program; sg_logparse.c reads the message of a record
 *	whose program counts. Nothing outside lib/sg_log*.c includes this
 *	file; programs include sg_logparse.h.
 */
#ifndef SG_LOGPARSE_IMPL_H
#define SG_LOGPARSE_IMPL_H

#include <stddef.h>

#include "sg_logparse.h"

#define IS_DIGIT(c)	((c) >= '0' && (c) <= '9')
#define IS_ALPHA(c)	(((c) | 0x20) >= 'a' && ((c) | 0x20) <= 'z')
#define IS_ALNUM(c)	(IS_DIGIT(c) || IS_ALPHA(c))
#define IS_PRINT(c)	((c) > ' ' && (c) < 0x7f)	/* and not a space */

/* Whose record a line is, from its program name. */
enum sg_log_who {
    SG_WHO_OTHER, SG_WHO_POSTFIX, SG_WHO_QMGR, SG_WHO_SENDMAIL
};

/* sg_logformat.c */

/*
 * sg_log_syslog_msg - where the message of "TIME HOST PROG[PID]: MSG"
 * starts, 0 if the line is not one; the program in *prog, *plen
 */
extern size_t sg_log_syslog_msg(const char *line, size_t len,
				        const char **prog, size_t *plen);

/*
 * sg_log_rfc5424_msg - where the MSG of an RFC 5424 line starts (len
 * when there is none), 0 if the line is not one; APP-NAME in *prog, *plen
 */
extern size_t sg_log_rfc5424_msg(const char *line, size_t len,
				         const char **prog, size_t *plen);

/* sg_log_journal - one line of "journalctl -o json" into d */
extern int sg_log_journal(const struct sg_logsource *src, const char *line,
			          size_t len, struct sg_delivery *d);

/*
 * sg_log_program - whose record: a Postfix delivery agent under a
 * configured syslog_name (the agent's name in *agent, *alen), Sendmail,
 * or other
 */
extern enum sg_log_who sg_log_program(const struct sg_logsource *src,
				              const char *p, size_t n,
				              const char **agent, size_t *alen);

/* sg_logparse.c */

/*
 * sg_log_record - the message of one record, its program known; comm
 * is the journal's _COMM (NULL elsewhere)
 */
extern int sg_log_record(const struct sg_logsource *src, const char *prog,
			         size_t plen, const char *msg, size_t mlen,
			         const char *comm, size_t clen,
			         struct sg_delivery *d);

#endif
