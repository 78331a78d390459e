/* Maildir delivery in batches (delivery/local.c, store/maildir.c) on a real
 * directory: every target gets the exact bytes in new/, tmp/ is left empty,
 * and a job that fails leaves nothing behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "delivery/local.h"
#include "lib/fs.h"
#include "queue/spool.h"
#include "store/maildir.h"

static char dir[256];

static int setup(void **st)
{
	(void)st;
	snprintf(dir, sizeof dir, "/var/tmp/pb-local-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int teardown(void **st)
{
	(void)st;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Names of the files in DATA/mail/DOMAIN/LOCAL/SUB; returns the count and
 * the content of the last one. */
static int list(const char *domain, const char *local, const char *sub, char *content,
		size_t cap)
{
	char path[600];
	snprintf(path, sizeof path, "%s/mail/%s/%s/%s", dir, domain, local, sub);
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		n++;
		char file[900], *data;
		size_t len;
		const char *err;
		snprintf(file, sizeof file, "%s/%s", path, e->d_name);
		if (content != NULL && fs_read_file(file, cap - 1, &data, &len, &err) == 0) {
			memcpy(content, data, len + 1);
			free(data);
		}
		/* Maildir names carry the size (",S=") for readers. */
		assert_non_null(strstr(e->d_name, ",S="));
	}
	closedir(d);
	return n;
}

/* Spools msg (as the SMTP session does: trace field first) and makes a
 * job for it. */
static int first_file_stat(const char *path, struct stat *st)
{
	DIR *d = opendir(path);
	struct dirent *e;
	int r = -1;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL && r < 0) {
		char file[900];
		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof file, "%s/%s", path, e->d_name);
		r = stat(file, st);
	}
	closedir(d);
	return r;
}

static void make_job(struct local_job *job, struct spool_file *sp, const char *id,
		     struct local_target *t, size_t n, const char *msg)
{
	const char *err;
	memset(job, 0, sizeof *job);
	assert_int_equal(spool_create(dir, id, sp, &err), 0);
	assert_int_equal(spool_append(sp, "Return-Path: <a@b.test>\n", 24), 0);
	assert_int_equal(spool_append(sp, msg, strlen(msg)), 0);
	job->spool_path = sp->path;
	job->spool_fd = sp->fd;
	job->size = sp->size;
	job->targets = t;
	job->target_count = n;
}

/* After delivery, whatever happened, the spool is empty. */
static void assert_spool_gone(struct local_job *job, struct spool_file *sp)
{
	struct stat st;
	assert_true(job->spool_removed);
	assert_int_equal(stat(sp->path, &st), -1);
	spool_close(sp);
}

static void test_batch_several_targets(void **st)
{
	(void)st;
	struct local_target t1[] = { { "a.test", "alice" }, { "a.test", "bob" } };
	struct local_target t2[] = { { "b.test", "carol" } };
	struct local_job j1, j2;
	struct spool_file s1, s2;
	make_job(&j1, &s1, "ONE", t1, 2, "Subject: one\n\nbody 1\n");
	make_job(&j2, &s2, "TWO", t2, 1, "Subject: two\n\nbody 2\n");
	struct local_job *jobs[] = { &j1, &j2 };
	local_deliver_now(dir, jobs, 2);
	assert_null(j1.error);
	assert_null(j2.error);
	assert_spool_gone(&j1, &s1);
	assert_spool_gone(&j2, &s2);
	char content[256];
	assert_int_equal(list("a.test", "alice", "new", content, sizeof content), 1);
	assert_string_equal(content, "Return-Path: <a@b.test>\nSubject: one\n\nbody 1\n");
	assert_int_equal(list("a.test", "bob", "new", content, sizeof content), 1);
	assert_string_equal(content, "Return-Path: <a@b.test>\nSubject: one\n\nbody 1\n");
	assert_int_equal(list("b.test", "carol", "new", content, sizeof content), 1);
	assert_string_equal(content, "Return-Path: <a@b.test>\nSubject: two\n\nbody 2\n");
	assert_int_equal(list("a.test", "alice", "tmp", NULL, 0), 0);
	assert_int_equal(list("a.test", "alice", "cur", NULL, 0), 0);
	/* Both users' files are one inode: the spool file, linked. */
	char pa[600], pb[600];
	struct stat sa, sb;
	snprintf(pa, sizeof pa, "%s/mail/a.test/alice/new", dir);
	snprintf(pb, sizeof pb, "%s/mail/a.test/bob/new", dir);
	assert_int_equal(first_file_stat(pa, &sa), 0);
	assert_int_equal(first_file_stat(pb, &sb), 0);
	assert_int_equal(sa.st_ino, sb.st_ino);
	assert_int_equal(sa.st_nlink, 2);
	assert_int_equal(sa.st_mode & 07777, 0600);
}

/* A name that would leave the mail directory fails the whole job, and the
 * copy already written for the other target is removed again. */
