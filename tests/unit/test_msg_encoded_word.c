/* RFC 2047 encoded words: decoding in the common charsets and through
 * iconv, broken words, and the composer's encoding with its limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "msg/charset.h"
#include "msg/encoded_word.h"

static void check_decode(const char *in, size_t inlen, const char *want)
{
	struct buf b;
	buf_init(&b, 1 << 20);
	assert_int_equal(msg_encoded_words_decode((struct str){ in, inlen }, &b), 0);
	if (b.len != strlen(want) || memcmp(b.data ? b.data : "", want, b.len) != 0)
		fail_msg("input  %s\ngot    %s\nwanted %s", in, b.data ? b.data : "", want);
	buf_free(&b);
}

#define DEC(in, want) check_decode(in, sizeof(in) - 1, want)

static void test_decode_basic(void **state)
{
	DEC("=?UTF-8?B?SGVsbG8gd29ybGQ=?=", "Hello world");
	DEC("=?utf-8?q?J=C3=B6rg_M=C3=BCller?=", "J\xc3\xb6rg M\xc3\xbc" "ller");
	DEC("=?ISO-8859-1?Q?Andr=E9?= Pirard", "Andr\xc3\xa9 Pirard");
	DEC("=?windows-1252?Q?=80_5?=", "\xe2\x82\xac 5");
	DEC("=?us-ascii*en?q?hi?=", "hi");
	DEC("plain text", "plain text");
	DEC("", "");
	struct buf b;
	buf_init(&b, 16);
	assert_int_equal(msg_encoded_words_decode((struct str){ NULL, 0 }, &b), 0);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void test_decode_whitespace(void **state)
{
	/* RFC 2047 8 examples. */
	DEC("(=?ISO-8859-1?Q?a?=)", "(a)");
	DEC("(=?ISO-8859-1?Q?a?= b)", "(a b)");
	DEC("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)");
	DEC("(=?ISO-8859-1?Q?a?=  =?ISO-8859-1?Q?b?=)", "(ab)");
	DEC("(=?ISO-8859-1?Q?a?=\r\n    =?ISO-8859-1?Q?b?=)", "(ab)");
	DEC("(=?ISO-8859-1?Q?a_b?=)", "(a b)");
	DEC("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)", "(a b)");
	DEC("a\r\n b", "a b");
}

static void test_decode_split_char(void **state)
{
	/* A UTF-8 character split between two B words. */
	DEC("=?UTF-8?B?w6k=?= =?UTF-8?B?w6nD?= =?UTF-8?B?qQ==?=", "\xc3\xa9\xc3\xa9\xc3\xa9");
}

static void test_decode_broken(void **state)
{
	DEC("=?UTF-8?X?abc?=", "=?UTF-8?X?abc?=");
	DEC("=?UTF-8?Q?abc", "=?UTF-8?Q?abc");
	DEC("=??Q?abc?=", "=??Q?abc?=");
	DEC("=?UTF-8?Q?a b?=", "=?UTF-8?Q?a b?=");
	DEC("=?", "=?");
	DEC("=", "=");
	DEC("=?UTF-8?B?!!!?=", "");
	DEC("=?UTF-8?Q?=FF=?=", "\xef\xbf\xbd=");
	DEC("=?no-such-charset?Q?abc?=", "abc");
	DEC("raw \xff 8bit", "raw \xef\xbf\xbd 8bit");
	struct buf b;
	buf_init(&b, 64);
	assert_int_equal(msg_encoded_words_decode((struct str){ "a\0b", 3 }, &b), 0);
	assert_int_equal(b.len, 3);   /* a NUL is kept; the IMAP writer deals with it */
	buf_free(&b);
}

