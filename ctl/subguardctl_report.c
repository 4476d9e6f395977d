/*
 * NAME
 *	subguardctl_report - events, report and top: subguardctl over many
 *	accounts
 * DESCRIPTION
 *	See subguardctl.8 and subguardctl.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sg_desk.h"
#include "sg_duration.h"
#include "subguardctl.h"

/* since_arg - "24h" before now as a time, or 0 */
static double since_arg(const char *text)
{
    unsigned long s;

    if (text == 0)
	return (0);
    if (sg_parse_duration(text, &s) < 0)
	die(EX_USAGE, "not a duration: %s", text);
    return ((double) time(0) - (double) s);
}

/* event_json - one event */
static struct json_object *event_json(const struct sg_desk_event *e)
{
    struct json_object *o = json_object_new_object();
    int     j;

    jstr(o, "id", e->id);
    for (j = 0; j < e->nf; j++)
	jstr(o, e->f[2 * j], e->f[2 * j + 1]);
    return (o);
}

/* cmd_events - the events stream, filtered */
int     cmd_events(const struct opts *o)
{
    struct sg_desk_events ev;
    struct json_object *a = json_object_new_array();
    char    err[256], login[SG_LOGIN_MAX] = "", t[64];
    int     i, j;

    if (o->login)
	login_arg(o->login, login, sizeof(login));
    if (sg_desk_events(rt->engine, &rt->store, since_arg(o->since), login,
		       o->type, o->max, &ev, err, sizeof(err)) < 0)
	die(EX_REDIS, "%s", err);
    for (i = 0; i < ev.n; i++) {
	json_object_array_add(a, event_json(ev.ev + i));
	if (o->json)
	    continue;
	printf("%s %s", when(strtoul(sg_desk_event_field(ev.ev + i, "time"),
				     0, 10), t, sizeof(t)),
	       sg_desk_event_field(ev.ev + i, "event"));
	for (j = 0; j < ev.ev[i].nf; j++)
	    if (strcmp(ev.ev[i].f[2 * j], "time")
		&& strcmp(ev.ev[i].f[2 * j], "event"))
		printf(" %s=%s", ev.ev[i].f[2 * j], ev.ev[i].f[2 * j + 1]);
	putchar('\n');
    }
    if (o->json)
	put_json(a);
    else
	json_object_put(a);
    i = ev.n ? EX_FOUND : EX_NONE;
    sg_desk_events_free(&ev);
    return (i);
}

/* bump - count one more under key in a JSON object of counts */
static void bump(struct json_object *counts, const char *key)
{
    struct json_object *v = json_object_object_get(counts, key);

    jint(counts, key, (v ? json_object_get_int64(v) : 0) + 1);
}

/* report_collect - the report's parts from the events since then */
static struct json_object *report_collect(const struct sg_desk_events *ev)
{
    struct json_object *r = json_object_new_object();
    struct json_object *q = json_object_new_array(), *l =
	json_object_new_array();
    struct json_object *per = json_object_new_object(), *tiers =
	json_object_new_object();
    struct sg_inspect *in = calloc(1, sizeof(*in));
    const char *type, *login;
    char    err[256];
    int     i;

    for (i = ev->n - 1; i >= 0; i--) {		/* oldest first */
	type = sg_desk_event_field(ev->ev + i, "event");
	login = sg_desk_event_field(ev->ev + i, "login");
	if (strcmp(type, "quarantine") == 0) {
	    json_object_array_add(q, event_json(ev->ev + i));
	    bump(per, login);
	    if (in && sg_engine_inspect(rt->engine, &rt->store, login, time(0),
					in, err, sizeof(err)) == 0)
		bump(tiers, in->tier);
	} else if (strcmp(type, "lift") == 0)
	    json_object_array_add(l, event_json(ev->ev + i));
    }
    free(in);
    json_object_object_add(r, "quarantines", q);
    json_object_object_add(r, "lifts", l);
    json_object_object_add(r, "repeat", json_object_new_object());
    json_object_object_foreach(per, k, v) {
	if (json_object_get_int64(v) > 1)
	    json_object_object_add(json_object_object_get(r, "repeat"), k,
				   json_object_get(v));
    }
    json_object_put(per);
    json_object_object_add(r, "quarantines_by_tier", tiers);
    return (r);
}

/* field - a string member of a JSON object, or "" */
static const char *field(struct json_object *o, const char *k)
{
    struct json_object *v = json_object_object_get(o, k);

    return (v ? json_object_get_string(v) : "");
}

