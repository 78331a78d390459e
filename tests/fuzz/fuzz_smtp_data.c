/* libFuzzer target: the DATA / BDAT reader.
 *
 * Input: 4 octets of settings (mode and limits), then the stream. The
 * stream is fed three ways, in one call, at split points drawn from the
 * input, and one octet at a time, and the results must be identical.
 * The one-call result is also checked against a deliberately naive
 * line-by-line reference: the end is the first CRLF.CRLF and nothing
 * else, dots are unstuffed, and a message is refused exactly when it
 * breaks a rule somewhere. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp/smtp_data.h"

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "CHECK failed: %s (line %d)\n", #x, __LINE__); abort(); } } while (0)

#define BIG ((size_t)1 << 20)

struct cfg {
	bool dot_mode;
	size_t max_size, max_header, out_max;
	size_t stage;          /* sink mode: staging buffer size */
	size_t fail_after;     /* sink mode: octets the sink takes, then ENOSPC */
};

struct sink {
	struct buf got;
	size_t fail_after;
	size_t calls;
};

static int sink_write(void *ctx, const char *p, size_t n)
{
	struct sink *k = ctx;
	k->calls++;
	if (k->got.len + n > k->fail_after) {
		errno = ENOSPC;
		return -1;
	}
	CHECK(buf_append(&k->got, p, n) == 0);
	return 0;
}

struct result {
	int ret;
	size_t consumed;
	enum smtp_data_error error;
	struct buf out;
	size_t size;
	unsigned received;
	bool eight_bit;
};

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* mode 0: one call; 1: random chunks (exact-size copies); 2: octet by
 * octet; 3: random chunks into a sink (k) behind a c->stage buffer */
static void feed(const uint8_t *in, size_t n, const struct cfg *c, int mode,
		 uint64_t seed, struct result *res, struct sink *k)
{
	struct smtp_data_reader r;
	size_t pos = 0;

	memset(res, 0, sizeof *res);
	buf_init(&res->out, mode == 3 ? c->stage : c->out_max);
	smtp_data_init(&r, &res->out, c->max_size, c->max_header, c->dot_mode);
	if (mode == 3)
		smtp_data_set_sink(&r, sink_write, k);
	while (pos < n && res->ret == 0) {
		size_t len = n - pos, used = 0;
		if (mode == 1 || mode == 3) {
			uint64_t x = rng_next(&seed);
			len = x % 4 == 0 ? x % 512 : x % 8;
			len = len == 0 ? 1 : len > n - pos ? n - pos : len;
		} else if (mode == 2) {
			len = 1;
		}
		/* Copies, so ASan sees a read past any chunk: a heap block
		 * of the exact size, or one octet on the stack. */
		char octet[1];
		char *chunk = mode == 2 ? octet : malloc(len);
		CHECK(chunk != NULL);
		memcpy(chunk, in + pos, len);
		res->ret = smtp_data_feed(&r, chunk, len, &used);
		if (chunk != octet)
			free(chunk);
		CHECK(res->ret == 0 || res->ret == 1);
		CHECK(used <= len);
		CHECK(res->ret == 1 || used == len);
		CHECK(res->ret == 0 || c->dot_mode);
		res->consumed += used;
		pos += len;
		/* The staging buffer never grows past its size. */
		CHECK(mode != 3 || res->out.len <= c->stage);
	}
	if (!c->dot_mode)
		smtp_data_finish(&r);
	res->error = r.error;
	res->size = r.size;
	res->received = r.received_count;
	res->eight_bit = r.eight_bit;
}

static void same(const struct result *a, const struct result *b)
{
	CHECK(a->ret == b->ret);
	CHECK(a->consumed == b->consumed);
	CHECK(a->error == b->error);
	CHECK(a->out.len == b->out.len);
	CHECK(a->out.len == 0 || memcmp(a->out.data, b->out.data, a->out.len) == 0);
	if (a->error == SMTP_DATA_OK) {
		CHECK(a->size == b->size);
		CHECK(a->received == b->received);
		CHECK(a->eight_bit == b->eight_bit);
	}
}

struct ref {
	bool ended;
	size_t consumed;
	bool bad;
	struct buf out;
	size_t size, header_len;
	unsigned received;
	bool eight_bit, in_header;
};

/* The header rule of smtp_data.h, for one whole line: how many of its
 * octets belong to the header section, and whether it stays open. */
static void ref_header_line(struct ref *rf, const uint8_t *l, size_t len)
{
	size_t i = 0, j;

	if (len == 0) {
		rf->in_header = false;
		return;
	}
	if (l[0] == ' ' || l[0] == '\t') {
		rf->header_len += len + 2;
		return;
	}
	while (i < len && l[i] > ' ' && l[i] < 0x7f && l[i] != ':')
		i++;
	j = i;
	while (i > 0 && j < len && (l[j] == ' ' || l[j] == '\t'))
		j++;
	if (i > 0 && j < len && l[j] == ':') {
		if (i == 8 && strncasecmp((const char *)l, "received", 8) == 0)
			rf->received++;
		rf->header_len += len + 2;
		return;
	}
	rf->header_len += i == 0 ? 0 : j;
	rf->in_header = false;
}

static void ref_line(struct ref *rf, const struct cfg *c, const uint8_t *l, size_t len)
{
	if (c->dot_mode && len > 0 && l[0] == '.') {
		l++;
		len--;
	}
	for (size_t i = 0; i < len; i++) {
		if (l[i] == '\r' || l[i] == '\n' || l[i] == '\0')
			rf->bad = true;
		if (l[i] >= 0x80)
			rf->eight_bit = true;
	}
	if (len > SMTP_TEXT_LINE_MAX - 2)
		rf->bad = true;
	if (rf->in_header)
		ref_header_line(rf, l, len);
	rf->size += len + 2;
	if (!rf->bad && (buf_append(&rf->out, l, len) < 0 || buf_append(&rf->out, "\n", 1) < 0))
		rf->bad = true;
}

