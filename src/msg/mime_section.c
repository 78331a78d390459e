/* IMAP section numbers (RFC 9051 6.4.5) over the part tree. */
#include "msg/mime.h"

#include <string.h>

/* One step of a part path from cur. at_message says cur was reached as a
 * message (the root, or the inside of a message/rfc822): then a non-
 * multipart message has exactly one part, "1", which is itself. */
static const struct msg_part *step(const struct msg_part *cur, bool *at_message,
				   unsigned long n)
{
	for (;;) {
		if (cur->is_multipart) {
			const struct msg_part *c = cur->children;
			while (c != NULL && --n > 0)
				c = c->next;
			*at_message = false;
			return c;
		}
		if (*at_message) {
			*at_message = false;
			return n == 1 ? cur : NULL;
		}
		if (!cur->is_message_rfc822)
			return NULL;
		cur = cur->children;
		*at_message = true;
	}
}

/* Walks the leading numbers of s, leaving s at what follows them (after
 * their '.', if any). *depth_r counts the numbers. NULL if they lead
 * nowhere or are malformed. */
static const struct msg_part *walk(const struct msg_mime *mime, struct str *s,
				   unsigned *depth_r, bool *at_message_r)
{
	const struct msg_part *cur = mime->root;
	bool at_message = true;
	*depth_r = 0;
	while (s->len > 0 && s->p[0] >= '0' && s->p[0] <= '9') {
		size_t k = 0;
		unsigned long n = 0;
		while (k < s->len && s->p[k] >= '0' && s->p[k] <= '9') {
			if (k == 9)
				return NULL;
			n = n * 10 + (unsigned long)(s->p[k++] - '0');
		}
		if (n == 0 || (cur = step(cur, &at_message, n)) == NULL)
			return NULL;
		(*depth_r)++;
		s->p += k;
		s->len -= k;
		if (s->len == 0)
			break;
		if (s->p[0] != '.' || s->len == 1)
			return NULL;   /* "1x" or "1." */
		s->p++;
		s->len--;
	}
	*at_message_r = at_message;
	return cur;
}

const struct msg_part *msg_mime_find_part(const struct msg_mime *mime, struct str path)
{
	unsigned depth;
	bool at_message;
	const struct msg_part *p = walk(mime, &path, &depth, &at_message);
	return p != NULL && path.len == 0 ? p : NULL;
}

static struct msg_size add_sizes(struct msg_size a, struct msg_size b)
{
	return (struct msg_size){ a.octets + b.octets, a.crlf_octets + b.crlf_octets,
				  a.lines + b.lines };
}

static bool take_word(struct str *s, const char *w)
{
	size_t n = strlen(w);
	if (!str_has_prefix_case(*s, w))
		return false;
	s->p += n;
	s->len -= n;
	return true;
}

/* The message whose HEADER / TEXT a section names. */
static const struct msg_part *message_of(const struct msg_part *p, unsigned depth)
{
	if (depth == 0)
		return p;
	return p->is_message_rfc822 ? p->children : NULL;
}

static int text_section(const struct msg_part *part, unsigned depth, struct str s,
			struct msg_section *r)
{
	const struct msg_part *m = message_of(part, depth);
	if (take_word(&s, "MIME")) {
		if (depth == 0 || s.len > 0)
			return -1;
		r->kind = MSG_SECTION_MIME;
		r->part = part;
		r->offset = part->header_offset;
		r->size = part->header;
		return 0;
	}
	if (m == NULL)
		return -1;
	r->part = m;
	if (take_word(&s, "TEXT")) {
		r->kind = MSG_SECTION_TEXT;
		r->offset = m->body_offset;
		r->size = m->body;
		return s.len == 0 ? 0 : -1;
	}
	if (!take_word(&s, "HEADER"))
		return -1;
	r->kind = MSG_SECTION_HEADER;
	r->offset = m->header_offset;
	r->size = m->header;
	if (s.len == 0)
		return 0;
	if (take_word(&s, ".FIELDS.NOT"))
		r->kind = MSG_SECTION_HEADER_FIELDS_NOT;
	else if (take_word(&s, ".FIELDS"))
		r->kind = MSG_SECTION_HEADER_FIELDS;
	else
		return -1;
	while (s.len > 0 && s.p[0] == ' ') {
		s.p++;
		s.len--;
	}
	r->fields = s;
	return s.len > 0 ? 0 : -1;
}

int msg_mime_section(const struct msg_mime *mime, struct str section,
		     struct msg_section *r, const char **error_r)
{
	unsigned depth;
	bool at_message;
	struct str s = section;
	memset(r, 0, sizeof *r);
	const struct msg_part *part = walk(mime, &s, &depth, &at_message);
	if (part == NULL) {
		*error_r = "no such body part";
		return -1;
	}
	if (s.len == 0) {
		r->kind = MSG_SECTION_PART;
		r->part = part;
		if (depth == 0) {
			r->offset = 0;
			r->size = add_sizes(part->header, part->body);
		} else {
			r->offset = part->body_offset;
			r->size = part->body;
		}
		return 0;
	}
	if (text_section(part, depth, s, r) < 0) {
		*error_r = "invalid section specifier";
		return -1;
	}
	return 0;
}
