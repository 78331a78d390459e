/* The SMTP client session: its life, the input loop, states, statuses and
 * ends. The conversation itself is in smtp_client_hello.c (up to idle),
 * smtp_client_tx.c (a message's envelope) and smtp_client_content.c. */
#include "smtp/smtp_client_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

/* Commands, a pipelined envelope of SMTP_CLIENT_RCPT_MAX recipients of
 * up to ~800 octets each, and content up to SMTP_CLIENT_OUT_LOW plus one
 * read or chunk. */
#define OUT_MAX (2 * 1024 * 1024)

static const char *const state_names[SC_STATE_COUNT] = {
	[SC_GREETING] = "GREETING", [SC_HELLO] = "HELLO", [SC_STARTTLS] = "STARTTLS",
	[SC_TLS] = "TLS",           [SC_AUTH] = "AUTH",   [SC_IDLE] = "IDLE",
	[SC_TX] = "TX",             [SC_CONTENT] = "CONTENT", [SC_END] = "END",
	[SC_QUIT] = "QUIT",         [SC_CLOSED] = "CLOSED",
};

#define B(st) (1u << (st))
/* Legal moves; CLOSED is reachable from everywhere. */
static const unsigned legal[SC_STATE_COUNT] = {
	[SC_GREETING] = B(SC_HELLO) | B(SC_QUIT),
	[SC_HELLO] = B(SC_HELLO) | B(SC_STARTTLS) | B(SC_AUTH) | B(SC_IDLE) | B(SC_QUIT),
	[SC_STARTTLS] = B(SC_TLS) | B(SC_AUTH) | B(SC_IDLE) | B(SC_QUIT),
	[SC_TLS] = B(SC_HELLO),
	[SC_AUTH] = B(SC_IDLE) | B(SC_QUIT),
	[SC_IDLE] = B(SC_TX) | B(SC_QUIT) | B(SC_IDLE),
	[SC_TX] = B(SC_CONTENT) | B(SC_END) | B(SC_IDLE),
	[SC_CONTENT] = B(SC_END) | B(SC_IDLE),
	[SC_END] = B(SC_IDLE),
	[SC_QUIT] = 0,
	[SC_CLOSED] = 0,
};

void sc_set_state(struct smtp_client *c, enum sc_state to)
{
	if (c->state == SC_CLOSED)
		return;
	if (to != SC_CLOSED && !(legal[c->state] & B(to))) {
		log_err("smtp client %s: illegal state change %s -> %s", c->id,
			state_names[c->state], state_names[to]);
		abort();  /* a broken invariant, never input-driven */
	}
	log_debug("smtp client %s: %s -> %s", c->id, state_names[c->state], state_names[to]);
	c->state = to;
	if (to == SC_IDLE)
		c->idle_called = false;
}

void sc_expect(struct smtp_client *c, enum sc_cmd kind)
{
	if (c->pend_count == SC_PENDING_MAX)
		abort();  /* more than an envelope's worth out: a bug */
	c->pending[(c->pend_head + c->pend_count++) % SC_PENDING_MAX] = (unsigned char)kind;
}

void sc_command(struct smtp_client *c, enum sc_cmd kind, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int r = buf_vprintf(&c->out, fmt, ap);
	va_end(ap);
	/* OUT_MAX holds the largest envelope; the caller must drain it
	 * before content fills it, which sc_content_want() waits for. */
	if (r < 0 || buf_append(&c->out, "\r\n", 2) < 0)
		abort();
	sc_expect(c, kind);
}

static bool valid_name(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return false;
	}
	return true;
}

static int copy_settings(struct smtp_client *c, const struct smtp_client_settings *set)
{
	c->set = *set;
	if (set->helo_name == NULL || !valid_name(set->helo_name, 255))
		return -1;
	if ((set->auth_user == NULL) != (set->auth_pass == NULL) ||
	    (set->auth_user != NULL && (strlen(set->auth_user) > 255 || strlen(set->auth_pass) > 255)))
		return -1;
	c->helo_name = strdup(set->helo_name);
	if (c->helo_name == NULL)
		return -1;
	if (set->auth_user != NULL) {
		c->auth_user = strdup(set->auth_user);
		c->auth_pass = strdup(set->auth_pass);
		if (c->auth_user == NULL || c->auth_pass == NULL)
			return -1;
	}
	c->set.helo_name = c->helo_name;
	c->set.auth_user = c->auth_user;
	c->set.auth_pass = c->auth_pass;
	if (c->set.chunk_size == 0)
		c->set.chunk_size = SMTP_CLIENT_CHUNK;
	if (c->set.chunk_size < 1024)
		c->set.chunk_size = 1024;
	if (c->set.chunk_size > 1024 * 1024)
		c->set.chunk_size = 1024 * 1024;
	return 0;
}

