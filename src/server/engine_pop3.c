/* The POP3 engine (RFC 1939) for the driver, on POP3 and POP3S: a pop3/
 * session and its hooks: the password check, and the maildrop, whose
 * blocking calls run as tasks on worker threads. */
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

/* RETR/TOP read the message in parts of this size; the next part is read
 * only while less than RETR_HIGH_WATER waits to be sent, so a session
 * holds a few hundred KiB however big the message and however slow the
 * client. */
#define RETR_PART (128 * 1024)
#define RETR_HIGH_WATER (256 * 1024)

enum task_kind { TASK_OPEN, TASK_RETRIEVE, TASK_UPDATE };

struct pop3_conn {
	struct serve_conn base;      /* first */
	struct pop3_server *session;
	struct mail_store *store;    /* used by one task at a time */
	struct mail_pop3 *drop;
	struct serve_auth check;     /* USER/PASS, AUTH */

	/* the task's input and output */
	enum task_kind kind;
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
	bool retrieving;             /* RETR: the next part is due */
};

static void retr_end(struct pop3_conn *g)
{
	if (g->msg_fd >= 0)
		close(g->msg_fd);
	g->msg_fd = -1;
	free(g->data);
	g->data = NULL;
	g->retrieving = false;
}

static void drop_close(struct pop3_conn *g)
{
	mail_pop3_close(&g->drop);
	mail_store_free(&g->store);
}


static void pop3_stop(struct serve_conn *sc)
{
	struct pop3_conn *g = (struct pop3_conn *)sc;
	/* Without QUIT nothing is deleted (RFC 1939 6); the lock goes. */
	drop_close(g);
	pop3_server_free(&g->session);
	serve_auth_fini(&g->check);
	free(g->msgs);
	retr_end(g);
	free(g->indexes);
}

/* ---- on a worker thread ---- */

static enum pop3_auth_result open_maildrop(struct pop3_conn *g)
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
static int read_part(struct pop3_conn *g, const char **error_r)
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
	struct pop3_conn *g = (struct pop3_conn *)job;
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

/* A part came back: hands it to the session; the next one is due unless
 * this was the last, or the session is ending. */
static void retr_back(struct pop3_conn *g)
{
	bool last = !g->ok || g->last;
	pop3_server_retrieve_part(g->session, g->ok ? g->data : NULL, g->len, last);
	if (last || g->base.shutting_down || pop3_server_want_close(g->session))
		retr_end(g);
	else
		g->retrieving = true;
}

static void task_done(struct serve_conn *sc)
{
	struct pop3_conn *g = (struct pop3_conn *)sc;
	switch (g->kind) {
	case TASK_OPEN:
		if (g->auth == POP3_AUTH_OK)
			log_info("pop3 %s: login ok for %s from [%s]", conn_id(sc->conn),
				 g->check.user, conn_peer(sc->conn));
		pop3_server_auth_done(g->session, g->auth, g->msgs, g->count);
		free(g->msgs);
		g->msgs = NULL;
		break;
	case TASK_RETRIEVE:
		retr_back(g);
		break;
	case TASK_UPDATE:
		pop3_server_update_done(g->session, g->ok);
		break;
	}
}

static void start_task(struct pop3_conn *g, enum task_kind kind)
{
	g->kind = kind;
	serve_conn_submit(&g->base, run_task, task_done);
}

/* The next part of a retrieval (SERVE_NEXT_WORK). */
static void pop3_work(struct serve_conn *sc)
{
	struct pop3_conn *g = (struct pop3_conn *)sc;
	g->retrieving = false;
	start_task(g, TASK_RETRIEVE);
}

/* The password check's answer, after its delay: a match opens the
 * maildrop on a worker. */
static void check_answer(struct serve_conn *sc, int result, bool close)
{
	struct pop3_conn *g = (struct pop3_conn *)sc;
	if (result == 1 && !sc->shutting_down) {
		start_task(g, TASK_OPEN);
		return;
	}
	pop3_server_auth_done(g->session, result == 0 ? (close ? POP3_AUTH_FAILED_CLOSE
							  : POP3_AUTH_FAILED)
						: POP3_AUTH_TEMPFAIL, NULL, 0);
}

