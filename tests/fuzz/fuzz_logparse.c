/*
 * NAME
 *	fuzz_logparse - libFuzzer target: delivery log lines
 * DESCRIPTION
 *	Any bytes as one log line, passed without a terminating NUL so a
 *	read past the length is caught. The first byte picks the format the
 *	rest is read in (syslog, RFC 5424, journal-json). A parsed line must
 *	have a queue id and a class.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sg_logparse.h"

int     LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const formats[] = {"syslog", "rfc5424", "journal-json"};
    struct sg_logsource src;
    struct sg_delivery d;
    char   *line;

    if (size == 0)
	return (0);
    if (sg_logsource_init(&src, formats[data[0] % 3], "postfix postfix-out",
			  0, 0) < 0)
	abort();
    size--;
    if ((line = malloc(size ? size : 1)) == 0)
	return (0);
    memcpy(line, data + 1, size);
    if (sg_logparse(&src, line, size, &d) == SG_PARSE_OK
	&& (d.qid[0] == 0 || d.cls == SG_DSN_NONE))
	abort();
    free(line);
    return (0);
}
