/* Modified UTF-7 (RFC 3501 5.1.3) and UTF-8 (RFC 3629). */
#include "imap/imap_mutf7.h"

#include "lib/utf8.h"

#include <stdint.h>

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";



static int b64_value(char c)
{
	for (int i = 0; i < 64; i++)
		if (b64[i] == c)
			return i;
	return -1;
}

static int put_utf8(struct buf *out, uint32_t cp)
{
	char u[4];
	size_t n;
	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(out, u, n);
}

/* One encoded run: in.p[*i] is the first character after "&". Appends the
 * characters it encodes and leaves *i after the closing "-". */
static int decode_run(struct str in, size_t *i, struct buf *out, const char **error_r)
{
	uint32_t bits = 0, high = 0;
	unsigned nbits = 0;
	size_t units = 0;

	for (; *i < in.len && in.p[*i] != '-'; (*i)++) {
		int v = b64_value(in.p[*i]);
		if (v < 0)
			return *error_r = "Invalid character in modified UTF-7", -1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t u = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;
		units++;
		if (high != 0) {
			if (u < 0xdc00 || u > 0xdfff)
				return *error_r = "Unpaired surrogate in modified UTF-7", -1;
			if (put_utf8(out, 0x10000 + ((high - 0xd800) << 10) + (u - 0xdc00)) < 0)
				return *error_r = "Mailbox name too long", -1;
			high = 0;
		} else if (u >= 0xd800 && u <= 0xdbff) {
			high = u;
		} else if (u >= 0xdc00 && u <= 0xdfff) {
			return *error_r = "Unpaired surrogate in modified UTF-7", -1;
		} else if (u == 0 || (u >= 0x20 && u <= 0x7e)) {
			return *error_r = "Printable ASCII encoded in modified UTF-7", -1;
		} else if (put_utf8(out, u) < 0) {
			return *error_r = "Mailbox name too long", -1;
		}
	}
	if (*i >= in.len)
		return *error_r = "Unterminated modified UTF-7 run", -1;
	(*i)++;
	/* Leftover bits: fewer than 6 and all zero, else a non-minimal or
	 * broken encoding (RFC 3501 5.1.3, RFC 2152). */
	if (units == 0 || high != 0 || nbits >= 6 || bits != 0)
		return *error_r = "Malformed modified UTF-7", -1;
	return 0;
}

int imap_mutf7_to_utf8(struct str in, struct buf *out, const char **error_r)
{
	size_t start = out->len;
	bool after_run = false;

	for (size_t i = 0; i < in.len;) {
		unsigned char c = (unsigned char)in.p[i];
		int r = 0;
		if (c < 0x20 || c > 0x7e) {
			*error_r = "Invalid character in modified UTF-7";
			r = -1;
		} else if (c != '&') {
			r = buf_append_char(out, (char)c);
			if (r < 0)
				*error_r = "Mailbox name too long";
			i++;
			after_run = false;
		} else if (i + 1 < in.len && in.p[i + 1] == '-') {
			r = buf_append_char(out, '&');
			if (r < 0)
				*error_r = "Mailbox name too long";
			i += 2;
			after_run = false;
		} else if (after_run) {
			*error_r = "Adjacent modified UTF-7 runs";
			r = -1;
		} else {
			i++;
			r = decode_run(in, &i, out, error_r);
			after_run = true;
		}
		if (r < 0) {
			buf_truncate(out, start);
			return -1;
		}
	}
	return 0;
}

bool imap_mutf7_valid(struct str s)
{
	struct buf b;
	const char *error;
	buf_init(&b, s.len * 2 + 16);
	int r = imap_mutf7_to_utf8(s, &b, &error);
	buf_free(&b);
	return r == 0;
}

/* Flushes pending UTF-16 bits of a run and closes it with "-". */
static int close_run(struct buf *out, uint32_t bits, unsigned nbits)
{
	if (nbits > 0 && buf_append_char(out, b64[(bits << (6 - nbits)) & 0x3f]) < 0)
		return -1;
	return buf_append_char(out, '-');
}

static int put_unit(struct buf *out, uint32_t u, uint32_t *bits, unsigned *nbits)
{
	*bits = (*bits << 16) | u;
	*nbits += 16;
	while (*nbits >= 6) {
		*nbits -= 6;
		if (buf_append_char(out, b64[(*bits >> *nbits) & 0x3f]) < 0)
			return -1;
	}
	*bits &= (1u << *nbits) - 1;
	return 0;
}

static int encode_cp(struct buf *out, uint32_t cp, bool *in_run, uint32_t *bits,
		     unsigned *nbits)
{
	if (cp >= 0x20 && cp <= 0x7e) {
		if (*in_run && close_run(out, *bits, *nbits) < 0)
			return -1;
		*in_run = false;
		*bits = 0;
		*nbits = 0;
		return cp == '&' ? buf_append(out, "&-", 2) : buf_append_char(out, (char)cp);
	}
	if (!*in_run && buf_append_char(out, '&') < 0)
		return -1;
	*in_run = true;
	if (cp < 0x10000)
		return put_unit(out, cp, bits, nbits);
	cp -= 0x10000;
	if (put_unit(out, 0xd800 + (cp >> 10), bits, nbits) < 0)
		return -1;
	return put_unit(out, 0xdc00 + (cp & 0x3ff), bits, nbits);
}

int imap_utf8_to_mutf7(struct str in, struct buf *out, const char **error_r)
{
	const unsigned char *p = (const unsigned char *)in.p;
	size_t start = out->len;
	bool in_run = false;
	uint32_t bits = 0, cp;
	unsigned nbits = 0;

	for (size_t i = 0; i < in.len;) {
		size_t n = utf8_seq(p + i, in.len - i, &cp);
		if (n == 0 || cp == 0) {
			buf_truncate(out, start);
			return *error_r = "Mailbox name is not UTF-8", -1;
		}
		if (encode_cp(out, cp, &in_run, &bits, &nbits) < 0)
			goto too_long;
		i += n;
	}
	if (in_run && close_run(out, bits, nbits) < 0)
		goto too_long;
	return 0;
too_long:
	buf_truncate(out, start);
	*error_r = "Mailbox name too long";
	return -1;
}
