#ifndef PB_IMAP_PRIVATE_H
#define PB_IMAP_PRIVATE_H
/* Shared by the files of the IMAP session: the session object, the
 * command table and the helpers every command uses. */

#include <stdint.h>

#include "imap/imap_parse.h"
#include "imap/imap_parse_cmd.h"
#include "imap/imap_session.h"
#include "lib/config.h"
#include "store/store.h"

enum imap_state {
	IMAP_STATE_NOT_AUTH,
	IMAP_STATE_AUTH,
	IMAP_STATE_SELECTED,
	IMAP_STATE_LOGOUT,
	IMAP_STATE_COUNT
};

/* ENABLEd extensions (RFC 5161). */
enum imap_enabled {
	IMAP_ENABLED_CONDSTORE = 1 << 0,
	IMAP_ENABLED_QRESYNC = 1 << 1,
	IMAP_ENABLED_UTF8 = 1 << 2,      /* UTF8=ACCEPT, RFC 6855 */
	IMAP_ENABLED_REV2 = 1 << 3,      /* IMAP4rev2 */
};

struct imap_session;

/* A command handler: 1 done (the tagged reply is written), 0 call again
 * after the output has been sent (big responses go out in slices). */
typedef int imap_cmd_fn(struct imap_session *s);

enum imap_cmd_flags {
	IMAP_CMD_ON_LOOP = 1 << 0,       /* cheap: runs at once, on the loop */
	IMAP_CMD_NO_EXPUNGE = 1 << 1,    /* no EXPUNGE responses after it (FETCH,
					  * STORE, SEARCH: RFC 9051 7.5.1) */
	IMAP_CMD_UID = 1 << 2,           /* allowed after "UID" */
};

struct imap_command_def {
	const char *name;                /* NULL: only advertises `capability` */
	unsigned states;                 /* bit per enum imap_state */
	unsigned flags;
	imap_cmd_fn *run;
	const char *capability;          /* CAPABILITY word(s) it brings, or NULL */
};

#define IMAP_STATES_NA (1u << IMAP_STATE_NOT_AUTH)
#define IMAP_STATES_AU (1u << IMAP_STATE_AUTH)
#define IMAP_STATES_SE (1u << IMAP_STATE_SELECTED)

/* The command tables, one per family file, each ending in an all-zero
 * entry. imap_commands.c searches them all. */
extern const struct imap_command_def imap_commands_core[];      /* imap_commands.c */
extern const struct imap_command_def imap_commands_mailbox[];   /* imap_cmd_mailbox.c */
extern const struct imap_command_def imap_commands_message[];   /* imap_cmd_message.c */
extern const struct imap_command_def imap_commands_search[];    /* imap_cmd_search.c */

/* NULL when unknown (or not allowed after "UID"). */
const struct imap_command_def *imap_command_find(struct str name, bool uid);

struct imap_session {
	struct imap_session_settings set;
	char id[24];
	bool tls;
	enum imap_state state;
	enum imap_next next;
	struct imap_reader *reader;
	struct buf out;
	unsigned errors;

	/* the command being run */
	const struct imap_command_def *cmd;
	char tag[128];
	bool uid;
	const struct imap_arg *args;
	int cmd_stage;                   /* 0 at the start of each command */
	void *cmd_ctx;                   /* a sliced command's state */
	void (*cmd_ctx_free)(void *ctx);

	/* after login */
	char user[321];
	struct mail_store *store;
	unsigned enabled;

	/* SELECTED */
	struct mail_folder *folder;
	char folder_name[MAIL_NAME_MAX + 1];   /* UTF-8 */
	bool readonly;
	uint64_t known_modseq;           /* highest modseq the client was told */
	bool idling;
	bool awaiting_line;              /* a command wants the next raw line */
	struct mail_range *saved;        /* "$" (RFC 5182) as UID ranges */
	size_t nsaved;
	char *keywords;                  /* listed in FLAGS so far (imap_flags_state.c) */
	struct mail_range *recent;       /* UIDs \Recent to this session */
	size_t nrecent;
	uint32_t recent_count;           /* of them, in the view */
};

/* imap_flags_state.c: keywords announced and \Recent (see there). */
void imap_flags_state_clear(struct imap_session *s);
/* At SELECT/EXAMINE: the folder's keywords, and the \Recent claim of an
 * IMAP4rev1 session. -1 (logged) when the keywords cannot be read. */
int imap_flags_state_select(struct imap_session *s);
/* After EXISTS of new messages: claims them as \Recent, "* n RECENT". */
void imap_flags_state_update(struct imap_session *s, const struct mail_changes *ch);
void imap_write_flag_lists(struct imap_session *s);
/* Before a FETCH response with these keywords: new ones are added to
 * FLAGS and PERMANENTFLAGS, which are sent again first. */
