#include "lib/base64.h"

const char base64_alphabet[65] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int base64_encode(struct buf *out, const void *data, size_t n)
{
	const unsigned char *p = data;
	if (buf_reserve(out, (n + 2) / 3 * 4) < 0)
		return -1;
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		char q[4] = { base64_alphabet[(v >> 18) & 63], base64_alphabet[(v >> 12) & 63],
			      i + 1 < n ? base64_alphabet[(v >> 6) & 63] : '=',
			      i + 2 < n ? base64_alphabet[v & 63] : '=' };
		buf_append(out, q, 4);
	}
	return 0;
}

int base64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(struct buf *out, const char *p, size_t n)
{
	size_t start = out->len;
	if (n % 4 != 0)
		return -1;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			v[k] = base64_value((unsigned char)p[i + k]);
			if (p[i + k] == '=' && i + 4 == n && k >= 2) {
				v[k] = 0;
				pad++;
			} else if (v[k] < 0 || pad > 0) {
				goto fail;  /* bad octet, or data after padding */
			}
		}
		unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 |
			     (unsigned)v[3];
		char b[3] = { (char)(w >> 16), (char)(w >> 8), (char)w };
		if (buf_append(out, b, (size_t)(3 - pad)) < 0)
			goto fail;
	}
	return 0;
fail:
	buf_truncate(out, start);
	return -1;
}
