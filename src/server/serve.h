#ifndef PB_SERVER_SERVE_H
#define PB_SERVER_SERVE_H
/* The daemon: "postbox serve" (Postfix's single_server_main in one
 * process). Read it top-down:
 *
 *   serve_main.c      setup, signals, reload, an orderly stop
 *   serve_services.c  the table: each [listen] service, its engine, its
 *                     role (MX, submission, ...) and whether TLS is implicit
 *   engine_smtp.c     each engine's hooks: what is really its protocol's
 *   engine_imap.c     (recipient lookup, spool and commit; mailbox tasks and
 *   engine_pop3.c     IDLE; the maildrop and RETR)
 *   serve_auth.c      password checks and their penalties, for any engine
 *   serve_driver.c    the one driver: implements net/'s struct conn_proto
 *                     for every service; owns the connection, its
 *                     deadlines, backpressure, the hand-off to workers and
 *                     the connection that closes while its work is out
 *
 * A new service is a table entry (with the role its engine gives it); a
 * new protocol is an engine (struct serve_engine) and its entries, never
 * another driver. */

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
struct server;
struct serve_engine;

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

/* The local injection socket ([listen] local, a path): a service after
 * the [listen] host:port ones, in the same arrays. */
#define SERVE_SERVICE_LOCAL LISTEN_SERVICE_COUNT
#define SERVE_SERVICE_COUNT (LISTEN_SERVICE_COUNT + 1)

/* One [listen] service: the table's entry (serve_services.c). */
struct serve_service {
	enum listen_service id;
	const struct serve_engine *engine;
	int role;                     /* the engine's own (enum smtp_role, ...) */
	bool implicit_tls;            /* RFC 8314: TLS from the first octet */
};

/* What the driver keeps per service: net/ calls it through proto, with
 * this as the service context. */
struct serve_binding {
	struct conn_proto proto;
	struct server *srv;
	const struct serve_service *service;
};

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
	struct serve_queue *queue;    /* the outbound queue (serve_queue.h) */
	SSL_CTX *tls_ctx;             /* NULL: no TLS configured */
	bool stopping;
	/* One per [listen] service; proto NULL: not available in this build. */
	struct conn_service services[SERVE_SERVICE_COUNT];
	struct serve_binding bindings[SERVE_SERVICE_COUNT];
};

/* For worker threads: the calling thread's own user directory handle
 * (SQLite handles are per thread), opened on first use; NULL on error. */
struct userdb *serve_thread_userdb(const char *data_dir);

/* What a session waits for next: the driver's one deadline policy for
 * every protocol (serve_conn_wait). */
enum serve_wait {
	SERVE_WAIT_LOGIN,     /* IMAP/POP3 before login: [limits] timeout_login
			       * from the connect, however the peer trickles */
	SERVE_WAIT_COMMAND,   /* timeout_command for the next whole command */
	SERVE_WAIT_DATA,      /* timeout_data for DATA or a BDAT chunk */
	SERVE_WAIT_IDLE,      /* logged in, between commands: the engine's
			       * idle_seconds */
};

/* What the driver does once an engine's replies went out (engine->next). */
enum serve_next {
	SERVE_NEXT_READ,      /* read on, under the deadline *wait_r names */
	SERVE_NEXT_HOLD,      /* neither read nor time out: an answer of the
			       * engine's own is still to come (a password
			       * delay) */
	SERVE_NEXT_WORK,      /* more work before reading on (an IMAP FETCH
			       * slice, a POP3 RETR part, a password check):
			       * engine->work, as soon as no more than
			       * engine->high_water waits to be sent */
	SERVE_NEXT_STARTTLS,  /* start the TLS handshake; tls_started follows */
	SERVE_NEXT_CLOSE,     /* close once the replies are sent */
};

/* Output storage a session keeps between replies: what a burst of replies
 * (a pipelined flood) needed is given back. */
#define SERVE_OUTPUT_KEEP 4096

/* Why the driver asks an engine to say goodbye. */
enum serve_bye {
	SERVE_BYE_TIMEOUT,    /* the deadline passed */
	SERVE_BYE_SHUTDOWN,   /* the server is stopping */
};

struct serve_conn;

/* A protocol as the driver sees it: a sans-I/O session and the hooks that
 * answer it. Every function runs on the loop thread. */
