/* Typed values from the argument tree: strings, numbers, sequence sets,
 * flags, dates and mailbox names (RFC 9051 9). */
#include "imap/imap_parse.h"
#include "imap/imap_parse_private.h"

#include <stdlib.h>
#include <string.h>

size_t imap_args_count(const struct imap_arg *args)
{
	size_t n = 0;
	while (args[n].type != IMAP_ARG_EOL)
		n++;
	return n;
}

bool imap_arg_is_eol(const struct imap_arg *arg)
{
	return arg->type == IMAP_ARG_EOL;
}

bool imap_arg_is_nil(const struct imap_arg *arg)
{
	return arg->type == IMAP_ARG_NIL;
}

bool imap_arg_get_atom(const struct imap_arg *arg, struct str *atom_r)
{
	if (arg->type != IMAP_ARG_ATOM && arg->type != IMAP_ARG_NIL)
		return false;
	*atom_r = arg->str;
	return true;
}

bool imap_arg_atom_is(const struct imap_arg *arg, const char *atom)
{
	return (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL) &&
		str_case_eq_cstr(arg->str, atom);
}

bool imap_arg_get_string(const struct imap_arg *arg, struct str *str_r)
{
	if (arg->type != IMAP_ARG_STRING && arg->type != IMAP_ARG_LITERAL)
		return false;
	/* Only literal8 may carry NUL (RFC 3516 4.3, RFC 9051 CHAR8). */
	if (arg->str.len > 0 && memchr(arg->str.p, '\0', arg->str.len) != NULL)
		return false;
	*str_r = arg->str;
	return true;
}

bool imap_arg_get_astring(const struct imap_arg *arg, struct str *str_r)
{
	if (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL) {
		for (size_t i = 0; i < arg->str.len; i++)
			if (!imap_is_astring_char((unsigned char)arg->str.p[i]))
				return false;
		*str_r = arg->str;
		return true;
	}
	return imap_arg_get_string(arg, str_r);
}

bool imap_arg_get_nstring(const struct imap_arg *arg, struct str *str_r)
{
	if (arg->type == IMAP_ARG_NIL) {
		*str_r = (struct str){ NULL, 0 };
		return true;
	}
	return imap_arg_get_string(arg, str_r);
}

bool imap_arg_get_list(const struct imap_arg *arg, const struct imap_arg **list_r,
		       size_t *count_r)
{
	if (arg->type != IMAP_ARG_LIST)
		return false;
	*list_r = arg->list;
	if (count_r != NULL)
		*count_r = arg->list_count;
	return true;
}

int imap_str_to_number64(struct str s, uint64_t max, uint64_t *n_r)
{
	unsigned long long v;
	if (str_to_u64(s, max, &v) < 0)
		return -1;
	*n_r = v;
	return 0;
}

static int atom_number(const struct imap_arg *arg, uint64_t min, uint64_t max, uint64_t *n_r)
{
	if (arg->type != IMAP_ARG_ATOM || imap_str_to_number64(arg->str, max, n_r) < 0)
		return -1;
	return *n_r < min ? -1 : 0;
}

int imap_arg_get_number(const struct imap_arg *arg, uint32_t *n_r)
{
	uint64_t v;
	if (atom_number(arg, 0, UINT32_MAX, &v) < 0)
		return -1;
	*n_r = (uint32_t)v;
	return 0;
}

int imap_arg_get_nz_number(const struct imap_arg *arg, uint32_t *n_r)
{
	uint64_t v;
	if (atom_number(arg, 1, UINT32_MAX, &v) < 0)
		return -1;
	*n_r = (uint32_t)v;
	return 0;
}

int imap_arg_get_number64(const struct imap_arg *arg, uint64_t *n_r)
{
	return atom_number(arg, 0, INT64_MAX, n_r);
}

int imap_arg_get_modseq(const struct imap_arg *arg, uint64_t *n_r)
{
	return atom_number(arg, 1, INT64_MAX, n_r);
}

/* ---- Sequence sets ---- */

static int seq_number(struct str s, uint32_t *n_r)
{
	uint64_t v;
	if (s.len == 1 && s.p[0] == '*') {
		*n_r = IMAP_SEQ_STAR;
		return 0;
	}
	/* nz-number: no leading zero (RFC 9051 9, "nz-number"). */
	if (s.len == 0 || s.p[0] == '0' || imap_str_to_number64(s, UINT32_MAX, &v) < 0)
		return -1;
	*n_r = (uint32_t)v;
	return 0;
}

static int seq_range(struct str s, struct imap_seq_range *r)
{
	long colon = str_chr(s, ':');
	uint32_t a, b;
	if (colon < 0) {
		if (seq_number(s, &a) < 0)
			return -1;
		r->lo = r->hi = a;
		return 0;
	}
	if (seq_number((struct str){ s.p, (size_t)colon }, &a) < 0 ||
	    seq_number((struct str){ s.p + colon + 1, s.len - (size_t)colon - 1 }, &b) < 0)
		return -1;
	/* "*:4" is "4:*"; "7:5" is "5:7" (RFC 9051 9, "seq-range"). */
	if (a == IMAP_SEQ_STAR || (b != IMAP_SEQ_STAR && a > b)) {
		uint32_t t = a;
		a = b;
		b = t;
	}
	r->lo = a;
	r->hi = b;
	return 0;
}

