/* The SMTP client session as protocol transcripts (shared by the
 * test_smtp_client*.c files; included, not compiled alone): a script of
 * server bytes and transport actions goes in; what the client wrote
 * ("C: " lines) and the events it gave ("E: " lines) come out as one text,
 * in order. Every script also runs with the server bytes fed one octet at
 * a time (trickle, STYLE.md 14), which must not change a single byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp/smtp_client.h"

#define MSGS_MAX 4
#define RCPTS_MAX 8

struct fixture {
	struct smtp_client_settings set;
	bool tls_active;               /* implicit TLS at the start */
	struct smtp_client *c;
	struct buf log;
	struct buf partial;            /* client output not yet a whole line */
	struct buf raw;                /* every octet the client wrote */
	struct smtp_client_msg msgs[MSGS_MAX];
	struct smtp_client_rcpt rcpts[MSGS_MAX][RCPTS_MAX];
	const char *content[MSGS_MAX];
	size_t content_len[MSGS_MAX];
	size_t nmsgs, next, offset;
	size_t read_cap;               /* at most this per read (0: max) */
	bool hold;                     /* idle: neither send nor quit */
	bool async_body;               /* answer body reads only on "!body" */
	size_t body_want;              /* the read out (async) */
	bool trickle;
	bool closed;
	bool starttls_asked;
};

static const char *fate_name(enum smtp_client_fate f)
{
	return f == SMTP_FATE_SENT ? "sent" : f == SMTP_FATE_DEFER ? "defer" : "bounce";
}

static const char *scope_name(enum smtp_client_scope s)
{
	return s == SMTP_SCOPE_RCPT ? "rcpt" : s == SMTP_SCOPE_MESSAGE ? "msg" : "conn";
}

static void logf_(struct fixture *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void logf_(struct fixture *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	assert_int_equal(buf_vprintf(&f->log, fmt, ap), 0);
	va_end(ap);
}

static size_t msg_index(struct fixture *f, const struct smtp_client_msg *m)
{
	for (size_t i = 0; i < f->nmsgs; i++) {
		if (&f->msgs[i] == m)
			return i;
	}
	fail_msg("unknown message");
	return 0;
}

static void answer_body(struct fixture *f, const struct smtp_client_msg *m, size_t max)
{
	size_t i = msg_index(f, m);
	size_t left = f->content_len[i] - f->offset;
	size_t n = left < max ? left : max;
	if (f->read_cap > 0 && n > f->read_cap)
		n = f->read_cap;
	const char *p = f->content[i] + f->offset;
	f->offset += n;
	smtp_client_body_done(f->c, p, n, f->offset == f->content_len[i], false);
}

static void h_idle(void *ctx)
{
	struct fixture *f = ctx;
	if (f->hold)
		return;
	if (f->next < f->nmsgs) {
		f->offset = 0;
		assert_int_equal(smtp_client_send(f->c, &f->msgs[f->next++]), 0);
	} else {
		smtp_client_quit(f->c);
	}
}

static void h_starttls(void *ctx, bool verify)
{
	struct fixture *f = ctx;
	f->starttls_asked = true;
	logf_(f, "E: starttls verify=%d\n", verify);
}

static void h_body_read(void *ctx, const struct smtp_client_msg *m, size_t max)
{
	struct fixture *f = ctx;
	assert_true(max > 0);
	if (f->async_body) {
		f->body_want = max;
		return;
	}
	answer_body(f, m, max);
}

static void h_rcpt_done(void *ctx, const struct smtp_client_msg *m, size_t i,
			const struct smtp_client_status *st)
{
	logf_(ctx, "E: rcpt %s %s %s %u %s %s%s| %s\n", m->rcpts[i].address, fate_name(st->fate),
	      scope_name(st->scope), st->code, st->enhanced, st->command,
	      st->command[0] ? " " : "", st->text);
}

static void h_msg_done(void *ctx, const struct smtp_client_msg *m,
		       const struct smtp_client_status *st)
{
	logf_(ctx, "E: msg %zu %s %s %u %s\n", msg_index(ctx, m), fate_name(st->fate),
	      scope_name(st->scope), st->code, st->enhanced);
}

static void h_closed(void *ctx, const struct smtp_client_status *st)
{
	struct fixture *f = ctx;
	assert_false(f->closed);
	f->closed = true;
	logf_(f, "E: closed %s %u %s | %s\n", fate_name(st->fate), st->code, st->enhanced, st->text);
}

static const struct smtp_client_hooks hooks = {
	.idle = h_idle, .starttls = h_starttls, .body_read = h_body_read,
	.rcpt_done = h_rcpt_done, .msg_done = h_msg_done, .closed = h_closed,
};

/* A message: rcpts is "a@b.test,c@b.test". */
__attribute__((unused)) static struct smtp_client_msg *add_msg(struct fixture *f, const char *sender,
							    const char *rcpts, const char *content)
{
	size_t i = f->nmsgs++;
	struct smtp_client_msg *m = &f->msgs[i];
	static char names[MSGS_MAX][RCPTS_MAX][64];
	size_t n = 0;
	const char *p = rcpts;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		snprintf(names[i][n], sizeof names[i][n], "%.*s", (int)len, p);
		f->rcpts[i][n].address = names[i][n];
		f->rcpts[i][n].notify = 0;
		f->rcpts[i][n].orcpt = NULL;
		n++;
		p += len + (e ? 1 : 0);
	}
	memset(m, 0, sizeof *m);
	m->sender = sender;
	m->rcpts = f->rcpts[i];
	m->rcpt_count = n;
	f->content[i] = content;
	f->content_len[i] = strlen(content);
	m->size = f->content_len[i];
	return m;
}

