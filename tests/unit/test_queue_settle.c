/* queue/queue_settle: after an attempt, a bounce is queued for the
 * recipients that failed (null sender, to the sender) and their state is
 * durable; the delay warning goes out once; the message leaves the queue
 * when nobody is left; the log line is Postfix-greppable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/fs.h"
#include "queue/bounce.h"
#include "queue/queue_settle.h"
#include "test_queue_common.h"

#define T0 1800000000

static char data[64];

static void policy(struct queue_policy *p)
{
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.retry[0] = 300;
	cfg.retry_count = 1;
	cfg.max_age = 86400;
	cfg.warn_after = 3600;
	queue_policy_from_config(p, &cfg);
}

struct found {
	char ids[8][QUEUE_ID_MAX + 1];
	size_t n;
};

static void note(const char *id, void *arg)
{
	struct found *f = arg;
	if (f->n < 8)
		memcpy(f->ids[f->n++], id, strlen(id) + 1);
}

/* The queued messages other than M: the notifications. */
static size_t notices(struct queue_env *out, size_t max)
{
	struct found f = { .n = 0 };
	const char *err;
	size_t k = 0;
	queue_scan(data, note, &f);
	for (size_t i = 0; i < f.n && k < max; i++) {
		if (strcmp(f.ids[i], "M") != 0)
			assert_int_equal(queue_read_env(data, f.ids[i], &out[k++], &err), 0);
	}
	return k;
}

static void test_settle(void **state)
{
	(void)state;
	static const char *const ids[] = { "M" };
	static const char *const rcpts[] = { "a@b.test", "b@b.test", "c@c.test" };
	struct queue_policy p;
	struct queue_msg m;
	struct queue_env n[4];
	const char *err;
	int64_t next;
	snprintf(data, sizeof data, "/tmp/test_queue_settle.XXXXXX");
	assert_non_null(mkdtemp(data));
	policy(&p);
	queue_test_batch(data, ids, 1, rcpts, 3, T0);

	/* First attempt: sent, bounced, deferred. */
	size_t idx[3] = { 0, 1, 2 };
	assert_int_equal(queue_open(data, "M", false, &m, &err), 0);
	queue_record_attempt(&p, &m.env, 0, 250, "mx.b.test", "250 2.0.0 ok", T0);
	queue_record_attempt(&p, &m.env, 1, 550, "mx.b.test", "550 5.1.1 unknown", T0);
	queue_record_attempt(&p, &m.env, 2, 451, "mx.c.test", "451 4.7.1 later", T0);
	struct queue_settle_io io = { .queued_count = 0 };
	assert_int_equal(queue_settle(&m, &p, "mx.a.test", idx, 3, T0, &io, &next, &err), 0);
	assert_int_equal(m.msg_fd, -1);   /* closed */
	assert_int_equal(next, T0 + 300);
	assert_int_equal(notices(n, 4), 1);
	/* The driver learns the bounce's id, for its due index. */
	assert_int_equal(io.queued_count, 1);
	assert_string_equal(io.queued[0], n[0].id);
	assert_string_equal(n[0].sender, "");
	assert_int_equal(n[0].rcpt_count, 1);
	assert_string_equal(n[0].rcpts[0].addr, "s@a.test");
	queue_env_clear(&n[0]);
	assert_int_equal(queue_read_env(data, "M", &n[0], &err), 0);
	assert_int_equal(n[0].rcpts[0].state, QUEUE_SENT);
	assert_int_equal(n[0].rcpts[1].state, QUEUE_BOUNCED);
	assert_int_equal(n[0].rcpts[2].state, QUEUE_DEFERRED);
	queue_env_clear(&n[0]);

	/* Two hours later, still failing: one delay warning, once. */
	for (int round = 0; round < 2; round++) {
		int64_t now = T0 + 7200 + round * 300;
		size_t two = 2;
		assert_int_equal(queue_open(data, "M", false, &m, &err), 0);
		queue_record_attempt(&p, &m.env, 2, 451, "mx.c.test", "451 4.7.1 later", now);
		assert_int_equal(queue_settle(&m, &p, "mx.a.test", &two, 1, now, NULL, &next, &err),
				 0);
		size_t k = notices(n, 4);
		assert_int_equal(k, 2);
		for (size_t i = 0; i < k; i++)
			queue_env_clear(&n[i]);
	}
	assert_int_equal(queue_read_env(data, "M", &n[0], &err), 0);
	assert_true(n[0].warned);
	queue_env_clear(&n[0]);

	/* Delivered at last: the message leaves the queue. */
	size_t two = 2;
	assert_int_equal(queue_open(data, "M", false, &m, &err), 0);
	queue_record_attempt(&p, &m.env, 2, 250, "mx.c.test", "250 ok", T0 + 9000);
	assert_int_equal(queue_settle(&m, &p, "mx.a.test", &two, 1, T0 + 9000, NULL, &next, &err),
			 0);
	assert_int_equal(next, INT64_MAX);
	assert_int_equal(queue_read_env(data, "M", &n[0], &err), -1);
	assert_int_equal(fs_remove_tree_at(AT_FDCWD, data, 8), 0);
}

