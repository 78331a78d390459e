/* The SMTP engine (RFC 5321) for the driver: an smtp/ session and its
 * hooks: the user directory for recipients (looked up on a task thread),
 * password checks (serve_auth.h) and the addresses a user may send as
 * (serve_sender.h) for submission, the spool the message streams into,
 * and delivery/local for the commit. The service's role
 * (serve_services.c) is the session's. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth/userdb.h"
#include "server/serve.h"
#include "server/serve_auth.h"
#include "server/serve_sender.h"
#include "delivery/local.h"
#include "delivery/resolve.h"
#include "lib/log.h"
#include "queue/queue_store.h"
#include "queue/spool.h"
#include "server/serve_queue.h"
#include "smtp/smtp_server.h"

struct smtp_conn {
	struct serve_conn base;      /* first; busy = a lookup or commit in flight */
	struct smtp_server *session;
	struct spool_file spool;     /* the message being received */
	struct local_job job;
	struct timespec commit_start;
	/* a recipient lookup on a task thread */
	struct smtp_mailbox lookup;
	enum smtp_rcpt_verdict verdict;
	struct rcpt_targets *found;
	/* submission: AUTH's password check, then the user's addresses */
	struct serve_auth check;
	struct sender_owned owned;
	bool owned_ok;
	/* the outbound queue's part of a commit */
	size_t return_path_len;      /* the spool's first line, not sent on */
	struct queue_env qenv;
	struct queue_commit qc;
};

/* What a recipient lookup keeps per recipient: the mailboxes it delivers
 * to, and what goes to the outbound queue: the recipient itself when it
 * is not ours (submission), or remote targets of its aliases. */
struct rcpt_targets {
	bool self_remote;
	size_t remote_count;
	char (*remote)[RESOLVE_ADDRESS_MAX];
	size_t count;
	struct local_target t[];
};

static void rcpt_targets_free(struct rcpt_targets *rt)
{
	if (rt != NULL)
		free(rt->remote);
	free(rt);
}

static void smtp_stop(struct serve_conn *sc)
{
	struct smtp_conn *g = (struct smtp_conn *)sc;
	smtp_server_free(&g->session);   /* closes the spool through the hooks */
	spool_remove(&g->spool);
	free(g->job.targets);
	rcpt_targets_free(g->found);
	queue_env_clear(&g->qenv);
	serve_auth_fini(&g->check);
	sender_owned_free(&g->owned);
}

/* ---- the recipient lookup (SQLite): on a task thread ---- */

static enum smtp_rcpt_verdict lookup(struct smtp_conn *g, const char *cid)
{
	const char *err = NULL;
	const struct config *cfg = &g->base.cfg->cfg;
	struct userdb *db = serve_thread_userdb(cfg->data_dir);
	struct resolve_result *res = malloc(sizeof *res);
	if (res == NULL || db == NULL) {
		free(res);
		return SMTP_RCPT_TEMPFAIL;
	}
	int r = resolve_local(db, cfg, g->lookup.local, g->lookup.domain, res, &err);
	if (r <= 0) {
		if (r < 0)
			log_err("smtp %s: recipient lookup failed: %s", cid, err ? err : "?");
		free(res);
		return r == 0 ? SMTP_RCPT_UNKNOWN : SMTP_RCPT_TEMPFAIL;
	}
	struct rcpt_targets *rt = calloc(1, sizeof *rt + res->count * sizeof rt->t[0]);
	if (rt != NULL)
		rt->remote = calloc(res->count, sizeof *rt->remote);
	if (rt == NULL || rt->remote == NULL) {
		rcpt_targets_free(rt);
		free(res);
		return SMTP_RCPT_TEMPFAIL;
	}
	for (size_t i = 0; i < res->count; i++) {
		if (res->rcpt[i].remote) {
			/* An alias for someone elsewhere: forwarded by the queue. */
			snprintf(rt->remote[rt->remote_count++], sizeof rt->remote[0], "%s",
				 res->rcpt[i].address);
			continue;
		}
		struct local_target *t = &rt->t[rt->count++];
		snprintf(t->domain, sizeof t->domain, "%s", res->rcpt[i].domain);
		snprintf(t->local, sizeof t->local, "%s", res->rcpt[i].local);
	}
	free(res);
	if (rt->count == 0 && rt->remote_count == 0) {
		rcpt_targets_free(rt);
		return SMTP_RCPT_TEMPFAIL;
	}
	g->found = rt;
	return SMTP_RCPT_OK;
}

