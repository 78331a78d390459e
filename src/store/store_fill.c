/* Reading a message file into the index, the first time someone asks.
 * Sync enters a new file by name only (UID, flags, and the sizes its name
 * carries); the first FETCH, SEARCH, SORT or STATUS SIZE that covers it
 * reads it once: size and mtime (the internal date), CRLF size, the
 * common header fields, ENVELOPE and BODYSTRUCTURE. As in Dovecot, a new
 * mailbox costs a directory listing to open and the reading is paid by
 * what needs it. Files are read outside the write lock (store_read.c,
 * the next batch on a second thread), and written 1,024 per transaction. */
#include "store/store_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define FILL_CHUNK 1024

struct unread_list {
	struct store_unread *u;
	size_t n, cap;
};

static void unread_free(struct unread_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->u[i].fname);
	free(l->u);
	*l = (struct unread_list){ 0 };
}

static int unread_push(struct unread_list *l, uint32_t uid, const char *fname)
{
	if (l->n == l->cap) {
		size_t cap = l->cap < 64 ? 64 : l->cap * 2;
		struct store_unread *u = realloc(l->u, cap * sizeof *u);
		if (u == NULL)
			return -1;
		l->u = u;
		l->cap = cap;
	}
	char *copy = strdup(fname);
	if (copy == NULL)
		return -1;
	l->u[l->n++] = (struct store_unread){ uid, copy };
	return 0;
}

/* The rows of the messages in the set (expunged ones have none). */
static int unread_collect(struct mfolder *mf, const struct store_view *set,
			  struct unread_list *l, const char **error_r)
{
	for (size_t i = 0; i < set->nruns; i++) {
		sqlite3_stmt *st = store_stmt(mf->ms, ST_FNAMES);
		if (st == NULL)
			return store_db_error(mf->ms, "prepare", error_r);
		store_bind_range(st, mf->row.id, set->runs[i].lo, set->runs[i].hi);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (unread_push(l, store_key_uid(sqlite3_column_int64(st, 0)),
					(const char *)sqlite3_column_text(st, 1)) < 0) {
				sqlite3_reset(st);
				*error_r = "out of memory";
				return -1;
			}
		}
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_db_error(mf->ms, "unread", error_r);
	}
	return 0;
}

static int bind_step(struct mstore *ms, sqlite3_stmt *st, const char **error_r)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(ms, "cache", error_r);
}

int store_cache_insert(struct mfolder *mf, uint32_t uid, const struct msg_facts *f,
		       const char **error_r)
{
	struct mstore *ms = mf->ms;
	int64_t key = store_key(mf->row.id, uid);
	sqlite3_stmt *st = store_stmt(ms, ST_HDRS_ADD);
	if (st == NULL)
		return store_db_error(ms, "prepare", error_r);
	sqlite3_bind_int64(st, 1, key);
	sqlite3_bind_int64(st, 2, (int64_t)f->date_sent);
	for (int i = 0; i < 8; i++)
		sqlite3_bind_text(st, 3 + i, f->h[i], -1, SQLITE_STATIC);
	if (bind_step(ms, st, error_r) < 0)
		return -1;
	/* No parser, or it failed: no rows, and the iterator parses on the
	 * fly whenever they are asked for. */
	if (f->envelope == NULL)
		return 0;
	if ((st = store_stmt(ms, ST_ENV_ADD)) == NULL)
		return store_db_error(ms, "prepare", error_r);
	sqlite3_bind_int64(st, 1, key);
	sqlite3_bind_text(st, 2, f->envelope, -1, SQLITE_STATIC);
	if (bind_step(ms, st, error_r) < 0)
		return -1;
	if ((st = store_stmt(ms, ST_BODY_ADD)) == NULL)
		return store_db_error(ms, "prepare", error_r);
	sqlite3_bind_int64(st, 1, key);
	sqlite3_bind_text(st, 2, f->bodystructure, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, f->body, -1, SQLITE_STATIC);
	return bind_step(ms, st, error_r);
}

/* The set is read now (or gone): off the unread set, except the
 * messages whose file could not be read, which stay for the next try. */
static int unread_done(struct mfolder *mf, const struct store_view *set,
		       const struct unread_list *l, const bool *failed, const char **error_r)
{
	if (store_begin(mf->ms, error_r) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; r == 0 && i < set->nruns; i++)
		r = store_runs_del(mf, STORE_SET_UNREAD, set->runs[i].lo, set->runs[i].hi,
				   error_r);
	for (size_t i = 0; r == 0 && i < l->n; i++) {
		if (failed[i])
			r = store_runs_add(mf, STORE_SET_UNREAD, l->u[i].uid, l->u[i].uid,
					   error_r);
	}
	if (r == 0)
		return store_commit(mf->ms, error_r);
	store_rollback(mf->ms);
	return -1;
}

