/* Evaluation of SEARCH keys (RFC 9051 6.4.4, RFC 3501 for NEW/OLD/RECENT,
 * RFC 7162 MODSEQ, RFC 5032 OLDER/YOUNGER) over the selected folder.
 *
 * Strings match as case-insensitive substrings of the decoded text: RFC
 * 2047 words in headers, transfer encoding and charset in bodies, both
 * sides folded to lower case (Unicode simple case mapping of C.UTF-8).
 * An AND tries its cheap keys first, so BODY and TEXT read the file only
 * of messages nothing cheaper has already ruled out. */
#include "imap/imap_search.h"

#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <wctype.h>

#include "msg/address.h"
#include "msg/charset.h"
#include "msg/encoded_word.h"
#include "msg/header.h"
#include "msg/mime.h"
#include "msg/transfer.h"
#include "lib/log.h"

#define TEXT_MAX (64u * 1024 * 1024)     /* decoded text of one message */
#define FILE_MAX (64u * 1024 * 1024)     /* octets of a file read for BODY/TEXT */
#define FIELD_TEXT_MAX (256u * 1024)

struct key_prep {
	char *needle;                /* folded search string */
	size_t needle_len;
	struct mail_range *ranges;   /* SEQSET (sequence numbers), UID */
	size_t range_count;
	bool by_uid;                 /* ranges are UIDs ("$", UID) */
	bool costly;                 /* needs the message file */
	int column;                  /* HEADER: 0..3 h_from/to/cc/subject, -1 raw */
};

struct ev {
	struct imap_session *s;
	const struct imap_search *search;
	struct key_prep *prep;
	uint32_t max_uid, count;
	time_t now;
	/* the message file of the current message, decoded, once */
	uint32_t loaded_uid;
	bool loaded_ok;
	char *file;
	size_t file_len;
	struct buf hdr_text, body_text;
	struct buf tmp, tmp2, addr;
};

/* ---- case folding ---- */

static locale_t utf8_locale;
/* What folding makes of each ASCII byte: A-Z in lower case, line ends and
 * tabs as spaces, the rest as it is. */
static char ascii_fold[128];
static pthread_once_t fold_once = PTHREAD_ONCE_INIT;

