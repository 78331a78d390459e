/* queue/queue_store: a batch enqueued by group commit is all there after
 * reopening; state updates survive a reopen; a torn update is cut off
 * before the next one; appended updates never grow the envelope past
 * about twice its size; the per-message lock keeps a second worker out;
 * hold, release, removal; and recovery at start removes exactly what was
 * never acknowledged. */
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
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fs.h"
#include "queue/queue_store.h"
#include "queue/spool.h"
#include "test_queue_common.h"

#define T0 1800000000

static char data[64];

static int setup(void **state)
{
	(void)state;
	snprintf(data, sizeof data, "/tmp/test_queue_store.XXXXXX");
	assert_non_null(mkdtemp(data));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fs_remove_tree_at(AT_FDCWD, data, 8);
	return 0;
}

static bool exists(const char *rel)
{
	char p[256];
	struct stat st;
	snprintf(p, sizeof p, "%s/queue/%s", data, rel);
	return lstat(p, &st) == 0;
}

static off_t size_of(const char *rel)
{
	char p[256];
	struct stat st;
	snprintf(p, sizeof p, "%s/queue/%s", data, rel);
	assert_int_equal(lstat(p, &st), 0);
	return st.st_size;
}

/* n messages, ids Q0.., each with rcpts recipients, in one batch. */
static void enqueue_batch(size_t n, size_t rcpts)
{
	static const char *const ids[] = { "Q0", "Q1", "Q2", "Q3", "Q4", "Q5", "Q6", "Q7" };
	static const char *const addrs[] = { "r0@b.test", "r1@b.test", "r2@b.test" };
	queue_test_batch(data, ids, n, addrs, rcpts, T0);
}

static void count_id(const char *id, void *ctx)
{
	(void)id;
	++*(size_t *)ctx;
}

static void test_batch_commit(void **state)
{
	(void)state;
	size_t seen = 0;
	enqueue_batch(5, 2);
	assert_int_equal(queue_scan(data, count_id, &seen), 5);
	assert_int_equal(seen, 5);
	assert_true(exists("active/Q3"));
	assert_true(exists("active/Q3.env"));
	assert_false(exists("incoming/Q3"));
	assert_false(exists("incoming/Q3.env"));
	struct queue_env env;
	const char *err;
	assert_int_equal(queue_read_env(data, "Q3", &env, &err), 0);
	assert_int_equal(env.rcpt_count, 2);
	assert_int_equal(env.size, 41);
	queue_env_clear(&env);
	assert_int_equal(queue_read_env(data, "NOPE", &env, &err), -1);
	assert_int_equal(errno, ENOENT);
	/* The same id twice: the second is refused, the first intact. */
	struct spool_file sf;
	assert_int_equal(queue_env_init(&env, "Q0", "x@a.test", &err), 0);
	assert_int_equal(queue_env_add_rcpt(&env, "y@b.test", NULL, 0, &err), 0);
	assert_int_equal(spool_create(data, "Q0", &sf, &err), 0);
	struct queue_commit c = { &env, sf.path, sf.fd, NULL }, *cp = &c;
	queue_commit_batch(data, &cp, 1);
	assert_non_null(c.error);
	spool_remove(&sf);
	queue_env_clear(&env);
	assert_int_equal(queue_read_env(data, "Q0", &env, &err), 0);
	assert_string_equal(env.sender, "s@a.test");
	queue_env_clear(&env);
	assert_int_equal(size_of("active/Q0"), 41);
	assert_false(exists("incoming/Q0.env"));
}

static void test_update_survives_and_lock(void **state)
{
	(void)state;
	struct queue_msg m, other;
	const char *err;
	enqueue_batch(1, 3);
	assert_int_equal(queue_open(data, "Q0", false, &m, &err), 0);
	/* A second worker (another open file description) is kept out. */
	assert_int_equal(queue_open(data, "Q0", false, &other, &err), -1);
	assert_int_equal(errno, EWOULDBLOCK);
	m.env.rcpts[1].state = QUEUE_SENT;
	m.env.rcpts[1].attempts = 1;
	size_t i = 1;
	assert_int_equal(queue_update(&m, &i, 1, &err), 0);
	queue_close(&m);
	assert_int_equal(queue_open(data, "Q0", false, &m, &err), 0);
	assert_int_equal(m.env.rcpts[1].state, QUEUE_SENT);
	assert_int_equal(m.env.rcpts[0].state, QUEUE_PENDING);
	queue_close(&m);
}