/* The driver's hook: takes the notification (0) or has it queued (1). */
static int take(void *ctx, struct bounce_out *out)
{
	int *calls = ctx;
	assert_string_equal(out->env.sender, "");
	assert_string_equal(out->env.rcpts[0].addr, "s@a.test");
	assert_true(out->spool.fd >= 0);
	return (*calls)++ == 0 ? 0 : 1;
}

static void test_notify_hook(void **state)
{
	(void)state;
	static const char *const ids[] = { "M" };
	static const char *const rcpts[] = { "a@b.test", "b@b.test" };
	struct queue_policy p;
	struct queue_msg m;
	struct queue_env n[2];
	const char *err;
	int64_t next;
	int calls = 0;
	snprintf(data, sizeof data, "/tmp/test_queue_settle.XXXXXX");
	assert_non_null(mkdtemp(data));
	policy(&p);
	queue_test_batch(data, ids, 1, rcpts, 2, T0);

	/* Taken by the hook: delivered by the driver, not queued. */
	size_t one = 0, two = 1;
	struct queue_settle_io io = { .notify = take, .ctx = &calls };
	assert_int_equal(queue_open(data, "M", false, &m, &err), 0);
	queue_record_attempt(&p, &m.env, 0, 550, "mx.b.test", "550 5.1.1 unknown", T0);
	assert_int_equal(queue_settle(&m, &p, "mx.a.test", &one, 1, T0, &io, &next, &err), 0);
	assert_int_equal(calls, 1);
	assert_int_equal(io.queued_count, 0);
	assert_int_equal(notices(n, 2), 0);

	/* Left to the queue: queued, and its id returned. */
	assert_int_equal(queue_open(data, "M", false, &m, &err), 0);
	queue_record_attempt(&p, &m.env, 1, 550, "mx.b.test", "550 5.1.1 unknown", T0);
	assert_int_equal(queue_settle(&m, &p, "mx.a.test", &two, 1, T0, &io, &next, &err), 0);
	assert_int_equal(calls, 2);
	assert_int_equal(io.queued_count, 1);
	assert_int_equal(notices(n, 2), 1);
	assert_string_equal(io.queued[0], n[0].id);
	queue_env_clear(&n[0]);
	assert_int_equal(next, INT64_MAX);   /* both bounced: removed */
	assert_int_equal(fs_remove_tree_at(AT_FDCWD, data, 8), 0);
}

static void test_log_line(void **state)
{
	(void)state;
	struct queue_env env;
	struct buf b;
	const char *err;
	assert_int_equal(queue_env_init(&env, "Q1", "s@a.test", &err), 0);
	env.arrival = T0;
	assert_int_equal(queue_env_add_rcpt(&env, "r@b.test", "rfc822;R@b.test", 0, &err), 0);
	assert_int_equal(queue_env_add_rcpt(&env, "x@c.test", NULL, 0, &err), 0);
	queue_env_set_str(&env.rcpts[0].mta, "mx.b.test", 300);
	queue_env_set_str(&env.rcpts[0].reply, "451 4.7.1 later", 1000);
	env.rcpts[0].state = QUEUE_DEFERRED;
	env.rcpts[0].attempts = 3;
	buf_init(&b, 4096);
	assert_int_equal(queue_attempt_line(&env, 0, NULL, T0 + 754, &b), 0);
	assert_string_equal(b.data, "Q1: to=<r@b.test>, orig_to=<rfc822;R@b.test>, "
				    "relay=mx.b.test, delay=754, attempts=3, dsn=4.7.1, "
				    "status=deferred (451 4.7.1 later)");
	buf_reset(&b);
	assert_int_equal(queue_attempt_line(&env, 0, "mx.b.test[192.0.2.1]:25", T0, &b), 0);
	assert_string_equal(b.data, "Q1: to=<r@b.test>, orig_to=<rfc822;R@b.test>, "
				    "relay=mx.b.test[192.0.2.1]:25, delay=0, attempts=3, "
				    "dsn=4.7.1, status=deferred (451 4.7.1 later)");
	buf_reset(&b);
	assert_int_equal(queue_attempt_line(&env, 1, NULL, T0, &b), 0);
	assert_string_equal(b.data, "Q1: to=<x@c.test>, relay=none, delay=0, attempts=0, "
				    "dsn=4.0.0, status=pending (no reply)");
	buf_free(&b);
	queue_env_clear(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_settle),
		cmocka_unit_test(test_notify_hook),
		cmocka_unit_test(test_log_line),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
