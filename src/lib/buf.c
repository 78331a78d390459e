#include "lib/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void buf_free(struct buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

void buf_shrink(struct buf *b, size_t keep)
{
	if (b->len == 0 && b->cap > keep) {
		free(b->data);
		b->data = NULL;
		b->cap = 0;
	}
}

int buf_reserve(struct buf *b, size_t extra)
{
	if (extra > b->max || b->len > b->max - extra) {
		errno = ENOBUFS;
		return -1;
	}
	size_t need = b->len + extra;
	if (need <= b->cap && b->data != NULL)
		return 0;
	size_t cap = b->cap < 64 ? 64 : b->cap;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	if (cap > b->max)
		cap = b->max;
	char *p = realloc(b->data, cap + 1);
	if (p == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if (b->data == NULL)
		p[0] = '\0';
	b->data = p;
	b->cap = cap;
	return 0;
}

int buf_append_grow(struct buf *b, const void *p, size_t n)
{
	if (buf_reserve(b, n) < 0)
		return -1;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int buf_append_u64(struct buf *b, unsigned long long v)
{
	char d[20];   /* 18446744073709551615 */
	size_t i = sizeof d;
	do {
		d[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v != 0);
	return buf_append(b, d + i, sizeof d - i);
}

/* Whether fmt converts nothing but %s (and %%): such formats ("%s%s" for
 * a separator and a flag name, one call per flag of every message in a
 * FETCH) are appended without vsnprintf. */
static bool only_strings(const char *fmt)
{
	for (const char *p = fmt; (p = strchr(p, '%')) != NULL; p += 2) {
		if (p[1] != 's' && p[1] != '%')
			return false;
	}
	return true;
}

static int append_strings(struct buf *b, const char *fmt, va_list ap)
{
	size_t start = b->len;
	const char *p = fmt;
	int r = 0;
	while (r == 0 && *p != '\0') {
		const char *pct = strchr(p, '%');
		if (pct == NULL) {
			r = buf_append_str(b, p);
			break;
		}
		r = buf_append(b, p, (size_t)(pct - p));
		if (r == 0 && pct[1] == '%') {
			r = buf_append_char(b, '%');
		} else if (r == 0) {
			const char *arg = va_arg(ap, const char *);
			r = buf_append_str(b, arg != NULL ? arg : "(null)");   /* as glibc */
		}
		p = pct + 2;
	}
	if (r < 0)
		buf_truncate(b, start);
	return r;
}

int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	if (only_strings(fmt))
		return append_strings(b, fmt, ap);
	/* One formatting pass when the result fits in the room already
	 * allocated, which is the usual case for a reused buffer; measuring
	 * first every time doubled the cost of each reply line. */
	size_t room = b->data != NULL ? b->cap - b->len : 0;
	va_list cp;
	va_copy(cp, ap);
	int n = vsnprintf(b->data != NULL ? b->data + b->len : NULL,
			  b->data != NULL ? room + 1 : 0, fmt, cp);
	va_end(cp);
	if (n >= 0 && (size_t)n <= room && b->data != NULL) {
		b->len += (size_t)n;   /* cap <= max, so max holds too */
		return 0;
	}
	if (b->data != NULL)
		b->data[b->len] = '\0';   /* undo the cut-off attempt */
	if (n < 0)
		return -1;
	if (buf_reserve(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}

void buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		buf_reset(b);
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
	b->data[b->len] = '\0';
}

void buf_truncate(struct buf *b, size_t n)
{
	if (n < b->len) {
		b->len = n;
		b->data[n] = '\0';
	}
}

char *buf_steal(struct buf *b, size_t *len_r)
{
	if (b->data == NULL && buf_reserve(b, 0) < 0)
		return NULL;
	char *p = b->data;
	if (len_r != NULL)
		*len_r = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

int buf_adopt(struct buf *b, char *data, size_t cap)
{
	if (b->len != 0 || cap > b->max)
		return -1;
	free(b->data);
	b->data = data;
	b->cap = cap;
	b->data[0] = '\0';
	return 0;
}

bool str_eq(struct str a, struct str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

bool str_case_eq(struct str a, struct str b)
{
	return a.len == b.len && (a.len == 0 || strncasecmp(a.p, b.p, a.len) == 0);
}

bool str_case_eq_cstr(struct str a, const char *s)
{
	return str_case_eq(a, str_from(s));
}

bool str_has_prefix_case(struct str s, const char *prefix)
{
	size_t n = strlen(prefix);
	return s.len >= n && strncasecmp(s.p, prefix, n) == 0;
}

long str_chr(struct str s, char c)
{
	const char *p = s.len ? memchr(s.p, c, s.len) : NULL;
	return p ? (long)(p - s.p) : -1;
}

int str_to_u64(struct str s, unsigned long long max, unsigned long long *r)
{
	unsigned long long v = 0;
	if (s.len == 0 || s.len > 20)
		return -1;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		unsigned d = (unsigned)(s.p[i] - '0');
		if (v > (max - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*r = v;
	return 0;
}

char *str_dup(struct str s)
{
	char *p = malloc(s.len + 1);
	if (p == NULL)
		return NULL;
	if (s.len)
		memcpy(p, s.p, s.len);
	p[s.len] = '\0';
	return p;
}
