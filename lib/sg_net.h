/*
 * NAME
 *	sg_net 3h
 * SUMMARY
 *	a client address into the network it belongs to
 * DESCRIPTION
 *	An account's history remembers the networks its mail comes from,
 *	not single addresses: a home connection's address changes, its
 *	network rarely does. An IPv4 address counts by its /24, an IPv6
 *	address by its /48 (what one site gets), an IPv4-mapped IPv6
 *	address (::ffff:a.b.c.d) as the IPv4 address it maps.
 *
 *	The key is the network's prefix in lower-case hex, 6 digits for
 *	IPv4 and 12 for IPv6: short, as it is stored per account in Redis,
 *	and it never contains a space or a separator the profile uses. The
 *	text form ("192.0.2.0/24", "2001:db8:1::/48") is for the log.
 */
#ifndef SG_NET_H
#define SG_NET_H

#include <stddef.h>

#define SG_NET_KEY_MAX	13		/* 12 hex digits and the null */
#define SG_NET_TEXT_MAX	48

/*
 * sg_net_key - the network of a client address given as text (what the
 * MTA reports: "192.0.2.7", "2001:db8::1", "[2001:db8::1]", an
 * "IPv6:" prefix as Sendmail writes it). Returns 0, or -1 when addr is
 * not an IP address (a Unix socket, "unknown", junk): key is then "".
 * text may be NULL.
 */
extern int sg_net_key(const char *addr, char key[SG_NET_KEY_MAX],
		              char *text, size_t textlen);

/*
 * sg_net_text - a key back into the network's text form, for people
 * (subguardctl show). Returns 0, or -1 (text "") when key is not one
 * sg_net_key writes: a profile in Redis is input too.
 */
extern int sg_net_text(const char *key, char *text, size_t textlen);

#endif
