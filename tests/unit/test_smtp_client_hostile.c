/* The SMTP client against a server that refuses, lies or vanishes: the
 * session ends with every recipient deferred and a reason, never reads
 * without bound, never hangs (test_smtp_client_common.h). */
#include "test_smtp_client_common.h"

#define MAIL_OUT "C: MAIL FROM:<alice@a.test> SIZE=2\n" \
	"C: RCPT TO:<bob@b.test>\n" \
	"C: DATA\n"
#define BOB_DEFERRED(why) \
	"E: rcpt bob@b.test defer conn 451 4.5.0 | protocol error: " why "\n" \
	"E: msg 0 defer conn 451 4.5.0\n" \
	"E: closed defer 451 4.5.0 | protocol error: " why "\n"

static void one_msg(struct fixture *f)
{
	fixture_init(f);
	add_msg(f, "alice@a.test", "bob@b.test", "x\n");
}

/* RFC 5321 3.1: 554 greeting: QUIT and next MX; 421: just close. */
static void test_greeting_refused(void **state)
{
	struct fixture f;
	one_msg(&f);
	const char *s554[] = { "S:554 5.7.1 no service for you\r\n", NULL };
	transcript(&f, s554, "E: closed defer 554 4.7.1 | 554 5.7.1 no service for you\nC: QUIT\n");
	const char *s421[] = { "S:421-mx.b.test busy\r\n421 try later\r\n", NULL };
	transcript(&f, s421, "E: closed defer 421 4.0.0 | 421-mx.b.test busy 421 try later\n");
	(void)state;
}

/* A garbled, over-long or endless reply is a protocol error: the
 * recipients in flight are deferred (the next MX may do better). */
static void test_garbage_replies(void **state)
{
	struct fixture f;
	one_msg(&f);
	const char *code[] = { GREET, EHLO_FULL, "S:2x0 ok\r\n", NULL };
	transcript(&f, code, "C: EHLO mx.a.test\n" MAIL_OUT BOB_DEFERRED("malformed reply code"));
	const char *mixed[] = { GREET, EHLO_FULL, "S:250-ok\r\n251 also ok\r\n", NULL };
	transcript(&f, mixed, "C: EHLO mx.a.test\n" MAIL_OUT BOB_DEFERRED("reply lines with different codes"));
	const char *ctl[] = { GREET, EHLO_FULL, "S:250 o\x01k\r\n", NULL };
	transcript(&f, ctl, "C: EHLO mx.a.test\n" MAIL_OUT BOB_DEFERRED("control octet in reply text"));
	const char *sep[] = { GREET, EHLO_FULL, "S:250_ok\r\n", NULL };
	transcript(&f, sep, "C: EHLO mx.a.test\n" MAIL_OUT BOB_DEFERRED("malformed reply code"));
	const char *one[] = { GREET, EHLO_FULL, "S:1\r\n", NULL };
	transcript(&f, one, "C: EHLO mx.a.test\n" MAIL_OUT BOB_DEFERRED("malformed reply code"));
	const char *cls[] = { GREET, EHLO_FULL, "S:650 ok\r\n", NULL };
	transcript(&f, cls, "C: EHLO mx.a.test\n" MAIL_OUT BOB_DEFERRED("malformed reply code"));
	(void)state;
}

static void test_long_replies(void **state)
{
	struct fixture f;
	one_msg(&f);
	/* 2048 octets with CRLF is the most a line may have; one more is
	 * an error. */
	static char ok[2100], over[2100];
	snprintf(ok, sizeof ok, "S:250 %02042d\r\n", 0);
	snprintf(over, sizeof over, "S:250 %02043d\r\n", 0);
	assert_int_equal(strlen(ok), 2 + 2048);
	const char *fits[] = { GREET, ok, NULL };
	run_both(&f, fits);
	assert_string_equal(f.log.data, "C: EHLO mx.a.test\nC: MAIL FROM:<alice@a.test>\n");
	buf_free(&f.log);
	buf_free(&f.raw);
	const char *too_long[] = { GREET, EHLO_FULL, over, NULL };
	transcript(&f, too_long, "C: EHLO mx.a.test\n" MAIL_OUT BOB_DEFERRED("reply line too long"));
	/* 1,000 continuation lines: cut at 100 lines, nothing kept. */
	struct buf many;
	buf_init(&many, 1 << 20);
	buf_append_str(&many, "S:");
	for (int i = 0; i < 1000; i++)
		buf_append_str(&many, "250-PIPELINING\r\n");
	buf_append_str(&many, "250 OK\r\n");
	const char *lines[] = { GREET, many.data, NULL };
	transcript(&f, lines,
		   "C: EHLO mx.a.test\n"
		   "E: closed defer 451 4.5.0 | protocol error: reply has too many lines\n");
	buf_free(&many);
	(void)state;
}

