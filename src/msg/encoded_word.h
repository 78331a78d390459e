#ifndef PB_MSG_ENCODED_WORD_H
#define PB_MSG_ENCODED_WORD_H
/* RFC 2047 encoded words: "=?charset?B|Q?text?=".
 *
 * Decoding turns a header value (Subject, a display name, a broken
 * filename) into UTF-8: words in any charset msg_charset_to_utf8 knows,
 * white space between two adjacent encoded words dropped (RFC 2047 6.2),
 * consecutive words in one charset joined before conversion (senders split
 * multi-octet characters across words), RFC 2231 5 "charset*language"
 * accepted. Malformed words are kept as they are; other text is passed
 * through (8-bit text read as UTF-8, RFC 6532) with CR and LF removed.
 *
 * Encoding is for the composer: a UTF-8 value becomes a header value that
 * is plain where it can be and encoded words (UTF-8; Q for mostly-ASCII
 * text, B when Q would be much longer) where it must be, each at most 75 characters, folded so that
 * lines stay within 76 characters. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

/* Appends the decoded value to out. 0, or -1 when out is full. */
int msg_encoded_words_decode(struct str value, struct buf *out);

/* Appends value (UTF-8) encoded as above. used is how many characters the
 * line already holds before the value (e.g. strlen("Subject: ")); folds
 * are written as "\r\n " (crlf) or "\n ". 0, or -1 when out is full. */
int msg_encoded_words_encode(struct str value, size_t used, bool crlf,
			     struct buf *out);

#endif
