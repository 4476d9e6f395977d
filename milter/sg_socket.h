/*
 * NAME
 *	sg_socket 3h
 * SUMMARY
 *	owner and mode of the milter's unix socket, without following links
 * DESCRIPTION
 *	The milter socket is bound as root, then given its owner and mode
 *	before privileges are dropped. Its directory may belong to the
 *	unprivileged user (Postfix's chroot layout), who could swap the
 *	socket for a symbolic link to any file between the bind and the
 *	chown. sg_socket_secure() therefore never acts on the path: it opens
 *	what is there without following a link (O_PATH | O_NOFOLLOW), checks
 *	that it is a socket owned by this process's user (the one just
 *	bound, not one the other user made), and changes owner and mode
 *	through that descriptor.
 */
#ifndef SG_SOCKET_H
#define SG_SOCKET_H

#include <stddef.h>
#include <sys/types.h>

/*
 * sg_socket_secure - give the socket at path owner uid (-1: keep), group
 * gid (-1: keep) and mode, acting only on a socket this process owns.
 * Returns 0, or -1 with err set (nothing changed).
 */
extern int sg_socket_secure(const char *path, uid_t uid, gid_t gid,
			            mode_t mode, char *err, size_t errlen);

#endif
