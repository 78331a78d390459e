/* The daemon: setup, signals, the event loop and an orderly stop. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <event2/event.h>
#include <event2/thread.h>

#include "auth/userdb.h"
#include "server/serve.h"
#include "server/serve_auth.h"
#include "server/serve_priv.h"
#include "server/serve_queue.h"
#include "delivery/local.h"
#include "lib/buf.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "net/limits.h"
#include "net/listener.h"
#include "net/tls.h"
#include "net/watch.h"
#include "store/store.h"

#define MAX_LISTENERS (LISTEN_SERVICE_COUNT * CONFIG_MAX_LISTEN + 1)
#define STOP_GRACE_SECONDS 30
#define ACCESS_THREADS 4        /* store and password work of POP3/IMAP sessions */
#define STOP_SESSIONS_TICKS 30   /* 3 s at 100 ms */

struct serve_state {
	struct server srv;
	const char *config_path;
	struct conn_limits *limits;    /* all services together */
	/* Each service's own caps, by its plain service (IMAPS counts as
	 * IMAP, POP3S as POP3, SUBMISSIONS as SUBMISSION). */
	struct conn_limits *service_limits[SERVE_SERVICE_COUNT];
	struct listener *listeners[MAX_LISTENERS];
	size_t listener_count;
	struct event *sig_term, *sig_int, *sig_hup, *stop_timer;
	int priv_link;                /* to the privileged parent; -1: none */
	struct event *priv_event;
	int stop_ticks;
};

/* From the files, or from what the privileged parent read (creds). */
static int load_tls(struct server *srv, const struct config *cfg,
		    const struct serve_creds *creds, const char **error_r)
{
	if (cfg->tls_cert[0] == '\0' || cfg->tls_key[0] == '\0') {
		srv->tls_ctx = NULL;
		return 0;
	}
	SSL_CTX *ctx = creds != NULL ?
		       tls_server_ctx_new_pem(creds->cert, creds->cert_len, creds->key,
					      creds->key_len, cfg->tls_cert, cfg->tls_key, error_r) :
		       tls_server_ctx_new(cfg->tls_cert, cfg->tls_key, error_r);
	if (ctx == NULL)
		return -1;
	if (srv->tls_ctx != NULL)
		SSL_CTX_free(srv->tls_ctx);  /* live connections hold their own reference */
	srv->tls_ctx = ctx;
	return 0;
}

/* The local injection socket (docs/sendmail.md): anyone may connect
 * (0666) and the kernel names them; DATA and DATA/public are 0711 so that
 * other users can reach it without listing or reading anything. */
static int open_local(struct serve_state *st, const char **error_r)
{
	static char err[1200];
	const struct config *cfg = st->srv.cfg;
	char path[1024], pub[1024];
	if (config_local_socket(cfg, path, sizeof path) < 0)
		return 0;   /* "off" */
	snprintf(pub, sizeof pub, "%s/public", cfg->data_dir);
	if (strncmp(path, pub, strlen(pub)) == 0 && path[strlen(pub)] == '/') {
		if (fs_mkdir_p(pub, 0711, error_r) < 0)
			return -1;
		if (chmod(cfg->data_dir, 0711) < 0 || chmod(pub, 0711) < 0) {
			snprintf(err, sizeof err, "chmod %s: %s", pub, strerror(errno));
			*error_r = err;
			return -1;
		}
	}
	struct listener *l = listener_open_unix(st->srv.base, path, 0666,
						&st->srv.services[SERVE_SERVICE_LOCAL],
						st->limits, error_r);
	if (l == NULL)
		return -1;
	st->listeners[st->listener_count++] = l;
	log_info("local: listening on %s", path);
	return 0;
}

