#ifndef PB_STORE_STORE_PRIVATE_H
#define PB_STORE_STORE_PRIVATE_H
/* Internals of the Maildir++ + SQLite store (store_*.c); not for callers. */

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/buf.h"
#include "store/store.h"

#define STORE_PATH_MAX 1024
#define STORE_DIRNAME_MAX 255   /* NAME_MAX: ".A.B" is one directory entry */
#define STORE_MSG_MAX ((size_t)1 << 30)

enum store_stmt {
	ST_FOLDER_GET, ST_FOLDER_ADD, ST_FOLDER_SET, ST_FOLDER_MTIMES,
	ST_MSGS_LOAD, ST_MSG_ADD, ST_MSG_FILLED, ST_HDRS_ADD, ST_ENV_ADD, ST_BODY_ADD,
	ST_MSG_RENAME, ST_MSG_DEL, ST_HDRS_DEL, ST_ENV_DEL, ST_BODY_DEL, ST_EXPUNGED_ADD,
	ST_MSG_GET, ST_MSG_SET_FLAGS, ST_FNAMES, ST_RUNS, ST_RUN_AT,
	ST_RUN_SET, ST_RUN_DEL, ST_UNREAD_RUNS, ST_UNREAD_AT, ST_UNREAD_SET, ST_UNREAD_DEL, ST_EXPUNGED_SINCE, ST_TOUCHED_SINCE, ST_CHANGED_SINCE, ST_STATUS, ST_FIRST_UNSEEN,
	ST_RANGE, ST_META_GET, ST_META_SET,
	ST_COUNT
};

/* The key of a message's rows in msgs and the cache tables (and of a
 * run in runs, by its first UID): folder id in the high 32 bits. */
static inline int64_t store_key(int64_t folder, uint32_t uid)
{
	return (int64_t)((uint64_t)folder << 32 | uid);
}
static inline uint32_t store_key_uid(int64_t key)
{
	return (uint32_t)((uint64_t)key & 0xffffffffu);
}

struct mstore {
	struct mail_store store;
	char root[STORE_PATH_MAX];
	int root_fd;              /* root, opened without following links */
	sqlite3 *db;
	sqlite3_stmt *stmts[ST_COUNT];
	bool closed;              /* for good: store_db() does not reopen */
	int64_t slept_db, slept_wal; /* index files' mtimes when it fell asleep */
	char err[256];            /* error text of the last failed call */
};

/* store_view.c: an open folder's view (see store.h) as runs of
 * consecutive UIDs, each with the number of messages before it. */
struct store_run {
	uint32_t lo, hi;
	uint32_t before;
};
struct store_view {
	struct store_run *runs;
	size_t nruns, cap;
	uint32_t count;
};
void store_view_clear(struct store_view *v);
/* Appends lo..hi (above every UID in the view); 0 or -1 (no memory). */
int store_view_push_run(struct store_view *v, uint32_t lo, uint32_t hi);
/* Gives back the spare capacity. */
void store_view_shrink(struct store_view *v);
/* 0 when out of range / not in the view. */
uint32_t store_view_uid(const struct store_view *v, uint32_t seq);
uint32_t store_view_seq(const struct store_view *v, uint32_t uid);
int store_view_remove(struct store_view *v, const uint32_t *uids, size_t n);

/* A folder: its directory and its index row. */
struct folder_row {
	int64_t id;
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t modseq;
	int64_t new_mtime, cur_mtime;   /* ns of the last full scan; 0 = rescan */
};

struct mfolder {
	struct mail_folder folder;
	struct mstore *ms;
	char name[MAIL_NAME_MAX];
	char dir[STORE_PATH_MAX];
	char rel[STORE_DIRNAME_MAX + 1];  /* dir beneath the root: "" or ".A.B" */
	unsigned open_flags;
	struct folder_row row;
	/* the view (see store.h) */
	struct store_view view;
	uint64_t view_modseq;
	uint32_t view_uidnext;
	uint32_t view_uidvalidity;
};

