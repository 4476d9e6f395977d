/*
 * NAME
 *	test_config 1
 * SUMMARY
 *	unit tests for sg_config: defaults, the example file, every error
 * DESCRIPTION
 *	Table-driven: each row of a table below becomes one cmocka test, named
 *	after the row, so a failure says which input broke. Errors are
 *	compared whole, line number included, because "file:line: what is
 *	wrong" is what a postmaster sees from subguard -t.
 *
 *	The example file is read from $SG_SRC/contrib/subguard.conf (CTest
 *	sets SG_SRC); it must load and say exactly what the built-in
 *	defaults say.
 * DIAGNOSTICS
 *	Exit status 0 when every test passed, as cmocka reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sg_config.h"

#define NAME	"t.conf"		/* file name in expected errors */
#define D10	"0123456789"		/* filler for long lines */
#define D70	D10 D10 D10 D10 D10 D10 D10

 /*
  * Configurations and error buffers are static: struct sg_config is some
  * 30 KB, and cmocka's tests share one stack.
  */
static struct sg_config cfg;
static struct sg_config def;
static char err[1024];

/* parse - sg_config_parse_string() under the name NAME */
static int parse(const char *text)
{
    err[0] = 0;
    return (sg_config_parse_string(NAME, text, &cfg, err, sizeof(err)));
}

/* want_ok - the text must load; say why not */
static void want_ok(const char *text)
{
    if (parse(text) != 0)
	fail_msg("unexpected error: %s", err);
}

/* want_windows - compare a parsed list with "limit/seconds" pairs */
static void want_windows(const struct sg_windows *ws, int n,
			         const unsigned long *pairs)
{
    int     i;

    assert_int_equal(ws->n, n);
    for (i = 0; i < n; i++) {
	assert_int_equal(ws->w[i].limit, pairs[2 * i]);
	assert_int_equal(ws->w[i].seconds, pairs[2 * i + 1]);
    }
}

/* tier_named - a tier that must exist */
static const struct sg_tier *tier_named(const struct sg_config *c,
					        const char *name)
{
    const struct sg_tier *t = sg_config_tier(c, name);

    if (t == 0)
	fail_msg("no tier \"%s\"", name);
    return (t);
}

/* test_defaults - every default, as contrib/subguard.conf shows it */
static void test_defaults(void **state)
{
    static const unsigned long d_msg[] = {50, 3600, 200, 86400};
    static const unsigned long d_rcpt[] = {300, 3600, 1000, 86400};
    static const unsigned long d_qr[] = {2000, 86400};
    static const unsigned long d_qj[] = {20, 3600};
    static const unsigned long b_msg[] = {500, 3600, 2000, 86400};
    static const unsigned long b_rcpt[] = {1000, 3600, 5000, 86400};
    static const unsigned long b_qr[] = {50000, 86400};
    static const unsigned long b_qj[] = {100, 3600};
    static const unsigned long k_msg[] = {50000, 3600, 500000, 86400};
    static const unsigned long k_rcpt[] = {50000, 3600, 500000, 86400};
    static const unsigned long k_qr[] = {1000000, 86400};
    static const unsigned long k_qj[] = {500, 3600};
    const struct sg_tier *t;

    (void) state;
    memset(&cfg, 0x5a, sizeof(cfg));
    sg_config_init(&cfg);
    assert_string_equal(cfg.path, "");
    assert_string_equal(cfg.listen, "unix:/run/subguard/subguard.sock");
    assert_string_equal(cfg.socket_owner, "subguard");
    assert_string_equal(cfg.socket_group, "postfix");
    assert_int_equal(cfg.socket_mode, 0660);
    assert_string_equal(cfg.user, "subguard");
    assert_string_equal(cfg.group, "");
    assert_int_equal(cfg.mode, SG_MODE_ENFORCE);
    assert_int_equal(cfg.on_redis_error, SG_ONERR_ACCEPT);
    assert_int_equal(cfg.login_case, SG_CASE_LOWER);
    assert_string_equal(cfg.key_prefix, "subguard");
    assert_int_equal(cfg.quarantine_action, SG_QACT_HOLD);
    assert_int_equal(cfg.hold_max, 50);
    assert_int_equal(cfg.queue_id_ttl, 6 * 86400);
    assert_int_equal(cfg.reserve_recipients, 20);
    assert_int_equal(cfg.reserve_ttl, 7200);
    assert_int_equal(cfg.milter_timeout, 7200);
    assert_string_equal(cfg.syslog_facility, "mail");
    assert_string_equal(cfg.log_format, "syslog");
    assert_string_equal(cfg.postfix_syslog_name, "postfix");
    assert_string_equal(cfg.default_tier, "default");
    assert_string_equal(cfg.redis_address, "127.0.0.1:6379");
    assert_string_equal(cfg.redis_password_file, "");
    assert_int_equal(cfg.redis_db, 0);
    assert_int_equal(cfg.redis_timeout_ms, 100);
    assert_int_equal(cfg.redis_connect_timeout_ms, 100);
    assert_string_equal(cfg.text_recipients, "You have reached your limit "
			"of %{limit} recipients per %{window}. Please try "
			"again in %{retry}.");
    assert_string_equal(cfg.text_messages, "You have reached your limit "
			"of %{limit} messages per %{window}. Please try "
			"again in %{retry}.");
    assert_string_equal(cfg.text_quarantine, "Your account %{login} "
			"appears to be sending mail it should not\n(for "
			"example because a password was stolen or a computer "
			"is infected),\nso its outgoing mail is on hold. "
			"Please contact %{support}.");
    assert_string_equal(cfg.text_redis_error,
			"Temporary local problem, please try again later.");
    assert_string_equal(cfg.support_contact, "your provider's support desk");

    assert_int_equal(cfg.ntiers, 3);
    assert_string_equal(cfg.tiers[0].name, "default");
    assert_string_equal(cfg.tiers[1].name, "business");
    assert_string_equal(cfg.tiers[2].name, "bulk");
    t = tier_named(&cfg, "default");
    assert_int_equal(t->line, 0);
    want_windows(&t->messages, 2, d_msg);
    want_windows(&t->recipients, 2, d_rcpt);
    want_windows(&t->q_recipients, 1, d_qr);
    want_windows(&t->q_rejected, 1, d_qj);
    t = tier_named(&cfg, "business");
    want_windows(&t->messages, 2, b_msg);
    want_windows(&t->recipients, 2, b_rcpt);
    want_windows(&t->q_recipients, 1, b_qr);
    want_windows(&t->q_rejected, 1, b_qj);
    t = tier_named(&cfg, "bulk");
    want_windows(&t->messages, 2, k_msg);
    want_windows(&t->recipients, 2, k_rcpt);
    want_windows(&t->q_recipients, 1, k_qr);
    want_windows(&t->q_rejected, 1, k_qj);

    /* An empty file is all defaults, too. */
    want_ok("");
    assert_string_equal(cfg.path, NAME);
    assert_int_equal(cfg.ntiers, 3);
    assert_string_equal(cfg.text_quarantine, def.text_quarantine);
}

