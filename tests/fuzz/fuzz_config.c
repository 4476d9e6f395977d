/*
 * NAME
 *	fuzz_config - libFuzzer target: the configuration parser
 * DESCRIPTION
 *	Any bytes as a configuration file: the parser must either accept
 *	them or say "name:line: what", never crash, never read out of
 *	bounds, and leave a valid configuration behind on success.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sg_config.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sg_config cfg;
    char   *text = malloc(size + 1);
    char    err[512];

    if (text == 0)
	return (0);
    memcpy(text, data, size);
    text[size] = 0;
    sg_config_init(&cfg);
    if (sg_config_parse_string("fuzz.conf", text, &cfg, err, sizeof(err)) < 0) {
	if (strncmp(err, "fuzz.conf", 9) != 0)
	    abort();				/* every error names the file */
    } else if (cfg.ntiers < 1 || sg_config_tier(&cfg, cfg.default_tier) == 0) {
	abort();				/* accepted, yet unusable */
    }
    free(text);
    return (0);
}
