#include "auth/userdb.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/address.h"
#include "auth/password.h"
#include "lib/fs.h"

#define USERDB_SCHEMA_VERSION 1
#define USERDB_BUSY_MS 5000

/* Every statement is prepared once at open; nothing is built from strings,
 * so no address or password can ever become SQL. */
enum stmt {
	ST_USER_ADD, ST_USER_DEL, ST_USER_PASSWD, ST_USER_LIST, ST_USER_HASH,
	ST_ALIAS_ADD, ST_ALIAS_DEL_ALL, ST_ALIAS_DEL_ONE, ST_ALIAS_LIST,
	ST_ALIAS_TARGETS, ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
	/* Parenthesised: one string, not a missing comma (clang checks). */
	[ST_USER_ADD] = ("INSERT INTO users(address, local, domain, hash, created) "
			 "VALUES(?1, ?2, ?3, ?4, ?5)"),
	[ST_USER_DEL] = "DELETE FROM users WHERE address = ?1",
	[ST_USER_PASSWD] = "UPDATE users SET hash = ?2 WHERE address = ?1",
	[ST_USER_LIST] = "SELECT address FROM users ORDER BY address",
	[ST_USER_HASH] = "SELECT hash FROM users WHERE address = ?1",
	[ST_ALIAS_ADD] = "INSERT OR IGNORE INTO aliases(alias, target) VALUES(?1, ?2)",
	[ST_ALIAS_DEL_ALL] = "DELETE FROM aliases WHERE alias = ?1",
	[ST_ALIAS_DEL_ONE] = "DELETE FROM aliases WHERE alias = ?1 AND target = ?2",
	[ST_ALIAS_LIST] = "SELECT alias, target FROM aliases ORDER BY alias, target",
	[ST_ALIAS_TARGETS] = "SELECT target FROM aliases WHERE alias = ?1 ORDER BY target",
	/* IMMEDIATE takes the write lock up front, so a transaction never
	 * fails half-way with SQLITE_BUSY after its reads. */
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
};

/* Version 1. Addresses are stored lower-cased, so equality is exact and the
 * primary keys are the lookup indexes. */
static const char schema_v1[] =
	"CREATE TABLE IF NOT EXISTS users ("
	" address TEXT PRIMARY KEY NOT NULL,"
	" local TEXT NOT NULL,"
	" domain TEXT NOT NULL,"
	" hash TEXT NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS aliases ("
	" alias TEXT NOT NULL,"
	" target TEXT NOT NULL,"
	" PRIMARY KEY (alias, target));"
	"PRAGMA user_version = 1;";

const char *const userdb_files[USERDB_FILE_COUNT] = {
	"postbox.db", "postbox.db-wal", "postbox.db-shm"
};

struct userdb {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
};

/* Runs a statement that returns no rows, then makes it reusable. */
static int run(sqlite3_stmt *st, const char **error_r)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc == SQLITE_DONE)
		return 0;
	*error_r = sqlite3_errstr(rc);
	return -1;
}

static void finish(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static int bind(sqlite3_stmt *st, int idx, const char *s)
{
	return sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC) == SQLITE_OK ? 0 : -1;
}

/* Creates the file 0600 before SQLite does: SQLite would use 0644 (less the
 * umask), and the -wal/-shm files copy the database file's mode. */
static int create_private(const char *path, const char **error_r)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		*error_r = errno == EACCES ? "permission denied" : "cannot create database file";
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_uid == geteuid() && (st.st_mode & 077) != 0)
		(void)fchmod(fd, 0600);
	close(fd);
	return 0;
}

