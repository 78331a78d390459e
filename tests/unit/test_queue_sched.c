/* queue/queue_sched: the retry schedule on a fixed clock (first attempt at
 * once, then the [queue] retry intervals, the last repeating), the bounce
 * at max_age after one last attempt, the delay warning once after
 * warn_after, and the index of due messages (earliest first, moves,
 * removals, flush, loading a queue at start by saved due times). */
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
#include "queue/queue_sched.h"
#include "queue/queue_store.h"
#include "queue/spool.h"
#include "test_queue_common.h"

#define T0 1800000000

static void policy(struct queue_policy *p, unsigned warn_after)
{
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.retry[0] = 300;
	cfg.retry[1] = 600;
	cfg.retry[2] = 3600;
	cfg.retry_count = 3;
	cfg.max_age = 86400;
	cfg.warn_after = warn_after;
	queue_policy_from_config(p, &cfg);
}

static void one_rcpt(struct queue_env *env, unsigned notify)
{
	const char *err;
	assert_int_equal(queue_env_init(env, "M1", "s@a.test", &err), 0);
	env->arrival = T0;
	assert_int_equal(queue_env_add_rcpt(env, "r@b.test", NULL, notify, &err), 0);
}

static void test_retry_schedule(void **state)
{
	(void)state;
	struct queue_policy p;
	struct queue_env env;
	policy(&p, 0);
	one_rcpt(&env, 0);
	/* First attempt at once: due at arrival. */
	assert_int_equal(queue_env_due(&env), T0);
	int64_t now = T0;
	static const int64_t waits[] = { 300, 600, 3600, 3600, 3600 };
	for (size_t k = 0; k < 5; k++) {
		assert_int_equal(queue_record_attempt(&p, &env, 0, 451, "mx", "451 later", now),
				 QUEUE_DEFERRED);
		assert_int_equal(env.rcpts[0].attempts, k + 1);
		assert_int_equal(queue_env_due(&env), now + waits[k]);
		now += waits[k];
	}
	/* No reply at all (connection refused) is temporary too. */
	assert_int_equal(queue_record_attempt(&p, &env, 0, 0, NULL, "connection refused", now),
			 QUEUE_DEFERRED);
	assert_string_equal(env.rcpts[0].reply, "connection refused");
	assert_int_equal(queue_record_attempt(&p, &env, 0, 250, "mx", "250 ok", now), QUEUE_SENT);
	assert_int_equal(queue_env_due(&env), INT64_MAX);
	queue_env_clear(&env);
}

static void test_max_age_bounces(void **state)
{
	(void)state;
	struct queue_policy p;
	struct queue_env env;
	policy(&p, 0);
	one_rcpt(&env, 0);
	/* Late in its life the next retry is clamped to the expiry... */
	int64_t now = T0 + 86400 - 100;
	env.rcpts[0].attempts = 10;
	assert_int_equal(queue_record_attempt(&p, &env, 0, 421, "mx", "421 busy", now),
			 QUEUE_DEFERRED);
	assert_int_equal(env.rcpts[0].next, T0 + 86400);
	/* ...where one last attempt that fails bounces. */
	assert_int_equal(queue_record_attempt(&p, &env, 0, 421, "mx", "421 busy", T0 + 86400),
			 QUEUE_BOUNCED);
	queue_env_clear(&env);
	/* A 5xx bounces at once. */
	one_rcpt(&env, 0);
	assert_int_equal(queue_record_attempt(&p, &env, 0, 550, "mx", "550 no", T0), QUEUE_BOUNCED);
	queue_env_clear(&env);
	assert_int_equal(queue_expiry(&p, T0), T0 + 86400);
	assert_int_equal(queue_retry_delay(&p, 1), 300);
	assert_int_equal(queue_retry_delay(&p, 99), 3600);
}

static void test_delay_warning(void **state)
{
	(void)state;
	struct queue_policy p, off;
	struct queue_env env;
	policy(&p, 4 * 3600);
	policy(&off, 0);
	one_rcpt(&env, 0);
	assert_int_equal(queue_record_attempt(&p, &env, 0, 451, "mx", "451", T0), QUEUE_DEFERRED);
	assert_false(queue_warn_due(&p, &env, T0 + 4 * 3600 - 1));
	assert_true(queue_warn_due(&p, &env, T0 + 4 * 3600));
	assert_false(queue_warn_due(&off, &env, T0 + 80000));
	env.warned = true;          /* once only */
	assert_false(queue_warn_due(&p, &env, T0 + 80000));
	queue_env_clear(&env);
	/* NOTIFY=FAILURE only: no delay notice; null sender: never. */
	one_rcpt(&env, QUEUE_NOTIFY_FAILURE);
	assert_int_equal(queue_record_attempt(&p, &env, 0, 451, "mx", "451", T0), QUEUE_DEFERRED);
	assert_false(queue_warn_due(&p, &env, T0 + 80000));
	env.rcpts[0].notify = QUEUE_NOTIFY_DELAY;
	assert_true(queue_warn_due(&p, &env, T0 + 80000));
	env.sender[0] = '\0';
	assert_false(queue_warn_due(&p, &env, T0 + 80000));
	queue_env_clear(&env);
}

