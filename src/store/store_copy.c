/* COPY and MOVE's copy, all or nothing, in steps (store.h): the files are
 * hard-linked into the destination's tmp/ a slice at a time, where no
 * reader looks, and all of them appear at once in one commit (renames
 * into cur/, one fsync of cur/, the index rows), under the index's write
 * lock so that no other handle's sync gives a file a UID first. What was
 * prepared and not committed is unlinked again by copy_free: a failure
 * or a client that leaves in the middle leaves nothing behind.
 *
 * The source files are reached from the source folder's cur/ and new/,
 * opened once for the whole copy without following links; a link planted
 * in their place is never copied. */
#include "store/store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/maildir.h"

/* A prepared message: its source UID and flags, and its file's unique
 * name in dest's tmp/ (the rest is rebuilt at commit: a copy of 100,000
 * messages keeps a few MiB). */
struct copy_item {
	uint32_t src_uid;
	unsigned flags;
	char *name;
};

struct mcopy {
	struct mail_copy copy;       /* first */
	struct mfolder *src;
	struct mfolder dst;
	struct maildir md;           /* dest's, open for the whole copy */
	int src_cur, src_new;        /* the source's cur/ and new/ */
	struct copy_item *items;
	size_t n, cap;
};

/* "cur/NAME:2,FLAGS", the name the index gives the copy. */
static int item_fname(const struct copy_item *x, char *out, size_t outlen,
		      const char **error_r)
{
	char plain[MAILDIR_NAME_MAX + 8];
	snprintf(plain, sizeof plain, "new/%s", x->name);
	if (store_fname_with_flags(plain, x->flags, out, outlen) < 0) {
		*error_r = "mailbox path too long";
		return -1;
	}
	return 0;
}

void store_v_copy_free(struct mail_copy *c)
{
	struct mcopy *mc = (struct mcopy *)c;
	for (size_t i = 0; i < mc->n; i++) {
		unlinkat(mc->md.tmp, mc->items[i].name, 0);
		free(mc->items[i].name);
	}
	free(mc->items);
	maildir_close(&mc->md);
	if (mc->src_cur >= 0)
		close(mc->src_cur);
	if (mc->src_new >= 0)
		close(mc->src_new);
	free(mc);
}