static void run_lookup(struct worker_job *job)
{
	struct smtp_conn *g = (struct smtp_conn *)job;
	g->verdict = lookup(g, conn_id(g->base.conn));
}

static void lookup_done(struct serve_conn *sc)
{
	struct smtp_conn *g = (struct smtp_conn *)sc;
	struct rcpt_targets *found = g->found;
	g->found = NULL;
	smtp_server_rcpt_done(g->session, g->verdict, found);
}

static void rcpt_check(void *ctx, const struct smtp_mailbox *mb)
{
	struct smtp_conn *g = ctx;
	const struct config *cfg = &g->base.cfg->cfg;
	if (mb->literal || !config_is_local_domain(cfg, mb->domain, strlen(mb->domain))) {
		/* Submission and local (the MX role refuses these itself): what
		 * is not ours goes to the outbound queue. */
		struct rcpt_targets *rt = calloc(1, sizeof *rt);
		if (rt != NULL)
			rt->self_remote = true;
		smtp_server_rcpt_done(g->session, rt != NULL ? SMTP_RCPT_OK : SMTP_RCPT_TEMPFAIL,
				      rt);
		return;
	}
	g->lookup = *mb;
	g->found = NULL;
	serve_conn_submit(&g->base, run_lookup, lookup_done);
}

static void rcpt_free(void *ctx, void *data)
{
	(void)ctx;
	rcpt_targets_free(data);
}

/* ---- the spool: written on the loop (page cache only) ---- */

static int spool_open(void *ctx, struct smtp_tx *tx)
{
	struct smtp_conn *g = ctx;
	const char *err = NULL;
	char rp[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 32];
	if (spool_create(g->base.cfg->cfg.data_dir, tx->id, &g->spool, &err) < 0) {
		int e = errno;
		log_err("smtp %s: %s: %s (%s)", conn_id(g->base.conn), tx->id, err, strerror(e));
		errno = e;
		return -1;
	}
	/* RFC 5321 4.4: the final delivery adds Return-Path; with our
	 * Received: it heads the spool file, which is the Maildir file. */
	int n = snprintf(rp, sizeof rp, "Return-Path: <%s>\n", tx->sender);
	g->return_path_len = n > 0 ? (size_t)n : 0;
	if (n < 0 || (size_t)n >= sizeof rp || spool_append(&g->spool, rp, (size_t)n) < 0 ||
	    spool_append(&g->spool, tx->received.data, tx->received.len) < 0) {
		int e = errno;
		spool_remove(&g->spool);
		errno = e;
		return -1;
	}
	return 0;
}

static int spool_write(void *ctx, const char *p, size_t n)
{
	struct smtp_conn *g = ctx;
	return spool_append(&g->spool, p, n);
}

static void spool_close_hook(void *ctx)
{
	struct smtp_conn *g = ctx;
	spool_remove(&g->spool);
}

/* The distinct mailboxes of all recipients: one copy each, even when two
 * recipients (or aliases) lead to the same one. */
static int collect_targets(struct smtp_conn *g, const struct smtp_tx *tx)
{
	size_t max = 0;
	for (size_t i = 0; i < tx->rcpt_count; i++)
		max += ((struct rcpt_targets *)tx->rcpts[i].data)->count;
	free(g->job.targets);
	g->job.targets = malloc((max ? max : 1) * sizeof *g->job.targets);
	g->job.target_count = 0;
	if (g->job.targets == NULL)
		return -1;
	for (size_t i = 0; i < tx->rcpt_count; i++) {
		const struct rcpt_targets *rt = tx->rcpts[i].data;
		for (size_t k = 0; k < rt->count; k++) {
			bool dup = false;
			for (size_t j = 0; j < g->job.target_count && !dup; j++)
				dup = strcmp(g->job.targets[j].local, rt->t[k].local) == 0 &&
				      strcmp(g->job.targets[j].domain, rt->t[k].domain) == 0;
			if (!dup)
				g->job.targets[g->job.target_count++] = rt->t[k];
		}
	}
	return 0;
}

