/* Glue for the SMTP MX service: a net/ connection, an smtp/ session, the
 * user directory for recipients (looked up on a task thread), the spool
 * the message streams into, and delivery/local for the commit. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/userdb.h"
#include "server/serve.h"
#include "delivery/local.h"
#include "delivery/resolve.h"
#include "lib/log.h"
#include "queue/spool.h"
#include "smtp/smtp_server.h"

struct smtp_glue {
	struct serve_glue base;      /* first; busy = a lookup or commit in flight */
	struct smtp_server *session;
	struct spool_file spool;     /* the message being received */
	struct local_job job;
	struct timespec commit_start;
	/* a recipient lookup on a task thread */
	struct smtp_mailbox lookup;
	enum smtp_rcpt_verdict verdict;
	struct rcpt_targets *found;
};

/* What a recipient lookup keeps per recipient: the mailboxes it delivers to. */
struct rcpt_targets {
	size_t count;
	struct local_target t[];
};

static void glue_free(struct serve_glue *base)
{
	struct smtp_glue *g = (struct smtp_glue *)base;
	smtp_server_free(&g->session);   /* closes the spool through the hooks */
	spool_remove(&g->spool);
	serve_glue_fini(&g->base);
	free(g->job.targets);
	free(g->found);
	free(g);
}

static void flush(struct smtp_glue *g)
{
	serve_glue_send(&g->base, smtp_server_output(g->session));
	if (smtp_server_want_starttls(g->session)) {
		if (conn_starttls(g->base.conn) < 0)
			conn_close_after_flush(g->base.conn);
	} else if (smtp_server_want_close(g->session)) {
		conn_close_after_flush(g->base.conn);
	} else {
		enum smtp_state st = smtp_server_state(g->session);
		serve_glue_wait(&g->base, st == SMTP_STATE_DATA || st == SMTP_STATE_BDAT ?
						  SERVE_WAIT_DATA : SERVE_WAIT_COMMAND);
	}
}

/* Work came back: answers the session, says goodbye when the server is
 * stopping, sends the replies and reads on. */
static void work_back(struct smtp_glue *g)
{
	if (g->base.shutting_down)
		smtp_server_goodbye(g->session, "421 4.3.2 Service shutting down");
	if (smtp_server_want_close(g->session)) {
		flush(g);  /* closes: g may be gone */
		return;
	}
	flush(g);
	conn_resume(g->base.conn);
}

/* ---- the recipient lookup (SQLite): on a task thread ---- */

static enum smtp_rcpt_verdict lookup(struct smtp_glue *g, const char *cid)
{
	const char *err = NULL;
	const struct config *cfg = &g->base.cfg->cfg;
	struct userdb *db = serve_thread_userdb(cfg->data_dir);
	struct resolve_result *res = malloc(sizeof *res);
	if (res == NULL || db == NULL) {
		free(res);
		return SMTP_RCPT_TEMPFAIL;
	}
	int r = resolve_local(db, cfg, g->lookup.local, g->lookup.domain, res, &err);
	if (r <= 0) {
		if (r < 0)
			log_err("smtp %s: recipient lookup failed: %s", cid, err ? err : "?");
		free(res);
		return r == 0 ? SMTP_RCPT_UNKNOWN : SMTP_RCPT_TEMPFAIL;
	}
	struct rcpt_targets *rt = malloc(sizeof *rt + res->count * sizeof rt->t[0]);
	if (rt == NULL) {
		free(res);
		return SMTP_RCPT_TEMPFAIL;
	}
	rt->count = 0;
	for (size_t i = 0; i < res->count; i++) {
		if (res->rcpt[i].remote) {
			/* Remote alias targets need the queue (not built yet). */
			log_warn("smtp %s: remote alias target %s skipped", cid, res->rcpt[i].address);
			continue;
		}
		struct local_target *t = &rt->t[rt->count++];
		snprintf(t->domain, sizeof t->domain, "%s", res->rcpt[i].domain);
		snprintf(t->local, sizeof t->local, "%s", res->rcpt[i].local);
	}
	free(res);
	if (rt->count == 0) {
		free(rt);
		return SMTP_RCPT_TEMPFAIL;
	}
	g->found = rt;
	return SMTP_RCPT_OK;
}

static void run_lookup(struct worker_job *job)
{
	struct smtp_glue *g = (struct smtp_glue *)job;
	g->verdict = lookup(g, conn_id(g->base.conn));
}

