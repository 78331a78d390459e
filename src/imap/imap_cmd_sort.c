/* SORT and THREAD (RFC 5256; DISPLAYFROM/DISPLAYTO of RFC 5957), on the
 * messages a SEARCH key list selects. Keys come from the index's cached
 * fields: no message file is read unless a BODY/TEXT key asks for it. */
#include "imap/imap_search.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap_thread.h"
#include "lib/log.h"
#include "msg/address.h"
#include "msg/encoded_word.h"

#define SORT_TEXT_MAX (64 * 1024)

/* Copy folded as RFC 5256's i;ascii-casemap compares: ASCII letters in
 * upper case (RFC 4790 9.2), so "_" and "[" sort after the letters. */
static char *casemap_dup(struct str s)
{
	char *d = malloc(s.len + 1);
	if (d == NULL)
		return NULL;
	for (size_t i = 0; i < s.len; i++)
		d[i] = s.p[i] >= 'a' && s.p[i] <= 'z' ? (char)(s.p[i] - 32) : s.p[i];
	d[s.len] = '\0';
	return d;
}

/* addr-mailbox of the first address (RFC 5256 3), or with display the
 * decoded display name, else addr-spec (RFC 5957). "" when none. */
static char *address_key(const char *value, bool display)
{
	struct msg_address_list *l = NULL;
	const char *err;
	char *r = NULL;
	if (value != NULL && msg_address_parse(str_from(value), &l, &err) == 0) {
		for (size_t i = 0; i < l->count && r == NULL; i++) {
			const struct msg_address *a = &l->addrs[i];
			if (a->kind != MSG_ADDR_MAILBOX)
				continue;
			struct buf b;
			buf_init(&b, SORT_TEXT_MAX);
			if (display && a->name.p != NULL && a->name.len > 0)
				(void)msg_encoded_words_decode(a->name, &b);
			else if (display)
				(void)msg_address_write_addr_spec(&b, a);
			else if (a->mailbox.p != NULL)
				(void)buf_append(&b, a->mailbox.p, a->mailbox.len);
			r = casemap_dup(buf_str(&b));
			buf_free(&b);
		}
		msg_address_list_free(&l);
	}
	return r != NULL ? r : casemap_dup(STR_LIT(""));
}

struct sort_ctx {
	struct imap_sort *sort;
	struct imap_thread_msg *msgs;
	size_t n, cap;
	bool failed;
};

static bool wants(const struct imap_sort *sort, enum imap_sort_key key)
{
	for (size_t i = 0; i < sort->criteria_count; i++)
		if (sort->criteria[i].key == key)
			return true;
	return false;
}

static int sort_collect(void *ctx, const struct mail_msg *m)
{
	struct sort_ctx *c = ctx;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct imap_thread_msg *v = realloc(c->msgs, cap * sizeof *v);
		if (v == NULL)
			return -1;
		c->msgs = v;
		c->cap = cap;
	}
	struct imap_thread_msg *t = &c->msgs[c->n];
	memset(t, 0, sizeof *t);
	t->uid = m->uid;
	t->seq = m->seq;
	t->size = m->vsize;
	t->modseq = m->modseq;
	t->arrival = m->internal_date;
	t->date = m->date_sent != 0 ? m->date_sent : m->internal_date;
	const struct imap_sort *s = c->sort;
	bool disp = wants(s, IMAP_SORT_DISPLAYFROM) || wants(s, IMAP_SORT_DISPLAYTO);
	if (wants(s, IMAP_SORT_FROM) || wants(s, IMAP_SORT_DISPLAYFROM))
		t->from = address_key(m->h_from, disp);
	if (wants(s, IMAP_SORT_TO) || wants(s, IMAP_SORT_DISPLAYTO))
		t->to = address_key(m->h_to, disp);
	if (wants(s, IMAP_SORT_CC))
		t->cc = address_key(m->h_cc, false);
	if (wants(s, IMAP_SORT_SUBJECT))
		t->subject = imap_base_subject(m->h_subject, NULL);
	c->n++;
	return 0;
}

/* qsort has no context argument; commands run on worker threads. */
static __thread const struct imap_sort *tl_sort;

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

