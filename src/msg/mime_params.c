/* Structured MIME fields: Content-Type, Content-Disposition, parameters
 * with RFC 2231 continuations, Content-Language. */
#include "msg/mime_private.h"

#include <string.h>

#include "msg/charset.h"
#include "msg/encoded_word.h"
#include "msg/header.h"

#define MAX_SECTIONS 100
#define MAX_LANGUAGES 100

struct lexer {
	const char *p;
	size_t len, pos;
};

struct raw_param {
	struct str name, base, value;
	int section;        /* -1: none */
	bool ext;           /* ends in '*': charset'lang'%xx form */
};

static bool is_tspecial(unsigned char c)
{
	return c == '(' || c == ')' || c == '<' || c == '>' || c == '@' || c == ',' ||
	       c == ';' || c == ':' || c == '\\' || c == '"' || c == '/' || c == '[' ||
	       c == ']' || c == '?' || c == '=';
}

static void lx_skip_cfws(struct lexer *lx)
{
	unsigned depth = 0;
	while (lx->pos < lx->len) {
		char c = lx->p[lx->pos];
		if (depth > 0 && c == '\\')
			lx->pos++;
		else if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (depth == 0 && c != ' ' && c != '\t' && c != '\r' && c != '\n')
			return;
		lx->pos++;
	}
}

static struct str lx_token(struct lexer *lx)
{
	size_t start = lx->pos;
	while (lx->pos < lx->len) {
		unsigned char c = (unsigned char)lx->p[lx->pos];
		if (c <= ' ' || c == 127 || is_tspecial(c))
			break;
		lx->pos++;
	}
	return (struct str){ lx->p + start, lx->pos - start };
}

/* A parameter value: a quoted string (unescaped, unfolded) or, leniently,
 * anything up to ';' or white space (unquoted boundaries with '=' abound). */
static int lx_value(struct lexer *lx, struct msg_arena *a, struct str *r)
{
	size_t start = lx->pos;
	if (lx->pos < lx->len && lx->p[lx->pos] == '"') {
		start = ++lx->pos;
		bool plain = true;
		while (lx->pos < lx->len && lx->p[lx->pos] != '"') {
			char c = lx->p[lx->pos++];
			if (c == '\\' || c == '\r' || c == '\n')
				plain = false;
			if (c == '\\' && lx->pos < lx->len)
				lx->pos++;
		}
		struct str q = { lx->p + start, lx->pos - start };
		if (lx->pos < lx->len)
			lx->pos++;
		if (plain) {
			*r = q;
			return 0;
		}
		char *d = msg_arena_alloc(a, q.len + 1);
		if (d == NULL)
			return -1;
		size_t n = 0;
		for (size_t i = 0; i < q.len; i++) {
			if (q.p[i] == '\\' && i + 1 < q.len)
				i++;
			/* Line ends are folding even when escaped, so LF and
			 * CRLF input give the same value. */
			if (q.p[i] == '\r' || q.p[i] == '\n')
				continue;
			d[n++] = q.p[i];
		}
		*r = (struct str){ d, n };
		return 0;
	}
	while (lx->pos < lx->len && lx->p[lx->pos] != ';' && (unsigned char)lx->p[lx->pos] > ' ')
		lx->pos++;
	*r = (struct str){ lx->p + start, lx->pos - start };
	return 0;
}

/* Splits "name*3*" into base "name", section 3, extended. */
static void classify_name(struct raw_param *rp)
{
	struct str n = rp->name;
	rp->section = -1;
	rp->ext = false;
	if (n.len > 1 && n.p[n.len - 1] == '*') {
		rp->ext = true;
		n.len--;
	}
	const char *star = memchr(n.p, '*', n.len);
	if (star != NULL) {
		struct str num = { star + 1, n.len - (size_t)(star + 1 - n.p) };
		unsigned long long v;
		if (str_to_u64(num, MAX_SECTIONS, &v) < 0 || (num.len > 1 && num.p[0] == '0')) {
			rp->base = rp->name;   /* not RFC 2231 after all */
			rp->ext = false;
			return;
		}
		rp->section = (int)v;
		n.len = (size_t)(star - n.p);
	}
	rp->base = n;
	if (rp->section < 0 && !rp->ext)
		rp->base = rp->name;
}

