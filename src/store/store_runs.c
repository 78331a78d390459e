/* The runs table: a folder's UIDs as runs of consecutive UIDs, one row per
 * run keyed by its first UID. Maildirs get UIDs in delivery order and lose
 * few, so SELECT of a 100,000-message folder reads a handful of rows
 * instead of one per message. Kept in the same transactions as the
 * message rows, so the two always agree. */
#include "store/store_private.h"

/* The run holding uid or the last one before it; 1 found, 0 none. */
static int run_at(struct mfolder *mf, uint32_t uid, uint32_t *lo_r, uint32_t *hi_r,
		  const char **error_r)
{
	sqlite3_stmt *st = store_stmt(mf->ms, ST_RUN_AT);
	if (st == NULL)
		return store_db_error(mf->ms, "prepare", error_r);
	store_bind_range(st, mf->row.id, 0, uid);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*lo_r = store_key_uid(sqlite3_column_int64(st, 0));
		*hi_r = (uint32_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_error(mf->ms, "runs", error_r);
}

static int run_set(struct mfolder *mf, uint32_t lo, uint32_t hi, const char **error_r)
{
	sqlite3_stmt *st = store_stmt(mf->ms, ST_RUN_SET);
	if (st == NULL)
		return store_db_error(mf->ms, "prepare", error_r);
	sqlite3_bind_int64(st, 1, store_key(mf->row.id, lo));
	sqlite3_bind_int64(st, 2, hi);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(mf->ms, "runs", error_r);
}

int store_runs_add(struct mfolder *mf, uint32_t lo, uint32_t hi, const char **error_r)
{
	uint32_t rlo, rhi;
	int r = lo > 0 ? run_at(mf, lo - 1, &rlo, &rhi, error_r) : 0;
	if (r < 0)
		return -1;
	if (r == 1 && rhi + 1 == lo)
		return run_set(mf, rlo, hi, error_r);
	return run_set(mf, lo, hi, error_r);
}

int store_runs_del(struct mfolder *mf, uint32_t uid, const char **error_r)
{
	uint32_t lo, hi;
	int r = run_at(mf, uid, &lo, &hi, error_r);
	if (r <= 0 || hi < uid)
		return r;
	if (lo < uid) {
		if (run_set(mf, lo, uid - 1, error_r) < 0)
			return -1;
	} else {
		sqlite3_stmt *st = store_stmt(mf->ms, ST_RUN_DEL);
		if (st == NULL)
			return store_db_error(mf->ms, "prepare", error_r);
		sqlite3_bind_int64(st, 1, store_key(mf->row.id, lo));
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_db_error(mf->ms, "runs", error_r);
	}
	return uid < hi ? run_set(mf, uid + 1, hi, error_r) : 0;
}

int store_runs_view(struct mfolder *mf, uint32_t from, struct store_view *v,
		    const char **error_r)
{
	uint32_t lo, hi;
	if (from == 0)
		from = 1;
	int r = run_at(mf, from, &lo, &hi, error_r);
	if (r < 0)
		return -1;
	if (r == 1 && hi >= from && store_view_push_run(v, from, hi) < 0)
		goto nomem;
	if (from == UINT32_MAX)
		return 0;
	sqlite3_stmt *st = store_stmt(mf->ms, ST_RUNS);
	if (st == NULL)
		return store_db_error(mf->ms, "prepare", error_r);
	store_bind_range(st, mf->row.id, from + 1, UINT32_MAX);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (store_view_push_run(v, store_key_uid(sqlite3_column_int64(st, 0)),
					(uint32_t)sqlite3_column_int64(st, 1)) < 0) {
			sqlite3_reset(st);
			goto nomem;
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(mf->ms, "runs", error_r);
nomem:
	*error_r = "out of memory";
	return -1;
}
