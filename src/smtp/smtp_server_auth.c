/* AUTH for the submission role (RFC 4954, RFC 6409 4.3): the command, the
 * SASL exchange through auth/sasl.c (the decoder IMAP and POP3 use), the
 * password check as a hook answered by smtp_server_auth_done(), and the
 * rule that the envelope sender is one of the user's own addresses
 * (Postfix's reject_sender_login_mismatch). */
#include "smtp/smtp_server_private.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"

static void auth_end(struct smtp_server *s)
{
	sasl_server_clear(&s->sasl);
	if (s->state == SMTP_STATE_AUTH)
		smtp_server_set_state(s, SMTP_STATE_READY);
}

/* One SASL status: the next challenge, the password check, or the end. */
static void auth_next(struct smtp_server *s, enum sasl_status st, const char *challenge,
		      const char *err)
{
	switch (st) {
	case SASL_CONTINUE:
		if (s->state != SMTP_STATE_AUTH)
			smtp_server_set_state(s, SMTP_STATE_AUTH);
		/* RFC 4954 4: "334" SP base64, the empty challenge included. */
		smtp_reply(s, "334 %s", challenge);
		return;
	case SASL_DONE:
		if (s->state != SMTP_STATE_AUTH)
			smtp_server_set_state(s, SMTP_STATE_AUTH);
		s->auth_pending = true;   /* before: the hook may answer at once */
		s->hooks->auth_check(s->hook_ctx, s->sasl.user, s->sasl.password);
		sasl_server_clear(&s->sasl);
		return;
	case SASL_CANCELLED:
		auth_end(s);
		/* RFC 4954 4: a cancelled exchange is answered with 501. */
		smtp_reply(s, "501 5.7.0 Authentication aborted");
		return;
	case SASL_FAILED:
		auth_end(s);
		if (strcmp(err, SASL_ERROR_BASE64) == 0)
			smtp_reply(s, "501 5.5.2 Cannot decode response (RFC 4954 4)");
		else
			smtp_reply(s, "501 5.5.2 Invalid SASL response: %s", err);
		return;
	}
}

void smtp_auth_command(struct smtp_server *s, struct smtp_cmd *cmd)
{
	enum sasl_mech mech;
	const char *challenge = "", *err = "";
	if (s->set.role != SMTP_ROLE_SUBMISSION) {
		/* The MX role takes mail for local domains from anybody. */
		smtp_reply(s, "503 5.5.1 Error: authentication not enabled");
		return;
	}
	if (!s->tls && !s->set.plaintext_auth) {
		/* RFC 4954 4, RFC 8314 3: no password over a clear channel;
		 * EHLO did not offer AUTH either. */
		smtp_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		return;
	}
	if (s->state == SMTP_STATE_GREETING || !s->esmtp) {
		/* AUTH is an ESMTP extension (RFC 4954 3). */
		smtp_reply(s, "503 5.5.1 Error: send EHLO first");
		return;
	}
	if (s->auth_user[0] != '\0') {
		/* RFC 4954 4: AUTH after a successful AUTH. */
		smtp_reply(s, "503 5.5.1 Error: already authenticated");
		return;
	}
	if (s->state != SMTP_STATE_READY) {
		/* RFC 4954 4: not during a mail transaction. */
		smtp_reply(s, "503 5.5.1 Error: MAIL transaction in progress");
		return;
	}
	if (sasl_mech_find(cmd->auth_mech, &mech) < 0) {
		smtp_reply(s, "504 5.5.4 Unrecognized authentication type");
		return;
	}
	const struct str *initial = cmd->auth_initial.len > 0 ? &cmd->auth_initial : NULL;
	enum sasl_status st = sasl_server_start(&s->sasl, mech, initial, &challenge, &err);
	auth_next(s, st, challenge, err);
}

void smtp_auth_line(struct smtp_server *s, const char *line, size_t len)
{
	const char *challenge = "", *err = "";
	enum sasl_status st = sasl_server_step(&s->sasl, (struct str){ line, len }, &challenge,
					       &err);
	auth_next(s, st, challenge, err);
}

void smtp_auth_line_refused(struct smtp_server *s, const char *reply)
{
	auth_end(s);
	smtp_reply(s, "%s", reply);
}

