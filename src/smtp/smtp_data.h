#ifndef PB_SMTP_DATA_H
#define PB_SMTP_DATA_H
/* The DATA / BDAT body reader: a byte-at-a-time state machine (qmail style)
 * that is fed whatever arrived and writes the message, with dot-stuffing
 * removed and CRLF turned into LF (Maildir stores LF), into an output buffer.
 *
 * Only CR LF "." CR LF ends DATA. A bare CR or bare LF is never a line end,
 * so "\n.\n", "\r.\r", "\n.\r\n" cannot end the message (SMTP smuggling,
 * CVE-2023-51766); they make the message be rejected at the end instead.
 * After an error the reader keeps consuming until the real end, so the
 * session stays in sync with the client. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

#define SMTP_TEXT_LINE_MAX 1000       /* RFC 5321 4.5.3.1.6, including CRLF */

enum smtp_data_error {
	SMTP_DATA_OK = 0,
	SMTP_DATA_TOO_BIG,        /* over max message size: 552 5.3.4 */
	SMTP_DATA_LINE_TOO_LONG,  /* 554 5.6.0? see smtp_data_error_reply */
	SMTP_DATA_BARE_CR_LF,     /* 554 5.6.0 */
	SMTP_DATA_NUL,            /* 554 5.6.0 */
	SMTP_DATA_HEADER_TOO_BIG, /* 552 5.3.4 */
	SMTP_DATA_NO_MEMORY,      /* 451 4.3.0 */
};

struct smtp_data_reader {
	struct buf *out;          /* receives the message, LF line ends */
	size_t max_size;          /* limit on the stored message (CRLF-counted) */
	size_t max_header;        /* limit on the header section in octets */
	bool dot_mode;            /* true for DATA, false for BDAT chunks */

	/* results */
	enum smtp_data_error error;  /* the first error seen, sticky */
	size_t size;              /* message size counted with CRLF line ends */
	unsigned received_count;  /* "Received:" header fields seen */
	bool eight_bit;           /* octets >= 0x80 seen */

	/* state (private) */
	int state;
	size_t line_len;
	size_t header_len;
	bool in_header;
	bool header_line_start;
	char head[10];            /* first bytes of the current header line */
	size_t head_len;
};

/* Starts a new message. out is appended to (not reset). */
void smtp_data_init(struct smtp_data_reader *r, struct buf *out, size_t max_size,
		    size_t max_header, bool dot_mode);

/* DATA: consumes bytes up to and including the terminating CRLF.CRLF.
 * Returns 1 when the end was found (*consumed_r = bytes used, the rest
 * belongs to the next command), 0 when all n bytes were consumed and more
 * are needed. Errors do not stop consumption: check r->error at the end.
 *
 * BDAT (dot_mode false): consumes all n bytes and returns 0; call
 * smtp_data_finish() after the LAST chunk. */
int smtp_data_feed(struct smtp_data_reader *r, const char *p, size_t n,
		   size_t *consumed_r);

/* BDAT LAST: flags a pending CR with no LF as a bare CR and ends a final
 * line without CRLF (stored with an added LF). */
void smtp_data_finish(struct smtp_data_reader *r);

/* The reply for an error, e.g. "552 5.3.4 Message size exceeds fixed limit". */
const char *smtp_data_error_reply(enum smtp_data_error e);

#endif
