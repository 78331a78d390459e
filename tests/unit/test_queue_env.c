/* queue/queue_env: the envelope's text survives a round trip byte for
 * byte, updates apply in order, a torn final update is ignored, and every
 * corrupt or truncated file is refused with a clear error (never a
 * crash). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_env.h"

static void make_env(struct queue_env *env)
{
	const char *err = NULL;
	assert_int_equal(queue_env_init(env, "ABC123", "al%ice@a.test", &err), 0);
	env->arrival = 1700000000;
	env->size = 5000;
	env->offset = 40;
	env->ret = QUEUE_RET_FULL;
	env->body = QUEUE_BODY_8BITMIME;
	env->smtputf8 = true;
	assert_int_equal(queue_env_set_str(&env->envid, "env\tid", QUEUE_ENVID_MAX), 0);
	assert_int_equal(queue_env_add_rcpt(env, "bob@b.test", "rfc822;bob@b.test",
					    QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY, &err), 0);
	assert_int_equal(queue_env_add_rcpt(env, "j\xc3\xb6rg@c.test", NULL, QUEUE_NOTIFY_NEVER,
					    &err), 0);
	env->rcpts[1].state = QUEUE_DEFERRED;
	env->rcpts[1].attempts = 3;
	env->rcpts[1].next = 1700000900;
	assert_int_equal(queue_env_set_str(&env->rcpts[1].reply,
					   "451-4.7.1 first line\r\n451 4.7.1 second", 1000), 0);
	assert_int_equal(queue_env_set_str(&env->rcpts[1].mta, "mx.c.test", 300), 0);
}

static void parse_ok(const struct buf *b, struct queue_env *env, size_t *valid)
{
	const char *err = NULL;
	size_t line;
	int r = queue_env_parse(b->data, b->len, env, valid, &line, &err);
	if (r < 0)
		fail_msg("parse failed at line %zu: %s", line, err);
}

static void test_round_trip(void **state)
{
	(void)state;
	struct queue_env env, back;
	struct buf a, b;
	size_t valid;
	make_env(&env);
	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	assert_int_equal(queue_env_format(&env, &a), 0);
	parse_ok(&a, &back, &valid);
	assert_int_equal(valid, a.len);
	assert_string_equal(back.id, "ABC123");
	assert_string_equal(back.sender, "al%ice@a.test");
	assert_string_equal(back.envid, "env\tid");
	assert_int_equal(back.ret, QUEUE_RET_FULL);
	assert_int_equal(back.body, QUEUE_BODY_8BITMIME);
	assert_true(back.smtputf8);
	assert_int_equal(back.arrival, 1700000000);
	assert_int_equal(back.size, 5000);
	assert_int_equal(back.offset, 40);
	assert_int_equal(back.rcpt_count, 2);
	assert_string_equal(back.rcpts[0].orcpt, "rfc822;bob@b.test");
	assert_int_equal(back.rcpts[0].notify, QUEUE_NOTIFY_FAILURE | QUEUE_NOTIFY_DELAY);
	assert_string_equal(back.rcpts[1].addr, "j\xc3\xb6rg@c.test");
	assert_int_equal(back.rcpts[1].notify, QUEUE_NOTIFY_NEVER);
	assert_int_equal(back.rcpts[1].state, QUEUE_DEFERRED);
	assert_int_equal(back.rcpts[1].attempts, 3);
	assert_int_equal(back.rcpts[1].next, 1700000900);
	assert_string_equal(back.rcpts[1].reply, "451-4.7.1 first line\r\n451 4.7.1 second");
	assert_string_equal(back.rcpts[1].mta, "mx.c.test");
	/* Byte for byte: what is read is what was written. */
	assert_int_equal(queue_env_format(&back, &b), 0);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	queue_env_clear(&back);
	queue_env_clear(&env);
	buf_free(&a);
	buf_free(&b);
}

static void test_updates_and_torn_tail(void **state)
{
	(void)state;
	struct queue_env env, back;
	struct buf a;
	size_t valid;
	make_env(&env);
	buf_init(&a, 1 << 20);
	assert_int_equal(queue_env_format(&env, &a), 0);
	env.rcpts[0].state = QUEUE_DEFERRED;
	env.rcpts[0].attempts = 1;
	assert_int_equal(queue_env_format_update(&env, 0, &a), 0);
	env.rcpts[0].state = QUEUE_SENT;
	env.rcpts[0].attempts = 2;
	assert_int_equal(queue_env_set_str(&env.rcpts[0].reply, "250 2.0.0 ok", 1000), 0);
	assert_int_equal(queue_env_format_update(&env, 0, &a), 0);
	assert_int_equal(queue_env_format_warned(&a), 0);
	size_t whole = a.len;
	parse_ok(&a, &back, &valid);
	assert_int_equal(valid, whole);
	assert_int_equal(back.rcpts[0].state, QUEUE_SENT);
	assert_int_equal(back.rcpts[0].attempts, 2);
	assert_string_equal(back.rcpts[0].reply, "250 2.0.0 ok");
	assert_true(back.warned);
	queue_env_clear(&back);
	/* A record cut by a crash: ignored, and not counted as valid. */
	assert_int_equal(buf_append_str(&a, "u\t0\tbounced\t3\t0\t\t550 x"), 0);
	parse_ok(&a, &back, &valid);
	assert_int_equal(valid, whole);
	assert_int_equal(back.rcpts[0].state, QUEUE_SENT);
	queue_env_clear(&back);
	queue_env_clear(&env);
	buf_free(&a);
}

