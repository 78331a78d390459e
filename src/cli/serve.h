#ifndef PB_CLI_SERVE_H
#define PB_CLI_SERVE_H
/* The running server: what "postbox serve" holds while it runs, shared by
 * the per-protocol glue files (serve_smtp.c, ...) that join a net/ conn to
 * a protocol session and to the stores. */

#include <stdbool.h>
#include <openssl/ssl.h>

#include "lib/config.h"
#include "net/conn.h"
#include "net/worker.h"

struct event_base;
struct userdb;
struct local_delivery;

/* A loaded configuration shared by the sessions that started under it:
 * a reload makes a new one, and the old one goes when its last session
 * does. */
struct config_ref {
	unsigned refs;
	struct config cfg;
};

/* Allocates with one reference (NULL when out of memory). */
struct config_ref *config_ref_new(void);
struct config_ref *config_ref_hold(struct config_ref *r);
void config_ref_release(struct config_ref **r);

struct server {
	struct event_base *base;
	struct config_ref *cfg_ref;   /* current; the server holds one reference */
	const struct config *cfg;     /* &cfg_ref->cfg */
	struct userdb *userdb;        /* loop thread's handle */
	struct local_delivery *local;
	struct worker_pool *tasks;    /* blocking work of the access protocols */
	SSL_CTX *tls_ctx;             /* NULL: no TLS configured */
	bool stopping;
	/* One per [listen] service; proto NULL: not available in this build. */
	struct conn_service services[LISTEN_SERVICE_COUNT];
};

/* For worker threads: checks a login against the user directory with a
 * handle of the thread's own. 1 it matches, 0 it does not, -1 error. */
int serve_auth_verify(const char *data_dir, const char *user, const char *password);
/* Seconds a failed login waits before its answer (slows guessing). */
#define SERVE_AUTH_FAIL_DELAY 2

/* Fill srv->services[] for their protocols. */
void serve_smtp_init(struct server *srv);
void serve_pop3_init(struct server *srv);
void serve_imap_init(struct server *srv);

#endif
