/*
 * NAME
 *	test_proto - engine.lua and sg_engine_proto.h name the same places
 * DESCRIPTION
 *	lib/sg_engine_proto.h numbers every key, argument and reply field of
 *	engine.lua's operations; engine.lua mirrors each as a named local
 *	("local A_NOW = ARGV[2] -- SG_BEGIN_A_NOW", or "local A_TIERS = 5
 *	-- SG_BEGIN_A_TIERS" for where a list starts) or as a line of an
 *	ordered reply list ("'status', -- SG_BEGIN_R_STATUS"). This test
 *	reads engine.lua ($SG_SRC) and holds every such line to the C
 *	numbers (Lua counts from 1, C from 0), every reply name to its C
 *	name, and every C name below to at least one line in the script.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sg_engine_proto.h"

#define C(x)	{#x, x}

/* Every name of the contract, with its number. */
static const struct name {
    const char *name;
    int     value;
}       names[] = {
    C(SG_A_OP), C(SG_A_NOW),
    C(SG_BEGIN_K_TIER), C(SG_BEGIN_K_QUARANTINE), C(SG_BEGIN_K_COUNTERS),
    C(SG_BEGIN_K_RESV),
    C(SG_BEGIN_A_DEFAULT_TIER), C(SG_BEGIN_A_REFUSE_QUARANTINED),
    C(SG_BEGIN_A_RESV_ID), C(SG_BEGIN_A_RESV_RCPTS), C(SG_BEGIN_A_RESV_TTL),
    C(SG_BEGIN_A_NET), C(SG_BEGIN_A_HISTORY),
    C(SG_BEGIN_A_TIERS),
    C(SG_BEGIN_R_STATUS), C(SG_BEGIN_R_TIER), C(SG_BEGIN_R_UNKNOWN_TIER),
    C(SG_BEGIN_R_BUDGET), C(SG_BEGIN_R_RCPT_LIMIT), C(SG_BEGIN_R_RCPT_SECS),
    C(SG_BEGIN_R_RCPT_RETRY), C(SG_BEGIN_R_MSG_LIMIT), C(SG_BEGIN_R_MSG_SECS),
    C(SG_BEGIN_R_MSG_RETRY), C(SG_BEGIN_R_QUARANTINE_REASON),
    C(SG_BEGIN_R_RCPTS_IN_WINDOW), C(SG_BEGIN_R_MSGS_IN_WINDOW),
    C(SG_BEGIN_R_QUARANTINE_ROOM),
    C(SG_BEGIN_R_HIST_ROOM), C(SG_BEGIN_R_HIST_LIMIT), C(SG_BEGIN_R_HIST_COUNT),
    C(SG_BEGIN_R_HIST_RETRY),
    C(SG_COMMIT_K_QUARANTINE), C(SG_COMMIT_K_COUNTERS), C(SG_COMMIT_K_HELD),
    C(SG_COMMIT_K_QID), C(SG_COMMIT_K_EVENTS), C(SG_COMMIT_K_RESV),
    C(SG_COMMIT_K_INDEX),
    C(SG_COMMIT_A_LOGIN), C(SG_COMMIT_A_QID), C(SG_COMMIT_A_ACCEPTED),
    C(SG_COMMIT_A_REJECTED), C(SG_COMMIT_A_REFUSED), C(SG_COMMIT_A_MESSAGE),
    C(SG_COMMIT_A_HOLD), C(SG_COMMIT_A_HOLD_MAX), C(SG_COMMIT_A_QID_TTL),
    C(SG_COMMIT_A_HELD_TTL), C(SG_COMMIT_A_TAGS), C(SG_COMMIT_A_TIER_NAME),
    C(SG_COMMIT_A_TIER_SPEC), C(SG_COMMIT_A_RESV_ID),
    C(SG_COMMIT_A_NET), C(SG_COMMIT_A_HISTORY),
    C(SG_COMMIT_A_DEFAULT_TIER),
    C(SG_COMMIT_R_ACTION), C(SG_COMMIT_R_NEWLY_QUARANTINED),
    C(SG_COMMIT_R_REASON), C(SG_COMMIT_R_HELD), C(SG_COMMIT_R_SEEN),
    C(SG_OUTCOME_K_QID), C(SG_OUTCOME_K_POSITION), C(SG_OUTCOME_K_EVENTS),
    C(SG_OUTCOME_K_INDEX), C(SG_OUTCOME_A_SUFFIX_HELD),
    C(SG_OUTCOME_A_PREFIX), C(SG_OUTCOME_A_CLASS), C(SG_OUTCOME_A_NRCPT),
    C(SG_OUTCOME_A_POSITION), C(SG_OUTCOME_A_DEFAULT_TIER),
    C(SG_OUTCOME_A_TAG), C(SG_OUTCOME_A_SUFFIX_TIER),
    C(SG_OUTCOME_A_SUFFIX_QUARANTINE), C(SG_OUTCOME_A_SUFFIX_COUNTERS),
    C(SG_OUTCOME_A_WEIGHT), C(SG_OUTCOME_A_DOMAIN),
    C(SG_OUTCOME_A_INCIDENT_LOGINS), C(SG_OUTCOME_A_INCIDENT_WINDOW),
    C(SG_OUTCOME_A_INCIDENT_QUIET),
    C(SG_OUTCOME_A_TIERS),
    C(SG_OUTCOME_R_LOGIN), C(SG_OUTCOME_R_NEWLY_QUARANTINED),
    C(SG_OUTCOME_R_REASON), C(SG_OUTCOME_R_SEEN),
    C(SG_OUTCOME_R_INCIDENT_DOMAIN), C(SG_OUTCOME_R_INCIDENT_STATE),
    C(SG_OUTCOME_R_INCIDENT_LOGINS),
    C(SG_RESERVE_K_COUNTERS), C(SG_RESERVE_K_RESV),
    C(SG_RESERVE_A_RESV_ID), C(SG_RESERVE_A_WANT), C(SG_RESERVE_A_RESV_TTL),
    C(SG_RESERVE_A_TIER_NAME), C(SG_RESERVE_A_TIER_SPEC),
    C(SG_RESERVE_R_GRANTED),
    C(SG_POSITION_K_POSITION), C(SG_POSITION_R_POSITION),
    C(SG_INSPECT_K_TIER), C(SG_INSPECT_K_QUARANTINE),
    C(SG_INSPECT_K_COUNTERS), C(SG_INSPECT_K_HELD),
    C(SG_INSPECT_A_DEFAULT_TIER), C(SG_INSPECT_A_HISTORY),
    C(SG_INSPECT_A_TIERS),
    C(SG_INSPECT_R_TIER), C(SG_INSPECT_R_UNKNOWN_TIER),
    C(SG_INSPECT_R_QUARANTINED), C(SG_INSPECT_R_QUARANTINE_REASON),
    C(SG_INSPECT_R_QUARANTINE_SINCE), C(SG_INSPECT_R_QUARANTINE_BY),
    C(SG_INSPECT_R_QUARANTINE_SOURCE), C(SG_INSPECT_R_HELD),
    C(SG_INSPECT_R_SCORE), C(SG_INSPECT_R_LAST), C(SG_INSPECT_R_MSGS),
    C(SG_INSPECT_R_RCPTS), C(SG_INSPECT_R_REJECTED), C(SG_INSPECT_R_BOUNCED),
    C(SG_INSPECT_R_POLICY), C(SG_INSPECT_R_REFUSED),
    C(SG_INSPECT_R_NWINDOWS), C(SG_INSPECT_R_HELD_IDS),
    C(SG_INSPECT_R_EVIDENCE), C(SG_INSPECT_R_HIST_SINCE),
    C(SG_INSPECT_R_HIST_USUAL), C(SG_INSPECT_R_HIST_TODAY),
    C(SG_INSPECT_R_HIST_TODAY_NEW), C(SG_INSPECT_R_HIST_ROOM),
    C(SG_INSPECT_R_HIST_NETS),
    C(SG_INSPECT_W_SECS), C(SG_INSPECT_W_MESSAGES),
    C(SG_INSPECT_W_RECIPIENTS), C(SG_INSPECT_W_REJECTED),
    C(SG_INSPECT_W_BOUNCED),
    /* The support desk's operations. */
    C(SG_LIFT_K_QUARANTINE), C(SG_LIFT_K_HELD), C(SG_LIFT_K_COUNTERS),
    C(SG_LIFT_K_INDEX), C(SG_LIFT_K_EVENTS),
    C(SG_LIFT_A_LOGIN), C(SG_LIFT_A_BY), C(SG_LIFT_A_WHY),
    C(SG_LIFT_R_LIFTED), C(SG_LIFT_R_REASON), C(SG_LIFT_R_HELD),
    C(SG_QUARANTINE_K_QUARANTINE), C(SG_QUARANTINE_K_HELD),
    C(SG_QUARANTINE_K_INDEX), C(SG_QUARANTINE_K_EVENTS),
    C(SG_QUARANTINE_A_LOGIN), C(SG_QUARANTINE_A_BY), C(SG_QUARANTINE_A_WHY),
    C(SG_QUARANTINE_R_NEW), C(SG_QUARANTINE_R_REASON),
    C(SG_SETTIER_K_TIER), C(SG_SETTIER_K_EVENTS),
    C(SG_SETTIER_A_LOGIN), C(SG_SETTIER_A_NAME), C(SG_SETTIER_A_BY),
    C(SG_SETTIER_R_OLD),
    C(SG_TRUST_K_COUNTERS), C(SG_TRUST_K_EVENTS),
    C(SG_TRUST_A_LOGIN), C(SG_TRUST_A_NET), C(SG_TRUST_A_NET_TEXT),
    C(SG_TRUST_A_BY), C(SG_TRUST_A_WHY), C(SG_TRUST_A_HISTORY),
    C(SG_TRUST_R_WAS), C(SG_TRUST_R_KNOWN),
    C(SG_QLIST_K_INDEX), C(SG_QLIST_A_PREFIX), C(SG_QLIST_A_SUFFIX_QUARANTINE),
    C(SG_QLIST_A_SUFFIX_HELD), C(SG_QLIST_A_MAX),
    C(SG_QLIST_R_COUNT), C(SG_QLIST_R_HEALED),
    C(SG_QLIST_E_LOGIN), C(SG_QLIST_E_SINCE), C(SG_QLIST_E_REASON),
    C(SG_QLIST_E_BY), C(SG_QLIST_E_SOURCE), C(SG_QLIST_E_HELD),
    C(SG_EVENTS_K_EVENTS), C(SG_EVENTS_A_SINCE), C(SG_EVENTS_A_LOGIN),
    C(SG_EVENTS_A_TYPE), C(SG_EVENTS_A_MAX), C(SG_EVENTS_R_COUNT),
    C(SG_SCAN_A_PREFIX), C(SG_SCAN_A_CURSOR), C(SG_SCAN_A_COUNT),
    C(SG_SCAN_A_DEFAULT_TIER), C(SG_SCAN_A_SUFFIX_TIER),
    C(SG_SCAN_A_SUFFIX_QUARANTINE), C(SG_SCAN_A_SUFFIX_COUNTERS),
    C(SG_SCAN_A_TIERS), C(SG_SCAN_R_CURSOR), C(SG_SCAN_R_COUNT),
    C(SG_SCAN_E_LOGIN), C(SG_SCAN_E_TIER), C(SG_SCAN_E_RATIO),
    C(SG_SCAN_E_WHAT),
};

