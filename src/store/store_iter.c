/* Listing messages from the index (FETCH, SEARCH, SORT), opening message
 * files, and expunge. */
#include "store/store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct miter {
	struct mail_iter it;
	struct mfolder *mf;
	struct mail_range *ranges;
	size_t n, i;
	unsigned fields;
	bool full, active;
	sqlite3_stmt *st;       /* private, so iterators may nest */
	struct mail_msg msg;
	struct msg_facts filled;
};

#define ITER_BASIC "SELECT m.uid, m.flags, m.keywords, m.modseq, m.size, m.vsize," \
	" m.idate, m.sent_date, m.fname"
#define ITER_WHERE " WHERE m.folder_id = ?1 AND m.uid BETWEEN ?2 AND ?3 ORDER BY m.uid"

int store_v_iter_init(struct mail_folder *f, const struct mail_range *uids, size_t n,
		      unsigned fields, struct mail_iter **it_r, const char **error_r)
{
	static const char basic[] = ITER_BASIC " FROM msgs m" ITER_WHERE;
	static const char full[] = ITER_BASIC ", c.header, c.envelope, c.bodystructure,"
		" c.body, c.h_from, c.h_to, c.h_cc, c.h_subject, c.h_date, c.h_message_id,"
		" c.h_in_reply_to, c.h_references FROM msgs m LEFT JOIN cache c"
		" ON c.folder_id = m.folder_id AND c.uid = m.uid" ITER_WHERE;
	struct mfolder *mf = (struct mfolder *)f;
	struct miter *it = calloc(1, sizeof *it);
	if (it == NULL || (it->ranges = malloc((n > 0 ? n : 1) * sizeof *uids)) == NULL) {
		free(it);
		*error_r = "out of memory";
		return -1;
	}
	if (n > 0)
		memcpy(it->ranges, uids, n * sizeof *uids);
	it->it.folder = f;
	it->mf = mf;
	it->n = n;
	it->fields = fields;
	it->full = fields != 0;
	/* The joined form only when cached fields are wanted: FLAGS-only
	 * listings read the narrow msgs rows alone. */
	const char *q = it->full ? full : basic;
	if (sqlite3_prepare_v3(mf->ms->db, q, -1, 0, &it->st, NULL) != SQLITE_OK) {
		store_db_error(mf->ms, "prepare", error_r);
		free(it->ranges);
		free(it);
		return -1;
	}
	*it_r = &it->it;
	return 0;
}

static const char *col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* Fills the cache of a message synced before a MIME parser was there. */
static void fill_cache(struct miter *it)
{
	char path[STORE_PATH_MAX * 2];
	const char *err;
	struct mail_msg *m = &it->msg;
	store_facts_free(&it->filled);
	snprintf(path, sizeof path, "%s/%s", it->mf->dir, m->filename);
	if (store_parse_file(path, &it->filled, &err) < 0 || it->filled.envelope == NULL)
		return;
	sqlite3_stmt *st = store_stmt(it->mf->ms, ST_CACHE_ADD);
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, it->mf->row.id);
		sqlite3_bind_int64(st, 2, m->uid);
		store_facts_bind(st, &it->filled);
		(void)sqlite3_step(st);   /* only a cache: a busy index is fine */
		sqlite3_reset(st);
	}
	m->envelope = it->filled.envelope;
	m->bodystructure = it->filled.bodystructure;
	m->body = it->filled.body;
}

