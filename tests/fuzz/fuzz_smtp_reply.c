/* libFuzzer target: the SMTP client's reply reader and the client session
 * it drives.
 *
 * Input: 1 octet of settings, then what a server says. The reply reader
 * is fed the bytes in one call, at split points drawn from the input, and
 * one octet at a time: the replies (code, enhanced code, text, lines) and
 * the error must be the same, and within the stated bounds. Then a client
 * session sending two messages is fed the same bytes as its server's
 * replies, whole and octet by octet: the commands it writes and the
 * events it gives must be the same, every recipient gets exactly one
 * fate before its message's msg_done, closed comes at most once and
 * last, and no command line holds a bare CR or LF. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_client.h"
#include "smtp/smtp_reply.h"

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "CHECK failed: %s (line %d)\n", #x, __LINE__); abort(); } } while (0)

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void check_reply(const struct smtp_reply *rp)
{
	CHECK(rp->code >= 200 && rp->code <= 559);
	CHECK(rp->lines >= 1 && rp->lines <= SMTP_REPLY_LINES_MAX);
	CHECK(rp->text.len <= SMTP_REPLY_TEXT_MAX);
	CHECK(rp->enhanced[0] == '\0' || (unsigned)(rp->enhanced[0] - '0') == rp->code / 100);
	struct smtp_ehlo e;
	smtp_ehlo_parse(rp, &e);
	for (size_t i = 0; i < rp->lines; i++)
		CHECK(smtp_reply_line(rp, i).len < SMTP_REPLY_LINE_MAX);
}

/* mode 0: one call; 1: random pieces; 2: octet by octet. The log holds
 * each reply's code, enhanced code and text, and the error. */
static void read_all(const uint8_t *in, size_t n, int mode, uint64_t seed, struct buf *log)
{
	struct smtp_reply_reader r;
	size_t pos = 0;
	smtp_reply_reader_init(&r);
	while (pos < n) {
		size_t len = n - pos;
		if (mode == 1) {
			uint64_t x = rng_next(&seed);
			len = x % 4 == 0 ? x % 3000 : x % 8;
		} else if (mode == 2) {
			len = 1;
		}
		len = len == 0 ? 1 : len > n - pos ? n - pos : len;
		char *chunk = malloc(len);   /* exact size: ASan sees over-reads */
		CHECK(chunk != NULL);
		memcpy(chunk, in + pos, len);
		size_t off = 0;
		while (off < len) {
			size_t used;
			const char *why;
			enum smtp_reply_result res = smtp_reply_feed(&r, chunk + off, len - off, &used, &why);
			CHECK(used <= len - off);
			off += used;
			if (res == SMTP_REPLY_READY) {
				check_reply(&r.reply);
				buf_printf(log, "%u %s %zu %s\n", r.reply.code, r.reply.enhanced,
					   r.reply.lines, r.reply.text.data);
			} else if (res == SMTP_REPLY_ERROR) {
				buf_printf(log, "error %s\n", why);
				off = len;
				pos = n - len;   /* the rest does not matter */
			} else {
				CHECK(off == len);
			}
		}
		free(chunk);
		pos += len;
	}
	smtp_reply_reader_free(&r);
}

struct session {
	struct smtp_client *c;
	struct buf log;          /* events */
	struct buf wire;         /* what the client wrote */
	struct smtp_client_msg msgs[2];
	struct smtp_client_rcpt rcpts[3];
	unsigned char fates[2][3];
	size_t next, offset;
	bool done[2], closed, tls_asked;
};

static const char content[] = "Subject: x\n\n.\r\nline\r.\rend";

static void s_idle(void *ctx)
{
	struct session *s = ctx;
	CHECK(!s->closed);
	if (s->next < 2) {
		s->offset = 0;
		CHECK(smtp_client_send(s->c, &s->msgs[s->next++]) == 0);
	} else {
		smtp_client_quit(s->c);
	}
}

static void s_starttls(void *ctx, bool verify)
{
	struct session *s = ctx;
	buf_printf(&s->log, "starttls %d\n", verify);
	s->tls_asked = true;
}

static void s_body_read(void *ctx, const struct smtp_client_msg *m, size_t max)
{
	struct session *s = ctx;
	(void)m;
	size_t left = sizeof content - 1 - s->offset;
	size_t n = left < max ? left : max;
	n = n > 5 ? 5 : n;
	s->offset += n;
	smtp_client_body_done(s->c, content + s->offset - n, n, s->offset == sizeof content - 1, false);
}

static void s_rcpt_done(void *ctx, const struct smtp_client_msg *m, size_t i,
			const struct smtp_client_status *st)
{
	struct session *s = ctx;
	size_t k = (size_t)(m - s->msgs);
	CHECK(k < 2 && i < m->rcpt_count && !s->done[k] && !s->closed);
	CHECK(s->fates[k][i] == 0);
	s->fates[k][i] = 1;
	CHECK(st->text != NULL && st->command != NULL);
	buf_printf(&s->log, "rcpt %zu %zu %d %d %u %s %s\n", k, i, st->fate, st->scope, st->code,
		   st->enhanced, st->text);
}

