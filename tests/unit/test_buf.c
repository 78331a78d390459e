/* lib/buf: the numbers and formatting the hot reply paths use, and the
 * promise that a failed append leaves the buffer as it was. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "lib/buf.h"

static void test_append_u64(void **st)
{
	(void)st;
	static const unsigned long long v[] = { 0, 7, 10, 99, 4294967295ULL,
						18446744073709551615ULL };
	struct buf b;
	buf_init(&b, 1024);
	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
		char want[32];
		snprintf(want, sizeof want, "%llu", v[i]);
		buf_reset(&b);
		assert_int_equal(buf_append_u64(&b, v[i]), 0);
		assert_string_equal(b.data, want);
		assert_int_equal(b.len, strlen(want));
	}
	buf_free(&b);
}

/* Formatting into the room there is, into a buffer that must grow, and
 * past max (which changes nothing). */
static void test_printf(void **st)
{
	(void)st;
	struct buf b;
	buf_init(&b, 100);
	assert_int_equal(buf_printf(&b, "%s-%d", "ab", 12), 0);
	assert_string_equal(b.data, "ab-12");
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_int_equal(b.len, 5);
	char big[80];
	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(buf_printf(&b, "[%s]", big), 0);   /* grows past 64 */
	assert_int_equal(b.len, 5 + 81);
	assert_int_equal(b.data[b.len], '\0');
	size_t len = b.len;
	assert_int_equal(buf_printf(&b, "%s", big), -1);    /* over max */
	assert_int_equal(b.len, len);
	assert_int_equal(b.data[len], '\0');
	assert_int_equal(strncmp(b.data, "ab-12[x", 7), 0);
	buf_truncate(&b, 2);
	assert_int_equal(buf_printf(&b, "%u", 42u), 0);  /* fits in place */
	assert_string_equal(b.data, "ab42");
	buf_free(&b);
}

/* Formats of %s alone are appended without vsnprintf: same text. */
static void test_printf_strings(void **st)
{
	(void)st;
	struct buf b;
	buf_init(&b, 40);
	assert_int_equal(buf_printf(&b, "%s%s", "", "\\Seen"), 0);
	assert_int_equal(buf_printf(&b, " %s (%s) 100%% %%s", "a", "bc"), 0);
	assert_int_equal(buf_printf(&b, "%s", ""), 0);
	assert_string_equal(b.data, "\\Seen a (bc) 100% %s");
	size_t len = b.len;
	assert_int_equal(buf_printf(&b, "%s-%s", "0123456789", "0123456789"), -1);
	assert_int_equal(b.len, len);   /* nothing of it stays */
	assert_int_equal(b.data[len], '\0');
	buf_free(&b);
}

static void test_shrink(void **st)
{
	(void)st;
	struct buf b;
	buf_init(&b, 1 << 20);
	char chunk[4096] = { 0 };
	for (int i = 0; i < 64; i++)
		assert_int_equal(buf_append(&b, chunk, sizeof chunk), 0);
	buf_shrink(&b, 1024);              /* not empty: kept */
	assert_non_null(b.data);
	buf_reset(&b);
	buf_shrink(&b, 1 << 20);           /* small enough: kept */
	assert_non_null(b.data);
	buf_shrink(&b, 1024);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	assert_int_equal(buf_append_str(&b, "again"), 0);   /* still usable */
	assert_string_equal(b.data, "again");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_u64),
		cmocka_unit_test(test_printf),
		cmocka_unit_test(test_printf_strings),
		cmocka_unit_test(test_shrink),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
