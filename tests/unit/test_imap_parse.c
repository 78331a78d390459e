/* IMAP command reader and argument parsers: RFC 9051 9, RFC 3501, RFC 7888,
 * RFC 3516, RFC 7162, RFC 5258/5819, RFC 5256, RFC 4731, RFC 2971, RFC 4959.
 * Reader tests are transcripts: every event is written to a log, so the
 * same input fed in one piece, byte by byte and in odd chunks must give
 * the very same log (the trickle rule). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap/imap_parse.h"
#include "imap/imap_parse_cmd.h"

/* ---- transcript helpers ---- */

static void put_escaped(struct buf *b, struct str s)
{
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c < 0x20 || c >= 0x7f || c == '\\')
			assert_int_equal(buf_printf(b, "\\x%02x", c), 0);
		else
			assert_int_equal(buf_append_char(b, (char)c), 0);
	}
}

static void dump_args(struct buf *b, const struct imap_arg *a)
{
	for (size_t i = 0; a[i].type != IMAP_ARG_EOL; i++) {
		if (i > 0)
			buf_append_char(b, ' ');
		switch (a[i].type) {
		case IMAP_ARG_ATOM:
			put_escaped(b, a[i].str);
			break;
		case IMAP_ARG_NIL:
			buf_append_str(b, "NIL");
			break;
		case IMAP_ARG_STRING:
			buf_append_char(b, '"');
			put_escaped(b, a[i].str);
			buf_append_char(b, '"');
			break;
		case IMAP_ARG_LITERAL:
			buf_printf(b, "%s{%zu}", a[i].literal8 ? "~" : "", a[i].str.len);
			put_escaped(b, a[i].str);
			break;
		case IMAP_ARG_LIST:
			buf_append_char(b, '(');
			dump_args(b, a[i].list);
			buf_append_char(b, ')');
			assert_int_equal(imap_args_count(a[i].list), a[i].list_count);
			break;
		case IMAP_ARG_EOL:
			break;
		}
	}
}

struct policy {
	uint64_t accept_max;        /* literals above are rejected */
	struct imap_reader_settings set;
};

static struct policy default_policy(void)
{
	struct policy p = { .accept_max = 1 << 20 };
	imap_reader_settings_default(&p.set);
	return p;
}

static void log_event(struct buf *log, struct imap_reader *r, enum imap_read_result res,
		      const struct policy *pol)
{
	const struct imap_arg *args;
	const char *why;

	if (res == IMAP_READ_COMMAND) {
		const struct imap_command *c = imap_reader_command(r);
		buf_printf(log, "CMD %.*s %s%.*s [", STR_FMT(c->tag), c->uid ? "UID " : "",
			   STR_FMT(c->name));
		if (imap_reader_args(r, &args, &why) == 0)
			dump_args(log, args);
		else
			buf_printf(log, "ERR %s", why);
		buf_append_str(log, "]\n");
	} else if (res == IMAP_READ_LITERAL) {
		const struct imap_literal_info *l = imap_reader_literal(r);
		buf_printf(log, "LIT %.*s %llu%s%s #%zu; ", STR_FMT(l->tag),
			   (unsigned long long)l->size, l->sync ? "" : "+",
			   l->binary ? " bin" : "", l->index);
		if (l->size <= pol->accept_max) {
			if (imap_reader_literal_accept(r))
				buf_append_str(log, "CONT; ");
		} else {
			imap_reader_literal_reject(r, true, "Refused by session");
			buf_append_str(log, "REJ; ");
		}
	} else if (res == IMAP_READ_LINE) {
		struct str line = imap_reader_line(r);
		buf_append_str(log, "LINE ");
		put_escaped(log, line);
		buf_append_str(log, "\n");
	} else {
		const struct imap_read_error *e = imap_reader_error(r);
		buf_printf(log, "%s %.*s %s%s\n", res == IMAP_READ_BAD ? "BAD" : "FATAL",
			   e->tag.len ? (int)e->tag.len : 1, e->tag.len ? e->tag.p : "*",
			   e->toobig ? "[TOOBIG] " : "", e->text);
	}
}

/* Feeds in[0..len) in chunks of `chunk` octets; returns the log (static
 * storage of the caller's buf). line_after: call want_line after the
 * command whose name is this (AUTHENTICATE, IDLE). */
static void run_into(struct buf *log, const char *in, size_t len, size_t chunk,
		     const struct policy *pol, const char *line_after)
{
	struct imap_reader *r = imap_reader_new(&pol->set);
	size_t pos = 0, used;
	assert_non_null(r);
	buf_init(log, 1 << 22);
	for (;;) {
		size_t n = len - pos < chunk ? len - pos : chunk;
		/* an exact-size heap copy so ASan sees any overread */
		char *copy = malloc(n ? n : 1);
		assert_non_null(copy);
		memcpy(copy, in + pos, n);
		enum imap_read_result res = imap_reader_feed(r, copy, n, &used);
		free(copy);
		assert_true(used <= n);
		pos += used;
		if (res == IMAP_READ_MORE) {
			assert_int_equal(used, n);
			if (pos == len)
				break;
			continue;
		}
		log_event(log, r, res, pol);
		if (res == IMAP_READ_FATAL)
			break;
		if (res == IMAP_READ_COMMAND && line_after != NULL &&
		    str_case_eq_cstr(imap_reader_command(r)->name, line_after))
			imap_reader_want_line(r);
	}
	imap_reader_free(&r);
	assert_null(r);
	if (log->data == NULL)
		buf_append_str(log, "");
}

static char *last_log;

/* The log of in, checked to be the same in every chunking. */
static const char *run_pol(const char *in, size_t len, const struct policy *pol,
			   const char *line_after)
{
	static const size_t chunks[] = { 1, 2, 3, 7, 64 };
	struct buf whole, part;
	run_into(&whole, in, len, len ? len : 1, pol, line_after);
	for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
		run_into(&part, in, len, chunks[i], pol, line_after);
		if (strcmp(part.data, whole.data) != 0)
			fail_msg("trickle %zu differs:\n%s\nvs whole:\n%s", chunks[i], part.data,
				 whole.data);
		buf_free(&part);
	}
	free(last_log);
	last_log = buf_steal(&whole, NULL);
	return last_log;
}

static const char *run(const char *in)
{
	struct policy pol = default_policy();
	return run_pol(in, strlen(in), &pol, NULL);
}

static int teardown(void **state)
{
	(void)state;
	free(last_log);
	last_log = NULL;
	return 0;
}

/* ---- reader: commands, tags, lines ---- */

static void test_simple_commands(void **state)
{
	(void)state;
	assert_string_equal(run("a NOOP\r\n"), "CMD a NOOP []\n");
	assert_string_equal(run("a1 login joe \"se cret\"\r\n"),
			    "CMD a1 login [joe \"se cret\"]\n");
	assert_string_equal(run("x UID fetch 1:* (FLAGS)\r\n"), "CMD x UID fetch [1:* (FLAGS)]\n");
	/* a bare LF ends a line too; blank lines between commands are skipped */
	assert_string_equal(run("a NOOP\n\r\n\nb CAPABILITY\r\n"),
			    "CMD a NOOP []\nCMD b CAPABILITY []\n");
	/* tags may hold ] but not + */
	assert_string_equal(run("a]1 NOOP\r\n"), "CMD a]1 NOOP []\n");
	/* an unfinished command is not a command */
	assert_string_equal(run("a NOOP"), "");
	/* runs of SP and a trailing SP are tolerated */
	assert_string_equal(run("a SELECT  INBOX \r\n"), "CMD a SELECT [INBOX]\n");
}

static void test_bad_heads(void **state)
{
	(void)state;
	assert_string_equal(run("+ NOOP\r\n"), "BAD * Invalid tag\n");
	assert_string_equal(run("a+ NOOP\r\n"), "BAD * Invalid tag\n");
	assert_string_equal(run(" a NOOP\r\n"), "BAD * Invalid tag\n");
	assert_string_equal(run("a\r\n"), "BAD a Missing command\n");
	assert_string_equal(run("a*b NOOP\r\n"), "BAD * Invalid tag\n");
	assert_string_equal(run("a \"NOOP\"\r\n"), "BAD a Invalid command name\n");
	assert_string_equal(run("a NO(OP\r\n"), "BAD a Invalid command name\n");
	assert_string_equal(run("a UID\r\n"), "BAD a Missing command after UID\n");
	assert_string_equal(run("a UID UID x\r\n"), "CMD a UID UID [x]\n");
	assert_string_equal(run("a \r\nb NOOP\r\n"), "BAD a Invalid command name\nCMD b NOOP []\n");
	/* NUL in the tag or name */
	struct policy pol = default_policy();
	assert_string_equal(run_pol("a\0 NOOP\r\n", 9, &pol, NULL), "BAD * Invalid tag\n");
}

static void test_tokens(void **state)
{
	(void)state;
	assert_string_equal(run("a X \"a\\\"b\\\\c\" \"\" NIL nil Nil NILS\r\n"),
			    "CMD a X [\"a\"b\\x5cc\" \"\" NIL NIL NIL NILS]\n");
	assert_string_equal(run("a X (a (b (c)) ()) d\r\n"), "CMD a X [(a (b (c)) ()) d]\n");
	assert_string_equal(run("a X \\Seen $Junk 1:*,3 a/%/* BODY[]<0.5>\r\n"),
			    "CMD a X [\\x5cSeen $Junk 1:*,3 a/%/* BODY[]<0.5>]\n");
	/* BODY[HEADER.FIELDS (A B)]: the list sits inside the item */
	assert_string_equal(run("a F 1 (BODY.PEEK[HEADER.FIELDS (From \"To\")]<0.9> UID)\r\n"),
			    "CMD a F [1 (BODY.PEEK[HEADER.FIELDS (From \"To\") ]<0.9> UID)]\n");
	/* UTF-8 in quoted strings (IMAP4rev2) */
	assert_string_equal(run("a X \"caf\xc3\xa9\"\r\n"), "CMD a X [\"caf\\xc3\\xa9\"]\n");
}

