#ifndef PB_MSG_CHARSET_H
#define PB_MSG_CHARSET_H
/* Conversion of a MIME charset's text to UTF-8, for encoded words (RFC 2047),
 * RFC 2231 parameter values and text bodies.
 *
 * UTF-8, US-ASCII, ISO-8859-1 and Windows-1252 are converted here without
 * iconv (they are most mail, and these are fast); any other charset name
 * goes to glibc iconv. Invalid sequences become U+FFFD, never an error:
 * mail is full of mislabelled text and the reader wants to see it. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/utf8.h"

/* Appends in, read as charset, to out as UTF-8. An unknown charset is read
 * as UTF-8 (with replacement) and sets *unknown_r (may be NULL). 0, or -1
 * when out is full. */
int msg_charset_to_utf8(struct str charset, struct str in, struct buf *out,
			bool *unknown_r);



#endif