/* same_windows - two limit lists are equal */
static void same_windows(const struct sg_windows *a, const struct sg_windows *b)
{
    int     i;

    assert_int_equal(a->n, b->n);
    for (i = 0; i < a->n; i++) {
	assert_int_equal(a->w[i].limit, b->w[i].limit);
	assert_int_equal(a->w[i].seconds, b->w[i].seconds);
    }
}

/* test_example_file - contrib/subguard.conf loads and equals the defaults */
static void test_example_file(void **state)
{
    const char *src = getenv("SG_SRC");
    char    path[1024];
    int     i;

    (void) state;
    if (src == 0)
	skip();
    snprintf(path, sizeof(path), "%s/contrib/subguard.conf", src);
    if (sg_config_load(path, &cfg, err, sizeof(err)) != 0)
	fail_msg("%s", err);
    assert_string_equal(cfg.path, path);

    /*
     * The file says it shows every default, except what it marks
     * "example": hold it to that. Its listen is the socket inside
     * Postfix's chroot that the Debian package and the systemd unit make
     * writable (issue 16), not the built-in /run/subguard one.
     */
    assert_string_equal(cfg.listen,
			"unix:/var/spool/postfix/subguard/subguard.sock");
    assert_string_not_equal(def.listen, cfg.listen);
    assert_string_equal(cfg.socket_owner, def.socket_owner);
    assert_string_equal(cfg.socket_group, def.socket_group);
    assert_int_equal(cfg.socket_mode, def.socket_mode);
    assert_string_equal(cfg.user, def.user);
    assert_string_equal(cfg.group, def.group);
    assert_int_equal(cfg.mode, def.mode);
    assert_int_equal(cfg.on_redis_error, def.on_redis_error);
    assert_int_equal(cfg.login_case, def.login_case);
    assert_string_equal(cfg.key_prefix, def.key_prefix);
    assert_int_equal(cfg.quarantine_action, def.quarantine_action);
    assert_int_equal(cfg.hold_max, def.hold_max);
    assert_int_equal(cfg.queue_id_ttl, def.queue_id_ttl);
    assert_int_equal(cfg.reserve_recipients, def.reserve_recipients);
    assert_int_equal(cfg.reserve_ttl, def.reserve_ttl);
    assert_int_equal(cfg.milter_timeout, def.milter_timeout);
    assert_string_equal(cfg.syslog_facility, def.syslog_facility);
    assert_string_equal(cfg.log_format, def.log_format);
    assert_string_equal(cfg.postfix_syslog_name, def.postfix_syslog_name);
    assert_string_equal(cfg.default_tier, def.default_tier);
    assert_string_equal(cfg.redis_address, def.redis_address);
    assert_string_equal(cfg.redis_password_file, def.redis_password_file);
    assert_int_equal(cfg.redis_db, def.redis_db);
    assert_int_equal(cfg.redis_timeout_ms, def.redis_timeout_ms);
    assert_int_equal(cfg.redis_connect_timeout_ms,
		     def.redis_connect_timeout_ms);
    assert_string_equal(cfg.text_recipients, def.text_recipients);
    assert_string_equal(cfg.text_messages, def.text_messages);
    assert_string_equal(cfg.text_quarantine, def.text_quarantine);
    assert_string_equal(cfg.text_redis_error, def.text_redis_error);
    assert_string_equal(cfg.support_contact, def.support_contact);
    assert_int_equal(cfg.ntiers, def.ntiers);
    for (i = 0; i < def.ntiers; i++) {
	assert_string_equal(cfg.tiers[i].name, def.tiers[i].name);
	assert_true(cfg.tiers[i].line > 0);
	same_windows(&cfg.tiers[i].messages, &def.tiers[i].messages);
	same_windows(&cfg.tiers[i].recipients, &def.tiers[i].recipients);
	same_windows(&cfg.tiers[i].q_recipients, &def.tiers[i].q_recipients);
	same_windows(&cfg.tiers[i].q_rejected, &def.tiers[i].q_rejected);
    }
}

 /*
  * Every error, with the line it must name. Each row is a short file and
  * the whole message it must give, so wording changes show up here too.
  */
struct error_case {
    const char *name;
    const char *text;
    const char *want;
};