static int open_listeners(struct serve_state *st, const char **error_r)
{
	const struct config *cfg = st->srv.cfg;
	for (int svc = 0; svc < LISTEN_SERVICE_COUNT; svc++) {
		const char *name = config_service_name((enum listen_service)svc);
		if (cfg->listen_count[svc] > 0 && st->srv.services[svc].proto == NULL) {
			log_warn("%s: not available in this version; [listen] %s ignored", name, name);
			continue;
		}
		for (size_t i = 0; i < cfg->listen_count[svc]; i++) {
			const struct listen_addr *a = &cfg->listen[svc][i];
			struct listener *l = listener_open(st->srv.base, a->host, a->port,
							   &st->srv.services[svc], st->limits,
							   error_r);
			if (l == NULL)
				return -1;
			st->listeners[st->listener_count++] = l;
			bool v6 = strchr(a->host, ':') != NULL;
			log_info("%s: listening on %s%s%s:%u", name, v6 ? "[" : "", a->host,
				 v6 ? "]" : "", a->port);
		}
	}
	return open_local(st, error_r);
}

/* The plain service whose caps a service shares. */
static enum listen_service limits_group(enum listen_service s)
{
	switch (s) {
	case LISTEN_IMAPS: return LISTEN_IMAP;
	case LISTEN_POP3S: return LISTEN_POP3;
	case LISTEN_SUBMISSIONS: return LISTEN_SUBMISSION;
	default: return s;
	}
}

static int make_limits(struct serve_state *st, const struct config *cfg)
{
	st->limits = conn_limits_new(cfg->connections, cfg->connections);
	if (st->limits == NULL)
		return -1;
	for (int i = 0; i < SERVE_SERVICE_COUNT; i++) {
		enum listen_service g = limits_group((enum listen_service)i);
		if (st->service_limits[g] == NULL)
			st->service_limits[g] = conn_limits_new(cfg->connections_per_service,
								cfg->connections_per_ip);
		if (st->service_limits[g] == NULL)
			return -1;
		st->srv.services[i].limits = st->service_limits[g];
	}
	return 0;
}

/* A reload: new caps and handshake deadline for new connections. */
static void set_limits(struct serve_state *st, const struct config *cfg)
{
	conn_limits_set(st->limits, cfg->connections, cfg->connections);
	for (int i = 0; i < SERVE_SERVICE_COUNT; i++) {
		if (st->service_limits[i] != NULL)
			conn_limits_set(st->service_limits[i], cfg->connections_per_service,
					cfg->connections_per_ip);
		st->srv.services[i].tls_timeout = cfg->timeout_tls;
	}
}

static void stop_tick(evutil_socket_t fd, short what, void *arg)
{
	struct serve_state *st = arg;
	(void)fd;
	(void)what;
	/* Commits in flight are always waited for: their clients get their
	 * 250 and nothing acknowledged is lost. Sessions have had their 421
	 * and get a few seconds to take it. */
	st->stop_ticks++;
	bool commits_done = local_delivery_pending(st->srv.local) == 0 &&
			    worker_pending(st->srv.tasks) == 0 &&
			    worker_pending(st->srv.auth) == 0 && serve_queue_idle(&st->srv);
	bool sessions_done = conn_count() == 0 || st->stop_ticks > STOP_SESSIONS_TICKS;
	if ((commits_done && sessions_done) || st->stop_ticks > STOP_GRACE_SECONDS * 10)
		event_base_loopbreak(st->srv.base);
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	struct serve_state *st = arg;
	(void)what;
	if (st->srv.stopping)
		return;
	st->srv.stopping = true;
	log_info("signal %d: stopping", (int)sig);
	for (size_t i = 0; i < st->listener_count; i++)
		listener_close(&st->listeners[i]);
	serve_queue_stop(&st->srv);
	conn_shutdown_all();
	/* Queued password checks would each cost a hash before the stop;
	 * their sessions are saying goodbye anyway. */
	worker_cancel_waiting(st->srv.auth);
	struct timeval tv = { 0, 100000 };
	st->stop_timer = event_new(st->srv.base, -1, EV_PERSIST, stop_tick, st);
	event_add(st->stop_timer, &tv);
}

