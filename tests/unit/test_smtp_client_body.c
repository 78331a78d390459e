/* Outgoing content: line-end normalisation and dot-stuffing
 * (smtp_client_body.h), BDAT chunks (RFC 3030) and backpressure in the
 * session. */
#include "test_smtp_client_common.h"

#include <stdint.h>

#include "smtp/smtp_client_body.h"

static void encode_split(const char *in, size_t n, bool dot, size_t split, struct buf *out)
{
	struct smtp_body_enc e;
	size_t start = out->len;
	smtp_body_enc_init(&e, dot);
	for (size_t i = 0; i < n; i += split) {
		size_t k = n - i < split ? n - i : split;
		assert_int_equal(smtp_body_encode(&e, in + i, k, out), 0);
	}
	assert_int_equal(smtp_body_finish(&e, out), 0);
	assert_int_equal(e.out_octets, out->len - start);
}

/* Whole, and in every chunk size from 1 to 7: the same octets. */
static void check(const char *in, bool dot, const char *want)
{
	size_t n = strlen(in);
	for (size_t split = 0; split < 8; split++) {
		struct buf out;
		buf_init(&out, 1 << 16);
		encode_split(in, n, dot, split == 0 ? (n > 0 ? n : 1) : split, &out);
		if (out.len != strlen(want) || memcmp(out.data ? out.data : "", want, out.len) != 0)
			fail_msg("split %zu: got \"%.*s\"", split, (int)out.len, out.data ? out.data : "");
		buf_free(&out);
	}
}

/* RFC 5321 2.3.8 and 4.5.2: each stored line end (LF, CRLF or a lone CR)
 * goes out as one CRLF, and then a line that starts with "." gets
 * another, so "." CRLF comes only at the end. */
static void test_normalise_and_stuff(void **state)
{
	check("", true, ".\r\n");
	check("a\nb\n", true, "a\r\nb\r\n.\r\n");
	check("a\r\nb", true, "a\r\nb\r\n.\r\n");                 /* no line end at the end */
	check("a\rb\r", true, "a\r\nb\r\n.\r\n");                  /* bare CR */
	check("\r\r\n\n", true, "\r\n\r\n\r\n.\r\n");
	check(".x\n..\n.\n", true, "..x\r\n...\r\n..\r\n.\r\n");
	check("\r.\r", true, "\r\n..\r\n.\r\n");
	check("x\n.\r\nMAIL FROM:<evil>", true, "x\r\n..\r\nMAIL FROM:<evil>\r\n.\r\n");
	check("x\r.\r\nRSET\n", true, "x\r\n..\r\nRSET\r\n.\r\n");  /* bare CR "." */
	check("x\n.\n", true, "x\r\n..\r\n.\r\n");                 /* bare LF "." */
	check("a.b\n", true, "a.b\r\n.\r\n");
	/* BDAT: the same line ends, no stuffing, no "." end. */
	check("", false, "");
	check(".x\r\r\n.\n", false, ".x\r\n\r\n.\r\n");
	check("a", false, "a\r\n");
	(void)state;
}

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* The reference: the stored lines (split at CRLF, LF or CR), each with
 * LF, and one more when the content does not end with a line end. */
static void reference_lines(const char *in, size_t n, struct buf *ref)
{
	for (size_t i = 0; i < n; i++) {
		if (in[i] == '\r' && i + 1 < n && in[i + 1] == '\n')
			continue;
		buf_append_char(ref, in[i] == '\r' ? '\n' : in[i]);
	}
	if (ref->len > 0 && ref->data[ref->len - 1] != '\n')
		buf_append_char(ref, '\n');
}

/* What a receiver reads from the DATA stream: lines up to the first
 * CRLF "." CRLF, unstuffed; asserts no bare CR or LF. */
static void receive(const struct buf *out, struct buf *got)
{
	const char *p = out->data;
	size_t n = out->len, i = 0;
	for (size_t k = 0; k < n; k++) {
		if (p[k] == '\r')
			assert_true(k + 1 < n && p[k + 1] == '\n');
		if (p[k] == '\n')
			assert_true(k > 0 && p[k - 1] == '\r');
	}
	while (i < n) {
		const char *e = memmem(p + i, n - i, "\r\n", 2);
		assert_non_null(e);
		size_t len = (size_t)(e - (p + i));
		if (len == 1 && p[i] == '.') {
			assert_int_equal(i + 3, n);   /* the end, and only at the end */
			return;
		}
		size_t skip = len > 0 && p[i] == '.' ? 1 : 0;
		buf_append(got, p + i + skip, len - skip);
		buf_append_char(got, '\n');
		i += len + 2;
	}
	fail_msg("no end of data");
}

/* Property: for random content of CR, LF, "." and a letter, cut at random
 * places, the stream has no bare CR or LF, ends at its one CRLF "." CRLF,
 * and gives back exactly the stored lines. */
