#include "lib/utf8.h"

size_t utf8_seq(const unsigned char *p, size_t n, uint32_t *cp_r)
{
	/* The second octet's range is where overlongs (E0, F0) and
	 * surrogates or values past U+10FFFF (ED, F4) show. */
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;
	uint32_t cp;

	if (p[0] < 0x80) {
		len = 1;
		cp = p[0];
	} else if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		cp = p[0] & 0x0f;
		lo = p[0] == 0xe0 ? 0xa0 : lo;
		hi = p[0] == 0xed ? 0x9f : hi;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		cp = p[0] & 0x07;
		lo = p[0] == 0xf0 ? 0x90 : lo;
		hi = p[0] == 0xf4 ? 0x8f : hi;
	} else {
		return 0;
	}
	if (len > 1 && (n < len || p[1] < lo || p[1] > hi))
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp_r != NULL)
		*cp_r = cp;
	return len;
}

bool utf8_valid(struct str s)
{
	const unsigned char *p = (const unsigned char *)s.p;
	for (size_t i = 0; i < s.len;) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		size_t n = utf8_seq(p + i, s.len - i, NULL);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}
