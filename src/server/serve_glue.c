/* What the SMTP, POP3 and IMAP glue files share: the life of a session
 * whose work (commits, store access, password checks) runs elsewhere. */
#include <stdlib.h>

#include "server/serve.h"

void serve_glue_init(struct serve_glue *g, struct server *srv, struct conn *c,
		     void (*destroy)(struct serve_glue *g))
{
	g->srv = srv;
	g->conn = c;
	g->cfg = config_ref_hold(srv->cfg_ref);
	g->destroy = destroy;
}

void serve_glue_fini(struct serve_glue *g)
{
	config_ref_release(&g->cfg);
}

void serve_glue_send(struct serve_glue *g, struct buf *out)
{
	conn_write(g->conn, out->data, out->len);
	buf_reset(out);
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
