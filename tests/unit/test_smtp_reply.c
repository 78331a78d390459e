/* The client's reply reader (RFC 5321 4.2, RFC 3463, RFC 2034) and EHLO
 * keywords (RFC 5321 4.1.1.1). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "smtp/smtp_reply.h"

/* Feeds s whole and octet by octet: one reply, all of s used. */
static void read_one(struct smtp_reply_reader *r, const char *s)
{
	size_t used;
	const char *why = NULL;
	assert_int_equal(smtp_reply_feed(r, s, strlen(s), &used, &why), SMTP_REPLY_READY);
	assert_int_equal(used, strlen(s));
	struct smtp_reply_reader t;
	smtp_reply_reader_init(&t);
	for (size_t i = 0; i < strlen(s); i++) {
		enum smtp_reply_result res = smtp_reply_feed(&t, s + i, 1, &used, &why);
		assert_int_equal(used, 1);
		assert_int_equal(res, i + 1 == strlen(s) ? SMTP_REPLY_READY : SMTP_REPLY_NEED_MORE);
	}
	assert_int_equal(t.reply.code, r->reply.code);
	assert_string_equal(t.reply.text.data, r->reply.text.data);
	assert_string_equal(t.reply.enhanced, r->reply.enhanced);
	smtp_reply_reader_free(&t);
}

static const char *read_error_n(const char *s, size_t n)
{
	struct smtp_reply_reader r;
	size_t used;
	const char *why = NULL;
	smtp_reply_reader_init(&r);
	enum smtp_reply_result res = smtp_reply_feed(&r, s, n, &used, &why);
	assert_int_equal(res, SMTP_REPLY_ERROR);
	/* And for good. */
	assert_int_equal(smtp_reply_feed(&r, "250 ok\r\n", 8, &used, &why), SMTP_REPLY_ERROR);
	assert_int_equal(used, 0);
	smtp_reply_reader_free(&r);
	return why;
}

static const char *read_error(const char *s)
{
	return read_error_n(s, strlen(s));
}

static void test_replies(void **state)
{
	struct smtp_reply_reader r;
	smtp_reply_reader_init(&r);
	read_one(&r, "250 2.1.0 Ok\r\n");
	assert_int_equal(r.reply.code, 250);
	assert_string_equal(r.reply.enhanced, "2.1.0");
	assert_string_equal(r.reply.text.data, "250 2.1.0 Ok");
	read_one(&r, "550-5.1.1 No such user\r\n550 5.1.1 https://x.test/why\r\n");
	assert_string_equal(r.reply.enhanced, "5.1.1");
	assert_string_equal(r.reply.text.data, "550-5.1.1 No such user 550 5.1.1 https://x.test/why");
	assert_int_equal(r.reply.lines, 2);
	read_one(&r, "250\r\n");
	assert_int_equal(r.reply.code, 250);
	assert_string_equal(r.reply.enhanced, "");
	read_one(&r, "354 \n");   /* bare LF tolerated */
	assert_int_equal(r.reply.code, 354);
	/* RFC 3463 2: the class must be the reply's; 1-3 digits each. */
	read_one(&r, "550 4.1.1 odd\r\n");
	assert_string_equal(r.reply.enhanced, "");
	read_one(&r, "250 2.1.1000 x\r\n");
	assert_string_equal(r.reply.enhanced, "");
	read_one(&r, "250 2.1.0x\r\n");
	assert_string_equal(r.reply.enhanced, "");
	read_one(&r, "452 4.5.3\r\n");
	assert_string_equal(r.reply.enhanced, "4.5.3");
	read_one(&r, "250 2.999.999 y\r\n");
	assert_string_equal(r.reply.enhanced, "2.999.999");
	/* Two replies in one feed: the first ends where it ends. */
	size_t used;
	const char *why;
	assert_int_equal(smtp_reply_feed(&r, "250 a\r\n251 b\r\n", 14, &used, &why), SMTP_REPLY_READY);
	assert_int_equal(used, 7);
	assert_int_equal(smtp_reply_feed(&r, "251 b\r\n", 7, &used, &why), SMTP_REPLY_READY);
	assert_int_equal(r.reply.code, 251);
	smtp_reply_reader_free(&r);
	(void)state;
}

