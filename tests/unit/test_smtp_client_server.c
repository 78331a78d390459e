/* The SMTP client engine against postbox's own SMTP server engine, in
 * memory: each one's output is the other's input. The server is strict
 * (RFC 5321 2.3.8: no bare CR or LF; line lengths; DSN and SMTPUTF8
 * parameters checked), so what it stores is what the client really said. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/config.h"
#include "smtp/smtp_client.h"
#include "smtp/smtp_server.h"

struct pair {
	struct config cfg;
	struct smtp_server *s;
	struct smtp_client *c;
	struct buf spool;            /* the message being spooled */
	struct buf stored[4];        /* committed messages */
	size_t commits;
	struct buf events;
	const struct smtp_client_msg *msgs;
	size_t nmsgs, next, offset;
	bool closed;
};

static void rcpt_check(void *ctx, const struct smtp_mailbox *mb)
{
	struct pair *p = ctx;
	enum smtp_rcpt_verdict v = strcmp(mb->local, "user") == 0 ? SMTP_RCPT_OK
				   : strcmp(mb->local, "fail") == 0 ? SMTP_RCPT_TEMPFAIL
				   : SMTP_RCPT_UNKNOWN;
	smtp_server_rcpt_done(p->s, v, NULL);
}

static void rcpt_free(void *ctx, void *d) { (void)ctx; (void)d; }

static int spool_open(void *ctx, struct smtp_tx *tx)
{
	struct pair *p = ctx;
	(void)tx;
	buf_reset(&p->spool);
	return 0;
}

static int spool_write(void *ctx, const char *d, size_t n)
{
	return buf_append(&((struct pair *)ctx)->spool, d, n);
}

static void spool_close(void *ctx) { (void)ctx; }

static void commit(void *ctx, struct smtp_tx *tx)
{
	struct pair *p = ctx;
	assert_true(p->commits < 4);
	/* What reached the spool, then what is still staged (tx->data). */
	buf_init(&p->stored[p->commits], 1 << 20);
	buf_append(&p->stored[p->commits], p->spool.data, p->spool.len);
	buf_append(&p->stored[p->commits++], tx->data.data, tx->data.len);
	smtp_server_commit_done(p->s, NULL);
}

static const struct smtp_server_hooks server_hooks = {
	.rcpt_check = rcpt_check, .rcpt_free = rcpt_free, .spool_open = spool_open,
	.spool_write = spool_write, .spool_close = spool_close, .commit = commit,
};

static void c_idle(void *ctx)
{
	struct pair *p = ctx;
	if (p->next < p->nmsgs) {
		p->offset = 0;
		assert_int_equal(smtp_client_send(p->c, &p->msgs[p->next++]), 0);
	} else {
		smtp_client_quit(p->c);
	}
}

static void c_starttls(void *ctx, bool verify) { (void)ctx; (void)verify; fail(); }

static void c_body_read(void *ctx, const struct smtp_client_msg *m, size_t max)
{
	struct pair *p = ctx;
	const char *content = m->data;
	size_t left = strlen(content) - p->offset;
	size_t n = left < max ? left : max;
	n = n > 7 ? 7 : n;   /* small reads: state across them */
	p->offset += n;
	smtp_client_body_done(p->c, content + p->offset - n, n, n == left, false);
}

static void c_rcpt_done(void *ctx, const struct smtp_client_msg *m, size_t i,
			const struct smtp_client_status *st)
{
	struct pair *p = ctx;
	buf_printf(&p->events, "%s %u %s\n", m->rcpts[i].address, st->code, st->enhanced);
}

static void c_msg_done(void *ctx, const struct smtp_client_msg *m,
		       const struct smtp_client_status *st)
{
	(void)ctx, (void)m, (void)st;
}

static void c_closed(void *ctx, const struct smtp_client_status *st)
{
	struct pair *p = ctx;
	p->closed = true;
	buf_printf(&p->events, "closed %u\n", st->code);
}

static const struct smtp_client_hooks client_hooks = {
	.idle = c_idle, .starttls = c_starttls, .body_read = c_body_read,
	.rcpt_done = c_rcpt_done, .msg_done = c_msg_done, .closed = c_closed,
};

