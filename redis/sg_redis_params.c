/*
 * NAME
 *	sg_redis_params 3
 * SUMMARY
 *	what the Redis module does without hiredis
 * SYNOPSIS
 *	#include "sg_redis_params.h"
#include "sg_redis_int.h"
 * DESCRIPTION
 *	Parsing of the [redis] address and the sentinel list, the SHA1 of a
 *	script, the password file, the clock and SIGPIPE handling. None of
 *	this talks to Redis: the hiredis layer is redis/sg_redis.c alone,
 *	the only file that includes hiredis.
 * DIAGNOSTICS
 *	Errors are written into the caller's buffer, one line.
 */
#include <sys/time.h>
#include <sys/un.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "sg_config.h"
#include "sg_redis.h"
#include "sg_redis_params.h"
#include "sg_redis_int.h"

/* sg_redis_seterr - format a one-line error into the caller's buffer */
void    sg_redis_seterr(char *err, size_t errlen, const char *fmt,...)
{
    va_list ap;

    if (err == 0 || errlen == 0)
	return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* sg_redis_now - monotonic time in nanoseconds: outages must not follow NTP */
long long sg_redis_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ((long long) ts.tv_sec * 1000000000LL + ts.tv_nsec);
}

/* sg_redis_ms_tv - milliseconds as a struct timeval */
struct timeval sg_redis_ms_tv(unsigned long ms)
{
    struct timeval tv;

    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return (tv);
}

/* sg_redis_strndup - copy len bytes and a NUL; NULL when memory is short */
char   *sg_redis_strndup(const char *s, size_t len)
{
    char   *p;

    if ((p = malloc(len + 1)) == 0)
	return (0);
    memcpy(p, s, len);
    p[len] = 0;
    return (p);
}

/* sg_redis_sigpipe_block - block SIGPIPE in this thread while using a socket */
int     sg_redis_sigpipe_block(sigset_t *old)
{
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    if (pthread_sigmask(SIG_BLOCK, &set, old) != 0)
	return (0);
    /* Already blocked by the caller: the caller owns any pending one. */
    return (!sigismember(old, SIGPIPE));
}

/* sg_redis_sigpipe_restore - discard a SIGPIPE we caused, restore the mask */
void    sg_redis_sigpipe_restore(int blocked, int broke, const sigset_t *old)
{
    sigset_t set;
    sigset_t pending;
    struct timespec zero = {0, 0};
    int     saved = errno;

    if (!blocked)
	return;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    /* Only a failed write raises SIGPIPE: spare the syscall otherwise. */
    if (broke && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE))
	while (sigtimedwait(&set, 0, &zero) < 0 && errno == EINTR)
	     /* void */ ;
    pthread_sigmask(SIG_SETMASK, old, 0);
    errno = saved;
}

/* parse_port - a decimal port 1..65535, nothing else */
static int parse_port(const char *s)
{
    long    port = 0;

    if (*s == 0)
	return (-1);
    for (; *s; s++) {
	if (!isdigit((unsigned char) *s))
	    return (-1);
	port = port * 10 + (*s - '0');
	if (port > 65535)
	    return (-1);
    }
    return (port > 0 ? (int) port : -1);
}

