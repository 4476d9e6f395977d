/*
 * NAME
 *	subguardctl.h - what the parts of subguardctl share
 * DESCRIPTION
 *	subguardctl.c: the command line, the configuration and Redis, and
 *	the commands on one account; subguardctl_report.c: events, report
 *	and top, over many.
 */
#ifndef SUBGUARDCTL_H
#define SUBGUARDCTL_H

#include <json-c/json.h>

#include "sg_config.h"
#include "sg_engine.h"
#include "sg_store.h"

#define EX_FOUND	0
#define EX_NONE		1
#define EX_USAGE	2
#define EX_REDIS	3

#define DEFAULT_CONF	"/etc/subguard/subguard.conf"
#define MAX_LIST	10000

struct opts {
    const char *conf;
    int     json;
    const char *by, *why, *login, *type, *since;
    int     clear;
    int     max, max_set;
};

/* What subguard builds at start, without its system checks (the daemon's
 * user need not exist where the desk runs this). */
struct ctl {
    struct sg_config cfg;
    struct sg_engine *engine;
    struct sg_redis *redis;
    struct sg_store store;
};

extern struct ctl *rt;

/* die - a message and an exit status */
extern void die(int status, const char *fmt, const char *arg);

/* put_json - print and free a JSON value, on one line */
extern void put_json(struct json_object *);
extern void jstr(struct json_object *, const char *k, const char *v);
extern void jint(struct json_object *, const char *k, long long v);

/* when - a time as UTC text */
extern const char *when(unsigned long t, char *buf, size_t len);

/* login_arg - the login in key form, as subguard normalises it */
extern const char *login_arg(const char *raw, char *buf, size_t len);

/* The commands of subguardctl_report.c. */
extern int cmd_events(const struct opts *);
extern int cmd_report(const struct opts *);
extern int cmd_top(const struct opts *);

#endif
