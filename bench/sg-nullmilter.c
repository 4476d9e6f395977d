/*
 * NAME
 *	sg-nullmilter 8
 * SUMMARY
 *	the do-nothing baseline: subguard's negotiation, no work
 * SYNOPSIS
 *	sg-nullmilter -p SOCKET [-m MODE] [-t TIMEOUT] [-b BACKLOG] [-c]
 *		[-s STEPS]
 * DESCRIPTION
 *	A libmilter milter that asks the MTA for exactly what subguard asks
 *	for (milter/sg_milter.c: sg_negotiate) and does nothing with it:
 *
 *	- actions SMFIF_QUARANTINE | SMFIF_SETSYMLIST;
 *	- the steps of SG_NEGOTIATE_STEPS: CONNECT, HELO, DATA, headers,
 *	  body and unknown commands skipped, MAIL without a reply, rejected
 *	  recipients shown too (SMFIP_RCPT_REJ);
 *	- the same macro lists at MAIL, RCPT and end of message;
 *	- the same callbacks (envfrom, envrcpt, eom, abort, close), each
 *	  returning SMFIS_CONTINUE, or SMFIS_NOREPLY where no reply was
 *	  negotiated.
 *
 *	So a benchmark that runs it next to subguard, with the same MTA and
 *	the same load, measures what subguard's own work (Redis, decisions,
 *	logging) costs over the price of being a libmilter milter at all.
 *	If sg_negotiate changes, change negotiate() here the same way.
 *
 *	-p takes libmilter's syntax (unix:/path, inet:PORT@127.0.0.1); a
 *	stale unix socket is removed and the new one gets MODE (default
 *	0666, octal). -t is libmilter's I/O timeout (default 30 s, as
 *	subguard). -c counts the callbacks and prints the counts on exit
 *	(a check that the MTA sends what is expected; off for measurements).
 *	-s STEPS (comma-separated) asks for other steps than subguard's, to
 *	measure what each protocol choice costs: connect (CONNECT taken,
 *	with a reply), mailreply (MAIL answered), nomail (SMFIP_NOMAIL; the
 *	login's macros then come at RCPT), nr (no reply at RCPT either,
 *	SMFIP_NR_RCPT, and at CONNECT if taken: what a milter that never
 *	refuses a recipient could have), nrcont (the same flags, the
 *	callbacks answering SMFIS_CONTINUE all the same). The negotiation
 *	subguard had before it took MAIL without a reply and skipped
 *	CONNECT is "connect,mailreply".
 *	SIGTERM or SIGINT stops it (libmilter's own signal thread).
 * DIAGNOSTICS
 *	Exit status 1 if the socket cannot be opened.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

#include "sg_negotiate.h"

static int counting;
static unsigned long steps = SG_NEGOTIATE_STEPS;	/* -s changes it */
static int nrcont;				/* -s nrcont */

/* answer - SMFIS_NOREPLY where the MTA was told not to wait (flag) */
static sfsistat answer(SMFICTX *ctx, unsigned long flag)
{
    unsigned long got = (unsigned long) (uintptr_t) smfi_getpriv(ctx);

    return ((got & flag) && !nrcont ? SMFIS_NOREPLY : SMFIS_CONTINUE);
}
static atomic_ulong n_connect, n_envfrom, n_envrcpt, n_eom, n_abort, n_close;

#define COUNT(c) do { if (counting) atomic_fetch_add(&(c), 1); } while (0)

/* negotiate - exactly the steps and macros subguard asks for */
static sfsistat negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
			          unsigned long f2, unsigned long f3,
			          unsigned long *pf0, unsigned long *pf1,
			          unsigned long *pf2, unsigned long *pf3)
{
    sfsistat st;

    (void) f2;
    (void) f3;
    st = sg_negotiate_steps(ctx, f0, f1, steps, pf0, pf1, pf2, pf3);
    /* The steps agreed on, kept in the context's pointer itself. */
    smfi_setpriv(ctx, (void *) (uintptr_t) *pf1);
    return (st);
}

/* nm_connect - nothing */
static sfsistat nm_connect(SMFICTX *ctx, char *host, _SOCK_ADDR *sa)
{
    (void) host;
    (void) sa;
    COUNT(n_connect);
    return (answer(ctx, SMFIP_NR_CONN));
}

/* nm_envfrom - nothing */
static sfsistat nm_envfrom(SMFICTX *ctx, char **argv)
{
    (void) argv;
    COUNT(n_envfrom);
    return (answer(ctx, SMFIP_NR_MAIL));
}

