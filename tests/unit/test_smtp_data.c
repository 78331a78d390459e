/* DATA / BDAT reader: RFC 5321 2.3.8, 4.1.1.4, 4.5.2, 4.5.3.1.6; RFC 3030;
 * RFC 1870. Every case is also run trickled: one octet at a time and split
 * at every point must give exactly what one call gives. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp/smtp_data.h"

struct opts {
	bool dot_mode;
	size_t max_size;
	size_t max_header;
	size_t out_max;
	const char *prefix;     /* already in out before the message */
};

struct result {
	int ret;
	size_t consumed;
	enum smtp_data_error error;
	struct buf out;
	size_t size;
	unsigned received;
	bool eight_bit;
};

static const struct opts data_opts = { true, 1 << 20, 1 << 16, 1 << 20, NULL };
static const struct opts bdat_opts = { false, 1 << 20, 1 << 16, 1 << 20, NULL };

/* Feeds in[0..n) in chunks ending at cuts[] (increasing), each copied to
 * an exact-size heap block so ASan sees any read past a chunk. BDAT is
 * finished (LAST) after the input. */
static void run_cuts(const char *in, size_t n, const struct opts *o,
		     const size_t *cuts, size_t ncuts, struct result *res)
{
	struct smtp_data_reader r;
	size_t pos = 0;

	memset(res, 0, sizeof *res);
	buf_init(&res->out, o->out_max);
	if (o->prefix != NULL)
		assert_int_equal(buf_append_str(&res->out, o->prefix), 0);
	smtp_data_init(&r, &res->out, o->max_size, o->max_header, o->dot_mode);
	for (size_t c = 0; c <= ncuts && res->ret == 0; c++) {
		size_t end = c < ncuts ? cuts[c] : n;
		size_t len = end - pos, used = 0;
		char *chunk = malloc(len ? len : 1);
		assert_non_null(chunk);
		memcpy(chunk, in + pos, len);
		res->ret = smtp_data_feed(&r, chunk, len, &used);
		free(chunk);
		assert_true(used <= len);
		if (res->ret == 0)
			assert_int_equal(used, len);
		res->consumed += used;
		pos = end;
	}
	if (!o->dot_mode)
		smtp_data_finish(&r);
	res->error = r.error;
	res->size = r.size;
	res->received = r.received_count;
	res->eight_bit = r.eight_bit;
}

static void run(const char *in, size_t n, const struct opts *o, struct result *res)
{
	run_cuts(in, n, o, NULL, 0, res);
}

static void assert_same(const struct result *a, const struct result *b)
{
	assert_int_equal(a->ret, b->ret);
	assert_int_equal(a->consumed, b->consumed);
	assert_int_equal(a->error, b->error);
	assert_int_equal(a->out.len, b->out.len);
	if (a->out.len > 0)
		assert_memory_equal(a->out.data, b->out.data, a->out.len);
	if (a->error == SMTP_DATA_OK) {
		assert_int_equal(a->size, b->size);
		assert_int_equal(a->received, b->received);
		assert_int_equal(a->eight_bit, b->eight_bit);
	}
}

/* One call, one octet per call, and a split at every point agree. */
static void check_trickle(const char *in, size_t n, const struct opts *o, struct result *res)
{
	struct result other;
	size_t *cuts = malloc((n + 1) * sizeof *cuts);

	assert_non_null(cuts);
	run(in, n, o, res);
	for (size_t i = 0; i + 1 < n; i++)
		cuts[i] = i + 1;
	run_cuts(in, n, o, cuts, n > 0 ? n - 1 : 0, &other);
	assert_same(res, &other);
	buf_free(&other.out);
	for (size_t k = 0; k <= n; k++) {
		run_cuts(in, n, o, &k, 1, &other);
		assert_same(res, &other);
		buf_free(&other.out);
	}
	free(cuts);
}

/* Runs a NUL-free test string through check_trickle. */
static void check(const char *in, const struct opts *o, struct result *res)
{
	check_trickle(in, strlen(in), o, res);
}

static void assert_out(const struct result *res, const char *want)
{
	assert_int_equal(res->out.len, strlen(want));
	if (res->out.len > 0)
		assert_memory_equal(res->out.data, want, res->out.len);
}