static const struct error_case error_cases[] = {
    {"unknown tier parameter, line 12",
	"# comment\n\n[subguard]\nmode = enforce\n\n[redis]\n"
	"database = 1\n\n[tier default]\nmessages = 50/1h\n; other\n"
	"recipents = 100/1h\n",
    NAME ":12: unknown parameter \"recipents\" in [tier default]"},
    {"bad duration in window",
	"[tier default]\nmessages = 50/1h, 100/5x\n",
    NAME ":2: bad duration \"5x\" in \"100/5x\""},
    {"socket_mode not octal",
	"[subguard]\nsocket_mode = 660\n",
    NAME ":2: socket_mode must be octal like 0660"},
    {"socket_mode bad digit",
	"[subguard]\nsocket_mode = 0680\n",
    NAME ":2: socket_mode must be octal like 0660"},
    {"duplicate tier",
	"[tier default]\nmessages = 1/1h\n[tier bulk]\n\n[tier bulk]\n",
    NAME ":5: duplicate tier \"bulk\" (first at line 3)"},
    {"bad mode",
	"[subguard]\nmode = dryrun\n",
    NAME ":2: mode must be enforce or dry-run"},
    {"enum in upper case",
	"[subguard]\nmode = Enforce\n",
    NAME ":2: mode must be enforce or dry-run"},
    {"bad quarantine_action",
	"[subguard]\nquarantine_action = drop\n",
    NAME ":2: quarantine_action must be hold, reject or tempfail"},
    {"bad on_redis_error",
	"[subguard]\non_redis_error = reject\n",
    NAME ":2: on_redis_error must be accept or tempfail"},
    {"bad login_case",
	"[subguard]\nlogin_case = upper\n",
    NAME ":2: login_case must be lower or keep"},
    {"bad syslog_facility",
	"[subguard]\nsyslog_facility = local8\n",
    NAME ":2: syslog_facility must be auth, authpriv, daemon, mail, user, "
    "local0, local1, local2, local3, local4, local5, local6 or local7"},
    {"bad log_format",
	"[feed]\nlog_format = cat\n",
    NAME ":2: log_format must be syslog, rfc5424 or journal-json"},
    {"log_format in [subguard]",
	"[subguard]\nlog_format = syslog\n",
	NAME ":2: unknown parameter \"log_format\" in [subguard] (it belongs "
    "in [feed])"},
    {"bad postfix_syslog_name",
	"[feed]\npostfix_syslog_name = postfix, post;fix\n",
	NAME ":2: postfix_syslog_name: syslog name \"post;fix\": want letters,"
    " digits, \".\", \"_\", \"-\" and \"/\""},
    {"empty postfix_syslog_name",
	"[feed]\npostfix_syslog_name =\n",
    NAME ":2: postfix_syslog_name: syslog names: none given"},
    {"unknown section",
	"[subguard]\nmode = enforce\n[limits]\n",
    NAME ":3: unknown section \"[limits]\""},
    {"section in upper case",
	"[Redis]\n",
    NAME ":1: unknown section \"[Redis]\""},
    {"section header without ]",
	"[redis\n",
    NAME ":1: section header without \"]\""},
    {"text after section header",
	"[redis] x\n",
    NAME ":1: text after \"]\" of a section header"},
    {"tier without name",
	"[tier]\n",
    NAME ":1: [tier] needs a name, like [tier default]"},
    {"tier name with a bad character",
	"[tier gold/1]\n",
    NAME ":1: bad tier name \"gold/1\": use letters, digits, \".\", \"_\" "
    "or \"-\" (at most 63)"},
    {"tier name too long",
	"[tier " D10 D10 D10 D10 D10 D10 "0123]\n",
    NAME ":1: bad tier name \"" D10 D10 D10 D10 D10 "0123456...\": use "
    "letters, digits, \".\", \"_\" or \"-\" (at most 63)"},
    {"value too long",
	"[subguard]\nkey_prefix = "
	"0123456789012345678901234567890123456789012345678901234567890123\n",
    NAME ":2: key_prefix: value too long (at most 63 characters)"},
    {"limit 0",
	"[tier default]\nrecipients = 0/1h\n",
    NAME ":2: limit must be at least 1 in \"0/1h\""},
    {"more than 8 windows",
	"[tier default]\nmessages = 1/1s, 2/2s, 3/3s, 4/4s, 5/5s, 6/6s, "
	"7/7s, 8/8s, 9/9s\n",
    NAME ":2: more than 8 windows in one list"},
    {"spam_failure not above normal_failure",
	"[tier default]\nnormal_failure = 20%\nspam_failure = 15%\n",
    NAME ":1: [tier default]: spam_failure (15%) must be above "
    "normal_failure (20%), or set normal_failure = 0 to turn the failure "
    "test off"},
    {"spam_failure 0",
	"[tier default]\nspam_failure = 0\n",
    NAME ":2: bad ratio \"0\": want a share such as 2% or 0.02, above 0 "
    "and below 1"},
    {"recipients_surge below 1",
	"[tier default]\nrecipients_surge = 0.5\n",
    NAME ":2: bad factor \"0.5\": want a number from 1 (off) to 100, such "
    "as 2"},
    {"recipients_surge not a number",
	"[tier default]\nrecipients_surge = 2x\n",
    NAME ":2: bad factor \"2x\": want a number from 1 (off) to 100, such "
    "as 2"},
    {"recipients_surge too big",
	"[tier default]\nrecipients_surge = 1e9\n",
    NAME ":2: bad factor \"1e9\": want a number from 1 (off) to 100, such "
    "as 2"},
    {"two windows of one length",
	"[tier default]\nmessages = 10/1h, 20/60m\n",
    NAME ":2: two windows of 1h in \"10/1h, 20/60m\""},
    {"line without =",
	"[subguard]\nmode = enforce\nlisten unix:/x\n",
    NAME ":3: expected \"name = value\" or \"[section]\""},
    {"indented line without = after a header",
	"[subguard]\n  listen\n",
    NAME ":2: expected \"name = value\" or \"[section]\""},
    {"colon instead of =",
	"[redis]\ndatabase: 1\n",
    NAME ":2: expected \"name = value\" or \"[section]\""},
    {"missing name",
	"[redis]\n= 1\n",
    NAME ":2: missing parameter name before \"=\""},
    {"duplicate parameter",
	"[subguard]\nmode = enforce\nhold_max = 5\nmode = dry-run\n",
    NAME ":4: duplicate parameter \"mode\" in [subguard] (first at line 2)"},
    {"duplicate parameter in a reopened section",
	"[redis]\ndatabase = 1\n[subguard]\n[redis]\ndatabase = 2\n",
    NAME ":5: duplicate parameter \"database\" in [redis] (first at line 2)"},
    {"duplicate parameter in a tier",
	"[tier default]\nmessages = 1/1h\nmessages = 2/1h\n",
    NAME ":3: duplicate parameter \"messages\" in [tier default] "
    "(first at line 2)"},
    {"duplicate text",
	"[text]\nsupport = a\n  b\nsupport = c\n",
    NAME ":4: duplicate parameter \"support\" in [text] (first at line 2)"},
    {"continuation of a plain parameter",
	"[subguard]\nlisten = unix:/run/x.sock\n  mode = enforce\n",
    NAME ":3: indented line continues \"listen\", but only [text] values "
    "may go on over several lines"},
    {"continuation of a tier list",
	"[tier default]\nmessages = 1/1h,\n  2/1d\n",
    NAME ":2: empty item in window list \"1/1h,\""},
    {"continuation of a tier list, complete first line",
	"[tier default]\nmessages = 1/1h\n  recipients = 2/1d\n",
    NAME ":3: indented line continues \"messages\", but only [text] values "
    "may go on over several lines"},
    {"parameter before any section",
	"\nmode = enforce\n",
    NAME ":2: parameter \"mode\" before any section (it belongs in "
    "[subguard])"},
    {"parameter in the wrong section",
	"[subguard]\ntimeout = 1s\n",
    NAME ":2: unknown parameter \"timeout\" in [subguard] (it belongs in "
    "[redis])"},
    {"unknown parameter",
	"[redis]\nhost = localhost\n",
    NAME ":2: unknown parameter \"host\" in [redis]"},
    {"parameter name in upper case",
	"[redis]\nDatabase = 1\n",
    NAME ":2: unknown parameter \"Database\" in [redis]"},
    {"default_tier set in the file, no such tier",
	"[subguard]\nmode = enforce\ndefault_tier = gold\n",
    NAME ":3: default_tier \"gold\": no [tier gold] section"},
    {"default_tier set, tiers in the file replace the built-in one",
	"[subguard]\ndefault_tier = business\n[tier gold]\n",
    NAME ":2: default_tier \"business\": no [tier business] section"},
    {"default_tier not set, no [tier default]",
	"[tier gold]\nmessages = 1/1h\n",
    NAME ": no [tier default] section"},
    {"bad default_tier name",
	"[subguard]\ndefault_tier = a b\n",
    NAME ":2: default_tier must be a tier name of letters, digits, \".\", "
    "\"_\" or \"-\" (at most 63)"},
    {"line too long",
	"[text]\nsupport = "
	"01234567890123456789012345678901234567890123456789"
	"01234567890123456789012345678901234567890123456789"
	"01234567890123456789012345678901234567890123456789"
	"0123456789012345678901234567890123456789012345678\n",
    NAME ":2: line longer than 198 characters (a [text] value may go on "
    "over indented lines)"},
    {"hold_max with a sign",
	"[subguard]\nhold_max = +5\n",
    NAME ":2: hold_max must be a number, not \"+5\""},
    {"hold_max negative",
	"[subguard]\nhold_max = -1\n",
    NAME ":2: hold_max must be a number, not \"-1\""},
    {"hold_max hex",
	"[subguard]\nhold_max = 0x10\n",
    NAME ":2: hold_max must be a number, not \"0x10\""},
    {"hold_max overflow",
	"[subguard]\nhold_max = 18446744073709551616\n",
    NAME ":2: hold_max must be a number, not \"18446744073709551616\""},
    {"queue_id_ttl bad unit",
	"[subguard]\nqueue_id_ttl = 6days\n",
    NAME ":2: queue_id_ttl: bad duration \"6days\" (like 30s, 15m, 6d; at "
    "most 3650d)"},
    {"milter_timeout zero",
	"[subguard]\nmilter_timeout = 0s\n",
    NAME ":2: milter_timeout must be more than 0"},
    {"redis timeout without unit",
	"[redis]\ntimeout = 100\n",
    NAME ":2: timeout: bad duration \"100\" (a number and a unit, like 100ms "
    "or 2s)"},
    {"redis connect_timeout zero",
	"[redis]\nconnect_timeout = 0ms\n",
    NAME ":2: connect_timeout must be more than 0"},
    {"redis database negative",
	"[redis]\ndatabase = -1\n",
    NAME ":2: database must be a number like 0"},
    {"redis address without port",
	"[redis]\naddress = localhost\n",
    NAME ":2: address must be unix:/path or host:port"},
    {"redis address relative socket",
	"[redis]\naddress = unix:redis.sock\n",
    NAME ":2: address must be unix:/path or host:port"},
    {"redis address port out of range",
	"[redis]\naddress = 127.0.0.1:65536\n",
    NAME ":2: address must be unix:/path or host:port"},
    {"redis socket path too long",
	"[redis]\naddress = unix:/0123456789012345678901234567890123456789"
	"0123456789012345678901234567890123456789012345678901234567890123456"
	"789\n",
    NAME ":2: address: a unix socket path has at most 107 characters"},
    {"password_file relative",
	"[redis]\npassword_file = secret\n",
    NAME ":2: password_file must be empty or an absolute path"},
    {"reserve_ttl below milter_timeout",
	"[subguard]\nmilter_timeout = 1h\nreserve_ttl = 10m\n",
    NAME ":3: reserve_ttl (600s) must be at least milter_timeout (3600s): a "
    "message may take that long to reach its end, and its room must stay "
    "reserved until then"},
    {"notify_command relative",
	"[subguard]\nnotify_command = notify -c x\n",
    NAME ":2: notify_command must be empty or an absolute path, possibly "
    "with arguments"},
    {"notify_command with a tab",
	"[subguard]\nnotify_command = /bin/notify\t-c x\n",
    NAME ":2: notify_command: control or non-ASCII byte"},
    {"listen in Postfix's order",
	"[subguard]\nlisten = inet:127.0.0.1:9025\n",
    NAME ":2: listen: expected inet:PORT@HOST like inet:9025@127.0.0.1 "
    "(libmilter's order, not Postfix's)"},
    {"listen port 0",
	"[subguard]\nlisten = inet:0@127.0.0.1\n",
    NAME ":2: listen: expected inet:PORT@HOST like inet:9025@127.0.0.1 "
    "(libmilter's order, not Postfix's)"},
    {"listen without type",
	"[subguard]\nlisten = /run/subguard.sock\n",
    NAME ":2: listen must be unix:/path or inet:port@host"},
    {"listen relative socket",
	"[subguard]\nlisten = unix:subguard.sock\n",
    NAME ":2: listen: a unix socket needs an absolute path, like "
    "unix:/run/subguard/subguard.sock"},
    {"user with a space",
	"[subguard]\nuser = sub guard\n",
    NAME ":2: user: a user or group name has no spaces, colons or control "
    "characters"},
    {"empty key_prefix",
	"[subguard]\nkey_prefix =\n",
    NAME ":2: key_prefix must be non-empty, without spaces, braces or "
    "control characters"},
    {"key_prefix with a hash tag",
	"[subguard]\nkey_prefix = sg{x}\n",
    NAME ":2: key_prefix must be non-empty, without spaces, braces or "
    "control characters"},
    {"unknown placeholder",
	"[text]\nrecipients = Limit %{limt} reached\n",
    NAME ":2: recipients: unknown placeholder \"%{limt}\""},
    {"unknown placeholder on a continuation line",
	"[text]\nquarantine = Your account\n  %{user} is on hold\n",
    NAME ":3: quarantine: unknown placeholder \"%{user}\""},
    {"unterminated placeholder",
	"[text]\nsupport = call %{support\n",
    NAME ":2: support: \"%{\" without \"}\""},
    {"non-ASCII text",
	"[text]\nsupport = Kundend\xc3\xbc" "nste\n",
    NAME ":2: support: only printable ASCII may go into an SMTP reply "
    "(byte \\xc3)"},
    {"empty text",
	"[text]\nredis_error =\n",
    NAME ":2: redis_error must not be empty"},
    {"text too long over continuation lines",
	"[text]\nquarantine = " D70 "\n"
	"  " D70 D70 "\n" "  " D70 D70 "\n" "  " D70 D70 "\n"
	"  " D70 D70 "\n" "  " D70 D70 "\n" "  " D70 D70 "\n"
	"  " D70 D70 "\n"
	"  # a comment between continuation lines does not count\n",
    NAME ":9: quarantine: value too long (at most 1023 characters)"},
    {"text of more than 32 lines",
	"[text]\nsupport = 1\n 2\n 3\n 4\n 5\n 6\n 7\n 8\n 9\n 10\n 11\n 12\n"
	" 13\n 14\n 15\n 16\n 17\n 18\n 19\n 20\n 21\n 22\n 23\n 24\n 25\n"
	" 26\n 27\n 28\n 29\n 30\n 31\n 32\n 33\n",
    NAME ":34: support: more than 32 lines"},
    {"error after a CRLF line and a BOM",
	"\xEF\xBB\xBF[redis]\r\ndatabase = 1\r\n\r\ntimeout = 1\r\n",
    NAME ":4: timeout: bad duration \"1\" (a number and a unit, like 100ms "
    "or 2s)"},
    {"line number after a multi-line text",
	"[text]\nquarantine = a\n  b\n\n  c\n[subguard]\nmode = on\n",
    NAME ":7: mode must be enforce or dry-run"},
    {"control character in a quoted name",
	"[redis]\nda\x01ta = 1\n",
    NAME ":2: unknown parameter \"da\\x01ta\" in [redis]"},
    {"window without a slash",
	"[tier default]\nmessages = 100\n",
    NAME ":2: expected LIMIT/DURATION like 100/1h, not \"100\""},
    {"window with an upper-case unit",
	"[tier default]\nmessages = 100/1H\n",
    NAME ":2: bad duration \"1H\" in \"100/1H\""},
    {"window of zero seconds",
	"[tier default]\nmessages = 100/0s\n",
    NAME ":2: window must be at least 1s in \"100/0s\""},
    {"inline comment is not a window",
	"[tier default]\nmessages = 100/1h # per hour\n",
    NAME ":2: bad duration \"1h # per hour\" in \"100/1h # per hour\""},
};

