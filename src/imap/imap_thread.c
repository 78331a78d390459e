/* THREAD=ORDEREDSUBJECT and THREAD=REFERENCES (RFC 5256 2.1, 3, 4), and
 * base subject extraction (also used by SORT SUBJECT). */
#include "imap/imap_thread.h"

#include <stdlib.h>
#include <string.h>

#include "imap/imap_search.h"
#include "lib/log.h"
#include "msg/encoded_word.h"

#define SUBJECT_MAX (64 * 1024)
#define THREAD_DEPTH_MAX 1000    /* bounds recursion on hostile References */
#define REFS_MAX 1000            /* message-ids of one References field used */

void imap_thread_msgs_free(struct imap_thread_msg *msgs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(msgs[i].from);
		free(msgs[i].to);
		free(msgs[i].cc);
		free(msgs[i].subject);
		free(msgs[i].msgid);
		free(msgs[i].refs);
	}
	free(msgs);
}

/* ---- base subject (RFC 5256 2.1) ---- */

static bool starts(const char *p, size_t len, const char *lit)
{
	size_t n = strlen(lit);
	return len >= n && memcmp(p, lit, n) == 0;
}

/* Length of a subj-blob "[...]" *WSP at p, or 0. */
static size_t blob_len(const char *p, size_t len)
{
	if (len == 0 || p[0] != '[')
		return 0;
	size_t i = 1;
	while (i < len && p[i] != '[' && p[i] != ']')
		i++;
	if (i >= len || p[i] != ']')
		return 0;
	i++;
	while (i < len && p[i] == ' ')
		i++;
	return i;
}

/* Length of a subj-leader's subj-refwd (with blobs before it), or 0. */
static size_t refwd_len(const char *p, size_t len)
{
	size_t i = 0, b;
	while ((b = blob_len(p + i, len - i)) > 0)
		i += b;
	if (starts(p + i, len - i, "RE"))
		i += 2;
	else if (starts(p + i, len - i, "FWD"))
		i += 3;
	else if (starts(p + i, len - i, "FW"))
		i += 2;
	else
		return 0;
	while (i < len && p[i] == ' ')
		i++;
	i += blob_len(p + i, len - i);
	return i < len && p[i] == ':' ? i + 1 : 0;
}

/* Steps 2 to 5 on d[*start..*end). */
static void strip_subject(const char *d, size_t *start, size_t *end, bool *reply)
{
	size_t s = *start, e = *end;
	for (;;) {
		for (;;) {   /* (2) subj-trailer */
			if (e > s && d[e - 1] == ' ')
				e--;
			else if (e - s >= 5 && memcmp(d + e - 5, "(FWD)", 5) == 0)
				e -= 5, *reply = true;
			else
				break;
		}
		bool changed = true;
		while (changed) {   /* (3) and (4) */
			size_t n;
			changed = false;
			if (s < e && d[s] == ' ') {
				s++;
				changed = true;
			} else if ((n = refwd_len(d + s, e - s)) > 0) {
				s += n;
				*reply = changed = true;
			} else if ((n = blob_len(d + s, e - s)) > 0 && n < e - s) {
				s += n;
				changed = true;
			}
		}
		/* (6) [fwd: ... ] */
		if (e - s >= 6 && memcmp(d + s, "[FWD:", 5) == 0 && d[e - 1] == ']') {
			s += 5;
			e--;
			*reply = true;
			continue;
		}
		break;
	}
	*start = s;
	*end = e;
}

