/* Glue for IMAP and IMAPS: a net/ connection and an imap/ session whose
 * commands run as tasks on worker threads (they use the mail store and
 * password hashing, which block). */
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "cli/serve.h"
#include "imap/imap_message.h"
#include "imap/imap_session.h"
#include "lib/log.h"

/* RFC 9051 5.4: an autologout timer of at least 30 minutes. */
#define IMAP_IDLE_SECONDS (30 * 60 + 60)
/* How often IDLE looks for changes: well within the one second promised. */
#define IDLE_POLL_MS 400
#define OUTPUT_HIGH_WATER (512 * 1024)

struct imap_glue {
	struct worker_job job;       /* first: the pool's view */
	struct server *srv;
	struct config_ref *cfg;
	struct conn *conn;
	struct imap_session *session;
	struct event *timer;         /* IDLE polls and login-failure delays */
	bool in_task, orphaned, shutting_down, polling;
	bool wait_drain;             /* the next slice waits for the client to read */
};

static void glue_free(struct imap_glue *g)
{
	imap_session_free(&g->session);
	config_ref_release(&g->cfg);
	if (g->timer)
		event_free(g->timer);
	free(g);
}

static void start_task(struct imap_glue *g, bool poll);

static void arm_timer(struct imap_glue *g, unsigned ms)
{
	struct timeval tv = { ms / 1000, (long)(ms % 1000) * 1000 };
	evtimer_add(g->timer, &tv);
}

/* Sends the output, then does what the session wants next. */
static void proceed(struct imap_glue *g)
{
	struct buf *out = imap_session_output(g->session);
	conn_write(g->conn, out->data, out->len);
	buf_reset(out);
	switch (imap_session_next(g->session)) {
	case IMAP_NEXT_RUN:
		/* A big FETCH goes out in slices; the next one is made only when
		 * the client has taken most of the last, so a slow reader costs
		 * memory for one slice, not for the whole answer. */
		if (conn_output_pending(g->conn) > OUTPUT_HIGH_WATER) {
			g->wait_drain = true;
			conn_pause(g->conn);
		} else {
			start_task(g, false);
		}
		break;
	case IMAP_NEXT_STARTTLS:
		if (conn_starttls(g->conn) < 0)
			conn_close_after_flush(g->conn);
		break;
	case IMAP_NEXT_CLOSE:
		conn_close_after_flush(g->conn);
		break;
	case IMAP_NEXT_IDLE:
		arm_timer(g, IDLE_POLL_MS);
		conn_resume(g->conn);
		break;
	default:
		conn_resume(g->conn);
		break;
	}
}

static void run_task(struct worker_job *job)
{
	struct imap_glue *g = (struct imap_glue *)job;
	if (g->polling)
		imap_session_idle_poll(g->session);
	else
		imap_session_run(g->session);
}

static void task_done(struct worker_job *job)
{
	struct imap_glue *g = (struct imap_glue *)job;
	g->in_task = false;
	if (g->orphaned) {
		glue_free(g);
		return;
	}
	if (g->shutting_down) {
		imap_session_goodbye(g->session, "Server shutting down");
		proceed(g);
		return;
	}
	unsigned delay = imap_session_take_delay(g->session);
	if (delay > 0) {
		arm_timer(g, delay);   /* a failed login: answer later */
		return;
	}
	proceed(g);
}

static void start_task(struct imap_glue *g, bool poll)
{
	g->in_task = true;
	g->polling = poll;
	g->job.run = run_task;
	g->job.done = task_done;
	conn_pause(g->conn);
	worker_submit(g->srv->tasks, &g->job);
}

static void timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct imap_glue *g = arg;
	(void)fd;
	(void)what;
	if (g->in_task)
		return;
	if (imap_session_next(g->session) == IMAP_NEXT_IDLE &&
	    buf_str(imap_session_output(g->session)).len == 0) {
		start_task(g, true);
		return;
	}
	proceed(g);  /* the end of a failed login's delay */
}

static void *imap_open(struct conn *c, void *service_ctx)
{
	struct server *srv = service_ctx;
	struct imap_glue *g = calloc(1, sizeof *g);
	if (g == NULL)
		return NULL;
	g->srv = srv;
	g->conn = c;
	g->cfg = config_ref_hold(srv->cfg_ref);
	const struct config *cfg = &g->cfg->cfg;
	struct imap_session_settings set = {
		.hostname = cfg->hostname,
		.cfg = cfg,
		.tls_available = srv->tls_ctx != NULL,
		.plaintext_auth = cfg->plaintext_auth_loopback && conn_peer_is_loopback(c),
		.max_append = cfg->message_size,
		.max_errors = 20,
		.verify = serve_auth_verify,
	};
	g->timer = evtimer_new(srv->base, timer_fired, g);
	g->session = g->timer ? imap_session_new(&set, conn_id(c), conn_is_tls(c)) : NULL;
	if (g->session == NULL) {
		glue_free(g);
		return NULL;
	}
	conn_set_timeout(c, IMAP_IDLE_SECONDS);
	imap_session_greet(g->session);
	proceed(g);
	return g;
}

static size_t imap_input(void *session, const char *data, size_t len)
{
	struct imap_glue *g = session;
	if (g->in_task)
		return 0;
	size_t used = imap_session_input(g->session, data, len);
	if (imap_session_next(g->session) != IMAP_NEXT_IDLE)
		evtimer_del(g->timer);
	proceed(g);
	return used;
}

static void imap_timeout(void *session)
{
	struct imap_glue *g = session;
	imap_session_goodbye(g->session, "Autologout; idle for too long");
	struct buf *out = imap_session_output(g->session);
	conn_write(g->conn, out->data, out->len);
	buf_reset(out);
}

static void imap_drained(void *session)
{
	struct imap_glue *g = session;
	if (g->wait_drain && !g->in_task) {
		g->wait_drain = false;
		start_task(g, false);
	}
}

static void imap_tls_ready(void *session)
{
	struct imap_glue *g = session;
	imap_session_tls_started(g->session);
	proceed(g);
}

static void imap_shutdown(void *session)
{
	struct imap_glue *g = session;
	if (g->in_task) {
		g->shutting_down = true;
		return;
	}
	evtimer_del(g->timer);
	imap_session_goodbye(g->session, "Server shutting down");
	proceed(g);
}

static void imap_close(void *session)
{
	struct imap_glue *g = session;
	if (g->in_task) {
		g->orphaned = true;
		return;
	}
	glue_free(g);
}

static const struct conn_proto imap_proto = {
	.name = "imap",
	.open = imap_open,
	.input = imap_input,
	.timeout = imap_timeout,
	.tls_ready = imap_tls_ready,
	.shutdown = imap_shutdown,
	.drained = imap_drained,
	.close = imap_close,
};

void serve_imap_init(struct server *srv)
{
	struct conn_service svc = {
		.proto = &imap_proto,
		.ctx = srv,
		.tls_ctx = &srv->tls_ctx,
		.idle_timeout = IMAP_IDLE_SECONDS,
		.busy_reply = "* BYE Too many connections\r\n",
	};
	srv->services[LISTEN_IMAP] = svc;
	svc.implicit_tls = true;
	srv->services[LISTEN_IMAPS] = svc;
	mail_store_set_parser(&imap_msg_parser);
}
