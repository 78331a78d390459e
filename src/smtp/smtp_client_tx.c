/* A message's envelope (RFC 5321 3.3) and the replies that decide its
 * recipients' fates: MAIL FROM with SIZE (RFC 1870), BODY=8BITMIME (RFC
 * 6152), SMTPUTF8 (RFC 6531), RET and ENVID (RFC 3461); RCPT TO with
 * NOTIFY and ORCPT; DATA; all in one write with PIPELINING (RFC 2920). */
#include "smtp/smtp_client_private.h"

#include <stdio.h>
#include <string.h>

#include "smtp/smtp_parse.h"

/* No control octet (a CR or LF would end the command early and start
 * another: command injection); 8-bit octets make the message need
 * SMTPUTF8. */
static bool envelope_text_ok(const char *s, size_t max, bool *eight_bit)
{
	size_t n = strlen(s);
	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f)
			return false;
		if (ch >= 0x80)
			*eight_bit = true;
	}
	return true;
}

static bool xtext_ok(const char *s, size_t max)
{
	size_t n = strlen(s);
	return n <= max && smtp_xtext_valid((struct str){ s, n });
}

/* ORCPT (RFC 3461 4.2): addr-type ";" xtext, at most 500 octets. */
static bool orcpt_ok(const char *s)
{
	const char *semi = strchr(s, ';');
	if (semi == NULL || semi == s || strlen(s) > 500)
		return false;
	for (const char *p = s; p < semi; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-'))
			return false;
	}
	return xtext_ok(semi + 1, 500);
}

static int check_msg(const struct smtp_client_msg *m, bool *utf8_r)
{
	bool eight = false;
	if (m->rcpt_count == 0 || m->rcpt_count > SMTP_CLIENT_RCPT_MAX || m->sender == NULL ||
	    !envelope_text_ok(m->sender, SMTP_PATH_MAX + 64, &eight))
		return -1;
	if (m->envid != NULL && !xtext_ok(m->envid, 100))
		return -1;
	for (size_t i = 0; i < m->rcpt_count; i++) {
		const struct smtp_client_rcpt *r = &m->rcpts[i];
		if (r->address == NULL || r->address[0] == '\0' ||
		    !envelope_text_ok(r->address, SMTP_PATH_MAX + 64, &eight) ||
		    (r->orcpt != NULL && !orcpt_ok(r->orcpt)) || r->notify > 15 ||
		    ((r->notify & SMTP_NOTIFY_NEVER) && r->notify != SMTP_NOTIFY_NEVER))
			return -1;
	}
	*utf8_r = m->smtputf8 || eight;
	return 0;
}

/* A message that cannot go to this server at all (RFC 6531 3.4 and RFC
 * 1870 6): every recipient fails at once and nothing is sent. */
static bool refuse_locally(struct smtp_client *c, const struct smtp_client_msg *m, bool utf8)
{
	struct smtp_client_status st;
	if (utf8 && !c->ehlo.smtputf8) {
		sc_status_local(c, &st, SMTP_FATE_BOUNCE, SMTP_SCOPE_MESSAGE, 554, "5.6.7",
				"SMTPUTF8 is required, but was not offered by the host");
	} else if (c->ehlo.size && c->ehlo.size_max > 0 && m->size > c->ehlo.size_max) {
		sc_status_local(c, &st, SMTP_FATE_BOUNCE, SMTP_SCOPE_MESSAGE, 552, "5.3.4",
				"message size %llu exceeds size limit %llu of the host",
				m->size, c->ehlo.size_max);
	} else {
		return false;
	}
	sc_tx_decide_all(c, &st);
	return true;
}

int smtp_client_send(struct smtp_client *c, const struct smtp_client_msg *m)
{
	bool utf8;
	if (c->state != SC_IDLE || check_msg(m, &utf8) < 0)
		return -1;
	memset(&c->tx, 0, sizeof c->tx);
	c->tx.msg = m;
	c->tx.smtputf8 = utf8;
	c->tx.bdat = c->ehlo.chunking && !c->set.no_chunking;
	memset(c->rcpt_state, SC_RCPT_WAIT, m->rcpt_count);
	if (refuse_locally(c, m, utf8)) {
		sc_set_state(c, SC_IDLE);   /* and hooks->idle again */
		sc_pump(c);
		return 0;
	}
	c->tx.rset = c->need_rset;
	c->need_rset = false;
	sc_set_state(c, SC_TX);
	sc_tx_next(c, NULL);
	sc_pump(c);
	return 0;
}