static void test_index_order(void **state)
{
	(void)state;
	struct queue_index *idx = queue_index_new();
	char id[QUEUE_ID_MAX + 1], want[QUEUE_ID_MAX + 1];
	/* 2000 messages in a scrambled order; then some moved and removed. */
	for (unsigned i = 0; i < 2000; i++) {
		snprintf(id, sizeof id, "M%u", i);
		assert_int_equal(queue_index_set(idx, id, T0 + (int64_t)((i * 7919u) % 2000)), 0);
	}
	assert_int_equal(queue_index_count(idx), 2000);
	assert_true(queue_index_contains(idx, "M1999"));
	assert_false(queue_index_contains(idx, "M2000"));
	assert_int_equal(queue_index_set(idx, "M5", T0 - 10), 0);      /* moved first */
	assert_true(queue_index_remove(idx, "M0"));                     /* was due T0 */
	assert_false(queue_index_remove(idx, "M0"));
	assert_int_equal(queue_index_set(idx, "../x", T0), -1);
	assert_int_equal(queue_index_next_due(idx), T0 - 10);
	assert_false(queue_index_pop_due(idx, T0 - 11, id));            /* not yet */
	assert_true(queue_index_pop_due(idx, T0 - 10, id));
	assert_string_equal(id, "M5");
	int64_t last = INT64_MIN;
	size_t popped = 0;
	while (queue_index_pop_due(idx, T0 + 5000, id)) {
		unsigned i = (unsigned)strtoul(id + 1, NULL, 10);
		int64_t due = T0 + (int64_t)((i * 7919u) % 2000);
		assert_true(due >= last);
		last = due;
		popped++;
		/* every entry still findable by id while others go */
		if (popped == 1000) {
			snprintf(want, sizeof want, "M%u", 1998u);
			assert_int_equal(queue_index_contains(idx, want),
					 (1998u * 7919u) % 2000 > (unsigned)(last - T0));
		}
	}
	assert_int_equal(popped, 1998);
	assert_int_equal(queue_index_next_due(idx), INT64_MAX);
	queue_index_free(&idx);
	assert_null(idx);
}

static void test_index_flush(void **state)
{
	(void)state;
	struct queue_index *idx = queue_index_new();
	char id[QUEUE_ID_MAX + 1];
	assert_int_equal(queue_index_set(idx, "A", T0 + 3600), 0);
	assert_int_equal(queue_index_set(idx, "B", T0 + 60), 0);
	assert_int_equal(queue_index_set(idx, "C", T0 - 5), 0);
	queue_index_all_due(idx, T0);
	size_t n = 0;
	while (queue_index_pop_due(idx, T0, id))
		n++;
	assert_int_equal(n, 3);
	queue_index_free(&idx);
}

/* A queue on disk: one message due later, one held, one done. The index
 * at start holds the first at its saved time only; a flush adds what
 * appeared on disk since and makes all due. */
static void enqueue(const char *data, const char *id, int64_t next, enum queue_rcpt_state st)
{
	struct queue_msg m;
	const char *err;
	size_t i = 0;
	queue_test_one(data, id, T0);
	assert_int_equal(queue_open(data, id, false, &m, &err), 0);
	m.env.rcpts[0].next = next;
	m.env.rcpts[0].state = st;
	assert_int_equal(queue_update(&m, &i, 1, &err), 0);
	queue_close(&m);
}

static void test_index_load(void **state)
{
	(void)state;
	char data[] = "/tmp/test_queue_sched.XXXXXX";
	assert_non_null(mkdtemp(data));
	enqueue(data, "LATER", T0 + 900, QUEUE_DEFERRED);
	enqueue(data, "HELD", T0, QUEUE_HELD);
	enqueue(data, "DONE", T0, QUEUE_SENT);
	struct queue_index *idx = queue_index_new();
	assert_int_equal(queue_index_load(idx, data), 1);
	assert_int_equal(queue_index_next_due(idx), T0 + 900);
	assert_false(queue_index_contains(idx, "HELD"));
	enqueue(data, "NEW", T0 + 50, QUEUE_PENDING);
	assert_int_equal(queue_index_flush(idx, data, T0 + 1), 2);
	assert_true(queue_index_contains(idx, "NEW"));
	assert_int_equal(queue_index_next_due(idx), T0 + 1);
	queue_index_free(&idx);
	assert_int_equal(fs_remove_tree_at(AT_FDCWD, data, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retry_schedule),
		cmocka_unit_test(test_max_age_bounces),
		cmocka_unit_test(test_delay_warning),
		cmocka_unit_test(test_index_order),
		cmocka_unit_test(test_index_flush),
		cmocka_unit_test(test_index_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