static void lookup_done(struct worker_job *job)
{
	struct smtp_glue *g = (struct smtp_glue *)job;
	if (!serve_glue_back(&g->base))
		return;
	struct rcpt_targets *found = g->found;
	g->found = NULL;
	smtp_server_rcpt_done(g->session, g->verdict, found);
	work_back(g);
}

static void rcpt_check(void *ctx, const struct smtp_mailbox *mb)
{
	struct smtp_glue *g = ctx;
	g->lookup = *mb;
	g->found = NULL;
	serve_glue_submit(&g->base, run_lookup, lookup_done);
}

static void rcpt_free(void *ctx, void *data)
{
	(void)ctx;
	free(data);
}

/* ---- the spool: written on the loop (page cache only) ---- */

static int spool_open(void *ctx, struct smtp_tx *tx)
{
	struct smtp_glue *g = ctx;
	const char *err = NULL;
	char rp[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 32];
	if (spool_create(g->base.cfg->cfg.data_dir, tx->id, &g->spool, &err) < 0) {
		int e = errno;
		log_err("smtp %s: %s: %s (%s)", conn_id(g->base.conn), tx->id, err, strerror(e));
		errno = e;
		return -1;
	}
	/* RFC 5321 4.4: the final delivery adds Return-Path; with our
	 * Received: it heads the spool file, which is the Maildir file. */
	int n = snprintf(rp, sizeof rp, "Return-Path: <%s>\n", tx->sender);
	if (n < 0 || (size_t)n >= sizeof rp || spool_append(&g->spool, rp, (size_t)n) < 0 ||
	    spool_append(&g->spool, tx->received.data, tx->received.len) < 0) {
		int e = errno;
		spool_remove(&g->spool);
		errno = e;
		return -1;
	}
	return 0;
}

static int spool_write(void *ctx, const char *p, size_t n)
{
	struct smtp_glue *g = ctx;
	return spool_append(&g->spool, p, n);
}

static void spool_close_hook(void *ctx)
{
	struct smtp_glue *g = ctx;
	spool_remove(&g->spool);
}

/* The distinct mailboxes of all recipients: one copy each, even when two
 * recipients (or aliases) lead to the same one. */
static int collect_targets(struct smtp_glue *g, const struct smtp_tx *tx)
{
	size_t max = 0;
	for (size_t i = 0; i < tx->rcpt_count; i++)
		max += ((struct rcpt_targets *)tx->rcpts[i].data)->count;
	free(g->job.targets);
	g->job.targets = malloc(max * sizeof *g->job.targets);
	g->job.target_count = 0;
	if (g->job.targets == NULL)
		return -1;
	for (size_t i = 0; i < tx->rcpt_count; i++) {
		const struct rcpt_targets *rt = tx->rcpts[i].data;
		for (size_t k = 0; k < rt->count; k++) {
			bool dup = false;
			for (size_t j = 0; j < g->job.target_count && !dup; j++)
				dup = strcmp(g->job.targets[j].local, rt->t[k].local) == 0 &&
				      strcmp(g->job.targets[j].domain, rt->t[k].domain) == 0;
			if (!dup)
				g->job.targets[g->job.target_count++] = rt->t[k];
		}
	}
	return 0;
}

static void commit_done(struct local_job *job);

static void commit(void *ctx, struct smtp_tx *tx)
{
	struct smtp_glue *g = ctx;
	if (collect_targets(g, tx) < 0) {
		smtp_server_commit_done(g->session, "451 4.3.0 Error: out of memory");
		return;
	}
	g->job.spool_path = g->spool.path;
	g->job.spool_fd = g->spool.fd;
	g->job.size = g->spool.size;
	g->job.spool_removed = false;
	g->job.error = NULL;
	g->job.done = commit_done;
	g->job.ctx = g;
	g->base.busy = true;
	clock_gettime(CLOCK_MONOTONIC, &g->commit_start);
	conn_pause(g->base.conn);
	local_deliver(g->base.srv->local, &g->job);
}

