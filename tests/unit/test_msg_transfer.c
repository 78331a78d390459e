/* Content-Transfer-Encoding: lenient decoders, the composer's encoders. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "msg/transfer.h"

static void decode(enum msg_cte enc, const char *in, size_t n, const char *want, size_t wn)
{
	struct buf b;
	const char *error;
	buf_init(&b, 1 << 20);
	assert_int_equal(msg_transfer_decode(enc, (struct str){ in, n }, &b, &error), 0);
	assert_int_equal(b.len, wn);
	if (wn > 0)
		assert_memory_equal(b.data, want, wn);
	buf_free(&b);
}

#define DEC(enc, in, want) decode(enc, in, sizeof(in) - 1, want, sizeof(want) - 1)

static void test_cte_names(void **state)
{
	assert_int_equal(msg_cte_parse(STR_LIT(" Base64 ")), MSG_CTE_BASE64);
	assert_int_equal(msg_cte_parse(STR_LIT("QUOTED-PRINTABLE")), MSG_CTE_QP);
	assert_int_equal(msg_cte_parse(STR_LIT("")), MSG_CTE_7BIT);
	assert_int_equal(msg_cte_parse(STR_LIT("8bit")), MSG_CTE_8BIT);
	assert_int_equal(msg_cte_parse(STR_LIT("binary")), MSG_CTE_BINARY);
	assert_int_equal(msg_cte_parse(STR_LIT("x-uuencode")), MSG_CTE_UNKNOWN);
	struct buf b;
	const char *error = NULL;
	buf_init(&b, 16);
	assert_int_equal(msg_transfer_decode(MSG_CTE_UNKNOWN, STR_LIT("x"), &b, &error), -1);
	assert_non_null(error);
	buf_free(&b);
}

static void test_base64(void **state)
{
	DEC(MSG_CTE_BASE64, "SGVsbG8=", "Hello");
	DEC(MSG_CTE_BASE64, "SGVs\r\nbG8g\nd29y bGQ=\r\n", "Hello world");
	DEC(MSG_CTE_BASE64, "SGVsbG8", "Hello");             /* no padding */
	DEC(MSG_CTE_BASE64, "S!G@V#s$b%G^8&", "Hello");      /* junk ignored */
	DEC(MSG_CTE_BASE64, "SGk=trailing", "Hi");           /* stops at '=' */
	DEC(MSG_CTE_BASE64, "", "");
	DEC(MSG_CTE_BASE64, "A", "");
	DEC(MSG_CTE_BASE64, "AAAA", "\0\0\0");
}

static void test_qp(void **state)
{
	DEC(MSG_CTE_QP, "caf=C3=A9", "caf\xc3\xa9");
	DEC(MSG_CTE_QP, "soft=\r\nbreak=\nhere", "softbreakhere");
	DEC(MSG_CTE_QP, "trailing   \r\nspace\t\n", "trailing\r\nspace\n");
	DEC(MSG_CTE_QP, "a=  \r\nb", "ab");                 /* white space after '=' */
	DEC(MSG_CTE_QP, "bad =ZZ =4", "bad =ZZ =4");
	DEC(MSG_CTE_QP, "lower =c3=a9", "lower \xc3\xa9");
	DEC(MSG_CTE_QP, "end=", "end");
	DEC(MSG_CTE_QP, "mid  space", "mid  space");
	DEC(MSG_CTE_7BIT, "as is=41\r\n", "as is=41\r\n");
	struct buf b;
	buf_init(&b, 64);
	assert_int_equal(msg_q_decode(STR_LIT("a_b=41"), &b), 0);
	assert_string_equal(b.data, "a bA");
	buf_free(&b);
}

