#include "msg/address.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A string in the pool before it is frozen: offsets survive the pool's
 * reallocations, pointers would not. */
struct span {
	size_t off, len;   /* off == NONE: absent */
};
#define NONE ((size_t)-1)

struct rec {
	enum msg_address_kind kind;
	struct span name, route, mailbox, host;
	bool invalid;
};

struct parser {
	const char *p;
	size_t len, pos;
	struct buf pool;
	struct rec *recs;
	size_t count, cap;
	bool oom;
	size_t comment_start, comment_end;   /* the last comment seen (input) */
};

static bool is_special(unsigned char c)
{
	return c == '(' || c == ')' || c == '<' || c == '>' || c == '[' || c == ']' ||
	       c == ':' || c == ';' || c == '@' || c == '\\' || c == ',' || c == '"';
}

static bool is_atext(unsigned char c)
{
	return c > ' ' && c != 127 && !is_special(c) && c != '.';
}

static bool at(const struct parser *ps, char c)
{
	return ps->pos < ps->len && ps->p[ps->pos] == c;
}

/* Appends to the pool; failures are remembered and checked once at the end. */
static void pool_add(struct parser *ps, const char *p, size_t n)
{
	if (!ps->oom && buf_append(&ps->pool, p, n) < 0)
		ps->oom = true;
}

static struct span span_begin(const struct parser *ps)
{
	return (struct span){ ps->pool.len, 0 };
}

static void span_end(struct parser *ps, struct span *s)
{
	s->len = ps->oom ? 0 : ps->pool.len - s->off;
	pool_add(ps, "", 1);   /* the NUL each string gets */
}

static struct span span_const(struct parser *ps, const char *s)
{
	struct span r = span_begin(ps);
	pool_add(ps, s, strlen(s));
	span_end(ps, &r);
	return r;
}

/* Skips a comment starting at '(' (nested, quoted-pairs; unbalanced runs
 * to the end) and remembers where it was, as a possible display name. */
static void skip_comment(struct parser *ps)
{
	size_t start = ++ps->pos;
	unsigned depth = 1;
	while (ps->pos < ps->len && depth > 0) {
		char c = ps->p[ps->pos++];
		if (c == '\\' && ps->pos < ps->len)
			ps->pos++;
		else if (c == '(')
			depth++;
		else if (c == ')')
			depth--;
	}
	ps->comment_start = start;
	ps->comment_end = depth == 0 ? ps->pos - 1 : ps->pos;
}

/* The last comment's text, unescaped, as a pool string. */
static struct span take_comment(struct parser *ps)
{
	if (ps->comment_start == NONE)
		return (struct span){ NONE, 0 };
	struct span s = span_begin(ps);
	for (size_t i = ps->comment_start; i < ps->comment_end; i++) {
		if (ps->p[i] == '\\' && i + 1 < ps->comment_end)
			i++;
		if (ps->p[i] != '\r' && ps->p[i] != '\n')
			pool_add(ps, ps->p + i, 1);
	}
	span_end(ps, &s);
	return s;
}

static void skip_cfws(struct parser *ps)
{
	while (ps->pos < ps->len) {
		char c = ps->p[ps->pos];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			ps->pos++;
		else if (c == '(')
			skip_comment(ps);
		else
			break;
	}
}

/* Appends the contents of a quoted string starting at '"', unescaped;
 * an unbalanced one runs to the end. */
static void take_quoted(struct parser *ps)
{
	ps->pos++;
	while (ps->pos < ps->len) {
		char c = ps->p[ps->pos++];
		if (c == '"')
			return;
		if (c == '\\' && ps->pos < ps->len)
			c = ps->p[ps->pos++];
		if (c != '\r' && c != '\n')
			pool_add(ps, &c, 1);
	}
}

static void take_atom(struct parser *ps, bool dots)
{
	size_t start = ps->pos;
	while (ps->pos < ps->len) {
		unsigned char c = (unsigned char)ps->p[ps->pos];
		if (!is_atext(c) && !(dots && c == '.'))
			break;
		ps->pos++;
	}
	pool_add(ps, ps->p + start, ps->pos - start);
}

