#ifndef PB_CLIENT_SENDMAIL_H
#define PB_CLIENT_SENDMAIL_H
/* postbox sendmail: the sendmail(1) command line and input conventions
 * that programs on the server rely on (cron, mail(1), scripts), as
 * Postfix's sendmail implements them. Pure: argv and bytes in, an
 * envelope and a header section out. The transport to the daemon is
 * elsewhere. */

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lib/buf.h"

/* sysexits.h codes, which sendmail's callers test. */
enum sendmail_exit {
	SENDMAIL_EX_OK = 0,
	SENDMAIL_EX_USAGE = 64,       /* bad command line */
	SENDMAIL_EX_DATAERR = 65,     /* bad input (no recipient, header too big) */
	SENDMAIL_EX_NOUSER = 67,      /* a recipient was refused for good */
	SENDMAIL_EX_UNAVAILABLE = 69, /* the server refused the message for good */
	SENDMAIL_EX_SOFTWARE = 70,    /* a reply we do not understand */
	SENDMAIL_EX_OSERR = 71,
	SENDMAIL_EX_IOERR = 74,       /* reading the input failed */
	SENDMAIL_EX_TEMPFAIL = 75,    /* try again later (daemon down, 4xx) */
	SENDMAIL_EX_NOPERM = 77,      /* this Unix user may not send as that sender */
	SENDMAIL_EX_CONFIG = 78,
};

enum sendmail_mode {
	SENDMAIL_MODE_DELIVER,   /* -bm, the default */
	SENDMAIL_MODE_QUEUE,     /* -bp: list the queue, as mailq */
	SENDMAIL_MODE_FLUSH,     /* -q: run the queue now */
};

struct sendmail_opts {
	enum sendmail_mode mode;
	bool extract;            /* -t: recipients from To/Cc/Bcc */
	bool dot_ends;           /* no -i / -oi: a line "." ends the input */
	bool verbose;            /* -v */
	const char *sender;      /* -f / -r; NULL: the calling user's */
	const char *full_name;   /* -F; NULL: none */
	const char *notify;      /* -N: DSN NOTIFY (RFC 3461 4.1) */
	const char *ret;         /* -R: DSN RET, "full" or "hdrs" */
	const char *envid;       /* -V: DSN ENVID */
	const char *config;      /* -C / -c FILE */
	char **rcpts;            /* operands (pointing into argv) */
	size_t rcpt_count;
};

/* Parses sendmail's options, attached ("-fbob") or separate ("-f bob"),
 * ignoring the ones that change nothing here (-oem, -odb, -B 8BITMIME,
 * -U, -G, -L, -h, ...). rcpts is storage for argc pointers. 0, or -1 with
 * *error_r naming the bad option (exit SENDMAIL_EX_USAGE). */
int sendmail_parse_args(int argc, char **argv, struct sendmail_opts *o, char **rcpts,
			const char **error_r);

/* The message's header section as read from the input. */
struct sendmail_header {
	struct buf text;         /* the section, Bcc removed, LF line ends, with
				  * its blank line unless the input had no body */
	struct buf rcpts;        /* with -t: NUL-separated addr-specs */
	size_t rcpt_count;
	bool has_from, has_date, has_message_id, has_sender;
	bool ended;              /* the input ended (EOF or ".") within it */
};

/* Reads the header section from in (LF or CRLF lines; at most max octets,
 * else -1 "header section too large"): a first line that is not a field
 * starts the body at once. With extract, collects the addresses of To:,
 * Cc: and Bcc: (of Resent-To/-Cc/-Bcc instead when the message has any
 * Resent- field, RFC 5322 3.6.6); Bcc: and Resent-Bcc: are removed either
 * way. Unqualified addresses get "@" domain. The first body line, if
 * read, is left in *pending (with its line end). 0, or -1 with *error_r
 * (SENDMAIL_EX_DATAERR; SENDMAIL_EX_IOERR when errno is set). */
int sendmail_read_header(FILE *in, const struct sendmail_opts *o, size_t max,
			 const char *domain, struct sendmail_header *h, struct buf *pending,
			 const char **error_r);
void sendmail_header_free(struct sendmail_header *h);

/* Reads one line of the body (with its LF; CRLF becomes LF) into line,
 * which is reset first. 1 with a line, 0 at the end of the input (EOF, or
 * a line "." when o->dot_ends), -1 on a read error. Lines longer than the
 * buf's cap come back in pieces. */
int sendmail_read_line(FILE *in, const struct sendmail_opts *o, struct buf *line);

#endif
