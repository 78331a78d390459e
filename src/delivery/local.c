#include "delivery/local.h"

#include <errno.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "store/maildir.h"

struct local_delivery {
	struct worker_pool *pool;
	char data_dir[512];
};

/* One link per (job, target). */
struct batch_file {
	struct local_job *job;
	size_t target;
	char root[MAILDIR_PATH_MAX];
	struct maildir md;           /* the target Maildir; md.fd -1 when not open */
	struct maildir_file f;
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

/* Opens the target's Maildir beneath DATA, making it when missing: DATA
 * itself may be a link (the administrator's choice), but no component of
 * mail/DOMAIN/LOCAL/{tmp,new,cur} may be one (the store's readers refuse
 * them too). A refused Maildir fails the delivery for now (4xx): the
 * administrator must look. */
static int open_target(const char *data_dir, int dfd, struct batch_file *bf,
		       const char **err)
{
	struct local_target *t = &bf->job->targets[bf->target];
	if (maildir_user_root(data_dir, t->domain, t->local, bf->root, sizeof bf->root, err) < 0)
		return -1;
	if (dfd < 0) {
		*err = "cannot open the data directory";
		return -1;
	}
	return maildir_open_at(dfd, bf->root + strlen(data_dir) + 1, true, &bf->md, err);
}

/* Phase 1: link each spool file into every target's tmp/, before the
 * fsync: the inode then reaches the disk with its final link count, even
 * on ext4 without a journal, where a link made after the fsync would be
 * written back only later. Readers never look in tmp/. */
static void link_files(const char *data_dir, struct batch_file *files, size_t n)
{
	const char *err;
	/* Once per batch, not per target. */
	int dfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	for (size_t i = 0; i < n; i++) {
		struct batch_file *bf = &files[i];
		struct local_job *job = bf->job;
		if (job->error != NULL)
			continue;
		int r = open_target(data_dir, dfd, bf, &err);
		if (r == 0)
			r = maildir_tmp_link(&bf->md, job->spool_path, job->size, &bf->f, &err);
		/* A Maildir whose tmp/ went away since it was opened is opened
		 * (and repaired) once more. */
		if (r < 0 && errno == ENOENT && bf->md.fd >= 0) {
			maildir_close(&bf->md);
			r = open_target(data_dir, dfd, bf, &err);
			if (r == 0)
				r = maildir_tmp_link(&bf->md, job->spool_path, job->size,
						     &bf->f, &err);
		}
		if (r < 0)
			fail_job(job, err, bf->root);
	}
	if (dfd >= 0)
		close(dfd);
}

/* Phase 2: the files' data and inodes on stable storage. Write-back
 * starts for all of them before the first wait, so their blocks go out
 * together; then they are fsync'd concurrently. Only our own files are
 * flushed: a bulk writer on the same file system does not make us wait
 * for its data (syncfs would). Copies made across file systems are
 * synced one by one. */
static void sync_files(struct worker_job **wjobs, size_t njobs, struct batch_file *files,
		       size_t n)
{
	const char *err;
	int fds[njobs > 0 ? njobs : 1], errs[njobs > 0 ? njobs : 1];
	struct local_job *of[njobs > 0 ? njobs : 1];
	size_t nfds = 0;
	for (size_t j = 0; j < njobs; j++) {
		struct local_job *job = (struct local_job *)wjobs[j];
		if (job->error != NULL)
			continue;
		(void)sync_file_range(job->spool_fd, 0, 0, SYNC_FILE_RANGE_WRITE);
		of[nfds] = job;
		fds[nfds++] = job->spool_fd;
	}
	for (size_t i = 0; i < n; i++)
		maildir_file_start_writeback(&files[i].f);
	fs_fsync_many(fds, errs, nfds);
	for (size_t k = 0; k < nfds; k++) {
		errno = errs[k];
		if (errs[k] != 0)
			fail_job(of[k], "fsync failed", of[k]->spool_path);
	}
	for (size_t i = 0; i < n; i++) {
		if (maildir_file_sync(&files[i].f, &err) < 0)
			fail_job(files[i].job, err, files[i].root);
	}
}

/* Phase 3: tmp/ -> new/. */
static void publish_files(struct batch_file *files, size_t n)
{
	const char *err;
	for (size_t i = 0; i < n; i++) {
		if (files[i].job->error == NULL && files[i].f.in_tmp &&
		    maildir_file_publish(&files[i].f, NULL, &err) < 0)
			fail_job(files[i].job, err, files[i].root);
	}
}

/* Phase 4: each new/ directory once. A failure fails every job with a
 * file in it. */
static void sync_dirs(struct batch_file *files, size_t n)
{
	const char *err;
	for (size_t i = 0; i < n; i++) {
		if (!files[i].f.published)
			continue;
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = files[k].f.published && strcmp(files[k].root, files[i].root) == 0;
		if (seen || maildir_sync_dir(&files[i].md, "new", &err) == 0)
			continue;
		for (size_t k = i; k < n; k++) {
			if (strcmp(files[k].root, files[i].root) == 0)
				fail_job(files[k].job, err, files[i].root);
		}
	}
}

static void run_batch(struct worker_job **wjobs, size_t njobs, void *ctx)
{
	const char *data_dir = ctx;
	size_t n = 0;
	for (size_t j = 0; j < njobs; j++) {
		struct local_job *job = (struct local_job *)wjobs[j];
		job->error = NULL;
		n += job->target_count;
	}
	struct batch_file *files = calloc(n ? n : 1, sizeof *files);
	if (files == NULL) {
		for (size_t j = 0; j < njobs; j++)
			((struct local_job *)wjobs[j])->error = "451 4.3.0 Error: out of memory";
	} else {
		n = 0;
		for (size_t j = 0; j < njobs; j++) {
			struct local_job *job = (struct local_job *)wjobs[j];
			for (size_t t = 0; t < job->target_count; t++, n++) {
				files[n].job = job;
				files[n].target = t;
				files[n].md = (struct maildir){ -1, -1, -1, -1 };
				files[n].f.fd = -1;
			}
		}
		link_files(data_dir, files, n);
		sync_files(wjobs, njobs, files, n);
		publish_files(files, n);
		sync_dirs(files, n);
		/* A failed job leaves nothing behind: no partial delivery. */
		for (size_t i = 0; i < n; i++) {
			if (files[i].job->error != NULL && files[i].md.fd >= 0)
				maildir_file_discard(&files[i].f);
			maildir_close(&files[i].md);
		}
		free(files);
	}
	/* Delivered, or refused: either way the spool file has done its job. */
	for (size_t j = 0; j < njobs; j++) {
		struct local_job *job = (struct local_job *)wjobs[j];
		unlink(job->spool_path);
		job->spool_removed = true;
	}
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
