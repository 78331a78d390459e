/* The client session up to its first message: greeting, EHLO with HELO
 * fallback (RFC 5321 4.1.1.1, 3.2), STARTTLS (RFC 3207) and AUTH PLAIN or
 * LOGIN (RFC 4954, RFC 4616). */
#include "smtp/smtp_client_private.h"

#include <string.h>

#include "lib/base64.h"

static bool auth_wanted(const struct smtp_client *c)
{
	return c->auth_user != NULL && c->ehlo.auth && (c->ehlo.auth_plain || c->ehlo.auth_login) &&
	       (c->tls || c->set.auth_without_tls);
}

/* AUTH PLAIN with an initial response (RFC 4616 2: authzid empty, NUL,
 * authcid, NUL, password), else AUTH LOGIN (its prompts answered in
 * order; the draft it comes from says so). */
static void auth_start(struct smtp_client *c)
{
	struct buf b;
	sc_set_state(c, SC_AUTH);
	c->auth_step = 0;
	if (!c->ehlo.auth_plain) {
		sc_command(c, SC_CMD_AUTH, "AUTH LOGIN");
		return;
	}
	size_t ul = strlen(c->auth_user), pl = strlen(c->auth_pass);
	char raw[2 + 255 + 255];
	raw[0] = '\0';
	memcpy(raw + 1, c->auth_user, ul);
	raw[1 + ul] = '\0';
	memcpy(raw + 2 + ul, c->auth_pass, pl);
	buf_init(&b, 1024);
	base64_encode(&b, raw, 2 + ul + pl);
	explicit_bzero(raw, sizeof raw);
	sc_command(c, SC_CMD_AUTH, "AUTH PLAIN %s", b.data);
	explicit_bzero(b.data, b.len);
	buf_free(&b);
	c->auth_step = 2;
}

static void auth_login_step(struct smtp_client *c, const char *secret)
{
	struct buf b;
	buf_init(&b, 1024);
	base64_encode(&b, secret, strlen(secret));
	sc_command(c, SC_CMD_AUTH, "%s", b.len > 0 ? b.data : "");
	explicit_bzero(b.data, b.len);
	buf_free(&b);
	c->auth_step++;
}

static void auth_reply(struct smtp_client *c, const struct smtp_reply *rp)
{
	struct smtp_client_status st;
	if (rp->code == 235) {
		sc_set_state(c, SC_IDLE);
		return;
	}
	if (rp->code == 334 && c->auth_step < 2) {
		auth_login_step(c, c->auth_step == 0 ? c->auth_user : c->auth_pass);
		return;
	}
	/* As Postfix's smtp_sasl_auth_soft_bounce: a refused login is a
	 * configuration problem to fix, not a reason to bounce the mail. */
	sc_status_reply(&st, rp, SMTP_SCOPE_CONNECTION, "AUTH");
	if (rp->code == 334)   /* a challenge after the last answer */
		buf_append(&c->out, "*\r\n", 3);
	sc_fail(c, &st, rp->code != 421);
}

/* After the (last) EHLO or HELO: STARTTLS, AUTH, or ready. */
static void after_hello(struct smtp_client *c)
{
	struct smtp_client_status st;
	if (!c->tls && c->set.tls != SMTP_CLIENT_TLS_OFF) {
		if (c->ehlo.starttls) {
			sc_set_state(c, SC_STARTTLS);
			sc_command(c, SC_CMD_STARTTLS, "STARTTLS");
			return;
		}
		if (c->set.tls == SMTP_CLIENT_TLS_REQUIRED) {
			sc_status_local(c, &st, SMTP_FATE_DEFER, SMTP_SCOPE_CONNECTION, 454,
					"4.7.4", "TLS is required, but was not offered by the host");
			sc_fail(c, &st, true);
			return;
		}
	}
	if (auth_wanted(c)) {
		auth_start(c);
		return;
	}
	sc_set_state(c, SC_IDLE);
}

static void starttls_reply(struct smtp_client *c, const struct smtp_reply *rp)
{
	struct smtp_client_status st;
	if (rp->code == 220) {
		/* Whatever else came with the 220 is plaintext that must
		 * not be taken as said under TLS (CVE-2011-0411's kind):
		 * smtp_client_input() stops after the 220 and says so. */
		sc_set_state(c, SC_TLS);
		c->drop_input = true;
		c->hooks->starttls(c->hook_ctx, c->set.tls == SMTP_CLIENT_TLS_REQUIRED);
		return;
	}
	if (rp->code == 421 || c->set.tls == SMTP_CLIENT_TLS_REQUIRED) {
		sc_status_reply(&st, rp, SMTP_SCOPE_CONNECTION, "STARTTLS");
		sc_fail(c, &st, rp->code != 421);
		return;
	}
	/* Opportunistic: go on in plaintext, as Postfix's "may" level. */
	if (auth_wanted(c)) {
		auth_start(c);
		return;
	}
	sc_set_state(c, SC_IDLE);
}

static void hello_reply(struct smtp_client *c, enum sc_cmd kind, const struct smtp_reply *rp)
{
	struct smtp_client_status st;
	if (rp->code / 100 == 2) {
		if (kind == SC_CMD_EHLO)
			smtp_ehlo_parse(rp, &c->ehlo);
		else
			memset(&c->ehlo, 0, sizeof c->ehlo);
		after_hello(c);
		return;
	}
	if (kind == SC_CMD_EHLO && rp->code / 100 == 5) {
		/* RFC 5321 3.2: an old server that does not know EHLO. */
		sc_set_state(c, SC_HELLO);
		sc_command(c, SC_CMD_HELO, "HELO %s", c->helo_name);
		return;
	}
	sc_status_reply(&st, rp, SMTP_SCOPE_CONNECTION, kind == SC_CMD_EHLO ? "EHLO" : "HELO");
	sc_fail(c, &st, rp->code != 421);
}

void sc_hello_reply(struct smtp_client *c, enum sc_cmd kind, const struct smtp_reply *rp)
{
	struct smtp_client_status st;
	switch (kind) {
	case SC_CMD_GREETING:
		if (rp->code != 220) {
			/* RFC 5321 3.1: 554 (or 421) means no service here:
			 * QUIT (not after a 421) and try elsewhere. */
			sc_status_reply(&st, rp, SMTP_SCOPE_CONNECTION, "greeting");
			sc_fail(c, &st, rp->code != 421);
			return;
		}
		sc_set_state(c, SC_HELLO);
		sc_command(c, SC_CMD_EHLO, "EHLO %s", c->helo_name);
		return;
	case SC_CMD_EHLO:
	case SC_CMD_HELO:
		hello_reply(c, kind, rp);
		return;
	case SC_CMD_STARTTLS:
		starttls_reply(c, rp);
		return;
	default:
		auth_reply(c, rp);
		return;
	}
}
