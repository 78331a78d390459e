#include "msg/imap_format.h"

#include <string.h>

#include "msg/address.h"
#include "msg/charset.h"
#include "msg/header.h"


static bool quotable(struct str s, bool utf8)
{
	bool high = false;
	for (size_t i = 0; i < s.len; i++) {
		unsigned char c = (unsigned char)s.p[i];
		/* Quote and backslash could be escaped, but a literal is what
		 * Dovecot sends and what old clients parse best. */
		if (c == 0 || c == '\r' || c == '\n' || c == '"' || c == '\\')
			return false;
		high |= c >= 0x80;
	}
	return !high || (utf8 && utf8_valid(s));
}

int msg_imap_write_string(struct buf *out, struct str s, bool utf8)
{
	if (s.p == NULL)
		return buf_append(out, "NIL", 3);
	int r = 0;
	if (quotable(s, utf8)) {
		r |= buf_append_char(out, '"');
		r |= buf_append(out, s.p, s.len);
		r |= buf_append_char(out, '"');
		return r < 0 ? -1 : 0;
	}
	r |= buf_printf(out, "{%zu}\r\n", s.len);
	size_t at = out->len;
	r |= buf_append(out, s.p, s.len);
	if (r == 0) {
		char *p = out->data + at;
		while ((p = memchr(p, '\0', (size_t)(out->data + out->len - p))) != NULL)
			*p++ = (char)0x80;
	}
	return r < 0 ? -1 : 0;
}

/* An unfolded header value as a string; absent is NIL. */
static int write_unfolded(struct buf *out, struct str raw, bool utf8)
{
	if (raw.p == NULL)
		return buf_append(out, "NIL", 3);
	struct str v = msg_str_trim(raw);
	if (memchr(v.p, '\n', v.len) == NULL)
		return msg_imap_write_string(out, v, utf8);
	struct buf tmp;
	buf_init(&tmp, v.len + 1);
	int r = msg_header_unfold(v, &tmp);
	if (r == 0)
		r = msg_imap_write_string(out, buf_str(&tmp), utf8);
	buf_free(&tmp);
	return r;
}

static int write_address(struct buf *out, const struct msg_address *a, bool utf8)
{
	int r = buf_append_char(out, '(');
	if (a->kind == MSG_ADDR_GROUP_END)
		return r | buf_append(out, "NIL NIL NIL NIL)", 16);
	r |= msg_imap_write_string(out, a->name, utf8);
	r |= buf_append_char(out, ' ');
	r |= msg_imap_write_string(out, a->route, utf8);
	r |= buf_append_char(out, ' ');
	r |= msg_imap_write_string(out, a->mailbox, utf8);
	r |= buf_append_char(out, ' ');
	r |= msg_imap_write_string(out, a->host, utf8);
	r |= buf_append_char(out, ')');
	return r;
}

/* Parses an address field; *list_r is NULL when absent. */
static int parse_field(struct str raw, struct msg_address_list **list_r)
{
	const char *error;
	*list_r = NULL;
	if (raw.p == NULL)
		return 0;
	return msg_address_parse(raw, list_r, &error);
}

static int write_list(struct buf *out, const struct msg_address_list *list, bool utf8)
{
	if (list == NULL || list->count == 0)
		return buf_append(out, "NIL", 3);
	int r = buf_append_char(out, '(');
	for (size_t i = 0; i < list->count && r == 0; i++)
		r |= write_address(out, &list->addrs[i], utf8);
	return r | buf_append_char(out, ')');
}

static int write_addresses(struct buf *out, const struct msg_part *m, bool utf8)
{
	struct msg_address_list *lists[6] = { NULL };
	int r = 0;
	for (unsigned i = 0; i < 6 && r == 0; i++)
		r = parse_field(m->envelope[MSG_ENV_FROM + i], &lists[i]);
	for (unsigned i = 0; i < 6 && r == 0; i++) {
		const struct msg_address_list *l = lists[i];
		/* RFC 9051 7.5.2: absent or empty Sender and Reply-To are From. */
		if ((i == 1 || i == 2) && (l == NULL || l->count == 0))
			l = lists[0];
		r |= buf_append_char(out, ' ');
		r |= write_list(out, l, utf8);
	}
	for (unsigned i = 0; i < 6; i++)
		msg_address_list_free(&lists[i]);
	return r;
}