static void mail_command(struct smtp_client *c)
{
	const struct smtp_client_msg *m = c->tx.msg;
	char size[40] = "";
	if (c->ehlo.size)
		snprintf(size, sizeof size, " SIZE=%llu", m->size);
	const char *ret = m->ret == SMTP_RET_FULL ? " RET=FULL" : m->ret == SMTP_RET_HDRS ? " RET=HDRS" : "";
	bool dsn = c->ehlo.dsn;
	sc_command(c, SC_CMD_MAIL, "MAIL FROM:<%s>%s%s%s%s%s%s", m->sender, size,
		   m->eight_bit && c->ehlo.eightbitmime ? " BODY=8BITMIME" : "",
		   c->tx.smtputf8 ? " SMTPUTF8" : "", dsn ? ret : "",
		   dsn && m->envid != NULL ? " ENVID=" : "", dsn && m->envid != NULL ? m->envid : "");
	c->tx.mail_sent = true;
}

static void rcpt_command(struct smtp_client *c)
{
	const struct smtp_client_rcpt *r = &c->tx.msg->rcpts[c->tx.rcpt_sent++];
	char notify[48] = "";
	if (c->ehlo.dsn && r->notify != 0) {
		static const char *const names[] = { "NEVER", "SUCCESS", "FAILURE", "DELAY" };
		size_t len = 0;
		for (unsigned i = 0; i < 4; i++) {
			if (r->notify & (1u << i))
				len += (size_t)snprintf(notify + len, sizeof notify - len, "%s%s",
							len == 0 ? " NOTIFY=" : ",", names[i]);
		}
	}
	bool orcpt = c->ehlo.dsn && r->orcpt != NULL;
	sc_command(c, SC_CMD_RCPT, "RCPT TO:<%s>%s%s%s", r->address, notify,
		   orcpt ? " ORCPT=" : "", orcpt ? r->orcpt : "");
}

static bool pipelining(const struct smtp_client *c)
{
	return c->ehlo.pipelining && !c->set.no_pipelining;
}

void sc_tx_next(struct smtp_client *c, const struct smtp_reply *last)
{
	struct sc_tx *tx = &c->tx;
	bool all = pipelining(c);
	if (c->state != SC_TX || tx->msg == NULL || (!all && c->pend_count > 0))
		return;
	if (tx->rset) {
		tx->rset = false;
		sc_command(c, SC_CMD_RSET, "RSET");
		if (!all)
			return;
	}
	if (!tx->mail_sent) {
		mail_command(c);
		if (!all)
			return;
	}
	while (tx->rcpt_sent < tx->msg->rcpt_count) {
		rcpt_command(c);
		if (!all)
			return;
	}
	if (!tx->bdat && (all || tx->accepted > 0)) {
		if (!tx->data_sent)
			sc_command(c, SC_CMD_DATA, "DATA");
		tx->data_sent = true;
		return;
	}
	if (c->pend_count > 0)
		return;   /* BDAT waits for every RCPT reply */
	if (tx->accepted > 0) {
		sc_content_start(c);
		return;
	}
	/* Nobody accepted: no content (RFC 2920 3.1); the next message
	 * starts with RSET. */
	struct smtp_client_status st;
	sc_status_local(c, &st, SMTP_FATE_BOUNCE, SMTP_SCOPE_MESSAGE, 554, "5.5.1",
			"no recipient was accepted%s%.200s", last ? ": " : "", last ? last->text.data : "");
	c->need_rset = true;
	sc_tx_decide_all(c, &st);
}

void sc_tx_decide_all(struct smtp_client *c, const struct smtp_client_status *st)
{
	const struct smtp_client_msg *m = c->tx.msg;
	if (m == NULL)
		return;
	for (size_t i = 0; i < m->rcpt_count; i++) {
		if (c->rcpt_state[i] != SC_RCPT_DONE) {
			c->rcpt_state[i] = SC_RCPT_DONE;
			c->hooks->rcpt_done(c->hook_ctx, m, i, st);
		}
	}
	c->tx.msg = NULL;
	c->hooks->msg_done(c->hook_ctx, m, st);
}

void sc_tx_settle(struct smtp_client *c)
{
	if ((c->state == SC_TX || c->state == SC_CONTENT || c->state == SC_END) &&
	    c->tx.msg == NULL && c->pend_count == 0 && !c->tx.reading)
		sc_set_state(c, SC_IDLE);
}