static void s_msg_done(void *ctx, const struct smtp_client_msg *m,
		       const struct smtp_client_status *st)
{
	struct session *s = ctx;
	size_t k = (size_t)(m - s->msgs);
	CHECK(k < 2 && !s->done[k] && !s->closed);
	for (size_t i = 0; i < m->rcpt_count; i++)
		CHECK(s->fates[k][i] == 1);
	s->done[k] = true;
	buf_printf(&s->log, "msg %zu %d %u\n", k, st->fate, st->code);
}

static void s_closed(void *ctx, const struct smtp_client_status *st)
{
	struct session *s = ctx;
	CHECK(!s->closed);
	for (size_t k = 0; k < s->next; k++)
		CHECK(s->done[k]);
	s->closed = true;
	buf_printf(&s->log, "closed %d %u %s\n", st->fate, st->code, st->text);
}

static const struct smtp_client_hooks s_hooks = {
	.idle = s_idle, .starttls = s_starttls, .body_read = s_body_read,
	.rcpt_done = s_rcpt_done, .msg_done = s_msg_done, .closed = s_closed,
};

/* Moves the client's output to s->wire, checking its line ends. (Apart
 * from the events: when output is taken depends on the feeding.) */
static void drain(struct session *s)
{
	struct buf *out = smtp_client_output(s->c);
	for (size_t i = 0; i < out->len; i++) {
		if (out->data[i] == '\r')
			CHECK(i + 1 < out->len && out->data[i + 1] == '\n');
		if (out->data[i] == '\n')
			CHECK(i > 0 && out->data[i - 1] == '\r');
	}
	CHECK(buf_append(&s->wire, out->data, out->len) == 0);
	buf_reset(out);
}

static void run_session(const uint8_t *in, size_t n, uint8_t cfg, bool trickle, struct buf *log)
{
	struct session s;
	struct smtp_client_settings set = {
		.helo_name = "mx.a.test", .tls = (enum smtp_client_tls)(cfg % 3),
		.no_pipelining = cfg & 4, .no_chunking = cfg & 8, .chunk_size = 1024,
		.auth_user = cfg & 16 ? "alice" : NULL, .auth_pass = cfg & 16 ? "secret" : NULL,
		.auth_without_tls = cfg & 32,
	};
	memset(&s, 0, sizeof s);
	buf_init(&s.log, 1 << 24);
	buf_init(&s.wire, 1 << 24);
	s.rcpts[0] = (struct smtp_client_rcpt){ "bob@b.test", SMTP_NOTIFY_FAILURE, "rfc822;bob@b.test" };
	s.rcpts[1] = (struct smtp_client_rcpt){ "carol@b.test", 0, NULL };
	s.rcpts[2] = (struct smtp_client_rcpt){ "dave@b.test", 0, NULL };
	s.msgs[0] = (struct smtp_client_msg){ .sender = "alice@a.test", .rcpts = s.rcpts,
					       .rcpt_count = 3, .size = sizeof content - 1,
					       .eight_bit = cfg & 64, .ret = SMTP_RET_HDRS };
	s.msgs[1] = (struct smtp_client_msg){ .sender = "", .rcpts = s.rcpts + 1, .rcpt_count = 1,
					       .size = 50000, .smtputf8 = cfg & 128 };
	s.c = smtp_client_new(&set, &s_hooks, &s, "fuzz", false);
	CHECK(s.c != NULL);
	size_t pos = 0;
	while (pos < n) {
		size_t len = trickle ? 1 : n - pos;
		size_t used = smtp_client_input(s.c, (const char *)in + pos, len);
		CHECK(used <= len && (used == len || s.tls_asked));
		drain(&s);
		/* The handshake "happens"; unlike a transport, the fuzzer
		 * goes on with the octets after the 220, so that both ways
		 * of feeding see the same stream. */
		if (s.tls_asked) {
			s.tls_asked = false;
			smtp_client_tls_started(s.c);
			drain(&s);
		}
		pos += used;
	}
	if (!s.closed) {
		smtp_client_lost(s.c, "end of input");
		drain(&s);
	}
	CHECK(s.closed && smtp_client_closed(s.c));
	smtp_client_free(&s.c);
	CHECK(buf_append(&s.log, "--\n", 3) == 0 &&
	      buf_append(&s.log, s.wire.data, s.wire.len) == 0);
	buf_free(&s.wire);
	*log = s.log;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL ^ size;
	struct buf one, split, trickle;

	if (size < 1)
		return 0;
	uint8_t cfg = data[0];
	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 0x100000001b3ULL;
	seed |= 1;
	data++;
	size--;

	buf_init(&one, 1 << 24);
	buf_init(&split, 1 << 24);
	buf_init(&trickle, 1 << 24);
	read_all(data, size, 0, seed, &one);
	read_all(data, size, 1, seed, &split);
	read_all(data, size, 2, seed, &trickle);
	CHECK(one.len == split.len && one.len == trickle.len);
	CHECK(one.len == 0 || (memcmp(one.data, split.data, one.len) == 0 &&
			       memcmp(one.data, trickle.data, one.len) == 0));
	buf_free(&one);
	buf_free(&split);
	buf_free(&trickle);

	run_session(data, size, cfg, false, &one);
	run_session(data, size, cfg, true, &trickle);
	CHECK(one.len == trickle.len);
	CHECK(one.len == 0 || memcmp(one.data, trickle.data, one.len) == 0);
	buf_free(&one);
	buf_free(&trickle);
	return 0;
}