/* store_name.c: IMAP names <-> Maildir++ directory names. */
/* "INBOX" (any case) -> "INBOX"; "inbox/x" -> "INBOX/x"; else a copy.
 * -1 when the name is not valid. */
int store_name_normalize(const char *name, char *out, size_t outlen);
/* A valid, normalized IMAP name -> "" (INBOX) or ".A.B" on-disk. */
int store_name_to_dir(const char *name, char *out, size_t outlen);
/* ".A.B" -> "A/B"; -1 unless the entry is one we would have written. */
int store_dir_to_name(const char *dirname, char *out, size_t outlen);
/* root + "/" + dirname of name into out. */
int store_folder_path(const struct mstore *ms, const char *name, char *out,
		      size_t outlen);

#include <dirent.h>

/* store_fs.c: every file of the store is reached from root_fd with no
 * symbolic link followed (see the file). */
/* Opens (making what is missing) rel beneath parent_fd, or ms->root when
 * parent_fd is -1, as ms->root_fd, with its cur/ new/ tmp/. */
int store_root_open(struct mstore *ms, int parent_fd, const char *rel, const char **error_r);
/* Makes rel (a folder directory beneath the root) and its cur/ new/ tmp/. */
int store_maildir_make(struct mstore *ms, const char *rel, const char **error_r);
/* The folder's directory (sub "") or its cur/ new/ tmp/ (sub "cur"...):
 * an O_DIRECTORY fd, or -1 (errno ELOOP/ENOTDIR for a link). */
int store_dir_open(const struct mfolder *mf, const char *sub);
/* A message file ("cur/NAME") read-only: regular files only. */
int store_file_open(const struct mfolder *mf, const char *fname);
/* A folder's cur/ and new/, each opened (without following links) when
 * first needed and kept, for a loop that renames or unlinks many message
 * files: one open per directory, not two per file. */
struct store_dirs {
	const struct mfolder *mf;
	int fd[2];                 /* cur/, new/; -1 until needed */
};
void store_dirs_init(struct store_dirs *d, const struct mfolder *mf);
void store_dirs_close(struct store_dirs *d);
/* unlink / rename of a message file ("cur/NAME", "new/NAME") of the
 * folder, relative to its cur/ or new/. */
int store_dirs_unlink(struct store_dirs *d, const char *fname);
int store_dirs_rename(struct store_dirs *d, const char *from, const char *to);
/* The message file is no longer there as a regular file (an error other
 * than ENOENT says nothing: false). */
bool store_file_gone(const struct mfolder *mf, const char *fname);
/* A directory beneath the root ("" the root), O_DIRECTORY. */
int store_dir_open_root(const struct mstore *ms, const char *rel);
/* Makes creates and renames in the root durable. */
int store_root_fsync(const struct mstore *ms, const char **error_r);
/* opendir of rel (a directory beneath the root, "" the root). */
DIR *store_opendir(const struct mstore *ms, const char *rel);
/* mtime (ns) of rel beneath dirfd, a directory (want_dir) or a regular
 * file, never a link; -1 otherwise. */
int64_t store_mtime_at(int dirfd, const char *rel, bool want_dir);
/* mtime of the folder's sub ("new", "cur"), -1 unless a real directory. */
int64_t store_folder_mtime(const struct mfolder *mf, const char *sub);
/* The folder's cur/ new/ tmp/ are all real directories. */
bool store_folder_usable(const struct mfolder *mf);

/* store_index.c */
int store_index_open(struct mstore *ms, const char **error_r);
void store_index_close(struct mstore *ms);
/* The connection, opened again if the store was asleep; NULL when that
 * fails. */