static void reload(struct serve_state *st, const struct serve_creds *creds)
{
	const char *err = NULL;
	struct config_ref *ref = config_ref_new();
	if (ref == NULL) {
		log_err("reload: out of memory; keeping the running configuration");
		return;
	}
	/* The parent read it as root (it names files only root may read). */
	if (creds != NULL)
		ref->cfg = creds->cfg;
	else if (config_load(st->config_path, &ref->cfg, &err) < 0) {
		log_err("reload: %s; keeping the running configuration", err);
		config_ref_release(&ref);
		return;
	}
	const struct config *cfg = &ref->cfg;
	if (load_tls(&st->srv, cfg, creds, &err) < 0)
		log_err("reload: %s; keeping the old certificate", err);
	config_ref_release(&st->srv.cfg_ref);
	st->srv.cfg_ref = ref;
	st->srv.cfg = cfg;
	set_limits(st, cfg);
	log_info("reload: configuration and TLS reloaded from %s (listen addresses and"
		 " data_dir changes need a restart)", st->config_path);
}

/* SIGHUP. After the drop the key may be root's alone: the privileged
 * parent reads it and its answer (on_priv) does the reload. */
static void on_reload(evutil_socket_t sig, short what, void *arg)
{
	struct serve_state *st = arg;
	(void)sig;
	(void)what;
	if (st->priv_link < 0)
		reload(st, NULL);
	else if (serve_priv_request(st->priv_link) < 0)
		log_err("reload: cannot ask the privileged parent: %s", strerror(errno));
}


static void on_priv(evutil_socket_t fd, short what, void *arg)
{
	struct serve_state *st = arg;
	struct serve_creds *creds = malloc(sizeof *creds);   /* holds a struct config */
	const char *err = "out of memory";
	(void)what;
	int r = creds != NULL ? serve_priv_receive((int)fd, creds, &err) : 2;
	if (r == 1)
		reload(st, creds);
	else if (r == 2)
		log_err("reload: %s; keeping the running configuration", err);
	if (creds != NULL)
		serve_creds_clear(creds);
	free(creds);
	if (r < 0) {
		/* Without it there is no reload, and no one to report our exit:
		 * stop as for SIGTERM. */
		log_err("%s; stopping", err);
		event_del(st->priv_event);
		on_stop(SIGTERM, 0, st);
	}
}

unsigned serve_env_unsigned(const char *name, unsigned max, unsigned dflt)
{
	const char *env = getenv(name);
	unsigned long long n;
	if (env != NULL && str_to_u64(str_from(env), max, &n) == 0 && n > 0)
		return (unsigned)n;
	return dflt;
}

/* Delivery threads: each commits batches on its own, and the file system
 * overlaps their fsyncs. POSTBOX_DELIVERY_THREADS overrides, for measuring. */
static unsigned delivery_threads(void)
{
	return serve_env_unsigned("POSTBOX_DELIVERY_THREADS", 64, 2);
}

