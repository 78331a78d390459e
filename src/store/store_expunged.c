/* The expunge history for QRESYNC (RFC 7162 3.2.5, 3.2.6): which UIDs a
 * client that last synchronised at some modseq has not yet seen go.
 *
 * It reads the index of the Maildir store directly and is not in the
 * vtable (store_index.c owns it); another store answers ENOTSUP. */
#include "store/store_private.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A sorted, merged copy of the caller's ranges (any order, may overlap). */
static struct mail_range *ranges_sorted(const struct mail_range *in, size_t n, size_t *n_r)
{
	struct mail_range *r = malloc((n > 0 ? n : 1) * sizeof *r);
	if (r == NULL)
		return NULL;
	if (n > 0)
		memcpy(r, in, n * sizeof *r);
	*n_r = mail_ranges_normalize(r, n);
	return r;
}

/* Whether uid (ascending from call to call) lies in the ranges; *pos
 * walks forward with it. */
static bool in_ranges(const struct mail_range *r, size_t n, size_t *pos, uint32_t uid)
{
	while (*pos < n && r[*pos].hi < uid)
		(*pos)++;
	return *pos < n && r[*pos].lo <= uid;
}

static int collect(struct mfolder *mf, uint64_t since, const struct mail_range *within,
		   size_t nwithin, uint32_t **uids, size_t *count, const char **error_r)
{
	size_t cap = 0, pos = 0;
	sqlite3_stmt *st = store_stmt(mf->ms, ST_EXPUNGED_SINCE);
	if (st == NULL)
		return store_db_error(mf->ms, "prepare", error_r);
	sqlite3_bind_int64(st, 1, mf->row.id);
	sqlite3_bind_int64(st, 2, since > INT64_MAX ? INT64_MAX : (int64_t)since);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint32_t uid = store_key_uid(sqlite3_column_int64(st, 0));
		if (within != NULL && !in_ranges(within, nwithin, &pos, uid))
			continue;
		/* Still in the view: mail_folder_changes reports it. */
		if (store_v_uid_to_seq(&mf->folder, uid) != 0)
			continue;
		if (store_uids_push(uids, count, &cap, uid) < 0) {
			sqlite3_reset(st);
			*error_r = "out of memory";
			errno = ENOMEM;
			return -1;
		}
	}
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_db_error(mf->ms, "expunged", error_r);
}

int store_v_folder_expunged_since(struct mail_folder *f, uint64_t since_modseq,
				  const struct mail_range *within, size_t n,
				  struct mail_range **uids_r, size_t *n_r, const char **error_r)
{
	struct mfolder *mf = (struct mfolder *)f;
	struct mail_range *w = NULL;
	size_t nw = 0;
	uint32_t *uids = NULL;
	size_t count = 0;
	*uids_r = NULL;
	*n_r = 0;
	if (within != NULL && (w = ranges_sorted(within, n, &nw)) == NULL) {
		*error_r = "out of memory";
		errno = ENOMEM;
		return -1;
	}
	int r = collect(mf, since_modseq, within != NULL ? w : NULL, nw, &uids, &count, error_r);
	free(w);
	if (r == 0 && mail_ranges_from_ids(uids, count, uids_r, n_r) < 0) {
		*error_r = "out of memory";
		errno = ENOMEM;
		r = -1;
	}
	free(uids);
	return r;
}
