/*
 * NAME
 *	sg_config 3h
 * SUMMARY
 *	subguard configuration: parameters, defaults, tiers
 * DESCRIPTION
 *	The configuration is an INI-style file, read by sg_config.c. Every
 *	parameter, its default and its section are in the table in
 *	sg_config_param.c, the tier keys in sg_config_tier.c; the man page
 *	subguard.conf(5) is the reference for postmasters.
 *
 *	A loaded configuration is immutable: the daemon builds a new one on
 *	SIGHUP and swaps it in only when it loaded without error.
 * DIAGNOSTICS
 *	sg_config_load() returns 0 on success, -1 with "file:line: what is
 *	wrong" in err.
 */
#ifndef SG_CONFIG_H
#define SG_CONFIG_H

#include <stddef.h>

#include "sg_duration.h"

#define SG_MAX_WINDOWS	8	/* windows per limit list */
#define SG_MAX_TIERS	32
#define SG_NAME_MAX	64	/* tier names, users, groups, key prefix */
#define SG_PATH_MAX	512
#define SG_TEXT_MAX	1024	/* customer-facing reply texts */

enum sg_mode { SG_MODE_ENFORCE, SG_MODE_DRYRUN };
enum sg_on_error { SG_ONERR_ACCEPT, SG_ONERR_TEMPFAIL };
enum sg_qaction { SG_QACT_HOLD, SG_QACT_REJECT, SG_QACT_TEMPFAIL };
enum sg_case { SG_CASE_LOWER, SG_CASE_KEEP };
enum sg_encoding { SG_ENC_AUTO, SG_ENC_XTEXT, SG_ENC_NONE };

/* One "limit/duration" pair: at most limit events in any window of seconds. */
struct sg_window {
    unsigned long limit;
    unsigned long seconds;
};

/* A list such as "100/1m, 1000/1h, 5000/1d": every window must hold. */
struct sg_windows {
    int     n;
    struct sg_window w[SG_MAX_WINDOWS];
};

struct sg_tier {
    char    name[SG_NAME_MAX];
    int     line;			/* line of its [tier NAME] header */
    struct sg_windows messages;		/* messages accepted */
    struct sg_windows recipients;	/* recipients accepted */
    struct sg_windows q_recipients;	/* quarantine ceiling on recipients */
    struct sg_windows q_rejected;	/* quarantine on MTA-rejected rcpts */
    struct sg_windows q_failed;		/* quarantine on all failed rcpts */
    /*
     * The failure test (0 normal_failure: off); see subguard.conf(5).
     * sg_config_tier.c names these four as tier keys.
     */
    double  normal_failure;		/* failure ratio of a normal sender */
    double  spam_failure;		/* failure ratio of a spam run */
    double  false_alarm;		/* chance to quarantine a normal one */
    double  missed_alarm;		/* chance to miss a spam run */
    double  surge;			/* recipients_surge: a clean sender may
					 * go this many times over the
					 * shorter recipient windows */
};

struct sg_config {
    char    path[SG_PATH_MAX];

