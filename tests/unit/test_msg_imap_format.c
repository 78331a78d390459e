/* ENVELOPE and BODY/BODYSTRUCTURE strings, compared with hand-checked
 * expectations (RFC 9051 7.5.2 and its examples). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "msg/imap_format.h"
#include "msg/mime.h"

#include "../imap_wellformed.h"


enum what { ENVELOPE, BODY, BODYSTRUCTURE };

static void check(const char *msg, size_t len, enum what w, bool utf8, const char *want)
{
	struct msg_mime *m = NULL;
	const char *error;
	struct buf b;
	assert_int_equal(msg_mime_parse(msg, len, &m, &error), 0);
	buf_init(&b, 1 << 20);
	int r = w == ENVELOPE ? msg_imap_write_envelope(&b, m->root, utf8) :
				msg_imap_write_body(&b, m->root, w == BODYSTRUCTURE, utf8);
	assert_int_equal(r, 0);
	if (strcmp(b.data, want) != 0)
		fail_msg("got    %s\nwanted %s", b.data, want);
	buf_free(&b);
	msg_mime_free(&m);
}

#define CHECK(msg, w, want) check(msg, sizeof(msg) - 1, w, false, want)

/* The RFC 9051 7.5.2 example message. */
static const char rfc_example[] =
	"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
	"From: Terry Gray <gray@cac.washington.edu>\r\n"
	"Subject: IMAP4rev2 WG mtg summary and minutes\r\n"
	"To: imap@cac.washington.edu\r\n"
	"cc: minutes@CNRI.Reston.VA.US,\r\n"
	"    John Klensin <KLENSIN@MIT.EDU>\r\n"
	"Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
	"Content-Transfer-Encoding: 7BIT\r\n"
	"\r\n";

static void test_rfc9051_envelope(void **state)
{
	/* As in the RFC, except that addresses in a list are not separated by
	 * a space: the grammar ("(" 1*address ")") has none. */
	CHECK(rfc_example, ENVELOPE,
	      "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" "
	      "\"IMAP4rev2 WG mtg summary and minutes\" "
	      "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	      "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	      "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) "
	      "((NIL NIL \"imap\" \"cac.washington.edu\")) "
	      "((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")"
	      "(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL "
	      "\"<B27397-0100000@cac.washington.edu>\")");
}

static void test_rfc9051_body(void **state)
{
	/* A body of 92 lines, 3028 octets with CRLF, stored with LF: the
	 * example's ("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT"
	 * 3028 92). */
	struct buf b;
	buf_init(&b, 1 << 16);
	for (const char *p = rfc_example; *p != '\0'; p++)
		if (*p != '\r')
			buf_append_char(&b, *p);
	for (int i = 0; i < 91; i++)
		buf_append_str(&b, "0123456789012345678901234567890\n");
	buf_append_str(&b, "01234567890123456789012\n");
	check(b.data, b.len, BODY, false,
	      "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92)");
	check(b.data, b.len, BODYSTRUCTURE, false,
	      "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92 "
	      "NIL NIL NIL NIL)");
	buf_free(&b);
}

static const char mixed[] =
	"From: \"Alice Example\" <alice@a.test>\r\n"
	"To: Bob <bob@b.test>, undisclosed:;\r\n"
	"Reply-To: list@a.test\r\n"
	"Subject: =?utf-8?q?Caf=C3=A9?= \"plans\"\r\n"
	"In-Reply-To: <x@a.test>\r\n"
	"Content-Type: multipart/mixed; boundary=\"=_m\"\r\n"
	"\r\n"
	"--=_m\r\n"
	"Content-Type: multipart/alternative; boundary=\"=_a\"\r\n"
	"\r\n"
	"--=_a\r\n"
	"Content-Type: text/plain; charset=utf-8; format=flowed\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n"
	"\r\n"
	"Caf=C3=A9 at 8?\r\n"
	"--=_a\r\n"
	"Content-Type: text/html; charset=utf-8\r\n"
	"\r\n"
	"<p>Caf\xc3\xa9 at 8?</p>\r\n"
	"<p>Bring the map.</p>\r\n"
	"--=_a--\r\n"
	"\r\n"
	"--=_m\r\n"
	"Content-Type: application/pdf; name=\"map.pdf\"\r\n"
	"Content-Disposition: attachment; filename=\"map.pdf\"; size=6\r\n"
	"Content-Transfer-Encoding: base64\r\n"
	"Content-ID: <map@a.test>\r\n"
	"Content-Description: The map\r\n"
	"Content-Language: en, fr\r\n"
	"Content-Location: http://a.test/map.pdf\r\n"
	"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
	"\r\n"
	"JVBERi0K\r\n"
	"--=_m--\r\n";

