/* The SMTP client session: STARTTLS (RFC 3207) per policy and AUTH
 * (RFC 4954) toward a smarthost, as transcripts (test_smtp_client_common.h). */
#include "test_smtp_client_common.h"

#define EHLO_TLS "S:250-mx.b.test\r\n250-STARTTLS\r\n250 PIPELINING\r\n"
#define SEND_ONE "S:250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 go\r\n", "S:250 ok\r\n", \
	"S:221 2.0.0 Bye\r\n"
#define SENT_ONE "C: MAIL FROM:<alice@a.test>\n" \
	"C: RCPT TO:<bob@b.test>\n" \
	"C: DATA\n" \
	"C: x\n" \
	"C: .\n" \
	"E: rcpt bob@b.test sent msg 250 2.0.0 end of data | 250 ok\n" \
	"E: msg 0 sent msg 250 2.0.0\n" \
	"C: QUIT\n" \
	"E: closed sent 221 2.0.0 | 221 2.0.0 Bye\n"

/* Opportunistic: STARTTLS when offered, the handshake is the transport's
 * (unverified), then EHLO again (RFC 3207 4.2) and what came after the 220
 * in plaintext is dropped, not taken as a reply. */
static void test_starttls_opportunistic(void **state)
{
	struct fixture f;
	fixture_init(&f);
	f.set.tls = SMTP_CLIENT_TLS_OPPORTUNISTIC;
	add_msg(&f, "alice@a.test", "bob@b.test", "x\n");
	const char *script[] = {
		GREET, EHLO_TLS, "S:220 2.0.0 Ready to start TLS\r\n250 injected\r\n", "!tls",
		"S:250-mx.b.test\r\n250-STARTTLS\r\n250 PIPELINING\r\n", SEND_ONE, NULL,
	};
	transcript(&f, script,
		   "C: EHLO mx.a.test\n"
		   "C: STARTTLS\n"
		   "E: starttls verify=0\n"
		   "C: EHLO mx.a.test\n"
		   SENT_ONE);
	(void)state;
}

static struct fixture *sync_fixture;

static void h_sync_starttls(void *ctx, bool verify)
{
	(void)ctx;
	(void)verify;
	smtp_client_tls_started(sync_fixture->c);
}

/* A transport that finishes the handshake inside the hook: what came
 * with the 220 is still dropped. */
static void test_starttls_inside_hook(void **state)
{
	struct fixture f;
	fixture_init(&f);
	f.set.tls = SMTP_CLIENT_TLS_OPPORTUNISTIC;
	f.hold = true;
	sync_fixture = &f;
	struct smtp_client_hooks h = hooks;
	h.starttls = h_sync_starttls;
	f.c = smtp_client_new(&f.set, &h, &f, "t", false);
	const char *r = "220 hi\r\n250-mx.b.test\r\n250 STARTTLS\r\n220 go\r\n250-x\r\n250 PIPELINING\r\n";
	assert_int_equal(smtp_client_input(f.c, r, strlen(r)), strstr(r, "go\r\n") + 4 - r);
	struct buf *out = smtp_client_output(f.c);
	assert_string_equal(out->data, "EHLO mx.a.test\r\nSTARTTLS\r\nEHLO mx.a.test\r\n");
	assert_true(smtp_client_tls_active(f.c));
	assert_false(smtp_client_ehlo(f.c)->pipelining);   /* not from the injected reply */
	r = "250-mx.b.test\r\n250 PIPELINING\r\n";
	assert_int_equal(smtp_client_input(f.c, r, strlen(r)), strlen(r));
	assert_true(smtp_client_ehlo(f.c)->pipelining);
	smtp_client_free(&f.c);
	(void)state;
}

/* Opportunistic, STARTTLS refused: on in plaintext. Off: never. */
static void test_starttls_refused_or_off(void **state)
{
	struct fixture f;
	fixture_init(&f);
	f.set.tls = SMTP_CLIENT_TLS_OPPORTUNISTIC;
	add_msg(&f, "alice@a.test", "bob@b.test", "x\n");
	const char *refused[] = {
		GREET, EHLO_TLS, "S:454 4.7.0 TLS not available\r\n", SEND_ONE, NULL,
	};
	transcript(&f, refused, "C: EHLO mx.a.test\nC: STARTTLS\n" SENT_ONE);
	f.set.tls = SMTP_CLIENT_TLS_OFF;
	const char *off[] = { GREET, EHLO_TLS, SEND_ONE, NULL };
	transcript(&f, off, "C: EHLO mx.a.test\n" SENT_ONE);
	(void)state;
}

/* Required: verified TLS, or a temporary failure (4.7.4) when the server
 * does not offer it or refuses it. */
