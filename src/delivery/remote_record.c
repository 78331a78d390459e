/* Step 4 of an attempt (remote.h), on a worker: each recipient's outcome
 * made durable, one log line each, the bounce and the delay warning, and
 * the message removed once nothing is left to do. */
#include "delivery/remote_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth/userdb.h"
#include "delivery/local.h"
#include "delivery/resolve.h"
#include "lib/log.h"
#include "queue/bounce.h"

static const char *status_word(int state)
{
	return state == QUEUE_SENT ? "sent" : state == QUEUE_BOUNCED ? "bounced" : "deferred";
}

/* The RFC 3463 code at the start of a reply's text ("250 2.0.0 Ok"). */
static void dsn_of(const char *reply, char out[16])
{
	const char *p = strchr(reply, ' ');
	size_t n = 0;
	if (p != NULL && p[1] >= '2' && p[1] <= '5' && p[2] == '.') {
		p++;
		while (n < 15 && p[n] != '\0' && p[n] != ' ')
			n++;
		memcpy(out, p, n);
	}
	out[n] = '\0';
	if (n == 0)
		snprintf(out, 16, "%c.0.0", reply[0] >= '2' && reply[0] <= '5' ? reply[0] : '4');
}

static void log_outcome(const struct remote_attempt *a, size_t i, int state)
{
	const struct remote_result *r = &a->res[i];
	char dsn[16];
	dsn_of(r->reply, dsn);
	/* Addresses passed the SMTP parser and replies the reply reader:
	 * neither holds a control octet. */
	log_info("delivery %s: to=<%.320s> relay=%s dsn=%s status=%s (%.1000s)", a->id,
		 a->msg.env.rcpts[i].addr, r->relay[0] ? r->relay : "none", dsn,
		 status_word(state), r->reply);
}

static bool domain_is_local(const struct config *cfg, const char *addr)
{
	const char *at = strrchr(addr, '@');
	if (at == NULL)
		return false;
	for (size_t d = 0; d < cfg->domain_count; d++) {
		if (strcasecmp(cfg->domains[d], at + 1) == 0)
			return true;
	}
	return false;
}

/* A notification to a sender of ours goes straight into their Maildir,
 * through their aliases, as mail from outside would. */
static void deliver_locally(struct remote_attempt *a, struct bounce_out *out)
{
	const char *sender = a->msg.env.sender, *at = strrchr(sender, '@');
	struct userdb *db = a->rc->thread_userdb(a->cfg->data_dir);
	struct resolve_result *res = malloc(sizeof *res);
	struct local_target *t = calloc(RESOLVE_MAX_TARGETS, sizeof *t);
	char local[65];
	const char *error = NULL;
	int r = -1;
	if (at != NULL && (size_t)(at - sender) < sizeof local && db != NULL && res != NULL &&
	    t != NULL) {
		snprintf(local, sizeof local, "%.*s", (int)(at - sender), sender);
		r = resolve_local(db, a->cfg, local, at + 1, res, &error);
	}
	size_t n = 0;
	for (size_t i = 0; r > 0 && i < res->count; i++) {
		if (res->rcpt[i].remote)
			continue;
		snprintf(t[n].domain, sizeof t[n].domain, "%s", res->rcpt[i].domain);
		snprintf(t[n].local, sizeof t[n].local, "%s", res->rcpt[i].local);
		n++;
	}
	if (n == 0) {
		log_warn("delivery %s: notification to <%.320s> dropped: %s", a->id, sender,
			 r == 0 ? "no such local user" : error ? error : "lookup failed");
	} else {
		struct local_job job = { .spool_path = out->spool.path, .spool_fd = out->spool.fd,
					 .size = out->spool.size, .targets = t, .target_count = n };
		struct local_job *jobs[1] = { &job };
		local_deliver_now(a->cfg->data_dir, jobs, 1);
		if (job.error != NULL)
			log_err("delivery %s: notification to <%.320s> not delivered: %s", a->id,
				sender, job.error);
		else
			log_info("delivery %s: notification to <%.320s> delivered locally", a->id,
				 sender);
		if (job.spool_removed)
			out->spool.path[0] = '\0';
	}
	free(res);
	free(t);
}