sqlite3 *store_db(struct mstore *ms);
/* Asleep, and no one wrote the index since. */
bool store_asleep_unchanged(struct mstore *ms);
/* The statement, reset and unbound; NULL on failure. */
sqlite3_stmt *store_stmt(struct mstore *ms, enum store_stmt id);
/* Binds ?1 and ?2 to the keys of folder's UIDs lo and hi. */
void store_bind_range(sqlite3_stmt *st, int64_t folder, uint32_t lo, uint32_t hi);
/* Sets ms->err from the connection and *error_r to it; returns -1. */
int store_db_error(struct mstore *ms, const char *what, const char **error_r);
int store_exec(struct mstore *ms, const char *sql, const char **error_r);
/* BEGIN IMMEDIATE: the index's write lock is also the store's mutex
 * for every change of the Maildir that must agree with the index. */
int store_begin(struct mstore *ms, const char **error_r);
int store_commit(struct mstore *ms, const char **error_r);
void store_rollback(struct mstore *ms);
/* 1 found, 0 not (or created when create), -1 error. */
int store_folder_row(struct mstore *ms, const char *name, bool create,
		     struct folder_row *row_r, const char **error_r);
int store_folder_row_save(struct mstore *ms, const struct folder_row *row,
			  const char **error_r);
/* Removes a folder's row with its messages, caches and expunge records. */
int store_folder_forget(struct mstore *ms, const char *name, const char **error_r);
uint32_t store_new_uidvalidity(struct mstore *ms);
/* store_uidvalidity.c. Under the write lock, before need new UIDs are
 * taken from mf->row.uidnext: when they would pass 2^32-1, the folder
 * gets a new UIDVALIDITY and its messages UIDs from 1 (mf->row updated
 * and saved). 0, or -1 with *error_r. */
int store_uids_reserve(struct mfolder *mf, uint64_t need, const char **error_r);
/* store_recent.c */
int store_v_folder_keywords(struct mail_folder *f, char **keywords_r, const char **error_r);
int store_v_folder_claim_recent(struct mail_folder *f, uint32_t *lo_r, uint32_t *hi_r,
				const char **error_r);
/* The messages of row's folder no session has had as \Recent yet. */
int store_status_recent(struct mstore *ms, const struct folder_row *row, uint32_t *recent_r,
			const char **error_r);

/* store_runs.c: sets of a folder's UIDs kept in the index as runs of
 * consecutive UIDs (one row per run), so that a 100,000-message folder's
 * UIDs are read as a handful of rows. Changes go in the caller's
 * transaction. */
enum store_uidset {
	STORE_SET_MSGS,     /* the folder's messages: the view is loaded from it */
	STORE_SET_UNREAD,   /* messages whose file was not read yet (store_fill.c) */
};
/* Adds lo..hi, none of which is in the set yet. */
int store_runs_add(struct mfolder *mf, enum store_uidset set, uint32_t lo, uint32_t hi,
		   const char **error_r);
/* Removes lo..hi (those of them in the set). */
int store_runs_del(struct mfolder *mf, enum store_uidset set, uint32_t lo, uint32_t hi,
		   const char **error_r);
/* Appends the set's UIDs within lo..hi to v (whose UIDs are all below lo). */
int store_runs_view(struct mfolder *mf, enum store_uidset set, uint32_t lo, uint32_t hi,
		    struct store_view *v, const char **error_r);

/* store_parse.c: what the index caches from one read of the file. */
struct msg_facts {
	uint64_t size, vsize;
	uint64_t psize;          /* what POP3 RETR sends (store_pop3_size) */
	time_t date_sent;
	char *h[8];              /* from to cc subject date message-id in-reply-to references */
	char *envelope, *bodystructure, *body;
};
/* Reads and parses the open file (closed here). */
int store_parse_fd(int fd, struct msg_facts *mf_r, const char **error_r);
int store_parse_data(const char *data, size_t len, struct msg_facts *mf_r);
void store_facts_free(struct msg_facts *f);
/* Length of the header section with its blank line (or all of d). */
size_t store_header_len(const char *d, size_t len);

/* store_read.c: reading message files (for store_fill.c), in batches,
 * the next batch on a second thread while the caller handles one. */
