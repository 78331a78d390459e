/* Modified UTF-7 (RFC 3501 5.1.3) and UTF-8 validation (RFC 3629). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap/imap_mutf7.h"

static struct str S(const char *s)
{
	return str_from(s);
}

static void assert_decodes(const char *mutf7, const char *utf8)
{
	struct buf b;
	const char *why = NULL;
	buf_init(&b, 1024);
	if (imap_mutf7_to_utf8(S(mutf7), &b, &why) != 0)
		fail_msg("%s: %s", mutf7, why);
	assert_string_equal(b.data != NULL ? b.data : "", utf8);
	buf_reset(&b);
	assert_int_equal(imap_utf8_to_mutf7(S(utf8), &b, &why), 0);
	assert_string_equal(b.data != NULL ? b.data : "", mutf7);
	assert_true(imap_mutf7_valid(S(mutf7)));
	buf_free(&b);
}

static void assert_refused(const char *mutf7)
{
	struct buf b;
	const char *why = NULL;
	buf_init(&b, 1024);
	assert_int_equal(buf_append_str(&b, "keep"), 0);
	if (imap_mutf7_to_utf8(S(mutf7), &b, &why) == 0)
		fail_msg("accepted: %s", mutf7);
	assert_non_null(why);
	/* nothing half-written on failure */
	assert_int_equal(b.len, 4);
	assert_false(imap_mutf7_valid(S(mutf7)));
	buf_free(&b);
}

/* RFC 3501 5.1.3 examples and common folder names. */
static void test_decode_encode(void **state)
{
	(void)state;
	assert_decodes("", "");
	assert_decodes("INBOX", "INBOX");
	assert_decodes("&-", "&");
	assert_decodes("a&-b&-", "a&b&");
	assert_decodes("~peter/mail/&U,BTFw-/&ZeVnLIqe-",
		       "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	assert_decodes("Entw&APw-rfe", "Entw\xc3\xbc" "rfe");
	assert_decodes("&AOkA6QDp-", "\xc3\xa9\xc3\xa9\xc3\xa9");
	assert_decodes("Gel&APY-scht", "Gel\xc3\xb6scht");
	/* U+1F600 as a surrogate pair */
	assert_decodes("&2D3eAA-", "\xf0\x9f\x98\x80");
	/* control characters other than NUL are encoded */
	assert_decodes("&AAE-", "\x01");
	assert_decodes("&AH8-", "\x7f");
}

/* Strict: one spelling per name. */
static void test_refused(void **state)
{
	(void)state;
	assert_refused("&");                 /* not closed */
	assert_refused("a&ZeVnLIqe");        /* not closed */
	assert_refused("&AGE-");             /* 'a' encoded */
	assert_refused("&ACY-");             /* '&' encoded */
	assert_refused("&ACA-");             /* SP encoded */
	assert_refused("&AAA-");             /* NUL */
	assert_refused("&ZeVnLIqe-&ZeVnLIqe-"); /* two runs in a row */
	assert_refused("&AOl-");              /* padding bits not zero (&AOk- is right) */
	assert_refused("&ZeVnLIqeA-");       /* extra base64 character */
	assert_refused("&ZQ-");              /* fewer than 16 bits */
	assert_refused("&2D0-");             /* lone high surrogate */
	assert_refused("&2D0AYQ-");          /* high surrogate then 'a' */
	assert_refused("&3gA-");             /* lone low surrogate */
	assert_refused("&Z/-");              /* '/' is not in the modified alphabet */
	assert_refused("&Z=-");
	assert_refused("&U,BTFw");
	assert_refused("caf\xc3\xa9");       /* raw 8-bit */
	assert_refused("a\tb");              /* control octet */
	assert_refused("a\x7f");
}

static void test_encode_refuses_bad_utf8(void **state)
{
	static const char *bad[] = {
		"\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
		"\xf5\x80\x80\x80", "\x80", "\xc3", "\xe6\x97", "a\0b",
	};
	struct buf b;
	const char *why;
	(void)state;
	buf_init(&b, 1024);
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t n = i == 9 ? 3 : strlen(bad[i]);
		assert_int_equal(imap_utf8_to_mutf7((struct str){ bad[i], n }, &b, &why), -1);
		assert_int_equal(b.len, 0);
	}
	buf_free(&b);
}

