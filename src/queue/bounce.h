#ifndef PB_QUEUE_BOUNCE_H
#define PB_QUEUE_BOUNCE_H
/* Delivery status notifications (RFC 3464) to a message's sender: the
 * bounce (Action: failed) and the delay warning (Action: delayed).
 *
 * bounce_build is pure: envelope + recipients + the original message in,
 * the notification's bytes out (LF line ends, as the queue stores
 * messages; without the Return-Path: line, which the spool file adds).
 * bounce_prepare (bounce_queue.c) reads the original from the queue and
 * writes the notification as a new spool file with its envelope, which
 * the caller queues (queue_commit_batch) or, when the sender is local,
 * hands to local delivery. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "queue/queue_env.h"
#include "queue/spool.h"

enum bounce_kind { BOUNCE_FAILED, BOUNCE_DELAYED };

/* A returned message bigger than this comes back as headers only. */
#define BOUNCE_FULL_MAX (1u << 20)
/* The original's header section is cut (at a line end) past this. */
#define BOUNCE_HEADERS_MAX (64u << 10)

struct bounce_in {
	const struct queue_env *env;
	enum bounce_kind kind;
	const size_t *rcpts;           /* indices into env->rcpts */
	size_t rcpt_count;
	const char *reporting_mta;     /* our host name */
	const char *bounce_id;         /* the notification's queue id */
	int64_t now;
	int64_t retry_until;           /* delayed: the expiry (Will-Retry-Until) */
	const char *orig;              /* the original, from env->offset: its */
	size_t orig_len;               /* header section or the whole message */
	bool orig_full;                /* whole (message/rfc822), else headers */
};

/* Whether recipient r asked for this kind of notice (RFC 3461 4.1:
 * NOTIFY absent means failures and delays). */
bool bounce_wanted(const struct queue_rcpt *r, enum bounce_kind kind);

/* The status of r for the report (RFC 3463): the reply's enhanced status
 * code when it has one, else one of the class of its reply code; 4.4.7
 * for a message bounced because it expired, 4.4.1 for no answer. */
void bounce_status(const struct queue_rcpt *r, enum bounce_kind kind, char out[16]);

/* Whether p[0..n) has an octet over 127 (8BITMIME, SMTPUTF8 territory). */
bool bounce_has_8bit(const char *p, size_t n);

/* Appends the notification to out. 0, or -1 with *error_r (too big for
 * out's cap, null sender: never a bounce for a bounce). */
int bounce_build(const struct bounce_in *in, struct buf *out, const char **error_r);

/* ---- making it a message of the queue ---- */

struct bounce_out {
	struct spool_file spool;       /* DATA/queue/incoming/ID, open */
	struct queue_env env;          /* null sender; to env->sender */
};

/* For message env (its message file open on msg_fd), recipients rcpts:
 * those that want this notice are reported (bounce_wanted); when none
 * does, or the sender is null, returns 1 and makes nothing. Else writes
 * the notification's spool file and fills out (0), or -1 with *error_r.
 * The caller then commits out (queue_commit_batch with out->env and
 * out->spool) or delivers it locally, and frees it with
 * bounce_out_clear. */
int bounce_prepare(const char *data_dir, const char *hostname, const struct queue_env *env,
		   int msg_fd, enum bounce_kind kind, const size_t *rcpts, size_t n,
		   int64_t now, int64_t retry_until, struct bounce_out *out,
		   const char **error_r);
/* Removes the spool file (when still there) and frees the envelope. */
void bounce_out_clear(struct bounce_out *out);

#endif