char *imap_base_subject(const char *raw, bool *reply_r)
{
	struct buf dec, b;
	bool reply = false;
	buf_init(&dec, SUBJECT_MAX);
	buf_init(&b, SUBJECT_MAX);
	if (raw != NULL)
		(void)msg_encoded_words_decode(str_from(raw), &dec);
	/* (1) white space runs to one SP; upper case, as i;ascii-casemap
	 * folds (RFC 4790 9.2), so that "[" and "_" sort after letters */
	struct str d = buf_str(&dec);
	for (size_t i = 0; i < d.len; i++) {
		char c = d.p[i];
		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && b.len > 0 && b.data[b.len - 1] == ' ')
			continue;
		if (buf_append_char(&b, c >= 'a' && c <= 'z' ? (char)(c - 32) : c) < 0)
			break;
	}
	size_t s = 0, e = b.len;
	strip_subject(buf_str(&b).p, &s, &e, &reply);
	char *r = malloc(e - s + 1);
	if (r != NULL) {
		memcpy(r, buf_str(&b).p + s, e - s);
		r[e - s] = '\0';
	}
	buf_free(&dec);
	buf_free(&b);
	if (reply_r != NULL)
		*reply_r = reply;
	return r;
}

/* ---- the thread tree ---- */

struct cont {
	int msg;                 /* index in msgs, -1 for a dummy */
	int parent, first, last, next;
	struct str id;
	time_t date;             /* of the message, or of a dummy's first child */
	uint32_t seq;
	bool removed;
};

struct tree {
	struct imap_thread_msg *msgs;
	size_t nmsgs;
	struct cont *c;
	size_t n, cap;
	int *table;              /* open addressing on id: container index or -1 */
	size_t tsize;
};

static int new_cont(struct tree *t, int msg, struct str id)
{
	if (t->n >= t->cap)
		abort();   /* cap is counted from the input before */
	t->c[t->n] = (struct cont){ .msg = msg, .parent = -1, .first = -1, .last = -1,
				    .next = -1, .id = id };
	return (int)t->n++;
}

static size_t hash_str(struct str s)
{
	size_t h = 2166136261u;
	for (size_t i = 0; i < s.len; i++)
		h = (h ^ (unsigned char)s.p[i]) * 16777619u;
	return h;
}

static int lookup(struct tree *t, struct str id)
{
	size_t i = hash_str(id) & (t->tsize - 1);
	while (t->table[i] >= 0) {
		if (str_eq(t->c[t->table[i]].id, id))
			return t->table[i];
		i = (i + 1) & (t->tsize - 1);
	}
	return t->table[i] = new_cont(t, -1, id);
}

/* The next "<...>" of s from *pos; false at the end. */
static bool next_id(const char *s, size_t *pos, struct str *id_r)
{
	const char *lt = s != NULL ? strchr(s + *pos, '<') : NULL;
	const char *gt = lt != NULL ? strchr(lt, '>') : NULL;
	if (gt == NULL)
		return false;
	*id_r = (struct str){ lt, (size_t)(gt - lt) + 1 };
	*pos = (size_t)(gt - s) + 1;
	return true;
}

/* Depth of node, or -1 when anc is node or one of its ancestors. */
static int depth_below(struct tree *t, int node, int anc)
{
	int d = 0;
	for (int x = node; x >= 0; x = t->c[x].parent, d++)
		if (x == anc)
			return -1;
	return d;
}

static void unlink_cont(struct tree *t, int ch)
{
	int p = t->c[ch].parent, prev = -1;
	if (p < 0)
		return;
	for (int x = t->c[p].first; x >= 0 && x != ch; x = t->c[x].next)
		prev = x;
	if (prev < 0)
		t->c[p].first = t->c[ch].next;
	else
		t->c[prev].next = t->c[ch].next;
	if (t->c[p].last == ch)
		t->c[p].last = prev;
	t->c[ch].parent = t->c[ch].next = -1;
}

static void add_kid(struct tree *t, int p, int ch)
{
	t->c[ch].parent = p;
	t->c[ch].next = -1;
	if (t->c[p].last < 0)
		t->c[p].first = ch;
	else
		t->c[t->c[p].last].next = ch;
	t->c[p].last = ch;
}

/* Links ch under p unless that makes a loop or too deep a tree. */
static void link_safe(struct tree *t, int p, int ch)
{
	int d = depth_below(t, p, ch);
	if (d < 0 || d >= THREAD_DEPTH_MAX)
		return;
	unlink_cont(t, ch);
	add_kid(t, p, ch);
}