static void test_torn_update_cut(void **state)
{
	(void)state;
	struct queue_msg m;
	const char *err;
	char p[256];
	enqueue_batch(1, 1);
	off_t whole = size_of("active/Q0.env");
	snprintf(p, sizeof p, "%s/queue/active/Q0.env", data);
	int fd = open(p, O_WRONLY | O_APPEND);
	assert_true(write(fd, "u\t0\tsent\t9", 10) == 10);   /* a crash mid-append */
	close(fd);
	assert_int_equal(queue_open(data, "Q0", false, &m, &err), 0);
	assert_int_equal(m.env.rcpts[0].state, QUEUE_PENDING);
	assert_int_equal(size_of("active/Q0.env"), whole);   /* rewritten without it */
	m.env.rcpts[0].state = QUEUE_DEFERRED;
	size_t i = 0;
	assert_int_equal(queue_update(&m, &i, 1, &err), 0);
	queue_close(&m);
	assert_int_equal(queue_open(data, "Q0", false, &m, &err), 0);
	assert_int_equal(m.env.rcpts[0].state, QUEUE_DEFERRED);
	queue_close(&m);
}

static void test_updates_bounded(void **state)
{
	(void)state;
	struct queue_msg m;
	const char *err;
	enqueue_batch(1, 2);
	off_t base = size_of("active/Q0.env");
	assert_int_equal(queue_open(data, "Q0", false, &m, &err), 0);
	for (unsigned k = 1; k <= 300; k++) {
		size_t i = k % 2;
		m.env.rcpts[i].attempts = k;
		assert_int_equal(queue_update(&m, &i, 1, &err), 0);
		assert_true(size_of("active/Q0.env") <= 2 * base + 4096 + 200);
	}
	queue_close(&m);
	assert_int_equal(queue_open(data, "Q0", false, &m, &err), 0);
	assert_int_equal(m.env.rcpts[0].attempts, 300);
	assert_int_equal(m.env.rcpts[1].attempts, 299);
	queue_close(&m);
	assert_false(exists("active/Q0.env.tmp"));
}

static void test_hold_release_remove(void **state)
{
	(void)state;
	struct queue_msg m;
	const char *err;
	enqueue_batch(1, 3);
	assert_int_equal(queue_open(data, "Q0", false, &m, &err), 0);
	m.env.rcpts[0].state = QUEUE_SENT;
	m.env.rcpts[1].attempts = 2;
	m.env.rcpts[1].state = QUEUE_DEFERRED;
	assert_int_equal(queue_hold(&m, &err), 2);
	queue_close(&m);
	assert_int_equal(queue_open(data, "Q0", false, &m, &err), 0);
	assert_int_equal(m.env.rcpts[0].state, QUEUE_PENDING);  /* not recorded above */
	assert_int_equal(m.env.rcpts[1].state, QUEUE_HELD);
	assert_int_equal(m.env.rcpts[2].state, QUEUE_HELD);
	assert_int_equal(queue_release(&m, T0 + 77, &err), 2);
	assert_int_equal(m.env.rcpts[1].state, QUEUE_DEFERRED);  /* it was tried */
	assert_int_equal(m.env.rcpts[2].state, QUEUE_PENDING);
	assert_int_equal(m.env.rcpts[2].next, T0 + 77);
	assert_int_equal(queue_remove(&m, &err), 0);
	assert_false(exists("active/Q0"));
	assert_false(exists("active/Q0.env"));
	assert_int_equal(queue_open(data, "Q0", false, &m, &err), -1);
	assert_int_equal(errno, ENOENT);
}

static void touch(const char *rel)
{
	char p[256];
	snprintf(p, sizeof p, "%s/queue/%s", data, rel);
	int fd = open(p, O_WRONLY | O_CREAT, 0600);
	assert_true(fd >= 0);
	close(fd);
}

static void test_recover(void **state)
{
	(void)state;
	enqueue_batch(2, 1);
	/* What a crash can leave: a spool file, an envelope being written,
	 * a message linked without its envelope, an envelope whose message
	 * is gone, a rewrite's temporary, and a spool file of the old
	 * layout. */
	touch("incoming/S1");
	touch("incoming/S2.env");
	touch("active/LINKED");
	touch("active/GONE.env");
	touch("active/Q1.env.tmp.123");
	touch("OLD1");
	/* ...but not a message someone holds locked: being enqueued by
	 * another process (postbox sendmail) while the daemon starts. */
	touch("active/BUSY");
	char p[256];
	snprintf(p, sizeof p, "%s/queue/active/BUSY", data);
	int fd = open(p, O_RDONLY);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(spool_clean(data), 6);
	assert_true(exists("active/BUSY"));
	close(fd);
	assert_int_equal(spool_clean(data), 1);
	assert_true(exists("active/Q0") && exists("active/Q0.env"));
	assert_true(exists("active/Q1") && exists("active/Q1.env"));
	assert_false(exists("active/LINKED") || exists("active/GONE.env") ||
		     exists("incoming/S1") || exists("OLD1"));
	assert_true(exists("incoming"));
}

static void test_flush_request(void **state)
{
	(void)state;
	const char *err;
	enqueue_batch(1, 1);
	assert_int_equal(queue_request_flush(data, &err), 0);
	assert_true(exists("flush"));
	assert_int_equal(queue_request_flush(data, &err), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_batch_commit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_update_survives_and_lock, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_update_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_updates_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hold_release_remove, setup, teardown),
		cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flush_request, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
