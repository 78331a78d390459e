/* The per-user SQLite index (index.db). It is a cache of the Maildir plus
 * the things Maildir cannot hold (UIDs, modseqs, keywords, expunge
 * history): deleting it loses no mail. WAL lets readers run beside the
 * one writer; busy_timeout makes handles in other threads and processes
 * wait for each other instead of failing. */
#include "store/store_private.h"

#include <errno.h>
#include <fcntl.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/fs.h"
#include "lib/log.h"
#include "store/maildir.h"

/* msgs_touched indexes by modseq only the rows changed after they were
 * entered (touched): what a session must learn about when it looks
 * again. Rows entered since then are new to it (it knows UIDNEXT), so
 * SELECT of a new 100,000-message Maildir maintains no modseq index.
 * The UIDs of a folder (runs) and those whose file was not read yet
 * (unread, see store_fill.c) are sets kept as runs of consecutive UIDs.
 * Every message row is keyed (folder id << 32) | UID (store_key): one
 * integer primary key orders a folder's messages by UID, and the cache
 * tables share the key, so a join is a rowid lookup. The cache is split
 * by use: SEARCH/SORT scan the narrow hdrs rows, FETCH ENVELOPE reads
 * envs, BODYSTRUCTURE bodies, and none of them drags the others' bytes
 * through the page cache. A table with rows of a kilobyte and more must
 * not be WITHOUT ROWID: those spill into whole overflow pages. */
#define SCHEMA_VERSION "3"
static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value);"
	"CREATE TABLE IF NOT EXISTS folders(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,"
	" uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL, modseq INTEGER NOT NULL,"
	" new_mtime INTEGER NOT NULL DEFAULT 0, cur_mtime INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS msgs(id INTEGER PRIMARY KEY, fname TEXT NOT NULL,"
	" flags INTEGER NOT NULL, keywords TEXT NOT NULL DEFAULT '', modseq INTEGER NOT NULL,"
	" size INTEGER, vsize INTEGER, idate INTEGER, touched INTEGER, psize INTEGER);"
	"CREATE INDEX IF NOT EXISTS msgs_touched ON msgs(id >> 32, modseq)"
	" WHERE touched IS NOT NULL;"
	"CREATE INDEX IF NOT EXISTS msgs_unseen ON msgs(id) WHERE flags & 1 = 0;"
	"CREATE INDEX IF NOT EXISTS msgs_keywords ON msgs(id) WHERE keywords <> '';"
	"CREATE TABLE IF NOT EXISTS runs(id INTEGER PRIMARY KEY, hi INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS unread(id INTEGER PRIMARY KEY, hi INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS hdrs(id INTEGER PRIMARY KEY, sent_date INTEGER,"
	" h_from TEXT, h_to TEXT, h_cc TEXT, h_subject TEXT, h_date TEXT, h_message_id TEXT,"
	" h_in_reply_to TEXT, h_references TEXT);"
	"CREATE TABLE IF NOT EXISTS envs(id INTEGER PRIMARY KEY, envelope TEXT);"
	"CREATE TABLE IF NOT EXISTS bodies(id INTEGER PRIMARY KEY, bodystructure TEXT,"
	" body TEXT);"
	"CREATE TABLE IF NOT EXISTS expunged(id INTEGER PRIMARY KEY, folder_id INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS expunged_modseq ON expunged(folder_id, modseq);";

/* What an index of an older layout holds besides the mail: dropped, and
 * rebuilt from the Maildir with new UIDVALIDITYs, as for a deleted file. */
static const char drop_old[] =
	"DROP TABLE IF EXISTS cache; DROP TABLE IF EXISTS msgs; DROP TABLE IF EXISTS hdrs;"
	" DROP TABLE IF EXISTS envs; DROP TABLE IF EXISTS bodies; DROP TABLE IF EXISTS runs;"
	" DROP TABLE IF EXISTS unread;"
	" DROP TABLE IF EXISTS expunged; DROP TABLE IF EXISTS folders;";

