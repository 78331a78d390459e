/* SEARCH keys to a tree (RFC 9051 6.4.4, RFC 3501 6.4.4 for NEW/OLD/
 * RECENT, RFC 4731 ESEARCH, RFC 5182 SEARCHRES, RFC 7162 MODSEQ, RFC 5032
 * OLDER/YOUNGER), and SORT/THREAD (RFC 5256). Every node lives in one
 * array sized from the argument count, so the tree costs one allocation
 * and cannot outgrow its input. */
#include "imap/imap_parse_cmd.h"

#include <stdlib.h>
#include <string.h>

enum key_arg {
	KA_NONE, KA_ASTRING, KA_HEADER, KA_KEYWORD, KA_DATE, KA_NUMBER64,
	KA_NZNUMBER, KA_SEQSET, KA_NOT, KA_OR, KA_MODSEQ,
};

struct key_def {
	const char *name;
	enum imap_search_type type;
	enum key_arg arg;
	unsigned flag;
	bool negate;            /* UNSEEN is NOT(SEEN) */
	const char *field;      /* FROM is HEADER From */
};

static const struct key_def key_defs[] = {
	{ "ALL", IMAP_SEARCH_ALL, KA_NONE, 0, false, NULL },
	{ "ANSWERED", IMAP_SEARCH_FLAG, KA_NONE, IMAP_FLAG_ANSWERED, false, NULL },
	{ "DELETED", IMAP_SEARCH_FLAG, KA_NONE, IMAP_FLAG_DELETED, false, NULL },
	{ "DRAFT", IMAP_SEARCH_FLAG, KA_NONE, IMAP_FLAG_DRAFT, false, NULL },
	{ "FLAGGED", IMAP_SEARCH_FLAG, KA_NONE, IMAP_FLAG_FLAGGED, false, NULL },
	{ "SEEN", IMAP_SEARCH_FLAG, KA_NONE, IMAP_FLAG_SEEN, false, NULL },
	{ "RECENT", IMAP_SEARCH_FLAG, KA_NONE, IMAP_FLAG_RECENT, false, NULL },
	{ "UNANSWERED", IMAP_SEARCH_FLAG, KA_NONE, IMAP_FLAG_ANSWERED, true, NULL },
	{ "UNDELETED", IMAP_SEARCH_FLAG, KA_NONE, IMAP_FLAG_DELETED, true, NULL },
	{ "UNDRAFT", IMAP_SEARCH_FLAG, KA_NONE, IMAP_FLAG_DRAFT, true, NULL },
	{ "UNFLAGGED", IMAP_SEARCH_FLAG, KA_NONE, IMAP_FLAG_FLAGGED, true, NULL },
	{ "UNSEEN", IMAP_SEARCH_FLAG, KA_NONE, IMAP_FLAG_SEEN, true, NULL },
	{ "NEW", IMAP_SEARCH_NEW, KA_NONE, 0, false, NULL },
	{ "OLD", IMAP_SEARCH_OLD, KA_NONE, 0, false, NULL },
	{ "BCC", IMAP_SEARCH_HEADER, KA_ASTRING, IMAP_SEARCH_ADDRESS, false, "Bcc" },
	{ "CC", IMAP_SEARCH_HEADER, KA_ASTRING, IMAP_SEARCH_ADDRESS, false, "Cc" },
	{ "FROM", IMAP_SEARCH_HEADER, KA_ASTRING, IMAP_SEARCH_ADDRESS, false, "From" },
	{ "SUBJECT", IMAP_SEARCH_HEADER, KA_ASTRING, 0, false, "Subject" },
	{ "TO", IMAP_SEARCH_HEADER, KA_ASTRING, IMAP_SEARCH_ADDRESS, false, "To" },
	{ "HEADER", IMAP_SEARCH_HEADER, KA_HEADER, 0, false, NULL },
	{ "BODY", IMAP_SEARCH_BODY, KA_ASTRING, 0, false, NULL },
	{ "TEXT", IMAP_SEARCH_TEXT, KA_ASTRING, 0, false, NULL },
	{ "KEYWORD", IMAP_SEARCH_KEYWORD, KA_KEYWORD, 0, false, NULL },
	{ "UNKEYWORD", IMAP_SEARCH_KEYWORD, KA_KEYWORD, 0, true, NULL },
	{ "BEFORE", IMAP_SEARCH_BEFORE, KA_DATE, 0, false, NULL },
	{ "ON", IMAP_SEARCH_ON, KA_DATE, 0, false, NULL },
	{ "SINCE", IMAP_SEARCH_SINCE, KA_DATE, 0, false, NULL },
	{ "SENTBEFORE", IMAP_SEARCH_SENTBEFORE, KA_DATE, 0, false, NULL },
	{ "SENTON", IMAP_SEARCH_SENTON, KA_DATE, 0, false, NULL },
	{ "SENTSINCE", IMAP_SEARCH_SENTSINCE, KA_DATE, 0, false, NULL },
	{ "LARGER", IMAP_SEARCH_LARGER, KA_NUMBER64, 0, false, NULL },
	{ "SMALLER", IMAP_SEARCH_SMALLER, KA_NUMBER64, 0, false, NULL },
	{ "OLDER", IMAP_SEARCH_OLDER, KA_NZNUMBER, 0, false, NULL },
	{ "YOUNGER", IMAP_SEARCH_YOUNGER, KA_NZNUMBER, 0, false, NULL },
	{ "UID", IMAP_SEARCH_UID, KA_SEQSET, 0, false, NULL },
	{ "NOT", IMAP_SEARCH_NOT, KA_NOT, 0, false, NULL },
	{ "OR", IMAP_SEARCH_OR, KA_OR, 0, false, NULL },
	{ "MODSEQ", IMAP_SEARCH_MODSEQ, KA_MODSEQ, 0, false, NULL },
};

