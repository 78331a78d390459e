/* sendmail(1) conventions: the command line as Postfix's sendmail takes
 * it, -t recipient extraction (RFC 5322 3.6.3, 3.6.6), Bcc removal, and
 * the "." end of input without -i. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "client/sendmail.h"

#define ARGV(...) ((char *[]){ __VA_ARGS__, NULL })
#define ARGC(...) ((int)(sizeof((char *[]){ __VA_ARGS__ }) / sizeof(char *)))

static int parse(int argc, char **argv, struct sendmail_opts *o, const char **error)
{
	static char *rcpts[32];
	return sendmail_parse_args(argc, argv, o, rcpts, error);
}

static void test_args_attached_and_separate_values(void **state)
{
	(void)state;
	struct sendmail_opts o;
	const char *error = NULL;
	assert_int_equal(parse(ARGC("sendmail", "-fbob@a.test", "-F", "Bob B", "-oi", "-t",
				    "x@b.test", "y@c.test"),
			       ARGV("sendmail", "-fbob@a.test", "-F", "Bob B", "-oi", "-t",
				    "x@b.test", "y@c.test"), &o, &error), 0);
	assert_string_equal(o.sender, "bob@a.test");
	assert_string_equal(o.full_name, "Bob B");
	assert_false(o.dot_ends);
	assert_true(o.extract);
	assert_int_equal(o.rcpt_count, 2);
	assert_string_equal(o.rcpts[0], "x@b.test");
	assert_string_equal(o.rcpts[1], "y@c.test");
	assert_int_equal(o.mode, SENDMAIL_MODE_DELIVER);
}

static void test_args_combined_flags_and_ignored_options(void **state)
{
	(void)state;
	struct sendmail_opts o;
	const char *error = NULL;
	/* What cron, mail(1) and PHP's mail() pass. */
	assert_int_equal(parse(ARGC("sendmail", "-ti", "-oem", "-odi", "-B", "8BITMIME", "-U",
				    "-r", "root@a.test", "--", "-odd@b.test"),
			       ARGV("sendmail", "-ti", "-oem", "-odi", "-B", "8BITMIME", "-U",
				    "-r", "root@a.test", "--", "-odd@b.test"), &o, &error), 0);
	assert_true(o.extract);
	assert_false(o.dot_ends);
	assert_string_equal(o.sender, "root@a.test");
	assert_int_equal(o.rcpt_count, 1);
	assert_string_equal(o.rcpts[0], "-odd@b.test");   /* after "--" */
	assert_true(parse(ARGC("sendmail", "x@b.test", "-i"), ARGV("sendmail", "x@b.test", "-i"),
			  &o, &error) == 0 && !o.dot_ends);
}

static void test_args_modes_and_errors(void **state)
{
	(void)state;
	struct sendmail_opts o;
	const char *error = NULL;
	assert_int_equal(parse(ARGC("mailq", "-bp"), ARGV("mailq", "-bp"), &o, &error), 0);
	assert_int_equal(o.mode, SENDMAIL_MODE_QUEUE);
	assert_int_equal(parse(ARGC("sendmail", "-q"), ARGV("sendmail", "-q"), &o, &error), 0);
	assert_int_equal(o.mode, SENDMAIL_MODE_FLUSH);
	assert_int_equal(parse(ARGC("sendmail", "-bs"), ARGV("sendmail", "-bs"), &o, &error), -1);
	assert_non_null(strstr(error, "mode"));
	assert_int_equal(parse(ARGC("sendmail", "-f"), ARGV("sendmail", "-f"), &o, &error), -1);
	assert_non_null(strstr(error, "value"));
	assert_int_equal(parse(ARGC("sendmail", "-Z"), ARGV("sendmail", "-Z"), &o, &error), -1);
	assert_int_equal(parse(ARGC("sendmail", "-R", "all"), ARGV("sendmail", "-R", "all"), &o,
			       &error), -1);
	assert_int_equal(parse(ARGC("sendmail", "-N", "success,delay", "-R", "hdrs", "-V", "e1",
				    "x@b.test"),
			       ARGV("sendmail", "-N", "success,delay", "-R", "hdrs", "-V", "e1",
				    "x@b.test"), &o, &error), 0);
	assert_string_equal(o.notify, "success,delay");
	assert_string_equal(o.ret, "hdrs");
	assert_string_equal(o.envid, "e1");
}

/* Reads text as stdin would give it; returns the header text and sets
 * *body to what follows (the pending line plus the rest, lines read
 * with sendmail_read_line). */
static int read_all(const char *text, bool extract, bool dot_ends, struct sendmail_header *h,
		    char *body, size_t body_cap, const char **error)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	struct sendmail_opts o = { .extract = extract, .dot_ends = dot_ends };
	struct buf pending;
	buf_init(&pending, 1000);
	int r = sendmail_read_header(in, &o, 4096, "a.test", h, &pending, error);
	size_t n = 0;
	body[0] = '\0';
	if (r == 0 && !h->ended) {
		do {
			if (n + pending.len < body_cap) {
				memcpy(body + n, pending.data, pending.len);
				n += pending.len;
				body[n] = '\0';
			}
		} while (sendmail_read_line(in, &o, &pending) == 1);
	}
	buf_free(&pending);
	fclose(in);
	return r;
}

