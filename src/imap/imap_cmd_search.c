/* SEARCH and UID SEARCH (RFC 9051 6.4.4, RFC 3501 6.4.4, RFC 4731
 * ESEARCH, RFC 7162 3.1.5 MODSEQ), the search family's command table and
 * its sequence-set helpers. */
#include "imap/imap_search.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

#define SE IMAP_STATES_SE

const struct imap_command_def imap_commands_search[] = {
	{ "SEARCH", SE, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE, imap_cmd_search,
	  "ESEARCH SEARCHRES" },
	{ "SORT", SE, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE, imap_cmd_sort, "SORT" },
	{ "THREAD", SE, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE, imap_cmd_thread,
	  "THREAD=REFERENCES THREAD=ORDEREDSUBJECT" },
	{ "COPY", SE, IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE, imap_cmd_copy, NULL },
	{ "MOVE", SE, IMAP_CMD_UID, imap_cmd_move, "MOVE" },
	{ "EXPUNGE", SE, IMAP_CMD_UID, imap_cmd_expunge, NULL },
	{ NULL, 0, 0, NULL, "WITHIN" },
	{ NULL, 0, 0, NULL, NULL },
};

bool imap_search_charset_ok(struct imap_session *s, struct str charset)
{
	if (charset.len == 0 || str_case_eq_cstr(charset, "UTF-8") ||
	    str_case_eq_cstr(charset, "US-ASCII"))
		return true;
	imap_tagged(s, "NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
	return false;
}

int imap_seqset_ranges(const struct imap_seqset *set, uint32_t star,
		       struct mail_range **ranges_r, size_t *n_r)
{
	size_t n = 0;
	struct mail_range *r = malloc((set->count + 1) * sizeof *r);
	if (r == NULL)
		return -1;
	for (size_t i = 0; i < set->count; i++) {
		uint32_t lo = set->ranges[i].lo, hi = set->ranges[i].hi;
		lo = lo == IMAP_SEQ_STAR ? star : lo;
		hi = hi == IMAP_SEQ_STAR ? star : hi;
		if (lo > hi) {
			uint32_t t = lo;
			lo = hi;
			hi = t;
		}
		if (hi == 0)
			continue;   /* "*" of an empty folder */
		r[n++] = (struct mail_range){ lo == 0 ? 1 : lo, hi };
	}
	*ranges_r = r;
	*n_r = mail_ranges_normalize(r, n);
	return 0;
}

uint32_t imap_view_max_uid(struct imap_session *s)
{
	uint32_t count = mail_folder_count(s->folder);
	return count > 0 ? mail_folder_seq_to_uid(s->folder, count) : 0;
}

int imap_seqset_uids(struct imap_session *s, const struct imap_seqset *set, bool uid,
		     struct mail_range **uids_r, size_t *n_r, bool *bad_r)
{
	uint32_t count = mail_folder_count(s->folder);
	struct mail_range *r;
	size_t n;
	*bad_r = false;
	if (set->searchres)
		return imap_saved_uids(s, uids_r, n_r);
	if (imap_seqset_ranges(set, uid ? imap_view_max_uid(s) : count, &r, &n) < 0)
		return -1;
	if (uid) {
		*uids_r = r;
		*n_r = n;
		return 0;
	}
	if (n > 0 && r[n - 1].hi > count) {
		free(r);
		*bad_r = true;
		return -1;
	}
	int ret = mail_folder_seqs_to_uids(s->folder, r, n, uids_r, n_r);
	free(r);
	return ret;
}

void imap_write_number_set(struct buf *out, const uint32_t *v, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		if (i > 0)
			buf_append_char(out, ',');
		if (j > i)
			buf_printf(out, "%u:%u", v[i], v[j]);
		else
			buf_printf(out, "%u", v[i]);
		i = j + 1;
	}
}

/* ---- SEARCH ---- */

struct hits {
	uint32_t *v;
	size_t n, cap;
	uint64_t max_modseq;
	uint64_t first_modseq, last_modseq;   /* of v[0] and v[n - 1] */
	bool uid;
};

static int collect(void *ctx, const struct mail_msg *m)
{
	struct hits *h = ctx;
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 256;
		uint32_t *v = realloc(h->v, cap * sizeof *v);
		if (v == NULL)
			return -1;
		h->v = v;
		h->cap = cap;
	}
	h->v[h->n++] = h->uid ? m->uid : m->seq;
	if (h->n == 1)
		h->first_modseq = m->modseq;
	h->last_modseq = m->modseq;
	if (m->modseq > h->max_modseq)
		h->max_modseq = m->modseq;
	return 0;
}

/* "* SEARCH 2 3 5" (RFC 9051 7.3.4 for IMAP4rev1; with MODSEQ, RFC 7162). */
static void write_search(struct imap_session *s, const struct hits *h, bool modseq)
{
	buf_append_str(&s->out, "* SEARCH");
	for (size_t i = 0; i < h->n; i++)
		buf_printf(&s->out, " %u", h->v[i]);
	if (modseq && h->n > 0)
		buf_printf(&s->out, " (MODSEQ %llu)", (unsigned long long)h->max_modseq);
	buf_append_str(&s->out, "\r\n");
}

/* RFC 4731 3.2, RFC 7162 3.1.5: with ALL or COUNT, the highest modseq of
 * all the messages found; with only MIN and/or MAX, that of the messages
 * returned. */
static uint64_t esearch_modseq(const struct hits *h, unsigned ret)
{
	bool min = ret & IMAP_SEARCH_RETURN_MIN, max = ret & IMAP_SEARCH_RETURN_MAX;
	if ((ret & (IMAP_SEARCH_RETURN_ALL | IMAP_SEARCH_RETURN_COUNT)) || (!min && !max))
		return h->max_modseq;
	if (min && max)
		return h->first_modseq > h->last_modseq ? h->first_modseq : h->last_modseq;
	return min ? h->first_modseq : h->last_modseq;
}

