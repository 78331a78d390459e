/* LIST and LSUB (RFC 9051 6.3.9, RFC 3501 6.3.9, RFC 5258 LIST-EXTENDED,
 * RFC 5819 LIST-STATUS, RFC 6154 SPECIAL-USE, RFC 3348 CHILDREN).
 *
 * The store lists every folder, the hierarchy levels that have no folder
 * of their own (\Noselect) and the subscribed names that do not exist.
 * We add every ancestor of those (so LSUB and RECURSIVEMATCH can name a
 * parent), decide for each name whether it passes the selection options
 * and whether it matches a pattern, then mark the matching ancestors of
 * selected names that the patterns do not reach (CHILDINFO; LSUB's
 * \Noselect parents). */
#include "imap/imap_mailbox.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap/imap_mutf7.h"
#include "lib/utf8.h"
#include "lib/log.h"

/* A pattern longer than this cannot match a name once its runs of
 * wildcards are collapsed: each other byte must meet a byte of the name. */
#define PAT_MAX (2 * MAIL_NAME_MAX + 2)

/* Steps of the matcher one command may take (each step is cheap): a
 * user with many folders and 64 patterns full of wildcards gets NO
 * [LIMIT] instead of a busy worker thread. */
#define MATCH_BUDGET (64ULL * 1024 * 1024)

#define SPECIAL_ATTRS (MAIL_ATTR_SENT | MAIL_ATTR_DRAFTS | MAIL_ATTR_TRASH | \
		       MAIL_ATTR_JUNK | MAIL_ATTR_ARCHIVE)

struct lent {
	char *name;             /* UTF-8, owned */
	unsigned attrs;         /* enum mail_folder_attr */
	bool synthetic;         /* an ancestor we added */
	bool selected, matched, childinfo;
};

struct lctx {
	const struct imap_list *l;
	bool lsub;
	char pats[IMAP_LIST_PATTERNS_MAX][PAT_MAX + 1];
	size_t pat_len[IMAP_LIST_PATTERNS_MAX];
	size_t npats;
	bool want_delim;        /* an empty pattern: the delimiter */
	uint64_t budget;        /* matcher steps left */
	struct lent *v;
	size_t n, cap;
};

static void lctx_free(struct lctx *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i].name);
	free(c->v);
	free(c);
}

/* "*" matches anything, "%" anything but "/": one pass over the name,
 * keeping the set of pattern positions reached (no backtracking: at most
 * name length x pattern length steps, taken from *budget). */
static bool wild_match(const char *pat, size_t m, const char *name, uint64_t *budget)
{
	bool st[PAT_MAX + 1], nx[PAT_MAX + 1];
	memset(st, 0, m + 1);
	st[0] = true;
	for (size_t j = 0; j < m; j++)
		st[j + 1] |= st[j] && (pat[j] == '*' || pat[j] == '%');
	for (const char *c = name; *c != '\0'; c++) {
		bool any = false;
		if (*budget < m + 1) {
			*budget = 0;   /* spent: the command fails */
			return false;
		}
		*budget -= m + 1;
		memset(nx, 0, m + 1);
		for (size_t j = 0; j < m; j++) {
			if (!st[j])
				continue;
			if (pat[j] == '*' || (pat[j] == '%' && *c != '/'))
				nx[j] = any = true;
			else if (pat[j] == *c)
				nx[j + 1] = any = true;
		}
		if (!any)
			return false;
		for (size_t j = 0; j < m; j++)
			nx[j + 1] |= nx[j] && (pat[j] == '*' || pat[j] == '%');
		memcpy(st, nx, m + 1);
	}
	return st[m];
}

/* Client spelling (modified UTF-7, or UTF-8 once enabled) to UTF-8. */
static int to_utf8(struct imap_session *s, struct str in, struct buf *out)
{
	const char *err;
	for (size_t i = 0; i < in.len; i++)
		if (in.p[i] == '\0')
			return -1;
	if (s->enabled & (IMAP_ENABLED_UTF8 | IMAP_ENABLED_REV2))
		return utf8_valid(in) ? buf_append(out, in.p, in.len) : -1;
	return imap_mutf7_to_utf8(in, out, &err);
}

/* reference + pattern, in UTF-8, runs of wildcards collapsed, INBOX in
 * capitals (its name is case-insensitive). false: matches nothing. */
static bool make_pattern(struct imap_session *s, struct lctx *c, struct str pattern)
{
	struct buf b;
	bool ok = false;
	buf_init(&b, 4 * PAT_MAX);
	if (to_utf8(s, c->l->reference, &b) < 0 || to_utf8(s, pattern, &b) < 0)
		goto out;
	char *p = c->pats[c->npats];
	size_t m = 0;
	for (size_t i = 0; i < b.len; i++) {
		char ch = b.data[i];
		bool wild = ch == '*' || ch == '%';
		if (wild && m > 0 && (p[m - 1] == '*' || p[m - 1] == '%')) {
			if (ch == '*')
				p[m - 1] = '*';
			continue;
		}
		if (m == PAT_MAX)
			goto out;
		p[m++] = ch;
	}
	p[m] = '\0';
	/* strchr finds the NUL too: "inbox" alone is INBOX. */
	if (m >= 5 && strncasecmp(p, "INBOX", 5) == 0 && strchr("/%*", p[5]) != NULL)
		memcpy(p, "INBOX", 5);
	c->pat_len[c->npats++] = m;
	ok = true;
out:
	buf_free(&b);
	return ok;
}