/* RFC 5321 4.1.1.4: CRLF.CRLF ends the data; CRLF becomes LF. */
static void test_simple_message(void **state)
{
	static const char in[] = "Subject: hi\r\n\r\nbody\r\n.\r\n";
	struct result res;
	(void)state;
	check(in, &data_opts, &res);
	assert_int_equal(res.ret, 1);
	assert_int_equal(res.consumed, strlen(in));
	assert_int_equal(res.error, SMTP_DATA_OK);
	assert_out(&res, "Subject: hi\n\nbody\n");
	assert_int_equal(res.size, 21);
	assert_false(res.eight_bit);
	buf_free(&res.out);
}

/* RFC 5321 4.1.1.4: the DATA command's CRLF counts, so "." can end an
 * empty message at once. */
static void test_first_line_dot(void **state)
{
	struct result res;
	(void)state;
	check(".\r\nQUIT\r\n", &data_opts, &res);
	assert_int_equal(res.ret, 1);
	assert_int_equal(res.consumed, 3);
	assert_int_equal(res.error, SMTP_DATA_OK);
	assert_out(&res, "");
	assert_int_equal(res.size, 0);
	buf_free(&res.out);
}

/* RFC 5321 4.5.2: the first "." of a line is removed. */
static void test_dot_unstuffing(void **state)
{
	struct result res;
	(void)state;
	check("..\r\n.a\r\n...\r\n a.\r\nb..\r\n.\r\n", &data_opts, &res);
	assert_int_equal(res.ret, 1);
	assert_int_equal(res.error, SMTP_DATA_OK);
	assert_out(&res, ".\na\n..\n a.\nb..\n");
	assert_int_equal(res.size, 1 + 2 + 1 + 2 + 2 + 2 + 3 + 2 + 3 + 2);
	buf_free(&res.out);
}

/* RFC 2920: what follows the end is the next command, not consumed. */
static void test_pipelined_rest_not_consumed(void **state)
{
	static const char in[] = "a\r\n.\r\nMAIL FROM:<x@y.test>\r\n.\r\n";
	struct result res;
	(void)state;
	check(in, &data_opts, &res);
	assert_int_equal(res.ret, 1);
	assert_int_equal(res.consumed, 6);
	assert_out(&res, "a\n");
	buf_free(&res.out);
}

static const char *const smuggling[] = {
	"\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r\n.\r", "\r.\r\n", "\n.\r",
	"\r\n.\r\r\n", "\r\r\n.\n", "\n\r\n.\n", "\r\n.\n\r\n", "\r\n\n.\r\n",
};

/* SMTP smuggling (CVE-2023-51766 class, RFC 5321 2.3.8): only CR LF "."
 * CR LF ends DATA; each variant leaves the reader in the message, which
 * is then refused as containing a bare CR or LF. */
static void test_smuggling_variants_do_not_end(void **state)
{
	char in[256];
	struct result res;
	(void)state;
	for (size_t i = 0; i < sizeof smuggling / sizeof smuggling[0]; i++) {
		int n = snprintf(in, sizeof in, "Subject: x\r\n\r\nhi%sMAIL FROM:<e@vil.test>\r\n"
				 "RCPT TO:<v@a.test>\r\n.\r\n", smuggling[i]);
		check(in, &data_opts, &res);
		assert_int_equal(res.ret, 1);
		assert_int_equal(res.consumed, (size_t)n);
		assert_int_equal(res.error, SMTP_DATA_BARE_CR_LF);
		assert_out(&res, "");
		buf_free(&res.out);
		/* the same right after the DATA command */
		n = snprintf(in, sizeof in, "%sx\r\n.\r\n", smuggling[i]);
		check(in, &data_opts, &res);
		assert_int_equal(res.ret, 1);
		assert_int_equal(res.consumed, (size_t)n);
		assert_int_not_equal(res.error, SMTP_DATA_OK);
		buf_free(&res.out);
	}
	/* a NUL where the CR should be */
	check_trickle("a\r\n.\0\r\n.\r\n", 10, &data_opts, &res);
	assert_int_equal(res.consumed, 10);
	assert_int_equal(res.error, SMTP_DATA_NUL);
	buf_free(&res.out);
}

