#include "msg/header.h"

#include <string.h>
#include <strings.h>

void msg_header_iter_init(struct msg_header_iter *it, const char *msg, size_t len)
{
	memset(it, 0, sizeof *it);
	it->msg = msg;
	it->len = len;
}

/* Moves past one line starting at it->pos, counting its line end. */
static void skip_line(struct msg_header_iter *it)
{
	const char *start = it->msg + it->pos;
	const char *nl = memchr(start, '\n', it->len - it->pos);
	if (nl == NULL) {
		it->pos = it->len;
		return;
	}
	it->lines++;
	if (nl == it->msg || nl[-1] != '\r')
		it->bare_lf++;
	it->pos = (size_t)(nl - it->msg) + 1;
}

static bool is_blank_line(const struct msg_header_iter *it)
{
	const char *p = it->msg + it->pos;
	size_t left = it->len - it->pos;
	if (p[0] == '\n')
		return true;
	/* A lone CR at the very end counts too: a truncated CRLF. */
	return p[0] == '\r' && (left == 1 || p[1] == '\n');
}

static bool valid_name(struct str name)
{
	if (name.len == 0)
		return false;
	for (size_t i = 0; i < name.len; i++) {
		unsigned char c = (unsigned char)name.p[i];
		if (c <= ' ' || c == 127)
			return false;
	}
	return true;
}

/* Fills f from the field that spans [start, it->pos); false when the first
 * line is no field at all. */
static bool make_field(const struct msg_header_iter *it, size_t start,
		       struct msg_header_field *f)
{
	const char *p = it->msg + start;
	size_t size = it->pos - start;
	const char *colon = memchr(p, ':', size);
	const char *nl = memchr(p, '\n', size);
	if (colon == NULL || (nl != NULL && colon > nl))
		return false;
	struct str name = { p, (size_t)(colon - p) };
	while (name.len > 0 && (name.p[name.len - 1] == ' ' || name.p[name.len - 1] == '\t'))
		name.len--;   /* obs-optional: WSP before the colon */
	if (!valid_name(name))
		return false;
	size_t vlen = size - (size_t)(colon + 1 - p);
	if (vlen > 0 && p[size - 1] == '\n') {
		vlen--;
		if (vlen > 0 && p[size - 2] == '\r')
			vlen--;
	}
	f->name = name;
	f->value = (struct str){ colon + 1, vlen };
	f->offset = start;
	f->size = size;
	return true;
}

int msg_header_next(struct msg_header_iter *it, struct msg_header_field *field_r)
{
	while (!it->done) {
		if (it->pos >= it->len) {
			it->done = true;
			it->header_size = it->len;
			break;
		}
		if (is_blank_line(it)) {
			skip_line(it);
			it->done = true;
			it->header_size = it->pos;
			break;
		}
		size_t start = it->pos;
		skip_line(it);
		/* Continuation lines: anything starting with WSP. */
		while (it->pos < it->len &&
		       (it->msg[it->pos] == ' ' || it->msg[it->pos] == '\t'))
			skip_line(it);
		if (it->fields >= MSG_HEADER_MAX_FIELDS)
			continue;
		if (make_field(it, start, field_r)) {
			it->fields++;
			return 1;
		}
	}
	return 0;
}

size_t msg_header_finish(struct msg_header_iter *it)
{
	struct msg_header_field f;
	while (msg_header_next(it, &f) > 0)
		;
	return it->header_size;
}

bool msg_header_find(const char *msg, size_t len, const char *name, struct str *value_r)
{
	struct msg_header_iter it;
	struct msg_header_field f;
	size_t nlen = strlen(name);
	msg_header_iter_init(&it, msg, len);
	while (msg_header_next(&it, &f) > 0) {
		if (f.name.len == nlen && strncasecmp(f.name.p, name, nlen) == 0) {
			*value_r = f.value;
			return true;
		}
	}
	return false;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct str msg_str_trim(struct str v)
{
	while (v.len > 0 && is_space(v.p[0])) {
		v.p++;
		v.len--;
	}
	while (v.len > 0 && is_space(v.p[v.len - 1]))
		v.len--;
	return v;
}

size_t msg_header_unfold_to(char *dst, struct str value)
{
	struct str v = msg_str_trim(value);
	size_t n = 0;
	while (v.len > 0) {
		const char *nl = memchr(v.p, '\n', v.len);
		size_t chunk = nl == NULL ? v.len : (size_t)(nl - v.p);
		size_t keep = chunk;
		if (nl != NULL && keep > 0 && v.p[keep - 1] == '\r')
			keep--;
		memcpy(dst + n, v.p, keep);
		n += keep;
		if (nl == NULL)
			break;
		v.p += chunk + 1;
		v.len -= chunk + 1;
	}
	return n;
}

int msg_header_unfold(struct str value, struct buf *out)
{
	if (buf_reserve(out, value.len) < 0)
		return -1;
	size_t n = msg_header_unfold_to(out->data + out->len, value);
	out->len += n;
	out->data[out->len] = '\0';
	return 0;
}

static bool name_listed(struct str name, const struct str *names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (str_case_eq(name, names[i]))
			return true;
	return false;
}

int msg_header_filter(const char *header, size_t len, const struct str *names, size_t n,
		      bool exclude, struct buf *out)
{
	struct msg_header_iter it;
	struct msg_header_field f;
	msg_header_iter_init(&it, header, len);
	while (msg_header_next(&it, &f) > 0) {
		if (name_listed(f.name, names, n) == exclude)
			continue;
		if (buf_append(out, header + f.offset, f.size) < 0)
			return -1;
		/* A last field without line end still needs one before the
		 * blank line. */
		if (header[f.offset + f.size - 1] != '\n' && buf_append(out, "\r\n", 2) < 0)
			return -1;
	}
	return buf_append(out, "\r\n", 2);
}
