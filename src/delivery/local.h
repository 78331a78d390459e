#ifndef PB_DELIVERY_LOCAL_H
#define PB_DELIVERY_LOCAL_H
/* Final delivery of spooled messages (queue/spool.h) into local Maildirs,
 * off the event loop and in batches (group commit that pays only for our
 * own files, never syncfs): the batch's spool files are fsync'd together
 * (write-back started for all, then one fsync each, so the block layer
 * merges them and a journal commit serves many), each is hard-linked into
 * every target's new/, and each new/ directory touched by the batch is
 * fsync'd once. Then the spool files are removed.
 *
 * A job's done() runs on the loop thread only after its message is on
 * stable storage in every target Maildir (file and directory entry), or
 * after every trace of it has been removed again (spool file included). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "net/worker.h"

struct event_base;

struct local_target {
	char domain[256];
	char local[65];
};

struct local_job {
	struct worker_job wj;          /* first: the worker's view */
	/* in */
	const char *spool_path;        /* the message, as Maildir stores it */
	int spool_fd;                  /* open on it, for the fsync */
	uint64_t size;                 /* its octets */
	struct local_target *targets;  /* distinct mailboxes */
	size_t target_count;
	/* out */
	const char *error;             /* NULL, or the SMTP reply for the failure */
	bool spool_removed;            /* the spool file is gone (always, once done) */
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
