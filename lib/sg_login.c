/*
 * NAME
 *	sg_login 3
 * SUMMARY
 *	SASL login normalisation and Redis key names
 * DESCRIPTION
 *	See sg_login.h. Logins come from the SMTP client through the MTA, so
 *	they are hostile input: any byte may appear, of any length.
 * DIAGNOSTICS
 *	sg_login_normalise() returns SG_LOGIN_EMPTY for an empty login.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "sg_login.h"

/* keep_byte - bytes that stay as they are in a normalised login */
static int keep_byte(unsigned char c)
{
    return ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
	    || (c >= '0' && c <= '9') || strchr("@._-+=", c) != 0) && c != 0;
}

/* sg_login_normalise - raw login to key form */
int     sg_login_normalise(const char *raw, enum sg_case lcase, char *out,
			           size_t outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *cp;
    size_t  n = 0;
    unsigned char c;

    if (outlen < SG_LOGIN_MAX)
	return (SG_LOGIN_EMPTY);
    if (raw == 0 || *raw == 0) {
	out[0] = 0;
	return (SG_LOGIN_EMPTY);
    }
    for (cp = (const unsigned char *) raw; *cp; cp++) {
	c = *cp;
	if (lcase == SG_CASE_LOWER && c >= 'A' && c <= 'Z')
	    c = c - 'A' + 'a';
	if (keep_byte(c)) {
	    if (n + 1 > SG_LOGIN_KEEP)
		break;
	    out[n++] = c;
	} else {
	    if (n + 3 > SG_LOGIN_KEEP)
		break;
	    out[n++] = '%';
	    out[n++] = hex[c >> 4];
	    out[n++] = hex[c & 15];
	}
    }
    if (*cp == 0) {
	out[n] = 0;
	return (SG_LOGIN_OK);
    }

    /*
     * Too long to keep as text. Hash the cased raw login, not the escaped
     * prefix, so two long logins that differ only at the end differ here.
     */
    {
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[32];
	unsigned char chunk[64];
	size_t  i, k = 0;

	if (ctx == 0 || EVP_DigestInit_ex(ctx, EVP_sha256(), 0) != 1) {
	    EVP_MD_CTX_free(ctx);
	    out[0] = 0;
	    return (SG_LOGIN_EMPTY);
	}
	for (cp = (const unsigned char *) raw; /* void */ ; cp++) {
	    if (*cp == 0 || k == sizeof(chunk)) {
		EVP_DigestUpdate(ctx, chunk, k);
		k = 0;
		if (*cp == 0)
		    break;
	    }
	    c = *cp;
	    if (lcase == SG_CASE_LOWER && c >= 'A' && c <= 'Z')
		c = c - 'A' + 'a';
	    chunk[k++] = c;
	}
	EVP_DigestFinal_ex(ctx, md, 0);
	EVP_MD_CTX_free(ctx);
	memcpy(out, "sha256:", 7);
	for (i = 0; i < 32; i++) {
	    out[7 + 2 * i] = hex[md[i] >> 4] | 0x20;	/* lower-case hex */
	    out[8 + 2 * i] = hex[md[i] & 15] | 0x20;
	}
	out[7 + 2 * 32] = 0;
	return (SG_LOGIN_HASHED);
    }
}

/* hexval - a hex digit's value, or -1 (xtext wants upper case; be lenient) */
static int hexval(int c)
{
    if (c >= '0' && c <= '9')
	return (c - '0');
    if (c >= 'A' && c <= 'F')
	return (c - 'A' + 10);
    if (c >= 'a' && c <= 'f')
	return (c - 'a' + 10);
    return (-1);
}

/* sg_xtext_decode - RFC 3461 xtext to plain text */
int     sg_xtext_decode(const char *text, char *out, size_t outlen)
{
    size_t  n = 0;
    const char *cp;
    int     pass;

    /* Check everything first, so that out is untouched on error. */
    for (pass = 0; pass < 2; pass++) {
	for (n = 0, cp = text; *cp; cp++, n++) {
	    if (n + 1 >= outlen)
		return (-1);
	    if (*cp != '+') {
		if (pass)
		    out[n] = *cp;
		continue;
	    }
	    if (hexval(cp[1]) < 0 || hexval(cp[2]) < 0
		|| (cp[1] == '0' && cp[2] == '0'))
		return (-1);
	    if (pass)
		out[n] = (char) (hexval(cp[1]) * 16 + hexval(cp[2]));
	    cp += 2;
	}
    }
    out[n] = 0;
    return (0);
}

/* sg_log_safe - copy text for a log field: no spaces, quotes or controls */
const char *sg_log_safe(const char *text, char *buf, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *cp;
    size_t  n = 0;

    if (len == 0)
	return ("");
    if (text == 0 || *text == 0)
	text = "-";
    for (cp = (const unsigned char *) text; *cp && n + 4 < len; cp++) {
	if (*cp > ' ' && *cp < 127 && *cp != '"' && *cp != '\\' && *cp != '%') {
	    buf[n++] = *cp;
	} else {
	    buf[n++] = '%';
	    buf[n++] = hex[*cp >> 4];
	    buf[n++] = hex[*cp & 15];
	}
    }
    buf[n] = 0;
    return (buf);
}
