/*
 * NAME
 *	test_follow - sg_follow on real files in a scratch directory
 * DESCRIPTION
 *	Each test writes, renames and truncates files the way syslog and
 *	logrotate do, and drives the follower step by step with
 *	sg_follow_next(): no sleeping, no timing. What the follower hands out
 *	is compared with what was written: every line exactly once, in order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "sg_follow.h"

struct scratch {
    char    dir[256];
    char    path[300];		/* dir/mail.log */
    char    old[300];		/* dir/mail.log.1 */
};

static const struct sg_follow_opts follow_opts = {0, 0, 0};
static const struct sg_follow_opts once_opts = {1, 0, 0};

/* setup - a fresh scratch directory for each test */
static int setup(void **state)
{
    struct scratch *s = calloc(1, sizeof(*s));
    const char *tmp = getenv("TMPDIR");

    if (s == 0)
	return (-1);
    snprintf(s->dir, sizeof(s->dir), "%s/sgfollow.XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(s->dir) == 0)
	return (-1);
    snprintf(s->path, sizeof(s->path), "%s/mail.log", s->dir);
    snprintf(s->old, sizeof(s->old), "%s/mail.log.1", s->dir);
    *state = s;
    return (0);
}

/* teardown - remove what a test left */
static int teardown(void **state)
{
    struct scratch *s = *state;

    unlink(s->path);
    unlink(s->old);
    rmdir(s->dir);
    free(s);
    return (0);
}

/* append - what a syslog daemon does: O_APPEND writes */
static void append(const char *path, const char *text)
{
    int     fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t) strlen(text));
    close(fd);
}

/*
 * expect - read lines until there is none; they must be want (each
 * followed by '\n' there). Returns what ended the reading.
 */
static int expect(struct sg_follow *f, const char *want)
{
    char    got[256 * 1024];
    size_t  used = 0, len;
    const char *line;
    int     rc;

    while ((rc = sg_follow_next(f, &line, &len)) == SG_FOLLOW_LINE) {
	assert_true(used + len + 1 < sizeof(got));
	memcpy(got + used, line, len);
	used += len;
	got[used++] = '\n';
    }
    got[used] = 0;
    assert_string_equal(got, want);
    return (rc);
}

/* position_of - what the position of path at offset must be */
static void position_of(const char *path, long off, char *buf, size_t len)
{
    struct stat st;

    assert_int_equal(stat(path, &st), 0);
    snprintf(buf, len, "%ju:%ju:%ld", (uintmax_t) st.st_dev,
	     (uintmax_t) st.st_ino, off);
}

