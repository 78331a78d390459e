/* The SMTP session as a protocol transcript: bytes in, replies out, with
 * hooks that stand for the user directory and the store. Every transcript
 * also runs fed one byte at a time (trickle), which must not change a
 * single reply byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "lib/config.h"
#include "smtp/smtp_server.h"

struct fixture {
	struct config cfg;
	struct smtp_server *s;
	struct buf transcript;     /* everything the server said */
	char committed[8][4096];   /* messages handed to commit */
	size_t commits;
	const char *commit_error;  /* answer commits with this */
	bool async;                /* leave commits pending */
	bool async_rcpt;           /* leave recipient lookups pending */
	bool async_auth;           /* leave password checks pending */
	size_t auth_checks;        /* auth_check calls */
	size_t lookups;            /* rcpt_check calls */
	struct buf spool;          /* what the session spooled */
	bool spool_open;
};

static void rcpt_check(void *ctx, const struct smtp_mailbox *mb)
{
	struct fixture *f = ctx;
	enum smtp_rcpt_verdict v;
	f->lookups++;
	if (f->async_rcpt)
		return;
	if (strcmp(mb->domain, "a.test") != 0)
		v = SMTP_RCPT_REMOTE_UNAVAILABLE;   /* as the glue answers now */
	else if (strcmp(mb->local, "fail") == 0)
		v = SMTP_RCPT_TEMPFAIL;
	else
		v = strcmp(mb->local, "user") == 0 || strcmp(mb->local, "postmaster") == 0
			    ? SMTP_RCPT_OK : SMTP_RCPT_UNKNOWN;
	smtp_server_rcpt_done(f->s, v, NULL);
}

static int spool_open(void *ctx, struct smtp_tx *tx)
{
	struct fixture *f = ctx;
	assert_false(f->spool_open);
	f->spool_open = true;
	buf_reset(&f->spool);
	return buf_append(&f->spool, tx->received.data, tx->received.len);
}

static int spool_write(void *ctx, const char *p, size_t n)
{
	struct fixture *f = ctx;
	assert_true(f->spool_open);
	return buf_append(&f->spool, p, n);
}

static void spool_close(void *ctx)
{
	struct fixture *f = ctx;
	assert_true(f->spool_open);
	f->spool_open = false;
}

static void rcpt_free(void *ctx, void *d)
{
	(void)ctx;
	(void)d;
}

static void commit(void *ctx, struct smtp_tx *tx)
{
	struct fixture *f = ctx;
	if (f->commits < 8)
		snprintf(f->committed[f->commits], sizeof f->committed[0], "%.*s",
			 (int)f->spool.len, f->spool.data);
	(void)tx;
	f->commits++;
	if (!f->async)
		smtp_server_commit_done(f->s, f->commit_error);
}

/* alice@a.test with password "secret" owns sales@a.test too. */
static void auth_check(void *ctx, const char *user, const char *password)
{
	struct fixture *f = ctx;
	static const char *const owned[] = { "alice@a.test", "sales@a.test" };
	f->auth_checks++;
	if (f->async_auth)
		return;
	bool ok = strcmp(user, "alice@a.test") == 0 && strcmp(password, "secret") == 0;
	smtp_server_auth_done(f->s, ok ? SMTP_AUTH_OK : SMTP_AUTH_FAILED, user, owned, 2);
}

static const struct smtp_server_hooks hooks = {
	.rcpt_check = rcpt_check, .rcpt_free = rcpt_free, .spool_open = spool_open,
	.spool_write = spool_write, .spool_close = spool_close, .commit = commit,
	.auth_check = auth_check,
};

/* The session under test: the MX role without TLS unless these say. */
static enum smtp_role role = SMTP_ROLE_MX;
static bool tls_on;
static size_t max_header = 2000;
static bool plaintext;
static bool local_any;     /* SMTP_ROLE_LOCAL: the peer may use any sender */

static void start(struct fixture *f)
{
	memset(f, 0, sizeof *f);
	config_defaults(&f->cfg);
	snprintf(f->cfg.domains[0], sizeof f->cfg.domains[0], "a.test");
	f->cfg.domain_count = 1;
	struct smtp_server_settings set = {
		.role = role, .hostname = "mx.a.test", .message_size = 1 << 19,
		.max_recipients = 3, .max_header = max_header, .max_hops = 50, .max_errors = 20,
		.tls_available = true, .plaintext_auth = plaintext, .cfg = &f->cfg,
		.local_uid = 1000, .local_user = "alice", .local_any_sender = local_any,
	};
	f->s = smtp_server_new(&set, &hooks, f, "test01", "127.0.0.9", tls_on,
			       tls_on ? "TLSv1.3 with cipher X" : NULL);
	assert_non_null(f->s);
	buf_init(&f->transcript, 1 << 20);
	buf_init(&f->spool, 1 << 20);
	smtp_server_greet(f->s);
}

