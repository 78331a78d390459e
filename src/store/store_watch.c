/* mail_folder_watch_paths (store.h) of the Maildir++ + SQLite store. */
#include "store/store_private.h"

#include <stdio.h>

_Static_assert(MAIL_WATCH_PATH_MAX >= STORE_PATH_MAX + sizeof "/new",
	       "a folder's new/ and cur/ must fit");

/* SQLite in WAL mode writes every commit to index.db-wal; index.db is
 * written by checkpoints, and by every commit if WAL could not be turned
 * on (a rollback journal, index.db-journal, then). index.db-shm is left
 * out: it changes through a shared mapping, which the kernel does not
 * report, and its rare write()s are no news. */
static const char *const index_files[] = {
	"index.db-wal", "index.db", "index.db-journal", NULL,
};

int store_v_folder_watch_paths(struct mail_folder *f, struct mail_watch_paths *r)
{
	const struct mfolder *mf = (const struct mfolder *)f;
	/* Both fit (the assertion above); the root is no longer than a
	 * folder's directory. */
	snprintf(r->entry_dirs[0], sizeof r->entry_dirs[0], "%s/new", mf->dir);
	snprintf(r->entry_dirs[1], sizeof r->entry_dirs[1], "%s/cur", mf->dir);
	r->entry_dir_count = 2;
	snprintf(r->index_dir, sizeof r->index_dir, "%s", mf->ms->root);
	r->index_files = index_files;
	return 0;
}