static void commit_done(struct local_job *job);

/* ---- the outbound queue's part: on a task thread, before local delivery
 * (which removes the spool file's incoming name) ---- */

/* The envelope of what goes elsewhere: 0 with no remote recipient (qenv
 * stays empty), 1 with some, -1 when out of memory. */
static int queue_envelope(struct smtp_conn *g, const struct smtp_tx *tx)
{
	const char *err = NULL;
	queue_env_clear(&g->qenv);
	for (size_t i = 0; i < tx->rcpt_count; i++) {
		const struct rcpt_targets *rt = tx->rcpts[i].data;
		for (size_t k = 0; k <= rt->remote_count; k++) {
			const char *addr = k < rt->remote_count ? rt->remote[k] :
					   rt->self_remote ? tx->rcpts[i].address : NULL;
			if (addr == NULL)
				continue;
			if (g->qenv.id[0] == '\0' &&
			    queue_env_init(&g->qenv, tx->id, tx->sender, &err) < 0)
				return -1;
			bool dup = false;
			for (size_t j = 0; j < g->qenv.rcpt_count && !dup; j++)
				dup = strcmp(g->qenv.rcpts[j].addr, addr) == 0;
			if (!dup && queue_env_add_rcpt(&g->qenv, addr, NULL, 0, &err) < 0)
				return -1;
		}
	}
	if (g->qenv.rcpt_count == 0)
		return 0;
	g->qenv.arrival = (int64_t)time(NULL);
	g->qenv.size = g->spool.size;
	g->qenv.offset = g->return_path_len;
	g->qenv.body = tx->body_8bit ? QUEUE_BODY_8BITMIME : QUEUE_BODY_7BIT;
	g->qenv.smtputf8 = tx->smtputf8;
	return 1;
}

static void run_enqueue(struct worker_job *job)
{
	struct smtp_conn *g = (struct smtp_conn *)job;
	struct queue_commit *items[1] = { &g->qc };
	g->qc = (struct queue_commit){ .env = &g->qenv, .spool_path = g->spool.path,
				       .spool_fd = g->spool.fd };
	queue_commit_batch(g->base.cfg->cfg.data_dir, items, 1);
}

static void deliver_locally(struct smtp_conn *g);

static void enqueue_done(struct serve_conn *sc)
{
	struct smtp_conn *g = (struct smtp_conn *)sc;
	const struct smtp_tx *tx = smtp_server_tx(g->session);
	if (g->qc.error != NULL) {
		log_err("smtp %s: %s: not queued: %s", conn_id(sc->conn), tx->id, g->qc.error);
		smtp_server_commit_done(g->session, "451 4.3.0 Error: queue file write error");
		return;
	}
	log_info("smtp %s: %s: from=<%s> size=%zu nrcpt=%zu queued for remote delivery",
		 conn_id(sc->conn), tx->id, tx->sender, tx->size, g->qenv.rcpt_count);
	serve_queue_add(sc->srv, g->qenv.id);
	if (g->job.target_count > 0) {
		deliver_locally(g);
		return;
	}
	smtp_server_commit_done(g->session, NULL);
}

static void commit(void *ctx, struct smtp_tx *tx)
{
	struct smtp_conn *g = ctx;
	int remote = collect_targets(g, tx) < 0 ? -1 : queue_envelope(g, tx);
	if (remote < 0) {
		smtp_server_commit_done(g->session, "451 4.3.0 Error: out of memory");
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &g->commit_start);
	if (remote > 0)
		serve_conn_submit(&g->base, run_enqueue, enqueue_done);
	else
		deliver_locally(g);
}

static void deliver_locally(struct smtp_conn *g)
{
	g->job.spool_path = g->spool.path;
	g->job.spool_fd = g->spool.fd;
	g->job.size = g->spool.size;
	g->job.spool_removed = false;
	g->job.error = NULL;
	g->job.done = commit_done;
	g->job.ctx = g;
	serve_conn_hold(&g->base);
	local_deliver(g->base.srv->local, &g->job);
}