struct store_unread {
	uint32_t uid;
	char *fname;            /* relative to the folder */
};
struct store_readout {
	struct msg_facts f;
	time_t idate;           /* the file's mtime */
	int err;                /* 0, or errno (ENOENT: renamed or gone) */
};
struct store_reading;
int store_reading_start(const struct mfolder *mf, const struct store_unread *files, size_t n,
			size_t batch, struct store_reading **r_r, const char **error_r);
/* The next batch, files[*first_r ..] (NULL at the end): valid until the
 * next call. */
struct store_readout *store_reading_next(struct store_reading *r, size_t *first_r,
					 size_t *count_r);
/* Reads one file again, on the caller's thread (its name changed). */
void store_reading_again(struct store_reading *r, const char *fname,
			 struct store_readout *o);
void store_reading_stop(struct store_reading *r);

/* store_fill.c: the index learns a message's sizes, internal date and
 * cached fields when first asked for them, not when it first sees the
 * file (SELECT of a new 100,000-message Maildir reads no message). */
/* Reads the files of the not yet read messages among uids (NULL: all). */
int store_fill(struct mfolder *mf, const struct mail_range *uids, size_t n,
	       const char **error_r);
/* Writes f into the cache tables for uid (in the caller's transaction). */
int store_cache_insert(struct mfolder *mf, uint32_t uid, const struct msg_facts *f,
		       const char **error_r);
/* RFC 5322 date-time -> time_t; 0 when not parseable. */
time_t store_parse_date(const char *s);
const struct mail_parser *store_parser(void);

/* store_flags.c: the ":2," info of Maildir file names. */
unsigned store_flags_from_name(const char *fname);
/* base + ":2," + letters kept from old_info with ours replaced. */
int store_fname_with_flags(const char *fname, unsigned flags, char *out, size_t outlen);
/* S= (size) and W= (CRLF size) of a file name (without "cur/"), as
 * Dovecot and we write them; -1 when absent. Only hints: reading the file
 * sets the real values. */
void store_name_sizes(const char *name, int64_t *size_r, int64_t *vsize_r);
/* The base name: up to the ':' of the info, without "cur/" or "new/". */
size_t store_base_len(const char *name);

/* store_sync.c */
/* Scans when new/ or cur/ changed; move_new moves new/ -> cur/. */
int store_sync(struct mfolder *mf, bool move_new, const char **error_r);
/* Opens a folder's handle without view (STATUS, APPEND, COPY dest). */
int store_folder_init(struct mstore *ms, const char *name, struct mfolder *mf,
		      const char **error_r);

/* store_msgs.c */
/* Deletes a message's row and cache and records the expunge (in a
 * transaction the caller holds). */
int store_expunge_row(struct mfolder *mf, uint32_t uid, uint64_t modseq,
		      const char **error_r);
int store_expunge_uids(struct mfolder *mf, const uint32_t *uids, size_t n,
		       bool only_deleted, const char **error_r);
int store_view_load(struct mfolder *mf, const char **error_r);
int store_count_status(struct mfolder *mf, struct mail_status *st_r, const char **error_r);

/* Appends uid to a growable array; 0 or -1 (no memory). */
int store_uids_push(uint32_t **arr, size_t *n, size_t *cap, uint32_t uid);
/* Every message of the folder in uids (index order), as rows. */
struct msg_row {
	uint32_t uid;
	unsigned flags;
	uint64_t modseq;
	char *keywords;
	char *fname;
};
int store_rows_load(struct mfolder *mf, const struct mail_range *uids, size_t n,
		    struct msg_row **rows_r, size_t *count_r, const char **error_r);
void store_rows_free(struct msg_row **rows, size_t count);

/* store_folders.c: the subscriptions file (malloc'd, NUL-terminated). */
int store_subs_read(struct mstore *ms, char **data_r, size_t *len_r);
bool store_subs_has(const char *data, const char *name);