/* RFC 5256 REFERENCES step 1. */
static void link_message(struct tree *t, size_t i)
{
	struct imap_thread_msg *m = &t->msgs[i];
	int c = m->msgid != NULL ? lookup(t, str_from(m->msgid)) : -1;
	if (c < 0 || t->c[c].msg >= 0)   /* no or a duplicate Message-ID */
		c = new_cont(t, -1, STR_LIT(""));
	t->c[c].msg = (int)i;
	size_t pos = 0, k = 0;
	int prev = -1;
	struct str id;
	while (k++ < REFS_MAX && next_id(m->refs, &pos, &id)) {
		int r = lookup(t, id);
		if (prev >= 0 && t->c[r].parent < 0)
			link_safe(t, prev, r);
		prev = r;
	}
	unlink_cont(t, c);
	if (prev >= 0 && prev != c)
		link_safe(t, prev, c);
}

/* Step 3: dummies without children go; a dummy's children take its place,
 * except at the root where only a single child does. */
static int prune(struct tree *t, int first, int parent)
{
	int head = -1, tail = -1;
	for (int x = first, nx; x >= 0; x = nx) {
		nx = t->c[x].next;
		t->c[x].first = prune(t, t->c[x].first, x);
		int last = -1;
		for (int k = t->c[x].first; k >= 0; k = t->c[k].next)
			last = k;
		t->c[x].last = last;
		int from = x, to = x;
		if (t->c[x].msg < 0) {
			if (t->c[x].first < 0) {
				t->c[x].removed = true;
				continue;
			}
			if (parent >= 0 || t->c[x].first == last) {
				from = t->c[x].first;
				to = last;
				t->c[x].removed = true;
			}
		}
		for (int k = from;; k = t->c[k].next) {
			t->c[k].parent = parent;
			if (k == to)
				break;
		}
		if (tail < 0)
			head = from;
		else
			t->c[tail].next = from;
		tail = to;
		t->c[tail].next = -1;
	}
	return head;
}

static __thread struct tree *cmp_tree;

