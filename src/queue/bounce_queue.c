/* A notification as a message of the queue (bounce.h): the original read
 * back from its message file, the report written as a new spool file. */
#include "queue/bounce.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue_store.h"

#define RETURN_PATH_NULL "Return-Path: <>\n"

/* The original from its offset: all of it when RET=FULL asked for it and
 * it is small enough, else its header section (cut at a line end when
 * longer than BOUNCE_HEADERS_MAX). */
static int read_original(const struct queue_env *env, int msg_fd, char **data_r,
			 size_t *len_r, bool *full_r)
{
	uint64_t body = env->size > env->offset ? env->size - env->offset : 0;
	bool full = env->ret == QUEUE_RET_FULL && body <= BOUNCE_FULL_MAX;
	size_t want = full ? (size_t)body : (size_t)(body < BOUNCE_HEADERS_MAX ? body
								    : BOUNCE_HEADERS_MAX);
	char *p = malloc(want + 1);
	if (p == NULL)
		return -1;
	size_t got = 0;
	while (got < want) {
		ssize_t r = pread(msg_fd, p + got, want - got, (off_t)(env->offset + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	if (!full) {
		char *end = memmem(p, got, "\n\n", 2);
		if (end != NULL) {
			got = (size_t)(end - p) + 1;
		} else {
			while (got > 0 && p[got - 1] != '\n')
				got--;
		}
	}
	*data_r = p;
	*len_r = got;
	*full_r = full;
	return 0;
}

static int write_spool(const char *data_dir, const struct buf *b, struct bounce_out *out,
		       const char **error_r)
{
	const char *err;
	if (spool_create(data_dir, out->env.id, &out->spool, &err) < 0 ||
	    spool_append(&out->spool, RETURN_PATH_NULL, strlen(RETURN_PATH_NULL)) < 0 ||
	    spool_append(&out->spool, b->data, b->len) < 0) {
		*error_r = "cannot write the notification's spool file";
		return -1;
	}
	out->env.size = out->spool.size;
	out->env.offset = strlen(RETURN_PATH_NULL);
	return 0;
}

int bounce_prepare(const char *data_dir, const char *hostname, const struct queue_env *env,
		   int msg_fd, enum bounce_kind kind, const size_t *rcpts, size_t n,
		   int64_t now, int64_t retry_until, struct bounce_out *out,
		   const char **error_r)
{
	char id[QUEUE_ID_MAX + 1];
	size_t *want = calloc(n + 1, sizeof *want), k = 0;
	memset(out, 0, sizeof *out);
	out->spool.fd = -1;
	if (want == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (rcpts[i] < env->rcpt_count && bounce_wanted(&env->rcpts[rcpts[i]], kind))
			want[k++] = rcpts[i];
	}
	/* Never a notification about a notification (RFC 3464 2, RFC 5321 6.1). */
	if (k == 0 || env->sender[0] == '\0') {
		free(want);
		return 1;
	}
	queue_new_id(id);
	struct bounce_in in = {
		.env = env, .kind = kind, .rcpts = want, .rcpt_count = k,
		.reporting_mta = hostname, .bounce_id = id, .now = now,
		.retry_until = retry_until,
	};
	struct buf b;
	char *orig = NULL;
	int r = -1;
	/* The original, and some 2.5 KiB per recipient reported (1,000
	 * with their longest replies fit). */
	buf_init(&b, BOUNCE_FULL_MAX + (16u << 20));
	int got = read_original(env, msg_fd, &orig, &in.orig_len, &in.orig_full);
	in.orig = orig;
	if (got < 0)
		*error_r = "cannot read the original message";
	else if (bounce_build(&in, &b, error_r) < 0)
		;
	else if (queue_env_init(&out->env, id, "", error_r) < 0)
		;
	else {
		out->env.arrival = now;
		out->env.body = bounce_has_8bit(b.data, b.len) ? QUEUE_BODY_8BITMIME : QUEUE_BODY_7BIT;
		out->env.smtputf8 = bounce_has_8bit(env->sender, strlen(env->sender));
		if (queue_env_add_rcpt(&out->env, env->sender, NULL, QUEUE_NOTIFY_NEVER,
				       error_r) == 0 &&
		    write_spool(data_dir, &b, out, error_r) == 0)
			r = 0;
	}
	if (r < 0)
		bounce_out_clear(out);
	free(orig);
	free(want);
	buf_free(&b);
	return r;
}

void bounce_out_clear(struct bounce_out *out)
{
	spool_remove(&out->spool);
	queue_env_clear(&out->env);
}