struct sctx {
	struct imap_search *s;
	size_t key_cap;
	unsigned depth;
	const char *error;
};

static int fail(struct sctx *c, const char *why)
{
	if (c->error == NULL)
		c->error = why;
	return -1;
}

static struct imap_search_key *new_key(struct sctx *c, enum imap_search_type type)
{
	/* key_cap is twice the arguments plus one: no key takes more. */
	if (c->s->key_count >= c->key_cap)
		abort();
	struct imap_search_key *k = &c->s->keys[c->s->key_count++];
	*k = (struct imap_search_key){ .type = type };
	return k;
}

/* All args in a tree, lists included: the most keys it can make. */
static size_t count_args(const struct imap_arg *a)
{
	size_t n = 0;
	for (; a->type != IMAP_ARG_EOL; a++)
		n += 1 + (a->type == IMAP_ARG_LIST ? count_args(a->list) : 0);
	return n;
}

static int parse_key(struct sctx *c, const struct imap_arg **pa, struct imap_search_key **key_r);

/* Keys up to the EOL, as children of parent (an AND). */
static int parse_keys(struct sctx *c, const struct imap_arg *a, struct imap_search_key *parent)
{
	struct imap_search_key *last = NULL, *k;
	while (a->type != IMAP_ARG_EOL) {
		if (parse_key(c, &a, &k) < 0)
			return -1;
		if (last != NULL)
			last->next = k;
		else
			parent->child = k;
		last = k;
	}
	return last == NULL ? fail(c, "Missing search key") : 0;
}

static int key_seqset(struct sctx *c, const struct imap_arg *a, struct imap_search_key *k)
{
	struct imap_seqset *set;
	if (imap_arg_get_seqset(a, true, &set, &c->error) < 0)
		return -1;
	c->s->sets[c->s->set_count++] = set;
	k->seqset = set;
	return 0;
}

/* MODSEQ [entry-name entry-type-req] mod-sequence-valzer (RFC 7162 3.1.5);
 * the entry is checked and dropped: per-flag modseqs are not kept. */
