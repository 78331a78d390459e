/* The SMTP server session: the input loop, states, replies and the
 * transaction's life. The commands themselves are in smtp_server_cmds.c. */
#include "smtp/smtp_server_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "lib/log.h"

#define OUT_MAX (1024 * 1024)

static const char *const state_names[SMTP_STATE_COUNT] = {
	[SMTP_STATE_GREETING] = "GREETING", [SMTP_STATE_READY] = "READY",
	[SMTP_STATE_MAIL] = "MAIL",         [SMTP_STATE_RCPT] = "RCPT",
	[SMTP_STATE_DATA] = "DATA",         [SMTP_STATE_BDAT] = "BDAT",
	[SMTP_STATE_BDAT_MORE] = "BDAT_MORE", [SMTP_STATE_COMMIT] = "COMMIT",
	[SMTP_STATE_TLS] = "TLS",           [SMTP_STATE_AUTH] = "AUTH",
	[SMTP_STATE_CLOSED] = "CLOSED",
};

const char *smtp_state_name(enum smtp_state st)
{
	return st < SMTP_STATE_COUNT ? state_names[st] : "?";
}

#define B(st) (1u << (st))
/* Legal moves: from -> set of destinations. CLOSED is reachable from
 * everywhere (QUIT, too many errors, shutdown). */
static const unsigned legal[SMTP_STATE_COUNT] = {
	[SMTP_STATE_GREETING] = B(SMTP_STATE_GREETING) | B(SMTP_STATE_READY) | B(SMTP_STATE_TLS) |
				B(SMTP_STATE_BDAT),
	[SMTP_STATE_READY] = B(SMTP_STATE_READY) | B(SMTP_STATE_MAIL) | B(SMTP_STATE_TLS) |
			     B(SMTP_STATE_GREETING) | B(SMTP_STATE_BDAT) | B(SMTP_STATE_AUTH),
	[SMTP_STATE_MAIL] = B(SMTP_STATE_READY) | B(SMTP_STATE_RCPT) | B(SMTP_STATE_GREETING) |
			    B(SMTP_STATE_BDAT) | B(SMTP_STATE_MAIL),
	[SMTP_STATE_RCPT] = B(SMTP_STATE_READY) | B(SMTP_STATE_RCPT) | B(SMTP_STATE_DATA) |
			    B(SMTP_STATE_BDAT) | B(SMTP_STATE_GREETING),
	[SMTP_STATE_DATA] = B(SMTP_STATE_READY) | B(SMTP_STATE_COMMIT),
	[SMTP_STATE_BDAT] = B(SMTP_STATE_BDAT_MORE) | B(SMTP_STATE_READY) | B(SMTP_STATE_COMMIT) |
			    B(SMTP_STATE_GREETING) | B(SMTP_STATE_MAIL) | B(SMTP_STATE_RCPT),
	[SMTP_STATE_BDAT_MORE] = B(SMTP_STATE_BDAT) | B(SMTP_STATE_READY) | B(SMTP_STATE_GREETING),
	[SMTP_STATE_COMMIT] = B(SMTP_STATE_READY),
	[SMTP_STATE_TLS] = B(SMTP_STATE_GREETING),
	[SMTP_STATE_AUTH] = B(SMTP_STATE_READY),
	[SMTP_STATE_CLOSED] = 0,
};

void smtp_server_set_state(struct smtp_server *s, enum smtp_state to)
{
	if (s->state == SMTP_STATE_CLOSED)
		return;  /* closing wins over whatever the command meant to do */
	if (to != SMTP_STATE_CLOSED && !(legal[s->state] & B(to))) {
		log_err("smtp %s: illegal state change %s -> %s", s->id,
			smtp_state_name(s->state), smtp_state_name(to));
		abort();  /* a broken invariant, never input-driven */
	}
	log_debug("smtp %s: %s -> %s", s->id, smtp_state_name(s->state), smtp_state_name(to));
	s->state = to;
}

void smtp_reply(struct smtp_server *s, const char *fmt, ...)
{
	va_list ap;
	size_t start = s->out.len;
	va_start(ap, fmt);
	int r = buf_vprintf(&s->out, fmt, ap);
	va_end(ap);
	if (r < 0 || buf_append(&s->out, "\r\n", 2) < 0) {
		/* A client that never reads its replies: stop talking to it. */
		buf_truncate(&s->out, start);
		s->want_close = true;
		s->state = SMTP_STATE_CLOSED;
		return;
	}
	char c = s->out.data[start];
	if (c == '4' || c == '5') {
		log_info("smtp %s: [%s] reject: %.*s", s->id, s->peer,
			 (int)(s->out.len - start - 2), s->out.data + start);
		if (++s->errors >= s->set.max_errors && s->state != SMTP_STATE_CLOSED) {
			buf_printf(&s->out, "421 4.7.0 %s Error: too many errors\r\n",
				   s->set.hostname);
			log_info("smtp %s: [%s] too many errors, closing", s->id, s->peer);
			smtp_server_set_state(s, SMTP_STATE_CLOSED);
			s->want_close = true;
		}
	}
}

