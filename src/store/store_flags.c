/* Flags. System flags live in the file name as the Maildir spec says
 * ("BASE:2,FRS", letters in ASCII order), so mutt and every Maildir reader
 * see them, and a rename by such a program is a flag change we pick up.
 * Keywords are kept in the index only (docs/store.md). */
#include "store/store_private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
	char letter;
	unsigned flag;
} letters[] = {
	{ 'D', MAIL_DRAFT }, { 'F', MAIL_FLAGGED }, { 'R', MAIL_ANSWERED },
	{ 'S', MAIL_SEEN }, { 'T', MAIL_DELETED },
};
#define NLETTERS (sizeof letters / sizeof letters[0])

static const char *info_of(const char *fname)
{
	const char *slash = strrchr(fname, '/');
	const char *colon = strchr(slash != NULL ? slash : fname, ':');
	return colon != NULL && strncmp(colon, ":2,", 3) == 0 ? colon + 3 : NULL;
}

size_t store_base_len(const char *name)
{
	const char *slash = strrchr(name, '/');
	const char *b = slash != NULL ? slash + 1 : name;
	const char *colon = strchr(b, ':');
	return colon != NULL ? (size_t)(colon - b) : strlen(b);
}

/* The value of ",K=digits" in the base name, or -1. */
static int64_t name_number(const char *b, size_t blen, char k)
{
	for (const char *p = b, *end = b + blen; (p = memchr(p, ',', (size_t)(end - p)));
	     p++) {
		if (end - p < 4 || p[1] != k || p[2] != '=')
			continue;
		int64_t v = 0;
		const char *d = p + 3;
		for (; d < end && *d >= '0' && *d <= '9' && v < (int64_t)STORE_MSG_MAX; d++)
			v = v * 10 + (*d - '0');
		if (d > p + 3 && (d == end || *d == ','))
			return v;
	}
	return -1;
}

void store_name_sizes(const char *name, int64_t *size_r, int64_t *vsize_r)
{
	const char *colon = strchr(name, ':');
	size_t blen = colon != NULL ? (size_t)(colon - name) : strlen(name);
	*size_r = name_number(name, blen, 'S');
	*vsize_r = name_number(name, blen, 'W');
}

unsigned store_flags_from_name(const char *fname)
{
	const char *info = info_of(fname);
	unsigned flags = 0;
	for (; info != NULL && *info != '\0'; info++) {
		for (size_t i = 0; i < NLETTERS; i++) {
			if (*info == letters[i].letter)
				flags |= letters[i].flag;
		}
	}
	return flags;
}

static bool ours(char c)
{
	for (size_t i = 0; i < NLETTERS; i++) {
		if (c == letters[i].letter)
			return true;
	}
	return false;
}

int store_fname_with_flags(const char *fname, unsigned flags, char *out, size_t outlen)
{
	const char *slash = strrchr(fname, '/');
	const char *base = slash != NULL ? slash + 1 : fname;
	size_t blen = store_base_len(fname);
	bool present[128] = { false };
	/* Letters of other programs (P passed, Dovecot's keyword letters a-z)
	 * are kept as they are. */
	for (const char *i = info_of(fname); i != NULL && *i != '\0'; i++) {
		if ((unsigned char)*i < 128 && !ours(*i))
			present[(unsigned char)*i] = true;
	}
	for (size_t i = 0; i < NLETTERS; i++) {
		if (flags & letters[i].flag)
			present[(unsigned char)letters[i].letter] = true;
	}
	char info[129];
	size_t n = 0;
	for (int c = 33; c < 127; c++) {
		if (present[c])
			info[n++] = (char)c;
	}
	info[n] = '\0';
	int w = snprintf(out, outlen, "cur/%.*s:2,%s", (int)blen, base, info);
	return w < 0 || (size_t)w >= outlen ? -1 : 0;
}

static bool kw_has(const char *list, const char *kw, size_t kwlen)
{
	for (const char *p = list; *p != '\0';) {
		size_t n = strcspn(p, " ");
		if (n == kwlen && strncasecmp(p, kw, n) == 0)
			return true;
		p += n;
		p += strspn(p, " ");
	}
	return false;
}

static int kw_add(char *out, size_t outlen, const char *kw, size_t kwlen)
{
	size_t len = strlen(out);
	if (kw_has(out, kw, kwlen))
		return 0;
	if (len + kwlen + 2 > outlen)
		return -1;
	if (len > 0)
		out[len++] = ' ';
	memcpy(out + len, kw, kwlen);
	out[len + kwlen] = '\0';
	return 0;
}

/* New keyword list from the old one and the operation. Keywords compare
 * without case (RFC 9051 2.3.2); the first spelling stays. */
static int kw_apply(const char *old, enum mail_flag_op op, const char *kws, char *out,
		    size_t outlen)
{
	out[0] = '\0';
	const char *src = op == MAIL_FLAGS_REPLACE ? kws : old;
	for (const char *p = src; *p != '\0';) {
		size_t n = strcspn(p, " ");
		if (n > 0 && !(op == MAIL_FLAGS_REMOVE && kw_has(kws, p, n)) &&
		    kw_add(out, outlen, p, n) < 0)
			return -1;
		p += n;
		p += strspn(p, " ");
	}
	for (const char *p = kws; op == MAIL_FLAGS_ADD && *p != '\0';) {
		size_t n = strcspn(p, " ");
		if (n > 0 && kw_add(out, outlen, p, n) < 0)
			return -1;
		p += n;
		p += strspn(p, " ");
	}
	return 0;
}

