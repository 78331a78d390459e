#include "net/worker.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <event2/event.h>

#include "lib/log.h"

#define BATCH_MAX 512

struct worker_pool {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct worker_job *head, *tail;      /* waiting to run */
	struct worker_job *done_head, *done_tail;
	size_t pending;                      /* loop thread only */
	size_t max_pending;                  /* 0: no bound */
	bool stopping;
	unsigned nthreads;
	pthread_t *threads;
	struct event *notify;
	void (*run_batch)(struct worker_job **jobs, size_t n, void *ctx);
	void *ctx;
};

static void *thread_main(void *arg)
{
	struct worker_pool *p = arg;
	struct worker_job *batch[BATCH_MAX];
	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (p->head == NULL && !p->stopping)
			pthread_cond_wait(&p->cond, &p->lock);
		if (p->head == NULL) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		/* Separate tasks go one per thread, so a slow one holds up
		 * nobody else; batches take all that is waiting. */
		size_t n = 0, max = p->run_batch != NULL ? BATCH_MAX : 1;
		while (p->head != NULL && n < max) {
			batch[n++] = p->head;
			p->head = p->head->next;
		}
		if (p->head == NULL)
			p->tail = NULL;
		pthread_mutex_unlock(&p->lock);

		if (p->run_batch != NULL) {
			p->run_batch(batch, n, p->ctx);
		} else {
			for (size_t i = 0; i < n; i++)
				batch[i]->run(batch[i]);
		}

		pthread_mutex_lock(&p->lock);
		for (size_t i = 0; i < n; i++) {
			batch[i]->next = NULL;
			if (p->done_tail)
				p->done_tail->next = batch[i];
			else
				p->done_head = batch[i];
			p->done_tail = batch[i];
		}
		pthread_mutex_unlock(&p->lock);
		event_active(p->notify, EV_READ, 0);
	}
}

static void notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker_pool *p = arg;
	(void)fd;
	(void)what;
	pthread_mutex_lock(&p->lock);
	struct worker_job *j = p->done_head;
	p->done_head = p->done_tail = NULL;
	pthread_mutex_unlock(&p->lock);
	while (j != NULL) {
		struct worker_job *next = j->next;
		p->pending--;
		j->done(j);
		j = next;
	}
}

struct worker_pool *worker_pool_new(struct event_base *base, unsigned threads,
				    void (*run_batch)(struct worker_job **, size_t, void *),
				    void *ctx)
{
	struct worker_pool *p = calloc(1, sizeof *p);
	if (p == NULL)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	p->run_batch = run_batch;
	p->ctx = ctx;
	p->notify = event_new(base, -1, 0, notify_cb, p);
	p->threads = calloc(threads, sizeof *p->threads);
	if (p->notify == NULL || p->threads == NULL)
		goto fail;
	for (; p->nthreads < threads; p->nthreads++) {
		if (pthread_create(&p->threads[p->nthreads], NULL, thread_main, p) != 0)
			goto fail;
	}
	return p;
fail:
	worker_pool_free(&p);
	return NULL;
}

void worker_submit(struct worker_pool *p, struct worker_job *job)
{
	job->next = NULL;
	job->cancelled = false;
	p->pending++;
	pthread_mutex_lock(&p->lock);
	if (p->tail)
		p->tail->next = job;
	else
		p->head = job;
	p->tail = job;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
}

void worker_pool_set_max_pending(struct worker_pool *p, size_t max)
{
	p->max_pending = max;
}

int worker_try_submit(struct worker_pool *p, struct worker_job *job)
{
	if (p->max_pending > 0 && p->pending >= p->max_pending)
		return -1;
	worker_submit(p, job);
	return 0;
}

void worker_cancel_waiting(struct worker_pool *p)
{
	pthread_mutex_lock(&p->lock);
	struct worker_job *j = p->head;
	p->head = p->tail = NULL;
	while (j != NULL) {
		struct worker_job *next = j->next;
		j->cancelled = true;
		j->next = NULL;
		if (p->done_tail)
			p->done_tail->next = j;
		else
			p->done_head = j;
		p->done_tail = j;
		j = next;
	}
	pthread_mutex_unlock(&p->lock);
	event_active(p->notify, EV_READ, 0);
}

size_t worker_pending(const struct worker_pool *p)
{
	return p->pending;
}

void worker_pool_free(struct worker_pool **pp)
{
	struct worker_pool *p = *pp;
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
	/* Jobs finished by the threads after the loop stopped. */
	if (p->notify != NULL) {
		notify_cb(-1, 0, p);
		event_free(p->notify);
	}
	free(p->threads);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
	*pp = NULL;
}