int store_v_copy_begin(struct mail_folder *f, const char *dest, struct mail_copy **c_r,
		       const char **error_r)
{
	struct mfolder *src = (struct mfolder *)f;
	struct mcopy *mc = calloc(1, sizeof *mc);
	if (mc == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	mc->copy.folder = f;
	mc->src = src;
	mc->md = (struct maildir){ -1, -1, -1, -1 };
	mc->src_cur = mc->src_new = -1;
	if (store_folder_init(src->ms, dest, &mc->dst, error_r) < 0 ||
	    store_v_folder_sync(f, error_r) < 0 ||
	    maildir_open_at(src->ms->root_fd, mc->dst.rel, false, &mc->md, error_r) < 0)
		goto fail;
	mc->src_cur = store_dir_open(src, "cur");
	mc->src_new = store_dir_open(src, "new");
	if (mc->src_cur < 0 || mc->src_new < 0) {
		*error_r = "cannot open the folder";
		goto fail;
	}
	*c_r = &mc->copy;
	return 0;
fail:
	store_v_copy_free(&mc->copy);
	return -1;
}

/* Links one source file into tmp/ and notes it; 0 also when the message
 * went meanwhile (skipped), -1 on failure. */
static int prepare_one(struct mcopy *mc, const struct msg_row *row, const char **error_r)
{
	bool in_cur = strncmp(row->fname, "cur/", 4) == 0;
	int dirfd = in_cur ? mc->src_cur : mc->src_new;
	const char *base = row->fname + 4;
	struct stat st;
	struct maildir_file file;
	if ((!in_cur && strncmp(row->fname, "new/", 4) != 0) ||
	    fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return 0;
	if (mc->n == mc->cap) {
		size_t cap = mc->cap < 64 ? 64 : mc->cap * 2;
		struct copy_item *a = realloc(mc->items, cap * sizeof *a);
		if (a == NULL) {
			*error_r = "out of memory";
			return -1;
		}
		mc->items = a;
		mc->cap = cap;
	}
	if (maildir_tmp_link_at(&mc->md, dirfd, base, (uint64_t)st.st_size, &file,
				error_r) < 0)
		return errno == ENOENT ? 0 : -1;
	/* A hard link has nothing to sync; a copy (another file system) is
	 * fsync'd here. */
	struct copy_item *x = &mc->items[mc->n];
	x->name = strdup(file.name);
	if (x->name == NULL || maildir_file_sync(&file, error_r) < 0) {
		if (x->name == NULL)
			*error_r = "out of memory";
		free(x->name);
		maildir_file_discard(&file);
		return -1;
	}
	x->src_uid = row->uid;
	x->flags = row->flags;
	mc->n++;
	return 0;
}

int store_v_copy_prepare(struct mail_copy *c, const struct mail_range *uids, size_t n,
			 const char **error_r)
{
	struct mcopy *mc = (struct mcopy *)c;
	struct msg_row *rows = NULL;
	size_t count = 0;
	int r = store_rows_load(mc->src, uids, n, &rows, &count, error_r);
	for (size_t i = 0; i < count && r == 0; i++)
		r = prepare_one(mc, &rows[i], error_r);
	store_rows_free(&rows, count);
	return r;
}

/* The copy's rows: the message's with a new key, name and modseq, and
 * its cache rows as they are (a hard link has the same bytes). Each row
 * is read, then written with its values bound: an INSERT ... SELECT from
 * the same table costs a temporary table per row. */
enum { T_MSGS, T_HDRS, T_ENVS, T_BODIES, T_COUNT };
static const struct {
	const char *get, *put;
	int ncols;
} copy_sql[T_COUNT] = {
	[T_MSGS] = { "SELECT * FROM msgs WHERE id = ?1",
		     "INSERT INTO msgs VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", 10 },
	[T_HDRS] = { "SELECT * FROM hdrs WHERE id = ?1",
		     "INSERT OR REPLACE INTO hdrs VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
		     " ?10)", 10 },
	[T_ENVS] = { "SELECT * FROM envs WHERE id = ?1",
		     "INSERT OR REPLACE INTO envs VALUES(?1, ?2)", 2 },
	[T_BODIES] = { "SELECT * FROM bodies WHERE id = ?1",
		       "INSERT OR REPLACE INTO bodies VALUES(?1, ?2, ?3)", 3 },
};
/* msgs' columns the copy changes; idate NULL: not read yet. */
enum { MSGS_FNAME = 1, MSGS_MODSEQ = 4, MSGS_IDATE = 7, MSGS_TOUCHED = 8 };

struct copy_stmts {
	sqlite3_stmt *get[T_COUNT], *put[T_COUNT];
};

static void stmts_free(struct copy_stmts *q)
{
	for (size_t i = 0; i < T_COUNT; i++) {
		sqlite3_finalize(q->get[i]);
		sqlite3_finalize(q->put[i]);
	}
}

static int stmts_prepare(struct mstore *ms, struct copy_stmts *q, const char **error_r)
{
	memset(q, 0, sizeof *q);
	for (size_t i = 0; i < T_COUNT; i++) {
		if (sqlite3_prepare_v2(store_db(ms), copy_sql[i].get, -1, &q->get[i], NULL) !=
			    SQLITE_OK ||
		    sqlite3_prepare_v2(store_db(ms), copy_sql[i].put, -1, &q->put[i], NULL) !=
			    SQLITE_OK) {
			store_db_error(ms, "prepare", error_r);
			stmts_free(q);
			return -1;
		}
	}
	return 0;
}

/* Copies table t's row of key from to key to; *found_r: there was one.
 * For msgs, *unread_r: it was not read yet (no cache rows). */
static int copy_table_row(struct mcopy *mc, struct copy_stmts *q, int t, int64_t from,
			  int64_t to, const char *fname, bool *found_r, bool *unread_r,
			  const char **error_r)
{
	sqlite3_stmt *get = q->get[t], *put = q->put[t];
	sqlite3_reset(get);
	sqlite3_reset(put);
	sqlite3_clear_bindings(put);
	sqlite3_bind_int64(get, 1, from);
	int rc = sqlite3_step(get);
	*found_r = rc == SQLITE_ROW;
	if (rc != SQLITE_ROW) {
		sqlite3_reset(get);
		return rc == SQLITE_DONE ? 0 : store_db_error(mc->dst.ms, "copy", error_r);
	}
	sqlite3_bind_int64(put, 1, to);
	for (int c = 1; c < copy_sql[t].ncols; c++)
		sqlite3_bind_value(put, c + 1, sqlite3_column_value(get, c));
	if (t == T_MSGS) {
		*unread_r = sqlite3_column_type(get, MSGS_IDATE) == SQLITE_NULL;
		sqlite3_bind_text(put, MSGS_FNAME + 1, fname, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(put, MSGS_MODSEQ + 1, (int64_t)mc->dst.row.modseq);
		sqlite3_bind_null(put, MSGS_TOUCHED + 1);
	}
	rc = sqlite3_step(put);
	sqlite3_reset(get);
	sqlite3_reset(put);
	return rc == SQLITE_DONE ? 0 : store_db_error(mc->dst.ms, "copy", error_r);
}

/* *unread_r: the source was not read yet (no cache rows), and neither is
 * the copy. */
static int copy_row(struct mcopy *mc, struct copy_stmts *q, const struct copy_item *x,
		    const char *fname, uint32_t uid, bool *unread_r, const char **error_r)
{
	int64_t from = store_key(mc->src->row.id, x->src_uid);
	int64_t to = store_key(mc->dst.row.id, uid);
	bool found;
	if (copy_table_row(mc, q, T_MSGS, from, to, fname, &found, unread_r, error_r) < 0)
		return -1;
	if (!found) {
		*error_r = "message row vanished";
		return -1;
	}
	for (int t = T_HDRS; t < T_COUNT && !*unread_r; t++) {
		if (copy_table_row(mc, q, t, from, to, NULL, &found, NULL, error_r) < 0)
			return -1;
	}
	return 0;
}

/* Renames every prepared file into cur/ (*published_r of them done) and
 * fsyncs cur/. */
static int publish_all(struct mcopy *mc, size_t *published_r, const char **error_r)
{
	char fname[STORE_PATH_MAX];
	for (size_t i = 0; i < mc->n; i++) {
		struct maildir_file file;
		if (item_fname(&mc->items[i], fname, sizeof fname, error_r) < 0)
			return -1;
		if (maildir_file_resume(&mc->md, mc->items[i].name, &file) < 0 ||
		    maildir_file_publish(&file, fname, error_r) < 0) {
			*error_r = "cannot rename into cur/";
			return -1;
		}
		*published_r = i + 1;
	}
	return mc->n > 0 ? maildir_sync_dir(&mc->md, "cur", error_r) : 0;
}

/* Adds the unread run lo..hi (hi < lo: none). */
static int unread_flush(struct mfolder *dst, uint32_t lo, uint32_t hi, const char **error_r)
{
	return lo <= hi ? store_runs_add(dst, STORE_SET_UNREAD, lo, hi, error_r) : 0;
}

/* Under the write lock, after publish_all: the index rows. The copies
 * get consecutive UIDs, so the "not read yet" set grows by runs. */
static int index_all(struct mcopy *mc, struct mail_copy_result *r, const char **error_r)
{
	struct mfolder *dst = &mc->dst;
	struct copy_stmts q;
	char fname[STORE_PATH_MAX];
	if (store_uids_reserve(dst, mc->n, error_r) < 0 ||
	    stmts_prepare(dst->ms, &q, error_r) < 0)
		return -1;
	r->uidvalidity = dst->row.uidvalidity;
	dst->row.modseq++;
	uint32_t first = dst->row.uidnext, run_lo = 1, run_hi = 0;
	int rc = 0;
	for (size_t i = 0; i < mc->n && rc == 0; i++) {
		uint32_t uid = dst->row.uidnext++;
		bool unread = false;
		rc = item_fname(&mc->items[i], fname, sizeof fname, error_r);
		if (rc == 0)
			rc = copy_row(mc, &q, &mc->items[i], fname, uid, &unread, error_r);
		if (rc == 0 && unread && run_hi + 1 != uid) {
			rc = unread_flush(dst, run_lo, run_hi, error_r);
			run_lo = uid;
		}
		if (unread)
			run_hi = uid;
		r->src_uids[i] = mc->items[i].src_uid;
		r->dst_uids[i] = uid;
	}
	stmts_free(&q);
	if (rc < 0 || unread_flush(dst, run_lo, run_hi, error_r) < 0)
		return -1;
	r->count = mc->n;
	if (mc->n > 0 && store_runs_add(dst, STORE_SET_MSGS, first, dst->row.uidnext - 1,
					error_r) < 0)
		return -1;
	return store_folder_row_save(dst->ms, &dst->row, error_r);
}

int store_v_copy_commit(struct mail_copy *c, struct mail_copy_result *r,
			const char **error_r)
{
	struct mcopy *mc = (struct mcopy *)c;
	struct mstore *ms = mc->src->ms;
	size_t published = 0;
	*r = (struct mail_copy_result){ .uidvalidity = mc->dst.row.uidvalidity };
	size_t k = mc->n > 0 ? mc->n : 1;
	r->src_uids = calloc(k, sizeof *r->src_uids);
	r->dst_uids = calloc(k, sizeof *r->dst_uids);
	if (r->src_uids == NULL || r->dst_uids == NULL) {
		mail_copy_result_clear(r);
		*error_r = "out of memory";
		return -1;
	}
	if (store_begin(ms, error_r) < 0) {
		mail_copy_result_clear(r);
		return -1;
	}
	int rc = store_folder_row(ms, mc->dst.name, true, &mc->dst.row, error_r) < 0 ||
		 store_folder_row(ms, mc->src->name, true, &mc->src->row, error_r) < 0 ? -1 : 0;
	if (rc == 0)
		rc = publish_all(mc, &published, error_r);
	if (rc == 0)
		rc = index_all(mc, r, error_r);
	if (rc == 0)
		rc = store_commit(ms, error_r);
	if (rc == 0) {
		for (size_t i = 0; i < mc->n; i++)
			free(mc->items[i].name);
		mc->n = 0;
		return 0;
	}
	/* The files renamed into cur/ go before the lock does, so no other
	 * handle's sync sees them; those still in tmp/ go with the copy. */
	char fname[STORE_PATH_MAX];
	const char *ignored;
	for (size_t i = 0; i < published; i++) {
		if (item_fname(&mc->items[i], fname, sizeof fname, &ignored) == 0)
			unlinkat(mc->md.cur, fname + 4, 0);
	}
	store_rollback(ms);
	mail_copy_result_clear(r);
	return -1;
}