static void test_errors(void **state)
{
	assert_string_equal(read_error("25O ok\r\n"), "malformed reply code");
	assert_string_equal(read_error("199 ok\r\n"), "malformed reply code");
	assert_string_equal(read_error("260 ok\r\n"), "malformed reply code");
	assert_string_equal(read_error("250ok\r\n"), "malformed reply code");
	assert_string_equal(read_error("\r\n"), "malformed reply code");
	assert_string_equal(read_error("250-a\r\n550 b\r\n"), "reply lines with different codes");
	assert_string_equal(read_error_n("250 a\0b\r\n", 9), "control octet in reply text");
	assert_string_equal(read_error("250 a\rb\r\n"), "control octet in reply text");
	assert_string_equal(read_error("250 a\x7f\r\n"), "control octet in reply text");
	(void)state;
}

/* The bounds, exactly: 2048 octets a line (CRLF included), 100 lines,
 * 16 KiB of text. */
static void test_bounds(void **state)
{
	static char line[3000];
	struct smtp_reply_reader r;
	size_t used;
	const char *why;

	smtp_reply_reader_init(&r);
	snprintf(line, sizeof line, "250 %02042d\r\n", 0);
	assert_int_equal(strlen(line), SMTP_REPLY_LINE_MAX);
	read_one(&r, line);
	snprintf(line, sizeof line, "250 %02043d\r\n", 0);
	assert_string_equal(read_error(line), "reply line too long");

	struct buf many;
	buf_init(&many, 1 << 20);
	for (int i = 0; i < SMTP_REPLY_LINES_MAX - 1; i++)
		buf_append_str(&many, "250-X\r\n");
	buf_append_str(&many, "250 X\r\n");
	read_one(&r, many.data);
	assert_int_equal(r.reply.lines, SMTP_REPLY_LINES_MAX);
	buf_reset(&many);
	for (int i = 0; i < SMTP_REPLY_LINES_MAX; i++)
		buf_append_str(&many, "250-X\r\n");
	buf_append_str(&many, "250 X\r\n");
	assert_string_equal(read_error(many.data), "reply has too many lines");
	/* 9 lines of 2046 octets: over 16 KiB of text. */
	buf_reset(&many);
	snprintf(line, sizeof line, "250-%02042d\r\n", 0);
	for (int i = 0; i < 9; i++)
		buf_append_str(&many, line);
	assert_string_equal(read_error(many.data), "reply too long");
	/* An endless line costs nothing: taken and dropped in pieces. */
	smtp_reply_reader_reset(&r);
	memset(line, 'x', sizeof line);
	memcpy(line, "250 ", 4);
	for (int i = 0; i < 1000; i++) {
		enum smtp_reply_result res = smtp_reply_feed(&r, line, sizeof line, &used, &why);
		assert_int_equal(res, SMTP_REPLY_NEED_MORE);
		assert_int_equal(used, sizeof line);
		assert_true(r.lines.line.cap <= SMTP_REPLY_LINE_MAX);
	}
	assert_int_equal(smtp_reply_feed(&r, "\r\n", 2, &used, &why), SMTP_REPLY_ERROR);
	buf_free(&many);
	smtp_reply_reader_free(&r);
	(void)state;
}

static void test_ehlo(void **state)
{
	struct smtp_reply_reader r;
	struct smtp_ehlo e;
	smtp_reply_reader_init(&r);
	read_one(&r, "250-mx.b.test greets you\r\n250-pipelining\r\n250-SIZE 52428800\r\n"
		     "250-8BITMIME\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n250-DSN\r\n250-STARTTLS\r\n"
		     "250-ENHANCEDSTATUSCODES\r\n250-AUTH CRAM-MD5 plain\r\n250 X-UNKNOWN 1\r\n");
	smtp_ehlo_parse(&r.reply, &e);
	assert_true(e.pipelining && e.size && e.eightbitmime && e.smtputf8 && e.chunking &&
		    e.dsn && e.starttls && e.enhanced && e.auth && e.auth_plain);
	assert_false(e.auth_login);
	assert_int_equal(e.size_max, 52428800);
	/* The first line is the greeting, not a keyword; SIZE without a
	 * number or with garbage is SIZE without a limit; AUTH=. */
	read_one(&r, "250-PIPELINING\r\n250-SIZE x1\r\n250 AUTH=LOGIN\r\n");
	smtp_ehlo_parse(&r.reply, &e);
	assert_false(e.pipelining);
	assert_true(e.size);
	assert_int_equal(e.size_max, 0);
	assert_true(e.auth && e.auth_login);
	assert_false(e.auth_plain);
	read_one(&r, "250 mx.b.test\r\n");
	smtp_ehlo_parse(&r.reply, &e);
	assert_false(e.size || e.auth || e.pipelining);
	smtp_reply_reader_free(&r);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replies),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_ehlo),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
