/* The IMAP argument tokenizer: command text to a tree of struct imap_arg
 * (RFC 9051 4 and 9). Lists are built bottom-up on a stack, so each
 * list's children land next to each other in one array, and the whole
 * tree is one heap block the reader frees in one call. */
#include "imap/imap_parse.h"
#include "imap/imap_parse_private.h"
#include "imap/imap_mutf7.h"

#include <stdlib.h>
#include <string.h>

/* A node while building: a LIST's children are at out[child]. */
struct tnode {
	struct imap_arg a;
	size_t child;
};

struct tok {
	const struct imap_tokenize_in *in;
	char *t;
	size_t pos;
	size_t lit_next;
	struct tnode *stack, *out;
	size_t st_len, st_alloc, out_len, out_alloc;
	size_t *frames;           /* stack offset where each open list starts */
	unsigned depth;
	size_t nargs;
	const char *error;
};

bool imap_is_atom_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

bool imap_is_astring_char(unsigned char c)
{
	return imap_is_atom_char(c) || c == ']';
}

bool imap_is_tag_char(unsigned char c)
{
	return imap_is_astring_char(c) && c != '+';
}

/* What may appear in a bare token: wider than ATOM-CHAR on purpose, as
 * flags (\Seen), patterns (a/%), sequence sets (1:*) and fetch items
 * (BODY[]) are all written bare; each typed helper checks its own. */
static bool is_token_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '(' && c != ')' && c != '{' && c != '"';
}

static int fail(struct tok *k, const char *why)
{
	if (k->error == NULL)
		k->error = why;
	return -1;
}

static int grow(struct tok *k, struct tnode **arr, size_t *alloc, size_t need)
{
	if (need <= *alloc)
		return 0;
	size_t n = *alloc ? *alloc : 16;
	while (n < need)
		n *= 2;
	struct tnode *p = realloc(*arr, n * sizeof *p);
	if (p == NULL)
		return fail(k, "Out of memory");
	*arr = p;
	*alloc = n;
	return 0;
}

static int push(struct tok *k, const struct tnode *n)
{
	if (++k->nargs > k->in->args_max)
		return fail(k, "Too many arguments");
	if (grow(k, &k->stack, &k->st_alloc, k->st_len + 1) < 0)
		return -1;
	k->stack[k->st_len++] = *n;
	return 0;
}

/* Moves stack[start..] to out, ending with EOL; returns their index. */
static int flush(struct tok *k, size_t start, size_t *index_r)
{
	size_t count = k->st_len - start;
	if (grow(k, &k->out, &k->out_alloc, k->out_len + count + 1) < 0)
		return -1;
	*index_r = k->out_len;
	if (count > 0)
		memcpy(k->out + k->out_len, k->stack + start, count * sizeof *k->out);
	k->out_len += count;
	k->out[k->out_len++] = (struct tnode){ .a = { .type = IMAP_ARG_EOL } };
	k->st_len = start;
	return 0;
}

static int open_list(struct tok *k)
{
	if (k->depth >= k->in->depth_max)
		return fail(k, "Too deeply nested lists");
	k->frames[k->depth++] = k->st_len;
	k->pos++;
	return 0;
}

static int close_list(struct tok *k)
{
	size_t start, index;
	if (k->depth == 0)
		return fail(k, "Unexpected ')'");
	start = k->frames[--k->depth];
	size_t count = k->st_len - start;
	if (flush(k, start, &index) < 0)
		return -1;
	k->pos++;
	struct tnode n = { .a = { .type = IMAP_ARG_LIST, .list_count = count }, .child = index };
	/* The list itself was not counted when it opened. */
	return push(k, &n);
}

static int read_quoted(struct tok *k)
{
	char *t = k->t;
	size_t r = k->pos + 1, w = r;

	for (;;) {
		if (r >= k->in->end)
			return fail(k, "Unterminated quoted string");
		unsigned char c = (unsigned char)t[r];
		if (c == '"')
			break;
		if (c == '\\') {
			if (++r >= k->in->end || (t[r] != '"' && t[r] != '\\'))
				return fail(k, "Invalid escape in quoted string");
			c = (unsigned char)t[r];
		} else if (c == '\0' || c == '\r' || c == '\n') {
			return fail(k, "Invalid character in quoted string");
		}
		t[w++] = (char)c;
		r++;
	}
	struct str s = { t + k->pos + 1, w - (k->pos + 1) };
	if (!utf8_valid(s))
		return fail(k, "Quoted string is not UTF-8");
	k->pos = r + 1;
	struct tnode n = { .a = { .type = IMAP_ARG_STRING, .str = s } };
	return push(k, &n);
}

