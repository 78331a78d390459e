/* The POP3 session: input loop, states, replies, and the answers to the
 * hooks (where RETR/TOP output is made). The verbs: pop3_server_cmds.c. */
#include "pop3/pop3_server_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

#define OUT_MAX (128 * 1024 * 1024)   /* a RETR of the largest message */

#define B(st) (1u << (st))
/* Legal moves; CLOSED is reachable from everywhere and final. */
static const unsigned legal[POP3_STATE_COUNT] = {
	[POP3_STATE_AUTH] = B(POP3_STATE_SASL) | B(POP3_STATE_WAIT) | B(POP3_STATE_TLS),
	[POP3_STATE_SASL] = B(POP3_STATE_AUTH) | B(POP3_STATE_WAIT),
	[POP3_STATE_WAIT] = B(POP3_STATE_AUTH) | B(POP3_STATE_TRANSACTION),
	[POP3_STATE_TRANSACTION] = B(POP3_STATE_WAIT),
	[POP3_STATE_TLS] = B(POP3_STATE_AUTH),
};

void pop3_set_state(struct pop3_server *s, enum pop3_state to)
{
	static const char *const names[POP3_STATE_COUNT] = {
		"AUTH", "SASL", "WAIT", "TRANSACTION", "TLS", "CLOSED"
	};
	if (s->state == POP3_STATE_CLOSED)
		return;
	if (to != POP3_STATE_CLOSED && to != s->state && !(legal[s->state] & B(to))) {
		log_err("pop3 %s: illegal state change %s -> %s", s->id, names[s->state],
			names[to]);
		abort();  /* a broken invariant, never input-driven */
	}
	log_debug("pop3 %s: %s -> %s", s->id, names[s->state], names[to]);
	s->state = to;
}

void pop3_reply(struct pop3_server *s, const char *fmt, ...)
{
	va_list ap;
	size_t start = s->out.len;
	va_start(ap, fmt);
	int r = buf_vprintf(&s->out, fmt, ap);
	va_end(ap);
	if (r < 0 || buf_append(&s->out, "\r\n", 2) < 0) {
		buf_truncate(&s->out, start);
		s->want_close = true;
		pop3_set_state(s, POP3_STATE_CLOSED);
		return;
	}
	if (s->out.data[start] != '-')
		return;
	log_info("pop3 %s: reject: %.*s", s->id, (int)(s->out.len - start - 2),
		 s->out.data + start);
	if (++s->errors >= s->set.max_errors && s->state != POP3_STATE_CLOSED) {
		buf_append_str(&s->out, "-ERR Too many errors, closing\r\n");
		pop3_set_state(s, POP3_STATE_CLOSED);
		s->want_close = true;
	}
}


struct pop3_server *pop3_server_new(const struct pop3_server_settings *set,
				    const struct pop3_server_hooks *hooks, void *hook_ctx,
				    const char *session_id, bool tls_active)
{
	struct pop3_server *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->set = *set;
	s->hooks = hooks;
	s->hook_ctx = hook_ctx;
	s->tls = tls_active;
	snprintf(s->id, sizeof s->id, "%s", session_id);
	line_reader_init(&s->lines, POP3_LINE_MAX);
	buf_init(&s->out, OUT_MAX);
	s->state = POP3_STATE_AUTH;
	return s;
}

void pop3_server_free(struct pop3_server **sp)
{
	struct pop3_server *s = *sp;
	if (s == NULL)
		return;
	free(s->msgs);
	line_reader_free(&s->lines);
	buf_free(&s->out);
	explicit_bzero(s->user, sizeof s->user);
	sasl_server_clear(&s->sasl);
	free(s);
	*sp = NULL;
}

void pop3_server_greet(struct pop3_server *s)
{
	pop3_reply(s, "+OK %s POP3 postbox ready", s->set.hostname);
}

/* Collects one line and runs it; returns bytes used. */
static size_t input_line(struct pop3_server *s, const char *p, size_t n)
{
	size_t used, len;
	const char *line;
	switch (line_reader_feed(&s->lines, p, n, &used, &line, &len)) {
	case LINE_READY:
		pop3_command(s, line, len);
		break;
	case LINE_TOO_LONG:
		pop3_reply(s, "-ERR Line too long (RFC 2449 4: 255 octets)");
		break;
	default:
		break;
	}
	return used;
}

size_t pop3_server_input(struct pop3_server *s, const char *data, size_t len)
{
	size_t used = 0;
	while (used < len && (s->state == POP3_STATE_AUTH || s->state == POP3_STATE_SASL ||
			      s->state == POP3_STATE_TRANSACTION))
		used += input_line(s, data + used, len - used);
	return used;
}

struct buf *pop3_server_output(struct pop3_server *s) { return &s->out; }
bool pop3_server_want_starttls(const struct pop3_server *s) { return s->want_starttls; }
bool pop3_server_want_close(const struct pop3_server *s) { return s->want_close; }
bool pop3_server_waiting(const struct pop3_server *s) { return s->state == POP3_STATE_WAIT; }
enum pop3_state pop3_server_state(const struct pop3_server *s) { return s->state; }
const char *pop3_server_user(const struct pop3_server *s) { return s->user; }

