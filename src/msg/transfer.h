#ifndef PB_MSG_TRANSFER_H
#define PB_MSG_TRANSFER_H
/* Content-Transfer-Encoding (RFC 2045 6): decoding for IMAP BINARY
 * (RFC 3516), the client's reader and RFC 2047 B/Q words; encoding for
 * the composer.
 *
 * Decoders are lenient, as RFC 2045 asks of readers: base64 ignores octets
 * outside its alphabet and stops at the first '='; quoted-printable keeps
 * a malformed '=' sequence as it is. They never fail on content, only when
 * out is full. (src/lib/base64 is the strict decoder SASL needs.) */

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

enum msg_cte {
	MSG_CTE_7BIT,        /* also for an absent or empty header */
	MSG_CTE_8BIT,
	MSG_CTE_BINARY,
	MSG_CTE_BASE64,
	MSG_CTE_QP,
	MSG_CTE_UNKNOWN,     /* e.g. x-uuencode: IMAP BINARY says UNKNOWN-CTE */
};

/* Classifies a Content-Transfer-Encoding value (white space and case
 * ignored). */
enum msg_cte msg_cte_parse(struct str value);

/* Each appends to out and returns 0, or -1 when out is full. */
int msg_base64_decode(struct str in, struct buf *out);
int msg_qp_decode(struct str in, struct buf *out);
/* Q of RFC 2047 4.2: like quoted-printable, and '_' is a space. */
int msg_q_decode(struct str in, struct buf *out);

/* Base64 in lines of 76 characters, each ended by CRLF (crlf) or LF. */
int msg_base64_encode_lines(struct str in, bool crlf, struct buf *out);
/* Quoted-printable of text: the input's line ends (LF or CRLF) become hard
 * line breaks written as CRLF (crlf) or LF; lines are soft-broken before 76
 * characters; trailing white space, '=', control and 8-bit octets are
 * encoded, and "From " / a lone "." at the start of a line too, so the
 * result survives mbox and SMTP unchanged. */
int msg_qp_encode(struct str in, bool crlf, struct buf *out);

/* Appends in with every bare LF written as CRLF: what IMAP sends for a
 * Maildir file. 0 or -1 (out full). */
int msg_crlf_append(struct str in, struct buf *out);

/* Whether a stored message is sent as it is: its first line ends in CRLF.
 * A delivery writes LF line ends, which IMAP sends as CRLF; an APPEND
 * keeps the client's octets, and the bare LFs of a binary part it sent in
 * a literal8 (RFC 3516 4.4) are data, not line ends. */
bool msg_crlf_native(const char *msg, size_t len);

/* Decodes in by enc. 0, or -1 with *error_r set (unknown encoding, or out
 * full). 7bit, 8bit and binary are copied. */
int msg_transfer_decode(enum msg_cte enc, struct str in, struct buf *out,
			const char **error_r);

#endif