/* Replies nobody asked for, or that make no sense for the command. */
static void test_unexpected_replies(void **state)
{
	struct fixture f;
	one_msg(&f);
	f.hold = true;   /* idle: no command out */
	const char *extra[] = { GREET, "S:250 ok\r\n250 again\r\n", NULL };
	transcript(&f, extra,
		   "C: EHLO mx.a.test\n"
		   "E: closed defer 451 4.5.0 | protocol error: reply to no command: 250 again\n");
	f.hold = false;
	const char *data250[] = { GREET, EHLO_FULL, "S:250 ok\r\n250 ok\r\n250 ok\r\n", NULL };
	transcript(&f, data250,
		   "C: EHLO mx.a.test\n" MAIL_OUT BOB_DEFERRED("unexpected reply: 250 ok"));
	const char *rcpt354[] = { GREET, EHLO_FULL, "S:250 ok\r\n354 ok\r\n", NULL };
	transcript(&f, rcpt354,
		   "C: EHLO mx.a.test\n" MAIL_OUT BOB_DEFERRED("unexpected reply: 354 ok"));
	/* A reply while the content goes out (the server cannot have read
	 * the end yet). */
	f.async_body = true;
	const char *early[] = {
		GREET, EHLO_FULL, "S:250 ok\r\n250 ok\r\n354 go\r\n", "S:250 ok\r\n", "!body", NULL,
	};
	transcript(&f, early,
		   "C: EHLO mx.a.test\n" MAIL_OUT BOB_DEFERRED("reply to no command: 250 ok"));
	/* A bare LF ends a reply line too (a lenient reader). */
	f.async_body = false;
	const char *lf[] = {
		GREET, "S:250-mx.b.test\n250 PIPELINING\n", "S:250 ok\n250 ok\n354 go\n",
		"S:250 ok\n", "S:221 bye\n", NULL,
	};
	transcript(&f, lf,
		   "C: EHLO mx.a.test\nC: MAIL FROM:<alice@a.test>\nC: RCPT TO:<bob@b.test>\nC: DATA\n"
		   "C: x\nC: .\n"
		   "E: rcpt bob@b.test sent msg 250 2.0.0 end of data | 250 ok\n"
		   "E: msg 0 sent msg 250 2.0.0\nC: QUIT\nE: closed sent 221 2.0.0 | 221 bye\n");
	(void)state;
}

/* The connection lost at any point: deferred with the reason; after
 * QUIT it is a normal end; nothing after closed reaches the caller. */