/* test_plain - lines as written, then nothing; the position follows */
static void test_plain(void **state)
{
    struct scratch *s = *state;
    struct sg_follow *f;
    char    err[256], want[SG_FOLLOW_POS_MAX];

    append(s->path, "a\nbb\nccc\n");
    f = sg_follow_open(s->path, "", &follow_opts, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(expect(f, "a\nbb\nccc\n"), SG_FOLLOW_AGAIN);
    position_of(s->path, 9, want, sizeof(want));
    assert_string_equal(sg_follow_position(f), want);
    append(s->path, "d\n");
    assert_int_equal(expect(f, "d\n"), SG_FOLLOW_AGAIN);
    assert_int_equal(expect(f, ""), SG_FOLLOW_AGAIN);
    assert_string_equal(sg_follow_name(f), s->path);
    sg_follow_close(f);
}

/* test_partial - a line without its newline waits for it */
static void test_partial(void **state)
{
    struct scratch *s = *state;
    struct sg_follow *f;
    char    err[256], want[SG_FOLLOW_POS_MAX];

    append(s->path, "abc");
    f = sg_follow_open(s->path, 0, &follow_opts, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(expect(f, ""), SG_FOLLOW_AGAIN);
    position_of(s->path, 0, want, sizeof(want));
    assert_string_equal(sg_follow_position(f), want);
    append(s->path, "def\nxy");
    assert_int_equal(expect(f, "abcdef\n"), SG_FOLLOW_AGAIN);
    position_of(s->path, 7, want, sizeof(want));
    assert_string_equal(sg_follow_position(f), want);
    append(s->path, "z\n");
    assert_int_equal(expect(f, "xyz\n"), SG_FOLLOW_AGAIN);
    sg_follow_close(f);
}

/*
 * test_rename - logrotate: rename, create, the writer keeps writing to
 * the old file until told, then writes to the new one. Every line once.
 */
static void test_rename(void **state)
{
    struct scratch *s = *state;
    struct sg_follow *f;
    char    err[256], want[SG_FOLLOW_POS_MAX];

    append(s->path, "a\nb\n");
    f = sg_follow_open(s->path, "", &follow_opts, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(expect(f, "a\nb\n"), SG_FOLLOW_AGAIN);

    assert_int_equal(rename(s->path, s->old), 0);
    append(s->path, "");			/* create: an empty new file */
    append(s->old, "b2\n");			/* the writer, not told yet */
    assert_int_equal(expect(f, "b2\n"), SG_FOLLOW_AGAIN);
    assert_int_equal(expect(f, ""), SG_FOLLOW_AGAIN);

    /* The writer moves on; its last line to the old file is not lost. */
    append(s->old, "b3\n");
    append(s->path, "c\n");
    assert_int_equal(expect(f, "b3\nc\n"), SG_FOLLOW_AGAIN);
    position_of(s->path, 2, want, sizeof(want));
    assert_string_equal(sg_follow_position(f), want);
    append(s->path, "d\n");
    assert_int_equal(expect(f, "d\n"), SG_FOLLOW_AGAIN);
    sg_follow_close(f);
}

/* test_rename_tail - a rotated file's unfinished last line is handed out */
static void test_rename_tail(void **state)
{
    struct scratch *s = *state;
    struct sg_follow *f;
    char    err[256];

    append(s->path, "a\ncut-sh");
    f = sg_follow_open(s->path, "", &follow_opts, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(expect(f, "a\n"), SG_FOLLOW_AGAIN);
    assert_int_equal(rename(s->path, s->old), 0);
    append(s->path, "c\n");
    assert_int_equal(expect(f, "cut-sh\nc\n"), SG_FOLLOW_AGAIN);
    sg_follow_close(f);
}

/* test_copytruncate - same file, shorter: from the start again */
static void test_copytruncate(void **state)
{
    struct scratch *s = *state;
    struct sg_follow *f;
    char    err[256], want[SG_FOLLOW_POS_MAX];

    append(s->path, "a\nb\npart");
    f = sg_follow_open(s->path, "", &follow_opts, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(expect(f, "a\nb\n"), SG_FOLLOW_AGAIN);
    assert_int_equal(truncate(s->path, 0), 0);
    append(s->path, "c\n");
    assert_int_equal(expect(f, "c\n"), SG_FOLLOW_AGAIN);
    position_of(s->path, 2, want, sizeof(want));
    assert_string_equal(sg_follow_position(f), want);
    sg_follow_close(f);
}

/* test_resume - from a saved position: exactly the remaining lines */
static void test_resume(void **state)
{
    struct scratch *s = *state;
    struct sg_follow *f;
    char    err[256], pos[SG_FOLLOW_POS_MAX];
    const char *line;
    size_t  len;

    append(s->path, "a\nb\nc\n");
    f = sg_follow_open(s->path, "", &follow_opts, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(sg_follow_next(f, &line, &len), SG_FOLLOW_LINE);
    assert_int_equal(len, 1);
    assert_memory_equal(line, "a", 1);
    snprintf(pos, sizeof(pos), "%s", sg_follow_position(f));
    sg_follow_close(f);

    append(s->path, "d\n");			/* written while stopped */
    f = sg_follow_open(s->path, pos, &follow_opts, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(expect(f, "b\nc\nd\n"), SG_FOLLOW_AGAIN);
    snprintf(pos, sizeof(pos), "%s", sg_follow_position(f));
    sg_follow_close(f);

    /* At the very end: nothing again. */
    f = sg_follow_open(s->path, pos, &follow_opts, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(expect(f, ""), SG_FOLLOW_AGAIN);
    assert_string_equal(sg_follow_position(f), pos);
    sg_follow_close(f);
}

/* test_resume_replaced - rotated or truncated while stopped: from 0 */
static void test_resume_replaced(void **state)
{
    struct scratch *s = *state;
    struct sg_follow *f;
    char    err[256], pos[SG_FOLLOW_POS_MAX];

    append(s->path, "a\nb\n");
    f = sg_follow_open(s->path, "", &follow_opts, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(expect(f, "a\nb\n"), SG_FOLLOW_AGAIN);
    snprintf(pos, sizeof(pos), "%s", sg_follow_position(f));
    sg_follow_close(f);

    /* Rotated by rename while stopped. */
    assert_int_equal(rename(s->path, s->old), 0);
    append(s->path, "x\ny\n");
    f = sg_follow_open(s->path, pos, &follow_opts, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(expect(f, "x\ny\n"), SG_FOLLOW_AGAIN);
    snprintf(pos, sizeof(pos), "%s", sg_follow_position(f));
    sg_follow_close(f);

    /* Truncated while stopped: same inode, shorter than the position. */
    assert_int_equal(truncate(s->path, 0), 0);
    append(s->path, "z\n");
    f = sg_follow_open(s->path, pos, &follow_opts, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(expect(f, "z\n"), SG_FOLLOW_AGAIN);
    sg_follow_close(f);
}

/* test_bad_position - a position that is not one is refused */
static void test_bad_position(void **state)
{
    struct scratch *s = *state;
    static const char *const bad[] = {
	"garbage", "1:2", "1:2:3x", "1:2:-5", ":::", "1:2:3:4",
    };
    char    err[256];
    size_t  i;

    append(s->path, "a\n");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
	err[0] = 0;
	assert_null(sg_follow_open(s->path, bad[i], &follow_opts, err,
				   sizeof(err)));
	assert_non_null(strstr(err, "bad position"));
    }
}

/* test_missing - a file not there yet is waited for; not in once mode */
static void test_missing(void **state)
{
    struct scratch *s = *state;
    struct sg_follow *f;
    char    err[256];

    f = sg_follow_open(s->path, "", &follow_opts, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(expect(f, ""), SG_FOLLOW_AGAIN);
    assert_string_equal(sg_follow_position(f), "");
    append(s->path, "a\n");
    assert_int_equal(expect(f, "a\n"), SG_FOLLOW_AGAIN);
    sg_follow_close(f);
    unlink(s->path);

    err[0] = 0;
    assert_null(sg_follow_open(s->path, "", &once_opts, err, sizeof(err)));
    assert_non_null(strstr(err, "No such file"));
}

/* test_gone - the name removed: the open file is read; then the new one */
static void test_gone(void **state)
{
    struct scratch *s = *state;
    struct sg_follow *f;
    char    err[256];
    int     fd;

    append(s->path, "a\n");
    f = sg_follow_open(s->path, "", &follow_opts, err, sizeof(err));
    assert_non_null(f);
    fd = open(s->path, O_WRONLY | O_APPEND);
    assert_true(fd >= 0);
    assert_int_equal(unlink(s->path), 0);
    assert_int_equal(write(fd, "b\n", 2), 2);
    close(fd);
    assert_int_equal(expect(f, "a\nb\n"), SG_FOLLOW_AGAIN);
    assert_int_equal(expect(f, ""), SG_FOLLOW_AGAIN);
    append(s->path, "c\n");
    assert_int_equal(expect(f, "c\n"), SG_FOLLOW_AGAIN);
    sg_follow_close(f);
}

/* test_reopen - SIGHUP: switch even to an empty new file */
static void test_reopen(void **state)
{
    struct scratch *s = *state;
    struct sg_follow *f;
    char    err[256], want[SG_FOLLOW_POS_MAX];

    append(s->path, "a\n");
    f = sg_follow_open(s->path, "", &follow_opts, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(expect(f, "a\n"), SG_FOLLOW_AGAIN);
    assert_int_equal(rename(s->path, s->old), 0);
    append(s->path, "");
    assert_int_equal(expect(f, ""), SG_FOLLOW_AGAIN);
    position_of(s->old, 2, want, sizeof(want));
    assert_string_equal(sg_follow_position(f), want);
    sg_follow_reopen(f);
    assert_int_equal(expect(f, ""), SG_FOLLOW_AGAIN);
    position_of(s->path, 0, want, sizeof(want));
    assert_string_equal(sg_follow_position(f), want);
    append(s->path, "n\n");
    assert_int_equal(expect(f, "n\n"), SG_FOLLOW_AGAIN);
    sg_follow_close(f);
}

/* test_once - once mode ends at the end, leaving a partial line unread */
static void test_once(void **state)
{
    struct scratch *s = *state;
    struct sg_follow *f;
    char    err[256], want[SG_FOLLOW_POS_MAX];

    append(s->path, "a\nb\npart");
    f = sg_follow_open(s->path, "", &once_opts, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(expect(f, "a\nb\n"), SG_FOLLOW_END);
    position_of(s->path, 4, want, sizeof(want));
    assert_string_equal(sg_follow_position(f), want);
    sg_follow_close(f);
}

/* test_long_line - cut at SG_FOLLOW_LINE_MAX, the rest skipped */
static void test_long_line(void **state)
{
    struct scratch *s = *state;
    struct sg_follow *f;
    char    err[256], want[SG_FOLLOW_POS_MAX];
    size_t  big = SG_FOLLOW_LINE_MAX + 5000, len;
    char   *text = malloc(big + 2);
    const char *line;

    assert_non_null(text);
    memset(text, 'x', big);
    strcpy(text + big, "\n");
    append(s->path, text);
    append(s->path, "ok\n");
    f = sg_follow_open(s->path, "", &follow_opts, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(sg_follow_next(f, &line, &len), SG_FOLLOW_LINE);
    assert_int_equal(len, SG_FOLLOW_LINE_MAX);
    assert_int_equal(expect(f, "ok\n"), SG_FOLLOW_AGAIN);
    position_of(s->path, (long) big + 4, want, sizeof(want));
    assert_string_equal(sg_follow_position(f), want);

    /* Longer than the whole buffer: its end comes in later reads. */
    free(text);
    big = 3 * SG_FOLLOW_LINE_MAX + 17;
    assert_non_null(text = malloc(big + 2));
    memset(text, 'y', big);
    strcpy(text + big, "\n");
    append(s->path, text);
    append(s->path, "ok2\n");
    assert_int_equal(sg_follow_next(f, &line, &len), SG_FOLLOW_LINE);
    assert_int_equal(len, SG_FOLLOW_LINE_MAX);
    assert_int_equal(line[0], 'y');
    assert_int_equal(expect(f, "ok2\n"), SG_FOLLOW_AGAIN);
    position_of(s->path, (long) (SG_FOLLOW_LINE_MAX + 5000) + 4
		+ (long) big + 5, want, sizeof(want));
    assert_string_equal(sg_follow_position(f), want);
    sg_follow_close(f);
    free(text);
}

/* test_stream - a pipe like standard input: no position, EOF ends it */
static void test_stream(void **state)
{
    struct sg_follow *f;
    char    err[256];
    int     p[2];

    (void) state;
    assert_int_equal(pipe(p), 0);
    f = sg_follow_fdopen(p[0], "-", &follow_opts, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(expect(f, ""), SG_FOLLOW_AGAIN);
    assert_int_equal(write(p[1], "a\nb", 3), 3);
    assert_int_equal(expect(f, "a\n"), SG_FOLLOW_AGAIN);
    assert_int_equal(write(p[1], "c\ntail", 6), 6);
    assert_int_equal(expect(f, "bc\n"), SG_FOLLOW_AGAIN);
    assert_string_equal(sg_follow_position(f), "");
    close(p[1]);
    assert_int_equal(expect(f, "tail\n"), SG_FOLLOW_END);
    assert_int_equal(expect(f, ""), SG_FOLLOW_END);
    sg_follow_close(f);
    assert_int_equal(fcntl(p[0], F_GETFD), 0);	/* still ours to close */
    close(p[0]);
}

/* test_line - the waiting wrapper: a line, a stop, once mode's end */
static void test_line(void **state)
{
    struct scratch *s = *state;
    struct sg_follow *f;
    volatile sig_atomic_t stop = 0;
    const char *line;
    char    err[256];
    size_t  len;

    append(s->path, "a\n");
    f = sg_follow_open(s->path, "", &follow_opts, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(sg_follow_line(f, &line, &len, 1000, &stop),
		     SG_FOLLOW_LINE);
    assert_int_equal(sg_follow_line(f, &line, &len, 1, &stop),
		     SG_FOLLOW_AGAIN);
    stop = 1;
    assert_int_equal(sg_follow_line(f, &line, &len, 60000, &stop),
		     SG_FOLLOW_AGAIN);
    sg_follow_close(f);

    f = sg_follow_open(s->path, "", &once_opts, err, sizeof(err));
    assert_non_null(f);
    stop = 0;
    assert_int_equal(sg_follow_line(f, &line, &len, 60000, &stop),
		     SG_FOLLOW_LINE);
    assert_int_equal(sg_follow_line(f, &line, &len, 60000, &stop),
		     SG_FOLLOW_END);
    sg_follow_close(f);
}

int     main(void)
{
    const struct CMUnitTest tests[] = {
	cmocka_unit_test_setup_teardown(test_plain, setup, teardown),
	cmocka_unit_test_setup_teardown(test_partial, setup, teardown),
	cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
	cmocka_unit_test_setup_teardown(test_rename_tail, setup, teardown),
	cmocka_unit_test_setup_teardown(test_copytruncate, setup, teardown),
	cmocka_unit_test_setup_teardown(test_resume, setup, teardown),
	cmocka_unit_test_setup_teardown(test_resume_replaced, setup, teardown),
	cmocka_unit_test_setup_teardown(test_bad_position, setup, teardown),
	cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
	cmocka_unit_test_setup_teardown(test_gone, setup, teardown),
	cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
	cmocka_unit_test_setup_teardown(test_once, setup, teardown),
	cmocka_unit_test_setup_teardown(test_long_line, setup, teardown),
	cmocka_unit_test(test_stream),
	cmocka_unit_test_setup_teardown(test_line, setup, teardown),
    };

    return (cmocka_run_group_tests(tests, 0, 0));
}
