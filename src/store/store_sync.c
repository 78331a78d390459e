/* Sync: bring the index up to date with what is in new/ and cur/.
 * Cheap when nothing changed: the folder row remembers the directories'
 * mtimes (ns) of the last full scan, so an unchanged folder costs two
 * stat() calls and one indexed row read. Otherwise the directories are
 * listed and compared with the index by base name (the part before
 * ":2,"): unknown files get the next UIDs, known files under a new name
 * changed flags (mutt works in place), known files that are gone were
 * expunged. New files are entered by name only; store_fill.c reads them
 * when first asked for their contents. */
#include "store/store_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define CHUNK 10000   /* new files per transaction: no file is read here */
#define RECENT_NS 1000000000LL   /* an mtime this young may hide a change */

struct ent {
	char *path;          /* "cur/NAME" or "new/NAME": the index's fname */
	const char *name;    /* path + 4 */
	uint64_t secs;       /* the leading number: delivery time, sort key */
	uint32_t uid;        /* matched index entry, 0 = new */
	bool in_new;
};
struct scan {
	struct ent *e;
	size_t n, cap;
};
struct known {
	uint32_t uid;
	bool seen;
	char *fname;
};
struct kmap {
	struct known *k;
	size_t n, cap;
	uint32_t *slot;      /* index + 1 into k; 0 = empty */
	size_t mask;
	uint32_t uidnext;    /* the folder's UIDNEXT when loaded */
};

static void scan_free(struct scan *sc)
{
	for (size_t i = 0; i < sc->n; i++)
		free(sc->e[i].path);
	free(sc->e);
	*sc = (struct scan){ 0 };
}

/* Only regular files are messages: a link (or anything else) planted in
 * new/ or cur/ is never indexed, so never served. */
static bool is_file(DIR *d, const struct dirent *de)
{
	struct stat st;
	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_REG;
	return fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISREG(st.st_mode);
}

static int scan_dir(const struct mfolder *mf, const char *sub, bool in_new, struct scan *sc,
		    const char **error_r)
{
	char rel[STORE_DIRNAME_MAX + 8];
	snprintf(rel, sizeof rel, "%s%s%s", mf->rel, mf->rel[0] != '\0' ? "/" : "", sub);
	DIR *d = store_opendir(mf->ms, rel);
	if (d == NULL) {
		*error_r = errno == ENOENT ? "folder does not exist" : "cannot list folder";
		return -1;
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || !is_file(d, de))
			continue;
		if (sc->n == sc->cap) {
			size_t cap = sc->cap < 64 ? 64 : sc->cap * 2;
			struct ent *e = realloc(sc->e, cap * sizeof *e);
			if (e == NULL)
				goto nomem;
			sc->e = e;
			sc->cap = cap;
		}
		size_t len = strlen(de->d_name);
		char *fname = malloc(len + 5);
		if (fname == NULL)
			goto nomem;
		memcpy(fname, sub, 3);
		fname[3] = '/';
		memcpy(fname + 4, de->d_name, len + 1);
		uint64_t secs = 0;
		for (const char *p = fname + 4; *p >= '0' && *p <= '9' && secs < UINT64_MAX / 10; p++)
			secs = secs * 10 + (uint64_t)(*p - '0');
		sc->e[sc->n++] = (struct ent){ fname, fname + 4, secs, 0, in_new };
	}
	closedir(d);
	return 0;
nomem:
	closedir(d);
	*error_r = "out of memory";
	return -1;
}

static uint64_t hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h;
}

static const char *base_of(const char *fname)
{
	const char *slash = strrchr(fname, '/');
	return slash != NULL ? slash + 1 : fname;
}

static struct known *kmap_find(struct kmap *m, const char *name)
{
	size_t blen = store_base_len(name);
	for (size_t i = hash(name, blen) & m->mask; m->slot[i] != 0; i = (i + 1) & m->mask) {
		struct known *k = &m->k[m->slot[i] - 1];
		const char *b = base_of(k->fname);
		if (store_base_len(b) == blen && memcmp(b, name, blen) == 0)
			return k;
	}
	return NULL;
}

