/* A folder whose UIDs run out starts over: a new UIDVALIDITY and its
 * messages renumbered from 1 (RFC 9051 2.3.1.1: UIDs never wrap; when
 * they cannot go on, UIDVALIDITY must change). UIDs only grow, so after
 * four billion deliveries, or a UIDNEXT set near the top by hand or by a
 * hostile index, APPEND and sync would wrap to 0 without this. */
#include "store/store_private.h"

#include <stdio.h>

#include "lib/log.h"

/* Each cache table's rows follow their message to its new key. Keys go
 * negative first: a new key may still be another row's old one. */
static const char *const renumber_sql[] = {
	"CREATE TEMP TABLE IF NOT EXISTS renum(old INTEGER PRIMARY KEY, new INTEGER NOT NULL)",
	"DELETE FROM temp.renum",
	"INSERT INTO temp.renum SELECT id, ?3 + ROW_NUMBER() OVER (ORDER BY id)"
	" FROM msgs WHERE id BETWEEN ?1 AND ?2",
	"DELETE FROM hdrs WHERE id BETWEEN ?1 AND ?2 AND id NOT IN (SELECT old FROM temp.renum)",
	"DELETE FROM envs WHERE id BETWEEN ?1 AND ?2 AND id NOT IN (SELECT old FROM temp.renum)",
	"DELETE FROM bodies WHERE id BETWEEN ?1 AND ?2 AND id NOT IN (SELECT old FROM temp.renum)",
	"UPDATE msgs SET id = -(SELECT new FROM temp.renum WHERE old = msgs.id),"
	" touched = NULL WHERE id BETWEEN ?1 AND ?2",
	"UPDATE hdrs SET id = -(SELECT new FROM temp.renum WHERE old = hdrs.id)"
	" WHERE id BETWEEN ?1 AND ?2",
	"UPDATE envs SET id = -(SELECT new FROM temp.renum WHERE old = envs.id)"
	" WHERE id BETWEEN ?1 AND ?2",
	"UPDATE bodies SET id = -(SELECT new FROM temp.renum WHERE old = bodies.id)"
	" WHERE id BETWEEN ?1 AND ?2",
	"UPDATE msgs SET id = -id WHERE id < 0",
	"UPDATE hdrs SET id = -id WHERE id < 0",
	"UPDATE envs SET id = -id WHERE id < 0",
	"UPDATE bodies SET id = -id WHERE id < 0",
	"DELETE FROM runs WHERE id BETWEEN ?1 AND ?2",
	"DELETE FROM unread WHERE id BETWEEN ?1 AND ?2",
	"DELETE FROM expunged WHERE folder_id = ?4",
	"DELETE FROM temp.renum",
};

static int run(struct mstore *ms, const char *q, int64_t folder, const char **error_r)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(store_db(ms), q, -1, &st, NULL) != SQLITE_OK)
		return store_db_error(ms, "prepare", error_r);
	int n = sqlite3_bind_parameter_count(st);
	if (n >= 2) {
		sqlite3_bind_int64(st, 1, store_key(folder, 0));
		sqlite3_bind_int64(st, 2, store_key(folder, UINT32_MAX));
	}
	if (n >= 3)
		sqlite3_bind_int64(st, 3, store_key(folder, 0));
	if (n >= 4)
		sqlite3_bind_int64(st, 4, folder);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(ms, "renumber", error_r);
}

/* The sets of the renumbered folder: every UID 1..count, and the unread
 * ones (no internal date yet) as they were. */
static int rebuild_sets(struct mfolder *mf, uint32_t *count_r, const char **error_r)
{
	sqlite3_stmt *st;
	const char *q = "SELECT id, idate IS NULL FROM msgs WHERE id BETWEEN ?1 AND ?2"
			" ORDER BY id";
	if (sqlite3_prepare_v2(store_db(mf->ms), q, -1, &st, NULL) != SQLITE_OK)
		return store_db_error(mf->ms, "prepare", error_r);
	store_bind_range(st, mf->row.id, 0, UINT32_MAX);
	uint32_t count = 0;
	int rc, r = 0;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		count = store_key_uid(sqlite3_column_int64(st, 0));
		if (sqlite3_column_int(st, 1))
			r = store_runs_add(mf, STORE_SET_UNREAD, count, count, error_r);
	}
	sqlite3_finalize(st);
	if (r == 0 && rc != SQLITE_DONE)
		r = store_db_error(mf->ms, "renumber", error_r);
	if (r == 0 && count > 0)
		r = store_runs_add(mf, STORE_SET_MSGS, 1, count, error_r);
	*count_r = count;
	return r;
}

int store_uids_reserve(struct mfolder *mf, uint64_t need, const char **error_r)
{
	if ((uint64_t)mf->row.uidnext + need <= UINT32_MAX)
		return 0;
	struct mstore *ms = mf->ms;
	for (size_t i = 0; i < sizeof renumber_sql / sizeof renumber_sql[0]; i++) {
		if (run(ms, renumber_sql[i], mf->row.id, error_r) < 0)
			return -1;
	}
	uint32_t count = 0;
	if (rebuild_sets(mf, &count, error_r) < 0)
		return -1;
	if ((uint64_t)count + 1 + need > UINT32_MAX) {
		*error_r = "mailbox is full: no UIDs left";
		return -1;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(store_db(ms), "UPDATE folders SET uidvalidity = ?2 WHERE id = ?1",
			       -1, &st, NULL) != SQLITE_OK)
		return store_db_error(ms, "prepare", error_r);
	uint32_t old = mf->row.uidvalidity;
	mf->row.uidvalidity = store_new_uidvalidity(ms);
	sqlite3_bind_int64(st, 1, mf->row.id);
	sqlite3_bind_int64(st, 2, mf->row.uidvalidity);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_db_error(ms, "uidvalidity", error_r);
	mf->row.uidnext = count + 1;
	mf->row.modseq++;
	log_info("store: %s: UIDs ran out, UIDVALIDITY %u -> %u, %u messages renumbered",
		 mf->name, old, mf->row.uidvalidity, count);
	return store_folder_row_save(ms, &mf->row, error_r);
}