static void drain(struct fixture *f)
{
	struct buf *out = smtp_server_output(f->s);
	assert_int_equal(buf_append(&f->transcript, out->data, out->len), 0);
	buf_reset(out);
}

static void stop(struct fixture *f)
{
	smtp_server_free(&f->s);
	assert_false(f->spool_open);
	buf_free(&f->transcript);
	buf_free(&f->spool);
}

/* Feeds in pieces of at most step bytes; returns bytes consumed. */
static size_t feed(struct fixture *f, const char *in, size_t len, size_t step)
{
	size_t used = 0;
	while (used < len) {
		size_t n = len - used < step ? len - used : step;
		size_t u = smtp_server_input(f->s, in + used, n);
		used += u;
		drain(f);
		if (u < n)
			break;
	}
	return used;
}

/* Queue ids differ from run to run: "queued as ID" becomes "queued as X". */
static void normalize(char *t)
{
	char *p = t;
	while ((p = strstr(p, "queued as ")) != NULL) {
		p += 10;
		char *end = strstr(p, "\r\n");
		if (end == NULL)
			return;
		*p = 'X';
		memmove(p + 1, end, strlen(end) + 1);
	}
}

/* Runs a transcript whole and trickled; both must say exactly `want`
 * (matched as a prefix-free full string). */
static void transcript(const char *in, const char *want)
{
	size_t steps[] = { (size_t)-1, 1, 7 };
	for (size_t i = 0; i < 3; i++) {
		struct fixture f;
		start(&f);
		feed(&f, in, strlen(in), steps[i]);
		normalize(f.transcript.data);
		if (strcmp(f.transcript.data, want) != 0)
			fail_msg("step %zu:\n--- got ---\n%s\n--- want ---\n%s", steps[i],
				 f.transcript.data, want);
		stop(&f);
	}
}

#define GREET "220 mx.a.test ESMTP postbox\r\n"
#define EHLO_REPLY "250-mx.a.test\r\n250-PIPELINING\r\n250-SIZE 524288\r\n250-STARTTLS\r\n" \
	"250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"

static void test_ehlo_keywords(void **st)
{
	(void)st;
	transcript("EHLO c.test\r\n", GREET EHLO_REPLY);
}

/* RFC 2920 3.1: pipelined commands get their replies in order. */
static void test_pipelined_transaction(void **st)
{
	(void)st;
	transcript("EHLO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<user@a.test>\r\n"
		   "RCPT TO:<nobody@a.test>\r\nRCPT TO:<x@b.test>\r\nDATA\r\n"
		   "Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\nQUIT\r\n",
		   GREET EHLO_REPLY "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
		   "550 5.1.1 <nobody@a.test>: Recipient address rejected: user unknown\r\n"
		   "554 5.7.1 <x@b.test>: Relay access denied\r\n"
		   "354 End data with <CR><LF>.<CR><LF>\r\n"
		   "250 2.0.0 Ok: queued as X\r\n221 2.0.0 Bye\r\n");
}

static void test_committed_message(void **st)
{
	(void)st;
	struct fixture f;
	start(&f);
	const char *in = "HELO c.test\r\nMAIL FROM:<a@c.test>\r\nRCPT TO:<user@a.test>\r\nDATA\r\n"
			 "Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n";
	feed(&f, in, strlen(in), (size_t)-1);
	assert_int_equal(f.commits, 1);
	/* RFC 5321 4.4: HELO gives "with SMTP"; one recipient is named. */
	assert_non_null(strstr(f.committed[0], "Received: from c.test ([127.0.0.9])\n\tby mx.a.test"
				" (postbox) with SMTP id "));
	assert_non_null(strstr(f.committed[0], "\tfor <user@a.test>; "));
	assert_non_null(strstr(f.committed[0], "\nSubject: hi\n\n.dot\nbody\n"));
	stop(&f);
}

/* RFC 3030 2-3: chunks of any size, BDAT 0 LAST, DATA refused between
 * chunks, and a refused BDAT still has its chunk read (4.2). */
