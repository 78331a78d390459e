#ifndef PB_MSG_IMAP_FORMAT_H
#define PB_MSG_IMAP_FORMAT_H
/* IMAP ENVELOPE, BODY and BODYSTRUCTURE (RFC 9051 7.5.2, RFC 3501 7.4.2)
 * written from a parsed message, for FETCH and for the index's cache.
 *
 * Strings are quoted when they can be: no NUL, CR, LF, '"' or '\\' and,
 * unless utf8 is set, no 8-bit octet (utf8: IMAP4rev2 or UTF8=ACCEPT, and
 * then only well-formed UTF-8 is quoted). Anything else is a literal
 * {n}\r\n..., with NUL octets (never allowed in IMAP text) written as 0x80.
 * The output follows Dovecot's where RFC 9051 leaves a choice (default
 * charset of text parts, language lists, empty stand-in bodies), since
 * clients are used to it. Absent values are NIL. Everything is appended to out; each function returns 0,
 * or -1 when out is full (the output is then incomplete). */

#include <stdbool.h>

#include "lib/buf.h"
#include "msg/mime.h"

/* A string or, for s.p == NULL, NIL. */
int msg_imap_write_string(struct buf *out, struct str s, bool utf8);

/* The ENVELOPE of a message node (mime->root, or the child of a
 * message/rfc822 part): date, subject, from, sender, reply-to, to, cc,
 * bcc, in-reply-to, message-id. Sender and Reply-To default to From. */
int msg_imap_write_envelope(struct buf *out, const struct msg_part *message, bool utf8);

/* BODYSTRUCTURE (extended: with MD5, disposition, language, location and
 * multipart parameters) or BODY (not extended) of a part; pass mime->root
 * for the message's. Sizes are CRLF sizes. */
int msg_imap_write_body(struct buf *out, const struct msg_part *part, bool extended,
			bool utf8);

#endif