/* nm_envrcpt - nothing */
static sfsistat nm_envrcpt(SMFICTX *ctx, char **argv)
{
    (void) argv;
    COUNT(n_envrcpt);
    return (answer(ctx, SMFIP_NR_RCPT));
}

/* nm_eom - nothing */
static sfsistat nm_eom(SMFICTX *ctx)
{
    (void) ctx;
    COUNT(n_eom);
    return (SMFIS_CONTINUE);
}

/* nm_abort - nothing */
static sfsistat nm_abort(SMFICTX *ctx)
{
    (void) ctx;
    COUNT(n_abort);
    return (SMFIS_CONTINUE);
}

/* nm_close - nothing */
static sfsistat nm_close(SMFICTX *ctx)
{
    (void) ctx;
    COUNT(n_close);
    return (SMFIS_CONTINUE);
}

static struct smfiDesc desc = {
    .xxfi_name = "sg-nullmilter",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_QUARANTINE | SMFIF_SETSYMLIST,
    .xxfi_connect = nm_connect,
    .xxfi_envfrom = nm_envfrom,
    .xxfi_envrcpt = nm_envrcpt,
    .xxfi_eom = nm_eom,
    .xxfi_abort = nm_abort,
    .xxfi_close = nm_close,
    .xxfi_negotiate = negotiate,
};

/* parse_steps - -s's words as changes to the steps; -1 if one is unknown */
static int parse_steps(char *list)
{
    char   *w, *save = 0;

    for (w = strtok_r(list, ",", &save); w; w = strtok_r(0, ",", &save)) {
	if (strcmp(w, "connect") == 0)
	    steps &= ~SMFIP_NOCONNECT;
	else if (strcmp(w, "mailreply") == 0)
	    steps &= ~SMFIP_NR_MAIL;
	else if (strcmp(w, "nomail") == 0)
	    steps |= SMFIP_NOMAIL;
	else if (strcmp(w, "nr") == 0 || strcmp(w, "nrcont") == 0) {
	    steps |= SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT;
	    nrcont = strcmp(w, "nrcont") == 0;
	} else
	    return (-1);
    }
    return (0);
}

/* usage - how to call */
static void usage(void)
{
    fprintf(stderr, "usage: sg-nullmilter -p SOCKET [-m MODE] [-t TIMEOUT] "
	    "[-b BACKLOG] [-c] [-s connect,mailreply,nomail,nr|nrcont]\n");
    exit(2);
}

int     main(int argc, char **argv)
{
    const char *conn = 0;
    unsigned long mode = 0666;
    int     timeout = 30, backlog = 0, ch, rc;

    while ((ch = getopt(argc, argv, "b:cm:p:s:t:")) != -1) {
	switch (ch) {
	case 'b':
	    backlog = atoi(optarg);
	    break;
	case 'c':
	    counting = 1;
	    break;
	case 'm':
	    mode = strtoul(optarg, 0, 8);
	    break;
	case 'p':
	    conn = optarg;
	    break;
	case 's':
	    if (parse_steps(optarg) < 0)
		usage();
	    break;
	case 't':
	    timeout = atoi(optarg);
	    break;
	default:
	    usage();
	}
    }
    if (conn == 0 || optind != argc)
	usage();
    if (smfi_setconn((char *) conn) == MI_FAILURE
	|| smfi_settimeout(timeout) == MI_FAILURE
	|| (backlog > 0 && smfi_setbacklog(backlog) == MI_FAILURE)
	|| smfi_register(desc) == MI_FAILURE) {
	fprintf(stderr, "sg-nullmilter: cannot set up libmilter for %s\n",
		conn);
	return (1);
    }
    if (smfi_opensocket(1) == MI_FAILURE) {
	fprintf(stderr, "sg-nullmilter: cannot listen on %s\n", conn);
	return (1);
    }
    if (strncmp(conn, "unix:", 5) == 0 || strncmp(conn, "local:", 6) == 0)
	(void) chmod(strchr(conn, ':') + 1, (mode_t) mode);
    rc = smfi_main();
    if (counting)
	fprintf(stderr, "sg-nullmilter: connect=%lu envfrom=%lu envrcpt=%lu "
		"eom=%lu abort=%lu close=%lu\n", atomic_load(&n_connect),
		atomic_load(&n_envfrom), atomic_load(&n_envrcpt),
		atomic_load(&n_eom), atomic_load(&n_abort),
		atomic_load(&n_close));
    return (rc == MI_SUCCESS ? 0 : 1);
}
