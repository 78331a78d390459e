/* APPEND, COPY and MOVE, through the one Maildir writer (store/maildir.h).
 * A new message is made durable in the Maildir first (tmp/ -> write ->
 * fsync -> rename into cur/ with its flags -> fsync of cur/) and only then
 * entered in the index, all under the index's write lock so that no other
 * handle's sync can give the file a UID first. COPY hard-links (same file
 * system: no data is written). */
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

struct copied {
	uint32_t src_uid;
	unsigned flags;
	struct newfile nf;
	char src_path[STORE_PATH_MAX * 2];
};

/* Hard-links each source file into dest's tmp/ (no lock held; a copy,
 * fsync'd, across file systems). Messages gone meanwhile are skipped, as
 * RFC 9051 allows for expunged ones. */
static int link_all(struct mfolder *src, const struct maildir *dst_md, const struct msg_row *rows,
		    size_t count, struct copied *c, size_t *n_r, const char **error_r)
{
	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		struct stat st;
		struct copied *x = &c[n];
		snprintf(x->src_path, sizeof x->src_path, "%s/%s", src->dir, rows[i].fname);
		if (stat(x->src_path, &st) < 0)
			continue;
		if (maildir_tmp_link(dst_md, x->src_path, (uint64_t)st.st_size, &x->nf.f,
				     error_r) < 0) {
			if (errno == ENOENT)
				continue;
			goto fail;
		}
		if (maildir_file_sync(&x->nf.f, error_r) < 0 ||
		    newfile_fname(&x->nf, rows[i].flags, error_r) < 0) {
			maildir_file_discard(&x->nf.f);
			goto fail;
		}
		x->src_uid = rows[i].uid;
		x->flags = rows[i].flags;
		n++;
	}
	*n_r = n;
	return 0;
fail:
	for (size_t i = 0; i < n; i++)
		maildir_file_discard(&c[i].nf.f);
	return -1;
}

/* The copy's rows: the message's with a new key, name and modseq, and
 * its cache rows as they are (a hard link has the same bytes). */
static int copy_row(struct mfolder *src, struct mfolder *dst, const struct copied *x,
		    uint32_t uid, const char **error_r)
{
	static const char *const q[4] = {
		"INSERT INTO msgs SELECT ?1, ?3, flags, keywords, ?4, size, vsize, idate, NULL"
		" FROM msgs WHERE id = ?2",
		"INSERT OR REPLACE INTO hdrs SELECT ?1, sent_date, h_from, h_to, h_cc, h_subject,"
		" h_date, h_message_id, h_in_reply_to, h_references FROM hdrs WHERE id = ?2",
		"INSERT OR REPLACE INTO envs SELECT ?1, envelope FROM envs WHERE id = ?2",
		"INSERT OR REPLACE INTO bodies SELECT ?1, bodystructure, body FROM bodies"
		" WHERE id = ?2",
	};
	for (int i = 0; i < 4; i++) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(store_db(dst->ms), q[i], -1, &st, NULL) != SQLITE_OK)
			return store_db_error(dst->ms, "prepare", error_r);
		sqlite3_bind_int64(st, 1, store_key(dst->row.id, uid));
		sqlite3_bind_int64(st, 2, store_key(src->row.id, x->src_uid));
		if (i == 0) {
			sqlite3_bind_text(st, 3, x->nf.fname, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 4, (int64_t)dst->row.modseq);
		}
		int rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return store_db_error(dst->ms, "copy", error_r);
	}
	/* A copy of a message not read yet is not read yet either. */
	sqlite3_stmt *st = store_stmt(dst->ms, ST_MSG_UNREAD);
	if (st == NULL)
		return store_db_error(dst->ms, "prepare", error_r);
	sqlite3_bind_int64(st, 1, store_key(dst->row.id, uid));
	bool unread = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
	sqlite3_reset(st);
	return unread ? store_runs_add(dst, STORE_SET_UNREAD, uid, uid, error_r) : 0;
}

/* Under the write lock: renames into dest's cur/, fsyncs it, indexes the
 * copies and, for MOVE, expunges the sources. */
