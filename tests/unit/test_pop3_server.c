/* The POP3 session as protocol transcripts (RFC 1939, 2449, 2595, 5034),
 * whole and trickled one byte at a time. The hooks stand for the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pop3/pop3_server.h"

static const char *const stored[] = {
	"From: a@b.test\nSubject: one\n\nline 1\n.dot line\nline 3\n",
	"Subject: two\n\nx\n",
};

struct fixture {
	struct pop3_server *s;
	struct buf t;
	char deleted[64];
	bool busy;            /* leave the auth hook pending */
	size_t part;          /* answer RETR/TOP in parts of this size (0: whole) */
	const char *message;  /* answer RETR/TOP with this instead */
};

static void hook_auth(void *ctx, const char *user, const char *pw)
{
	struct fixture *f = ctx;
	struct pop3_msg msgs[2] = { { 0 }, { 0 } };
	for (size_t i = 0; i < 2; i++) {
		size_t crlf = strlen(stored[i]);
		for (const char *p = stored[i]; *p; p++)
			crlf += *p == '\n';
		msgs[i].size = crlf;
		snprintf(msgs[i].uidl, sizeof msgs[i].uidl, "1700000000.%zu", i + 1);
	}
	if (f->busy)
		pop3_server_auth_done(f->s, POP3_AUTH_IN_USE, NULL, 0);
	else if (strcmp(user, "v@a.test") == 0 && strcmp(pw, "secret") == 0)
		pop3_server_auth_done(f->s, POP3_AUTH_OK, msgs, 2);
	else if (strcmp(pw, "last") == 0)   /* the transport's too-many-failures */
		pop3_server_auth_done(f->s, POP3_AUTH_FAILED_CLOSE, NULL, 0);
	else
		pop3_server_auth_done(f->s, POP3_AUTH_FAILED, NULL, 0);
}

static void hook_retrieve(void *ctx, size_t i)
{
	struct fixture *f = ctx;
	const char *m = f->message != NULL ? f->message : stored[i];
	size_t len = strlen(m);
	if (f->part == 0) {
		pop3_server_retrieve_done(f->s, m, len);
		return;
	}
	/* As the daemon streams a file: parts in order, the last flagged. */
	for (size_t o = 0; o < len || o == 0; o += f->part) {
		size_t n = len - o < f->part ? len - o : f->part;
		pop3_server_retrieve_part(f->s, m + o, n, o + n >= len);
		assert_int_equal(pop3_server_waiting(f->s), o + n < len);
		if (len == 0)
			break;
	}
}

static void hook_update(void *ctx, const size_t *idx, size_t n)
{
	struct fixture *f = ctx;
	size_t o = 0;
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(f->deleted + o, sizeof f->deleted - o, "%zu;", idx[i]);
	pop3_server_update_done(f->s, true);
}

static const struct pop3_server_hooks hooks = { hook_auth, hook_retrieve, hook_update };

static void run(struct fixture *f, const char *in, size_t step, bool tls)
{
	struct pop3_server_settings set = { "mx.a.test", true, false, 10 };
	f->s = pop3_server_new(&set, &hooks, f, "t1", tls);
	buf_init(&f->t, 1 << 20);
	pop3_server_greet(f->s);
	size_t len = strlen(in), used = 0;
	while (used < len) {
		size_t n = len - used < step ? len - used : step;
		size_t u = pop3_server_input(f->s, in + used, n);
		used += u;
		struct buf *out = pop3_server_output(f->s);
		buf_append(&f->t, out->data, out->len);
		buf_reset(out);
		if (u < n)
			break;
	}
	struct buf *out = pop3_server_output(f->s);
	buf_append(&f->t, out->data, out->len);
	buf_reset(out);
}

static void transcript(const char *in, bool tls, const char *want, const char *deleted)
{
	size_t steps[] = { (size_t)-1, 1 };
	for (size_t i = 0; i < 2; i++) {
		struct fixture f;
		memset(&f, 0, sizeof f);
		run(&f, in, steps[i], tls);
		if (strcmp(f.t.data, want) != 0)
			fail_msg("step %zu\n--- got ---\n%s--- want ---\n%s", steps[i], f.t.data, want);
		assert_string_equal(f.deleted, deleted);
		pop3_server_free(&f.s);
		buf_free(&f.t);
	}
}

#define GREET "+OK mx.a.test POP3 postbox ready\r\n"

/* RFC 1939 5-7: STAT/LIST/UIDL/RETR/TOP/DELE/RSET, deletion only at QUIT. */
static void test_session(void **st)
{
	(void)st;
	transcript("USER v@a.test\r\nPASS secret\r\nSTAT\r\nLIST\r\nUIDL 2\r\nRETR 1\r\n"
		   "TOP 1 1\r\nDELE 2\r\nDELE 2\r\nLIST 2\r\nRSET\r\nDELE 1\r\nQUIT\r\n",
		   true,
		   GREET "+OK\r\n+OK Logged in, 2 messages\r\n+OK 2 78\r\n+OK\r\n1 59\r\n"
		   "2 19\r\n.\r\n+OK 2 1700000000.2\r\n+OK 59 octets\r\n"
		   "From: a@b.test\r\nSubject: one\r\n\r\nline 1\r\n..dot line\r\nline 3\r\n.\r\n"
		   "+OK\r\nFrom: a@b.test\r\nSubject: one\r\n\r\nline 1\r\n.\r\n"
		   "+OK Marked to be deleted\r\n-ERR Message 2 already deleted\r\n"
		   "-ERR Message 2 already deleted\r\n+OK\r\n+OK Marked to be deleted\r\n"
		   "+OK mx.a.test closing\r\n",
		   "0;");
}

