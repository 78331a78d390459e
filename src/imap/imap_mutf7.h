#ifndef PB_IMAP_MUTF7_H
#define PB_IMAP_MUTF7_H
/* Modified UTF-7 (RFC 3501 5.1.3), the IMAP4rev1 spelling of mailbox
 * names, and UTF-8 (RFC 3629) validation. Strict both ways: every name
 * has exactly one spelling, so two spellings can never reach the store
 * as two different folders. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "lib/utf8.h"


/* Decodes modified UTF-7 and appends the UTF-8 to out. Refused: octets
 * outside 0x20..0x7e, "&" not closed by "-", base64 outside the modified
 * alphabet, printable ASCII or NUL encoded in base64, two encoded runs in
 * a row ("&AOk-&AOk-" must be "&AOkA6Q-"), padding bits that are not
 * zero or a whole extra base64 character, unpaired surrogates. 0, or -1
 * with *error_r (static text); on -1 out is left as it was. -1 also when
 * out would pass its max. */
int imap_mutf7_to_utf8(struct str in, struct buf *out, const char **error_r);

/* Encodes UTF-8 as modified UTF-7 and appends it to out. The input must
 * be valid UTF-8 without NUL. 0 or -1 as above. */
int imap_utf8_to_mutf7(struct str in, struct buf *out, const char **error_r);

/* True when s is strictly valid modified UTF-7 (decodes without error). */
bool imap_mutf7_valid(struct str s);

#endif
