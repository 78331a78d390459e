/* After an attempt (queue_settle.h). */
#include "queue/queue_settle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "queue/bounce.h"

/* The RFC 3463 code at the start of a reply's text ("250 2.0.0 Ok"),
 * else the reply's class ("250 Ok": 2.0.0; no reply: 4.0.0). */
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

int queue_attempt_line(const struct queue_env *env, size_t i, const char *relay, int64_t now,
		       struct buf *out)
{
	const struct queue_rcpt *r = &env->rcpts[i];
	char dsn[16];
	dsn_of(r->reply, dsn);
	if (relay == NULL || relay[0] == '\0')
		relay = r->mta[0] != '\0' ? r->mta : "none";
	if (buf_printf(out, "%s: to=<%s>, ", env->id, r->addr) < 0 ||
	    (r->orcpt[0] != '\0' && buf_printf(out, "orig_to=<%s>, ", r->orcpt) < 0) ||
	    buf_printf(out, "relay=%s, delay=%lld, attempts=%u, dsn=%s, status=%s (%s)", relay,
		       (long long)(now - env->arrival), r->attempts, dsn,
		       queue_state_name(r->state), r->reply[0] != '\0' ? r->reply : "no reply") < 0)
		return -1;
	return 0;
}

/* The recipients of idx[] in state st, into sel; returns how many. */
static size_t select_state(const struct queue_env *env, const size_t *idx, size_t n,
			   enum queue_rcpt_state st, size_t *sel)
{
	size_t k = 0;
	for (size_t j = 0; j < n; j++) {
		if (idx[j] < env->rcpt_count && env->rcpts[idx[j]].state == st)
			sel[k++] = idx[j];
	}
	return k;
}

static void log_lines(const struct queue_env *env, const size_t *idx, size_t n, int64_t now,
		      const struct queue_settle_io *io)
{
	struct buf b;
	buf_init(&b, 4096);
	for (size_t j = 0; j < n; j++) {
		const char *relay = io != NULL && io->relay != NULL ? io->relay(io->ctx, idx[j]) : NULL;
		buf_reset(&b);
		/* Addresses passed the SMTP parser and replies the reply
		 * reader: neither holds a control octet. */
		if (queue_attempt_line(env, idx[j], relay, now, &b) == 0)
			log_info("delivery %s", b.data);
	}
	buf_free(&b);
}

/* A bounce or delay warning for recipients sel[0..k): to the driver's
 * notify hook, or queued (its id then noted in io). 0, or -1. */
static int notice(struct queue_msg *m, const char *hostname, enum bounce_kind kind,
		  const size_t *sel, size_t k, int64_t now, int64_t until,
		  struct queue_settle_io *io, const char **error_r)
{
	struct bounce_out out;
	int r = bounce_prepare(m->data_dir, hostname, &m->env, m->msg_fd, kind, sel, k, now,
			       until, &out, error_r);
	if (r != 0)
		return r < 0 ? -1 : 0;
	if (io == NULL || io->notify == NULL || io->notify(io->ctx, &out) != 0) {
		struct queue_commit c = { .env = &out.env, .spool_path = out.spool.path,
					  .spool_fd = out.spool.fd };
		struct queue_commit *cp = &c;
		queue_commit_batch(m->data_dir, &cp, 1);
		if (c.error != NULL) {
			*error_r = c.error;
			r = -1;
		} else if (io != NULL && io->queued_count < 2) {
			snprintf(io->queued[io->queued_count++], sizeof io->queued[0], "%s",
				 out.env.id);
		}
	}
	bounce_out_clear(&out);
	return r;
}

/* Step 3: the delay warning for every deferred recipient. */
static int warn(struct queue_msg *m, const struct queue_policy *p, const char *hostname,
		int64_t now, size_t *sel, struct queue_settle_io *io, const char **error_r)
{
	size_t k = 0;
	for (size_t i = 0; i < m->env.rcpt_count; i++) {
		if (m->env.rcpts[i].state == QUEUE_DEFERRED)
			sel[k++] = i;
	}
	if (notice(m, hostname, BOUNCE_DELAYED, sel, k, now, queue_expiry(p, m->env.arrival), io,
		   error_r) < 0)
		return -1;
	return queue_mark_warned(m, error_r);
}

int queue_settle(struct queue_msg *m, const struct queue_policy *p, const char *hostname,
		 const size_t *idx, size_t n, int64_t now, struct queue_settle_io *io,
		 int64_t *next_r, const char **error_r)
{
	size_t *sel = calloc(m->env.rcpt_count + 1, sizeof *sel);
	int r = -1;
	*next_r = INT64_MAX;
	if (sel == NULL) {
		*error_r = "out of memory";
	} else {
		size_t k = select_state(&m->env, idx, n, QUEUE_BOUNCED, sel);
		if ((k == 0 || notice(m, hostname, BOUNCE_FAILED, sel, k, now, 0, io, error_r) == 0) &&
		    queue_update(m, idx, n, error_r) == 0) {
			log_lines(&m->env, idx, n, now, io);
			r = queue_warn_due(p, &m->env, now) ? warn(m, p, hostname, now, sel, io, error_r)
							     : 0;
		}
	}
	free(sel);
	if (r == 0)
		*next_r = queue_env_due(&m->env);
	bool done = true;
	for (size_t i = 0; i < m->env.rcpt_count; i++)
		done = done && queue_state_final(m->env.rcpts[i].state);
	if (r == 0 && done) {
		char id[QUEUE_ID_MAX + 1];
		snprintf(id, sizeof id, "%s", m->env.id);
		if (queue_remove(m, error_r) < 0)
			return -1;
		log_info("delivery %s: removed", id);
		return 0;
	}
	queue_close(m);
	return r;
}
