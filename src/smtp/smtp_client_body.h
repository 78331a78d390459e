#ifndef PB_SMTP_CLIENT_BODY_H
#define PB_SMTP_CLIENT_BODY_H
/* The outgoing message content, made exact for the wire, one chunk at a
 * time (the whole message is never needed):
 *
 * 1. Line ends: every line end of the stored message goes out as CRLF
 *    exactly once. LF, CRLF and a lone CR each count as one line end
 *    (RFC 5321 2.3.8: CR and LF MUST only be sent as CRLF), so "\r\r\n"
 *    is two line ends and no CR or LF ever goes out alone.
 * 2. Dot-stuffing (RFC 5321 4.5.2), for DATA only, on the lines as they
 *    go out after step 1: a line that starts with "." gets another one.
 *    So no input can end the content early with CRLF "." CRLF (the SMTP
 *    smuggling attacks of 2023 relied on a bare LF or CR "." that one
 *    side took for a line end and the other did not).
 * 3. The end: content that does not end with a line end gets one; DATA
 *    content is then closed by "." CRLF.
 *
 * Each input octet gives at most two output octets, and a call at most
 * two more (a CR held from the previous call), so a caller that has room
 * for 2 * n + 2 octets can always take n input octets in full; the end
 * adds at most 5 (SMTP_BODY_END_MAX). */

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

#define SMTP_BODY_END_MAX 5

struct smtp_body_enc {
	bool dot_stuff;      /* DATA: stuff dots and end with "." CRLF */
	bool line_start;     /* the next octet out starts a line */
	bool pending_cr;     /* a CR was read; the next octet decides */
	unsigned long long out_octets;  /* octets written so far */
};

void smtp_body_enc_init(struct smtp_body_enc *e, bool dot_stuff);
/* Encodes p[0..n) onto out. 0, or -1 when out had no room for it (out
 * may then hold part of it: the caller sized it wrongly, a bug). */
int smtp_body_encode(struct smtp_body_enc *e, const char *p, size_t n, struct buf *out);
/* Ends the content: a last CRLF when needed, then "." CRLF for DATA.
 * 0 or -1 (no room). */
int smtp_body_finish(struct smtp_body_enc *e, struct buf *out);

#endif
