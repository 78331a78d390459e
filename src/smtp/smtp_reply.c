/* The client's SMTP reply reader and EHLO keyword parser (smtp_reply.h). */
#include "smtp/smtp_reply.h"

#include <string.h>

void smtp_reply_reader_init(struct smtp_reply_reader *r)
{
	memset(r, 0, sizeof *r);
	line_reader_init(&r->lines, SMTP_REPLY_LINE_MAX);
	buf_init(&r->reply.text, SMTP_REPLY_TEXT_MAX);
}

void smtp_reply_reader_free(struct smtp_reply_reader *r)
{
	line_reader_free(&r->lines);
	buf_free(&r->reply.text);
}

static void reply_clear(struct smtp_reply *rp)
{
	rp->code = 0;
	rp->enhanced[0] = '\0';
	rp->lines = 0;
	buf_reset(&rp->text);
}

void smtp_reply_reader_reset(struct smtp_reply_reader *r)
{
	line_reader_reset(&r->lines);
	reply_clear(&r->reply);
	r->ready = false;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }

/* RFC 3463 2: class "." subject "." detail, subject and detail 1*3digit,
 * then SP or the end of the line. Returns its length, or 0. */
static size_t enhanced_len(const char *p, size_t n, char cls)
{
	size_t i = 0;
	if (n < 5 || p[0] != cls || p[1] != '.')
		return 0;
	i = 2;
	for (int part = 0; part < 2; part++) {
		size_t d = 0;
		while (i < n && is_digit(p[i]) && d < 4) {
			i++;
			d++;
		}
		if (d == 0 || d > 3)
			return 0;
		if (part == 0) {
			if (i >= n || p[i] != '.')
				return 0;
			i++;
		}
	}
	return i == n || p[i] == ' ' ? i : 0;
}

/* Checks one line and adds it to the reply. 1: the reply's last line,
 * 0: more lines follow, -1: protocol error (*error_r). */
static int add_line(struct smtp_reply *rp, const char *l, size_t len, const char **error_r)
{
	if (len < 3 || !is_digit(l[0]) || !is_digit(l[1]) || !is_digit(l[2]) ||
	    l[0] < '2' || l[0] > '5' || l[1] > '5' || (len > 3 && l[3] != ' ' && l[3] != '-')) {
		*error_r = "malformed reply code";
		return -1;
	}
	unsigned code = (unsigned)(l[0] - '0') * 100 + (unsigned)(l[1] - '0') * 10 +
			(unsigned)(l[2] - '0');
	if (rp->lines > 0 && code != rp->code) {
		*error_r = "reply lines with different codes";
		return -1;
	}
	for (size_t i = 3; i < len; i++) {
		unsigned char c = (unsigned char)l[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f) {
			*error_r = "control octet in reply text";
			return -1;
		}
	}
	if (rp->lines == SMTP_REPLY_LINES_MAX) {
		*error_r = "reply has too many lines";
		return -1;
	}
	if ((rp->lines > 0 && buf_append_char(&rp->text, ' ') < 0) ||
	    buf_append(&rp->text, l, len) < 0) {
		*error_r = "reply too long";
		return -1;
	}
	rp->line_off[rp->lines] = rp->text.len - len;
	rp->line_len[rp->lines] = len;
	if (rp->lines++ == 0) {
		rp->code = code;
		size_t e = len > 4 ? enhanced_len(l + 4, len - 4, l[0]) : 0;
		memcpy(rp->enhanced, l + 4, e);
		rp->enhanced[e] = '\0';
	}
	return len > 3 && l[3] == '-' ? 0 : 1;
}