static void read_row(struct miter *it)
{
	sqlite3_stmt *st = it->st;
	struct mail_msg *m = &it->msg;
	*m = (struct mail_msg){ 0 };
	m->uid = (uint32_t)sqlite3_column_int64(st, 0);
	m->flags = (unsigned)sqlite3_column_int(st, 1);
	m->keywords = col(st, 2);
	m->modseq = (uint64_t)sqlite3_column_int64(st, 3);
	m->size = (uint64_t)sqlite3_column_int64(st, 4);
	m->vsize = (uint64_t)sqlite3_column_int64(st, 5);
	m->internal_date = (time_t)sqlite3_column_int64(st, 6);
	m->date_sent = (time_t)sqlite3_column_int64(st, 7);
	m->filename = col(st, 8);
	if (!it->full)
		return;
	unsigned f = it->fields;
	if (f & MAIL_FETCH_HEADER_RAW)
		m->header_raw = col(st, 9);
	if (f & MAIL_FETCH_ENVELOPE)
		m->envelope = col(st, 10);
	if (f & MAIL_FETCH_BODYSTRUCTURE) {
		m->bodystructure = col(st, 11);
		m->body = col(st, 12);
	}
	if (f & MAIL_FETCH_HEADERS) {
		const char **h[8] = { &m->h_from, &m->h_to, &m->h_cc, &m->h_subject,
				      &m->h_date, &m->h_message_id, &m->h_in_reply_to,
				      &m->h_references };
		for (int i = 0; i < 8; i++)
			*h[i] = col(st, 13 + i);
	}
	bool want = (f & MAIL_FETCH_ENVELOPE && m->envelope == NULL) ||
		    (f & MAIL_FETCH_BODYSTRUCTURE && m->bodystructure == NULL);
	if (want && store_parser() != NULL)
		fill_cache(it);
}

int store_v_iter_next(struct mail_iter *mit, const struct mail_msg **msg_r,
		      const char **error_r)
{
	struct miter *it = (struct miter *)mit;
	for (;;) {
		if (!it->active) {
			if (it->i >= it->n)
				return 0;
			sqlite3_reset(it->st);
			sqlite3_bind_int64(it->st, 1, it->mf->row.id);
			sqlite3_bind_int64(it->st, 2, it->ranges[it->i].lo);
			sqlite3_bind_int64(it->st, 3, it->ranges[it->i].hi);
			it->active = true;
		}
		int rc = sqlite3_step(it->st);
		if (rc == SQLITE_DONE) {
			it->active = false;
			it->i++;
			continue;
		}
		if (rc != SQLITE_ROW)
			return store_db_error(it->mf->ms, "list", error_r);
		uint32_t uid = (uint32_t)sqlite3_column_int64(it->st, 0);
		uint32_t seq = store_v_uid_to_seq(&it->mf->folder, uid);
		if (seq == 0)
			continue;   /* not in the client's view yet */
		read_row(it);
		it->msg.seq = seq;
		*msg_r = &it->msg;
		return 1;
	}
}

void store_v_iter_deinit(struct mail_iter *mit)
{
	struct miter *it = (struct miter *)mit;
	sqlite3_finalize(it->st);
	store_facts_free(&it->filled);
	free(it->ranges);
	free(it);
}

/* The current file name of a message; 1 found, 0 not, -1 error. */
static int msg_fname(struct mfolder *mf, uint32_t uid, char *out, size_t outlen,
		     unsigned *flags_r, const char **error_r)
{
	sqlite3_stmt *st = store_stmt(mf->ms, ST_MSG_GET);
	if (st == NULL)
		return store_db_error(mf->ms, "prepare", error_r);
	sqlite3_bind_int64(st, 1, mf->row.id);
	sqlite3_bind_int64(st, 2, uid);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out, outlen, "%s/%s", mf->dir, col(st, 8));
		*flags_r = (unsigned)sqlite3_column_int(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_error(mf->ms, "message", error_r);
}

int store_v_msg_open(struct mail_folder *f, uint32_t uid, int *fd_r, uint64_t *size_r,
		     const char **error_r)
{
	struct mfolder *mf = (struct mfolder *)f;
	char path[STORE_PATH_MAX * 2];
	unsigned flags = 0;
	/* Renamed by another program since our last sync: sync, try again. */
	for (int attempt = 0; attempt < 2; attempt++) {
		int r = msg_fname(mf, uid, path, sizeof path, &flags, error_r);
		if (r < 0)
			return -1;
		int fd = r == 1 ? open(path, O_RDONLY | O_CLOEXEC) : -1;
		if (fd >= 0) {
			struct stat st;
			if (fstat(fd, &st) < 0) {
				close(fd);
				*error_r = "cannot stat message";
				return -1;
			}
			*fd_r = fd;
			*size_r = (uint64_t)st.st_size;
			return 0;
		}
		if (r == 1 && errno != ENOENT) {
			*error_r = "cannot open message";
			return -1;
		}
		if (attempt == 0 && store_v_folder_sync(f, error_r) < 0)
			return -1;
	}
	*error_r = "message expunged";
	errno = ENOENT;
	return -1;
}

