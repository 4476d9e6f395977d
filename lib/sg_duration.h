/*
 * NAME
 *	sg_duration 3h
 * SUMMARY
 *	numbers and durations: read from files, written for people
 * DESCRIPTION
 *	One table of units (week, day, hour, minute, second) serves every
 *	direction: reading "15m" from the configuration, writing "1h" into
 *	logs and messages about the configuration, and writing "hour" or
 *	"3 minutes" into the texts a customer reads.
 *
 *	lib/lua/engine.lua runs inside Redis and cannot call C: its human()
 *	writes what sg_format_duration() writes.
 * DIAGNOSTICS
 *	The readers return 0, or -1 on bad input without writing the result.
 */
#ifndef SG_DURATION_H
#define SG_DURATION_H

#include <stddef.h>

 /*
  * Durations stop at ten years: nothing subguard times lasts longer, and
  * the cap keeps seconds * 1000 far inside the 2^53 that Lua numbers (the
  * Redis scripts) hold exactly and inside a 32-bit unsigned long.
  */
#define SG_DURATION_MAX	(3650UL * 86400UL)

/* sg_parse_number - strict unsigned decimal: digits only, no sign, no space */
extern int sg_parse_number(const char *text, unsigned long *out);

/* sg_parse_duration - "90", "90s", "15m", "1h", "1d", "1w" to seconds */
extern int sg_parse_duration(const char *text, unsigned long *seconds);

/* sg_parse_msec - "100ms", "2s" to milliseconds; the unit is required */
extern int sg_parse_msec(const char *text, unsigned long *msec);

/* sg_format_duration - 3600 -> "1h", 90 -> "90s" (the file's syntax) */
extern const char *sg_format_duration(unsigned long seconds, char *buf,
				              size_t len);

/* sg_window_words - 3600 -> "hour", 900 -> "15 minutes" (a limit's window) */
extern const char *sg_window_words(unsigned long seconds, char *buf,
				           size_t len);

/* sg_human_duration - 125 -> "3 minutes" (rounded up), for texts */
extern const char *sg_human_duration(unsigned long seconds, char *buf,
				             size_t len);

#endif