static const char *const sql[ST_COUNT] = {
	[ST_FOLDER_GET] = "SELECT id, uidvalidity, uidnext, modseq, new_mtime, cur_mtime"
		" FROM folders WHERE name = ?1",
	[ST_FOLDER_ADD] = "INSERT INTO folders(name, uidvalidity, uidnext, modseq)"
		" VALUES(?1, ?2, 1, 1)",
	[ST_FOLDER_SET] = "UPDATE folders SET uidnext = ?2, modseq = ?3 WHERE id = ?1",
	[ST_FOLDER_MTIMES] = "UPDATE folders SET new_mtime = ?2, cur_mtime = ?3 WHERE id = ?1",
	[ST_MSGS_LOAD] = "SELECT id, fname FROM msgs WHERE id BETWEEN ?1 AND ?2",
	[ST_MSG_ADD] = "INSERT INTO msgs(id, fname, flags, keywords, modseq, size, vsize, idate,"
		" psize) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
	[ST_MSG_FILLED] = "UPDATE msgs SET size = ?2, vsize = ?3, idate = ?4, psize = ?5"
		" WHERE id = ?1 AND idate IS NULL",
	[ST_HDRS_ADD] = "INSERT OR REPLACE INTO hdrs VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
		" ?9, ?10)",
	[ST_ENV_ADD] = "INSERT OR REPLACE INTO envs VALUES(?1, ?2)",
	[ST_BODY_ADD] = "INSERT OR REPLACE INTO bodies VALUES(?1, ?2, ?3)",
	[ST_MSG_RENAME] = "UPDATE msgs SET fname = ?3, flags = ?4, modseq = ?5, touched = 1"
		" WHERE id = ?1 AND fname = ?2",
	[ST_MSG_DEL] = "DELETE FROM msgs WHERE id = ?1",
	[ST_HDRS_DEL] = "DELETE FROM hdrs WHERE id = ?1",
	[ST_ENV_DEL] = "DELETE FROM envs WHERE id = ?1",
	[ST_BODY_DEL] = "DELETE FROM bodies WHERE id = ?1",
	[ST_EXPUNGED_ADD] = "INSERT OR REPLACE INTO expunged VALUES(?1, ?2, ?3)",
	[ST_MSG_GET] = "SELECT flags, fname FROM msgs WHERE id = ?1",
	[ST_MSG_SET_FLAGS] = "UPDATE msgs SET fname = ?2, flags = ?3, keywords = ?4,"
		" modseq = ?5, touched = 1 WHERE id = ?1",
	[ST_FNAMES] = "SELECT id, fname FROM msgs WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
	[ST_RUNS] = "SELECT id, hi FROM runs WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
	[ST_RUN_AT] = "SELECT id, hi FROM runs WHERE id BETWEEN ?1 AND ?2"
		" ORDER BY id DESC LIMIT 1",
	[ST_RUN_SET] = "INSERT OR REPLACE INTO runs VALUES(?1, ?2)",
	[ST_RUN_DEL] = "DELETE FROM runs WHERE id = ?1",
	[ST_UNREAD_RUNS] = "SELECT id, hi FROM unread WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
	[ST_UNREAD_AT] = "SELECT id, hi FROM unread WHERE id BETWEEN ?1 AND ?2"
		" ORDER BY id DESC LIMIT 1",
	[ST_UNREAD_SET] = "INSERT OR REPLACE INTO unread VALUES(?1, ?2)",
	[ST_UNREAD_DEL] = "DELETE FROM unread WHERE id = ?1",
	[ST_EXPUNGED_SINCE] = "SELECT id FROM expunged WHERE folder_id = ?1 AND modseq > ?2"
		" ORDER BY id",
	[ST_TOUCHED_SINCE] = "SELECT id FROM msgs WHERE id >> 32 = ?1 AND modseq > ?2"
		" AND touched IS NOT NULL ORDER BY id",
	[ST_CHANGED_SINCE] = "SELECT id FROM msgs WHERE id BETWEEN ?1 AND ?2 AND modseq > ?3"
		" ORDER BY id",
	[ST_STATUS] = "SELECT count(*), total((flags & 1) = 0), total((flags & 8) != 0),"
		" total(vsize), count(*) - count(vsize) FROM msgs WHERE id BETWEEN ?1 AND ?2",
	[ST_FIRST_UNSEEN] = "SELECT min(id) FROM msgs WHERE id BETWEEN ?1 AND ?2"
		" AND flags & 1 = 0",
	[ST_RANGE] = "SELECT id, flags, keywords, modseq, fname FROM msgs"
		" WHERE id BETWEEN ?1 AND ?2 ORDER BY id",
	[ST_META_GET] = "SELECT value FROM meta WHERE key = ?1",
	[ST_META_SET] = "INSERT OR REPLACE INTO meta VALUES(?1, ?2)",
};