int store_expunge_row(struct mfolder *mf, uint32_t uid, uint64_t modseq,
		      const char **error_r)
{
	static const enum store_stmt del[] = { ST_MSG_DEL, ST_CACHE_DEL, ST_EXPUNGED_ADD };
	for (size_t i = 0; i < 3; i++) {
		sqlite3_stmt *st = store_stmt(mf->ms, del[i]);
		if (st == NULL)
			return store_db_error(mf->ms, "prepare", error_r);
		sqlite3_bind_int64(st, 1, mf->row.id);
		sqlite3_bind_int64(st, 2, uid);
		if (del[i] == ST_EXPUNGED_ADD)
			sqlite3_bind_int64(st, 3, (int64_t)modseq);
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_db_error(mf->ms, "expunge", error_r);
	}
	return 0;
}

/* The file goes first, then the row: a crash between leaves a row whose
 * file is gone, which the next sync expunges. A file renamed meanwhile
 * (ENOENT) keeps its row; the next sync sees the new name. */
static int expunge_locked(struct mfolder *mf, const uint32_t *uids, size_t n,
			  bool only_deleted, const char **error_r)
{
	char path[STORE_PATH_MAX * 2];
	bool changed = false;
	uint64_t modseq = mf->row.modseq + 1;
	for (size_t i = 0; i < n; i++) {
		unsigned flags = 0;
		int r = msg_fname(mf, uids[i], path, sizeof path, &flags, error_r);
		if (r < 0)
			return -1;
		if (r == 0 || (only_deleted && !(flags & MAIL_DELETED)))
			continue;
		if (unlink(path) < 0) {
			if (errno == ENOENT)
				continue;
			*error_r = "cannot remove message file";
			return -1;
		}
		if (store_expunge_row(mf, uids[i], modseq, error_r) < 0)
			return -1;
		changed = true;
	}
	if (!changed)
		return 0;
	mf->row.modseq = modseq;
	return store_folder_row_save(mf->ms, &mf->row, error_r);
}

int store_expunge_uids(struct mfolder *mf, const uint32_t *uids, size_t n,
		       bool only_deleted, const char **error_r)
{
	if (store_begin(mf->ms, error_r) < 0)
		return -1;
	int r = store_folder_row(mf->ms, mf->name, true, &mf->row, error_r) < 0 ? -1 : 0;
	if (r == 0)
		r = expunge_locked(mf, uids, n, only_deleted, error_r);
	if (r == 0)
		return store_commit(mf->ms, error_r);
	store_rollback(mf->ms);
	return -1;
}

int store_v_expunge(struct mail_folder *f, const struct mail_range *uids, size_t n,
		    const char **error_r)
{
	struct mfolder *mf = (struct mfolder *)f;
	struct msg_row *rows = NULL;
	size_t count = 0, nd = 0, cap = 0;
	uint32_t *del = NULL;
	if (mf->open_flags & MAIL_OPEN_READONLY) {
		*error_r = "folder is read-only";
		return -1;
	}
	if (store_v_folder_sync(f, error_r) < 0 ||
	    store_rows_load(mf, uids, n, &rows, &count, error_r) < 0) {
		store_rows_free(&rows, count);
		return -1;
	}
	int r = 0;
	for (size_t i = 0; i < count && r == 0; i++) {
		if (rows[i].flags & MAIL_DELETED)
			r = store_uids_push(&del, &nd, &cap, rows[i].uid);
	}
	store_rows_free(&rows, count);
	if (r < 0) {
		free(del);
		*error_r = "out of memory";
		return -1;
	}
	r = nd > 0 ? store_expunge_uids(mf, del, nd, true, error_r) : 0;
	free(del);
	return r;
}
