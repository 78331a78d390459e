/* One queued message under its lock: state updates appended to the
 * envelope, rewrites, hold, release, removal (queue_store.h). */
#include "queue/queue_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "queue/queue_private.h"

static int active_fd(const struct queue_msg *m)
{
	char dir[QUEUE_PATH_MAX];
	if (queue_path(m->data_dir, QUEUE_ACTIVE, "", "", dir, sizeof dir) < 0)
		return -1;
	return open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

static int open_env_append(struct queue_msg *m)
{
	char path[QUEUE_PATH_MAX];
	if (m->env_fd >= 0)
		close(m->env_fd);
	m->env_fd = -1;
	if (queue_path(m->data_dir, QUEUE_ACTIVE, m->env.id, QUEUE_ENV_SUFFIX, path,
		       sizeof path) < 0)
		return -1;
	m->env_fd = open(path, O_WRONLY | O_APPEND | O_NOFOLLOW | O_CLOEXEC);
	return m->env_fd < 0 ? -1 : 0;
}

/* Writes the envelope anew, updates folded in: the appended records
 * stop growing, and a torn one left by a crash goes away. */
static int rewrite(struct queue_msg *m, const char **error_r)
{
	struct buf b;
	char name[QUEUE_ID_MAX + 8];
	int r = -1;
	buf_init(&b, QUEUE_ENV_FILE_MAX);
	memcpy(name, m->env.id, strlen(m->env.id) + 1);
	strncat(name, QUEUE_ENV_SUFFIX, sizeof name - strlen(name) - 1);
	int dfd = active_fd(m);
	if (dfd < 0)
		*error_r = "cannot open the queue directory";
	else if (queue_env_format(&m->env, &b) < 0)
		*error_r = "envelope too big";
	else if (fs_write_file_durable_at(dfd, name, b.data, b.len, 0600, error_r) < 0)
		;
	else if (open_env_append(m) < 0)
		*error_r = "cannot reopen the envelope";
	else
		r = 0;
	if (r == 0)
		m->env_len = m->base_len = b.len;
	if (dfd >= 0)
		close(dfd);
	buf_free(&b);
	return r;
}

static int read_locked_env(struct queue_msg *m, const char *id, const char **error_r)
{
	size_t len;
	if (queue_load_env(m->data_dir, id, &m->env, &m->env_len, &len, error_r) < 0)
		return -1;
	/* A torn record at the end: rewritten before anything is appended. */
	if (m->env_len < len)
		return rewrite(m, error_r);
	struct buf b;
	buf_init(&b, QUEUE_ENV_FILE_MAX);
	m->base_len = queue_env_format(&m->env, &b) == 0 ? b.len : len;
	buf_free(&b);
	return open_env_append(m) < 0 ? (*error_r = "cannot open envelope", -1) : 0;
}

int queue_open(const char *data_dir, const char *id, bool wait, struct queue_msg *m,
	       const char **error_r)
{
	char path[QUEUE_PATH_MAX];
	memset(m, 0, sizeof *m);
	m->msg_fd = m->env_fd = -1;
	size_t n = strlen(data_dir);
	if (!queue_id_ok(id) || n >= sizeof m->data_dir ||
	    queue_msg_path(data_dir, id, path, sizeof path) < 0) {
		errno = EINVAL;
		*error_r = "bad queue id";
		return -1;
	}
	memcpy(m->data_dir, data_dir, n + 1);
	m->msg_fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (m->msg_fd < 0) {
		*error_r = errno == ENOENT ? "no such message in the queue" : "cannot open message";
		return -1;
	}
	int r;
	while ((r = flock(m->msg_fd, LOCK_EX | (wait ? 0 : LOCK_NB))) < 0 && errno == EINTR)
		;
	if (r < 0) {
		*error_r = errno == EWOULDBLOCK ? "message is locked (being delivered)"
						: "cannot lock message";
	} else if (read_locked_env(m, id, error_r) == 0) {
		return 0;
	}
	int e = errno;
	queue_close(m);
	errno = e;
	return -1;
}

void queue_close(struct queue_msg *m)
{
	if (m->env_fd >= 0)
		close(m->env_fd);
	if (m->msg_fd >= 0)
		close(m->msg_fd);   /* drops the lock */
	m->env_fd = m->msg_fd = -1;
	queue_env_clear(&m->env);
}

/* Appends b and makes it durable: one fdatasync, no directory sync (the
 * file is not renamed). A failed write is cut off again so that the
 * next append does not follow a torn record. */
static int append(struct queue_msg *m, const struct buf *b, const char **error_r)
{
	struct iovec iov = { b->data, b->len };
	if (fs_write_all(m->env_fd, &iov, 1) < 0 || fdatasync(m->env_fd) < 0) {
		int e = errno;
		(void)ftruncate(m->env_fd, (off_t)m->env_len);
		errno = e;
		*error_r = "cannot write the envelope";
		return -1;
	}
	m->env_len += b->len;
	/* Updates never cost more than twice the envelope to read. The
	 * update is durable already: a failed rewrite is tried again at
	 * the next one. */
	const char *err;
	if (m->env_len > 2 * m->base_len + 4096 && rewrite(m, &err) < 0)
		log_warn("queue %s: cannot rewrite the envelope: %s (%s)", m->env.id, err,
			 strerror(errno));
	return 0;
}

int queue_update(struct queue_msg *m, const size_t *idx, size_t n, const char **error_r)
{
	struct buf b;
	int r = 0;
	buf_init(&b, QUEUE_ENV_FILE_MAX);
	for (size_t i = 0; i < n && r == 0; i++)
		r = queue_env_format_update(&m->env, idx[i], &b);
	if (r < 0)
		*error_r = "bad recipient index";
	else if (n > 0)
		r = append(m, &b, error_r);
	buf_free(&b);
	return r;
}

int queue_mark_warned(struct queue_msg *m, const char **error_r)
{
	struct buf b;
	buf_init(&b, 64);
	m->env.warned = true;
	int r = queue_env_format_warned(&b) < 0 ? -1 : append(m, &b, error_r);
	buf_free(&b);
	return r;
}

/* Changes every recipient in state from to state to (due at next when
 * next >= 0) and records them. */
static int move_all(struct queue_msg *m, bool (*match)(const struct queue_rcpt *),
		    enum queue_rcpt_state to, int64_t next, const char **error_r)
{
	size_t *idx = calloc(m->env.rcpt_count + 1, sizeof *idx), n = 0;
	if (idx == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	for (size_t i = 0; i < m->env.rcpt_count; i++) {
		struct queue_rcpt *r = &m->env.rcpts[i];
		if (!match(r))
			continue;
		r->state = to == QUEUE_PENDING && r->attempts > 0 ? QUEUE_DEFERRED : to;
		if (next >= 0)
			r->next = next;
		idx[n++] = i;
	}
	int r = queue_update(m, idx, n, error_r);
	free(idx);
	return r < 0 ? -1 : (int)n;
}

static bool holdable(const struct queue_rcpt *r)
{
	return !queue_state_final(r->state) && r->state != QUEUE_HELD;
}

static bool held(const struct queue_rcpt *r)
{
	return r->state == QUEUE_HELD;
}

int queue_hold(struct queue_msg *m, const char **error_r)
{
	return move_all(m, holdable, QUEUE_HELD, -1, error_r);
}

int queue_release(struct queue_msg *m, int64_t now, const char **error_r)
{
	return move_all(m, held, QUEUE_PENDING, now, error_r);
}

int queue_remove(struct queue_msg *m, const char **error_r)
{
	char name[QUEUE_ID_MAX + 8];
	int r = -1;
	memcpy(name, m->env.id, strlen(m->env.id) + 1);
	strncat(name, QUEUE_ENV_SUFFIX, sizeof name - strlen(name) - 1);
	int dfd = active_fd(m);
	if (dfd < 0)
		*error_r = "cannot open the queue directory";
	else if (unlinkat(dfd, name, 0) < 0)
		*error_r = "cannot remove the envelope";
	/* Without its envelope the message is no longer queued; a crash
	 * before the next line leaves a file that queue_recover removes. */
	else if (unlinkat(dfd, m->env.id, 0) < 0 || fsync(dfd) < 0)
		*error_r = "cannot remove the message file";
	else
		r = 0;
	if (dfd >= 0)
		close(dfd);
	queue_close(m);
	return r;
}
