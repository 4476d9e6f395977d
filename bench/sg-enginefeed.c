/*
 * NAME
 *	sg-enginefeed 1
 * SUMMARY
 *	engine.lua calls for many logins, as a redis-cli --pipe stream
 * SYNOPSIS
 *	sg-enginefeed -c CONFIG [-n LOGINS] [-K FIRST] [-l PATTERN]
 *		[-r RCPTS] [-x REJECTED] [-i] [-b] [-a] [-t NOW]
 *		[-s STEP] | redis-cli -s SOCKET --pipe
 * DESCRIPTION
 *	Writes, in the Redis protocol, FUNCTION LOAD of the compiled-in
 *	engine.lua as the daemon makes it a library, then for each of LOGINS logins (PATTERN, default
 *	user%d@example.net, numbered from FIRST) one message as the daemon
 *	would send it: (with -b) the begin call, RCPTS recipients decided by
 *	sg_engine_rcpt (REJECTED of them refused by the MTA), and the
 *	commit call. The arguments are built by the daemon's own code
 *	(lib/sg_engine.c on the configuration CONFIG): only the store is
 *	replaced, by one that writes the FCALL command instead of sending
 *	it and answers begin as "ok, default tier, no limit".
 *
 *	Without -i the commit carries no queue id, so only the account's
 *	counters hash is written: the memory of one active login. With -i
 *	each message has a queue id, and commit also writes the
 *	subguard:qid:QID key the log feed needs (one per message).
 *
 *	With -a each login's mail comes from a client address of its own
 *	network (10.x.y.z, one /24 for 256 logins), so that commit also
 *	writes the account's history profile, as the daemon does.
 *
 *	The clock starts at NOW (default: the wall clock) and moves STEP
 *	seconds per message (default 0.001).
 *
 *	This is how the memory benchmark (bench/run-memory.sh) creates a
 *	million active logins in seconds instead of driving a million
 *	milter sessions.
 * DIAGNOSTICS
 *	Exit status 2 on bad usage or a configuration error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sg_bench.h"
#include "sg_config.h"
#include "sg_engine.h"
#include "sg_redis_params.h"
#include "sg_store.h"

static char fname[SG_FNAME_MAX];

/* resp_bulk - one bulk string */
static void resp_bulk(const char *s, size_t n)
{
    printf("$%zu\r\n", n);
    fwrite(s, 1, n, stdout);
    fputs("\r\n", stdout);
}

/* fake_eval - write the call as FCALL; answer like a fresh account */
static int fake_eval(void *ctx, enum sg_script script, int nkeys, int argc,
		             const char *const *argv, const size_t *argvlen,
		             struct sg_reply *reply, char *err, size_t errlen)
{
    static const char *const begin[SG_BEGIN_NREPLY] = {
	"ok", "default", "", "-1", "0", "0", "0", "0", "0", "0", "", "0", "0", "-1",
	"-1", "0", "0", "0",
    };
    static const char *const commit[4] = {"accept", "0", "", "0"};
    const char *const *canned;
    char    nk[16];
    int     i, n;
    int    *emit_begin = ctx;

    (void) script;
    (void) err;
    (void) errlen;
    if (strcmp(argv[nkeys], "begin") == 0)
	canned = begin, n = SG_BEGIN_NREPLY;
    else
	canned = commit, n = 4;
    if (canned == commit || *emit_begin) {
	snprintf(nk, sizeof(nk), "%d", nkeys);
	printf("*%d\r\n", argc + 3);
	resp_bulk("FCALL", 5);
	resp_bulk(fname, strlen(fname));
	resp_bulk(nk, strlen(nk));
	for (i = 0; i < argc; i++)
	    resp_bulk(argv[i], argvlen ? argvlen[i] : strlen(argv[i]));
    }
    if ((reply->v = calloc(n, sizeof(char *))) == 0)
	sg_die("out of memory");
    for (i = 0; i < n; i++)
	if ((reply->v[i] = strdup(canned[i])) == 0)
	    sg_die("out of memory");
    reply->n = n;
    return (SG_STORE_OK);
}

