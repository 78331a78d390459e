#include "msg/mime.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "msg/header.h"
#include "msg/mime_private.h"

/* The arena cap: a part costs a few hundred octets and a parameter of
 * five input octets ("; a=b") costs 32, so a fixed base plus eight times
 * the input covers every message while bounding the hostile ones. */
#define ARENA_BASE ((size_t)16 << 20)
#define ARENA_PER_OCTET 8

struct ctx {
	struct msg_mime *m;
	const char *msg;
	int error;      /* -1 once the arena ran out */
};

/* Line statistics of a region; sizes follow from them. */
struct counts {
	size_t lines, bare_lf;
};

static struct msg_size make_size(const struct ctx *cx, size_t octets, struct counts c)
{
	return (struct msg_size){ octets, octets + (cx->m->crlf_native ? 0 : c.bare_lf), c.lines };
}

static struct counts count_lines(const char *p, size_t n)
{
	struct counts c = { 0, 0 };
	const char *end = p + n, *s = p;
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		if (nl == NULL)
			break;
		c.lines++;
		if (nl == p || nl[-1] != '\r')
			c.bare_lf++;
		s = nl + 1;
	}
	return c;
}

static const char *const env_names[MSG_ENV_COUNT] = {
	"date", "subject", "from", "sender", "reply-to", "to", "cc", "bcc",
	"in-reply-to", "message-id",
};

static void envelope_field(struct msg_part *part, const struct msg_header_field *f)
{
	for (unsigned i = 0; i < MSG_ENV_COUNT; i++) {
		if (part->envelope[i].p == NULL && str_case_eq_cstr(f->name, env_names[i])) {
			part->envelope[i] = f->value;
			return;
		}
	}
}

/* One Content-* field. Only the first of each counts. */
static int content_field(struct ctx *cx, struct msg_part *part, const struct msg_header_field *f,
			 bool *seen_type)
{
	struct msg_arena *a = &cx->m->arena;
	struct str n = { f->name.p + 8, f->name.len - 8 };   /* past "content-" */
	if (str_case_eq_cstr(n, "type") && !*seen_type) {
		*seen_type = true;
		return msg_mime_content_type(a, f->value, part);
	}
	if (str_case_eq_cstr(n, "transfer-encoding") && part->encoding.p == NULL) {
		part->encoding = msg_mime_first_token(f->value);
		if (part->encoding.len == 0)
			part->encoding.p = NULL;
		part->cte = msg_cte_parse(part->encoding);
		return 0;
	}
	if (str_case_eq_cstr(n, "disposition") && part->disposition.p == NULL)
		return msg_mime_disposition(a, f->value, part);
	if (str_case_eq_cstr(n, "language") && part->languages == NULL)
		return msg_mime_languages(a, f->value, part);
	struct str *dst = str_case_eq_cstr(n, "id") ? &part->id :
			  str_case_eq_cstr(n, "description") ? &part->description :
			  str_case_eq_cstr(n, "md5") ? &part->md5 :
			  str_case_eq_cstr(n, "location") ? &part->location : NULL;
	if (dst != NULL && dst->p == NULL)
		return msg_mime_unfolded(a, f->value, dst);
	return 0;
}

/* Reads the header of a part starting at start, filling part; returns the
 * header's line counts. */
static struct counts parse_header(struct ctx *cx, struct msg_part *part, size_t start,
				  size_t end)
{
	struct msg_header_iter it;
	struct msg_header_field f;
	bool seen_type = false;
	msg_header_iter_init(&it, cx->msg + start, end - start);
	while (msg_header_next(&it, &f) > 0) {
		if (f.name.len > 8 && strncasecmp(f.name.p, "content-", 8) == 0) {
			if (content_field(cx, part, &f, &seen_type) < 0)
				cx->error = -1;
		} else if (part->envelope != NULL) {
			envelope_field(part, &f);
		}
	}
	part->header_offset = start;
	part->body_offset = start + it.header_size;
	return (struct counts){ it.lines, it.bare_lf };
}

static struct msg_part *new_part(struct ctx *cx, struct msg_part *parent, bool is_message)
{
	struct msg_part *p = msg_arena_alloc(&cx->m->arena, sizeof *p);
	if (p != NULL && is_message)
		p->envelope = msg_arena_alloc(&cx->m->arena, MSG_ENV_COUNT * sizeof *p->envelope);
	if (p == NULL || (is_message && p->envelope == NULL)) {
		cx->error = -1;
		return NULL;
	}
	p->parent = parent;
	p->depth = parent == NULL ? 0 : parent->depth + 1;
	cx->m->part_count++;
	return p;
}

/* 0: not a delimiter line of bd; 1: a delimiter; 2: the close delimiter.
 * line[0..n) includes its LF. Trailing white space is allowed (RFC 2046
 * 5.1.1), other text after the boundary makes it no delimiter, so that
 * "--abc" never ends a part bounded by "--ab". */
static int delimiter_at(const char *line, size_t n, struct str bd)
{
	if (n < 2 + bd.len || line[0] != '-' || line[1] != '-' ||
	    memcmp(line + 2, bd.p, bd.len) != 0)
		return 0;
	const char *rest = line + 2 + bd.len;
	size_t m = n - 2 - bd.len, k = 0;
	if (m >= 2 && rest[0] == '-' && rest[1] == '-')
		return 2;
	while (k < m && (rest[k] == ' ' || rest[k] == '\t'))
		k++;
	return k == m || rest[k] == '\r' || rest[k] == '\n' ? 1 : 0;
}

static struct msg_part *parse_entity(struct ctx *cx, struct msg_part *parent, size_t start,
				     size_t end, struct counts region, bool is_message,
				     bool digest_child);

