#ifndef PB_STORE_STORE_H
#define PB_STORE_STORE_H
/* The mail store the IMAP and POP3 servers use: folders, messages, flags,
 * UIDs and modseqs. Synchronous and blocking: call it from worker threads.
 * One struct mail_store per user per thread; any number of handles, in
 * threads and in processes, may work on the same user at the same time.
 *
 * struct mail_store_vfuncs is the contract of an implementation; the one
 * we ship is Maildir++ files plus a rebuildable SQLite index
 * (mail_store_maildir_open, docs/store.md). Callers use the mail_store_* /
 * mail_folder_* wrappers below and never the vtable directly.
 *
 * Conventions: 0 / -1 returns (1 / 0 / -1 for iterators), out-parameters
 * end in _r, error text (static, or owned by the handle until its next
 * call) comes back through error_r, destructors take ** and NULL it.
 *
 * Mailbox names are IMAP names in UTF-8 with "/" as the hierarchy
 * delimiter ("INBOX", "Archive/2024"); the IMAP layer converts modified
 * UTF-7 before calling. "INBOX" is case-insensitive. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>
#include <time.h>

#define MAIL_NAME_MAX 512        /* bytes of an IMAP name in UTF-8 */
#define MAIL_KEYWORDS_MAX 4096   /* bytes of one message's keyword list */

/* System flags (RFC 9051 2.3.2). \Recent is not kept (IMAP4rev2). */
enum mail_flag {
	MAIL_SEEN = 1 << 0,
	MAIL_ANSWERED = 1 << 1,
	MAIL_FLAGGED = 1 << 2,
	MAIL_DELETED = 1 << 3,
	MAIL_DRAFT = 1 << 4,
};
#define MAIL_FLAGS_ALL 0x1f

/* Folder attributes for LIST (RFC 9051 7.3.1, RFC 6154, RFC 5258). */
enum mail_folder_attr {
	MAIL_ATTR_NOSELECT = 1 << 0,      /* exists only as a parent */
	MAIL_ATTR_HAS_CHILDREN = 1 << 1,
	MAIL_ATTR_HAS_NO_CHILDREN = 1 << 2,
	MAIL_ATTR_SUBSCRIBED = 1 << 3,
	MAIL_ATTR_SENT = 1 << 4,
	MAIL_ATTR_DRAFTS = 1 << 5,
	MAIL_ATTR_TRASH = 1 << 6,
	MAIL_ATTR_JUNK = 1 << 7,
	MAIL_ATTR_ARCHIVE = 1 << 8,
	MAIL_ATTR_NONEXISTENT = 1 << 9,   /* subscribed but absent */
};

struct mail_folder_info {
	char *name;          /* IMAP name, UTF-8 */
	unsigned attrs;      /* enum mail_folder_attr */
};

struct mail_status {
	uint32_t messages;
	uint32_t unseen;
	uint32_t deleted;
	uint32_t recent;     /* mail_store_status: messages no session has had as
			      * \Recent yet (IMAP4rev1; IMAP4rev2 dropped it) */
	uint32_t uidnext;
	uint32_t uidvalidity;
	uint64_t size;       /* sum of the CRLF sizes (STATUS SIZE) */
	uint64_t highest_modseq;
	uint32_t first_unseen_seq;   /* 0 = none; only from mail_folder_status */
};

/* A set of UIDs or of sequence numbers: sorted, non-overlapping ranges
 * lo..hi inclusive. "*" is the caller's business (UINT32_MAX works). */
struct mail_range {
	uint32_t lo, hi;
};
/* Puts ranges of any order (overlapping, lo > hi) into that form in
 * place: each range ordered, sorted, overlapping and adjacent ones
 * joined. Returns the new count. */
size_t mail_ranges_normalize(struct mail_range *r, size_t n);
/* Ascending numbers as ranges (malloc'd; NULL/0 for none). 0, or -1 (out
 * of memory). */
int mail_ranges_from_ids(const uint32_t *ids, size_t n, struct mail_range **r_r,
			 size_t *n_r);