static void test_starttls_required(void **state)
{
	struct fixture f;
	fixture_init(&f);
	f.set.tls = SMTP_CLIENT_TLS_REQUIRED;
	add_msg(&f, "alice@a.test", "bob@b.test", "x\n");
	const char *offered[] = {
		GREET, EHLO_TLS, "S:220 go\r\n", "!tls", "S:250-mx.b.test\r\n250 PIPELINING\r\n",
		SEND_ONE, NULL,
	};
	transcript(&f, offered,
		   "C: EHLO mx.a.test\nC: STARTTLS\nE: starttls verify=1\nC: EHLO mx.a.test\n" SENT_ONE);
	const char *missing[] = { GREET, "S:250-mx.b.test\r\n250 PIPELINING\r\n", NULL };
	transcript(&f, missing,
		   "C: EHLO mx.a.test\n"
		   "E: closed defer 454 4.7.4 | TLS is required, but was not offered by the host\n"
		   "C: QUIT\n");
	const char *refused[] = { GREET, EHLO_TLS, "S:454 4.7.0 TLS not available\r\n", NULL };
	transcript(&f, refused,
		   "C: EHLO mx.a.test\n"
		   "C: STARTTLS\n"
		   "E: closed defer 454 4.7.0 | 454 4.7.0 TLS not available\n"
		   "C: QUIT\n");
	/* HELO means no STARTTLS at all. */
	const char *helo[] = { GREET, "S:500 what\r\n", "S:250 mx.b.test\r\n", NULL };
	transcript(&f, helo,
		   "C: EHLO mx.a.test\n"
		   "C: HELO mx.a.test\n"
		   "E: closed defer 454 4.7.4 | TLS is required, but was not offered by the host\n"
		   "C: QUIT\n");
	(void)state;
}

/* RFC 4954 + RFC 4616: AUTH PLAIN with an initial response when offered;
 * over TLS only. */
static void test_auth_plain(void **state)
{
	struct fixture f;
	fixture_init(&f);
	f.tls_active = true;
	f.set.auth_user = "alice";
	f.set.auth_pass = "secret";
	add_msg(&f, "alice@a.test", "bob@b.test", "x\n");
	const char *script[] = {
		GREET, "S:250-mx.b.test\r\n250-AUTH LOGIN PLAIN\r\n250 PIPELINING\r\n",
		"S:235 2.7.0 Authentication successful\r\n", SEND_ONE, NULL,
	};
	transcript(&f, script,
		   "C: EHLO mx.a.test\nC: AUTH PLAIN AGFsaWNlAHNlY3JldA==\n" SENT_ONE);
	/* The same without TLS: no credentials on the wire. */
	f.tls_active = false;
	const char *plain[] = {
		GREET, "S:250-mx.b.test\r\n250-AUTH LOGIN PLAIN\r\n250 PIPELINING\r\n", SEND_ONE, NULL,
	};
	transcript(&f, plain, "C: EHLO mx.a.test\n" SENT_ONE);
	/* Unless the configuration says so. */
	f.set.auth_without_tls = true;
	transcript(&f, script,
		   "C: EHLO mx.a.test\nC: AUTH PLAIN AGFsaWNlAHNlY3JldA==\n" SENT_ONE);
	(void)state;
}

/* AUTH LOGIN (the old "AUTH=" form of the keyword too); a refused login
 * defers everything (as Postfix's smtp_sasl_auth_soft_bounce). */
static void test_auth_login_and_failure(void **state)
{
	struct fixture f;
	fixture_init(&f);
	f.tls_active = true;
	f.set.auth_user = "alice";
	f.set.auth_pass = "secret";
	add_msg(&f, "alice@a.test", "bob@b.test", "x\n");
	const char *login[] = {
		GREET, "S:250-mx.b.test\r\n250-AUTH=LOGIN\r\n250 PIPELINING\r\n",
		"S:334 VXNlcm5hbWU6\r\n", "S:334 UGFzc3dvcmQ6\r\n", "S:235 2.7.0 ok\r\n",
		SEND_ONE, NULL,
	};
	transcript(&f, login,
		   "C: EHLO mx.a.test\nC: AUTH LOGIN\nC: YWxpY2U=\nC: c2VjcmV0\n" SENT_ONE);
	const char *refused[] = {
		GREET, "S:250-mx.b.test\r\n250 AUTH PLAIN\r\n",
		"S:535 5.7.8 Error: authentication failed\r\n", NULL,
	};
	transcript(&f, refused,
		   "C: EHLO mx.a.test\n"
		   "C: AUTH PLAIN AGFsaWNlAHNlY3JldA==\n"
		   "E: closed defer 535 4.7.8 | 535 5.7.8 Error: authentication failed\n"
		   "C: QUIT\n");
	(void)state;
}

/* Settings that cannot work are refused at creation. */
static void test_bad_settings(void **state)
{
	struct fixture f;
	fixture_init(&f);
	f.set.helo_name = "mx a.test";
	assert_null(smtp_client_new(&f.set, &hooks, &f, "t", false));
	f.set.helo_name = "mx.a.test\r\nRSET";
	assert_null(smtp_client_new(&f.set, &hooks, &f, "t", false));
	f.set.helo_name = "mx.a.test";
	f.set.auth_user = "alice";
	assert_null(smtp_client_new(&f.set, &hooks, &f, "t", false));
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_starttls_opportunistic),
		cmocka_unit_test(test_starttls_inside_hook),
		cmocka_unit_test(test_starttls_refused_or_off),
		cmocka_unit_test(test_starttls_required),
		cmocka_unit_test(test_auth_plain),
		cmocka_unit_test(test_auth_login_and_failure),
		cmocka_unit_test(test_bad_settings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
