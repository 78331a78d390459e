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

/* The log line of recipient i's last attempt, Postfix-style and
 * greppable: "ID: to=<r@b.test>, orig_to=<rfc822;R@b.test>,
 * relay=mx.b.test, delay=754, attempts=3, status=deferred (451 4.7.1
 * ...)". (orig_to only when ORCPT was given; relay=none without a
 * host.) Appended to out. */
int queue_attempt_line(const struct queue_env *env, size_t i, int64_t now, struct buf *out);

/* For the n recipients idx[] of the locked message m whose outcomes the
 * caller recorded in m->env:
 *  1. queues one bounce for those now bounced (bounce_enqueue: null
 *     sender, to the sender; nothing for a null sender or NOTIFY without
 *     FAILURE), before their state is written: a crash in between costs
 *     a duplicate bounce, never a lost one;
 *  2. makes their state durable (queue_update) and logs a line each;
 *  3. queues the delay warning when queue_warn_due, and records it;
 *  4. removes the message when no recipient is left to try.
 * A bounce to a local sender is queued like any other: the delivery
 * driver hands a due message's local recipients to local delivery.
 * *next_r: when the message is due again (INT64_MAX: nothing left to try,
 * removed, or all held). m is closed in every case. 0, or -1 with
 * *error_r (what was done so far stays done). */
int queue_settle(struct queue_msg *m, const struct queue_policy *p, const char *hostname,
		 const size_t *idx, size_t n, int64_t now, int64_t *next_r,
		 const char **error_r);

#endif