enum smtp_reply_result smtp_reply_feed(struct smtp_reply_reader *r, const char *p,
				       size_t n, size_t *used_r, const char **error_r)
{
	*used_r = 0;
	if (r->error != NULL) {
		*error_r = r->error;
		return SMTP_REPLY_ERROR;
	}
	if (r->ready) {
		reply_clear(&r->reply);
		r->ready = false;
	}
	while (*used_r < n) {
		size_t used, len;
		const char *line;
		enum line_result lr = line_reader_feed(&r->lines, p + *used_r, n - *used_r,
						       &used, &line, &len);
		*used_r += used;
		if (lr == LINE_NEED_MORE)
			continue;
		int done = lr == LINE_TOO_LONG ? -1 : add_line(&r->reply, line, len, &r->error);
		if (lr == LINE_TOO_LONG)
			r->error = "reply line too long";
		if (done < 0) {
			*error_r = r->error;
			return SMTP_REPLY_ERROR;
		}
		if (done == 1) {
			r->ready = true;
			return SMTP_REPLY_READY;
		}
	}
	return SMTP_REPLY_NEED_MORE;
}

struct str smtp_reply_line(const struct smtp_reply *rp, size_t i)
{
	if (i >= rp->lines || rp->line_len[i] <= 4)
		return (struct str){ "", 0 };
	return (struct str){ rp->text.data + rp->line_off[i] + 4, rp->line_len[i] - 4 };
}

/* The next SP-separated word of *s, which is advanced past it. */
static struct str next_word(struct str *s)
{
	while (s->len > 0 && (*s->p == ' ' || *s->p == '\t')) {
		s->p++;
		s->len--;
	}
	size_t i = 0;
	while (i < s->len && s->p[i] != ' ' && s->p[i] != '\t')
		i++;
	struct str w = { s->p, i };
	s->p += i;
	s->len -= i;
	return w;
}

static void ehlo_auth(struct smtp_ehlo *e, struct str rest)
{
	e->auth = true;
	for (struct str w = next_word(&rest); w.len > 0; w = next_word(&rest)) {
		if (str_case_eq_cstr(w, "PLAIN"))
			e->auth_plain = true;
		else if (str_case_eq_cstr(w, "LOGIN"))
			e->auth_login = true;
	}
}

static void ehlo_line(struct smtp_ehlo *e, struct str l)
{
	struct str rest = l;
	struct str kw = next_word(&rest);
	long eq = str_chr(kw, '=');
	if (eq >= 0 && str_has_prefix_case(kw, "AUTH=")) {
		/* "AUTH=LOGIN PLAIN": the form some old servers still send. */
		rest.p = kw.p + 5;
		rest.len = (size_t)(l.p + l.len - rest.p);
		ehlo_auth(e, rest);
		return;
	}
	if (str_case_eq_cstr(kw, "PIPELINING")) {
		e->pipelining = true;
	} else if (str_case_eq_cstr(kw, "SIZE")) {
		unsigned long long v;
		e->size = true;
		struct str arg = next_word(&rest);
		e->size_max = arg.len > 0 && str_to_u64(arg, ~0ULL, &v) == 0 ? v : 0;
	} else if (str_case_eq_cstr(kw, "8BITMIME")) {
		e->eightbitmime = true;
	} else if (str_case_eq_cstr(kw, "SMTPUTF8")) {
		e->smtputf8 = true;
	} else if (str_case_eq_cstr(kw, "CHUNKING")) {
		e->chunking = true;
	} else if (str_case_eq_cstr(kw, "DSN")) {
		e->dsn = true;
	} else if (str_case_eq_cstr(kw, "STARTTLS")) {
		e->starttls = true;
	} else if (str_case_eq_cstr(kw, "ENHANCEDSTATUSCODES")) {
		e->enhanced = true;
	} else if (str_case_eq_cstr(kw, "AUTH")) {
		ehlo_auth(e, rest);
	}
}

void smtp_ehlo_parse(const struct smtp_reply *rp, struct smtp_ehlo *e)
{
	memset(e, 0, sizeof *e);
	for (size_t i = 1; i < rp->lines; i++)
		ehlo_line(e, smtp_reply_line(rp, i));
}