static void test_unsafe_target_fails_whole_job(void **st)
{
	(void)st;
	struct local_target t[] = { { "a.test", "dave" }, { "a.test", "../../etc" } };
	struct local_target ok[] = { { "a.test", "erin" } };
	struct local_job bad, good;
	struct spool_file sbad, sgood;
	make_job(&bad, &sbad, "BAD", t, 2, "Subject: x\n\n");
	make_job(&good, &sgood, "GOOD", ok, 1, "Subject: y\n\n");
	struct local_job *jobs[] = { &bad, &good };
	local_deliver_now(dir, jobs, 2);
	assert_spool_gone(&bad, &sbad);
	assert_spool_gone(&good, &sgood);
	assert_non_null(bad.error);
	assert_string_equal(bad.error, "451 4.3.0 Error: local delivery failed, try again later");
	assert_null(good.error);
	assert_int_equal(list("a.test", "dave", "new", NULL, 0), 0);
	assert_int_equal(list("a.test", "dave", "tmp", NULL, 0), 0);
	assert_int_equal(list("a.test", "erin", "new", NULL, 0), 1);
}

static void test_user_root_refuses_escapes(void **st)
{
	(void)st;
	char out[256];
	const char *err;
	const char *bad[] = { "", ".", "..", ".hidden", "a/b", "a\nb" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(maildir_user_root("/d", "a.test", bad[i], out, sizeof out, &err), -1);
		assert_int_equal(maildir_user_root("/d", bad[i], "x", out, sizeof out, &err), -1);
	}
	assert_int_equal(maildir_user_root("/d", "a.test", "x.y", out, sizeof out, &err), 0);
	assert_string_equal(out, "/d/mail/a.test/x.y");
}

/* Files in the test Maildir x.test/NAME's SUB (e.g. "tmp.old"). */
static int count_in(const char *name, const char *sub)
{
	return list("x.test", name, sub, NULL, 0);
}

/* Replaces the Maildir x.test/race's SUB by a link to x.test/outside,
 * keeping the real directory as SUB.old. */
static void swap_for_link(const char *sub)
{
	char from[600], to[600], out[600];
	snprintf(from, sizeof from, "%s/mail/x.test/race/%s", dir, sub);
	snprintf(to, sizeof to, "%s/mail/x.test/race/%s.old", dir, sub);
	snprintf(out, sizeof out, "%s/mail/x.test/outside", dir);
	assert_int_equal(rename(from, to), 0);
	assert_int_equal(symlink(out, from), 0);
}

/* The writer holds its own descriptors of tmp/ new/ cur/: tmp/, new/ and
 * cur/ swapped for links after maildir_open_at() and before each step
 * change nothing; the message lands in the directories that were opened
 * and nothing appears where the links point. */
static void test_writer_survives_swapped_dirs(void **st)
{
	(void)st;
	const char *err;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	struct maildir md;
	assert_int_equal(maildir_open_at(dfd, "mail/x.test/race", true, &md, &err), 0);
	assert_int_equal(mkdirat(dfd, "mail/x.test/outside", 0700), 0);
	swap_for_link("tmp");
	struct maildir_file f, g;
	struct iovec iov = { "Subject: x\r\n\r\nx\r\n", 17 };
	assert_int_equal(maildir_tmp_create(&md, 17, &f, &err), 0);
	assert_int_equal(maildir_file_write(&f, &iov, 1, &err), 0);
	assert_int_equal(maildir_file_sync(&f, &err), 0);
	assert_int_equal(count_in("race", "tmp.old"), 1);
	swap_for_link("new");
	assert_int_equal(maildir_file_publish(&f, NULL, &err), 0);
	assert_int_equal(maildir_sync_dir(&md, "new", &err), 0);
	assert_int_equal(count_in("race", "new.old"), 1);
	/* cur/ as APPEND and COPY use it. */
	assert_int_equal(maildir_tmp_create(&md, 17, &g, &err), 0);
	assert_int_equal(maildir_file_write(&g, &iov, 1, &err), 0);
	assert_int_equal(maildir_file_sync(&g, &err), 0);
	swap_for_link("cur");
	char dest[MAILDIR_NAME_MAX + 16];
	snprintf(dest, sizeof dest, "cur/%s:2,S", g.name);
	assert_int_equal(maildir_file_publish(&g, dest, &err), 0);
	assert_int_equal(count_in("race", "cur.old"), 1);
	maildir_file_discard(&g);
	assert_int_equal(count_in("race", "cur.old"), 0);
	assert_int_equal(count_in("outside", ""), 0);
	maildir_close(&md);
	/* Opened again now, the links are refused. */
	assert_int_equal(maildir_open_at(dfd, "mail/x.test/race", true, &md, &err), -1);
	assert_string_equal(err, "a Maildir directory is a symbolic link");
	assert_int_equal(md.fd, -1);
	close(dfd);
}

/* publish() takes new/ or cur/ and one name, nothing else. */
static void test_publish_refuses_other_places(void **st)
{
	(void)st;
	const char *err;
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	struct maildir md;
	assert_int_equal(maildir_open_at(dfd, "mail/x.test/pub", true, &md, &err), 0);
	struct maildir_file f;
	assert_int_equal(maildir_tmp_create(&md, 0, &f, &err), 0);
	const char *bad[] = { "tmp/x", "x", "cur/a/b", "../new/x", "cur/" };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		assert_int_equal(maildir_file_publish(&f, bad[i], &err), -1);
	assert_true(f.in_tmp);
	maildir_file_discard(&f);
	assert_int_equal(count_in("pub", "tmp"), 0);
	maildir_close(&md);
	close(dfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_several_targets),
		cmocka_unit_test(test_unsafe_target_fails_whole_job),
		cmocka_unit_test(test_user_root_refuses_escapes),
		cmocka_unit_test(test_writer_survives_swapped_dirs),
		cmocka_unit_test(test_publish_refuses_other_places),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