/* sg_redis_parse_address - split unix:/path, host:port or [v6]:port */
int     sg_redis_parse_address(const char *addr, struct sg_redis_addr *out,
			               char *err, size_t errlen)
{
    const char *colon;
    const char *host;
    size_t  hostlen;
    struct sockaddr_un sun;

    if (addr == 0 || *addr == 0) {
	sg_redis_seterr(err, errlen, "redis address is empty: expected "
		  "unix:/path, host:port or [v6]:port");
	return (-1);
    }
    if (strncmp(addr, "unix:", 5) == 0) {
	if (addr[5] != '/') {
	    sg_redis_seterr(err, errlen, "redis address \"%s\": the socket path "
		      "after unix: must be absolute", addr);
	    return (-1);
	}
	if (strlen(addr + 5) >= sizeof(sun.sun_path)) {
	    sg_redis_seterr(err, errlen, "redis address \"%s\": socket path "
		      "longer than %zu bytes", addr, sizeof(sun.sun_path) - 1);
	    return (-1);
	}
	if ((out->path = strdup(addr + 5)) == 0)
	    goto nomem;
	return (0);
    }
    if (addr[0] == '[') {
	const char *close = strchr(addr, ']');

	if (close == 0 || close == addr + 1 || close[1] != ':') {
	    sg_redis_seterr(err, errlen, "redis address \"%s\": expected "
		      "[v6address]:port", addr);
	    return (-1);
	}
	host = addr + 1;
	hostlen = close - host;
	colon = close + 1;
    } else {
	if ((colon = strrchr(addr, ':')) == 0) {
	    sg_redis_seterr(err, errlen, "redis address \"%s\": expected "
		      "unix:/path, host:port or [v6]:port", addr);
	    return (-1);
	}
	if (memchr(addr, ':', colon - addr) != 0) {
	    sg_redis_seterr(err, errlen, "redis address \"%s\": write an IPv6 "
		      "address in brackets, as [::1]:6379", addr);
	    return (-1);
	}
	host = addr;
	hostlen = colon - addr;
	if (hostlen == 0) {
	    sg_redis_seterr(err, errlen, "redis address \"%s\": host is missing",
		      addr);
	    return (-1);
	}
    }
    if ((out->port = parse_port(colon + 1)) < 0) {
	sg_redis_seterr(err, errlen, "redis address \"%s\": port must be a "
		  "number from 1 to 65535", addr);
	return (-1);
    }
    for (size_t i = 0; i < hostlen; i++) {
	if (isspace((unsigned char) host[i]) || host[i] == '/') {
	    sg_redis_seterr(err, errlen, "redis address \"%s\": bad host name",
		      addr);
	    return (-1);
	}
    }
    if ((out->host = sg_redis_strndup(host, hostlen)) == 0)
	goto nomem;
    return (0);

nomem:
    sg_redis_seterr(err, errlen, "redis address \"%s\": out of memory", addr);
    return (-1);
}

/* sg_redis_library - a script as a Functions library; see the header */
char   *sg_redis_library(const char *src, char *name)
{
    static const char head[] = "#!lua name=%s\n";
    static const char tail[] = "\nredis.register_function('%s', sg_entry)\n";
    char    sha[SG_SHA1_HEX];
    size_t  len;
    char   *out;
    int     n;

    if (sg_redis_sha1_hex(src, sha) < 0)
	return (0);
    snprintf(name, SG_FNAME_MAX, "sg_%s", sha);
    len = strlen(src) + 2 * strlen(name) + sizeof(head) + sizeof(tail);
    if ((out = malloc(len)) == 0)
	return (0);
    n = snprintf(out, len, head, name);
    memcpy(out + n, src, strlen(src));
    snprintf(out + n + strlen(src), len - n - strlen(src), tail, name);
    return (out);
}

/* sg_redis_sha1_hex - the SHA1 Redis will file a script under */
int     sg_redis_sha1_hex(const char *src, char *hex)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    unsigned int i;

    /* SHA1() is deprecated in OpenSSL 3; the EVP call is the same hash. */
    if (EVP_Digest(src, strlen(src), md, &mdlen, EVP_sha1(), 0) != 1
	|| mdlen != 20)
	return (-1);
    for (i = 0; i < mdlen; i++)
	snprintf(hex + 2 * i, 3, "%02x", md[i]);
    return (0);
}

/* sg_redis_addr_free - release what sg_redis_parse_address() allocated */
void    sg_redis_addr_free(struct sg_redis_addr *a)
{
    if (a == 0)
	return;
    free(a->host);
    free(a->path);
    a->host = a->path = 0;
    a->port = 0;
}

/*
 * sg_redis_parse_sentinels - "host:port, host:port ..." (commas and/or
 * blanks between) into out[0..max-1]; returns how many, or -1 with err.
 * Unix sockets are refused: a sentinel on the same host is no quorum.
 */
int     sg_redis_parse_sentinels(const char *list, struct sg_redis_addr *out,
				         int max, char *err, size_t errlen)
{
    const char *p = list ? list : "";
    char    one[300];
    size_t  len;
    int     n = 0;

    for (;;) {
	p += strspn(p, ", \t");
	if (*p == 0)
	    break;
	len = strcspn(p, ", \t");
	if (len >= sizeof(one) || n >= max) {
	    sg_redis_seterr(err, errlen, "redis sentinels: %s",
			    n >= max ? "too many (at most 16)" :
			    "an address is too long");
	    goto fail;
	}
	memcpy(one, p, len);
	one[len] = 0;
	p += len;
	if (strncmp(one, "unix:", 5) == 0) {
	    sg_redis_seterr(err, errlen, "redis sentinels: \"%s\": sentinels "
			    "are reached by host:port", one);
	    goto fail;
	}
	memset(&out[n], 0, sizeof(out[n]));
	if (sg_redis_parse_address(one, &out[n], err, errlen) < 0)
	    goto fail;
	n++;
    }
    if (n == 0) {
	sg_redis_seterr(err, errlen, "redis sentinels: the list is empty");
	return (-1);
    }
    return (n);

fail:
    while (n > 0)
	sg_redis_addr_free(&out[--n]);
    return (-1);
}