/* test_error - one row of error_cases: fails, with exactly that message */
static void test_error(void **state)
{
    const struct error_case *ec = *state;

    if (parse(ec->text) != -1)
	fail_msg("%s: loaded without error", ec->name);
    assert_string_equal(err, ec->want);
}

/* test_more_than_32_tiers - the 33rd [tier] header is the error */
static void test_more_than_32_tiers(void **state)
{
    char    text[4096];
    size_t  n = 0;
    int     i;

    (void) state;
    n += (size_t) snprintf(text + n, sizeof(text) - n, "[tier default]\n");
    for (i = 1; i < 32; i++)
	n += (size_t) snprintf(text + n, sizeof(text) - n,
			       "[tier t%d]\nmessages = %d/1h\n", i, i);
    want_ok(text);
    assert_int_equal(cfg.ntiers, 32);
    assert_int_equal(tier_named(&cfg, "t31")->line, 62);
    snprintf(text + n, sizeof(text) - n, "[tier t32]\n");
    assert_int_equal(parse(text), -1);
    assert_string_equal(err, NAME ":64: more than 32 tiers");
}

/* write_file - a scratch file with these bytes; its name in path */
static void write_file(char *path, size_t len, const char *data, size_t n)
{
    const char *tmp = getenv("TMPDIR");
    int     fd;

    snprintf(path, len, "%s/test_config.XXXXXX", tmp ? tmp : "/tmp");
    if ((fd = mkstemp(path)) < 0)
	fail_msg("mkstemp %s failed", path);
    assert_int_equal(write(fd, data, n), (ssize_t) n);
    close(fd);
}

