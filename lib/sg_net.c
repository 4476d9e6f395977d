/*
 * NAME
 *	sg_net 3
 * SUMMARY
 *	a client address into the network it belongs to
 * DESCRIPTION
 *	See sg_net.h. The address is parsed by inet_pton(3), never by hand:
 *	the text comes from the MTA, which had it from the network.
 * DIAGNOSTICS
 *	-1 for anything inet_pton does not take; nothing is logged here.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sg_net.h"

/* strip - copy addr without "[...]" or an "IPv6:" prefix; -1 too long */
static int strip(const char *addr, char *buf, size_t len)
{
    size_t  n;

    if (addr == 0)
	return (-1);
    if (strncasecmp(addr, "IPv6:", 5) == 0)
	addr += 5;
    n = strlen(addr);
    if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') {
	addr++;
	n -= 2;
    }
    if (n == 0 || n >= len)
	return (-1);
    memcpy(buf, addr, n);
    buf[n] = 0;
    return (0);
}

/* sg_net_key - the /24 or /48 of an address, as hex and as text */
int     sg_net_key(const char *addr, char key[SG_NET_KEY_MAX], char *text,
		           size_t textlen)
{
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0xff, 0xff};
    char    buf[INET6_ADDRSTRLEN + 8];
    unsigned char a[16];

    key[0] = 0;
    if (text && textlen)
	text[0] = 0;
    if (strip(addr, buf, sizeof(buf)) < 0)
	return (-1);
    if (inet_pton(AF_INET, buf, a) == 1) {
	/* IPv4 */
    } else if (inet_pton(AF_INET6, buf, a) == 1) {
	if (memcmp(a, mapped, sizeof(mapped)) == 0) {
	    memmove(a, a + 12, 4);
	} else {
	    snprintf(key, SG_NET_KEY_MAX, "%02x%02x%02x%02x%02x%02x",
		     a[0], a[1], a[2], a[3], a[4], a[5]);
	    if (text && textlen)
		snprintf(text, textlen, "%x:%x:%x::/48", a[0] << 8 | a[1],
			 a[2] << 8 | a[3], a[4] << 8 | a[5]);
	    return (0);
	}
    } else {
	return (-1);
    }
    snprintf(key, SG_NET_KEY_MAX, "%02x%02x%02x", a[0], a[1], a[2]);
    if (text && textlen)
	snprintf(text, textlen, "%u.%u.%u.0/24", a[0], a[1], a[2]);
    return (0);
}

/* sg_net_text - a network's key (as sg_net_key writes it) as text */
int     sg_net_text(const char *key, char *text, size_t textlen)
{
    unsigned char a[6];
    size_t  n = strspn(key, "0123456789abcdef"), i;

    if (textlen)
	text[0] = 0;
    if (key[n] != 0 || (n != 6 && n != 12))
	return (-1);
    for (i = 0; i < n / 2; i++) {
	char    hex[3] = {key[2 * i], key[2 * i + 1], 0};

	a[i] = (unsigned char) strtoul(hex, 0, 16);
    }
    if (n == 6)
	snprintf(text, textlen, "%u.%u.%u.0/24", a[0], a[1], a[2]);
    else
	snprintf(text, textlen, "%x:%x:%x::/48", a[0] << 8 | a[1],
		 a[2] << 8 | a[3], a[4] << 8 | a[5]);
    return (0);
}