static int cmp_date(const void *pa, const void *pb)
{
	const struct cont *a = &cmp_tree->c[*(const int *)pa], *b = &cmp_tree->c[*(const int *)pb];
	if (a->date != b->date)
		return a->date < b->date ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Step 6 (and 4): siblings by sent date, children before parents. */
static int sort_list(struct tree *t, int first)
{
	size_t n = 0;
	for (int x = first; x >= 0; x = t->c[x].next) {
		struct cont *c = &t->c[x];
		c->first = sort_list(t, c->first);
		if (c->msg >= 0) {
			c->date = t->msgs[c->msg].date;
			c->seq = t->msgs[c->msg].seq;
		} else if (c->first >= 0) {
			c->date = t->c[c->first].date;
			c->seq = t->c[c->first].seq;
		}
		n++;
	}
	if (n < 2)
		return first;
	int *a = malloc(n * sizeof *a);
	if (a == NULL)
		return first;   /* unsorted beats nothing */
	n = 0;
	for (int x = first; x >= 0; x = t->c[x].next)
		a[n++] = x;
	cmp_tree = t;
	qsort(a, n, sizeof *a, cmp_date);
	for (size_t i = 0; i < n; i++) {
		t->c[a[i]].next = i + 1 < n ? a[i + 1] : -1;
		if (t->c[a[i]].parent >= 0)
			t->c[t->c[a[i]].parent].last = a[i];
	}
	first = a[0];
	free(a);
	return first;
}

/* The message whose subject stands for a root container. */
static const struct imap_thread_msg *subject_msg(struct tree *t, int x)
{
	if (t->c[x].msg < 0)
		x = t->c[x].first;
	return x >= 0 && t->c[x].msg >= 0 ? &t->msgs[t->c[x].msg] : NULL;
}

static int *subject_slot(struct tree *t, int *table, size_t size, const char *subj)
{
	size_t i = hash_str(str_from(subj)) & (size - 1);
	while (table[i] >= 0 && strcmp(subject_msg(t, table[i])->subject, subj) != 0)
		i = (i + 1) & (size - 1);
	return &table[i];
}

/* Step 5 C: merges root x into the root in the table with its subject. */
static void merge_root(struct tree *t, int *slot, int x)
{
	int y = *slot;
	struct cont *cx = &t->c[x], *cy = &t->c[y];
	if (cx->msg < 0 && cy->msg < 0) {
		for (int k = cx->first, nk; k >= 0; k = nk) {
			nk = t->c[k].next;
			add_kid(t, y, k);
		}
		cx->first = cx->last = -1;
		cx->removed = true;
	} else if (cy->msg < 0) {
		add_kid(t, y, x);
		cx->removed = true;
	} else if (cx->msg < 0) {
		add_kid(t, x, y);
		cy->removed = true;
		*slot = x;
	} else if (!subject_msg(t, y)->reply && subject_msg(t, x)->reply) {
		add_kid(t, y, x);
		cx->removed = true;
	} else {
		int d = new_cont(t, -1, STR_LIT(""));
		add_kid(t, d, y);
		add_kid(t, d, x);
		t->c[d].parent = -1;
		cy->removed = cx->removed = true;
		*slot = d;
	}
}

/* Step 5: roots with the same base subject are gathered. Returns the new
 * root list. */
static int group_subjects(struct tree *t, int first)
{
	size_t nroot = 0, size = 16;
	for (int x = first; x >= 0; x = t->c[x].next)
		nroot++;
	while (size < 2 * nroot)
		size *= 2;
	int *roots = malloc((nroot + 1) * sizeof *roots), *table = malloc(size * sizeof *table);
	if (roots == NULL || table == NULL) {
		free(roots);
		free(table);
		return first;
	}
	memset(table, 0xff, size * sizeof *table);
	nroot = 0;
	for (int x = first; x >= 0; x = t->c[x].next)
		roots[nroot++] = x;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < nroot; i++) {
			int x = roots[i];
			const struct imap_thread_msg *m = subject_msg(t, x);
			if (t->c[x].removed || m == NULL || m->subject == NULL || !m->subject[0])
				continue;
			int *slot = subject_slot(t, table, size, m->subject);
			if (pass == 0 && (*slot < 0 || (t->c[x].msg < 0 && t->c[*slot].msg >= 0) ||
					  (subject_msg(t, *slot)->reply && !m->reply)))
				*slot = x;
			else if (pass == 1 && *slot != x)
				merge_root(t, slot, x);
		}
	}
	/* the new root list: the old roots still there, and new dummies */
	int head = -1, tail = -1;
	for (size_t i = 0; i < t->n; i++) {
		struct cont *c = &t->c[i];
		if (c->parent >= 0 || c->removed || (c->msg < 0 && c->first < 0))
			continue;
		if (tail < 0)
			head = (int)i;
		else
			t->c[tail].next = (int)i;
		tail = (int)i;
		c->next = -1;
	}
	free(roots);
	free(table);
	return head;
}

/* thread-list (RFC 5256 4): chains as "1 2 3", branches as "(4)(5)". */
static void render(struct tree *t, struct buf *out, int x, bool uid)
{
	for (;;) {
		const struct cont *c = &t->c[x];
		if (c->msg >= 0) {
			const struct imap_thread_msg *m = &t->msgs[c->msg];
			buf_printf(out, "%u", uid ? m->uid : m->seq);
		}
		if (c->first < 0)
			return;
		if (c->msg >= 0)
			buf_append_char(out, ' ');
		if (c->msg >= 0 && t->c[c->first].next < 0) {
			x = c->first;
			continue;
		}
		for (int k = c->first; k >= 0; k = t->c[k].next) {
			buf_append_char(out, '(');
			render(t, out, k, uid);
			buf_append_char(out, ')');
		}
		return;
	}
}

