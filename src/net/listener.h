#ifndef PB_NET_LISTENER_H
#define PB_NET_LISTENER_H
/* Listening sockets. All are bound before privileges are dropped; accepted
 * connections are counted against [limits] (the whole server's total and
 * the service's own caps, svc->limits) and handed to conn_accept(). */

#include "net/conn.h"
#include "net/limits.h"

struct listener;

/* Binds host:port (numeric; an IPv6 address binds IPv6 only, so that
 * "0.0.0.0" and "::" can be listened on side by side). The service and
 * limits must outlive it. */
struct listener *listener_open(struct event_base *base, const char *host,
			       unsigned short port, const struct conn_service *svc,
			       struct conn_limits *total, const char **error_r);
/* A unix-domain socket at path (a stale socket there is replaced; any
 * other file is an error), with permissions mode: local injection. Each
 * peer is named by its credentials (SO_PEERCRED, conn_local_peer), which
 * the kernel vouches for, and counted per Unix user. */
struct listener *listener_open_unix(struct event_base *base, const char *path,
				    unsigned mode, const struct conn_service *svc,
				    struct conn_limits *total, const char **error_r);
void listener_close(struct listener **l);

#endif