/* "* ESEARCH (TAG "a") UID MIN 2 MAX 5 COUNT 3 ALL 2:3,5" (RFC 4731 3.1). */
static void write_esearch(struct imap_session *s, const struct hits *h, unsigned ret,
			  bool modseq)
{
	buf_append_str(&s->out, "* ESEARCH (TAG ");
	imap_write_string(&s->out, str_from(s->tag));
	buf_append_char(&s->out, ')');
	if (s->uid)
		buf_append_str(&s->out, " UID");
	if (ret & IMAP_SEARCH_RETURN_MIN && h->n > 0)
		buf_printf(&s->out, " MIN %u", h->v[0]);
	if (ret & IMAP_SEARCH_RETURN_MAX && h->n > 0)
		buf_printf(&s->out, " MAX %u", h->v[h->n - 1]);
	if (ret & IMAP_SEARCH_RETURN_COUNT)
		buf_printf(&s->out, " COUNT %zu", h->n);
	if (ret & IMAP_SEARCH_RETURN_ALL && h->n > 0) {
		buf_append_str(&s->out, " ALL ");
		imap_write_number_set(&s->out, h->v, h->n);
	}
	if (modseq && h->n > 0)
		buf_printf(&s->out, " MODSEQ %llu", (unsigned long long)esearch_modseq(h, ret));
	buf_append_str(&s->out, "\r\n");
}

/* RFC 5182 2.1 (RFC 9051 6.4.4.1): what SAVE keeps. With MIN and/or MAX
 * but neither ALL nor COUNT, only those messages; else all found. */
static int save_result(struct imap_session *s, const struct hits *h, unsigned ret)
{
	unsigned mm = IMAP_SEARCH_RETURN_MIN | IMAP_SEARCH_RETURN_MAX;
	if ((ret & mm) && !(ret & (IMAP_SEARCH_RETURN_ALL | IMAP_SEARCH_RETURN_COUNT)) &&
	    h->n > 0) {
		uint32_t v[2];
		size_t n = 0;
		if (ret & IMAP_SEARCH_RETURN_MIN)
			v[n++] = h->v[0];
		if ((ret & IMAP_SEARCH_RETURN_MAX) && (n == 0 || h->v[h->n - 1] != v[0]))
			v[n++] = h->v[h->n - 1];
		return imap_saved_set(s, v, n, h->uid);
	}
	return imap_saved_set(s, h->v, h->n, h->uid);
}

struct search_ctx {
	struct imap_search *search;
	struct imap_search_run *run;
	struct hits h;
	bool modseq;
};

static void search_ctx_free(void *p)
{
	struct search_ctx *c = p;
	imap_search_end(&c->run);
	imap_search_free(&c->search);
	free(c->h.v);
	free(c);
}

/* Parses and prepares; on 0, s->cmd_ctx holds the state. */
static int search_start(struct imap_session *s)
{
	struct imap_search *search = NULL;
	const char *err = NULL;
	if (imap_parse_search(s->args, &search, &err) < 0) {
		imap_bad(s, err);
		return -1;
	}
	bool save = search->ret & IMAP_SEARCH_RETURN_SAVE;
	bool charset_ok = imap_search_charset_ok(s, search->charset);
	struct search_ctx *c = charset_ok ? calloc(1, sizeof *c) : NULL;
	if (c == NULL) {
		if (save)   /* a failed SEARCH (SAVE) empties "$" (RFC 5182 2.1) */
			imap_saved_clear(s);
		if (charset_ok)
			imap_tagged(s, "NO [SERVERBUG] Out of memory");
		imap_search_free(&search);
		return -1;
	}
	c->search = search;
	c->h.uid = s->uid;
	s->cmd_ctx = c;
	s->cmd_ctx_free = search_ctx_free;
	if (imap_search_begin(s, search, 0, &c->run, &c->modseq) < 0) {
		if (save)
			imap_saved_clear(s);
		return -1;
	}
	return 0;
}

int imap_cmd_search(struct imap_session *s)
{
	const char *err = NULL;
	if (s->cmd_ctx == NULL && search_start(s) < 0)
		return 1;
	struct search_ctx *c = s->cmd_ctx;
	struct imap_search *search = c->search;
	bool save = search->ret & IMAP_SEARCH_RETURN_SAVE;
	int r = imap_search_step(c->run, collect, &c->h, &err);
	if (r == 0)
		return 0;   /* the next slice, after others had their turn */
	if (r < 0 || (save && save_result(s, &c->h, search->ret) < 0)) {
		log_err("imap %s: SEARCH in %s: %s", s->id, s->folder_name, err ? err : "?");
		if (save)
			imap_saved_clear(s);
		imap_tagged(s, "NO [SERVERBUG] SEARCH failed");
		return 1;
	}
	if (c->modseq)   /* RFC 7162 3.1: a CONDSTORE enabling command */
		s->enabled |= IMAP_ENABLED_CONDSTORE;
	unsigned ret = search->esearch ? search->ret : IMAP_SEARCH_RETURN_ALL;
	/* RETURN (SAVE) alone answers with no ESEARCH (RFC 5182 2.1). */
	bool quiet = ret == IMAP_SEARCH_RETURN_SAVE;
	if (!quiet && (search->esearch || (s->enabled & IMAP_ENABLED_REV2)))
		write_esearch(s, &c->h, ret, c->modseq);
	else if (!quiet)
		write_search(s, &c->h, c->modseq);
	imap_tagged(s, "OK %sSEARCH completed", s->uid ? "UID " : "");
	return 1;
}