static void log_delivery(struct smtp_conn *g, const struct smtp_tx *tx)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	long ms = (now.tv_sec - g->commit_start.tv_sec) * 1000 +
		  (now.tv_nsec - g->commit_start.tv_nsec) / 1000000;
	char rcpts[512];
	size_t o = 0;
	rcpts[0] = '\0';
	for (size_t i = 0; i < g->job.target_count && o < sizeof rcpts - 1; i++) {
		int w = snprintf(rcpts + o, sizeof rcpts - o, "%s%s@%s", i ? "," : "",
				 g->job.targets[i].local, g->job.targets[i].domain);
		o = w < 0 ? o : o + (size_t)w;
	}
	log_info("smtp %s: %s: from=<%s> size=%zu nrcpt=%zu to=%s delivered to maildir (%ld ms)",
		 conn_id(g->base.conn), tx->id, tx->sender, tx->size, g->job.target_count, rcpts, ms);
}

static void commit_done(struct local_job *job)
{
	struct smtp_conn *g = job->ctx;
	if (job->spool_removed)
		g->spool.path[0] = '\0';   /* the worker unlinked it */
	if (!serve_conn_back(&g->base))
		return;
	/* The transaction is still intact here: log it before it is reset. */
	if (job->error == NULL)
		log_delivery(g, smtp_server_tx(g->session));
	smtp_server_commit_done(g->session, job->error);
	serve_conn_answered(&g->base);
}

/* ---- AUTH (submission): the check, then the user's addresses ---- */

static void run_owned(struct worker_job *job)
{
	struct smtp_conn *g = (struct smtp_conn *)job;
	const char *err = NULL;
	struct userdb *db = serve_thread_userdb(g->base.cfg->cfg.data_dir);
	g->owned_ok = db != NULL &&
		      sender_owned_lookup(db, g->check.user, SMTP_OWNED_MAX, &g->owned, &err) == 0;
	if (db != NULL && !g->owned_ok)
		log_err("smtp %s: addresses of %s: %s", conn_id(g->base.conn), g->check.user,
			err ? err : "?");
}

static void owned_done(struct serve_conn *sc)
{
	struct smtp_conn *g = (struct smtp_conn *)sc;
	if (g->owned_ok)
		log_info("smtp %s: login ok for %s from [%s]", conn_id(sc->conn), g->check.user,
			 conn_peer(sc->conn));
	smtp_server_auth_done(g->session, g->owned_ok ? SMTP_AUTH_OK : SMTP_AUTH_TEMPFAIL,
			      g->check.user, (const char *const *)g->owned.v, g->owned.n);
	sender_owned_free(&g->owned);
}

/* The password check's answer, after its penalty delay: a match reads
 * the user's addresses on a worker. */
static void check_answer(struct serve_conn *sc, int result, bool close)
{
	struct smtp_conn *g = (struct smtp_conn *)sc;
	if (result == 1 && !sc->shutting_down) {
		serve_conn_submit(sc, run_owned, owned_done);
		return;
	}
	smtp_server_auth_done(g->session, result == 0 ? (close ? SMTP_AUTH_FAILED_CLOSE
							     : SMTP_AUTH_FAILED)
						 : SMTP_AUTH_TEMPFAIL, g->check.user, NULL, 0);
}

static void auth_check(void *ctx, const char *user, const char *password)
{
	struct smtp_conn *g = ctx;
	serve_auth_check(&g->check, user, password);
}

static const struct smtp_server_hooks hooks = {
	.rcpt_check = rcpt_check,
	.rcpt_free = rcpt_free,
	.spool_open = spool_open,
	.spool_write = spool_write,
	.spool_close = spool_close_hook,
	.commit = commit,
	.auth_check = auth_check,
};
/* The local socket's peer: its login name (local_r, "" when the uid has
 * none) and whether it stands for the system. The server's own user is
 * ours after the privilege drop (or the one we run as). getpwuid_r reads
 * the password database once per connection, as postdrop does. */
static bool local_peer(const struct conn *c, char *login_r, size_t len)
{
	uid_t uid = (uid_t)conn_peer_uid(c);
	struct passwd pw, *found = NULL;
	char pwbuf[4096];
	login_r[0] = '\0';
	if (getpwuid_r(uid, &pw, pwbuf, sizeof pwbuf, &found) == 0 && found != NULL)
		snprintf(login_r, len, "%s", pw.pw_name);
	return uid == 0 || uid == getuid();
}

