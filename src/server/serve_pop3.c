/* Glue for POP3 and POP3S: a net/ connection, a pop3/ session, and the
 * mail store, whose blocking calls run as tasks on worker threads. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>

#include "server/serve.h"
#include "server/serve_auth.h"
#include "lib/log.h"
#include "pop3/pop3_server.h"
#include "store/store.h"

/* RFC 1939 3: an autologout timer of at least 10 minutes. */
#define POP3_IDLE_SECONDS 600
/* RETR/TOP read the message in parts of this size; the next part is read
 * only while less than RETR_HIGH_WATER waits to be sent, so a session
 * holds a few hundred KiB however big the message and however slow the
 * client. */
#define RETR_PART (128 * 1024)
#define RETR_HIGH_WATER (256 * 1024)

enum task_kind { TASK_OPEN, TASK_RETRIEVE, TASK_UPDATE };

struct pop3_glue {
	struct serve_glue base;      /* first */
	struct pop3_server *session;
	struct mail_store *store;    /* used by one task at a time */
	struct mail_pop3 *drop;
	struct serve_auth check;     /* USER/PASS, AUTH */

	/* the task's input and output */
	enum task_kind kind;
	char *password;
	size_t index;
	size_t *indexes;
	size_t nindexes;
	enum pop3_auth_result auth;
	struct pop3_msg *msgs;
	size_t count;
	char *data;                  /* RETR: the part read, RETR_PART octets */
	size_t len;
	bool ok;
	int msg_fd;                  /* RETR: the message's file, -1 when none */
	uint64_t msg_size, msg_off;
	bool last;                   /* RETR: data holds the last part */
	bool wait_drain;             /* RETR: the next part waits for the client */
};

static void retr_end(struct pop3_glue *g)
{
	if (g->msg_fd >= 0)
		close(g->msg_fd);
	g->msg_fd = -1;
	free(g->data);
	g->data = NULL;
	g->wait_drain = false;
}

static void drop_close(struct pop3_glue *g)
{
	mail_pop3_close(&g->drop);
	mail_store_free(&g->store);
}

static void forget_password(struct pop3_glue *g)
{
	if (g->password != NULL) {
		explicit_bzero(g->password, strlen(g->password));
		free(g->password);
		g->password = NULL;
	}
}

static void glue_free(struct serve_glue *base)
{
	struct pop3_glue *g = (struct pop3_glue *)base;
	drop_close(g);
	pop3_server_free(&g->session);
	serve_glue_fini(&g->base);
	serve_auth_fini(&g->check);
	forget_password(g);
	free(g->msgs);
	retr_end(g);
	free(g->indexes);
	free(g);
}

static void flush(struct pop3_glue *g)
{
	serve_glue_send(&g->base, pop3_server_output(g->session));
	if (pop3_server_want_starttls(g->session)) {
		if (conn_starttls(g->base.conn) < 0)
			conn_close_after_flush(g->base.conn);
	} else if (pop3_server_want_close(g->session) && !pop3_server_waiting(g->session)) {
		conn_close_after_flush(g->base.conn);
	} else if (pop3_server_state(g->session) == POP3_STATE_TRANSACTION) {
		serve_glue_wait(&g->base, SERVE_WAIT_IDLE);
	} else if (pop3_server_state(g->session) != POP3_STATE_WAIT) {
		serve_glue_wait(&g->base, SERVE_WAIT_LOGIN);
	}
}

/* ---- on a worker thread ---- */

static enum pop3_auth_result open_maildrop(struct pop3_glue *g)
{
	const char *err = NULL;
	const char *at = strrchr(g->check.user, '@');
	if (at == NULL || !config_is_local_domain(&g->base.cfg->cfg, at + 1, strlen(at + 1)))
		return POP3_AUTH_FAILED;
	char local[65];
	size_t n = (size_t)(at - g->check.user);
	if (n == 0 || n >= sizeof local)
		return POP3_AUTH_FAILED;
	memcpy(local, g->check.user, n);
	local[n] = '\0';
	bool in_use = false;
	if (mail_store_maildir_open(g->base.cfg->cfg.data_dir, at + 1, local, &g->store, &err) < 0 ||
	    mail_pop3_open(g->store, &g->drop, &in_use, &err) < 0) {
		if (!in_use)
			log_err("pop3: maildrop of %s: %s", g->check.user, err ? err : "?");
		mail_store_free(&g->store);
		return in_use ? POP3_AUTH_IN_USE : POP3_AUTH_TEMPFAIL;
	}
	g->msgs = calloc(g->drop->count ? g->drop->count : 1, sizeof *g->msgs);
	if (g->msgs == NULL) {
		drop_close(g);
		return POP3_AUTH_TEMPFAIL;
	}
	for (size_t i = 0; i < g->drop->count; i++) {
		g->msgs[i].size = g->drop->msgs[i].vsize;
		snprintf(g->msgs[i].uidl, sizeof g->msgs[i].uidl, "%s", g->drop->msgs[i].uidl);
	}
	g->count = g->drop->count;
	return POP3_AUTH_OK;
}