static void test_lost(void **state)
{
	struct fixture f;
	one_msg(&f);
	f.async_body = true;
	const char *mid_data[] = {
		GREET, EHLO_FULL, "S:250 ok\r\n250 ok\r\n354 go\r\n", "!lost", "!body", "S:250 ok\r\n", NULL,
	};
	transcript(&f, mid_data,
		   "C: EHLO mx.a.test\n" MAIL_OUT
		   "E: rcpt bob@b.test defer conn 451 4.4.2 | lost connection in state CONTENT: connection reset\n"
		   "E: msg 0 defer conn 451 4.4.2\n"
		   "E: closed defer 451 4.4.2 | lost connection in state CONTENT: connection reset\n");
	f.async_body = false;
	const char *end[] = {
		GREET, EHLO_FULL, "S:250 ok\r\n250 ok\r\n354 go\r\n", "!lost", NULL,
	};
	transcript(&f, end,
		   "C: EHLO mx.a.test\n" MAIL_OUT "C: x\nC: .\n"
		   "E: rcpt bob@b.test defer conn 451 4.4.2 | lost connection in state END: connection reset\n"
		   "E: msg 0 defer conn 451 4.4.2\n"
		   "E: closed defer 451 4.4.2 | lost connection in state END: connection reset\n");
	const char *quit[] = {
		GREET, EHLO_FULL, "S:250 ok\r\n250 ok\r\n354 go\r\n", "S:250 ok\r\n", "!lost", NULL,
	};
	transcript(&f, quit,
		   "C: EHLO mx.a.test\n" MAIL_OUT "C: x\nC: .\n"
		   "E: rcpt bob@b.test sent msg 250 2.0.0 end of data | 250 ok\n"
		   "E: msg 0 sent msg 250 2.0.0\nC: QUIT\n"
		   "E: closed sent 221 2.0.0 | connection closed after QUIT\n");
	(void)state;
}

/* A read error of the spool: the message is deferred, the session ends
 * (half-sent content can only be ended by closing). */
static void h_failing_read(void *ctx, const struct smtp_client_msg *m, size_t max)
{
	struct fixture *f = ctx;
	(void)m;
	(void)max;
	smtp_client_body_done(f->c, NULL, 0, false, true);
}

static void test_read_error(void **state)
{
	struct fixture f;
	one_msg(&f);
	struct smtp_client_hooks h = hooks;
	h.body_read = h_failing_read;
	f.c = smtp_client_new(&f.set, &h, &f, "t", false);
	buf_init(&f.log, 1 << 16);
	buf_init(&f.raw, 1 << 16);
	buf_init(&f.partial, 1 << 16);
	const char *r = "220 hi\r\n250-x\r\n250 PIPELINING\r\n250 ok\r\n250 ok\r\n354 go\r\n";
	smtp_client_input(f.c, r, strlen(r));
	drain(&f);
	assert_string_equal(f.log.data,
			    "E: rcpt bob@b.test defer conn 451 4.3.0 | the message content could not be read\n"
			    "E: msg 0 defer conn 451 4.3.0\n"
			    "E: closed defer 451 4.3.0 | the message content could not be read\n"
			    "C: EHLO mx.a.test\nC: MAIL FROM:<alice@a.test>\nC: RCPT TO:<bob@b.test>\nC: DATA\n");
	assert_true(smtp_client_closed(f.c));
	smtp_client_free(&f.c);
	buf_free(&f.log);
	buf_free(&f.raw);
	buf_free(&f.partial);
	(void)state;
}

/* RFC 5321 4.5.3.2: how long the transport waits in each state. */
static void test_timeouts(void **state)
{
	struct fixture f;
	one_msg(&f);
	f.async_body = true;
	f.c = smtp_client_new(&f.set, &hooks, &f, "t", false);
	buf_init(&f.log, 1 << 16);
	assert_int_equal(smtp_client_timeout(f.c), 300);          /* 4.5.3.2.1 greeting */
	const char *r = "220 hi\r\n250-x\r\n250 PIPELINING\r\n250 ok\r\n250 ok\r\n";
	smtp_client_input(f.c, r, strlen(r));
	assert_int_equal(smtp_client_timeout(f.c), 120);          /* 4.5.3.2.4 DATA */
	smtp_client_input(f.c, "354 go\r\n", 8);
	assert_int_equal(smtp_client_timeout(f.c), 180);          /* 4.5.3.2.5 block */
	answer_body(&f, &f.msgs[0], f.body_want);
	assert_int_equal(smtp_client_timeout(f.c), 600);          /* 4.5.3.2.6 end */
	smtp_client_free(&f.c);
	buf_free(&f.log);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting_refused),
		cmocka_unit_test(test_garbage_replies),
		cmocka_unit_test(test_long_replies),
		cmocka_unit_test(test_unexpected_replies),
		cmocka_unit_test(test_lost),
		cmocka_unit_test(test_read_error),
		cmocka_unit_test(test_timeouts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