static int smtp_start(struct serve_conn *sc)
{
	struct smtp_conn *g = (struct smtp_conn *)sc;
	struct conn *c = sc->conn;
	g->spool.fd = -1;
	const struct config *cfg = &sc->cfg->cfg;
	struct smtp_server_settings set = {
		.role = (enum smtp_role)sc->service->role,
		.hostname = cfg->hostname,
		.message_size = cfg->message_size,
		.max_recipients = cfg->recipients,
		.max_header = 1024 * 1024,
		.max_hops = 50,
		.max_errors = 20,
		.tls_available = sc->srv->tls_ctx != NULL,
		.plaintext_auth = cfg->plaintext_auth_loopback && conn_peer_is_loopback(c),
		.cfg = cfg,
	};
	char login[64];
	if (set.role == SMTP_ROLE_LOCAL) {
		set.local_any_sender = local_peer(c, login, sizeof login);
		set.local_uid = (unsigned long)conn_peer_uid(c);
		set.local_user = login;
	}
	serve_auth_init(&g->check, sc, "submission", check_answer);
	g->session = smtp_server_new(&set, &hooks, g, conn_id(c), conn_peer(c), conn_is_tls(c),
				     conn_tls_info(c));
	return g->session != NULL ? 0 : -1;
}

static void smtp_greet(struct serve_conn *sc)
{
	smtp_server_greet(((struct smtp_conn *)sc)->session);
}

static size_t smtp_feed(struct serve_conn *sc, const char *data, size_t len)
{
	return smtp_server_input(((struct smtp_conn *)sc)->session, data, len);
}

static struct buf *smtp_output(struct serve_conn *sc)
{
	return smtp_server_output(((struct smtp_conn *)sc)->session);
}

static enum serve_next smtp_next(struct serve_conn *sc, bool begun, enum serve_wait *wait_r)
{
	struct smtp_server *s = ((struct smtp_conn *)sc)->session;
	enum smtp_state st = smtp_server_state(s);
	(void)begun;
	if (smtp_server_want_starttls(s))
		return SERVE_NEXT_STARTTLS;
	if (smtp_server_want_close(s))
		return SERVE_NEXT_CLOSE;
	if (smtp_server_busy(s))
		return SERVE_NEXT_HOLD;   /* a password check's answer */
	*wait_r = st == SMTP_STATE_DATA || st == SMTP_STATE_BDAT ? SERVE_WAIT_DATA
								  : SERVE_WAIT_COMMAND;
	return SERVE_NEXT_READ;
}

static void smtp_goodbye(struct serve_conn *sc, enum serve_bye why)
{
	serve_auth_fini(&((struct smtp_conn *)sc)->check);
	smtp_server_goodbye(((struct smtp_conn *)sc)->session,
			    why == SERVE_BYE_TIMEOUT ? "421 4.4.2 Error: timeout exceeded"
						     : "421 4.3.2 Service shutting down");
}

static void smtp_tls_started(struct serve_conn *sc)
{
	smtp_server_tls_started(((struct smtp_conn *)sc)->session, conn_tls_info(sc->conn));
}

static void smtp_setup(struct server *srv)
{
	/* Spool files left by a crash were never acknowledged: their
	 * clients send them again. */
	size_t stale = spool_clean(srv->cfg->data_dir);
	if (stale > 0)
		log_info("smtp: removed %zu unacknowledged spool files", stale);
}

const struct serve_engine serve_smtp_engine = {
	.name = "smtp",
	.busy_reply = "421 4.7.0 Error: too many connections\r\n",
	.size = sizeof(struct smtp_conn),
	.output_keep = SERVE_OUTPUT_KEEP,
	.setup = smtp_setup,
	.start = smtp_start,
	.greet = smtp_greet,
	.stop = smtp_stop,
	.feed = smtp_feed,
	.output = smtp_output,
	.next = smtp_next,
	.goodbye = smtp_goodbye,
	.tls_started = smtp_tls_started,
};