static int key_modseq(struct sctx *c, const struct imap_arg **pa, struct imap_search_key *k)
{
	const struct imap_arg *a = *pa;
	if (a->type == IMAP_ARG_STRING) {
		if (!str_has_prefix_case(a->str, "/flags/") ||
		    !(imap_arg_atom_is(&a[1], "priv") || imap_arg_atom_is(&a[1], "shared") ||
		      imap_arg_atom_is(&a[1], "all")))
			return fail(c, "Invalid MODSEQ entry");
		a += 2;
	}
	if (imap_arg_get_number64(a, &k->number) < 0)
		return fail(c, "Invalid MODSEQ value");
	*pa = a + 1;
	return 0;
}

/* The n keys (1 for NOT, 2 for OR) that a key applies to. */
static int key_sub(struct sctx *c, int n, const struct imap_arg **pa,
		   struct imap_search_key *k)
{
	struct imap_search_key *sub, *last = NULL;
	for (int i = 0; i < n; i++) {
		if (parse_key(c, pa, &sub) < 0)
			return -1;
		if (last != NULL)
			last->next = sub;
		else
			k->child = sub;
		last = sub;
	}
	return 0;
}

/* The argument of a key from the table; a points past the key name. */
static int key_arg(struct sctx *c, const struct key_def *d, const struct imap_arg **pa,
		   struct imap_search_key *k)
{
	const struct imap_arg *a = *pa;
	uint32_t n32;
	unsigned flag;

	switch (d->arg) {
	case KA_NONE:
		return 0;
	case KA_HEADER:
		if (!imap_arg_get_astring(a, &k->field) || k->field.len == 0)
			return fail(c, "Invalid HEADER field");
		a++;
		/* fall through */
	case KA_ASTRING:
		if (!imap_arg_get_astring(a, &k->str))
			return fail(c, "Invalid search string");
		break;
	case KA_KEYWORD:
		if (a->type != IMAP_ARG_ATOM || imap_parse_flag(a->str, &flag) < 0 || flag != 0)
			return fail(c, "Invalid keyword");
		k->str = a->str;
		break;
	case KA_DATE:
		if (imap_arg_get_date(a, &k->date) < 0)
			return fail(c, "Invalid search date");
		break;
	case KA_NUMBER64:
		if (imap_arg_get_number64(a, &k->number) < 0)
			return fail(c, "Invalid search number");
		break;
	case KA_NZNUMBER:
		if (imap_arg_get_nz_number(a, &n32) < 0)
			return fail(c, "Invalid search number");
		k->number = n32;
		break;
	case KA_SEQSET:
		if (key_seqset(c, a, k) < 0)
			return -1;
		break;
	case KA_MODSEQ:
		return key_modseq(c, pa, k);
	case KA_OR:
	case KA_NOT:
		return key_sub(c, d->arg == KA_OR ? 2 : 1, pa, k);
	}
	*pa = a + 1;
	return 0;
}

static int parse_named_key(struct sctx *c, const struct imap_arg **pa,
			   struct imap_search_key **key_r)
{
	const struct imap_arg *a = *pa;
	const struct key_def *d = NULL;

	for (size_t i = 0; i < sizeof key_defs / sizeof key_defs[0] && d == NULL; i++)
		if (str_case_eq_cstr(a->str, key_defs[i].name))
			d = &key_defs[i];
	if (d == NULL) {
		/* A bare sequence set ("1:5", "*", "$") is a key too. */
		struct imap_search_key *k = new_key(c, IMAP_SEARCH_SEQSET);
		if (key_seqset(c, a, k) < 0)
			return fail(c, "Unknown search key");
		*pa = a + 1;
		*key_r = k;
		return 0;
	}
	struct imap_search_key *k = new_key(c, d->type), *top = k;
	if (d->negate) {
		top = new_key(c, IMAP_SEARCH_NOT);
		top->child = k;
	}
	k->flag = d->flag;
	if (d->field != NULL)
		k->field = str_from(d->field);
	a++;
	if (key_arg(c, d, &a, k) < 0)
		return -1;
	*pa = a;
	*key_r = top;
	return 0;
}