static void test_property(void **state)
{
	static const char alphabet[] = "\r\n.a";
	uint64_t seed = 0x9e3779b97f4a7c15ULL;
	char in[64];
	for (int iter = 0; iter < 20000; iter++) {
		size_t n = rng(&seed) % sizeof in;
		for (size_t i = 0; i < n; i++)
			in[i] = alphabet[rng(&seed) % 4];
		struct buf out, got, ref;
		buf_init(&out, 1024);
		buf_init(&got, 1024);
		buf_init(&ref, 1024);
		encode_split(in, n, true, 1 + rng(&seed) % 9, &out);
		assert_true(out.len <= 2 * n + SMTP_BODY_END_MAX);
		receive(&out, &got);
		reference_lines(in, n, &ref);
		assert_int_equal(got.len, ref.len);
		assert_memory_equal(got.data ? got.data : "", ref.data ? ref.data : "", got.len);
		buf_free(&out);
		buf_free(&got);
		buf_free(&ref);
	}
	(void)state;
}

/* In the session: stored bare CRs and LFs go out as CRLF, dots stuffed,
 * whatever the reads' sizes. */
static void test_session_body(void **state)
{
	struct fixture f;
	fixture_init(&f);
	f.read_cap = 3;
	add_msg(&f, "alice@a.test", "bob@b.test", "a\rb\nc\r\n.d\r.\r\n.\n\r.\rend");
	const char *script[] = {
		GREET, EHLO_FULL, "S:250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n", "S:250 ok\r\n",
		"S:221 bye\r\n", NULL,
	};
	transcript(&f, script,
		   "C: EHLO mx.a.test\n"
		   "C: MAIL FROM:<alice@a.test> SIZE=21\n"
		   "C: RCPT TO:<bob@b.test>\n"
		   "C: DATA\n"
		   "C: a\n" "C: b\n" "C: c\n" "C: ..d\n" "C: ..\n" "C: ..\n" "C: \n" "C: ..\n"
		   "C: end\n" "C: .\n"
		   "E: rcpt bob@b.test sent msg 250 2.0.0 end of data | 250 ok\n"
		   "E: msg 0 sent msg 250 2.0.0\n"
		   "C: QUIT\n"
		   "E: closed sent 221 2.0.0 | 221 bye\n");
	(void)state;
}

static char big[1300];

static void bdat_msg(struct fixture *f)
{
	memset(big, 'a', 600);
	big[600] = '\n';
	memset(big + 601, 'b', 600);
	big[1201] = '\0';
	/* 1201 octets stored, 1204 out: CRLF, and a line end at the end. */
	add_msg(f, "alice@a.test", "bob@b.test", big);
}

static void expect_raw(struct fixture *f, const char *head, const char *tail)
{
	struct buf want;
	buf_init(&want, 1 << 16);
	buf_append_str(&want, head);
	buf_append_str(&want, "BDAT 767\r\n");
	buf_append(&want, big, 600);
	buf_append(&want, "\r\n", 2);
	buf_append(&want, big + 601, 165);
	buf_append_str(&want, "BDAT 437 LAST\r\n");
	buf_append(&want, big + 766, 435);
	buf_append(&want, "\r\n", 2);
	buf_append_str(&want, tail);
	assert_int_equal(f->raw.len, want.len);
	assert_memory_equal(f->raw.data, want.data, want.len);
	buf_free(&want);
}

/* RFC 3030: CHUNKING offered, BDAT chunks of a bounded size (here the
 * smallest, 1 KiB) instead of DATA: no dot-stuffing, exact CRLF; one
 * chunk at a time without PIPELINING. */
static void test_bdat(void **state)
{
	struct fixture f;
	fixture_init(&f);
	f.set.chunk_size = 1000;   /* clamped to 1024 */
	bdat_msg(&f);
	const char *one[] = {
		GREET, "S:250-mx.b.test\r\n250-CHUNKING\r\n250 SIZE\r\n", "S:250 ok\r\n",
		"S:250 ok\r\n", "S:250 2.0.0 767 octets\r\n", "S:250 2.0.0 queued\r\n", "S:221 bye\r\n",
		NULL,
	};
	run_both(&f, one);
	expect_raw(&f, "EHLO mx.a.test\r\nMAIL FROM:<alice@a.test> SIZE=1201\r\nRCPT TO:<bob@b.test>\r\n",
		   "QUIT\r\n");
	assert_non_null(strstr(f.log.data, "E: rcpt bob@b.test sent msg 250 2.0.0 BDAT | 250 2.0.0 queued\n"));
	buf_free(&f.log);
	buf_free(&f.raw);
	/* With PIPELINING: MAIL and RCPT in one write, then the chunks
	 * without waiting. */
	const char *piped[] = {
		GREET, "S:250-mx.b.test\r\n250-CHUNKING\r\n250 PIPELINING\r\n",
		"S:250 ok\r\n250 ok\r\n", "S:250 2.0.0 767 octets\r\n250 2.0.0 queued\r\n",
		"S:221 bye\r\n", NULL,
	};
	run_both(&f, piped);
	expect_raw(&f, "EHLO mx.a.test\r\nMAIL FROM:<alice@a.test>\r\nRCPT TO:<bob@b.test>\r\n",
		   "QUIT\r\n");
	buf_free(&f.log);
	buf_free(&f.raw);
	(void)state;
}

