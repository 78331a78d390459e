/* Mailbox names. Callers give IMAP names in UTF-8 with "/" as delimiter;
 * on disk a folder is the Maildir++ directory ".A.B" under the user's root.
 * Each component is written in modified UTF-7 (RFC 3501 5.1.3), as
 * Dovecot writes Maildir++ names, so both servers read the same tree. A
 * literal "." inside a component would be taken for the separator, so it
 * goes into a base64 run like a non-ASCII character ("a.b" -> "a&AC4-b"):
 * any mUTF-7 decoder gives back the ".", and it round-trips. */
#include "store/store_private.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char b64[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Decodes one UTF-8 sequence; returns its length, 0 when invalid
 * (overlong, surrogate, beyond U+10FFFF, truncated). */
static size_t utf8_next(const unsigned char *p, uint32_t *cp_r)
{
	if (p[0] < 0x80) {
		*cp_r = p[0];
		return 1;
	}
	size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc2 ? 2 : 0;
	if (n == 0 || p[0] > 0xf4)
		return 0;
	uint32_t cp = p[0] & (0x3f >> (n - 1));
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	static const uint32_t min[] = { 0, 0, 0x80, 0x800, 0x10000 };
	if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return n;
}

static bool cp_allowed(uint32_t cp)
{
	/* C0, DEL and C1 controls; '*' and '%' are LIST wildcards. */
	return cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp <= 0x9f) &&
	       cp != '*' && cp != '%';
}

bool mail_store_name_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len >= MAIL_NAME_MAX)
		return false;
	bool comp_start = true;
	for (const unsigned char *p = (const unsigned char *)name; *p != '\0';) {
		uint32_t cp;
		size_t n = utf8_next(p, &cp);
		if (n == 0 || !cp_allowed(cp))
			return false;
		/* Empty components ("a//b", "/a", "a/") and components that
		 * start with "." ("..", ".hidden") are refused. */
		if (comp_start && (cp == '/' || cp == '.'))
			return false;
		comp_start = cp == '/';
		p += n;
	}
	/* The whole name must fit one directory entry: checked here, so
	 * that CREATE refuses it before making any of its parents. */
	char dir[STORE_DIRNAME_MAX + 1];
	return !comp_start && store_name_to_dir(name, dir, sizeof dir) == 0;
}

int store_name_normalize(const char *name, char *out, size_t outlen)
{
	if (!mail_store_name_valid(name) || strlen(name) >= outlen)
		return -1;
	memcpy(out, name, strlen(name) + 1);
	if (strncasecmp(out, "INBOX", 5) == 0 && (out[5] == '\0' || out[5] == '/'))
		memcpy(out, "INBOX", 5);
	return 0;
}

struct out {
	char *p;
	size_t len, cap;
	bool bad;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 >= o->cap) {
		o->bad = true;
		return;
	}
	o->p[o->len++] = c;
	o->p[o->len] = '\0';
}

/* Writes a run of UTF-16 units as "&base64-". */
static void put_run(struct out *o, const uint16_t *u, size_t n)
{
	uint32_t bits = 0;
	int nbits = 0;
	put(o, '&');
	for (size_t i = 0; i < n; i++) {
		bits = bits << 16 | u[i];
		nbits += 16;
		while (nbits >= 6) {
			nbits -= 6;
			put(o, b64[(bits >> nbits) & 0x3f]);
		}
	}
	if (nbits > 0)
		put(o, b64[(bits << (6 - nbits)) & 0x3f]);
	put(o, '-');
}

/* One component (up to '/' or NUL) into mUTF-7; returns the bytes used. */
static size_t encode_component(const char *s, struct out *o)
{
	const unsigned char *p = (const unsigned char *)s;
	uint16_t run[MAIL_NAME_MAX * 2];
	size_t nrun = 0;
	while (*p != '\0' && *p != '/') {
		uint32_t cp;
		size_t n = utf8_next(p, &cp);
		if (n == 0) {
			o->bad = true;
			break;
		}
		p += n;
		if (cp >= 0x20 && cp < 0x7f && cp != '.') {
			if (nrun > 0)
				put_run(o, run, nrun);
			nrun = 0;
			put(o, (char)cp);
			if (cp == '&')
				put(o, '-');
		} else if (cp >= 0x10000) {
			cp -= 0x10000;
			run[nrun++] = (uint16_t)(0xd800 | cp >> 10);
			run[nrun++] = (uint16_t)(0xdc00 | (cp & 0x3ff));
		} else {
			run[nrun++] = (uint16_t)cp;
		}
	}
	if (nrun > 0)
		put_run(o, run, nrun);
	return (size_t)((const char *)p - s);
}