static int cmp_num(long long a, long long b)
{
	return a < b ? -1 : a > b;
}

static int sort_cmp(const void *pa, const void *pb)
{
	const struct imap_thread_msg *a = pa, *b = pb;
	const struct imap_sort *s = tl_sort;
	for (size_t i = 0; i < s->criteria_count; i++) {
		int r = 0;
		switch (s->criteria[i].key) {
		case IMAP_SORT_ARRIVAL: r = cmp_num(a->arrival, b->arrival); break;
		case IMAP_SORT_DATE: r = cmp_num(a->date, b->date); break;
		case IMAP_SORT_SIZE: r = cmp_num((long long)a->size, (long long)b->size); break;
		case IMAP_SORT_CC: r = cmp_str(a->cc, b->cc); break;
		case IMAP_SORT_FROM:
		case IMAP_SORT_DISPLAYFROM: r = cmp_str(a->from, b->from); break;
		case IMAP_SORT_TO:
		case IMAP_SORT_DISPLAYTO: r = cmp_str(a->to, b->to); break;
		case IMAP_SORT_SUBJECT: r = cmp_str(a->subject, b->subject); break;
		}
		if (r != 0)
			return s->criteria[i].reverse ? -r : r;
	}
	return cmp_num(a->seq, b->seq);   /* RFC 5256 3: ties by sequence number */
}

/* "* SORT 3 1 2", with "(MODSEQ n)" after a MODSEQ key (RFC 7162 3.1.5). */
static void write_sort(struct imap_session *s, const struct sort_ctx *c, bool modseq)
{
	uint64_t max = 0;
	buf_append_str(&s->out, "* SORT");
	for (size_t i = 0; i < c->n; i++) {
		buf_printf(&s->out, " %u", s->uid ? c->msgs[i].uid : c->msgs[i].seq);
		if (c->msgs[i].modseq > max)
			max = c->msgs[i].modseq;
	}
	if (modseq && c->n > 0) {
		buf_printf(&s->out, " (MODSEQ %llu)", (unsigned long long)max);
		s->enabled |= IMAP_ENABLED_CONDSTORE;
	}
	buf_append_str(&s->out, "\r\n");
}

struct sort_cmd {
	struct imap_search_run *run;
	struct sort_ctx c;
	bool modseq;
};

static void sort_cmd_free(void *p)
{
	struct sort_cmd *x = p;
	imap_search_end(&x->run);
	imap_thread_msgs_free(x->c.msgs, x->c.n);
	imap_sort_free(&x->c.sort);
	free(x);
}

/* Parses and prepares; on 0, s->cmd_ctx holds the state. */
static int sort_start(struct imap_session *s)
{
	struct imap_sort *sort = NULL;
	const char *err = NULL;
	if (imap_parse_sort(s->args, &sort, &err) < 0) {
		imap_bad(s, err);
		return -1;
	}
	if (!imap_search_charset_ok(s, sort->charset)) {
		imap_sort_free(&sort);
		return -1;
	}
	struct sort_cmd *x = calloc(1, sizeof *x);
	if (x == NULL) {
		imap_sort_free(&sort);
		imap_tagged(s, "NO [SERVERBUG] Out of memory");
		return -1;
	}
	x->c.sort = sort;
	s->cmd_ctx = x;
	s->cmd_ctx_free = sort_cmd_free;
	return imap_search_begin(s, sort->search, MAIL_FETCH_HEADERS, &x->run, &x->modseq);
}

int imap_cmd_sort(struct imap_session *s)
{
	if (s->cmd_ctx == NULL && sort_start(s) < 0)
		return 1;
	struct sort_cmd *x = s->cmd_ctx;
	int r = imap_search_cmd_step(s, x->run, sort_collect, &x->c);
	if (r <= 0)
		return r < 0;   /* 0: the next slice, after others had their turn */
	tl_sort = x->c.sort;
	if (x->c.n > 1)
		qsort(x->c.msgs, x->c.n, sizeof *x->c.msgs, sort_cmp);
	write_sort(s, &x->c, x->modseq);
	imap_tagged(s, "OK %sSORT completed", s->uid ? "UID " : "");
	return 1;
}