static void test_mixed_alternative_attachment(void **state)
{
	CHECK(mixed, BODYSTRUCTURE,
	      "(((\"text\" \"plain\" (\"charset\" \"utf-8\" \"format\" \"flowed\") NIL NIL "
	      "\"quoted-printable\" 15 0 NIL NIL NIL NIL)"
	      "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 41 1 NIL NIL NIL NIL) "
	      "\"alternative\" (\"boundary\" \"=_a\") NIL NIL NIL)"
	      "(\"application\" \"pdf\" (\"name\" \"map.pdf\") \"<map@a.test>\" \"The map\" "
	      "\"base64\" 8 \"Q2hlY2sgSW50ZWdyaXR5IQ==\" "
	      "(\"attachment\" (\"filename\" \"map.pdf\" \"size\" \"6\")) (\"en\" \"fr\") "
	      "\"http://a.test/map.pdf\") "
	      "\"mixed\" (\"boundary\" \"=_m\") NIL NIL NIL)");
	CHECK(mixed, BODY,
	      "(((\"text\" \"plain\" (\"charset\" \"utf-8\" \"format\" \"flowed\") NIL NIL "
	      "\"quoted-printable\" 15 0)"
	      "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 41 1) \"alternative\")"
	      "(\"application\" \"pdf\" (\"name\" \"map.pdf\") \"<map@a.test>\" \"The map\" "
	      "\"base64\" 8) \"mixed\")");
	CHECK(mixed, ENVELOPE,
	      "(NIL {29}\r\n=?utf-8?q?Caf=C3=A9?= \"plans\" "
	      "((\"Alice Example\" NIL \"alice\" \"a.test\")) "
	      "((\"Alice Example\" NIL \"alice\" \"a.test\")) "
	      "((NIL NIL \"list\" \"a.test\")) "
	      "((\"Bob\" NIL \"bob\" \"b.test\")(NIL NIL \"undisclosed\" NIL)(NIL NIL NIL NIL)) "
	      "NIL NIL \"<x@a.test>\" NIL)");
}

static void test_message_rfc822(void **state)
{
	static const char msg[] =
		"Subject: fwd\n"
		"Content-Type: message/rfc822\n"
		"\n"
		"From: x@y.test\n"
		"Subject: orig\n"
		"\n"
		"hi\n";
	CHECK(msg, BODYSTRUCTURE,
	      "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 37 "
	      "(NIL \"orig\" ((NIL NIL \"x\" \"y.test\")) ((NIL NIL \"x\" \"y.test\")) "
	      "((NIL NIL \"x\" \"y.test\")) NIL NIL NIL NIL NIL) "
	      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 1 NIL NIL NIL NIL) "
	      "4 NIL NIL NIL NIL)");
}

static void test_strings(void **state)
{
	struct buf b;
	buf_init(&b, 1024);
	assert_int_equal(msg_imap_write_string(&b, (struct str){ NULL, 0 }, false), 0);
	assert_int_equal(msg_imap_write_string(&b, STR_LIT(" a\"b\\c "), false), 0);
	assert_int_equal(msg_imap_write_string(&b, STR_LIT(""), false), 0);
	assert_int_equal(msg_imap_write_string(&b, STR_LIT("plain text"), false), 0);
	assert_string_equal(b.data, "NIL{7}\r\n a\"b\\c \"\"\"plain text\"");
	buf_reset(&b);
	assert_int_equal(msg_imap_write_string(&b, STR_LIT("caf\xc3\xa9"), false), 0);
	assert_string_equal(b.data, "{5}\r\ncaf\xc3\xa9");
	buf_reset(&b);
	assert_int_equal(msg_imap_write_string(&b, STR_LIT("caf\xc3\xa9"), true), 0);
	assert_string_equal(b.data, "\"caf\xc3\xa9\"");
	buf_reset(&b);
	assert_int_equal(msg_imap_write_string(&b, STR_LIT("bad \xff"), true), 0);
	assert_string_equal(b.data, "{5}\r\nbad \xff");
	buf_reset(&b);
	assert_int_equal(msg_imap_write_string(&b, STR_LIT("a\r\nb"), false), 0);
	assert_string_equal(b.data, "{4}\r\na\r\nb");
	buf_reset(&b);
	assert_int_equal(msg_imap_write_string(&b, (struct str){ "a\0b", 3 }, false), 0);
	assert_memory_equal(b.data, "{3}\r\na\x80" "b", 8);
	buf_free(&b);
	/* A full buffer is an error, not a crash. */
	buf_init(&b, 3);
	assert_int_equal(msg_imap_write_string(&b, STR_LIT("long string"), false), -1);
	buf_free(&b);
}