static int parse_key(struct sctx *c, const struct imap_arg **pa, struct imap_search_key **key_r)
{
	const struct imap_arg *a = *pa;
	int ret;

	if (++c->depth > IMAP_SEARCH_DEPTH_MAX)
		return fail(c, "Search keys nested too deeply");
	if (a->type == IMAP_ARG_LIST) {
		struct imap_search_key *k = new_key(c, IMAP_SEARCH_AND);
		ret = parse_keys(c, a->list, k);
		*key_r = k;
		*pa = a + 1;
	} else if (a->type == IMAP_ARG_ATOM) {
		ret = parse_named_key(c, pa, key_r);
	} else {
		ret = fail(c, a->type == IMAP_ARG_EOL ? "Missing search key" : "Invalid search key");
	}
	c->depth--;
	return ret;
}

static struct imap_search *search_new(const struct imap_arg *args, struct sctx *c)
{
	size_t n = count_args(args);
	struct imap_search *s = calloc(1, sizeof *s);
	*c = (struct sctx){ .s = s, .key_cap = 2 * n + 1 };
	if (s == NULL)
		return NULL;
	s->keys = calloc(c->key_cap, sizeof *s->keys);
	s->sets = calloc(n + 1, sizeof *s->sets);
	if (s->keys == NULL || s->sets == NULL)
		imap_search_free(&s);
	return s;
}

static int search_keys(struct sctx *c, const struct imap_arg *args)
{
	struct imap_search_key *root = new_key(c, IMAP_SEARCH_AND);
	c->s->root = root;
	return parse_keys(c, args, root);
}

int imap_parse_search_keys(const struct imap_arg *args, struct imap_search **search_r,
			   const char **error_r)
{
	struct sctx c;
	struct imap_search *s = search_new(args, &c);
	if (s == NULL)
		return *error_r = "Out of memory", -1;
	if (search_keys(&c, args) < 0) {
		imap_search_free(&s);
		return *error_r = c.error, -1;
	}
	*search_r = s;
	return 0;
}

/* RETURN (MIN MAX ALL COUNT SAVE): RFC 4731 3.1, RFC 5182 2.1 */
static int parse_return(struct sctx *c, const struct imap_arg *a)
{
	static const struct { const char *name; unsigned bit; } opts[] = {
		{ "MIN", IMAP_SEARCH_RETURN_MIN }, { "MAX", IMAP_SEARCH_RETURN_MAX },
		{ "ALL", IMAP_SEARCH_RETURN_ALL }, { "COUNT", IMAP_SEARCH_RETURN_COUNT },
		{ "SAVE", IMAP_SEARCH_RETURN_SAVE },
	};
	if (a->type != IMAP_ARG_LIST)
		return fail(c, "Invalid RETURN options");
	c->s->esearch = true;
	for (const struct imap_arg *o = a->list; o->type != IMAP_ARG_EOL; o++) {
		size_t i = 0;
		while (i < sizeof opts / sizeof opts[0] && !imap_arg_atom_is(o, opts[i].name))
			i++;
		if (i == sizeof opts / sizeof opts[0])
			return fail(c, "Unknown RETURN option");
		c->s->ret |= opts[i].bit;
	}
	if (c->s->ret == 0)
		c->s->ret = IMAP_SEARCH_RETURN_ALL;   /* RFC 4731 3.1: () is (ALL) */
	return 0;
}

int imap_parse_search(const struct imap_arg *args, struct imap_search **search_r,
		      const char **error_r)
{
	struct sctx c;
	struct imap_search *s = search_new(args, &c);
	int ret = 0;

	if (s == NULL)
		return *error_r = "Out of memory", -1;
	/* Advance only past what parsed: args[1] may be the EOL. */
	if (imap_arg_atom_is(args, "RETURN")) {
		ret = parse_return(&c, &args[1]);
		if (ret == 0)
			args += 2;
	}
	if (ret == 0 && imap_arg_atom_is(args, "CHARSET")) {
		if (!imap_arg_get_astring(&args[1], &s->charset) || s->charset.len == 0)
			ret = fail(&c, "Invalid CHARSET");
		else
			args += 2;
	}
	if (ret < 0 || search_keys(&c, args) < 0) {
		imap_search_free(&s);
		return *error_r = c.error, -1;
	}
	*search_r = s;
	return 0;
}