struct smtp_client *smtp_client_new(const struct smtp_client_settings *set,
				    const struct smtp_client_hooks *hooks, void *hook_ctx,
				    const char *session_id, bool tls_active)
{
	struct smtp_client *c = calloc(1, sizeof *c);
	if (c == NULL)
		return NULL;
	smtp_reply_reader_init(&c->reader);
	buf_init(&c->out, OUT_MAX);
	c->rcpt_state = malloc(SMTP_CLIENT_RCPT_MAX);
	if (c->rcpt_state == NULL || copy_settings(c, set) < 0) {
		smtp_client_free(&c);
		return NULL;
	}
	buf_init(&c->chunk, c->set.chunk_size + SMTP_BODY_END_MAX + 2);
	c->hooks = hooks;
	c->hook_ctx = hook_ctx;
	snprintf(c->id, sizeof c->id, "%s", session_id);
	c->tls = tls_active;
	c->state = SC_GREETING;
	sc_expect(c, SC_CMD_GREETING);
	return c;
}

void smtp_client_free(struct smtp_client **cp)
{
	struct smtp_client *c = *cp;
	if (c == NULL)
		return;
	smtp_reply_reader_free(&c->reader);
	buf_free(&c->out);
	buf_free(&c->chunk);
	free(c->rcpt_state);
	free(c->helo_name);
	free(c->auth_user);
	if (c->auth_pass != NULL) {
		explicit_bzero(c->auth_pass, strlen(c->auth_pass));
		free(c->auth_pass);
	}
	free(c);
	*cp = NULL;
}

void sc_status_reply(struct smtp_client_status *st, const struct smtp_reply *rp,
		     enum smtp_client_scope scope, const char *command)
{
	unsigned cls = rp->code / 100;
	st->fate = cls == 2 ? SMTP_FATE_SENT : cls == 5 ? SMTP_FATE_BOUNCE : SMTP_FATE_DEFER;
	st->scope = scope;
	st->local = false;
	st->code = rp->code;
	if (rp->enhanced[0] != '\0')
		snprintf(st->enhanced, sizeof st->enhanced, "%s", rp->enhanced);
	else
		snprintf(st->enhanced, sizeof st->enhanced, "%u.0.0", cls == 3 ? 4 : cls);
	st->text = rp->text.data;
	st->command = command;
}

void sc_status_local(struct smtp_client *c, struct smtp_client_status *st,
		     enum smtp_client_fate fate, enum smtp_client_scope scope,
		     unsigned code, const char *enhanced, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->local_text, sizeof c->local_text, fmt, ap);
	va_end(ap);
	st->fate = fate;
	st->scope = scope;
	st->local = true;
	st->code = code;
	snprintf(st->enhanced, sizeof st->enhanced, "%s", enhanced);
	st->text = c->local_text;
	st->command = "";
}

void sc_fail(struct smtp_client *c, const struct smtp_client_status *st0, bool quit)
{
	if (c->state == SC_CLOSED)
		return;
	/* Whatever the peer said, a failed session is a reason to try the
	 * recipients again (here later, or at the next MX host). */
	struct smtp_client_status st = *st0;
	st.fate = SMTP_FATE_DEFER;
	st.scope = SMTP_SCOPE_CONNECTION;
	if (st.enhanced[0] == '5')
		st.enhanced[0] = '4';
	/* The caller logs the fates (one line per recipient and attempt). */
	log_debug("smtp client %s: session failed: %s", c->id, st.text);
	if (c->tx.msg != NULL)
		sc_tx_decide_all(c, &st);
	if (quit)
		buf_append(&c->out, "QUIT\r\n", 6);  /* best effort; not awaited */
	sc_set_state(c, SC_CLOSED);
	c->hooks->closed(c->hook_ctx, &st);
}

void sc_protocol_error(struct smtp_client *c, const char *why, const struct smtp_reply *rp)
{
	struct smtp_client_status st;
	if (rp != NULL && rp->code == 421) {
		/* RFC 5321 3.8: the server is closing the channel. */
		sc_status_reply(&st, rp, SMTP_SCOPE_CONNECTION, "");
		sc_fail(c, &st, false);
		return;
	}
	sc_status_local(c, &st, SMTP_FATE_DEFER, SMTP_SCOPE_CONNECTION, 451, "4.5.0",
			"protocol error: %s%s%.200s", why, rp != NULL ? ": " : "",
			rp != NULL ? rp->text.data : "");
	sc_fail(c, &st, false);
}

static void quit_reply(struct smtp_client *c, const struct smtp_reply *rp)
{
	struct smtp_client_status st;
	sc_status_reply(&st, rp, SMTP_SCOPE_CONNECTION, "QUIT");
	st.fate = SMTP_FATE_SENT;   /* a normal end, whatever it says */
	sc_set_state(c, SC_CLOSED);
	c->hooks->closed(c->hook_ctx, &st);
}

