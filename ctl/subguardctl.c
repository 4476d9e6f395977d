/*
 * NAME
 *	subguardctl 8
 * SUMMARY
 *	the support and abuse desks' view of subguard: who is held, why,
 *	lift with a record, tiers that are checked
 * SYNOPSIS
 *	subguardctl [-c file] [--json] command [arguments]
 * DESCRIPTION
 *	See subguardctl.8. Reads the same configuration as subguard (key
 *	prefix, tiers, Redis) and reaches Redis only through the store, with
 *	engine.lua's desk operations (lib/sg_desk.c). Every change is logged
 *	to syslog and to the events stream with who and why.
 * EXIT STATUS
 *	0 done, 1 not found or nothing to do, 2 usage or configuration
 *	error, 3 Redis error.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "sg_config.h"
#include "sg_desk.h"
#include "sg_duration.h"
#include "sg_engine.h"
#include "sg_log.h"
#include "sg_login.h"
#include "sg_redis.h"

#include "subguardctl.h"

struct ctl *rt;

static void usage(void)
{
    fprintf(stderr,
	    "usage: subguardctl [-c FILE] [--json] COMMAND\n"
	    "  list                         quarantined accounts, newest first\n"
	    "  show LOGIN                   tier, limits, use, score, quarantine\n"
	    "  lift LOGIN --why TEXT [--by NAME]\n"
	    "  quarantine LOGIN --why TEXT [--by NAME]\n"
	    "  tier LOGIN NAME|--clear [--by NAME]\n"
	    "  trust LOGIN ADDRESS|NETWORK --why TEXT [--by NAME]\n"
	    "  tiers                        the configured tiers and limits\n"
	    "  events [--login L] [--type T] [--since 24h] [--max N]\n"
	    "  report [--since 24h]         the abuse desk's report\n"
	    "  top [--max N]                accounts nearest their limits now\n");
    exit(EX_USAGE);
}

/* die - a message and an exit status */
void    die(int status, const char *fmt, const char *arg)
{
    fprintf(stderr, "subguardctl: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(status);
}

/* put_json - print and free a JSON value, on one line (jq, JSON lines) */
void    put_json(struct json_object *o)
{
    puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN
					| JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
}

void    jstr(struct json_object *o, const char *k, const char *v)
{
    json_object_object_add(o, k, json_object_new_string(v));
}

void    jint(struct json_object *o, const char *k, long long v)
{
    json_object_object_add(o, k, json_object_new_int64(v));
}

/* when - a time as UTC text */
const char *when(unsigned long t, char *buf, size_t len)
{
    time_t  tt = (time_t) t;
    struct tm tm;

    if (t == 0 || gmtime_r(&tt, &tm) == 0)
	snprintf(buf, len, "-");
    else
	strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
    return (buf);
}

/* login_arg - the login in key form, as subguard normalises it */
const char *login_arg(const char *raw, char *buf, size_t len)
{
    if (sg_login_normalise(raw, rt->cfg.login_case, buf, len) < 0 || !*buf)
	die(EX_USAGE, "not a login: %s", raw);
    return (buf);
}

/*
 * plain - text for the record (syslog, events stream): at most 200
 * bytes, no control characters (a newline would forge a log line)
 */
static const char *plain(const char *v, const char *name)
{
    const unsigned char *p;

    if (strlen(v) > 200)
	die(EX_USAGE, "%s: 200 bytes at most", name);
    for (p = (const unsigned char *) v; *p; p++)
	if (*p < 0x20 || *p == 0x7f)
	    die(EX_USAGE, "%s: no control characters", name);
    return (v);
}

/* who - --by, or the user running this (sudo's caller first) */
static const char *who(const char *by)
{
    const struct passwd *pw;
    const char *s;

    if (by && *by)
	return (plain(by, "--by"));
    if ((s = getenv("SUDO_USER")) != 0 && *s)
	return (s);
    if ((pw = getpwuid(getuid())) != 0)
	return (pw->pw_name);
    return ("unknown");
}

/* windows_text - "100/1m, 1000/1h", or "-" */
static const char *windows_text(const struct sg_windows *w, char *buf,
				        size_t len)
{
    char    d[32];
    size_t  at = 0;
    int     i;

    buf[0] = 0;
    for (i = 0; i < w->n && at < len; i++)
	at += snprintf(buf + at, len - at, "%s%lu/%s", i ? ", " : "",
		       w->w[i].limit, sg_format_duration(w->w[i].seconds, d,
							 sizeof(d)));
    if (!buf[0])
	snprintf(buf, len, "-");
    return (buf);
}

/* tier_json - one tier's limits */
static struct json_object *tier_json(const struct sg_tier *t)
{
    struct json_object *o = json_object_new_object();
    char    b[256];

    jstr(o, "name", t->name);
    jstr(o, "messages", windows_text(&t->messages, b, sizeof(b)));
    jstr(o, "recipients", windows_text(&t->recipients, b, sizeof(b)));
    jstr(o, "quarantine_recipients", windows_text(&t->q_recipients, b,
						  sizeof(b)));
    jstr(o, "quarantine_rejected", windows_text(&t->q_rejected, b, sizeof(b)));
    jstr(o, "quarantine_failed", windows_text(&t->q_failed, b, sizeof(b)));
    json_object_object_add(o, "recipients_surge",
			   json_object_new_double(sg_tier_surge(t)));
    return (o);
}

/* surge_text - " (surge 2x while failures stay low)", "" when none */
static const char *surge_text(const struct sg_tier *t, char *buf, size_t len)
{
    if (sg_tier_surge(t) > 1)
	snprintf(buf, len, " (surge %gx while failures stay low)",
		 sg_tier_surge(t));
    else
	buf[0] = 0;
    return (buf);
}

/* cmd_tiers - the configured tiers and their limits */
static int cmd_tiers(const struct opts *o)
{
    struct json_object *a = json_object_new_array(), *t;
    char    buf[64];
    int     i;

    for (i = 0; i < rt->cfg.ntiers; i++) {
	t = tier_json(rt->cfg.tiers + i);
	json_object_array_add(a, t);
	if (o->json)
	    continue;
	printf("%s%s\n  messages %s\n  recipients %s%s\n"
	       "  quarantine: recipients %s, rejected %s, failed %s\n",
	       rt->cfg.tiers[i].name,
	       strcmp(rt->cfg.tiers[i].name, rt->cfg.default_tier) ?
	       "" : " (default)",
	     json_object_get_string(json_object_object_get(t, "messages")),
	   json_object_get_string(json_object_object_get(t, "recipients")),
	       surge_text(rt->cfg.tiers + i, buf, sizeof(buf)),
	       json_object_get_string(json_object_object_get(t,
						     "quarantine_recipients")),
	       json_object_get_string(json_object_object_get(t,
						       "quarantine_rejected")),
	       json_object_get_string(json_object_object_get(t,
							 "quarantine_failed")));
    }
    if (o->json)
	put_json(a);
    else
	json_object_put(a);
    return (EX_FOUND);
}

/* cmd_list - the quarantined accounts, newest first */
static int cmd_list(const struct opts *o)
{
    struct sg_desk_list l;
    struct json_object *a, *e;
    char    err[256], t[64];
    int     i;

    if (sg_desk_qlist(rt->engine, &rt->store, time(0), o->max, &l, err,
		      sizeof(err)) < 0)
	die(EX_REDIS, "%s", err);
    a = json_object_new_array();
    if (!o->json && l.n)
	printf("%-20s  %-30s %5s  %s\n", "SINCE", "LOGIN", "HELD", "REASON");
    for (i = 0; i < l.n; i++) {
	e = json_object_new_object();
	jstr(e, "login", l.e[i].login);
	jint(e, "since", l.e[i].since);
	jstr(e, "reason", l.e[i].reason);
	jstr(e, "by", l.e[i].by);
	jstr(e, "source", l.e[i].source);
	jint(e, "held", l.e[i].held);
	json_object_array_add(a, e);
	if (!o->json)
	    printf("%-20s  %-30s %5lu  %s (by %s)\n",
		   when(l.e[i].since, t, sizeof(t)), l.e[i].login,
		   l.e[i].held, l.e[i].reason, l.e[i].by);
    }
    if (o->json)
	put_json(a);
    else {
	json_object_put(a);
	if (l.n == 0)
	    printf("no account is quarantined\n");
    }
    i = l.n ? EX_FOUND : EX_NONE;
    sg_desk_list_free(&l);
    return (i);
}

/* use_json - one window of the inspected state beside its limit */
static struct json_object *use_json(const struct sg_inspect_window *w,
				            const struct sg_tier *t, int surge)
{
    struct json_object *o = json_object_new_object();
    int     i;

    jint(o, "seconds", w->secs);
    jint(o, "messages", w->messages);
    jint(o, "recipients", w->recipients);
    jint(o, "rejected", w->rejected);
    jint(o, "bounced", w->bounced);
    for (i = 0; t && i < t->messages.n; i++)
	if (t->messages.w[i].seconds == w->secs)
	    jint(o, "messages_limit", t->messages.w[i].limit);
    for (i = 0; t && i < t->recipients.n; i++)
	if (t->recipients.w[i].seconds == w->secs) {
	    jint(o, "recipients_limit", t->recipients.w[i].limit);
	    /* What binds now: the surge, when it applies, widens it. */
	    jint(o, "recipients_limit_now", surge
		 ? (long) sg_tier_surged_limit(t, w->secs)
		 : (long) t->recipients.w[i].limit);
	}
    return (o);
}

/* history_json - the history profile; null when history is off */
static struct json_object *history_json(const struct sg_inspect *in)
{
    struct json_object *o, *a, *n;
    int     i;

    if (!rt->cfg.history)
	return (0);
    o = json_object_new_object();
    jint(o, "since", in->hsince);
    json_object_object_add(o, "usual", json_object_new_double(in->husual));
    jint(o, "today", in->htoday);
    jint(o, "today_new_networks", in->htoday_new);
    jint(o, "room", in->hroom);
    a = json_object_new_array();
    for (i = 0; i < in->nnets; i++) {
	n = json_object_new_object();
	jstr(n, "network", in->nets[i].text);
	jstr(n, "state", in->nets[i].state);
	jint(n, strcmp(in->nets[i].state, "known") ? "first_seen" :
	     "last_used", in->nets[i].at);
	json_object_array_add(a, n);
    }
    json_object_object_add(o, "networks", a);
    return (o);
}

/* history_text - the same for a person: what the history limit sees */
static void history_text(const struct sg_inspect *in)
{
    char    t[64], t2[64];
    int     i;

    if (!rt->cfg.history) {
	printf("history    off\n");
	return;
    }
    if (in->hsince == 0) {
	printf("history    none yet (learnt from the account's next "
	       "message)\n");
	return;
    }
    printf("history    since %.10s, usual %.1f recipients a day; today %lu, "
	   "%lu from networks not known\n", when(in->hsince, t, sizeof(t)),
	   in->husual, in->htoday, in->htoday_new);
    if (in->hroom < 0)
	printf("  room     none needed yet: nothing known to compare with "
	       "(first day, or no network known)\n");
    else
	printf("  room     %ld recipients a day from networks not known, "
	       "%ld left today\n", in->hroom,
	       in->hroom > (long) in->htoday_new ?
	       in->hroom - (long) in->htoday_new : 0);
    for (i = 0; i < in->nnets; i++) {
	const struct sg_inspect_net *n = in->nets + i;

	if (strcmp(n->state, "known") == 0)
	    printf("  network  %-20s known, last used %.10s\n", n->text,
		   when(n->at, t, sizeof(t)));
	else if (strcmp(n->state, "refused") == 0)
	    printf("  network  %-20s new since %s, the history limit held "
		   "some of its mail (trust confirms it)\n", n->text,
		   when(n->at, t, sizeof(t)));
	else if (strcmp(n->state, "due") == 0)
	    printf("  network  %-20s new since %s, known at its next "
		   "use\n", n->text, when(n->at, t, sizeof(t)));
	else
	    printf("  network  %-20s new since %s, known if used again "
		   "from %s\n", n->text, when(n->at, t, sizeof(t)),
		   when(n->at + rt->cfg.history_learn, t2, sizeof(t2)));
    }
}

/* surge_json - whether recipients_surge applies now: on, and the hour's
 * recipients r and failures f, as sg_inspect_surge gives them */
static struct json_object *surge_json(const struct sg_tier *t, int on,
				              long r, long f)
{
    struct json_object *o = json_object_new_object();

    json_object_object_add(o, "factor",
			   json_object_new_double(sg_tier_surge(t)));
    json_object_object_add(o, "on", json_object_new_boolean(on));
    jint(o, "hour_recipients", r);
    jint(o, "hour_failed", f);
    json_object_object_add(o, "below",
			   json_object_new_double(t ? t->spam_failure / 2 : 0));
    return (o);
}

/* show_json - an account's state as JSON, with its recent events */
static struct json_object *show_json(const struct sg_inspect *in,
				             const struct sg_tier *t,
				             const struct sg_desk_events *ev)
{
    struct json_object *o = json_object_new_object(), *a, *e;
    double  d[4] = {0, 0, 0, 0};
    long    r, f;
    int     i, j, surge;

    jstr(o, "login", in->login);
    jstr(o, "tier", in->tier);
    jstr(o, "unknown_tier", in->unknown_tier);
    json_object_object_add(o, "quarantined",
			   json_object_new_boolean(in->quarantined));
    jstr(o, "reason", in->qreason);
    jint(o, "since", in->qsince);
    jstr(o, "by", in->qby);
    jstr(o, "source", in->qsource);
    jstr(o, "evidence", in->evidence);
    jint(o, "held", in->held);
    jstr(o, "held_ids", in->held_ids);
    if (t)
	sg_detection_numbers(t, d);
    json_object_object_add(o, "score", json_object_new_double(in->score));
    json_object_object_add(o, "bound", json_object_new_double(d[2]));
    surge = sg_inspect_surge(in, t, &r, &f);
    json_object_object_add(o, "surge", surge_json(t, surge, r, f));
    a = json_object_new_array();
    for (i = 0; i < in->nwindows; i++)
	json_object_array_add(a, use_json(in->win + i, t, surge));
    json_object_object_add(o, "windows", a);
    a = json_object_new_array();
    for (i = 0; i < ev->n; i++) {
	e = json_object_new_object();
	for (j = 0; j < ev->ev[i].nf; j++)
	    jstr(e, ev->ev[i].f[2 * j], ev->ev[i].f[2 * j + 1]);
	json_object_array_add(a, e);
    }
    json_object_object_add(o, "events", a);
    jint(o, "total_messages", in->msgs);
    jint(o, "total_recipients", in->rcpts);
    jint(o, "total_rejected", in->rejected);
    jint(o, "total_bounced", in->bounced);
    jint(o, "total_refused", in->refused);
    json_object_object_add(o, "history", history_json(in));
    return (o);
}

/* count_text - a window's count, "-" where that kind is not counted */
static const char *count_text(long v, char *buf, size_t len)
{
    if (v < 0)
	snprintf(buf, len, "-");
    else
	snprintf(buf, len, "%ld", v);
    return (buf);
}

/* show_text - the same for a person */
static void show_text(struct json_object *o, const struct sg_inspect *in,
		              const struct sg_desk_events *ev)
{
    struct json_object *w, *v, *rl, *rn;
    char    t[64], d[32], n[24], lim[32];
    size_t  i;
    int     widened = 0;

    printf("login      %s\ntier       %s%s%s\n", in->login, in->tier,
	   in->unknown_tier[0] ? "  (tier key names no tier: " : "",
	   in->unknown_tier[0] ? in->unknown_tier : "");
    if (in->quarantined)
	printf("quarantine since %s by %s (%s)\n  reason   %s\n"
	       "  evidence %s\n  held     %lu: %s\n",
	       when(in->qsince, t, sizeof(t)), in->qby, in->qsource,
	       in->qreason, in->evidence[0] ? in->evidence : "-", in->held,
	       in->held_ids[0] ? in->held_ids : "-");
    else
	printf("quarantine none\n");
    printf("score      %.2f of bound %.2f\n", in->score,
	   json_object_get_double(json_object_object_get(o, "bound")));
    v = json_object_object_get(o, "surge");
    if (json_object_get_double(json_object_object_get(v, "factor")) > 1)
	printf("surge      %s: %gx the shorter recipient windows while the "
	       "last hour's failures stay under %.1f%% (now %s of %s)\n",
	       json_object_get_boolean(json_object_object_get(v, "on")) ?
	       "on" : "off",
	       json_object_get_double(json_object_object_get(v, "factor")),
	     100 * json_object_get_double(json_object_object_get(v, "below")),
	       json_object_get_string(json_object_object_get(v,
							 "hour_failed")),
	       json_object_get_string(json_object_object_get(v,
						     "hour_recipients")));
    printf("window     messages  recipients  rejected  bounced\n");
    w = json_object_object_get(o, "windows");
    for (i = 0; i < json_object_array_length(w); i++) {
	v = json_object_array_get_idx(w, i);
	printf("%-8s ", sg_format_duration(in->win[i].secs, d, sizeof(d)));
	printf(" %5s/%-5s", count_text(in->win[i].messages, n, sizeof(n)),
	       json_object_object_get(v, "messages_limit") ?
	       json_object_get_string(json_object_object_get(v,
							 "messages_limit")) :
	       "-");
	rl = json_object_object_get(v, "recipients_limit");
	rn = json_object_object_get(v, "recipients_limit_now");
	if (rl && rn && json_object_get_int64(rn) != json_object_get_int64(rl)) {
	    snprintf(lim, sizeof(lim), "%s*", json_object_get_string(rn));
	    widened = 1;
	} else
	    snprintf(lim, sizeof(lim), "%s", rl ? json_object_get_string(rl)
		     : "-");
	printf(" %6s/%-6s", count_text(in->win[i].recipients, n, sizeof(n)),
	       lim);
	printf(" %8s", count_text(in->win[i].rejected, n, sizeof(n)));
	printf(" %8s\n", count_text(in->win[i].bounced, n, sizeof(n)));
    }
    if (widened)
	printf("           * widened by the surge now; the plan's limit "
	       "applies again once the last hour's failures rise\n");
    printf("totals     %lu messages, %lu recipients, %lu rejected, "
	   "%lu bounced, %lu refused\n", in->msgs, in->rcpts, in->rejected,
	   in->bounced, in->refused);
    history_text(in);
    for (i = 0; i < (size_t) ev->n; i++) {
	printf("event      %s %s", when(strtoul(sg_desk_event_field(ev->ev + i,
						      "time"), 0, 10), t,
					 sizeof(t)),
	       sg_desk_event_field(ev->ev + i, "event"));
	for (int j = 0; j < ev->ev[i].nf; j++)
	    if (strcmp(ev->ev[i].f[2 * j], "time")
		&& strcmp(ev->ev[i].f[2 * j], "event")
		&& strcmp(ev->ev[i].f[2 * j], "login"))
		printf(" %s=%s", ev->ev[i].f[2 * j], ev->ev[i].f[2 * j + 1]);
	putchar('\n');
    }
}

/* cmd_show - one account */
static int cmd_show(const struct opts *o, const char *raw)
{
    struct sg_inspect *in;
    struct sg_desk_events ev;
    struct json_object *j;
    char    login[SG_LOGIN_MAX], err[256];

    login_arg(raw, login, sizeof(login));
    if ((in = calloc(1, sizeof(*in))) == 0)
	die(EX_REDIS, "%s", "out of memory");
    if (sg_engine_inspect(rt->engine, &rt->store, login, time(0), in, err,
			  sizeof(err)) < 0
	|| sg_desk_events(rt->engine, &rt->store, 0, login, "", 10, &ev, err,
			  sizeof(err)) < 0)
	die(EX_REDIS, "%s", err);
    j = show_json(in, sg_config_tier(&rt->cfg, in->tier), &ev);
    if (o->json)
	put_json(j);
    else {
	show_text(j, in, &ev);
	json_object_put(j);
    }
    sg_desk_events_free(&ev);
    free(in);
    return (EX_FOUND);
}

/* need - a required option */
static const char *need(const char *v, const char *name)
{
    if (v == 0 || *v == 0)
	die(EX_USAGE, "%s is required", name);
    return (plain(v, name));
}

/* release_help - how to release the held mail on each MTA */
static void release_help(const char *held)
{
    char    buf[4096], *qid, *save = 0;

    if (!*held) {
	printf("no message was held\n");
	return;
    }
    printf("held queue ids: %s\nto release them (they are delivered; to "
	   "drop one instead: postsuper -d QID, or Sendmail's qtool.pl -Q -d):\n",
	   held);
    snprintf(buf, sizeof(buf), "%s", held);
    for (qid = strtok_r(buf, " ", &save); qid; qid = strtok_r(0, " ", &save))
	printf("  Postfix:  postsuper -H %s && postqueue -i %s\n"
	       "  Sendmail: sendmail -Q -qQ -qI%s && sendmail -qI%s\n",
	       qid, qid, qid, qid);
}

/* cmd_lift - remove a quarantine and its held list, recorded */
static int cmd_lift(const struct opts *o, const char *raw)
{
    struct sg_desk_lift l;
    struct json_object *j;
    char    login[SG_LOGIN_MAX], err[256];
    const char *by = who(o->by), *why = need(o->why, "--why");
    int     rc;

    login_arg(raw, login, sizeof(login));
    if ((rc = sg_desk_lift(rt->engine, &rt->store, login, by, why, time(0),
			   &l, err, sizeof(err))) < 0)
	die(EX_REDIS, "%s", err);
    if (rc == 0)
	sg_log(LOG_NOTICE, "subguardctl: lift login=%s by=%s why=\"%s\" "
	       "reason=\"%s\" held=\"%s\"", login, by, why, l.reason, l.held);
    if (o->json) {
	j = json_object_new_object();
	jstr(j, "login", login);
	json_object_object_add(j, "lifted", json_object_new_boolean(l.lifted));
	jstr(j, "reason", l.reason);
	jstr(j, "held", l.held);
	jstr(j, "by", by);
	jstr(j, "why", why);
	put_json(j);
    } else if (rc == 0) {
	printf("lifted %s (was: %s), by %s: %s\n", login, l.reason, by, why);
	release_help(l.held);
    } else
	printf("%s is not quarantined\n", login);
    return (rc == 0 ? EX_FOUND : EX_NONE);
}

/* cmd_quarantine - quarantine by hand, recorded */
static int cmd_quarantine(const struct opts *o, const char *raw)
{
    struct json_object *j;
    char    login[SG_LOGIN_MAX], err[256], reason[256];
    const char *by = who(o->by), *why = need(o->why, "--why");
    int     rc;

    login_arg(raw, login, sizeof(login));
    if ((rc = sg_desk_quarantine(rt->engine, &rt->store, login, by, why,
				 time(0), reason, sizeof(reason), err,
				 sizeof(err))) < 0)
	die(EX_REDIS, "%s", err);
    if (rc == 0)
	sg_log(LOG_NOTICE, "subguardctl: quarantine login=%s by=%s why=\"%s\"",
	       login, by, why);
    if (o->json) {
	j = json_object_new_object();
	jstr(j, "login", login);
	json_object_object_add(j, "new", json_object_new_boolean(rc == 0));
	jstr(j, "reason", reason);
	put_json(j);
    } else if (rc == 0)
	printf("quarantined %s, by %s: %s\n", login, by, why);
    else
	printf("%s is quarantined already: %s\n", login, reason);
    return (rc == 0 ? EX_FOUND : EX_NONE);
}

/* cmd_tier - set or clear an account's tier, checked against the config */
static int cmd_tier(const struct opts *o, const char *raw, const char *name)
{
    struct json_object *j;
    char    login[SG_LOGIN_MAX], err[512], old[SG_NAME_MAX];
    const char *by = who(o->by);
    int     rc;

    if ((name == 0) == !o->clear)
	usage();
    if (o->clear)
	name = "";
    login_arg(raw, login, sizeof(login));
    rc = sg_desk_settier(rt->engine, &rt->store, login, name, by, time(0),
			 old, sizeof(old), err, sizeof(err));
    if (rc == 1)
	die(EX_USAGE, "%s", err);
    if (rc < 0)
	die(EX_REDIS, "%s", err);
    sg_log(LOG_NOTICE, "subguardctl: tier login=%s from=\"%s\" to=\"%s\" by=%s",
	   login, old, name, by);
    if (o->json) {
	j = json_object_new_object();
	jstr(j, "login", login);
	jstr(j, "from", old);
	jstr(j, "to", name);
	put_json(j);
    } else
	printf("%s: tier %s -> %s\n", login, *old ? old : "(default)",
	       *name ? name : "(default)");
    return (EX_FOUND);
}

/*
 * cmd_trust - support confirms a network for an account (the customer
 * writes from a hotel, and said so): mail from it is no longer held to
 * the history limit
 */
static int cmd_trust(const struct opts *o, const char *raw, const char *addr)
{
    struct sg_desk_trust t;
    struct json_object *j;
    char    login[SG_LOGIN_MAX], err[256];
    const char *by = who(o->by), *why = need(o->why, "--why");
    int     rc;

    login_arg(raw, login, sizeof(login));
    rc = sg_desk_trust(rt->engine, &rt->store, login, addr, by, why, time(0),
		       &t, err, sizeof(err));
    if (rc == 1)
	die(EX_USAGE, "%s", err);
    if (rc < 0)
	die(EX_REDIS, "%s", err);
    sg_log(LOG_NOTICE, "subguardctl: trust login=%s net=%s was=%s by=%s "
	   "why=\"%s\"", login, t.network, t.was, by, why);
    if (o->json) {
	j = json_object_new_object();
	jstr(j, "login", login);
	jstr(j, "network", t.network);
	jstr(j, "was", t.was);
	jint(j, "known", t.known);
	jstr(j, "by", by);
	jstr(j, "why", why);
	put_json(j);
    } else
	printf("%s: network %s is known from now on (was %s; %d known), "
	       "by %s: %s\n", login, t.network, t.was, t.known, by, why);
    return (EX_FOUND);
}

/* parse - options anywhere among the words */
static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option longs[] = {
	{"json", no_argument, 0, 'j'}, {"by", required_argument, 0, 'b'},
	{"why", required_argument, 0, 'w'}, {"login", required_argument, 0, 'l'},
	{"type", required_argument, 0, 't'},
	{"since", required_argument, 0, 's'},
	{"clear", no_argument, 0, 'C'}, {"max", required_argument, 0, 'm'},
	{"config", required_argument, 0, 'c'}, {0, 0, 0, 0}
    };
    int     ch;

    o->conf = DEFAULT_CONF;
    o->max = 1000;
    while ((ch = getopt_long(argc, argv, "c:", longs, 0)) != -1) {
	switch (ch) {
	case 'c': o->conf = optarg; break;
	case 'j': o->json = 1; break;
	case 'b': o->by = optarg; break;
	case 'w': o->why = optarg; break;
	case 'l': o->login = optarg; break;
	case 't': o->type = optarg; break;
	case 's': o->since = optarg; break;
	case 'C': o->clear = 1; break;
	case 'm':
	    if ((o->max = atoi(optarg)) <= 0 || o->max > MAX_LIST)
		die(EX_USAGE, "--max: 1 to 10000, not %s", optarg);
	    o->max_set = 1;
	    break;
	default: usage();
	}
    }
    return (optind);
}

