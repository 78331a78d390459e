#ifndef PB_SMTP_SERVER_PRIVATE_H
#define PB_SMTP_SERVER_PRIVATE_H
/* Shared by the files of the SMTP server session only. */

#include "auth/sasl.h"
#include "lib/line_reader.h"
#include "smtp/smtp_data.h"
#include "smtp/smtp_server.h"

/* RFC 5321 4.5.3.1.4: 512 octets with CRLF. MAIL and RCPT from an EHLO
 * client may be longer by their extension parameters (RFC 1870 6, RFC 6531
 * 3.4, ...): 512 more is allowed for them. */
#define SMTP_CMD_LINE_MAX SMTP_LINE_MAX
#define SMTP_CMD_LINE_EXT 512
/* RFC 4954 4: a SASL response line may be 12288 octets long. */
#define SMTP_AUTH_LINE_MAX 12288

struct smtp_server {
	struct smtp_server_settings set;
	const struct smtp_server_hooks *hooks;
	void *hook_ctx;
	char id[24];
	char peer[64];
	bool tls;
	char tls_info[160];

	enum smtp_state state;
	bool esmtp;
	char helo[256];
	bool want_starttls;
	bool want_close;

	struct line_reader lines;
	struct buf out;

	struct smtp_tx tx;
	bool tx_active;
	unsigned tx_serial;
	struct smtp_data_reader reader;
	unsigned long long bdat_left;
	bool bdat_last;
	const char *bdat_reject;  /* reply after the chunk, which is skipped */
	bool spooling;            /* hooks->spool_open succeeded, not closed yet */
	bool rcpt_pending;        /* hooks->rcpt_check not answered yet */
	struct smtp_mailbox rcpt_mb;  /* the recipient being looked up */

	unsigned errors;
	char local_user[64];      /* SMTP_ROLE_LOCAL: the peer's login name */

	/* AUTH (submission, smtp_server_auth.c) */
	struct sasl_server sasl;
	bool auth_pending;        /* hooks->auth_check not answered yet */
	char auth_user[SASL_USER_MAX + 1];   /* "" until authenticated */
	struct buf owned;         /* addresses the user may send as, NUL-separated */

	/* Submission content (smtp_server_submit.c): the header section is
	 * held until it is whole, to add what is missing in front of it. */
	struct buf held;
	bool holding;
	bool header_checked;      /* the From: verdict of this message is in */
	char header_reject[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + SASL_USER_MAX + 80];  /* "": From: is fine; else the reply */
};

/* The only way to change state: checks the move and logs it. */
void smtp_server_set_state(struct smtp_server *s, enum smtp_state to);
/* Appends one reply line (CRLF added); 4xx/5xx count as errors. */
void smtp_reply(struct smtp_server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Handles one complete command line (without its line end). */
void smtp_server_command(struct smtp_server *s, const char *line, size_t len);
/* Ends the transaction (RSET, after 250/5xx for the message, new EHLO). */
void smtp_tx_reset(struct smtp_server *s);
/* Starts reading content into the spool (DATA, first BDAT chunk). NULL,
 * or the reply line that refuses it. */
const char *smtp_content_start(struct smtp_server *s, bool dot_mode);
/* Message received in full: checks it and hands it to hooks->commit. */
void smtp_server_message_complete(struct smtp_server *s);
/* A BDAT chunk has been read in full: answer it. */
void smtp_bdat_chunk_end(struct smtp_server *s);
/* Builds tx.received (RFC 5321 4.4). */
int smtp_build_received(struct smtp_server *s);

/* AUTH (smtp_server_auth.c): the command, and one line of the exchange. */
void smtp_auth_command(struct smtp_server *s, struct smtp_cmd *cmd);
void smtp_auth_line(struct smtp_server *s, const char *line, size_t len);
/* A response line that cannot be taken (too long, bare LF): the exchange
 * ends with reply. */
void smtp_auth_line_refused(struct smtp_server *s, const char *reply);
/* Submission: MAIL needs TLS, AUTH and a sender the user owns. false
 * after replying. */
bool smtp_auth_mail_allowed(struct smtp_server *s, const struct smtp_cmd *cmd);
/* Whether the authenticated user owns local@domain (case aside; a
 * "+detail" of an owned address is owned). */
bool smtp_auth_owns(const struct smtp_server *s, const char *local, const char *domain);

/* The local role (smtp_server_local.c): MAIL's sender must be the Unix
 * user's own, unless it may use any. false after replying. */
bool smtp_local_mail_allowed(struct smtp_server *s, const struct smtp_cmd *cmd);
/* Whether the role completes content (Date:, Message-ID:) as submission. */
bool smtp_role_completes(const struct smtp_server *s);

/* Submission content (smtp_server_submit.c). The sink content streams
 * into: it holds the header section, then passes all on to the spool. */
int smtp_submit_sink(void *ctx, const char *p, size_t n);
/* The content starts: the reader's sink becomes smtp_submit_sink. */
void smtp_submit_start(struct smtp_server *s);
/* The message is complete: writes what is still held (with the added
 * fields). NULL, or the reply line that refuses the message. */
const char *smtp_submit_finish(struct smtp_server *s);
void smtp_submit_reset(struct smtp_server *s);

#endif
