/*
 * NAME
 *	fuzz_logparse - libFuzzer target: delivery log lines
 * DESCRIPTION
 *	Any bytes as one log line, passed without a terminating NUL so a
 *	read past the length is caught. A parsed line must have a queue id
 *	and a class.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sg_logparse.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sg_delivery d;
    char   *line = malloc(size ? size : 1);

    if (line == 0)
	return (0);
    memcpy(line, data, size);
    if (sg_logparse(line, size, &d) == SG_PARSE_OK
	&& (d.qid[0] == 0 || d.cls == SG_DSN_NONE))
	abort();
    free(line);
    return (0);
}