/* Copies owned[0..n) into s->owned; -1 when over the limits. */
static int keep_owned(struct smtp_server *s, const char *const *owned, size_t n)
{
	buf_free(&s->owned);
	buf_init(&s->owned, SMTP_OWNED_POOL);
	if (n > SMTP_OWNED_MAX)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (buf_append(&s->owned, owned[i], strlen(owned[i]) + 1) < 0)
			return -1;
	}
	return 0;
}

void smtp_server_auth_done(struct smtp_server *s, enum smtp_auth_result r, const char *user,
			   const char *const *owned, size_t n)
{
	s->auth_pending = false;
	if (s->state == SMTP_STATE_CLOSED)
		return;
	if (r == SMTP_AUTH_OK && (keep_owned(s, owned, n) < 0 || strlen(user) >= sizeof s->auth_user)) {
		log_warn("smtp %s: %s owns more addresses than %d (%d octets): refused", s->id,
			 user, SMTP_OWNED_MAX, SMTP_OWNED_POOL);
		buf_free(&s->owned);
		r = SMTP_AUTH_TEMPFAIL;
	}
	if (r == SMTP_AUTH_OK)   /* before auth_end: user may point into s->sasl */
		snprintf(s->auth_user, sizeof s->auth_user, "%s", user);
	auth_end(s);
	switch (r) {
	case SMTP_AUTH_OK:
		smtp_reply(s, "235 2.7.0 Authentication successful");
		return;
	case SMTP_AUTH_FAILED:
		smtp_reply(s, "535 5.7.8 Authentication credentials invalid");
		return;
	case SMTP_AUTH_FAILED_CLOSE:
		smtp_reply(s, "535 5.7.8 Authentication credentials invalid");
		smtp_server_goodbye(s, "421 4.7.0 Error: too many failed authentications");
		return;
	case SMTP_AUTH_TEMPFAIL:
		smtp_reply(s, "454 4.7.0 Temporary authentication failure");
		return;
	}
}

const char *smtp_server_auth_user(const struct smtp_server *s)
{
	return s->auth_user[0] != '\0' ? s->auth_user : NULL;
}

/* local@domain against one owned "l@d", case aside. */
static bool same_address(const char *local, size_t llen, const char *domain, const char *own)
{
	const char *at = strrchr(own, '@');
	return at != NULL && (size_t)(at - own) == llen && strncasecmp(own, local, llen) == 0 &&
	       strcasecmp(at + 1, domain) == 0;
}

bool smtp_auth_owns(const struct smtp_server *s, const char *local, const char *domain)
{
	size_t llen = strlen(local);
	const char *plus = strchr(local, '+');
	/* "alice+lists@a.test" is alice's, as delivery treats it. */
	size_t base = plus != NULL && plus > local ? (size_t)(plus - local) : llen;
	for (size_t o = 0; o < s->owned.len; o += strlen(s->owned.data + o) + 1) {
		const char *own = s->owned.data + o;
		if (same_address(local, llen, domain, own) ||
		    same_address(local, base, domain, own))
			return true;
	}
	return false;
}

bool smtp_auth_mail_allowed(struct smtp_server *s, const struct smtp_cmd *cmd)
{
	char addr[SMTP_LOCAL_MAX + 2 + SMTP_DOMAIN_MAX + 1];
	if (!s->tls && !s->set.plaintext_auth) {
		smtp_reply(s, "530 5.7.0 Must issue a STARTTLS command first");
		return false;
	}
	if (s->auth_user[0] == '\0') {
		/* RFC 6409 4.3, RFC 4954 6. */
		smtp_reply(s, "530 5.7.0 Authentication required");
		return false;
	}
	if (cmd->null_path) {
		/* Bounces are the server's to send; a user's mail has a
		 * sender that takes its own bounces (docs/submission.md). */
		smtp_reply(s, "553 5.7.1 <>: Sender address rejected: a null sender is not"
			      " accepted for submission");
		return false;
	}
	if (cmd->mailbox.literal ||
	    !smtp_auth_owns(s, cmd->mailbox.local, cmd->mailbox.domain)) {
		(void)smtp_mailbox_format(&cmd->mailbox, addr, sizeof addr);
		smtp_reply(s, "553 5.7.1 <%s>: Sender address rejected: not owned by user %s", addr,
			   s->auth_user);
		return false;
	}
	return true;
}
