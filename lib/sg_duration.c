/*
 * NAME
 *	sg_duration 3
 * SUMMARY
 *	numbers and durations: read from files, written for people
 * DESCRIPTION
 *	See sg_duration.h. Every function here works from units[].
 * DIAGNOSTICS
 *	The readers return -1 on bad input and leave the result alone.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_duration.h"

#define NUNITS	(sizeof(units) / sizeof(units[0]))

/* The units, largest first: how a file writes them and how a text does. */
static const struct unit {
    unsigned long seconds;
    const char *abbr;			/* in files and logs: 15m */
    const char *word;			/* in customer texts: 15 minutes */
}       units[] = {
    {604800, "w", "week"},
    {86400, "d", "day"},
    {3600, "h", "hour"},
    {60, "m", "minute"},
    {1, "s", "second"},
};

/* sg_parse_number - strict unsigned decimal: digits only, no sign, no space */
int     sg_parse_number(const char *s, unsigned long *out)
{
    unsigned long v;
    char   *end;

    /* strtoul would take leading space, a sign and "0x"; insist on a digit. */
    if (s == 0 || !isdigit((unsigned char) s[0]))
	return (-1);
    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno == ERANGE || *end != 0)
	return (-1);
    *out = v;
    return (0);
}

/* unit_scale - what one of a unit written as text is worth, or 0 */
static unsigned long unit_scale(const char *text, int msec)
{
    size_t  i;

    if (msec && strcmp(text, "ms") == 0)
	return (1);
    for (i = 0; i < NUNITS; i++)
	if (strcmp(text, units[i].abbr) == 0)
	    return (units[i].seconds * (msec ? 1000 : 1));
    return (0);
}

/* parse_scaled - digits and a unit to seconds (or to milliseconds) */
static int parse_scaled(const char *text, int msec, unsigned long max,
			        unsigned long *out)
{
    char    num[32];
    const char *cp;
    unsigned long v;
    unsigned long scale = 1;
    size_t  n;

    if (text == 0)
	return (-1);
    for (cp = text; isdigit((unsigned char) *cp); cp++)
	 /* void */ ;
    n = (size_t) (cp - text);
    if (n == 0 || n >= sizeof(num))
	return (-1);
    memcpy(num, text, n);
    num[n] = 0;
    if (sg_parse_number(num, &v) < 0)
	return (-1);

    /* A bare "100" could be seconds or milliseconds: a time in ms says. */
    if (*cp == 0) {
	if (msec)
	    return (-1);
    } else if ((scale = unit_scale(cp, msec)) == 0) {
	return (-1);
    }
    if (v > max / scale)
	return (-1);
    *out = v * scale;
    return (0);
}

/* sg_parse_duration - "90", "90s", "15m", "1h", "1d", "1w" to seconds */
int     sg_parse_duration(const char *text, unsigned long *seconds)
{
    unsigned long v;

    if (parse_scaled(text, 0, SG_DURATION_MAX, &v) < 0)
	return (-1);
    if (seconds)
	*seconds = v;
    return (0);
}

/* sg_parse_msec - "100ms", "2s" to milliseconds; the unit is required */
int     sg_parse_msec(const char *text, unsigned long *msec)
{
    unsigned long v;

    if (parse_scaled(text, 1, SG_DURATION_MAX * 1000, &v) < 0)
	return (-1);
    if (msec)
	*msec = v;
    return (0);
}

/* sg_format_duration - 3600 -> "1h", 90 -> "90s" (the file's syntax) */
const char *sg_format_duration(unsigned long seconds, char *buf, size_t len)
{
    size_t  i;

    if (buf == 0 || len == 0)
	return ("");

    /*
     * The largest unit that divides exactly gives the fewest digits: 1d, not
     * 24h; 36h, since 1.5d cannot be written.
     */
    for (i = 0; seconds != 0 && seconds % units[i].seconds != 0; i++)
	 /* void */ ;
    if (seconds == 0)
	i = NUNITS - 1;
    snprintf(buf, len, "%lu%s", seconds / units[i].seconds, units[i].abbr);
    return (buf);
}

/* count_words - "1 minute", "3 minutes" */
static const char *count_words(unsigned long n, const struct unit *u,
			               char *buf, size_t len)
{
    snprintf(buf, len, "%lu %s%s", n, u->word, n == 1 ? "" : "s");
    return (buf);
}

/* sg_window_words - 3600 -> "hour", 900 -> "15 minutes" (a limit's window) */
const char *sg_window_words(unsigned long seconds, char *buf, size_t len)
{
    size_t  i;

    /* "per hour", not "per 1 hour". */
    for (i = 0; i < NUNITS; i++)
	if (seconds == units[i].seconds)
	    return (units[i].word);

    /* Several weeks read better in days: "per 14 days". */
    for (i = 1; seconds != 0 && seconds % units[i].seconds != 0; i++)
	 /* void */ ;
    if (seconds == 0)
	i = NUNITS - 1;
    return (count_words(seconds / units[i].seconds, units + i, buf, len));
}

/* sg_human_duration - 125 -> "3 minutes" (rounded up), for texts */
const char *sg_human_duration(unsigned long seconds, char *buf, size_t len)
{
    const struct unit *u;
    unsigned long n;

    /* Up to 90 minutes in minutes, up to 36 hours in hours, then days. */
    if (seconds <= 90 * 60)
	u = units + 3;
    else if (seconds <= 36 * 3600)
	u = units + 2;
    else
	u = units + 1;
    n = seconds / u->seconds + (seconds % u->seconds != 0);
    return (count_words(n ? n : 1, u, buf, len));
}
