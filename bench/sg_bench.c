/*
 * NAME
 *	sg_bench 3
 * SUMMARY
 *	clocks, latency samples and loopback sockets for the load generators
 * DESCRIPTION
 *	See sg_bench.h.
 * DIAGNOSTICS
 *	sg_die() for bad options; socket errors come back in a buffer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "sg_bench.h"

const char *sg_progname = "sg-bench";

/* sg_die - print "PROG: message" and exit 2 */
void    sg_die(const char *fmt,...)
{
    va_list ap;

    fprintf(stderr, "%s: ", sg_progname);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(2);
}

/* sg_atol_range - a decimal option value in [min, max], or die */
long    sg_atol_range(const char *opt, const char *s, long min, long max)
{
    char   *end;
    long    v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
	sg_die("%s: want a whole number from %ld to %ld, not \"%s\"", opt,
	       min, max, s);
    return (v);
}

/* sg_atof_range - a decimal option value in [min, max], or die */
double  sg_atof_range(const char *opt, const char *s, double min, double max)
{
    char   *end;
    double  v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= min && v <= max))
	sg_die("%s: want a number from %g to %g, not \"%s\"", opt, min, max,
	       s);
    return (v);
}

/* sg_rng - xorshift64* */
uint64_t sg_rng(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return (x * 0x2545f4914f6cdd1dULL);
}

/* sg_now_ns - monotonic clock in nanoseconds */
int64_t sg_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((int64_t) ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

/* sg_lat_add - record one latency in nanoseconds */
void    sg_lat_add(struct sg_lat *l, int64_t ns)
{
    uint32_t *nv;

    if (l->n == l->cap) {
	size_t  cap = l->cap ? 2 * l->cap : 4096;

	if (cap > SG_LAT_CAP)
	    cap = SG_LAT_CAP;
	if (l->n >= cap || (nv = realloc(l->v, cap * sizeof(*nv))) == 0) {
	    l->dropped++;
	    return;
	}
	l->v = nv;
	l->cap = cap;
    }
    if (ns < 0)
	ns = 0;
    l->v[l->n++] = ns > UINT32_MAX ? UINT32_MAX : (uint32_t) ns;
    l->sorted = 0;
}

/* cmp_u32 - qsort order */
static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;

    return (x < y ? -1 : x > y);
}

/* sg_lat_pct - the p-th percentile in microseconds (nearest rank) */
double  sg_lat_pct(struct sg_lat *l, double p)
{
    size_t  rank;

    if (l->n == 0)
	return (0);
    if (!l->sorted) {
	qsort(l->v, l->n, sizeof(l->v[0]), cmp_u32);
	l->sorted = 1;
    }
    rank = (size_t) (p / 100.0 * l->n + 0.999999);
    if (rank < 1)
	rank = 1;
    if (rank > l->n)
	rank = l->n;
    return (l->v[rank - 1] / 1000.0);
}

/* sg_lat_mean - mean in microseconds */
double  sg_lat_mean(const struct sg_lat *l)
{
    double  sum = 0;
    size_t  i;

    if (l->n == 0)
	return (0);
    for (i = 0; i < l->n; i++)
	sum += l->v[i];
    return (sum / l->n / 1000.0);
}

/* sg_lat_free - release the samples */
void    sg_lat_free(struct sg_lat *l)
{
    free(l->v);
    l->v = 0;
    l->n = l->cap = 0;
}

/* sg_lat_table - print a table of stages */
void    sg_lat_table(struct sg_lat *s, int n)
{
    int     i;

    printf("%-8s %10s %9s %9s %9s %9s %9s %9s   (microseconds)\n", "stage",
	   "samples", "p50", "p90", "p99", "p99.9", "max", "mean");
    for (i = 0; i < n; i++) {
	if (s[i].n == 0)
	    continue;
	printf("%-8s %10zu %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f%s\n",
	       s[i].name, s[i].n, sg_lat_pct(&s[i], 50), sg_lat_pct(&s[i], 90),
	       sg_lat_pct(&s[i], 99), sg_lat_pct(&s[i], 99.9),
	       sg_lat_pct(&s[i], 100), sg_lat_mean(&s[i]),
	       s[i].dropped ? "  (samples capped)" : "");
    }
}

/* sg_lat_result - NAME_p50=... fields for the RESULT line */
void    sg_lat_result(struct sg_lat *l)
{
    printf(" %s_n=%zu %s_p50=%.1f %s_p90=%.1f %s_p99=%.1f %s_p999=%.1f"
	   " %s_max=%.1f %s_mean=%.1f", l->name, l->n,
	   l->name, sg_lat_pct(l, 50), l->name, sg_lat_pct(l, 90),
	   l->name, sg_lat_pct(l, 99), l->name, sg_lat_pct(l, 99.9),
	   l->name, sg_lat_pct(l, 100), l->name, sg_lat_mean(l));
}

