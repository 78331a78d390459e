/* Password checks for the access protocols: the auth pool, the penalty
 * delays and the failure log line (serve_auth.h). */
#include "server/serve_auth.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <event2/event.h>

#include "auth/address.h"
#include "auth/userdb.h"
#include "lib/log.h"
#include "server/serve_penalty.h"

/* Addresses and users remembered at once: about 100 KiB. */
#define PENALTY_SLOTS 4096

/* SQLite handles are per thread; the data directory never changes while
 * the server runs (a new one needs a restart). A thread's handle is closed
 * when the thread ends. */
static pthread_key_t db_key;
static pthread_once_t db_once = PTHREAD_ONCE_INIT;

static void close_db(void *p)
{
	struct userdb *db = p;
	userdb_close(&db);
}

static void make_key(void)
{
	pthread_key_create(&db_key, close_db);
}

struct userdb *serve_thread_userdb(const char *data_dir)
{
	pthread_once(&db_once, make_key);
	struct userdb *db = pthread_getspecific(db_key);
	const char *err = NULL;
	if (db == NULL) {
		if (userdb_open(data_dir, &db, &err) < 0) {
			log_err("auth: cannot open the user directory: %s", err ? err : "?");
			return NULL;
		}
		pthread_setspecific(db_key, db);
	}
	return db;
}

/* On an auth thread: 1 it matches, 0 it does not, -1 error. */
static int verify(const char *data_dir, const char *user, const char *password)
{
	struct userdb *db = serve_thread_userdb(data_dir);
	if (db == NULL)
		return -1;
	if (user[0] == '\0')
		return 0;
	return userdb_verify_password(db, user, password);
}

int serve_auth_setup(struct server *srv)
{
	srv->auth = worker_pool_new(srv->base, AUTH_THREADS, NULL, NULL);
	srv->penalties = penalty_table_new(PENALTY_SLOTS);
	if (srv->auth == NULL || srv->penalties == NULL) {
		serve_auth_teardown(srv);
		return -1;
	}
	worker_pool_set_max_pending(srv->auth, AUTH_QUEUE_MAX);
	return 0;
}

void serve_auth_teardown(struct server *srv)
{
	worker_pool_free(&srv->auth);
	penalty_table_free(&srv->penalties);
}

void serve_auth_init(struct serve_auth *a, struct serve_conn *sc, const char *service,
		     void (*answer)(struct serve_conn *sc, int result, bool close))
{
	memset(a, 0, sizeof *a);
	a->sc = sc;
	a->service = service;
	a->answer = answer;
}

static void forget_password(struct serve_auth *a)
{
	if (a->password != NULL) {
		explicit_bzero(a->password, strlen(a->password));
		free(a->password);
		a->password = NULL;
	}
}

void serve_auth_fini(struct serve_auth *a)
{
	if (!a->checking)   /* else the auth thread still reads it: done() */
		forget_password(a);
	if (a->timer != NULL)
		event_free(a->timer);
	a->timer = NULL;
}

bool serve_auth_waiting(const struct serve_auth *a)
{
	return a->timer != NULL && evtimer_pending(a->timer, NULL);
}

/* The client's text, bounded and without anything that could end the
 * field in a log parser's eyes. */
static void log_failure(const struct serve_auth *a, const char *ip, const char *reason)
{
	char user[4 * SASL_USER_MAX + 1];
	size_t n = 0;
	for (const unsigned char *p = (const unsigned char *)a->user; *p != '\0'; p++) {
		if (*p > 0x20 && *p < 0x7f && *p != '<' && *p != '>' && *p != '\\')
			user[n++] = (char)*p;
		else
			n += (size_t)snprintf(user + n, sizeof user - n, "\\x%02x", *p);
	}
	user[n] = '\0';
	log_warn("auth failed: service=%s ip=%s user=<%s> reason=%s", a->service, ip, user,
		 reason);
}

static void run(struct worker_job *job)
{
	struct serve_auth *a = (struct serve_auth *)job;
	a->result = verify(a->sc->cfg->cfg.data_dir, a->user, a->password);
}

static void fire(evutil_socket_t fd, short what, void *arg)
{
	struct serve_auth *a = arg;
	(void)fd;
	(void)what;
	struct serve_conn *sc = a->sc;
	a->answer(sc, a->result, a->result == 0 && a->failures >= sc->cfg->cfg.auth_failures);
	if (!sc->busy)   /* the engine may go on to more work (a maildrop) */
		serve_conn_answered(sc);
}

static void done(struct worker_job *job)
{
	struct serve_auth *a = (struct serve_auth *)job;
	struct serve_conn *sc = a->sc;
	a->checking = false;
	forget_password(a);
	if (!serve_conn_back(sc))
		return;   /* a went with the connection */
	const struct config *cfg = &sc->cfg->cfg;
	const char *ip = conn_peer(sc->conn);
	time_t now = time(NULL);
	unsigned level = 0;
	if (job->cancelled)   /* the server is stopping: not checked at all */
		a->result = -1;
	if (a->result == 1) {
		level = penalty_level(sc->srv->penalties, ip, a->user, now);
		penalty_succeeded(sc->srv->penalties, ip, a->user, now);
	} else if (a->result == 0) {
		penalty_failed(sc->srv->penalties, ip, a->user, now);
		level = penalty_level(sc->srv->penalties, ip, a->user, now);
		a->failures++;
		log_failure(a, ip, "bad-password");
	}
	unsigned max = cfg->auth_delay_max_ms > cfg->auth_delay_ms ? cfg->auth_delay_max_ms
								   : cfg->auth_delay_ms;
	unsigned ms = penalty_delay_ms(level, cfg->auth_delay_ms, max);
	if (a->timer == NULL)
		a->timer = evtimer_new(sc->srv->base, fire, a);
	if (ms == 0 || sc->shutting_down || a->timer == NULL) {
		fire(-1, 0, a);
		return;
	}
	struct timeval tv = { ms / 1000, (long)(ms % 1000) * 1000 };
	evtimer_add(a->timer, &tv);
}

void serve_auth_check(struct serve_auth *a, const char *user, const char *password)
{
	address_lower(user, strnlen(user, SASL_USER_MAX), a->user);
	forget_password(a);
	a->password = strdup(password);
	a->job.run = run;
	a->job.done = done;
	if (a->password != NULL && serve_conn_submit_job(a->sc, a->sc->srv->auth, &a->job) == 0) {
		a->checking = true;
		return;
	}
	if (a->password != NULL)
		log_warn("%s %s: password checks are queued to the limit (%d); try again",
			 a->service, conn_id(a->sc->conn), AUTH_QUEUE_MAX);
	forget_password(a);
	a->result = -1;
	a->answer(a->sc, -1, false);
}
