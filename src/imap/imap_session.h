#ifndef PB_IMAP_SESSION_H
#define PB_IMAP_SESSION_H
/* The IMAP server session (RFC 9051 IMAP4rev2 and RFC 3501 IMAP4rev1).
 *
 * Parsing happens on the event loop: imap_session_input() feeds the
 * command reader until a whole command is there. Running a command may
 * block (the mail store, password hashing), so the transport runs it on a
 * worker thread with imap_session_run(); a command that makes a lot of
 * output returns after a slice and is run again once the output has gone
 * out. The session is never used by two threads at once: input stops
 * while a command runs. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

struct config;
struct mail_folder;

enum imap_next {
	IMAP_NEXT_READ,       /* feed more input */
	IMAP_NEXT_RUN,        /* run imap_session_run() on a worker thread */
	IMAP_NEXT_IDLE,       /* in IDLE: poll with imap_session_idle_poll() */
	IMAP_NEXT_STARTTLS,   /* flush, then start TLS; then tls_started() */
	IMAP_NEXT_CLOSE,      /* flush, then close */
	IMAP_NEXT_AUTH,       /* check imap_session_credentials(), then
			       * imap_session_auth_done() */
};

struct imap_session_settings {
	const char *hostname;
	const struct config *cfg;        /* data_dir, local domains */
	bool tls_available;              /* offer STARTTLS */
	bool plaintext_auth;             /* LOGIN/AUTHENTICATE without TLS */
	size_t max_append;               /* largest APPEND literal */
	unsigned max_errors;             /* BAD commands before BYE */
	/* SEARCH, SORT, THREAD: keys x messages beyond which a search is
	 * refused (imap_search.h); 0 means IMAP_SEARCH_COST_DEFAULT. */
	uint64_t search_cost_max;
	/* STORE: messages per slice (worker job); 0 means
	 * IMAP_SLICE_MESSAGES_DEFAULT. */
	size_t slice_messages;
};

/* A slice of 1,000 messages renames 1,000 files: a few tens of
 * milliseconds, so a session waits at most that long behind another's
 * STORE 1:* before its own command gets a worker. */
#define IMAP_SLICE_MESSAGES_DEFAULT 1000

/* Seconds of one core on HEADER keys (10^6 of them took 2.7 s under
 * ASan on a loaded machine): room for a client's filters (tens of keys)
 * over a folder of 100,000 messages, none for the thousands of keys over
 * thousands of messages that kept every worker busy (issue 7). */
#define IMAP_SEARCH_COST_DEFAULT 10000000

struct imap_session;

struct imap_session *imap_session_new(const struct imap_session_settings *set,
				      const char *session_id, bool tls_active);
void imap_session_free(struct imap_session **s);

void imap_session_greet(struct imap_session *s);
/* Loop thread. Returns bytes used; stops at a command to run. */
size_t imap_session_input(struct imap_session *s, const char *data, size_t len);
/* What the transport does next. */
enum imap_next imap_session_next(const struct imap_session *s);
/* True once LOGIN or AUTHENTICATE succeeded (until LOGOUT). */
bool imap_session_logged_in(const struct imap_session *s);
/* Worker thread: runs (a slice of) the pending command. */
void imap_session_run(struct imap_session *s);
/* Worker thread, in IDLE: reports changes to the selected folder. Then
 * the store gives back its memory; with sleep (the transport is told of
 * changes, so polls are rare) its index connection too. */
void imap_session_idle_poll(struct imap_session *s, bool sleep);
/* The selected folder, NULL when none. For the transport, on the loop
 * thread while no command runs (in IDLE): to ask the store where the
 * folder's changes are made and wait for them (mail_folder_watch_paths). */
struct mail_folder *imap_session_selected(struct imap_session *s);
/* In IMAP_NEXT_AUTH: the user name (lower-cased) and the password of a
 * LOGIN or AUTHENTICATE, valid until imap_session_auth_done(). */
void imap_session_credentials(const struct imap_session *s, const char **user_r,
			      const char **password_r);
/* Loop thread: the check's answer, 1 the password matches, 0 not, -1 it
 * could not be checked; close: too many failures (BYE after the NO). A
 * failure is answered at once; a match makes next RUN (the store opens). */
void imap_session_auth_done(struct imap_session *s, int result, bool close);

struct buf *imap_session_output(struct imap_session *s);
void imap_session_tls_started(struct imap_session *s);
/* "* BYE text" and close (timeout, shutdown). */
void imap_session_goodbye(struct imap_session *s, const char *text);

#endif