static void test_bdat(void **st)
{
	(void)st;
	transcript("EHLO c.test\r\nBDAT 5\r\nhelloRSET\r\nMAIL FROM:<>\r\n"
		   "RCPT TO:<user@a.test>\r\nBDAT 8\r\nA: b\r\n\r\nDATA\r\n"
		   "BDAT 3\r\nxyzBDAT 0 LAST\r\nQUIT\r\n",
		   GREET EHLO_REPLY "503 5.5.1 Error: need MAIL command\r\n250 2.0.0 Ok\r\n"
		   "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 8 octets received\r\n"
		   "503 5.5.1 Error: BDAT in progress, DATA not allowed (RFC 3030 2)\r\n"
		   "250 2.0.0 11 octets received\r\n250 2.0.0 Ok: queued as X\r\n"
		   "221 2.0.0 Bye\r\n");
}

/* RFC 5321 4.5.3.1.4: an overlong command line is refused as a whole and
 * the next line is read as the next command. */
static void test_overlong_command(void **st)
{
	(void)st;
	char in[1300];
	char x600[601], x539[540];
	memset(x600, 'x', 600);
	x600[600] = '\0';
	memset(x539, 'y', 539);
	x539[539] = '\0';
	snprintf(in, sizeof in, "NOOP %s\r\nNOOP\r\nRSET %s\r\nQUIT\r\n", x600, x539);
	transcript(in, GREET "500 5.5.2 Error: line too long (RFC 5321 4.5.3.1.4)\r\n"
		       "250 2.0.0 Ok\r\n"
		       "500 5.5.2 Error: line too long (RFC 5321 4.5.3.1.4)\r\n"
		       "221 2.0.0 Bye\r\n");
}

/* RFC 3207 4.2 and CVE-2011-0411: nothing after the STARTTLS line is
 * consumed; the transport drops it. */
static void test_starttls_stops_input(void **st)
{
	(void)st;
	struct fixture f;
	start(&f);
	const char *in = "EHLO c.test\r\nSTARTTLS\r\nMAIL FROM:<evil@x.test>\r\n";
	size_t used = feed(&f, in, strlen(in), (size_t)-1);
	assert_int_equal(used, strlen("EHLO c.test\r\nSTARTTLS\r\n"));
	assert_true(smtp_server_want_starttls(f.s));
	assert_non_null(strstr(f.transcript.data, "220 2.0.0 Ready to start TLS\r\n"));
	smtp_server_tls_started(f.s, "TLSv1.3 with cipher X");
	buf_reset(&f.transcript);
	/* Everything from before TLS is forgotten: EHLO is needed again. */
	const char *after = "MAIL FROM:<a@c.test>\r\nEHLO c.test\r\n";
	feed(&f, after, strlen(after), (size_t)-1);
	assert_non_null(strstr(f.transcript.data, "503 5.5.1 Error: send HELO/EHLO first\r\n"));
	assert_null(strstr(f.transcript.data, "250-STARTTLS"));
	stop(&f);
}

static void test_commit_pauses_input(void **st)
{
	(void)st;
	struct fixture f;
	start(&f);
	f.async = true;
	const char *in = "HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<user@a.test>\r\nDATA\r\n"
			 "x\r\n.\r\nNOOP\r\n";
	size_t used = feed(&f, in, strlen(in), (size_t)-1);
	/* The NOOP waits until the message is committed. */
	assert_int_equal(used, strlen(in) - 6);
	assert_true(smtp_server_busy(f.s));
	smtp_server_commit_done(f.s, "452 4.3.1 Error: insufficient system storage");
	feed(&f, in + used, 6, (size_t)-1);
	assert_non_null(strstr(f.transcript.data,
			       "452 4.3.1 Error: insufficient system storage\r\n250 2.0.0 Ok\r\n"));
	stop(&f);
}

/* The recipient lookup is answered later (it runs on a worker): the
 * pipelined commands after the RCPT wait for it, and the replies come in
 * command order (RFC 2920 3.1). */
