/*
 * NAME
 *	sg_sdnotify 3
 * SUMMARY
 *	tell systemd (Type=notify) where a daemon is in its life
 * SYNOPSIS
 *	#include "sg_sdnotify.h"
 *
 *	void	sg_sdnotify_ready(void)
 *	void	sg_sdnotify_reloading(void)
 *	void	sg_sdnotify_stopping(void)
 * DESCRIPTION
 *	The units in contrib/systemd are Type=notify: systemd counts a
 *	service as started only once it says READY=1, so units ordered
 *	after subguard (the MTA) start when the milter socket is there and
 *	privileges are dropped, not merely when the process exists.
 *	Around a SIGHUP reload the daemon says RELOADING=1, then READY=1,
 *	so "systemctl reload" reports the reload, and STOPPING=1 when it
 *	begins to stop.
 *
 *	These are thin calls of libsystemd's sd_notify(), kept in this one
 *	file so that the programs do not include systemd's headers. Without
 *	$NOTIFY_SOCKET (started by hand, by another supervisor, in tests)
 *	sd_notify() does nothing, and neither do these. The variable is
 *	kept: systemd ignores what a child (notify_command) might send, as
 *	long as the unit keeps the default NotifyAccess=main.
 * DIAGNOSTICS
 *	None: a supervisor that does not listen is not an error of ours;
 *	systemd itself reports a Type=notify service that never got ready.
 */
#include <time.h>

#include <systemd/sd-daemon.h>

#include "sg_sdnotify.h"

/* sg_sdnotify_ready - started (or reloaded): the socket is there */
void    sg_sdnotify_ready(void)
{
    (void) sd_notify(0, "READY=1\nSTATUS=Running");
}

/* sg_sdnotify_reloading - a SIGHUP reload begins */
void    sg_sdnotify_reloading(void)
{
    struct timespec ts;
    unsigned long long usec = 0;

    /*
     * MONOTONIC_USEC lets a systemd that knows Type=notify-reload (253
     * and later) tell this reload from an earlier one; older ones ignore
     * it.
     */
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0)
	usec = (unsigned long long) ts.tv_sec * 1000000ULL
	    + (unsigned long long) ts.tv_nsec / 1000ULL;
    (void) sd_notifyf(0, "RELOADING=1\nSTATUS=Reloading\nMONOTONIC_USEC=%llu",
		      usec);
}

/* sg_sdnotify_stopping - shutdown begins */
void    sg_sdnotify_stopping(void)
{
    (void) sd_notify(0, "STOPPING=1\nSTATUS=Stopping");
}