/* Which cached fields an iteration returns (the rest stay NULL). */
enum mail_fetch_fields {
	MAIL_FETCH_HEADERS = 1 << 0,     /* from .. references, date_sent */
	MAIL_FETCH_ENVELOPE = 1 << 1,
	MAIL_FETCH_BODYSTRUCTURE = 1 << 2, /* bodystructure and body */
	MAIL_FETCH_HEADER_RAW = 1 << 3,  /* the whole header section */
	/* Only UIDs, flags, keywords and modseqs: files not read yet are not
	 * read (size, vsize, dates may be 0). To walk a big set cheaply. */
	MAIL_FETCH_NO_READ = 1 << 4,
};

/* One message as the index knows it. Every pointer is owned by the
 * iterator and valid until its next call. Cached strings are NULL when
 * not asked for, or when not known (no parser; see mail_parser). */
struct mail_msg {
	uint32_t uid;
	uint32_t seq;            /* in the folder's view (see mail_folder_changes) */
	unsigned flags;          /* enum mail_flag */
	const char *keywords;    /* space-separated, "" when none */
	uint64_t modseq;
	uint64_t size;           /* octets on disk */
	uint64_t vsize;          /* octets IMAP sends (RFC822.SIZE): as stored when
				  * the first line ends in CRLF, else every LF
				  * as CRLF */
	uint64_t pop3_size;      /* octets POP3 RETR sends: every line end as
				  * CRLF, the last line ended (LIST, STAT) */
	time_t internal_date;    /* the file's mtime: delivery or APPEND date */
	time_t date_sent;        /* Date: parsed, for SORT; 0 unknown */
	const char *filename;    /* "cur/BASE:2,FS" or "new/BASE", relative to the folder */
	const char *header_raw;
	const char *envelope;    /* IMAP ENVELOPE, parenthesised */
	const char *bodystructure;
	const char *body;        /* BODY (non-extensible BODYSTRUCTURE) */
	const char *h_from, *h_to, *h_cc, *h_subject, *h_date;
	const char *h_message_id, *h_in_reply_to, *h_references;
};

/* Computes IMAP's ENVELOPE / BODYSTRUCTURE / BODY of a message: the MIME
 * parser's job (src/msg). Each output is a malloc'd NUL-terminated string
 * or NULL; the store frees them. Returns 0, or -1 (the message gets no
 * cached value and is retried on the next fetch). */
struct mail_parser {
	int (*parse)(void *ctx, const char *msg, size_t len, char **envelope_r,
		     char **bodystructure_r, char **body_r);
	void *ctx;
};

/* Registers the parser every store handle of the process uses (set once
 * at start-up, before worker threads open stores). NULL = none: the raw
 * header section and the common fields are still cached, and the
 * ENVELOPE / BODYSTRUCTURE columns are filled on the first fetch after a
 * parser is registered. */
void mail_store_set_parser(const struct mail_parser *parser);

/* Process-wide settings of the index's database library: once, before
 * any store is opened and before threads start. */
void mail_store_global_init(void);

/* What changed in a folder since the view was last brought up to date. */
struct mail_changes {
	uint32_t *expunged_seqs;   /* old-view sequence numbers, descending:
				    * send EXPUNGE in this order */
	uint32_t *expunged_uids;   /* ascending (VANISHED) */
	size_t expunged_count;
	uint32_t *changed_uids;    /* flags/modseq changed, in the new view */
	size_t changed_count;
	uint32_t exists;           /* messages in the new view */
	uint32_t new_count;        /* appended at the end of the view */
	uint64_t highest_modseq;
	bool uidvalidity_changed;  /* the folder was renumbered (UIDs ran out):
				    * nothing else is set; the view is stale */
};
void mail_changes_clear(struct mail_changes *ch);

enum mail_flag_op { MAIL_FLAGS_ADD, MAIL_FLAGS_REMOVE, MAIL_FLAGS_REPLACE };

enum mail_open_flags {
	MAIL_OPEN_READONLY = 1 << 0,  /* EXAMINE: files stay in new/ */
};

struct mail_copy_result {
	uint32_t uidvalidity;      /* of the destination (COPYUID) */
	uint32_t *src_uids;        /* in copy order */
	uint32_t *dst_uids;
	size_t count;
};
void mail_copy_result_clear(struct mail_copy_result *r);

struct mail_pop3_msg {
	uint32_t uid;
	uint64_t vsize;            /* what RETR sends (mail_msg.pop3_size) */
	char uidl[20];             /* "%08X%08X": UID then UIDVALIDITY */
};

