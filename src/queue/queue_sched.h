#ifndef PB_QUEUE_QUEUE_SCHED_H
#define PB_QUEUE_QUEUE_SCHED_H
/* When to try a queued message again, when to give up, when to warn: pure
 * functions of the [queue] settings, an envelope and the time "now"
 * (passed in, so that tests run on fixed clocks). And the in-memory index
 * of queued messages by due time, which the daemon's delivery driver runs
 * from one timer: earliest first.
 *
 * The index keeps per message only its id and its due time (about 56
 * octets with the hash slot), never its envelope: a queue of a million
 * messages costs some 56 MB, and an envelope is read from disk when its
 * message is due. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "queue/queue_env.h"

struct config;

struct queue_policy {
	unsigned retry[16];        /* seconds between attempts; the last repeats */
	size_t retry_count;        /* >= 1 */
	unsigned max_age;          /* seconds from arrival; then a bounce */
	unsigned warn_after;       /* seconds from arrival; 0: no delay warning */
};

/* [queue] retry, max_age, warn_after. */
void queue_policy_from_config(struct queue_policy *p, const struct config *cfg);

/* The wait after the attempts-th failed attempt (attempts >= 1): retry[0]
 * after the first, retry[1] after the second, ... the last one again and
 * again. */
unsigned queue_retry_delay(const struct queue_policy *p, unsigned attempts);

/* The moment the message stops being retried: arrival + max_age. */
int64_t queue_expiry(const struct queue_policy *p, int64_t arrival);

/* Records the outcome of one attempt for recipient i at now: code is the
 * remote reply's code (2xx sent, 5xx bounced, anything else a temporary
 * failure: 4xx, or 0 for no reply at all, e.g. a connection refused),
 * reply its text (kept as the last error, cut to QUEUE_REPLY_MAX), mta the
 * host that answered (NULL: none). A
 * temporary failure is retried after queue_retry_delay(attempts), but
 * never later than the expiry, when one last attempt is made; failing at
 * or after the expiry bounces. Returns the recipient's new state, or -1
 * when out of memory (state unchanged). */
int queue_record_attempt(const struct queue_policy *p, struct queue_env *env, size_t i,
			 int code, const char *mta, const char *reply, int64_t now);

/* The earliest next attempt among recipients still to be tried (neither
 * final nor held); INT64_MAX when none is. */
int64_t queue_env_due(const struct queue_env *env);

/* True when the delay warning should go out now: warn_after is set, none
 * went out yet, the sender is not the null sender, at least
 * one recipient is deferred and wants delay notices (NOTIFY unset or
 * DELAY), and now >= arrival + warn_after. */
bool queue_warn_due(const struct queue_policy *p, const struct queue_env *env, int64_t now);

/* ---- the index ---- */

struct queue_index;

struct queue_index *queue_index_new(void);
void queue_index_free(struct queue_index **idx);
size_t queue_index_count(const struct queue_index *idx);
/* Adds id due at due, or moves it there. 0, or -1 (ENOMEM, a bad id). */
int queue_index_set(struct queue_index *idx, const char *id, int64_t due);
/* Removes id; false when it was not there. */
bool queue_index_remove(struct queue_index *idx, const char *id);
bool queue_index_contains(const struct queue_index *idx, const char *id);
/* The earliest due time, INT64_MAX when empty: what the timer waits for. */
int64_t queue_index_next_due(const struct queue_index *idx);
/* Takes the earliest message out when it is due at now: copies its id
 * into id_r and returns true. */
bool queue_index_pop_due(struct queue_index *idx, int64_t now, char id_r[QUEUE_ID_MAX + 1]);
/* Makes every message in the index due at now. */
void queue_index_all_due(struct queue_index *idx, int64_t now);

/* At start: adds every queued message of data_dir due at its saved next
 * attempt (queue_env_due; a message with nothing left to try is left
 * out). An envelope that cannot be read is logged and left out. Returns
 * how many were added, or -1. */
long queue_index_load(struct queue_index *idx, const char *data_dir);
/* What the daemon does on `postbox queue flush` (queue_flush.h): adds the
 * messages that are on disk and not in the index (injected by another
 * process, released from hold), then makes everything due at now. The
 * driver then re-arms its timer. Returns the count, or -1. */
long queue_index_flush(struct queue_index *idx, const char *data_dir, int64_t now);

#endif