/* test_files - errors only a file can give: open, read, null bytes */
static void test_files(void **state)
{
    static const char nul[] = "[redis]\ndatabase = 1\x00\n";
    static const char good[] = "[redis]\ndatabase = 3\n";
    char    path[1024];
    char    want[1200];

    (void) state;
    assert_int_equal(sg_config_load("/nonexistent/subguard.conf", &cfg, err,
				    sizeof(err)), -1);
    assert_string_equal(err, "/nonexistent/subguard.conf: cannot open: "
			"No such file or directory");

    assert_int_equal(sg_config_load("/", &cfg, err, sizeof(err)), -1);
    assert_string_equal(err, "/: read error: Is a directory");

    write_file(path, sizeof(path), nul, sizeof(nul) - 1);
    assert_int_equal(sg_config_load(path, &cfg, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "%s:2: null byte in line", path);
    assert_string_equal(err, want);
    unlink(path);

    write_file(path, sizeof(path), good, sizeof(good) - 1);
    if (sg_config_load(path, &cfg, err, sizeof(err)) != 0)
	fail_msg("%s", err);
    assert_int_equal(cfg.redis_db, 3);
    assert_string_equal(cfg.path, path);
    unlink(path);
}

/* test_failed_load_keeps_config - a failed load changes nothing (SIGHUP) */
static void test_failed_load_keeps_config(void **state)
{
    static struct sg_config before;

    (void) state;
    want_ok("[subguard]\nmode = dry-run\n[tier gold]\n[tier default]\n");
    before = cfg;
    assert_int_equal(parse("[subguard]\nmode = enforce\n[tier x]\n"
			   "messages = 0/1h\n"), -1);
    assert_memory_equal(&cfg, &before, sizeof(cfg));

    /* Small or missing error buffers must not be written past. */
    assert_int_equal(sg_config_parse_string(NAME, "[x]\n", &cfg, err, 4), -1);
    assert_string_equal(err, "t.c");
    assert_int_equal(sg_config_parse_string(NAME, "[x]\n", &cfg, 0, 0), -1);
    assert_int_equal(sg_config_parse_string(NAME, 0, 0, err, sizeof(err)), -1);
    assert_int_equal(sg_config_load(0, &cfg, err, sizeof(err)), -1);
}

/* test_multiline_text - indented lines continue [text] values */
static void test_multiline_text(void **state)
{
    (void) state;
    want_ok("[text]\n"
	    "quarantine = Your account %{login} is on hold\n"
	    "  because of %{reason};\n"
	    "\n"
	    "# a comment line does not end the value\n"
	    "\tplease call %{support} ; any time\n"
	    "support = the help desk ; 24h\n"
	    "messages =\n"
	    "    At most %{limit} messages per %{window}.\n"
	    "    Try again in %{retry}.\n"
	    "[subguard]\n"
	    "mode = dry-run ; an inline comment outside [text]\n");
    assert_string_equal(cfg.text_quarantine,
			"Your account %{login} is on hold\n"
			"because of %{reason};\n"
			"please call %{support} ; any time");
    assert_string_equal(cfg.support_contact, "the help desk ; 24h");
    assert_string_equal(cfg.text_messages, "At most %{limit} messages per "
			"%{window}.\nTry again in %{retry}.");
    assert_int_equal(cfg.mode, SG_MODE_DRYRUN);

    /* What the file leaves out keeps its default. */
    assert_string_equal(cfg.text_recipients, def.text_recipients);
    assert_string_equal(cfg.text_redis_error, def.text_redis_error);

    /* A value of one line replaces a default of several. */
    want_ok("[text]\nquarantine = On hold. Call %{support}.\n");
    assert_string_equal(cfg.text_quarantine, "On hold. Call %{support}.");
}

/* test_values - every kind of value a parameter accepts */
static void test_values(void **state)
{
    (void) state;
    want_ok("[subguard]\n"
	    "listen = inet:9025@127.0.0.1\n"
	    "socket_owner =\n"
	    "socket_group = smmsp\n"
	    "socket_mode = 0600\n"
	    "user =\n"
	    "group = mail\n"
	    "mode = dry-run\n"
	    "on_redis_error = tempfail\n"
	    "login_case = keep\n"
	    "key_prefix = sg:test\n"
	    "default_tier = bulk\n"
	    "quarantine_action = tempfail\n"
	    "hold_max = 0\n"
	    "queue_id_ttl = 1w\n"
	    "reserve_recipients = 50\n"
	    "reserve_ttl = 2m\n"
	    "milter_timeout = 90\n"
	    "syslog_facility = local3\n"
	    "[feed]\n"
	    "log_format = journal-json\n"
	    "postfix_syslog_name = postfix, postfix-out\n"
	    "[redis]\n"
	    "address = unix:/run/redis/redis.sock\n"
	    "password_file = /etc/subguard/redis.pw\n"
	    "database = 15\n"
	    "timeout = 2s\n"
	    "connect_timeout = 250ms\n");
    assert_string_equal(cfg.listen, "inet:9025@127.0.0.1");
    assert_string_equal(cfg.socket_owner, "");
    assert_string_equal(cfg.socket_group, "smmsp");
    assert_int_equal(cfg.socket_mode, 0600);
    assert_string_equal(cfg.user, "");
    assert_string_equal(cfg.group, "mail");
    assert_int_equal(cfg.mode, SG_MODE_DRYRUN);
    assert_int_equal(cfg.on_redis_error, SG_ONERR_TEMPFAIL);
    assert_int_equal(cfg.login_case, SG_CASE_KEEP);
    assert_string_equal(cfg.key_prefix, "sg:test");
    assert_string_equal(cfg.default_tier, "bulk");
    assert_int_equal(cfg.quarantine_action, SG_QACT_TEMPFAIL);
    assert_int_equal(cfg.hold_max, 0);
    assert_int_equal(cfg.queue_id_ttl, 604800);
    assert_int_equal(cfg.reserve_recipients, 50);
    assert_int_equal(cfg.reserve_ttl, 120);
    assert_int_equal(cfg.milter_timeout, 90);
    assert_string_equal(cfg.syslog_facility, "local3");
    assert_string_equal(cfg.log_format, "journal-json");
    assert_string_equal(cfg.postfix_syslog_name, "postfix, postfix-out");
    assert_string_equal(cfg.redis_address, "unix:/run/redis/redis.sock");
    assert_string_equal(cfg.redis_password_file, "/etc/subguard/redis.pw");
    assert_int_equal(cfg.redis_db, 15);
    assert_int_equal(cfg.redis_timeout_ms, 2000);
    assert_int_equal(cfg.redis_connect_timeout_ms, 250);
    assert_int_equal(cfg.ntiers, 3);

    want_ok("[subguard]\nlisten = local:/var/run/subguard.sock\n"
	    "quarantine_action = reject\n[redis]\naddress = [::1]:6380\n");
    assert_int_equal(cfg.quarantine_action, SG_QACT_REJECT);
    assert_string_equal(cfg.redis_address, "[::1]:6380");
    want_ok("[subguard]\nlisten = inet6:9025@::1\n");
    want_ok("[subguard]\nlisten = inet:9025\n");
    want_ok("[subguard]\nlisten = inet:milter@localhost\n");
}

/* test_tiers - file tiers replace the built-in ones; omitted keys: no limit */
static void test_tiers(void **state)
{
    static const unsigned long gold_msg[] = {10, 60, 100, 3600, 1000, 86400};
    const struct sg_tier *t;

    (void) state;
    want_ok("[subguard]\n"
	    "default_tier = gold\n"
	    "\n"
	    "[tier gold]\n"
	    "messages = 10/1m , 100 / 1h,1000/1d\n"
	    "recipients =\n"
	    "[tier  silver ]\n");
    assert_int_equal(cfg.ntiers, 2);
    assert_null(sg_config_tier(&cfg, "default"));
    assert_null(sg_config_tier(&cfg, "business"));
    assert_null(sg_config_tier(&cfg, "bulk"));
    assert_null(sg_config_tier(&cfg, "Gold"));
    t = tier_named(&cfg, "gold");
    assert_int_equal(t->line, 4);
    want_windows(&t->messages, 3, gold_msg);
    assert_int_equal(t->recipients.n, 0);
    assert_int_equal(t->q_recipients.n, 0);
    assert_int_equal(t->q_rejected.n, 0);
    assert_true(t->surge == 2);		/* recipients_surge's default */
    t = tier_named(&cfg, "silver");
    assert_int_equal(t->line, 7);
    assert_int_equal(t->messages.n, 0);
    want_ok("[tier default]\nrecipients_surge = 1.5\n[tier off]\n"
	    "recipients_surge = 1\n");
    assert_true(tier_named(&cfg, "default")->surge == 1.5);
    assert_true(tier_named(&cfg, "off")->surge == 1);
    want_ok("[tier default]\nnormal_failure = 0\n");	/* test off */
    assert_true(tier_named(&cfg, "default")->normal_failure == 0);

    /* Without [tier] sections the three built-in tiers stay. */
    want_ok("[subguard]\ndefault_tier = business\n");
    assert_int_equal(cfg.ntiers, 3);
    assert_non_null(sg_config_tier(&cfg, "bulk"));
    assert_true(tier_named(&cfg, "bulk")->surge == 2);

    /* A file's own [tier default] is the only tier, with only its limits. */
    want_ok("[tier default]\nmessages = 5/1h\n");
    assert_int_equal(cfg.ntiers, 1);
    assert_int_equal(tier_named(&cfg, "default")->recipients.n, 0);

    assert_null(sg_config_tier(&cfg, 0));
    assert_null(sg_config_tier(0, "default"));
}

struct duration_case {
    const char *text;
    int     ok;
    unsigned long seconds;
};

static const struct duration_case duration_cases[] = {
    {"90", 1, 90},
    {"90s", 1, 90},
    {"15m", 1, 900},
    {"1h", 1, 3600},
    {"36h", 1, 129600},
    {"1d", 1, 86400},
    {"1w", 1, 604800},
    {"0", 1, 0},
    {"0s", 1, 0},
    {"007m", 1, 420},
    {"3650d", 1, 315360000},
    {"315360000", 1, 315360000},
    {"521w", 1, 315100800},
    {"522w", 0, 0},				/* above the ten-year cap */
    {"3651d", 0, 0},
    {"315360001", 0, 0},
    {"18446744073709551615", 0, 0},
    {"18446744073709551616", 0, 0},
    {"99999999999999999999999999999999999999w", 0, 0},
    {"", 0, 0},
    {"s", 0, 0},
    {"-1", 0, 0},
    {"-1h", 0, 0},
    {"+1", 0, 0},
    {" 1", 0, 0},
    {"1 ", 0, 0},
    {"1 h", 0, 0},
    {"1x", 0, 0},
    {"1H", 0, 0},
    {"1ms", 0, 0},
    {"1hh", 0, 0},
    {"1h30m", 0, 0},
    {"1.5h", 0, 0},
    {"0x10", 0, 0},
    {"1y", 0, 0},
};

/* test_durations - sg_parse_duration() on good and bad input */
static void test_durations(void **state)
{
    unsigned long v;
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(duration_cases) / sizeof(duration_cases[0]); i++) {
	const struct duration_case *dc = duration_cases + i;

	v = 12345;
	if ((sg_parse_duration(dc->text, &v) == 0) != dc->ok)
	    fail_msg("\"%s\": want %s", dc->text, dc->ok ? "ok" : "error");
	if (dc->ok && v != dc->seconds)
	    fail_msg("\"%s\": %lu, want %lu", dc->text, v, dc->seconds);
	if (!dc->ok && v != 12345)
	    fail_msg("\"%s\": result written on error", dc->text);
    }
    assert_int_equal(sg_parse_duration(0, &v), -1);
}

