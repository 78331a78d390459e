/* Maildir delivery in batches (delivery/local.c, store/maildir.c) on a real
 * directory: every target gets the exact bytes in new/, tmp/ is left empty,
 * and a job that fails leaves nothing behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "delivery/local.h"
#include "lib/fs.h"
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

static void make_job(struct local_job *job, struct local_target *t, size_t n, const char *msg)
{
	memset(job, 0, sizeof *job);
	job->iov[0] = (struct iovec){ (void *)"Return-Path: <a@b.test>\n", 24 };
	job->iov[1] = (struct iovec){ (void *)msg, strlen(msg) };
	job->iovcnt = 2;
	job->targets = t;
	job->target_count = n;
}

static void test_batch_several_targets(void **st)
{
	(void)st;
	struct local_target t1[] = { { "a.test", "alice" }, { "a.test", "bob" } };
	struct local_target t2[] = { { "b.test", "carol" } };
	struct local_job j1, j2;
	make_job(&j1, t1, 2, "Subject: one\n\nbody 1\n");
	make_job(&j2, t2, 1, "Subject: two\n\nbody 2\n");
	struct local_job *jobs[] = { &j1, &j2 };
	local_deliver_now(dir, jobs, 2);
	assert_null(j1.error);
	assert_null(j2.error);
	char content[256];
	assert_int_equal(list("a.test", "alice", "new", content, sizeof content), 1);
	assert_string_equal(content, "Return-Path: <a@b.test>\nSubject: one\n\nbody 1\n");
	assert_int_equal(list("a.test", "bob", "new", content, sizeof content), 1);
	assert_string_equal(content, "Return-Path: <a@b.test>\nSubject: one\n\nbody 1\n");
	assert_int_equal(list("b.test", "carol", "new", content, sizeof content), 1);
	assert_string_equal(content, "Return-Path: <a@b.test>\nSubject: two\n\nbody 2\n");
	assert_int_equal(list("a.test", "alice", "tmp", NULL, 0), 0);
	assert_int_equal(list("a.test", "alice", "cur", NULL, 0), 0);
}

/* A name that would leave the mail directory fails the whole job, and the
 * copy already written for the other target is removed again. */
static void test_unsafe_target_fails_whole_job(void **st)
{
	(void)st;
	struct local_target t[] = { { "a.test", "dave" }, { "a.test", "../../etc" } };
	struct local_target ok[] = { { "a.test", "erin" } };
	struct local_job bad, good;
	make_job(&bad, t, 2, "Subject: x\n\n");
	make_job(&good, ok, 1, "Subject: y\n\n");
	struct local_job *jobs[] = { &bad, &good };
	local_deliver_now(dir, jobs, 2);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_batch_several_targets),
		cmocka_unit_test(test_unsafe_target_fails_whole_job),
		cmocka_unit_test(test_user_root_refuses_escapes),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