static void kmap_free(struct kmap *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->k[i].fname);
	free(m->k);
	free(m->slot);
	*m = (struct kmap){ 0 };
}

static int kmap_add(struct kmap *m, uint32_t uid, const char *fname)
{
	if (m->n == m->cap) {
		size_t cap = m->cap < 256 ? 256 : m->cap * 2;
		struct known *k = realloc(m->k, cap * sizeof *k);
		if (k == NULL)
			return -1;
		m->k = k;
		m->cap = cap;
	}
	char *copy = strdup(fname);
	if (copy == NULL)
		return -1;
	m->k[m->n++] = (struct known){ uid, false, copy };
	return 0;
}

static int kmap_index(struct kmap *m)
{
	size_t size = 16;
	while (size < m->n * 2)
		size *= 2;
	free(m->slot);
	m->slot = calloc(size, sizeof *m->slot);
	if (m->slot == NULL)
		return -1;
	m->mask = size - 1;
	for (size_t j = 0; j < m->n; j++) {
		const char *b = base_of(m->k[j].fname);
		size_t i = hash(b, store_base_len(b)) & m->mask;
		while (m->slot[i] != 0)
			i = (i + 1) & m->mask;
		m->slot[i] = (uint32_t)j + 1;
	}
	return 0;
}

/* Adds the index's messages with UIDs from `from` on, and notes UIDNEXT,
 * in one read transaction (or the caller's) so the two agree. */
static int kmap_load(struct mfolder *mf, struct kmap *m, uint32_t from, const char **error_r)
{
	bool own = store_db(mf->ms) != NULL && sqlite3_get_autocommit(mf->ms->db);
	if (own && store_exec(mf->ms, "BEGIN", error_r) < 0)
		return -1;
	int r = store_folder_row(mf->ms, mf->name, false, &mf->row, error_r);
	if (r <= 0) {
		if (r == 0)
			*error_r = "folder was deleted";
		goto fail;
	}
	sqlite3_stmt *st = store_stmt(mf->ms, ST_MSGS_LOAD);
	if (st == NULL) {
		store_db_error(mf->ms, "prepare", error_r);
		goto fail;
	}
	store_bind_range(st, mf->row.id, from, UINT32_MAX);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (kmap_add(m, store_key_uid(sqlite3_column_int64(st, 0)),
			     (const char *)sqlite3_column_text(st, 1)) < 0) {
			sqlite3_reset(st);
			*error_r = "out of memory";
			goto fail;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_db_error(mf->ms, "load", error_r);
		goto fail;
	}
	m->uidnext = mf->row.uidnext;
	if (own)
		store_rollback(mf->ms);
	if (kmap_index(m) < 0) {
		*error_r = "out of memory";
		return -1;
	}
	return 0;
fail:
	if (own)
		store_rollback(mf->ms);
	return -1;
}

/* Lists new/ then cur/ (in this order: a file moving from new/ to cur/
 * meanwhile is seen at least once) and matches the entries with the
 * index. Returns how many index entries are missing. */
static long scan_match(struct mfolder *mf, struct scan *sc, struct kmap *km,
		       const char **error_r)
{
	if (scan_dir(mf, "new", true, sc, error_r) < 0 ||
	    scan_dir(mf, "cur", false, sc, error_r) < 0 || kmap_load(mf, km, 0, error_r) < 0)
		return -1;
	for (size_t i = 0; i < sc->n && km->n > 0; i++) {
		struct known *k = kmap_find(km, sc->e[i].name);
		if (k != NULL && !k->seen) {
			k->seen = true;
			sc->e[i].uid = k->uid;
		}
	}
	long missing = 0;
	for (size_t i = 0; i < km->n; i++)
		missing += !km->k[i].seen;
	return missing;
}

/* A file to enter, with what its name says, read while the names are
 * walked in the order they were allocated: sorted by delivery time, a
 * 100,000-entry list would otherwise reach each name at random. */