/* Skips a bracketed or quoted run without copying it. */
static void skip_delimited(struct parser *ps, char close)
{
	ps->pos++;
	while (ps->pos < ps->len) {
		char c = ps->p[ps->pos++];
		if (c == '\\' && ps->pos < ps->len)
			ps->pos++;
		else if (c == close)
			return;
	}
}

/* The first of , ; : < > at the top level from the current position, or 0. */
static char classify(struct parser *ps, bool in_group)
{
	size_t save = ps->pos;
	char found = 0;
	while (ps->pos < ps->len && found == 0) {
		char c = ps->p[ps->pos];
		if (c == '"')
			skip_delimited(ps, '"');
		else if (c == '[')
			skip_delimited(ps, ']');
		else if (c == '(')
			skip_delimited(ps, ')');
		else if (c == ',' || c == ';' || c == '<' || c == '>' || (c == ':' && !in_group))
			found = c;
		else
			ps->pos++;
	}
	ps->pos = save;
	return found;
}

/* A phrase (display name or group name): words joined by one space,
 * stopping at the first special that is not '.'. */
static struct span take_phrase(struct parser *ps)
{
	struct span s = span_begin(ps);
	bool any = false;
	for (;;) {
		skip_cfws(ps);
		if (ps->pos >= ps->len)
			break;
		unsigned char c = (unsigned char)ps->p[ps->pos];
		if (c != '"' && !is_atext(c) && c != '.')
			break;
		if (any)
			pool_add(ps, " ", 1);
		any = true;
		if (c == '"')
			take_quoted(ps);
		else
			take_atom(ps, true);
	}
	if (!any)
		return (struct span){ NONE, 0 };
	span_end(ps, &s);
	return s;
}

/* local-part (obs: words and dots with CFWS between). */
static struct span take_local(struct parser *ps)
{
	struct span s = span_begin(ps);
	bool any = false;
	for (;;) {
		skip_cfws(ps);
		if (at(ps, '"'))
			take_quoted(ps);
		else if (ps->pos < ps->len && (is_atext((unsigned char)ps->p[ps->pos]) ||
					       ps->p[ps->pos] == '.'))
			take_atom(ps, true);
		else
			break;
		any = true;
	}
	if (!any)
		return (struct span){ NONE, 0 };
	span_end(ps, &s);
	return s;
}

static struct span take_domain(struct parser *ps)
{
	struct span s = span_begin(ps);
	bool any = false;
	for (;;) {
		skip_cfws(ps);
		if (at(ps, '[')) {
			size_t start = ps->pos;
			skip_delimited(ps, ']');
			/* Folding inside is no part of it (and an unclosed one
			 * runs over line ends). */
			for (size_t i = start; i < ps->pos; i++)
				if (ps->p[i] != '\r' && ps->p[i] != '\n')
					pool_add(ps, ps->p + i, 1);
		} else if (ps->pos < ps->len && (is_atext((unsigned char)ps->p[ps->pos]) ||
					       ps->p[ps->pos] == '.')) {
			take_atom(ps, true);
		} else {
			break;
		}
		any = true;
	}
	if (!any)
		return (struct span){ NONE, 0 };
	span_end(ps, &s);
	return s;
}

static struct rec *add_rec(struct parser *ps, enum msg_address_kind kind)
{
	/* One slot stays free so that an open group can always be closed. */
	if (ps->count >= MSG_ADDRESS_MAX - (kind == MSG_ADDR_GROUP_END ? 0 : 1))
		return NULL;
	if (ps->count == ps->cap) {
		size_t cap = ps->cap == 0 ? 4 : ps->cap * 2;
		struct rec *r = realloc(ps->recs, cap * sizeof *r);
		if (r == NULL) {
			ps->oom = true;
			return NULL;
		}
		ps->recs = r;
		ps->cap = cap;
	}
	struct rec *r = &ps->recs[ps->count++];
	r->kind = kind;
	r->name = r->route = r->mailbox = r->host = (struct span){ NONE, 0 };
	r->invalid = false;
	return r;
}

