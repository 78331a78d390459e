/* Messages of an open folder: the view (sequence numbers), what changed
 * since the client last looked, listing from the index, opening files,
 * expunge. Listing is one prepared SQLite query per UID range and reads
 * no message file once the caches are filled. */
#include "store/store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int store_uids_push(uint32_t **arr, size_t *n, size_t *cap, uint32_t uid)
{
	if (*n == *cap) {
		size_t c = *cap < 64 ? 64 : *cap * 2;
		uint32_t *a = realloc(*arr, c * sizeof *a);
		if (a == NULL)
			return -1;
		*arr = a;
		*cap = c;
	}
	(*arr)[(*n)++] = uid;
	return 0;
}

uint32_t store_v_folder_count(struct mail_folder *f)
{
	return ((struct mfolder *)f)->view.count;
}

uint32_t store_v_seq_to_uid(struct mail_folder *f, uint32_t seq)
{
	return store_view_uid(&((struct mfolder *)f)->view, seq);
}

uint32_t store_v_uid_to_seq(struct mail_folder *f, uint32_t uid)
{
	return store_view_seq(&((struct mfolder *)f)->view, uid);
}

/* The folder's row inside a read transaction (no insert there). */
static int row_read(struct mfolder *mf, const char **error_r)
{
	int r = store_folder_row(mf->ms, mf->name, false, &mf->row, error_r);
	if (r == 0)
		*error_r = "folder was deleted";
	return r == 1 ? 0 : -1;
}

int store_view_load(struct mfolder *mf, const char **error_r)
{
	/* One read transaction: the row and the UIDs agree. */
	if (store_exec(mf->ms, "BEGIN", error_r) < 0)
		return -1;
	store_view_clear(&mf->view);
	int r = row_read(mf, error_r);
	if (r == 0)
		r = store_runs_view(mf, STORE_SET_MSGS, 1, UINT32_MAX, &mf->view, error_r);
	store_rollback(mf->ms);
	store_view_shrink(&mf->view);
	mf->view_modseq = mf->row.modseq;
	mf->view_uidnext = mf->row.uidnext;
	mf->view_uidvalidity = mf->row.uidvalidity;
	return r;
}

