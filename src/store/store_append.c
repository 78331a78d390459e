/* APPEND, through the one Maildir writer (store/maildir.h); COPY is in
 * store_copy.c.
 * A new message is made durable in the Maildir first (tmp/ -> write ->
 * fsync -> rename into cur/ with its flags -> fsync of cur/) and only then
 * entered in the index, all under the index's write lock so that no other
 * handle's sync can give the file a UID first. */
#include "store/store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/maildir.h"

/* A new message file of a folder: the Maildir writer's file (tmp/NAME,
 * then cur/NAME:2,FLAGS) and the folder's directory it is made in. */
struct newfile {
	struct maildir_file f;
	char fname[STORE_PATH_MAX];   /* cur/BASE:2,FLAGS, as the index names it */
};

static int newfile_fname(struct newfile *nf, unsigned flags, const char **error_r)
{
	char plain[MAILDIR_NAME_MAX + 8];
	snprintf(plain, sizeof plain, "new/%s", nf->f.name);
	if (store_fname_with_flags(plain, flags, nf->fname, sizeof nf->fname) < 0) {
		*error_r = "mailbox path too long";
		return -1;
	}
	return 0;
}

static int write_tmp(const struct maildir *md, const struct iovec *iov, int iovcnt,
		     uint64_t size, unsigned flags, time_t idate, struct newfile *nf,
		     const char **error_r)
{
	if (maildir_tmp_create(md, size, &nf->f, error_r) < 0)
		return -1;
	/* The internal date is the file's mtime (as in Dovecot's Maildir). */
	struct timespec ts[2] = { { idate, 0 }, { idate, 0 } };
	if (newfile_fname(nf, flags, error_r) < 0 ||
	    maildir_file_write(&nf->f, iov, iovcnt, error_r) < 0) {
		maildir_file_discard(&nf->f);
		return -1;
	}
	if (futimens(nf->f.fd, ts) < 0 || maildir_file_sync(&nf->f, error_r) < 0) {
		*error_r = "cannot write message";
		maildir_file_discard(&nf->f);
		return -1;
	}
	return 0;
}

/* Joins the iovecs for the header parser (one buffer, NUL-terminated). */
static char *join(const struct iovec *iov, int iovcnt, uint64_t size)
{
	char *d = malloc(size + 1), *p = d;
	if (d == NULL)
		return NULL;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(p, iov[i].iov_base, iov[i].iov_len);
		p += iov[i].iov_len;
	}
	*p = '\0';
	return d;
}

static int add_row(struct mfolder *mf, const struct newfile *nf, unsigned flags,
		   const char *kw, const struct msg_facts *f, time_t idate, uint32_t uid,
		   uint64_t modseq, const char **error_r)
{
	struct mstore *ms = mf->ms;
	sqlite3_stmt *st = store_stmt(ms, ST_MSG_ADD);
	if (st == NULL)
		return store_db_error(ms, "prepare", error_r);
	sqlite3_bind_int64(st, 1, store_key(mf->row.id, uid));
	sqlite3_bind_text(st, 2, nf->fname, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)flags);
	sqlite3_bind_text(st, 4, kw, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)modseq);
	sqlite3_bind_int64(st, 6, (int64_t)f->size);
	sqlite3_bind_int64(st, 7, (int64_t)f->vsize);
	sqlite3_bind_int64(st, 8, (int64_t)idate);
	sqlite3_bind_int64(st, 9, (int64_t)f->psize);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_db_error(ms, "add message", error_r);
	if (store_cache_insert(mf, uid, f, error_r) < 0)
		return -1;
	return store_runs_add(mf, STORE_SET_MSGS, uid, uid, error_r);
}

/* Under the write lock: publish the file durably, then index it. */
static int publish(struct mfolder *mf, struct newfile *nf, unsigned flags,
		   const char *kw, const struct msg_facts *f, time_t idate, uint32_t *uid_r,
		   const char **error_r)
{
	if (store_begin(mf->ms, error_r) < 0)
		goto fail;
	if (store_folder_row(mf->ms, mf->name, true, &mf->row, error_r) < 0)
		goto fail_rollback;
	if (maildir_file_publish(&nf->f, nf->fname, error_r) < 0 ||
	    maildir_sync_dir(nf->f.md, "cur", error_r) < 0 ||
	    store_uids_reserve(mf, 1, error_r) < 0)
		goto fail_rollback;
	uint32_t uid = mf->row.uidnext++;
	mf->row.modseq++;
	if (add_row(mf, nf, flags, kw, f, idate, uid, mf->row.modseq, error_r) < 0 ||
	    store_folder_row_save(mf->ms, &mf->row, error_r) < 0 ||
	    store_commit(mf->ms, error_r) < 0)
		goto fail_rollback;
	*uid_r = uid;
	return 0;
fail_rollback:
	store_rollback(mf->ms);
fail:
	maildir_file_discard(&nf->f);
	return -1;
}

int store_v_append(struct mail_store *s, const char *name, const struct iovec *iov,
		   int iovcnt, unsigned flags, const char *keywords, time_t internal_date,
		   uint32_t *uidvalidity_r, uint32_t *uid_r, const char **error_r)
{
	struct mstore *ms = (struct mstore *)s;
	struct mfolder mf;
	struct newfile nf;
	struct msg_facts f;
	uint64_t size = 0;
	for (int i = 0; i < iovcnt; i++)
		size += iov[i].iov_len;
	if (internal_date == 0)
		internal_date = time(NULL);
	flags &= MAIL_FLAGS_ALL;
	if (keywords == NULL)
		keywords = "";
	if (strlen(keywords) >= MAIL_KEYWORDS_MAX) {
		*error_r = "too many keywords";
		return -1;
	}
	if (store_folder_init(ms, name, &mf, error_r) < 0)
		return -1;
	char *data = join(iov, iovcnt, size);
	if (data == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	store_parse_data(data, size, &f);
	free(data);
	struct maildir md;
	int r = maildir_open_at(ms->root_fd, mf.rel, false, &md, error_r);
	if (r == 0) {
		r = write_tmp(&md, iov, iovcnt, size, flags, internal_date, &nf, error_r);
		if (r == 0)
			r = publish(&mf, &nf, flags, keywords, &f, internal_date, uid_r, error_r);
		maildir_close(&md);
	}
	store_facts_free(&f);
	*uidvalidity_r = mf.row.uidvalidity;
	return r;
}
