/* After an attempt (queue_settle.h). */
#include "queue/queue_settle.h"

#include <stdlib.h>

#include "lib/log.h"
#include "queue/bounce.h"

int queue_attempt_line(const struct queue_env *env, size_t i, int64_t now, struct buf *out)
{
	const struct queue_rcpt *r = &env->rcpts[i];
	if (buf_printf(out, "%s: to=<%s>, ", env->id, r->addr) < 0 ||
	    (r->orcpt[0] != '\0' && buf_printf(out, "orig_to=<%s>, ", r->orcpt) < 0) ||
	    buf_printf(out, "relay=%s, delay=%lld, attempts=%u, status=%s (%s)",
		       r->mta[0] != '\0' ? r->mta : "none", (long long)(now - env->arrival),
		       r->attempts, queue_state_name(r->state),
		       r->reply[0] != '\0' ? r->reply : "no reply") < 0)
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

static void log_lines(const struct queue_env *env, const size_t *idx, size_t n, int64_t now)
{
	struct buf b;
	buf_init(&b, 4096);
	for (size_t j = 0; j < n; j++) {
		buf_reset(&b);
		if (queue_attempt_line(env, idx[j], now, &b) == 0)
			log_info("%s", b.data);
	}
	buf_free(&b);
}

/* Step 3: the delay warning for every deferred recipient. */
static int warn(struct queue_msg *m, const struct queue_policy *p, const char *hostname,
		int64_t now, size_t *sel, const char **error_r)
{
	size_t k = 0;
	for (size_t i = 0; i < m->env.rcpt_count; i++) {
		if (m->env.rcpts[i].state == QUEUE_DEFERRED)
			sel[k++] = i;
	}
	if (bounce_enqueue(m->data_dir, hostname, &m->env, m->msg_fd, BOUNCE_DELAYED, sel, k,
			   now, queue_expiry(p, m->env.arrival), error_r) < 0)
		return -1;
	return queue_mark_warned(m, error_r);
}

int queue_settle(struct queue_msg *m, const struct queue_policy *p, const char *hostname,
		 const size_t *idx, size_t n, int64_t now, int64_t *next_r,
		 const char **error_r)
{
	size_t *sel = calloc(m->env.rcpt_count + 1, sizeof *sel);
	int r = -1;
	*next_r = INT64_MAX;
	if (sel == NULL) {
		*error_r = "out of memory";
	} else {
		size_t k = select_state(&m->env, idx, n, QUEUE_BOUNCED, sel);
		if ((k == 0 || bounce_enqueue(m->data_dir, hostname, &m->env, m->msg_fd,
					      BOUNCE_FAILED, sel, k, now, 0, error_r) >= 0) &&
		    queue_update(m, idx, n, error_r) == 0) {
			log_lines(&m->env, idx, n, now);
			r = queue_warn_due(p, &m->env, now) ? warn(m, p, hostname, now, sel, error_r)
							     : 0;
		}
	}
	free(sel);
	if (r == 0)
		*next_r = queue_env_due(&m->env);
	bool done = true;
	for (size_t i = 0; i < m->env.rcpt_count; i++)
		done = done && queue_state_final(m->env.rcpts[i].state);
	if (r == 0 && done)
		return queue_remove(m, error_r);
	queue_close(m);
	return r;
}