/* A bounce or a delay warning for recipients idx[0..n). */
static void notify(struct remote_attempt *a, enum bounce_kind kind, const size_t *idx, size_t n)
{
	const struct queue_env *env = &a->msg.env;
	struct bounce_out out;
	const char *error = NULL;
	int r = bounce_prepare(a->cfg->data_dir, a->cfg->hostname, env, a->msg.msg_fd, kind, idx,
			       n, a->now, queue_expiry(a->policy, env->arrival), &out, &error);
	if (r != 0) {
		if (r < 0)
			log_err("delivery %s: no notification: %s", a->id, error ? error : "?");
		return;
	}
	if (domain_is_local(a->cfg, env->sender)) {
		deliver_locally(a, &out);
	} else {
		struct queue_commit item = { .env = &out.env, .spool_path = out.spool.path,
					     .spool_fd = out.spool.fd };
		struct queue_commit *items[1] = { &item };
		queue_commit_batch(a->cfg->data_dir, items, 1);
		if (item.error != NULL)
			log_err("delivery %s: notification not queued: %s", a->id, item.error);
		else
			snprintf(a->bounce_id, sizeof a->bounce_id, "%s", out.env.id);
	}
	bounce_out_clear(&out);
}

static void warn_if_due(struct remote_attempt *a, size_t *idx)
{
	struct queue_env *env = &a->msg.env;
	if (!queue_warn_due(a->policy, env, a->now))
		return;
	size_t n = 0;
	for (size_t i = 0; i < env->rcpt_count; i++) {
		if (env->rcpts[i].state == QUEUE_DEFERRED)
			idx[n++] = i;
	}
	const char *error = NULL;
	notify(a, BOUNCE_DELAYED, idx, n);
	if (queue_mark_warned(&a->msg, &error) < 0)
		log_err("delivery %s: %s", a->id, error);
}

static bool all_final(const struct queue_env *env)
{
	for (size_t i = 0; i < env->rcpt_count; i++) {
		if (!queue_state_final(env->rcpts[i].state))
			return false;
	}
	return true;
}

static void record_run(struct worker_job *job)
{
	struct remote_attempt *a = (struct remote_attempt *)job;
	struct queue_env *env = &a->msg.env;
	size_t *changed = calloc(env->rcpt_count + 1, sizeof *changed);
	size_t *bounced = calloc(env->rcpt_count + 1, sizeof *bounced);
	size_t nc = 0, nb = 0;
	const char *error = NULL;
	for (size_t i = 0; changed != NULL && bounced != NULL && i < env->rcpt_count; i++) {
		struct remote_result *r = &a->res[i];
		if (!r->tried)
			continue;
		int st = queue_record_attempt(a->policy, env, i, r->code, r->mta[0] ? r->mta : NULL,
					      r->reply, a->now);
		if (st < 0)
			continue;
		changed[nc++] = i;
		if (st == QUEUE_BOUNCED)
			bounced[nb++] = i;
		log_outcome(a, i, st);
	}
	/* Not durable: the attempt is made again, and no bounce goes out
	 * now that would go out twice then. */
	if (nc > 0 && queue_update(&a->msg, changed, nc, &error) < 0) {
		log_err("delivery %s: %s", a->id, error);
		nb = 0;
	}
	if (nb > 0)
		notify(a, BOUNCE_FAILED, bounced, nb);
	if (changed != NULL)
		warn_if_due(a, changed);
	free(changed);
	free(bounced);
	if (all_final(env)) {
		if (queue_remove(&a->msg, &error) < 0)
			log_err("delivery %s: %s", a->id, error);
		else
			log_info("delivery %s: removed", a->id);
		a->next_due = INT64_MAX;
		return;
	}
	a->next_due = queue_env_due(env);
	queue_close(&a->msg);
}

static void record_done(struct worker_job *job)
{
	remote_finish((struct remote_attempt *)job);
}

void remote_record(struct remote_attempt *a)
{
	a->job.run = record_run;
	a->job.done = record_done;
	worker_submit(a->rc->pool, &a->job);
}
