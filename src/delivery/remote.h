#ifndef PB_DELIVERY_REMOTE_H
#define PB_DELIVERY_REMOTE_H
/* Remote delivery: one attempt at a queued message's recipients that are
 * still to be tried, on the event loop, as Postfix's qmgr + smtp do it:
 *
 *   1. (worker) open and lock the message, read its envelope;
 *   2. group the recipients by next hop: a [routes] entry for their
 *      domain, else [delivery] relay (all smarthosts, in order), else the
 *      domain's MX hosts (dns_route_lookup);
 *   3. for each group, try its targets one address after the other
 *      (conn_connect + the SMTP client engine) until every recipient has
 *      its fate: a 2xx, a 5xx or a 4xx to the recipient itself ends it;
 *      a failed connection or a 4xx to the whole transaction tries the
 *      next address ("on a connection failure or a 4xx to the whole
 *      transaction, the next MX");
 *   4. (worker) record each recipient's outcome durably (queue_update),
 *      queue the bounce for those that failed for good (to a local sender:
 *      into its Maildir), the delay warning when due, and remove the
 *      message once every recipient is done.
 *
 * One log line per recipient and attempt, greppable as Postfix's:
 *   delivery ID: to=<x@b.test> relay=mx.b.test[127.0.0.3]:25 dsn=2.0.0
 *   status=sent (250 2.0.0 Ok)
 */

#include <stdint.h>
#include <openssl/ssl.h>

#include "lib/config.h"
#include "queue/queue_sched.h"

struct event_base;
struct dns_resolver;
struct worker_pool;
struct userdb;

/* What every attempt shares; the server's, alive while attempts run. */
struct remote_context {
	struct event_base *base;
	struct dns_resolver *resolver;
	SSL_CTX **tls_ctx;               /* a client context (tls_client_ctx_new) */
	struct worker_pool *pool;        /* for the disk work of steps 1 and 4 */
	/* For step 4 on a worker thread: that thread's user directory (a
	 * bounce to a local sender goes through its aliases). */
	struct userdb *(*thread_userdb)(const char *data_dir);
	/* Connect and handshake deadline, milliseconds (0: 30 s). */
	unsigned connect_ms;
};

/* The attempt is over. next_due: when the message is due again (unix
 * seconds), or INT64_MAX when nothing is left to try (delivered, bounced,
 * held, or gone). bounce_id: a notification (bounce or delay warning)
 * that the attempt queued, due now; NULL when none. */
typedef void remote_done_fn(void *ctx, const char *id, int64_t next_due,
			    const char *bounce_id);

/* Starts an attempt at message id under cfg (copied: a reload does not
 * touch attempts under way) and policy, at time now. 0, or -1 when out of
 * memory (done is not called then). */
int remote_deliver(const struct remote_context *rc, const struct config *cfg,
		   const struct queue_policy *policy, const char *id, int64_t now,
		   remote_done_fn *done, void *ctx);

/* Attempts under way (for a graceful stop). */
size_t remote_active(void);
/* The server stops: attempts under way start no new connection and go
 * straight to recording what they have (the rest is tried after the
 * restart). */
void remote_stop(void);

#endif