static void log_delivery(struct smtp_glue *g, const struct smtp_tx *tx)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (now.tv_sec - g->commit_start.tv_sec) * 1000 +
		  (now.tv_nsec - g->commit_start.tv_nsec) / 1000000;
	char rcpts[512];
	size_t o = 0;
	rcpts[0] = '\0';
	for (size_t i = 0; i < g->job.target_count && o < sizeof rcpts - 1; i++) {
		int w = snprintf(rcpts + o, sizeof rcpts - o, "%s%s@%s", i ? "," : "",
				 g->job.targets[i].local, g->job.targets[i].domain);
		o = w < 0 ? o : o + (size_t)w;
	}
	log_info("smtp %s: %s: from=<%s> size=%zu nrcpt=%zu to=%s delivered to maildir (%ld ms)",
		 conn_id(g->base.conn), tx->id, tx->sender, tx->size, g->job.target_count, rcpts, ms);
}

static void commit_done(struct local_job *job)
{
	struct smtp_glue *g = job->ctx;
	if (job->spool_removed)
		g->spool.path[0] = '\0';   /* the worker unlinked it */
	if (!serve_glue_back(&g->base))
		return;
	/* The transaction is still intact here: log it before it is reset. */
	if (job->error == NULL)
		log_delivery(g, smtp_server_tx(g->session));
	smtp_server_commit_done(g->session, job->error);
	work_back(g);
}

static const struct smtp_server_hooks hooks = {
	.rcpt_check = rcpt_check,
	.rcpt_free = rcpt_free,
	.spool_open = spool_open,
	.spool_write = spool_write,
	.spool_close = spool_close_hook,
	.commit = commit,
};
static void *smtp_open(struct conn *c, void *service_ctx)
{
	struct server *srv = service_ctx;
	struct smtp_glue *g = calloc(1, sizeof *g);
	if (g == NULL)
		return NULL;
	g->spool.fd = -1;
	serve_glue_init(&g->base, srv, c, glue_free);
	const struct config *cfg = &g->base.cfg->cfg;
	struct smtp_server_settings set = {
		.role = SMTP_ROLE_MX,
		.hostname = cfg->hostname,
		.message_size = cfg->message_size,
		.max_recipients = cfg->recipients,
		.max_header = 1024 * 1024,
		.max_hops = 50,
		.max_errors = 20,
		.tls_available = srv->tls_ctx != NULL,
		.cfg = cfg,
	};
	g->session = smtp_server_new(&set, &hooks, g, conn_id(c), conn_peer(c), conn_is_tls(c),
				     conn_tls_info(c));
	if (g->session == NULL) {
		glue_free(&g->base);
		return NULL;
	}
	smtp_server_greet(g->session);
	flush(g);
	return g;
}

static size_t smtp_input(void *session, const char *data, size_t len)
{
	struct smtp_glue *g = session;
	size_t used = smtp_server_input(g->session, data, len);
	if (!g->base.busy)
		flush(g);
	else  /* replies before the commit (pipelined) go out now */
		serve_glue_send(&g->base, smtp_server_output(g->session));
	return used;
}

static void smtp_timeout(void *session)
{
	struct smtp_glue *g = session;
	smtp_server_goodbye(g->session, "421 4.4.2 Error: timeout exceeded");
	serve_glue_send(&g->base, smtp_server_output(g->session));
}

static void smtp_tls_ready(void *session)
{
	struct smtp_glue *g = session;
	smtp_server_tls_started(g->session, conn_tls_info(g->base.conn));
	flush(g);
}

static void smtp_shutdown(void *session)
{
	struct smtp_glue *g = session;
	if (serve_glue_shutdown_later(&g->base))
		return;
	smtp_server_goodbye(g->session, "421 4.3.2 Service shutting down");
	flush(g);
}

static void smtp_close(void *session)
{
	struct smtp_glue *g = session;
	serve_glue_close(&g->base);
}

static const struct conn_proto smtp_proto = {
	.name = "smtp",
	.open = smtp_open,
	.input = smtp_input,
	.timeout = smtp_timeout,
	.tls_ready = smtp_tls_ready,
	.shutdown = smtp_shutdown,
	.close = smtp_close,
};

void serve_smtp_init(struct server *srv)
{
	/* Spool files left by a crash were never acknowledged: their
	 * clients send them again. */
	size_t stale = spool_clean(srv->cfg->data_dir);
	if (stale > 0)
		log_info("smtp: removed %zu unacknowledged spool files", stale);
	srv->services[LISTEN_SMTP] = (struct conn_service){
		.proto = &smtp_proto,
		.ctx = srv,
		.implicit_tls = false,
		.tls_ctx = &srv->tls_ctx,
		.tls_timeout = srv->cfg->timeout_tls,
		.busy_reply = "421 4.7.0 Error: too many connections\r\n",
	};
}
