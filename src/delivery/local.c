#include "delivery/local.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "store/maildir.h"

struct local_delivery {
	struct worker_pool *pool;
	char data_dir[512];
};

/* One file per (job, target); a job's first file is written, the others
 * are links to it. */
struct batch_file {
	struct local_job *job;
	size_t target;
	struct maildir_file f;
	bool first;
};

static const char *reply_for_errno(int e)
{
	if (e == ENOSPC || e == EDQUOT || e == EFBIG)
		return "452 4.3.1 Error: insufficient system storage";
	return "451 4.3.0 Error: local delivery failed, try again later";
}

static void fail_job(struct local_job *job, const char *why, const char *what)
{
	if (job->error == NULL) {
		int e = errno;
		job->error = reply_for_errno(e);
		log_err("local delivery: %s: %s (%s)", what, why, strerror(e));
	}
}

static int put_file(struct batch_file *bf, const struct batch_file *first, const char *root,
		    const char **err)
{
	return bf->first ? maildir_write_tmp(root, bf->job->iov, bf->job->iovcnt, &bf->f, err)
			 : maildir_link_tmp(&first->f, root, &bf->f, err);
}

/* Phase 1: write (or link) every file into its Maildir's tmp/. The
 * Maildir is made only when it is missing: trying first costs nothing,
 * while creating cur/ new/ tmp/ each time was a few dozen mkdir calls per
 * message. */
static void write_files(const char *data_dir, struct batch_file *files, size_t n)
{
	char root[MAILDIR_PATH_MAX];
	const char *err;
	struct batch_file *first = NULL;
	for (size_t i = 0; i < n; i++) {
		struct batch_file *bf = &files[i];
		struct local_target *t = &bf->job->targets[bf->target];
		if (bf->first)
			first = bf;
		bf->f.fd = -1;
		if (bf->job->error != NULL)
			continue;
		if (maildir_user_root(data_dir, t->domain, t->local, root, sizeof root, &err) < 0) {
			fail_job(bf->job, err, t->local);
			continue;
		}
		int r = put_file(bf, first, root, &err);
		if (r < 0 && errno == ENOENT) {
			r = maildir_create(root, &err);
			if (r == 0)
				r = put_file(bf, first, root, &err);
		}
		if (r < 0) {
			bf->f.tmp_path[0] = '\0';
			fail_job(bf->job, err, root);
		}
	}
}

/* Group commit needs every file on one file system: syncfs() covers only
 * the one it is given. */
static bool same_file_system(struct batch_file *files, size_t n)
{
	dev_t dev = 0;
	bool have = false;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (files[i].f.fd < 0)
			continue;
		if (fstat(files[i].f.fd, &st) < 0 || (have && st.st_dev != dev))
			return false;
		dev = st.st_dev;
		have = true;
	}
	return true;
}

static size_t count_open(const struct batch_file *files, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += files[i].f.fd >= 0;
	return k;
}

/* One syncfs(2) for the whole batch instead of an fsync per file and per
 * directory: the kernel writes all the batch's blocks in one go and waits
 * once, where separate fsyncs each wait for their own writes (on a
 * journalled file system they would share a journal commit; on ext4
 * without a journal, as on our test machines, they do not). It flushes
 * whatever else is dirty on the file system too: a mail store on a disk
 * shared with heavy writers pays for theirs. Since Linux 5.8 it reports write-back errors. For
 * the data phase the files are closed after it; for the directory phase
 * (after the renames) it makes the new/ entries durable. */
