#ifndef PB_SMTP_DATA_H
#define PB_SMTP_DATA_H
/* The DATA / BDAT body reader: a byte-at-a-time state machine (qmail style,
 * with a memchr() fast path over the inside of lines) that is fed whatever
 * arrived and writes the message, with dot-stuffing removed and CRLF turned
 * into LF (Maildir stores LF), into an output buffer. With a sink, that
 * buffer is only a bounded staging area: whenever it fills, and at the end
 * of the message, its contents go to the sink (a spool file), so memory
 * does not grow with the message. How the input is split into calls never
 * changes the result, nor the bytes the sink receives.
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
	SMTP_DATA_LINE_TOO_LONG,  /* over 998 octets + CRLF: 554 5.6.0 */
	SMTP_DATA_BARE_CR_LF,     /* 554 5.6.0 */
	SMTP_DATA_NUL,            /* 554 5.6.0 */
	SMTP_DATA_HEADER_TOO_BIG, /* 552 5.3.4 */
	SMTP_DATA_NO_MEMORY,      /* 451 4.3.0 */
	SMTP_DATA_NO_SPACE,       /* the sink: disk full, 452 4.3.1 */
	SMTP_DATA_IO,             /* the sink failed otherwise: 451 4.3.0 */
};

/* Takes n octets of the message; 0, or -1 with errno set (ENOSPC, EDQUOT
 * and EFBIG mean no room). */
typedef int smtp_data_sink_fn(void *ctx, const char *p, size_t n);

struct smtp_data_reader {
	struct buf *out;          /* receives the message, LF line ends */
	smtp_data_sink_fn *sink;  /* NULL: out keeps the whole message */
	void *sink_ctx;
	size_t max_size;          /* limit on the stored message (CRLF-counted) */
	size_t max_header;        /* limit on the header section in octets */
	bool dot_mode;            /* true for DATA, false for BDAT chunks */

	/* results. After an error, out is cut back to where it was at
	 * smtp_data_init() and stays so, nothing more goes to the sink, and
	 * size, received_count and eight_bit stop counting: the message is
	 * refused anyway (what the sink already took is to be dropped). */
	enum smtp_data_error error;  /* the first error seen, sticky */
	size_t size;              /* message size counted with CRLF line ends,
				   * after dot-unstuffing (RFC 1870 SIZE) */
	unsigned received_count;  /* "Received:" header fields seen */
	/* Octets of the header section as stored (LF line ends): its field
	 * lines, and the blank line that ends it when there is one; a line
	 * that ends the section by not being a field is the body's. Final
	 * once in_header is false (or the message ended). */
	size_t header_size;
	bool eight_bit;           /* octets >= 0x80 seen */

	/* state (private) */
	int state;
	size_t line_len;          /* content octets of the current line */
	size_t header_len;        /* octets of the header section so far */
	bool in_header;           /* still in the header section (readable) */
	int header_state;         /* where in a header line (name, value) */
	char head[10];            /* first bytes of the current field name */
	size_t head_len;
	size_t out_start;         /* out->len at smtp_data_init() */
};

/* Starts a new message. out is appended to (not reset); its max also
 * bounds the message (overflow is SMTP_DATA_TOO_BIG).
 *
 * The header section is the lines up to the first empty line or the first
 * line that is neither a header field ("name:", WSP allowed before the
 * colon) nor a continuation; it is counted against max_header, CRLF
 * counted as two octets. A text line over 998 octets plus CRLF is an
 * error in both modes (RFC 5321 4.5.3.1.6, RFC 5322 2.1.1). */
void smtp_data_init(struct smtp_data_reader *r, struct buf *out, size_t max_size,
		    size_t max_header, bool dot_mode);
/* After smtp_data_init(): stream the message to sink instead. out (empty)
 * is then the staging buffer, handed to the sink whenever the next octets
 * would not fit in out->max, and emptied; its max no longer limits the
 * message, max_size does. By the time smtp_data_feed() returns 1 or
 * smtp_data_finish() returns, the sink has had every octet. */
void smtp_data_set_sink(struct smtp_data_reader *r, smtp_data_sink_fn *sink, void *ctx);
/* The sink could not even be opened (errno e): the message is read to its
 * end and then refused, as when a later write fails. */
void smtp_data_sink_failed(struct smtp_data_reader *r, int e);

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
 * line without CRLF (stored with an added LF, counted as CRLF in size). */
void smtp_data_finish(struct smtp_data_reader *r);

/* The whole reply line for an error, without CRLF, e.g. "552 5.3.4 Message
 * size exceeds fixed maximum message size". Static text. */
const char *smtp_data_error_reply(enum smtp_data_error e);

#endif
