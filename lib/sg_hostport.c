/*
 * NAME
 *	sg_hostport 3
 * SUMMARY
 *	"HOST:PORT" and "[v6]:PORT" listening addresses
 * DESCRIPTION
 *	The text comes from a configuration file or a command line: every
 *	byte is checked. A host is a name or an IPv4 address (letters,
 *	digits, '.', '-', '_'), or an IPv6 address in brackets (hex digits,
 *	':', '.', and a "%zone" of the same letters). The port is decimal,
 *	1 to 65535, with no sign, space or leading junk.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "sg_hostport.h"

/* port_parse - decimal 1..65535, the whole text */
static int port_parse(const char *s, unsigned *port)
{
    unsigned long v = 0;
    const char *cp;

    if (*s == 0 || strlen(s) > 5)
	return (-1);
    for (cp = s; *cp; cp++) {
	if (!isdigit((unsigned char) *cp))
	    return (-1);
	v = v * 10 + (unsigned long) (*cp - '0');
    }
    if (v == 0 || v > 65535)
	return (-1);
    *port = (unsigned) v;
    return (0);
}

/* host_ok - the bytes a host name, IPv4 or (v6) an IPv6 address may have */
static int host_ok(const char *s, size_t len, int v6)
{
    size_t  i;
    int     c;

    if (len == 0 || len >= SG_HOST_LEN)
	return (0);
    for (i = 0; i < len; i++) {
	c = (unsigned char) s[i];
	if (v6 ? !(isalnum(c) || c == ':' || c == '.' || c == '%')
	    : !(isalnum(c) || c == '.' || c == '-' || c == '_'))
	    return (0);
    }
    return (!v6 || memchr(s, ':', len) != 0);
}

/* sg_hostport_parse - text into host and port */
int     sg_hostport_parse(const char *text, struct sg_hostport *hp, char *err,
			          size_t errlen)
{
    const char *host = text, *end, *colon;
    int     v6 = 0;

    memset(hp, 0, sizeof(*hp));
    if (*text == '[') {
	if ((end = strchr(text, ']')) == 0 || end[1] != ':') {
	    snprintf(err, errlen, "want [IPv6]:PORT");
	    return (-1);
	}
	host = text + 1;
	colon = end + 1;
	v6 = 1;
    } else {
	if ((colon = strrchr(text, ':')) == 0) {
	    snprintf(err, errlen, "want HOST:PORT or [IPv6]:PORT");
	    return (-1);
	}
	if (memchr(text, ':', (size_t) (colon - text)) != 0) {
	    snprintf(err, errlen, "an IPv6 address goes in brackets: "
		     "[::1]:PORT");
	    return (-1);
	}
	end = colon;
    }
    if (!host_ok(host, (size_t) (end - host), v6)) {
	snprintf(err, errlen, "bad host");
	return (-1);
    }
    if (port_parse(colon + 1, &hp->port) < 0) {
	snprintf(err, errlen, "the port must be a number from 1 to 65535");
	return (-1);
    }
    memcpy(hp->host, host, (size_t) (end - host));
    hp->host[end - host] = 0;
    return (0);
}