#define NNAMES	(sizeof(names) / sizeof(names[0]))

/* Counts: the names above of each group, in full. */
static const struct group {
    const char *prefix;
    int     count;
}       groups[] = {
    {"SG_BEGIN_K_", SG_BEGIN_NKEYS},
    {"SG_BEGIN_R_", SG_BEGIN_NREPLY},
    {"SG_COMMIT_K_", SG_COMMIT_NKEYS},
    {"SG_COMMIT_A_", SG_COMMIT_NARGS - 2},	/* OP and NOW are SG_A_ */
    {"SG_COMMIT_R_", SG_COMMIT_NREPLY},
    {"SG_OUTCOME_K_", SG_OUTCOME_NKEYS},
    {"SG_OUTCOME_A_", SG_OUTCOME_A_TIERS - 1},
    {"SG_OUTCOME_R_", SG_OUTCOME_NREPLY},
    {"SG_RESERVE_K_", SG_RESERVE_NKEYS},
    {"SG_RESERVE_A_", SG_RESERVE_NARGS - 2},
    {"SG_RESERVE_R_", SG_RESERVE_NREPLY},
    {"SG_POSITION_K_", SG_POSITION_NKEYS},
    {"SG_POSITION_R_", SG_POSITION_NREPLY},
    {"SG_INSPECT_K_", SG_INSPECT_NKEYS},
    {"SG_INSPECT_A_", SG_INSPECT_A_TIERS - 1},
    {"SG_INSPECT_R_", SG_INSPECT_NREPLY},
    {"SG_INSPECT_W_", SG_INSPECT_W_COUNT},
    {"SG_BEGIN_A_", SG_BEGIN_A_TIERS - 1},
    {"SG_LIFT_K_", SG_LIFT_NKEYS},
    {"SG_LIFT_A_", SG_LIFT_NARGS - 2},
    {"SG_LIFT_R_", SG_LIFT_NREPLY},
    {"SG_QUARANTINE_K_", SG_QUARANTINE_NKEYS},
    {"SG_QUARANTINE_A_", SG_QUARANTINE_NARGS - 2},
    {"SG_QUARANTINE_R_", SG_QUARANTINE_NREPLY},
    {"SG_SETTIER_K_", SG_SETTIER_NKEYS},
    {"SG_SETTIER_A_", SG_SETTIER_NARGS - 2},
    {"SG_SETTIER_R_", SG_SETTIER_NREPLY},
    {"SG_TRUST_K_", SG_TRUST_NKEYS},
    {"SG_TRUST_A_", SG_TRUST_NARGS - 2},
    {"SG_TRUST_R_", SG_TRUST_NREPLY},
    {"SG_QLIST_K_", SG_QLIST_NKEYS},
    {"SG_QLIST_A_", SG_QLIST_NARGS - 2},
    {"SG_QLIST_R_", SG_QLIST_NREPLY},
    {"SG_QLIST_E_", SG_QLIST_E_COUNT},
    {"SG_EVENTS_K_", SG_EVENTS_NKEYS},
    {"SG_EVENTS_A_", SG_EVENTS_NARGS - 2},
    {"SG_EVENTS_R_", SG_EVENTS_NREPLY},
    {"SG_SCAN_A_", SG_SCAN_A_TIERS - 1},
    {"SG_SCAN_R_", SG_SCAN_NREPLY},
    {"SG_SCAN_E_", SG_SCAN_E_COUNT},
};