/* The next part of the message being retrieved. */
static int read_part(struct pop3_glue *g, const char **error_r)
{
	if (g->msg_fd < 0) {
		g->msg_off = 0;
		if (mail_pop3_open_msg(g->drop, g->index, &g->msg_fd, &g->msg_size, error_r) < 0)
			return -1;
	}
	if (g->data == NULL && (g->data = malloc(RETR_PART)) == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	size_t want = g->msg_size - g->msg_off < RETR_PART ? (size_t)(g->msg_size - g->msg_off)
							 : RETR_PART;
	g->len = 0;
	while (g->len < want) {
		ssize_t n = pread(g->msg_fd, g->data + g->len, want - g->len,
				  (off_t)(g->msg_off + g->len));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			*error_r = "cannot read message";
			return -1;
		}
		if (n == 0)
			break;   /* shorter than it was: what there is */
		g->len += (size_t)n;
	}
	g->msg_off += g->len;
	g->last = g->len < want || g->msg_off >= g->msg_size;
	return 0;
}

static void run_task(struct worker_job *job)
{
	struct pop3_glue *g = (struct pop3_glue *)job;
	const char *err = NULL;
	switch (g->kind) {
	case TASK_OPEN:
		g->auth = open_maildrop(g);
		break;
	case TASK_RETRIEVE:
		g->ok = read_part(g, &err) == 0;
		if (!g->ok)
			log_err("pop3: read of message %zu: %s", g->index + 1, err ? err : "?");
		break;
	case TASK_UPDATE:
		g->ok = mail_pop3_commit(g->drop, g->indexes, g->nindexes, &err) == 0;
		if (!g->ok)
			log_err("pop3: deleting for %s: %s", g->check.user, err ? err : "?");
		drop_close(g);
		break;
	}
}

/* ---- back on the loop ---- */

static void answer_auth(struct pop3_glue *g)
{
	pop3_server_auth_done(g->session, g->auth, g->msgs, g->count);
	free(g->msgs);
	g->msgs = NULL;
	flush(g);
	conn_resume(g->base.conn);
}

static bool retr_next(struct pop3_glue *g);

static void task_done(struct worker_job *job)
{
	struct pop3_glue *g = (struct pop3_glue *)job;
	if (!serve_glue_back(&g->base))
		return;
	switch (g->kind) {
	case TASK_OPEN:
		if (g->auth == POP3_AUTH_OK)
			log_info("pop3 %s: login ok for %s from [%s]", conn_id(g->base.conn),
				 g->check.user, conn_peer(g->base.conn));
		answer_auth(g);
		return;
	case TASK_RETRIEVE:
		if (retr_next(g))
			return;
		break;
	case TASK_UPDATE:
		pop3_server_update_done(g->session, g->ok);
		break;
	}
	if (g->base.shutting_down)
		pop3_server_goodbye(g->session, "Server shutting down");
	flush(g);
	conn_resume(g->base.conn);
}

static void start_task(struct pop3_glue *g, enum task_kind kind)
{
	g->kind = kind;
	serve_glue_submit(&g->base, run_task, task_done);
}

/* A part came back: hands it to the session and sends it. True when the
 * retrieval goes on (the next part is read now, or once the client has
 * drained enough); input stays paused until the last part. */
static bool retr_next(struct pop3_glue *g)
{
	bool last = !g->ok || g->last;
	pop3_server_retrieve_part(g->session, g->ok ? g->data : NULL, g->len, last);
	if (last || g->base.shutting_down || pop3_server_want_close(g->session)) {
		retr_end(g);
		return false;
	}
	flush(g);
	if (conn_output_pending(g->base.conn) > RETR_HIGH_WATER)
		g->wait_drain = true;
	else
		start_task(g, TASK_RETRIEVE);
	return true;
}

static void pop3_drained(void *session)
{
	struct pop3_glue *g = session;
	if (g->wait_drain && !g->base.busy) {
		g->wait_drain = false;
		start_task(g, TASK_RETRIEVE);
	}
}

/* The password check's answer, after its delay: a match opens the
 * maildrop on a worker. */