static void test_token_errors(void **state)
{
	(void)state;
	assert_string_equal(run("a X \"abc\r\n"), "CMD a X [ERR Unterminated quoted string]\n");
	assert_string_equal(run("a X \"a\\b\"\r\n"), "CMD a X [ERR Invalid escape in quoted string]\n");
	assert_string_equal(run("a X \"\xc3\"\r\n"), "CMD a X [ERR Quoted string is not UTF-8]\n");
	assert_string_equal(run("a X \"\xc0\xaf\"\r\n"), "CMD a X [ERR Quoted string is not UTF-8]\n");
	assert_string_equal(run("a X (a\r\n"), "CMD a X [ERR Missing ')']\n");
	assert_string_equal(run("a X ((a)\r\n"), "CMD a X [ERR Missing ')']\n");
	assert_string_equal(run("a X a)\r\n"), "CMD a X [ERR Unexpected ')']\n");
	assert_string_equal(run("a X (a))\r\n"), "CMD a X [ERR Unexpected ')']\n");
	assert_string_equal(run("a X a(b)\r\n"), "CMD a X [ERR Missing space between arguments]\n");
	assert_string_equal(run("a X (a)b\r\n"), "CMD a X [ERR Missing space between arguments]\n");
	assert_string_equal(run("a X \"a\"b\r\n"), "CMD a X [ERR Missing space between arguments]\n");
	assert_string_equal(run("a X a\tb\r\n"), "CMD a X [ERR Missing space between arguments]\n");
	assert_string_equal(run("a X \x01\r\n"), "CMD a X [ERR Invalid characters in command]\n");
	assert_string_equal(run("a X caf\xc3\xa9\r\n"), "CMD a X [ERR Missing space between arguments]\n");
	assert_string_equal(run("a X a{3}b\r\n"), "CMD a X [ERR Missing space between arguments]\n");
	assert_string_equal(run("a X {3} b\r\n"), "CMD a X [ERR Literal not at the end of a line]\n");
	assert_string_equal(run("a X a\rb\r\n"), "CMD a X [ERR Missing space between arguments]\n");
}

static void test_nul_bytes(void **state)
{
	static const char in[] = "a X \"a\0b\"\r\nb X a\0\r\nc X ~{3}\r\na\0b\r\n";
	struct policy pol = default_policy();
	(void)state;
	assert_string_equal(run_pol(in, sizeof in - 1, &pol, NULL),
			    "CMD a X [ERR Invalid character in quoted string]\n"
			    "CMD b X [ERR Missing space between arguments]\n"
			    "LIT c 3 bin #0; CONT; CMD c X [~{3}a\\x00b]\n");
}

static void test_depth_and_count(void **state)
{
	char in[512];
	struct policy pol = default_policy();
	(void)state;
	/* 32 levels are fine, 33 are not */
	int n = snprintf(in, sizeof in, "a X %.*s%.*s\r\n", 32,
			 "((((((((((((((((((((((((((((((((((((((((", 32,
			 "))))))))))))))))))))))))))))))))))))))))");
	const char *log = run_pol(in, (size_t)n, &pol, NULL);
	assert_null(strstr(log, "ERR"));
	n = snprintf(in, sizeof in, "a X %.*s%.*s\r\n", 33,
		     "((((((((((((((((((((((((((((((((((((((((", 33,
		     "))))))))))))))))))))))))))))))))))))))))");
	assert_string_equal(run_pol(in, (size_t)n, &pol, NULL),
			    "CMD a X [ERR Too deeply nested lists]\n");
	pol.set.args_max = 4;
	assert_string_equal(run_pol("a X 1 2 3 4\r\n", 13, &pol, NULL), "CMD a X [1 2 3 4]\n");
	assert_string_equal(run_pol("a X 1 2 3 4 5\r\n", 15, &pol, NULL),
			    "CMD a X [ERR Too many arguments]\n");
	assert_string_equal(run_pol("a X 1 (2 3) 4\r\n", 15, &pol, NULL),
			    "CMD a X [ERR Too many arguments]\n");
}

/* ---- literals ---- */

static void test_literals(void **state)
{
	(void)state;
	assert_string_equal(run("a LOGIN {3}\r\njoe {6}\r\nse\r\nct\r\n"),
			    "LIT a 3 #0; CONT; LIT a 6 #1; CONT; CMD a LOGIN [{3}joe {6}se\\x0d\\x0act]\n");
	assert_string_equal(run("a LOGIN {3+}\r\njoe {2+}\r\npw\r\n"),
			    "LIT a 3+ #0; LIT a 2+ #1; CMD a LOGIN [{3}joe {2}pw]\n");
	assert_string_equal(run("a X {0}\r\n\r\nb NOOP\r\n"),
			    "LIT a 0 #0; CONT; CMD a X [{0}]\nCMD b NOOP []\n");
	assert_string_equal(run("a X ({1}\r\n) {0+}\r\n)\r\n"),
			    "LIT a 1 #0; CONT; LIT a 0+ #1; CMD a X [({1}) {0})]\n");
	struct policy pol = default_policy();
	assert_string_equal(run_pol("a APPEND box ~{4}\r\n\0\1\2\3\r\n", 26, &pol, NULL),
			    "LIT a 4 bin #0; CONT; CMD a APPEND [box ~{4}\\x00\\x01\\x02\\x03]\n");
	/* a marker inside a quoted string is no literal */
	assert_string_equal(run("a X \"{3}\"\r\nb X \"\\\" {3}\"\r\n"),
			    "CMD a X [\"{3}\"]\nCMD b X [\"\" {3}\"]\n");
	/* leading zeros are fine */
	assert_string_equal(run("a X {0003}\r\nabc\r\n"), "LIT a 3 #0; CONT; CMD a X [{3}abc]\n");
	/* literal data moves the buffer (realloc): the tag and name still read
	 * right, in every event (ASan would see a stale view) */
	char *big = malloc(20000);
	assert_non_null(big);
	int n = snprintf(big, 100, "tag1 APPEND box {10000}\r\n");
	memset(big + n, 'm', 10000);
	n += 10000;
	n += snprintf(big + n, 100, " {2000+}\r\n");
	memset(big + n, 'n', 2000);
	n += 2000;
	n += snprintf(big + n, 100, "\r\n");
	const char *log = run_pol(big, (size_t)n, &pol, NULL);
	assert_int_equal(strncmp(log, "LIT tag1 10000 #0; CONT; LIT tag1 2000+ #1; CMD tag1 APPEND [box {10000}mmm", 74), 0);
	pol.accept_max = 5000;
	/* refused: the client never sends the data, so it reads as a command
	 * tagged mmm... whose name is "{2000+}", whose literal is skipped */
	log = run_pol(big, (size_t)n, &pol, NULL);
	assert_int_equal(strncmp(log, "LIT tag1 10000 #0; REJ; BAD tag1 [TOOBIG] Refused by session\n"
				 "BAD mmmm", 68), 0);
	assert_string_equal(log + strlen(log) - 22, " Invalid command name\n");
	free(big);
	/* "~" alone before a normal literal */
	assert_string_equal(run("a X ~ {1}\r\nb\r\n"), "LIT a 1 #0; CONT; CMD a X [~ {1}b]\n");
}

static void test_literal_limits(void **state)
{
	(void)state;
	/* Never an allocation for these: refused before any octet is read. */
	assert_string_equal(run("a APPEND x {4294967296}\r\nb NOOP\r\n"),
			    "BAD a [TOOBIG] Command too large\nCMD b NOOP []\n");
	assert_string_equal(run("a APPEND x {99999999999999999999}\r\nb NOOP\r\n"),
			    "BAD a [TOOBIG] Literal size out of range\nCMD b NOOP []\n");
	assert_string_equal(run("a APPEND x {9223372036854775807}\r\nb NOOP\r\n"),
			    "BAD a [TOOBIG] Command too large\nCMD b NOOP []\n");
	assert_string_equal(run("a APPEND x {9223372036854775808}\r\n"),
			    "BAD a [TOOBIG] Literal size out of range\n");
	/* a non-synchronizing literal that cannot be skipped ends the stream */
	assert_string_equal(run("a APPEND x {99999999999999999999+}\r\nxx"),
			    "FATAL a [TOOBIG] Literal size out of range\n");
	/* LITERAL-: 4096 is fine, 4097 is read, thrown away, and refused */
	char *in = malloc(9000);
	assert_non_null(in);
	int n = snprintf(in, 100, "a X {4097+}\r\n");
	memset(in + n, 'x', 4097);
	n += 4097;
	n += snprintf(in + n, 100, " {2+}\r\nzz)\r\nb NOOP\r\n");
	struct policy pol = default_policy();
	assert_string_equal(run_pol(in, (size_t)n, &pol, NULL),
			    "BAD a [TOOBIG] Non-synchronizing literal too large\nCMD b NOOP []\n");
	/* with LITERAL+ it goes to the session */
	pol.set.literal_minus = false;
	pol.accept_max = 10;
	assert_string_equal(run_pol(in, (size_t)n, &pol, NULL),
			    "LIT a 4097+ #0; REJ; BAD a [TOOBIG] Refused by session\nCMD b NOOP []\n");
	free(in);
}

