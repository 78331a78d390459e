/* Step 4 of an attempt (remote.h), on a worker: each recipient's outcome
 * recorded, then queue_settle (the bounce, the states made durable, one
 * log line each, the delay warning, the message removed once nothing is
 * left to do); a notification to a sender of ours goes to local delivery
 * here. */
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
#include "queue/queue_settle.h"

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

/* queue_settle's notify hook: a notification to a sender of ours is
 * delivered now (0), any other is queued (1). */
static int notify_local(void *ctx, struct bounce_out *out)
{
	struct remote_attempt *a = ctx;
	if (!domain_is_local(a->cfg, a->msg.env.sender))
		return 1;
	deliver_locally(a, out);
	return 0;
}

/* queue_settle's relay hook: where this attempt's reply came from. */
static const char *relay_of(void *ctx, size_t i)
{
	struct remote_attempt *a = ctx;
	return i < a->res_count && a->res[i].relay[0] ? a->res[i].relay : NULL;
}

static void record_run(struct worker_job *job)
{
	struct remote_attempt *a = (struct remote_attempt *)job;
	struct queue_env *env = &a->msg.env;
	size_t *changed = calloc(env->rcpt_count + 1, sizeof *changed);
	size_t nc = 0;
	const char *error = NULL;
	for (size_t i = 0; changed != NULL && i < env->rcpt_count; i++) {
		struct remote_result *r = &a->res[i];
		if (r->tried && queue_record_attempt(a->policy, env, i, r->code,
						     r->mta[0] ? r->mta : NULL, r->reply, a->now) >= 0)
			changed[nc++] = i;
	}
	struct queue_settle_io io = { .notify = notify_local, .relay = relay_of, .ctx = a };
	if (queue_settle(&a->msg, a->policy, a->cfg->hostname, changed, nc, a->now, &io,
			 &a->next_due, &error) < 0) {
		/* What is not on disk is done again: in a minute, as for a
		 * message locked by an admin, not at the next start. */
		log_err("delivery %s: %s", a->id, error ? error : "?");
		a->next_due = a->now + 60;
	}
	/* The index learns of one notification; a second in the same attempt
	 * (a bounce and a delay warning together) waits for the next start. */
	if (io.queued_count > 0)
		snprintf(a->bounce_id, sizeof a->bounce_id, "%s", io.queued[0]);
	free(changed);
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
