/* LOGIN and AUTHENTICATE PLAIN with SASL-IR (RFC 9051 6.2.2-6.2.3,
 * RFC 4959, RFC 4616). Run on a worker thread: yescrypt is slow on purpose. */
#include "imap/imap_private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/base64.h"
#include "lib/log.h"

#define FAIL_DELAY_MS 2000

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

static void login(struct imap_session *s, struct str user, const char *password)
{
	const char *err = NULL;
	if (user.len == 0 || user.len >= sizeof s->user) {
		imap_tagged(s, "NO [AUTHENTICATIONFAILED] Authentication failed");
		return;
	}
	for (size_t i = 0; i < user.len; i++)
		s->user[i] = (char)(user.p[i] >= 'A' && user.p[i] <= 'Z' ? user.p[i] + 32 : user.p[i]);
	s->user[user.len] = '\0';
	int r = s->set.verify(s->set.cfg->data_dir, s->user, password);
	if (r == 0) {
		log_info("imap %s: login failed for %s", s->id, s->user);
		s->delay_ms = FAIL_DELAY_MS;
		s->user[0] = '\0';
		imap_tagged(s, "NO [AUTHENTICATIONFAILED] Authentication failed");
		return;
	}
	if (r < 0 || open_store(s, &err) < 0) {
		log_err("imap %s: login of %s: %s", s->id, s->user, err ? err : "user directory");
		s->user[0] = '\0';
		imap_tagged(s, "NO [UNAVAILABLE] Temporary failure, try again later");
		return;
	}
	log_info("imap %s: login ok for %s", s->id, s->user);
	s->errors = 0;
	imap_set_state(s, IMAP_STATE_AUTH);
	buf_append_str(&s->out, s->tag);
	buf_append_str(&s->out, " OK [CAPABILITY ");
	imap_write_capabilities(s, &s->out);
	buf_append_str(&s->out, "] Logged in\r\n");
}

int imap_cmd_login(struct imap_session *s)
{
	struct str user, pass;
	if (!imap_arg_get_astring(&s->args[0], &user) ||
	    !imap_arg_get_astring(&s->args[1], &pass) || !imap_arg_is_eol(&s->args[2])) {
		imap_bad(s, "Syntax: LOGIN user password");
		return 1;
	}
	if (!may_authenticate(s))
		return 1;
	char *pw = str_dup(pass);
	if (pw == NULL) {
		imap_tagged(s, "NO [UNAVAILABLE] Out of memory");
		return 1;
	}
	login(s, user, pw);
	explicit_bzero(pw, pass.len);
	free(pw);
	return 1;
}

/* RFC 4616: [authzid] NUL authcid NUL passwd. */
static void sasl_plain(struct imap_session *s, struct str b64)
{
	struct buf dec;
	buf_init(&dec, 2048);
	if (base64_decode(&dec, b64.p, b64.len) < 0) {
		buf_free(&dec);
		imap_bad(s, "Invalid base64 in SASL response");
		return;
	}
	if (dec.len == 0) {
		/* RFC 4959: "=" is an empty response, which PLAIN cannot use. */
		buf_free(&dec);
		imap_tagged(s, "NO [AUTHENTICATIONFAILED] Empty SASL PLAIN response");
		return;
	}
	const char *a = dec.data, *end = dec.data + dec.len;
	const char *c = memchr(a, '\0', dec.len);
	const char *p = c ? memchr(c + 1, '\0', (size_t)(end - c - 1)) : NULL;
	bool ok = p != NULL && memchr(p + 1, '\0', (size_t)(end - p - 1)) == NULL;
	/* No proxy logins: an authzid must be the authcid itself. */
	if (ok && c != a)
		ok = (size_t)(c - a) == (size_t)(p - c - 1) && memcmp(a, c + 1, (size_t)(c - a)) == 0;
	if (!ok)
		imap_tagged(s, "NO [AUTHENTICATIONFAILED] Invalid SASL PLAIN response");
	else
		login(s, (struct str){ c + 1, (size_t)(p - c - 1) }, p + 1);
	explicit_bzero(dec.data, dec.len);
	buf_free(&dec);
}

int imap_cmd_authenticate(struct imap_session *s)
{
	if (s->cmd_stage == 1) {
		struct str line = imap_reader_line(s->reader);
		if (line.len == 1 && line.p[0] == '*')
			imap_bad(s, "Authentication cancelled");
		else
			sasl_plain(s, line);
		return 1;
	}
	struct imap_authenticate a;
	const char *err;
	if (imap_parse_authenticate(s->args, &a, &err) < 0) {
		imap_bad(s, err);
		return 1;
	}
	if (!str_case_eq_cstr(a.mechanism, "PLAIN")) {
		imap_tagged(s, "NO [CANNOT] Unsupported authentication mechanism");
		return 1;
	}
	if (!may_authenticate(s))
		return 1;
	if (a.has_initial) {
		sasl_plain(s, a.initial.len == 1 && a.initial.p[0] == '=' ? STR_LIT("") : a.initial);
		return 1;
	}
	buf_append_str(&s->out, "+ \r\n");
	imap_reader_want_line(s->reader);
	s->cmd_stage = 1;
	s->awaiting_line = true;
	return 0;
}