static void fold_init(void)
{
	utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	for (int c = 0; c < 128; c++)
		ascii_fold[c] = c == '\r' || c == '\n' || c == '\t' ? ' '
				: (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
}

static uint32_t utf8_decode(const unsigned char *p, size_t n)
{
	if (n == 2)
		return (uint32_t)(p[0] & 0x1f) << 6 | (p[1] & 0x3f);
	if (n == 3)
		return (uint32_t)(p[0] & 0x0f) << 12 | (uint32_t)(p[1] & 0x3f) << 6 | (p[2] & 0x3f);
	return (uint32_t)(p[0] & 0x07) << 18 | (uint32_t)(p[1] & 0x3f) << 12 |
	       (uint32_t)(p[2] & 0x3f) << 6 | (p[3] & 0x3f);
}

static int utf8_encode(struct buf *out, uint32_t c)
{
	char b[4];
	size_t n;
	if (c < 0x80) {
		b[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | c >> 6);
		b[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | c >> 12);
		b[1] = (char)(0x80 | (c >> 6 & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | c >> 18);
		b[1] = (char)(0x80 | (c >> 12 & 0x3f));
		b[2] = (char)(0x80 | (c >> 6 & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	return buf_append(out, b, n);
}

/* Folds the ASCII bytes at the start of in straight into out's storage;
 * returns how many there were. Header values are nearly always plain
 * ASCII: this is the whole work for them, where a call per byte was the
 * cost of SEARCH. 0 when out cannot grow (the caller appends byte by byte
 * then, as far as out's limit allows). */
static size_t fold_ascii_run(struct str in, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)in.p;
	if (buf_reserve(out, in.len) < 0)
		return 0;
	char *d = out->data + out->len;
	size_t i = 0;
	while (i < in.len && p[i] < 0x80) {
		d[i] = ascii_fold[p[i]];
		i++;
	}
	out->len += i;
	out->data[out->len] = '\0';
	return i;
}

/* Appends in folded to lower case; line ends become spaces so a string
 * can match across a folded header line. -1 when out is full. */
static int fold_append(struct str in, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)in.p;
	pthread_once(&fold_once, fold_init);
	for (size_t i = 0; i < in.len;) {
		unsigned char c = p[i];
		if (c < 0x80) {
			size_t n = fold_ascii_run((struct str){ in.p + i, in.len - i }, out);
			if (n == 0 && buf_append_char(out, ascii_fold[c]) < 0)
				return -1;
			i += n > 0 ? n : 1;
			continue;
		}
		size_t n = utf8_seq(p + i, in.len - i, NULL);
		if (n == 0) {
			if (buf_append_char(out, (char)c) < 0)
				return -1;
			i++;
			continue;
		}
		uint32_t cp = utf8_decode(p + i, n);
		if (utf8_locale != (locale_t)0)
			cp = (uint32_t)towlower_l((wint_t)cp, utf8_locale);
		if (utf8_encode(out, cp) < 0)
			return -1;
		i += n;
	}
	return 0;
}

/* A header value (unfolded or not): encoded words decoded, then folded. */
static int fold_header(struct ev *e, struct str value, struct buf *out)
{
	if (memmem(value.p, value.len, "=?", 2) == NULL)
		return fold_append(value, out);
	buf_reset(&e->tmp2);
	if (msg_encoded_words_decode(value, &e->tmp2) < 0 && e->tmp2.len == 0)
		return fold_append(value, out);
	return fold_append(buf_str(&e->tmp2), out);
}

static bool contains(struct buf *hay, const struct key_prep *kp)
{
	return memmem(buf_str(hay).p, hay->len, kp->needle, kp->needle_len) != NULL ||
	       kp->needle_len == 0;
}

/* ---- the message file (BODY, TEXT, headers too big for the cache) ---- */

static int read_fd(int fd, uint64_t size, char **data_r, size_t *len_r)
{
	size_t want = size > FILE_MAX ? FILE_MAX : (size_t)size, got = 0;
	char *d = malloc(want + 1);
	if (d == NULL)
		return -1;
	while (got < want) {
		ssize_t n = read(fd, d + got, want - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	d[got] = '\0';
	*data_r = d;
	*len_r = got;
	return 0;
}

static void header_text(struct ev *e)
{
	struct msg_header_iter it;
	struct msg_header_field f;
	msg_header_iter_init(&it, e->file, e->file_len);
	while (msg_header_next(&it, &f) == 1) {
		if (fold_append(f.name, &e->hdr_text) < 0 ||
		    buf_append_str(&e->hdr_text, ": ") < 0 ||
		    fold_header(e, f.value, &e->hdr_text) < 0 ||
		    buf_append_char(&e->hdr_text, '\n') < 0)
			return;
	}
}

/* A text part's body: transfer-decoded, converted to UTF-8, folded. */
static void part_text(struct ev *e, const struct msg_part *p)
{
	const char *err;
	struct str raw = { e->file + p->body_offset, p->body.octets };
	struct str charset = STR_LIT("us-ascii");
	const struct msg_param *cs = msg_param_find(p->params, p->param_count, "charset");
	if (cs != NULL && cs->value.p != NULL)
		charset = cs->value;
	buf_reset(&e->tmp);
	if (p->cte == MSG_CTE_UNKNOWN || msg_transfer_decode(p->cte, raw, &e->tmp, &err) < 0) {
		buf_reset(&e->tmp);
		(void)buf_append(&e->tmp, raw.p, raw.len);
	}
	buf_reset(&e->tmp2);
	(void)msg_charset_to_utf8(charset, buf_str(&e->tmp), &e->tmp2, NULL);
	(void)fold_append(buf_str(&e->tmp2), &e->body_text);
	(void)buf_append_char(&e->body_text, '\n');
}

static void body_text(struct ev *e, const struct msg_part *p)
{
	for (; p != NULL; p = p->next) {
		if (p->children != NULL) {
			body_text(e, p->children);
			continue;
		}
		if (str_case_eq_cstr(p->type, "text"))
			part_text(e, p);
	}
}

static bool load_file(struct ev *e, const struct mail_msg *m)
{
	if (e->loaded_uid == m->uid)
		return e->loaded_ok;
	free(e->file);
	e->file = NULL;
	buf_reset(&e->hdr_text);
	buf_reset(&e->body_text);
	e->loaded_uid = m->uid;
	e->loaded_ok = false;
	int fd;
	uint64_t size;
	const char *err;
	if (mail_folder_msg_open(e->s->folder, m->uid, &fd, &size, &err) < 0)
		return false;
	int r = read_fd(fd, size, &e->file, &e->file_len);
	close(fd);
	if (r < 0)
		return false;
	header_text(e);
	struct msg_mime *mime;
	if (msg_mime_parse(e->file, e->file_len, &mime, &err) == 0) {
		body_text(e, mime->root);
		msg_mime_free(&mime);
	}
	e->loaded_ok = true;
	return true;
}

/* ---- headers from the index ---- */

static const char *column_value(const struct mail_msg *m, int column)
{
	switch (column) {
	case 0: return m->h_from;
	case 1: return m->h_to;
	case 2: return m->h_cc;
	default: return m->h_subject;
	}
}

/* An address field as FROM, TO, CC and BCC search it (as Dovecot does):
 * each mailbox as "name <local@domain>" or "local@domain", comments, quoting and folding
 * gone, so "<user (comment)@ (comment) domain.org>" is found as
 * "user@domain.org". A value that does not parse cleanly is searched as
 * written as well. */
static int fold_addresses(struct ev *e, struct str value, struct buf *out)
{
	struct msg_address_list *l = NULL;
	const char *err;
	if (msg_address_parse(value, &l, &err) < 0)
		return fold_header(e, value, out);
	struct buf *t = &e->addr;
	bool invalid = false;
	buf_reset(t);
	for (size_t i = 0; i < l->count; i++) {
		const struct msg_address *a = &l->addrs[i];
		invalid |= a->invalid;
		if (a->kind == MSG_ADDR_GROUP_END) {
			buf_append_char(t, ';');
			continue;
		}
		if (t->len > 0 && t->data[t->len - 1] != ' ')
			buf_append_str(t, ", ");
		if (a->kind == MSG_ADDR_GROUP_START) {
			buf_printf(t, "%s: ", a->mailbox.p != NULL ? a->mailbox.p : "");
			continue;
		}
		bool named = a->name.p != NULL && a->name.len > 0;
		if (named)
			buf_printf(t, "%s <", a->name.p);
		(void)msg_address_write_addr_spec(t, a);
		if (named)
			buf_append_char(t, '>');
	}
	msg_address_list_free(&l);
	int r = fold_header(e, buf_str(t), out);
	if (r == 0 && invalid && buf_append_char(out, ' ') == 0)
		r = fold_header(e, value, out);
	return r;
}

static int fold_field(struct ev *e, const struct imap_search_key *k, struct str value,
		      struct buf *out)
{
	if (k->flag & IMAP_SEARCH_ADDRESS)
		return fold_addresses(e, value, out);
	return fold_header(e, value, out);
}

/* Every field named k->field of a header section. */
static bool match_raw_header(struct ev *e, const struct imap_search_key *k,
			     const struct key_prep *kp, const char *h, size_t len)
{
	struct msg_header_iter it;
	struct msg_header_field f;
	msg_header_iter_init(&it, h, len);
	while (msg_header_next(&it, &f) == 1) {
		if (!str_case_eq(f.name, k->field))
			continue;
		buf_reset(&e->tmp);
		(void)fold_field(e, k, msg_str_trim(f.value), &e->tmp);
		if (contains(&e->tmp, kp))
			return true;
	}
	return false;
}

static bool match_header(struct ev *e, const struct imap_search_key *k,
			 const struct key_prep *kp, const struct mail_msg *m)
{
	if (kp->column >= 0) {
		const char *v = column_value(m, kp->column);
		if (v == NULL)
			return false;
		buf_reset(&e->tmp);
		(void)fold_field(e, k, str_from(v), &e->tmp);
		return contains(&e->tmp, kp);
	}
	if (m->header_raw != NULL)
		return match_raw_header(e, k, kp, m->header_raw, strlen(m->header_raw));
	if (!load_file(e, m))
		return false;
	struct msg_header_iter it;
	msg_header_iter_init(&it, e->file, e->file_len);
	size_t hlen = msg_header_finish(&it);
	return match_raw_header(e, k, kp, e->file, hlen);
}

/* ---- dates: days as y*10000+m*100+d, time and zone disregarded ---- */

static unsigned key_day(const struct imap_date *d)
{
	return d->year * 10000 + d->month * 100 + d->day;
}

static unsigned local_day(time_t t)
{
	struct tm tm;
	if (localtime_r(&t, &tm) == NULL)
		return 0;
	return (unsigned)(tm.tm_year + 1900) * 10000 + (unsigned)(tm.tm_mon + 1) * 100 +
	       (unsigned)tm.tm_mday;
}

/* The date as written in the Date: field ("Tue, 1 Jul 2003 10:52:37"). */
static unsigned written_day(const char *v)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	const char *p = v;
	unsigned day = 0, year = 0, month = 0, nd = 0, ny = 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') {   /* day-of-week "," */
		while (((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z') || *p == ' ' || *p == '\t')
			p++;
		p += *p == ',';
	}
	while (*p == ' ' || *p == '\t')
		p++;
	for (; *p >= '0' && *p <= '9' && nd < 2; p++, nd++)
		day = day * 10 + (unsigned)(*p - '0');
	while (*p == ' ' || *p == '\t' || *p == '-')
		p++;
	for (unsigned i = 0; i < 12 && p[0] && p[1] && p[2]; i++)
		if (strncasecmp(p, months + 3 * i, 3) == 0)
			month = i + 1;
	p += month ? 3 : 0;
	while (*p == ' ' || *p == '\t' || *p == '-')
		p++;
	for (; *p >= '0' && *p <= '9' && ny < 4; p++, ny++)
		year = year * 10 + (unsigned)(*p - '0');
	if (nd == 0 || month == 0 || ny < 2 || day < 1 || day > 31)
		return 0;
	if (ny == 2)   /* RFC 5322 4.3 */
		year += year < 50 ? 2000 : 1900;
	else if (ny == 3)
		year += 1900;
	return year * 10000 + month * 100 + day;
}

static unsigned sent_day(const struct mail_msg *m)
{
	unsigned d = m->h_date != NULL ? written_day(m->h_date) : 0;
	if (d == 0 && m->date_sent != 0) {
		struct tm tm;
		if (gmtime_r(&m->date_sent, &tm) != NULL)
			d = (unsigned)(tm.tm_year + 1900) * 10000 +
			    (unsigned)(tm.tm_mon + 1) * 100 + (unsigned)tm.tm_mday;
	}
	return d;
}

static bool in_ranges(const struct mail_range *r, size_t n, uint32_t v)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v < r[mid].lo)
			hi = mid;
		else if (v > r[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

bool imap_has_keyword(const char *kws, struct str kw)
{
	for (const char *p = kws; p != NULL && *p != '\0';) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (n > 0 && str_case_eq((struct str){ p, n }, kw))
			return true;
		p += n;
	}
	return false;
}

static unsigned mail_flag_of(unsigned imap_flag)
{
	switch (imap_flag) {
	case IMAP_FLAG_ANSWERED: return MAIL_ANSWERED;
	case IMAP_FLAG_FLAGGED: return MAIL_FLAGGED;
	case IMAP_FLAG_DELETED: return MAIL_DELETED;
	case IMAP_FLAG_SEEN: return MAIL_SEEN;
	case IMAP_FLAG_DRAFT: return MAIL_DRAFT;
	default: return 0;   /* \Recent: no message is recent (IMAP4rev2) */
	}
}

static bool eval(struct ev *e, const struct imap_search_key *k, const struct mail_msg *m);

static const struct key_prep *prep_of(struct ev *e, const struct imap_search_key *k)
{
	return &e->prep[k - e->search->keys];
}

/* Cheap children first, then the ones that read the file. */
static bool eval_and(struct ev *e, const struct imap_search_key *k, const struct mail_msg *m)
{
	for (int pass = 0; pass < 2; pass++) {
		for (const struct imap_search_key *c = k->child; c != NULL; c = c->next) {
			if (prep_of(e, c)->costly == (pass == 1) && !eval(e, c, m))
				return false;
		}
	}
	return true;
}

static bool eval_or(struct ev *e, const struct imap_search_key *k, const struct mail_msg *m)
{
	const struct imap_search_key *a = k->child, *b = a->next;
	if (prep_of(e, a)->costly && !prep_of(e, b)->costly) {
		const struct imap_search_key *t = a;
		a = b;
		b = t;
	}
	return eval(e, a, m) || eval(e, b, m);
}

static bool eval_text(struct ev *e, const struct imap_search_key *k, const struct mail_msg *m)
{
	const struct key_prep *kp = prep_of(e, k);
	if (!load_file(e, m))
		return false;
	if (k->type == IMAP_SEARCH_TEXT && contains(&e->hdr_text, kp))
		return true;
	return contains(&e->body_text, kp);
}

static bool eval(struct ev *e, const struct imap_search_key *k, const struct mail_msg *m)
{
	const struct key_prep *kp = prep_of(e, k);
	switch (k->type) {
	case IMAP_SEARCH_AND: return eval_and(e, k, m);
	case IMAP_SEARCH_OR: return eval_or(e, k, m);
	case IMAP_SEARCH_NOT: return !eval(e, k->child, m);
	case IMAP_SEARCH_ALL: return true;
	case IMAP_SEARCH_SEQSET:
	case IMAP_SEARCH_UID:
		return in_ranges(kp->ranges, kp->range_count, kp->by_uid ? m->uid : m->seq);
	case IMAP_SEARCH_FLAG:
		if (k->flag == IMAP_FLAG_RECENT)
			return imap_is_recent(e->s, m->uid);
		return (m->flags & mail_flag_of(k->flag)) != 0;
	case IMAP_SEARCH_KEYWORD: return imap_has_keyword(m->keywords, k->str);
	case IMAP_SEARCH_NEW: return imap_is_recent(e->s, m->uid) && !(m->flags & MAIL_SEEN);
	case IMAP_SEARCH_OLD: return !imap_is_recent(e->s, m->uid);
	case IMAP_SEARCH_HEADER: return match_header(e, k, kp, m);
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT: return eval_text(e, k, m);
	case IMAP_SEARCH_BEFORE: return local_day(m->internal_date) < key_day(&k->date);
	case IMAP_SEARCH_ON: return local_day(m->internal_date) == key_day(&k->date);
	case IMAP_SEARCH_SINCE: return local_day(m->internal_date) >= key_day(&k->date);
	case IMAP_SEARCH_SENTBEFORE: return sent_day(m) != 0 && sent_day(m) < key_day(&k->date);
	case IMAP_SEARCH_SENTON: return sent_day(m) == key_day(&k->date);
	case IMAP_SEARCH_SENTSINCE: return sent_day(m) >= key_day(&k->date);
	case IMAP_SEARCH_LARGER: return m->vsize > k->number;
	case IMAP_SEARCH_SMALLER: return m->vsize < k->number;
	case IMAP_SEARCH_MODSEQ: return m->modseq >= k->number;
	case IMAP_SEARCH_OLDER: return e->now - m->internal_date >= (time_t)k->number;
	case IMAP_SEARCH_YOUNGER: return e->now - m->internal_date <= (time_t)k->number;
	}
	return false;
}

/* ---- preparation ---- */

static int prep_string(struct key_prep *kp, struct str s)
{
	struct buf b;
	buf_init(&b, FIELD_TEXT_MAX);
	if (fold_append(s, &b) < 0) {
		buf_free(&b);
		return -1;
	}
	kp->needle = buf_steal(&b, &kp->needle_len);
	return kp->needle == NULL ? -1 : 0;
}

static int header_column(struct str field)
{
	static const char *const names[4] = { "From", "To", "Cc", "Subject" };
	for (int i = 0; i < 4; i++)
		if (str_case_eq_cstr(field, names[i]))
			return i;
	return -1;
}

/* Fills the prep of k and its children, and the columns they need. */
static int prep_key(struct ev *e, const struct imap_search_key *k, unsigned *fields,
		    bool *modseq)
{
	struct key_prep *kp = &e->prep[k - e->search->keys];
	kp->column = -1;
	switch (k->type) {
	case IMAP_SEARCH_HEADER:
		kp->column = header_column(k->field);
		*fields |= kp->column >= 0 ? MAIL_FETCH_HEADERS : MAIL_FETCH_HEADER_RAW;
		return prep_string(kp, k->str);
	case IMAP_SEARCH_BODY:
	case IMAP_SEARCH_TEXT:
		kp->costly = true;
		return prep_string(kp, k->str);
	case IMAP_SEARCH_SENTBEFORE:
	case IMAP_SEARCH_SENTON:
	case IMAP_SEARCH_SENTSINCE:
		*fields |= MAIL_FETCH_HEADERS;
		return 0;
	case IMAP_SEARCH_MODSEQ:
		*modseq = true;
		return 0;
	case IMAP_SEARCH_SEQSET:
	case IMAP_SEARCH_UID:
		/* "$" (RFC 5182 2.1) is the saved messages, whichever key. */
		kp->by_uid = k->type == IMAP_SEARCH_UID || k->seqset->searchres;
		if (k->seqset->searchres)
			return imap_saved_uids(e->s, &kp->ranges, &kp->range_count);
		return imap_seqset_ranges(k->seqset, k->type == IMAP_SEARCH_UID ? e->max_uid
						     : e->count, &kp->ranges, &kp->range_count);
	default:
		break;
	}
	for (const struct imap_search_key *c = k->child; c != NULL; c = c->next) {
		if (prep_key(e, c, fields, modseq) < 0)
			return -1;
		kp->costly |= prep_of(e, c)->costly;
	}
	return 0;
}

static void ev_free(struct ev *e)
{
	for (size_t i = 0; e->prep != NULL && i < e->search->key_count; i++) {
		free(e->prep[i].needle);
		free(e->prep[i].ranges);
	}
	free(e->prep);
	free(e->file);
	buf_free(&e->hdr_text);
	buf_free(&e->body_text);
	buf_free(&e->tmp);
	buf_free(&e->tmp2);
	buf_free(&e->addr);
}

/* The UIDs worth listing: those of a top-level UID or sequence-set key
 * ("UID SEARCH UID 9000:*" reads only that range), else all. */
static int candidates(struct ev *e, struct mail_range **r_r, size_t *n_r)
{
	for (const struct imap_search_key *c = e->search->root->child; c; c = c->next) {
		const struct key_prep *kp = prep_of(e, c);
		if (c->type == IMAP_SEARCH_SEQSET && !kp->by_uid)
			return mail_folder_seqs_to_uids(e->s->folder, kp->ranges, kp->range_count,
							r_r, n_r);
		if (c->type != IMAP_SEARCH_UID && c->type != IMAP_SEARCH_SEQSET)
			continue;
		*r_r = malloc((kp->range_count + 1) * sizeof **r_r);
		if (*r_r == NULL)
			return -1;
		if (kp->range_count > 0)
			memcpy(*r_r, kp->ranges, kp->range_count * sizeof **r_r);
		*n_r = kp->range_count;
		return 0;
	}
	*r_r = malloc(sizeof **r_r);
	if (*r_r == NULL)
		return -1;
	**r_r = (struct mail_range){ 1, UINT32_MAX };
	*n_r = 1;
	return 0;
}

/* ---- the run, in slices ---- */

struct imap_search_run {
	struct ev e;
	unsigned fields;
	struct mail_range *cand;     /* the candidate UIDs, sorted */
	size_t ncand;
	uint32_t next_uid;           /* where the next slice starts; 0: done */
};

/* How many messages the candidates may hold in a view of count. */
static uint64_t candidate_count(const struct mail_range *r, size_t n, uint32_t count)
{
	uint64_t total = 0;
	for (size_t i = 0; i < n && total < count; i++)
		total += (uint64_t)r[i].hi - r[i].lo + 1;
	return total < count ? total : count;
}

static int refuse(struct imap_session *s, const char *text)
{
	imap_tagged(s, "NO [LIMIT] %s%s: %s", s->uid ? "UID " : "", s->cmd->name, text);
	return -1;
}

int imap_search_begin(struct imap_session *s, const struct imap_search *search,
		      unsigned fields, struct imap_search_run **run_r, bool *uses_modseq_r)
{
	struct imap_search_run *r = calloc(1, sizeof *r);
	const char *err = "out of memory";
	bool modseq = false;
	*run_r = NULL;
	if (r == NULL)
		goto fail;
	struct ev *e = &r->e;
	*e = (struct ev){ .s = s, .search = search, .now = time(NULL) };
	buf_init(&e->hdr_text, TEXT_MAX);
	buf_init(&e->body_text, TEXT_MAX);
	buf_init(&e->tmp, TEXT_MAX);
	buf_init(&e->tmp2, TEXT_MAX);
	buf_init(&e->addr, FIELD_TEXT_MAX);
	e->count = mail_folder_count(s->folder);
	e->max_uid = imap_view_max_uid(s);
	e->prep = calloc(search->key_count + 1, sizeof *e->prep);
	if (e->prep == NULL || prep_key(e, search->root, &fields, &modseq) < 0 ||
	    candidates(e, &r->cand, &r->ncand) < 0)
		goto fail;
	r->fields = fields;
	r->next_uid = r->ncand > 0 ? r->cand[0].lo : 0;
	if (uses_modseq_r != NULL)
		*uses_modseq_r = modseq;
	uint64_t cost = (uint64_t)search->key_count * candidate_count(r->cand, r->ncand, e->count);
	if (cost > s->set.search_cost_max) {
		log_info("imap %s: %s refused: %zu keys over %u messages", s->id, s->cmd->name,
			 search->key_count, e->count);
		imap_search_end(&r);
		return refuse(s, "too many keys for this many messages; search with fewer");
	}
	*run_r = r;
	return 0;
fail:
	log_err("imap %s: %s in %s: %s", s->id, s->cmd->name, s->folder_name, err);
	imap_search_end(&r);
	imap_tagged(s, "NO [SERVERBUG] %s%s failed", s->uid ? "UID " : "", s->cmd->name);
	return -1;
}

int imap_search_cmd_step(struct imap_session *s, struct imap_search_run *r,
			 imap_search_cb *cb, void *ctx)
{
	const char *err = NULL;
	int rc = imap_search_step(r, cb, ctx, &err);
	if (rc < 0) {
		log_err("imap %s: %s in %s: %s", s->id, s->cmd->name, s->folder_name,
			err ? err : "?");
		imap_tagged(s, "NO [SERVERBUG] %s failed", s->cmd->name);
	}
	return rc;
}

/* The candidates from next_uid on: the slice's ranges (malloc'd). */
static struct mail_range *rest(const struct imap_search_run *r, size_t *n_r)
{
	struct mail_range *v = malloc((r->ncand + 1) * sizeof *v);
	size_t n = 0;
	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < r->ncand; i++) {
		if (r->cand[i].hi < r->next_uid)
			continue;
		v[n] = r->cand[i];
		if (v[n].lo < r->next_uid)
			v[n].lo = r->next_uid;
		n++;
	}
	*n_r = n;
	return v;
}

int imap_search_step(struct imap_search_run *r, imap_search_cb *cb, void *ctx,
		     const char **error_r)
{
	struct ev *e = &r->e;
	struct mail_iter *it;
	const struct mail_msg *m;
	size_t n = 0;
	uint64_t spent = 0;
	if (r->next_uid == 0)
		return 1;
	struct mail_range *v = rest(r, &n);
	if (v == NULL)
		return *error_r = "out of memory", -1;
	int ret = n == 0 ? 0 : mail_folder_iter_init(e->s->folder, v, n, r->fields, &it, error_r);
	free(v);
	if (n == 0 || ret < 0) {
		r->next_uid = 0;
		return ret < 0 ? -1 : 1;
	}
	r->next_uid = 0;
	while ((ret = mail_folder_iter_next(it, &m, error_r)) == 1) {
		if (eval(e, e->search->root, m) && cb(ctx, m) < 0) {
			*error_r = "out of memory";
			ret = -1;
			break;
		}
		/* An upper bound of the keys looked at: every key. */
		spent += e->search->key_count;
		if (spent >= IMAP_SEARCH_SLICE_COST && m->uid < UINT32_MAX) {
			r->next_uid = m->uid + 1;
			break;
		}
	}
	mail_folder_iter_deinit(&it);
	if (ret < 0)
		return -1;
	return r->next_uid != 0 ? 0 : 1;
}

void imap_search_end(struct imap_search_run **rp)
{
	struct imap_search_run *r = *rp;
	if (r == NULL)
		return;
	ev_free(&r->e);
	free(r->cand);
	free(r);
	*rp = NULL;
}