void store_bind_range(sqlite3_stmt *st, int64_t folder, uint32_t lo, uint32_t hi)
{
	sqlite3_bind_int64(st, 1, store_key(folder, lo));
	sqlite3_bind_int64(st, 2, store_key(folder, hi));
}

void mail_store_global_init(void)
{
	/* SQLite's memory statistics take a global mutex on every malloc:
	 * serialising all worker threads for numbers nobody reads. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int store_db_error(struct mstore *ms, const char *what, const char **error_r)
{
	snprintf(ms->err, sizeof ms->err, "index: %.40s: %.180s", what,
		 ms->db != NULL ? sqlite3_errmsg(ms->db) : "not open");
	*error_r = ms->err;
	errno = EIO;
	return -1;
}

sqlite3_stmt *store_stmt(struct mstore *ms, enum store_stmt id)
{
	sqlite3_stmt *st = ms->stmts[id];
	if (st == NULL) {
		if (store_db(ms) == NULL)
			return NULL;
		if (sqlite3_prepare_v3(ms->db, sql[id], -1, SQLITE_PREPARE_PERSISTENT,
				       &ms->stmts[id], NULL) != SQLITE_OK)
			return NULL;
		return ms->stmts[id];
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

int store_exec(struct mstore *ms, const char *q, const char **error_r)
{
	if (store_db(ms) == NULL || sqlite3_exec(ms->db, q, NULL, NULL, NULL) != SQLITE_OK)
		return store_db_error(ms, q, error_r);
	return 0;
}

int store_begin(struct mstore *ms, const char **error_r)
{
	return store_exec(ms, "BEGIN IMMEDIATE", error_r);
}

int store_commit(struct mstore *ms, const char **error_r)
{
	if (ms->db == NULL || sqlite3_exec(ms->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		store_db_error(ms, "commit", error_r);
		store_rollback(ms);
		return -1;
	}
	return 0;
}

void store_rollback(struct mstore *ms)
{
	if (ms->db != NULL && !sqlite3_get_autocommit(ms->db))
		(void)sqlite3_exec(ms->db, "ROLLBACK", NULL, NULL, NULL);
}

/* UIDVALIDITY must differ from every earlier value of the same name, even
 * after index.db was deleted: the clock, but never at or below the last
 * value handed out, which a small file beside the index remembers. */
uint32_t store_new_uidvalidity(struct mstore *ms)
{
	char *data = NULL;
	size_t len;
	const char *err;
	unsigned long long last = 0;
	if (fs_read_file_at(ms->root_fd, "index.uidvalidity", 64, &data, &len, &err) == 0) {
		while (len > 0 && (data[len - 1] == '\n'))
			len--;
		if (str_to_u64((struct str){ data, len }, UINT32_MAX, &last) < 0)
			last = 0;
		free(data);
	}
	uint32_t v = (uint32_t)time(NULL);
	if (v <= last)
		v = (uint32_t)last + 1;
	if (v == 0)
		v = 1;
	char text[16];
	int n = snprintf(text, sizeof text, "%u\n", v);
	(void)fs_write_file_durable_at(ms->root_fd, "index.uidvalidity", text, (size_t)n, 0600,
				       &err);
	return v;
}

int store_folder_row(struct mstore *ms, const char *name, bool create,
		     struct folder_row *row_r, const char **error_r)
{
	sqlite3_stmt *st = store_stmt(ms, ST_FOLDER_GET);
	if (st == NULL)
		return store_db_error(ms, "prepare", error_r);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row_r->id = sqlite3_column_int64(st, 0);
		row_r->uidvalidity = (uint32_t)sqlite3_column_int64(st, 1);
		row_r->uidnext = (uint32_t)sqlite3_column_int64(st, 2);
		row_r->modseq = (uint64_t)sqlite3_column_int64(st, 3);
		row_r->new_mtime = sqlite3_column_int64(st, 4);
		row_r->cur_mtime = sqlite3_column_int64(st, 5);
		sqlite3_reset(st);
		return 1;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_db_error(ms, "folder", error_r);
	if (!create)
		return 0;
	st = store_stmt(ms, ST_FOLDER_ADD);
	if (st == NULL)
		return store_db_error(ms, "prepare", error_r);
	*row_r = (struct folder_row){ 0 };
	row_r->uidvalidity = store_new_uidvalidity(ms);
	row_r->uidnext = 1;
	row_r->modseq = 1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, row_r->uidvalidity);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	/* Another handle may have added it first: read theirs. */
	if (rc == SQLITE_CONSTRAINT)
		return store_folder_row(ms, name, false, row_r, error_r) == 1 ? 0 : -1;
	if (rc != SQLITE_DONE)
		return store_db_error(ms, "add folder", error_r);
	row_r->id = sqlite3_last_insert_rowid(ms->db);
	return 0;
}

