/* One connection of a delivery attempt: conn_connect to the current
 * address, the SMTP client engine on it, the message's content read from
 * its queue file as the engine asks for it, and each recipient's fate
 * handed back to the attempt (remote.c). */
#include "delivery/remote_private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "smtp/smtp_parse.h"

#define BODY_CHUNK (64 * 1024)

/* ---- the message for the engine ---- */

static void free_msg(struct remote_attempt *a)
{
	for (size_t i = 0; a->orcpts != NULL && i < a->cmsg.rcpt_count; i++)
		free(a->orcpts[i]);
	free(a->orcpts);
	free(a->crcpts);
	free(a->cidx);
	free(a->envid);
	free(a->body_buf);
	a->orcpts = NULL;
	a->crcpts = NULL;
	a->cidx = NULL;
	a->envid = NULL;
	a->body_buf = NULL;
	memset(&a->cmsg, 0, sizeof a->cmsg);
}

/* "rfc822;" and the address as xtext (RFC 3461 4.2), from the envelope's
 * decoded "type;address". NULL when there is none or memory ran out. */
static char *orcpt_xtext(const char *orcpt)
{
	const char *semi = strchr(orcpt, ';');
	if (orcpt[0] == '\0' || semi == NULL)
		return NULL;
	struct buf b;
	buf_init(&b, 1024);
	if (buf_append(&b, orcpt, (size_t)(semi - orcpt) + 1) < 0 ||
	    smtp_xtext_encode(str_from(semi + 1), &b) < 0 || buf_append_char(&b, '\0') < 0) {
		buf_free(&b);
		return NULL;
	}
	size_t len;
	return buf_steal(&b, &len);
}

static char *xtext_of(const char *s)
{
	struct buf b;
	buf_init(&b, 512);
	if (s[0] == '\0' || smtp_xtext_encode(str_from(s), &b) < 0 ||
	    buf_append_char(&b, '\0') < 0) {
		buf_free(&b);
		return NULL;
	}
	size_t len;
	return buf_steal(&b, &len);
}

static unsigned notify_mask(unsigned q)
{
	return (q & QUEUE_NOTIFY_NEVER ? SMTP_NOTIFY_NEVER : 0) |
	       (q & QUEUE_NOTIFY_SUCCESS ? SMTP_NOTIFY_SUCCESS : 0) |
	       (q & QUEUE_NOTIFY_FAILURE ? SMTP_NOTIFY_FAILURE : 0) |
	       (q & QUEUE_NOTIFY_DELAY ? SMTP_NOTIFY_DELAY : 0);
}

/* The group's recipients without a fate, at most SMTP_CLIENT_RCPT_MAX. */
static int build_msg(struct remote_attempt *a)
{
	const struct queue_env *env = &a->msg.env;
	size_t n = env->rcpt_count;
	a->crcpts = calloc(n ? n : 1, sizeof *a->crcpts);
	a->cidx = calloc(n ? n : 1, sizeof *a->cidx);
	a->orcpts = calloc(n ? n : 1, sizeof *a->orcpts);
	a->body_buf = malloc(BODY_CHUNK);
	if (a->crcpts == NULL || a->cidx == NULL || a->orcpts == NULL || a->body_buf == NULL)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < n && k < SMTP_CLIENT_RCPT_MAX; i++) {
		if (a->group_of[i] != a->group_i || a->res[i].decided)
			continue;
		const struct queue_rcpt *r = &env->rcpts[i];
		a->orcpts[k] = orcpt_xtext(r->orcpt);
		a->crcpts[k] = (struct smtp_client_rcpt){ .address = r->addr,
							  .notify = notify_mask(r->notify),
							  .orcpt = a->orcpts[k] };
		a->cidx[k++] = i;
	}
	a->envid = xtext_of(env->envid);
	a->cmsg = (struct smtp_client_msg){
		.sender = env->sender, .rcpts = a->crcpts, .rcpt_count = k,
		.size = env->size > env->offset ? env->size - env->offset : 0,
		.eight_bit = env->body == QUEUE_BODY_8BITMIME, .smtputf8 = env->smtputf8,
		.ret = env->ret == QUEUE_RET_FULL ? SMTP_RET_FULL :
		       env->ret == QUEUE_RET_HDRS ? SMTP_RET_HDRS : SMTP_RET_NONE,
		.envid = a->envid,
	};
	a->body_pos = env->offset;
	return k > 0 ? 0 : -1;
}

/* ---- engine hooks ---- */

static void hook_idle(void *ctx)
{
	struct remote_attempt *a = ctx;
	if (!a->sent && !remote_stopping && smtp_client_send(a->client, &a->cmsg) == 0) {
		a->sent = true;
		return;
	}
	smtp_client_quit(a->client);
}

static void hook_starttls(void *ctx, bool verify)
{
	struct remote_attempt *a = ctx;
	(void)verify;   /* set on the connection from [delivery] tls */
	a->want_tls = true;
}

