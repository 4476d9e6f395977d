/*
 * NAME
 *	world.h - what the integration programs share: one node's config,
 *	engine and Redis pool, and helpers that fail the test on error
 * DESCRIPTION
 *	Each program builds its own configuration (tiers, limits); a world
 *	only names the parts. Run through with-redis.sh (SG_REDIS).
 */
#ifndef SG_TEST_WORLD_H
#define SG_TEST_WORLD_H

#include "sg_config.h"
#include "sg_engine.h"
#include "sg_redis.h"

struct world {
    struct sg_config cfg;
    struct sg_engine *eng;
    struct sg_redis *redis;
    struct sg_store store;
};

/* world_log_calls - lines world_quiet_log was given */
extern int world_log_calls;

/* world_quiet_log - a pool's log function: counts, prints nothing */
extern void world_quiet_log(int, const char *,...);

/* world_windows - parse a window list or fail the test */
extern void world_windows(struct sg_windows *, const char *);

/*
 * world_redis - run a command (words split at spaces), return element i
 * of the flattened reply, "(none)" past its end; fails the test on error.
 * The result lives until the next call.
 */
extern char *world_redis(struct world *, int, const char *,...);

#endif