/* sg_redis_read_password - first line of a file, for [redis] password_file */
int     sg_redis_read_password(const char *path, char *buf, size_t len,
			               char *err, size_t errlen)
{
    FILE   *fp;
    size_t  n;
    int     ch;

    if (buf == 0 || len < 2) {
	sg_redis_seterr(err, errlen, "%s: no room for a password", path);
	return (-1);
    }
    buf[0] = 0;
    if ((fp = fopen(path, "re")) == 0) {
	sg_redis_seterr(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	return (-1);
    }
    if (fgets(buf, len, fp) == 0) {
	if (ferror(fp))
	    sg_redis_seterr(err, errlen, "%s: cannot read: %s", path,
		      strerror(errno));
	else
	    sg_redis_seterr(err, errlen, "%s: file is empty", path);
	fclose(fp);
	buf[0] = 0;
	return (-1);
    }
    n = strlen(buf);
    if (n > 0 && buf[n - 1] != '\n') {
	/* The buffer filled up: only an end of line may follow. */
	if ((ch = getc(fp)) == '\r')
	    ch = getc(fp);
	if (ch != EOF && ch != '\n') {
	    /* A truncated password would fail AUTH misleadingly. */
	    explicit_bzero(buf, len);
	    sg_redis_seterr(err, errlen, "%s: first line is longer than %zu bytes",
		      path, len - 1);
	    fclose(fp);
	    return (-1);
	}
    }
    fclose(fp);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
	buf[--n] = 0;
    if (n == 0) {
	sg_redis_seterr(err, errlen, "%s: the first line is empty", path);
	return (-1);
    }
    return (0);
}

/* strdup_opt - copy a string that may be NULL or empty (then NULL) */
static int strdup_opt(char **dst, const char *src)
{
    *dst = 0;
    if (src == 0 || *src == 0)
	return (0);
    return ((*dst = strdup(src)) == 0 ? -1 : 0);
}

/* set_target - the one address, or the sentinels and the master name */
static int set_target(struct sg_redis *pool,
			      const struct sg_redis_params *params,
			      char *err, size_t errlen)
{
    int     have_addr = params->address && *params->address;
    int     have_sent = params->sentinels && *params->sentinels;
    size_t  len;

    if (!have_sent && params->address)
	have_addr = 1;			/* "" gets the parser's message */
    if (have_addr == have_sent) {
	sg_redis_seterr(err, errlen, "redis: give either an address or "
			"sentinels and a master name, %s",
			have_addr ? "not both" : "none was given");
	return (-1);
    }
    if (have_addr) {
	if (sg_redis_parse_address(params->address, &pool->fixed, err,
				   errlen) < 0)
	    return (-1);
	if ((pool->address = strdup(params->address)) == 0)
	    goto nomem;
	return (0);
    }
    if (params->master_name == 0 || *params->master_name == 0) {
	sg_redis_seterr(err, errlen, "redis: sentinels need a master name");
	return (-1);
    }
    if ((pool->nsentinel = sg_redis_parse_sentinels(params->sentinels,
						    pool->sentinel,
						    SG_SENTINELS_MAX, err,
						    errlen)) < 0) {
	pool->nsentinel = 0;
	return (-1);
    }
    len = strlen(params->master_name) + 32;
    if ((pool->master_name = strdup(params->master_name)) == 0
	|| (pool->address = malloc(len)) == 0)
	goto nomem;
    snprintf(pool->address, len, "master %s", params->master_name);
    return (0);

nomem:
    sg_redis_seterr(err, errlen, "redis: out of memory");
    return (-1);
}

/* sg_redis_new - make a pool; connects lazily; NULL with err on bad params */
struct sg_redis *sg_redis_new(const struct sg_redis_params *params,
			              char *err, size_t errlen)
{
    struct sg_redis *pool;
    int     i;

    if (params == 0) {
	sg_redis_seterr(err, errlen, "redis: no parameters");
	return (0);
    }
    if (params->timeout_ms == 0 || params->connect_timeout_ms == 0) {
	/* Zero would mean "wait forever" to hiredis: never in a milter. */
	sg_redis_seterr(err, errlen, "redis: %s must be greater than 0 ms",
		  params->timeout_ms == 0 ? "timeout" : "connect timeout");
	return (0);
    }
    if (params->timeout_ms > 3600000 || params->connect_timeout_ms > 3600000) {
	sg_redis_seterr(err, errlen, "redis: timeouts over one hour make no sense");
	return (0);
    }
    if (params->db < 0) {
	sg_redis_seterr(err, errlen, "redis: database number %d is negative",
		  params->db);
	return (0);
    }
    if (params->max_idle < 0) {
	sg_redis_seterr(err, errlen, "redis: max_idle %d is negative",
		  params->max_idle);
	return (0);
    }
    if ((pool = calloc(1, sizeof(*pool))) == 0) {
	sg_redis_seterr(err, errlen, "redis: out of memory");
	return (0);
    }
    if (pthread_mutex_init(&pool->lock, 0) != 0) {
	free(pool);
	sg_redis_seterr(err, errlen, "redis: cannot create a mutex");
	return (0);
    }
    {
	struct sigaction sa;

	pool->sigpipe_ignored = sigaction(SIGPIPE, 0, &sa) == 0
	    && sa.sa_handler == SIG_IGN;
    }
    if (set_target(pool, params, err, errlen) < 0)
	goto fail;
    pool->db = params->db;
    pool->timeout_ms = params->timeout_ms;
    pool->connect_timeout_ms = params->connect_timeout_ms;
    pool->max_idle = params->max_idle ? params->max_idle : SG_REDIS_IDLE_DEFAULT;
    pool->log = params->log;
    pool->backoff_ms = SG_BACKOFF_MIN_MS;
    if ((pool->idle = calloc(pool->max_idle, sizeof(*pool->idle))) == 0
	|| strdup_opt(&pool->password, params->password) < 0
	|| strdup_opt(&pool->username, params->username) < 0
	|| strdup_opt(&pool->sentinel_password,
			 params->sentinel_password) < 0) {
	sg_redis_seterr(err, errlen, "redis: out of memory");
	goto fail;
    }
    if (pool->username && pool->password == 0) {
	sg_redis_seterr(err, errlen, "redis: user %s needs a password",
			pool->username);
	goto fail;
    }
    for (i = 0; i < SG_SCRIPT_COUNT; i++) {
	if (sg_script_source[i] == 0
	    || (pool->library[i] = sg_redis_library(sg_script_source[i],
						    pool->fname[i])) == 0) {
	    sg_redis_seterr(err, errlen, "redis: cannot make script %s a "
			    "library (out of memory?)", sg_script_name[i]);
	    goto fail;
	}
    }
    return (pool);

fail:
    sg_redis_free(pool);
    return (0);
}

/* sg_redis_store - the pool as the engine's store */
struct sg_store sg_redis_store(struct sg_redis *pool)
{
    struct sg_store store;

    store.eval = sg_redis_eval;
    store.eval_many = sg_redis_eval_many;
    store.ctx = pool;
    return (store);
}

/*
 * sg_redis_params_config - [redis] of a configuration as pool parameters,
 * reading the password files into the caller's buffers (which the caller
 * wipes once the pool is made). The daemon, the feed and replay -R share
 * it, so all three reach Redis the same way.
 */
int     sg_redis_params_config(const struct sg_config *cfg,
			               struct sg_redis_params *rp,
			               char *pw, size_t pwlen, char *spw,
			               size_t spwlen, char *err, size_t errlen)
{
    memset(rp, 0, sizeof(*rp));
    pw[0] = spw[0] = 0;
    if (cfg->redis_password_file[0]
	&& sg_redis_read_password(cfg->redis_password_file, pw, pwlen,
				  err, errlen) < 0)
	return (-1);
    if (cfg->redis_sentinel_password_file[0]
	&& sg_redis_read_password(cfg->redis_sentinel_password_file, spw,
				  spwlen, err, errlen) < 0)
	return (-1);
    if (cfg->redis_sentinels[0]) {
	rp->sentinels = cfg->redis_sentinels;
	rp->master_name = cfg->redis_master_name;
	rp->sentinel_password = spw;
    } else {
	rp->address = cfg->redis_address;
    }
    rp->username = cfg->redis_username;
    rp->password = pw;
    rp->db = cfg->redis_db;
    rp->timeout_ms = cfg->redis_timeout_ms;
    rp->connect_timeout_ms = cfg->redis_connect_timeout_ms;
    return (0);
}
