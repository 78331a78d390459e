/* The queue's directories: enqueueing a batch, listing, recovery at start
 * (queue_store.h). One message's own life is in queue_msg.c. */
#include "queue/queue_store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "queue/queue_private.h"

int queue_path(const char *data_dir, const char *sub, const char *name, const char *suffix,
	       char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/queue%s%s%s%s%s", data_dir, sub[0] ? "/" : "", sub,
			 name[0] ? "/" : "", name, suffix);
	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int queue_msg_path(const char *data_dir, const char *id, char *out, size_t outlen)
{
	return queue_path(data_dir, QUEUE_ACTIVE, id, "", out, outlen);
}

bool queue_id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n == 0 || n > QUEUE_ID_MAX)
		return false;
	for (; *id != '\0'; id++) {
		char c = *id;
		if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
			return false;
	}
	return true;
}

void queue_new_id(char id[QUEUE_ID_MAX + 1])
{
	static atomic_uint counter;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	snprintf(id, QUEUE_ID_MAX + 1, "%011llXQ%lX%X",
		 (unsigned long long)tv.tv_sec * 1000000ULL + (unsigned long long)tv.tv_usec,
		 (unsigned long)getpid() & 0xffffff, (atomic_fetch_add(&counter, 1) + 1) & 0xfff);
}

/* ---- enqueueing ---- */

struct commit_state {
	char msg[QUEUE_PATH_MAX];   /* active/ID */
	char tmp[QUEUE_PATH_MAX];   /* incoming/ID.env */
	char env[QUEUE_PATH_MAX];   /* active/ID.env */
	int env_fd;
	bool linked, written, renamed;
};

static void fail_item(struct queue_commit *it, const char *why)
{
	if (it->error == NULL) {
		it->error = why;
		log_err("queue %s: %s (%s)", it->env->id, why, strerror(errno));
	}
}

/* Links the message into active/ (before the fsync, so that the inode
 * goes to the disk with its final link count) and writes the envelope
 * to its temporary name. */
