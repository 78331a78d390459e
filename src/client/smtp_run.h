#ifndef PB_CLIENT_SMTP_RUN_H
#define PB_CLIENT_SMTP_RUN_H
/* One SMTP client session (smtp/smtp_client.h) run to its end over a
 * blocking transport, for command-line programs (postbox sendmail, and
 * the mail client's send): the engine decides, this loop only carries
 * bytes. */

#include <stdbool.h>
#include <stddef.h>

#include "smtp/smtp_client.h"

/* The connection: a socket, or TLS over one. */
struct smtp_run_io {
	/* Up to max octets into p: how many, 0 at EOF, -1 on error. */
	long (*read)(void *ctx, char *p, size_t max);
	/* All of p[0..n): 0, or -1 on error. */
	int (*write)(void *ctx, const char *p, size_t n);
	/* The TLS handshake the session asked for: 0, or -1 with *error_r.
	 * NULL: TLS is not available (the session then fails per its
	 * policy). */
	int (*starttls)(void *ctx, bool verify, const char **error_r);
	void *ctx;
};

/* The message's content, as stored or as read from the user: up to max
 * octets into p; *n_r how many, *eof_r at the end. 0, or -1 on error. */
struct smtp_run_source {
	int (*read)(void *ctx, char *p, size_t max, size_t *n_r, bool *eof_r);
	void *ctx;
};

/* What became of each recipient, and of the session. */
struct smtp_run_rcpt {
	bool done;
	enum smtp_client_fate fate;
	unsigned code;
	char text[600];         /* the reply, one line */
};

struct smtp_run_result {
	struct smtp_run_rcpt *rcpts;   /* the caller's, msg->rcpt_count of them */
	bool closed_ok;                /* the session ended with QUIT */
	char error[600];               /* otherwise why */
};

/* Runs a session that sends msg (one message) and quits. Each recipient's
 * fate lands in res->rcpts[i]; a recipient without one (the session
 * ended first) has done false. 0 when the session ran to its end (look at
 * the fates), -1 when it could not start (res->error). */
int smtp_run(const struct smtp_client_settings *set, const struct smtp_run_io *io,
	     const struct smtp_client_msg *msg, const struct smtp_run_source *src,
	     struct smtp_run_result *res);

#endif
