/* The outbound queue's driver (serve_queue.h). */
#include "server/serve_queue.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>

#include "delivery/flush_watch.h"
#include "delivery/remote.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "net/tls.h"
#include "net/worker.h"
#include "queue/queue_sched.h"
#include "server/serve.h"
#include "server/serve_dns.h"

/* Disk work of attempts (envelope reads, fdatasync of updates, bounces):
 * its own threads, so that a busy mailbox pool never delays the queue,
 * nor the reverse. */
#define QUEUE_THREADS 2

struct serve_queue {
	struct server *srv;
	struct queue_index *idx;
	struct queue_policy policy;
	struct remote_context rc;
	struct serve_dns *dns;
	SSL_CTX *client_ctx;
	struct flush_watch *flush;
	struct event *timer;
	size_t active;
	bool stopping;
};

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static void run_due(struct serve_queue *q);

static void arm(struct serve_queue *q)
{
	int64_t due = queue_index_next_due(q->idx);
	if (due == INT64_MAX || q->active >= SERVE_QUEUE_ACTIVE || q->stopping) {
		evtimer_del(q->timer);
		return;
	}
	int64_t now = now_s();
	struct timeval tv = { due > now ? (time_t)(due - now) : 0, 0 };
	evtimer_add(q->timer, &tv);
}

static void attempt_done(void *ctx, const char *id, int64_t next_due, const char *bounce_id)
{
	struct serve_queue *q = ctx;
	q->active--;
	if (next_due != INT64_MAX && queue_index_set(q->idx, id, next_due) < 0)
		log_err("queue: %s: out of memory; it waits for the next start", id);
	if (bounce_id != NULL && queue_index_set(q->idx, bounce_id, now_s()) < 0)
		log_err("queue: %s: out of memory; it waits for the next start", bounce_id);
	run_due(q);
}

static void run_due(struct serve_queue *q)
{
	int64_t now = now_s();
	char id[QUEUE_ID_MAX + 1];
	while (!q->stopping && q->active < SERVE_QUEUE_ACTIVE &&
	       queue_index_pop_due(q->idx, now, id)) {
		if (remote_deliver(&q->rc, q->srv->cfg, &q->policy, id, now, attempt_done, q) < 0) {
			(void)queue_index_set(q->idx, id, now + 60);
			break;
		}
		q->active++;
	}
	arm(q);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	run_due(arg);
}

static void kick(void *arg)
{
	run_due(arg);
}

static int setup(struct serve_queue *q, const struct config *cfg, const char **error_r)
{
	q->idx = queue_index_new();
	q->timer = evtimer_new(q->srv->base, timer_cb, q);
	q->rc.pool = worker_pool_new(q->srv->base, QUEUE_THREADS, NULL, NULL);
	if (q->idx == NULL || q->timer == NULL || q->rc.pool == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	queue_policy_from_config(&q->policy, cfg);
	q->client_ctx = tls_client_ctx_new(cfg->tls_ca_file, error_r);
	if (q->client_ctx == NULL)
		return -1;
	struct dns_options opt = { .servers = cfg->dns, .server_count = cfg->dns_count };
	if (serve_dns_new(q->srv->base, &opt, &q->dns, error_r) < 0)
		return -1;
	q->rc.base = q->srv->base;
	q->rc.resolver = serve_dns_resolver(q->dns);
	q->rc.tls_ctx = &q->client_ctx;
	q->rc.thread_userdb = serve_thread_userdb;
	/* Tests shorten a wait that production keeps long. */
	q->rc.connect_ms = serve_env_unsigned("POSTBOX_CONNECT_TIMEOUT_MS", 600000, 30000);
	long n = queue_index_load(q->idx, cfg->data_dir);
	if (n < 0) {
		*error_r = "cannot read the queue";
		return -1;
	}
	if (n > 0)
		log_info("queue: %ld message%s queued", n, n == 1 ? "" : "s");
	q->flush = flush_watch_new(q->srv->base, q->srv->watch, cfg->data_dir, q->idx, kick, q,
				   error_r);
	return q->flush != NULL ? 0 : -1;
}

int serve_queue_start(struct server *srv, const char **error_r)
{
	struct serve_queue *q = calloc(1, sizeof *q);
	if (q == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	q->srv = srv;
	srv->queue = q;
	if (setup(q, srv->cfg, error_r) < 0)
		return -1;
	run_due(q);
	return 0;
}

void serve_queue_add(struct server *srv, const char *id)
{
	struct serve_queue *q = srv->queue;
	if (queue_index_set(q->idx, id, now_s()) < 0)
		log_err("queue: %s: out of memory; it waits for the next start", id);
	run_due(q);
}

void serve_queue_stop(struct server *srv)
{
	struct serve_queue *q = srv->queue;
	if (q == NULL)
		return;
	q->stopping = true;
	remote_stop();
	evtimer_del(q->timer);
}

bool serve_queue_idle(const struct server *srv)
{
	const struct serve_queue *q = srv->queue;
	return q == NULL || q->active == 0;
}

void serve_queue_free(struct server *srv)
{
	struct serve_queue *q = srv->queue;
	if (q == NULL)
		return;
	flush_watch_free(&q->flush);
	/* Attempts still out (a stop that timed out) finish their disk work
	 * here; their done() never runs, and their memory goes with the
	 * process. */
	worker_pool_free(&q->rc.pool);
	serve_dns_free(&q->dns);
	if (q->client_ctx != NULL)
		SSL_CTX_free(q->client_ctx);
	if (q->timer != NULL)
		event_free(q->timer);
	queue_index_free(&q->idx);
	free(q);
	srv->queue = NULL;
}