static void test_envelope_odd(void **state)
{
	/* Folded subject, empty Sender falls back to From, 8-bit subject,
	 * a language list of one, text/plain without charset. */
	static const char msg[] =
		"Subject: a\n b\n"
		"From: f@x.test\n"
		"Sender:\n"
		"Date: Mon, 1 Jan 2024 00:00:00 +0000\n"
		"\n";
	CHECK(msg, ENVELOPE,
	      "(\"Mon, 1 Jan 2024 00:00:00 +0000\" \"a b\" ((NIL NIL \"f\" \"x.test\")) "
	      "((NIL NIL \"f\" \"x.test\")) ((NIL NIL \"f\" \"x.test\")) NIL NIL NIL NIL NIL)");
	static const char bits[] = "Subject: Gr\xc3\xbc\xc3\x9f" "e\n\n";
	CHECK(bits, ENVELOPE,
	      "(NIL {7}\r\nGr\xc3\xbc\xc3\x9f" "e NIL NIL NIL NIL NIL NIL NIL NIL)");
	check(bits, sizeof bits - 1, ENVELOPE, true,
	      "(NIL \"Gr\xc3\xbc\xc3\x9f" "e\" NIL NIL NIL NIL NIL NIL NIL NIL)");
	CHECK("", ENVELOPE, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	CHECK("Content-Type: text/plain\nContent-Language: en\n\nhi", BODYSTRUCTURE,
	      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 2 0 NIL NIL "
	      "(\"en\") NIL)");
	/* Multipart without boundary: a multipart with one empty part. */
	CHECK("Content-Type: multipart/mixed\n\n--x\n\nbody\n", BODYSTRUCTURE,
	      "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) "
	      "\"mixed\" NIL NIL NIL NIL)");
	CHECK("Content-Type: multipart/mixed\n\n--x\n\nbody\n", BODY,
	      "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")");
	CHECK("", BODYSTRUCTURE,
	      "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)");
}

static void test_hostile(void **state)
{
	static const char *const headers[] = {
		"From: \"unbalanced <a@b>\nTo: ((((a@b\nCc: <<<<@@@>>>\nSubject: \"\\\n\n",
		"From: g: (x; <a@b\nReply-To: ;;;\nSender: \\\nBcc: [[[\nMessage-ID: \r\n\r\n",
		"Content-Type: text/plain; name=\"a\\\"b\"; x=\"(\"\nContent-ID: (\n\n",
		"Content-Type: multipart/mixed; boundary=\"((\"\n\n--((\nContent-Language: ,,(\n\n--((--",
	};
	for (size_t i = 0; i < sizeof headers / sizeof *headers; i++) {
		struct msg_mime *m = NULL;
		const char *error;
		struct buf b;
		assert_int_equal(msg_mime_parse(headers[i], strlen(headers[i]), &m, &error), 0);
		buf_init(&b, 1 << 20);
		assert_int_equal(msg_imap_write_envelope(&b, m->root, false), 0);
		assert_true(imap_wellformed(b.data, b.len));
		buf_reset(&b);
		assert_int_equal(msg_imap_write_body(&b, m->root, true, false), 0);
		assert_true(imap_wellformed(b.data, b.len));
		buf_free(&b);
		msg_mime_free(&m);
	}
	/* A 1 MiB subject line is written whole, as a quoted string. */
	struct buf msg, b;
	buf_init(&msg, 1 << 22);
	buf_init(&b, 1 << 22);
	buf_append_str(&msg, "Subject: ");
	for (int i = 0; i < (1 << 20); i++)
		buf_append_char(&msg, 'x');
	buf_append_str(&msg, "\n\n");
	struct msg_mime *m = NULL;
	const char *error;
	assert_int_equal(msg_mime_parse(msg.data, msg.len, &m, &error), 0);
	assert_int_equal(msg_imap_write_envelope(&b, m->root, false), 0);
	assert_int_equal(b.len, 1 + 4 + (1 << 20) + 2 + 8 * 4 + 1);
	assert_true(imap_wellformed(b.data, b.len));
	msg_mime_free(&m);
	buf_free(&msg);
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc9051_envelope),
		cmocka_unit_test(test_rfc9051_body),
		cmocka_unit_test(test_mixed_alternative_attachment),
		cmocka_unit_test(test_message_rfc822),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_envelope_odd),
		cmocka_unit_test(test_hostile),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