/* Reads "; name=value" pairs into raw (at most MSG_MIME_MAX_PARAMS). */
static int lx_params(struct lexer *lx, struct msg_arena *a, struct raw_param *raw,
		     unsigned *count)
{
	*count = 0;
	while (*count < MSG_MIME_MAX_PARAMS) {
		lx_skip_cfws(lx);
		if (lx->pos >= lx->len)
			break;
		if (lx->p[lx->pos] != ';') {
			const char *semi = memchr(lx->p + lx->pos, ';', lx->len - lx->pos);
			if (semi == NULL)
				break;
			lx->pos = (size_t)(semi - lx->p);
		}
		lx->pos++;
		lx_skip_cfws(lx);
		struct raw_param *rp = &raw[*count];
		rp->name = lx_token(lx);
		lx_skip_cfws(lx);
		if (rp->name.len == 0 || lx->pos >= lx->len || lx->p[lx->pos] != '=')
			continue;
		lx->pos++;
		lx_skip_cfws(lx);
		if (lx_value(lx, a, &rp->value) < 0)
			return -1;
		classify_name(rp);
		(*count)++;
	}
	return 0;
}

static bool is_attr_char(unsigned char c)
{
	return c > ' ' && c < 127 && c != '*' && c != '\'' && c != '%' && !is_tspecial(c);
}

static int pct_encode(struct buf *b, struct str v)
{
	int r = 0;
	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];
		if (is_attr_char(c))
			r |= buf_append_char(b, (char)c);
		else
			r |= buf_printf(b, "%%%02X", c);
	}
	return r;
}

/* Joins the continuations of raw[first]'s family (RFC 2231 3, 4.1) into
 * one parameter, marking every member used. */
static int join_sections(struct msg_arena *a, struct raw_param *raw, unsigned n,
			 unsigned first, bool *used, struct msg_param *out)
{
	int seg[MAX_SECTIONS + 1];
	bool ext_any = false;
	for (unsigned k = 0; k <= MAX_SECTIONS; k++)
		seg[k] = -1;
	for (unsigned j = first; j < n; j++) {
		if (used[j] || raw[j].section < 0 || !str_case_eq(raw[j].base, raw[first].base))
			continue;
		used[j] = true;
		if (seg[raw[j].section] < 0)
			seg[raw[j].section] = (int)j;
	}
	for (unsigned k = 0; k <= MAX_SECTIONS && seg[k] >= 0; k++)
		ext_any |= raw[seg[k]].ext;
	struct buf b;
	buf_init(&b, (size_t)1 << 20);
	int r = 0;
	if (ext_any && seg[0] >= 0 && !raw[seg[0]].ext)
		r |= buf_append(&b, "''", 2);   /* no charset given */
	for (unsigned k = 0; k <= MAX_SECTIONS && seg[k] >= 0; k++) {
		const struct raw_param *rp = &raw[seg[k]];
		if (ext_any && !rp->ext)
			r |= pct_encode(&b, rp->value);
		else
			r |= buf_append(&b, rp->value.p, rp->value.len);
	}
	struct str name = raw[first].base;
	if (r == 0 && ext_any) {
		char *nm = msg_arena_alloc(a, name.len + 2);
		if (nm == NULL)
			r = -1;
		else {
			memcpy(nm, name.p, name.len);
			nm[name.len] = '*';
			name = (struct str){ nm, name.len + 1 };
		}
	}
	out->name = name;
	if (r == 0)
		r = msg_arena_strdup(a, (struct str){ b.data ? b.data : "", b.len }, &out->value);
	buf_free(&b);
	return r < 0 ? -1 : 0;
}

static int merge_params(struct msg_arena *a, struct raw_param *raw, unsigned n,
			struct msg_param **params_r, unsigned *count_r)
{
	*params_r = NULL;
	*count_r = 0;
	if (n == 0)
		return 0;
	struct msg_param *out = msg_arena_alloc(a, n * sizeof *out);
	bool used[MSG_MIME_MAX_PARAMS] = { false };
	unsigned k = 0;
	if (out == NULL)
		return -1;
	for (unsigned i = 0; i < n; i++) {
		if (used[i])
			continue;
		if (raw[i].section < 0) {
			used[i] = true;
			out[k].name = raw[i].name;   /* plain, or "name*" in one piece */
			out[k++].value = raw[i].value;
		} else if (join_sections(a, raw, n, i, used, &out[k++]) < 0) {
			return -1;
		}
	}
	*params_r = out;
	*count_r = k;
	return 0;
}

