/* The one driver: net/'s struct conn_proto for every service. It owns
 * the connection's life around an engine's session (serve.h): the
 * greeting, the replies and what follows them, the deadlines, the output
 * high water, the hand-off to workers, the goodbye, and the connection
 * that closes while its work is still out. */
#include <stdlib.h>

#include "server/serve.h"

#include <limits.h>
#include <time.h>

struct config_ref *config_ref_new(void)
{
	struct config_ref *r = calloc(1, sizeof *r);
	if (r != NULL)
		r->refs = 1;
	return r;
}

struct config_ref *config_ref_hold(struct config_ref *r)
{
	r->refs++;
	return r;
}

void config_ref_release(struct config_ref **r)
{
	if (*r != NULL && --(*r)->refs == 0)
		free(*r);
	*r = NULL;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static unsigned ms_of(unsigned secs)
{
	return secs > UINT_MAX / 1000 ? UINT_MAX : secs * 1000;
}

void serve_conn_wait(struct serve_conn *sc, enum serve_wait w)
{
	unsigned long long out = conn_output_total(sc->conn);
	/* Nothing answered since: the same command is still coming. */
	if (sc->wait_set && sc->wait == w && sc->wait_out == out && conn_has_deadline(sc->conn))
		return;
	sc->wait_set = true;
	sc->wait = (uint8_t)w;
	sc->wait_out = out;
	const struct config *cfg = &sc->cfg->cfg;
	unsigned idle = sc->service->engine->idle_seconds;
	switch (w) {
	case SERVE_WAIT_LOGIN: {
		uint64_t now = now_ms();
		uint64_t left = sc->login_due_ms > now ? sc->login_due_ms - now : 1;
		conn_set_deadline(sc->conn, (unsigned)left, 0);
		break;
	}
	case SERVE_WAIT_COMMAND:
		conn_set_deadline(sc->conn, ms_of(cfg->timeout_command), cfg->min_data_rate);
		break;
	case SERVE_WAIT_DATA:
		conn_set_deadline(sc->conn, ms_of(cfg->timeout_data), cfg->min_data_rate);
		break;
	case SERVE_WAIT_IDLE:
		conn_set_deadline(sc->conn, ms_of(idle ? idle : cfg->timeout_command),
				  cfg->min_data_rate);
		break;
	}
}

static void free_conn(struct serve_conn *sc)
{
	sc->service->engine->stop(sc);
	config_ref_release(&sc->cfg);
	free(sc);
}

static void proceed(struct serve_conn *sc, bool begun);

/* Work that must run before reading on: now, or once the peer has taken
 * enough of the output (a slow reader holds a few slices, not the whole
 * answer). */
static void work_next(struct serve_conn *sc, bool begun)
{
	const struct serve_engine *e = sc->service->engine;
	if (conn_output_pending(sc->conn) > e->high_water) {
		sc->wait_drain = true;
		conn_pause(sc->conn);
		return;
	}
	e->work(sc);
	if (!sc->busy)   /* answered at once (a full password queue) */
		proceed(sc, begun);
}

/* Sends the session's replies, then does what it wants next; begun: the
 * peer's next command has begun to arrive. */
static void proceed(struct serve_conn *sc, bool begun)
{
	const struct serve_engine *e = sc->service->engine;
	struct buf *out = e->output(sc);
	/* Handed over, not copied: a FETCH slice or a RETR part is big. */
	conn_write_buf(sc->conn, out);
	if (sc->busy) {
		/* Replies to what came before the work (pipelined) went out;
		 * the rest follows when it comes back. */
		buf_shrink(out, e->output_keep);
		return;
	}
	enum serve_wait wait = SERVE_WAIT_COMMAND;
	enum serve_next next = e->next(sc, begun, &wait);
	/* The storage a burst of replies needed is given back, but not
	 * between the slices of one answer. */
	if (next != SERVE_NEXT_WORK)
		buf_shrink(out, e->output_keep);
	switch (next) {
	case SERVE_NEXT_READ:
		serve_conn_wait(sc, wait);
		conn_resume(sc->conn);
		break;
	case SERVE_NEXT_HOLD:
		break;
	case SERVE_NEXT_WORK:
		work_next(sc, begun);
		break;
	case SERVE_NEXT_STARTTLS:
		if (conn_starttls(sc->conn) < 0)
			conn_close_after_flush(sc->conn);
		break;
	case SERVE_NEXT_CLOSE:
		conn_close_after_flush(sc->conn);
		break;
	}
}

/* No more work after it: the session ends. */
static void goodbye(struct serve_conn *sc, enum serve_bye why)
{
	sc->wait_drain = false;
	sc->service->engine->goodbye(sc, why);
}

void serve_conn_answered(struct serve_conn *sc)
{
	if (sc->shutting_down)
		goodbye(sc, SERVE_BYE_SHUTDOWN);
	proceed(sc, false);
}

/* ---- struct conn_proto ---- */

static void *drv_open(struct conn *c, void *service_ctx)
{
	struct serve_binding *b = service_ctx;
	const struct serve_engine *e = b->service->engine;
	struct serve_conn *sc = calloc(1, e->size);
	if (sc == NULL)
		return NULL;
	sc->srv = b->srv;
	sc->service = b->service;
	sc->conn = c;
	sc->cfg = config_ref_hold(b->srv->cfg_ref);
	sc->login_due_ms = now_ms() + (uint64_t)sc->cfg->cfg.timeout_login * 1000;
	if (e->start(sc) < 0) {
		free_conn(sc);
		return NULL;
	}
	e->greet(sc);
	proceed(sc, false);
	return sc;
}

static size_t drv_input(void *session, const char *data, size_t len)
{
	struct serve_conn *sc = session;
	if (sc->busy)
		return 0;
	size_t used = sc->service->engine->feed(sc, data, len);
	proceed(sc, used > 0);
	return used;
}

static void drv_timeout(void *session)
{
	struct serve_conn *sc = session;
	const struct serve_engine *e = sc->service->engine;
	goodbye(sc, SERVE_BYE_TIMEOUT);
	/* net/ closes once it is sent. */
	struct buf *out = e->output(sc);
	conn_write_buf(sc->conn, out);
	buf_shrink(out, e->output_keep);
}

static void drv_tls_ready(void *session)
{
	struct serve_conn *sc = session;
	sc->service->engine->tls_started(sc);
	proceed(sc, false);
}

static void drv_shutdown(void *session)
{
	struct serve_conn *sc = session;
	if (sc->busy) {
		sc->shutting_down = true;   /* goodbye when the work is back */
		return;
	}
	goodbye(sc, SERVE_BYE_SHUTDOWN);
	proceed(sc, false);
}

static void drv_drained(void *session)
{
	struct serve_conn *sc = session;
	if (sc->wait_drain && !sc->busy) {
		sc->wait_drain = false;
		work_next(sc, false);
	}
}

static void drv_close(void *session)
{
	struct serve_conn *sc = session;
	if (sc->busy) {
		sc->orphaned = true;   /* freed when the work comes back */
		return;
	}
	free_conn(sc);
}

void serve_driver_bind(struct server *srv, const struct serve_service *service)
{
	const struct serve_engine *e = service->engine;
	struct serve_binding *b = &srv->bindings[service->id];
	b->srv = srv;
	b->service = service;
	b->proto = (struct conn_proto){
		.name = e->name,
		.open = drv_open,
		.input = drv_input,
		.timeout = drv_timeout,
		.tls_ready = drv_tls_ready,
		.shutdown = drv_shutdown,
		.drained = e->work != NULL ? drv_drained : NULL,
		.close = drv_close,
	};
	srv->services[service->id] = (struct conn_service){
		.proto = &b->proto,
		.ctx = b,
		.implicit_tls = service->implicit_tls,
		.tls_ctx = &srv->tls_ctx,
		.tls_timeout = srv->cfg->timeout_tls,
		.busy_reply = e->busy_reply,
	};
}

/* ---- work on other threads ---- */

void serve_conn_hold(struct serve_conn *sc)
{
	/* A session holds at most one worker at a time: its input stops
	 * while work is out, and only the work's return starts more. */
	if (sc->busy)
		abort();
	sc->busy = true;
	conn_pause(sc->conn);
}

int serve_conn_submit_job(struct serve_conn *sc, struct worker_pool *pool,
			  struct worker_job *job)
{
	if (sc->busy)
		abort();
	if (worker_try_submit(pool, job) < 0)
		return -1;
	serve_conn_hold(sc);
	return 0;
}

static void task_back(struct worker_job *job)
{
	struct serve_conn *sc = (struct serve_conn *)job;
	if (!serve_conn_back(sc))
		return;
	if (sc->work_done != NULL)
		sc->work_done(sc);
	if (!sc->busy)
		serve_conn_answered(sc);
}

void serve_conn_submit(struct serve_conn *sc, void (*run)(struct worker_job *),
		       void (*done)(struct serve_conn *sc))
{
	sc->job.run = run;
	sc->job.done = task_back;
	sc->work_done = done;
	(void)serve_conn_submit_job(sc, sc->srv->tasks, &sc->job);
}

bool serve_conn_back(struct serve_conn *sc)
{
	sc->busy = false;
	if (sc->orphaned) {
		free_conn(sc);
		return false;
	}
	return true;
}