/* A parsed connection spec. */
struct spec {
    int     family;			/* AF_UNIX, AF_INET, AF_INET6 */
    struct sockaddr_storage ss;
    socklen_t len;
};

/* parse_host_port - loopback host and port into sp */
static int parse_host_port(const char *host, size_t hlen, const char *port,
			           struct spec *sp, char *err, size_t errlen)
{
    char    h[64];
    char   *end;
    long    p;
    struct sockaddr_in *in4 = (struct sockaddr_in *) &sp->ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &sp->ss;

    if (hlen >= sizeof(h)) {
	snprintf(err, errlen, "host name too long");
	return (-1);
    }
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
	host++;
	hlen -= 2;
    }
    memcpy(h, host, hlen);
    h[hlen] = 0;
    if (strcmp(h, "localhost") == 0 || h[0] == 0)
	snprintf(h, sizeof(h), "127.0.0.1");
    errno = 0;
    p = strtol(port, &end, 10);
    if (errno || end == port || *end || p < 1 || p > 65535) {
	snprintf(err, errlen, "bad port \"%s\"", port);
	return (-1);
    }
    memset(&sp->ss, 0, sizeof(sp->ss));
    if (inet_pton(AF_INET, h, &in4->sin_addr) == 1) {
	if ((ntohl(in4->sin_addr.s_addr) >> 24) != 127) {
	    snprintf(err, errlen, "%s is not a loopback address: this tool "
		     "only loads 127.0.0.0/8, ::1 and unix sockets", h);
	    return (-1);
	}
	in4->sin_family = AF_INET;
	in4->sin_port = htons((uint16_t) p);
	sp->family = AF_INET;
	sp->len = sizeof(*in4);
	return (0);
    }
    if (inet_pton(AF_INET6, h, &in6->sin6_addr) == 1) {
	if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) {
	    snprintf(err, errlen, "%s is not a loopback address", h);
	    return (-1);
	}
	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons((uint16_t) p);
	sp->family = AF_INET6;
	sp->len = sizeof(*in6);
	return (0);
    }
    snprintf(err, errlen, "\"%s\": give a numeric loopback address", h);
    return (-1);
}

/* parse_spec - any of the accepted spellings into sp */
static int parse_spec(const char *s, struct spec *sp, char *err, size_t errlen)
{
    const char *path = 0, *at, *colon;
    struct sockaddr_un *un = (struct sockaddr_un *) &sp->ss;

    if (strncmp(s, "unix:", 5) == 0)
	path = s + 5;
    else if (strncmp(s, "local:", 6) == 0)
	path = s + 6;
    else if (s[0] == '/')
	path = s;
    if (path) {
	if (strlen(path) >= sizeof(un->sun_path)) {
	    snprintf(err, errlen, "socket path too long: %s", path);
	    return (-1);
	}
	memset(&sp->ss, 0, sizeof(sp->ss));
	un->sun_family = AF_UNIX;
	strcpy(un->sun_path, path);
	sp->family = AF_UNIX;
	sp->len = sizeof(*un);
	return (0);
    }
    if (strncmp(s, "inet:", 5) == 0 || strncmp(s, "inet6:", 6) == 0) {
	s = strchr(s, ':') + 1;
	if ((at = strchr(s, '@')) != 0) {
	    char    port[16];

	    /* libmilter: inet:PORT@HOST */
	    if ((size_t) (at - s) >= sizeof(port)) {
		snprintf(err, errlen, "bad port in \"%s\"", s);
		return (-1);
	    }
	    memcpy(port, s, at - s);
	    port[at - s] = 0;
	    return (parse_host_port(at + 1, strlen(at + 1), port, sp, err,
				    errlen));
	}
    }
    /* Postfix inet:HOST:PORT, or HOST:PORT */
    if ((colon = strrchr(s, ':')) == 0) {
	snprintf(err, errlen, "\"%s\": want unix:/path, inet:PORT@HOST or "
		 "HOST:PORT", s);
	return (-1);
    }
    return (parse_host_port(s, colon - s, colon + 1, sp, err, errlen));
}

/* sg_check_spec - whether a spec parses and is loopback/unix */
int     sg_check_spec(const char *spec, char *err, size_t errlen)
{
    struct spec sp;

    return (parse_spec(spec, &sp, err, errlen));
}

/* sg_connect_spec - start a non-blocking connect */
int     sg_connect_spec(const char *spec, char *err, size_t errlen)
{
    struct spec sp;
    int     fd, one = 1;

    if (parse_spec(spec, &sp, err, errlen) < 0)
	return (-1);
    if ((fd = socket(sp.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		     0)) < 0) {
	snprintf(err, errlen, "socket: %s", strerror(errno));
	return (-1);
    }
    if (sp.family != AF_UNIX)
	(void) setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *) &sp.ss, sp.len) < 0
	&& errno != EINPROGRESS) {
	snprintf(err, errlen, "connect %s: %s", spec, strerror(errno));
	close(fd);
	return (-1);
    }
    return (fd);
}