void imap_announce_keywords(struct imap_session *s, const char *keywords);
/* Whether the space-separated list kws (may be NULL) holds kw, in any case. */
bool imap_has_keyword(const char *kws, struct str kw);
bool imap_is_recent(const struct imap_session *s, uint32_t uid);

/* imap_slice.c: a command over many messages, a slice at a time (see
 * there). The UIDs asked for and a cursor (the lowest UID not done). */
struct imap_slicer {
	struct mail_range *uids;   /* sorted, merged (owned) */
	size_t n;
	struct mail_range *clip;   /* the current slice's ranges */
	uint32_t next_uid;
};
/* Takes uids (malloc'd, may be NULL when n is 0). 0, or -1 (out of
 * memory; uids freed). */
int imap_slicer_init(struct imap_slicer *sl, struct mail_range *uids, size_t n);
void imap_slicer_fini(struct imap_slicer *sl);
/* The next slice: sl->clip[0 .. *n_r) holds the asked-for UIDs from the
 * cursor to the slice_messages-th message of the view found there (*n_r
 * 0: none left), and the cursor moves past it. *more_r: messages remain
 * beyond it. *max_modseq_r: the highest modseq in the slice. */
int imap_slicer_next(struct imap_session *s, struct imap_slicer *sl, size_t *n_r,
		     bool *more_r, uint64_t *max_modseq_r, const char **error_r);

/* imap_searchres.c: the saved search result "$" (RFC 5182). */
void imap_saved_clear(struct imap_session *s);
/* Saves the ascending hits of a SEARCH: UIDs, or sequence numbers of the
 * view (uid false). 0, or -1 (out of memory: "$" is then empty). */
int imap_saved_set(struct imap_session *s, const uint32_t *ids, size_t n, bool uid);
/* "$" as UID ranges of the messages still in the view (malloc'd, maybe
 * none). 0, or -1 (out of memory). */
int imap_saved_uids(struct imap_session *s, struct mail_range **uids_r, size_t *n_r);

/* The only way to change state (logs the move). */
void imap_set_state(struct imap_session *s, enum imap_state to);
/* Untagged "* ..." and tagged "TAG OK/NO/BAD ..." lines, CRLF added. */
void imap_untagged(struct imap_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void imap_tagged(struct imap_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A tagged BAD counts towards max_errors. */
void imap_bad(struct imap_session *s, const char *text);
/* The CAPABILITY list for the current state, without "* CAPABILITY ". */
void imap_write_capabilities(struct imap_session *s, struct buf *out);
/* A string as IMAP wants it: quoted when it can be, else a literal. */
void imap_write_string(struct buf *out, struct str s);
/* A mailbox name (UTF-8 in the store) as the client wants it: UTF-8 with
 * IMAP4rev2 or UTF8=ACCEPT, modified UTF-7 otherwise. */
void imap_write_mailbox(struct imap_session *s, struct buf *out, const char *name);
/* A mailbox name from the client, as a UTF-8 store name; on -1 a tagged
 * reply has been written. */
int imap_mailbox_arg(struct imap_session *s, const struct imap_arg *arg, char *name,
		     size_t size);
/* Sends the untagged EXPUNGE/VANISHED, EXISTS and FETCH FLAGS updates of
 * the selected folder (RFC 9051 7.4.1, 5.2). */
int imap_send_updates(struct imap_session *s, bool allow_expunge);
/* Syncs the selected folder and sends what changed since the client's
 * view: EXPUNGE (VANISHED under QRESYNC), EXISTS, FETCH FLAGS (with
 * MODSEQ under CONDSTORE); then the view is current. */
int imap_report_changes(struct imap_session *s, const char **error_r);
/* Closes the selected folder (CLOSE, UNSELECT, SELECT of another). */
void imap_unselect(struct imap_session *s);
/* Flags as "(\Seen \Answered kw)". */
void imap_write_flags(struct buf *out, unsigned flags, const char *keywords, bool recent);
/* A store error as a tagged NO. */
void imap_store_error(struct imap_session *s, const char *what, const char *err);

/* Commands (one file per family). */
imap_cmd_fn imap_cmd_capability, imap_cmd_noop, imap_cmd_logout, imap_cmd_starttls,
	imap_cmd_id, imap_cmd_enable, imap_cmd_namespace, imap_cmd_login,
	imap_cmd_authenticate, imap_cmd_select, imap_cmd_examine, imap_cmd_close,
	imap_cmd_unselect, imap_cmd_idle;

#endif