struct newent {
	uint64_t secs;
	const char *path;     /* "cur/NAME" */
	const char *name;
	int64_t size, vsize;
	unsigned flags;
};

static int newent_cmp(const void *a, const void *b)
{
	const struct newent *x = a, *y = b;
	if (x->secs != y->secs)   /* seconds first: delivery order */
		return x->secs < y->secs ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Moves a file from new/ to cur/ with an empty info, as Dovecot does for a
 * selected folder; updates e. ENOENT: someone else moved it first. */
static void move_to_cur(struct store_dirs *dirs, struct ent *e)
{
	char to[256 + 8], *name = to + 4;
	if (strlen(e->name) > 256)
		return;
	bool has_info = strstr(e->name, ":2,") != NULL;
	snprintf(to, sizeof to, "cur/%s%s", e->name, has_info ? "" : ":2,");
	if (store_dirs_rename(dirs, e->path, to) < 0)
		return;
	size_t len = strlen(name);
	char *copy = malloc(len + 5);
	if (copy == NULL)
		return;
	memcpy(copy, "cur/", 4);
	memcpy(copy + 4, name, len + 1);
	free(e->path);
	e->path = copy;
	e->name = copy + 4;
	e->in_new = false;
}

static int reload_row(struct mfolder *mf, const char **error_r)
{
	int r = store_folder_row(mf->ms, mf->name, true, &mf->row, error_r);
	return r < 0 ? -1 : 0;
}

/* Enters one new file by name with the next UID. */
static int add_one(struct mfolder *mf, const struct newent *e, uint64_t modseq,
		   const char **error_r)
{
	struct mstore *ms = mf->ms;
	sqlite3_stmt *st = store_stmt(ms, ST_MSG_ADD);
	if (st == NULL)
		return store_db_error(ms, "prepare", error_r);
	sqlite3_bind_int64(st, 1, store_key(mf->row.id, mf->row.uidnext++));
	sqlite3_bind_text(st, 2, e->path, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)e->flags);
	sqlite3_bind_text(st, 4, "", 0, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)modseq);
	if (e->size >= 0)
		sqlite3_bind_int64(st, 6, e->size);
	if (e->vsize >= 0)
		sqlite3_bind_int64(st, 7, e->vsize);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(ms, "add message", error_r);
}

/* Under the write lock. Files another handle entered since the listing
 * (UIDNEXT moved without us) are looked up among the rows it added.
 * 0, -1, or 1 when the UIDs were renumbered (store_uids_reserve). */
static int add_chunk(struct mfolder *mf, const struct newent *ents, size_t n, struct kmap *km,
		     struct kmap *late, const char **error_r)
{
	int r = store_begin(mf->ms, error_r);
	if (r == 0)
		r = reload_row(mf, error_r);
	if (r == 0 && mf->row.uidnext != km->uidnext)
		r = kmap_load(mf, late, km->uidnext, error_r);
	if (r == 0 && (uint64_t)mf->row.uidnext + n > UINT32_MAX) {
		/* UIDs ran out: renumbered under a new UIDVALIDITY, which
		 * makes the listing's UIDs stale; the caller starts over. */
		r = store_uids_reserve(mf, n, error_r);
		if (r == 0 && (r = store_commit(mf->ms, error_r)) == 0)
			return 1;
		store_rollback(mf->ms);
		return -1;
	}
	uint32_t first = mf->row.uidnext;
	uint64_t modseq = mf->row.modseq + 1;
	for (size_t i = 0; r == 0 && i < n; i++) {
		if (late->n > 0 && kmap_find(late, ents[i].name) != NULL)
			continue;
		r = add_one(mf, &ents[i], modseq, error_r);
	}
	if (r == 0 && mf->row.uidnext != first) {
		mf->row.modseq = modseq;
		r = store_runs_add(mf, STORE_SET_MSGS, first, mf->row.uidnext - 1, error_r);
		if (r == 0)
			r = store_runs_add(mf, STORE_SET_UNREAD, first, mf->row.uidnext - 1,
					   error_r);
		if (r == 0)
			r = store_folder_row_save(mf->ms, &mf->row, error_r);
	}
	if (r == 0)
		r = store_commit(mf->ms, error_r);
	else
		store_rollback(mf->ms);
	km->uidnext = mf->row.uidnext;
	return r;
}