int msg_mime_content_type(struct msg_arena *a, struct str value, struct msg_part *part)
{
	struct lexer lx = { value.p, value.len, 0 };
	struct raw_param raw[MSG_MIME_MAX_PARAMS];
	unsigned n;
	lx_skip_cfws(&lx);
	struct str type = lx_token(&lx);
	lx_skip_cfws(&lx);
	if (type.len == 0 || lx.pos >= lx.len || lx.p[lx.pos] != '/')
		return 0;   /* RFC 2045 5.2: unusable means the default */
	lx.pos++;
	lx_skip_cfws(&lx);
	struct str subtype = lx_token(&lx);
	if (subtype.len == 0)
		return 0;
	part->type = type;
	part->subtype = subtype;
	part->type_explicit = true;
	if (lx_params(&lx, a, raw, &n) < 0)
		return -1;
	return merge_params(a, raw, n, &part->params, &part->param_count);
}

int msg_mime_disposition(struct msg_arena *a, struct str value, struct msg_part *part)
{
	struct lexer lx = { value.p, value.len, 0 };
	struct raw_param raw[MSG_MIME_MAX_PARAMS];
	unsigned n;
	lx_skip_cfws(&lx);
	struct str disp = lx_token(&lx);
	if (disp.len == 0)
		return 0;
	part->disposition = disp;
	if (lx_params(&lx, a, raw, &n) < 0)
		return -1;
	return merge_params(a, raw, n, &part->disp_params, &part->disp_param_count);
}

int msg_mime_languages(struct msg_arena *a, struct str value, struct msg_part *part)
{
	struct lexer lx = { value.p, value.len, 0 };
	struct str tags[MAX_LANGUAGES];
	unsigned n = 0;
	while (n < MAX_LANGUAGES) {
		lx_skip_cfws(&lx);
		if (lx.pos >= lx.len)
			break;
		struct str t = lx_token(&lx);
		if (t.len > 0)
			tags[n++] = t;
		else
			lx.pos++;   /* ',' or junk */
	}
	if (n == 0)
		return 0;
	part->languages = msg_arena_alloc(a, n * sizeof *tags);
	if (part->languages == NULL)
		return -1;
	memcpy(part->languages, tags, n * sizeof *tags);
	part->language_count = n;
	return 0;
}

struct str msg_mime_first_token(struct str value)
{
	struct lexer lx = { value.p, value.len, 0 };
	lx_skip_cfws(&lx);
	return lx_token(&lx);
}

int msg_mime_unfolded(struct msg_arena *a, struct str value, struct str *r)
{
	struct str v = msg_str_trim(value);
	if (v.len == 0) {
		*r = (struct str){ NULL, 0 };
		return 0;
	}
	if (memchr(v.p, '\n', v.len) == NULL) {
		*r = v;
		return 0;
	}
	char *d = msg_arena_alloc(a, v.len + 1);
	if (d == NULL)
		return -1;
	*r = (struct str){ d, msg_header_unfold_to(d, v) };
	return 0;
}

const struct msg_param *msg_param_find(const struct msg_param *params, unsigned count,
				       const char *name)
{
	size_t n = strlen(name);
	const struct msg_param *plain = NULL;
	for (unsigned i = 0; i < count; i++) {
		struct str pn = params[i].name;
		if (pn.len == n + 1 && pn.p[n] == '*' && str_case_eq((struct str){ pn.p, n },
								      (struct str){ name, n }))
			return &params[i];
		if (plain == NULL && str_case_eq_cstr(pn, name))
			plain = &params[i];
	}
	return plain;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)(c | 0x20);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int msg_param_decode(const struct msg_param *param, struct buf *out)
{
	struct str n = param->name, v = param->value;
	if (n.len == 0 || n.p[n.len - 1] != '*')
		return msg_encoded_words_decode(v, out);
	struct str charset = { v.p, 0 };
	const char *q1 = memchr(v.p, '\'', v.len);
	const char *q2 = q1 ? memchr(q1 + 1, '\'', v.len - (size_t)(q1 + 1 - v.p)) : NULL;
	if (q2 != NULL) {
		charset.len = (size_t)(q1 - v.p);
		v = (struct str){ q2 + 1, v.len - (size_t)(q2 + 1 - v.p) };
	}
	struct buf raw;
	buf_init(&raw, v.len + 1);
	int r = 0;
	for (size_t i = 0; i < v.len && r == 0; i++) {
		int h, l;
		if (v.p[i] == '%' && i + 2 < v.len &&
		    (h = hexval(v.p[i + 1])) >= 0 && (l = hexval(v.p[i + 2])) >= 0) {
			r = buf_append_char(&raw, (char)(h << 4 | l));
			i += 2;
		} else {
			r = buf_append_char(&raw, v.p[i]);
		}
	}
	if (r == 0)
		r = msg_charset_to_utf8(charset, buf_str(&raw), out, NULL);
	buf_free(&raw);
	return r;
}