/* A body part spans from its start to the line end before the next
 * delimiter, which belongs to the delimiter (RFC 2046 5.1.1). */
static struct msg_part *add_child(struct ctx *cx, struct msg_part *part, size_t seg,
				  size_t dpos, struct counts c, bool digest)
{
	size_t end = dpos;
	if (end > seg && cx->msg[end - 1] == '\n') {
		end--;
		c.lines--;
		if (end > seg && cx->msg[end - 1] == '\r')
			end--;
		else
			c.bare_lf--;
	}
	return parse_entity(cx, part, seg, end, c, false, digest);
}

static void link_child(struct msg_part *part, struct msg_part **last, struct msg_part *child)
{
	if (child == NULL)
		return;
	if (*last == NULL)
		part->children = child;
	else
		(*last)->next = child;
	*last = child;
	part->child_count++;
}

static void parse_multipart(struct ctx *cx, struct msg_part *part, struct str bd, bool digest)
{
	const char *msg = cx->msg;
	size_t pos = part->body_offset, end = part->body_offset + part->body.octets;
	size_t seg = SIZE_MAX;   /* start of the current part; none in the preamble */
	struct counts c = { 0, 0 };
	struct msg_part *last = NULL;
	int d = 0;
	part->is_multipart = true;
	while (pos < end && d != 2 && cx->error == 0) {
		const char *nl = memchr(msg + pos, '\n', end - pos);
		size_t next = nl != NULL ? (size_t)(nl - msg) + 1 : end;
		d = msg[pos] == '-' ? delimiter_at(msg + pos, next - pos, bd) : 0;
		if (d == 0) {
			if (nl != NULL) {
				c.lines++;
				if (nl == msg || nl[-1] != '\r')
					c.bare_lf++;
			}
		} else {
			if (seg != SIZE_MAX)
				link_child(part, &last, add_child(cx, part, seg, pos, c, digest));
			if (cx->m->part_count >= MSG_MIME_MAX_PARTS)
				return;
			seg = next;
			c = (struct counts){ 0, 0 };
		}
		pos = next;
	}
	if (d != 2 && seg != SIZE_MAX && cx->error == 0)   /* no close delimiter */
		link_child(part, &last, parse_entity(cx, part, seg, end, c, false, digest));
}

/* The plain "boundary" parameter (an RFC 2231 form of it would be odd). */
static struct str boundary_of(const struct msg_part *part)
{
	for (unsigned i = 0; i < part->param_count; i++)
		if (str_case_eq_cstr(part->params[i].name, "boundary"))
			return part->params[i].value;
	return (struct str){ NULL, 0 };
}

static void parse_children(struct ctx *cx, struct msg_part *part, struct counts body)
{
	if (part->depth >= MSG_MIME_MAX_DEPTH || cx->m->part_count >= MSG_MIME_MAX_PARTS)
		return;
	if (str_case_eq_cstr(part->type, "multipart")) {
		struct str bd = boundary_of(part);
		if (bd.len > 0)
			parse_multipart(cx, part, bd, str_case_eq_cstr(part->subtype, "digest"));
		return;
	}
	/* RFC 2046 5.2.1: an encoded message/rfc822 is not allowed; such a
	 * body is not parsed as a message. */
	if (str_case_eq_cstr(part->type, "message") &&
	    (str_case_eq_cstr(part->subtype, "rfc822") || str_case_eq_cstr(part->subtype, "global")) &&
	    (part->cte == MSG_CTE_7BIT || part->cte == MSG_CTE_8BIT || part->cte == MSG_CTE_BINARY)) {
		struct msg_part *child = parse_entity(cx, part, part->body_offset,
						      part->body_offset + part->body.octets, body,
						      true, false);
		if (child != NULL) {
			part->children = child;
			part->child_count = 1;
			part->is_message_rfc822 = true;
		}
	}
}

static struct msg_part *parse_entity(struct ctx *cx, struct msg_part *parent, size_t start,
				     size_t end, struct counts region, bool is_message,
				     bool digest_child)
{
	struct msg_part *part = new_part(cx, parent, is_message);
	if (part == NULL)
		return NULL;
	part->type = digest_child ? STR_LIT("message") : STR_LIT("text");
	part->subtype = digest_child ? STR_LIT("rfc822") : STR_LIT("plain");
	struct counts hc = parse_header(cx, part, start, end);
	struct counts bc = { region.lines - hc.lines, region.bare_lf - hc.bare_lf };
	part->header = make_size(cx, part->body_offset - start, hc);
	part->body = make_size(cx, end - part->body_offset, bc);
	if (cx->error == 0)
		parse_children(cx, part, bc);
	return part;
}

int msg_mime_parse(const char *msg, size_t len, struct msg_mime **mime_r, const char **error_r)
{
	struct msg_mime *m = calloc(1, sizeof *m);
	if (m == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	msg_arena_init(&m->arena, ARENA_BASE + (len < SIZE_MAX / 16 ? len * ARENA_PER_OCTET : 0));
	m->msg = msg;
	m->len = len;
	m->crlf_native = msg_crlf_native(msg, len);
	struct ctx cx = { m, msg, 0 };
	m->root = parse_entity(&cx, NULL, 0, len, count_lines(msg, len), true, false);
	if (cx.error < 0 || m->root == NULL) {
		msg_mime_free(&m);
		*error_r = "out of memory parsing MIME structure";
		return -1;
	}
	*mime_r = m;
	return 0;
}

void msg_mime_free(struct msg_mime **mime)
{
	if (*mime == NULL)
		return;
	msg_arena_free(&(*mime)->arena);
	free(*mime);
	*mime = NULL;
}