static void sync_all(struct batch_file *files, size_t n, bool dirs)
{
	int fd = -1;
	for (size_t i = 0; i < n && fd < 0; i++) {
		if (!dirs && files[i].f.fd >= 0)
			fd = dup(files[i].f.fd);
		else if (dirs && files[i].f.published)
			fd = open(files[i].f.new_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	int r = fd >= 0 ? syncfs(fd) : -1;
	int e = errno;
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < n; i++) {
		if (!dirs && files[i].f.fd >= 0) {
			if (close(files[i].f.fd) < 0 && r == 0) {
				r = -1;
				e = errno;
			}
			files[i].f.fd = -1;
		}
		if (r < 0 && (dirs ? files[i].f.published : files[i].job->error == NULL)) {
			errno = e;
			fail_job(files[i].job, "syncfs failed", dirs ? "new/" : "tmp/");
		}
	}
}

static void sync_dirs(struct batch_file *files, size_t n)
{
	const char *err;
	for (size_t i = 0; i < n; i++) {
		if (!files[i].f.published)
			continue;
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = files[k].f.published &&
			       strcmp(files[k].f.new_dir, files[i].f.new_dir) == 0;
		if (!seen && fs_fsync_dir(files[i].f.new_dir, &err) < 0) {
			/* Every job with a file in this directory failed. */
			for (size_t k = i; k < n; k++) {
				if (strcmp(files[k].f.new_dir, files[i].f.new_dir) == 0)
					fail_job(files[k].job, err, files[i].f.new_dir);
			}
		}
	}
}

static void run_batch(struct worker_job **wjobs, size_t njobs, void *ctx)
{
	const char *data_dir = ctx;
	const char *err;
	size_t n = 0;
	for (size_t j = 0; j < njobs; j++)
		n += ((struct local_job *)wjobs[j])->target_count;
	struct batch_file *files = calloc(n ? n : 1, sizeof *files);
	if (files == NULL) {
		for (size_t j = 0; j < njobs; j++)
			((struct local_job *)wjobs[j])->error = "451 4.3.0 Error: out of memory";
		return;
	}
	n = 0;
	for (size_t j = 0; j < njobs; j++) {
		struct local_job *job = (struct local_job *)wjobs[j];
		job->error = NULL;
		for (size_t t = 0; t < job->target_count; t++) {
			files[n].job = job;
			files[n].target = t;
			files[n].first = t == 0;
			n++;
		}
	}
	write_files(data_dir, files, n);

	/* Phase 2: the files' data and inodes on stable storage. */
	bool one_fs = same_file_system(files, n);
	if (one_fs && count_open(files, n) >= 2) {
		sync_all(files, n, false);
	} else {
		for (size_t i = 0; i < n; i++)
			maildir_file_start_writeback(&files[i].f);
		for (size_t i = 0; i < n; i++) {
			if (files[i].f.fd >= 0 && maildir_file_sync(&files[i].f, &err) < 0)
				fail_job(files[i].job, err, files[i].f.tmp_path);
		}
	}
	/* Phase 3: publish, then make each new/ directory durable once. */
	size_t published = 0;
	for (size_t i = 0; i < n; i++) {
		if (files[i].job->error == NULL &&
		    maildir_file_publish(&files[i].f, &err) < 0)
			fail_job(files[i].job, err, files[i].f.tmp_path);
		published += files[i].f.published;
	}
	if (one_fs && published >= 2)
		sync_all(files, n, true);
	else
		sync_dirs(files, n);
	/* A failed job leaves nothing behind: no partial delivery. */
	for (size_t i = 0; i < n; i++) {
		if (files[i].job->error != NULL && files[i].f.tmp_path[0] != '\0')
			maildir_file_discard(&files[i].f);
	}
	free(files);
}

void local_deliver_now(const char *data_dir, struct local_job **jobs, size_t n)
{
	run_batch((struct worker_job **)jobs, n, (void *)data_dir);
}

static void job_done(struct worker_job *wj)
{
	struct local_job *job = (struct local_job *)wj;
	job->done(job);
}

struct local_delivery *local_delivery_new(struct event_base *base, const char *data_dir,
					  unsigned threads)
{
	struct local_delivery *ld = calloc(1, sizeof *ld);
	if (ld == NULL)
		return NULL;
	size_t len = strlen(data_dir);
	if (len >= sizeof ld->data_dir) {
		free(ld);
		return NULL;
	}
	memcpy(ld->data_dir, data_dir, len + 1);
	ld->pool = worker_pool_new(base, threads, run_batch, ld->data_dir);
	if (ld->pool == NULL) {
		free(ld);
		return NULL;
	}
	return ld;
}

void local_delivery_free(struct local_delivery **ld)
{
	if (*ld == NULL)
		return;
	worker_pool_free(&(*ld)->pool);
	free(*ld);
	*ld = NULL;
}

void local_deliver(struct local_delivery *ld, struct local_job *job)
{
	job->wj.done = job_done;
	worker_submit(ld->pool, &job->wj);
}

size_t local_delivery_pending(const struct local_delivery *ld)
{
	return worker_pending(ld->pool);
}
