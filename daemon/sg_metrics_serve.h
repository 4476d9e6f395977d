/*
 * NAME
 *	sg_metrics_serve 3h
 * SUMMARY
 *	the metrics over HTTP (libmicrohttpd), and the statistics line
 * DESCRIPTION
 *	Two steps, because a daemon forks: sg_metrics_listen() binds the
 *	address before the process detaches (so "address in use" is said on
 *	standard error and the start fails), sg_metrics_serve() starts
 *	libmicrohttpd's own thread on that socket after. Only GET (and
 *	HEAD) /metrics is answered; another path is 404, another method 405.
 *
 *	sg_metrics_stats() starts a thread that calls line() every interval
 *	seconds: the periodic statistics line for syslog.
 * DIAGNOSTICS
 *	The functions return 0 or a socket, or -1 with what failed in err.
 */
#ifndef SG_METRICS_SERVE_H
#define SG_METRICS_SERVE_H

#include <stddef.h>

#include "sg_metrics.h"

/* sg_metrics_listen - bind and listen on HOST:PORT; the socket */
extern int sg_metrics_listen(const char *hostport, char *err, size_t errlen);

/* sg_metrics_serve - answer scrapes of m on a socket from sg_metrics_listen */
extern int sg_metrics_serve(int sock, struct sg_metrics *m, char *err,
			            size_t errlen);

/* sg_metrics_serve_stop - stop answering (the socket is closed) */
extern void sg_metrics_serve_stop(void);

/* sg_metrics_stats - call line() every interval seconds, on a thread */
extern int sg_metrics_stats(unsigned long interval, void (*line) (void));

#endif