static void converse(struct pair *p, const struct smtp_client_settings *cset,
		     const struct smtp_client_msg *msgs, size_t n)
{
	memset(p, 0, sizeof *p);
	config_defaults(&p->cfg);
	snprintf(p->cfg.domains[0], sizeof p->cfg.domains[0], "b.test");
	p->cfg.domain_count = 1;
	struct smtp_server_settings set = {
		.role = SMTP_ROLE_MX, .hostname = "mx.b.test", .message_size = 10000,
		.max_recipients = 10, .max_header = 2000, .max_hops = 50, .max_errors = 20,
		.tls_available = true, .cfg = &p->cfg,
	};
	p->s = smtp_server_new(&set, &server_hooks, p, "srv", "127.0.0.1", false, NULL);
	p->c = smtp_client_new(cset, &client_hooks, p, "cli", false);
	assert_non_null(p->s);
	assert_non_null(p->c);
	buf_init(&p->spool, 1 << 20);
	buf_init(&p->events, 1 << 16);
	p->msgs = msgs;
	p->nmsgs = n;
	smtp_server_greet(p->s);
	for (int rounds = 0; !p->closed; rounds++) {
		assert_true(rounds < 10000);
		struct buf *so = smtp_server_output(p->s), *co = smtp_client_output(p->c);
		if (so->len > 0) {
			assert_int_equal(smtp_client_input(p->c, so->data, so->len), so->len);
			buf_reset(so);
		}
		if (co->len > 0) {
			assert_int_equal(smtp_server_input(p->s, co->data, co->len), co->len);
			buf_reset(co);
		}
		smtp_client_resume(p->c);
	}
	smtp_client_free(&p->c);
	smtp_server_free(&p->s);
	buf_free(&p->spool);
}

static void pair_free(struct pair *p)
{
	for (size_t i = 0; i < p->commits; i++)
		buf_free(&p->stored[i]);
	buf_free(&p->events);
}

/* The content the server stored (its Received: field is not in the
 * spool here) is exactly want. */
static void stored_is(struct pair *p, size_t i, const char *want)
{
	assert_true(i < p->commits);
	if (p->stored[i].len != strlen(want) || memcmp(p->stored[i].data, want, strlen(want)) != 0)
		fail_msg("stored:\n%s", p->stored[i].data);
}

static const char tricky[] = "Subject: t\n\n.\nline\r.\r\n..x\r\r\nlast";
/* What the server must have stored: LF line ends, dots as they were. */
static const char tricky_stored[] = "Subject: t\n\n.\nline\n.\n..x\n\nlast\n";

/* Both ways of sending content (DATA with PIPELINING, BDAT with
 * CHUNKING), recipients with each fate, two messages on one connection,
 * DSN and SMTPUTF8 parameters the server must accept. */
static void test_against_our_server(void **state)
{
	static struct smtp_client_rcpt r1[] = {
		{ "user@b.test", SMTP_NOTIFY_FAILURE, "rfc822;user@b.test" },
		{ "nobody@b.test", 0, NULL },
		{ "fail@b.test", 0, NULL },
	};
	static struct smtp_client_rcpt r2[] = { { "user@b.test", 0, NULL } };
	struct smtp_client_msg msgs[2] = {
		{ .sender = "a@c.test", .rcpts = r1, .rcpt_count = 3, .size = sizeof tricky - 1,
		  .ret = SMTP_RET_HDRS, .envid = "id+2B1", .data = (void *)tricky },
		{ .sender = "\xc3\xa9@c.test", .rcpts = r2, .rcpt_count = 1, .size = 5, .eight_bit = true,
		  .data = (void *)"caf\xc3\xa9\n" },
	};
	for (int chunking = 0; chunking < 2; chunking++) {
		struct smtp_client_settings cset = { .helo_name = "mx.c.test",
						     .no_chunking = !chunking, .chunk_size = 1024 };
		struct pair p;
		converse(&p, &cset, msgs, 2);
		assert_string_equal(p.events.data,
				    "nobody@b.test 550 5.1.1\n"
				    "fail@b.test 451 4.3.0\n"
				    "user@b.test 250 2.0.0\n"
				    "user@b.test 250 2.0.0\n"
				    "closed 221\n");
		assert_int_equal(p.commits, 2);
		stored_is(&p, 0, tricky_stored);
		stored_is(&p, 1, "caf\xc3\xa9\n");
		pair_free(&p);
	}
	(void)state;
}

/* Over the server's SIZE: 5.3.4 from the client, nothing sent. */
static void test_size_against_our_server(void **state)
{
	static struct smtp_client_rcpt r[] = { { "user@b.test", 0, NULL } };
	struct smtp_client_msg m = { .sender = "a@c.test", .rcpts = r, .rcpt_count = 1,
				     .size = 20000, .data = (void *)"x\n" };
	struct smtp_client_settings cset = { .helo_name = "mx.c.test" };
	struct pair p;
	converse(&p, &cset, &m, 1);
	assert_string_equal(p.events.data, "user@b.test 552 5.3.4\nclosed 221\n");
	assert_int_equal(p.commits, 0);
	pair_free(&p);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_against_our_server),
		cmocka_unit_test(test_size_against_our_server),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
