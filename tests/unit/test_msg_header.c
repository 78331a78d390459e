/* RFC 5322 header section: fields, folding, the blank line, garbage. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "msg/header.h"

static void assert_str(struct str s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.p, want, s.len);
}

static void test_fields_lf_and_crlf(void **state)
{
	const char *msgs[2] = {
		"From: a@b\nSubject: hello\n  world\nX-Empty:\n\nbody\n",
		"From: a@b\r\nSubject: hello\r\n  world\r\nX-Empty:\r\n\r\nbody\r\n",
	};
	for (int k = 0; k < 2; k++) {
		struct msg_header_iter it;
		struct msg_header_field f;
		size_t len = strlen(msgs[k]);
		msg_header_iter_init(&it, msgs[k], len);
		assert_int_equal(msg_header_next(&it, &f), 1);
		assert_str(f.name, "From");
		assert_str(f.value, " a@b");
		assert_int_equal(f.offset, 0);
		assert_int_equal(msg_header_next(&it, &f), 1);
		assert_str(f.name, "Subject");
		assert_str(f.value, k == 0 ? " hello\n  world" : " hello\r\n  world");
		assert_int_equal(msg_header_next(&it, &f), 1);
		assert_str(f.name, "X-Empty");
		assert_str(f.value, "");
		assert_int_equal(msg_header_next(&it, &f), 0);
		assert_int_equal(it.header_size, k == 0 ? 43 : 48);
		assert_memory_equal(msgs[k] + it.header_size, "body", 4);
		assert_int_equal(it.lines, 5);
		assert_int_equal(it.bare_lf, k == 0 ? 5 : 0);
		assert_int_equal(msg_header_next(&it, &f), 0);
	}
}

static void test_unfold(void **state)
{
	struct buf b;
	buf_init(&b, 1024);
	assert_int_equal(msg_header_unfold(STR_LIT(" hello\r\n  world\n\tagain \r\n"), &b), 0);
	assert_string_equal(b.data, "hello  world\tagain");
	buf_free(&b);
	char dst[16];
	size_t n = msg_header_unfold_to(dst, STR_LIT("   "));
	assert_int_equal(n, 0);
}

static void test_find(void **state)
{
	const char *m = "Received: x\nSUBJECT: one\nsubject: two\n\nSubject: body\n";
	struct str v;
	assert_true(msg_header_find(m, strlen(m), "Subject", &v));
	assert_str(v, " one");
	assert_false(msg_header_find(m, strlen(m), "To", &v));
	/* A field in the body is no field. */
	const char *m2 = "A: 1\n\nTo: x\n";
	assert_false(msg_header_find(m2, strlen(m2), "to", &v));
}

static void test_garbage_lines(void **state)
{
	const char *m = "From MAILER-DAEMON Fri Jul  8 12:08:34 2011\n"
			" leading continuation\n"
			"no colon here\n"
			"Name With Space: x\n"
			"Obs-Name  : value\n"
			": empty name\n"
			"Good: yes\n"
			"\nbody";
	struct msg_header_iter it;
	struct msg_header_field f;
	msg_header_iter_init(&it, m, strlen(m));
	assert_int_equal(msg_header_next(&it, &f), 1);
	assert_str(f.name, "Obs-Name");
	assert_str(f.value, " value");
	assert_int_equal(msg_header_next(&it, &f), 1);
	assert_str(f.name, "Good");
	assert_int_equal(msg_header_next(&it, &f), 0);
	assert_string_equal(m + it.header_size, "body");
}

static void test_no_blank_line(void **state)
{
	const char *m = "A: 1\nB: 2";
	struct msg_header_iter it;
	msg_header_iter_init(&it, m, strlen(m));
	assert_int_equal(msg_header_finish(&it), strlen(m));
	/* Blank line first: empty header. */
	msg_header_iter_init(&it, "\r\nbody", 6);
	assert_int_equal(msg_header_finish(&it), 2);
	/* Empty input, and a lone CR at the end. */
	msg_header_iter_init(&it, "", 0);
	assert_int_equal(msg_header_finish(&it), 0);
	msg_header_iter_init(&it, "A: 1\r\n\r", 7);
	assert_int_equal(msg_header_finish(&it), 7);
}

static void test_nul_and_huge_lines(void **state)
{
	const char m[] = "A: x\0y\nB\0: z\n\nbody";
	struct msg_header_iter it;
	struct msg_header_field f;
	msg_header_iter_init(&it, m, sizeof m - 1);
	assert_int_equal(msg_header_next(&it, &f), 1);
	assert_int_equal(f.value.len, 4);
	assert_int_equal(msg_header_next(&it, &f), 0);   /* "B\0" is no name */
	assert_int_equal(it.header_size, 14);

	size_t n = 4 << 20;
	char *big = malloc(n + 16);
	assert_non_null(big);
	memcpy(big, "Subject: ", 9);
	memset(big + 9, 'x', n);
	memcpy(big + 9 + n, "\n\nb", 3);
	msg_header_iter_init(&it, big, n + 12);
	assert_int_equal(msg_header_next(&it, &f), 1);
	assert_int_equal(f.value.len, n + 1);
	assert_int_equal(msg_header_finish(&it), n + 11);
	free(big);
}

static void test_field_limit(void **state)
{
	size_t count = MSG_HEADER_MAX_FIELDS + 5000;
	size_t n = count * 5 + 8;
	char *m = malloc(n);
	assert_non_null(m);
	for (size_t i = 0; i < count; i++)
		memcpy(m + i * 5, "A: 1\n", 5);
	memcpy(m + count * 5, "\nbody", 5);
	struct msg_header_iter it;
	struct msg_header_field f;
	unsigned got = 0;
	msg_header_iter_init(&it, m, count * 5 + 5);
	while (msg_header_next(&it, &f) > 0)
		got++;
	assert_int_equal(got, MSG_HEADER_MAX_FIELDS);
	assert_int_equal(it.header_size, count * 5 + 1);
	free(m);
}

static void test_filter(void **state)
{
	const char *m = "From: a@b\nSubject: x\n y\nTo: c@d\nsubject: again\n\nbody";
	const struct str names[] = { STR_LIT("SUBJECT"), STR_LIT("cc") };
	struct buf b;
	buf_init(&b, 1024);
	assert_int_equal(msg_header_filter(m, strlen(m), names, 2, false, &b), 0);
	assert_string_equal(b.data, "Subject: x\n y\nsubject: again\n\r\n");
	buf_reset(&b);
	assert_int_equal(msg_header_filter(m, strlen(m), names, 2, true, &b), 0);
	assert_string_equal(b.data, "From: a@b\nTo: c@d\n\r\n");
	buf_reset(&b);
	assert_int_equal(msg_header_filter("A: 1", 4, names, 0, true, &b), 0);
	assert_string_equal(b.data, "A: 1\r\n\r\n");
	buf_reset(&b);
	assert_int_equal(msg_header_filter("", 0, names, 2, false, &b), 0);
	assert_string_equal(b.data, "\r\n");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields_lf_and_crlf),
		cmocka_unit_test(test_unfold),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_garbage_lines),
		cmocka_unit_test(test_no_blank_line),
		cmocka_unit_test(test_nul_and_huge_lines),
		cmocka_unit_test(test_field_limit),
		cmocka_unit_test(test_filter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