struct windows_case {
    const char *text;
    const char *want_err;		/* NULL: must parse */
    int     n;
    unsigned long pairs[2 * SG_MAX_WINDOWS];
};

static const struct windows_case windows_cases[] = {
    {"100/1m, 1000/1h", 0, 2, {100, 60, 1000, 3600}},
    {"  5 / 1h ,6/1d ", 0, 2, {5, 3600, 6, 86400}},
    {"1/1", 0, 1, {1, 1}},
    {"1/1s,2/2s,3/3s,4/4s,5/5s,6/6s,7/7s,8/8s", 0, 8,
    {1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8}},
    {"18446744073709551615/1w", 0, 1, {18446744073709551615UL, 604800}},
    {"", 0, 0, {0}},
    {"   ", 0, 0, {0}},
    {"100", "expected LIMIT/DURATION like 100/1h, not \"100\"", 0, {0}},
    {"100/5x", "bad duration \"5x\" in \"100/5x\"", 0, {0}},
    {"100/", "bad duration \"\" in \"100/\"", 0, {0}},
    {"/1h", "bad limit \"\" in \"/1h\"", 0, {0}},
    {"x/1h", "bad limit \"x\" in \"x/1h\"", 0, {0}},
    {"-1/1h", "bad limit \"-1\" in \"-1/1h\"", 0, {0}},
    {"1/-1h", "bad duration \"-1h\" in \"1/-1h\"", 0, {0}},
    {"18446744073709551616/1h",
    "bad limit \"18446744073709551616\" in \"18446744073709551616/1h\"", 0,
    {0}},
    {"1/2/3", "bad duration \"2/3\" in \"1/2/3\"", 0, {0}},
    {"0/1h", "limit must be at least 1 in \"0/1h\"", 0, {0}},
    {"1/0", "window must be at least 1s in \"1/0\"", 0, {0}},
    {"1/1h,,2/1d", "empty item in window list \"1/1h,,2/1d\"", 0, {0}},
    {"1/1h,", "empty item in window list \"1/1h,\"", 0, {0}},
    {",1/1h", "empty item in window list \",1/1h\"", 0, {0}},
    {"1/1s,2/2s,3/3s,4/4s,5/5s,6/6s,7/7s,8/8s,9/9s",
    "more than 8 windows in one list", 0, {0}},
    {"1/1d, 2/24h", "two windows of 1d in \"1/1d, 2/24h\"", 0, {0}},
    {"1/1h;2/1d", "bad duration \"1h;2/1d\" in \"1/1h;2/1d\"", 0, {0}},
};

