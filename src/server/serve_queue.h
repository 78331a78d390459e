#ifndef PB_SERVER_SERVE_QUEUE_H
#define PB_SERVER_SERVE_QUEUE_H
/* The outbound queue's driver in the daemon: the index of queued messages
 * by due time (queue/queue_sched.h), one timer, and remote delivery
 * attempts (delivery/remote.h) started as messages fall due, at most
 * SERVE_QUEUE_ACTIVE at once. `postbox queue flush` reaches it through
 * DATA/queue/flush (delivery/flush_watch.h). */

#include <stdbool.h>

struct server;

#define SERVE_QUEUE_ACTIVE 64

/* Loads the queue and starts delivering (srv->queue). 0, or -1 with
 * *error_r. */
int serve_queue_start(struct server *srv, const char **error_r);
/* A message was just queued (by a session's commit): try it now. */
void serve_queue_add(struct server *srv, const char *id);
/* The server stops: no new attempt; those under way finish their
 * recording (serve_queue_idle says when). */
void serve_queue_stop(struct server *srv);
/* No attempt is under way. */
bool serve_queue_idle(const struct server *srv);
void serve_queue_free(struct server *srv);

#endif
