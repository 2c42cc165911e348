/* SPDX-License-Identifier: MIT */
/* test_util.c: the file helpers that results and logs are written through. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <sys/wait.h>

#include "base/util.c"

struct dir {
	char path[64];
};

static int dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/uvmlab-test-util-XXXXXX");
	if (!mkdtemp(d->path))
		return -1;
	*state = d;
	return 0;
}

static int dir_teardown(void **state)
{
	struct dir *d = *state;

	util_rm_rf(d->path);
	free(d);
	return 0;
}

/* Two runs must never share a folder: the second creation fails. */
static void test_mkdir_new_is_exclusive(void **state)
{
	struct dir *d = *state;
	char p[160];
	struct stat st;

	snprintf(p, sizeof(p), "%s/a/b/run", d->path);
	assert_int_equal(util_mkdir_new(p, 0700), 0);       /* parents made too */
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(util_mkdir_new(p, 0700), -EEXIST);
	/* a symlink where the folder would go is not a folder of ours */
	snprintf(p, sizeof(p), "%s/a/link", d->path);
	assert_int_equal(symlink("/", p), 0);
	assert_int_equal(util_mkdir_new(p, 0700), -EEXIST);
}

/* Results and logs: never through a planted symlink, never over a file
 * that is already there. */
static void test_open_new_refuses_links_and_existing(void **state)
{
	struct dir *d = *state;
	char p[160], target[160];
	int fd;

	snprintf(p, sizeof(p), "%s/log", d->path);
	fd = util_open_new(p, 0);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	assert_int_equal(util_open_new(p, 0), -EEXIST);
	fd = util_open_new(p, 1);                           /* append to our own file */
	assert_true(fd >= 0);
	close(fd);
	snprintf(target, sizeof(target), "%s/secret", d->path);
	assert_int_equal(util_write_file(target, "s", 1), 0);
	snprintf(p, sizeof(p), "%s/planted", d->path);
	assert_int_equal(symlink(target, p), 0);
	assert_int_equal(util_open_new(p, 0), -EEXIST);
	assert_int_equal(util_open_new(p, 1), -ELOOP);
}

/* util_write_file replaces PATH atomically; a symlink planted at its temp
 * name is not followed. */
static void test_write_file_temp_is_not_followed(void **state)
{
	struct dir *d = *state;
	char p[160], tmp[200], target[160], *buf = NULL;
	size_t len = 0;

	snprintf(target, sizeof(target), "%s/target", d->path);
	assert_int_equal(util_write_file(target, "keep", 4), 0);
	snprintf(p, sizeof(p), "%s/result.json", d->path);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", p, (int)getpid());
	assert_int_equal(symlink(target, tmp), 0);
	assert_int_equal(util_write_file(p, "{}", 2), 0);
	assert_int_equal(util_read_file(target, 64, &buf, &len), 0);
	assert_string_equal(buf, "keep");
	free(buf);
	assert_int_equal(util_read_file(p, 64, &buf, &len), 0);
	assert_string_equal(buf, "{}");
	free(buf);
}

/* The health checks read a QEMU's or a backend's state letter: a stopped
 * process is 'T', a gone one 0. */
static void test_proc_state(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	assert_int_equal(util_proc_state(getpid()), 'R');
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pause();
		_exit(0);
	}
	assert_int_equal(kill(pid, SIGSTOP), 0);
	assert_int_equal(waitpid(pid, &st, WUNTRACED), pid);
	assert_int_equal(util_proc_state(pid), 'T');
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(util_proc_state(pid), 0);
}

static void escape_is(const char *in, size_t len, size_t out_len, const char *want, int want_rc)
{
	char out[64];

	memset(out, 'Z', sizeof(out));
	assert_true(out_len <= sizeof(out));
	assert_int_equal(util_escape(in, len, out, out_len), want_rc);
	assert_string_equal(out, want);
}

/* Messages name files and quote guest text: each stays one printable line. */
static void test_escape_controls(void **state)
{
	(void)state;
	escape_is("plain text: ok", 14, 64, "plain text: ok", 0);
	escape_is("a\nb", 3, 64, "a\\nb", 0);
	escape_is("\x1b[31mred", 8, 64, "\\x1b[31mred", 0);
	escape_is("t\tr\r\\", 5, 64, "t\\tr\\r\\", 0);
	escape_is("nul\0x", 5, 64, "nul\\x00x", 0);
	escape_is("\x7f", 1, 64, "\\x7f", 0);
	/* valid UTF-8 passes; C1 controls, stray bytes, overlong forms do not */
	escape_is("run \xe2\x80\x94 ok", 10, 64, "run \xe2\x80\x94 ok", 0);
	escape_is("\xc2\x9b" "2J", 4, 64, "\\xc2\\x9b2J", 0);
	escape_is("\xff\xe2\x80", 3, 64, "\\xff\\xe2\\x80", 0);
	escape_is("\xc0\xaf", 2, 64, "\\xc0\\xaf", 0);
	escape_is("\xed\xa0\x80", 3, 64, "\\xed\\xa0\\x80", 0);
	escape_is("", 0, 1, "", 0);
}

/* Messages carry text escaped already (lab_error(), quoted values): a second
 * pass must not double the backslashes. */
static void test_escape_is_idempotent(void **state)
{
	const char in[] = "f\nile\x1b[1m \"q\\\"\" \xe2\x80\x94 \xff";
	char once[128], twice[128];

	(void)state;
	assert_int_equal(util_escape(in, sizeof(in) - 1, once, sizeof(once)), 0);
	assert_int_equal(util_escape(once, strlen(once), twice, sizeof(twice)), 0);
	assert_string_equal(once, twice);
	assert_string_equal(once, "f\\nile\\x1b[1m \"q\\\"\" \xe2\x80\x94 \\xff");
}

/* Truncation never leaves half an escape or half a UTF-8 character. */
static void test_escape_truncates_whole_pieces(void **state)
{
	char out[4];

	(void)state;
	escape_is("abcdefgh", 8, 8, "abcd...", -ENOSPC);
	escape_is("abcdefg", 7, 8, "abcdefg", 0);
	escape_is("abc\x1b" "defgh", 9, 8, "abc...", -ENOSPC);
	escape_is("ab\x1b" "cdefgh", 9, 8, "ab...", -ENOSPC);
	escape_is("abcd\xe2\x80\x94", 7, 8, "abcd\xe2\x80\x94", 0);
	escape_is("abcde\xe2\x80\x94", 8, 8, "abcd...", -ENOSPC);
	escape_is("abcdef\n", 7, 9, "abcdef\\n", 0);
	escape_is("abcdef\n", 7, 8, "abcd...", -ENOSPC);
	escape_is("abcdef", 6, 3, "", -ENOSPC);
	assert_int_equal(util_escape("x", 1, out, 0), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_mkdir_new_is_exclusive, dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_open_new_refuses_links_and_existing, dir_setup,
						dir_teardown),
		cmocka_unit_test_setup_teardown(test_write_file_temp_is_not_followed, dir_setup,
						dir_teardown),
		cmocka_unit_test(test_proc_state),
		cmocka_unit_test(test_escape_controls),
		cmocka_unit_test(test_escape_is_idempotent),
		cmocka_unit_test(test_escape_truncates_whole_pieces),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
