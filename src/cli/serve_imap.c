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
/* How often IDLE looks for changes: within the one second promised, with
 * room for the poll itself. */
#define IDLE_POLL_MS 400
/* Two FETCH slices (imap_cmd_fetch.c): the next slice is made while the
 * last one is being sent, unless the client is that far behind. */
#define OUTPUT_HIGH_WATER (2 * 1024 * 1024)
/* Output storage an idle session may keep; a big reply's is given back. */
#define OUTPUT_KEEP (64 * 1024)

struct imap_glue {
	struct serve_glue base;      /* first */
	struct imap_session *session;
	struct event *timer;         /* IDLE polls and login-failure delays */
	bool polling;
	bool wait_drain;             /* the next slice waits for the client to read */
};

static void glue_free(struct serve_glue *base)
{
	struct imap_glue *g = (struct imap_glue *)base;
	imap_session_free(&g->session);
	serve_glue_fini(&g->base);
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
	enum imap_next next = imap_session_next(g->session);
	/* Not serve_glue_send: a FETCH slice (1 MiB) is handed over, not
	 * copied. */
	conn_write_buf(g->base.conn, out);
	if (next != IMAP_NEXT_RUN)
		buf_shrink(out, OUTPUT_KEEP);
	switch (next) {
	case IMAP_NEXT_RUN:
		/* A big FETCH goes out in slices; the next one is made only while
		 * no more than about two wait to be sent, so a slow reader costs
		 * memory for a few slices, not for the whole answer. */
		if (conn_output_pending(g->base.conn) > OUTPUT_HIGH_WATER) {
			g->wait_drain = true;
			conn_pause(g->base.conn);
		} else {
			start_task(g, false);
		}
		break;
	case IMAP_NEXT_STARTTLS:
		if (conn_starttls(g->base.conn) < 0)
			conn_close_after_flush(g->base.conn);
		break;
	case IMAP_NEXT_CLOSE:
		conn_close_after_flush(g->base.conn);
		break;
	case IMAP_NEXT_IDLE:
		arm_timer(g, IDLE_POLL_MS);
		conn_resume(g->base.conn);
		break;
	default:
		conn_resume(g->base.conn);
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
	if (!serve_glue_back(&g->base))
		return;
	if (g->base.shutting_down) {
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
	g->polling = poll;
	serve_glue_submit(&g->base, run_task, task_done);
}

static void timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct imap_glue *g = arg;
	(void)fd;
	(void)what;
	if (g->base.busy)
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
	serve_glue_init(&g->base, srv, c, glue_free);
	const struct config *cfg = &g->base.cfg->cfg;
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
		glue_free(&g->base);
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
	if (g->base.busy)
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
	serve_glue_send(&g->base, imap_session_output(g->session));
}

static void imap_drained(void *session)
{
	struct imap_glue *g = session;
	if (g->wait_drain && !g->base.busy) {
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
	if (serve_glue_shutdown_later(&g->base))
		return;
	evtimer_del(g->timer);
	imap_session_goodbye(g->session, "Server shutting down");
	proceed(g);
}

static void imap_close(void *session)
{
	struct imap_glue *g = session;
	serve_glue_close(&g->base);
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
