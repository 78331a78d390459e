/* The SMTP verbs: a table of {verb, states where it is allowed, handler}
 * (OpenSMTPD's and curl's habit), and one handler per verb. */
#include "smtp/smtp_server_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "lib/config.h"
#include "lib/log.h"

#define B(st) (1u << (st))
#define ANY_LINE (B(SMTP_STATE_GREETING) | B(SMTP_STATE_READY) | B(SMTP_STATE_MAIL) | \
		  B(SMTP_STATE_RCPT) | B(SMTP_STATE_BDAT_MORE))

typedef void verb_fn(struct smtp_server *s, struct smtp_cmd *cmd);

struct verb_def {
	unsigned states;
	verb_fn *run;
	const char *wrong_state;   /* the 503 reply when not allowed */
};

static verb_fn cmd_ehlo, cmd_helo, cmd_mail, cmd_rcpt, cmd_data, cmd_bdat, cmd_rset,
	cmd_noop, cmd_quit, cmd_vrfy, cmd_expn, cmd_help, cmd_starttls, cmd_auth;

static const struct verb_def verbs[SMTP_VERB_COUNT] = {
	[SMTP_VERB_EHLO] = { ANY_LINE, cmd_ehlo, NULL },
	[SMTP_VERB_HELO] = { ANY_LINE, cmd_helo, NULL },
	[SMTP_VERB_MAIL] = { B(SMTP_STATE_READY), cmd_mail, NULL },
	[SMTP_VERB_RCPT] = { B(SMTP_STATE_MAIL) | B(SMTP_STATE_RCPT), cmd_rcpt,
			     "503 5.5.1 Error: need MAIL command" },
	[SMTP_VERB_DATA] = { B(SMTP_STATE_RCPT), cmd_data, NULL },
	/* BDAT is let through everywhere: its chunk must be read even when
	 * it is refused (RFC 3030 4.2). cmd_bdat checks the state. */
	[SMTP_VERB_BDAT] = { ANY_LINE, cmd_bdat, NULL },
	[SMTP_VERB_RSET] = { ANY_LINE, cmd_rset, NULL },
	[SMTP_VERB_NOOP] = { ANY_LINE, cmd_noop, NULL },
	[SMTP_VERB_QUIT] = { ANY_LINE, cmd_quit, NULL },
	[SMTP_VERB_VRFY] = { ANY_LINE, cmd_vrfy, NULL },
	[SMTP_VERB_EXPN] = { ANY_LINE, cmd_expn, NULL },
	[SMTP_VERB_HELP] = { ANY_LINE, cmd_help, NULL },
	[SMTP_VERB_STARTTLS] = { B(SMTP_STATE_GREETING) | B(SMTP_STATE_READY), cmd_starttls,
				 "503 5.5.1 Error: STARTTLS not allowed in a mail transaction" },
	[SMTP_VERB_AUTH] = { ANY_LINE, cmd_auth, NULL },
};

static const char *wrong_state_reply(const struct smtp_server *s, enum smtp_verb v)
{
	if (verbs[v].wrong_state != NULL)
		return verbs[v].wrong_state;
	switch (s->state) {
	case SMTP_STATE_GREETING:
		return "503 5.5.1 Error: send HELO/EHLO first";
	case SMTP_STATE_MAIL:
	case SMTP_STATE_RCPT:
		return v == SMTP_VERB_MAIL ? "503 5.5.1 Error: nested MAIL command"
					   : "503 5.5.1 Error: bad sequence of commands";
	case SMTP_STATE_BDAT_MORE:
		return "503 5.5.1 Error: BDAT in progress, DATA not allowed (RFC 3030 2)";
	default:
		return v == SMTP_VERB_DATA ? "503 5.5.1 Error: need RCPT command"
					   : "503 5.5.1 Error: bad sequence of commands";
	}
}

static void parse_error_reply(struct smtp_server *s, enum smtp_parse_result r,
			      const struct smtp_cmd *cmd, const char *why)
{
	switch (r) {
	case SMTP_PARSE_UNKNOWN_VERB:
		smtp_reply(s, "500 5.5.2 Error: command not recognized");
		break;
	case SMTP_PARSE_BAD_ADDRESS:
		smtp_reply(s, "501 5.1.%d Error: bad address syntax: %s",
			   cmd->verb == SMTP_VERB_MAIL ? 7 : 3, why);
		break;
	case SMTP_PARSE_TOO_MANY_PARAMS:
		smtp_reply(s, "555 5.5.4 Error: too many parameters");
		break;
	case SMTP_PARSE_BAD_CHAR:
		smtp_reply(s, "501 5.5.2 Error: invalid character in command");
		break;
	case SMTP_PARSE_SYNTAX:
		if (strcmp(why, SMTP_PARSE_ERROR_AUTH_BASE64) == 0) {
			smtp_reply(s, "501 5.5.2 Cannot decode response (RFC 4954 4)");
			break;
		}
		/* fall through */
	default:
		smtp_reply(s, "501 5.5.4 Syntax error: %s", why);
		break;
	}
}

