/*
 * NAME
 *	sg_metrics_serve 3
 * SUMMARY
 *	the metrics over HTTP (libmicrohttpd), and the statistics line
 * DESCRIPTION
 *	The HTTP side is libmicrohttpd (Debian's libmicrohttpd12), on its
 *	own internal thread with epoll: nothing of it runs on a milter or
 *	feed thread, and a scrape only reads atomics (and takes the commit
 *	and notify queues' locks for a moment to read their lengths).
 *
 *	The listener faces whoever can reach the address: connections are
 *	limited (SG_HTTP_CONNS) and timed out (SG_HTTP_TIMEOUT seconds), a
 *	request body is never read, and the only answer with content is the
 *	rendered registry. Threads made here block every signal, so the
 *	programs' own signal handling (subguard's reload on SIGHUP) keeps to
 *	the threads it was meant for.
 * DIAGNOSTICS
 *	See sg_metrics_serve.h.
 */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "sg_hostport.h"
#include "sg_metrics_serve.h"

#define SG_HTTP_CONNS	16		/* scrapers at once */
#define SG_HTTP_TIMEOUT	10		/* seconds a connection may idle */
#define SG_HTTP_BACKLOG	16
#define SG_PROM_TYPE	"text/plain; version=0.0.4; charset=utf-8"

static struct MHD_Daemon *httpd;

/* sg_metrics_listen - bind and listen on HOST:PORT; the socket */
int     sg_metrics_listen(const char *text, char *err, size_t errlen)
{
    struct sg_hostport hp;
    struct addrinfo hints, *res, *ai;
    char    port[8], why[128];
    int     fd = -1, rc, on = 1, saved = 0;

    if (sg_hostport_parse(text, &hp, why, sizeof(why)) < 0) {
	snprintf(err, errlen, "metrics address \"%s\": %s", text, why);
	return (-1);
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_ADDRCONFIG;
    snprintf(port, sizeof(port), "%u", hp.port);
    if ((rc = getaddrinfo(hp.host, port, &hints, &res)) != 0) {
	snprintf(err, errlen, "metrics address %s: %s", text,
		 gai_strerror(rc));
	return (-1);
    }
    for (ai = res; ai; ai = ai->ai_next) {
	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
			 ai->ai_protocol)) < 0) {
	    saved = errno;
	    continue;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0
	    && listen(fd, SG_HTTP_BACKLOG) == 0)
	    break;
	saved = errno;
	close(fd);
	fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
	snprintf(err, errlen, "cannot listen for metrics on %s: %s", text,
		 strerror(saved));
    return (fd);
}

/* answer - queue a response of status with text (copied) */
static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status,
			              const char *text, size_t len, int owned)
{
    struct MHD_Response *r;
    enum MHD_Result rc;

    r = MHD_create_response_from_buffer(len, (void *) text, owned ?
					MHD_RESPMEM_MUST_FREE :
					MHD_RESPMEM_PERSISTENT);
    if (r == 0) {
	if (owned)
	    free((void *) text);
	return (MHD_NO);
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, status == 200 ?
			    SG_PROM_TYPE : "text/plain; charset=utf-8");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
	MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    rc = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return (rc);
}

/* on_request - GET /metrics; anything else is refused */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
				          const char *url, const char *method,
				          const char *version,
				          const char *upload, size_t *upload_len,
				          void **state)
{
    static const char not_found[] = "not found: try /metrics\n";
    static const char not_allowed[] = "method not allowed\n";
    char   *text;
    size_t  len;

    (void) version;
    (void) upload;
    (void) state;
    *upload_len = 0;				/* a body is never read */
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
	return (answer(conn, MHD_HTTP_METHOD_NOT_ALLOWED, not_allowed,
		       sizeof(not_allowed) - 1, 0));
    if (strcmp(url, "/metrics") != 0)
	return (answer(conn, MHD_HTTP_NOT_FOUND, not_found,
		       sizeof(not_found) - 1, 0));
    if ((text = sg_metrics_render(cls, &len)) == 0)
	return (MHD_NO);
    return (answer(conn, MHD_HTTP_OK, text, len, 1));
}

/* blocked - every signal blocked in this thread; old gets the mask */
static void blocked(sigset_t *old)
{
    sigset_t all;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, old);
}

/* sg_metrics_serve - answer scrapes of m on sock */
int     sg_metrics_serve(int sock, struct sg_metrics *m, char *err,
			         size_t errlen)
{
    sigset_t old;

    blocked(&old);
    httpd = MHD_start_daemon(MHD_USE_EPOLL_INTERNAL_THREAD, 0, 0, 0,
			     on_request, m,
			     MHD_OPTION_LISTEN_SOCKET, (MHD_socket) sock,
			     MHD_OPTION_CONNECTION_LIMIT,
			     (unsigned) SG_HTTP_CONNS,
			     MHD_OPTION_CONNECTION_TIMEOUT,
			     (unsigned) SG_HTTP_TIMEOUT,
			     MHD_OPTION_END);
    pthread_sigmask(SIG_SETMASK, &old, 0);
    if (httpd == 0) {
	snprintf(err, errlen, "cannot start the metrics listener "
		 "(libmicrohttpd)");
	close(sock);
	return (-1);
    }
    return (0);
}

/* sg_metrics_serve_stop - stop answering */
void    sg_metrics_serve_stop(void)
{
    if (httpd)
	MHD_stop_daemon(httpd);
    httpd = 0;
}

struct stats {
    unsigned long interval;
    void    (*line) (void);
};

/* stats_thread - the statistics line, every interval */
static void *stats_thread(void *arg)
{
    struct stats st = *(struct stats *) arg;
    struct timespec ts;

    free(arg);
    for (;;) {
	ts.tv_sec = (time_t) st.interval;
	ts.tv_nsec = 0;
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
	     /* the rest */ ;
	st.line();
    }
    return (0);
}

/* sg_metrics_stats - call line() every interval seconds, on a thread */
int     sg_metrics_stats(unsigned long interval, void (*line) (void))
{
    struct stats *st;
    pthread_t tid;
    sigset_t old;
    int     rc;

    if (interval == 0)
	return (0);
    if ((st = malloc(sizeof(*st))) == 0)
	return (-1);
    st->interval = interval;
    st->line = line;
    blocked(&old);
    rc = pthread_create(&tid, 0, stats_thread, st);
    pthread_sigmask(SIG_SETMASK, &old, 0);
    if (rc != 0) {
	free(st);
	return (-1);
    }
    pthread_detach(tid);
    return (0);
}