static const char *rcpt_at(const struct sendmail_header *h, size_t i)
{
	const char *p = h->rcpts.data;
	while (i-- > 0)
		p += strlen(p) + 1;
	return p;
}

static void test_extract_recipients_and_drop_bcc(void **state)
{
	(void)state;
	struct sendmail_header h;
	char body[256];
	const char *error = NULL;
	assert_int_equal(read_all("From: me@a.test\r\n"
				  "To: \"Bob, B.\" <bob@b.test>, carol\r\n"
				  "Cc: team: dave@c.test, erin@c.test;\r\n"
				  "Bcc: hidden@d.test\r\n"
				  "  , hidden2@d.test\r\n"
				  "Subject: hi\r\n"
				  "\r\n"
				  "line one\r\n"
				  ".\r\n"
				  "after the dot\r\n", true, true, &h, body, sizeof body, &error), 0);
	assert_int_equal(h.rcpt_count, 6);
	assert_string_equal(rcpt_at(&h, 0), "bob@b.test");
	assert_string_equal(rcpt_at(&h, 1), "carol@a.test");   /* qualified */
	assert_string_equal(rcpt_at(&h, 2), "dave@c.test");
	assert_string_equal(rcpt_at(&h, 3), "erin@c.test");
	assert_string_equal(rcpt_at(&h, 4), "hidden@d.test");
	assert_string_equal(rcpt_at(&h, 5), "hidden2@d.test");
	assert_true(h.has_from);
	assert_false(h.has_date);
	assert_false(h.has_message_id);
	assert_null(strstr(h.text.data, "hidden"));
	assert_string_equal(body, "line one\n");   /* "." ended it */
	assert_memory_equal(h.text.data, "From: me@a.test\nTo: ", 20);
	assert_int_equal(h.text.data[h.text.len - 1], '\n');
	assert_int_equal(h.text.data[h.text.len - 2], '\n');
	sendmail_header_free(&h);
}

static void test_resent_fields_take_precedence(void **state)
{
	(void)state;
	struct sendmail_header h;
	char body[64];
	const char *error = NULL;
	assert_int_equal(read_all("Resent-To: new@b.test\nResent-Bcc: quiet@b.test\n"
				  "To: old@b.test\n\nbody\n", true, true, &h, body, sizeof body,
				  &error), 0);
	assert_int_equal(h.rcpt_count, 2);
	assert_string_equal(rcpt_at(&h, 0), "new@b.test");
	assert_string_equal(rcpt_at(&h, 1), "quiet@b.test");
	assert_null(strstr(h.text.data, "quiet"));
	assert_non_null(strstr(h.text.data, "To: old@b.test"));
	sendmail_header_free(&h);
}

static void test_dot_line_is_data_with_i(void **state)
{
	(void)state;
	struct sendmail_header h;
	char body[64];
	const char *error = NULL;
	assert_int_equal(read_all("Subject: x\n\na\n.\nb\n", false, false, &h, body,
				  sizeof body, &error), 0);
	assert_string_equal(body, "a\n.\nb\n");
	assert_int_equal(h.rcpt_count, 0);   /* no -t: nothing extracted */
	sendmail_header_free(&h);
}

static void test_body_without_header_and_mbox_line(void **state)
{
	(void)state;
	struct sendmail_header h;
	char body[64];
	const char *error = NULL;
	assert_int_equal(read_all("From someone Thu Dec  3 10:00:00 2026\nno header here\n",
				  false, true, &h, body, sizeof body, &error), 0);
	assert_string_equal(h.text.data, "\n");   /* an empty section, then the body */
	assert_string_equal(body, "no header here\n");
	sendmail_header_free(&h);
	assert_int_equal(read_all("Subject: only\n", false, true, &h, body, sizeof body,
				  &error), 0);
	assert_true(h.ended);
	assert_string_equal(h.text.data, "Subject: only\n");
	sendmail_header_free(&h);
}

static void test_header_limits(void **state)
{
	(void)state;
	struct sendmail_header h;
	char body[64];
	const char *error = NULL;
	char big[6000];
	memset(big, 'x', sizeof big);
	memcpy(big, "X-A: ", 5);
	big[sizeof big - 2] = '\n';
	big[sizeof big - 1] = '\0';
	assert_int_equal(read_all(big, false, true, &h, body, sizeof body, &error), -1);
	assert_non_null(strstr(error, "too"));
	sendmail_header_free(&h);
	assert_int_equal(read_all("To: <@>\n\nx\n", true, true, &h, body, sizeof body,
				  &error), -1);
	assert_non_null(strstr(error, "address"));
	sendmail_header_free(&h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_args_attached_and_separate_values),
		cmocka_unit_test(test_args_combined_flags_and_ignored_options),
		cmocka_unit_test(test_args_modes_and_errors),
		cmocka_unit_test(test_extract_recipients_and_drop_bcc),
		cmocka_unit_test(test_resent_fields_take_precedence),
		cmocka_unit_test(test_dot_line_is_data_with_i),
		cmocka_unit_test(test_body_without_header_and_mbox_line),
		cmocka_unit_test(test_header_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