int msg_imap_write_envelope(struct buf *out, const struct msg_part *m, bool utf8)
{
	if (m->envelope == NULL)
		return buf_append_str(out, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	int r = buf_append_char(out, '(');
	r |= write_unfolded(out, m->envelope[MSG_ENV_DATE], utf8);
	r |= buf_append_char(out, ' ');
	r |= write_unfolded(out, m->envelope[MSG_ENV_SUBJECT], utf8);
	if (r == 0)
		r |= write_addresses(out, m, utf8);
	r |= buf_append_char(out, ' ');
	r |= write_unfolded(out, m->envelope[MSG_ENV_IN_REPLY_TO], utf8);
	r |= buf_append_char(out, ' ');
	r |= write_unfolded(out, m->envelope[MSG_ENV_MESSAGE_ID], utf8);
	r |= buf_append_char(out, ')');
	return r < 0 ? -1 : 0;
}

static int write_params(struct buf *out, const struct msg_param *params, unsigned n, bool utf8)
{
	if (n == 0)
		return buf_append(out, "NIL", 3);
	int r = buf_append_char(out, '(');
	for (unsigned i = 0; i < n && r == 0; i++) {
		if (i > 0)
			r |= buf_append_char(out, ' ');
		r |= msg_imap_write_string(out, params[i].name, utf8);
		r |= buf_append_char(out, ' ');
		r |= msg_imap_write_string(out, params[i].value, utf8);
	}
	return r | buf_append_char(out, ')');
}

/* body-ext: disposition, language, location (RFC 9051 body-ext-1part). */
static int write_dsp_lang_loc(struct buf *out, const struct msg_part *p, bool utf8)
{
	int r = buf_append_char(out, ' ');
	if (p->disposition.p == NULL) {
		r |= buf_append(out, "NIL", 3);
	} else {
		r |= buf_append_char(out, '(');
		r |= msg_imap_write_string(out, p->disposition, utf8);
		r |= buf_append_char(out, ' ');
		r |= write_params(out, p->disp_params, p->disp_param_count, utf8);
		r |= buf_append_char(out, ')');
	}
	r |= buf_append_char(out, ' ');
	if (p->language_count == 0) {
		r |= buf_append(out, "NIL", 3);
	} else {
		/* Always a list, even of one, as Dovecot writes it. */
		r |= buf_append_char(out, '(');
		for (unsigned i = 0; i < p->language_count; i++) {
			if (i > 0)
				r |= buf_append_char(out, ' ');
			r |= msg_imap_write_string(out, p->languages[i], utf8);
		}
		r |= buf_append_char(out, ')');
	}
	r |= buf_append_char(out, ' ');
	r |= msg_imap_write_string(out, p->location, utf8);
	return r;
}

static int write_part(struct buf *out, const struct msg_part *p, bool ext, bool utf8);

/* What stands in for a body that is not there: IMAP has no empty
 * multipart, and a message/rfc822 always has a body (as Dovecot does). */
static int write_empty_text(struct buf *out, bool ext)
{
	return buf_append_str(out, ext ? "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
				    "\"7bit\" 0 0 NIL NIL NIL NIL)" :
				    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL "
				    "\"7bit\" 0 0)");
}

static int write_multipart(struct buf *out, const struct msg_part *p, bool ext, bool utf8)
{
	int r = buf_append_char(out, '(');
	/* Unsplit (no boundary, too deep, no delimiter found): still a
	 * multipart for the client, with one empty part. */
	if (p->children == NULL || !p->is_multipart)
		r |= write_empty_text(out, ext);
	for (const struct msg_part *c = p->is_multipart ? p->children : NULL; c != NULL && r == 0;
	     c = c->next)
		r |= write_part(out, c, ext, utf8);
	r |= buf_append_char(out, ' ');
	r |= msg_imap_write_string(out, p->subtype, utf8);
	if (ext) {
		r |= buf_append_char(out, ' ');
		r |= write_params(out, p->params, p->param_count, utf8);
		r |= write_dsp_lang_loc(out, p, utf8);
	}
	return r | buf_append_char(out, ')');
}

static bool is_message_type(const struct msg_part *p)
{
	return str_case_eq_cstr(p->type, "message") &&
	       (str_case_eq_cstr(p->subtype, "rfc822") || str_case_eq_cstr(p->subtype, "global"));
}

/* The envelope, body and lines of a message/rfc822 part; an unparsed
 * one (encoded, too deep) gets an empty envelope and body. */
static int write_encapsulated(struct buf *out, const struct msg_part *p, bool ext, bool utf8)
{
	int r = buf_append_char(out, ' ');
	if (p->is_message_rfc822) {
		r |= msg_imap_write_envelope(out, p->children, utf8);
		r |= buf_append_char(out, ' ');
		r |= write_part(out, p->children, ext, utf8);
	} else {
		r |= buf_append_str(out, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) ");
		r |= write_empty_text(out, ext);
	}
	return r | buf_printf(out, " %zu", p->body.lines);
}

static int write_single(struct buf *out, const struct msg_part *p, bool ext, bool utf8)
{
	int r = buf_append_char(out, '(');
	r |= msg_imap_write_string(out, p->type, utf8);
	r |= buf_append_char(out, ' ');
	r |= msg_imap_write_string(out, p->subtype, utf8);
	r |= buf_append_char(out, ' ');
	bool text = str_case_eq_cstr(p->type, "text");
	/* A text part without parameters is us-ascii (RFC 2046 4.1.2);
	 * Dovecot says so explicitly, and clients are used to it. */
	if (p->param_count == 0 && text)
		r |= buf_append_str(out, "(\"charset\" \"us-ascii\")");
	else
		r |= write_params(out, p->params, p->param_count, utf8);
	r |= buf_append_char(out, ' ');
	r |= msg_imap_write_string(out, p->id, utf8);
	r |= buf_append_char(out, ' ');
	r |= msg_imap_write_string(out, p->description, utf8);
	r |= buf_append_char(out, ' ');
	r |= msg_imap_write_string(out, p->encoding.p ? p->encoding : STR_LIT("7bit"), utf8);
	r |= buf_printf(out, " %zu", p->body.crlf_octets);
	if (is_message_type(p) && r == 0) {
		r |= write_encapsulated(out, p, ext, utf8);
	} else if (text) {
		r |= buf_printf(out, " %zu", p->body.lines);
	}
	if (ext) {
		r |= buf_append_char(out, ' ');
		r |= msg_imap_write_string(out, p->md5, utf8);
		r |= write_dsp_lang_loc(out, p, utf8);
	}
	return r | buf_append_char(out, ')');
}

static int write_part(struct buf *out, const struct msg_part *p, bool ext, bool utf8)
{
	return p->is_multipart || str_case_eq_cstr(p->type, "multipart") ?
		       write_multipart(out, p, ext, utf8) :
				 write_single(out, p, ext, utf8);
}

int msg_imap_write_body(struct buf *out, const struct msg_part *part, bool extended,
			bool utf8)
{
	return write_part(out, part, extended, utf8) < 0 ? -1 : 0;
}