static int tree_init(struct tree *t, struct imap_thread_msg *msgs, size_t n)
{
	size_t cap = 3 * n + 1;
	for (size_t i = 0; i < n; i++) {
		size_t pos = 0, k = 0;
		struct str id;
		while (k++ < REFS_MAX && next_id(msgs[i].refs, &pos, &id))
			cap++;
	}
	*t = (struct tree){ .msgs = msgs, .nmsgs = n, .cap = cap, .tsize = 16 };
	while (t->tsize < 2 * cap)
		t->tsize *= 2;
	t->c = malloc(cap * sizeof *t->c);
	t->table = malloc(t->tsize * sizeof *t->table);
	if (t->c == NULL || t->table == NULL)
		return -1;
	memset(t->table, 0xff, t->tsize * sizeof *t->table);
	return 0;
}

static int cmp_subject(const void *pa, const void *pb)
{
	const struct cont *a = &cmp_tree->c[*(const int *)pa], *b = &cmp_tree->c[*(const int *)pb];
	int r = strcmp(cmp_tree->msgs[a->msg].subject, cmp_tree->msgs[b->msg].subject);
	return r != 0 ? r : cmp_date(pa, pb);
}

/* ORDEREDSUBJECT (RFC 5256 3): by base subject, then date; each group's
 * first message is the parent of the others. */
static int ordered_subject(struct tree *t)
{
	int *a = malloc((t->nmsgs + 1) * sizeof *a);
	if (a == NULL)
		return -1;
	for (size_t i = 0; i < t->nmsgs; i++) {
		a[i] = new_cont(t, (int)i, STR_LIT(""));
		t->c[a[i]].date = t->msgs[i].date;
		t->c[a[i]].seq = t->msgs[i].seq;
	}
	cmp_tree = t;
	qsort(a, t->nmsgs, sizeof *a, cmp_subject);
	int head = -1;
	for (size_t i = 0; i < t->nmsgs; i++) {
		if (i > 0 && strcmp(t->msgs[t->c[a[i]].msg].subject,
				    t->msgs[t->c[head].msg].subject) == 0) {
			add_kid(t, head, a[i]);
			continue;
		}
		head = a[i];
	}
	free(a);
	return 0;
}

static int roots_of(struct tree *t)
{
	int head = -1, tail = -1;
	for (size_t i = 0; i < t->n; i++) {
		if (t->c[i].parent >= 0)
			continue;
		if (tail < 0)
			head = (int)i;
		else
			t->c[tail].next = (int)i;
		tail = (int)i;
		t->c[i].next = -1;
	}
	return head;
}

/* REFERENCES (RFC 5256 3). Returns the root list. */
/* Cuts every THREAD_DEPTH_MAX-th level off as a root of its own: linking
 * whole chains under chains can still grow a tree without bound, and
 * the later steps recurse over it. Iterative, with depths memoized. */
static int limit_depth(struct tree *t)
{
	int *depth = malloc((t->n + 1) * sizeof *depth), *stack = malloc((t->n + 1) * sizeof *stack);
	if (depth == NULL || stack == NULL) {
		free(depth);
		free(stack);
		return -1;
	}
	memset(depth, 0xff, (t->n + 1) * sizeof *depth);
	for (size_t i = 0; i < t->n; i++) {
		size_t sp = 0;
		int x = (int)i;
		while (x >= 0 && depth[x] < 0) {
			stack[sp++] = x;
			x = t->c[x].parent;
		}
		int d = x >= 0 ? depth[x] : -1;
		while (sp > 0) {
			x = stack[--sp];
			d = t->c[x].parent >= 0 && (d + 1) % THREAD_DEPTH_MAX == 0 ? 0 : d + 1;
			depth[x] = d;
		}
	}
	for (size_t i = 0; i < t->n; i++)
		if (depth[i] == 0)
			unlink_cont(t, (int)i);
	free(depth);
	free(stack);
	return 0;
}

static int references(struct tree *t)
{
	for (size_t i = 0; i < t->nmsgs; i++)
		link_message(t, i);
	if (limit_depth(t) < 0)
		return -1;
	int head = prune(t, roots_of(t), -1);
	head = sort_list(t, head);
	head = group_subjects(t, head);
	return sort_list(t, head);
}

struct thread_ctx {
	struct imap_thread_msg *msgs;
	size_t n, cap;
};

