/* Helpers shared by the test_queue_*.c and test_flush_watch.c files:
 * queueing messages through the real API. Included, not compiled alone. */
#include <stdio.h>
#include <string.h>

#include "queue/queue_store.h"
#include "queue/spool.h"

#define TEST_MSG "Return-Path: <s@a.test>\nSubject: q\n\nbody\n"
#define TEST_MSG_OFFSET 24

/* Queues n messages ids[] from s@a.test, each to the nrcpt addresses
 * rcpts[] (all due at arrival), in one group commit; each must succeed. */
__attribute__((unused)) static void queue_test_batch(const char *data, const char *const *ids,
						     size_t n, const char *const *rcpts,
						     size_t nrcpt, int64_t arrival)
{
	struct queue_env env[8];
	struct spool_file sf[8];
	struct queue_commit c[8], *cp[8];
	const char *err;
	assert_true(n <= 8);
	for (size_t k = 0; k < n; k++) {
		assert_int_equal(queue_env_init(&env[k], ids[k], "s@a.test", &err), 0);
		env[k].arrival = arrival;
		for (size_t r = 0; r < nrcpt; r++)
			assert_int_equal(queue_env_add_rcpt(&env[k], rcpts[r], NULL, 0, &err), 0);
		assert_int_equal(spool_create(data, ids[k], &sf[k], &err), 0);
		assert_int_equal(spool_append(&sf[k], TEST_MSG, strlen(TEST_MSG)), 0);
		env[k].size = sf[k].size;
		env[k].offset = TEST_MSG_OFFSET;
		c[k] = (struct queue_commit){ &env[k], sf[k].path, sf[k].fd, NULL };
		cp[k] = &c[k];
	}
	queue_commit_batch(data, cp, n);
	for (size_t k = 0; k < n; k++) {
		assert_null(c[k].error);
		spool_remove(&sf[k]);
		queue_env_clear(&env[k]);
	}
}

/* One message id to r@b.test. */
__attribute__((unused)) static void queue_test_one(const char *data, const char *id,
						   int64_t arrival)
{
	static const char *const rcpt[] = { "r@b.test" };
	queue_test_batch(data, &id, 1, rcpt, 1, arrival);
}
