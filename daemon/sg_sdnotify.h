/*
 * NAME
 *	sg_sdnotify 3h
 * SUMMARY
 *	tell systemd (Type=notify) where a daemon is in its life
 * SYNOPSIS
 *	#include "sg_sdnotify.h"
 * DESCRIPTION
 *	See sg_sdnotify.c.
 */
#ifndef SG_SDNOTIFY_H
#define SG_SDNOTIFY_H

extern void sg_sdnotify_ready(void);
extern void sg_sdnotify_reloading(void);
extern void sg_sdnotify_stopping(void);

#endif
