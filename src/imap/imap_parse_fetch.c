/* FETCH items (RFC 9051 6.4.5 and 9 "fetch-att", RFC 3516 BINARY,
 * RFC 7162 CONDSTORE/QRESYNC modifiers). */
#include "imap/imap_parse_cmd.h"

#include <stdlib.h>
#include <string.h>

static const struct { const char *name; unsigned item; } simple_items[] = {
	{ "ENVELOPE", IMAP_FETCH_ENVELOPE }, { "FLAGS", IMAP_FETCH_FLAGS },
	{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE }, { "RFC822", IMAP_FETCH_RFC822 },
	{ "RFC822.HEADER", IMAP_FETCH_RFC822_HEADER },
	{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE }, { "RFC822.TEXT", IMAP_FETCH_RFC822_TEXT },
	{ "BODY", IMAP_FETCH_BODY }, { "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
	{ "UID", IMAP_FETCH_UID }, { "MODSEQ", IMAP_FETCH_MODSEQ },
};

static const struct {
	const char *prefix;
	enum imap_section_kind kind;
	bool peek;
} section_items[] = {
	{ "BODY", IMAP_SECTION_BODY, false }, { "BODY.PEEK", IMAP_SECTION_BODY, true },
	{ "BINARY", IMAP_SECTION_BINARY, false }, { "BINARY.PEEK", IMAP_SECTION_BINARY, true },
	{ "BINARY.SIZE", IMAP_SECTION_BINARY_SIZE, true },
};

static struct str str_sub(struct str s, size_t from, size_t to)
{
	return (struct str){ s.p + from, to - from };
}

/* section-part = nz-number *("." nz-number); leaves *s after the parts
 * and the "." that separates them from a section-text. */
static int parse_parts(struct str *s, struct imap_fetch_section *sec)
{
	while (s->len > 0 && s->p[0] >= '1' && s->p[0] <= '9') {
		size_t n = 0;
		uint64_t v;
		while (n < s->len && s->p[n] != '.')
			n++;
		if (sec->part_count >= IMAP_SECTION_PART_MAX ||
		    imap_str_to_number64(str_sub(*s, 0, n), UINT32_MAX, &v) < 0)
			return -1;
		sec->part[sec->part_count++] = (uint32_t)v;
		if (n == s->len) {
			*s = str_sub(*s, n, n);
			return 0;
		}
		*s = str_sub(*s, n + 1, s->len);
		if (s->len == 0)
			return -1;          /* "1." */
	}
	return 0;
}

/* The section text after the parts; *needs_list_r for HEADER.FIELDS. */
static int parse_section_text(struct str s, struct imap_fetch_section *sec,
			      bool *needs_list_r)
{
	*needs_list_r = false;
	if (s.len == 0)
		sec->text = IMAP_SECTION_ALL;
	else if (sec->kind != IMAP_SECTION_BODY)
		return -1;              /* section-binary has parts only */
	else if (str_case_eq_cstr(s, "HEADER"))
		sec->text = IMAP_SECTION_HEADER;
	else if (str_case_eq_cstr(s, "TEXT"))
		sec->text = IMAP_SECTION_TEXT;
	else if (str_case_eq_cstr(s, "MIME") && sec->part_count > 0)
		sec->text = IMAP_SECTION_MIME;
	else if (str_case_eq_cstr(s, "HEADER.FIELDS"))
		sec->text = IMAP_SECTION_HEADER_FIELDS;
	else if (str_case_eq_cstr(s, "HEADER.FIELDS.NOT"))
		sec->text = IMAP_SECTION_HEADER_FIELDS_NOT;
	else
		return -1;
	*needs_list_r = sec->text == IMAP_SECTION_HEADER_FIELDS ||
		sec->text == IMAP_SECTION_HEADER_FIELDS_NOT;
	return 0;
}

/* "<offset.size>" (RFC 9051 "partial"); s is what follows "]". */
static int parse_partial(struct str s, struct imap_fetch_section *sec)
{
	long dot;
	if (s.len == 0)
		return 0;
	if (sec->kind == IMAP_SECTION_BINARY_SIZE || s.len < 5 || s.p[0] != '<' ||
	    s.p[s.len - 1] != '>')
		return -1;
	s = str_sub(s, 1, s.len - 1);
	dot = str_chr(s, '.');
	if (dot < 0 ||
	    imap_str_to_number64(str_sub(s, 0, (size_t)dot), INT64_MAX, &sec->offset) < 0 ||
	    imap_str_to_number64(str_sub(s, (size_t)dot + 1, s.len), INT64_MAX, &sec->size) < 0 ||
	    sec->size == 0)
		return -1;
	sec->partial = true;
	return 0;
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")" */
static int parse_header_list(const struct imap_arg *arg, struct imap_fetch_section *sec)
{
	size_t n = arg->list_count;
	struct str *f;

	if (arg->type != IMAP_ARG_LIST || n == 0)
		return -1;
	f = malloc(n * sizeof *f);
	if (f == NULL)
		return -1;
	sec->fields = f;
	sec->field_count = n;
	for (size_t i = 0; i < n; i++) {
		if (!imap_arg_get_astring(&arg->list[i], &f[i]) || f[i].len == 0)
			return -1;
		/* RFC 5322 ftext: printable ASCII but ":" */
		for (size_t j = 0; j < f[i].len; j++)
			if (f[i].p[j] <= ' ' || f[i].p[j] >= 0x7f || f[i].p[j] == ':')
				return -1;
	}
	return 0;
}

/* One section item from args[0] (and for HEADER.FIELDS args[1], args[2]);
 * *used_r tells how many args it took. */
static int parse_section_item(const struct imap_arg *args, struct imap_fetch_section *sec,
			      size_t *used_r)
{
	struct str a = args[0].str, inner, rest;
	long open = str_chr(a, '['), close;
	bool needs_list;

	*sec = (struct imap_fetch_section){ 0 };
	size_t k = 0;
	while (k < sizeof section_items / sizeof section_items[0] &&
	       !str_case_eq(str_sub(a, 0, (size_t)open), str_from(section_items[k].prefix)))
		k++;
	if (k == sizeof section_items / sizeof section_items[0])
		return -1;
	sec->kind = section_items[k].kind;
	sec->peek = section_items[k].peek;
	a = str_sub(a, (size_t)open + 1, a.len);
	close = str_chr(a, ']');
	inner = close >= 0 ? str_sub(a, 0, (size_t)close) : a;
	if (parse_parts(&inner, sec) < 0 || parse_section_text(inner, sec, &needs_list) < 0)
		return -1;
	if (needs_list != (close < 0))
		return -1;
	*used_r = 1;
	if (close >= 0) {
		rest = str_sub(a, (size_t)close + 1, a.len);
	} else {
		if (parse_header_list(&args[1], sec) < 0 || args[2].type != IMAP_ARG_ATOM ||
		    args[2].str.p[0] != ']')
			return -1;
		rest = str_sub(args[2].str, 1, args[2].str.len);
		*used_r = 3;
	}
	return parse_partial(rest, sec);
}

static int parse_att(const struct imap_arg *args, struct imap_fetch *f, size_t *used_r)
{
	struct str a;
	if (args[0].type != IMAP_ARG_ATOM)
		return -1;
	a = args[0].str;
	*used_r = 1;
	for (size_t i = 0; i < sizeof simple_items / sizeof simple_items[0]; i++) {
		if (str_case_eq_cstr(a, simple_items[i].name)) {
			f->items |= simple_items[i].item;
			return 0;
		}
	}
	if (str_chr(a, '[') < 0)
		return -1;
	if (parse_section_item(args, &f->sections[f->section_count++], used_r) < 0)
		return -1;
	return 0;
}

/* fetch-modifiers (RFC 7162 3.1.4.1, 3.2.6): "(CHANGEDSINCE n [VANISHED])" */
static int parse_modifiers(const struct imap_arg *arg, struct imap_fetch *f)
{
	const struct imap_arg *m = arg->list;
	if (arg->type != IMAP_ARG_LIST || arg->list_count == 0)
		return -1;
	for (size_t i = 0; m[i].type != IMAP_ARG_EOL; i++) {
		if (imap_arg_atom_is(&m[i], "CHANGEDSINCE") && !f->changedsince &&
		    imap_arg_get_modseq(&m[i + 1], &f->changedsince_modseq) == 0) {
			f->changedsince = true;
			i++;
		} else if (imap_arg_atom_is(&m[i], "VANISHED") && !f->vanished) {
			f->vanished = true;
		} else {
			return -1;
		}
	}
	return f->vanished && !f->changedsince ? -1 : 0;
}

static int parse_atts(const struct imap_arg *args, struct imap_fetch *f, size_t *used_r)
{
	static const struct { const char *name; unsigned items; } macros[] = {
		{ "ALL", IMAP_FETCH_ALL }, { "FAST", IMAP_FETCH_FAST }, { "FULL", IMAP_FETCH_FULL },
	};
	size_t used;

	*used_r = 1;
	for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++) {
		if (imap_arg_atom_is(&args[0], macros[i].name)) {
			f->items = macros[i].items;
			return 0;
		}
	}
	if (args[0].type != IMAP_ARG_LIST)
		return parse_att(args, f, used_r);
	if (args[0].list_count == 0)
		return -1;
	for (const struct imap_arg *a = args[0].list; a->type != IMAP_ARG_EOL; a += used)
		if (parse_att(a, f, &used) < 0)
			return -1;
	return 0;
}

int imap_parse_fetch(const struct imap_arg *args, struct imap_fetch **fetch_r,
		     const char **error_r)
{
	size_t n = args[0].type == IMAP_ARG_LIST ? args[0].list_count : 1, used;
	struct imap_fetch *f = calloc(1, sizeof *f);

	if (f == NULL || (f->sections = calloc(n, sizeof *f->sections)) == NULL) {
		free(f);
		return *error_r = "Out of memory", -1;
	}
	if (parse_atts(args, f, &used) < 0 ||
	    (args[used].type != IMAP_ARG_EOL && parse_modifiers(&args[used], f) < 0) ||
	    (args[used].type != IMAP_ARG_EOL && args[used + 1].type != IMAP_ARG_EOL)) {
		imap_fetch_free(&f);
		return *error_r = "Invalid fetch items", -1;
	}
	*fetch_r = f;
	return 0;
}

void imap_fetch_free(struct imap_fetch **fetch)
{
	struct imap_fetch *f = *fetch;
	if (f == NULL)
		return;
	for (size_t i = 0; i < f->section_count; i++)
		free((void *)f->sections[i].fields);
	free(f->sections);
	free(f);
	*fetch = NULL;
}
