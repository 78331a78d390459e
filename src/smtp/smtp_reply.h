#ifndef PB_SMTP_REPLY_H
#define PB_SMTP_REPLY_H
/* SMTP replies as a client reads them (RFC 5321 4.2), sans I/O: bytes go
 * in, whole replies come out. Also the EHLO keywords a reply announces
 * (RFC 5321 4.1.1.1) and the enhanced status code it may carry (RFC 3463,
 * RFC 2034).
 *
 * Everything is bounded, whatever the peer sends: a line may be up to
 * SMTP_REPLY_LINE_MAX octets (RFC 5321 4.5.3.1.5 says 512; real servers
 * send somewhat more), a reply up to SMTP_REPLY_LINES_MAX lines and
 * SMTP_REPLY_TEXT_MAX octets. Anything beyond, a code that is not three
 * digits of a valid reply, lines of one reply with different codes, or a
 * control octet in the text is a protocol error: the stream cannot be
 * trusted any more and the reader stays in error. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/line_reader.h"

#define SMTP_REPLY_LINE_MAX 2048     /* octets per line, line end included */
#define SMTP_REPLY_LINES_MAX 100     /* lines per reply */
#define SMTP_REPLY_TEXT_MAX 16384    /* octets of smtp_reply.text */

struct smtp_reply {
	unsigned code;          /* 200..559 */
	/* The RFC 3463 code of the first line ("5.1.1") when its text starts
	 * with one of the reply's class, else "". */
	char enhanced[16];
	/* The reply verbatim, one line: each line as received (code,
	 * separator and text, without its line end), joined by one SP, as
	 * Postfix logs it ("550-5.1.1 No such user 550 5.1.1 See ..."). */
	struct buf text;
	size_t lines;
	/* Where line i starts in text, and its length (for EHLO keywords). */
	size_t line_off[SMTP_REPLY_LINES_MAX];
	size_t line_len[SMTP_REPLY_LINES_MAX];
};

enum smtp_reply_result {
	SMTP_REPLY_NEED_MORE,    /* all input taken, no whole reply yet */
	SMTP_REPLY_READY,        /* reader->reply holds a whole reply */
	SMTP_REPLY_ERROR,        /* protocol error (*error_r says which) */
};

struct smtp_reply_reader {
	struct line_reader lines;
	struct smtp_reply reply;
	bool ready;              /* reply was handed out: start over */
	const char *error;       /* set for good once an error was seen */
};

void smtp_reply_reader_init(struct smtp_reply_reader *r);
void smtp_reply_reader_free(struct smtp_reply_reader *r);
/* Forgets any partial reply (after the TLS handshake). */
void smtp_reply_reader_reset(struct smtp_reply_reader *r);

/* Takes octets from p[0..n) up to the end of the first whole reply;
 * *used_r says how many. A line ends at LF, a CR before it dropped (a
 * lenient reader: some servers end replies with bare LF). READY: the
 * reply is in r->reply until the next call. ERROR: *error_r is a short
 * static reason; every later call returns ERROR again, taking nothing. */
enum smtp_reply_result smtp_reply_feed(struct smtp_reply_reader *r, const char *p,
				       size_t n, size_t *used_r, const char **error_r);

/* Line i of a reply, without its code and separator ("PIPELINING"). */
struct str smtp_reply_line(const struct smtp_reply *rp, size_t i);

/* What the first line of an EHLO reply's successors announce. */
struct smtp_ehlo {
	bool pipelining;         /* RFC 2920 */
	bool size;               /* RFC 1870 */
	unsigned long long size_max;  /* 0: SIZE without a fixed limit */
	bool eightbitmime;       /* RFC 6152 */
	bool smtputf8;           /* RFC 6531 */
	bool chunking;           /* RFC 3030 */
	bool dsn;                /* RFC 3461 */
	bool starttls;           /* RFC 3207 */
	bool enhanced;           /* RFC 2034 ENHANCEDSTATUSCODES */
	bool auth;               /* RFC 4954, any mechanism */
	bool auth_plain;
	bool auth_login;
};

/* Reads the keywords of a 2xx EHLO reply (lines after the first),
 * case-insensitively; unknown keywords are ignored, so is a malformed
 * SIZE value (SIZE is then taken as offered without a limit). "AUTH=..."
 * (an old form) counts as AUTH. */
void smtp_ehlo_parse(const struct smtp_reply *rp, struct smtp_ehlo *e);

#endif