static void prepare_item(const char *data_dir, struct queue_commit *it, struct commit_state *cs)
{
	struct buf b;
	const char *id = it->env->id;
	if (!queue_id_ok(id) ||
	    queue_path(data_dir, QUEUE_ACTIVE, id, "", cs->msg, sizeof cs->msg) < 0 ||
	    queue_path(data_dir, QUEUE_INCOMING, id, QUEUE_ENV_SUFFIX, cs->tmp, sizeof cs->tmp) < 0 ||
	    queue_path(data_dir, QUEUE_ACTIVE, id, QUEUE_ENV_SUFFIX, cs->env, sizeof cs->env) < 0) {
		fail_item(it, "bad queue id");
		return;
	}
	/* Held until the envelope is in place (undo_item): recovery, run
	 * by a daemon starting meanwhile, leaves a locked message alone. */
	if (flock(it->spool_fd, LOCK_EX) < 0) {
		fail_item(it, "cannot lock the message");
		return;
	}
	if (link(it->spool_path, cs->msg) < 0) {
		fail_item(it, "cannot link the message into the queue");
		return;
	}
	cs->linked = true;
	buf_init(&b, QUEUE_ENV_FILE_MAX);
	(void)unlink(cs->tmp);
	cs->env_fd = open(cs->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (cs->env_fd < 0) {
		fail_item(it, "cannot create the envelope");
	} else {
		cs->written = true;
		struct iovec iov;
		if (queue_env_format(it->env, &b) < 0) {
			fail_item(it, "envelope too big");
		} else {
			iov = (struct iovec){ b.data, b.len };
			if (fs_write_all(cs->env_fd, &iov, 1) < 0)
				fail_item(it, "cannot write the envelope");
			else
				(void)sync_file_range(cs->env_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		}
	}
	buf_free(&b);
}

/* Message and envelope files of the whole batch, fsync'd together. */
static void sync_items(struct queue_commit **items, struct commit_state *cs, size_t n)
{
	int *fds = calloc(2 * n, sizeof *fds), *errs = calloc(2 * n, sizeof *errs);
	size_t *of = calloc(2 * n, sizeof *of), k = 0;
	if (fds == NULL || errs == NULL || of == NULL) {
		for (size_t i = 0; i < n; i++)
			fail_item(items[i], "out of memory");
	} else {
		for (size_t i = 0; i < n; i++) {
			if (items[i]->error != NULL)
				continue;
			(void)sync_file_range(items[i]->spool_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
			of[k] = i, fds[k++] = items[i]->spool_fd;
			of[k] = i, fds[k++] = cs[i].env_fd;
		}
		fs_fsync_many(fds, errs, k);
		for (size_t j = 0; j < k; j++) {
			errno = errs[j];
			if (errs[j] != 0)
				fail_item(items[of[j]], "fsync failed");
		}
	}
	free(fds);
	free(errs);
	free(of);
}

/* Renames the envelopes into place and fsyncs active/ once. */
static void publish_items(const char *active, struct queue_commit **items,
			  struct commit_state *cs, size_t n)
{
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		if (items[i]->error != NULL)
			continue;
		if (rename(cs[i].tmp, cs[i].env) < 0) {
			fail_item(items[i], "cannot rename the envelope into place");
			continue;
		}
		cs[i].renamed = true;
		any = true;
	}
	const char *err;
	if (any && fs_fsync_dir(active, &err) < 0) {
		for (size_t i = 0; i < n; i++)
			fail_item(items[i], err);
	}
}

/* A failed item leaves nothing queued: its envelope goes first. */
static void undo_item(struct queue_commit *it, struct commit_state *cs)
{
	if (cs->env_fd >= 0)
		close(cs->env_fd);
	cs->env_fd = -1;
	(void)flock(it->spool_fd, LOCK_UN);
	if (it->error == NULL)
		return;
	if (cs->renamed)
		(void)unlink(cs->env);
	else if (cs->written)
		(void)unlink(cs->tmp);
	if (cs->linked)
		(void)unlink(cs->msg);
}

void queue_commit_batch(const char *data_dir, struct queue_commit **items, size_t n)
{
	char active[QUEUE_PATH_MAX];
	const char *err = "queue directory path too long";
	struct commit_state *cs = calloc(n > 0 ? n : 1, sizeof *cs);
	for (size_t i = 0; i < n; i++) {
		items[i]->error = NULL;
		if (cs != NULL)
			cs[i].env_fd = -1;
	}
	if (cs == NULL || queue_path(data_dir, QUEUE_ACTIVE, "", "", active, sizeof active) < 0 ||
	    fs_mkdir_p(active, 0700, &err) < 0) {
		for (size_t i = 0; i < n; i++)
			fail_item(items[i], cs == NULL ? "out of memory" : err);
		free(cs);
		return;
	}
	for (size_t i = 0; i < n; i++)
		prepare_item(data_dir, items[i], &cs[i]);
	sync_items(items, cs, n);
	publish_items(active, items, cs, n);
	for (size_t i = 0; i < n; i++)
		undo_item(items[i], &cs[i]);
	free(cs);
}

/* ---- reading ---- */

int queue_load_env(const char *data_dir, const char *id, struct queue_env *env,
		   size_t *valid_r, size_t *len_r, const char **error_r)
{
	char path[QUEUE_PATH_MAX];
	char *data;
	size_t line;
	memset(env, 0, sizeof *env);
	if (!queue_id_ok(id) ||
	    queue_path(data_dir, QUEUE_ACTIVE, id, QUEUE_ENV_SUFFIX, path, sizeof path) < 0) {
		errno = EINVAL;
		*error_r = "bad queue id";
		return -1;
	}
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		*error_r = errno == ENOENT ? "no such message in the queue" : "cannot open envelope";
		return -1;
	}
	if (fs_read_fd(fd, QUEUE_ENV_FILE_MAX, &data, len_r, error_r) < 0)
		return -1;
	int r = queue_env_parse(data, *len_r, env, valid_r, &line, error_r);
	free(data);
	if (r < 0) {
		errno = EINVAL;
	} else if (strcmp(env->id, id) != 0) {
		queue_env_clear(env);
		*error_r = "envelope names another message";
		errno = EINVAL;
		r = -1;
	}
	return r;
}

int queue_read_env(const char *data_dir, const char *id, struct queue_env *env,
		   const char **error_r)
{
	size_t valid, len;
	return queue_load_env(data_dir, id, env, &valid, &len, error_r);
}

/* "ID.env" with a good ID: copies ID into id. */
static bool env_name(const char *name, char id[QUEUE_ID_MAX + 1])
{
	size_t n = strlen(name), s = strlen(QUEUE_ENV_SUFFIX);
	if (n <= s || n - s > QUEUE_ID_MAX || strcmp(name + n - s, QUEUE_ENV_SUFFIX) != 0)
		return false;
	memcpy(id, name, n - s);
	id[n - s] = '\0';
	return queue_id_ok(id);
}

long queue_scan(const char *data_dir, void (*fn)(const char *id, void *ctx), void *ctx)
{
	char dir[QUEUE_PATH_MAX], id[QUEUE_ID_MAX + 1];
	long count = 0;
	if (queue_path(data_dir, QUEUE_ACTIVE, "", "", dir, sizeof dir) < 0)
		return -1;
	DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (!env_name(e->d_name, id))
			continue;
		count++;
		fn(id, ctx);
	}
	closedir(d);
	return count;
}