void imap_search_free(struct imap_search **search)
{
	struct imap_search *s = *search;
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->set_count; i++)
		imap_seqset_free(&s->sets[i]);
	free(s->sets);
	free(s->keys);
	free(s);
	*search = NULL;
}

/* sort-criteria = "(" sort-criterion *(SP sort-criterion) ")" */
static int parse_criteria(const struct imap_arg *arg, struct imap_sort *s)
{
	static const char *const keys[] = {
		[IMAP_SORT_ARRIVAL] = "ARRIVAL", [IMAP_SORT_CC] = "CC", [IMAP_SORT_DATE] = "DATE",
		[IMAP_SORT_FROM] = "FROM", [IMAP_SORT_SIZE] = "SIZE", [IMAP_SORT_SUBJECT] = "SUBJECT",
		[IMAP_SORT_TO] = "TO", [IMAP_SORT_DISPLAYFROM] = "DISPLAYFROM",
		[IMAP_SORT_DISPLAYTO] = "DISPLAYTO",
	};
	const struct imap_arg *a = arg->list;
	if (arg->type != IMAP_ARG_LIST || arg->list_count == 0)
		return -1;
	while (a->type != IMAP_ARG_EOL) {
		bool reverse = imap_arg_atom_is(a, "REVERSE");
		size_t k = 0;
		a += reverse;
		while (k < sizeof keys / sizeof keys[0] && !imap_arg_atom_is(a, keys[k]))
			k++;
		if (k == sizeof keys / sizeof keys[0] || s->criteria_count >= IMAP_SORT_CRITERIA_MAX)
			return -1;
		s->criteria[s->criteria_count].key = (enum imap_sort_key)k;
		s->criteria[s->criteria_count++].reverse = reverse;
		a++;
	}
	return 0;
}

int imap_parse_sort(const struct imap_arg *args, struct imap_sort **sort_r,
		    const char **error_r)
{
	struct imap_sort *s = calloc(1, sizeof *s);
	if (s == NULL)
		return *error_r = "Out of memory", -1;
	if (parse_criteria(&args[0], s) < 0) {
		imap_sort_free(&s);
		return *error_r = "Invalid sort criteria", -1;
	}
	if (!imap_arg_get_astring(&args[1], &s->charset) || s->charset.len == 0) {
		imap_sort_free(&s);
		return *error_r = "Invalid charset", -1;
	}
	if (imap_parse_search_keys(&args[2], &s->search, error_r) < 0) {
		imap_sort_free(&s);
		return -1;
	}
	*sort_r = s;
	return 0;
}

void imap_sort_free(struct imap_sort **sort)
{
	if (*sort == NULL)
		return;
	imap_search_free(&(*sort)->search);
	free(*sort);
	*sort = NULL;
}

int imap_parse_thread(const struct imap_arg *args, struct imap_thread **thread_r,
		      const char **error_r)
{
	struct imap_thread *t = calloc(1, sizeof *t);
	if (t == NULL)
		return *error_r = "Out of memory", -1;
	if (imap_arg_atom_is(&args[0], "REFERENCES")) {
		t->alg = IMAP_THREAD_REFERENCES;
	} else if (imap_arg_atom_is(&args[0], "ORDEREDSUBJECT")) {
		t->alg = IMAP_THREAD_ORDEREDSUBJECT;
	} else {
		imap_thread_free(&t);
		return *error_r = "Unknown thread algorithm", -1;
	}
	if (!imap_arg_get_astring(&args[1], &t->charset) || t->charset.len == 0) {
		imap_thread_free(&t);
		return *error_r = "Invalid charset", -1;
	}
	if (imap_parse_search_keys(&args[2], &t->search, error_r) < 0) {
		imap_thread_free(&t);
		return -1;
	}
	*thread_r = t;
	return 0;
}

void imap_thread_free(struct imap_thread **thread)
{
	if (*thread == NULL)
		return;
	imap_search_free(&(*thread)->search);
	free(*thread);
	*thread = NULL;
}