/* usage - how to call */
static void usage(void)
{
    fprintf(stderr, "usage: sg-enginefeed -c CONFIG [-n LOGINS] [-K FIRST] "
	    "[-l PATTERN] [-r RCPTS]\n"
	    "         [-x REJECTED] [-i] [-b] [-a] [-t NOW] [-s STEP]\n");
    exit(2);
}

int     main(int argc, char **argv)
{
    const char *conf = 0, *pattern = "user%d@example.net";
    long    logins = 1000, first = 0, i;
    int     rcpts = 1, rejected = 0, with_qid = 0, emit_begin = 0, ch, j;
    int     with_client = 0;
    char    client[32];
    double  now = (double) time(0), step = 0.001;
    static struct sg_config cfg;
    struct sg_engine *e;
    struct sg_store store = {0, 0, 0};
    struct sg_msg m;
    char    err[1024], login[256], qid[24];
    char   *lib;
    static char obuf[1 << 20];

    sg_progname = "sg-enginefeed";
    while ((ch = getopt(argc, argv, "abc:iK:l:n:r:s:t:x:")) != -1) {
	switch (ch) {
	case 'a':
	    with_client = 1;
	    break;
	case 'b':
	    emit_begin = 1;
	    break;
	case 'c':
	    conf = optarg;
	    break;
	case 'i':
	    with_qid = 1;
	    break;
	case 'K':
	    first = sg_atol_range("-K", optarg, 0, 2000000000);
	    break;
	case 'l':
	    pattern = optarg;
	    break;
	case 'n':
	    logins = sg_atol_range("-n", optarg, 1, 100000000);
	    break;
	case 'r':
	    rcpts = (int) sg_atol_range("-r", optarg, 1, 1000);
	    break;
	case 's':
	    step = sg_atof_range("-s", optarg, 0, 86400);
	    break;
	case 't':
	    now = sg_atof_range("-t", optarg, 0, 1e11);
	    break;
	case 'x':
	    rejected = (int) sg_atol_range("-x", optarg, 0, 1000);
	    break;
	default:
	    usage();
	}
    }
    if (conf == 0 || optind != argc || rejected > rcpts)
	usage();
    {
	const char *p = strchr(pattern, '%');

	if (p == 0 || p[1] != 'd' || strchr(p + 2, '%'))
	    sg_die("-l %s: want exactly one %%d", pattern);
    }
    if (sg_config_load(conf, &cfg, err, sizeof(err)) < 0)
	sg_die("%s", err);
    if ((e = sg_engine_new(&cfg)) == 0)
	sg_die("out of memory");
    if ((lib = sg_redis_library(sg_script_source[SG_SCRIPT_ENGINE],
				fname)) == 0)
	sg_die("out of memory");
    setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
    store.eval = fake_eval;
    store.ctx = &emit_begin;

    printf("*4\r\n");
    resp_bulk("FUNCTION", 8);
    resp_bulk("LOAD", 4);
    resp_bulk("REPLACE", 7);
    resp_bulk(lib, strlen(lib));
    free(lib);
    for (i = 0; i < logins; i++) {
	snprintf(login, sizeof(login), pattern, (int) (first + i));
	snprintf(client, sizeof(client), "10.%ld.%ld.%ld",
		 (first + i) >> 16 & 255, (first + i) >> 8 & 255,
		 (first + i) & 255);
	if (sg_engine_begin_from(e, &store, &m, login,
				 with_client ? client : 0, now, err,
				 sizeof(err)) != SG_ACT_CONTINUE)
	    sg_die("begin for %s: %s", login, err[0] ? err : "refused");
	for (j = 0; j < rcpts; j++)
	    (void) sg_engine_rcpt(&m, j >= rcpts - rejected, 0);
	snprintf(qid, sizeof(qid), "%010lX",
		 ((unsigned long) (first + i) * 2654435761UL) & 0xffffffffffUL);
	(void) sg_engine_commit(e, &store, &m, with_qid ? qid : "", 1, now,
				err, sizeof(err));
	now += step;
    }
    if (fflush(stdout) != 0)
	sg_die("write error");
    sg_engine_free(e);
    return (0);
}
