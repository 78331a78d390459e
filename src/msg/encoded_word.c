#include "msg/encoded_word.h"

#include <string.h>

#include "msg/charset.h"
#include "msg/transfer.h"

struct word {
	struct str charset;
	char enc;            /* 'B' or 'Q' */
	struct str text;
	size_t end;          /* offset just past "?=" */
};

/* Parses an encoded word at p[i] ("=?"); false when it is not one. */
static bool parse_word(const char *p, size_t n, size_t i, struct word *w)
{
	size_t k = i + 2, start = k;
	while (k < n && p[k] != '?' && p[k] > ' ' && p[k] != 127)
		k++;
	if (k == start || k - start > 64 || k + 3 >= n || p[k] != '?')
		return false;
	w->charset = (struct str){ p + start, k - start };
	const char *star = memchr(w->charset.p, '*', w->charset.len);
	if (star != NULL)   /* RFC 2231 5: charset*language */
		w->charset.len = (size_t)(star - w->charset.p);
	char e = p[k + 1];
	if ((e != 'B' && e != 'b' && e != 'Q' && e != 'q') || p[k + 2] != '?')
		return false;
	w->enc = e == 'b' || e == 'B' ? 'B' : 'Q';
	start = k + 3;
	const char *q = memchr(p + start, '?', n - start);
	if (q == NULL || (size_t)(q - p) + 1 >= n || q[1] != '=')
		return false;
	w->text = (struct str){ p + start, (size_t)(q - p) - start };
	for (size_t j = 0; j < w->text.len; j++)
		if ((unsigned char)w->text.p[j] <= ' ')
			return false;
	w->end = (size_t)(q - p) + 2;
	return true;
}

static bool all_space(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	return true;
}

/* Plain text between words: line ends dropped, 8-bit read as UTF-8. */
static int append_plain(const char *p, size_t n, struct buf *out)
{
	while (n > 0) {
		size_t k = 0;
		while (k < n && p[k] != '\r' && p[k] != '\n')
			k++;
		if (msg_charset_to_utf8(STR_LIT("utf-8"), (struct str){ p, k }, out, NULL) < 0)
			return -1;
		while (k < n && (p[k] == '\r' || p[k] == '\n'))
			k++;
		p += k;
		n -= k;
	}
	return 0;
}

struct pending {
	struct buf bytes;
	struct str charset;
};

static int flush(struct pending *pd, struct buf *out)
{
	int r = 0;
	if (pd->bytes.len > 0)
		r = msg_charset_to_utf8(pd->charset, buf_str(&pd->bytes), out, NULL);
	buf_reset(&pd->bytes);
	return r;
}

static int decode_word(struct pending *pd, const struct word *w, struct buf *out)
{
	if (pd->bytes.len > 0 && !str_case_eq(pd->charset, w->charset) && flush(pd, out) < 0)
		return -1;
	pd->charset = w->charset;
	return w->enc == 'B' ? msg_base64_decode(w->text, &pd->bytes) :
			       msg_q_decode(w->text, &pd->bytes);
}

int msg_encoded_words_decode(struct str value, struct buf *out)
{
	const char *p = value.p;
	size_t n = value.len, i = 0, plain = 0;
	bool after_word = false;
	struct pending pd = { .charset = { "", 0 } };
	int r = 0;
	if (n == 0)
		return 0;
	buf_init(&pd.bytes, n + 16);   /* decoding never grows the text */
	while (r == 0 && i + 1 < n) {
		const char *eq = memchr(p + i, '=', n - i - 1);
		struct word w;
		if (eq == NULL)
			break;
		size_t j = (size_t)(eq - p);
		if (p[j + 1] != '?' || !parse_word(p, n, j, &w)) {
			i = j + 1;
			continue;
		}
		if (!(after_word && all_space(p + plain, j - plain))) {
			r |= flush(&pd, out);
			r |= append_plain(p + plain, j - plain, out);
		}
		r |= decode_word(&pd, &w, out);
		i = plain = w.end;
		after_word = true;
	}
	if (r == 0)
		r = flush(&pd, out);
	if (r == 0)
		r = append_plain(p + plain, n - plain, out);
	buf_free(&pd.bytes);
	return r < 0 ? -1 : 0;
}

/* ---- encoding ---- */

#define WORD_MAX 75
#define LINE_MAX_COLS 76
#define PREFIX "=?UTF-8?"   /* then "Q?" or "B?", text, "?=" */
#define OVERHEAD 12

struct encoder {
	struct buf *out;
	size_t col;
	const char *fold;
	int r;
};

static bool q_safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '!' || c == '*' || c == '+' || c == '-' || c == '/' || c == ' ';
}

