/* queue/bounce: RFC 3464 reports built from an envelope: the three parts,
 * the per-recipient fields, Action failed or delayed, the status taken
 * from the reply, the original as headers or whole, long replies folded,
 * and never a report to the null sender. (tests/integration/test_queue.py
 * parses one with python's email package.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "queue/bounce.h"

#define T0 1800000000

static void env_two(struct queue_env *env)
{
	const char *err;
	assert_int_equal(queue_env_init(env, "ORIG1", "alice@a.test", &err), 0);
	env->arrival = T0;
	assert_int_equal(queue_env_set_str(&env->envid, "E-42", 100), 0);
	assert_int_equal(queue_env_add_rcpt(env, "bob@b.test", "rfc822;Bob@B.test", 0, &err), 0);
	assert_int_equal(queue_env_add_rcpt(env, "carol@c.test", NULL, 0, &err), 0);
	env->rcpts[0].state = QUEUE_BOUNCED;
	env->rcpts[0].attempts = 1;
	queue_env_set_str(&env->rcpts[0].reply, "550 5.1.1 <bob@b.test>: no such user", 1000);
	queue_env_set_str(&env->rcpts[0].mta, "mx.b.test", 300);
	env->rcpts[1].state = QUEUE_DEFERRED;
	env->rcpts[1].attempts = 2;
	queue_env_set_str(&env->rcpts[1].reply, "451 4.7.1 greylisted", 1000);
}

static const char orig[] = "From: alice@a.test\nSubject: hi\n\nthe body\n";

static void build(const struct queue_env *env, enum bounce_kind kind, size_t i, bool full,
		  struct buf *out)
{
	const char *err = NULL;
	struct bounce_in in = {
		.env = env, .kind = kind, .rcpts = &i, .rcpt_count = 1,
		.reporting_mta = "mx.a.test", .bounce_id = "B1", .now = T0 + 60,
		.retry_until = T0 + 86400, .orig = orig,
		.orig_len = full ? strlen(orig) : strlen("From: alice@a.test\nSubject: hi\n"),
		.orig_full = full,
	};
	if (bounce_build(&in, out, &err) < 0)
		fail_msg("bounce_build: %s", err);
}

static void has(const struct buf *b, const char *s)
{
	if (strstr(b->data, s) == NULL)
		fail_msg("no \"%s\" in:\n%s", s, b->data);
}

static void test_failed_report(void **state)
{
	(void)state;
	struct queue_env env;
	struct buf b;
	env_two(&env);
	buf_init(&b, 1 << 20);
	build(&env, BOUNCE_FAILED, 0, true, &b);
	has(&b, "To: <alice@a.test>\n");
	has(&b, "Auto-Submitted: auto-replied\n");
	has(&b, "Content-Type: multipart/report; report-type=delivery-status;\n"
		"\tboundary=\"B1/mx.a.test\"\n");
	has(&b, "<bob@b.test>: host mx.b.test said: 550 5.1.1 <bob@b.test>: no such user");
	has(&b, "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx.a.test\n"
		"Original-Envelope-Id: E-42\nArrival-Date: ");
	has(&b, "\nOriginal-Recipient: rfc822;Bob@B.test\nFinal-Recipient: rfc822; bob@b.test\n"
		"Action: failed\nStatus: 5.1.1\nRemote-MTA: dns; mx.b.test\n"
		"Diagnostic-Code: smtp; 550 5.1.1 <bob@b.test>: no such user\n");
	has(&b, "Content-Type: message/rfc822\n\nFrom: alice@a.test\nSubject: hi\n\nthe body\n"
		"\n--B1/mx.a.test--\n");
	assert_null(strstr(b.data, "carol"));      /* only the one asked for */
	assert_null(strstr(b.data, "Will-Retry-Until"));
	buf_free(&b);
	queue_env_clear(&env);
}

static void test_delayed_headers_only(void **state)
{
	(void)state;
	struct queue_env env;
	struct buf b;
	env_two(&env);
	buf_init(&b, 1 << 20);
	build(&env, BOUNCE_DELAYED, 1, false, &b);
	has(&b, "Subject: Delayed Mail (still being retried)\n");
	has(&b, "Action: delayed\nStatus: 4.7.1\n");
	has(&b, "Will-Retry-Until: ");
	has(&b, "Content-Type: text/rfc822-headers\n\nFrom: alice@a.test\nSubject: hi\n\n--B1");
	assert_null(strstr(b.data, "the body"));
	buf_free(&b);
	queue_env_clear(&env);
}

