#ifndef PB_SMTP_SERVER_H
#define PB_SMTP_SERVER_H
/* The SMTP server session (RFC 5321), sans I/O: bytes go in through
 * smtp_server_input(), replies come out in smtp_server_output(), and what
 * the transport must do next comes back as flags (start TLS, close) or as
 * calls of the hooks (check a recipient, commit a message). One state enum
 * and one transition function (smtp_server_state.c) govern the session. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "smtp/smtp_data.h"
#include "smtp/smtp_parse.h"

enum smtp_role {
	SMTP_ROLE_MX,          /* port 25: local domains only, no AUTH */
	SMTP_ROLE_SUBMISSION,  /* 587/465: AUTH required before MAIL */
	/* The local socket (postbox sendmail): the kernel names the peer's
	 * Unix user, which decides the senders allowed (local_*); no TLS, no
	 * AUTH; any recipient; content completed as in submission. */
	SMTP_ROLE_LOCAL,
};

enum smtp_state {
	SMTP_STATE_GREETING,   /* before EHLO/HELO */
	SMTP_STATE_READY,      /* after EHLO/HELO, no transaction */
	SMTP_STATE_MAIL,       /* MAIL accepted, no recipient yet */
	SMTP_STATE_RCPT,       /* at least one recipient */
	SMTP_STATE_DATA,       /* reading DATA */
	SMTP_STATE_BDAT,       /* reading a BDAT chunk */
	SMTP_STATE_BDAT_MORE,  /* between BDAT chunks */
	SMTP_STATE_COMMIT,     /* message handed to the hook, awaiting result */
	SMTP_STATE_TLS,        /* STARTTLS answered, awaiting the handshake */
	SMTP_STATE_AUTH,       /* an AUTH exchange: lines are SASL responses */
	SMTP_STATE_CLOSED,     /* QUIT or fatal error: output then close */
	SMTP_STATE_COUNT
};

/* What a recipient check says. */
enum smtp_rcpt_verdict {
	SMTP_RCPT_OK,
	SMTP_RCPT_UNKNOWN,       /* 550 5.1.1 */
	SMTP_RCPT_RELAY_DENIED,  /* 554 5.7.1 */
	SMTP_RCPT_TEMPFAIL,      /* 451 4.3.0 */
	/* Submission: a recipient in another domain, while nothing can take
	 * mail on to other servers: 451 4.3.0, so the client keeps it. */
	SMTP_RCPT_REMOTE_UNAVAILABLE,
};

/* What a password check says (hooks->auth_check). */
enum smtp_auth_result {
	SMTP_AUTH_OK,            /* 235 2.7.0 */
	SMTP_AUTH_FAILED,        /* 535 5.7.8 */
	SMTP_AUTH_FAILED_CLOSE,  /* 535 5.7.8, then 421 and close: too many */
	SMTP_AUTH_TEMPFAIL,      /* 454 4.7.0 */
};

struct smtp_rcpt {
	struct smtp_mailbox mailbox;
	char address[SMTP_LOCAL_MAX + 2 + SMTP_DOMAIN_MAX + 1];  /* as accepted */
	void *data;              /* from the hook, freed by hooks->rcpt_free */
};

/* A mail transaction (RFC 5321 3.3): envelope and content. The content
 * never sits whole in memory: it streams through a bounded staging buffer
 * to the spool the hooks keep (smtp_tx.data is that buffer). */
struct smtp_tx {
	char id[24];             /* queue id, in replies and logs */
	char sender[SMTP_LOCAL_MAX + 2 + SMTP_DOMAIN_MAX + 1];  /* "" = null path */
	bool smtputf8;
	bool body_8bit;          /* BODY=8BITMIME */
	struct smtp_rcpt *rcpts;
	size_t rcpt_count;
	size_t rcpt_cap;
	struct buf received;     /* our Received: header field, with LF ends */
	struct buf data;         /* staging for the spool (SMTP_SPOOL_CHUNK) */
	size_t size;             /* CRLF-counted size of the client's message */
};

/* How much of a message a session holds before it goes to the spool. */
#define SMTP_SPOOL_CHUNK (64 * 1024)