static void expect_refused(const char *data, size_t len, const char *want)
{
	struct queue_env env;
	const char *err = NULL;
	size_t valid, line;
	assert_int_equal(queue_env_parse(data, len, &env, &valid, &line, &err), -1);
	assert_non_null(err);
	if (want != NULL && strstr(err, want) == NULL)
		fail_msg("error \"%s\" (line %zu) does not say \"%s\"", err, line, want);
	assert_int_equal(env.rcpt_count, 0);
	assert_null(env.rcpts);
}

static void test_truncated_refused(void **state)
{
	(void)state;
	struct queue_env env;
	struct buf a;
	make_env(&env);
	buf_init(&a, 1 << 20);
	assert_int_equal(queue_env_format(&env, &a), 0);
	/* Every cut before the end of "end" is refused, none crashes. */
	const char *end = strstr(a.data, "end\t");
	assert_non_null(end);
	size_t whole = (size_t)(end - a.data) + strlen("end\t2\n");
	for (size_t n = 0; n < whole; n++)
		expect_refused(a.data, n, n == 0 ? "truncated" : NULL);
	expect_refused(a.data, whole - 1, "truncated");
	queue_env_clear(&env);
	buf_free(&a);
}

static void test_corrupt_refused(void **state)
{
	(void)state;
	struct queue_env env;
	struct buf a;
	make_env(&env);
	buf_init(&a, 1 << 20);
	assert_int_equal(queue_env_format(&env, &a), 0);
	/* Each octet in turn replaced by each of a few bad values: either
	 * refused with an error, or (a harmless change) parsed, never a
	 * crash or a leak (ASan). */
	static const char bad[] = { '\0', '\t', '\n', '%', 'x', '9', '\x7f' };
	char *copy = malloc(a.len);
	for (size_t i = 0; i < a.len; i++) {
		for (size_t k = 0; k < sizeof bad; k++) {
			struct queue_env e;
			const char *err = NULL;
			size_t valid, line;
			memcpy(copy, a.data, a.len);
			copy[i] = bad[k];
			if (queue_env_parse(copy, a.len, &e, &valid, &line, &err) == 0)
				queue_env_clear(&e);
			else
				assert_non_null(err);
		}
	}
	free(copy);
	expect_refused("postbox-queue 2\n", 16, "not a postbox queue envelope");
	expect_refused("hello\n", 6, "not a postbox queue envelope");
	expect_refused("hello", 5, "truncated");
	/* The wrong recipient count at "end". */
	char *p = strstr(a.data, "end\t2");
	p[4] = '3';
	expect_refused(a.data, a.len, "count");
	p[4] = '2';
	/* An update naming a recipient that does not exist. */
	assert_int_equal(buf_append_str(&a, "u\t7\tsent\t1\t0\t\t\n"), 0);
	expect_refused(a.data, a.len, "update");
	queue_env_clear(&env);
	buf_free(&a);
}

static void test_limits(void **state)
{
	(void)state;
	struct queue_env env;
	const char *err = NULL;
	char big[1200];
	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(queue_env_init(&env, "../x", "a@b", &err), -1);
	assert_int_equal(queue_env_init(&env, "OK1", "a@b", &err), 0);
	assert_int_equal(queue_env_add_rcpt(&env, big, NULL, 0, &err), -1);
	assert_int_equal(queue_env_add_rcpt(&env, "", NULL, 0, &err), -1);
	/* A long reply is cut, and says so. */
	assert_int_equal(queue_env_add_rcpt(&env, "x@y", NULL, 0, &err), 0);
	assert_int_equal(queue_env_set_str(&env.rcpts[0].reply, big, QUEUE_REPLY_MAX), 0);
	assert_int_equal(strlen(env.rcpts[0].reply), QUEUE_REPLY_MAX);
	assert_memory_equal(env.rcpts[0].reply + QUEUE_REPLY_MAX - 3, "...", 3);
	queue_env_clear(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_updates_and_torn_tail),
		cmocka_unit_test(test_truncated_refused),
		cmocka_unit_test(test_corrupt_refused),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