void pop3_server_auth_done(struct pop3_server *s, enum pop3_auth_result r,
			   const struct pop3_msg *msgs, size_t count)
{
	if (r != POP3_AUTH_OK)
		pop3_set_state(s, POP3_STATE_AUTH);
	switch (r) {
	case POP3_AUTH_OK:
		break;
	case POP3_AUTH_IN_USE:
		pop3_reply(s, "-ERR [IN-USE] Mailbox is locked by another POP3 session");
		return;
	case POP3_AUTH_TEMPFAIL:
		pop3_reply(s, "-ERR [SYS/TEMP] Temporary failure, try again later");
		return;
	case POP3_AUTH_FAILED_CLOSE:
		pop3_reply(s, "-ERR [AUTH] Authentication failed; too many failures, closing");
		pop3_set_state(s, POP3_STATE_CLOSED);
		s->want_close = true;
		return;
	default:
		pop3_reply(s, "-ERR [AUTH] Authentication failed");
		return;
	}
	s->msgs = calloc(count ? count : 1, sizeof *s->msgs);
	if (s->msgs == NULL) {
		pop3_set_state(s, POP3_STATE_AUTH);
		pop3_reply(s, "-ERR [SYS/TEMP] Out of memory");
		return;
	}
	memcpy(s->msgs, msgs, count * sizeof *msgs);
	s->count = count;
	for (size_t i = 0; i < count; i++)
		s->msgs[i].deleted = false;
	pop3_set_state(s, POP3_STATE_TRANSACTION);
	pop3_reply(s, "+OK Logged in, %zu messages", count);
}

/* The end of a stored line: CRLF (a CR before the LF is the stored line
 * end, not content), and the TOP count (RFC 1939 7: the header, the blank
 * line, then top_lines lines of the body). */
static int retr_line_end(struct pop3_server *s)
{
	struct pop3_retr *r = &s->retr;
	bool blank = r->line_len == 0 || (r->line_len == 1 && r->cr);
	r->cr = false;
	r->mid_line = false;
	if (r->in_body)
		r->body_lines++;
	else if (blank)
		r->in_body = true;
	return buf_append(&s->out, "\r\n", 2);
}

/* Appends a part of the stored message as POP3 sends it: CRLF line ends,
 * a leading "." doubled (RFC 1939 3). Lines may be split between parts. */
static int retr_put(struct pop3_server *s, const char *p, size_t n)
{
	struct pop3_retr *r = &s->retr;
	size_t i = 0;
	while (i < n && !r->done) {
		if (!r->mid_line) {
			if (r->in_body && s->top_lines >= 0 && r->body_lines >= s->top_lines) {
				r->done = true;
				break;
			}
			r->mid_line = true;
			r->line_len = 0;
			if (p[i] == '.' && buf_append_char(&s->out, '.') < 0)
				return -1;
		}
		const char *lf = memchr(p + i, '\n', n - i);
		size_t k = lf != NULL ? (size_t)(lf - p) - i : n - i;
		if (k > 0) {
			/* The CR held back was content after all. */
			if (r->cr && buf_append_char(&s->out, '\r') < 0)
				return -1;
			r->cr = p[i + k - 1] == '\r';
			if (buf_append(&s->out, p + i, k - r->cr) < 0)
				return -1;
			r->line_len += k;
		}
		i += k;
		if (lf != NULL) {
			if (retr_line_end(s) < 0)
				return -1;
			i++;
		}
	}
	return 0;
}

void pop3_server_retrieve_part(struct pop3_server *s, const char *data, size_t len, bool last)
{
	struct pop3_retr *r = &s->retr;
	if (data == NULL && !r->started) {
		pop3_set_state(s, POP3_STATE_TRANSACTION);
		pop3_reply(s, "-ERR [SYS/TEMP] Cannot read the message");
		return;
	}
	if (data == NULL) {
		/* Half the message is out: only closing tells the client. */
		pop3_set_state(s, POP3_STATE_CLOSED);
		s->want_close = true;
		return;
	}
	size_t start = s->out.len;
	if (!r->started) {
		*r = (struct pop3_retr){ .started = true };
		if (s->top_lines < 0)
			pop3_reply(s, "+OK %llu octets",
				   (unsigned long long)s->msgs[s->pending_index].size);
		else
			pop3_reply(s, "+OK");
	}
	int rc = retr_put(s, data, len);
	if (rc == 0 && last && r->mid_line && !r->done)
		rc = retr_line_end(s);   /* a last line without LF still gets CRLF */
	if (rc == 0 && last)
		rc = buf_append_str(&s->out, ".\r\n");
	if (rc < 0) {
		/* Parts are bounded, so only a client that reads nothing gets
		 * here: the reply cannot be finished. */
		buf_truncate(&s->out, start);
		pop3_set_state(s, POP3_STATE_CLOSED);
		s->want_close = true;
		return;
	}
	if (last) {
		r->started = false;
		pop3_set_state(s, POP3_STATE_TRANSACTION);
	}
}

void pop3_server_retrieve_done(struct pop3_server *s, const char *data, size_t len)
{
	pop3_server_retrieve_part(s, data, len, true);
}

void pop3_server_update_done(struct pop3_server *s, bool ok)
{
	if (ok)
		pop3_reply(s, "+OK %s closing", s->set.hostname);
	else
		pop3_reply(s, "-ERR [SYS/TEMP] Some deleted messages were not removed");
	pop3_set_state(s, POP3_STATE_CLOSED);
	s->want_close = true;
}

void pop3_server_tls_started(struct pop3_server *s)
{
	s->tls = true;
	s->want_starttls = false;
	s->have_user = false;
	line_reader_reset(&s->lines);
	pop3_set_state(s, POP3_STATE_AUTH);
}

void pop3_server_goodbye(struct pop3_server *s, const char *text)
{
	pop3_reply(s, "-ERR %s", text);
	pop3_set_state(s, POP3_STATE_CLOSED);
	s->want_close = true;
}