/* RFC 5321 2.3.8: a bare CR or LF is refused, never a line end. */
static void test_bare_cr_and_lf(void **state)
{
	struct result res;
	(void)state;
	check("a\rb\r\n.\r\n", &data_opts, &res);
	assert_int_equal(res.ret, 1);
	assert_int_equal(res.error, SMTP_DATA_BARE_CR_LF);
	assert_out(&res, "");
	buf_free(&res.out);
	check("a\nb\r\n.\r\n", &data_opts, &res);
	assert_int_equal(res.error, SMTP_DATA_BARE_CR_LF);
	buf_free(&res.out);
	check("a\r\r\n.\r\n", &data_opts, &res);
	assert_int_equal(res.consumed, 7);
	assert_int_equal(res.error, SMTP_DATA_BARE_CR_LF);
	buf_free(&res.out);
	check("a\r\n\n.\r\n", &data_opts, &res);
	assert_int_equal(res.error, SMTP_DATA_BARE_CR_LF);
	buf_free(&res.out);
}

static void test_nul_refused(void **state)
{
	struct result res;
	(void)state;
	check_trickle("a\0b\r\n.\r\n", 8, &data_opts, &res);
	assert_int_equal(res.ret, 1);
	assert_int_equal(res.error, SMTP_DATA_NUL);
	assert_out(&res, "");
	buf_free(&res.out);
	check_trickle("\0", 1, &bdat_opts, &res);
	assert_int_equal(res.error, SMTP_DATA_NUL);
	buf_free(&res.out);
}

static char *line_of(const char *head, size_t n, const char *tail)
{
	size_t h = strlen(head), t = strlen(tail);
	char *s = malloc(h + n + t + 1);
	assert_non_null(s);
	memcpy(s, head, h);
	memset(s + h, 'x', n);
	memcpy(s + h + n, tail, t + 1);
	return s;
}

/* RFC 5321 4.5.3.1.6: 998 octets + CRLF, not counting a stuffed dot. */
static void test_line_length(void **state)
{
	static const struct { const char *head; size_t n; enum smtp_data_error e; } t[] = {
		{ "", 998, SMTP_DATA_OK }, { "", 999, SMTP_DATA_LINE_TOO_LONG },
		{ ".", 998, SMTP_DATA_OK }, { "..", 997, SMTP_DATA_OK },
		{ "..", 998, SMTP_DATA_LINE_TOO_LONG }, { "a\r\n", 998, SMTP_DATA_OK },
		{ "a\r\n", 5000, SMTP_DATA_LINE_TOO_LONG },
	};
	struct result res;
	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		char *s = line_of(t[i].head, t[i].n, "\r\n.\r\n");
		run(s, strlen(s), &data_opts, &res);
		assert_int_equal(res.ret, 1);
		assert_int_equal(res.consumed, strlen(s));
		assert_int_equal(res.error, t[i].e);
		buf_free(&res.out);
		free(s);
		s = line_of(t[i].head, t[i].n, "\r\n");
		run(s, strlen(s), &bdat_opts, &res);
		if (t[i].head[0] != '.')
			assert_int_equal(res.error, t[i].e);
		buf_free(&res.out);
		free(s);
	}
	char *s = line_of("", 1200, "\r\n.\r\n");
	check(s, &data_opts, &res);
	assert_int_equal(res.error, SMTP_DATA_LINE_TOO_LONG);
	buf_free(&res.out);
	free(s);
}

/* RFC 1870 / RFC 5321 4.5.3.1.10: over max_size is 552, and the reader
 * keeps going to the end so the session stays in step. */
static void test_message_size(void **state)
{
	static const char in[] = "abc\r\n..de\r\n.\r\nNOOP\r\n";  /* size 5 + 5 */
	struct opts o = data_opts;
	struct result res;
	(void)state;
	o.max_size = 10;
	check(in, &o, &res);
	assert_int_equal(res.error, SMTP_DATA_OK);
	assert_int_equal(res.size, 10);
	assert_out(&res, "abc\n.de\n");
	buf_free(&res.out);
	o.max_size = 9;
	check(in, &o, &res);
	assert_int_equal(res.ret, 1);
	assert_int_equal(res.consumed, 14);
	assert_int_equal(res.error, SMTP_DATA_TOO_BIG);
	assert_out(&res, "");
	buf_free(&res.out);
	o.max_size = 0;
	check(".\r\n", &o, &res);
	assert_int_equal(res.error, SMTP_DATA_OK);
	buf_free(&res.out);
	/* the out buffer's own max is a size limit too */
	o = data_opts;
	o.out_max = 5;
	check("abcde\r\n.\r\n", &o, &res);
	assert_int_equal(res.error, SMTP_DATA_TOO_BIG);
	buf_free(&res.out);
	check("abcd\r\n.\r\n", &o, &res);
	assert_int_equal(res.error, SMTP_DATA_OK);
	assert_out(&res, "abcd\n");
	buf_free(&res.out);
}