/* RFC 2595 4 / RFC 2449: no plaintext login before TLS; CAPA says so. */
static void test_plaintext_refused_without_tls(void **st)
{
	(void)st;
	transcript("CAPA\r\nUSER v@a.test\r\nAPOP v x\r\nQUIT\r\n", false,
		   GREET "+OK Capability list follows\r\nTOP\r\nUIDL\r\nRESP-CODES\r\n"
		   "AUTH-RESP-CODE\r\nPIPELINING\r\nSTLS\r\nIMPLEMENTATION postbox\r\n.\r\n"
		   "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections\r\n"
		   "-ERR APOP not supported\r\n+OK mx.a.test closing\r\n", "");
}

/* RFC 5034: AUTH PLAIN with an initial response and as a continuation. */
static void test_sasl_plain(void **st)
{
	(void)st;
	/* "\0v@a.test\0secret" and "\0v@a.test\0wrong" */
	transcript("AUTH PLAIN AHZAYS50ZXN0AHdyb25n\r\nAUTH PLAIN\r\nAHZAYS50ZXN0AHNlY3JldA==\r\n"
		   "STAT\r\nQUIT\r\n", true,
		   GREET "-ERR [AUTH] Authentication failed\r\n+ \r\n"
		   "+OK Logged in, 2 messages\r\n+OK 2 78\r\n+OK mx.a.test closing\r\n", "");
}

/* The LOGIN mechanism (auth/sasl.h): "Username:", "Password:"; "*"
 * cancels; a malformed response is refused; the transport's last failure
 * closes the session. */
static void test_sasl_login(void **st)
{
	(void)st;
	/* "v@a.test", "secret", "last" */
	transcript("AUTH LOGIN\r\n*\r\nAUTH LOGIN\r\nAA==\r\nAUTH LOGIN dkBhLnRlc3Q=\r\n"
		   "c2VjcmV0\r\nQUIT\r\n", true,
		   GREET "+ VXNlcm5hbWU6\r\n-ERR Authentication cancelled\r\n+ VXNlcm5hbWU6\r\n"
		   "-ERR [AUTH] Invalid SASL response: empty response or NUL in a LOGIN response\r\n"
		   "+ UGFzc3dvcmQ6\r\n+OK Logged in, 2 messages\r\n+OK mx.a.test closing\r\n", "");
	transcript("USER v@a.test\r\nPASS last\r\nCAPA\r\n", true,
		   GREET "+OK\r\n-ERR [AUTH] Authentication failed; too many failures, closing\r\n",
		   "");
}

static void test_hostile_lines(void **st)
{
	(void)st;
	char in[700];
	memset(in, 'A', sizeof in);
	memcpy(in, "USER ", 5);
	memcpy(in + 600, "\r\nNOOP\r\nUSER a\0b\r\nQUIT\r\n", 25);
	/* The NUL stops strlen: the test feeds up to it, then checks sync. */
	transcript("USER \x01x\r\nRETR 1\r\nPASS x\r\nQUIT\r\n", true,
		   GREET "-ERR Invalid character in command\r\n"
		   "-ERR Command not valid in this state\r\n-ERR Send USER first\r\n"
		   "+OK mx.a.test closing\r\n", "");
	struct fixture f;
	memset(&f, 0, sizeof f);
	in[625] = '\0';
	run(&f, in, 1, true);
	assert_non_null(strstr(f.t.data, "-ERR Line too long (RFC 2449 4: 255 octets)\r\n"
					 "-ERR Command not valid in this state\r\n"));
	pop3_server_free(&f.s);
	buf_free(&f.t);
}

/* RETR and TOP streamed in parts of any size (lines, CR LF pairs and
 * leading dots split between parts) say exactly what the whole message
 * does (RFC 1939 3: CRLF, dot-stuffing; 7: TOP's line count). */
static void test_retrieve_in_parts(void **st)
{
	(void)st;
	const char *msgs[] = {
		NULL,
		"From: a@b.test\r\nSubject: crlf\r\n\r\n.a\r\nb\rc\r\n\r\n..\r\nlast",
		"Subject: cr\n\r\n\r\nx\r",
	};
	const char *in = "USER v@a.test\r\nPASS secret\r\nRETR 1\r\nTOP 1 1\r\nTOP 1 0\r\n"
			 "RETR 2\r\nQUIT\r\n";
	for (size_t m = 0; m < sizeof msgs / sizeof msgs[0]; m++) {
		struct fixture whole;
		memset(&whole, 0, sizeof whole);
		whole.message = msgs[m];
		run(&whole, in, (size_t)-1, true);
		for (size_t part = 1; part <= 9; part++) {
			struct fixture f;
			memset(&f, 0, sizeof f);
			f.message = msgs[m];
			f.part = part;
			run(&f, in, (size_t)-1, true);
			if (strcmp(f.t.data, whole.t.data) != 0)
				fail_msg("message %zu, parts of %zu\n--- got ---\n%s--- want ---\n%s",
					 m, part, f.t.data, whole.t.data);
			pop3_server_free(&f.s);
			buf_free(&f.t);
		}
		pop3_server_free(&whole.s);
		buf_free(&whole.t);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session),
		cmocka_unit_test(test_retrieve_in_parts),
		cmocka_unit_test(test_plaintext_refused_without_tls),
		cmocka_unit_test(test_sasl_plain),
		cmocka_unit_test(test_sasl_login),
		cmocka_unit_test(test_hostile_lines),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