static void test_session_rejects(void **state)
{
	struct policy pol = default_policy();
	(void)state;
	pol.accept_max = 3;
	/* synchronizing: the client sends nothing more for it */
	const char *in = "a LOGIN {3}\r\njoe {8}\r\nb NOOP\r\n";
	assert_string_equal(run_pol(in, strlen(in), &pol, NULL),
			    "LIT a 3 #0; CONT; LIT a 8 #1; REJ; BAD a [TOOBIG] Refused by session\n"
			    "CMD b NOOP []\n");
	/* non-synchronizing: read and thrown away, with what follows it */
	in = "a X {5+}\r\n12345 {1+}\r\nx {2}\r\nb NOOP\r\n";
	assert_string_equal(run_pol(in, strlen(in), &pol, NULL),
			    "LIT a 5+ #0; REJ; BAD a [TOOBIG] Refused by session\nCMD b NOOP []\n");
	/* too many literals */
	pol = default_policy();
	pol.set.literals_max = 1;
	in = "a X {1}\r\nx {1}\r\nb NOOP\r\n";
	assert_string_equal(run_pol(in, strlen(in), &pol, NULL),
			    "LIT a 1 #0; CONT; BAD a Too many literals\nCMD b NOOP []\n");
	/* a bad command's literals are never asked about */
	in = "+ X {3}\r\nc NOOP\r\n+ Y {2+}\r\nxx\r\nd NOOP\r\n";
	assert_string_equal(run_pol(in, strlen(in), &pol, NULL),
			    "BAD * Invalid tag\nCMD c NOOP []\nBAD * Invalid tag\nCMD d NOOP []\n");
}

static void test_command_max(void **state)
{
	struct policy pol = default_policy();
	(void)state;
	pol.set.command_max = 100;
	const char *in = "a X {60}\r\n";
	assert_string_equal(run_pol(in, strlen(in), &pol, NULL), "LIT a 60 #0; CONT; ");
	in = "a X {91}\r\nb NOOP\r\n";
	assert_string_equal(run_pol(in, strlen(in), &pol, NULL),
			    "BAD a [TOOBIG] Command too large\nCMD b NOOP []\n");
}

/* ---- overlong lines ---- */

static void test_overlong(void **state)
{
	struct policy pol = default_policy();
	char in[512];
	(void)state;
	pol.set.line_max = 32;
	/* 32 octets with the CRLF is the most */
	int n = snprintf(in, sizeof in, "a X %s\r\nb NOOP\r\n", "01234567890123456789012345");
	assert_string_equal(run_pol(in, (size_t)n, &pol, NULL),
			    "CMD a X [01234567890123456789012345]\nCMD b NOOP []\n");
	n = snprintf(in, sizeof in, "a X %s\r\nb NOOP\r\n", "012345678901234567890123456");
	assert_string_equal(run_pol(in, (size_t)n, &pol, NULL),
			    "BAD a Command line too long\nCMD b NOOP []\n");
	/* an overlong line ending in a non-synchronizing literal: skip that too */
	n = snprintf(in, sizeof in, "a X %s {5+}\r\n\r\nb\r\n x\r\nc NOOP\r\n",
		     "0123456789012345678901234567890123456789");
	assert_string_equal(run_pol(in, (size_t)n, &pol, NULL),
			    "BAD a Command line too long\nCMD c NOOP []\n");
	/* ... but a synchronizing one is never sent */
	n = snprintf(in, sizeof in, "a X %s {5}\r\nc NOOP\r\n",
		     "0123456789012345678901234567890123456789");
	assert_string_equal(run_pol(in, (size_t)n, &pol, NULL),
			    "BAD a Command line too long\nCMD c NOOP []\n");
	/* the limit counts every line of a command */
	n = snprintf(in, sizeof in, "a X {1}\r\nx 0123456789012345678901234\r\nb NOOP\r\n");
	assert_string_equal(run_pol(in, (size_t)n, &pol, NULL),
			    "LIT a 1 #0; CONT; BAD a Command line too long\nCMD b NOOP []\n");
	/* a huge line without a tag-ending SP */
	memset(in, 'x', 300);
	memcpy(in + 300, "\r\nb NOOP\r\n", 10);
	assert_string_equal(run_pol(in, 310, &pol, NULL),
			    "BAD * Command line too long\nCMD b NOOP []\n");
}

/* A 64 KiB line with the default settings. */
static void test_overlong_default(void **state)
{
	size_t n = 70 * 1024;
	char *in = malloc(n + 20);
	struct policy pol = default_policy();
	(void)state;
	assert_non_null(in);
	memcpy(in, "t1 X ", 5);
	memset(in + 5, 'y', n - 5);
	memcpy(in + n, "\r\nt2 NOOP\r\n", 11);
	assert_string_equal(run_pol(in, n + 11, &pol, NULL),
			    "BAD t1 Command line too long\nCMD t2 NOOP []\n");
	free(in);
}

/* ---- raw lines: AUTHENTICATE responses, IDLE's DONE ---- */

static void test_line_mode(void **state)
{
	struct policy pol = default_policy();
	(void)state;
	const char *in = "a AUTHENTICATE PLAIN\r\nAGpvZQBwdw== {5}\r\nb IDLE\r\nDONE\r\nc NOOP\r\n";
	assert_string_equal(run_pol(in, strlen(in), &pol, "AUTHENTICATE"),
			    "CMD a AUTHENTICATE [PLAIN]\nLINE AGpvZQBwdw== {5}\n"
			    "CMD b IDLE []\nBAD DONE Missing command\nCMD c NOOP []\n");
	assert_string_equal(run_pol(in, strlen(in), &pol, "IDLE"),
			    "CMD a AUTHENTICATE [PLAIN]\nBAD AGpvZQBwdw== Invalid command name\n"
			    "CMD b IDLE []\nLINE DONE\nCMD c NOOP []\n");
}

/* An overlong raw line is skipped like any other; literal markers in it
 * mean nothing. */
static void test_line_mode_overlong(void **state)
{
	struct policy pol = default_policy();
	char in[256];
	(void)state;
	pol.set.line_max = 32;
	int n = snprintf(in, sizeof in, "a AUTHENTICATE PLAIN\r\n%s {5+}\r\nb NOOP\r\n",
			 "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB");
	assert_string_equal(run_pol(in, (size_t)n, &pol, "AUTHENTICATE"),
			    "CMD a AUTHENTICATE [PLAIN]\nBAD * Command line too long\nCMD b NOOP []\n");
}

/* reset drops a half-read command; accept/reject outside a literal
 * event do nothing. */
static void test_reset_and_misuse(void **state)
{
	struct imap_reader *r = imap_reader_new(NULL);
	size_t used;
	(void)state;
	assert_false(imap_reader_literal_accept(r));
	imap_reader_literal_reject(r, true, "x");
	assert_int_equal(imap_reader_feed(r, "a LOGIN {3}\r\nj", 15, &used), IMAP_READ_LITERAL);
	assert_int_equal(used, 13);
	/* feeding before deciding gives the same event and takes nothing */
	assert_int_equal(imap_reader_feed(r, "j", 1, &used), IMAP_READ_LITERAL);
	assert_int_equal(used, 0);
	assert_true(imap_reader_literal_accept(r));
	assert_false(imap_reader_literal_accept(r));
	assert_int_equal(imap_reader_feed(r, "j", 1, &used), IMAP_READ_MORE);
	imap_reader_want_line(r);
	imap_reader_reset(r);
	assert_int_equal(imap_reader_feed(r, "b NOOP\r\n", 8, &used), IMAP_READ_COMMAND);
	assert_int_equal(used, 8);
	assert_memory_equal(imap_reader_command(r)->tag.p, "b", 1);
	/* bytes after a command are left for later (STARTTLS) */
	assert_int_equal(imap_reader_feed(r, "c STARTTLS\r\n\x16\x03", 14, &used),
			 IMAP_READ_COMMAND);
	assert_int_equal(used, 12);
	imap_reader_free(&r);
	assert_null(r);
	imap_reader_free(&r);
}

/* ---- values ---- */

static const struct imap_arg *args_try(const char *line, const char **why_r);

static const struct imap_arg *args_of(const char *line)
{
	const char *why;
	const struct imap_arg *a = args_try(line, &why);
	if (line != NULL && a == NULL)
		fail_msg("%s: %s", line, why);
	return a;
}

/* The arguments of one command (literals accepted), or NULL with *why_r. */
static const struct imap_arg *args_try(const char *line, const char **why_r)
{
	static struct imap_reader *r;
	const struct imap_arg *args;
	size_t used, pos = 0, len;
	imap_reader_free(&r);
	r = imap_reader_new(NULL);
	assert_non_null(r);
	if (line == NULL) {
		imap_reader_free(&r);
		return NULL;
	}
	len = strlen(line);
	for (;;) {
		enum imap_read_result res = imap_reader_feed(r, line + pos, len - pos, &used);
		pos += used;
		if (res == IMAP_READ_LITERAL) {
			imap_reader_literal_accept(r);
			continue;
		}
		if (res != IMAP_READ_COMMAND)
			fail_msg("%s: event %d", line, res);
		break;
	}
	if (imap_reader_args(r, &args, why_r) < 0)
		return NULL;
	return args;
}

static int teardown_args(void **state)
{
	args_of(NULL);
	return teardown(state);
}

