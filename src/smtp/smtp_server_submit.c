/* The content of a submitted message (RFC 6409 8): the header section is
 * held while it arrives (it is bounded by max_header; the body never is
 * held), then the fields a message must have and lacks, Date: (8.2) and
 * Message-ID: (8.3), go to the spool in front of it, and its From: is
 * checked against the addresses the user owns. The rest streams on. */
#include "smtp/smtp_server_private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "msg/address.h"
#include "msg/date.h"
#include "msg/header.h"

/* Client text inside a reply: bounded, printable, on one line. */
static void reply_text(char *out, size_t outlen, struct str in)
{
	size_t o = 0;
	for (size_t i = 0; i < in.len && o + 1 < outlen; i++) {
		unsigned char c = (unsigned char)in.p[i];
		out[o++] = c > 0x20 && c < 0x7f && c != '<' && c != '>' ? (char)c : '?';
	}
	out[o] = '\0';
}

/* One From: field (RFC 5322 3.6.2): every mailbox in it must be the
 * user's; the first one that is not sets the reply. */
static void check_from(struct smtp_server *s, struct str value)
{
	struct buf v;
	struct msg_address_list *list = NULL;
	const char *err = NULL;
	buf_init(&v, value.len + 1);
	if (msg_header_unfold(value, &v) < 0 ||
	    msg_address_parse((struct str){ v.data != NULL ? v.data : "", v.len }, &list,
			      &err) < 0) {
		snprintf(s->header_reject, sizeof s->header_reject, "451 4.3.0 Error: out of memory");
		buf_free(&v);
		return;
	}
	for (size_t i = 0; i < list->count && s->header_reject[0] == '\0'; i++) {
		const struct msg_address *a = &list->addrs[i];
		if (a->kind != MSG_ADDR_MAILBOX)
			continue;
		if (!a->invalid && smtp_auth_owns(s, a->mailbox.p, a->host.p))
			continue;
		char local[SMTP_LOCAL_MAX + 1], domain[SMTP_DOMAIN_MAX + 1];
		reply_text(local, sizeof local, a->mailbox);
		reply_text(domain, sizeof domain, a->host);
		/* After DATA, as Postfix's cleanup refuses content: 550. */
		snprintf(s->header_reject, sizeof s->header_reject,
			 "550 5.7.1 <%s@%s>: From: header address not owned by user %s", local,
			 domain, s->auth_user);
	}
	msg_address_list_free(&list);
	buf_free(&v);
}

/* The header section is whole (or the message ended): adds what is
 * missing, checks From:, and writes all that is held. 0, or -1 with errno
 * from the spool. */
static int release(struct smtp_server *s)
{
	const struct smtp_data_reader *r = &s->reader;
	size_t hs = r->in_header || r->header_size > s->held.len ? s->held.len : r->header_size;
	bool has_date = false, has_id = false;
	struct msg_header_iter it;
	struct msg_header_field f;
	msg_header_iter_init(&it, s->held.data != NULL ? s->held.data : "", hs);
	while (msg_header_next(&it, &f) == 1) {
		if (str_case_eq_cstr(f.name, "Date"))
			has_date = true;
		else if (str_case_eq_cstr(f.name, "Message-ID"))
			has_id = true;
		else if (str_case_eq_cstr(f.name, "From") && s->header_reject[0] == '\0' &&
			 s->set.role == SMTP_ROLE_SUBMISSION)
			check_from(s, f.value);
	}
	char add[MSG_DATE_MAX + sizeof s->tx.id + SMTP_DOMAIN_MAX + 32], date[MSG_DATE_MAX];
	size_t n = 0;
	if (!has_date) {
		msg_date_format(time(NULL), date, sizeof date);
		n += (size_t)snprintf(add + n, sizeof add - n, "Date: %s\n", date);
	}
	if (!has_id)   /* the queue id is unique here, the hostname elsewhere */
		n += (size_t)snprintf(add + n, sizeof add - n, "Message-ID: <%s@%s>\n", s->tx.id,
				      s->set.hostname);
	s->holding = false;
	int ret = 0;
	if (n > 0)
		ret = s->hooks->spool_write(s->hook_ctx, add, n);
	if (ret == 0 && s->held.len > 0)
		ret = s->hooks->spool_write(s->hook_ctx, s->held.data, s->held.len);
	int e = errno;
	buf_free(&s->held);
	errno = e;
	return ret;
}

int smtp_submit_sink(void *ctx, const char *p, size_t n)
{
	struct smtp_server *s = ctx;
	if (!s->holding)
		return s->hooks->spool_write(s->hook_ctx, p, n);
	/* What the reader has passed is header while it is still in the
	 * header section; once out of it, header_size says where it ended. */
	size_t take = n;
	if (!s->reader.in_header) {
		size_t hs = s->reader.header_size;
		take = hs > s->held.len ? hs - s->held.len : 0;
		if (take > n)
			take = n;
	}
	if (buf_append(&s->held, p, take) < 0) {
		errno = ENOMEM;   /* cannot be: the reader bounds the header */
		return -1;
	}
	if (s->reader.in_header)
		return 0;
	if (release(s) < 0)
		return -1;
	return take < n ? s->hooks->spool_write(s->hook_ctx, p + take, n - take) : 0;
}

void smtp_submit_start(struct smtp_server *s)
{
	buf_free(&s->held);
	/* The header section as stored is at most max_header octets (its
	 * CRLFs counted as two), and one line more may be held before the
	 * reader sees it is not a field. */
	buf_init(&s->held, s->set.max_header + SMTP_TEXT_LINE_MAX);
	s->holding = true;
	s->header_reject[0] = '\0';
	smtp_data_set_sink(&s->reader, smtp_submit_sink, s);
}

const char *smtp_submit_finish(struct smtp_server *s)
{
	if (s->holding && release(s) < 0)
		return smtp_data_error_reply(errno == ENOSPC || errno == EDQUOT || errno == EFBIG
						     ? SMTP_DATA_NO_SPACE : SMTP_DATA_IO);
	return s->header_reject[0] != '\0' ? s->header_reject : NULL;
}

void smtp_submit_reset(struct smtp_server *s)
{
	buf_free(&s->held);
	s->holding = false;
	s->header_reject[0] = '\0';
}
