/*
 * NAME
 *	world.c - what the integration programs share (see world.h)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "world.h"

int     world_log_calls;

void    world_quiet_log(int level, const char *fmt,...)
{
    (void) level;
    (void) fmt;
    world_log_calls++;
}

void    world_windows(struct sg_windows *w, const char *text)
{
    char    err[256];

    if (sg_parse_windows(text, w, err, sizeof(err)) < 0)
	fail_msg("%s: %s", text, err);
}

char   *world_redis(struct world *w, int i, const char *fmt,...)
{
    static char out[4096];
    char    buf[1024], *argv[16], *cp;
    size_t  lens[16];
    int     argc = 0;
    va_list ap;
    struct sg_reply r = {0, 0};
    char    err[256];

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    for (cp = strtok(buf, " "); cp && argc < 16; cp = strtok(0, " ")) {
	argv[argc] = cp;
	lens[argc++] = strlen(cp);
    }
    if (sg_redis_command(w->redis, argc, (const char *const *) argv, lens,
			 &r, err, sizeof(err)) != SG_STORE_OK)
	fail_msg("redis %s: %s", fmt, err);
    snprintf(out, sizeof(out), "%s", i < r.n ? r.v[i] : "(none)");
    sg_reply_free(&r);
    return (out);
}