static void test_rcpt_lookup_pauses_input(void **st)
{
	(void)st;
	struct fixture f;
	start(&f);
	f.async_rcpt = true;
	const char *in = "EHLO c\r\nMAIL FROM:<>\r\nRCPT TO:<nobody@a.test>\r\n"
			 "RCPT TO:<user@a.test>\r\nDATA\r\n";
	size_t used = feed(&f, in, strlen(in), (size_t)-1);
	const char *rest = strstr(in, "RCPT TO:<user");
	assert_int_equal(used, (size_t)(rest - in));
	assert_int_equal(f.lookups, 1);
	assert_true(smtp_server_busy(f.s));
	assert_int_equal(smtp_server_input(f.s, rest, strlen(rest)), 0);
	smtp_server_rcpt_done(f.s, SMTP_RCPT_UNKNOWN, NULL);
	assert_false(smtp_server_busy(f.s));
	used += feed(&f, rest, strlen(rest), (size_t)-1);
	assert_int_equal(f.lookups, 2);
	smtp_server_rcpt_done(f.s, SMTP_RCPT_OK, NULL);
	drain(&f);
	used += feed(&f, in + used, strlen(in) - used, (size_t)-1);
	assert_int_equal(used, strlen(in));
	assert_non_null(strstr(f.transcript.data,
			       "250 2.1.0 Ok\r\n"
			       "550 5.1.1 <nobody@a.test>: Recipient address rejected: user unknown\r\n"
			       "250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"));
	feed(&f, ".\r\n", 3, (size_t)-1);
	stop(&f);
}

static void test_limits_and_errors(void **st)
{
	(void)st;
	/* RFC 5321 4.5.3.1.10: too many recipients is 452; SIZE over the
	 * limit is 552 (RFC 1870 6.1); a lookup failure is temporary. */
	transcript("EHLO c\r\nMAIL FROM:<> SIZE=524289\r\nMAIL FROM:<> SIZE=100\r\n"
		   "RCPT TO:<fail@a.test>\r\nRCPT TO:<user@a.test>\r\nRCPT TO:<user@a.test>\r\n"
		   "RCPT TO:<postmaster>\r\nRCPT TO:<user@a.test>\r\n",
		   GREET EHLO_REPLY
		   "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
		   "250 2.1.0 Ok\r\n451 4.3.0 <fail@a.test>: Temporary lookup failure\r\n"
		   "250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n"
		   "452 4.5.3 Error: too many recipients (RFC 5321 4.5.3.1.10)\r\n");
}

static void test_too_many_errors(void **st)
{
	(void)st;
	struct fixture f;
	start(&f);
	for (int i = 0; i < 25; i++)
		feed(&f, "BOGUS\r\n", 7, (size_t)-1);
	assert_true(smtp_server_want_close(f.s));
	assert_non_null(strstr(f.transcript.data, "421 4.7.0 mx.a.test Error: too many errors\r\n"));
	stop(&f);
}

/* ---- the submission role (RFC 6409, RFC 4954) ---- */

static int submission(void **st)
{
	(void)st;
	role = SMTP_ROLE_SUBMISSION;
	tls_on = true;
	return 0;
}

static int mx(void **st)
{
	(void)st;
	role = SMTP_ROLE_MX;
	tls_on = false;
	max_header = 2000;
	plaintext = false;
	local_any = false;
	return 0;
}

static int local_role(void **st)
{
	(void)st;
	role = SMTP_ROLE_LOCAL;
	return 0;
}

#define SUB_EHLO "250-mx.a.test\r\n250-PIPELINING\r\n250-SIZE 524288\r\n" \
	"250-AUTH PLAIN LOGIN\r\n250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n" \
	"250-SMTPUTF8\r\n250 CHUNKING\r\n"
/* "\0alice@a.test\0secret" */
#define PLAIN_OK "AGFsaWNlQGEudGVzdABzZWNyZXQ="
#define LOGIN_ALICE "EHLO c.test\r\nAUTH PLAIN " PLAIN_OK "\r\n"
#define LOGGED_IN GREET SUB_EHLO "235 2.7.0 Authentication successful\r\n"

/* RFC 4954 4 and RFC 8314 3: before TLS, EHLO offers STARTTLS and no
 * AUTH, and AUTH and MAIL are refused with 530 5.7.0. */
static void test_submission_needs_tls(void **st)
{
	(void)st;
	tls_on = false;
	transcript("EHLO c.test\r\nAUTH PLAIN " PLAIN_OK "\r\nMAIL FROM:<alice@a.test>\r\n",
		   GREET EHLO_REPLY "530 5.7.0 Must issue a STARTTLS command first\r\n"
		   "530 5.7.0 Must issue a STARTTLS command first\r\n");
}

/* [server] plaintext_auth_loopback: a loopback peer may log in without
 * TLS (nobody can sniff it); the trace field then says ESMTPA (RFC 3848). */