/* run - one command */
static int run(const struct opts *o, int n, char **w)
{
    if (n == 1 && strcmp(w[0], "list") == 0)
	return (cmd_list(o));
    if (n == 1 && strcmp(w[0], "tiers") == 0)
	return (cmd_tiers(o));
    if (n == 1 && strcmp(w[0], "events") == 0)
	return (cmd_events(o));
    if (n == 1 && strcmp(w[0], "report") == 0)
	return (cmd_report(o));
    if (n == 1 && strcmp(w[0], "top") == 0)
	return (cmd_top(o));
    if (n == 2 && strcmp(w[0], "show") == 0)
	return (cmd_show(o, w[1]));
    if (n == 2 && strcmp(w[0], "lift") == 0)
	return (cmd_lift(o, w[1]));
    if (n == 2 && strcmp(w[0], "quarantine") == 0)
	return (cmd_quarantine(o, w[1]));
    if (n == 3 && strcmp(w[0], "trust") == 0)
	return (cmd_trust(o, w[1], w[2]));
    if ((n == 2 || n == 3) && strcmp(w[0], "tier") == 0)
	return (cmd_tier(o, w[1], n == 3 ? w[2] : 0));
    usage();
    return (EX_USAGE);
}

/* build - the configuration, the Redis pool and the engine */
static void build(const char *path)
{
    struct sg_redis_params rp;
    char    err[512], pw[512] = "", spw[512] = "";

    if ((rt = calloc(1, sizeof(*rt))) == 0)
	die(EX_REDIS, "%s", "out of memory");
    if (sg_config_load(path, &rt->cfg, err, sizeof(err)) < 0)
	die(EX_USAGE, "%s", err);
    if (sg_redis_params_config(&rt->cfg, &rp, pw, sizeof(pw), spw,
			       sizeof(spw), err, sizeof(err)) < 0)
	die(EX_USAGE, "%s", err);
    rp.log = 0;
    rt->redis = sg_redis_new(&rp, err, sizeof(err));
    explicit_bzero(pw, sizeof(pw));
    explicit_bzero(spw, sizeof(spw));
    if (rt->redis == 0)
	die(EX_USAGE, "%s", err);
    if ((rt->engine = sg_engine_new(&rt->cfg)) == 0)
	die(EX_REDIS, "%s", "out of memory");
    rt->store = sg_redis_store(rt->redis);
}

int     main(int argc, char **argv)
{
    struct opts o;
    int     first, rc;

    memset(&o, 0, sizeof(o));
    first = parse(argc, argv, &o);
    if (first >= argc)
	usage();
    build(o.conf);
    sg_log_open(rt->cfg.syslog_facility, 0);
    rc = run(&o, argc - first, argv + first);
    sg_engine_free(rt->engine);
    sg_redis_free(rt->redis);
    free(rt);
    return (rc);
}