/* The current name of a message renamed since it was listed. */
static int refresh_fname(struct mfolder *mf, struct store_unread *u)
{
	sqlite3_stmt *st = store_stmt(mf->ms, ST_MSG_GET);
	if (st == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, store_key(mf->row.id, u->uid));
	char *copy = NULL;
	if (sqlite3_step(st) == SQLITE_ROW)
		copy = strdup((const char *)sqlite3_column_text(st, 1));
	sqlite3_reset(st);
	if (copy == NULL || strcmp(copy, u->fname) == 0) {
		free(copy);
		return -1;
	}
	free(u->fname);
	u->fname = copy;
	return 0;
}

static int write_chunk(struct mfolder *mf, const struct store_unread *u,
		       const struct store_readout *o, size_t n, const char **error_r)
{
	struct mstore *ms = mf->ms;
	if (store_begin(ms, error_r) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (o[i].err != 0)
			continue;
		sqlite3_stmt *st = store_stmt(ms, ST_MSG_FILLED);
		if (st == NULL) {
			store_db_error(ms, "prepare", error_r);
			goto fail;
		}
		sqlite3_bind_int64(st, 1, store_key(mf->row.id, u[i].uid));
		sqlite3_bind_int64(st, 2, (int64_t)o[i].f.size);
		sqlite3_bind_int64(st, 3, (int64_t)o[i].f.vsize);
		sqlite3_bind_int64(st, 4, (int64_t)o[i].idate);
		sqlite3_bind_int64(st, 5, (int64_t)o[i].f.psize);
		if (bind_step(ms, st, error_r) < 0)
			goto fail;
		/* Expunged, or read by another handle meanwhile. */
		if (sqlite3_changes(ms->db) == 0)
			continue;
		if (store_cache_insert(mf, u[i].uid, &o[i].f, error_r) < 0)
			goto fail;
	}
	return store_commit(ms, error_r);
fail:
	store_rollback(ms);
	return -1;
}

int store_fill(struct mfolder *mf, const struct mail_range *uids, size_t n,
	       const char **error_r)
{
	static const struct mail_range all = { 1, UINT32_MAX };
	struct store_view set = { 0 };
	struct unread_list l = { 0 };
	if (uids == NULL) {
		uids = &all;
		n = 1;
	}
	/* Not read yet: one probe per range; the common answer is none. */
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		uint32_t lo = uids[i].lo;
		if (set.nruns > 0) {   /* overlapping ranges: each UID once */
			uint32_t top = set.runs[set.nruns - 1].hi;
			if (top == UINT32_MAX)
				break;
			if (lo <= top)
				lo = top + 1;
		}
		if (lo <= uids[i].hi)
			r = store_runs_view(mf, STORE_SET_UNREAD, lo, uids[i].hi, &set, error_r);
	}
	if (r < 0 || set.nruns == 0) {
		store_view_clear(&set);
		return r;
	}
	struct store_reading *rd = NULL;
	bool *failed = NULL;
	r = unread_collect(mf, &set, &l, error_r);
	if (r == 0 && (failed = calloc(l.n + 1, sizeof *failed)) == NULL) {
		*error_r = "out of memory";
		r = -1;
	}
	if (r == 0 && l.n > 0)
		r = store_reading_start(mf, l.u, l.n, FILL_CHUNK, &rd, error_r);
	struct store_readout *o;
	size_t first, count;
	while (r == 0 && rd != NULL && (o = store_reading_next(rd, &first, &count)) != NULL) {
		for (size_t j = 0; j < count; j++) {
			/* Renamed by a flag change since listed: read again
			 * under its new name. Expunged: left to the next sync. */
			struct store_unread *u = &l.u[first + j];
			if (o[j].err == ENOENT && refresh_fname(mf, u) == 0)
				store_reading_again(rd, u->fname, &o[j]);
			failed[first + j] = o[j].err != 0;
		}
		r = write_chunk(mf, l.u + first, o, count, error_r);
	}
	store_reading_stop(rd);
	if (r == 0)
		r = unread_done(mf, &set, &l, failed, error_r);
	free(failed);
	unread_free(&l);
	store_view_clear(&set);
	return r;
}
