#ifndef PB_QUEUE_QUEUE_SETTLE_H
#define PB_QUEUE_QUEUE_SETTLE_H
/* What follows a delivery attempt, for the delivery driver: the outcome
 * of each recipient recorded (queue_record_attempt), it is made durable,
 * bounces and the delay warning are queued, one log line per recipient is
 * written, and a message with nobody left to try leaves the queue. */

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "queue/queue_sched.h"
#include "queue/queue_store.h"

struct bounce_out;

/* What the delivery driver lends queue_settle and learns from it. All
 * optional: a zeroed struct (or NULL) queues every notification and logs
 * the relay from the envelope. */
struct queue_settle_io {
	/* A notification ready to go (its spool file written): 0 when the
	 * driver took care of it (a sender of ours: delivered into their
	 * Maildir, or dropped with a log line), 1 to have it queued. */
	int (*notify)(void *ctx, struct bounce_out *out);
	/* Recipient i's relay for the log line ("host[addr]:port"), or NULL
	 * for the envelope's remote MTA. */
	const char *(*relay)(void *ctx, size_t i);
	void *ctx;
	/* out: the notifications queued (a bounce, a delay warning), for the
	 * driver's due index. */
	char queued[2][QUEUE_ID_MAX + 1];
	size_t queued_count;
};

/* The log line of recipient i's last attempt, Postfix-style and
 * greppable: "ID: to=<r@b.test>, orig_to=<rfc822;R@b.test>,
 * relay=mx.b.test[192.0.2.1]:25, delay=754, attempts=3, dsn=4.7.1,
 * status=deferred (451 4.7.1 ...)". (orig_to only when ORCPT was given;
 * relay: the one given, else the envelope's remote MTA, else none; dsn:
 * the reply's RFC 3463 code, else its class as X.0.0.) Appended to out. */
int queue_attempt_line(const struct queue_env *env, size_t i, const char *relay, int64_t now,
		       struct buf *out);

/* For the n recipients idx[] of the locked message m whose outcomes the
 * caller recorded in m->env:
 *  1. one bounce for those now bounced (bounce_prepare: null sender, to
 *     the sender; nothing for a null sender or NOTIFY without FAILURE),
 *     handed to io->notify or queued, before their state is written: a
 *     crash in between costs a duplicate bounce, never a lost one;
 *  2. makes their state durable (queue_update) and logs a line each
 *     ("delivery " and queue_attempt_line);
 *  3. the delay warning when queue_warn_due, the same way, and records it;
 *  4. removes the message when no recipient is left to try.
 * io may be NULL. *next_r: when the message is due again (INT64_MAX:
 * nothing left to try, removed, or all held). m is closed in every case.
 * 0, or -1 with *error_r (what was done so far stays done). */
int queue_settle(struct queue_msg *m, const struct queue_policy *p, const char *hostname,
		 const size_t *idx, size_t n, int64_t now, struct queue_settle_io *io,
		 int64_t *next_r, const char **error_r);

#endif
