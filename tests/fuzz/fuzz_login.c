/*
 * NAME
 *	fuzz_login - libFuzzer target: SASL login normalisation and keys
 * DESCRIPTION
 *	Any bytes as {auth_authen}: the key form must contain no brace,
 *	colon (but the digest form's), space or control byte, so one login
 *	can never reach another account's keys.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sg_keys.h"
#include "sg_login.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char   *raw = malloc(size + 1), out[SG_LOGIN_MAX], key[SG_KEY_MAX];
    const char *cp;
    int     form;

    if (raw == 0)
	return (0);
    memcpy(raw, data, size);
    raw[size] = 0;
    form = sg_login_normalise(raw, SG_CASE_LOWER, out, sizeof(out));
    if (form != SG_LOGIN_EMPTY) {
	for (cp = form == SG_LOGIN_HASHED ? out + 7 : out; *cp; cp++)
	    if (*cp == '{' || *cp == '}' || *cp == ':' || *cp <= ' '
		|| *cp == 127)
		abort();
	if (sg_key(key, sizeof(key), "subguard", out, "tier") < 0)
	    abort();
    }
    free(raw);
    return (0);
}
