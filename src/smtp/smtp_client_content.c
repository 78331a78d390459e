/* The content of a message, pulled from the caller in bounded reads and
 * sent exact (smtp_client_body.h): after DATA's 354 with a dot-stuffed
 * "." CRLF end (RFC 5321 4.1.1.4), or in BDAT chunks (RFC 3030). */
#include "smtp/smtp_client_private.h"

#include <stdio.h>
#include <stdlib.h>

void sc_content_start(struct smtp_client *c)
{
	smtp_body_enc_init(&c->tx.enc, !c->tx.bdat);
	buf_reset(&c->chunk);
	sc_set_state(c, SC_CONTENT);
}

/* Input octets the chunk has room for: n can become 2 * n + 2 octets
 * (smtp_client_body.h). */
static size_t chunk_room(const struct smtp_client *c)
{
	return (c->set.chunk_size - c->chunk.len - 2) / 2;
}

size_t sc_content_want(const struct smtp_client *c)
{
	const struct sc_tx *tx = &c->tx;
	if (c->state != SC_CONTENT || tx->msg == NULL || tx->reading || tx->eof ||
	    tx->content_failed || c->out.len >= SMTP_CLIENT_OUT_LOW)
		return 0;
	if (!tx->bdat)
		return SC_READ_MAX;
	size_t inflight = c->ehlo.pipelining && !c->set.no_pipelining ? SC_BDAT_INFLIGHT : 1;
	if (tx->bdat_inflight >= inflight)
		return 0;
	return chunk_room(c);
}

static void send_chunk(struct smtp_client *c, bool last)
{
	if (buf_printf(&c->out, "BDAT %zu%s\r\n", c->chunk.len, last ? " LAST" : "") < 0 ||
	    buf_append(&c->out, c->chunk.data, c->chunk.len) < 0)
		abort();   /* OUT_MAX has room for a chunk past OUT_LOW */
	buf_reset(&c->chunk);
	sc_expect(c, last ? SC_CMD_BDAT_LAST : SC_CMD_BDAT);
	c->tx.bdat_inflight++;
}

static int encode(struct smtp_client *c, const char *p, size_t n, bool eof)
{
	struct buf *dst = c->tx.bdat ? &c->chunk : &c->out;
	if (smtp_body_encode(&c->tx.enc, p, n, dst) < 0 ||
	    (eof && smtp_body_finish(&c->tx.enc, dst) < 0))
		return -1;
	/* A chunk goes once the next read would be small, so chunks are
	 * over 3/4 of chunk_size but the last. */
	if (c->tx.bdat && (eof || chunk_room(c) < c->set.chunk_size / 8))
		send_chunk(c, eof);
	else if (eof)
		sc_expect(c, SC_CMD_DOT);
	if (eof) {
		c->tx.eof = true;
		sc_set_state(c, SC_END);
	}
	return 0;
}

void smtp_client_body_done(struct smtp_client *c, const char *p, size_t n, bool eof,
			   bool error)
{
	struct smtp_client_status st;
	if (c->state == SC_CLOSED || !c->tx.reading)
		return;
	c->tx.reading = false;
	if (c->tx.msg == NULL || c->tx.content_failed) {
		/* A refused chunk ended the message meanwhile. */
		sc_tx_settle(c);
		sc_pump(c);
		return;
	}
	if (error || n > c->tx.asked || (n == 0 && !eof) || encode(c, p, n, eof) < 0) {
		/* Content half sent can only be ended by closing. */
		sc_status_local(c, &st, SMTP_FATE_DEFER, SMTP_SCOPE_MESSAGE, 451, "4.3.0",
				"the message content could not be read");
		sc_fail(c, &st, false);
		return;
	}
	sc_pump(c);
}
