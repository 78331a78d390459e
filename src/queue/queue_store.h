#ifndef PB_QUEUE_QUEUE_STORE_H
#define PB_QUEUE_QUEUE_STORE_H
/* The durable queue on disk (layout and guarantees in docs/queue.md):
 *
 *   DATA/queue/incoming/ID       a message being received (spool.h), and
 *   DATA/queue/incoming/ID.env   an envelope being written: both are
 *                                removed at start (never acknowledged)
 *   DATA/queue/active/ID         a queued message (the spool file, linked)
 *   DATA/queue/active/ID.env     its envelope (queue_env.h): its presence
 *                                is what makes the message queued
 *   DATA/queue/flush             a request to retry everything now
 *
 * Enqueueing (queue_commit) is group commit as local delivery does it:
 * the batch's message and envelope files are fsync'd together
 * (fs_fsync_many), each envelope renamed into active/, and active/ is
 * fsync'd once. Only then may anyone acknowledge the messages.
 *
 * Delivery state changes are appended to the envelope (update records)
 * and fdatasync'd: one flush, no rename, no directory fsync. When the
 * appended records outgrow the envelope itself the file is rewritten
 * (write-new, fsync, rename, directory fsync).
 *
 * A message is worked on only under its lock: flock(LOCK_EX) on its
 * message file, which is never replaced (the envelope is, when
 * rewritten). The daemon's delivery and `postbox queue` both take it. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue/queue_env.h"

#define QUEUE_PATH_MAX 1024

/* Makes a new queue id (letters and digits, at most 24 octets): the time
 * in microseconds, the pid and a counter, unique across processes and
 * restarts of one host. */
void queue_new_id(char id[QUEUE_ID_MAX + 1]);

/* ---- enqueueing (group commit) ---- */

struct queue_commit {
	/* in */
	struct queue_env *env;     /* id, size and offset set; its recipients */
	const char *spool_path;    /* the message file, in DATA/queue/incoming/ */
	int spool_fd;              /* open on it */
	/* out */
	const char *error;         /* NULL: queued, on stable storage */
};

/* Queues a batch (off the event loop: it fsyncs). On return each item's
 * error says whether it is queued; a failed item leaves nothing in
 * active/. The spool file stays where it was, for local delivery to link
 * from or for the caller to remove. */
void queue_commit_batch(const char *data_dir, struct queue_commit **items, size_t n);

/* ---- one queued message, locked ---- */

struct queue_msg {
	int msg_fd;                /* the message file, locked; -1 when closed */
	int env_fd;                /* the envelope, for appending */
	struct queue_env env;
	size_t env_len;            /* octets of whole records in the file */
	size_t base_len;           /* of them, before the first update */
	char data_dir[QUEUE_PATH_MAX];
};

/* Opens and locks message id and reads its envelope. With wait false a
 * message locked by someone else fails at once with errno EWOULDBLOCK.
 * 0, or -1 with *error_r (errno ENOENT: no such message). */
int queue_open(const char *data_dir, const char *id, bool wait, struct queue_msg *m,
	       const char **error_r);
/* Makes the state of the n recipients idx[] (changed by the caller in
 * m->env) durable. 0, or -1 with *error_r (the file is then as before:
 * a torn record is ignored when read). */
int queue_update(struct queue_msg *m, const size_t *idx, size_t n, const char **error_r);
/* Records that the delay warning went out. */
int queue_mark_warned(struct queue_msg *m, const char **error_r);
/* Holds every recipient not yet done; release makes held ones due at
 * now. Return how many changed, or -1 with *error_r. */
int queue_hold(struct queue_msg *m, const char **error_r);
int queue_release(struct queue_msg *m, int64_t now, const char **error_r);
/* Removes the message (envelope first: from then on it is not queued)
 * and closes m. 0, or -1 with *error_r. */
int queue_remove(struct queue_msg *m, const char **error_r);
/* Unlocks and frees. */
void queue_close(struct queue_msg *m);

/* The path of the message file of id: 0, or -1 when it does not fit. */
int queue_msg_path(const char *data_dir, const char *id, char *out, size_t outlen);

/* ---- reading the queue ---- */

/* Reads the envelope of id without locking (appends are whole records, a
 * rewrite is a rename: a reader sees a consistent state). 0, or -1 with
 * *error_r (with its line). */
int queue_read_env(const char *data_dir, const char *id, struct queue_env *env,
		   const char **error_r);
/* Calls fn for each queued message's id, in no order. Returns how many,
 * or -1 when the queue cannot be read (none is not an error). */
long queue_scan(const char *data_dir, void (*fn)(const char *id, void *ctx), void *ctx);

/* At start, before anything is received: removes what no one
 * acknowledged: everything in incoming/, message files of active/
 * without an envelope and envelopes without a message. Returns how many
 * files it removed. */
size_t queue_recover(const char *data_dir);

/* ---- telling the daemon ---- */

#define QUEUE_FLUSH_NAME "flush"
/* Asks a running daemon to try every queued message now: creates
 * DATA/queue/flush, which its watcher sees (queue_flush.h). 0, or -1
 * with *error_r. */
int queue_request_flush(const char *data_dir, const char **error_r);

#endif
