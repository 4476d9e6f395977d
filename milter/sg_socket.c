/*
 * NAME
 *	sg_socket 3
 * SUMMARY
 *	owner and mode of the milter's unix socket, without following links
 * DESCRIPTION
 *	See sg_socket.h. chmod() has no descriptor form for an O_PATH
 *	descriptor, so the mode is set through /proc/self/fd/N, which names
 *	the inode that was opened, never the path again (what glibc's
 *	fchmodat(AT_SYMLINK_NOFOLLOW) does too).
 * DIAGNOSTICS
 *	Errors go into the caller's buffer: "PATH: not a socket (a symbolic
 *	link or another file was put in its place)" and the like.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sg_socket.h"

/* sg_socket_secure - chown and chmod the socket we own, never a link */
int     sg_socket_secure(const char *path, uid_t uid, gid_t gid, mode_t mode,
			         char *err, size_t errlen)
{
    struct stat st;
    char    proc[64];
    int     fd;
    int     rc = -1;

    if ((fd = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC)) < 0) {
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return (-1);
    }
    if (fstat(fd, &st) < 0) {
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
    } else if (!S_ISSOCK(st.st_mode)) {
	snprintf(err, errlen, "%s: not a socket (a symbolic link or another "
		 "file was put in its place): left alone", path);
    } else if (st.st_uid != geteuid()) {
	snprintf(err, errlen, "%s: socket owned by uid %ld, not by us "
		 "(uid %ld): another process replaced it; left alone", path,
		 (long) st.st_uid, (long) geteuid());
    } else if ((uid != (uid_t) -1 || gid != (gid_t) -1)
	       && fchownat(fd, "", uid, gid, AT_EMPTY_PATH) < 0) {
	snprintf(err, errlen, "chown %s: %s", path, strerror(errno));
    } else {
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (chmod(proc, mode) < 0)
	    snprintf(err, errlen, "chmod %s: %s", path, strerror(errno));
	else
	    rc = 0;
    }
    close(fd);
    return (rc);
}
