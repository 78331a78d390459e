/* Sets of UIDs as runs: one row per run of consecutive UIDs, keyed by
 * its first UID, holding its last. Maildirs get UIDs in delivery order
 * and lose few, so SELECT of a 100,000-message folder reads a handful of
 * rows for its view instead of one per message, and the "not read yet"
 * set of a new Maildir is one row. Kept in the same transactions as the
 * message rows, so the two always agree. */
#include "store/store_private.h"

#include <stdlib.h>

static const enum store_stmt stmts[2][4] = {
	[STORE_SET_MSGS] = { ST_RUN_AT, ST_RUNS, ST_RUN_SET, ST_RUN_DEL },
	[STORE_SET_UNREAD] = { ST_UNREAD_AT, ST_UNREAD_RUNS, ST_UNREAD_SET, ST_UNREAD_DEL },
};
enum { AT, RUNS, SET, DEL };

/* The first run of the query's answer for lo..hi; 1 found, 0 none. */
static int run_query(struct mfolder *mf, enum store_uidset set, int q, uint32_t lo,
		     uint32_t hi, uint32_t *lo_r, uint32_t *hi_r, const char **error_r)
{
	sqlite3_stmt *st = store_stmt(mf->ms, stmts[set][q]);
	if (st == NULL)
		return store_db_error(mf->ms, "prepare", error_r);
	store_bind_range(st, mf->row.id, lo, hi);
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

/* The run holding uid or the last one before it. */
static int run_at(struct mfolder *mf, enum store_uidset set, uint32_t uid, uint32_t *lo_r,
		  uint32_t *hi_r, const char **error_r)
{
	return run_query(mf, set, AT, 0, uid, lo_r, hi_r, error_r);
}

/* The first run starting within lo..hi. */
static int run_from(struct mfolder *mf, enum store_uidset set, uint32_t lo, uint32_t hi,
		    uint32_t *lo_r, uint32_t *hi_r, const char **error_r)
{
	return run_query(mf, set, RUNS, lo, hi, lo_r, hi_r, error_r);
}

static int run_write(struct mfolder *mf, enum store_uidset set, int op, uint32_t lo,
		     uint32_t hi, const char **error_r)
{
	sqlite3_stmt *st = store_stmt(mf->ms, stmts[set][op]);
	if (st == NULL)
		return store_db_error(mf->ms, "prepare", error_r);
	sqlite3_bind_int64(st, 1, store_key(mf->row.id, lo));
	if (op == SET)
		sqlite3_bind_int64(st, 2, hi);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(mf->ms, "runs", error_r);
}

int store_runs_add(struct mfolder *mf, enum store_uidset set, uint32_t lo, uint32_t hi,
		   const char **error_r)
{
	uint32_t rlo, rhi;
	/* Joined with the run ending just below and the one starting just
	 * above, so the set stays as few rows as it can be. */
	if (hi < UINT32_MAX) {
		int r = run_from(mf, set, hi + 1, hi + 1, &rlo, &rhi, error_r);
		if (r < 0 || (r == 1 && run_write(mf, set, DEL, rlo, 0, error_r) < 0))
			return -1;
		if (r == 1)
			hi = rhi;
	}
	int r = lo > 0 ? run_at(mf, set, lo - 1, &rlo, &rhi, error_r) : 0;
	if (r < 0)
		return -1;
	if (r == 1 && rhi + 1 == lo)
		lo = rlo;
	return run_write(mf, set, SET, lo, hi, error_r);
}

int store_runs_del(struct mfolder *mf, enum store_uidset set, uint32_t lo, uint32_t hi,
		   const char **error_r)
{
	uint32_t rlo, rhi;
	/* The run reaching into lo..hi from below keeps its part below lo
	 * (and above hi). */
	int r = run_at(mf, set, lo, &rlo, &rhi, error_r);
	if (r < 0)
		return -1;
	if (r == 1 && rhi >= lo) {
		if (rlo < lo ? run_write(mf, set, SET, rlo, lo - 1, error_r) < 0
			     : run_write(mf, set, DEL, rlo, 0, error_r) < 0)
			return -1;
		if (rhi > hi)
			return run_write(mf, set, SET, hi + 1, rhi, error_r);
	}
	/* Runs starting within: gone, the last one keeping what is above hi. */
	while (lo < hi && (r = run_from(mf, set, lo + 1, hi, &rlo, &rhi, error_r)) == 1) {
		if (run_write(mf, set, DEL, rlo, 0, error_r) < 0)
			return -1;
		if (rhi >= hi)
			return rhi > hi ? run_write(mf, set, SET, hi + 1, rhi, error_r) : 0;
		lo = rhi;
	}
	return r < 0 ? -1 : 0;
}

int store_runs_view(struct mfolder *mf, enum store_uidset set, uint32_t lo, uint32_t hi,
		    struct store_view *v, const char **error_r)
{
	uint32_t rlo, rhi;
	if (lo == 0)
		lo = 1;
	if (lo > hi)
		return 0;
	int r = run_at(mf, set, lo, &rlo, &rhi, error_r);
	if (r < 0)
		return -1;
	if (r == 1 && rhi >= lo && store_view_push_run(v, lo, rhi < hi ? rhi : hi) < 0)
		goto nomem;
	if (lo == hi)
		return 0;
	sqlite3_stmt *st = store_stmt(mf->ms, stmts[set][RUNS]);
	if (st == NULL)
		return store_db_error(mf->ms, "prepare", error_r);
	store_bind_range(st, mf->row.id, lo + 1, hi);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t a = store_key_uid(sqlite3_column_int64(st, 0));
		uint32_t b = (uint32_t)sqlite3_column_int64(st, 1);
		if (store_view_push_run(v, a, b < hi ? b : hi) < 0) {
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