/* lookup - a contract name's entry, or NULL */
static const struct name *lookup(const char *name)
{
    size_t  i;

    for (i = 0; i < NNAMES; i++)
	if (strcmp(names[i].name, name) == 0)
	    return (names + i);
    return (0);
}

/* grab - regex group g of line into buf */
static char *grab(const char *line, const regmatch_t *m, int g, char *buf,
		          size_t len)
{
    int     n = m[g].rm_eo - m[g].rm_so;

    snprintf(buf, len, "%.*s", n, line + m[g].rm_so);
    return (buf);
}

/* The table must cover the header: each group complete. */
static void test_table_complete(void **state)
{
    size_t  g, i;
    int     n;

    (void) state;
    for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++) {
	for (n = 0, i = 0; i < NNAMES; i++)
	    n += strncmp(names[i].name, groups[g].prefix,
			 strlen(groups[g].prefix)) == 0;
	if (n != groups[g].count)
	    fail_msg("%s: %d names in the test, %d in the header",
		     groups[g].prefix, n, groups[g].count);
    }
}

/* check_line - one engine.lua line against the contract; 1 if it named one */
static int check_line(const char *line, int *ordinal, int seen[])
{
    static regex_t local, index, field, list;
    static int compiled;
    regmatch_t m[5];
    char    name[64], what[64], num[16];
    const struct name *c;
    const char *sfx;
    size_t  i;

    if (!compiled) {
	assert_int_equal(regcomp(&local, "^ *local +([A-Za-z_]+) *=.*"
			 "(KEYS|ARGV)\\[([0-9]+)\\].*-- *(SG_[A-Z_]+)",
				 REG_EXTENDED), 0);
	assert_int_equal(regcomp(&index, "^ *local +([A-Za-z_]+) *= *"
				 "([0-9]+)[ \t]*-- *(SG_[A-Z_]+)",
				 REG_EXTENDED), 0);
	assert_int_equal(regcomp(&field, "^ *'([a-z_]+)',[ \t]*-- *"
				 "(SG_[A-Z_]+)", REG_EXTENDED), 0);
	assert_int_equal(regcomp(&list, "^local [A-Z_]+ = \\{$",
				 REG_EXTENDED), 0);
	compiled = 1;
    }
    if (regexec(&list, line, 0, 0, 0) == 0) {
	*ordinal = 0;				/* a reply list starts */
	return (0);
    }
    if (regexec(&local, line, 5, m, 0) == 0) {
	grab(line, m, 4, name, sizeof(name));
	grab(line, m, 3, num, sizeof(num));
    } else if (regexec(&index, line, 4, m, 0) == 0) {
	grab(line, m, 3, name, sizeof(name));
	grab(line, m, 2, num, sizeof(num));
    } else if (regexec(&field, line, 3, m, 0) == 0) {
	grab(line, m, 2, name, sizeof(name));
	grab(line, m, 1, what, sizeof(what));
	snprintf(num, sizeof(num), "%d", ++*ordinal);
	/* The field's Lua name is its C name's tail, in lower case. */
	sfx = strstr(name, "_R_") ? strstr(name, "_R_") + 3 :
	    strstr(name, "_W_") ? strstr(name, "_W_") + 3 :
	    strstr(name, "_E_") ? strstr(name, "_E_") + 3 : "";
	for (i = 0; sfx[i] && what[i]; i++)
	    if (tolower((unsigned char) sfx[i]) != what[i])
		break;
	if (sfx[i] || what[i])
	    fail_msg("engine.lua: reply field '%s' is named %s", what, name);
    } else {
	return (0);
    }
    if ((c = lookup(name)) == 0)
	fail_msg("engine.lua names %s, which the test does not know", name);
    if (atoi(num) != c->value + 1)
	fail_msg("engine.lua: %s is place %s there, want %d (C's %d, from 0)",
		 name, num, c->value + 1, c->value);
    seen[c - names] = 1;
    return (1);
}

/* Every named line of engine.lua matches the header, and all are there. */
static void test_lua_mirrors_header(void **state)
{
    const char *src = getenv("SG_SRC");
    static const char *const part[] = {"engine_core.lua",
	"engine_history.lua", "engine_desk.lua", "engine.lua"};
    char    path[4096], line[1024];
    int     seen[NNAMES] = {0}, ordinal = 0, lines = 0;
    size_t  i, p;
    FILE   *fp;

    (void) state;
    assert_non_null(src);
    /* The script Redis runs: every part, in embed.cmake's order. */
    for (p = 0; p < sizeof(part) / sizeof(part[0]); p++) {
	snprintf(path, sizeof(path), "%s/lib/lua/%s", src, part[p]);
	assert_non_null(fp = fopen(path, "r"));
	while (fgets(line, sizeof(line), fp)) {
	    line[strcspn(line, "\n")] = 0;
	    lines += check_line(line, &ordinal, seen);
	}
	fclose(fp);
    }
    for (i = 0; i < NNAMES; i++)
	if (!seen[i])
	    fail_msg("engine.lua does not name %s", names[i].name);
    assert_true(lines >= (int) NNAMES);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test(test_table_complete),
	cmocka_unit_test(test_lua_mirrors_header),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