/* The header section is bounded on its own (STYLE.md 5). */
static void test_header_size(void **state)
{
	struct opts o = data_opts;
	struct result res;
	(void)state;
	o.max_header = 20;
	check("A: 123456789012345\r\n\r\nbody\r\n.\r\n", &o, &res);  /* 18 + 2 */
	assert_int_equal(res.error, SMTP_DATA_OK);
	buf_free(&res.out);
	check("A: 1234567890123456\r\n\r\nbody\r\n.\r\n", &o, &res);
	assert_int_equal(res.error, SMTP_DATA_HEADER_TOO_BIG);
	assert_int_equal(res.ret, 1);
	buf_free(&res.out);
	check("A: 1\r\n\tcontinued, long enough\r\n\r\n.\r\n", &o, &res);
	assert_int_equal(res.error, SMTP_DATA_HEADER_TOO_BIG);
	buf_free(&res.out);
	/* the body is not the header */
	check("A: 1\r\n\r\nbody body body body body body\r\n.\r\n", &o, &res);
	assert_int_equal(res.error, SMTP_DATA_OK);
	buf_free(&res.out);
	/* a first line that is no header field starts the body (Postfix) */
	check("From someone long long long ago\r\nmore body text here\r\n.\r\n", &o, &res);
	assert_int_equal(res.error, SMTP_DATA_OK);
	buf_free(&res.out);
	check("Subject: x\r\nno colon on this long line\r\n.\r\n", &o, &res);
	assert_int_equal(res.error, SMTP_DATA_OK);
	buf_free(&res.out);
}

/* RFC 5321 6.3: Received: fields are counted to find loops. */
static void test_received_count(void **state)
{
	static const char in[] =
		"Received: a\r\nreceived : b\r\nRECEIVED\t:c\r\n\tReceived: folded\r\n"
		"X-Received: no\r\nReceived-SPF: no\r\nReceivedX: no\r\n Received: no\r\n"
		"..Received: no\r\n.Received: dot removed, yes\r\n"
		"\r\nReceived: in the body\r\n.\r\n";
	struct result res;
	(void)state;
	check(in, &data_opts, &res);
	assert_int_equal(res.error, SMTP_DATA_OK);
	assert_int_equal(res.received, 4);
	buf_free(&res.out);
	check("Subject: a\r\nnot a header\r\nReceived: x\r\n\r\n.\r\n", &data_opts, &res);
	assert_int_equal(res.received, 0);
	buf_free(&res.out);
	check("Received: x\r\nReceived: y\r\n", &bdat_opts, &res);
	assert_int_equal(res.received, 2);
	buf_free(&res.out);
	check("Received:x", &bdat_opts, &res);
	assert_int_equal(res.received, 1);
	buf_free(&res.out);
}

/* RFC 6152: octets >= 0x80 are flagged, in header or body. */
static void test_eight_bit(void **state)
{
	struct result res;
	(void)state;
	check("Subject: plain\r\n\r\nascii only ~\r\n.\r\n", &data_opts, &res);
	assert_false(res.eight_bit);
	buf_free(&res.out);
	check("Subject: \xc3\xa9t\xc3\xa9\r\n\r\n.\r\n", &data_opts, &res);
	assert_true(res.eight_bit);
	buf_free(&res.out);
	check("a: b\r\n\r\n0123456789abcdef0123456789\xff\r\n.\r\n", &data_opts, &res);
	assert_true(res.eight_bit);
	assert_int_equal(res.error, SMTP_DATA_OK);
	buf_free(&res.out);
}