static void test_status_and_folding(void **state)
{
	(void)state;
	struct queue_env env;
	struct buf b;
	char status[16];
	env_two(&env);
	/* A 4xx until the message expired: failed, 4.4.7; no reply: 4.4.1. */
	queue_env_set_str(&env.rcpts[1].reply, "421 busy", 1000);
	bounce_status(&env.rcpts[1], BOUNCE_FAILED, status);
	assert_string_equal(status, "4.4.7");
	queue_env_set_str(&env.rcpts[1].reply, "", 1000);
	bounce_status(&env.rcpts[1], BOUNCE_DELAYED, status);
	assert_string_equal(status, "4.4.1");
	/* An enhanced code of another class than the reply's is not used. */
	queue_env_set_str(&env.rcpts[1].reply, "550 4.1.1 odd", 1000);
	bounce_status(&env.rcpts[1], BOUNCE_FAILED, status);
	assert_string_equal(status, "5.0.0");
	/* A long multi-line reply: one folded field, no bare line end. */
	char reply[900];
	size_t n = 0;
	while (n + 40 < sizeof reply)
		n += (size_t)snprintf(reply + n, sizeof reply - n, "550-5.7.1 line %zu blah\r\n", n);
	queue_env_set_str(&env.rcpts[0].reply, reply, 1000);
	buf_init(&b, 1 << 20);
	build(&env, BOUNCE_FAILED, 0, false, &b);
	const char *d = strstr(b.data, "Diagnostic-Code: smtp; 550-5.7.1 line 0 blah");
	assert_non_null(d);
	for (const char *p = d; *p != '\0' && p < strstr(d, "\n\n"); p++) {
		assert_true(*p != '\r');
		if (*p == '\n') {
			assert_true(p[1] == ' ' || p[1] == '\t' || p[1] == '\n' ||
				    strncmp(p + 1, "Last-Attempt-Date", 17) == 0);
			assert_true(strchr(p + 1, '\n') - (p + 1) <= 78);
		}
	}
	buf_free(&b);
	queue_env_clear(&env);
}

/* RFC 6533 3: a UTF-8 address in utf-8-addr-xtext, the field ASCII. */
static void test_utf8_recipient(void **state)
{
	(void)state;
	struct queue_env env;
	struct buf b;
	env_two(&env);
	queue_env_set_str(&env.rcpts[0].addr, "j\xc3\xb6rg+x@b.test", 500);
	buf_init(&b, 1 << 20);
	build(&env, BOUNCE_FAILED, 0, false, &b);
	has(&b, "\nFinal-Recipient: utf-8; j\\x{F6}rg\\x{2B}x@b.test\n");
	buf_free(&b);
	queue_env_clear(&env);
}

static void test_null_sender_and_notify(void **state)
{
	(void)state;
	struct queue_env env;
	struct buf b;
	const char *err = NULL;
	size_t i = 0;
	env_two(&env);
	env.sender[0] = '\0';
	buf_init(&b, 1 << 20);
	struct bounce_in in = { .env = &env, .kind = BOUNCE_FAILED, .rcpts = &i,
				.rcpt_count = 1, .reporting_mta = "h", .bounce_id = "B",
				.orig = "", .orig_len = 0 };
	assert_int_equal(bounce_build(&in, &b, &err), -1);
	assert_int_equal(b.len, 0);
	/* NOTIFY (RFC 3461 4.1). */
	env.rcpts[0].notify = QUEUE_NOTIFY_NEVER;
	assert_false(bounce_wanted(&env.rcpts[0], BOUNCE_FAILED));
	env.rcpts[0].notify = QUEUE_NOTIFY_FAILURE;
	assert_true(bounce_wanted(&env.rcpts[0], BOUNCE_FAILED));
	assert_false(bounce_wanted(&env.rcpts[0], BOUNCE_DELAYED));
	env.rcpts[0].notify = 0;
	assert_true(bounce_wanted(&env.rcpts[0], BOUNCE_DELAYED));
	buf_free(&b);
	queue_env_clear(&env);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_report),
		cmocka_unit_test(test_delayed_headers_only),
		cmocka_unit_test(test_status_and_folding),
		cmocka_unit_test(test_utf8_recipient),
		cmocka_unit_test(test_null_sender_and_notify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