/* Renames the file and updates its row; 1 changed, 0 left alone (the file
 * was renamed meanwhile by someone else: their change wins), -1 error. */
static int apply_one(struct mfolder *mf, struct store_dirs *dirs, const struct msg_row *r,
		     unsigned flags, const char *kw, uint64_t modseq, const char **error_r)
{
	char fname[STORE_PATH_MAX];
	if (store_fname_with_flags(r->fname, flags, fname, sizeof fname) < 0) {
		*error_r = "file name too long";
		return -1;
	}
	if (strcmp(fname, r->fname) != 0) {
		if (store_dirs_rename(dirs, r->fname, fname) < 0) {
			if (errno == ENOENT)
				return 0;
			*error_r = "cannot rename message file";
			return -1;
		}
	}
	sqlite3_stmt *st = store_stmt(mf->ms, ST_MSG_SET_FLAGS);
	if (st == NULL)
		return store_db_error(mf->ms, "prepare", error_r);
	sqlite3_bind_int64(st, 1, store_key(mf->row.id, r->uid));
	sqlite3_bind_text(st, 2, fname, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, (int)flags);
	sqlite3_bind_text(st, 4, kw, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)modseq);
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 1 : store_db_error(mf->ms, "set flags", error_r);
}

static unsigned flags_apply(unsigned old, enum mail_flag_op op, unsigned flags)
{
	switch (op) {
	case MAIL_FLAGS_ADD:
		return old | flags;
	case MAIL_FLAGS_REMOVE:
		return old & ~flags;
	case MAIL_FLAGS_REPLACE:
		break;
	}
	return flags & MAIL_FLAGS_ALL;
}

struct store_req {
	enum mail_flag_op op;
	unsigned flags;
	const char *keywords;
	uint64_t unchanged_since;
};

static int store_rows(struct mfolder *mf, struct store_dirs *dirs, struct msg_row *rows,
		      size_t count, const struct store_req *q, uint32_t **failed,
		      size_t *nfailed, const char **error_r)
{
	uint64_t modseq = mf->row.modseq + 1;
	bool changed = false;
	size_t cap = 0;
	char *kw = malloc(MAIL_KEYWORDS_MAX);
	if (kw == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		const struct msg_row *r = &rows[i];
		unsigned nf = flags_apply(r->flags, q->op, q->flags);
		if (q->unchanged_since != 0 && r->modseq > q->unchanged_since) {
			if (store_uids_push(failed, nfailed, &cap, r->uid) < 0)
				goto nomem;
			continue;
		}
		if (kw_apply(r->keywords, q->op, q->keywords, kw, MAIL_KEYWORDS_MAX) < 0) {
			free(kw);
			*error_r = "too many keywords";
			return -1;
		}
		if (nf == r->flags && strcmp(kw, r->keywords) == 0)
			continue;
		int rc = apply_one(mf, dirs, r, nf, kw, modseq, error_r);
		if (rc < 0) {
			free(kw);
			return -1;
		}
		changed |= rc > 0;
	}
	free(kw);
	if (changed)
		mf->row.modseq = modseq;
	return changed ? store_folder_row_save(mf->ms, &mf->row, error_r) : 0;
nomem:
	free(kw);
	*error_r = "out of memory";
	return -1;
}

int store_v_store_flags(struct mail_folder *f, const struct mail_range *uids, size_t n,
			enum mail_flag_op op, unsigned flags, const char *keywords,
			uint64_t unchanged_since, struct mail_range **failed_r,
			size_t *failed_count_r, const char **error_r)
{
	struct mfolder *mf = (struct mfolder *)f;
	struct store_req q = { op, flags & MAIL_FLAGS_ALL, keywords != NULL ? keywords : "",
			       unchanged_since };
	struct msg_row *rows = NULL;
	size_t count = 0, nfailed = 0;
	uint32_t *failed = NULL;
	*failed_r = NULL;
	*failed_count_r = 0;
	if (mf->open_flags & MAIL_OPEN_READONLY) {
		*error_r = "folder is read-only";
		return -1;
	}
	if (store_sync(mf, true, error_r) < 0 || store_begin(mf->ms, error_r) < 0)
		return -1;
	int r = store_folder_row(mf->ms, mf->name, true, &mf->row, error_r) < 0 ? -1 : 0;
	if (r == 0)
		r = store_rows_load(mf, uids, n, &rows, &count, error_r);
	struct store_dirs dirs;
	store_dirs_init(&dirs, mf);
	if (r == 0)
		r = store_rows(mf, &dirs, rows, count, &q, &failed, &nfailed, error_r);
	store_dirs_close(&dirs);
	store_rows_free(&rows, count);
	if (r == 0)
		r = store_commit(mf->ms, error_r);
	else
		store_rollback(mf->ms);
	if (r == 0 && nfailed > 0 &&
	    mail_ranges_from_ids(failed, nfailed, failed_r, failed_count_r) < 0) {
		*error_r = "out of memory";
		r = -1;
	}
	free(failed);
	return r;
}