static void check_answer(struct serve_glue *base, int result, bool close)
{
	struct pop3_glue *g = (struct pop3_glue *)base;
	forget_password(g);
	if (result == 1 && !g->base.shutting_down) {
		start_task(g, TASK_OPEN);
		return;
	}
	pop3_server_auth_done(g->session, result == 0 ? (close ? POP3_AUTH_FAILED_CLOSE
							  : POP3_AUTH_FAILED)
						: POP3_AUTH_TEMPFAIL, NULL, 0);
	if (g->base.shutting_down)
		pop3_server_goodbye(g->session, "Server shutting down");
	flush(g);
	conn_resume(g->base.conn);
}

static void hook_auth(void *ctx, const char *user, const char *password)
{
	struct pop3_glue *g = ctx;
	forget_password(g);
	g->password = strdup(password);
	if (g->password == NULL) {
		pop3_server_auth_done(g->session, POP3_AUTH_TEMPFAIL, NULL, 0);
		return;
	}
	serve_auth_check(&g->check, user, g->password);
}

static void hook_retrieve(void *ctx, size_t index)
{
	struct pop3_glue *g = ctx;
	g->index = index;
	retr_end(g);
	start_task(g, TASK_RETRIEVE);
}

static void hook_update(void *ctx, const size_t *indexes, size_t n)
{
	struct pop3_glue *g = ctx;
	free(g->indexes);
	g->indexes = malloc((n ? n : 1) * sizeof *indexes);
	if (g->indexes == NULL) {
		pop3_server_update_done(g->session, false);
		return;
	}
	memcpy(g->indexes, indexes, n * sizeof *indexes);
	g->nindexes = n;
	start_task(g, TASK_UPDATE);
}

static const struct pop3_server_hooks hooks = { hook_auth, hook_retrieve, hook_update };

static void *pop3_open(struct conn *c, void *service_ctx)
{
	struct server *srv = service_ctx;
	struct pop3_glue *g = calloc(1, sizeof *g);
	if (g == NULL)
		return NULL;
	g->msg_fd = -1;
	serve_glue_init(&g->base, srv, c, glue_free);
	const struct config *cfg = &g->base.cfg->cfg;
	struct pop3_server_settings set = {
		.hostname = cfg->hostname,
		.tls_available = srv->tls_ctx != NULL,
		.plaintext_auth = cfg->plaintext_auth_loopback && conn_peer_is_loopback(c),
		.max_errors = 20,
	};
	serve_auth_init(&g->check, &g->base, "pop3", check_answer);
	g->session = pop3_server_new(&set, &hooks, g, conn_id(c), conn_is_tls(c));
	if (g->session == NULL) {
		glue_free(&g->base);
		return NULL;
	}
	g->base.idle_seconds = POP3_IDLE_SECONDS;
	pop3_server_greet(g->session);
	flush(g);
	return g;
}

static size_t pop3_input(void *session, const char *data, size_t len)
{
	struct pop3_glue *g = session;
	size_t used = pop3_server_input(g->session, data, len);
	flush(g);
	return used;
}

static void pop3_timeout(void *session)
{
	struct pop3_glue *g = session;
	serve_auth_fini(&g->check);
	pop3_server_goodbye(g->session, "Autologout; idle for too long");
	serve_glue_send(&g->base, pop3_server_output(g->session));
}

static void pop3_tls_ready(void *session)
{
	struct pop3_glue *g = session;
	pop3_server_tls_started(g->session);
	flush(g);
}

static void pop3_shutdown(void *session)
{
	struct pop3_glue *g = session;
	if (serve_glue_shutdown_later(&g->base))
		return;
	serve_auth_fini(&g->check);
	pop3_server_goodbye(g->session, "Server shutting down");
	flush(g);
}

static void pop3_close(void *session)
{
	struct pop3_glue *g = session;
	/* Without QUIT nothing is deleted (RFC 1939 6); the lock goes. */
	serve_glue_close(&g->base);
}

static const struct conn_proto pop3_proto = {
	.name = "pop3",
	.open = pop3_open,
	.input = pop3_input,
	.timeout = pop3_timeout,
	.tls_ready = pop3_tls_ready,
	.shutdown = pop3_shutdown,
	.drained = pop3_drained,
	.close = pop3_close,
};

void serve_pop3_init(struct server *srv)
{
	struct conn_service svc = {
		.proto = &pop3_proto,
		.ctx = srv,
		.tls_ctx = &srv->tls_ctx,
		.tls_timeout = srv->cfg->timeout_tls,
		.busy_reply = "-ERR [SYS/TEMP] Too many connections\r\n",
	};
	srv->services[LISTEN_POP3] = svc;
	svc.implicit_tls = true;
	srv->services[LISTEN_POP3S] = svc;
}