static void test_submission_plaintext_loopback(void **st)
{
	(void)st;
	tls_on = false;
	plaintext = true;
	struct fixture f;
	start(&f);
	const char *in = "EHLO c.test\r\nMAIL FROM:<alice@a.test>\r\nAUTH PLAIN " PLAIN_OK "\r\n"
			 "MAIL FROM:<alice@a.test>\r\nRCPT TO:<user@a.test>\r\nDATA\r\n"
			 "From: alice@a.test\r\n\r\nhi\r\n.\r\n";
	feed(&f, in, strlen(in), (size_t)-1);
	assert_non_null(strstr(f.transcript.data, "250-STARTTLS\r\n250-AUTH PLAIN LOGIN\r\n"));
	assert_non_null(strstr(f.transcript.data, "530 5.7.0 Authentication required\r\n"
				"235 2.7.0 Authentication successful\r\n250 2.1.0 Ok\r\n"));
	assert_int_equal(f.commits, 1);
	assert_non_null(strstr(f.committed[0], " with ESMTPA id "));
	/* RFC 3207 4.2: after STARTTLS the login is forgotten. */
	feed(&f, "STARTTLS\r\n", 10, (size_t)-1);
	smtp_server_tls_started(f.s, "TLSv1.3 with cipher X");
	assert_null(smtp_server_auth_user(f.s));
	buf_reset(&f.transcript);
	in = "EHLO c.test\r\nMAIL FROM:<alice@a.test>\r\n";
	feed(&f, in, strlen(in), (size_t)-1);
	assert_non_null(strstr(f.transcript.data, "530 5.7.0 Authentication required\r\n"));
	stop(&f);
}

/* RFC 4954 4: AUTH PLAIN with an initial response, 235 2.7.0; MAIL before
 * it is 530 5.7.0 (RFC 4954 6); a second AUTH is 503 5.5.1. */
static void test_submission_auth_plain(void **st)
{
	(void)st;
	transcript("EHLO c.test\r\nMAIL FROM:<alice@a.test>\r\nAUTH PLAIN " PLAIN_OK "\r\n"
		   "AUTH PLAIN " PLAIN_OK "\r\nMAIL FROM:<alice@a.test>\r\n",
		   GREET SUB_EHLO "530 5.7.0 Authentication required\r\n"
		   "235 2.7.0 Authentication successful\r\n"
		   "503 5.5.1 Error: already authenticated\r\n250 2.1.0 Ok\r\n");
}

/* RFC 4954 4: the empty challenge "334 ", and LOGIN's two prompts. */
static void test_submission_auth_exchanges(void **st)
{
	(void)st;
	transcript("EHLO c.test\r\nAUTH PLAIN\r\n" PLAIN_OK "\r\nQUIT\r\n",
		   GREET SUB_EHLO "334 \r\n235 2.7.0 Authentication successful\r\n"
		   "221 2.0.0 Bye\r\n");
	transcript("EHLO c.test\r\nAUTH LOGIN\r\nYWxpY2VAYS50ZXN0\r\nc2VjcmV0\r\n",
		   GREET SUB_EHLO "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n"
		   "235 2.7.0 Authentication successful\r\n");
	transcript("EHLO c.test\r\nAUTH LOGIN YWxpY2VAYS50ZXN0\r\nc2VjcmV0\r\n",
		   GREET SUB_EHLO "334 UGFzc3dvcmQ6\r\n235 2.7.0 Authentication successful\r\n");
}

/* RFC 4954 4: "*" cancels (501), undecodable base64 is 501 5.5.2, an
 * unknown mechanism 504; wrong credentials 535 5.7.8; AUTH before EHLO
 * 503. */
static void test_submission_auth_errors(void **st)
{
	(void)st;
	transcript("AUTH PLAIN " PLAIN_OK "\r\nEHLO c.test\r\nAUTH PLAIN\r\n*\r\nAUTH LOGIN\r\n"
		   "!!!!\r\nAUTH PLAIN a===\r\nAUTH CRAM-MD5\r\n"
		   "AUTH PLAIN AGFsaWNlQGEudGVzdAB3cm9uZw==\r\nAUTH PLAIN AGFsaWNl\r\n"
		   "NOOP\r\n",
		   GREET "503 5.5.1 Error: send EHLO first\r\n" SUB_EHLO "334 \r\n"
		   "501 5.7.0 Authentication aborted\r\n334 VXNlcm5hbWU6\r\n"
		   "501 5.5.2 Cannot decode response (RFC 4954 4)\r\n"
		   "501 5.5.2 Cannot decode response (RFC 4954 4)\r\n"
		   "504 5.5.4 Unrecognized authentication type\r\n"
		   "535 5.7.8 Authentication credentials invalid\r\n"
		   "501 5.5.2 Invalid SASL response: a PLAIN message has exactly two NULs\r\n"
		   "250 2.0.0 Ok\r\n");
}