static void test_utf8_valid(void **state)
{
	(void)state;
	assert_true(utf8_valid(S("")));
	assert_true(utf8_valid(S("plain")));
	assert_true(utf8_valid(S("\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf")));
	assert_true(utf8_valid(S("\xed\x9f\xbf")));      /* U+D7FF */
	assert_false(utf8_valid(S("\xc0\xaf")));         /* overlong '/' */
	assert_false(utf8_valid(S("\xe0\x9f\xbf")));     /* overlong */
	assert_false(utf8_valid(S("\xf0\x8f\xbf\xbf"))); /* overlong */
	assert_false(utf8_valid(S("\xed\xa0\x80")));     /* surrogate */
	assert_false(utf8_valid(S("\xf4\x90\x80\x80"))); /* > U+10FFFF */
	assert_false(utf8_valid(S("\xff")));
	assert_false(utf8_valid(S("\xe6\x97")));         /* truncated */
	assert_false(utf8_valid(S("\xe6\x97" "a")));
}

/* The output buffer's max is honoured and nothing is left half-done. */
static void test_bounded_output(void **state)
{
	struct buf b;
	const char *why;
	(void)state;
	buf_init(&b, 5);
	assert_int_equal(imap_mutf7_to_utf8(S("&ZeVnLIqe-"), &b, &why), -1);
	assert_int_equal(b.len, 0);
	assert_int_equal(imap_utf8_to_mutf7(S("\xe6\x97\xa5\xe6\x9c\xac"), &b, &why), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

/* Random code points: UTF-8 -> mUTF-7 -> UTF-8 is the identity, and the
 * mUTF-7 is the only accepted spelling (re-encoding gives it back). */
static void test_round_trip_random(void **state)
{
	struct buf u, m, back;
	const char *why;
	unsigned seed = 12345;
	(void)state;
	buf_init(&u, 4096);
	buf_init(&m, 8192);
	buf_init(&back, 4096);
	for (int iter = 0; iter < 2000; iter++) {
		buf_reset(&u);
		buf_reset(&m);
		buf_reset(&back);
		int n = (int)(seed % 12);
		for (int i = 0; i < n; i++) {
			seed = seed * 1103515245 + 12345;
			uint32_t cp = (seed >> 8) % 5 == 0 ? 0x20 + (seed >> 16) % 95 :
				1 + (seed >> 11) % 0x10ffff;
			if (cp >= 0xd800 && cp <= 0xdfff)
				cp = '&';
			char t[4];
			size_t k;
			if (cp < 0x80) { t[0] = (char)cp; k = 1; }
			else if (cp < 0x800) { t[0] = (char)(0xc0 | cp >> 6); t[1] = (char)(0x80 | (cp & 0x3f)); k = 2; }
			else if (cp < 0x10000) { t[0] = (char)(0xe0 | cp >> 12); t[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); t[2] = (char)(0x80 | (cp & 0x3f)); k = 3; }
			else { t[0] = (char)(0xf0 | cp >> 18); t[1] = (char)(0x80 | ((cp >> 12) & 0x3f)); t[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); t[3] = (char)(0x80 | (cp & 0x3f)); k = 4; }
			assert_int_equal(buf_append(&u, t, k), 0);
		}
		seed = seed * 1103515245 + 12345;
		assert_true(utf8_valid(buf_str(&u)));
		assert_int_equal(imap_utf8_to_mutf7(buf_str(&u), &m, &why), 0);
		assert_int_equal(imap_mutf7_to_utf8(buf_str(&m), &back, &why), 0);
		assert_int_equal(back.len, u.len);
		if (u.len > 0)
			assert_memory_equal(back.data, u.data, u.len);
	}
	buf_free(&u);
	buf_free(&m);
	buf_free(&back);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_encode),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_encode_refuses_bad_utf8),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_bounded_output),
		cmocka_unit_test(test_round_trip_random),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