struct mail_store;
struct mail_folder;
struct mail_iter;
struct mail_pop3;
struct mail_copy;

struct mail_watch_paths;
struct mail_store_vfuncs {
	void (*free)(struct mail_store *s);
	void (*trim)(struct mail_store *s);
	void (*sleep)(struct mail_store *s);   /* NULL: trim */
	int (*ensure_defaults)(struct mail_store *s, const char **error_r);
	int (*list)(struct mail_store *s, struct mail_folder_info **list_r,
		    size_t *count_r, const char **error_r);
	int (*create)(struct mail_store *s, const char *name, const char **error_r);
	int (*remove)(struct mail_store *s, const char *name, const char **error_r);
	int (*rename)(struct mail_store *s, const char *from, const char *to,
		      const char **error_r);
	int (*subscribe)(struct mail_store *s, const char *name, bool on,
			 const char **error_r);
	int (*status)(struct mail_store *s, const char *name, struct mail_status *st_r,
		      const char **error_r);
	int (*append)(struct mail_store *s, const char *name, const struct iovec *iov,
		      int iovcnt, unsigned flags, const char *keywords, time_t internal_date,
		      uint32_t *uidvalidity_r, uint32_t *uid_r, const char **error_r);

	int (*folder_open)(struct mail_store *s, const char *name, unsigned open_flags,
			   struct mail_folder **f_r, const char **error_r);
	void (*folder_close)(struct mail_folder *f);
	int (*folder_status)(struct mail_folder *f, struct mail_status *st_r,
			     const char **error_r);
	int (*folder_sync)(struct mail_folder *f, const char **error_r);
	int (*folder_poll)(struct mail_folder *f, bool *changed_r, const char **error_r);
	int (*folder_changes)(struct mail_folder *f, uint64_t since_modseq,
			      struct mail_changes *ch_r, const char **error_r);
	uint32_t (*folder_count)(struct mail_folder *f);
	uint32_t (*seq_to_uid)(struct mail_folder *f, uint32_t seq);
	uint32_t (*uid_to_seq)(struct mail_folder *f, uint32_t uid);

	int (*iter_init)(struct mail_folder *f, const struct mail_range *uids, size_t n,
			 unsigned fields, struct mail_iter **it_r, const char **error_r);
	int (*iter_next)(struct mail_iter *it, const struct mail_msg **msg_r,
			 const char **error_r);
	void (*iter_deinit)(struct mail_iter *it);
	int (*msg_open)(struct mail_folder *f, uint32_t uid, int *fd_r, uint64_t *size_r,
			const char **error_r);
	int (*store_flags)(struct mail_folder *f, const struct mail_range *uids, size_t n,
			   enum mail_flag_op op, unsigned flags, const char *keywords,
			   uint64_t unchanged_since, struct mail_range **failed_r,
			   size_t *failed_count_r, const char **error_r);
	int (*expunge)(struct mail_folder *f, const struct mail_range *uids, size_t n,
		       bool any, const char **error_r);
	int (*copy_begin)(struct mail_folder *f, const char *dest, struct mail_copy **c_r,
			  const char **error_r);
	int (*copy_prepare)(struct mail_copy *c, const struct mail_range *uids, size_t n,
			    const char **error_r);
	int (*copy_commit)(struct mail_copy *c, struct mail_copy_result *r,
			   const char **error_r);
	void (*copy_free)(struct mail_copy *c);

	int (*pop3_open)(struct mail_store *s, struct mail_pop3 **p_r, bool *in_use_r,
			 const char **error_r);
	int (*pop3_read)(struct mail_pop3 *p, size_t index, char **data_r, size_t *len_r,
			 const char **error_r);
	int (*pop3_open_msg)(struct mail_pop3 *p, size_t index, int *fd_r, uint64_t *size_r,
			     const char **error_r);
	int (*pop3_commit)(struct mail_pop3 *p, const size_t *indexes, size_t n,
			   const char **error_r);
	void (*pop3_close)(struct mail_pop3 *p);