/* RFC 3030 2: BDAT has no dot handling and no end marker. */
static void test_bdat_no_dots(void **state)
{
	struct result res;
	(void)state;
	check(".\r\n..x\r\n", &bdat_opts, &res);
	assert_int_equal(res.ret, 0);
	assert_int_equal(res.consumed, 8);
	assert_int_equal(res.error, SMTP_DATA_OK);
	assert_out(&res, ".\n..x\n");
	assert_int_equal(res.size, 8);
	buf_free(&res.out);
}

/* RFC 3030 2: a chunk may end between CR and LF. */
static void test_bdat_crlf_across_chunks(void **state)
{
	static const char in[] = "a\r\nb\r\n";
	static const size_t cuts[] = { 2, 4, 5 };
	struct result res;
	(void)state;
	run_cuts(in, 6, &bdat_opts, cuts, 3, &res);
	assert_int_equal(res.error, SMTP_DATA_OK);
	assert_out(&res, "a\nb\n");
	buf_free(&res.out);
}

/* RFC 3030 2 / RFC 5321 2.3.8 at BDAT LAST. */
static void test_bdat_finish(void **state)
{
	struct result res;
	(void)state;
	check("a\r", &bdat_opts, &res);
	assert_int_equal(res.error, SMTP_DATA_BARE_CR_LF);
	buf_free(&res.out);
	check("a\r\nb", &bdat_opts, &res);
	assert_int_equal(res.error, SMTP_DATA_OK);
	assert_out(&res, "a\nb\n");
	assert_int_equal(res.size, 6);
	buf_free(&res.out);
	check("", &bdat_opts, &res);
	assert_int_equal(res.error, SMTP_DATA_OK);
	assert_out(&res, "");
	assert_int_equal(res.size, 0);
	buf_free(&res.out);
	check("a\nb", &bdat_opts, &res);
	assert_int_equal(res.error, SMTP_DATA_BARE_CR_LF);
	buf_free(&res.out);
	struct opts o = bdat_opts;
	o.max_size = 5;
	check("a\r\nb", &o, &res);   /* the added line end counts */
	assert_int_equal(res.error, SMTP_DATA_TOO_BIG);
	buf_free(&res.out);
}

/* out is appended to; on an error it goes back to what it held. */
static void test_out_prefix_kept(void **state)
{
	struct opts o = data_opts;
	struct result res;
	(void)state;
	o.prefix = "Received: ours\n";
	check("x\r\n.\r\n", &o, &res);
	assert_out(&res, "Received: ours\nx\n");
	buf_free(&res.out);
	check("x\r\ny\rz\r\n.\r\n", &o, &res);
	assert_out(&res, "Received: ours\n");
	buf_free(&res.out);
}

/* After an error the reader still finds the real end exactly. */
static void test_after_error_end_found(void **state)
{
	static const char in[] = "\0bad\r\n..\r\n.x\r\n\r\n.\r.\r\n.\r\nRSET\r\n";
	struct result res;
	(void)state;
	check_trickle(in, sizeof in - 1, &data_opts, &res);
	assert_int_equal(res.ret, 1);
	assert_int_equal(res.consumed, sizeof in - 1 - 6);
	assert_int_equal(res.error, SMTP_DATA_NUL);
	buf_free(&res.out);
}

static void test_feed_after_end(void **state)
{
	struct buf out;
	struct smtp_data_reader r;
	size_t used = 99;
	(void)state;
	buf_init(&out, 100);
	smtp_data_init(&r, &out, 100, 100, true);
	assert_int_equal(smtp_data_feed(&r, ".\r\n", 3, &used), 1);
	assert_int_equal(used, 3);
	assert_int_equal(smtp_data_feed(&r, "abc", 3, &used), 1);
	assert_int_equal(used, 0);
	buf_free(&out);
}