int imap_seqset_parse(struct str s, bool allow_searchres, struct imap_seqset **set_r,
		      const char **error_r)
{
	size_t count = 1, k = 0, start = 0;
	struct imap_seqset *set;

	if (s.len == 1 && s.p[0] == '$' && allow_searchres) {
		set = calloc(1, sizeof *set);
		if (set == NULL)
			return *error_r = "Out of memory", -1;
		set->searchres = true;
		*set_r = set;
		return 0;
	}
	for (size_t i = 0; i < s.len; i++)
		count += s.p[i] == ',';
	if (s.len == 0)
		return *error_r = "Invalid sequence set", -1;
	set = malloc(sizeof *set + count * sizeof set->ranges[0]);
	if (set == NULL)
		return *error_r = "Out of memory", -1;
	for (size_t i = 0; i <= s.len; i++) {
		if (i < s.len && s.p[i] != ',')
			continue;
		if (seq_range((struct str){ s.p + start, i - start }, &set->ranges[k++]) < 0) {
			free(set);
			return *error_r = "Invalid sequence set", -1;
		}
		start = i + 1;
	}
	set->searchres = false;
	set->count = count;
	*set_r = set;
	return 0;
}

int imap_arg_get_seqset(const struct imap_arg *arg, bool allow_searchres,
			struct imap_seqset **set_r, const char **error_r)
{
	if (arg->type != IMAP_ARG_ATOM)
		return *error_r = "Invalid sequence set", -1;
	return imap_seqset_parse(arg->str, allow_searchres, set_r, error_r);
}

void imap_seqset_free(struct imap_seqset **set)
{
	free(*set);
	*set = NULL;
}

/* ---- Flags ---- */

int imap_parse_flag(struct str atom, unsigned *system_r)
{
	static const struct { const char *name; unsigned bit; } sys[] = {
		{ "\\Answered", IMAP_FLAG_ANSWERED }, { "\\Flagged", IMAP_FLAG_FLAGGED },
		{ "\\Deleted", IMAP_FLAG_DELETED }, { "\\Seen", IMAP_FLAG_SEEN },
		{ "\\Draft", IMAP_FLAG_DRAFT }, { "\\Recent", IMAP_FLAG_RECENT },
	};
	if (atom.len == 0)
		return -1;
	if (atom.p[0] == '\\') {
		for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++) {
			if (str_case_eq_cstr(atom, sys[i].name)) {
				*system_r = sys[i].bit;
				return 0;
			}
		}
		return -1;
	}
	/* flag-keyword = atom */
	for (size_t i = 0; i < atom.len; i++)
		if (!imap_is_atom_char((unsigned char)atom.p[i]))
			return -1;
	*system_r = 0;
	return 0;
}

int imap_parse_flags(const struct imap_arg *args, bool allow_recent,
		     struct imap_flags **flags_r, const char **error_r)
{
	size_t n = imap_args_count(args), k = 0;
	struct imap_flags *f = malloc(sizeof *f + n * sizeof f->keywords[0]);
	unsigned bit;

	if (f == NULL)
		return *error_r = "Out of memory", -1;
	f->system = 0;
	for (size_t i = 0; i < n; i++) {
		if ((args[i].type != IMAP_ARG_ATOM && args[i].type != IMAP_ARG_NIL) ||
		    imap_parse_flag(args[i].str, &bit) < 0 ||
		    (bit == IMAP_FLAG_RECENT && !allow_recent)) {
			free(f);
			return *error_r = "Invalid flag", -1;
		}
		f->system |= bit;
		if (bit == 0)
			f->keywords[k++] = args[i].str;
	}
	f->keyword_count = k;
	*flags_r = f;
	return 0;
}

int imap_parse_flag_list(const struct imap_arg *arg, bool allow_recent,
			 struct imap_flags **flags_r, const char **error_r)
{
	if (arg->type != IMAP_ARG_LIST)
		return *error_r = "Flag list expected", -1;
	return imap_parse_flags(arg->list, allow_recent, flags_r, error_r);
}

void imap_flags_free(struct imap_flags **flags)
{
	free(*flags);
	*flags = NULL;
}

/* ---- Mailboxes ---- */

int imap_arg_get_mailbox(const struct imap_arg *arg, struct str *name_r)
{
	struct str s;
	if (!imap_arg_get_astring(arg, &s))
		return -1;
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] == '\r' || s.p[i] == '\n')
			return -1;
	*name_r = str_case_eq_cstr(s, "INBOX") ? STR_LIT("INBOX") : s;
	return 0;
}

int imap_arg_get_list_mailbox(const struct imap_arg *arg, struct str *pattern_r)
{
	struct str s;
	if (arg->type == IMAP_ARG_ATOM || arg->type == IMAP_ARG_NIL) {
		/* list-char = ATOM-CHAR / list-wildcards / resp-specials */
		for (size_t i = 0; i < arg->str.len; i++) {
			unsigned char c = (unsigned char)arg->str.p[i];
			if (!imap_is_astring_char(c) && c != '%' && c != '*')
				return -1;
		}
		*pattern_r = arg->str;
		return 0;
	}
	if (!imap_arg_get_string(arg, &s))
		return -1;
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] == '\r' || s.p[i] == '\n')
			return -1;
	*pattern_r = s;
	return 0;
}
