/* What the SMTP, POP3 and IMAP glue files share: the life of a session
 * whose work (commits, store access, password checks) runs elsewhere. */
#include <stdlib.h>

#include "server/serve.h"

#include <limits.h>
#include <time.h>

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void serve_glue_init(struct serve_glue *g, struct server *srv, struct conn *c,
		     void (*destroy)(struct serve_glue *g))
{
	g->srv = srv;
	g->conn = c;
	g->cfg = config_ref_hold(srv->cfg_ref);
	g->destroy = destroy;
	g->idle_seconds = g->cfg->cfg.timeout_command;
	g->login_due_ms = now_ms() + (uint64_t)g->cfg->cfg.timeout_login * 1000;
}

static unsigned ms_of(unsigned secs)
{
	return secs > UINT_MAX / 1000 ? UINT_MAX : secs * 1000;
}

void serve_glue_wait(struct serve_glue *g, enum serve_wait w)
{
	unsigned long long out = conn_output_total(g->conn);
	/* Nothing answered since: the same command is still coming. */
	if (g->wait_set && g->wait == w && g->wait_out == out && conn_has_deadline(g->conn))
		return;
	g->wait_set = true;
	g->wait = (uint8_t)w;
	g->wait_out = out;
	const struct config *cfg = &g->cfg->cfg;
	switch (w) {
	case SERVE_WAIT_LOGIN: {
		uint64_t now = now_ms();
		uint64_t left = g->login_due_ms > now ? g->login_due_ms - now : 1;
		conn_set_deadline(g->conn, (unsigned)left, 0);
		break;
	}
	case SERVE_WAIT_COMMAND:
		conn_set_deadline(g->conn, ms_of(cfg->timeout_command), cfg->min_data_rate);
		break;
	case SERVE_WAIT_DATA:
		conn_set_deadline(g->conn, ms_of(cfg->timeout_data), cfg->min_data_rate);
		break;
	case SERVE_WAIT_IDLE:
		conn_set_deadline(g->conn, ms_of(g->idle_seconds), cfg->min_data_rate);
		break;
	}
}

void serve_glue_fini(struct serve_glue *g)
{
	config_ref_release(&g->cfg);
}

/* Output storage a session keeps between replies: what a burst of replies
 * (a pipelined flood) needed is given back. */
#define SEND_KEEP 4096

void serve_glue_send(struct serve_glue *g, struct buf *out)
{
	conn_write_buf(g->conn, out);
	buf_shrink(out, SEND_KEEP);
}

void serve_glue_close(struct serve_glue *g)
{
	if (g->busy) {
		g->orphaned = true;
		return;
	}
	g->destroy(g);
}

bool serve_glue_shutdown_later(struct serve_glue *g)
{
	if (g->busy)
		g->shutting_down = true;
	return g->busy;
}

void serve_glue_submit(struct serve_glue *g, void (*run)(struct worker_job *),
		       void (*done)(struct worker_job *))
{
	g->job.run = run;
	g->job.done = done;
	(void)serve_glue_submit_job(g, g->srv->tasks, &g->job);
}

int serve_glue_submit_job(struct serve_glue *g, struct worker_pool *pool,
			  struct worker_job *job)
{
	/* A session holds at most one worker at a time: its input stops
	 * while work is out, and only the work's return starts more. */
	if (g->busy)
		abort();
	if (worker_try_submit(pool, job) < 0)
		return -1;
	g->busy = true;
	conn_pause(g->conn);
	return 0;
}

bool serve_glue_back(struct serve_glue *g)
{
	g->busy = false;
	if (g->orphaned) {
		g->destroy(g);
		return false;
	}
	return true;
}