struct smtp_server *smtp_server_new(const struct smtp_server_settings *set,
				    const struct smtp_server_hooks *hooks, void *hook_ctx,
				    const char *session_id, const char *peer_ip,
				    bool tls_active, const char *tls_info)
{
	struct smtp_server *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->set = *set;
	s->hooks = hooks;
	s->hook_ctx = hook_ctx;
	snprintf(s->id, sizeof s->id, "%s", session_id);
	snprintf(s->peer, sizeof s->peer, "%s", peer_ip);
	if (s->set.role == SMTP_ROLE_LOCAL) {
		/* A unix socket: nothing to encrypt, the kernel names the user. */
		s->set.tls_available = false;
		s->set.plaintext_auth = false;
		snprintf(s->local_user, sizeof s->local_user, "%s",
			 set->local_user != NULL ? set->local_user : "");
	}
	s->set.local_user = NULL;
	s->tls = tls_active;
	snprintf(s->tls_info, sizeof s->tls_info, "%s", tls_info ? tls_info : "");
	/* Command lines are held to their own limits (smtp_server_command);
	 * the reader's is that of an AUTH response. */
	line_reader_init(&s->lines, s->set.role == SMTP_ROLE_SUBMISSION
					    ? SMTP_AUTH_LINE_MAX + 2
					    : SMTP_CMD_LINE_MAX + SMTP_CMD_LINE_EXT);
	buf_init(&s->out, OUT_MAX);
	buf_init(&s->tx.received, 4096);
	buf_init(&s->tx.data, SMTP_SPOOL_CHUNK);
	s->state = SMTP_STATE_GREETING;
	return s;
}

void smtp_server_free(struct smtp_server **sp)
{
	struct smtp_server *s = *sp;
	if (s == NULL)
		return;
	smtp_tx_reset(s);
	free(s->tx.rcpts);
	buf_free(&s->tx.data);
	buf_free(&s->tx.received);
	buf_free(&s->owned);
	sasl_server_clear(&s->sasl);
	line_reader_free(&s->lines);
	buf_free(&s->out);
	free(s);
	*sp = NULL;
}

void smtp_server_greet(struct smtp_server *s)
{
	smtp_reply(s, "220 %s ESMTP postbox", s->set.hostname);
}

void smtp_tx_reset(struct smtp_server *s)
{
	for (size_t i = 0; i < s->tx.rcpt_count; i++) {
		if (s->tx.rcpts[i].data != NULL)
			s->hooks->rcpt_free(s->hook_ctx, s->tx.rcpts[i].data);
	}
	s->tx.rcpt_count = 0;
	s->tx.sender[0] = '\0';
	s->tx.id[0] = '\0';
	s->tx.smtputf8 = false;
	s->tx.body_8bit = false;
	s->tx.size = 0;
	if (s->spooling) {
		s->spooling = false;
		s->hooks->spool_close(s->hook_ctx);
	}
	/* An idle session holds no staging buffer. */
	buf_free(&s->tx.data);
	smtp_submit_reset(s);
	buf_reset(&s->tx.received);
	s->tx_active = false;
}

/* Command mode: collects one line, then runs it. Returns bytes used. */
static size_t input_line(struct smtp_server *s, const char *p, size_t n)
{
	size_t used, len;
	const char *line;
	switch (line_reader_feed(&s->lines, p, n, &used, &line, &len)) {
	case LINE_READY:
		/* RFC 5321 2.3.8: only CRLF ends a line. A bare LF is not
		 * taken as one (Postfix does take it): a command that two
		 * programs could split differently is refused, as in DATA. */
		if (s->lines.bare_lf && s->state == SMTP_STATE_AUTH)
			smtp_auth_line_refused(s, "501 5.5.2 Error: bare LF in response; lines end"
						  " with CRLF (RFC 5321 2.3.8)");
		else if (s->lines.bare_lf)
			smtp_reply(s, "501 5.5.2 Error: bare LF in command; lines end with CRLF"
				      " (RFC 5321 2.3.8)");
		else if (s->state == SMTP_STATE_AUTH)
			smtp_auth_line(s, line, len);
		else
			smtp_server_command(s, line, len);
		break;
	case LINE_TOO_LONG:
		if (s->state == SMTP_STATE_AUTH)
			smtp_auth_line_refused(s, "500 5.5.6 Authentication Exchange line is too long"
						  " (RFC 4954 4)");
		else
			smtp_reply(s, "500 5.5.2 Error: line too long (RFC 5321 4.5.3.1.4)");
		break;
	default:
		break;
	}
	return used;
}