struct serve_engine {
	const char *name;             /* "smtp": the logs' service name */
	const char *busy_reply;       /* sent when a connection cap is hit */
	size_t size;                  /* its per-connection state, which
				       * starts with struct serve_conn */
	unsigned idle_seconds;        /* SERVE_WAIT_IDLE; 0: timeout_command */
	size_t output_keep;           /* output storage kept between replies */
	size_t high_water;            /* SERVE_NEXT_WORK waits above this */
	/* Optional: once when the server starts. */
	void (*setup)(struct server *srv);
	/* Makes the session (sc->conn and sc->service are set): 0, or -1
	 * and the connection closes. */
	int (*start)(struct serve_conn *sc);
	void (*greet)(struct serve_conn *sc);
	/* Frees what start made (also after a failed start); the driver
	 * frees sc. */
	void (*stop)(struct serve_conn *sc);
	/* Bytes for the session: how many it took. */
	size_t (*feed)(struct serve_conn *sc, const char *data, size_t len);
	/* The session's replies: the driver sends and empties them. */
	struct buf *(*output)(struct serve_conn *sc);
	/* After the replies went out, and no work is out: what now. begun:
	 * the peer's next command has begun to arrive. An engine may arm
	 * its own watchers here (IMAP IDLE). */
	enum serve_next (*next)(struct serve_conn *sc, bool begun, enum serve_wait *wait_r);
	/* Optional: starts the work SERVE_NEXT_WORK announced. */
	void (*work)(struct serve_conn *sc);
	/* Writes the goodbye for why into the output and stops what would
	 * answer later (watches, a password delay). */
	void (*goodbye)(struct serve_conn *sc, enum serve_bye why);
	void (*tls_started)(struct serve_conn *sc);
};

/* The head of every engine's per-connection state: what the connection,
 * the session and work in flight on another thread have to agree on. A
 * connection that closes while work is in flight is freed when the work
 * comes back; a shutdown says goodbye after it. */
struct serve_conn {
	struct worker_job job;        /* first: the task pool's view */
	struct server *srv;
	const struct serve_service *service;   /* the table's entry */
	struct config_ref *cfg;       /* the configuration the session started with */
	struct conn *conn;            /* the peer: conn_peer(), conn_is_tls(), ... */
	bool busy;                    /* work is out (a task, a commit, a check) */
	bool orphaned;                /* the connection went while busy */
	bool shutting_down;           /* say goodbye once no longer busy */
	bool wait_drain;              /* SERVE_NEXT_WORK waits for the output */
	void (*work_done)(struct serve_conn *sc);   /* serve_conn_submit's */
	/* Deadlines (serve_conn_wait). */
	bool wait_set;
	uint8_t wait;                 /* enum serve_wait in force */
	unsigned long long wait_out;  /* the output total when it was set */
	uint64_t login_due_ms;        /* monotonic: the end of SERVE_WAIT_LOGIN */
};

/* Fills srv->services[] and srv->bindings[] for one table entry. */
void serve_driver_bind(struct server *srv, const struct serve_service *service);
/* Fills them for the whole table, and runs each engine's setup once. */
void serve_services_init(struct server *srv);

/* Sets the deadline for what the session waits for next (the driver
 * calls it for SERVE_NEXT_READ): bytes that arrive never move a
 * deadline, only progress does, and a transfer gets time by [limits]
 * min_data_rate (conn_set_deadline). When it passes, the engine says
 * goodbye. */
void serve_conn_wait(struct serve_conn *sc, enum serve_wait w);
/* Runs run() on a task thread, then done() (optional) on the loop, then
 * answers (serve_conn_answered) unless done() started more work; input
 * pauses meanwhile. */
void serve_conn_submit(struct serve_conn *sc, void (*run)(struct worker_job *),
		       void (*done)(struct serve_conn *sc));
/* The same with a job of the caller's (run and done set) on another pool:
 * 0, or -1 when that pool's queue is full (nothing was submitted). */
int serve_conn_submit_job(struct serve_conn *sc, struct worker_pool *pool,
			  struct worker_job *job);
/* Work handed elsewhere (local delivery): busy, input paused. */
void serve_conn_hold(struct serve_conn *sc);
/* First thing when work comes back: false when sc was freed because the
 * connection had gone. */
bool serve_conn_back(struct serve_conn *sc);
/* Once the engine answered its session: goodbye when the server is
 * stopping, then the replies go out and the driver goes on. */
void serve_conn_answered(struct serve_conn *sc);

/* A positive number from the environment variable name (at most max),
 * else dflt: knobs for tests and measurements, not for users. */
unsigned serve_env_unsigned(const char *name, unsigned max, unsigned dflt);

/* postbox serve: loads config_path, binds, drops privileges and runs
 * every configured service until SIGTERM/SIGINT. 0, or -1 with *error_r. */
int server_run(const char *config_path, const char **error_r);

/* The engines (engine_*.c). */
extern const struct serve_engine serve_smtp_engine;
extern const struct serve_engine serve_imap_engine;
extern const struct serve_engine serve_pop3_engine;

#endif