struct smtp_server_hooks {
	/* Checks a recipient: in the MX role only local domains get here (the
	 * session refuses the others itself); in the submission role every
	 * recipient does. Answer with
	 * smtp_server_rcpt_done(), now or later. Input pauses meanwhile. */
	void (*rcpt_check)(void *ctx, const struct smtp_mailbox *mb);
	void (*rcpt_free)(void *ctx, void *data);
	/* The content starts (DATA, or the first BDAT chunk): open a spool
	 * for it; tx->received and tx->sender are set. 0, or -1 with errno. */
	int (*spool_open)(void *ctx, struct smtp_tx *tx);
	/* Appends content octets (LF line ends) to the spool: writes to the
	 * page cache, never an fsync. 0, or -1 with errno. */
	smtp_data_sink_fn *spool_write;
	/* The transaction is over (committed or not): drop what of the spool
	 * is still there. */
	void (*spool_close)(void *ctx);
	/* Commits the spooled message durably; answer with
	 * smtp_server_commit_done(), now or later. The transaction stays
	 * valid until then. */
	void (*commit)(void *ctx, struct smtp_tx *tx);
	/* Submission: checks a password (the user as the client sent it);
	 * answer with smtp_server_auth_done(), now or later. Input pauses
	 * meanwhile. password is valid during the call only. */
	void (*auth_check)(void *ctx, const char *user, const char *password);
};

struct smtp_server_settings {
	enum smtp_role role;
	const char *hostname;
	size_t message_size;
	size_t max_recipients;
	size_t max_header;           /* octets of header section */
	unsigned max_hops;           /* more Received: fields than this mean a loop */
	unsigned max_errors;         /* then 421 and close */
	bool tls_available;          /* offer STARTTLS */
	bool plaintext_auth;         /* submission: AUTH without TLS too (a
				      * loopback peer, which nobody can sniff) */
	const struct config *cfg;    /* local domains */
	/* SMTP_ROLE_LOCAL: the peer's uid, its login name ("" when it has
	 * none) and whether it may use any sender (root, the server's own
	 * user); else only login[+detail]@ one of the domains or hostname. */
	unsigned long local_uid;
	const char *local_user;      /* copied by smtp_server_new */
	bool local_any_sender;
};

/* How many addresses a user may send as (their own and their aliases'),
 * and the octets they take together. */
#define SMTP_OWNED_MAX 256
#define SMTP_OWNED_POOL (16 * 1024)

struct smtp_server;

struct smtp_server *smtp_server_new(const struct smtp_server_settings *set,
				    const struct smtp_server_hooks *hooks, void *hook_ctx,
				    const char *session_id, const char *peer_ip,
				    bool tls_active, const char *tls_info);
void smtp_server_free(struct smtp_server **s);

/* Writes the 220 greeting. */
void smtp_server_greet(struct smtp_server *s);
/* Feeds bytes; returns how many were consumed. Fewer than len means the
 * session paused (commit in progress, STARTTLS, closed): offer the rest
 * again after smtp_server_commit_done(). */
size_t smtp_server_input(struct smtp_server *s, const char *data, size_t len);

/* Pending reply bytes; the caller sends and then clears them. */
struct buf *smtp_server_output(struct smtp_server *s);
bool smtp_server_want_starttls(const struct smtp_server *s);
bool smtp_server_want_close(const struct smtp_server *s);
bool smtp_server_busy(const struct smtp_server *s);   /* commit or lookup out */
enum smtp_state smtp_server_state(const struct smtp_server *s);
/* The transaction being committed (valid in SMTP_STATE_COMMIT). */
const struct smtp_tx *smtp_server_tx(const struct smtp_server *s);
/* Seconds of silence allowed in the current state (RFC 5321 4.5.3.2). */
unsigned smtp_server_timeout(const struct smtp_server *s, unsigned command,
			     unsigned data);

/* The transport finished the TLS handshake: the session starts over
 * (RFC 3207 4.2) and Received: will name the cipher. */
void smtp_server_tls_started(struct smtp_server *s, const char *tls_info);
/* The result of hooks->rcpt_check: data (the resolved targets, or NULL)
 * is kept with the recipient when verdict is SMTP_RCPT_OK, else freed
 * through hooks->rcpt_free. */
void smtp_server_rcpt_done(struct smtp_server *s, enum smtp_rcpt_verdict verdict,
			   void *data);
/* The result of hooks->auth_check. With SMTP_AUTH_OK, user is the
 * account's address (as the user directory writes it) and owned[0..n) the
 * addresses ("local@domain") the user may use as envelope sender and in
 * From: (the own address among them); a "+detail" of any of them is also
 * the user's. More than SMTP_OWNED_MAX or SMTP_OWNED_POOL octets are
 * refused as a temporary failure rather than cut. */
void smtp_server_auth_done(struct smtp_server *s, enum smtp_auth_result r, const char *user,
			   const char *const *owned, size_t n);
/* The authenticated user, or NULL. */
const char *smtp_server_auth_user(const struct smtp_server *s);
/* The result of hooks->commit: error NULL for success, else the full reply
 * line without CRLF ("452 4.3.1 Insufficient system storage"). */
void smtp_server_commit_done(struct smtp_server *s, const char *error);
/* 421 and close (timeout, shutdown). */
void smtp_server_goodbye(struct smtp_server *s, const char *reply);

const char *smtp_state_name(enum smtp_state st);

#endif