static void mail_reply(struct smtp_client *c, const struct smtp_reply *rp)
{
	struct smtp_client_status st;
	if (c->tx.msg == NULL || rp->code / 100 == 2)
		return;
	/* Every recipient shares the fate of a refused MAIL. */
	sc_status_reply(&st, rp, SMTP_SCOPE_MESSAGE, "MAIL FROM");
	c->need_rset = true;
	sc_tx_decide_all(c, &st);
}

static void rcpt_reply(struct smtp_client *c, const struct smtp_reply *rp)
{
	struct smtp_client_status st;
	size_t i = c->tx.rcpt_replied++;
	if (c->tx.msg == NULL)
		return;   /* MAIL was refused: these are its echoes */
	if (rp->code / 100 == 2) {
		c->rcpt_state[i] = SC_RCPT_ACCEPTED;
		c->tx.accepted++;
		return;
	}
	sc_status_reply(&st, rp, SMTP_SCOPE_RCPT, "RCPT TO");
	c->rcpt_state[i] = SC_RCPT_DONE;
	c->hooks->rcpt_done(c->hook_ctx, c->tx.msg, i, &st);
}

static void data_reply(struct smtp_client *c, const struct smtp_reply *rp)
{
	struct smtp_client_status st;
	if (rp->code == 354 && c->tx.msg != NULL && c->tx.accepted > 0) {
		sc_content_start(c);
		return;
	}
	if (rp->code == 354) {
		/* RFC 2920 3.1: DATA accepted though nobody can receive the
		 * message: end it at once with an empty content. */
		buf_append(&c->out, ".\r\n", 3);
		sc_expect(c, SC_CMD_DOT);
		c->tx.dummy_dot = true;
		sc_status_local(c, &st, SMTP_FATE_BOUNCE, SMTP_SCOPE_MESSAGE, 554, "5.5.1",
				"no recipient was accepted");
		sc_tx_decide_all(c, &st);
		return;
	}
	c->need_rset = true;
	sc_status_reply(&st, rp, SMTP_SCOPE_MESSAGE, "DATA");
	sc_tx_decide_all(c, &st);
}

/* The reply to the end of data, or to a BDAT chunk. */
static void content_reply(struct smtp_client *c, enum sc_cmd kind, const struct smtp_reply *rp)
{
	struct smtp_client_status st;
	if (kind != SC_CMD_DOT)
		c->tx.bdat_inflight--;
	if (c->tx.msg == NULL || c->tx.dummy_dot)
		return;
	if (kind == SC_CMD_BDAT && rp->code / 100 == 2)
		return;   /* a chunk taken; the next goes out */
	if (kind == SC_CMD_BDAT) {
		/* RFC 3030 2: after a refused chunk the server drops the
		 * rest; so do we, and the next message starts with RSET. */
		c->tx.content_failed = true;
		c->need_rset = true;
	}
	sc_status_reply(&st, rp, SMTP_SCOPE_MESSAGE, kind == SC_CMD_DOT ? "end of data" : "BDAT");
	sc_tx_decide_all(c, &st);
}

void sc_tx_reply(struct smtp_client *c, enum sc_cmd kind, const struct smtp_reply *rp)
{
	struct smtp_client_status st;
	unsigned cls = rp->code / 100;
	bool intermediate = kind == SC_CMD_DATA && rp->code == 354;
	if (rp->code == 421 || (cls == 3) != intermediate || (kind == SC_CMD_DATA && cls == 2)) {
		/* RFC 5321 3.8 (421), or a 3xx where only 354 fits, a 354
		 * where it does not, or a DATA "accepted" without content. */
		sc_protocol_error(c, "unexpected reply", rp);
		return;
	}
	switch (kind) {
	case SC_CMD_RSET:
		if (cls != 2) {
			sc_status_reply(&st, rp, SMTP_SCOPE_CONNECTION, "RSET");
			sc_fail(c, &st, true);
			return;
		}
		break;
	case SC_CMD_MAIL:
		mail_reply(c, rp);
		break;
	case SC_CMD_RCPT:
		rcpt_reply(c, rp);
		break;
	case SC_CMD_DATA:
		data_reply(c, rp);
		break;
	default:
		content_reply(c, kind, rp);
		break;
	}
	sc_tx_next(c, rp);
	sc_tx_settle(c);
}