static bool line_too_long(const struct smtp_server *s, const char *line, size_t len)
{
	size_t limit = SMTP_CMD_LINE_MAX - 2;
	struct str l = { line, len };
	if (s->esmtp && (str_has_prefix_case(l, "MAIL ") || str_has_prefix_case(l, "RCPT ")))
		limit += SMTP_CMD_LINE_EXT;
	return len > limit;
}

void smtp_server_command(struct smtp_server *s, const char *line, size_t len)
{
	struct smtp_cmd cmd;
	const char *why = "syntax error";
	if (line_too_long(s, line, len)) {
		smtp_reply(s, "500 5.5.2 Error: line too long (RFC 5321 4.5.3.1.4)");
		return;
	}
	enum smtp_parse_result r = smtp_parse_command(line, len, &cmd, &why);
	if (r != SMTP_PARSE_OK) {
		parse_error_reply(s, r, &cmd, why);
		return;
	}
	const struct verb_def *def = &verbs[cmd.verb];
	if (def->run == NULL) {
		smtp_reply(s, "502 5.5.1 Error: command not implemented");
		return;
	}
	if (!(def->states & B(s->state))) {
		smtp_reply(s, "%s", wrong_state_reply(s, cmd.verb));
		return;
	}
	def->run(s, &cmd);
}

static void greet_ok(struct smtp_server *s, struct smtp_cmd *cmd, bool esmtp)
{
	/* RFC 5321 4.1.4: EHLO/HELO in a transaction resets it. */
	smtp_tx_reset(s);
	size_t n = cmd->helo.len < sizeof s->helo - 1 ? cmd->helo.len : sizeof s->helo - 1;
	memcpy(s->helo, cmd->helo.p, n);
	s->helo[n] = '\0';
	s->esmtp = esmtp;
	smtp_server_set_state(s, SMTP_STATE_READY);
}

static void cmd_ehlo(struct smtp_server *s, struct smtp_cmd *cmd)
{
	greet_ok(s, cmd, true);
	smtp_reply(s, "250-%s", s->set.hostname);
	smtp_reply(s, "250-PIPELINING");
	smtp_reply(s, "250-SIZE %zu", s->set.message_size);
	if (s->set.tls_available && !s->tls)
		smtp_reply(s, "250-STARTTLS");
	/* RFC 4954 4, RFC 8314 3: AUTH is offered under TLS only. */
	if (s->set.role == SMTP_ROLE_SUBMISSION && (s->tls || s->set.plaintext_auth))
		smtp_reply(s, "250-AUTH PLAIN LOGIN");
	smtp_reply(s, "250-ENHANCEDSTATUSCODES");
	smtp_reply(s, "250-8BITMIME");
	smtp_reply(s, "250-SMTPUTF8");
	smtp_reply(s, "250 CHUNKING");
}

static void cmd_helo(struct smtp_server *s, struct smtp_cmd *cmd)
{
	greet_ok(s, cmd, false);
	smtp_reply(s, "250 %s", s->set.hostname);
}

static void new_tx_id(struct smtp_server *s)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	/* Unique across restarts and sessions: time in microseconds, then
	 * this session's number and its transaction count. */
	snprintf(s->tx.id, sizeof s->tx.id, "%011llX%.6s%X",
		 (unsigned long long)tv.tv_sec * 1000000ULL + (unsigned long long)tv.tv_usec,
		 s->id, ++s->tx_serial & 0xff);
}

static void mailbox_text(const struct smtp_mailbox *mb, char *out, size_t outlen)
{
	/* Fits: out holds a whole path, and the local part was at most
	 * SMTP_LOCAL_MAX octets as written, quotes included. */
	(void)smtp_mailbox_format(mb, out, outlen);
}

/* ESMTP parameters of MAIL (RFC 1870, 6152, 6531, 4954). Returns false
 * after replying. */