/* ---- recovery ---- */

size_t queue_clean_dir(const char *data_dir, const char *sub,
		       bool (*doomed)(int dfd, const struct dirent *e))
{
	char dir[QUEUE_PATH_MAX];
	size_t removed = 0;
	if (queue_path(data_dir, sub, "", "", dir, sizeof dir) < 0)
		return 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' || !doomed(dirfd(d), e))
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) == 0) {
			if (sub[0] != '\0')
				log_info("queue: removed %s/%s, never acknowledged", dir, e->d_name);
			removed++;
		}
	}
	closedir(d);
	return removed;
}

static bool any(int dfd, const struct dirent *e)
{
	(void)dfd;
	(void)e;
	return true;
}

/* In active/: what is neither a message with its envelope nor an
 * envelope with its message. */
/* Someone works on message id right now: it is being enqueued (its
 * committer locks the spool file before linking it here) or changed. */
static bool busy(int dfd, const char *id)
{
	int fd = openat(dfd, id, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool locked = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return locked;
}

static bool orphan(int dfd, const struct dirent *e)
{
	const char *name = e->d_name;
	char id[QUEUE_ID_MAX + 1], env[NAME_MAX + 8];
	struct stat st;
	if (env_name(name, id))
		return fstatat(dfd, id, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT;
	if (queue_id_ok(name)) {
		snprintf(env, sizeof env, "%s%s", name, QUEUE_ENV_SUFFIX);
		return fstatat(dfd, env, &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT &&
		       !busy(dfd, name);
	}
	/* A rewrite's temporary (fs_write_file_durable_at) cut by a crash. */
	const char *tmp = strstr(name, QUEUE_ENV_SUFFIX ".tmp.");
	if (tmp == NULL || (size_t)(tmp - name) > QUEUE_ID_MAX)
		return false;
	memcpy(id, name, (size_t)(tmp - name));
	id[tmp - name] = '\0';
	return !busy(dfd, id);
}

size_t queue_recover(const char *data_dir)
{
	return queue_clean_dir(data_dir, QUEUE_INCOMING, any) +
	       queue_clean_dir(data_dir, QUEUE_ACTIVE, orphan);
}

int queue_request_flush(const char *data_dir, const char **error_r)
{
	char path[QUEUE_PATH_MAX];
	if (queue_path(data_dir, "", QUEUE_FLUSH_NAME, "", path, sizeof path) < 0) {
		*error_r = "queue path too long";
		return -1;
	}
	/* A hint, not data: no fsync. Made anew so that the watcher always
	 * sees a creation. */
	(void)unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		*error_r = errno == ENOENT ? "no queue directory" : "cannot create the flush file";
		return -1;
	}
	close(fd);
	return 0;
}