static int setup(struct serve_state *st, const char **error_r)
{
	const struct config *cfg = st->srv.cfg;
	struct server *srv = &st->srv;
	if (cfg->log[0] != '\0' && strcmp(cfg->log, "syslog") == 0)
		log_use_syslog("postbox");
	char mail[1024];
	snprintf(mail, sizeof mail, "%s/mail", cfg->data_dir);
	if (fs_mkdir_p(mail, 0700, error_r) < 0)
		return -1;
	if (load_tls(srv, cfg, NULL, error_r) < 0)
		return -1;
	srv->local = local_delivery_new(srv->base, cfg->data_dir, delivery_threads());
	if (srv->local == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	srv->tasks = worker_pool_new(srv->base, ACCESS_THREADS, NULL, NULL);
	if (srv->tasks == NULL || serve_auth_setup(srv) < 0) {
		*error_r = "cannot start worker threads";
		return -1;
	}
	/* IDLE waits for changes the kernel reports; without them it polls
	 * (slower to notice nothing, same promises). */
	const char *werr = NULL;
	srv->watch = watch_new(srv->base, &werr);
	if (srv->watch == NULL)
		log_warn("IDLE will poll folders: %s", werr);
	serve_services_init(srv);
	if (make_limits(st, cfg) < 0) {
		*error_r = "out of memory";
		return -1;
	}
	if (open_listeners(st, error_r) < 0 || serve_priv_drop(cfg, error_r) < 0)
		return -1;
	if (userdb_open(cfg->data_dir, &srv->userdb, error_r) < 0 ||
	    serve_queue_start(srv, error_r) < 0)
		return -1;
	st->sig_term = evsignal_new(srv->base, SIGTERM, on_stop, st);
	st->sig_int = evsignal_new(srv->base, SIGINT, on_stop, st);
	st->sig_hup = evsignal_new(srv->base, SIGHUP, on_reload, st);
	event_add(st->sig_term, NULL);
	event_add(st->sig_int, NULL);
	event_add(st->sig_hup, NULL);
	if (st->priv_link >= 0) {
		st->priv_event = event_new(srv->base, st->priv_link, EV_READ | EV_PERSIST, on_priv,
					   st);
		event_add(st->priv_event, NULL);
	}
	return 0;
}

static void teardown(struct serve_state *st)
{
	for (size_t i = 0; i < st->listener_count; i++)
		listener_close(&st->listeners[i]);
	serve_queue_free(&st->srv);
	local_delivery_free(&st->srv.local);
	worker_pool_free(&st->srv.tasks);
	serve_auth_teardown(&st->srv);
	watch_free(&st->srv.watch);
	userdb_close(&st->srv.userdb);
	if (st->stop_timer)
		event_free(st->stop_timer);
	if (st->priv_event)
		event_free(st->priv_event);
	if (st->priv_link >= 0)
		close(st->priv_link);
	if (st->sig_term) {
		event_free(st->sig_term);
		event_free(st->sig_int);
		event_free(st->sig_hup);
	}
	conn_limits_free(&st->limits);
	for (int i = 0; i < SERVE_SERVICE_COUNT; i++)
		conn_limits_free(&st->service_limits[i]);
	if (st->srv.tls_ctx)
		SSL_CTX_free(st->srv.tls_ctx);
	event_base_free(st->srv.base);
	config_ref_release(&st->srv.cfg_ref);
}

int server_run(const char *config_path, const char **error_r)
{
	struct serve_state st;
	memset(&st, 0, sizeof st);
	st.priv_link = -1;
	mail_store_global_init();
	st.config_path = config_path;
	st.srv.cfg_ref = config_ref_new();
	if (st.srv.cfg_ref == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	if (config_load(st.config_path, &st.srv.cfg_ref->cfg, error_r) < 0) {
		config_ref_release(&st.srv.cfg_ref);
		return -1;
	}
	st.srv.cfg = &st.srv.cfg_ref->cfg;
	signal(SIGPIPE, SIG_IGN);
	int status = 0;
	int forked = serve_priv_check(st.srv.cfg, error_r) < 0 ? -1 :
		     serve_priv_fork(config_path, st.srv.cfg, &st.priv_link, &status, error_r);
	if (forked != 0) {
		/* The privileged parent, once the server has exited. */
		config_ref_release(&st.srv.cfg_ref);
		if (forked == 1 && status != 0) {
			static char err[64];
			snprintf(err, sizeof err, "the server exited with status %d", status);
			*error_r = err;
		}
		return forked == 1 && status == 0 ? 0 : -1;
	}
	evthread_use_pthreads();
	st.srv.base = event_base_new();
	if (st.srv.base == NULL) {
		config_ref_release(&st.srv.cfg_ref);
		*error_r = "cannot create the event loop";
		return -1;
	}
	int rc = 0;
	if (setup(&st, error_r) < 0) {
		rc = -1;
	} else {
		log_info("postbox %s ready (config %s)", st.srv.cfg->hostname, st.config_path);
		event_base_dispatch(st.srv.base);
		log_info("stopped");
	}
	teardown(&st);
	return rc;
}