/* Client output since the last call, as "C: " lines (CRLF must end each;
 * a bare CR or LF shows as "C! "). */
static void drain(struct fixture *f)
{
	struct buf *out = smtp_client_output(f->c);
	assert_int_equal(buf_append(&f->raw, out->data, out->len), 0);
	assert_int_equal(buf_append(&f->partial, out->data, out->len), 0);
	buf_reset(out);
	for (;;) {
		const char *p = f->partial.data ? f->partial.data : "";
		const char *lf = memchr(p, '\n', f->partial.len);
		const char *cr = memchr(p, '\r', f->partial.len);
		if (lf == NULL && (cr == NULL || cr == p + f->partial.len - 1))
			return;
		size_t len = lf ? (size_t)(lf - p) : (size_t)(cr - p);
		bool good = lf != NULL && len > 0 && p[len - 1] == '\r' &&
			    (cr == NULL || cr == lf - 1);
		if (good)
			logf_(f, "C: %.*s\n", (int)(len - 1), p);
		else
			logf_(f, "C! %.*s\n", (int)len, p);
		buf_consume(&f->partial, len + 1);
	}
}

static void feed(struct fixture *f, const char *p, size_t n)
{
	/* As a transport does: what is not taken (after a 220 to STARTTLS)
	 * is dropped. */
	if (!f->trickle) {
		smtp_client_input(f->c, p, n);
		f->starttls_asked = false;
		return;
	}
	bool tls_wait = false;
	for (size_t i = 0; i < n && !tls_wait; i++) {
		char octet = p[i];   /* a copy: ASan sees a read past it */
		smtp_client_input(f->c, &octet, 1);
		tls_wait = f->starttls_asked;
	}
	f->starttls_asked = false;
}

static void run_once(struct fixture *f, const char *const *script)
{
	f->c = smtp_client_new(&f->set, &hooks, f, "t1", f->tls_active);
	assert_non_null(f->c);
	buf_init(&f->log, 1 << 22);
	buf_init(&f->partial, 1 << 22);
	buf_init(&f->raw, 1 << 24);
	f->next = 0;
	f->closed = false;
	f->starttls_asked = false;
	for (const char *const *s = script; *s != NULL; s++) {
		if (strncmp(*s, "S:", 2) == 0)
			feed(f, *s + 2, strlen(*s + 2));
		else if (strcmp(*s, "!tls") == 0)
			smtp_client_tls_started(f->c);
		else if (strcmp(*s, "!lost") == 0)
			smtp_client_lost(f->c, "connection reset");
		else if (strcmp(*s, "!body") == 0)
			answer_body(f, &f->msgs[f->next - 1], f->body_want);
		else if (strcmp(*s, "!drain") == 0)
			smtp_client_resume(f->c);
		else
			fail_msg("bad script step %s", *s);
		drain(f);
	}
	if (f->partial.len > 0)
		logf_(f, "C~ %.*s\n", (int)f->partial.len, f->partial.data);
	smtp_client_free(&f->c);
	buf_free(&f->partial);
}

/* Runs script whole and trickled; both logs must be expected. */
__attribute__((unused)) static void transcript(struct fixture *f, const char *const *script,
					       const char *expected)
{
	for (int t = 0; t < 2; t++) {
		f->trickle = t == 1;
		run_once(f, script);
		if (strcmp(f->log.data, expected) != 0) {
			print_error("%s run, got:\n%s\nexpected:\n%s\n", t ? "trickle" : "whole",
				    f->log.data, expected);
			fail();
		}
		buf_free(&f->log);
		buf_free(&f->raw);
	}
}

__attribute__((unused)) static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof *f);
	f->set.helo_name = "mx.a.test";
	f->set.tls = SMTP_CLIENT_TLS_OFF;
}

#define GREET "S:220 mx.b.test ESMTP\r\n"
#define EHLO_FULL "S:250-mx.b.test\r\n250-PIPELINING\r\n250-SIZE 10000\r\n250-8BITMIME\r\n" \
	"250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250 SMTPUTF8\r\n"
#define EHLO_PLAIN "S:250-mx.b.test\r\n250 SIZE 10000\r\n"

/* Runs script whole and trickled; both must give the same log and the
 * same octets. f->raw and f->log are those of the run (free them). */
__attribute__((unused)) static void run_both(struct fixture *f, const char *const *script)
{
	f->trickle = false;
	run_once(f, script);
	struct buf log = f->log, raw = f->raw;
	f->trickle = true;
	run_once(f, script);
	assert_int_equal(log.len, f->log.len);
	assert_memory_equal(log.data, f->log.data, log.len);
	assert_int_equal(raw.len, f->raw.len);
	assert_memory_equal(raw.data, f->raw.data, raw.len);
	buf_free(&log);
	buf_free(&raw);
}