	int (*folder_expunged_since)(struct mail_folder *f, uint64_t since_modseq,
				     const struct mail_range *within, size_t n,
				     struct mail_range **uids_r, size_t *n_r,
				     const char **error_r);
	/* NULL: the store cannot say where changes are made. */
	int (*folder_watch_paths)(struct mail_folder *f, struct mail_watch_paths *r);
	int (*folder_keywords)(struct mail_folder *f, char **keywords_r, const char **error_r);
	int (*folder_claim_recent)(struct mail_folder *f, uint32_t *lo_r, uint32_t *hi_r,
				   const char **error_r);
};

/* The common head of every implementation's objects. */
struct mail_store {
	const struct mail_store_vfuncs *v;
};
struct mail_folder {
	struct mail_store *store;
};
struct mail_iter {
	struct mail_folder *folder;
};
struct mail_copy {
	struct mail_folder *folder;         /* the source */
};
struct mail_pop3 {
	struct mail_store *store;
	const struct mail_pop3_msg *msgs;   /* the locked snapshot */
	size_t count;
};

/* ---- The Maildir++ + SQLite implementation ---- */

/* Opens the store of DATA/mail/DOMAIN/LOCAL (created if missing: the root
 * Maildir and index.db; folders come from mail_store_ensure_defaults). */
int mail_store_maildir_open(const char *data_dir, const char *domain, const char *local,
			    struct mail_store **s_r, const char **error_r);
/* Same, given the Maildir++ root directly. */
int mail_store_maildir_open_root(const char *root, struct mail_store **s_r,
				 const char **error_r);

/* ---- Store-level operations ---- */

void mail_store_free(struct mail_store **s);
/* Gives back the memory caches hold (index pages, prepared statements):
 * call when a session goes idle, so thousands of idle sessions cost
 * little. */
void mail_store_trim(struct mail_store *s);
/* More than trim, for a session that will wait long and is woken by
 * change notification rather than polling (IDLE): the index connection
 * is closed too and opened again by the next call. While asleep and
 * while no one writes the index, mail_folder_poll opens nothing. */
void mail_store_sleep(struct mail_store *s);
/* Creates INBOX and Sent, Drafts, Trash, Junk, Archive (SPECIAL-USE),
 * all subscribed, if missing. Idempotent. */
int mail_store_ensure_defaults(struct mail_store *s, const char **error_r);
/* Every folder, INBOX first then by name, with parents that exist only as
 * a hierarchy level (\Noselect) and subscribed names that do not exist
 * (NONEXISTENT). Free with mail_folder_info_free. */
int mail_store_list(struct mail_store *s, struct mail_folder_info **list_r,
		    size_t *count_r, const char **error_r);
void mail_folder_info_free(struct mail_folder_info **list, size_t count);
/* Checks an IMAP name (UTF-8) against the rules of docs/store.md. */
bool mail_store_name_valid(const char *name);

int mail_store_create(struct mail_store *s, const char *name, const char **error_r);
/* INBOX cannot be deleted; a folder with children loses its messages and
 * remains as \Noselect (RFC 9051 6.3.4). */
int mail_store_delete(struct mail_store *s, const char *name, const char **error_r);
/* Renames a folder and its children, keeping UIDVALIDITY. Renaming INBOX
 * moves its messages into the new folder and leaves INBOX empty
 * (RFC 9051 6.3.6). */
int mail_store_rename(struct mail_store *s, const char *from, const char *to,
		      const char **error_r);
int mail_store_subscribe(struct mail_store *s, const char *name, bool on,
			 const char **error_r);
/* STATUS of a folder that need not be selected (syncs it; no new/ -> cur/). */
int mail_store_status(struct mail_store *s, const char *name, struct mail_status *st_r,
		      const char **error_r);
/* APPEND: the message is on stable storage (file and cur/ fsync'd) before
 * the index learns it and before this returns 0. internal_date 0 = now.
 * keywords: space-separated or NULL. Returns APPENDUID's two numbers. */
int mail_store_append(struct mail_store *s, const char *name, const struct iovec *iov,
		      int iovcnt, unsigned flags, const char *keywords, time_t internal_date,
		      uint32_t *uidvalidity_r, uint32_t *uid_r, const char **error_r);

/* ---- A selected folder ----
 * An open folder has a view: the UIDs whose sequence numbers the client
 * knows. Sync and other handles change the index, never the view; only
 * mail_folder_changes moves the view forward (so EXPUNGE is sent only
 * when IMAP allows it). */

