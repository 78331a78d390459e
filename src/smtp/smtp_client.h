#ifndef PB_SMTP_CLIENT_H
#define PB_SMTP_CLIENT_H
/* The SMTP client session (RFC 5321 with the extensions below), sans I/O:
 * one session is one connection to one server. The engine never touches
 * a socket, TLS, a timer, DNS or the queue; the caller (the transport) does,
 * and the two talk like this:
 *
 *   caller -> session                      session -> caller
 *   smtp_client_input(): server bytes      smtp_client_output(): bytes to send
 *   smtp_client_tls_started()              hooks->starttls: do the handshake
 *   smtp_client_send() / _quit()           hooks->idle: ready for a message
 *   smtp_client_body_done()                hooks->body_read: content wanted
 *   smtp_client_resume(): output drained   hooks->rcpt_done, ->msg_done: fates
 *   smtp_client_lost(): connection gone    hooks->closed: the session is over
 *
 * Life of a session: smtp_client_new() once the TCP connection is up (or
 * the TLS handshake of an implicit-TLS port is done: pass tls_active).
 * The session waits for the greeting, says EHLO (HELO when EHLO gets a
 * 5xx), STARTTLS per the policy (then EHLO again, RFC 3207 4.2), AUTH
 * when credentials are set, then calls hooks->idle. The caller answers,
 * then or later, with smtp_client_send(msg) or smtp_client_quit(). After a
 * message, hooks->idle again: one connection carries as many messages to
 * the destination as the caller gives it. hooks->closed comes exactly
 * once, last; then the caller writes what is left in the output and
 * closes the connection, and frees the session outside any hook.
 *
 * Output: after every call into the session, the buffer that
 * smtp_client_output() returns may hold commands (and content); the
 * caller sends them and removes what it sent (buf_consume), then calls
 * smtp_client_resume(). It is bounded: while the output holds
 * SMTP_CLIENT_OUT_LOW octets or more, the session neither asks for
 * content nor calls hooks->idle (so a server that answers ahead of the
 * commands cannot make it grow); resume() carries on. At most one
 * pipelined envelope (SMTP_CLIENT_RCPT_MAX recipients) or one content
 * read or BDAT chunk comes on top.
 *
 * Timers are the caller's: smtp_client_timeout() says how long to wait for
 * the server in the current state, and on expiry the caller calls
 * smtp_client_lost().
 *
 * Hooks: ->idle, ->body_read and ->starttls may be answered inside the
 * hook or later (smtp_client_send/quit, smtp_client_body_done,
 * smtp_client_tls_started or smtp_client_lost). The others are events:
 * inside them, call nothing of the session. Never free the session inside
 * a hook. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "smtp/smtp_reply.h"

enum smtp_client_tls {
	SMTP_CLIENT_TLS_OFF,            /* never STARTTLS */
	SMTP_CLIENT_TLS_OPPORTUNISTIC,  /* STARTTLS when offered, no verification */
	SMTP_CLIENT_TLS_REQUIRED,       /* STARTTLS or fail (4.7.4), verified */
};

/* What happened to a recipient (and the reason a session ended). */
enum smtp_client_fate {
	SMTP_FATE_SENT,     /* 2xx: the server took responsibility */
	SMTP_FATE_DEFER,    /* 4xx or no answer: try again later */
	SMTP_FATE_BOUNCE,   /* 5xx: permanent failure */
};

/* Whose fate it decided: the recipient's own RCPT reply, the reply to the
 * message's MAIL, DATA, BDAT or end of data (or a local check of the
 * message), or the session (greeting, 421, a lost connection, a garbled
 * reply, TLS or AUTH failure). A deferral of SCOPE_MESSAGE or
 * SCOPE_CONNECTION is one to try at the next MX host (issue 8: "on a
 * connection failure or a 4xx to the whole transaction, the next MX"). */
enum smtp_client_scope {
	SMTP_SCOPE_RCPT,
	SMTP_SCOPE_MESSAGE,
	SMTP_SCOPE_CONNECTION,
};

