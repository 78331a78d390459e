/* sendmail(1)'s input: the message on stdin, ended by EOF or, without -i,
 * by a line holding a single ".". The header section is read whole (it is
 * bounded) so that -t can take the recipients from it and Bcc: can be
 * removed before the message leaves; the body streams line by line. */
#include "client/sendmail.h"

#include <errno.h>
#include <string.h>

#include "msg/address.h"
#include "msg/header.h"

/* One input line into line (reset first), CRLF made LF. 1, 0 at EOF
 * before any octet, -1 on a read error. A line longer than line's cap
 * comes back in pieces (the last without LF until its end). */
static int get_line(FILE *in, struct buf *line)
{
	buf_reset(line);
	int c;
	while ((c = getc(in)) != EOF) {
		if (c == '\n') {
			if (line->len > 0 && line->data[line->len - 1] == '\r')
				line->len--;
			if (buf_append_char(line, '\n') < 0)
				return -1;
			return 1;
		}
		if (buf_append_char(line, (char)c) < 0)
			return -1;
		if (line->len + 2 >= line->max)
			return 1;
	}
	if (ferror(in))
		return -1;
	return line->len > 0 ? 1 : 0;
}

static bool is_dot_line(const struct buf *line)
{
	return line->len == 2 && line->data[0] == '.' && line->data[1] == '\n';
}

int sendmail_read_line(FILE *in, const struct sendmail_opts *o, struct buf *line)
{
	int r = get_line(in, line);
	if (r == 1 && o->dot_ends && is_dot_line(line))
		return 0;
	return r;
}

/* "Name:" with a name of printable octets other than SP and ":". */
static bool starts_field(const struct buf *line)
{
	for (size_t i = 0; i < line->len; i++) {
		unsigned char c = (unsigned char)line->data[i];
		if (c == ':')
			return i > 0;
		if (c <= ' ' || c >= 0x7f)
			return false;
	}
	return false;
}

static bool is_name(struct str name, const char *want)
{
	return str_case_eq_cstr(name, want);
}

/* Appends the recipients of one address field. */
static int add_rcpts(struct sendmail_header *h, struct str value, const char *domain,
		     const char **error_r)
{
	struct buf unfolded;
	buf_init(&unfolded, value.len + 1);
	struct msg_address_list *list = NULL;
	int ret = -1;
	*error_r = "out of memory";
	if (msg_header_unfold(value, &unfolded) < 0 ||
	    msg_address_parse(buf_str(&unfolded), &list, error_r) < 0)
		goto out;
	for (size_t i = 0; i < list->count; i++) {
		const struct msg_address *a = &list->addrs[i];
		if (a->kind != MSG_ADDR_MAILBOX)
			continue;
		bool no_domain = a->invalid && str_eq(a->host, STR_LIT("MISSING_DOMAIN"));
		if (a->invalid && (!no_domain || str_eq(a->mailbox, STR_LIT("MISSING_MAILBOX")))) {
			*error_r = "a recipient header holds an address that cannot be parsed";
			goto out;
		}
		int r = no_domain ? buf_printf(&h->rcpts, "%.*s@%s", (int)a->mailbox.len,
					       a->mailbox.p, domain)
				  : msg_address_write_addr_spec(&h->rcpts, a);
		if (r < 0 || buf_append_char(&h->rcpts, '\0') < 0) {
			*error_r = "too many recipients";
			goto out;
		}
		h->rcpt_count++;
	}
	ret = 0;
out:
	msg_address_list_free(&list);
	buf_free(&unfolded);
	return ret;
}

static bool has_resent(const struct buf *raw)
{
	struct msg_header_iter it;
	struct msg_header_field f;
	msg_header_iter_init(&it, raw->data, raw->len);
	while (msg_header_next(&it, &f) == 1) {
		if (str_has_prefix_case(f.name, "Resent-"))
			return true;
	}
	return false;
}

/* From the raw section: the text without Bcc, the flags, the recipients. */
static int digest(struct sendmail_header *h, const struct buf *raw, bool extract,
		  const char *domain, const char **error_r)
{
	bool resent = extract && has_resent(raw);
	const char *to = resent ? "Resent-To" : "To", *cc = resent ? "Resent-Cc" : "Cc";
	const char *bcc = resent ? "Resent-Bcc" : "Bcc";
	struct msg_header_iter it;
	struct msg_header_field f;
	msg_header_iter_init(&it, raw->data, raw->len);
	while (msg_header_next(&it, &f) == 1) {
		if (extract && (is_name(f.name, to) || is_name(f.name, cc) || is_name(f.name, bcc)) &&
		    add_rcpts(h, f.value, domain, error_r) < 0)
			return -1;
		h->has_from |= is_name(f.name, "From");
		h->has_sender |= is_name(f.name, "Sender");
		h->has_date |= is_name(f.name, "Date");
		h->has_message_id |= is_name(f.name, "Message-ID");
		/* RFC 5322 3.6.3: Bcc recipients are not shown to the others. */
		if (is_name(f.name, "Bcc") || is_name(f.name, "Resent-Bcc"))
			continue;
		if (buf_append(&h->text, raw->data + f.offset, f.size) < 0) {
			*error_r = "out of memory";
			return -1;
		}
	}
	return 0;
}

/* Reads the raw section into raw and the first body line into pending. */
static int read_raw(FILE *in, const struct sendmail_opts *o, struct buf *raw,
		    struct sendmail_header *h, struct buf *pending, const char **error_r)
{
	bool first = true;
	for (;;) {
		int r = get_line(in, pending);
		if (r < 0) {
			*error_r = errno == ENOMEM ? "out of memory" : "cannot read the message";
			return -1;
		}
		if (r == 0 || (o->dot_ends && is_dot_line(pending))) {
			buf_reset(pending);
			h->ended = true;
			return 0;
		}
		/* An mbox separator is not part of the message. */
		if (first && pending->len >= 5 && memcmp(pending->data, "From ", 5) == 0) {
			first = false;
			continue;
		}
		first = false;
		bool cont = raw->len > 0 && (pending->data[0] == ' ' || pending->data[0] == '\t');
		if (!cont && !starts_field(pending))
			return 0;   /* the blank line, or the body's first line */
		if (pending->len > 0 && pending->data[pending->len - 1] != '\n') {
			*error_r = "header line too long";
			return -1;
		}
		if (buf_append(raw, pending->data, pending->len) < 0) {
			*error_r = "header section too large";
			return -1;
		}
	}
}

int sendmail_read_header(FILE *in, const struct sendmail_opts *o, size_t max,
			 const char *domain, struct sendmail_header *h, struct buf *pending,
			 const char **error_r)
{
	memset(h, 0, sizeof *h);
	buf_init(&h->text, max + 1);
	buf_init(&h->rcpts, 64 * 1024);
	struct buf raw;
	buf_init(&raw, max);
	int ret = read_raw(in, o, &raw, h, pending, error_r);
	if (ret == 0)
		ret = digest(h, &raw, o->extract, domain, error_r);
	buf_free(&raw);
	if (ret == 0 && pending->len == 1 && pending->data[0] == '\n')
		buf_reset(pending);   /* the separator: written below */
	if (ret == 0 && !h->ended && buf_append_char(&h->text, '\n') < 0) {
		*error_r = "header section too large";
		ret = -1;
	}
	return ret;
}

void sendmail_header_free(struct sendmail_header *h)
{
	buf_free(&h->text);
	buf_free(&h->rcpts);
}