int mail_folder_open(struct mail_store *s, const char *name, unsigned open_flags,
		     struct mail_folder **f_r, const char **error_r);
void mail_folder_close(struct mail_folder **f);
/* SELECT's numbers for the view: messages (the view's size), uidnext,
 * uidvalidity, highest_modseq and first_unseen_seq; unseen, deleted and
 * size stay 0 (mail_store_status counts those), so it never scans. */
int mail_folder_status(struct mail_folder *f, struct mail_status *st_r,
		       const char **error_r);
/* Brings the index up to date with the Maildir: new files get UIDs,
 * vanished files become expunged, renamed files change flags. Costs two
 * stat() calls when neither new/ nor cur/ changed. */
int mail_folder_sync(struct mail_folder *f, const char **error_r);
/* The cheap check for IDLE and NOOP (poll every ~500 ms): stats new/ and
 * cur/ and reads the folder's modseq/UIDNEXT row. *changed_r true means:
 * call mail_folder_sync then mail_folder_changes. */
int mail_folder_poll(struct mail_folder *f, bool *changed_r, const char **error_r);
/* The keywords set on any message of the folder, space-separated, each
 * once (case-insensitive), at most MAIL_FOLDER_KEYWORDS_MAX octets (the
 * rest left out); malloc'd, maybe "": what IMAP's FLAGS response lists. */
#define MAIL_FOLDER_KEYWORDS_MAX (8 * 1024)
int mail_folder_keywords(struct mail_folder *f, char **keywords_r, const char **error_r);
/* \Recent (IMAP4rev1, RFC 3501 2.3.2), as Dovecot keeps it: a message is
 * recent in exactly one session, the first to open the folder read-write
 * after it arrived. Claims for the caller the view's UIDs no one claimed
 * yet: lo..hi (lo > hi: none; always none when opened read-only). */
int mail_folder_claim_recent(struct mail_folder *f, uint32_t *lo_r, uint32_t *hi_r,
			     const char **error_r);
/* Where the changes mail_folder_poll looks for are made, so that a
 * waiting session (IDLE) can have them pushed instead of polling: the
 * entries of entry_dirs are created, removed or renamed when messages
 * arrive, go or change flags (by any program), and files named in
 * index_files are written in index_dir when only the index changes
 * (keywords, modseqs). Paths and names are the store's until it is
 * freed. -1 when the store cannot say (the caller polls). No I/O. */
#define MAIL_WATCH_PATH_MAX 1040
struct mail_watch_paths {
	char entry_dirs[2][MAIL_WATCH_PATH_MAX];
	size_t entry_dir_count;
	char index_dir[MAIL_WATCH_PATH_MAX];
	const char *const *index_files;   /* NULL-terminated */
};
int mail_folder_watch_paths(struct mail_folder *f, struct mail_watch_paths *r);
/* Expunges, new messages and flag changes since the view was last updated
 * (or, for changed_uids, since since_modseq when that is lower: CONDSTORE
 * CHANGEDSINCE / QRESYNC); then updates the view. */
int mail_folder_changes(struct mail_folder *f, uint64_t since_modseq,
			struct mail_changes *ch_r, const char **error_r);
uint32_t mail_folder_count(struct mail_folder *f);
/* 0 when out of range / not in the view. */
uint32_t mail_folder_seq_to_uid(struct mail_folder *f, uint32_t seq);
uint32_t mail_folder_uid_to_seq(struct mail_folder *f, uint32_t uid);
/* Converts sequence ranges of the view to UID ranges (malloc'd). */
int mail_folder_seqs_to_uids(struct mail_folder *f, const struct mail_range *seqs,
			     size_t n, struct mail_range **uids_r, size_t *n_r);

/* Messages of the view whose UIDs are in the ranges, ascending, one
 * SQLite query per range. */
int mail_folder_iter_init(struct mail_folder *f, const struct mail_range *uids, size_t n,
			  unsigned fields, struct mail_iter **it_r, const char **error_r);
/* 1 and *msg_r set, 0 at the end, -1 on error. */
int mail_folder_iter_next(struct mail_iter *it, const struct mail_msg **msg_r,
			  const char **error_r);
