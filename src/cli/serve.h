#ifndef PB_CLI_SERVE_H
#define PB_CLI_SERVE_H
/* The running server: what "postbox serve" holds while it runs, shared by
 * the per-protocol glue files (serve_smtp.c, ...) that join a net/ conn to
 * a protocol session and to the stores. */

#include <stdbool.h>
#include <openssl/ssl.h>

#include "lib/config.h"
#include "net/conn.h"

struct event_base;
struct userdb;
struct local_delivery;

struct server {
	struct event_base *base;
	const struct config *cfg;     /* current; old ones stay alive (sessions point at them) */
	struct userdb *userdb;        /* loop thread's handle */
	struct local_delivery *local;
	SSL_CTX *tls_ctx;             /* NULL: no TLS configured */
	bool stopping;
	struct conn_service smtp_service;
};

/* Fills srv->smtp_service for the MX role. */
void serve_smtp_init(struct server *srv);

#endif