    /* [subguard] */
    char    listen[SG_PATH_MAX];	/* libmilter: unix:/path, inet:port@host */
    char    socket_owner[SG_NAME_MAX];	/* "" = leave as created */
    char    socket_group[SG_NAME_MAX];
    unsigned socket_mode;		/* default 0660 */
    char    user[SG_NAME_MAX];		/* "" = do not drop privileges */
    char    group[SG_NAME_MAX];		/* "" = user's primary group */
    enum sg_mode mode;
    enum sg_on_error on_redis_error;
    enum sg_case login_case;
    enum sg_encoding login_encoding;	/* how the MTA passes the login */
    char    key_prefix[SG_NAME_MAX];	/* default "subguard" */
    enum sg_qaction quarantine_action;
    unsigned long hold_max;		/* held messages per login, then refuse */
    unsigned long queue_id_ttl;		/* seconds; covers the MTA queue life */
    unsigned long reserve_recipients;	/* recipients begin reserves */
    unsigned long reserve_ttl;		/* seconds a reservation lives */
    unsigned long milter_timeout;	/* seconds, libmilter I/O timeout */
    char    syslog_facility[16];	/* default "mail" */
    char    default_tier[SG_NAME_MAX];	/* default "default" */
    char    notify_command[SG_PATH_MAX];	/* run on each new quarantine */
    /* receiver incidents: policy refusals of many logins by one domain */
    unsigned long incident_logins;	/* distinct logins; 0: off */
    unsigned long incident_window;	/* seconds they are counted in */
    unsigned long incident_quiet;	/* seconds without one: it ends */
    /* [subguard] each account's history (lib/lua/engine_history.lua) */
    int     history;			/* 1: on */
    unsigned long history_floor;	/* recipients a day from new networks */
    unsigned long history_factor;	/* ... plus this times the usual */
    unsigned long history_ramp;		/* seconds from half room to full */
    unsigned long history_learn;	/* seconds of clean use: a network known */
    unsigned long history_keep;		/* seconds a profile outlives its use */

    /* [redis] */
    char    redis_address[SG_PATH_MAX];	/* unix:/path or host:port */
    char    redis_password_file[SG_PATH_MAX];
    int     redis_db;
    unsigned long redis_timeout_ms;	/* per command, default 100 */
    unsigned long redis_connect_timeout_ms;
    /* [redis] Sentinel (instead of address) and ACL user */
    char    redis_sentinels[SG_PATH_MAX];	/* "host:port, host:port" */
    char    redis_master_name[SG_NAME_MAX];
    char    redis_sentinel_password_file[SG_PATH_MAX];
    char    redis_username[SG_NAME_MAX];	/* "" = Redis's "default" */

    /* [feed]: subguard-feed(8) */
    char    log_format[16];		/* syslog, rfc5424, journal-json */
    char    postfix_syslog_name[SG_PATH_MAX];	/* "postfix, postfix-out" */
    char    journal_units[SG_PATH_MAX];	/* -J: "postfix@-.service ..." */
    char    journal_directory[SG_PATH_MAX];	/* -J: "" = the system's */

    /* [metrics]: Prometheus scrapes and the statistics line */
    char    metrics_listen[SG_PATH_MAX];	/* subguard: HOST:PORT, "" off */
    char    metrics_feed_listen[SG_PATH_MAX];	/* subguard-feed: the same */
    unsigned long stats_interval;	/* seconds; 0: no statistics line */

    /* [text]: what the SMTP client is told; see subguard.conf(5) */
    char    text_recipients[SG_TEXT_MAX];
    char    text_messages[SG_TEXT_MAX];
    char    text_quarantine[SG_TEXT_MAX];	/* lines separated by '\n' */
    char    text_redis_error[SG_TEXT_MAX];
    char    support_contact[SG_TEXT_MAX];
    char    text_history[SG_TEXT_MAX];	/* the history limit's tempfail */

    int     ntiers;
    struct sg_tier tiers[SG_MAX_TIERS];
};

/*
 * sg_syslog_facilities - the names syslog_facility allows, null-terminated:
 * the one list (lib/ has no syslog.h; sg_log_facility() gives the values)
 */
extern const char *const sg_syslog_facilities[];

/* sg_config_init - fill in every default; the result is a valid config */
extern void sg_config_init(struct sg_config *);

/* sg_config_load - read and check a file; defaults for what it omits */
extern int sg_config_load(const char *path, struct sg_config *, char *err,
			  size_t errlen);

/* sg_config_parse_string - same, from memory; name is used in errors */
extern int sg_config_parse_string(const char *name, const char *text,
				  struct sg_config *, char *err, size_t errlen);

/* sg_config_tier - tier by name, or NULL */
extern const struct sg_tier *sg_config_tier(const struct sg_config *,
					    const char *name);

/* sg_parse_windows - "100/1m, 1000/1h" */
extern int sg_parse_windows(const char *text, struct sg_windows *,
			    char *err, size_t errlen);

#endif