static void hook_body_read(void *ctx, const struct smtp_client_msg *msg, size_t max)
{
	struct remote_attempt *a = ctx;
	(void)msg;
	uint64_t end = a->msg.env.size;
	size_t want = max < BODY_CHUNK ? max : BODY_CHUNK;
	if (end - a->body_pos < want)
		want = (size_t)(end - a->body_pos);
	ssize_t n = want > 0 ? pread(a->msg.msg_fd, a->body_buf, want, (off_t)a->body_pos) : 0;
	if (n < 0 || (n == 0 && want > 0)) {
		log_err("delivery %s: cannot read the message: %s", a->id,
			n < 0 ? strerror(errno) : "shorter than its envelope says");
		smtp_client_body_done(a->client, NULL, 0, true, true);
		return;
	}
	a->body_pos += (uint64_t)n;
	smtp_client_body_done(a->client, a->body_buf, (size_t)n, a->body_pos >= end, false);
}

/* Replies as the queue keeps them: the peer's verbatim, or ours with
 * its code and enhanced code in front. */
static void result(struct remote_attempt *a, size_t i, const struct smtp_client_status *st,
		   bool decided)
{
	char text[1100];
	if (st->local)
		snprintf(text, sizeof text, "%u %s %s", st->code, st->enhanced, st->text);
	else
		snprintf(text, sizeof text, "%s", st->text);
	remote_set_result(a, i, st->fate == SMTP_FATE_SENT ? (int)st->code :
			  st->fate == SMTP_FATE_BOUNCE ? (st->code >= 500 ? (int)st->code : 550) :
			  (st->code >= 400 && st->code < 500 ? (int)st->code : 450), text, decided);
}

static void hook_rcpt_done(void *ctx, const struct smtp_client_msg *msg, size_t i,
			   const struct smtp_client_status *st)
{
	struct remote_attempt *a = ctx;
	(void)msg;
	/* A 4xx to the whole transaction or a lost connection: the next
	 * address may do better; a recipient's own 4xx waits for the retry. */
	bool next_mx = st->fate == SMTP_FATE_DEFER && st->scope != SMTP_SCOPE_RCPT;
	result(a, a->cidx[i], st, !next_mx);
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
	struct remote_attempt *a = ctx;
	a->client_closed = true;
	if (st->fate != SMTP_FATE_SENT)
		snprintf(a->last_error, sizeof a->last_error, "%s", st->text);
}

static const struct smtp_client_hooks hooks = {
	.idle = hook_idle, .starttls = hook_starttls, .body_read = hook_body_read,
	.rcpt_done = hook_rcpt_done, .msg_done = hook_msg_done, .closed = hook_closed,
};

/* ---- the connection ---- */

/* After every call into the engine: its output to the peer, then what
 * its hooks asked for. */
static void engine_after(struct remote_attempt *a)
{
	struct buf *out = smtp_client_output(a->client);
	if (out->len > 0) {
		conn_write(a->conn, out->data, out->len);
		buf_reset(out);
	}
	if (a->want_tls) {
		a->want_tls = false;
		if (conn_starttls(a->conn) < 0) {
			smtp_client_lost(a->client, "451 4.7.5 cannot start TLS");
			engine_after(a);
			return;
		}
	}
	if (a->client_closed) {
		conn_close_after_flush(a->conn);
		return;
	}
	conn_set_deadline(a->conn, smtp_client_timeout(a->client) * 1000, 0);
}

static const struct smtp_client_settings *settings_for(struct remote_attempt *a,
						       struct smtp_client_settings *set)
{
	memset(set, 0, sizeof *set);
	set->helo_name = a->cfg->hostname;
	set->tls = a->cfg->delivery_tls == DELIVERY_TLS_OFF ? SMTP_CLIENT_TLS_OFF :
		   a->cfg->delivery_tls == DELIVERY_TLS_REQUIRED ? SMTP_CLIENT_TLS_REQUIRED :
		   SMTP_CLIENT_TLS_OPPORTUNISTIC;
	return set;
}

static void *out_open(struct conn *c, void *arg)
{
	struct remote_attempt *a = arg;
	struct smtp_client_settings set;
	a->conn = c;
	a->client = smtp_client_new(settings_for(a, &set), &hooks, a, a->id, false);
	if (a->client == NULL) {
		snprintf(a->last_error, sizeof a->last_error, "451 4.3.0 out of memory");
		a->conn = NULL;
		return NULL;
	}
	conn_set_deadline(c, smtp_client_timeout(a->client) * 1000, 0);
	return a;
}

static size_t out_input(void *session, const char *data, size_t len)
{
	struct remote_attempt *a = session;
	smtp_client_input(a->client, data, len);
	engine_after(a);
	return len;
}

