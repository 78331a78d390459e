#ifndef PB_NET_WORKER_H
#define PB_NET_WORKER_H
/* Blocking work off the event loop. Jobs queue up while a worker thread is
 * busy and are then handed over all together, so a worker can commit many
 * at once (group commit: one directory fsync for a whole batch). Each
 * finished job's done() runs back on the loop thread. */

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct worker_pool;

struct worker_job {
	struct worker_job *next;   /* private */
	/* On a worker thread, for pools made without run_batch. */
	void (*run)(struct worker_job *job);
	void (*done)(struct worker_job *job);  /* on the loop thread */
	/* Set before done() when the job was cancelled before it ran. */
	bool cancelled;
};

/* run_batch gets the jobs in submission order and runs on a worker thread;
 * NULL runs each job's own run(). */
struct worker_pool *worker_pool_new(struct event_base *base, unsigned threads,
				    void (*run_batch)(struct worker_job **jobs, size_t n,
						      void *ctx),
				    void *ctx);
void worker_submit(struct worker_pool *p, struct worker_job *job);
/* A bounded queue: at most max jobs submitted and not yet done (0, the
 * default: no bound). */
void worker_pool_set_max_pending(struct worker_pool *p, size_t max);
/* worker_submit within the bound: 0, or -1 (the queue is full; job not
 * taken). */
int worker_try_submit(struct worker_pool *p, struct worker_job *job);
/* Jobs not yet started are not run: each comes back through done() with
 * cancelled set, on the loop thread, soon after. For work that has no
 * point once the server stops (password checks); never for commits. */
void worker_cancel_waiting(struct worker_pool *p);
/* Jobs submitted and not yet done. */
size_t worker_pending(const struct worker_pool *p);
/* Finishes the queued jobs, joins the threads and frees the pool. */
void worker_pool_free(struct worker_pool **p);

#endif