static void reference(const uint8_t *in, size_t n, const struct cfg *c, struct ref *rf)
{
	size_t mlen = n, pos = 0;

	memset(rf, 0, sizeof *rf);
	buf_init(&rf->out, BIG * 4);
	rf->in_header = true;
	rf->consumed = n;
	if (c->dot_mode) {
		if (n >= 3 && memcmp(in, ".\r\n", 3) == 0) {
			rf->ended = true;
			rf->consumed = 3;
			mlen = 0;
		} else {
			const uint8_t *e = memmem(in, n, "\r\n.\r\n", 5);
			if (e == NULL)
				return;   /* unfinished: nothing to compare but consumed */
			rf->ended = true;
			mlen = (size_t)(e - in) + 2;
			rf->consumed = mlen + 3;
		}
	}
	while (pos < mlen) {
		const uint8_t *e = memmem(in + pos, mlen - pos, "\r\n", 2);
		size_t len = e != NULL ? (size_t)(e - in) - pos : mlen - pos;
		ref_line(rf, c, in + pos, len);
		pos += len + (e != NULL ? 2 : 0);
	}
	if (rf->size > c->max_size || rf->header_len > c->max_header || rf->out.len > c->out_max)
		rf->bad = true;
}

static void check_reference(const uint8_t *in, size_t n, const struct cfg *c,
			    const struct result *res)
{
	struct ref rf;

	reference(in, n, c, &rf);
	CHECK(res->consumed == rf.consumed);
	CHECK(res->ret == (rf.ended ? 1 : 0));
	if (c->dot_mode && !rf.ended) {
		buf_free(&rf.out);
		return;
	}
	CHECK((res->error != SMTP_DATA_OK) == rf.bad);
	if (!rf.bad) {
		CHECK(res->out.len == rf.out.len);
		CHECK(rf.out.len == 0 || memcmp(res->out.data, rf.out.data, rf.out.len) == 0);
		CHECK(res->size == rf.size);
		CHECK(res->received == rf.received);
		CHECK(res->eight_bit == rf.eight_bit);
	} else {
		CHECK(res->out.len == 0);
	}
	buf_free(&rf.out);
}

/* The spool path against the whole-message result (without the whole
 * mode's output cap, which a sink does not have). */
static void check_sink(const uint8_t *in, size_t n, const struct cfg *c0, uint64_t seed)
{
	struct cfg c = *c0;
	struct result whole, streamed, failing;
	struct sink ok = { .fail_after = SIZE_MAX }, bad;

	c.out_max = BIG * 4;
	feed(in, n, &c, 0, seed, &whole, NULL);
	buf_init(&ok.got, BIG * 4);
	feed(in, n, &c, 3, seed, &streamed, &ok);
	CHECK(streamed.ret == whole.ret);
	CHECK(streamed.consumed == whole.consumed);
	CHECK(streamed.error == whole.error);
	if (whole.ret == 1 || !c.dot_mode) {
		if (whole.error == SMTP_DATA_OK) {
			/* Every octet reached the sink, nothing is left staged. */
			CHECK(streamed.out.len == 0);
			CHECK(ok.got.len == whole.out.len);
			CHECK(ok.got.len == 0 || memcmp(ok.got.data, whole.out.data, ok.got.len) == 0);
			CHECK(streamed.size == whole.size);
			CHECK(streamed.received == whole.received);
			CHECK(streamed.eight_bit == whole.eight_bit);
		}
	}
	/* A sink that fails part way: refused, and still in step. */
	memset(&bad, 0, sizeof bad);
	bad.fail_after = c.fail_after;
	buf_init(&bad.got, BIG * 4);
	feed(in, n, &c, 3, seed, &failing, &bad);
	CHECK(failing.ret == whole.ret);
	CHECK(failing.consumed == whole.consumed);
	if ((whole.ret == 1 || !c.dot_mode) && whole.error == SMTP_DATA_OK &&
	    whole.out.len > c.fail_after)
		CHECK(failing.error == SMTP_DATA_NO_SPACE);
	if (failing.error == SMTP_DATA_OK && (whole.ret == 1 || !c.dot_mode))
		CHECK(bad.got.len == whole.out.len);
	buf_free(&whole.out);
	buf_free(&streamed.out);
	buf_free(&failing.out);
	buf_free(&ok.got);
	buf_free(&bad.got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfg c;
	struct result one, split, trickle;
	uint64_t seed = 0x9e3779b97f4a7c15ULL ^ size;

	if (size < 4)
		return 0;
	c.dot_mode = !(data[0] & 1);
	c.max_size = data[0] & 2 ? (size_t)data[1] * 4 : BIG;
	c.max_header = data[0] & 4 ? (size_t)data[2] : BIG;
	c.out_max = data[0] & 8 ? (size_t)data[3] * 4 : BIG;
	c.stage = 1 + (data[1] % 64);
	c.fail_after = (size_t)data[2] * 8 + data[3];
	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 0x100000001b3ULL;
	seed |= 1;
	data += 4;
	size -= 4;

	feed(data, size, &c, 0, seed, &one, NULL);
	feed(data, size, &c, 1, seed, &split, NULL);
	feed(data, size, &c, 2, seed, &trickle, NULL);
	same(&one, &split);
	same(&one, &trickle);
	check_reference(data, size, &c, &one);
	check_sink(data, size, &c, seed);
	buf_free(&one.out);
	buf_free(&split.out);
	buf_free(&trickle.out);
	return 0;
}
