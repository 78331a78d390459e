/* LOGIN and AUTHENTICATE PLAIN/LOGIN with SASL-IR (RFC 9051 6.2.2-6.2.3,
 * RFC 4959, RFC 4616; the SASL rules are auth/sasl.h's). Both run on the
 * loop: they parse, then hand the credentials to the transport
 * (IMAP_NEXT_AUTH), which checks them on its own threads and answers with
 * imap_session_auth_done(). A match opens the store on a worker; a
 * failure is answered on the loop. */
#include "imap/imap_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/address.h"
#include "auth/sasl.h"
#include "lib/log.h"

enum stage {
	STAGE_START,      /* the command line */
	STAGE_SASL,       /* AUTHENTICATE: a response line came */
	STAGE_CHECK,      /* the transport checks the password */
	STAGE_ANSWER,     /* imap_session_auth_done() was called */
};

struct auth_ctx {
	struct sasl_server sasl;   /* user and password, also for LOGIN */
	int result;
	bool close;
};

static void ctx_free(void *p)
{
	struct auth_ctx *c = p;
	sasl_server_clear(&c->sasl);
	free(c);
}

static struct auth_ctx *ctx_new(struct imap_session *s)
{
	struct auth_ctx *c = calloc(1, sizeof *c);
	if (c == NULL) {
		imap_tagged(s, "NO [UNAVAILABLE] Out of memory");
		return NULL;
	}
	s->cmd_ctx = c;
	s->cmd_ctx_free = ctx_free;
	return c;
}

static bool may_authenticate(struct imap_session *s)
{
	if (s->tls || s->set.plaintext_auth)
		return true;
	/* RFC 9051 6.2.3 / 7.1: LOGINDISABLED before STARTTLS. */
	imap_tagged(s, "NO [PRIVACYREQUIRED] Plaintext authentication disallowed on"
		       " non-secure connections; use STARTTLS");
	return false;
}

/* Opens the user's store once the password matched. */
static int open_store(struct imap_session *s, const char **error_r)
{
	const struct config *cfg = s->set.cfg;
	const char *at = strrchr(s->user, '@');
	char local[65];
	if (at == NULL || (size_t)(at - s->user) >= sizeof local || at == s->user ||
	    !config_is_local_domain(cfg, at + 1, strlen(at + 1))) {
		*error_r = "not a local address";
		return -1;
	}
	memcpy(local, s->user, (size_t)(at - s->user));
	local[at - s->user] = '\0';
	if (mail_store_maildir_open(cfg->data_dir, at + 1, local, &s->store, error_r) < 0)
		return -1;
	if (mail_store_ensure_defaults(s->store, error_r) < 0) {
		mail_store_free(&s->store);
		return -1;
	}
	return 0;
}

/* The credentials are in the context: the transport checks them next. */
static int check(struct imap_session *s, struct auth_ctx *c)
{
	address_lower(c->sasl.user, strlen(c->sasl.user), c->sasl.user);
	s->cmd_stage = STAGE_CHECK;
	s->next = IMAP_NEXT_AUTH;
	return 0;
}

/* After the check: on a worker for a match (the store), else on the loop. */
static int answer(struct imap_session *s, struct auth_ctx *c)
{
	const char *err = NULL;
	explicit_bzero(c->sasl.password, sizeof c->sasl.password);
	if (c->result == 0) {
		imap_tagged(s, "NO [AUTHENTICATIONFAILED] Authentication failed");
		if (c->close)
			imap_session_goodbye(s, "Too many authentication failures");
		return 1;
	}
	snprintf(s->user, sizeof s->user, "%s", c->sasl.user);
	if (c->result < 0 || open_store(s, &err) < 0) {
		log_err("imap %s: login of %s: %s", s->id, s->user, err ? err : "user directory");
		s->user[0] = '\0';
		imap_tagged(s, "NO [UNAVAILABLE] Temporary failure, try again later");
		return 1;
	}
	log_info("imap %s: login ok for %s", s->id, s->user);
	s->errors = 0;
	imap_set_state(s, IMAP_STATE_AUTH);
	buf_append_str(&s->out, s->tag);
	buf_append_str(&s->out, " OK [CAPABILITY ");
	imap_write_capabilities(s, &s->out);
	buf_append_str(&s->out, "] Logged in\r\n");
	return 1;
}