static int read_literal(struct tok *k)
{
	const struct imap_lit *l;
	if (k->lit_next >= k->in->lit_count || k->in->lits[k->lit_next].marker != k->pos)
		return fail(k, "Literal not at the end of a line");
	l = &k->in->lits[k->lit_next++];
	struct tnode n = { .a = {
		.type = IMAP_ARG_LITERAL, .literal8 = l->binary,
		.str = { k->t + l->data, (size_t)l->size },
	} };
	k->pos = l->data + (size_t)l->size;
	return push(k, &n);
}

static int read_atom(struct tok *k)
{
	size_t s = k->pos;
	while (k->pos < k->in->end && is_token_char((unsigned char)k->t[k->pos]))
		k->pos++;
	if (k->pos == s)
		return fail(k, "Invalid characters in command");
	struct tnode n = { .a = { .type = IMAP_ARG_ATOM, .str = { k->t + s, k->pos - s } } };
	if (str_case_eq_cstr(n.a.str, "NIL"))
		n.a.type = IMAP_ARG_NIL;
	return push(k, &n);
}

static int read_token(struct tok *k)
{
	char c = k->t[k->pos];
	if (c == '(')
		return open_list(k);
	if (c == '"')
		return read_quoted(k);
	if (c == '{' || (c == '~' && k->pos + 1 < k->in->end && k->t[k->pos + 1] == '{'))
		return read_literal(k);
	return read_atom(k);
}

static int tokenize_loop(struct tok *k)
{
	/* After a token, SP, ")" or the end must come: "a(b" and "x"y" are
	 * refused. One exception: "]" may follow ")", as in
	 * BODY[HEADER.FIELDS (From)] where the list sits inside a fetch
	 * item. Runs of SP are tolerated, as Dovecot does. */
	bool need_sep = false, after_close = false;

	while (k->pos < k->in->end) {
		char c = k->t[k->pos];
		if (c == ' ') {
			k->pos++;
			need_sep = after_close = false;
			continue;
		}
		if (c == ')') {
			if (close_list(k) < 0)
				return -1;
			need_sep = after_close = true;
			continue;
		}
		if (need_sep && !(after_close && c == ']'))
			return fail(k, "Missing space between arguments");
		after_close = false;
		if (read_token(k) < 0)
			return -1;
		need_sep = c != '(';
	}
	if (k->depth > 0)
		return fail(k, "Missing ')'");
	return 0;
}

/* out[] holds every list but the top one; the top level goes first in
 * the final block so the caller's pointer is also the block to free. */
static int finish(struct tok *k, struct imap_arg **args_r)
{
	size_t root, top;
	if (flush(k, 0, &root) < 0)
		return -1;
	top = k->out_len - root;
	struct imap_arg *a = malloc(k->out_len * sizeof *a);
	if (a == NULL)
		return fail(k, "Out of memory");
	for (size_t i = 0; i < k->out_len; i++) {
		size_t to = i >= root ? i - root : i + top;
		a[to] = k->out[i].a;
		if (a[to].type == IMAP_ARG_LIST) {
			size_t c = k->out[i].child;
			a[to].list = a + (c >= root ? c - root : c + top);
		}
	}
	*args_r = a;
	return 0;
}

int imap_tokenize(const struct imap_tokenize_in *in, struct imap_arg **args_r,
		  const char **error_r)
{
	struct tok k = { .in = in, .t = in->text, .pos = in->start };
	int ret = -1;

	k.frames = malloc((in->depth_max + 1) * sizeof *k.frames);
	if (k.frames == NULL)
		fail(&k, "Out of memory");
	else if (tokenize_loop(&k) == 0 && finish(&k, args_r) == 0)
		ret = 0;
	free(k.frames);
	free(k.stack);
	free(k.out);
	if (ret < 0)
		*error_r = k.error;
	return ret;
}