static void hook_auth(void *ctx, const char *user, const char *password)
{
	struct pop3_conn *g = ctx;
	serve_auth_check(&g->check, user, password);
}

static void hook_retrieve(void *ctx, size_t index)
{
	struct pop3_conn *g = ctx;
	g->index = index;
	retr_end(g);
	start_task(g, TASK_RETRIEVE);
}

static void hook_update(void *ctx, const size_t *indexes, size_t n)
{
	struct pop3_conn *g = ctx;
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

static int pop3_start(struct serve_conn *sc)
{
	struct pop3_conn *g = (struct pop3_conn *)sc;
	struct conn *c = sc->conn;
	g->msg_fd = -1;
	const struct config *cfg = &sc->cfg->cfg;
	struct pop3_server_settings set = {
		.hostname = cfg->hostname,
		.tls_available = sc->srv->tls_ctx != NULL,
		.plaintext_auth = cfg->plaintext_auth_loopback && conn_peer_is_loopback(c),
		.max_errors = 20,
	};
	serve_auth_init(&g->check, sc, "pop3", check_answer);
	g->session = pop3_server_new(&set, &hooks, g, conn_id(c), conn_is_tls(c));
	return g->session != NULL ? 0 : -1;
}

static void pop3_greet(struct serve_conn *sc)
{
	pop3_server_greet(((struct pop3_conn *)sc)->session);
}

static size_t pop3_feed(struct serve_conn *sc, const char *data, size_t len)
{
	return pop3_server_input(((struct pop3_conn *)sc)->session, data, len);
}

static struct buf *pop3_output(struct serve_conn *sc)
{
	return pop3_server_output(((struct pop3_conn *)sc)->session);
}

static enum serve_next pop3_next(struct serve_conn *sc, bool begun, enum serve_wait *wait_r)
{
	struct pop3_conn *g = (struct pop3_conn *)sc;
	enum pop3_state st = pop3_server_state(g->session);
	(void)begun;
	if (g->retrieving)
		return SERVE_NEXT_WORK;
	if (pop3_server_want_starttls(g->session))
		return SERVE_NEXT_STARTTLS;
	if (pop3_server_want_close(g->session) && !pop3_server_waiting(g->session))
		return SERVE_NEXT_CLOSE;
	if (st == POP3_STATE_WAIT)
		return SERVE_NEXT_HOLD;   /* a password check's answer */
	*wait_r = st == POP3_STATE_TRANSACTION ? SERVE_WAIT_IDLE : SERVE_WAIT_LOGIN;
	return SERVE_NEXT_READ;
}

static void pop3_goodbye(struct serve_conn *sc, enum serve_bye why)
{
	struct pop3_conn *g = (struct pop3_conn *)sc;
	serve_auth_fini(&g->check);
	g->retrieving = false;
	pop3_server_goodbye(g->session, why == SERVE_BYE_TIMEOUT ? "Autologout; idle for too long"
								 : "Server shutting down");
}

static void pop3_tls_started(struct serve_conn *sc)
{
	pop3_server_tls_started(((struct pop3_conn *)sc)->session);
}

const struct serve_engine serve_pop3_engine = {
	.name = "pop3",
	.busy_reply = "-ERR [SYS/TEMP] Too many connections\r\n",
	.size = sizeof(struct pop3_conn),
	/* RFC 1939 3: an autologout timer of at least 10 minutes. */
	.idle_seconds = 600,
	.output_keep = SERVE_OUTPUT_KEEP,
	.high_water = RETR_HIGH_WATER,
	.start = pop3_start,
	.greet = pop3_greet,
	.stop = pop3_stop,
	.feed = pop3_feed,
	.output = pop3_output,
	.next = pop3_next,
	.work = pop3_work,
	.goodbye = pop3_goodbye,
	.tls_started = pop3_tls_started,
};