static void test_encode_base64(void **state)
{
	struct buf b, d;
	buf_init(&b, 1 << 16);
	buf_init(&d, 1 << 16);
	char in[200];
	for (int i = 0; i < 200; i++)
		in[i] = (char)(i * 7);
	assert_int_equal(msg_base64_encode_lines((struct str){ in, 200 }, true, &b), 0);
	/* 57 octets a line: 76 characters and CRLF. */
	assert_int_equal(b.len, 3 * 78 + 4 * ((200 - 171 + 2) / 3) + 2);
	assert_memory_equal(b.data + 76, "\r\n", 2);
	assert_int_equal(msg_base64_decode(buf_str(&b), &d), 0);
	assert_int_equal(d.len, 200);
	assert_memory_equal(d.data, in, 200);
	buf_free(&b);
	buf_free(&d);
}

static void qp_round(const char *in, bool crlf, const char *want)
{
	struct buf b, d;
	buf_init(&b, 1 << 16);
	buf_init(&d, 1 << 16);
	assert_int_equal(msg_qp_encode(str_from(in), crlf, &b), 0);
	if (want != NULL)
		assert_string_equal(b.data ? b.data : "", want);
	/* Lines within 76 characters. */
	const char *p = b.data ? b.data : "";
	size_t col = 0;
	for (; *p != '\0'; p++) {
		col = *p == '\n' ? 0 : col + 1;
		assert_true(col <= 77);   /* 76 and the CR */
	}
	assert_int_equal(msg_qp_decode(buf_str(&b), &d), 0);
	/* The decoded text has the encoder's line ends. */
	struct buf norm;
	buf_init(&norm, 1 << 16);
	for (const char *s = in; *s != '\0'; s++) {
		if (*s == '\r' && s[1] == '\n')
			continue;
		if (*s == '\n' && crlf)
			buf_append_char(&norm, '\r');
		buf_append_char(&norm, *s);
	}
	assert_int_equal(d.len, norm.len);
	if (d.len > 0)
		assert_memory_equal(d.data, norm.data, d.len);
	buf_free(&norm);
	buf_free(&b);
	buf_free(&d);
}

static void test_encode_qp(void **state)
{
	qp_round("caf\xc3\xa9 = ok\n", false, "caf=C3=A9 =3D ok\n");
	qp_round("trailing \nFrom me\n.\n", false, "trailing=20\n=46rom me\n=2E\n");
	qp_round("", true, "");
	qp_round("x\r\ny", true, "x\r\ny");
	qp_round("A very long line of text that certainly goes past the seventy-six character "
		 "limit of quoted-printable, with \xc3\xa9 accents \xc3\xa9 near \xc3\xa9 the end "
		 "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\n",
		 true, NULL);
	qp_round("\t\x01\x7f binary \xff\n\n\n", false, NULL);
}

static void test_full_buffer(void **state)
{
	struct buf b;
	buf_init(&b, 2);
	assert_int_equal(msg_base64_decode(STR_LIT("SGVsbG8="), &b), -1);
	assert_int_equal(msg_qp_decode(STR_LIT("Hello"), &b), -1);
	assert_int_equal(msg_qp_encode(STR_LIT("Hello"), false, &b), -1);
	assert_int_equal(msg_base64_encode_lines(STR_LIT("Hello"), false, &b), -1);
	buf_free(&b);
}

static void test_crlf(void **state)
{
	struct buf b;
	buf_init(&b, 64);
	assert_int_equal(msg_crlf_append(STR_LIT("\na\nb\r\nc\r\r\nd"), &b), 0);
	assert_string_equal(b.data, "\r\na\r\nb\r\nc\r\r\nd");
	buf_free(&b);
	/* The first line end says how a stored message goes out. */
	assert_true(msg_crlf_native("A: b\r\n\r\nx\ny", 13));
	assert_false(msg_crlf_native("A: b\n\r\nx", 10));
	assert_false(msg_crlf_native("\nx", 2));
	assert_false(msg_crlf_native("no line end", 11));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cte_names),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_qp),
		cmocka_unit_test(test_encode_base64),
		cmocka_unit_test(test_encode_qp),
		cmocka_unit_test(test_full_buffer),
		cmocka_unit_test(test_crlf),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
