/* What a session needs to say about a folder beyond its messages: the
 * keywords in use (IMAP FLAGS, RFC 9051 7.3.5) and which messages are
 * \Recent to it (IMAP4rev1, RFC 3501 2.3.2). */
#include "store/store_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"

/* Appends each keyword of kws not yet in out (case-insensitive) while
 * they fit; -1 once out is full. */
static int add_keywords(struct buf *out, const char *kws)
{
	for (const char *p = kws; *p != '\0';) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (n == 0)
			break;
		bool have = false;
		for (const char *q = out->data != NULL ? out->data : ""; *q != '\0' && !have;) {
			size_t m = strcspn(q, " ");
			have = m == n && strncasecmp(q, p, n) == 0;
			q += m + (q[m] == ' ');
		}
		if (!have && ((out->len > 0 && buf_append_char(out, ' ') < 0) ||
			      buf_append(out, p, n) < 0))
			return -1;
		p += n;
	}
	return 0;
}

int store_v_folder_keywords(struct mail_folder *f, char **keywords_r, const char **error_r)
{
	struct mfolder *mf = (struct mfolder *)f;
	/* The partial index msgs_keywords holds only messages that have a
	 * keyword: the cost is theirs, not the folder's size. */
	static const char q[] = "SELECT DISTINCT keywords FROM msgs"
				" WHERE id BETWEEN ?1 AND ?2 AND keywords <> ''";
	sqlite3_stmt *st;
	struct buf b;
	*keywords_r = NULL;
	if (sqlite3_prepare_v2(store_db(mf->ms), q, -1, &st, NULL) != SQLITE_OK)
		return store_db_error(mf->ms, "prepare", error_r);
	store_bind_range(st, mf->row.id, 0, UINT32_MAX);
	buf_init(&b, MAIL_FOLDER_KEYWORDS_MAX);
	int rc, r = 0;
	while (r == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW)
		r = add_keywords(&b, (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (r == 0 && rc != SQLITE_DONE)
		r = store_db_error(mf->ms, "keywords", error_r);
	else if (r < 0) {   /* full: the list stops there (a cap, not an error) */
		r = 0;
		while (b.len > 0 && b.data[b.len - 1] == ' ')
			buf_truncate(&b, b.len - 1);
	}
	if (r == 0) {
		size_t len;
		*keywords_r = buf_steal(&b, &len);
		if (*keywords_r == NULL && (*keywords_r = strdup("")) == NULL) {
			*error_r = "out of memory";
			r = -1;
		}
	}
	buf_free(&b);
	return r;
}

/* meta key of the first UID of a folder no session has had as \Recent. */
static void recent_key(int64_t folder_id, char *key, size_t size)
{
	snprintf(key, size, "recent:%lld", (long long)folder_id);
}

/* The first UID of the folder no session has had as \Recent. */
static int first_unclaimed(struct mstore *ms, const char *key, uint32_t uidnext,
			   int64_t *first_r)
{
	sqlite3_stmt *st = store_stmt(ms, ST_META_GET);
	if (st == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
	int64_t first = 1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		first = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (first < 1 || first > uidnext)   /* renumbered: start over */
		first = 1;
	*first_r = first;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

/* Dovecot's rule: a message is \Recent in exactly one session, the first
 * to open the folder (read-write) after it arrived. */
int store_v_folder_claim_recent(struct mail_folder *f, uint32_t *lo_r, uint32_t *hi_r,
				const char **error_r)
{
	struct mfolder *mf = (struct mfolder *)f;
	char key[40];
	*lo_r = 1;
	*hi_r = 0;
	if (mf->open_flags & MAIL_OPEN_READONLY)
		return 0;
	recent_key(mf->row.id, key, sizeof key);
	int64_t first;
	/* A look first: the common SELECT has nothing to claim, and a write
	 * would wake every session waiting on the index (IDLE). */
	if (first_unclaimed(mf->ms, key, mf->view_uidnext, &first) < 0)
		return store_db_error(mf->ms, "recent", error_r);
	if (first >= mf->view_uidnext)
		return 0;
	if (store_begin(mf->ms, error_r) < 0)
		return -1;
	if (first_unclaimed(mf->ms, key, mf->view_uidnext, &first) < 0)
		goto fail_db;
	sqlite3_stmt *st;
	int rc;
	if (first < mf->view_uidnext) {
		if ((st = store_stmt(mf->ms, ST_META_SET)) == NULL)
			goto fail_db;
		sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, mf->view_uidnext);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			goto fail_db;
		*lo_r = (uint32_t)first;
		*hi_r = mf->view_uidnext - 1;
	}
	return store_commit(mf->ms, error_r);
fail_db:
	store_db_error(mf->ms, "recent", error_r);
	store_rollback(mf->ms);
	return -1;
}

int store_status_recent(struct mstore *ms, const struct folder_row *row, uint32_t *recent_r,
			  const char **error_r)
{
	char key[40];
	recent_key(row->id, key, sizeof key);
	int64_t first;
	if (first_unclaimed(ms, key, row->uidnext, &first) < 0)
		return store_db_error(ms, "recent", error_r);
	sqlite3_stmt *st;
	int rc;
	const char *q = "SELECT count(*) FROM msgs WHERE id BETWEEN ?1 AND ?2";
	if (sqlite3_prepare_v2(store_db(ms), q, -1, &st, NULL) != SQLITE_OK)
		return store_db_error(ms, "prepare", error_r);
	store_bind_range(st, row->id, (uint32_t)first, UINT32_MAX);
	rc = sqlite3_step(st);
	*recent_r = rc == SQLITE_ROW ? (uint32_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : store_db_error(ms, "recent", error_r);
}