static int uids_query(struct mfolder *mf, enum store_stmt id, uint64_t since,
		      uint32_t **out, size_t *n, const char **error_r)
{
	size_t cap = 0;
	sqlite3_stmt *st = store_stmt(mf->ms, id);
	if (st == NULL)
		return store_db_error(mf->ms, "prepare", error_r);
	int64_t since64 = since > INT64_MAX ? INT64_MAX : (int64_t)since;
	if (id == ST_CHANGED_SINCE) {
		store_bind_range(st, mf->row.id, 0, UINT32_MAX);
		sqlite3_bind_int64(st, 3, since64);
	} else {
		sqlite3_bind_int64(st, 1, mf->row.id);
		sqlite3_bind_int64(st, 2, since64);
	}
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t uid = store_key_uid(sqlite3_column_int64(st, 0));
		/* Only UIDs of the view: newer ones are reported as new. */
		if (uid >= mf->view_uidnext || store_v_uid_to_seq(&mf->folder, uid) == 0)
			continue;
		if (store_uids_push(out, n, &cap, uid) < 0) {
			sqlite3_reset(st);
			*error_r = "out of memory";
			return -1;
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(mf->ms, "changes", error_r);
}

/* Removes the expunged UIDs from the view, noting their old sequence
 * numbers in descending order. */
static int view_remove(struct mfolder *mf, struct mail_changes *ch)
{
	size_t n = ch->expunged_count;
	if (n == 0)
		return 0;
	ch->expunged_seqs = malloc(n * sizeof *ch->expunged_seqs);
	if (ch->expunged_seqs == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		ch->expunged_seqs[n - 1 - i] = store_v_uid_to_seq(&mf->folder,
								  ch->expunged_uids[i]);
	return store_view_remove(&mf->view, ch->expunged_uids, n);
}

int store_v_folder_changes(struct mail_folder *f, uint64_t since_modseq,
			   struct mail_changes *ch_r, const char **error_r)
{
	struct mfolder *mf = (struct mfolder *)f;
	uint64_t since = since_modseq != 0 && since_modseq < mf->view_modseq ?
			 since_modseq : mf->view_modseq;
	*ch_r = (struct mail_changes){ 0 };
	if (store_exec(mf->ms, "BEGIN", error_r) < 0)
		return -1;
	int r = row_read(mf, error_r);
	if (r == 0 && mf->row.uidvalidity != mf->view_uidvalidity) {
		/* Renumbered (store_uids_reserve): the view means nothing now. */
		store_rollback(mf->ms);
		ch_r->uidvalidity_changed = true;
		return 0;
	}
	if (r == 0)
		r = uids_query(mf, ST_EXPUNGED_SINCE, mf->view_modseq, &ch_r->expunged_uids,
			       &ch_r->expunged_count, error_r);
	/* Since the view's modseq, the rows changed after they were entered
	 * are the changes (newer rows are new to the view); from an older
	 * modseq (QRESYNC) any row may be one: a scan. */
	if (r == 0)
		r = uids_query(mf, since < mf->view_modseq ? ST_CHANGED_SINCE : ST_TOUCHED_SINCE,
			       since, &ch_r->changed_uids, &ch_r->changed_count, error_r);
	if (r == 0 && view_remove(mf, ch_r) < 0) {
		*error_r = "out of memory";
		r = -1;
	}
	uint32_t before = mf->view.count;
	if (r == 0)
		r = store_runs_view(mf, STORE_SET_MSGS, mf->view_uidnext, UINT32_MAX,
				    &mf->view, error_r);
	store_rollback(mf->ms);
	store_view_shrink(&mf->view);
	if (r < 0) {
		mail_changes_clear(ch_r);
		return -1;
	}
	ch_r->new_count = mf->view.count - before;
	ch_r->exists = mf->view.count;
	ch_r->highest_modseq = mf->row.modseq;
	mf->view_modseq = mf->row.modseq;
	mf->view_uidnext = mf->row.uidnext;
	return 0;
}

static int status_query(struct mfolder *mf, struct mail_status *st_r, int64_t *unsized_r,
			const char **error_r)
{
	sqlite3_stmt *st = store_stmt(mf->ms, ST_STATUS);
	if (st == NULL)
		return store_db_error(mf->ms, "prepare", error_r);
	store_bind_range(st, mf->row.id, 0, UINT32_MAX);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_reset(st);
		return store_db_error(mf->ms, "status", error_r);
	}
	*st_r = (struct mail_status){ 0 };
	st_r->messages = (uint32_t)sqlite3_column_int64(st, 0);
	st_r->unseen = (uint32_t)sqlite3_column_double(st, 1);
	st_r->deleted = (uint32_t)sqlite3_column_double(st, 2);
	st_r->size = (uint64_t)sqlite3_column_double(st, 3);
	*unsized_r = sqlite3_column_int64(st, 4);
	sqlite3_reset(st);
	st_r->uidnext = mf->row.uidnext;
	st_r->uidvalidity = mf->row.uidvalidity;
	st_r->highest_modseq = mf->row.modseq;
	return 0;
}

int store_count_status(struct mfolder *mf, struct mail_status *st_r, const char **error_r)
{
	int64_t unsized;
	if (status_query(mf, st_r, &unsized, error_r) < 0)
		return -1;
	/* Messages whose names carry no size are read for STATUS SIZE. */
	if (unsized == 0)
		return 0;
	if (store_fill(mf, NULL, 0, error_r) < 0)
		return -1;
	return status_query(mf, st_r, &unsized, error_r);
}

/* What SELECT reports: counts from the view, the first unseen message
 * from an index of the unseen ones, and no scan of the folder. */
int store_v_folder_status(struct mail_folder *f, struct mail_status *st_r,
			  const char **error_r)
{
	struct mfolder *mf = (struct mfolder *)f;
	*st_r = (struct mail_status){ 0 };
	st_r->messages = mf->view.count;
	st_r->uidnext = mf->view_uidnext;
	st_r->uidvalidity = mf->row.uidvalidity;
	st_r->highest_modseq = mf->view_modseq;
	sqlite3_stmt *st = store_stmt(mf->ms, ST_FIRST_UNSEEN);
	if (st == NULL)
		return store_db_error(mf->ms, "prepare", error_r);
	store_bind_range(st, mf->row.id, 0, UINT32_MAX);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
		st_r->first_unseen_seq = store_v_uid_to_seq(f,
					 store_key_uid(sqlite3_column_int64(st, 0)));
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : store_db_error(mf->ms, "status",
									  error_r);
}

int store_rows_load(struct mfolder *mf, const struct mail_range *uids, size_t n,
		    struct msg_row **rows_r, size_t *count_r, const char **error_r)
{
	static const struct mail_range all = { 1, UINT32_MAX };
	size_t cap = 0;
	int rc = SQLITE_DONE;
	*rows_r = NULL;
	*count_r = 0;
	if (uids == NULL) {
		uids = &all;
		n = 1;
	}
	for (size_t i = 0; i < n && rc == SQLITE_DONE; i++) {
		sqlite3_stmt *st = store_stmt(mf->ms, ST_RANGE);
		if (st == NULL)
			return store_db_error(mf->ms, "prepare", error_r);
		store_bind_range(st, mf->row.id, uids[i].lo, uids[i].hi);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (*count_r == cap) {
				cap = cap < 16 ? 16 : cap * 2;
				struct msg_row *r = realloc(*rows_r, cap * sizeof *r);
				if (r == NULL)
					goto nomem;
				*rows_r = r;
			}
			struct msg_row *r = &(*rows_r)[*count_r];
			r->uid = store_key_uid(sqlite3_column_int64(st, 0));
			r->flags = (unsigned)sqlite3_column_int(st, 1);
			r->keywords = strdup((const char *)sqlite3_column_text(st, 2));
			r->modseq = (uint64_t)sqlite3_column_int64(st, 3);
			r->fname = strdup((const char *)sqlite3_column_text(st, 4));
			(*count_r)++;
			if (r->keywords == NULL || r->fname == NULL)
				goto nomem;
		}
		sqlite3_reset(st);
	}
	return rc == SQLITE_DONE ? 0 : store_db_error(mf->ms, "rows", error_r);
nomem:
	sqlite3_reset(store_stmt(mf->ms, ST_RANGE));
	*error_r = "out of memory";
	return -1;
}

void store_rows_free(struct msg_row **rows, size_t count)
{
	if (*rows == NULL)
		return;
	for (size_t i = 0; i < count; i++) {
		free((*rows)[i].keywords);
		free((*rows)[i].fname);
	}
	free(*rows);
	*rows = NULL;
}