int store_name_to_dir(const char *name, char *out, size_t outlen)
{
	struct out o = { out, 0, outlen, false };
	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (strcmp(name, "INBOX") == 0)
		return 0;
	for (const char *p = name; !o.bad;) {
		put(&o, '.');
		p += encode_component(p, &o);
		if (*p != '/')
			break;
		p++;
	}
	return o.bad || o.len > STORE_DIRNAME_MAX ? -1 : 0;
}

static int b64_val(char c)
{
	const char *q = c != '\0' ? strchr(b64, c) : NULL;
	return q == NULL ? -1 : (int)(q - b64);
}

static void put_utf8(struct out *o, uint32_t cp)
{
	if (cp < 0x80) {
		put(o, (char)cp);
	} else if (cp < 0x800) {
		put(o, (char)(0xc0 | cp >> 6));
		put(o, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		put(o, (char)(0xe0 | cp >> 12));
		put(o, (char)(0x80 | (cp >> 6 & 0x3f)));
		put(o, (char)(0x80 | (cp & 0x3f)));
	} else {
		put(o, (char)(0xf0 | cp >> 18));
		put(o, (char)(0x80 | (cp >> 12 & 0x3f)));
		put(o, (char)(0x80 | (cp >> 6 & 0x3f)));
		put(o, (char)(0x80 | (cp & 0x3f)));
	}
}

/* Decodes "base64-" after '&'; returns the bytes used, 0 when bad. */
static size_t decode_run(const char *s, struct out *o)
{
	uint32_t bits = 0, hi = 0;
	int nbits = 0;
	const char *p = s;
	for (; *p != '-'; p++) {
		int v = b64_val(*p);
		if (v < 0)
			return 0;
		bits = bits << 6 | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t u = bits >> nbits & 0xffff;
		if (u >= 0xd800 && u <= 0xdbff && hi == 0) {
			hi = u;
		} else if (u >= 0xdc00 && u <= 0xdfff && hi != 0) {
			put_utf8(o, 0x10000 + ((hi - 0xd800) << 10) + (u - 0xdc00));
			hi = 0;
		} else if (hi != 0 || (u >= 0xd800 && u <= 0xdfff)) {
			return 0;
		} else {
			put_utf8(o, u);
		}
	}
	if (hi != 0 || p == s || nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0)
		return 0;
	return (size_t)(p - s) + 1;
}

int store_dir_to_name(const char *dirname, char *out, size_t outlen)
{
	struct out o = { out, 0, outlen, false };
	if (outlen == 0 || dirname[0] != '.' || dirname[1] == '\0')
		return -1;
	out[0] = '\0';
	for (const char *p = dirname + 1; *p != '\0' && !o.bad;) {
		if (*p == '.') {
			put(&o, '/');
			p++;
		} else if (*p == '&' && p[1] == '-') {
			put(&o, '&');
			p += 2;
		} else if (*p == '&') {
			size_t n = decode_run(p + 1, &o);
			if (n == 0)
				return -1;
			p += 1 + n;
		} else if ((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f) {
			put(&o, *p++);
		} else {
			return -1;
		}
	}
	/* Only names we would have written: valid, and encoding back to the
	 * same directory (one spelling per name). */
	char again[STORE_DIRNAME_MAX + 1], norm[MAIL_NAME_MAX];
	if (o.bad || store_name_normalize(out, norm, sizeof norm) < 0 ||
	    strcmp(norm, out) != 0 || store_name_to_dir(out, again, sizeof again) < 0 ||
	    strcmp(again, dirname) != 0)
		return -1;
	return 0;
}

int store_folder_path(const struct mstore *ms, const char *name, char *out,
		      size_t outlen)
{
	char dir[STORE_DIRNAME_MAX + 1];
	if (store_name_to_dir(name, dir, sizeof dir) < 0)
		return -1;
	int n = snprintf(out, outlen, "%s%s%s", ms->root, dir[0] != '\0' ? "/" : "", dir);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
