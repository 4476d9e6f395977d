/*
 * NAME
 *	sg_hostport 3h
 * SUMMARY
 *	"HOST:PORT" and "[v6]:PORT" listening addresses
 * DESCRIPTION
 *	The metrics listeners ([metrics] listen and feed_listen, and
 *	subguard-feed -m) name a TCP address as HOST:PORT, with an IPv6
 *	address in brackets: 127.0.0.1:9154, localhost:9154, [::1]:9154.
 *	Pure parsing: nothing is resolved here.
 * DIAGNOSTICS
 *	sg_hostport_parse() returns 0, or -1 with what is wrong in err.
 */
#ifndef SG_HOSTPORT_H
#define SG_HOSTPORT_H

#include <stddef.h>

#define SG_HOST_LEN	256

struct sg_hostport {
    char    host[SG_HOST_LEN];		/* without the brackets */
    unsigned port;			/* 1 to 65535 */
};

/* sg_hostport_parse - text into host and port */
extern int sg_hostport_parse(const char *text, struct sg_hostport *,
			             char *err, size_t errlen);

#endif