static void out_timeout(void *session)
{
	struct remote_attempt *a = session;
	char why[400];
	snprintf(why, sizeof why, "conversation with %s[%s] timed out", a->host, a->addr);
	smtp_client_lost(a->client, why);
	/* The connection closes after this: nothing more to send. */
	buf_reset(smtp_client_output(a->client));
}

static void out_tls_ready(void *session)
{
	struct remote_attempt *a = session;
	smtp_client_tls_started(a->client);
	engine_after(a);
}

static void out_shutdown(void *session)
{
	struct remote_attempt *a = session;
	smtp_client_lost(a->client, "421 4.3.2 postbox is stopping");
	engine_after(a);
}

static void out_drained(void *session)
{
	struct remote_attempt *a = session;
	if (a->client_closed)
		return;
	smtp_client_resume(a->client);
	engine_after(a);
}

static void out_close(void *session)
{
	struct remote_attempt *a = session;
	if (!a->client_closed) {
		char why[600];
		const char *e = conn_error(a->conn);
		snprintf(why, sizeof why, "lost connection with %s[%s]%s%s", a->host, a->addr,
			 e[0] ? ": " : "", e);
		smtp_client_lost(a->client, why);
	}
	smtp_client_free(&a->client);
	a->conn = NULL;
	free_msg(a);
	remote_next_address(a);
}

static void out_connect_failed(void *arg, const char *reason)
{
	struct remote_attempt *a = arg;
	snprintf(a->last_error, sizeof a->last_error, "451 4.4.1 connect to %s[%s]:%u: %s",
		 a->host, a->addr, a->port, reason);
	a->conn = NULL;
	free_msg(a);
	remote_next_address(a);
}

static const struct conn_proto out_proto = {
	.name = "smtp-out", .open = out_open, .input = out_input, .timeout = out_timeout,
	.tls_ready = out_tls_ready, .shutdown = out_shutdown, .drained = out_drained,
	.close = out_close, .connect_failed = out_connect_failed,
};

/* ---- starting ---- */

static unsigned short port_of(const struct remote_attempt *a)
{
	const struct remote_group *g = &a->groups[a->group_i];
	unsigned short p = g->kind == HOP_ROUTE ? a->cfg->routes[g->route].port :
			   g->kind == HOP_RELAY ? a->cfg->relays[a->hop_i].port : 0;
	return p != 0 ? p : a->cfg->smtp_port;
}

static socklen_t sockaddr_of(const struct dns_addr *d, unsigned short port,
			     struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (d->family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, d->bytes, 16);
		return sizeof *s6;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	memcpy(&s4->sin_addr, d->bytes, 4);
	return sizeof *s4;
}

/* [delivery] bind, when it is of the target's family. */
static socklen_t bind_of(const struct remote_attempt *a, int family,
			 struct sockaddr_storage *ss)
{
	const char *b = a->cfg->delivery_bind;
	memset(ss, 0, sizeof *ss);
	if (b[0] == '\0')
		return 0;
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		return inet_pton(AF_INET6, b, &s6->sin6_addr) == 1 ? sizeof *s6 : 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	return inet_pton(AF_INET, b, &s4->sin_addr) == 1 ? sizeof *s4 : 0;
}

int remote_session_start(struct remote_attempt *a)
{
	const struct dns_target *t = &a->route.targets[a->target_i];
	const struct dns_addr *d = &t->addrs[a->addr_i];
	snprintf(a->host, sizeof a->host, "%s", t->host);
	dns_addr_str(d, a->addr, sizeof a->addr);
	a->port = port_of(a);
	a->sent = a->client_closed = a->want_tls = false;
	if (build_msg(a) < 0) {
		free_msg(a);
		snprintf(a->last_error, sizeof a->last_error, "451 4.3.0 out of memory");
		return -1;
	}
	struct sockaddr_storage to, from;
	socklen_t from_len = bind_of(a, d->family, &from);
	struct conn_target target = {
		.addr = (struct sockaddr *)&to, .addr_len = sockaddr_of(d, a->port, &to),
		.bind = from_len ? (struct sockaddr *)&from : NULL, .bind_len = from_len,
		.tls_name = a->host, .tls_verify = a->cfg->delivery_tls == DELIVERY_TLS_REQUIRED,
		.timeout_ms = a->rc->connect_ms ? a->rc->connect_ms : 30000,
	};
	a->svc = (struct conn_service){ .proto = &out_proto, .client = true,
					.tls_ctx = a->rc->tls_ctx, .tls_timeout = 30 };
	const char *error = NULL;
	if (conn_connect(a->rc->base, &a->svc, &target, a, &error) < 0) {
		snprintf(a->last_error, sizeof a->last_error, "451 4.4.1 connect to %s[%s]:%u: %s",
			 a->host, a->addr, a->port, error);
		free_msg(a);
		return -1;
	}
	return 0;
}