/* test_windows - sg_parse_windows() on good and bad lists */
static void test_windows(void **state)
{
    struct sg_windows ws;
    char    werr[256];
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(windows_cases) / sizeof(windows_cases[0]); i++) {
	const struct windows_case *wc = windows_cases + i;
	int     rc;

	memset(&ws, 0x5a, sizeof(ws));
	werr[0] = 0;
	rc = sg_parse_windows(wc->text, &ws, werr, sizeof(werr));
	if (wc->want_err == 0) {
	    if (rc != 0)
		fail_msg("\"%s\": %s", wc->text, werr);
	    want_windows(&ws, wc->n, wc->pairs);
	} else {
	    if (rc != -1)
		fail_msg("\"%s\": parsed, want an error", wc->text);
	    if (strcmp(werr, wc->want_err) != 0)
		fail_msg("\"%s\": got '%s', want '%s'", wc->text, werr,
			 wc->want_err);
	}
    }
    assert_int_equal(sg_parse_windows(0, &ws, werr, sizeof(werr)), -1);
    assert_int_equal(sg_parse_windows("x", &ws, 0, 0), -1);
}

/* test_format_duration - the shortest exact form, and round trips */
static void test_format_duration(void **state)
{
    static const struct {
	unsigned long seconds;
	const char *want;
    }       cases[] = {
	{0, "0s"}, {1, "1s"}, {59, "59s"}, {60, "1m"}, {90, "90s"},
	{120, "2m"}, {3599, "3599s"}, {3600, "1h"}, {5400, "90m"},
	{86400, "1d"}, {129600, "36h"}, {604800, "1w"}, {691200, "8d"},
	{1209600, "2w"}, {315360000, "3650d"},
	{18446744073709551615UL, "18446744073709551615s"},
    };
    char    buf[32];
    unsigned long back;
    size_t  i;

    (void) state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
	assert_ptr_equal(sg_format_duration(cases[i].seconds, buf,
					    sizeof(buf)), buf);
	assert_string_equal(buf, cases[i].want);
	if (cases[i].seconds <= 315360000) {
	    assert_int_equal(sg_parse_duration(buf, &back), 0);
	    assert_int_equal(back, cases[i].seconds);
	}
    }
    /* A short buffer is cut, not overrun. */
    memset(buf, 'x', sizeof(buf));
    assert_string_equal(sg_format_duration(129600, buf, 3), "36");
    assert_int_equal(buf[3], 'x');
    assert_string_equal(sg_format_duration(60, 0, 0), "");
}

