#ifndef PB_SERVER_SERVE_AUTH_H
#define PB_SERVER_SERVE_AUTH_H
/* Password checks for the engines that log users in (IMAP, POP3, SMTP
 * submission).
 *
 * Checks run on a pool of their own (srv->auth: AUTH_THREADS threads, at
 * most AUTH_QUEUE_MAX waiting), so a flood of logins cannot hold up mail
 * access on srv->tasks, nor the reverse; a check that finds the queue full
 * is answered as a temporary failure at once.
 *
 * Every answer waits for the penalty of the address and user
 * (serve_penalty.h) on a timer of the loop, not on a thread: a failure's
 * answer waits [limits] auth_delay, doubled for each earlier failure of
 * the address, up to auth_delay_max; a success from an address that
 * failed before waits as a failure would have, so that timing does not
 * tell an attacker a good password early. After auth_failures failures a
 * connection is closed. Each failure is logged as one line:
 *
 *   auth failed: service=imap ip=192.0.2.7 user=<alice@a.test> reason=bad-password
 *
 * (the user as sent, lower-cased, with anything but printable ASCII
 * other than '<' '>' '\' as \xNN), for fail2ban (README.md). */

#include <stdbool.h>

#include "auth/sasl.h"
#include "server/serve.h"

#define AUTH_THREADS 2
#define AUTH_QUEUE_MAX 256

struct event;

struct serve_auth {
	struct worker_job job;        /* on srv->auth */
	struct serve_conn *sc;
	const char *service;          /* "imap", "pop3": service= in the log */
	/* Called on the loop once the check is answered and its delay
	 * is over: result 1 the password matched, 0 not, -1 could not be
	 * checked; close: too many failures, say so and close. The engine
	 * answers its session; the driver sends the replies after it
	 * (serve_conn_answered) unless the engine started more work. */
	void (*answer)(struct serve_conn *sc, int result, bool close);
	char user[SASL_USER_MAX + 1];  /* lower-cased */
	char *password;               /* a copy, wiped once checked */
	bool checking;                /* the check is on an auth thread */
	int result;
	unsigned failures;            /* on this connection */
	struct event *timer;
};

/* Creates srv->auth and srv->penalties. 0 or -1. */
int serve_auth_setup(struct server *srv);
void serve_auth_teardown(struct server *srv);

void serve_auth_init(struct serve_auth *a, struct serve_conn *sc, const char *service,
		     void (*answer)(struct serve_conn *sc, int result, bool close));
/* Stops a delay in progress (the answer is not called) and frees. */
void serve_auth_fini(struct serve_auth *a);
/* Checks user and password (copied, and wiped once checked); the
 * connection is busy until the check comes back, then waits for the
 * timer. With a full queue the answer (-1) is called before this returns,
 * and the caller's driver sends it. */
void serve_auth_check(struct serve_auth *a, const char *user, const char *password);
/* A delay in progress: the session waits for its answer. */
bool serve_auth_waiting(const struct serve_auth *a);

#endif
