#ifndef PB_LIB_BASE64_H
#define PB_LIB_BASE64_H
/* Base64 (RFC 4648 4) for SASL exchanges and MIME. */

#include <stddef.h>

#include "lib/buf.h"

/* Appends the encoding of p[0..n) to out. 0 or -1 (out full). */
int base64_encode(struct buf *out, const void *p, size_t n);
/* Strict decoding of a whole string: only the alphabet, '=' padding only at
 * the end, length a multiple of 4. Appends to out. 0 or -1. */
int base64_decode(struct buf *out, const char *p, size_t n);

#endif