static int copy_locked(struct mfolder *src, struct mfolder *dst, struct copied *c,
		       size_t n, bool move, struct mail_copy_result *r,
		       const char **error_r)
{
	if (store_folder_row(dst->ms, dst->name, true, &dst->row, error_r) < 0 ||
	    store_folder_row(src->ms, src->name, true, &src->row, error_r) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (maildir_file_publish(&c[i].nf.f, c[i].nf.fname, error_r) < 0)
			return -1;
	}
	if (n > 0 && maildir_sync_dir(c[0].nf.f.md, "cur", error_r) < 0)
		return -1;
	if (store_uids_reserve(dst, n, error_r) < 0)
		return -1;
	r->uidvalidity = dst->row.uidvalidity;
	dst->row.modseq++;
	uint32_t first = dst->row.uidnext;
	for (size_t i = 0; i < n; i++) {
		uint32_t uid = dst->row.uidnext++;
		if (copy_row(src, dst, &c[i], uid, error_r) < 0)
			return -1;
		r->src_uids[i] = c[i].src_uid;
		r->dst_uids[i] = uid;
	}
	r->count = n;
	if ((n > 0 && store_runs_add(dst, STORE_SET_MSGS, first, dst->row.uidnext - 1,
				     error_r) < 0) ||
	    store_folder_row_save(dst->ms, &dst->row, error_r) < 0)
		return -1;
	if (!move)
		return 0;
	/* The same index: the source row may be the destination's. The
	 * source files go after the commit: a crash before that leaves a
	 * duplicate, never a loss. */
	if (store_folder_row(src->ms, src->name, true, &src->row, error_r) < 0)
		return -1;
	src->row.modseq++;
	for (size_t i = 0; i < n; i++) {
		if (store_expunge_row(src, c[i].src_uid, src->row.modseq, error_r) < 0)
			return -1;
	}
	return store_folder_row_save(src->ms, &src->row, error_r);
}

int store_v_copy(struct mail_folder *f, const struct mail_range *uids, size_t n,
		 const char *dest, bool move, struct mail_copy_result *r,
		 const char **error_r)
{
	struct mfolder *src = (struct mfolder *)f, dst;
	struct msg_row *rows = NULL;
	size_t count = 0, linked = 0;
	*r = (struct mail_copy_result){ 0 };
	if (move && (src->open_flags & MAIL_OPEN_READONLY)) {
		*error_r = "folder is read-only";
		return -1;
	}
	if (store_folder_init(src->ms, dest, &dst, error_r) < 0)
		return -1;
	r->uidvalidity = dst.row.uidvalidity;
	if (store_v_folder_sync(f, error_r) < 0 ||
	    store_rows_load(src, uids, n, &rows, &count, error_r) < 0)
		goto fail;
	struct copied *c = calloc(count > 0 ? count : 1, sizeof *c);
	r->src_uids = calloc(count > 0 ? count : 1, sizeof *r->src_uids);
	r->dst_uids = calloc(count > 0 ? count : 1, sizeof *r->dst_uids);
	if (c == NULL || r->src_uids == NULL || r->dst_uids == NULL) {
		free(c);
		*error_r = "out of memory";
		goto fail;
	}
	struct maildir dst_md;
	int rc = maildir_open_at(dst.ms->root_fd, dst.rel, false, &dst_md, error_r);
	if (rc == 0)
		rc = link_all(src, &dst_md, rows, count, c, &linked, error_r);
	if (rc == 0 && (rc = store_begin(src->ms, error_r)) == 0) {
		rc = copy_locked(src, &dst, c, linked, move, r, error_r);
		if (rc == 0)
			rc = store_commit(src->ms, error_r);
		else
			store_rollback(src->ms);
	}
	for (size_t i = 0; i < linked; i++) {
		if (rc < 0)
			maildir_file_discard(&c[i].nf.f);
		else if (move)
			unlink(c[i].src_path);
	}
	maildir_close(&dst_md);
	free(c);
	store_rows_free(&rows, count);
	if (rc < 0)
		mail_copy_result_clear(r);
	return rc;
fail:
	store_rows_free(&rows, count);
	mail_copy_result_clear(r);
	return -1;
}
