/*
 * NAME
 *	sg_milter_metrics 3
 * SUMMARY
 *	what subguard (the milter) counts for Prometheus and the stats line
 * DESCRIPTION
 *	subguard_decisions_total{action,stage} counts the decision lines of
 *	the log, one for one (sg_log_decision_hook): action= and stage= as
 *	logged, a word not in the lists below as "other". A message during
 *	a Redis outage gets no line (the outage is logged once); it is
 *	counted here all the same, by sg_mmetrics_outage_decision().
 *	quarantine and lift lines also count subguard_quarantines_total and
 *	subguard_lifts_total. The rest: the commit queue's depth and the
 *	extra reservations (RCPT past reserve_recipients), with what
 *	sg_metrics_std.c has (Redis, outages, notifier).
 *
 *	Every series exists from the start (at 0), so rate() and alert
 *	rules see a counter before its first event.
 */
#include <stdio.h>
#include <string.h>

#include "sg_metrics.h"
#include "sg_metrics_std.h"
#include "sg_milter.h"

static const char *const actions[] = {
    "accept", "tempfail", "hold", "quarantine", "reject", "lift", "tier",
    "none", "other",
};
static const char *const stages[] = {
    "mail", "rcpt", "eom", "commit", "abort", "close", "other",
};

#define NACT	(int) (sizeof(actions) / sizeof(actions[0]))
#define NSTAGE	(int) (sizeof(stages) / sizeof(stages[0]))

static struct sg_mseries *m_decision[NACT][NSTAGE];
static struct sg_mseries *m_quarantines, *m_lifts;
static struct sg_mseries *m_reserve[3];		/* ok, down, error */
static unsigned long stats_every;		/* seconds, for the line */

/* word - a word's index in list, or the last ("other") */
static int word(const char *const *list, int n, const char *w)
{
    int     i;

    for (i = 0; i < n - 1; i++)
	if (strcmp(list[i], w) == 0)
	    return (i);
    return (n - 1);
}

/* decision - sg_log_decision_hook */
static void decision(const char *action, const char *stage)
{
    int     a = word(actions, NACT, action);

    sg_mseries_add(m_decision[a][word(stages, NSTAGE, stage)], 1);
    if (strcmp(action, "quarantine") == 0)
	sg_mseries_add(m_quarantines, 1);
    else if (strcmp(action, "lift") == 0)
	sg_mseries_add(m_lifts, 1);
}

/* sg_mmetrics_outage_decision - a decision the log leaves to the outage line */
void    sg_mmetrics_outage_decision(const char *action, const char *stage)
{
    decision(action, stage);
}

/* sg_mmetrics_reserve - one extra reservation: its SG_STORE_* status */
void    sg_mmetrics_reserve(int status)
{
    sg_mseries_add(m_reserve[status == SG_STORE_OK ? 0 :
			     status == SG_STORE_DOWN ? 1 : 2], 1);
}

/* read_depth - the commit queue gauge */
static double read_depth(void *arg)
{
    (void) arg;
    return ((double) sg_commitq_depth());
}

/* decisions - the family and its series */
static int decisions(struct sg_metrics *m)
{
    struct sg_mfamily *f;
    char    labels[96];
    int     a, s;

    f = sg_metrics_family(m, "subguard_decisions_total", "Decision lines of "
			  "the log, by action= and stage= (and messages "
			  "decided during a Redis outage, which have none).",
			  SG_MCOUNTER, 0, 0);
    for (a = 0; a < NACT; a++)
	for (s = 0; s < NSTAGE; s++) {
	    snprintf(labels, sizeof(labels), "action=\"%s\",stage=\"%s\"",
		     actions[a], stages[s]);
	    if ((m_decision[a][s] = sg_metrics_series(f, labels)) == 0)
		return (-1);
	}
    return (0);
}

/* sg_mmetrics_init - the milter's metrics, and the hooks that feed them */
int     sg_mmetrics_init(struct sg_metrics *m, unsigned long interval)
{
    struct sg_mfamily *f;

    stats_every = interval;
    if (sg_metrics_std(m, "subguard") < 0 || decisions(m) < 0)
	return (-1);
    f = sg_metrics_family(m, "subguard_quarantines_total", "Accounts newly "
			  "quarantined by this daemon.", SG_MCOUNTER, 0, 0);
    m_quarantines = sg_metrics_series(f, "source=\"submission\"");
    f = sg_metrics_family(m, "subguard_lifts_total", "Quarantines found "
			  "lifted (support removed them in Redis).",
			  SG_MCOUNTER, 0, 0);
    m_lifts = sg_metrics_series(f, 0);
    f = sg_metrics_family(m, "subguard_commit_queue_depth", "Commits queued "
			  "after the reply and not yet answered by Redis.",
			  SG_MGAUGE, 0, 0);
    sg_metrics_gauge_fn(f, 0, read_depth, 0);
    f = sg_metrics_family(m, "subguard_reservations_total", "Extra "
			  "reservations: a message past reserve_recipients "
			  "asking Redis for more room, by result.",
			  SG_MCOUNTER, 0, 0);
    m_reserve[0] = sg_metrics_series(f, "result=\"ok\"");
    m_reserve[1] = sg_metrics_series(f, "result=\"down\"");
    m_reserve[2] = sg_metrics_series(f, "result=\"error\"");
    if (m_quarantines == 0 || m_lifts == 0 || m_reserve[2] == 0)
	return (-1);
    sg_log_decision_hook = decision;
    return (0);
}

/* count - one action summed over the stages */
static long long count(const char *action)
{
    int     a = word(actions, NACT, action), s;
    long long n = 0;

    for (s = 0; s < NSTAGE; s++)
	n += sg_mseries_get(m_decision[a][s]);
    return (n);
}

/* sg_mmetrics_stats_line - what changed since the last line, to syslog */
void    sg_mmetrics_stats_line(void)
{
    static const char *const shown[] = {
	"accept", "tempfail", "hold", "reject", "quarantine", "lift",
    };
    static long long last[6];
    static struct sg_metrics_snap before;
    struct sg_metrics_snap now;
    char    text[512], std[384];
    long long n[6];
    int     i;

    for (i = 0; i < 6; i++)
	n[i] = count(shown[i]);
    sg_metrics_snap(&now);
    sg_metrics_snap_text(&now, &before, std, sizeof(std));
    snprintf(text, sizeof(text), "accept=%lld tempfail=%lld hold=%lld "
	     "reject=%lld quarantine=%lld lift=%lld commit_queue=%lu",
	     n[0] - last[0], n[1] - last[1], n[2] - last[2], n[3] - last[3],
	     n[4] - last[4], n[5] - last[5], sg_commitq_depth());
    sg_log(LOG_INFO, "stats: interval=%lus %s %s", stats_every, text, std);
    memcpy(last, n, sizeof(last));
    before = now;
}