static const struct CMUnitTest fixed_tests[] = {
    cmocka_unit_test(test_defaults),
    cmocka_unit_test(test_example_file),
    cmocka_unit_test(test_values),
    cmocka_unit_test(test_multiline_text),
    cmocka_unit_test(test_tiers),
    cmocka_unit_test(test_more_than_32_tiers),
    cmocka_unit_test(test_files),
    cmocka_unit_test(test_failed_load_keeps_config),
    cmocka_unit_test(test_durations),
    cmocka_unit_test(test_windows),
    cmocka_unit_test(test_format_duration),
};

int     main(void)
{
    size_t  nfixed = sizeof(fixed_tests) / sizeof(fixed_tests[0]);
    size_t  nerr = sizeof(error_cases) / sizeof(error_cases[0]);
    struct CMUnitTest *tests;
    size_t  i;
    int     rc;

    sg_config_init(&def);

    /* One test per error row, named after it. */
    if ((tests = calloc(nfixed + nerr, sizeof(*tests))) == 0)
	return (1);
    memcpy(tests, fixed_tests, sizeof(fixed_tests));
    for (i = 0; i < nerr; i++) {
	tests[nfixed + i].name = error_cases[i].name;
	tests[nfixed + i].test_func = test_error;
	tests[nfixed + i].initial_state = (void *) (error_cases + i);
    }
    rc = _cmocka_run_group_tests("sg_config", tests, nfixed + nerr, 0, 0);
    free(tests);
    return (rc);
}
