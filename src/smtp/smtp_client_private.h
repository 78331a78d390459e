#ifndef PB_SMTP_CLIENT_PRIVATE_H
#define PB_SMTP_CLIENT_PRIVATE_H
/* Shared by the files of the SMTP client session only:
 * smtp_client.c (life, input, states, ends), smtp_client_hello.c
 * (greeting, EHLO/HELO, STARTTLS, AUTH), smtp_client_tx.c (the envelope
 * and the replies that decide fates) and smtp_client_content.c (the
 * content, through DATA or BDAT). */

#include "smtp/smtp_client.h"
#include "smtp/smtp_client_body.h"
#include "smtp/smtp_reply.h"

enum sc_state {
	SC_GREETING,    /* connected, awaiting the 220 */
	SC_HELLO,       /* EHLO or HELO out */
	SC_STARTTLS,    /* STARTTLS out */
	SC_TLS,         /* the transport does the handshake */
	SC_AUTH,        /* AUTH exchange */
	SC_IDLE,        /* no transaction: hooks->idle */
	SC_TX,          /* envelope commands out */
	SC_CONTENT,     /* content streaming (DATA or BDAT) */
	SC_END,         /* content sent, awaiting its reply */
	SC_QUIT,        /* QUIT out */
	SC_CLOSED,      /* hooks->closed was called */
	SC_STATE_COUNT
};

/* What a pending reply answers, in the order the commands went out. */
enum sc_cmd {
	SC_CMD_GREETING, SC_CMD_EHLO, SC_CMD_HELO, SC_CMD_STARTTLS, SC_CMD_AUTH,
	SC_CMD_RSET, SC_CMD_MAIL, SC_CMD_RCPT, SC_CMD_DATA, SC_CMD_DOT,
	SC_CMD_BDAT, SC_CMD_BDAT_LAST, SC_CMD_QUIT,
};

/* Commands out at once: RSET, MAIL, every RCPT, DATA, and BDAT chunks. */
#define SC_PENDING_MAX (SMTP_CLIENT_RCPT_MAX + 16)
/* BDAT chunks written before their replies (with PIPELINING). */
#define SC_BDAT_INFLIGHT 4
/* Content asked for at once with DATA. */
#define SC_READ_MAX (32 * 1024)

enum sc_rcpt_state { SC_RCPT_WAIT, SC_RCPT_ACCEPTED, SC_RCPT_DONE };

struct sc_tx {
	const struct smtp_client_msg *msg;   /* NULL once msg_done was called */
	bool smtputf8;          /* SMTPUTF8 on MAIL (the message needs it) */
	bool rset;              /* RSET goes first */
	bool bdat;              /* content through BDAT (RFC 3030) */
	bool mail_sent;
	bool data_sent;
	size_t rcpt_sent;
	size_t rcpt_replied;
	size_t accepted;
	bool dummy_dot;         /* "." after a 354 nobody can use (RFC 2920 3.1) */
	bool content_failed;    /* a BDAT chunk was refused: stop sending */
	bool reading;           /* hooks->body_read out */
	bool eof;               /* all content read */
	size_t asked;           /* the max of the read out */
	size_t bdat_inflight;
	struct smtp_body_enc enc;
};

struct smtp_client {
	struct smtp_client_settings set;
	const struct smtp_client_hooks *hooks;
	void *hook_ctx;
	char id[24];
	char *helo_name;
	char *auth_user;
	char *auth_pass;

	enum sc_state state;
	bool tls;
	struct smtp_ehlo ehlo;
	unsigned auth_step;     /* AUTH LOGIN: 0 sent AUTH, 1 user, 2 password */
	bool need_rset;         /* the last transaction did not end cleanly */
	bool idle_called;
	bool pumping, pump_again;
	/* 220 to STARTTLS: input stops there, even when the handshake was
	 * done inside the hook. */
	bool drop_input;

	struct smtp_reply_reader reader;
	struct buf out;
	struct buf chunk;       /* BDAT: the chunk being filled */

	unsigned char pending[SC_PENDING_MAX];
	size_t pend_head, pend_count;

	struct sc_tx tx;
	unsigned char *rcpt_state;   /* SMTP_CLIENT_RCPT_MAX of enum sc_rcpt_state */

	char local_text[600];   /* a local status's text */
};

/* The only way to change state: checks the move and logs it. */
void sc_set_state(struct smtp_client *c, enum sc_state to);
/* Appends a command (CRLF added) and records the reply it awaits. */
void sc_command(struct smtp_client *c, enum sc_cmd kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Records the reply awaited for output already written. */
void sc_expect(struct smtp_client *c, enum sc_cmd kind);
/* Runs the hooks the state wants (idle, body_read) until none does. */
void sc_pump(struct smtp_client *c);

/* Statuses. fate_of: 2xx SENT, 5xx BOUNCE, else DEFER. */
void sc_status_reply(struct smtp_client_status *st, const struct smtp_reply *rp,
		     enum smtp_client_scope scope, const char *command);
void sc_status_local(struct smtp_client *c, struct smtp_client_status *st,
		     enum smtp_client_fate fate, enum smtp_client_scope scope,
		     unsigned code, const char *enhanced, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/* The session is over: recipients without a fate get st (deferred, whose
 * scope it is: the connection), then QUIT when quit, then hooks->closed. */
void sc_fail(struct smtp_client *c, const struct smtp_client_status *st, bool quit);
/* A reply that makes no sense here: protocol error, the session ends. */
void sc_protocol_error(struct smtp_client *c, const char *why, const struct smtp_reply *rp);

/* smtp_client_hello.c */
void sc_hello_reply(struct smtp_client *c, enum sc_cmd kind, const struct smtp_reply *rp);

/* smtp_client_tx.c */
void sc_tx_reply(struct smtp_client *c, enum sc_cmd kind, const struct smtp_reply *rp);
/* Writes what can go out now: all of the envelope with PIPELINING, else
 * the next command once the last was answered; then the content. */
void sc_tx_next(struct smtp_client *c, const struct smtp_reply *last);
/* Every recipient still without a fate gets st; then msg_done(st). */
void sc_tx_decide_all(struct smtp_client *c, const struct smtp_client_status *st);
/* The transaction is over when its fates are decided and nothing is
 * out: back to idle. */
void sc_tx_settle(struct smtp_client *c);

/* smtp_client_content.c */
void sc_content_start(struct smtp_client *c);
/* Content the state can take now: the size to ask for, or 0. */
size_t sc_content_want(const struct smtp_client *c);

#endif
