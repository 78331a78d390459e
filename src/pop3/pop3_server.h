#ifndef PB_POP3_SERVER_H
#define PB_POP3_SERVER_H
/* The POP3 server session (RFC 1939, CAPA RFC 2449, STLS RFC 2595, SASL
 * PLAIN RFC 5034, response codes RFC 2449 8 / RFC 3206), sans I/O: bytes
 * in, reply bytes out, and hooks for what needs the outside world (checking
 * a password, locking the maildrop, reading a message, deleting at QUIT).
 * Every hook is answered later with the matching *_done() call; the session
 * reads no input until then. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define POP3_LINE_MAX 255      /* RFC 2449 4: 255 octets with CRLF */
#define POP3_UIDL_MAX 70       /* RFC 1939 7: 1 to 70 characters */

enum pop3_state {
	POP3_STATE_AUTH,           /* AUTHORIZATION */
	POP3_STATE_SASL,           /* AUTH PLAIN waiting for the response line */
	POP3_STATE_WAIT,           /* a hook is working */
	POP3_STATE_TRANSACTION,
	POP3_STATE_TLS,            /* STLS answered, handshake next */
	POP3_STATE_CLOSED,
	POP3_STATE_COUNT
};

struct pop3_msg {
	uint64_t size;             /* octets as sent: CRLF line ends */
	char uidl[POP3_UIDL_MAX + 1];
	bool deleted;              /* private to the session */
};

enum pop3_auth_result {
	POP3_AUTH_OK,
	POP3_AUTH_FAILED,          /* -ERR [AUTH] */
	POP3_AUTH_FAILED_CLOSE,    /* the same, and too many: close */
	POP3_AUTH_IN_USE,          /* -ERR [IN-USE]: another POP3 session has it */
	POP3_AUTH_TEMPFAIL,        /* -ERR [SYS/TEMP] */
};

struct pop3_server_hooks {
	/* Check user/password; on success lock and list the maildrop. */
	void (*auth)(void *ctx, const char *user, const char *password);
	/* Read message index (0-based) for RETR/TOP. */
	void (*retrieve)(void *ctx, size_t index);
	/* QUIT in TRANSACTION: remove these messages (0-based), unlock. */
	void (*update)(void *ctx, const size_t *indexes, size_t count);
};

struct pop3_server_settings {
	const char *hostname;
	bool tls_available;        /* offer STLS */
	bool plaintext_auth;       /* USER/PASS/AUTH allowed without TLS */
	unsigned max_errors;       /* bad commands before -ERR and close */
};

struct pop3_server;

struct pop3_server *pop3_server_new(const struct pop3_server_settings *set,
				    const struct pop3_server_hooks *hooks, void *hook_ctx,
				    const char *session_id, bool tls_active);
void pop3_server_free(struct pop3_server **s);

void pop3_server_greet(struct pop3_server *s);
/* Returns how many bytes were used; fewer than len while a hook works or
 * after STLS/QUIT. */
size_t pop3_server_input(struct pop3_server *s, const char *data, size_t len);
struct buf *pop3_server_output(struct pop3_server *s);
bool pop3_server_want_starttls(const struct pop3_server *s);
bool pop3_server_want_close(const struct pop3_server *s);
bool pop3_server_waiting(const struct pop3_server *s);
enum pop3_state pop3_server_state(const struct pop3_server *s);
const char *pop3_server_user(const struct pop3_server *s);

/* msgs is copied. */
void pop3_server_auth_done(struct pop3_server *s, enum pop3_auth_result r,
			   const struct pop3_msg *msgs, size_t count);
/* A part of the message as stored (LF or CRLF line ends), in order from
 * its start; last: no part follows. The session stays waiting (no input
 * is taken) until the last part, so the transport can hand the parts over
 * as the client drains its output and never holds the whole message.
 * data NULL: it could not be read (-ERR before the first part; after it
 * the reply cannot be finished and the session closes). */
void pop3_server_retrieve_part(struct pop3_server *s, const char *data, size_t len, bool last);
/* The whole message as one part. */
void pop3_server_retrieve_done(struct pop3_server *s, const char *data, size_t len);
void pop3_server_update_done(struct pop3_server *s, bool ok);
void pop3_server_tls_started(struct pop3_server *s);
/* -ERR and close (timeout, shutdown). */
void pop3_server_goodbye(struct pop3_server *s, const char *text);

#endif
