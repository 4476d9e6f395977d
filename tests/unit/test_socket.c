/*
 * NAME
 *	test_socket - the milter socket's owner and mode, never through a link
 * DESCRIPTION
 *	The attack (issue 13, 3.): whoever holds the unprivileged uid owns
 *	the socket's directory and swaps the socket for a symbolic link to
 *	a root file between the bind and the chmod, so that root changes
 *	that file's mode. Each case plants what the attacker would and
 *	checks the file is untouched; the last one races a real swapper
 *	thread against bind + sg_socket_secure() many times.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "sg_socket.h"

static char dir[32], sock[64], victim[64], link_tmp[64];

/* bind_at - a listening unix socket at path, the fd (closed by caller) */
static int bind_at(const char *path)
{
    struct sockaddr_un sa;
    int     fd;

    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    if (bind(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
	close(fd);
	return (-1);
    }
    return (fd);
}

/* mode_of - permission bits of path (following links) */
static mode_t mode_of(const char *path)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    return (st.st_mode & 07777);
}

static int setup(void **state)
{
    FILE   *fp;

    (void) state;
    snprintf(dir, sizeof(dir), "/tmp/sgsock.XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sock, sizeof(sock), "%s/subguard.sock", dir);
    snprintf(victim, sizeof(victim), "%s/root-secret", dir);
    snprintf(link_tmp, sizeof(link_tmp), "%s/link.tmp", dir);
    assert_non_null(fp = fopen(victim, "w"));
    fputs("secret\n", fp);
    fclose(fp);
    assert_int_equal(chmod(victim, 0600), 0);
    return (0);
}

static int teardown(void **state)
{
    (void) state;
    unlink(sock);
    unlink(victim);
    unlink(link_tmp);
    rmdir(dir);
    return (0);
}

/* A socket we bound gets the mode (and, as root, the owner) asked for. */
static void test_real_socket(void **state)
{
    char    err[256];
    struct stat st;
    uid_t   uid = geteuid() == 0 ? 65534 : (uid_t) -1;
    int     fd = bind_at(sock);

    (void) state;
    assert_true(fd >= 0);
    assert_int_equal(sg_socket_secure(sock, uid, (gid_t) -1, 0660, err,
				      sizeof(err)), 0);
    assert_int_equal(lstat(sock, &st), 0);
    assert_true(S_ISSOCK(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0660);
    if (uid != (uid_t) -1)
	assert_int_equal(st.st_uid, uid);
    close(fd);
    unlink(sock);
}

/* A symbolic link planted at the path: refused, its target untouched. */
static void test_symlink_planted(void **state)
{
    char    err[256];

    (void) state;
    assert_int_equal(symlink(victim, sock), 0);
    assert_int_equal(sg_socket_secure(sock, geteuid() == 0 ? 65534 : (uid_t) -1,
				      (gid_t) -1, 0666, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a socket"));
    assert_int_equal(mode_of(victim), 0600);
    unlink(sock);
}

/* A hard link or a plain file at the path: not a socket, left alone. */
static void test_plain_file(void **state)
{
    char    err[256];

    (void) state;
    assert_int_equal(link(victim, sock), 0);
    assert_int_equal(sg_socket_secure(sock, (uid_t) -1, (gid_t) -1, 0666, err,
				      sizeof(err)), -1);
    assert_int_equal(mode_of(victim), 0600);
    unlink(sock);
}

/* Another user's socket put in place of ours (root only: needs chown). */
static void test_foreign_socket(void **state)
{
    char    err[256];
    int     fd;

    (void) state;
    if (geteuid() != 0)
	skip();
    fd = bind_at(sock);
    assert_true(fd >= 0);
    assert_int_equal(chown(sock, 65534, 65534), 0);
    assert_int_equal(chmod(sock, 0600), 0);
    assert_int_equal(sg_socket_secure(sock, 0, 0, 0666, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "owned by uid 65534"));
    assert_int_equal(mode_of(sock), 0600);
    close(fd);
    unlink(sock);
}

static atomic_int racing;	/* the attacker runs while set */

/* swapper - the attacker: rename a fresh link over the socket, forever */
static void *swapper(void *arg)
{
    (void) arg;
    while (racing) {
	if (symlink(victim, link_tmp) == 0 || errno == EEXIST)
	    (void) rename(link_tmp, sock);
    }
    return (0);
}

/*
 * The race itself: bind, then secure, while another thread keeps
 * swapping a link in. Whatever wins each round, the root file keeps
 * 0600. (With chown/chmod by path the link wins some rounds.)
 */
static void test_race(void **state)
{
    pthread_t tid;
    char    err[256];
    int     i, fd, won = 0, bound = 0;

    (void) state;
    racing = 1;
    assert_int_equal(pthread_create(&tid, 0, swapper, 0), 0);
    for (i = 0; i < 3000; i++) {
	(void) unlink(sock);
	if ((fd = bind_at(sock)) < 0)
	    continue;
	bound++;
	if (sg_socket_secure(sock, (uid_t) -1, (gid_t) -1, 0666, err,
			     sizeof(err)) == 0)
	    won++;
	close(fd);
	assert_int_equal(mode_of(victim), 0600);
    }
    racing = 0;
    pthread_join(tid, 0);
    assert_int_equal(mode_of(victim), 0600);
    print_message("race: %d binds, %d secured, %d refused\n", bound, won,
		  bound - won);
    assert_true(bound > 0);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(test_real_socket, setup, teardown),
	cmocka_unit_test_setup_teardown(test_symlink_planted, setup, teardown),
	cmocka_unit_test_setup_teardown(test_plain_file, setup, teardown),
	cmocka_unit_test_setup_teardown(test_foreign_socket, setup, teardown),
	cmocka_unit_test_setup_teardown(test_race, setup, teardown),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