/* The first limit crossed decides, however the input is split. */
static void test_first_error_wins(void **state)
{
	struct opts o = data_opts;
	struct result res;
	char *s;
	(void)state;
	o.max_size = 500;
	s = line_of("", 1200, "\r\n.\r\n");
	check(s, &o, &res);
	assert_int_equal(res.error, SMTP_DATA_TOO_BIG);
	buf_free(&res.out);
	o.max_size = 2000;
	check(s, &o, &res);
	assert_int_equal(res.error, SMTP_DATA_LINE_TOO_LONG);
	buf_free(&res.out);
	free(s);
	check("ab\ncd\0\r\n.\r\n", &data_opts, &res);
	assert_int_equal(res.error, SMTP_DATA_BARE_CR_LF);
	buf_free(&res.out);
	/* limits at the exact octet, before a later NUL */
	o = data_opts;
	o.max_size = 3;
	check_trickle("abcd\0\r\n.\r\n", 11, &o, &res);
	assert_int_equal(res.error, SMTP_DATA_TOO_BIG);
	buf_free(&res.out);
	o.max_size = 4;
	check_trickle("abcd\0\r\n.\r\n", 11, &o, &res);
	assert_int_equal(res.error, SMTP_DATA_NUL);
	buf_free(&res.out);
	o = data_opts;
	o.max_header = 7;
	check_trickle("a: 34567\0\r\n.\r\n", 14, &o, &res);
	assert_int_equal(res.error, SMTP_DATA_HEADER_TOO_BIG);
	buf_free(&res.out);
	o.max_header = 8;
	check_trickle("a: 34567\0\r\n.\r\n", 14, &o, &res);
	assert_int_equal(res.error, SMTP_DATA_NUL);
	buf_free(&res.out);
	o = data_opts;
	o.out_max = 3;
	check_trickle("abcd\0\r\n.\r\n", 11, &o, &res);
	assert_int_equal(res.error, SMTP_DATA_TOO_BIG);
	buf_free(&res.out);
}

/* Trickle tests: the table above plus every smuggling variant, under
 * several limits, in both modes. */
static void test_trickle_table(void **state)
{
	static const char *inputs[] = {
		"", ".", ".\r", ".\r\n", "..\r\n.\r\n", "a\r\n.\r\n", "\r\n.\r\n",
		"Received: a\r\n received\r\nReceived :x\r\n\r\nb\r\n.\r\n",
		"Subject: \xe2\x82\xac\r\n\r\n\xe2\x82\xac\r\n..\r\n.\r\nQUIT\r\n",
		"a\rb\nc\r\n.\r\n", "x\r\r\r\n\n\n.\r\n.\r\n", "\r\r\n.\r\r\n.\r\n",
		"From x\r\nReceived: y\r\n.\r\n", "h: v\r\n\r\n\r\n.\r\n",
		"0123456789012345678901234567890123456789\r\n.\r\n",
	};
	struct opts all[5];
	struct result res;
	char in[256];
	(void)state;
	all[0] = data_opts;
	all[1] = bdat_opts;
	all[2] = data_opts;
	all[2].max_size = 12;
	all[3] = data_opts;
	all[3].max_header = 9;
	all[4] = bdat_opts;
	all[4].out_max = 7;
	for (size_t k = 0; k < 5; k++) {
		for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
			check(inputs[i], &all[k], &res);
			buf_free(&res.out);
		}
		for (size_t i = 0; i < sizeof smuggling / sizeof smuggling[0]; i++) {
			snprintf(in, sizeof in, "a: b\r\n\r\nx%sy\r\n.\r\n", smuggling[i]);
			check(in, &all[k], &res);
			buf_free(&res.out);
			check(smuggling[i], &all[k], &res);
			buf_free(&res.out);
		}
	}
}

static void test_error_replies(void **state)
{
	(void)state;
	assert_string_equal(smtp_data_error_reply(SMTP_DATA_TOO_BIG),
			    "552 5.3.4 Message size exceeds fixed maximum message size");
	assert_string_equal(smtp_data_error_reply(SMTP_DATA_BARE_CR_LF),
			    "554 5.6.0 Message contains bare CR or LF (RFC 5321 2.3.8)");
	assert_string_equal(smtp_data_error_reply(SMTP_DATA_NUL),
			    "554 5.6.0 Message contains NUL octet");
	assert_string_equal(smtp_data_error_reply(SMTP_DATA_LINE_TOO_LONG),
			    "554 5.6.0 Message contains a line longer than 1000 octets (RFC 5321 4.5.3.1.6)");
	assert_string_equal(smtp_data_error_reply(SMTP_DATA_HEADER_TOO_BIG),
			    "552 5.3.4 Message header section too large");
	assert_string_equal(smtp_data_error_reply(SMTP_DATA_NO_MEMORY),
			    "451 4.3.0 Out of memory");
	for (int e = SMTP_DATA_OK; e <= SMTP_DATA_NO_MEMORY; e++)
		assert_null(strpbrk(smtp_data_error_reply((enum smtp_data_error)e), "\r\n"));
}