static void dispatch(struct smtp_client *c, const struct smtp_reply *rp)
{
	if (c->pend_count == 0) {
		sc_protocol_error(c, "reply to no command", rp);
		return;
	}
	enum sc_cmd kind = c->pending[c->pend_head];
	c->pend_head = (c->pend_head + 1) % SC_PENDING_MAX;
	c->pend_count--;
	switch (kind) {
	case SC_CMD_GREETING:
	case SC_CMD_EHLO:
	case SC_CMD_HELO:
	case SC_CMD_STARTTLS:
	case SC_CMD_AUTH:
		sc_hello_reply(c, kind, rp);
		break;
	case SC_CMD_QUIT:
		quit_reply(c, rp);
		break;
	default:
		sc_tx_reply(c, kind, rp);
		break;
	}
}

size_t smtp_client_input(struct smtp_client *c, const char *data, size_t len)
{
	size_t pos = 0;
	if (c->state == SC_CLOSED)
		return len;
	if (c->state == SC_TLS)
		return 0;
	c->drop_input = false;
	while (pos < len && c->state != SC_CLOSED && !c->drop_input) {
		size_t used;
		const char *why;
		switch (smtp_reply_feed(&c->reader, data + pos, len - pos, &used, &why)) {
		case SMTP_REPLY_READY:
			dispatch(c, &c->reader.reply);
			/* What the reply makes due (idle, content) is done
			 * before the next one is read, so replies read in
			 * one call or octet by octet have one meaning. */
			sc_pump(c);
			break;
		case SMTP_REPLY_ERROR:
			sc_protocol_error(c, why, NULL);
			break;
		default:
			break;
		}
		pos += used;
	}
	sc_pump(c);
	return c->state == SC_CLOSED ? len : pos;
}

void sc_pump(struct smtp_client *c)
{
	if (c->pumping) {
		c->pump_again = true;
		return;
	}
	c->pumping = true;
	do {
		c->pump_again = false;
		size_t want;
		/* Nothing new is written before the caller sent most of
		 * what there is: a server that answers ahead of the
		 * commands cannot make the output grow. */
		if (c->state == SC_IDLE && !c->idle_called && c->out.len < SMTP_CLIENT_OUT_LOW) {
			c->idle_called = true;
			c->hooks->idle(c->hook_ctx);
		} else if ((want = sc_content_want(c)) > 0) {
			c->tx.reading = true;
			c->tx.asked = want;
			c->hooks->body_read(c->hook_ctx, c->tx.msg, want);
		}
		/* A hook answered at once comes back through sc_pump(),
		 * which sets pump_again; one answered later, not. */
	} while (c->pump_again);
	c->pumping = false;
}

struct buf *smtp_client_output(struct smtp_client *c) { return &c->out; }
void smtp_client_resume(struct smtp_client *c) { sc_pump(c); }
const struct smtp_ehlo *smtp_client_ehlo(const struct smtp_client *c) { return &c->ehlo; }
bool smtp_client_tls_active(const struct smtp_client *c) { return c->tls; }
bool smtp_client_closed(const struct smtp_client *c) { return c->state == SC_CLOSED; }

void smtp_client_lost(struct smtp_client *c, const char *reason)
{
	struct smtp_client_status st;
	if (c->state == SC_CLOSED)
		return;
	if (c->state == SC_QUIT) {
		sc_status_local(c, &st, SMTP_FATE_SENT, SMTP_SCOPE_CONNECTION, 221, "2.0.0",
				"connection closed after QUIT");
		sc_set_state(c, SC_CLOSED);
		c->hooks->closed(c->hook_ctx, &st);
		return;
	}
	sc_status_local(c, &st, SMTP_FATE_DEFER, SMTP_SCOPE_CONNECTION, 451, "4.4.2",
			"lost connection in state %s: %s", state_names[c->state], reason);
	sc_fail(c, &st, false);
}

void smtp_client_quit(struct smtp_client *c)
{
	if (c->state != SC_IDLE)
		return;
	sc_set_state(c, SC_QUIT);
	sc_command(c, SC_CMD_QUIT, "QUIT");
}

void smtp_client_tls_started(struct smtp_client *c)
{
	if (c->state != SC_TLS)
		return;
	/* RFC 3207 4.2: forget everything the server said before TLS. */
	c->tls = true;
	smtp_reply_reader_reset(&c->reader);
	memset(&c->ehlo, 0, sizeof c->ehlo);
	sc_set_state(c, SC_HELLO);
	sc_command(c, SC_CMD_EHLO, "EHLO %s", c->helo_name);
}

unsigned smtp_client_timeout(const struct smtp_client *c)
{
	/* RFC 5321 4.5.3.2.1 - 4.5.3.2.6. */
	if (c->state == SC_CONTENT)
		return 180;
	if (c->state == SC_END)
		return 600;
	if (c->pend_count > 0 && c->pending[c->pend_head] == SC_CMD_DATA)
		return 120;
	return 300;
}