int imap_cmd_login(struct imap_session *s)
{
	struct auth_ctx *c = s->cmd_ctx;
	if (s->cmd_stage == STAGE_ANSWER)
		return answer(s, c);
	struct str user, pass;
	if (!imap_arg_get_astring(&s->args[0], &user) ||
	    !imap_arg_get_astring(&s->args[1], &pass) || !imap_arg_is_eol(&s->args[2])) {
		imap_bad(s, "Syntax: LOGIN user password");
		return 1;
	}
	if (!may_authenticate(s))
		return 1;
	if (user.len == 0 || user.len > SASL_USER_MAX || pass.len > SASL_PASS_MAX ||
	    memchr(user.p, '\0', user.len) != NULL || memchr(pass.p, '\0', pass.len) != NULL) {
		imap_tagged(s, "NO [AUTHENTICATIONFAILED] Authentication failed");
		return 1;
	}
	if ((c = ctx_new(s)) == NULL)
		return 1;
	memcpy(c->sasl.user, user.p, user.len);
	memcpy(c->sasl.password, pass.p, pass.len);
	return check(s, c);
}

/* One SASL status: the next continuation, the check, or the end. */
static int sasl_next(struct imap_session *s, struct auth_ctx *c, enum sasl_status st,
		     const char *challenge, const char *err)
{
	switch (st) {
	case SASL_CONTINUE:
		buf_printf(&s->out, "+ %s\r\n", challenge);
		imap_reader_want_line(s->reader);
		s->cmd_stage = STAGE_SASL;
		s->awaiting_line = true;
		return 0;
	case SASL_DONE:
		return check(s, c);
	case SASL_CANCELLED:
		imap_bad(s, "Authentication cancelled");   /* RFC 9051 6.2.2 */
		return 1;
	default:
		if (strcmp(err, SASL_ERROR_BASE64) == 0) {
			imap_bad(s, "Invalid base64 in SASL response");
			return 1;
		}
		log_info("imap %s: SASL: %s", s->id, err);
		imap_tagged(s, "NO [AUTHENTICATIONFAILED] Invalid SASL response: %s", err);
		return 1;
	}
}

int imap_cmd_authenticate(struct imap_session *s)
{
	struct auth_ctx *c = s->cmd_ctx;
	const char *challenge = "", *err = "?";
	if (s->cmd_stage == STAGE_ANSWER)
		return answer(s, c);
	if (s->cmd_stage == STAGE_SASL) {
		enum sasl_status st = sasl_server_step(&c->sasl, imap_reader_line(s->reader),
						       &challenge, &err);
		return sasl_next(s, c, st, challenge, err);
	}
	struct imap_authenticate a;
	enum sasl_mech mech;
	if (imap_parse_authenticate(s->args, &a, &err) < 0) {
		imap_bad(s, err);
		return 1;
	}
	if (sasl_mech_find(a.mechanism, &mech) < 0) {
		imap_tagged(s, "NO [CANNOT] Unsupported authentication mechanism");
		return 1;
	}
	if (!may_authenticate(s) || (c = ctx_new(s)) == NULL)
		return 1;
	enum sasl_status st = sasl_server_start(&c->sasl, mech, a.has_initial ? &a.initial : NULL,
						&challenge, &err);
	return sasl_next(s, c, st, challenge, err);
}

void imap_session_credentials(const struct imap_session *s, const char **user_r,
			      const char **password_r)
{
	const struct auth_ctx *c = s->cmd_ctx;
	*user_r = c->sasl.user;
	*password_r = c->sasl.password;
}

void imap_session_auth_done(struct imap_session *s, int result, bool close)
{
	struct auth_ctx *c = s->cmd_ctx;
	c->result = result;
	c->close = close;
	s->cmd_stage = STAGE_ANSWER;
	if (result == 1)
		s->next = IMAP_NEXT_RUN;   /* the store is opened on a worker */
	else
		imap_session_run(s);
}
