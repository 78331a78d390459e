/* Listing messages from the index (FETCH, SEARCH, SORT), opening message
 * files, and expunge. */
#include "store/store_private.h"

#include <dirent.h>
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
	bool active;
	sqlite3_stmt *st;       /* private, so iterators may nest */
	int col_hdrs, col_env, col_body;   /* first column of each, or -1 */
	struct mail_msg msg;
	struct msg_facts parsed; /* cached fields the index lacks, parsed now */
	char *header;            /* MAIL_FETCH_HEADER_RAW, read from the file */
};

/* The query joins only the cache tables the fields need: FLAGS-only
 * listings read the narrow msgs rows alone. */
static int build_query(struct miter *it, char *q, size_t qlen)
{
	int n = snprintf(q, qlen, "SELECT m.id, m.flags, m.keywords, m.modseq, m.size,"
			 " m.vsize, m.idate, m.fname, m.psize");
	int col = 9;
	const char *joins[3] = { "", "", "" };
	it->col_hdrs = it->col_env = it->col_body = -1;
	if (it->fields & MAIL_FETCH_HEADERS) {
		n += snprintf(q + n, qlen - (size_t)n, ", h.sent_date, h.h_from, h.h_to, h.h_cc,"
			      " h.h_subject, h.h_date, h.h_message_id, h.h_in_reply_to,"
			      " h.h_references");
		it->col_hdrs = col;
		col += 9;
		joins[0] = " LEFT JOIN hdrs h ON h.id = m.id";
	}
	if (it->fields & MAIL_FETCH_ENVELOPE) {
		n += snprintf(q + n, qlen - (size_t)n, ", e.envelope");
		it->col_env = col;
		col += 1;
		joins[1] = " LEFT JOIN envs e ON e.id = m.id";
	}
	if (it->fields & MAIL_FETCH_BODYSTRUCTURE) {
		n += snprintf(q + n, qlen - (size_t)n, ", b.bodystructure, b.body");
		it->col_body = col;
		joins[2] = " LEFT JOIN bodies b ON b.id = m.id";
	}
	n += snprintf(q + n, qlen - (size_t)n, " FROM msgs m%s%s%s"
		      " WHERE m.id BETWEEN ?1 AND ?2 ORDER BY m.id", joins[0], joins[1],
		      joins[2]);
	return n > 0 && (size_t)n < qlen ? 0 : -1;
}