static void test_numbers(void **state)
{
	const struct imap_arg *a = args_of("a X 0 1 4294967295 4294967296 9223372036854775807 "
					   "9223372036854775808 -1 01 \"5\"\r\n");
	uint32_t n;
	uint64_t v;
	(void)state;
	assert_int_equal(imap_arg_get_number(&a[0], &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(imap_arg_get_nz_number(&a[0], &n), -1);
	assert_int_equal(imap_arg_get_nz_number(&a[1], &n), 0);
	assert_int_equal(imap_arg_get_number(&a[2], &n), 0);
	assert_int_equal(n, 4294967295u);
	assert_int_equal(imap_arg_get_number(&a[3], &n), -1);
	assert_int_equal(imap_arg_get_number64(&a[3], &v), 0);
	assert_int_equal(imap_arg_get_number64(&a[4], &v), 0);
	assert_true(v == 9223372036854775807ULL);
	assert_int_equal(imap_arg_get_modseq(&a[4], &v), 0);
	assert_int_equal(imap_arg_get_number64(&a[5], &v), -1);
	assert_int_equal(imap_arg_get_modseq(&a[0], &v), -1);
	assert_int_equal(imap_arg_get_number(&a[6], &n), -1);
	assert_int_equal(imap_arg_get_number(&a[7], &n), 0);
	assert_int_equal(imap_arg_get_number(&a[8], &n), -1);  /* strings are no numbers */
	assert_int_equal(imap_arg_get_number(&a[9], &n), -1);  /* EOL */
}

static void assert_seqset(const char *s, bool ok, size_t count, const uint32_t *pairs)
{
	struct imap_seqset *set = NULL;
	const char *why = NULL;
	int r = imap_seqset_parse(str_from(s), true, &set, &why);
	if (!ok) {
		if (r == 0)
			fail_msg("accepted %s", s);
		assert_non_null(why);
		return;
	}
	if (r != 0)
		fail_msg("%s: %s", s, why);
	assert_false(set->searchres);
	assert_int_equal(set->count, count);
	for (size_t i = 0; i < count; i++) {
		assert_int_equal(set->ranges[i].lo, pairs[2 * i]);
		assert_int_equal(set->ranges[i].hi, pairs[2 * i + 1]);
	}
	imap_seqset_free(&set);
	assert_null(set);
}

static void test_seqsets(void **state)
{
	(void)state;
	assert_seqset("1", true, 1, (uint32_t[]){ 1, 1 });
	assert_seqset("1:*,3,5:7", true, 3, (uint32_t[]){ 1, 0, 3, 3, 5, 7 });
	assert_seqset("7:5,*:4,*", true, 3, (uint32_t[]){ 5, 7, 4, 0, 0, 0 });
	assert_seqset("4294967295", true, 1, (uint32_t[]){ 4294967295u, 4294967295u });
	static const char *bad[] = {
		"", "0", "1:0", "01", "1:", ":1", ",", "1,", ",1", "1,,2", "a", "1:2:3",
		"4294967296", "$1", "1:$", "-1", "1 2", "**",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_seqset(bad[i], false, 0, NULL);
	struct imap_seqset *set;
	const char *why;
	assert_int_equal(imap_seqset_parse(STR_LIT("$"), true, &set, &why), 0);
	assert_true(set->searchres);
	imap_seqset_free(&set);
	assert_int_equal(imap_seqset_parse(STR_LIT("$"), false, &set, &why), -1);
	const struct imap_arg *a = args_of("a X \"1\" (1)\r\n");
	assert_int_equal(imap_arg_get_seqset(&a[0], true, &set, &why), -1);
	assert_int_equal(imap_arg_get_seqset(&a[1], true, &set, &why), -1);
}

static void test_flags(void **state)
{
	struct imap_flags *f;
	const char *why;
	(void)state;
	const struct imap_arg *a = args_of("a X (\\Seen \\answered $Junk \\Flagged \\Deleted "
					   "\\Draft NonJunk) (\\Recent) (\\Foo) (a]b) (\"x\") () "
					   "\\Seen $A\r\n");
	assert_int_equal(imap_parse_flag_list(&a[0], false, &f, &why), 0);
	assert_int_equal(f->system, IMAP_FLAG_SEEN | IMAP_FLAG_ANSWERED | IMAP_FLAG_FLAGGED |
			 IMAP_FLAG_DELETED | IMAP_FLAG_DRAFT);
	assert_int_equal(f->keyword_count, 2);
	assert_memory_equal(f->keywords[0].p, "$Junk", 5);
	assert_memory_equal(f->keywords[1].p, "NonJunk", 7);
	imap_flags_free(&f);
	assert_null(f);
	assert_int_equal(imap_parse_flag_list(&a[1], false, &f, &why), -1);
	assert_int_equal(imap_parse_flag_list(&a[1], true, &f, &why), 0);
	assert_int_equal(f->system, IMAP_FLAG_RECENT);
	imap_flags_free(&f);
	assert_int_equal(imap_parse_flag_list(&a[2], true, &f, &why), -1);
	assert_int_equal(imap_parse_flag_list(&a[3], true, &f, &why), -1);
	assert_int_equal(imap_parse_flag_list(&a[4], true, &f, &why), -1);
	assert_int_equal(imap_parse_flag_list(&a[5], true, &f, &why), 0);
	assert_int_equal(f->system, 0);
	assert_int_equal(f->keyword_count, 0);
	imap_flags_free(&f);
	assert_int_equal(imap_parse_flag_list(&a[6], true, &f, &why), -1);
	assert_int_equal(imap_parse_flags(&a[6], false, &f, &why), 0);
	assert_int_equal(f->system, IMAP_FLAG_SEEN);
	assert_int_equal(f->keyword_count, 1);
	imap_flags_free(&f);
}

static void test_dates(void **state)
{
	struct imap_date d;
	struct imap_datetime dt;
	(void)state;
	const struct imap_arg *a = args_of(
		"a X 1-Feb-1994 \"01-feb-1994\" 29-Feb-2000 29-Feb-1900 31-Apr-2020 "
		"1-Foo-2020 1-Feb-94 123-Feb-1994 0-Jan-2000 "
		"\"17-Jul-1996 02:44:25 -0700\" \" 7-Jul-1996 02:44:25 +0130\" "
		"\"7-Jul-1996 02:44:25 +0000\" \"17-Jul-1996 24:00:00 +0000\" "
		"\"17-Jul-1996 02:44:25 0700\" \"17-Jul-1996 02:44 +0700\" "
		"\"01-Jan-1970 00:00:00 +0000\" \"17-Jul-1996 02:44:25 +2400\"\r\n");
	assert_int_equal(imap_arg_get_date(&a[0], &d), 0);
	assert_int_equal(d.year, 1994);
	assert_int_equal(d.month, 2);
	assert_int_equal(d.day, 1);
	assert_int_equal(imap_arg_get_date(&a[1], &d), 0);
	assert_int_equal(d.day, 1);
	assert_int_equal(imap_arg_get_date(&a[2], &d), 0);
	for (int i = 3; i <= 8; i++)
		assert_int_equal(imap_arg_get_date(&a[i], &d), -1);
	assert_int_equal(imap_arg_get_datetime(&a[9], &dt), 0);
	assert_int_equal(dt.zone_min, -420);
	assert_true(dt.utc == 837596665);    /* 1996-07-17T09:44:25Z */
	assert_int_equal(imap_arg_get_datetime(&a[10], &dt), 0);
	assert_int_equal(dt.date.day, 7);
	assert_int_equal(dt.zone_min, 90);
	assert_int_equal(imap_arg_get_datetime(&a[11], &dt), 0);
	for (int i = 12; i <= 14; i++)
		assert_int_equal(imap_arg_get_datetime(&a[i], &dt), -1);
	assert_int_equal(imap_arg_get_datetime(&a[15], &dt), 0);
	assert_true(dt.utc == 0);
	assert_int_equal(imap_arg_get_datetime(&a[16], &dt), -1);
	assert_int_equal(imap_arg_get_datetime(&a[0], &dt), -1);   /* an atom */
}

static void test_strings_and_mailboxes(void **state)
{
	struct str s;
	(void)state;
	const struct imap_arg *a = args_of("a X inbox \"InBoX\" INBOX.Sub a%b\r\n");
	assert_int_equal(imap_arg_get_mailbox(&a[0], &s), 0);
	assert_string_equal(s.p, "INBOX");
	assert_int_equal(imap_arg_get_mailbox(&a[1], &s), 0);
	assert_string_equal(s.p, "INBOX");
	assert_int_equal(imap_arg_get_mailbox(&a[2], &s), 0);
	assert_int_equal(s.len, 9);
	assert_int_equal(imap_arg_get_mailbox(&a[3], &s), -1);   /* % is no ASTRING-CHAR */
	assert_int_equal(imap_arg_get_list_mailbox(&a[3], &s), 0);
	assert_false(imap_arg_get_astring(&a[3], &s));
	assert_true(imap_arg_get_atom(&a[0], &s));
	assert_false(imap_arg_get_string(&a[0], &s));
	assert_true(imap_arg_get_string(&a[1], &s));
	assert_true(imap_arg_is_eol(&a[4]));

	/* literals: with NUL only as literal8 strings */
	struct imap_reader *r = imap_reader_new(NULL);
	const struct imap_arg *la;
	const char *why;
	size_t used, pos = 0;
	static const char in[] = "a X {3+}\r\na\0b ~{3+}\r\na\0b {2+}\r\n\r\n NIL\r\n";
	for (;;) {
		enum imap_read_result res = imap_reader_feed(r, in + pos, sizeof in - 1 - pos, &used);
		pos += used;
		if (res == IMAP_READ_LITERAL) {
			imap_reader_literal_accept(r);
			continue;
		}
		assert_int_equal(res, IMAP_READ_COMMAND);
		break;
	}
	assert_int_equal(imap_reader_args(r, &la, &why), 0);
	assert_false(imap_arg_get_string(&la[0], &s));
	assert_false(imap_arg_get_astring(&la[0], &s));
	assert_true(la[1].literal8);
	assert_int_equal(imap_arg_get_mailbox(&la[2], &s), -1);  /* CRLF in a name */
	assert_true(imap_arg_get_nstring(&la[3], &s));
	assert_null(s.p);
	assert_true(imap_arg_get_astring(&la[3], &s));            /* "NIL" as astring */
	assert_int_equal(s.len, 3);
	imap_reader_free(&r);
}

/* ---- FETCH ---- */

static struct imap_fetch *fetch_ok(const char *items)
{
	char line[512];
	struct imap_fetch *f;
	const char *why;
	snprintf(line, sizeof line, "a FETCH 1 %s\r\n", items);
	const struct imap_arg *a = args_of(line);
	if (imap_parse_fetch(a + 1, &f, &why) < 0)
		fail_msg("%s: %s", items, why);
	return f;
}

static void fetch_bad(const char *items)
{
	char line[512];
	struct imap_fetch *f = NULL;
	const char *why = NULL;
	snprintf(line, sizeof line, "a FETCH 1 %s\r\n", items);
	const struct imap_arg *a = args_of(line);
	if (imap_parse_fetch(a + 1, &f, &why) == 0)
		fail_msg("accepted %s", items);
	assert_non_null(why);
	assert_null(f);
}

static void test_fetch_simple(void **state)
{
	struct imap_fetch *f;
	(void)state;
	f = fetch_ok("ALL");
	assert_int_equal(f->items, IMAP_FETCH_ALL);
	imap_fetch_free(&f);
	assert_null(f);
	f = fetch_ok("fast");
	assert_int_equal(f->items, IMAP_FETCH_FAST);
	imap_fetch_free(&f);
	f = fetch_ok("FULL");
	assert_int_equal(f->items, IMAP_FETCH_FULL);
	imap_fetch_free(&f);
	f = fetch_ok("UID");
	assert_int_equal(f->items, IMAP_FETCH_UID);
	imap_fetch_free(&f);
	f = fetch_ok("(ENVELOPE FLAGS INTERNALDATE RFC822 RFC822.HEADER RFC822.SIZE RFC822.TEXT "
		     "BODY BODYSTRUCTURE UID MODSEQ)");
	assert_int_equal(f->items, 0x7ff);
	assert_int_equal(f->section_count, 0);
	imap_fetch_free(&f);
	f = fetch_ok("(FLAGS) (CHANGEDSINCE 12345 VANISHED)");
	assert_true(f->changedsince);
	assert_true(f->changedsince_modseq == 12345);
	assert_true(f->vanished);
	imap_fetch_free(&f);
	fetch_bad("");
	fetch_bad("()");
	fetch_bad("(ALL)");
	fetch_bad("FOO");
	fetch_bad("(FLAGS FOO)");
	fetch_bad("\"FLAGS\"");
	fetch_bad("FLAGS UID");
	fetch_bad("FLAGS (VANISHED)");
	fetch_bad("FLAGS (CHANGEDSINCE 0)");
	fetch_bad("FLAGS (CHANGEDSINCE 1 CHANGEDSINCE 2)");
	fetch_bad("FLAGS (CHANGEDSINCE)");
	fetch_bad("FLAGS ()");
	fetch_bad("FLAGS (CHANGEDSINCE 1) x");
}

static void test_fetch_sections(void **state)
{
	struct imap_fetch *f;
	const struct imap_fetch_section *s;
	(void)state;
	f = fetch_ok("(BODY[] BODY.PEEK[HEADER] body[1.2.3.mime] BODY[TEXT]<0.100> "
		     "BODY.PEEK[2.HEADER.FIELDS.NOT (Received X-Spam)]<10.20> "
		     "BINARY[1.2] BINARY.PEEK[]<5.6> BINARY.SIZE[3] FLAGS)");
	assert_int_equal(f->section_count, 8);
	assert_int_equal(f->items, IMAP_FETCH_FLAGS);
	s = &f->sections[0];
	assert_int_equal(s->kind, IMAP_SECTION_BODY);
	assert_false(s->peek);
	assert_int_equal(s->text, IMAP_SECTION_ALL);
	assert_int_equal(s->part_count, 0);
	assert_false(s->partial);
	s = &f->sections[1];
	assert_true(s->peek);
	assert_int_equal(s->text, IMAP_SECTION_HEADER);
	s = &f->sections[2];
	assert_int_equal(s->part_count, 3);
	assert_int_equal(s->part[2], 3);
	assert_int_equal(s->text, IMAP_SECTION_MIME);
	s = &f->sections[3];
	assert_int_equal(s->text, IMAP_SECTION_TEXT);
	assert_true(s->partial);
	assert_true(s->offset == 0 && s->size == 100);
	s = &f->sections[4];
	assert_int_equal(s->text, IMAP_SECTION_HEADER_FIELDS_NOT);
	assert_int_equal(s->part_count, 1);
	assert_int_equal(s->field_count, 2);
	assert_memory_equal(s->fields[1].p, "X-Spam", 6);
	assert_true(s->offset == 10 && s->size == 20);
	s = &f->sections[5];
	assert_int_equal(s->kind, IMAP_SECTION_BINARY);
	assert_int_equal(s->part_count, 2);
	s = &f->sections[6];
	assert_true(s->peek && s->partial);
	s = &f->sections[7];
	assert_int_equal(s->kind, IMAP_SECTION_BINARY_SIZE);
	imap_fetch_free(&f);
	/* a lone item with a header list, then a modifier */
	f = fetch_ok("BODY[HEADER.FIELDS (\"From\" {2}\r\nTo)] (CHANGEDSINCE 7)");
	imap_fetch_free(&f);
}

static void test_fetch_section_errors(void **state)
{
	static const char *bad[] = {
		"BODY[", "BODY]", "BODY[HEADER", "BODY[HEADER.FIELDS]", "BODY[HEADER.FIELDS ()]",
		"BODY[HEADER.FIELDS (A)", "BODY[HEADER.FIELDS A]",
		"BODY[HEADER.FIELDS (A:B)]", "BODY[HEADER.FIELDS ((A))]", "BODY[MIME]", "BODY[0]",
		"BODY[01]", "BODY[1.]", "BODY[.1]", "BODY[1..2]", "BODY[1.FOO]", "BODY[4294967296]",
		"BODY[]<>", "BODY[]<0>", "BODY[]<0.0>", "BODY[]<1.2", "BODY[]<a.1>", "BODY[]x",
		"BODY[]<0.1><0.1>", "BINARY[HEADER]", "BINARY[1.MIME]", "BINARY.SIZE[1]<0.1>",
		"BODY.PEK[]", "BINARY.SIZE.PEEK[]", "XBODY[]",
		"BODY[1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1]",
		"BODY[]<9223372036854775808.1>",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		fetch_bad(bad[i]);
}

/* ---- SEARCH ---- */

static void dump_key(struct buf *b, const struct imap_search_key *k)
{
	static const char *names[] = {
		"AND", "OR", "NOT", "ALL", "SEQ", "UID", "FLAG", "KEYWORD", "NEW", "OLD",
		"HEADER", "BODY", "TEXT", "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON",
		"SENTSINCE", "LARGER", "SMALLER", "MODSEQ", "OLDER", "YOUNGER",
	};
	buf_append_str(b, names[k->type]);
	switch (k->type) {
	case IMAP_SEARCH_AND: case IMAP_SEARCH_OR: case IMAP_SEARCH_NOT:
		buf_append_char(b, '(');
		for (const struct imap_search_key *c = k->child; c != NULL; c = c->next) {
			dump_key(b, c);
			if (c->next != NULL)
				buf_append_char(b, ' ');
		}
		buf_append_char(b, ')');
		break;
	case IMAP_SEARCH_SEQSET: case IMAP_SEARCH_UID:
		if (k->seqset->searchres)
			buf_append_str(b, ":$");
		for (size_t i = 0; i < k->seqset->count; i++)
			buf_printf(b, ":%u-%u", k->seqset->ranges[i].lo, k->seqset->ranges[i].hi);
		break;
	case IMAP_SEARCH_FLAG:
		buf_printf(b, ":%u", k->flag);
		break;
	case IMAP_SEARCH_KEYWORD: case IMAP_SEARCH_BODY: case IMAP_SEARCH_TEXT:
		buf_printf(b, ":%.*s", STR_FMT(k->str));
		break;
	case IMAP_SEARCH_HEADER:
		buf_printf(b, ":%.*s=%.*s", STR_FMT(k->field), STR_FMT(k->str));
		break;
	case IMAP_SEARCH_BEFORE: case IMAP_SEARCH_ON: case IMAP_SEARCH_SINCE:
	case IMAP_SEARCH_SENTBEFORE: case IMAP_SEARCH_SENTON: case IMAP_SEARCH_SENTSINCE:
		buf_printf(b, ":%u-%u-%u", k->date.year, k->date.month, k->date.day);
		break;
	case IMAP_SEARCH_LARGER: case IMAP_SEARCH_SMALLER: case IMAP_SEARCH_MODSEQ:
	case IMAP_SEARCH_OLDER: case IMAP_SEARCH_YOUNGER:
		buf_printf(b, ":%llu", (unsigned long long)k->number);
		break;
	default:
		break;
	}
}

static char search_text[4096];

static const char *search(const char *keys)
{
	char line[2048];
	struct imap_search *s;
	const char *why;
	struct buf b;
	snprintf(line, sizeof line, "a SEARCH %s\r\n", keys);
	const struct imap_arg *a = args_try(line, &why);
	if (a == NULL || imap_parse_search(a, &s, &why) < 0) {
		snprintf(search_text, sizeof search_text, "ERR %s", why);
		return search_text;
	}
	buf_init(&b, sizeof search_text - 1);
	if (s->esearch)
		buf_printf(&b, "RETURN:%u ", s->ret);
	if (s->charset.len)
		buf_printf(&b, "CHARSET:%.*s ", STR_FMT(s->charset));
	dump_key(&b, s->root);
	snprintf(search_text, sizeof search_text, "%s", b.data);
	buf_free(&b);
	imap_search_free(&s);
	assert_null(s);
	return search_text;
}

static void test_search_keys(void **state)
{
	(void)state;
	assert_string_equal(search("ALL"), "AND(ALL)");
	assert_string_equal(search("answered deleted draft flagged seen recent"),
			    "AND(FLAG:1 FLAG:4 FLAG:16 FLAG:2 FLAG:8 FLAG:32)");
	assert_string_equal(search("UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN NEW OLD"),
			    "AND(NOT(FLAG:1) NOT(FLAG:4) NOT(FLAG:16) NOT(FLAG:2) NOT(FLAG:8) NEW OLD)");
	assert_string_equal(search("BCC a CC b FROM \"c d\" SUBJECT {2}\r\nhi TO e"),
			    "AND(HEADER:Bcc=a HEADER:Cc=b HEADER:From=c d HEADER:Subject=hi HEADER:To=e)");
	assert_string_equal(search("HEADER X-Spam \"\" BODY x TEXT y"),
			    "AND(HEADER:X-Spam= BODY:x TEXT:y)");
	assert_string_equal(search("KEYWORD $Junk UNKEYWORD work"),
			    "AND(KEYWORD:$Junk NOT(KEYWORD:work))");
	assert_string_equal(search("BEFORE 1-Feb-1994 ON \"2-Mar-2000\" SINCE 3-Apr-2001 "
				   "SENTBEFORE 4-May-2002 SENTON 5-Jun-2003 SENTSINCE 6-Jul-2004"),
			    "AND(BEFORE:1994-2-1 ON:2000-3-2 SINCE:2001-4-3 SENTBEFORE:2002-5-4 "
			    "SENTON:2003-6-5 SENTSINCE:2004-7-6)");
	assert_string_equal(search("LARGER 100 SMALLER 5000000000 OLDER 60 YOUNGER 1"),
			    "AND(LARGER:100 SMALLER:5000000000 OLDER:60 YOUNGER:1)");
	assert_string_equal(search("UID 1:*,5 1:3 $ UID $"),
			    "AND(UID:1-0:5-5 SEQ:1-3 SEQ:$ UID:$)");
	assert_string_equal(search("MODSEQ 5 MODSEQ \"/flags/\\\\draft\" all 0"),
			    "AND(MODSEQ:5 MODSEQ:0)");
	assert_string_equal(search("NOT NOT SEEN"), "AND(NOT(NOT(FLAG:8)))");
	assert_string_equal(search("OR SEEN (FLAGGED FROM x) NOT OR 1 2"),
			    "AND(OR(FLAG:8 AND(FLAG:2 HEADER:From=x)) NOT(OR(SEQ:1-1 SEQ:2-2)))");
	assert_string_equal(search("OR OR OR FROM a FROM b FROM c FROM d"),
			    "AND(OR(OR(OR(HEADER:From=a HEADER:From=b) HEADER:From=c) HEADER:From=d))");
	assert_string_equal(search("((((ALL))))"), "AND(AND(AND(AND(AND(ALL)))))");
	assert_string_equal(search("CHARSET UTF-8 TEXT \"caf\xc3\xa9\""),
			    "CHARSET:UTF-8 AND(TEXT:caf\xc3\xa9)");
	assert_string_equal(search("RETURN (MIN MAX COUNT SAVE) UNSEEN"),
			    "RETURN:27 AND(NOT(FLAG:8))");
	assert_string_equal(search("RETURN () CHARSET \"US-ASCII\" ALL"),
			    "RETURN:4 CHARSET:US-ASCII AND(ALL)");
	assert_string_equal(search("all SeEn"), "AND(ALL FLAG:8)");
}

static void test_search_errors(void **state)
{
	static const char *bad[] = {
		"", "FOO", "FROM", "HEADER X", "HEADER \"\" x", "BEFORE", "BEFORE 32-Jan-2000",
		"LARGER -1", "LARGER x", "SMALLER 9223372036854775808", "OLDER 0", "UID", "UID x",
		"NOT", "OR SEEN", "OR", "()", "(SEEN", "KEYWORD \\Seen", "KEYWORD (a)",
		"RETURN", "RETURN (FOO) ALL", "RETURN ALL", "CHARSET", "CHARSET \"\" ALL",
		"CHARSET UTF-8", "MODSEQ", "MODSEQ \"/flags/x\"", "MODSEQ \"/flags/x\" priv",
		"MODSEQ \"x\" all 1", "MODSEQ \"/flags/x\" both 1", "0", "1:0", "\"SEEN\"",
		"1,$",
	};
	(void)state;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *r = search(bad[i]);
		if (strncmp(r, "ERR ", 4) != 0)
			fail_msg("accepted %s: %s", bad[i], r);
	}
}

static void test_search_depth(void **state)
{
	char keys[1024];
	size_t n = 0;
	(void)state;
	/* NOT and OR chains are bounded even without parentheses */
	for (int i = 0; i < IMAP_SEARCH_DEPTH_MAX - 1; i++)
		n += (size_t)snprintf(keys + n, sizeof keys - n, "NOT ");
	snprintf(keys + n, sizeof keys - n, "ALL");
	assert_string_not_equal(search(keys), "ERR Search keys nested too deeply");
	assert_int_not_equal(strncmp(search(keys), "ERR", 3), 0);
	n = 0;
	for (int i = 0; i < IMAP_SEARCH_DEPTH_MAX; i++)
		n += (size_t)snprintf(keys + n, sizeof keys - n, "NOT ");
	snprintf(keys + n, sizeof keys - n, "ALL");
	assert_string_equal(search(keys), "ERR Search keys nested too deeply");
	n = 0;
	for (int i = 0; i < 200; i++)
		n += (size_t)snprintf(keys + n, sizeof keys - n, "OR ");
	assert_string_equal(search(keys), "ERR Search keys nested too deeply");
}

static void test_sort_thread(void **state)
{
	struct imap_sort *s;
	struct imap_thread *t;
	const char *why;
	(void)state;
	const struct imap_arg *a = args_of("a SORT (REVERSE DATE subject REVERSE SIZE DISPLAYFROM) "
					   "UTF-8 UNSEEN FROM x\r\n");
	assert_int_equal(imap_parse_sort(a, &s, &why), 0);
	assert_int_equal(s->criteria_count, 4);
	assert_int_equal(s->criteria[0].key, IMAP_SORT_DATE);
	assert_true(s->criteria[0].reverse);
	assert_int_equal(s->criteria[1].key, IMAP_SORT_SUBJECT);
	assert_false(s->criteria[1].reverse);
	assert_int_equal(s->criteria[2].key, IMAP_SORT_SIZE);
	assert_true(s->criteria[2].reverse);
	assert_int_equal(s->criteria[3].key, IMAP_SORT_DISPLAYFROM);
	assert_int_equal(s->charset.len, 5);
	assert_int_equal(s->search->root->child->type, IMAP_SEARCH_NOT);
	imap_sort_free(&s);
	assert_null(s);
	static const char *bad_sort[] = {
		"a SORT () UTF-8 ALL\r\n", "a SORT (REVERSE) UTF-8 ALL\r\n",
		"a SORT (DATE) ALL\r\n", "a SORT (DATE) UTF-8\r\n", "a SORT DATE UTF-8 ALL\r\n",
		"a SORT (FOO) UTF-8 ALL\r\n", "a SORT\r\n", "a SORT (DATE)\r\n",
		"a SORT (REVERSE REVERSE DATE) UTF-8 ALL\r\n",
	};
	for (size_t i = 0; i < sizeof bad_sort / sizeof bad_sort[0]; i++) {
		a = args_of(bad_sort[i]);
		s = NULL;
		if (imap_parse_sort(a, &s, &why) == 0)
			fail_msg("accepted %s", bad_sort[i]);
		assert_null(s);
	}
	a = args_of("a THREAD REFERENCES US-ASCII SINCE 1-Jan-2020\r\n");
	assert_int_equal(imap_parse_thread(a, &t, &why), 0);
	assert_int_equal(t->alg, IMAP_THREAD_REFERENCES);
	imap_thread_free(&t);
	assert_null(t);
	a = args_of("a THREAD orderedsubject UTF-8 ALL\r\n");
	assert_int_equal(imap_parse_thread(a, &t, &why), 0);
	assert_int_equal(t->alg, IMAP_THREAD_ORDEREDSUBJECT);
	imap_thread_free(&t);
	a = args_of("a THREAD FOO UTF-8 ALL\r\n");
	assert_int_equal(imap_parse_thread(a, &t, &why), -1);
	a = args_of("a THREAD REFERENCES UTF-8\r\n");
	assert_int_equal(imap_parse_thread(a, &t, &why), -1);
	a = args_of("a THREAD\r\n");
	assert_int_equal(imap_parse_thread(a, &t, &why), -1);
}

/* ---- STORE, STATUS, LIST, SELECT ---- */

static void test_store(void **state)
{
	struct imap_store *st;
	const char *why;
	(void)state;
	const struct imap_arg *a = args_of("a STORE 1:3,5 +FLAGS.SILENT (\\Seen $A)\r\n");
	assert_int_equal(imap_parse_store(a, &st, &why), 0);
	assert_int_equal(st->mode, IMAP_STORE_ADD);
	assert_true(st->silent);
	assert_false(st->unchangedsince);
	assert_int_equal(st->seqset->count, 2);
	assert_int_equal(st->flags->system, IMAP_FLAG_SEEN);
	assert_int_equal(st->flags->keyword_count, 1);
	imap_store_free(&st);
	assert_null(st);
	a = args_of("a STORE 2 (UNCHANGEDSINCE 0) -flags \\Deleted \\Draft\r\n");
	assert_int_equal(imap_parse_store(a, &st, &why), 0);
	assert_int_equal(st->mode, IMAP_STORE_REMOVE);
	assert_false(st->silent);
	assert_true(st->unchangedsince);
	assert_true(st->unchangedsince_modseq == 0);
	assert_int_equal(st->flags->system, IMAP_FLAG_DELETED | IMAP_FLAG_DRAFT);
	imap_store_free(&st);
	a = args_of("a STORE * FLAGS ()\r\n");
	assert_int_equal(imap_parse_store(a, &st, &why), 0);
	assert_int_equal(st->mode, IMAP_STORE_REPLACE);
	assert_int_equal(st->flags->system, 0);
	imap_store_free(&st);
	static const char *bad[] = {
		"a STORE\r\n", "a STORE 1\r\n", "a STORE 1 FLAGS\r\n", "a STORE 0 FLAGS ()\r\n",
		"a STORE 1 FLAG (\\Seen)\r\n", "a STORE 1 *FLAGS (\\Seen)\r\n",
		"a STORE 1 FLAGS (\\Recent)\r\n", "a STORE 1 FLAGS (\\Seen) (\\Seen)\r\n",
		"a STORE 1 (UNCHANGEDSINCE) FLAGS ()\r\n", "a STORE 1 (FOO 1) FLAGS ()\r\n",
		"a STORE 1 FLAGS.SILENT.X ()\r\n", "a STORE 1 FLAGS (\\Seen) x(\r\n",
		"a STORE 1 FLAGS \"\\Seen\"\r\n", "a STORE 1 (UNCHANGEDSINCE -1) FLAGS ()\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct imap_reader *r = imap_reader_new(NULL);
		const struct imap_arg *ba;
		size_t used;
		assert_int_equal(imap_reader_feed(r, bad[i], strlen(bad[i]), &used), IMAP_READ_COMMAND);
		if (imap_reader_args(r, &ba, &why) == 0) {
			st = NULL;
			if (imap_parse_store(ba, &st, &why) == 0)
				fail_msg("accepted %s", bad[i]);
			assert_null(st);
		}
		imap_reader_free(&r);
	}
}

static void test_status(void **state)
{
	unsigned items;
	const char *why;
	(void)state;
	const struct imap_arg *a = args_of("a STATUS x (MESSAGES uidnext UIDVALIDITY UNSEEN DELETED "
					   "SIZE RECENT HIGHESTMODSEQ APPENDLIMIT) () (FOO) MESSAGES\r\n");
	assert_int_equal(imap_parse_status_items(&a[1], &items, &why), 0);
	assert_int_equal(items, 0x1ff);
	assert_int_equal(imap_parse_status_items(&a[2], &items, &why), -1);
	assert_int_equal(imap_parse_status_items(&a[3], &items, &why), -1);
	assert_int_equal(imap_parse_status_items(&a[4], &items, &why), -1);
}

static struct imap_list *list_ok(const char *line, bool lsub)
{
	struct imap_list *l;
	const char *why;
	const struct imap_arg *a = args_of(line);
	if (imap_parse_list(a, lsub, &l, &why) < 0)
		fail_msg("%s: %s", line, why);
	return l;
}

static void test_list(void **state)
{
	struct imap_list *l;
	const char *why;
	(void)state;
	l = list_ok("a LIST \"\" *\r\n", false);
	assert_false(l->extended);
	assert_int_equal(l->reference.len, 0);
	assert_int_equal(l->pattern_count, 1);
	assert_memory_equal(l->patterns[0].p, "*", 1);
	imap_list_free(&l);
	assert_null(l);
	l = list_ok("a LIST (SUBSCRIBED RECURSIVEMATCH) \"~/\" (\"INBOX\" Work/%) "
		    "RETURN (CHILDREN STATUS (MESSAGES UNSEEN) SPECIAL-USE)\r\n", false);
	assert_true(l->extended);
	assert_int_equal(l->select, IMAP_LIST_SEL_SUBSCRIBED | IMAP_LIST_SEL_RECURSIVEMATCH);
	assert_int_equal(l->ret, IMAP_LIST_RET_CHILDREN | IMAP_LIST_RET_STATUS |
			 IMAP_LIST_RET_SPECIAL_USE);
	assert_int_equal(l->status_items, IMAP_STATUS_MESSAGES | IMAP_STATUS_UNSEEN);
	assert_int_equal(l->pattern_count, 2);
	assert_memory_equal(l->patterns[1].p, "Work/%", 6);
	imap_list_free(&l);
	l = list_ok("a LIST () \"\" % RETURN ()\r\n", false);
	assert_true(l->extended);
	assert_int_equal(l->select, 0);
	imap_list_free(&l);
	l = list_ok("a LIST \"\" {3}\r\na%b\r\n", false);
	assert_int_equal(l->patterns[0].len, 3);
	imap_list_free(&l);
	l = list_ok("a LSUB \"\" *\r\n", true);
	imap_list_free(&l);
	static const char *bad[] = {
		"a LIST\r\n", "a LIST \"\"\r\n", "a LIST (RECURSIVEMATCH) \"\" *\r\n",
		"a LIST (FOO) \"\" *\r\n", "a LIST \"\" () \r\n", "a LIST \"\" * x\r\n",
		"a LIST \"\" * RETURN (FOO)\r\n", "a LIST \"\" * RETURN (STATUS)\r\n",
		"a LIST \"\" * RETURN (STATUS ())\r\n", "a LIST \"\" * RETURN\r\n",
		"a LIST a% *\r\n", "a LIST \"\" a(\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct imap_reader *r = imap_reader_new(NULL);
		const struct imap_arg *ba;
		size_t used;
		assert_int_equal(imap_reader_feed(r, bad[i], strlen(bad[i]), &used), IMAP_READ_COMMAND);
		if (imap_reader_args(r, &ba, &why) == 0) {
			l = NULL;
			if (imap_parse_list(ba, false, &l, &why) == 0)
				fail_msg("accepted %s", bad[i]);
			assert_null(l);
		}
		imap_reader_free(&r);
	}
	const struct imap_arg *a = args_of("a LSUB (SUBSCRIBED) \"\" *\r\n");
	assert_int_equal(imap_parse_list(a, true, &l, &why), -1);
	a = args_of("a LSUB \"\" (*)\r\n");
	assert_int_equal(imap_parse_list(a, true, &l, &why), -1);
}

static void test_select(void **state)
{
	struct imap_select *s;
	const char *why;
	(void)state;
	const struct imap_arg *a = args_of("a SELECT inbox\r\n");
	assert_int_equal(imap_parse_select(a, &s, &why), 0);
	assert_string_equal(s->mailbox.p, "INBOX");
	assert_false(s->condstore || s->qresync);
	imap_select_free(&s);
	assert_null(s);
	a = args_of("a SELECT x (CONDSTORE)\r\n");
	assert_int_equal(imap_parse_select(a, &s, &why), 0);
	assert_true(s->condstore);
	imap_select_free(&s);
	a = args_of("a SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541 "
		    "(1:4 41:44)))\r\n");
	assert_int_equal(imap_parse_select(a, &s, &why), 0);
	assert_true(s->qresync);
	assert_int_equal(s->uidvalidity, 67890007);
	assert_true(s->modseq == 20050715194045000ULL);
	assert_int_equal(s->known_uids->count, 3);
	assert_int_equal(s->seq_match_seqs->count, 1);
	assert_int_equal(s->seq_match_uids->ranges[0].hi, 44);
	imap_select_free(&s);
	a = args_of("a EXAMINE INBOX (QRESYNC (1 2) CONDSTORE)\r\n");
	assert_int_equal(imap_parse_select(a, &s, &why), 0);
	assert_true(s->qresync && s->condstore);
	assert_null(s->known_uids);
	imap_select_free(&s);
	static const char *bad[] = {
		"a SELECT\r\n", "a SELECT a%\r\n", "a SELECT x ()\r\n", "a SELECT x (FOO)\r\n",
		"a SELECT x (CONDSTORE) y\r\n", "a SELECT x (QRESYNC)\r\n",
		"a SELECT x (QRESYNC (0 1))\r\n", "a SELECT x (QRESYNC (1 0))\r\n",
		"a SELECT x (QRESYNC (1))\r\n", "a SELECT x (QRESYNC (1 2 1:*))\r\n",
		"a SELECT x (QRESYNC (1 2 3 (1)))\r\n", "a SELECT x (QRESYNC (1 2 3 (1 2) 4))\r\n",
		"a SELECT x (CONDSTORE CONDSTORE)\r\n", "a SELECT x CONDSTORE\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		a = args_of(bad[i]);
		s = NULL;
		if (imap_parse_select(a, &s, &why) == 0)
			fail_msg("accepted %s", bad[i]);
		assert_null(s);
	}
}

/* ---- APPEND, ID, ENABLE, AUTHENTICATE ---- */

static const struct imap_arg *args_lit(struct imap_reader **rp, const char *in, size_t len)
{
	const struct imap_arg *args;
	const char *why;
	size_t used, pos = 0;
	imap_reader_free(rp);
	*rp = imap_reader_new(NULL);
	for (;;) {
		enum imap_read_result res = imap_reader_feed(*rp, in + pos, len - pos, &used);
		pos += used;
		if (res == IMAP_READ_LITERAL) {
			imap_reader_literal_accept(*rp);
			continue;
		}
		assert_int_equal(res, IMAP_READ_COMMAND);
		break;
	}
	assert_int_equal(imap_reader_args(*rp, &args, &why), 0);
	return args;
}

static void test_append(void **state)
{
	struct imap_reader *r = NULL;
	struct imap_append *ap;
	const char *why;
	(void)state;
	static const char one[] = "a APPEND Sent {5}\r\nHello\r\n";
	const struct imap_arg *a = args_lit(&r, one, sizeof one - 1);
	assert_int_equal(imap_parse_append(a, &ap, &why), 0);
	assert_int_equal(ap->msg_count, 1);
	assert_null(ap->msgs[0].flags);
	assert_false(ap->msgs[0].has_date);
	assert_memory_equal(ap->msgs[0].data.p, "Hello", 5);
	imap_append_free(&ap);
	assert_null(ap);
	static const char multi[] = "a APPEND inbox (\\Seen) \"17-Jul-1996 02:44:25 -0700\" {2+}\r\n"
		"m1 \"1-Jan-2000 00:00:00 +0000\" ~{3}\r\nm\0002 (\\Draft) {2}\r\nm3\r\n";
	a = args_lit(&r, multi, sizeof multi - 1);
	assert_int_equal(imap_parse_append(a, &ap, &why), 0);
	assert_string_equal(ap->mailbox.p, "INBOX");
	assert_int_equal(ap->msg_count, 3);
	assert_int_equal(ap->msgs[0].flags->system, IMAP_FLAG_SEEN);
	assert_true(ap->msgs[0].has_date);
	assert_true(ap->msgs[1].binary);
	assert_int_equal(ap->msgs[1].data.len, 3);
	assert_null(ap->msgs[1].flags);
	assert_int_equal(ap->msgs[2].flags->system, IMAP_FLAG_DRAFT);
	assert_false(ap->msgs[2].has_date);
	imap_append_free(&ap);
	static const char *bad[] = {
		"a APPEND x\r\n", "a APPEND x hello\r\n", "a APPEND x \"hello\"\r\n",
		"a APPEND {1}\r\nx\r\n", "a APPEND x (\\Recent) {1}\r\nx\r\n",
		"a APPEND x \"bad date\" {1}\r\nx\r\n", "a APPEND x {1}\r\nx y\r\n",
		"a APPEND x {3}\r\na\0b\r\n", "a APPEND x (\\Seen) (\\Seen) {1}\r\nx\r\n",
		"a APPEND x {1}\r\nx (\\Seen)\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t len = strlen(bad[i]);
		if (i == 7)
			len = 21;
		a = args_lit(&r, bad[i], len);
		ap = NULL;
		why = NULL;
		if (imap_parse_append(a, &ap, &why) == 0)
			fail_msg("accepted %s", bad[i]);
		assert_non_null(why);
		assert_null(ap);
	}
	imap_reader_free(&r);
}

static void test_id_enable_auth(void **state)
{
	struct imap_id id;
	struct imap_enable en;
	struct imap_authenticate au;
	const char *why;
	(void)state;
	const struct imap_arg *a = args_of("a ID (\"name\" \"mutt\" \"version\" NIL)\r\n");
	assert_int_equal(imap_parse_id(a, &id, &why), 0);
	assert_int_equal(id.count, 2);
	assert_true(id.pairs[1].value_nil);
	a = args_of("a ID NIL\r\n");
	assert_int_equal(imap_parse_id(a, &id, &why), 0);
	assert_int_equal(id.count, 0);
	a = args_of("a ID (\"name\")\r\n");
	assert_int_equal(imap_parse_id(a, &id, &why), -1);
	a = args_of("a ID (name \"x\")\r\n");
	assert_int_equal(imap_parse_id(a, &id, &why), -1);
	a = args_of("a ID\r\n");
	assert_int_equal(imap_parse_id(a, &id, &why), -1);
	a = args_of("a ID (\"0123456789012345678901234567890\" NIL)\r\n");
	assert_int_equal(imap_parse_id(a, &id, &why), -1);

	a = args_of("a ENABLE CONDSTORE UTF8=ACCEPT\r\n");
	assert_int_equal(imap_parse_enable(a, &en, &why), 0);
	assert_int_equal(en.count, 2);
	a = args_of("a ENABLE\r\n");
	assert_int_equal(imap_parse_enable(a, &en, &why), -1);
	a = args_of("a ENABLE \"x\"\r\n");
	assert_int_equal(imap_parse_enable(a, &en, &why), -1);

	a = args_of("a AUTHENTICATE PLAIN\r\n");
	assert_int_equal(imap_parse_authenticate(a, &au, &why), 0);
	assert_false(au.has_initial);
	a = args_of("a AUTHENTICATE PLAIN AGpvZQBwdw==\r\n");
	assert_int_equal(imap_parse_authenticate(a, &au, &why), 0);
	assert_true(au.has_initial);
	assert_int_equal(au.initial.len, 12);
	a = args_of("a AUTHENTICATE PLAIN =\r\n");
	assert_int_equal(imap_parse_authenticate(a, &au, &why), 0);
	assert_true(au.has_initial);
	assert_int_equal(au.initial.len, 0);
	static const char *bad[] = {
		"a AUTHENTICATE\r\n", "a AUTHENTICATE \"PLAIN\"\r\n", "a AUTHENTICATE PLAIN AGp\r\n",
		"a AUTHENTICATE PLAIN A=pv\r\n", "a AUTHENTICATE PLAIN ====\r\n",
		"a AUTHENTICATE PLAIN AGpv x\r\n", "a AUTHENTICATE PLAIN \"AGpv\"\r\n",
		"a AUTHENTICATE PL]AIN\r\n",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		a = args_of(bad[i]);
		if (imap_parse_authenticate(a, &au, &why) == 0)
			fail_msg("accepted %s", bad[i]);
	}
}

/* ---- hostile input: a deterministic random walk ---- */

static void parse_everything(struct imap_reader *r)
{
	const struct imap_arg *a;
	const char *why;
	if (imap_reader_args(r, &a, &why) < 0)
		return;
	struct imap_fetch *f;
	struct imap_search *s;
	struct imap_store *st;
	struct imap_list *l;
	struct imap_select *se;
	struct imap_append *ap;
	struct imap_sort *so;
	struct imap_thread *th;
	struct imap_id id;
	struct imap_enable en;
	struct imap_authenticate au;
	unsigned items;
	if (imap_parse_fetch(a, &f, &why) == 0)
		imap_fetch_free(&f);
	if (a[0].type != IMAP_ARG_EOL && imap_parse_fetch(a + 1, &f, &why) == 0)
		imap_fetch_free(&f);
	if (imap_parse_search(a, &s, &why) == 0)
		imap_search_free(&s);
	if (imap_parse_store(a, &st, &why) == 0)
		imap_store_free(&st);
	if (imap_parse_list(a, false, &l, &why) == 0)
		imap_list_free(&l);
	if (imap_parse_select(a, &se, &why) == 0)
		imap_select_free(&se);
	if (imap_parse_append(a, &ap, &why) == 0)
		imap_append_free(&ap);
	if (imap_parse_sort(a, &so, &why) == 0)
		imap_sort_free(&so);
	if (imap_parse_thread(a, &th, &why) == 0)
		imap_thread_free(&th);
	(void)imap_parse_id(a, &id, &why);
	(void)imap_parse_enable(a, &en, &why);
	(void)imap_parse_authenticate(a, &au, &why);
	(void)imap_parse_status_items(a, &items, &why);
}

static void test_hostile_random(void **state)
{
	static const char *pieces[] = {
		"a ", "UID ", "FETCH ", "SEARCH ", "STORE ", "LIST ", "SELECT ", "APPEND ",
		"(", ")", "\"", "\\", "{3}\r\n", "{2+}\r\n", "~{1}\r\n", "{4294967296}\r\n",
		"{99999999999999999999+}\r\n", "\r\n", "\n", " ", "1:*", "$", "BODY[", "]",
		"HEADER.FIELDS ", "<0.1>", "NOT ", "OR ", "\0", "\xff", "NIL", "x", "&-", "*",
		"RETURN ", "(STATUS (MESSAGES)) ", "QRESYNC ", "+FLAGS ", "\\Seen ",
	};
	struct imap_reader_settings set;
	unsigned seed = 42;
	char in[256];
	(void)state;
	imap_reader_settings_default(&set);
	set.line_max = 128;
	set.command_max = 512;
	for (int iter = 0; iter < 3000; iter++) {
		size_t n = 0;
		while (n < sizeof in - 40) {
			seed = seed * 1103515245 + 12345;
			const char *p = pieces[(seed >> 16) % (sizeof pieces / sizeof pieces[0])];
			size_t k = p[0] == '\0' ? 1 : strlen(p);
			memcpy(in + n, p, k);
			n += k;
			if ((seed >> 8) % 13 == 0)
				break;
		}
		struct imap_reader *r = imap_reader_new(&set);
		size_t pos = 0, used;
		while (pos < n) {
			seed = seed * 1103515245 + 12345;
			size_t chunk = 1 + (seed >> 16) % 9;
			if (chunk > n - pos)
				chunk = n - pos;
			enum imap_read_result res = imap_reader_feed(r, in + pos, chunk, &used);
			pos += used;
			if (res == IMAP_READ_LITERAL) {
				if ((seed >> 4) & 1)
					imap_reader_literal_accept(r);
				else
					imap_reader_literal_reject(r, false, "no");
			} else if (res == IMAP_READ_COMMAND) {
				parse_everything(r);
			} else if (res == IMAP_READ_FATAL) {
				break;
			}
		}
		imap_reader_free(&r);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_simple_commands, teardown),
		cmocka_unit_test_teardown(test_bad_heads, teardown),
		cmocka_unit_test_teardown(test_tokens, teardown),
		cmocka_unit_test_teardown(test_token_errors, teardown),
		cmocka_unit_test_teardown(test_nul_bytes, teardown),
		cmocka_unit_test_teardown(test_depth_and_count, teardown),
		cmocka_unit_test_teardown(test_literals, teardown),
		cmocka_unit_test_teardown(test_literal_limits, teardown),
		cmocka_unit_test_teardown(test_session_rejects, teardown),
		cmocka_unit_test_teardown(test_command_max, teardown),
		cmocka_unit_test_teardown(test_overlong, teardown),
		cmocka_unit_test_teardown(test_overlong_default, teardown),
		cmocka_unit_test_teardown(test_line_mode, teardown),
		cmocka_unit_test_teardown(test_line_mode_overlong, teardown),
		cmocka_unit_test(test_reset_and_misuse),
		cmocka_unit_test_teardown(test_numbers, teardown_args),
		cmocka_unit_test_teardown(test_seqsets, teardown_args),
		cmocka_unit_test_teardown(test_flags, teardown_args),
		cmocka_unit_test_teardown(test_dates, teardown_args),
		cmocka_unit_test_teardown(test_strings_and_mailboxes, teardown_args),
		cmocka_unit_test_teardown(test_fetch_simple, teardown_args),
		cmocka_unit_test_teardown(test_fetch_sections, teardown_args),
		cmocka_unit_test_teardown(test_fetch_section_errors, teardown_args),
		cmocka_unit_test_teardown(test_search_keys, teardown_args),
		cmocka_unit_test_teardown(test_search_errors, teardown_args),
		cmocka_unit_test_teardown(test_search_depth, teardown_args),
		cmocka_unit_test_teardown(test_sort_thread, teardown_args),
		cmocka_unit_test_teardown(test_store, teardown_args),
		cmocka_unit_test_teardown(test_status, teardown_args),
		cmocka_unit_test_teardown(test_list, teardown_args),
		cmocka_unit_test_teardown(test_select, teardown_args),
		cmocka_unit_test_teardown(test_append, teardown_args),
		cmocka_unit_test_teardown(test_id_enable_auth, teardown_args),
		cmocka_unit_test_teardown(test_hostile_random, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