struct smtp_client_status {
	enum smtp_client_fate fate;
	enum smtp_client_scope scope;
	bool local;             /* made up here; the peer did not say it */
	unsigned code;          /* 250, 450, 550, ... (local ones too) */
	char enhanced[16];      /* "5.1.1": the peer's, else "C.0.0" as Postfix */
	/* One line for logs and bounces: the peer's reply verbatim
	 * (smtp_reply.h), or a local reason. Valid during the call only. */
	const char *text;
	/* What it answered: "greeting", "EHLO", "MAIL FROM", "RCPT TO",
	 * "DATA", "end of data", "BDAT", ... (Postfix's "in reply to"), or
	 * "" for a local decision. */
	const char *command;
};

/* RFC 3461 NOTIFY (a mask; 0: no NOTIFY parameter) and RET. */
#define SMTP_NOTIFY_NEVER   1u
#define SMTP_NOTIFY_SUCCESS 2u
#define SMTP_NOTIFY_FAILURE 4u
#define SMTP_NOTIFY_DELAY   8u
enum smtp_dsn_ret { SMTP_RET_NONE, SMTP_RET_FULL, SMTP_RET_HDRS };

struct smtp_client_rcpt {
	/* The mailbox as RFC 5321 writes it, without angle brackets
	 * (smtp_mailbox_format()). No control octets. */
	const char *address;
	/* SMTP_NOTIFY_* mask, 0 for none. Like orcpt, RET and ENVID it is
	 * sent only to a server that offers DSN; to one that does not, a
	 * NOTIFY=SUCCESS recipient delivered calls for a "relayed" DSN
	 * (RFC 3461), which is the caller's to send: smtp_client_ehlo()
	 * tells it whether the server offered DSN. */
	unsigned notify;
	const char *orcpt;      /* "rfc822;" xtext, or NULL */
};

/* At most this many recipients per message: split bigger envelopes. */
#define SMTP_CLIENT_RCPT_MAX 1000

/* One message to send. The caller owns it and everything it points to,
 * and keeps it unchanged until hooks->msg_done for it. */
struct smtp_client_msg {
	const char *sender;     /* "" for the null reverse-path */
	const struct smtp_client_rcpt *rcpts;
	size_t rcpt_count;      /* 1..SMTP_CLIENT_RCPT_MAX */
	/* The content's size in octets, for SIZE= (RFC 1870 says an
	 * estimate; the stored size with LF line ends plus one octet per
	 * line is exact enough). */
	unsigned long long size;
	bool eight_bit;         /* content has octets over 127: BODY=8BITMIME */
	bool smtputf8;          /* needs SMTPUTF8 (UTF-8 envelope or headers) */
	enum smtp_dsn_ret ret;  /* RFC 3461 RET, sent only to a DSN peer */
	const char *envid;      /* RFC 3461 ENVID (xtext), or NULL */
	void *data;             /* the caller's */
};

struct smtp_client_hooks {
	/* The session is ready for a message: answer with smtp_client_send()
	 * or smtp_client_quit(), inside the hook or later. */
	void (*idle)(void *ctx);
	/* The transport must do the TLS handshake now, verifying the peer's
	 * certificate when verify is set (tls = required), then call
	 * smtp_client_tls_started(), or smtp_client_lost() when it failed.
	 * Send what is in the output (STARTTLS is answered already, so there
	 * is nothing) before the handshake. */
	void (*starttls)(void *ctx, bool verify);
	/* Content of the message being sent is wanted: the next at most max
	 * octets from where the caller's content starts (the caller decides
	 * where: it may skip its own Return-Path: line), as stored (LF line
	 * ends; any octets). Answer with smtp_client_body_done(), inside the
	 * hook or later; never two reads out at once. */
	void (*body_read)(void *ctx, const struct smtp_client_msg *msg, size_t max);
	/* Recipient i of msg has its fate: called once per recipient, when
	 * known (a refused RCPT at once, the accepted ones after the end of
	 * data). */
	void (*rcpt_done)(void *ctx, const struct smtp_client_msg *msg, size_t i,
			  const struct smtp_client_status *st);
	/* Every recipient of msg has had its rcpt_done; st is the reply that
	 * ended the transaction (or why it ended). The session no longer
	 * uses msg. */
	void (*msg_done)(void *ctx, const struct smtp_client_msg *msg,
			 const struct smtp_client_status *st);
	/* The session is over: st says why (SENT fate: a normal QUIT). Send
	 * what is left in the output, then close the connection. */
	void (*closed)(void *ctx, const struct smtp_client_status *st);
};