/* The vfuncs each file provides. */
extern const struct mail_store_vfuncs store_maildir_vfuncs;
int store_v_ensure_defaults(struct mail_store *s, const char **error_r);
int store_v_list(struct mail_store *s, struct mail_folder_info **list_r,
		 size_t *count_r, const char **error_r);
int store_v_create(struct mail_store *s, const char *name, const char **error_r);
int store_v_remove(struct mail_store *s, const char *name, const char **error_r);
int store_v_rename(struct mail_store *s, const char *from, const char *to,
		   const char **error_r);
int store_v_subscribe(struct mail_store *s, const char *name, bool on,
		      const char **error_r);
int store_v_status(struct mail_store *s, const char *name, struct mail_status *st_r,
		   const char **error_r);
int store_v_append(struct mail_store *s, const char *name, const struct iovec *iov,
		   int iovcnt, unsigned flags, const char *keywords, time_t internal_date,
		   uint32_t *uidvalidity_r, uint32_t *uid_r, const char **error_r);
int store_v_folder_open(struct mail_store *s, const char *name, unsigned open_flags,
			struct mail_folder **f_r, const char **error_r);
void store_v_folder_close(struct mail_folder *f);
int store_v_folder_status(struct mail_folder *f, struct mail_status *st_r,
			  const char **error_r);
int store_v_folder_sync(struct mail_folder *f, const char **error_r);
int store_v_folder_poll(struct mail_folder *f, bool *changed_r, const char **error_r);
int store_v_folder_changes(struct mail_folder *f, uint64_t since_modseq,
			   struct mail_changes *ch_r, const char **error_r);
uint32_t store_v_folder_count(struct mail_folder *f);
uint32_t store_v_seq_to_uid(struct mail_folder *f, uint32_t seq);
uint32_t store_v_uid_to_seq(struct mail_folder *f, uint32_t uid);
int store_v_iter_init(struct mail_folder *f, const struct mail_range *uids, size_t n,
		      unsigned fields, struct mail_iter **it_r, const char **error_r);
int store_v_iter_next(struct mail_iter *it, const struct mail_msg **msg_r,
		      const char **error_r);
void store_v_iter_deinit(struct mail_iter *it);
int store_v_msg_open(struct mail_folder *f, uint32_t uid, int *fd_r, uint64_t *size_r,
		     const char **error_r);
int store_v_store_flags(struct mail_folder *f, const struct mail_range *uids, size_t n,
			enum mail_flag_op op, unsigned flags, const char *keywords,
			uint64_t unchanged_since, struct mail_range **failed_r,
			size_t *failed_count_r, const char **error_r);
int store_v_expunge(struct mail_folder *f, const struct mail_range *uids, size_t n,
		    bool any, const char **error_r);
int store_v_copy_begin(struct mail_folder *f, const char *dest, struct mail_copy **c_r,
		       const char **error_r);
int store_v_copy_prepare(struct mail_copy *c, const struct mail_range *uids, size_t n,
			 const char **error_r);
int store_v_copy_commit(struct mail_copy *c, struct mail_copy_result *r,
			const char **error_r);
void store_v_copy_free(struct mail_copy *c);
int store_v_pop3_open(struct mail_store *s, struct mail_pop3 **p_r, bool *in_use_r,
		      const char **error_r);
int store_v_pop3_open_msg(struct mail_pop3 *p, size_t index, int *fd_r, uint64_t *size_r,
			  const char **error_r);
int store_v_pop3_read(struct mail_pop3 *p, size_t index, char **data_r, size_t *len_r,
		      const char **error_r);
int store_v_pop3_commit(struct mail_pop3 *p, const size_t *indexes, size_t n,
			const char **error_r);
void store_v_pop3_close(struct mail_pop3 *p);
int store_v_folder_watch_paths(struct mail_folder *f, struct mail_watch_paths *r);
int store_v_folder_expunged_since(struct mail_folder *f, uint64_t since_modseq,
				  const struct mail_range *within, size_t n,
				  struct mail_range **uids_r, size_t *n_r, const char **error_r);

#endif