static int add_new(struct mfolder *mf, struct scan *sc, struct kmap *km, bool move_new,
		   const char **error_r)
{
	struct kmap late = { 0 };
	size_t n = 0;
	struct newent *ents = malloc((sc->n > 0 ? sc->n : 1) * sizeof *ents);
	if (ents == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	struct store_dirs dirs;
	store_dirs_init(&dirs, mf);
	for (size_t i = 0; i < sc->n; i++) {
		struct ent *e = &sc->e[i];
		/* A known name listed twice (readdir while another handle
		 * renames it may return both names) is not a new message. */
		if (e->uid != 0 || (km->n > 0 && kmap_find(km, e->name) != NULL))
			continue;
		if (move_new && e->in_new)
			move_to_cur(&dirs, e);
		struct newent *ne = &ents[n++];
		*ne = (struct newent){ e->secs, e->path, e->name, -1, -1,
				       store_flags_from_name(e->name) };
		store_name_sizes(e->name, &ne->size, &ne->vsize);
	}
	store_dirs_close(&dirs);
	if (n > 1)
		qsort(ents, n, sizeof *ents, newent_cmp);
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i += CHUNK)
		r = add_chunk(mf, ents + i, n - i < CHUNK ? n - i : CHUNK, km, &late, error_r);
	kmap_free(&late);
	free(ents);
	return r;
}

static int rename_one(struct mfolder *mf, uint32_t uid, const char *old, const char *fname,
		      uint64_t modseq, const char **error_r)
{
	sqlite3_stmt *st = store_stmt(mf->ms, ST_MSG_RENAME);
	if (st == NULL)
		return store_db_error(mf->ms, "prepare", error_r);
	sqlite3_bind_int64(st, 1, store_key(mf->row.id, uid));
	sqlite3_bind_text(st, 2, old, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, fname, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 4, (int)store_flags_from_name(fname));
	sqlite3_bind_int64(st, 5, (int64_t)modseq);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(mf->ms, "rename", error_r);
}

/* Whether the index still has the file name we loaded: another handle
 * that renamed the file (a STORE in another session) changed it, and
 * then the old name being gone means a rename, not an expunge. Asked
 * under the write lock, which every renaming STORE holds. -1 on error. */
static int fname_unchanged(struct mfolder *mf, const struct known *k, const char **error_r)
{
	sqlite3_stmt *st = store_stmt(mf->ms, ST_MSG_GET);
	if (st == NULL)
		return store_db_error(mf->ms, "prepare", error_r);
	sqlite3_bind_int64(st, 1, store_key(mf->row.id, k->uid));
	int rc = sqlite3_step(st);
	const char *now = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 1) : NULL;
	bool same = now != NULL && strcmp(now, k->fname) == 0;
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_db_error(mf->ms, "message", error_r);
	return same ? 1 : 0;
}

/* Known files under a new name, and known files gone. A row whose file
 * name the index no longer has as we loaded it was changed by another
 * handle meanwhile: theirs is newer (the UPDATE matches the old name). */