/* report_text - the report for a person */
static void report_text(struct json_object *r, double since)
{
    struct json_object *a, *e;
    char    t[64];
    size_t  i;

    printf("subguard report since %s\n", when((unsigned long) since, t,
					      sizeof(t)));
    a = json_object_object_get(r, "quarantines");
    printf("\nnew quarantines: %zu\n", json_object_array_length(a));
    for (i = 0; i < json_object_array_length(a); i++) {
	e = json_object_array_get_idx(a, i);
	printf("  %s  %s  (%s%s%s)\n    %s\n", when(strtoul(field(e, "time"), 0,
							  10), t, sizeof(t)),
	       field(e, "login"), field(e, "source"),
	       *field(e, "by") ? " by " : "", field(e, "by"),
	       field(e, "reason"));
	if (*field(e, "qids"))
	    printf("    queue ids with failures: %s\n", field(e, "qids"));
    }
    a = json_object_object_get(r, "lifts");
    printf("\nlifts: %zu\n", json_object_array_length(a));
    for (i = 0; i < json_object_array_length(a); i++) {
	e = json_object_array_get_idx(a, i);
	printf("  %s  %s  by %s: %s\n", when(strtoul(field(e, "time"), 0, 10),
					     t, sizeof(t)), field(e, "login"),
	       *field(e, "by") ? field(e, "by") : "(redis-cli, seen later)",
	       field(e, "why"));
    }
    printf("\nrepeat offenders (quarantined more than once):\n");
    json_object_object_foreach(json_object_object_get(r, "repeat"), k, v)
	printf("  %s  %s times\n", k, json_object_get_string(v));
    printf("\nquarantines by tier:\n");
    json_object_object_foreach(json_object_object_get(r,
					     "quarantines_by_tier"), k2, v2)
	printf("  %-20s %s\n", k2, json_object_get_string(v2));
}

/* cmd_report - the abuse desk's report */
int     cmd_report(const struct opts *o)
{
    struct sg_desk_events ev;
    struct json_object *r;
    double  since = since_arg(o->since ? o->since : "24h");
    char    err[256];

    if (sg_desk_events(rt->engine, &rt->store, since, "", "", MAX_LIST, &ev,
		       err, sizeof(err)) < 0)
	die(EX_REDIS, "%s", err);
    r = report_collect(&ev);
    jint(r, "since", (long long) since);
    if (o->json)
	put_json(r);
    else {
	report_text(r, since);
	json_object_put(r);
    }
    sg_desk_events_free(&ev);
    return (EX_FOUND);
}

/* top_keep - keep the max nearest accounts, nearest first, in top[] */
static void top_keep(struct sg_desk_near *top, int *n, int max,
		             const struct sg_desk_near *a)
{
    int     i;

    if (*n == max && a->ratio <= top[max - 1].ratio)
	return;
    i = *n < max ? (*n)++ : max - 1;
    for (; i > 0 && top[i - 1].ratio < a->ratio; i--)
	top[i] = top[i - 1];
    top[i] = *a;
}

/* cmd_top - the accounts nearest their limits or bound now */
int     cmd_top(const struct opts *o)
{
    struct sg_desk_near *top, *v;
    struct json_object *a = json_object_new_array(), *e;
    char    cursor[32] = "0", err[256];
    int     max = o->max_set ? o->max : 20, n = 0, nv, i;

    if ((top = calloc(max, sizeof(*top))) == 0)
	die(EX_REDIS, "%s", "out of memory");
    do {
	if (sg_desk_scan(rt->engine, &rt->store, time(0), cursor,
			 sizeof(cursor), 500, &v, &nv, err, sizeof(err)) < 0)
	    die(EX_REDIS, "%s", err);
	for (i = 0; i < nv; i++)
	    top_keep(top, &n, max, v + i);
	free(v);
    } while (strcmp(cursor, "0") != 0);
    for (i = 0; i < n; i++) {
	e = json_object_new_object();
	jstr(e, "login", top[i].login);
	jstr(e, "tier", top[i].tier);
	json_object_object_add(e, "ratio", json_object_new_double(top[i].ratio));
	jstr(e, "nearest", top[i].what);
	json_object_array_add(a, e);
	if (!o->json)
	    printf("%5.0f%%  %-30s %-12s %s\n", 100 * top[i].ratio,
		   top[i].login, top[i].tier, top[i].what);
    }
    if (o->json)
	put_json(a);
    else
	json_object_put(a);
    free(top);
    return (n ? EX_FOUND : EX_NONE);
}