static char *first_id(const char *v)
{
	size_t pos = 0;
	struct str id;
	return next_id(v, &pos, &id) ? str_dup(id) : NULL;
}

static int thread_collect(void *ctx, const struct mail_msg *m)
{
	struct thread_ctx *c = ctx;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 256;
		struct imap_thread_msg *v = realloc(c->msgs, cap * sizeof *v);
		if (v == NULL)
			return -1;
		c->msgs = v;
		c->cap = cap;
	}
	struct imap_thread_msg *t = &c->msgs[c->n++];
	memset(t, 0, sizeof *t);
	t->uid = m->uid;
	t->seq = m->seq;
	t->date = m->date_sent != 0 ? m->date_sent : m->internal_date;
	t->subject = imap_base_subject(m->h_subject, &t->reply);
	t->msgid = first_id(m->h_message_id);
	const char *refs = m->h_references != NULL && strchr(m->h_references, '<') != NULL
			   ? m->h_references : m->h_in_reply_to;
	if (refs != NULL) {
		/* In-Reply-To: only its first message-id counts (RFC 5256 3 1A). */
		t->refs = refs == m->h_references ? str_dup(str_from(refs)) : first_id(refs);
		if (t->refs == NULL && refs == m->h_references)
			return -1;
	}
	return t->subject == NULL ? -1 : 0;
}

static void write_threads(struct imap_session *s, struct imap_thread *th,
			  struct thread_ctx *c)
{
	struct tree t;
	if (tree_init(&t, c->msgs, c->n) < 0) {
		imap_tagged(s, "NO [SERVERBUG] Out of memory");
	} else {
		int head;
		if (th->alg == IMAP_THREAD_REFERENCES) {
			head = references(&t);
		} else {
			head = ordered_subject(&t) < 0 ? -1 : sort_list(&t, roots_of(&t));
		}
		buf_append_str(&s->out, head >= 0 ? "* THREAD " : "* THREAD");
		for (int x = head; x >= 0; x = t.c[x].next) {
			buf_append_char(&s->out, '(');
			render(&t, &s->out, x, s->uid);
			buf_append_char(&s->out, ')');
		}
		buf_append_str(&s->out, "\r\n");
		imap_tagged(s, "OK %sTHREAD completed", s->uid ? "UID " : "");
	}
	free(t.c);
	free(t.table);
}

struct thread_cmd {
	struct imap_thread *th;
	struct imap_search_run *run;
	struct thread_ctx c;
};

static void thread_cmd_free(void *p)
{
	struct thread_cmd *x = p;
	imap_search_end(&x->run);
	imap_thread_msgs_free(x->c.msgs, x->c.n);
	imap_thread_free(&x->th);
	free(x);
}

/* Parses and prepares; on 0, s->cmd_ctx holds the state. */
static int thread_start(struct imap_session *s)
{
	struct imap_thread *th = NULL;
	const char *err = NULL;
	if (imap_parse_thread(s->args, &th, &err) < 0) {
		imap_bad(s, err);
		return -1;
	}
	if (!imap_search_charset_ok(s, th->charset)) {
		imap_thread_free(&th);
		return -1;
	}
	struct thread_cmd *x = calloc(1, sizeof *x);
	if (x == NULL) {
		imap_thread_free(&th);
		imap_tagged(s, "NO [SERVERBUG] Out of memory");
		return -1;
	}
	x->th = th;
	s->cmd_ctx = x;
	s->cmd_ctx_free = thread_cmd_free;
	return imap_search_begin(s, th->search, MAIL_FETCH_HEADERS, &x->run, NULL);
}

int imap_cmd_thread(struct imap_session *s)
{
	if (s->cmd_ctx == NULL && thread_start(s) < 0)
		return 1;
	struct thread_cmd *x = s->cmd_ctx;
	int r = imap_search_cmd_step(s, x->run, thread_collect, &x->c);
	if (r <= 0)
		return r < 0;   /* 0: the next slice, after others had their turn */
	write_threads(s, x->th, &x->c);
	return 1;
}