static void parse_addr_spec(struct parser *ps, struct rec *r)
{
	r->mailbox = take_local(ps);
	skip_cfws(ps);
	if (at(ps, '@')) {
		ps->pos++;
		r->host = take_domain(ps);
	}
}

/* obs-route: "@a,@b:" right after '<', kept as "@a,@b". */
static void parse_route(struct parser *ps, struct rec *r)
{
	skip_cfws(ps);
	if (!at(ps, '@'))
		return;
	struct span s = span_begin(ps);
	while (at(ps, '@') || at(ps, ',')) {
		if (at(ps, ',')) {
			ps->pos++;
		} else {
			if (s.off != ps->pool.len)
				pool_add(ps, ",", 1);
			pool_add(ps, "@", 1);
			ps->pos++;
			struct span d = take_domain(ps);
			if (d.off != NONE && !ps->oom)
				buf_truncate(&ps->pool, ps->pool.len - 1);   /* its NUL */
		}
		skip_cfws(ps);
	}
	span_end(ps, &s);
	r->route = s;
	if (at(ps, ':'))
		ps->pos++;
	else
		r->invalid = true;
}

/* Skips whatever is left of a broken element up to the next , or ;. */
static void skip_junk(struct parser *ps, struct rec *r)
{
	for (;;) {
		skip_cfws(ps);
		if (ps->pos >= ps->len || at(ps, ',') || at(ps, ';'))
			return;
		if (r != NULL)
			r->invalid = true;
		if (at(ps, '"'))
			skip_delimited(ps, '"');
		else if (at(ps, '['))
			skip_delimited(ps, ']');
		else
			ps->pos++;
	}
}

static void parse_angle(struct parser *ps, struct rec *r)
{
	r->name = take_phrase(ps);
	while (ps->pos < ps->len && !at(ps, '<')) {
		r->invalid = true;
		ps->pos++;
	}
	ps->pos++;
	parse_route(ps, r);
	parse_addr_spec(ps, r);
	skip_cfws(ps);
	if (at(ps, '>'))
		ps->pos++;
	else
		r->invalid = true;
}

static void parse_mailbox(struct parser *ps, bool in_group)
{
	char kind = classify(ps, in_group);
	struct rec *r = add_rec(ps, MSG_ADDR_MAILBOX);
	if (r == NULL) {
		ps->pos = ps->len;
		return;
	}
	ps->comment_start = NONE;
	if (kind == '<') {
		parse_angle(ps, r);
	} else {
		parse_addr_spec(ps, r);
		skip_cfws(ps);
		r->name = take_comment(ps);   /* "user@host (Real Name)" */
	}
	skip_junk(ps, r);
	if (r->mailbox.off == NONE && r->host.off == NONE && r->route.off == NONE &&
	    r->name.off == NONE) {
		ps->count--;   /* nothing there: an empty list element */
		return;
	}
	if (r->mailbox.off == NONE || r->host.off == NONE)
		r->invalid = true;
	if (r->mailbox.off == NONE)
		r->mailbox = span_const(ps, "MISSING_MAILBOX");
	if (r->host.off == NONE)
		r->host = span_const(ps, "MISSING_DOMAIN");
}

static void parse_group(struct parser *ps)
{
	struct rec *r = add_rec(ps, MSG_ADDR_GROUP_START);
	if (r == NULL) {
		ps->pos = ps->len;
		return;
	}
	r->mailbox = take_phrase(ps);
	if (r->mailbox.off == NONE)
		r->mailbox = span_const(ps, "");
	while (ps->pos < ps->len && !at(ps, ':'))
		ps->pos++;
	ps->pos++;
	for (;;) {
		skip_cfws(ps);
		if (ps->pos >= ps->len || at(ps, ';'))
			break;
		size_t before = ps->pos;
		if (at(ps, ','))
			ps->pos++;
		else
			parse_mailbox(ps, true);
		if (ps->pos == before)
			ps->pos++;
	}
	if (at(ps, ';'))
		ps->pos++;
	add_rec(ps, MSG_ADDR_GROUP_END);
}