static size_t input_data(struct smtp_server *s, const char *p, size_t n)
{
	size_t used;
	if (smtp_data_feed(&s->reader, p, n, &used) == 1)
		smtp_server_message_complete(s);
	return used;
}

void smtp_bdat_chunk_end(struct smtp_server *s)
{
	if (s->bdat_reject != NULL) {
		smtp_reply(s, "%s", s->bdat_reject);
		s->bdat_reject = NULL;
		/* Back to where the BDAT found us, minus any transaction. */
		smtp_tx_reset(s);
		smtp_server_set_state(s, s->helo[0] ? SMTP_STATE_READY : SMTP_STATE_GREETING);
		return;
	}
	if (s->reader.error != SMTP_DATA_OK) {
		smtp_reply(s, "%s", smtp_data_error_reply(s->reader.error));
		smtp_tx_reset(s);
		smtp_server_set_state(s, SMTP_STATE_READY);
		return;
	}
	if (!s->bdat_last) {
		smtp_reply(s, "250 2.0.0 %zu octets received", s->reader.size);
		smtp_server_set_state(s, SMTP_STATE_BDAT_MORE);
		return;
	}
	smtp_data_finish(&s->reader);
	smtp_server_message_complete(s);
}

static size_t input_bdat(struct smtp_server *s, const char *p, size_t n)
{
	size_t take = n < s->bdat_left ? n : (size_t)s->bdat_left;
	if (s->bdat_reject == NULL) {
		size_t used;
		smtp_data_feed(&s->reader, p, take, &used);
	}
	s->bdat_left -= take;
	if (s->bdat_left == 0)
		smtp_bdat_chunk_end(s);
	return take;
}

size_t smtp_server_input(struct smtp_server *s, const char *data, size_t len)
{
	size_t used = 0;
	while (used < len) {
		switch (s->state) {
		case SMTP_STATE_DATA:
			used += input_data(s, data + used, len - used);
			break;
		case SMTP_STATE_BDAT:
			used += input_bdat(s, data + used, len - used);
			break;
		case SMTP_STATE_COMMIT:
		case SMTP_STATE_TLS:
		case SMTP_STATE_CLOSED:
			return used;
		default:
			if (s->rcpt_pending || s->auth_pending)
				return used;
			used += input_line(s, data + used, len - used);
			break;
		}
	}
	return used;
}

struct buf *smtp_server_output(struct smtp_server *s) { return &s->out; }
bool smtp_server_want_starttls(const struct smtp_server *s) { return s->want_starttls; }
bool smtp_server_want_close(const struct smtp_server *s) { return s->want_close; }
bool smtp_server_busy(const struct smtp_server *s)
{
	return s->state == SMTP_STATE_COMMIT || s->rcpt_pending || s->auth_pending;
}
enum smtp_state smtp_server_state(const struct smtp_server *s) { return s->state; }
const struct smtp_tx *smtp_server_tx(const struct smtp_server *s) { return &s->tx; }

unsigned smtp_server_timeout(const struct smtp_server *s, unsigned command, unsigned data)
{
	/* RFC 5321 4.5.3.2.7: 5 minutes for the next command; 4.5.3.2.6:
	 * 3 minutes for each chunk of DATA. */
	return s->state == SMTP_STATE_DATA || s->state == SMTP_STATE_BDAT ? data : command;
}

void smtp_server_tls_started(struct smtp_server *s, const char *tls_info)
{
	s->tls = true;
	snprintf(s->tls_info, sizeof s->tls_info, "%s", tls_info);
	s->want_starttls = false;
	/* RFC 3207 4.2: discard all knowledge from before TLS, a login
	 * made in clear (plaintext_auth) included. */
	smtp_tx_reset(s);
	s->auth_user[0] = '\0';
	buf_free(&s->owned);
	s->esmtp = false;
	s->helo[0] = '\0';
	line_reader_reset(&s->lines);
	smtp_server_set_state(s, SMTP_STATE_GREETING);
}

void smtp_server_commit_done(struct smtp_server *s, const char *error)
{
	if (error != NULL) {
		smtp_reply(s, "%s", error);
	} else {
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", s->tx.id);
	}
	smtp_tx_reset(s);
	if (s->state == SMTP_STATE_COMMIT)
		smtp_server_set_state(s, SMTP_STATE_READY);
}

void smtp_server_goodbye(struct smtp_server *s, const char *reply)
{
	smtp_reply(s, "%s", reply);
	smtp_server_set_state(s, SMTP_STATE_CLOSED);
	s->want_close = true;
}