/* The role decides: the AUTH that submission takes, the MX role neither
 * offers nor takes, even under TLS (DESIGN.md: port 25 needs none). */
static void test_mx_refuses_auth(void **st)
{
	(void)st;
	tls_on = true;
	transcript("EHLO c.test\r\nAUTH PLAIN " PLAIN_OK "\r\n",
		   GREET "250-mx.a.test\r\n250-PIPELINING\r\n250-SIZE 524288\r\n"
		   "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"
		   "503 5.5.1 Error: authentication not enabled\r\n");
	role = SMTP_ROLE_SUBMISSION;
	transcript("EHLO c.test\r\nAUTH PLAIN " PLAIN_OK "\r\n", LOGGED_IN);
}

/* The password check runs elsewhere: input waits for it, and too many
 * failures end the session (535, then 421). */
static void test_submission_auth_async(void **st)
{
	(void)st;
	struct fixture f;
	start(&f);
	f.async_auth = true;
	const char *in = "EHLO c\r\nAUTH PLAIN " PLAIN_OK "\r\nNOOP\r\n";
	size_t used = feed(&f, in, strlen(in), (size_t)-1);
	assert_int_equal(used, strlen(in) - 6);
	assert_true(smtp_server_busy(f.s));
	assert_int_equal(f.auth_checks, 1);
	smtp_server_auth_done(f.s, SMTP_AUTH_FAILED_CLOSE, "alice@a.test", NULL, 0);
	drain(&f);
	assert_true(smtp_server_want_close(f.s));
	assert_non_null(strstr(f.transcript.data, "535 5.7.8 Authentication credentials invalid\r\n"
				"421 4.7.0 Error: too many failed authentications\r\n"));
	assert_null(smtp_server_auth_user(f.s));
	stop(&f);
}

/* The envelope sender must be the user's (Postfix's
 * reject_sender_login_mismatch: 553 5.7.1): their address, an alias, a
 * "+detail" of either, case aside; never <> (docs/submission.md). */
static void test_submission_sender_rules(void **st)
{
	(void)st;
	transcript(LOGIN_ALICE "MAIL FROM:<bob@a.test>\r\nMAIL FROM:<>\r\n"
		   "MAIL FROM:<alice@[127.0.0.1]>\r\nMAIL FROM:<sales@a.test>\r\n"
		   "RSET\r\nMAIL FROM:<Alice+Lists@A.TEST>\r\n",
		   LOGGED_IN
		   "553 5.7.1 <bob@a.test>: Sender address rejected: not owned by user alice@a.test\r\n"
		   "553 5.7.1 <>: Sender address rejected: a null sender is not accepted for"
		   " submission\r\n"
		   "553 5.7.1 <alice@[127.0.0.1]>: Sender address rejected: not owned by user"
		   " alice@a.test\r\n"
		   "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n");
}

/* Recipients anywhere reach the hook; a remote one waits (451 4.3.0)
 * while nothing can carry mail to other servers. */
static void test_submission_recipients(void **st)
{
	(void)st;
	transcript(LOGIN_ALICE "MAIL FROM:<alice@a.test>\r\nRCPT TO:<x@b.test>\r\n"
		   "RCPT TO:<user@a.test>\r\n",
		   LOGGED_IN "250 2.1.0 Ok\r\n"
		   "451 4.3.0 <x@b.test>: remote delivery not available yet\r\n250 2.1.5 Ok\r\n");
}

static const char *submit(struct fixture *f, const char *message)
{
	char in[8192];
	snprintf(in, sizeof in, LOGIN_ALICE "MAIL FROM:<alice@a.test>\r\nRCPT TO:<user@a.test>\r\n"
		 "DATA\r\n%s.\r\n", message);
	feed(f, in, strlen(in), 1);
	return f->commits > 0 ? f->committed[f->commits - 1] : "";
}

/* RFC 6409 8.2 and 8.3: a missing Date: and Message-ID: are added with
 * the server's hostname, in front of the client's fields; RFC 3848 2:
 * "with ESMTPSA", and the account in a comment. */
