/* A blocking loop around the SMTP client engine (smtp_run.h). */
#include "client/smtp_run.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUN_READ 4096
#define RUN_BODY (64 * 1024)

struct run {
	struct smtp_client *c;
	const struct smtp_run_io *io;
	const struct smtp_client_msg *msg;
	const struct smtp_run_source *src;
	struct smtp_run_result *res;
	bool sent, want_tls, tls_verify, closed;
	char body[RUN_BODY];
};

static void hook_idle(void *ctx)
{
	struct run *r = ctx;
	if (!r->sent && smtp_client_send(r->c, r->msg) == 0) {
		r->sent = true;
		return;
	}
	smtp_client_quit(r->c);
}

static void hook_starttls(void *ctx, bool verify)
{
	struct run *r = ctx;
	r->want_tls = true;
	r->tls_verify = verify;
}

static void hook_body_read(void *ctx, const struct smtp_client_msg *msg, size_t max)
{
	struct run *r = ctx;
	(void)msg;
	size_t n = 0;
	bool eof = false;
	if (r->src->read(r->src->ctx, r->body, max < RUN_BODY ? max : RUN_BODY, &n, &eof) < 0) {
		smtp_client_body_done(r->c, NULL, 0, true, true);
		return;
	}
	smtp_client_body_done(r->c, r->body, n, eof, false);
}

static void hook_rcpt_done(void *ctx, const struct smtp_client_msg *msg, size_t i,
			   const struct smtp_client_status *st)
{
	struct run *r = ctx;
	(void)msg;
	struct smtp_run_rcpt *out = &r->res->rcpts[i];
	out->done = true;
	out->fate = st->fate;
	out->code = st->code;
	if (st->local)
		snprintf(out->text, sizeof out->text, "%u %s %s", st->code, st->enhanced, st->text);
	else
		snprintf(out->text, sizeof out->text, "%s", st->text);
}

static void hook_msg_done(void *ctx, const struct smtp_client_msg *msg,
			  const struct smtp_client_status *st)
{
	(void)ctx;
	(void)msg;
	(void)st;
}

static void hook_closed(void *ctx, const struct smtp_client_status *st)
{
	struct run *r = ctx;
	r->closed = true;
	r->res->closed_ok = st->fate == SMTP_FATE_SENT;
	if (!r->res->closed_ok)
		snprintf(r->res->error, sizeof r->res->error, "%s", st->text);
}

static const struct smtp_client_hooks hooks = {
	.idle = hook_idle, .starttls = hook_starttls, .body_read = hook_body_read,
	.rcpt_done = hook_rcpt_done, .msg_done = hook_msg_done, .closed = hook_closed,
};

/* Sends what the engine wrote; false when the connection failed. */
static bool flush(struct run *r)
{
	struct buf *out = smtp_client_output(r->c);
	while (out->len > 0) {
		if (r->io->write(r->io->ctx, out->data, out->len) < 0) {
			buf_reset(out);
			return false;
		}
		buf_reset(out);
		if (r->closed)
			break;
		smtp_client_resume(r->c);   /* all of it went: more content */
	}
	return true;
}

static void step(struct run *r, char *in)
{
	if (!flush(r)) {
		smtp_client_lost(r->c, "connection lost while sending");
		return;
	}
	if (r->want_tls) {
		r->want_tls = false;
		const char *error = "TLS is not available";
		if (r->io->starttls == NULL ||
		    r->io->starttls(r->io->ctx, r->tls_verify, &error) < 0)
			smtp_client_lost(r->c, error);
		else
			smtp_client_tls_started(r->c);
		return;
	}
	if (r->closed)
		return;
	long n = r->io->read(r->io->ctx, in, RUN_READ);
	if (n <= 0) {
		smtp_client_lost(r->c, n == 0 ? "the server closed the connection" :
			       "no answer from the server");
		return;
	}
	smtp_client_input(r->c, in, (size_t)n);
}

int smtp_run(const struct smtp_client_settings *set, const struct smtp_run_io *io,
	     const struct smtp_client_msg *msg, const struct smtp_run_source *src,
	     struct smtp_run_result *res)
{
	res->closed_ok = false;
	res->error[0] = '\0';
	for (size_t i = 0; i < msg->rcpt_count; i++)
		res->rcpts[i].done = false;
	struct run *r = calloc(1, sizeof *r);
	if (r != NULL)
		r->c = smtp_client_new(set, &hooks, r, "client", false);
	if (r == NULL || r->c == NULL) {
		free(r);
		snprintf(res->error, sizeof res->error, "out of memory");
		return -1;
	}
	r->io = io;
	r->msg = msg;
	r->src = src;
	r->res = res;
	char in[RUN_READ];
	while (!r->closed)
		step(r, in);
	(void)flush(r);   /* the QUIT */
	smtp_client_free(&r->c);
	free(r);
	return 0;
}