static int apply_changes(struct mfolder *mf, struct scan *sc, struct kmap *km,
			 bool move_new, const char **error_r)
{
	bool changed = false;
	if (store_begin(mf->ms, error_r) < 0 || reload_row(mf, error_r) < 0)
		goto fail;
	uint64_t modseq = mf->row.modseq + 1;
	struct store_dirs dirs;
	store_dirs_init(&dirs, mf);
	for (size_t i = 0; i < sc->n; i++) {
		struct ent *e = &sc->e[i];
		if (e->uid == 0)
			continue;
		if (move_new && e->in_new)
			move_to_cur(&dirs, e);
		struct known *k = kmap_find(km, e->name);
		if (k == NULL || strcmp(k->fname, e->path) == 0)
			continue;
		/* Listed before another handle renamed it (and loaded after):
		 * the listing is the stale name, the index the new one. */
		if (store_file_gone(mf, e->path))
			continue;
		if (rename_one(mf, k->uid, k->fname, e->path, modseq, error_r) < 0) {
			store_dirs_close(&dirs);
			goto fail;
		}
		changed = true;
	}
	store_dirs_close(&dirs);
	for (size_t i = 0; i < km->n; i++) {
		if (km->k[i].seen || !store_file_gone(mf, km->k[i].fname))
			continue;
		int same = fname_unchanged(mf, &km->k[i], error_r);
		if (same < 0)
			goto fail;
		if (same == 0)
			continue;   /* renamed or expunged by another handle meanwhile */
		if (store_expunge_row(mf, km->k[i].uid, modseq, error_r) < 0)
			goto fail;
		changed = true;
	}
	if (changed) {
		mf->row.modseq = modseq;
		if (store_folder_row_save(mf->ms, &mf->row, error_r) < 0)
			goto fail;
	}
	return store_commit(mf->ms, error_r);
fail:
	store_rollback(mf->ms);
	return -1;
}

/* Remembers the mtimes seen before the listing. One younger than a second
 * is not trusted (a change in the same clock tick would not move it) and
 * a negative new/ time says files were left in new/ by a read-only sync. */
static int save_mtimes(struct mfolder *mf, int64_t nm, int64_t cm, bool left_in_new,
		       const char **error_r)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	int64_t n = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec;
	if (n - nm < RECENT_NS || n - cm < RECENT_NS)
		nm = cm = 0;
	sqlite3_stmt *st = store_stmt(mf->ms, ST_FOLDER_MTIMES);
	if (st == NULL)
		return store_db_error(mf->ms, "prepare", error_r);
	sqlite3_bind_int64(st, 1, mf->row.id);
	sqlite3_bind_int64(st, 2, left_in_new ? -nm : nm);
	sqlite3_bind_int64(st, 3, cm);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_db_error(mf->ms, "mtimes", error_r);
	mf->row.new_mtime = left_in_new ? -nm : nm;
	mf->row.cur_mtime = cm;
	return 0;
}

static bool unchanged(const struct mfolder *mf, int64_t nm, int64_t cm, bool move_new)
{
	if (cm != mf->row.cur_mtime || nm == 0)
		return false;
	return nm == mf->row.new_mtime || (!move_new && -nm == mf->row.new_mtime);
}

static int sync_once(struct mfolder *mf, bool move_new, const char **error_r)
{
	int64_t nm = store_folder_mtime(mf, "new"), cm = store_folder_mtime(mf, "cur");
	if (nm < 0 || cm < 0) {
		*error_r = "no such mailbox";
		errno = ENOENT;
		return -1;
	}
	if (reload_row(mf, error_r) < 0)
		return -1;
	if (unchanged(mf, nm, cm, move_new))
		return 0;
	struct scan sc = { 0 };
	struct kmap km = { 0 };
	long missing = scan_match(mf, &sc, &km, error_r);
	if (missing > 0) {
		/* A file renamed while we listed may have been missed; only
		 * what two listings miss is gone. */
		scan_free(&sc);
		kmap_free(&km);
		missing = scan_match(mf, &sc, &km, error_r);
	}
	int r = missing < 0 ? -1 : add_new(mf, &sc, &km, move_new, error_r);
	if (r == 1) {   /* renumbered: the listing's UIDs are stale */
		scan_free(&sc);
		kmap_free(&km);
		return 1;
	}
	if (r == 0)
		r = apply_changes(mf, &sc, &km, move_new, error_r);
	bool left = false;
	for (size_t i = 0; i < sc.n; i++)
		left |= sc.e[i].in_new;
	if (r == 0)
		r = save_mtimes(mf, nm, cm, left, error_r);
	scan_free(&sc);
	kmap_free(&km);
	return r;
}