static void test_submission_adds_fields(void **st)
{
	(void)st;
	struct fixture f;
	start(&f);
	const char *m = submit(&f, "From: Alice <alice@a.test>\r\nSubject: hi\r\n\r\nbody\r\n");
	assert_non_null(strstr(m, "Received: from c.test ([127.0.0.9])\n"
				  "\t(Authenticated sender: alice@a.test)\n\tby mx.a.test (postbox) with"
				  " ESMTPSA id "));
	const char *date = strstr(m, "\nDate: ");
	const char *id = strstr(m, "\nMessage-ID: <");
	const char *from = strstr(m, "\nFrom: Alice <alice@a.test>\nSubject: hi\n\nbody\n");
	assert_non_null(date);
	assert_non_null(id);
	assert_non_null(from);
	assert_true(date < id && id < from);
	assert_non_null(strstr(id, "@mx.a.test>\n"));
	stop(&f);
	/* The client's own are kept, and none added. */
	start(&f);
	m = submit(&f, "Date: Thu, 1 Jan 2026 00:00:00 +0000\r\nFrom: alice@a.test\r\n"
		       "message-id: <own@c.test>\r\n\r\nbody\r\n");
	assert_null(strstr(m, "\nDate: Thu, 03"));
	assert_null(strstr(m, "Message-ID"));
	assert_non_null(strstr(m, "\nDate: Thu, 1 Jan 2026 00:00:00 +0000\nFrom: alice@a.test\n"
				  "message-id: <own@c.test>\n\nbody\n"));
	stop(&f);
	/* BDAT (RFC 3030) too, the header split across chunks. */
	start(&f);
	const char *in = LOGIN_ALICE "MAIL FROM:<alice@a.test>\r\nRCPT TO:<user@a.test>\r\n"
			 "BDAT 10\r\nFrom: alicBDAT 16 LAST\r\ne@a.test\r\n\r\nbody";
	feed(&f, in, strlen(in), 3);
	assert_int_equal(f.commits, 1);
	date = strstr(f.committed[0], "\nDate: ");
	assert_non_null(date);
	assert_non_null(strstr(date, "\nMessage-ID: <"));
	assert_non_null(strstr(date, "\nFrom: alice@a.test\n\nbody\n"));
	stop(&f);
}

/* A header section bigger than the staging buffer still gets the fields,
 * and a body line that looks like a field does not count. */
static void test_submission_big_header(void **st)
{
	(void)st;
	max_header = 200 * 1024;
	struct fixture f;
	start(&f);
	struct buf in;
	buf_init(&in, 1 << 20);
	assert_int_equal(buf_printf(&in, LOGIN_ALICE "MAIL FROM:<alice@a.test>\r\n"
					 "RCPT TO:<user@a.test>\r\nDATA\r\n"), 0);
	for (int i = 0; i < 1500; i++)
		assert_int_equal(buf_printf(&in, "X-Filler-%04d: %080d\r\n", i, i), 0);
	assert_int_equal(buf_printf(&in, "\r\nDate: not a field here\r\n.\r\n"), 0);
	feed(&f, in.data, in.len, 4096);
	assert_int_equal(f.commits, 1);
	const char *date = strstr(f.spool.data, "\nDate: ");
	assert_non_null(date);
	assert_true(date < strstr(f.spool.data, "X-Filler-0000"));
	assert_non_null(strstr(f.spool.data, "X-Filler-1499: "));
	assert_non_null(strstr(f.spool.data, "\n\nDate: not a field here\n"));
	buf_free(&in);
	stop(&f);
}

/* From: must be the user's too: refused after DATA with 550 5.7.1 (as
 * Postfix refuses content); an alias and a list of own addresses pass. */
static void test_submission_from_rules(void **st)
{
	(void)st;
	struct fixture f;
	start(&f);
	submit(&f, "From: Bob <bob@a.test>\r\n\r\nbody\r\n");
	assert_int_equal(f.commits, 0);
	assert_non_null(strstr(f.transcript.data, "354 End data with <CR><LF>.<CR><LF>\r\n"
				"550 5.7.1 <bob@a.test>: From: header address not owned by user"
				" alice@a.test\r\n"));
	stop(&f);
	start(&f);
	submit(&f, "From: Sales <SALES@a.test>,\r\n alice+x@a.test\r\n\r\nbody\r\n");
	assert_int_equal(f.commits, 1);
	stop(&f);
}

/* The local socket (docs/sendmail.md): no STARTTLS, no AUTH, recipients
 * anywhere reach the hook; uid 1000 "alice" may send as alice[+detail]@
 * a local domain or the hostname only, as postdrop leaves it to the Unix
 * user. */
