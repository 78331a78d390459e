#include "msg/charset.h"

#include "lib/utf8.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

/* Windows-1252 0x80..0x9f; 0 where the code page has a hole. */
static const unsigned short cp1252_high[32] = {
	0x20ac, 0, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017d, 0,
	0, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0, 0x017e, 0x0178,
};

static const char replacement[] = "\xef\xbf\xbd";

static int append_utf8_lenient(struct str in, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)in.p;
	size_t i = 0;
	while (i < in.len) {
		size_t start = i;
		size_t n;
		while (i < in.len && (n = utf8_seq(p + i, in.len - i, NULL)) > 0)
			i += n;
		if (buf_append(out, p + start, i - start) < 0)
			return -1;
		if (i < in.len) {
			if (buf_append(out, replacement, 3) < 0)
				return -1;
			i++;
		}
	}
	return 0;
}

static int append_codepoint(struct buf *out, unsigned cp)
{
	char b[3];
	if (cp < 0x80) {
		b[0] = (char)cp;
		return buf_append(out, b, 1);
	}
	if (cp < 0x800) {
		b[0] = (char)(0xc0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3f));
		return buf_append(out, b, 2);
	}
	b[0] = (char)(0xe0 | cp >> 12);
	b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
	b[2] = (char)(0x80 | (cp & 0x3f));
	return buf_append(out, b, 3);
}

static int append_single_byte(struct str in, struct buf *out, bool cp1252)
{
	const unsigned char *p = (const unsigned char *)in.p;
	size_t i = 0;
	while (i < in.len) {
		size_t start = i;
		while (i < in.len && p[i] < 0x80)
			i++;
		if (buf_append(out, p + start, i - start) < 0)
			return -1;
		for (; i < in.len && p[i] >= 0x80; i++) {
			unsigned cp = p[i];
			if (cp1252 && cp < 0xa0)
				cp = cp1252_high[cp - 0x80] ? cp1252_high[cp - 0x80] : 0xfffd;
			if (append_codepoint(out, cp) < 0)
				return -1;
		}
	}
	return 0;
}

static bool name_is(struct str cs, const char *const *names)
{
	for (; *names != NULL; names++)
		if (str_case_eq_cstr(cs, *names))
			return true;
	return false;
}

/* iconv from a NUL-terminated charset name; 1 when it is unknown. */
static int convert_iconv(const char *charset, struct str in, struct buf *out)
{
	iconv_t cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1)
		return 1;
	char *inp = (char *)in.p;
	size_t inleft = in.len;
	int ret = 0;
	while (inleft > 0 && ret == 0) {
		size_t want = inleft * 4 + 16;
		if (buf_reserve(out, want) < 0 && buf_reserve(out, 16) < 0) {
			ret = -1;
			break;
		}
		char *outp = out->data + out->len;
		size_t outleft = out->cap - out->len;
		size_t r = iconv(cd, &inp, &inleft, &outp, &outleft);
		out->len = (size_t)(outp - out->data);
		out->data[out->len] = '\0';
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		/* EILSEQ or a truncated sequence at the end: mark and move on. */
		if (buf_append(out, replacement, 3) < 0)
			ret = -1;
		inp++;
		inleft--;
	}
	iconv_close(cd);
	return ret;
}

int msg_charset_to_utf8(struct str cs, struct str in, struct buf *out, bool *unknown_r)
{
	static const char *const utf8[] = { "utf-8", "utf8", "us-ascii", "ascii",
					     "ansi_x3.4-1968", "unknown-8bit", "", NULL };
	static const char *const latin1[] = { "iso-8859-1", "iso8859-1", "iso_8859-1",
					       "latin1", "l1", NULL };
	static const char *const cp1252[] = { "windows-1252", "cp1252", "x-cp1252", NULL };
	if (unknown_r != NULL)
		*unknown_r = false;
	if (name_is(cs, utf8))
		return append_utf8_lenient(in, out);
	if (name_is(cs, latin1))
		return append_single_byte(in, out, false);
	if (name_is(cs, cp1252))
		return append_single_byte(in, out, true);
	char name[48];
	bool plausible = cs.len < sizeof name;
	for (size_t i = 0; plausible && i < cs.len; i++) {
		char c = cs.p[i];
		plausible = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == ':';
	}
	if (plausible) {
		memcpy(name, cs.p, cs.len);
		name[cs.len] = '\0';
		size_t before = out->len;
		int r = convert_iconv(name, in, out);
		if (r <= 0)
			return r;
		buf_truncate(out, before);
	}
	if (unknown_r != NULL)
		*unknown_r = true;
	return append_utf8_lenient(in, out);
}
