#ifndef PB_NET_CONN_H
#define PB_NET_CONN_H
/* A connection: a libevent bufferevent (plain, or TLS from the start or
 * after STARTTLS), its peer, its deadline and its slot in the connection
 * limits. Accepted ones carry a server session; outbound ones
 * (conn_connect, for the SMTP client) carry a client session and do the
 * client's side of TLS. The protocol on top is a sans-I/O session driven through
 * struct conn_proto; this file is the only place its bytes meet a socket.
 *
 * Memory per connection is bounded here: input is read ahead by at most
 * CONN_INPUT_MAX bytes, and while more than CONN_OUTPUT_MAX bytes wait to
 * be sent no input is handed to the session (a peer that sends commands
 * without reading the replies stops being read). */

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>
#include <openssl/ssl.h>

struct buf;
struct event_base;
struct conn;
struct conn_limits;

/* Input read ahead of the session; output above which input waits. */
#define CONN_INPUT_MAX (16 * 1024)
#define CONN_OUTPUT_MAX (32 * 1024)

struct conn_proto {
	const char *name;  /* "smtp", "imap", ... for logs */
	/* A new connection: returns the session (NULL closes at once). arg is
	 * the service's ctx for an accepted connection, conn_connect's arg
	 * for an outbound one (called once connected, and after the handshake
	 * on implicit TLS). */
	void *(*open)(struct conn *c, void *arg);
	/* Bytes arrived: returns how many were consumed (the rest is kept and
	 * offered again with more, or after conn_resume()). */
	size_t (*input)(void *session, const char *data, size_t len);
	/* The deadline passed (conn_set_deadline); write a goodbye with
	 * conn_write(): the connection closes after it. */
	void (*timeout)(void *session);
	/* TLS is up, after conn_starttls() or on an implicit-TLS port. */
	void (*tls_ready)(void *session);
	/* The server is stopping: say goodbye (421) and close, or finish the
	 * work in progress first and close after it. */
	void (*shutdown)(void *session);
	/* Optional: everything written so far has been sent. */
	void (*drained)(void *session);
	/* The connection is gone: free the session. conn_error() says why. */
	void (*close)(void *session);
	/* Outbound only: no session was opened (refused, unreachable, timed
	 * out, TLS failed): reason is conn_error()'s text. */
	void (*connect_failed)(void *arg, const char *reason);
};

struct conn_service {
	const struct conn_proto *proto;
	void *ctx;                 /* handed to proto->open */
	bool implicit_tls;
	SSL_CTX **tls_ctx;         /* points at the current context; *NULL = no TLS */
	unsigned tls_timeout;      /* seconds a TLS handshake may take, all of it */
	const char *busy_reply;    /* sent when a connection limit is hit */
	struct conn_limits *limits;  /* this service's own caps; NULL: none */
	bool client;               /* outbound: TLS as the client (conn_connect) */
};

/* Where an outbound connection goes. */
struct conn_target {
	const struct sockaddr *addr;
	socklen_t addr_len;
	const struct sockaddr *bind;   /* source address; NULL: any */
	socklen_t bind_len;
	const char *tls_name;    /* SNI and the name the certificate must carry; NULL: none */
	bool tls_verify;         /* the handshake fails unless chain and name verify */
	unsigned timeout_ms;     /* for the connect, and an implicit-TLS handshake */
};

/* Accepts fd, already counted by the listener in total and in
 * svc->limits: the slots are given back once the connection closes, or
 * starts to (conn_close_after_flush, or the peer's end of input while
 * the session's own work is out). */
void conn_accept(struct event_base *base, const struct conn_service *svc, int fd,
		 const struct sockaddr *sa, int salen, struct conn_limits *total);

/* A peer on a unix-domain socket (local injection) is known by its Unix
 * user, not an address: the listener names it with conn_local_peer(),
 * which the limits count per user and conn_peer_uid() gives back. */
struct sockaddr_storage;
socklen_t conn_local_peer(unsigned uid, unsigned pid, struct sockaddr_storage *ss);
/* The uid of such an address. */
unsigned conn_local_uid(const struct sockaddr *sa);

/* Starts an outbound connection for svc (svc->client set, its tls_ctx a
 * client context): later proto->open(c, arg) once connected (after the
 * handshake when svc->implicit_tls), or proto->connect_failed(arg, why).
 * 0, or -1 with *error_r when nothing could start (no callback follows). */
int conn_connect(struct event_base *base, const struct conn_service *svc,
		 const struct conn_target *t, void *arg, const char **error_r);

/* Queues bytes for the peer. */
void conn_write(struct conn *c, const void *data, size_t len);
/* Queues the bytes of b and empties it. A big output is not copied: its
 * storage goes to the connection, and b gets storage an earlier one left
 * once it was sent (or none). */
void conn_write_buf(struct conn *c, struct buf *b);
/* Bytes queued and not yet handed to the kernel. */
size_t conn_output_pending(const struct conn *c);
/* Closes once everything written has been sent. */
void conn_close_after_flush(struct conn *c);
/* Discards unread input, sends what is queued, then starts a TLS
 * handshake (the server's, or the client's on an outbound connection,
 * with its conn_target's name and verification); proto->tls_ready
 * follows, or the connection closes with the reason in conn_error(). Plaintext the peer pipelined after
 * the STARTTLS command is dropped, never read as if it came over TLS
 * (CVE-2011-0411). */
int conn_starttls(struct conn *c);
/* Stop/start feeding input (e.g. while a message is being committed).
 * A paused connection still notices the peer hanging up; its deadline
 * waits until it is resumed (the wait is the server's, not the peer's). */
void conn_pause(struct conn *c);
void conn_resume(struct conn *c);
/* Sets the deadline ms from now (0: none), after which proto->timeout is
 * called. It is not moved by the bytes that arrive, except that with
 * min_rate (bytes per second) each byte the session takes adds
 * 1/min_rate s, as long as the peer never goes ms without sending: a
 * transfer at min_rate or faster ends in time, a trickle does not. Output
 * the peer does not take for ms (from the last byte it took) closes the
 * connection too. */
void conn_set_deadline(struct conn *c, unsigned ms, unsigned min_rate);
/* False when no deadline is set (e.g. one was just ended by a TLS
 * handshake). */
bool conn_has_deadline(const struct conn *c);
/* Bytes queued for the peer since the connection opened (progress). */
unsigned long long conn_output_total(const struct conn *c);

const char *conn_peer(const struct conn *c);        /* "127.0.0.1", or "local" */
unsigned short conn_peer_port(const struct conn *c);
const char *conn_id(const struct conn *c);          /* short session id for logs */
bool conn_is_tls(const struct conn *c);
bool conn_peer_is_loopback(const struct conn *c);
/* A local peer's Unix user and process (unix socket); -1 otherwise. */
long conn_peer_uid(const struct conn *c);
long conn_peer_pid(const struct conn *c);
/* TLS description for Received: ("TLSv1.3 with cipher ..."), "" when plain. */
const char *conn_tls_info(const struct conn *c);
/* Outbound TLS: the peer's chain and name verified (they may not have been
 * required; see conn_target.tls_verify). */
bool conn_tls_verified(const struct conn *c);
/* Why the connection ended or failed ("connection refused", "timed out",
 * "TLS: certificate verify failed: ..."); "" while all is well. */
const char *conn_error(const struct conn *c);

/* Number of open connections (for graceful stop). */
size_t conn_count(void);
/* Calls proto->shutdown on every connection. */
void conn_shutdown_all(void);

#endif