struct smtp_client_settings {
	const char *helo_name;          /* our name for EHLO/HELO */
	enum smtp_client_tls tls;
	/* AUTH (RFC 4954) PLAIN, else LOGIN, when the server offers it and
	 * these are set (a smarthost). Credentials go only over TLS unless
	 * auth_without_tls; then, without TLS, the session goes on without
	 * AUTH (as when the server does not offer it). At most 255 octets
	 * each. */
	const char *auth_user;
	const char *auth_pass;
	bool auth_without_tls;
	/* BDAT chunk size (RFC 3030); 0: SMTP_CLIENT_CHUNK. Clamped to
	 * 1 KiB .. 1 MiB. */
	size_t chunk_size;
	bool no_chunking;               /* use DATA even when CHUNKING is offered */
	bool no_pipelining;             /* one command at a time even when offered */
};

#define SMTP_CLIENT_CHUNK (64 * 1024)
#define SMTP_CLIENT_OUT_LOW (64 * 1024)

struct smtp_client;

/* NULL when memory ran out or the settings are invalid (no helo_name,
 * credentials too long). The session copies the settings' strings. */
struct smtp_client *smtp_client_new(const struct smtp_client_settings *set,
				    const struct smtp_client_hooks *hooks, void *hook_ctx,
				    const char *session_id, bool tls_active);
void smtp_client_free(struct smtp_client **c);

/* Feeds server bytes. Returns how many were taken: all of them (a
 * session that is over ignores them), except that input stops right
 * after the 220 to STARTTLS and returns 0 until smtp_client_tls_started():
 * the octets after that 220 came in plaintext before the handshake and
 * the transport must drop them, not feed them later (RFC 3207 4.2;
 * CVE-2011-0411 was a server taking such octets as said under TLS). */
size_t smtp_client_input(struct smtp_client *c, const char *data, size_t len);
/* Bytes for the server. */
struct buf *smtp_client_output(struct smtp_client *c);
/* Some output was sent: a session streaming content may want more. */
void smtp_client_resume(struct smtp_client *c);

/* The handshake that hooks->starttls asked for is done; EHLO again. */
void smtp_client_tls_started(struct smtp_client *c);
/* The connection failed (reset, timeout, TLS handshake failure, EOF):
 * recipients still without a fate are deferred (SCOPE_CONNECTION, 451
 * 4.4.2, text "lost connection in state S: <reason>"), then hooks->closed.
 * A failed handshake of tls = opportunistic may be retried in plaintext
 * on a new connection (tls = off), as Postfix does; that is the caller's
 * choice. An EOF after QUIT is a normal end. After hooks->closed, every
 * call but smtp_client_free() is ignored. */
void smtp_client_lost(struct smtp_client *c, const char *reason);

/* Answers hooks->idle: sends msg (the session checks SMTPUTF8 and SIZE
 * first, and fails it without a word to the server when they do not
 * fit). 0, or -1 when the session is not idle or msg is malformed
 * (no recipient, too many); on -1 no hook is called for msg. */
int smtp_client_send(struct smtp_client *c, const struct smtp_client_msg *msg);
/* Answers hooks->idle: QUIT, then hooks->closed. */
void smtp_client_quit(struct smtp_client *c);
/* Answers hooks->body_read: p[0..n) (n <= the max asked; eof: this is
 * the last of it, n may be 0), copied before the call returns. error:
 * the content could not be read (n is then ignored): the message is
 * deferred (4.3.0), and the session ends, since half-sent content can
 * only be ended by closing. */
void smtp_client_body_done(struct smtp_client *c, const char *p, size_t n, bool eof,
			   bool error);

/* What the server announced (valid once idle). */
const struct smtp_ehlo *smtp_client_ehlo(const struct smtp_client *c);
bool smtp_client_tls_active(const struct smtp_client *c);
/* Over: hooks->closed was called. */
bool smtp_client_closed(const struct smtp_client *c);
/* Seconds to wait for the server in the current state (RFC 5321
 * 4.5.3.2): 300 for the greeting and most commands, 120 for the DATA
 * reply, 180 per block of content sent, 600 for the end of data. */
unsigned smtp_client_timeout(const struct smtp_client *c);

#endif