static bool mail_params(struct smtp_server *s, struct smtp_cmd *cmd)
{
	for (size_t i = 0; i < cmd->param_count; i++) {
		const struct smtp_param *p = &cmd->params[i];
		unsigned long long size;
		if (!s->esmtp) {
			smtp_reply(s, "555 5.5.4 Error: parameters need EHLO");
			return false;
		}
		if (str_case_eq_cstr(p->key, "SIZE") && p->has_value) {
			if (str_to_u64(p->value, ~0ULL, &size) < 0) {
				smtp_reply(s, "501 5.5.4 Error: bad SIZE value");
				return false;
			}
			if (size > s->set.message_size) {
				smtp_reply(s, "552 5.3.4 Message size exceeds fixed maximum message size");
				return false;
			}
		} else if (str_case_eq_cstr(p->key, "BODY") && p->has_value) {
			if (str_case_eq_cstr(p->value, "8BITMIME")) {
				s->tx.body_8bit = true;
			} else if (!str_case_eq_cstr(p->value, "7BIT")) {
				smtp_reply(s, "555 5.5.4 Error: unsupported BODY type");
				return false;
			}
		} else if (str_case_eq_cstr(p->key, "SMTPUTF8") && !p->has_value) {
			s->tx.smtputf8 = true;
		} else if (str_case_eq_cstr(p->key, "AUTH") && p->has_value) {
			/* RFC 4954 5: from an unauthenticated client, ignored. */
		} else {
			smtp_reply(s, "555 5.5.4 Error: unsupported parameter %.*s",
				   (int)(p->key.len > 40 ? 40 : p->key.len), p->key.p);
			return false;
		}
	}
	return true;
}

static void cmd_mail(struct smtp_server *s, struct smtp_cmd *cmd)
{
	smtp_tx_reset(s);
	if (s->set.role == SMTP_ROLE_SUBMISSION && !smtp_auth_mail_allowed(s, cmd))
		return;
	if (s->set.role == SMTP_ROLE_LOCAL && !smtp_local_mail_allowed(s, cmd))
		return;
	if (!mail_params(s, cmd)) {
		smtp_tx_reset(s);
		return;
	}
	if (cmd->mailbox.utf8 && !s->tx.smtputf8) {
		smtp_reply(s, "553 5.6.7 Error: non-ASCII address needs SMTPUTF8 (RFC 6531 3.4)");
		smtp_tx_reset(s);
		return;
	}
	if (!cmd->null_path)
		mailbox_text(&cmd->mailbox, s->tx.sender, sizeof s->tx.sender);
	new_tx_id(s);
	s->tx_active = true;
	smtp_server_set_state(s, SMTP_STATE_MAIL);
	smtp_reply(s, "250 2.1.0 Ok");
}

static bool add_rcpt(struct smtp_server *s, const struct smtp_mailbox *mb, void *data)
{
	if (s->tx.rcpt_count == s->tx.rcpt_cap) {
		size_t cap = s->tx.rcpt_cap ? s->tx.rcpt_cap * 2 : 4;
		struct smtp_rcpt *r = realloc(s->tx.rcpts, cap * sizeof *r);
		if (r == NULL)
			return false;
		s->tx.rcpts = r;
		s->tx.rcpt_cap = cap;
	}
	struct smtp_rcpt *r = &s->tx.rcpts[s->tx.rcpt_count++];
	r->mailbox = *mb;
	mailbox_text(mb, r->address, sizeof r->address);
	r->data = data;
	return true;
}

static void cmd_rcpt(struct smtp_server *s, struct smtp_cmd *cmd)
{
	struct smtp_mailbox mb = cmd->mailbox;
	if (cmd->param_count > 0) {
		smtp_reply(s, "555 5.5.4 Error: unsupported parameter %.*s",
			   (int)(cmd->params[0].key.len > 40 ? 40 : cmd->params[0].key.len),
			   cmd->params[0].key.p);
		return;
	}
	if (s->tx.rcpt_count >= s->set.max_recipients) {
		smtp_reply(s, "452 4.5.3 Error: too many recipients (RFC 5321 4.5.3.1.10)");
		return;
	}
	if (mb.utf8 && !s->tx.smtputf8) {
		smtp_reply(s, "553 5.6.7 Error: non-ASCII address needs SMTPUTF8 (RFC 6531 3.4)");
		return;
	}
	if (cmd->postmaster) {
		/* RFC 5321 4.5.1: <Postmaster> without a domain is ours. */
		snprintf(mb.local, sizeof mb.local, "postmaster");
		snprintf(mb.domain, sizeof mb.domain, "%s", s->set.cfg->domains[0]);
	}
	char addr[sizeof s->tx.rcpts[0].address];
	mailbox_text(&mb, addr, sizeof addr);
	/* Address literals and other domains are never ours in the MX role:
	 * only the domain decides, never %-hacks, bangs or quoted '@'. An
	 * authenticated user may send anywhere: the hook decides. */
	if (s->set.role == SMTP_ROLE_MX &&
	    (mb.literal || !config_is_local_domain(s->set.cfg, mb.domain, strlen(mb.domain)))) {
		smtp_reply(s, "554 5.7.1 <%s>: Relay access denied", addr);
		return;
	}
	s->rcpt_mb = mb;
	s->rcpt_pending = true;
	s->hooks->rcpt_check(s->hook_ctx, &s->rcpt_mb);
}