int store_folder_row_save(struct mstore *ms, const struct folder_row *row,
			  const char **error_r)
{
	sqlite3_stmt *st = store_stmt(ms, ST_FOLDER_SET);
	if (st == NULL)
		return store_db_error(ms, "prepare", error_r);
	sqlite3_bind_int64(st, 1, row->id);
	sqlite3_bind_int64(st, 2, row->uidnext);
	sqlite3_bind_int64(st, 3, (int64_t)row->modseq);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(ms, "save folder", error_r);
}

int store_folder_forget(struct mstore *ms, const char *name, const char **error_r)
{
	struct folder_row row;
	int r = store_folder_row(ms, name, false, &row, error_r);
	if (r <= 0)
		return r;
	static const char *const del[] = {
		"DELETE FROM msgs WHERE id BETWEEN ?1 << 32 AND (?1 << 32) | 0xffffffff",
		"DELETE FROM hdrs WHERE id BETWEEN ?1 << 32 AND (?1 << 32) | 0xffffffff",
		"DELETE FROM envs WHERE id BETWEEN ?1 << 32 AND (?1 << 32) | 0xffffffff",
		"DELETE FROM bodies WHERE id BETWEEN ?1 << 32 AND (?1 << 32) | 0xffffffff",
		"DELETE FROM runs WHERE id BETWEEN ?1 << 32 AND (?1 << 32) | 0xffffffff",
		"DELETE FROM unread WHERE id BETWEEN ?1 << 32 AND (?1 << 32) | 0xffffffff",
		"DELETE FROM expunged WHERE folder_id = ?1",
		/* store_recent.c's mark: a later folder may get this id */
		"DELETE FROM meta WHERE key = 'recent:' || ?1",
		"DELETE FROM folders WHERE id = ?1",
	};
	for (size_t i = 0; i < sizeof del / sizeof del[0]; i++) {
		sqlite3_stmt *st;
		if (sqlite3_prepare_v2(store_db(ms), del[i], -1, &st, NULL) != SQLITE_OK)
			return store_db_error(ms, "prepare", error_r);
		sqlite3_bind_int64(st, 1, row.id);
		int rc = sqlite3_step(st);
		sqlite3_finalize(st);
		if (rc != SQLITE_DONE)
			return store_db_error(ms, "forget folder", error_r);
	}
	return 0;
}

/* msgs.psize (POP3's size) came after layout 3: an index without it
 * gets the column, and every message is "not read yet" again, so the
 * next look at it reads the file once and sets the size (as for a new
 * Maildir). UIDs, flags and UIDVALIDITY stay. */