static void test_decode_iconv(void **state)
{
	DEC("=?KOI8-R?B?8NLJ18XU?=", "\xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
	DEC("=?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?=", "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88");
	DEC("=?ISO-8859-15?Q?=A4?=", "\xe2\x82\xac");
}

static void test_charset(void **state)
{
	struct buf b;
	bool unknown;
	buf_init(&b, 64);
	assert_int_equal(msg_charset_to_utf8(STR_LIT("x-bogus/../etc"), STR_LIT("ok"), &b, &unknown), 0);
	assert_true(unknown);
	assert_string_equal(b.data, "ok");
	buf_reset(&b);
	/* Output bounded by the buffer's max. */
	struct buf small;
	buf_init(&small, 4);
	assert_int_equal(msg_charset_to_utf8(STR_LIT("iso-8859-1"), STR_LIT("\xe9\xe9\xe9"), &small, NULL), -1);
	buf_free(&small);
	assert_true(utf8_valid(STR_LIT("\xe2\x82\xac")));
	assert_false(utf8_valid(STR_LIT("\xc0\xaf")));      /* overlong */
	assert_false(utf8_valid(STR_LIT("\xed\xa0\x80")));  /* surrogate */
	assert_false(utf8_valid(STR_LIT("\xf4\x90\x80\x80")));
	buf_free(&b);
}

/* Encodes, checks the limits, decodes back. */
static void round_trip(const char *in, size_t used)
{
	struct buf enc, dec;
	buf_init(&enc, 1 << 20);
	buf_init(&dec, 1 << 20);
	assert_int_equal(msg_encoded_words_encode(str_from(in), used, true, &enc), 0);
	const char *p = enc.data ? enc.data : "";
	/* ASCII only; lines within 76 columns (a plain word longer than a
	 * line cannot be folded and is exempt); words within 75. */
	size_t col = used, tok = 0, toks = 0;
	bool plain_long = false;
	for (size_t i = 0; i <= enc.len; i++) {
		char c = i < enc.len ? p[i] : '\n';
		assert_true((unsigned char)c < 0x80);
		if (c == ' ' || c == '\n' || c == '\r') {
			if (tok > 0) {
				toks++;
				if (memcmp(p + i - tok, "=?", 2) == 0)
					assert_true(tok <= 75);
				else if (tok > 60)
					plain_long = true;
			}
			tok = 0;
		} else {
			tok++;
		}
		if (c == '\n') {
			assert_true(col <= 76 || plain_long);
			col = 0;
			toks = 0;
			plain_long = false;
		} else if (c != '\r') {
			col++;
		}
	}
	assert_int_equal(msg_encoded_words_decode(buf_str(&enc), &dec), 0);
	if (strcmp(dec.data ? dec.data : "", in) != 0)
		fail_msg("in  %s\nenc %s\ndec %s", in, p, dec.data);
	buf_free(&enc);
	buf_free(&dec);
}

static void test_encode(void **state)
{
	struct buf b;
	buf_init(&b, 1024);
	assert_int_equal(msg_encoded_words_encode(STR_LIT("Hello world"), 9, true, &b), 0);
	assert_string_equal(b.data, "Hello world");
	buf_reset(&b);
	assert_int_equal(msg_encoded_words_encode(STR_LIT("Gr\xc3\xbc\xc3\x9f" "e aus K\xc3\xb6ln"),
						  9, true, &b), 0);
	assert_string_equal(b.data, "=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus =?UTF-8?Q?K=C3=B6ln?=");
	buf_reset(&b);
	assert_int_equal(msg_encoded_words_encode(STR_LIT("\xe6\x97\xa5\xe6\x9c\xac"), 0, false, &b), 0);
	assert_string_equal(b.data, "=?UTF-8?B?5pel5pys?=");
	buf_reset(&b);
	assert_int_equal(msg_encoded_words_encode(STR_LIT("caf\xc3\xa9 ok"), 9, true, &b), 0);
	assert_string_equal(b.data, "=?UTF-8?Q?caf=C3=A9?= ok");
	buf_free(&b);

	round_trip("", 9);
	round_trip("plain", 9);
	round_trip("a  b   c", 9);
	round_trip("looks =?like?q?encoded?= word", 9);
	round_trip("caf\xc3\xa9 au lait, cr\xc3\xa8me br\xc3\xbbl\xc3\xa9" "e et \xc3\xa9" "clair", 9);
	round_trip("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d "
		   "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d"
		   "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d"
		   "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d"
		   "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xae\xe4\xbb\xb6\xe5\x90\x8d", 9);
	round_trip("A long subject line in plain ASCII that goes on and on well past the "
		   "seventy-eight character limit of RFC 5322 so it must fold", 9);
	round_trip("tab\there and \xf0\x9f\x98\x80 emoji", 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_basic),
		cmocka_unit_test(test_decode_whitespace),
		cmocka_unit_test(test_decode_split_char),
		cmocka_unit_test(test_decode_broken),
		cmocka_unit_test(test_decode_iconv),
		cmocka_unit_test(test_charset),
		cmocka_unit_test(test_encode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
