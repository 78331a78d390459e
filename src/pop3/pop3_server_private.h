#ifndef PB_POP3_SERVER_PRIVATE_H
#define PB_POP3_SERVER_PRIVATE_H
/* Shared by the files of the POP3 session only. */

#include "auth/sasl.h"
#include "lib/line_reader.h"
#include "pop3/pop3_server.h"

#define USER_MAX 320

struct pop3_server {
	struct pop3_server_settings set;
	const struct pop3_server_hooks *hooks;
	void *hook_ctx;
	char id[24];
	bool tls;
	enum pop3_state state;
	bool want_starttls, want_close;
	struct line_reader lines;
	struct buf out;
	unsigned errors;

	char user[USER_MAX + 1];      /* from USER, or the SASL authcid */
	bool have_user;               /* USER accepted, PASS may follow */
	struct sasl_server sasl;      /* AUTH in progress */
	struct pop3_msg *msgs;
	size_t count;
	long top_lines;               /* pending TOP: lines; -1 = RETR */
	size_t pending_index;
	struct pop3_retr {            /* RETR/TOP output, streamed in parts */
		bool started;         /* +OK written */
		bool mid_line;        /* inside a stored line */
		bool cr;              /* a CR held back: a line end if LF follows */
		bool in_body;
		bool done;            /* TOP: enough body lines */
		size_t line_len;      /* octets of the stored line so far */
		long body_lines;
	} retr;
};

/* The only way to change state (logs the move; CLOSED is final). */
void pop3_set_state(struct pop3_server *s, enum pop3_state to);
/* One reply line, CRLF added; "-ERR" replies count as errors. */
void pop3_reply(struct pop3_server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* One complete command line, without its line end. */
void pop3_command(struct pop3_server *s, const char *line, size_t len);

#endif