struct collect {
	struct buf got;
	size_t calls;
	size_t fail_after;
};

static int collect(void *ctx, const char *p, size_t n)
{
	struct collect *c = ctx;
	c->calls++;
	if (c->got.len + n > c->fail_after) {
		errno = ENOSPC;
		return -1;
	}
	return buf_append(&c->got, p, n);
}

/* The spool path: with a sink behind an 8-octet staging buffer, the sink
 * gets exactly the whole-message result, by the time the end is seen,
 * and the buffer never holds more than its size. */
static void test_sink_streams_the_message(void **st)
{
	(void)st;
	const char *in = "Subject: streamed\r\n\r\n..dot\r\n"
			 "a line longer than the staging buffer\r\nx\r\n.\r\nNEXT";
	struct collect c = { .fail_after = SIZE_MAX };
	struct buf stage;
	struct smtp_data_reader r;
	size_t used, total = 0;
	buf_init(&c.got, 4096);
	buf_init(&stage, 8);
	smtp_data_init(&r, &stage, 10000, 1000, true);
	smtp_data_set_sink(&r, collect, &c);
	int ret = 0;
	for (size_t i = 0; i < strlen(in) && ret == 0; i += 3) {
		size_t n = strlen(in) - i < 3 ? strlen(in) - i : 3;
		ret = smtp_data_feed(&r, in + i, n, &used);
		total += used;
		assert_true(stage.len <= 8);
	}
	assert_int_equal(ret, 1);
	assert_int_equal(total, strlen(in) - 4);
	assert_int_equal(r.error, SMTP_DATA_OK);
	assert_int_equal(stage.len, 0);
	const char *want = "Subject: streamed\n\n.dot\na line longer than the staging buffer\nx\n";
	assert_int_equal(c.got.len, strlen(want));
	assert_memory_equal(c.got.data, want, strlen(want));
	assert_true(c.calls > 2);
	buf_free(&c.got);
	buf_free(&stage);
}

/* A sink that fails (a full disk) makes the message be refused with
 * 452 4.3.1 at its end, and the reader still finds that end. */
static void test_sink_failure_is_no_space(void **st)
{
	(void)st;
	const char *in = "Subject: x\r\n\r\n0123456789012345678901234567890\r\n.\r\n";
	struct collect c = { .fail_after = 10 };
	struct buf stage;
	struct smtp_data_reader r;
	size_t used;
	buf_init(&c.got, 4096);
	buf_init(&stage, 8);
	smtp_data_init(&r, &stage, 10000, 1000, true);
	smtp_data_set_sink(&r, collect, &c);
	assert_int_equal(smtp_data_feed(&r, in, strlen(in), &used), 1);
	assert_int_equal(used, strlen(in));
	assert_int_equal(r.error, SMTP_DATA_NO_SPACE);
	assert_string_equal(smtp_data_error_reply(r.error),
			    "452 4.3.1 Error: insufficient system storage");
	buf_free(&c.got);
	buf_free(&stage);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_message),
		cmocka_unit_test(test_sink_streams_the_message),
		cmocka_unit_test(test_sink_failure_is_no_space),
		cmocka_unit_test(test_first_line_dot),
		cmocka_unit_test(test_dot_unstuffing),
		cmocka_unit_test(test_pipelined_rest_not_consumed),
		cmocka_unit_test(test_smuggling_variants_do_not_end),
		cmocka_unit_test(test_bare_cr_and_lf),
		cmocka_unit_test(test_nul_refused),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_message_size),
		cmocka_unit_test(test_header_size),
		cmocka_unit_test(test_received_count),
		cmocka_unit_test(test_eight_bit),
		cmocka_unit_test(test_bdat_no_dots),
		cmocka_unit_test(test_bdat_crlf_across_chunks),
		cmocka_unit_test(test_bdat_finish),
		cmocka_unit_test(test_out_prefix_kept),
		cmocka_unit_test(test_after_error_end_found),
		cmocka_unit_test(test_feed_after_end),
		cmocka_unit_test(test_first_error_wins),
		cmocka_unit_test(test_trickle_table),
		cmocka_unit_test(test_error_replies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