/* A refused chunk ends the message (its recipients take the chunk's
 * reply) and the next message starts with RSET. */
static void test_bdat_refused(void **state)
{
	struct fixture f;
	fixture_init(&f);
	f.set.chunk_size = 1024;
	bdat_msg(&f);
	add_msg(&f, "alice@a.test", "bob@b.test", "y\n");
	const char *script[] = {
		GREET, "S:250-mx.b.test\r\n250-CHUNKING\r\n250 PIPELINING\r\n", "S:250 ok\r\n250 ok\r\n",
		"S:452 4.3.1 full\r\n554 5.5.0 no transaction\r\n",
		"S:250 ok\r\n250 ok\r\n250 ok\r\n", "S:250 2.0.0 queued\r\n", "S:221 bye\r\n", NULL,
	};
	run_both(&f, script);
	const char *log = f.log.data;
	const char *refused = strstr(log, "E: rcpt bob@b.test defer msg 452 4.3.1 BDAT | 452 4.3.1 full\n"
				     "E: msg 0 defer msg 452 4.3.1\nC: RSET\nC: MAIL FROM:<alice@a.test>\n");
	assert_non_null(refused);
	assert_non_null(strstr(refused, "C: BDAT 3 LAST\nC: y\n"
				  "E: rcpt bob@b.test sent msg 250 2.0.0 BDAT | 250 2.0.0 queued\n"
				  "E: msg 1 sent msg 250 2.0.0\nC: QUIT\n"));
	buf_free(&f.log);
	buf_free(&f.raw);
	(void)state;
}

static void h_hold_idle(void *ctx) { (void)ctx; }

/* Backpressure: a 4 MiB message; the session stops at a bounded output
 * until the caller sent some (smtp_client_resume), reads are bounded, and
 * the octets out are the exact encoding; body reads answered later
 * (async) as well as at once. */
static void test_backpressure(void **state)
{
	for (int async = 0; async < 2; async++) {
		struct fixture f;
		fixture_init(&f);
		size_t n = 4 << 20;
		char *content = malloc(n + 1);
		for (size_t i = 0; i < n; i++)
			content[i] = i % 61 == 60 ? '\n' : i % 61 == 0 ? '.' : (char)('a' + i % 26);
		content[n] = '\0';
		add_msg(&f, "alice@a.test", "bob@b.test", content);
		f.async_body = async;
		struct smtp_client_hooks h = hooks;
		h.idle = h_hold_idle;
		f.c = smtp_client_new(&f.set, &h, &f, "t", false);
		buf_init(&f.log, 1 << 16);
		const char *r = "220 hi\r\n250 ok\r\n";
		smtp_client_input(f.c, r, strlen(r));
		assert_int_equal(smtp_client_send(f.c, &f.msgs[0]), 0);
		f.next = 1;
		r = "250 ok\r\n250 ok\r\n354 go\r\n";
		smtp_client_input(f.c, r, strlen(r));
		struct buf *out = smtp_client_output(f.c);
		struct buf all;
		buf_init(&all, 16 << 20);
		size_t peak = 0, rounds = 0;
		while (!strstr(all.len > 8 ? all.data + all.len - 8 : "", "\r\n.\r\n")) {
			if (async && f.body_want > 0) {
				size_t want = f.body_want;
				f.body_want = 0;
				answer_body(&f, &f.msgs[0], want);
			}
			peak = out->len > peak ? out->len : peak;
			assert_int_equal(buf_append(&all, out->data, out->len), 0);
			buf_reset(out);
			smtp_client_resume(f.c);
			assert_true(++rounds < 10000);
		}
		/* Never much more than SMTP_CLIENT_OUT_LOW plus one read. */
		assert_true(peak <= SMTP_CLIENT_OUT_LOW + 2 * 32 * 1024 + 8);
		assert_true(rounds > n / (SMTP_CLIENT_OUT_LOW + 2 * 32 * 1024 + 8));
		struct buf want;
		buf_init(&want, 16 << 20);
		buf_append_str(&want, "EHLO mx.a.test\r\nMAIL FROM:<alice@a.test>\r\nRCPT TO:<bob@b.test>\r\nDATA\r\n");
		encode_split(content, n, true, n, &want);
		assert_int_equal(all.len, want.len);
		assert_memory_equal(all.data, want.data, want.len);
		buf_free(&want);
		buf_free(&all);
		smtp_client_free(&f.c);
		buf_free(&f.log);
		free(content);
	}
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalise_and_stuff),
		cmocka_unit_test(test_property),
		cmocka_unit_test(test_session_body),
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_bdat_refused),
		cmocka_unit_test(test_backpressure),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
