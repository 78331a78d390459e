#ifndef PB_DELIVERY_LOCAL_H
#define PB_DELIVERY_LOCAL_H
/* Final delivery into local Maildirs, off the event loop and in batches:
 * every message waiting when a worker becomes free is written, fsync'd,
 * renamed into new/, and then each new/ directory touched by the batch is
 * fsync'd once (group commit). A job's done() runs on the loop thread only
 * after its message is on stable storage in every target Maildir, or after
 * every trace of it has been removed again. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "net/worker.h"

struct event_base;

struct local_target {
	char domain[256];
	char local[65];
};

struct local_job {
	struct worker_job wj;          /* first: the worker's view */
	/* in */
	struct iovec iov[4];           /* the message: trace fields + content */
	int iovcnt;
	struct local_target *targets;  /* distinct mailboxes */
	size_t target_count;
	/* out */
	const char *error;             /* NULL, or the SMTP reply for the failure */
	/* the caller's */
	void (*done)(struct local_job *job);
	void *ctx;
};

struct local_delivery;

struct local_delivery *local_delivery_new(struct event_base *base, const char *data_dir,
					  unsigned threads);
void local_delivery_free(struct local_delivery **ld);
void local_deliver(struct local_delivery *ld, struct local_job *job);
size_t local_delivery_pending(const struct local_delivery *ld);

/* Delivers in the calling thread (for tests and the CLI). */
void local_deliver_now(const char *data_dir, struct local_job **jobs, size_t n);

#endif