static void parse_list(struct parser *ps)
{
	while (ps->pos < ps->len && !ps->oom) {
		skip_cfws(ps);
		if (ps->pos >= ps->len)
			break;
		size_t before = ps->pos;
		if (at(ps, ',') || at(ps, ';'))
			ps->pos++;
		else if (classify(ps, false) == ':')
			parse_group(ps);
		else
			parse_mailbox(ps, false);
		if (ps->pos == before)
			ps->pos++;
	}
}

static struct str freeze(char *pool, struct span s, bool trim)
{
	if (s.off == NONE)
		return (struct str){ NULL, 0 };
	struct str r = { pool + s.off, s.len };
	if (trim) {
		while (r.len > 0 && (r.p[0] == ' ' || r.p[0] == '\t')) {
			r.p++;
			r.len--;
		}
		while (r.len > 0 && (r.p[r.len - 1] == ' ' || r.p[r.len - 1] == '\t'))
			r.len--;
		if (r.len == 0)
			return (struct str){ NULL, 0 };   /* an empty name is absent */
		pool[(size_t)(r.p - pool) + r.len] = '\0';
	}
	return r;
}

static int finish(struct parser *ps, struct msg_address_list **list_r)
{
	struct msg_address_list *list = calloc(1, sizeof *list);
	if (list == NULL)
		return -1;
	list->addrs = calloc(ps->count ? ps->count : 1, sizeof *list->addrs);
	list->pool = buf_steal(&ps->pool, NULL);
	if (list->addrs == NULL || list->pool == NULL) {
		msg_address_list_free(&list);
		return -1;
	}
	for (size_t i = 0; i < ps->count; i++) {
		const struct rec *r = &ps->recs[i];
		struct msg_address *a = &list->addrs[i];
		a->kind = r->kind;
		a->invalid = r->invalid;
		a->name = freeze(list->pool, r->name, true);
		a->route = freeze(list->pool, r->route, false);
		a->mailbox = freeze(list->pool, r->mailbox, false);
		a->host = freeze(list->pool, r->host, false);
	}
	list->count = ps->count;
	*list_r = list;
	return 0;
}

int msg_address_parse(struct str value, struct msg_address_list **list_r,
		      const char **error_r)
{
	struct parser ps = { .p = value.p, .len = value.len };
	/* Every string is made of input octets plus short constants and NULs. */
	buf_init(&ps.pool, value.len * 2 + (size_t)MSG_ADDRESS_MAX * 40 + 64);
	parse_list(&ps);
	int ret = ps.oom ? -1 : finish(&ps, list_r);
	buf_free(&ps.pool);
	free(ps.recs);
	if (ret < 0) {
		*list_r = NULL;
		*error_r = "out of memory parsing addresses";
	}
	return ret;
}

void msg_address_list_free(struct msg_address_list **list)
{
	if (*list == NULL)
		return;
	free((*list)->addrs);
	free((*list)->pool);
	free(*list);
	*list = NULL;
}

static bool local_needs_quotes(struct str s)
{
	if (s.len == 0 || s.p[0] == '.' || s.p[s.len - 1] == '.')
		return true;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		if (c == '.' ? s.p[i + 1] == '.' : !is_atext(c))
			return true;
	}
	return false;
}

int msg_address_write_addr_spec(struct buf *out, const struct msg_address *a)
{
	struct str local = a->mailbox.p ? a->mailbox : STR_LIT("");
	int r = 0;
	if (!local_needs_quotes(local)) {
		r |= buf_append(out, local.p, local.len);
	} else {
		r |= buf_append_char(out, '"');
		for (size_t i = 0; i < local.len; i++) {
			if (local.p[i] == '"' || local.p[i] == '\\')
				r |= buf_append_char(out, '\\');
			r |= buf_append_char(out, local.p[i]);
		}
		r |= buf_append_char(out, '"');
	}
	if (a->host.p != NULL) {
		r |= buf_append_char(out, '@');
		r |= buf_append(out, a->host.p, a->host.len);
	}
	return r < 0 ? -1 : 0;
}