static int schema_init(sqlite3 *db, const char **error_r)
{
	static const char *const pragmas =
		"PRAGMA journal_mode = WAL;"
		/* FULL: a committed user or alias survives a power cut. */
		"PRAGMA synchronous = FULL;";
	if (sqlite3_exec(db, pragmas, NULL, NULL, NULL) != SQLITE_OK) {
		*error_r = sqlite3_errstr(sqlite3_errcode(db));
		return -1;
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) {
		*error_r = sqlite3_errstr(sqlite3_errcode(db));
		return -1;
	}
	int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
	sqlite3_finalize(st);
	if (version < 0 || version > USERDB_SCHEMA_VERSION) {
		*error_r = version < 0 ? "cannot read the schema version" :
			"database written by a newer postbox (schema version too high)";
		return -1;
	}
	if (version == USERDB_SCHEMA_VERSION)
		return 0;
	/* Two processes may both see version 0: IMMEDIATE serialises them
	 * and IF NOT EXISTS makes the second run harmless. */
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, schema_v1, NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		*error_r = sqlite3_errstr(sqlite3_errcode(db));
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int userdb_open(const char *data_dir, struct userdb **db_r, const char **error_r)
{
	char path[PATH_MAX];
	*db_r = NULL;
	if (snprintf(path, sizeof path, "%s/%s", data_dir, userdb_files[0]) >= (int)sizeof path) {
		*error_r = "data directory path too long";
		return -1;
	}
	if (fs_mkdir_p(data_dir, 0700, error_r) < 0 || create_private(path, error_r) < 0)
		return -1;
	struct userdb *u = calloc(1, sizeof *u);
	if (u == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	int rc = sqlite3_open_v2(path, &u->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		*error_r = sqlite3_errstr(rc);
		userdb_close(&u);
		return -1;
	}
	sqlite3_busy_timeout(u->db, USERDB_BUSY_MS);
	if (schema_init(u->db, error_r) < 0) {
		userdb_close(&u);
		return -1;
	}
	for (int i = 0; i < ST_COUNT; i++) {
		if (sqlite3_prepare_v3(u->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
				       &u->st[i], NULL) != SQLITE_OK) {
			*error_r = sqlite3_errstr(sqlite3_errcode(u->db));
			userdb_close(&u);
			return -1;
		}
	}
	*db_r = u;
	return 0;
}

void userdb_close(struct userdb **db)
{
	struct userdb *u = *db;
	if (u == NULL)
		return;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(u->st[i]);
	sqlite3_close(u->db);
	free(u);
	*db = NULL;
}

/* Users */

int userdb_user_add(struct userdb *db, const char *address, const char *password,
		    const char **error_r)
{
	struct address a;
	char hash[PASSWORD_HASH_MAX];
	if (address_parse(address, false, &a, error_r) < 0 ||
	    password_hash(password, hash, sizeof hash, error_r) < 0)
		return -1;
	sqlite3_stmt *st = db->st[ST_USER_ADD];
	if (bind(st, 1, a.address) < 0 || bind(st, 2, a.local) < 0 ||
	    bind(st, 3, a.domain) < 0 || bind(st, 4, hash) < 0 ||
	    sqlite3_bind_int64(st, 5, (sqlite3_int64)time(NULL)) != SQLITE_OK) {
		finish(st);
		*error_r = "cannot bind values";
		return -1;
	}
	int rc = sqlite3_step(st);
	finish(st);
	if (rc == SQLITE_DONE)
		return 0;
	*error_r = rc == SQLITE_CONSTRAINT ? "user already exists" : sqlite3_errstr(rc);
	return -1;
}

/* Runs a one-address write and reports "no such user" when nothing
 * changed. */
static int user_write(struct userdb *db, sqlite3_stmt *st, const struct address *a,
		      const char *hash, const char **error_r)
{
	if (bind(st, 1, a->address) < 0 || (hash != NULL && bind(st, 2, hash) < 0)) {
		finish(st);
		*error_r = "cannot bind values";
		return -1;
	}
	if (run(st, error_r) < 0)
		return -1;
	if (sqlite3_changes(db->db) == 0) {
		*error_r = "no such user";
		return -1;
	}
	return 0;
}

int userdb_user_del(struct userdb *db, const char *address, const char **error_r)
{
	struct address a;
	if (address_parse(address, false, &a, error_r) < 0)
		return -1;
	return user_write(db, db->st[ST_USER_DEL], &a, NULL, error_r);
}

int userdb_user_passwd(struct userdb *db, const char *address, const char *password,
		       const char **error_r)
{
	struct address a;
	char hash[PASSWORD_HASH_MAX];
	if (address_parse(address, false, &a, error_r) < 0 ||
	    password_hash(password, hash, sizeof hash, error_r) < 0)
		return -1;
	return user_write(db, db->st[ST_USER_PASSWD], &a, hash, error_r);
}

int userdb_user_list(struct userdb *db, void (*cb)(const char *address, void *ctx),
		     void *ctx, const char **error_r)
{
	sqlite3_stmt *st = db->st[ST_USER_LIST];
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb((const char *)sqlite3_column_text(st, 0), ctx);
	finish(st);
	if (rc == SQLITE_DONE)
		return 0;
	*error_r = sqlite3_errstr(rc);
	return -1;
}

/* Builds the lower-cased key "local@domain"; -1 when it cannot be a stored
 * address (too long), which callers treat as "not found". */
static int make_key(const char *local, const char *domain, char *key, size_t size)
{
	size_t l = strlen(local), d = strlen(domain);
	if (l > ADDRESS_LOCAL_MAX || d > ADDRESS_DOMAIN_MAX || l + d + 2 > size)
		return -1;
	address_lower(local, l, key);
	key[l] = '@';
	address_lower(domain, d, key + l + 1);
	return 0;
}

/* Copies the stored hash of key into hash; 1 found, 0 not, -1 error. */
static int user_hash(struct userdb *db, const char *key, char *hash, size_t size)
{
	sqlite3_stmt *st = db->st[ST_USER_HASH];
	if (bind(st, 1, key) < 0) {
		finish(st);
		return -1;
	}
	int ret, rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(st, 0);
		size_t n = h != NULL ? strlen(h) : 0;
		ret = n > 0 && n < size ? 1 : -1;
		if (ret == 1)
			memcpy(hash, h, n + 1);
	} else {
		ret = rc == SQLITE_DONE ? 0 : -1;
	}
	finish(st);
	return ret;
}

int userdb_user_exists(struct userdb *db, const char *local, const char *domain)
{
	char key[sizeof(((struct address *)0)->address)], hash[PASSWORD_HASH_MAX];
	if (make_key(local, domain, key, sizeof key) < 0)
		return 0;
	return user_hash(db, key, hash, sizeof hash);
}

int userdb_verify_password(struct userdb *db, const char *address, const char *password)
{
	char key[sizeof(((struct address *)0)->address)], hash[PASSWORD_HASH_MAX];
	const char *at = strrchr(address, '@');
	if (at == NULL)
		return password_verify_dummy(password);
	size_t l = (size_t)(at - address);
	if (l > ADDRESS_LOCAL_MAX || strlen(at + 1) > ADDRESS_DOMAIN_MAX)
		return password_verify_dummy(password);
	char local[ADDRESS_LOCAL_MAX + 1];
	memcpy(local, address, l);
	local[l] = '\0';
	if (make_key(local, at + 1, key, sizeof key) < 0)
		return password_verify_dummy(password);
	int found = user_hash(db, key, hash, sizeof hash);
	if (found <= 0) {
		/* Unknown users cost as much as known ones: no enumeration
		 * by timing. */
		password_verify_dummy(password);
		return found;
	}
	int ret = password_verify(password, hash);
	explicit_bzero(hash, sizeof hash);
	return ret;
}

/* Aliases */

static int tx(struct userdb *db, enum stmt which, const char **error_r)
{
	return run(db->st[which], error_r);
}

static int rollback(struct userdb *db)
{
	const char *ignored;
	return tx(db, ST_ROLLBACK, &ignored);
}

/* Runs one alias/target write inside an open transaction; returns the
 * number of rows changed or -1. */
static int alias_write(struct userdb *db, enum stmt which, const char *alias,
		       const char *target, const char **error_r)
{
	sqlite3_stmt *st = db->st[which];
	if (bind(st, 1, alias) < 0 || (target != NULL && bind(st, 2, target) < 0)) {
		finish(st);
		*error_r = "cannot bind values";
		return -1;
	}
	if (run(st, error_r) < 0)
		return -1;
	return sqlite3_changes(db->db);
}

int userdb_alias_add(struct userdb *db, const char *alias, const char *const *targets,
		     size_t count, const char **error_r)
{
	struct address a, t;
	if (address_parse(alias, true, &a, error_r) < 0)
		return -1;
	if (count == 0) {
		*error_r = "an alias needs at least one target";
		return -1;
	}
	/* Check every target before writing any: all or nothing. */
	for (size_t i = 0; i < count; i++) {
		if (address_parse(targets[i], false, &t, error_r) < 0)
			return -1;
	}
	if (tx(db, ST_BEGIN, error_r) < 0)
		return -1;
	for (size_t i = 0; i < count; i++) {
		(void)address_parse(targets[i], false, &t, error_r);
		if (alias_write(db, ST_ALIAS_ADD, a.address, t.address, error_r) < 0) {
			rollback(db);
			return -1;
		}
	}
	if (tx(db, ST_COMMIT, error_r) < 0) {
		rollback(db);
		return -1;
	}
	return 0;
}

static int alias_del_targets(struct userdb *db, const char *alias,
			     const char *const *targets, size_t count,
			     const char **error_r)
{
	struct address t;
	for (size_t i = 0; i < count; i++) {
		if (address_parse(targets[i], false, &t, error_r) < 0)
			return -1;
		int n = alias_write(db, ST_ALIAS_DEL_ONE, alias, t.address, error_r);
		if (n < 0)
			return -1;
		if (n == 0) {
			*error_r = "the alias has no such target";
			return -1;
		}
	}
	return 0;
}

int userdb_alias_del(struct userdb *db, const char *alias, const char *const *targets,
		     size_t count, const char **error_r)
{
	struct address a;
	if (address_parse(alias, true, &a, error_r) < 0)
		return -1;
	if (targets == NULL || count == 0) {
		int n = alias_write(db, ST_ALIAS_DEL_ALL, a.address, NULL, error_r);
		if (n == 0)
			*error_r = "no such alias";
		return n > 0 ? 0 : -1;
	}
	if (tx(db, ST_BEGIN, error_r) < 0)
		return -1;
	if (alias_del_targets(db, a.address, targets, count, error_r) < 0 ||
	    tx(db, ST_COMMIT, error_r) < 0) {
		rollback(db);
		return -1;
	}
	return 0;
}

int userdb_alias_list(struct userdb *db,
		      void (*cb)(const char *alias, const char *target, void *ctx),
		      void *ctx, const char **error_r)
{
	sqlite3_stmt *st = db->st[ST_ALIAS_LIST];
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cb((const char *)sqlite3_column_text(st, 0),
		   (const char *)sqlite3_column_text(st, 1), ctx);
	}
	finish(st);
	if (rc == SQLITE_DONE)
		return 0;
	*error_r = sqlite3_errstr(rc);
	return -1;
}

int userdb_alias_targets(struct userdb *db, const char *alias,
			 void (*cb)(const char *target, void *ctx), void *ctx)
{
	char key[sizeof(((struct address *)0)->address)];
	size_t n = strlen(alias);
	if (n >= sizeof key)
		return 0;
	address_lower(alias, n, key);
	sqlite3_stmt *st = db->st[ST_ALIAS_TARGETS];
	if (bind(st, 1, key) < 0) {
		finish(st);
		return -1;
	}
	int rc, count = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cb((const char *)sqlite3_column_text(st, 0), ctx);
		count++;
	}
	finish(st);
	return rc == SQLITE_DONE ? count : -1;
}