static void test_local_sender_rules(void **st)
{
	(void)st;
	transcript("EHLO localhost\r\nAUTH PLAIN\r\nSTARTTLS\r\nMAIL FROM:<bob@a.test>\r\n"
		   "MAIL FROM:<>\r\nMAIL FROM:<alice@elsewhere.test>\r\n"
		   "MAIL FROM:<alice@[127.0.0.1]>\r\nMAIL FROM:<alicex@a.test>\r\n"
		   "MAIL FROM:<Alice+cron@MX.A.TEST>\r\nRCPT TO:<x@b.test>\r\n",
		   GREET "250-mx.a.test\r\n250-PIPELINING\r\n250-SIZE 524288\r\n"
		   "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"
		   "503 5.5.1 Error: authentication not enabled\r\n"
		   "454 4.7.0 TLS not available\r\n"
		   "553 5.7.1 <bob@a.test>: Sender address rejected: not owned by uid 1000 alice\r\n"
		   "553 5.7.1 <>: Sender address rejected: not allowed for uid 1000\r\n"
		   "553 5.7.1 <alice@elsewhere.test>: Sender address rejected: not owned by uid"
		   " 1000 alice\r\n"
		   "553 5.7.1 <alice@[127.0.0.1]>: Sender address rejected: not owned by uid"
		   " 1000 alice\r\n"
		   "553 5.7.1 <alicex@a.test>: Sender address rejected: not owned by uid"
		   " 1000 alice\r\n"
		   "250 2.1.0 Ok\r\n"
		   "451 4.3.0 <x@b.test>: remote delivery not available yet\r\n");
}

/* root and the server's user: any sender, <> too. */
static void test_local_any_sender(void **st)
{
	(void)st;
	local_any = true;
	transcript("HELO localhost\r\nMAIL FROM:<>\r\nRSET\r\n"
		   "MAIL FROM:<bob@elsewhere.test>\r\n",
		   GREET "250 mx.a.test\r\n250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n");
}

/* Date: and Message-ID: as in submission (RFC 6409 8.2, 8.3); From: is
 * not checked; Received: names the uid. */
static void test_local_completes_message(void **st)
{
	(void)st;
	struct fixture f;
	start(&f);
	const char *in = "EHLO localhost\r\nMAIL FROM:<alice@a.test>\r\nRCPT TO:<user@a.test>\r\n"
			 "DATA\r\nFrom: bob@a.test\r\n\r\nbody\r\n.\r\n";
	feed(&f, in, strlen(in), 3);
	assert_int_equal(f.commits, 1);
	const char *m = f.committed[0];
	assert_true(strncmp(m, "Received: from localhost (uid 1000 alice)\n\tby mx.a.test (postbox)"
			    " with ESMTP id ", 72) == 0);
	assert_non_null(strstr(m, "\nDate: "));
	assert_non_null(strstr(m, "\nMessage-ID: <"));
	assert_non_null(strstr(m, "\nFrom: bob@a.test\n\nbody\n"));
	stop(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bdat),
		cmocka_unit_test(test_overlong_command),
		cmocka_unit_test(test_starttls_stops_input),
		cmocka_unit_test(test_commit_pauses_input),
		cmocka_unit_test(test_limits_and_errors),
		cmocka_unit_test(test_too_many_errors),
		cmocka_unit_test(test_ehlo_keywords),
		cmocka_unit_test(test_pipelined_transaction),
		cmocka_unit_test(test_committed_message),
		cmocka_unit_test(test_rcpt_lookup_pauses_input),
		cmocka_unit_test_setup_teardown(test_mx_refuses_auth, mx, mx),
		cmocka_unit_test_setup_teardown(test_submission_needs_tls, submission, mx),
		cmocka_unit_test_setup_teardown(test_submission_plaintext_loopback, submission, mx),
		cmocka_unit_test_setup_teardown(test_submission_auth_plain, submission, mx),
		cmocka_unit_test_setup_teardown(test_submission_auth_exchanges, submission, mx),
		cmocka_unit_test_setup_teardown(test_submission_auth_errors, submission, mx),
		cmocka_unit_test_setup_teardown(test_submission_auth_async, submission, mx),
		cmocka_unit_test_setup_teardown(test_submission_sender_rules, submission, mx),
		cmocka_unit_test_setup_teardown(test_submission_recipients, submission, mx),
		cmocka_unit_test_setup_teardown(test_submission_adds_fields, submission, mx),
		cmocka_unit_test_setup_teardown(test_submission_big_header, submission, mx),
		cmocka_unit_test_setup_teardown(test_submission_from_rules, submission, mx),
		cmocka_unit_test_setup_teardown(test_local_sender_rules, local_role, mx),
		cmocka_unit_test_setup_teardown(test_local_any_sender, local_role, mx),
		cmocka_unit_test_setup_teardown(test_local_completes_message, local_role, mx),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