static bool needs_encoding(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c >= 127 || c < ' ' || (c == '=' && i + 1 < n && p[i + 1] == '?'))
			return true;
	}
	return false;
}

/* Writes a token, preceded by a space or, when the line would get too
 * long, by a fold (which keeps the space). */
static void put(struct encoder *e, const char *p, size_t n, bool space_before)
{
	if (space_before) {
		if (e->col + 1 + n > LINE_MAX_COLS && e->col > 1) {
			e->r |= buf_append_str(e->out, e->fold);
			e->col = 1;
		} else {
			e->r |= buf_append_char(e->out, ' ');
			e->col++;
		}
	}
	e->r |= buf_append(e->out, p, n);
	e->col += n;
}

static void put_word(struct encoder *e, const unsigned char *p, size_t n, bool q,
		     bool space_before)
{
	char w[WORD_MAX + 1];
	size_t k = sizeof PREFIX - 1;
	memcpy(w, PREFIX, k);
	w[k++] = q ? 'Q' : 'B';
	w[k++] = '?';
	if (q) {
		for (size_t i = 0; i < n; i++) {
			if (p[i] == ' ') {
				w[k++] = '_';
			} else if (q_safe(p[i])) {
				w[k++] = (char)p[i];
			} else {
				w[k++] = '=';
				w[k++] = "0123456789ABCDEF"[p[i] >> 4];
				w[k++] = "0123456789ABCDEF"[p[i] & 15];
			}
		}
	} else {
		struct buf b;
		buf_init(&b, WORD_MAX);
		if (msg_base64_encode_lines((struct str){ (const char *)p, n }, false, &b) < 0)
			e->r = -1;
		size_t bl = b.len > 0 ? b.len - 1 : 0;   /* without its LF */
		memcpy(w + k, b.data, bl);
		k += bl;
		buf_free(&b);
	}
	w[k++] = '?';
	w[k++] = '=';
	put(e, w, k, space_before);
}

/* Encodes p[0..n) as as many words as it takes, never splitting a UTF-8
 * character between two words. */
static void put_run(struct encoder *e, const unsigned char *p, size_t n, bool space_before)
{
	size_t qlen = 0;
	for (size_t i = 0; i < n; i++)
		qlen += q_safe(p[i]) ? 1 : 3;
	/* Q keeps mostly-ASCII text readable; B is shorter for the rest. */
	size_t blen = (n + 2) / 3 * 4;
	bool q = qlen <= blen + blen / 2;
	size_t i = 0;
	while (i < n) {
		size_t start = i, enc = 0;
		/* Fill the rest of the line when that leaves a useful word, else
		 * a whole word after a fold. */
		size_t avail = LINE_MAX_COLS - (e->col < LINE_MAX_COLS ? e->col : LINE_MAX_COLS) -
			       (space_before ? 1 : 0);
		size_t limit = avail >= OVERHEAD + 12 && avail < WORD_MAX ? avail : WORD_MAX;
		while (i < n) {
			size_t s = utf8_seq(p + i, n - i, NULL);
			if (s == 0)
				s = 1;
			size_t add = 0;
			for (size_t j = 0; j < s; j++)
				add += q_safe(p[i + j]) ? 1 : 3;
			size_t next = q ? enc + add : (i + s - start + 2) / 3 * 4;
			if (next + OVERHEAD > limit && i > start)
				break;
			enc = next;
			i += s;
		}
		put_word(e, p + start, i - start, q, space_before);
		space_before = true;
	}
}

int msg_encoded_words_encode(struct str value, size_t used, bool crlf, struct buf *out)
{
	struct encoder e = { out, used, crlf ? "\r\n " : "\n ", 0 };
	const char *p = value.p;
	size_t n = value.len, pos = 0;
	bool first = true;
	while (pos <= n && e.r == 0) {
		const char *sp = memchr(p + pos, ' ', n - pos);
		size_t end = sp == NULL ? n : (size_t)(sp - p);
		if (!needs_encoding(p + pos, end - pos)) {
			put(&e, p + pos, end - pos, !first);
		} else {
			/* Following words that need it join this run, spaces and all. */
			size_t run_end = end;
			while (run_end < n) {
				const char *sp2 = memchr(p + run_end + 1, ' ', n - run_end - 1);
				size_t e2 = sp2 == NULL ? n : (size_t)(sp2 - p);
				if (!needs_encoding(p + run_end + 1, e2 - run_end - 1))
					break;
				run_end = e2;
			}
			end = run_end;
			put_run(&e, (const unsigned char *)p + pos, end - pos, !first);
		}
		first = false;
		if (end == n)
			break;
		pos = end + 1;
	}
	return e.r < 0 ? -1 : 0;
}
