/* The retry policy (queue_sched.h): pure functions of the settings, an
 * envelope and a clock reading. */
#include "queue/queue_sched.h"

#include <string.h>

#include "lib/config.h"

void queue_policy_from_config(struct queue_policy *p, const struct config *cfg)
{
	memset(p, 0, sizeof *p);
	size_t n = cfg->retry_count;
	if (n > sizeof p->retry / sizeof p->retry[0])
		n = sizeof p->retry / sizeof p->retry[0];
	memcpy(p->retry, cfg->retry, n * sizeof p->retry[0]);
	p->retry_count = n;
	if (n == 0) {
		p->retry[0] = 300;
		p->retry_count = 1;
	}
	p->max_age = cfg->max_age;
	p->warn_after = cfg->warn_after;
}

unsigned queue_retry_delay(const struct queue_policy *p, unsigned attempts)
{
	if (p->retry_count == 0)
		return 300;
	size_t i = attempts == 0 ? 0 : attempts - 1;
	return p->retry[i < p->retry_count ? i : p->retry_count - 1];
}

int64_t queue_expiry(const struct queue_policy *p, int64_t arrival)
{
	return arrival + (int64_t)p->max_age;
}

int queue_record_attempt(const struct queue_policy *p, struct queue_env *env, size_t i,
			 int code, const char *mta, const char *reply, int64_t now)
{
	struct queue_rcpt *r = &env->rcpts[i];
	if (queue_env_set_str(&r->reply, reply != NULL ? reply : "", QUEUE_REPLY_MAX) < 0 ||
	    queue_env_set_str(&r->mta, mta != NULL ? mta : "", QUEUE_MTA_MAX) < 0)
		return -1;
	r->attempts++;
	if (code >= 200 && code < 300) {
		r->state = QUEUE_SENT;
	} else if (code >= 500 && code < 600) {
		r->state = QUEUE_BOUNCED;
	} else {
		int64_t expiry = queue_expiry(p, env->arrival);
		int64_t next = now + (int64_t)queue_retry_delay(p, r->attempts);
		if (now >= expiry) {
			r->state = QUEUE_BOUNCED;
		} else {
			r->state = QUEUE_DEFERRED;
			/* One last attempt when the time is up, not a retry
			 * interval after it. */
			r->next = next < expiry ? next : expiry;
		}
	}
	return (int)r->state;
}

int64_t queue_env_due(const struct queue_env *env)
{
	int64_t due = INT64_MAX;
	for (size_t i = 0; i < env->rcpt_count; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		if (!queue_state_final(r->state) && r->state != QUEUE_HELD && r->next < due)
			due = r->next;
	}
	return due;
}

bool queue_warn_due(const struct queue_policy *p, const struct queue_env *env, int64_t now)
{
	if (p->warn_after == 0 || env->warned || env->sender[0] == '\0' ||
	    now < env->arrival + (int64_t)p->warn_after)
		return false;
	for (size_t i = 0; i < env->rcpt_count; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		/* RFC 3461 4.1: without NOTIFY, delays may be reported. */
		if (r->state == QUEUE_DEFERRED &&
		    (r->notify == 0 || (r->notify & QUEUE_NOTIFY_DELAY)))
			return true;
	}
	return false;
}
