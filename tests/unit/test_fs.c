/* lib/fs: resolution beneath a directory without following symbolic
 * links (openat2 and the per-component walk alike), durable rewrites that
 * a planted link cannot redirect, and tree walks that never leave. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fs.h"

static char top[64];
static int dfd;
static char outside[128];

static void put(const char *rel, const char *text)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", top, rel);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void link_to(const char *target, const char *rel)
{
	char p[256];
	snprintf(p, sizeof p, "%s/%s", top, rel);
	assert_int_equal(symlink(target, p), 0);
}

static bool exists(const char *rel)
{
	struct stat st;
	char p[256];
	snprintf(p, sizeof p, "%s/%s", top, rel);
	return lstat(p, &st) == 0;
}

/* top/in: real/file, real/sub/, ldir -> real, real/lfile -> file,
 * lout -> outside; outside: a directory with "secret". */
static int setup(void **state)
{
	(void)state;
	snprintf(top, sizeof top, "/tmp/test_fs.XXXXXX");
	assert_non_null(mkdtemp(top));
	snprintf(outside, sizeof outside, "%s/outside", top);
	assert_int_equal(mkdir(outside, 0700), 0);
	put("outside/secret", "secret");
	char p[256];
	snprintf(p, sizeof p, "%s/in", top);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof p, "%s/in/real", top);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof p, "%s/in/real/sub", top);
	assert_int_equal(mkdir(p, 0700), 0);
	put("in/real/file", "x");
	link_to("real", "in/ldir");
	link_to("file", "in/real/lfile");
	link_to(outside, "in/lout");
	snprintf(p, sizeof p, "%s/in", top);
	dfd = open(p, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[128];
	close(dfd);
	fs_beneath_force_walk(false);
	snprintf(cmd, sizeof cmd, "rm -rf %s", top);
	return system(cmd) == 0 ? 0 : -1;
}

static void expect_refused(const char *rel, int flags)
{
	errno = 0;
	int fd = fs_open_beneath(dfd, rel, flags, 0600);
	if (fd >= 0)
		close(fd);
	assert_true(fd < 0);
	if (errno != ELOOP && errno != ENOTDIR && errno != EXDEV)
		fail_msg("%s: errno %d (%s)", rel, errno, strerror(errno));
}

static void check_open(void)
{
	int fd = fs_open_beneath(dfd, "real/file", O_RDONLY, 0);
	assert_true(fd >= 0);
	close(fd);
	fd = fs_open_beneath(dfd, "real/sub", O_RDONLY | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	close(fd);
	fd = fs_open_beneath(dfd, "", O_RDONLY | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	close(fd);
	/* A link anywhere on the way, or at the end, is refused. */
	expect_refused("ldir/file", O_RDONLY);
	expect_refused("ldir", O_RDONLY | O_DIRECTORY);
	expect_refused("real/lfile", O_RDONLY);
	expect_refused("lout/secret", O_RDONLY);
	expect_refused("ldir/new", O_WRONLY | O_CREAT | O_EXCL);
	assert_false(exists("in/real/new"));
	/* Nor out by "..", nor an absolute path. */
	expect_refused("../outside/secret", O_RDONLY);
	expect_refused("real/../../outside/secret", O_RDONLY);
	expect_refused("/etc/passwd", O_RDONLY);
	struct stat st;
	assert_int_equal(fs_stat_beneath(dfd, "real/lfile", &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	assert_int_equal(fs_stat_beneath(dfd, "real/file", &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(fs_stat_beneath(dfd, "ldir/file", &st), -1);
}

static void test_open_beneath_openat2(void **state)
{
	(void)state;
	fs_beneath_force_walk(false);
	check_open();
}

static void test_open_beneath_walk(void **state)
{
	(void)state;
	fs_beneath_force_walk(true);
	check_open();
	fs_beneath_force_walk(false);
}

static void test_mkdirs_beneath(void **state)
{
	(void)state;
	int fd = fs_mkdirs_beneath(dfd, "made/a/b", 0700);
	assert_true(fd >= 0);
	close(fd);
	assert_true(exists("in/made/a/b"));
	errno = 0;
	assert_int_equal(fs_mkdirs_beneath(dfd, "lout/evil", 0700), -1);
	assert_true(errno == ELOOP || errno == ENOTDIR);
	assert_false(exists("outside/evil"));
	assert_int_equal(fs_mkdirs_beneath(dfd, "ldir/evil", 0700), -1);
	assert_false(exists("in/real/evil"));
}

static void test_read_and_write_at(void **state)
{
	(void)state;
	char *data;
	size_t len;
	const char *err;
	assert_int_equal(fs_read_file_at(dfd, "real/file", 100, &data, &len, &err), 0);
	assert_string_equal(data, "x");
	free(data);
	assert_int_equal(fs_read_file_at(dfd, "real/lfile", 100, &data, &len, &err), -1);
	assert_int_equal(fs_read_file_at(dfd, "lout/secret", 100, &data, &len, &err), -1);
	/* A link planted at the temporary's name is replaced, not written
	 * through; the mode asked for is the mode given, whatever the umask. */
	char tmpname[64], target[160];
	snprintf(tmpname, sizeof tmpname, "in/subs.tmp.%ld", (long)getpid());
	snprintf(target, sizeof target, "%s/secret", outside);
	link_to(target, tmpname);
	mode_t old = umask(077);
	assert_int_equal(fs_write_file_durable_at(dfd, "subs", "new\n", 4, 0644, &err), 0);
	umask(old);
	assert_int_equal(fs_read_file_at(dfd, "subs", 100, &data, &len, &err), 0);
	assert_string_equal(data, "new\n");
	free(data);
	struct stat st;
	assert_int_equal(fstatat(dfd, "subs", &st, 0), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	assert_false(exists(tmpname));
	assert_int_equal(fs_read_file(target, 100, &data, &len, &err), 0);
	assert_string_equal(data, "secret");
	free(data);
	/* The same over a link at the final name: the link goes. */
	link_to(target, "in/over");
	assert_int_equal(fs_write_file_durable_at(dfd, "over", "o", 1, 0600, &err), 0);
	assert_int_equal(fstatat(dfd, "over", &st, AT_SYMLINK_NOFOLLOW), 0);
	assert_true(S_ISREG(st.st_mode));
}

static void test_remove_tree_never_leaves(void **state)
{
	(void)state;
	int fd = fs_mkdirs_beneath(dfd, "gone/cur", 0700);
	assert_true(fd >= 0);
	close(fd);
	put("in/gone/cur/msg", "m");
	link_to(outside, "in/gone/cur/out");
	link_to(outside, "in/gone/lnk");
	assert_int_equal(fs_remove_tree_at(dfd, "gone", 4), 0);
	assert_false(exists("in/gone"));
	assert_true(exists("outside/secret"));
	/* Deeper than allowed: left in place, -1. */
	fd = fs_mkdirs_beneath(dfd, "deep/a/b/c", 0700);
	close(fd);
	assert_int_equal(fs_remove_tree_at(dfd, "deep", 2), -1);
	assert_true(exists("in/deep/a"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_beneath_openat2),
		cmocka_unit_test(test_open_beneath_walk),
		cmocka_unit_test(test_mkdirs_beneath),
		cmocka_unit_test(test_read_and_write_at),
		cmocka_unit_test(test_remove_tree_never_leaves),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