static int psize_upgrade(struct mstore *ms, const char **error_r)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(store_db(ms), "SELECT psize FROM msgs LIMIT 0", -1, &st,
			       NULL) == SQLITE_OK) {
		sqlite3_finalize(st);
		return 0;
	}
	return store_exec(ms, "ALTER TABLE msgs ADD COLUMN psize INTEGER;"
			  " UPDATE msgs SET idate = NULL; DELETE FROM unread;"
			  " INSERT INTO unread SELECT id, hi FROM runs;", error_r);
}

/* In the open's transaction: an index of another layout is emptied (the
 * schema then creates this one), and the version noted. */
static int schema_upgrade(struct mstore *ms, const char **error_r)
{
	if (store_exec(ms, "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value)",
		       error_r) < 0)
		return -1;
	sqlite3_stmt *st = store_stmt(ms, ST_META_GET);
	if (st == NULL)
		return store_db_error(ms, "prepare", error_r);
	sqlite3_bind_text(st, 1, "schema", -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	bool current = rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_TEXT &&
		       strcmp((const char *)sqlite3_column_text(st, 0), SCHEMA_VERSION) == 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_error(ms, "schema", error_r);
	if (current)
		return psize_upgrade(ms, error_r);
	if (store_exec(ms, drop_old, error_r) < 0)
		return -1;
	st = store_stmt(ms, ST_META_SET);
	if (st == NULL)
		return store_db_error(ms, "prepare", error_r);
	sqlite3_bind_text(st, 1, "schema", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, SCHEMA_VERSION, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(ms, "schema", error_r);
}

/* SQLite opens by path: the index files are checked first, so that a
 * link in their place is refused with a clear word. SQLITE_OPEN_NOFOLLOW
 * then refuses a link put there after the check, and SQLite opens the
 * -wal and -shm files with O_NOFOLLOW itself. */
static int index_files_check(struct mstore *ms, const char **error_r)
{
	static const char *const names[] = { "index.db", "index.db-wal", "index.db-shm" };
	for (size_t i = 0; i < 3; i++) {
		struct stat st;
		if (fs_stat_beneath(ms->root_fd, names[i], &st) < 0) {
			if (errno == ENOENT)
				continue;
			*error_r = "cannot open the index";
			return -1;
		}
		if (S_ISREG(st.st_mode))
			continue;
		log_err("store: %s/%s is %s: refused (remove it; the index is rebuilt)",
			ms->root, names[i], S_ISLNK(st.st_mode) ? "a symbolic link" :
			"not a regular file");
		*error_r = "the index is a symbolic link";
		errno = ELOOP;
		return -1;
	}
	return 0;
}

static int db_connect(struct mstore *ms, int open_flags, const char **error_r)
{
	char path[STORE_PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/index.db", ms->root);
	if (index_files_check(ms, error_r) < 0)
		return -1;
	int rc = sqlite3_open_v2(path, &ms->db, open_flags | SQLITE_OPEN_READWRITE |
				 SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK) {
		store_db_error(ms, "open", error_r);
		sqlite3_close(ms->db);
		ms->db = NULL;
		return -1;
	}
	sqlite3_busy_timeout(ms->db, 30000);
	/* Sleeping sessions close and reopen their connections: the last
	 * close in the process must not delete the write-ahead log and its
	 * index, or every reopen would make them anew (and their mtimes,
	 * which say whether the index was written, would never settle). */
	int persist = 1;
	(void)sqlite3_file_control(ms->db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
	/* Nor write: a checkpoint at close would write index.db, which the
	 * sleeping sessions' notification reports as news to all of them,
	 * whose reopen and close would do it again. Writers checkpoint as
	 * the log grows (wal_autocheckpoint). */
	(void)sqlite3_db_config(ms->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	/* synchronous=NORMAL in WAL: a crash may lose the last index
	 * transactions, never the mail, and the next sync redoes them from
	 * the Maildir (which is fsync'd before the index is told). */
	if (store_exec(ms, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		       " PRAGMA cache_size=-1024; PRAGMA temp_store=MEMORY", error_r) < 0) {
		sqlite3_close(ms->db);
		ms->db = NULL;
		return -1;
	}
	return 0;
}

sqlite3 *store_db(struct mstore *ms)
{
	const char *err;
	/* Asleep (mail_store_sleep): the connection comes back on first
	 * use; the schema was made when the store was opened. */
	if (ms->db == NULL && !ms->closed)
		(void)db_connect(ms, 0, &err);
	return ms->db;
}

int store_index_open(struct mstore *ms, const char **error_r)
{
	struct stat st;
	/* A deleted index.db must not meet the write-ahead log of its
	 * predecessor, whose pages belong to another database. */
	if (fs_stat_beneath(ms->root_fd, "index.db", &st) < 0 && errno == ENOENT) {
		unlinkat(ms->root_fd, "index.db-wal", 0);
		unlinkat(ms->root_fd, "index.db-shm", 0);
	}
	if (db_connect(ms, SQLITE_OPEN_CREATE, error_r) < 0)
		return -1;
	if (store_begin(ms, error_r) < 0)
		return -1;
	if (schema_upgrade(ms, error_r) < 0 || store_exec(ms, schema, error_r) < 0) {
		store_rollback(ms);
		return -1;
	}
	return store_commit(ms, error_r);
}

void store_index_close(struct mstore *ms)
{
	for (size_t i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(ms->stmts[i]);
		ms->stmts[i] = NULL;
	}
	sqlite3_close(ms->db);
	ms->db = NULL;
	ms->closed = true;
}

/* An idle session keeps no prepared statements: they are most of what
 * its connection holds once the page cache is given back, and preparing
 * again costs microseconds. Closing the connection too would save ~4 KiB
 * more but reparse the schema at every IDLE poll (4x the idle CPU). Not
 * inside a transaction, whose statements may still be stepping. */
/* Freed page caches and scans leave holes in the malloc arenas of the
 * threads that ran them; without a trim those pages stay resident under
 * the idle sessions. At most once a second for the whole process: one
 * trim walks every arena. */
static void trim_heap(void)
{
#ifdef __GLIBC__
	static _Atomic int64_t last;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	int64_t now = (int64_t)ts.tv_sec, prev = atomic_load(&last);
	if (now != prev && atomic_compare_exchange_strong(&last, &prev, now))
		malloc_trim(0);
#endif
}

static void store_v_trim(struct mail_store *s)
{
	struct mstore *ms = (struct mstore *)s;
	if (ms->db == NULL)
		return;
	if (sqlite3_get_autocommit(ms->db)) {
		for (size_t i = 0; i < ST_COUNT; i++) {
			sqlite3_finalize(ms->stmts[i]);
			ms->stmts[i] = NULL;
		}
	}
	sqlite3_db_release_memory(ms->db);
	trim_heap();
}

/* Each commit writes index.db-wal, each checkpoint index.db: the two
 * mtimes (ns; -1 when absent) say whether anyone wrote the index. */
static void index_mtimes(const struct mstore *ms, int64_t *db_r, int64_t *wal_r)
{
	*db_r = store_mtime_at(ms->root_fd, "index.db", false);
	*wal_r = store_mtime_at(ms->root_fd, "index.db-wal", false);
}

bool store_asleep_unchanged(struct mstore *ms)
{
	int64_t db, wal;
	struct timespec now;
	if (ms->db != NULL)
		return false;
	index_mtimes(ms, &db, &wal);
	/* A write in the same clock tick as the last one leaves the mtime
	 * as it was: one younger than a second is not trusted. */
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t n = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
	return db == ms->slept_db && wal == ms->slept_wal && n - db >= 1000000000LL &&
	       n - wal >= 1000000000LL;
}

/* Before a long wait (IDLE with change notification): the connection
 * too, with its schema, page cache and file descriptors; store_db()
 * opens it again on the next call (about 0.1 ms). Not inside a
 * transaction. */
static void store_v_sleep(struct mail_store *s)
{
	struct mstore *ms = (struct mstore *)s;
	if (ms->db == NULL || !sqlite3_get_autocommit(ms->db)) {
		store_v_trim(s);
		return;
	}
	for (size_t i = 0; i < ST_COUNT; i++) {
		sqlite3_finalize(ms->stmts[i]);
		ms->stmts[i] = NULL;
	}
	if (sqlite3_close(ms->db) != SQLITE_OK)
		return;   /* a statement still open: it stays awake */
	ms->db = NULL;
	index_mtimes(ms, &ms->slept_db, &ms->slept_wal);
	trim_heap();
}

static void store_v_free(struct mail_store *s)
{
	struct mstore *ms = (struct mstore *)s;
	store_index_close(ms);
	if (ms->root_fd >= 0)
		close(ms->root_fd);
	free(ms);
}

/* Opens the root (beneath parent_fd when not -1) and the index. */
static int store_open(const char *root, int parent_fd, const char *rel,
		      struct mail_store **s_r, const char **error_r)
{
	struct mstore *ms = calloc(1, sizeof *ms);
	if (ms == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	ms->store.v = &store_maildir_vfuncs;
	ms->root_fd = -1;
	int n = snprintf(ms->root, sizeof ms->root, "%s", root);
	if (n <= 0 || (size_t)n >= sizeof ms->root - STORE_DIRNAME_MAX - 64) {
		free(ms);
		*error_r = "mailbox path too long";
		errno = ENAMETOOLONG;
		return -1;
	}
	if (store_root_open(ms, parent_fd, rel, error_r) < 0 ||
	    store_index_open(ms, error_r) < 0) {
		/* error_r may point into ms->err: keep a static text. */
		if (*error_r >= ms->err && *error_r < ms->err + sizeof ms->err)
			*error_r = "cannot open the mail store";
		store_v_free(&ms->store);
		return -1;
	}
	*s_r = &ms->store;
	return 0;
}

int mail_store_maildir_open_root(const char *root, struct mail_store **s_r,
				 const char **error_r)
{
	return store_open(root, -1, NULL, s_r, error_r);
}

/* DATA itself may be a link (the administrator's choice); below it,
 * mail/DOMAIN/LOCAL and everything in them are reached without one. */
int mail_store_maildir_open(const char *data_dir, const char *domain, const char *local,
			    struct mail_store **s_r, const char **error_r)
{
	char root[STORE_PATH_MAX];
	if (maildir_user_root(data_dir, domain, local, root, sizeof root, error_r) < 0)
		return -1;
	int dfd = open(data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		*error_r = "cannot open the data directory";
		return -1;
	}
	int r = store_open(root, dfd, root + strlen(data_dir) + 1, s_r, error_r);
	close(dfd);
	return r;
}

const struct mail_store_vfuncs store_maildir_vfuncs = {
	.trim = store_v_trim,
	.sleep = store_v_sleep,
	.free = store_v_free,
	.ensure_defaults = store_v_ensure_defaults,
	.list = store_v_list,
	.create = store_v_create,
	.remove = store_v_remove,
	.rename = store_v_rename,
	.subscribe = store_v_subscribe,
	.status = store_v_status,
	.append = store_v_append,
	.folder_open = store_v_folder_open,
	.folder_close = store_v_folder_close,
	.folder_status = store_v_folder_status,
	.folder_keywords = store_v_folder_keywords,
	.folder_claim_recent = store_v_folder_claim_recent,
	.folder_sync = store_v_folder_sync,
	.folder_poll = store_v_folder_poll,
	.folder_changes = store_v_folder_changes,
	.folder_count = store_v_folder_count,
	.seq_to_uid = store_v_seq_to_uid,
	.uid_to_seq = store_v_uid_to_seq,
	.iter_init = store_v_iter_init,
	.iter_next = store_v_iter_next,
	.iter_deinit = store_v_iter_deinit,
	.msg_open = store_v_msg_open,
	.store_flags = store_v_store_flags,
	.expunge = store_v_expunge,
	.copy_begin = store_v_copy_begin,
	.copy_prepare = store_v_copy_prepare,
	.copy_commit = store_v_copy_commit,
	.copy_free = store_v_copy_free,
	.pop3_open = store_v_pop3_open,
	.pop3_read = store_v_pop3_read,
	.pop3_open_msg = store_v_pop3_open_msg,
	.pop3_commit = store_v_pop3_commit,
	.pop3_close = store_v_pop3_close,
	.folder_expunged_since = store_v_folder_expunged_since,
	.folder_watch_paths = store_v_folder_watch_paths,
};
