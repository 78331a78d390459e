/* The end of a message: checks, the Received: trace field, the commit. */
#include "smtp/smtp_server_private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"
#include "msg/date.h"

/* The HELO name comes from the client: keep only what is safe inside a
 * Received: field (no controls, no parentheses that would end the
 * comment early). */
static void clean_helo(const char *in, char *out, size_t outlen)
{
	size_t o = 0;
	for (const unsigned char *p = (const unsigned char *)in; *p && o + 1 < outlen; p++)
		out[o++] = (*p > 0x20 && *p < 0x7f && *p != '(' && *p != ')' && *p != '\\')
				   ? (char)*p : '?';
	out[o] = '\0';
}

/* RFC 3848 protocol names (S: TLS, A: AUTH), with RFC 6531 3.7.3's UTF8
 * variants. */
static const char *with_protocol(const struct smtp_server *s)
{
	bool a = s->auth_user[0] != '\0';
	if (s->tx.smtputf8)
		return s->tls ? (a ? "UTF8SMTPSA" : "UTF8SMTPS") : (a ? "UTF8SMTPA" : "UTF8SMTP");
	if (!s->esmtp)
		return "SMTP";
	return s->tls ? (a ? "ESMTPSA" : "ESMTPS") : (a ? "ESMTPA" : "ESMTP");
}

int smtp_build_received(struct smtp_server *s)
{
	char helo[256], date[MSG_DATE_MAX];
	clean_helo(s->helo, helo, sizeof helo);
	msg_date_format(time(NULL), date, sizeof date);
	struct buf *b = &s->tx.received;
	buf_reset(b);
	/* Local: the kernel's uid, not a name the client chose, as Postfix's
	 * pickup writes "(Postfix, from userid 1000)". */
	int r = s->set.role == SMTP_ROLE_LOCAL ?
		buf_printf(b, "Received: from localhost (uid %lu%s%s)\n", s->set.local_uid,
			   s->local_user[0] ? " " : "", s->local_user) :
		buf_printf(b, "Received: from %s ([%s])\n", helo, s->peer);
	/* Who submitted it, as Postfix's smtpd_sasl_authenticated_header
	 * writes it: abuse reports can then name the account. */
	if (r == 0 && s->auth_user[0] != '\0')
		r = buf_printf(b, "\t(Authenticated sender: %s)\n", s->auth_user);
	if (r == 0)
		r = buf_printf(b, "\tby %s (postbox) with %s id %s", s->set.hostname,
			       with_protocol(s), s->tx.id);
	if (r == 0 && s->tls)
		r = buf_printf(b, "\n\t(%s)", s->tls_info);
	/* Naming the recipient only when there is one keeps Bcc private. */
	if (r == 0 && s->tx.rcpt_count == 1)
		r = buf_printf(b, "\n\tfor <%s>", s->tx.rcpts[0].address);
	if (r == 0)
		r = buf_printf(b, "; %s\n", date);
	return r;
}

const char *smtp_content_start(struct smtp_server *s, bool dot_mode)
{
	/* The trace field is made now, so that the spool file starts with it
	 * and is, byte for byte, the file each Maildir gets: the time is
	 * when the content began to arrive. */
	if (smtp_build_received(s) < 0)
		return "451 4.3.0 Error: out of memory";
	buf_reset(&s->tx.data);
	smtp_data_init(&s->reader, &s->tx.data, s->set.message_size, s->set.max_header,
		       dot_mode);
	smtp_data_set_sink(&s->reader, s->hooks->spool_write, s->hook_ctx);
	if (smtp_role_completes(s))
		smtp_submit_start(s);
	/* No spool (a full disk): the content is still read to its end, so
	 * the client hears why at the end, as when a later write fails. */
	if (s->hooks->spool_open(s->hook_ctx, &s->tx) < 0)
		smtp_data_sink_failed(&s->reader, errno);
	else
		s->spooling = true;
	return NULL;
}

static void tx_failed(struct smtp_server *s, const char *reply)
{
	smtp_reply(s, "%s", reply);
	smtp_tx_reset(s);
	smtp_server_set_state(s, SMTP_STATE_READY);
}

void smtp_server_message_complete(struct smtp_server *s)
{
	const struct smtp_data_reader *r = &s->reader;
	if (r->error != SMTP_DATA_OK) {
		tx_failed(s, smtp_data_error_reply(r->error));
		return;
	}
	/* RFC 5321 6.3: a message that has passed more relays than this is
	 * in a loop (issue 2: "more than 50 Received: headers"). */
	if (r->received_count > s->set.max_hops) {
		tx_failed(s, "554 5.4.6 Error: too many hops, routing loop (RFC 5321 6.3)");
		return;
	}
	if (smtp_role_completes(s)) {
		const char *refused = smtp_submit_finish(s);
		if (refused != NULL) {
			tx_failed(s, refused);
			return;
		}
	}
	if (r->eight_bit && !s->tx.body_8bit && !s->tx.smtputf8)
		log_debug("smtp %s: 8-bit data without BODY=8BITMIME", s->id);
	s->tx.size = r->size;
	smtp_server_set_state(s, SMTP_STATE_COMMIT);
	s->hooks->commit(s->hook_ctx, &s->tx);
}