int store_sync(struct mfolder *mf, bool move_new, const char **error_r)
{
	int r = sync_once(mf, move_new, error_r);
	return r == 1 ? (sync_once(mf, move_new, error_r) < 0 ? -1 : 0) : r;
}

/* The handle's name and directory, no I/O. */
static int folder_locate(struct mstore *ms, const char *name, struct mfolder *mf,
			 const char **error_r)
{
	*mf = (struct mfolder){ 0 };
	mf->ms = ms;
	mf->folder.store = &ms->store;
	if (store_name_normalize(name, mf->name, sizeof mf->name) < 0 ||
	    store_folder_path(ms, mf->name, mf->dir, sizeof mf->dir) < 0 ||
	    store_name_to_dir(mf->name, mf->rel, sizeof mf->rel) < 0) {
		*error_r = "invalid mailbox name";
		errno = EINVAL;
		return -1;
	}
	return 0;
}

int store_folder_init(struct mstore *ms, const char *name, struct mfolder *mf,
		      const char **error_r)
{
	if (folder_locate(ms, name, mf, error_r) < 0)
		return -1;
	/* A folder, or its cur/ new/ tmp/, that is a link is not a folder:
	 * nothing is appended or copied through it. */
	if (!store_folder_usable(mf)) {
		*error_r = "no such mailbox";
		errno = ENOENT;
		return -1;
	}
	return reload_row(mf, error_r);
}

int store_v_folder_open(struct mail_store *s, const char *name, unsigned open_flags,
			struct mail_folder **f_r, const char **error_r)
{
	struct mstore *ms = (struct mstore *)s;
	struct mfolder *mf = malloc(sizeof *mf);
	if (mf == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	/* Sync looks at the directories and the row first: an open of an
	 * unchanged folder is two stat()s and two small reads. */
	if (folder_locate(ms, name, mf, error_r) < 0)
		goto fail;
	mf->open_flags = open_flags;
	if (store_sync(mf, !(open_flags & MAIL_OPEN_READONLY), error_r) < 0 ||
	    store_view_load(mf, error_r) < 0)
		goto fail;
	*f_r = &mf->folder;
	return 0;
fail:
	store_view_clear(&mf->view);
	free(mf);
	return -1;
}

void store_v_folder_close(struct mail_folder *f)
{
	struct mfolder *mf = (struct mfolder *)f;
	store_view_clear(&mf->view);
	free(mf);
}

int store_v_folder_sync(struct mail_folder *f, const char **error_r)
{
	struct mfolder *mf = (struct mfolder *)f;
	return store_sync(mf, !(mf->open_flags & MAIL_OPEN_READONLY), error_r);
}

int store_v_folder_poll(struct mail_folder *f, bool *changed_r, const char **error_r)
{
	struct mfolder *mf = (struct mfolder *)f;
	int64_t nm = store_folder_mtime(mf, "new"), cm = store_folder_mtime(mf, "cur");
	if (nm < 0 || cm < 0) {
		*error_r = "folder does not exist";
		return -1;
	}
	/* Asleep (mail_store_sleep) with directories as they were when the
	 * view was made and an index no one wrote since: nothing changed,
	 * and no connection was opened to say so (a few stat()s). */
	if (unchanged(mf, nm, cm, !(mf->open_flags & MAIL_OPEN_READONLY)) &&
	    mf->row.modseq == mf->view_modseq && mf->row.uidnext == mf->view_uidnext &&
	    store_asleep_unchanged(mf->ms)) {
		*changed_r = false;
		return 0;
	}
	if (reload_row(mf, error_r) < 0)
		return -1;
	*changed_r = !unchanged(mf, nm, cm, !(mf->open_flags & MAIL_OPEN_READONLY)) ||
		     mf->row.modseq != mf->view_modseq || mf->row.uidnext != mf->view_uidnext;
	return 0;
}