void mail_folder_iter_deinit(struct mail_iter **it);
/* Opens the message file read-only (the caller closes *fd_r). -1 with
 * errno ENOENT when the message is gone. */
int mail_folder_msg_open(struct mail_folder *f, uint32_t uid, int *fd_r,
			 uint64_t *size_r, const char **error_r);

/* STORE: renames the files (Maildir ":2," info) and bumps modseqs.
 * keywords: space-separated or NULL. unchanged_since (0 = none,
 * RFC 7162 3.1.3): messages whose modseq is higher are left alone and
 * returned in *failed_r (malloc'd UID ranges; NULL/0 when none). */
int mail_folder_store_flags(struct mail_folder *f, const struct mail_range *uids,
			    size_t n, enum mail_flag_op op, unsigned flags,
			    const char *keywords, uint64_t unchanged_since,
			    struct mail_range **failed_r, size_t *failed_count_r,
			    const char **error_r);
/* EXPUNGE (uids NULL: every \Deleted message) or UID EXPUNGE (only the
 * \Deleted messages among uids); with any, every message among uids
 * (MOVE's second part). One transaction: a big EXPUNGE calls this a
 * slice of UIDs at a time. Report with mail_folder_changes. */
int mail_folder_expunge(struct mail_folder *f, const struct mail_range *uids, size_t n,
			bool any, const char **error_r);

/* COPY (and MOVE's first part) into dest, all or nothing, in steps that
 * each hold a worker briefly: begin opens dest (-1 with errno ENOENT when
 * it does not exist: TRYCREATE); prepare hard-links (across file systems:
 * copies and fsyncs) the files of the messages among uids into dest's
 * tmp/, where no reader sees them, and may be called any number of times
 * with ascending UIDs; commit renames every prepared file into dest's
 * cur/ (flags and keywords kept), fsyncs cur/ and enters them in the
 * index in one transaction, and returns COPYUID's numbers (count 0 when
 * every message was gone). free discards whatever was prepared and not
 * committed (a failure, a client gone): nothing of the copy is left.
 * Messages expunged meanwhile are skipped (RFC 9051 6.4.7 allows it). */
int mail_copy_begin(struct mail_folder *f, const char *dest, struct mail_copy **c_r,
		    const char **error_r);
int mail_copy_prepare(struct mail_copy *c, const struct mail_range *uids, size_t n,
		      const char **error_r);
int mail_copy_commit(struct mail_copy *c, struct mail_copy_result *r, const char **error_r);
void mail_copy_free(struct mail_copy **c);

/* ---- POP3 ----
 * Locks the maildrop against other POP3 sessions only (IMAP is not
 * blocked) and takes a snapshot of INBOX, ascending by UID. -1 with
 * *in_use_r true when another POP3 session holds it. */
int mail_pop3_open(struct mail_store *s, struct mail_pop3 **p_r, bool *in_use_r,
		   const char **error_r);
/* The message as stored, malloc'd. */
int mail_pop3_read(struct mail_pop3 *p, size_t index, char **data_r, size_t *len_r,
		   const char **error_r);
/* The message's file, open for reading in parts (RETR streams it as the
 * client drains its output), and its size as stored. The caller closes
 * the descriptor. */
int mail_pop3_open_msg(struct mail_pop3 *p, size_t index, int *fd_r, uint64_t *size_r,
		       const char **error_r);
/* UPDATE state: expunges the messages (0-based snapshot indexes). */
int mail_pop3_commit(struct mail_pop3 *p, const size_t *indexes, size_t n,
		     const char **error_r);
/* Unlocks. */
void mail_pop3_close(struct mail_pop3 **p);

/* ---- QRESYNC (RFC 7162 3.2) ----
 * The UIDs expunged from the folder with a modseq above since_modseq, for
 * VANISHED (EARLIER): sorted, merged UID ranges (malloc'd; NULL/0 when
 * none). within (n ranges in any order, overlapping allowed; NULL = no
 * limit) restricts them. UIDs still in the view are left out: the view
 * learns of them through mail_folder_changes (plain VANISHED). */
int mail_folder_expunged_since(struct mail_folder *f, uint64_t since_modseq,
			       const struct mail_range *within, size_t n,
			       struct mail_range **uids_r, size_t *n_r, const char **error_r);

#endif