void smtp_server_rcpt_done(struct smtp_server *s, enum smtp_rcpt_verdict verdict, void *data)
{
	char addr[sizeof s->tx.rcpts[0].address];
	s->rcpt_pending = false;
	if (s->state == SMTP_STATE_CLOSED)
		verdict = SMTP_RCPT_TEMPFAIL;   /* nobody to answer: just free */
	mailbox_text(&s->rcpt_mb, addr, sizeof addr);
	switch (verdict) {
	case SMTP_RCPT_OK:
		break;
	case SMTP_RCPT_UNKNOWN:
		smtp_reply(s, "550 5.1.1 <%s>: Recipient address rejected: user unknown", addr);
		goto refused;
	case SMTP_RCPT_RELAY_DENIED:
		smtp_reply(s, "554 5.7.1 <%s>: Relay access denied", addr);
		goto refused;
	case SMTP_RCPT_REMOTE_UNAVAILABLE:
		smtp_reply(s, "451 4.3.0 <%s>: remote delivery not available yet", addr);
		goto refused;
	default:
		if (s->state != SMTP_STATE_CLOSED)
			smtp_reply(s, "451 4.3.0 <%s>: Temporary lookup failure", addr);
		goto refused;
	}
	if (!add_rcpt(s, &s->rcpt_mb, data)) {
		smtp_reply(s, "451 4.3.0 Error: out of memory");
		goto refused;
	}
	smtp_server_set_state(s, SMTP_STATE_RCPT);
	smtp_reply(s, "250 2.1.5 Ok");
	return;
refused:
	if (data != NULL)
		s->hooks->rcpt_free(s->hook_ctx, data);
}

static void cmd_data(struct smtp_server *s, struct smtp_cmd *cmd)
{
	(void)cmd;
	const char *refused = smtp_content_start(s, true);
	if (refused != NULL) {
		/* The client sends nothing after this reply: the
		 * transaction stays, as after any refused DATA. */
		smtp_reply(s, "%s", refused);
		return;
	}
	smtp_server_set_state(s, SMTP_STATE_DATA);
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void cmd_bdat(struct smtp_server *s, struct smtp_cmd *cmd)
{
	s->bdat_left = cmd->bdat_size;
	s->bdat_last = cmd->bdat_last;
	s->bdat_reject = NULL;
	if (s->state == SMTP_STATE_GREETING || s->state == SMTP_STATE_READY)
		s->bdat_reject = "503 5.5.1 Error: need MAIL command";
	else if (s->state == SMTP_STATE_MAIL)
		s->bdat_reject = "554 5.5.1 Error: no valid recipients";
	else if (s->state == SMTP_STATE_RCPT)
		s->bdat_reject = smtp_content_start(s, false);
	smtp_server_set_state(s, SMTP_STATE_BDAT);
	if (s->bdat_left == 0)
		smtp_bdat_chunk_end(s);  /* "BDAT 0 LAST": nothing to read */
}

static void cmd_rset(struct smtp_server *s, struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_tx_reset(s);
	smtp_server_set_state(s, s->helo[0] ? SMTP_STATE_READY : SMTP_STATE_GREETING);
	smtp_reply(s, "250 2.0.0 Ok");
}

static void cmd_noop(struct smtp_server *s, struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_reply(s, "250 2.0.0 Ok");
}

static void cmd_quit(struct smtp_server *s, struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_reply(s, "221 2.0.0 Bye");
	smtp_server_set_state(s, SMTP_STATE_CLOSED);
	s->want_close = true;
}

static void cmd_vrfy(struct smtp_server *s, struct smtp_cmd *cmd)
{
	if (cmd->arg.len == 0) {
		smtp_reply(s, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	/* RFC 5321 3.5.3: 252 rather than revealing who exists. */
	smtp_reply(s, "252 2.5.2 Cannot VRFY user, but will accept message and attempt delivery");
}

static void cmd_expn(struct smtp_server *s, struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_reply(s, "502 5.5.1 Error: EXPN not available");
}

static void cmd_help(struct smtp_server *s, struct smtp_cmd *cmd)
{
	(void)cmd;
	smtp_reply(s, "214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP%s",
		   s->set.tls_available && !s->tls ? " STARTTLS" : "");
	smtp_reply(s, "214 2.0.0 See RFC 5321");
}

static void cmd_starttls(struct smtp_server *s, struct smtp_cmd *cmd)
{
	(void)cmd;
	if (s->tls) {
		smtp_reply(s, "503 5.5.1 Error: TLS already active");
		return;
	}
	if (!s->set.tls_available) {
		smtp_reply(s, "454 4.7.0 TLS not available");
		return;
	}
	smtp_reply(s, "220 2.0.0 Ready to start TLS");
	smtp_server_set_state(s, SMTP_STATE_TLS);
	s->want_starttls = true;
}

static void cmd_auth(struct smtp_server *s, struct smtp_cmd *cmd)
{
	smtp_auth_command(s, cmd);
}