int store_v_iter_init(struct mail_folder *f, const struct mail_range *uids, size_t n,
		      unsigned fields, struct mail_iter **it_r, const char **error_r)
{
	struct mfolder *mf = (struct mfolder *)f;
	char q[640];
	/* Every message listed has been read once: sizes and dates are
	 * known, and the cache holds what the fields ask for. */
	if (!(fields & MAIL_FETCH_NO_READ) && store_fill(mf, uids, n, error_r) < 0)
		return -1;
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
	if (build_query(it, q, sizeof q) < 0 ||
	    sqlite3_prepare_v3(store_db(mf->ms), q, -1, 0, &it->st, NULL) != SQLITE_OK) {
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

/* ENVELOPE / BODYSTRUCTURE the index has no row for (the parser failed
 * or was not there when the message was read): parsed now, not kept. */
static void parse_now(struct miter *it)
{
	const char *err;
	struct mail_msg *m = &it->msg;
	store_facts_free(&it->parsed);
	int fd = store_file_open(it->mf, m->filename);
	if (fd < 0 || store_parse_fd(fd, &it->parsed, &err) < 0)
		return;
	if (m->envelope == NULL)
		m->envelope = it->parsed.envelope;
	if (m->bodystructure == NULL) {
		m->bodystructure = it->parsed.bodystructure;
		m->body = it->parsed.body;
	}
}

#define HEADER_READ_MAX (64 * 1024)   /* larger header sections: NULL */

/* The header section from the file (the index keeps only the common
 * fields): at most 64 KiB read; the caller reads a larger one itself. */
static void read_header(struct miter *it)
{
	if (it->header == NULL && (it->header = malloc(HEADER_READ_MAX + 1)) == NULL)
		return;
	int fd = store_file_open(it->mf, it->msg.filename);
	if (fd < 0)
		return;
	size_t len = 0;
	while (len < HEADER_READ_MAX) {
		ssize_t r = read(fd, it->header + len, HEADER_READ_MAX - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
		if (store_header_len(it->header, len) < len)
			break;
	}
	close(fd);
	size_t hlen = store_header_len(it->header, len);
	if (hlen == len && len == HEADER_READ_MAX)
		return;
	it->header[hlen] = '\0';
	it->msg.header_raw = it->header;
}

static void read_row(struct miter *it)
{
	sqlite3_stmt *st = it->st;
	struct mail_msg *m = &it->msg;
	*m = (struct mail_msg){ 0 };
	m->uid = store_key_uid(sqlite3_column_int64(st, 0));
	m->flags = (unsigned)sqlite3_column_int(st, 1);
	m->keywords = col(st, 2);
	m->modseq = (uint64_t)sqlite3_column_int64(st, 3);
	m->size = (uint64_t)sqlite3_column_int64(st, 4);
	m->vsize = (uint64_t)sqlite3_column_int64(st, 5);
	m->internal_date = (time_t)sqlite3_column_int64(st, 6);
	m->filename = col(st, 7);
	m->pop3_size = (uint64_t)sqlite3_column_int64(st, 8);
	if (it->col_hdrs >= 0) {
		const char **h[8] = { &m->h_from, &m->h_to, &m->h_cc, &m->h_subject,
				      &m->h_date, &m->h_message_id, &m->h_in_reply_to,
				      &m->h_references };
		m->date_sent = (time_t)sqlite3_column_int64(st, it->col_hdrs);
		for (int i = 0; i < 8; i++)
			*h[i] = col(st, it->col_hdrs + 1 + i);
	}
	if (it->col_env >= 0)
		m->envelope = col(st, it->col_env);
	if (it->col_body >= 0) {
		m->bodystructure = col(st, it->col_body);
		m->body = col(st, it->col_body + 1);
	}
	if (it->fields & MAIL_FETCH_HEADER_RAW)
		read_header(it);
	bool want = (it->col_env >= 0 && m->envelope == NULL) ||
		    (it->col_body >= 0 && m->bodystructure == NULL);
	if (want && store_parser() != NULL)
		parse_now(it);
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
			store_bind_range(it->st, it->mf->row.id, it->ranges[it->i].lo,
					 it->ranges[it->i].hi);
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
		uint32_t uid = store_key_uid(sqlite3_column_int64(it->st, 0));
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
	store_facts_free(&it->parsed);
	free(it->header);
	free(it->ranges);
	free(it);
}

/* The current file name of a message ("cur/NAME"); 1 found, 0 not, -1 error. */
static int msg_fname(struct mfolder *mf, uint32_t uid, char *out, size_t outlen,
		     unsigned *flags_r, const char **error_r)
{
	sqlite3_stmt *st = store_stmt(mf->ms, ST_MSG_GET);
	if (st == NULL)
		return store_db_error(mf->ms, "prepare", error_r);
	sqlite3_bind_int64(st, 1, store_key(mf->row.id, uid));
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		snprintf(out, outlen, "%s", col(st, 1));
		*flags_r = (unsigned)sqlite3_column_int(st, 0);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : store_db_error(mf->ms, "message", error_r);
}

/* The file of a message renamed since the index last saw it, found by
 * its base name in cur/ (then new/): 1 found (path in out), 0 not. */
static int find_renamed(const struct mfolder *mf, const char *fname, char *out,
			size_t outlen)
{
	static const char *const subs[] = { "cur", "new" };
	const char *slash = strrchr(fname, '/');
	const char *name = slash != NULL ? slash + 1 : fname;
	char base[STORE_PATH_MAX];
	size_t nlen = strlen(name);
	if (nlen >= sizeof base)
		return 0;   /* no file of ours has so long a name */
	memcpy(base, name, nlen + 1);
	size_t blen = store_base_len(base);
	for (size_t i = 0; i < 2; i++) {
		int dfd = store_dir_open(mf, subs[i]);
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		if (d == NULL) {
			if (dfd >= 0)
				close(dfd);
			continue;
		}
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (strncmp(de->d_name, base, blen) != 0 ||
			    (de->d_name[blen] != '\0' && de->d_name[blen] != ':'))
				continue;
			snprintf(out, outlen, "%s/%s", subs[i], de->d_name);
			closedir(d);
			return 1;
		}
		closedir(d);
	}
	return 0;
}

/* A flag change by another session renames the file under us. No sync
 * here: FETCH and SEARCH open files while their listing holds a read
 * snapshot of the index, and a write on a connection inside a read
 * cannot wait for the lock (SQLite returns SQLITE_BUSY at once, without
 * the busy handler, to avoid a deadlock). The file is found by its base
 * name instead, and the next sync enters the new name. */
int store_v_msg_open(struct mail_folder *f, uint32_t uid, int *fd_r, uint64_t *size_r,
		     const char **error_r)
{
	struct mfolder *mf = (struct mfolder *)f;
	char path[STORE_PATH_MAX * 2];
	unsigned flags = 0;
	int r = msg_fname(mf, uid, path, sizeof path, &flags, error_r);
	if (r < 0)
		return -1;
	int fd = r == 1 ? store_file_open(mf, path) : -1;
	if (fd < 0 && r == 1 && errno == ENOENT &&
	    find_renamed(mf, path, path, sizeof path) == 1)
		fd = store_file_open(mf, path);
	if (fd < 0 && (r == 0 || errno == ENOENT)) {
		*error_r = "message expunged";
		errno = ENOENT;
		return -1;
	}
	if (fd < 0) {
		*error_r = "cannot open message";
		return -1;
	}
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

int store_expunge_row(struct mfolder *mf, uint32_t uid, uint64_t modseq,
		      const char **error_r)
{
	static const enum store_stmt del[] = {
		ST_MSG_DEL, ST_HDRS_DEL, ST_ENV_DEL, ST_BODY_DEL, ST_EXPUNGED_ADD
	};
	for (size_t i = 0; i < sizeof del / sizeof del[0]; i++) {
		sqlite3_stmt *st = store_stmt(mf->ms, del[i]);
		if (st == NULL)
			return store_db_error(mf->ms, "prepare", error_r);
		sqlite3_bind_int64(st, 1, store_key(mf->row.id, uid));
		if (del[i] == ST_EXPUNGED_ADD) {
			sqlite3_bind_int64(st, 2, mf->row.id);
			sqlite3_bind_int64(st, 3, (int64_t)modseq);
		}
		int rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_db_error(mf->ms, "expunge", error_r);
	}
	if (store_runs_del(mf, STORE_SET_MSGS, uid, uid, error_r) < 0)
		return -1;
	return store_runs_del(mf, STORE_SET_UNREAD, uid, uid, error_r);
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
	struct store_dirs dirs;
	int r = 0;
	store_dirs_init(&dirs, mf);
	for (size_t i = 0; i < n; i++) {
		unsigned flags = 0;
		int found = msg_fname(mf, uids[i], path, sizeof path, &flags, error_r);
		if (found < 0) {
			r = -1;
			break;
		}
		if (found == 0 || (only_deleted && !(flags & MAIL_DELETED)))
			continue;
		if (store_dirs_unlink(&dirs, path) < 0) {
			if (errno == ENOENT)
				continue;
			*error_r = "cannot remove message file";
			r = -1;
			break;
		}
		if (store_expunge_row(mf, uids[i], modseq, error_r) < 0) {
			r = -1;
			break;
		}
		changed = true;
	}
	store_dirs_close(&dirs);
	if (r < 0)
		return -1;
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
		    bool any, const char **error_r)
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
		if (any || (rows[i].flags & MAIL_DELETED))
			r = store_uids_push(&del, &nd, &cap, rows[i].uid);
	}
	store_rows_free(&rows, count);
	if (r < 0) {
		free(del);
		*error_r = "out of memory";
		return -1;
	}
	r = nd > 0 ? store_expunge_uids(mf, del, nd, !any, error_r) : 0;
	free(del);
	return r;
}
