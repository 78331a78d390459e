#ifndef PB_LIB_UTF8_H
#define PB_LIB_UTF8_H
/* Strict UTF-8 (RFC 3629): the one place that says what a well-formed
 * sequence is. Overlong forms, surrogates and code points past U+10FFFF
 * are refused, so every text has exactly one spelling in octets (an
 * address, a mailbox name, a header value compare as octets). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/* Length of the well-formed sequence at p[0..n) (1 for ASCII), or 0; the
 * code point goes to *cp_r unless cp_r is NULL. n must be at least 1. */
size_t utf8_seq(const unsigned char *p, size_t n, uint32_t *cp_r);
/* The whole of s is well-formed UTF-8. */
bool utf8_valid(struct str s);

#endif