static int add(struct lctx *c, const char *name, size_t len, unsigned attrs, bool synthetic)
{
	if (c->n == c->cap) {
		size_t cap = c->cap < 32 ? 32 : c->cap * 2;
		struct lent *v = realloc(c->v, cap * sizeof *v);
		if (v == NULL)
			return -1;
		c->v = v;
		c->cap = cap;
	}
	char *copy = strndup(name, len);
	if (copy == NULL)
		return -1;
	c->v[c->n++] = (struct lent){ .name = copy, .attrs = attrs, .synthetic = synthetic };
	return 0;
}

static int lent_cmp(const void *a, const void *b)
{
	const struct lent *x = a, *y = b;
	int r = strcmp(x->name, y->name);
	return r != 0 ? r : (int)x->synthetic - (int)y->synthetic;
}

static struct lent *find(struct lctx *c, const char *name, size_t len)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strncmp(c->v[mid].name, name, len);
		if (r == 0 && c->v[mid].name[len] != '\0')
			r = 1;
		if (r == 0)
			return &c->v[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The store's list plus every missing ancestor, sorted, one per name. */
static int load(struct imap_session *s, struct lctx *c, const char **error_r)
{
	struct mail_folder_info *infos;
	size_t count;
	if (mail_store_list(s->store, &infos, &count, error_r) < 0)
		return -1;
	int r = 0;
	for (size_t i = 0; i < count && r == 0; i++)
		r = add(c, infos[i].name, strlen(infos[i].name), infos[i].attrs, false);
	mail_folder_info_free(&infos, count);
	for (size_t i = 0, n = c->n; i < n && r == 0; i++) {
		for (const char *p = c->v[i].name; r == 0 && (p = strchr(p, '/')) != NULL; p++)
			r = add(c, c->v[i].name, (size_t)(p - c->v[i].name),
				MAIL_ATTR_NONEXISTENT | MAIL_ATTR_NOSELECT, true);
	}
	if (r < 0) {
		*error_r = "out of memory";
		return -1;
	}
	qsort(c->v, c->n, sizeof *c->v, lent_cmp);
	size_t k = 0;
	for (size_t i = 0; i < c->n; i++) {
		if (k > 0 && strcmp(c->v[k - 1].name, c->v[i].name) == 0)
			free(c->v[i].name);
		else
			c->v[k++] = c->v[i];
	}
	c->n = k;
	return 0;
}

static void classify(struct lctx *c)
{
	unsigned sel = c->l->select;
	bool by_subs = c->lsub || (sel & IMAP_LIST_SEL_SUBSCRIBED);
	for (size_t i = 0; i < c->n; i++) {
		struct lent *e = &c->v[i];
		e->selected = by_subs ? (e->attrs & MAIL_ATTR_SUBSCRIBED) != 0 :
			      !(e->attrs & MAIL_ATTR_NONEXISTENT);
		if (sel & IMAP_LIST_SEL_SPECIAL_USE)
			e->selected = e->selected && (e->attrs & SPECIAL_ATTRS) &&
				      !(e->attrs & MAIL_ATTR_NONEXISTENT);
		for (size_t p = 0; p < c->npats && !e->matched; p++)
			e->matched = wild_match(c->pats[p], c->pat_len[p], e->name, &c->budget);
	}
	if (!c->lsub && !(sel & IMAP_LIST_SEL_RECURSIVEMATCH))
		return;
	/* RFC 5258 3.5 / RFC 3501 6.3.9: a matching parent of a selected
	 * name that no pattern reaches is returned for it. */
	for (size_t i = 0; i < c->n; i++) {
		struct lent *e = &c->v[i];
		if (!e->selected || e->matched)
			continue;
		for (const char *p = e->name; (p = strchr(p, '/')) != NULL; p++) {
			struct lent *a = find(c, e->name, (size_t)(p - e->name));
			if (a != NULL && a->matched)
				a->childinfo = true;
		}
	}
}

static void write_attrs(struct imap_session *s, struct lctx *c, const struct lent *e)
{
	static const struct { unsigned bit; const char *name; } su[] = {
		{ MAIL_ATTR_SENT, "\\Sent" }, { MAIL_ATTR_DRAFTS, "\\Drafts" },
		{ MAIL_ATTR_TRASH, "\\Trash" }, { MAIL_ATTR_JUNK, "\\Junk" },
		{ MAIL_ATTR_ARCHIVE, "\\Archive" },
	};
	const char *at[4 + sizeof su / sizeof su[0]];
	size_t n = 0;
	unsigned a = e->attrs;
	if (c->lsub) {
		if ((a & MAIL_ATTR_NOSELECT) || !e->selected)
			at[n++] = "\\Noselect";
	} else {
		bool subs = (c->l->ret & IMAP_LIST_RET_SUBSCRIBED) ||
			    (c->l->select & IMAP_LIST_SEL_SUBSCRIBED);
		/* RFC 5258 3.4: \NonExistent implies \Noselect. */
		if (a & MAIL_ATTR_NONEXISTENT)
			at[n++] = "\\NonExistent";
		else if (a & MAIL_ATTR_NOSELECT)
			at[n++] = "\\Noselect";
		if (a & MAIL_ATTR_HAS_CHILDREN)
			at[n++] = "\\HasChildren";
		else if (!(a & MAIL_ATTR_NONEXISTENT))
			at[n++] = "\\HasNoChildren";
		if (subs && (a & MAIL_ATTR_SUBSCRIBED))
			at[n++] = "\\Subscribed";
		for (size_t i = 0; i < sizeof su / sizeof su[0]; i++)
			if ((a & su[i].bit) && !(a & MAIL_ATTR_NONEXISTENT))
				at[n++] = su[i].name;
	}
	buf_append_char(&s->out, '(');
	for (size_t i = 0; i < n; i++)
		buf_printf(&s->out, "%s%s", i > 0 ? " " : "", at[i]);
	buf_append_char(&s->out, ')');
}

static void write_entry(struct imap_session *s, struct lctx *c, const struct lent *e)
{
	const char *err = NULL;
	buf_printf(&s->out, "* %s ", c->lsub ? "LSUB" : "LIST");
	write_attrs(s, c, e);
	buf_append_str(&s->out, " \"/\" ");
	imap_write_mailbox(s, &s->out, e->name);
	if (!c->lsub && e->childinfo)
		buf_append_str(&s->out, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	buf_append_str(&s->out, "\r\n");
	/* RFC 5819: the STATUS of each selectable mailbox follows its LIST. */
	if ((c->l->ret & IMAP_LIST_RET_STATUS) &&
	    !(e->attrs & (MAIL_ATTR_NOSELECT | MAIL_ATTR_NONEXISTENT)) &&
	    imap_mailbox_status_line(s, e->name, c->l->status_items, &err) < 0)
		log_info("imap %s: LIST-STATUS of %s: %s", s->id, e->name, err ? err : "?");
}

static void write_all(struct imap_session *s, struct lctx *c)
{
	if (c->want_delim) {
		/* RFC 9051 6.3.9: the delimiter and the (empty) root name. */
		buf_printf(&s->out, "* %s (\\Noselect) \"/\" \"\"\r\n", c->lsub ? "LSUB" : "LIST");
	}
	/* INBOX first, as clients like it; then the others in name order. */
	struct lent *inbox = find(c, "INBOX", 5);
	for (size_t i = 0; i <= c->n; i++) {
		struct lent *e = i == 0 ? inbox : &c->v[i - 1];
		if (e == NULL || (i > 0 && e == inbox))
			continue;
		if (e->matched && (e->selected || e->childinfo))
			write_entry(s, c, e);
	}
}

static int do_list(struct imap_session *s, bool lsub)
{
	struct imap_list *l = NULL;
	const char *err = NULL;
	if (imap_parse_list(s->args, lsub, &l, &err) < 0) {
		imap_bad(s, err);
		return 1;
	}
	/* RFC 5258 6: RECURSIVEMATCH modifies SUBSCRIBED only. */
	if ((l->select & IMAP_LIST_SEL_RECURSIVEMATCH) &&
	    !(l->select & IMAP_LIST_SEL_SUBSCRIBED)) {
		imap_list_free(&l);
		imap_bad(s, "RECURSIVEMATCH needs SUBSCRIBED");
		return 1;
	}
	struct lctx *c = calloc(1, sizeof *c);
	if (c == NULL) {
		imap_list_free(&l);
		imap_tagged(s, "NO [SERVERBUG] Out of memory");
		return 1;
	}
	c->l = l;
	c->lsub = lsub;
	c->budget = MATCH_BUDGET;
	for (size_t i = 0; i < l->pattern_count; i++) {
		if (l->patterns[i].len == 0)
			c->want_delim = true;
		else
			(void)make_pattern(s, c, l->patterns[i]);
	}
	if (c->npats > 0 && load(s, c, &err) < 0) {
		imap_store_error(s, lsub ? "LSUB" : "LIST", err);
	} else {
		classify(c);
		if (c->budget == 0) {
			imap_tagged(s, "NO [LIMIT] Patterns too complex");
		} else {
			write_all(s, c);
			imap_tagged(s, "OK %s completed", lsub ? "LSUB" : "LIST");
		}
	}
	lctx_free(c);
	imap_list_free(&l);
	return 1;
}

int imap_cmd_list(struct imap_session *s) { return do_list(s, false); }
int imap_cmd_lsub(struct imap_session *s) { return do_list(s, true); }
