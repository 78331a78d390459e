#ifndef PB_NET_LIMITS_H
#define PB_NET_LIMITS_H
/* Connection counting for [limits] connections and connections_per_ip.
 * Counts live in a small open hash keyed by the peer's address bytes. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct conn_limits;

struct conn_limits *conn_limits_new(size_t max_total, size_t max_per_ip);
void conn_limits_free(struct conn_limits **l);
void conn_limits_set(struct conn_limits *l, size_t max_total, size_t max_per_ip);
/* Takes a slot for the address; false (and nothing taken) when a limit
 * would be exceeded. *total_hit_r tells which limit. */
bool conn_limits_take(struct conn_limits *l, const struct sockaddr *sa, bool *total_hit_r);
void conn_limits_release(struct conn_limits *l, const struct sockaddr *sa);
size_t conn_limits_total(const struct conn_limits *l);

#endif
