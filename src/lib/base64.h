#ifndef PB_LIB_BASE64_H
#define PB_LIB_BASE64_H
/* Base64 (RFC 4648 4) for SASL exchanges and MIME. */

#include <stddef.h>

#include "lib/buf.h"

/* The RFC 4648 alphabet, and the value of one of its characters (-1 for
 * any other octet): shared with the lenient MIME decoder in src/msg. */
extern const char base64_alphabet[65];
int base64_value(unsigned char c);

/* Appends the encoding of p[0..n) to out. 0 or -1 (out full). */
int base64_encode(struct buf *out, const void *p, size_t n);
/* Strict decoding of a whole string: only the alphabet, '=' padding only at
 * the end, length a multiple of 4. Appends to out. 0 or -1. */
int base64_decode(struct buf *out, const char *p, size_t n);

#endif
