#ifndef PB_SERVER_SERVE_H
#define PB_SERVER_SERVE_H
/* The daemon: what "postbox serve" holds while it runs, shared by the
 * per-protocol glue files (serve_smtp.c, ...) that join a net/ conn to a
 * protocol session and to the stores. */

#include <stdbool.h>
#include <stdint.h>
#include <openssl/ssl.h>

#include "lib/buf.h"
#include "lib/config.h"
#include "net/conn.h"
#include "net/worker.h"

struct event_base;
struct userdb;
struct local_delivery;
struct watch;

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
	struct worker_pool *auth;     /* password checks (serve_auth.h) */
	struct penalty_table *penalties;   /* failed logins (serve_penalty.h) */
	struct watch *watch;          /* changes for IDLE; NULL: IDLE polls */
	SSL_CTX *tls_ctx;             /* NULL: no TLS configured */
	bool stopping;
	/* One per [listen] service; proto NULL: not available in this build. */
	struct conn_service services[LISTEN_SERVICE_COUNT];
};

/* For worker threads: the calling thread's own user directory handle
 * (SQLite handles are per thread), opened on first use; NULL on error. */
struct userdb *serve_thread_userdb(const char *data_dir);

/* What a session waits for next: the driver's one deadline policy for
 * every protocol (serve_glue_wait). */
enum serve_wait {
	SERVE_WAIT_LOGIN,     /* IMAP/POP3 before login: [limits] timeout_login
			       * from the connect, however the peer trickles */
	SERVE_WAIT_COMMAND,   /* timeout_command for the next whole command */
	SERVE_WAIT_DATA,      /* timeout_data for DATA or a BDAT chunk */
	SERVE_WAIT_IDLE,      /* logged in, between commands: idle_seconds */
};

/* The common head of every protocol's per-connection glue: what the
 * connection, the session and work in flight on another thread have to
 * agree on. A connection that closes while work is in flight is freed
 * when the work comes back; a shutdown says goodbye after it. */
struct serve_glue {
	struct worker_job job;        /* first: the task pool's view */
	struct server *srv;
	struct config_ref *cfg;       /* the configuration the session started with */
	struct conn *conn;
	bool busy;                    /* a task or a commit is in flight */
	bool orphaned;                /* the connection went while busy */
	bool shutting_down;           /* say goodbye once no longer busy */
	void (*destroy)(struct serve_glue *g);   /* frees the whole glue */
	/* Deadlines (serve_glue_wait). idle_seconds is the protocol's
	 * autologout, set by its glue. */
	unsigned idle_seconds;
	bool wait_set;
	uint8_t wait;                 /* enum serve_wait in force */
	unsigned long long wait_out;  /* the output total when it was set */
	uint64_t login_due_ms;        /* monotonic: the end of SERVE_WAIT_LOGIN */
};

void serve_glue_init(struct serve_glue *g, struct server *srv, struct conn *c,
		     void (*destroy)(struct serve_glue *g));
/* Sets the deadline for what the session waits for next, once a reply
 * went out or the wait changed (call it after every input and every
 * answer): bytes that arrive never move a deadline, only progress does,
 * and a transfer gets time by [limits] min_data_rate (conn_set_deadline).
 * When it passes, conn_proto.timeout says goodbye. */
void serve_glue_wait(struct serve_glue *g, enum serve_wait w);
/* Drops the configuration reference (from destroy). */
void serve_glue_fini(struct serve_glue *g);
/* Sends what the session wrote and empties the buffer. */
void serve_glue_send(struct serve_glue *g, struct buf *out);
/* conn_proto.close: frees now, or when the work in flight comes back. */
void serve_glue_close(struct serve_glue *g);
/* conn_proto.shutdown: true when busy (goodbye later, shutting_down set). */
bool serve_glue_shutdown_later(struct serve_glue *g);
/* Runs run() on a task thread, then done() on the loop; input pauses. */
void serve_glue_submit(struct serve_glue *g, void (*run)(struct worker_job *),
		       void (*done)(struct worker_job *));
/* The same with a job of the caller's (run and done set) on another pool:
 * 0, or -1 when that pool's queue is full (nothing was submitted). */
int serve_glue_submit_job(struct serve_glue *g, struct worker_pool *pool,
			  struct worker_job *job);
/* First thing when work comes back: false when the glue was freed
 * because the connection had gone. */
bool serve_glue_back(struct serve_glue *g);

/* postbox serve: loads config_path, binds, drops privileges and runs
 * every configured service until SIGTERM/SIGINT. 0, or -1 with *error_r. */
int server_run(const char *config_path, const char **error_r);

/* Fill srv->services[] for their protocols. */
void serve_smtp_init(struct server *srv);
void serve_pop3_init(struct server *srv);
void serve_imap_init(struct server *srv);

#endif
