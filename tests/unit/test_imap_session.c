/* The IMAP session as protocol transcripts (RFC 9051, RFC 3501, RFC 2177,
 * RFC 4959, RFC 7888), each fed whole and trickled one byte at a time:
 * both must give the same replies. Commands run synchronously where the
 * server would hand them to a worker thread; the store is a real one in
 * a scratch directory under /var/tmp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <cmocka.h>

#include "imap/imap_session.h"
#include "lib/config.h"
#include "store/store.h"

static char data_dir[256];
static struct config cfg;

/* One user, v@a.test, password "secret". */
static int verify(const char *user, const char *password)
{
	return strcmp(user, "v@a.test") == 0 && strcmp(password, "secret") == 0;
}

static int setup(void **st)
{
	(void)st;
	snprintf(data_dir, sizeof data_dir, "/var/tmp/pb-imapsess-XXXXXX");
	if (mkdtemp(data_dir) == NULL)
		return -1;
	config_defaults(&cfg);
	snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", data_dir);
	snprintf(cfg.domains[0], sizeof cfg.domains[0], "a.test");
	cfg.domain_count = 1;
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", data_dir);
	return system(cmd) == 0 ? 0 : -1;
}

struct opts {
	bool tls;             /* the connection starts with TLS (imaps) */
	bool plaintext_auth;  /* login allowed without TLS */
};

static struct imap_session *new_session(const struct opts *o)
{
	struct imap_session_settings set = {
		.hostname = "mx.a.test",
		.cfg = &cfg,
		.tls_available = true,
		.plaintext_auth = o->plaintext_auth,
		.max_append = 100000,
		.max_errors = 5,
	};
	struct imap_session *s = imap_session_new(&set, "t1", o->tls);
	assert_non_null(s);
	return s;
}

static void take_output(struct imap_session *s, struct buf *t)
{
	struct buf *out = imap_session_output(s);
	assert_int_equal(buf_append(t, out->data, out->len), 0);
	buf_reset(out);
}

/* Does what the transport would: runs commands, starts "TLS", stops at
 * CLOSE. Returns the number of bytes of `in` that were used. */
static size_t drive(struct imap_session *s, const char *in, size_t len, size_t step,
		    struct buf *t, unsigned *failures_r)
{
	size_t used = 0;
	for (int guard = 0; guard < 1000000; guard++) {
		enum imap_next next = imap_session_next(s);
		if (next == IMAP_NEXT_RUN) {
			imap_session_run(s);
		} else if (next == IMAP_NEXT_AUTH) {
			/* The transport's check; failures counted for the test. */
			const char *u, *p;
			imap_session_credentials(s, &u, &p);
			int r = verify(u, p);
			*failures_r += r == 0;
			imap_session_auth_done(s, r, false);
		} else if (next == IMAP_NEXT_STARTTLS) {
			take_output(s, t);
			imap_session_tls_started(s);
			buf_append_str(t, "<TLS>");
		} else if (next == IMAP_NEXT_CLOSE || used == len) {
			break;
		} else {
			size_t n = len - used < step ? len - used : step;
			used += imap_session_input(s, in + used, n);
		}
		take_output(s, t);
	}
	take_output(s, t);
	return used;
}

/* UIDVALIDITY differs from one store to the next and HIGHESTMODSEQ
 * from one run to the next: their numbers become "*". */
static void normalise_key(struct buf *t, const char *key)
{
	char *p = t->data;
	while ((p = strstr(p, key)) != NULL) {
		char *num = p + strlen(key);
		char *end = num + strspn(num, "0123456789");
		if (end > num) {
			*num = '*';
			memmove(num + 1, end, strlen(end) + 1);
			t->len -= (size_t)(end - num) - 1;
		}
		p = num;
	}
}

/* Cuts every occurrence of cut out of t. */
static void strip(struct buf *t, const char *cut)
{
	char *p = t->data;
	size_t n = strlen(cut);
	while ((p = strstr(p, cut)) != NULL) {
		memmove(p, p + n, strlen(p + n) + 1);
		t->len -= n;
	}
}

/* \Recent goes to the first session that selects after a delivery
 * (RFC 3501 2.3.2): runs of one transcript share the store, so only the
 * first would see it. */
static void strip_recent(struct buf *t)
{
	char *p = t->data;
	while ((p = strstr(p, " RECENT\r\n")) != NULL) {
		char *start = p;
		while (start > t->data && start[-1] != '\n')
			start--;
		char *end = p + strlen(" RECENT\r\n");
		memmove(start, end, strlen(end) + 1);
		t->len -= (size_t)(end - start);
		p = start;
	}
	strip(t, " \\Recent");
	strip(t, "\\Recent ");
	strip(t, "\\Recent");
}

static void normalise(struct buf *t)
{
	normalise_key(t, "[UIDVALIDITY ");
	normalise_key(t, "[HIGHESTMODSEQ ");
	normalise_key(t, "[APPENDUID ");
	normalise_key(t, "[COPYUID ");
}

static void transcript_opts(const struct opts *o, const char *in, const char *want,
			    unsigned want_delay)
{
	size_t steps[] = { (size_t)-1, 1 };
	for (size_t i = 0; i < 2; i++) {
		struct imap_session *s = new_session(o);
		struct buf t;
		unsigned delay = 0;
		buf_init(&t, 1 << 20);
		imap_session_greet(s);
		take_output(s, &t);
		drive(s, in, strlen(in), steps[i], &t, &delay);
		normalise(&t);
		if (strcmp(t.data, want) != 0)
			fail_msg("step %zu\n--- got ---\n%s--- want ---\n%s", steps[i], t.data, want);
		assert_int_equal(delay, want_delay);
		imap_session_free(&s);
		assert_null(s);
		buf_free(&t);
	}
}

/* Runs in whole and trickled, each on a new session; both transcripts
 * must be the same. */
static void run_both(const char *in, struct buf *whole, struct buf *trickled)
{
	struct opts o = { .tls = true };
	struct buf *t[2] = { whole, trickled };
	size_t steps[] = { (size_t)-1, 1 };
	for (size_t i = 0; i < 2; i++) {
		struct imap_session *s = new_session(&o);
		unsigned d = 0;
		buf_init(t[i], 1 << 20);
		drive(s, in, strlen(in), steps[i], t[i], &d);
		normalise(t[i]);
		imap_session_free(&s);
	}
	struct buf a, b;
	buf_init(&a, 1 << 20);
	buf_init(&b, 1 << 20);
	buf_append(&a, whole->data, whole->len);
	buf_append(&b, trickled->data, trickled->len);
	strip_recent(&a);
	strip_recent(&b);
	if (strcmp(a.data, b.data) != 0)
		fail_msg("--- whole ---\n%s--- trickled ---\n%s", whole->data, trickled->data);
	buf_free(&a);
	buf_free(&b);
}

static void transcript(const char *in, const char *want)
{
	struct opts o = { .tls = true, .plaintext_auth = false };
	transcript_opts(&o, in, want, 0);
}

static void append_msgs(const char *folder, int n)
{
	struct mail_store *st = NULL;
	const char *err = NULL;
	assert_int_equal(mail_store_maildir_open(data_dir, "a.test", "v", &st, &err), 0);
	assert_int_equal(mail_store_ensure_defaults(st, &err), 0);
	for (int i = 0; i < n; i++) {
		static char msg[] = "From: a@b.test\r\nSubject: hi\r\n\r\nbody\r\n";
		struct iovec iov = { msg, sizeof msg - 1 };
		uint32_t uv, uid;
		assert_int_equal(mail_store_append(st, folder, &iov, 1, 0, NULL, 0, &uv, &uid, &err), 0);
	}
	mail_store_free(&st);
}

#define CAPS_COMMON "IMAP4rev2 IMAP4rev1 LITERAL+"

/* The capability list changes as the other command families land; the
 * transcripts take it from the session itself. */
static char caps_na_tls[2048], caps_au[2048];

static void read_caps(void)
{
	struct opts o = { .tls = true };
	struct imap_session *s = new_session(&o);
	struct buf t;
	unsigned d = 0;
	buf_init(&t, 1 << 16);
	const char *in = "a CAPABILITY\r\nb LOGIN v@a.test secret\r\nc CAPABILITY\r\n";
	drive(s, in, strlen(in), (size_t)-1, &t, &d);
	const char *p = strstr(t.data, "* CAPABILITY ");
	assert_non_null(p);
	snprintf(caps_na_tls, sizeof caps_na_tls, "%.*s", (int)(strchr(p, '\r') - p - 13), p + 13);
	p = strstr(p + 1, "* CAPABILITY ");
	assert_non_null(p);
	snprintf(caps_au, sizeof caps_au, "%.*s", (int)(strchr(p, '\r') - p - 13), p + 13);
	assert_non_null(strstr(caps_na_tls, "AUTH=PLAIN"));
	assert_null(strstr(caps_au, "AUTH="));
	assert_null(strstr(caps_au, "STARTTLS"));
	assert_int_equal(strncmp(caps_au, CAPS_COMMON, strlen(CAPS_COMMON)), 0);
	imap_session_free(&s);
	buf_free(&t);
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...)
{
	static char out[8][8192];
	static int i;
	va_list ap;
	va_start(ap, f);
	char *o = out[i++ % 8];
	vsnprintf(o, sizeof out[0], f, ap);
	va_end(ap);
	return o;
}

#define GREET(caps) fmt("* OK [CAPABILITY %s] mx.a.test IMAP postbox ready\r\n", caps)

/* RFC 9051 6.1.1, 6.2.3: greeting, CAPABILITY, LOGIN (its OK carries the
 * new capabilities), LOGOUT with BYE first. */
static void test_login_logout(void **st)
{
	(void)st;
	read_caps();
	char want[8192];
	snprintf(want, sizeof want,
		 "%s* CAPABILITY %s\r\na OK CAPABILITY completed\r\n"
		 "b OK [CAPABILITY %s] Logged in\r\n"
		 "* BYE Logging out\r\nc OK LOGOUT completed\r\n",
		 GREET(caps_na_tls), caps_na_tls, caps_au);
	transcript("a CAPABILITY\r\nb LOGIN v@a.test secret\r\nc LOGOUT\r\nd NOOP\r\n", want);
}

/* RFC 9051 6.2.3 / RFC 5530: a wrong password is NO [AUTHENTICATIONFAILED]
 * after the transport's check (which counts it); a user is
 * case-insensitive. */
static void test_login_failed(void **st)
{
	(void)st;
	read_caps();
	struct opts o = { .tls = true };
	char want[8192];
	snprintf(want, sizeof want,
		 "%sa NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
		 "b OK [CAPABILITY %s] Logged in\r\n",
		 GREET(caps_na_tls), caps_au);
	transcript_opts(&o, "a LOGIN v@a.test wrong\r\nb LOGIN \"V@A.TEST\" {6+}\r\nsecret\r\n",
			want, 1);
}

/* RFC 9051 6.2.1-6.2.3: on a plaintext connection, LOGINDISABLED and
 * PRIVACYREQUIRED; STARTTLS; what follows it in the same input is not
 * run (the transport gets the rest of the bytes back); after TLS, login. */
static void test_starttls(void **st)
{
	(void)st;
	struct opts o = { .tls = false };
	struct imap_session *s = new_session(&o);
	struct buf t;
	unsigned d = 0;
	buf_init(&t, 1 << 16);
	imap_session_greet(s);
	const char *in = "a LOGIN v@a.test secret\r\nb STARTTLS\r\nc LOGOUT\r\n";
	size_t len = strlen(in);
	/* drive() stops feeding once STARTTLS is asked for; the rest is
	 * the transport's to drop. */
	size_t used = 0;
	while (used < len && imap_session_next(s) == IMAP_NEXT_READ) {
		used += imap_session_input(s, in + used, len - used);
		if (imap_session_next(s) == IMAP_NEXT_RUN)
			imap_session_run(s);
	}
	assert_int_equal(imap_session_next(s), IMAP_NEXT_STARTTLS);
	assert_int_equal(used, strlen("a LOGIN v@a.test secret\r\nb STARTTLS\r\n"));
	take_output(s, &t);
	assert_non_null(strstr(t.data, "LOGINDISABLED"));
	assert_non_null(strstr(t.data, " STARTTLS"));
	assert_null(strstr(t.data, "AUTH=PLAIN"));
	assert_non_null(strstr(t.data, "\r\na NO [PRIVACYREQUIRED] "));
	assert_non_null(strstr(t.data, "\r\nb OK Begin TLS negotiation now\r\n"));
	imap_session_tls_started(s);
	buf_reset(&t);
	in = "d CAPABILITY\r\ne STARTTLS\r\nf LOGIN v@a.test secret\r\n";
	drive(s, in, strlen(in), 1, &t, &d);
	assert_null(strstr(t.data, "LOGINDISABLED"));
	assert_null(strstr(t.data, " STARTTLS"));
	assert_non_null(strstr(t.data, "AUTH=PLAIN"));
	assert_non_null(strstr(t.data, "e BAD TLS is already active\r\n"));
	assert_non_null(strstr(t.data, "f OK [CAPABILITY "));
	imap_session_free(&s);
	buf_free(&t);
}

/* RFC 9051 6.2.2, RFC 4959, RFC 4616: AUTHENTICATE PLAIN with an initial
 * response, with a continuation, "=" for an empty one, and "*" to cancel. */
static void test_authenticate(void **st)
{
	(void)st;
	read_caps();
	char want[8192];
	/* "\0v@a.test\0secret" and "v@a.test\0v@a.test\0secret" */
	snprintf(want, sizeof want,
		 "%s+ \r\na BAD Authentication cancelled\r\n"
		 "b NO [AUTHENTICATIONFAILED] Invalid SASL response: a PLAIN message has"
		 " exactly two NULs\r\n"
		 "c NO [CANNOT] Unsupported authentication mechanism\r\n"
		 "+ \r\ng BAD Invalid base64 in SASL response\r\n"
		 "+ \r\nd OK [CAPABILITY %s] Logged in\r\n",
		 GREET(caps_na_tls), caps_au);
	transcript("a AUTHENTICATE PLAIN\r\n*\r\nb AUTHENTICATE PLAIN =\r\n"
		   "c AUTHENTICATE CRAM-MD5\r\ng AUTHENTICATE PLAIN\r\n!!\r\n"
		   "d AUTHENTICATE PLAIN\r\nAHZAYS50ZXN0AHNlY3JldA==\r\n",
		   want);
	/* LOGIN: "Username:", "Password:" (draft-murchison-sasl-login). */
	snprintf(want, sizeof want,
		 "%s+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\nf OK [CAPABILITY %s] Logged in\r\n",
		 GREET(caps_na_tls), caps_au);
	transcript("f AUTHENTICATE LOGIN\r\ndkBhLnRlc3Q=\r\nc2VjcmV0\r\n", want);
	snprintf(want, sizeof want, "%se OK [CAPABILITY %s] Logged in\r\n", GREET(caps_na_tls),
		 caps_au);
	transcript("e AUTHENTICATE PLAIN dkBhLnRlc3QAdkBhLnRlc3QAc2VjcmV0\r\n", want);
}

/* RFC 9051 6.3.2, 6.3.3, 6.4.1-6.4.2, RFC 3501 7.3.2: SELECT/EXAMINE
 * responses for an IMAP4rev1 client and for IMAP4rev2, CLOSE, UNSELECT,
 * OK [CLOSED], a mailbox that does not exist. */
static void test_select(void **st)
{
	(void)st;
	read_caps();
	append_msgs("INBOX", 2);
	/* The store's error texts are its business: compare the parts
	 * around them, and the whole and trickled runs with each other. */
	const char *in = "a LOGIN v@a.test secret\r\nb SELECT INBOX\r\nc EXAMINE Sent\r\n"
			 "d CLOSE\r\ne CLOSE\r\nf SELECT Nope\r\ng UNSELECT\r\n"
			 "h ENABLE IMAP4rev2\r\ni SELECT inbox\r\nj UNSELECT\r\n";
	struct buf t, whole;
	run_both(in, &whole, &t);
	const char *must[] = {
		"* 2 EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
		"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted\r\n"
		"* OK [UNSEEN 1] First unseen\r\n* OK [UIDVALIDITY *] UIDs valid\r\n"
		"* OK [UIDNEXT 3] Predicted next UID\r\n* OK [HIGHESTMODSEQ ",
		"* LIST () \"/\" \"INBOX\"\r\nb OK [READ-WRITE] SELECT completed\r\n"
		"* OK [CLOSED] Previous mailbox closed\r\n* 0 EXISTS\r\n* 0 RECENT\r\n",
		"* OK [PERMANENTFLAGS ()] Read-only mailbox\r\n",
		"* LIST () \"/\" \"Sent\"\r\nc OK [READ-ONLY] EXAMINE completed\r\n"
		"d OK CLOSE completed\r\ne BAD Command not valid in this state\r\nf NO [NONEXISTENT] ",
		"g BAD Command not valid in this state\r\n* ENABLED IMAP4rev2\r\n"
		"h OK ENABLE completed\r\n",
		"* 2 EXISTS\r\n* FLAGS",
		"* LIST () \"/\" \"INBOX\"\r\ni OK [READ-WRITE] SELECT completed\r\n"
		"j OK UNSELECT completed\r\n",
	};
	const char *p = t.data;
	for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
		const char *q = strstr(p, must[i]);
		if (q == NULL)
			fail_msg("missing, in order:\n%s\n--- in ---\n%s", must[i], t.data);
		p = q + strlen(must[i]);
	}
	/* IMAP4rev2 has no RECENT and no UNSEEN code (RFC 9051 7.3). */
	const char *rev2 = strstr(t.data, "h OK ENABLE");
	assert_null(strstr(rev2, "RECENT"));
	assert_null(strstr(rev2, "UNSEEN"));
	buf_free(&whole);
	buf_free(&t);
}

/* RFC 2177, RFC 9051 7.4.1: a message appended by another handle is
 * reported by NOOP and by an IDLE poll; DONE ends IDLE (any case). */
static void test_updates_and_idle(void **st)
{
	(void)st;
	struct opts o = { .tls = true };
	struct imap_session *s = new_session(&o);
	struct buf t;
	unsigned d = 0;
	buf_init(&t, 1 << 20);
	const char *in = "a LOGIN v@a.test secret\r\nb SELECT Drafts\r\n";
	drive(s, in, strlen(in), (size_t)-1, &t, &d);
	assert_non_null(strstr(t.data, "* 0 EXISTS\r\n"));
	buf_reset(&t);
	append_msgs("Drafts", 1);
	in = "c NOOP\r\n";
	drive(s, in, strlen(in), 1, &t, &d);
	assert_string_equal(t.data, "* 1 EXISTS\r\n* 1 RECENT\r\nc OK NOOP completed\r\n");
	buf_reset(&t);
	in = "d IDLE\r\n";
	drive(s, in, strlen(in), 1, &t, &d);
	assert_string_equal(t.data, "+ idling\r\n");
	assert_int_equal(imap_session_next(s), IMAP_NEXT_IDLE);
	imap_session_idle_poll(s, true);
	take_output(s, &t);
	assert_string_equal(t.data, "+ idling\r\n");
	append_msgs("Drafts", 2);
	imap_session_idle_poll(s, true);
	take_output(s, &t);
	assert_string_equal(t.data, "+ idling\r\n* 3 EXISTS\r\n* 3 RECENT\r\n");
	buf_reset(&t);
	in = "dOnE\r\ne NOOP\r\nf IDLE\r\nnope\r\n";
	drive(s, in, strlen(in), 1, &t, &d);
	assert_string_equal(t.data, "d OK IDLE terminated\r\ne OK NOOP completed\r\n"
				    "+ idling\r\nf BAD Expected DONE\r\n");
	imap_session_free(&s);
	buf_free(&t);
}

/* RFC 2971, RFC 5161 3.1, RFC 9051 6.3.10: ID in any state, ENABLE after
 * login listing only what it newly enabled, NAMESPACE. */
static void test_id_enable_namespace(void **st)
{
	(void)st;
	read_caps();
	char want[8192];
	snprintf(want, sizeof want,
		 "%s* ID (\"name\" \"postbox\")\r\na OK ID completed\r\n"
		 "b BAD Log in first\r\nc OK [CAPABILITY %s] Logged in\r\n"
		 "* ENABLED IMAP4rev2\r\nd OK ENABLE completed\r\n"
		 "* ENABLED UTF8=ACCEPT\r\ne OK ENABLE completed\r\n"
		 "* ENABLED\r\nf OK ENABLE completed\r\n"
		 "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\ng OK NAMESPACE completed\r\n"
		 "* ID (\"name\" \"postbox\")\r\nh OK ID completed\r\n",
		 GREET(caps_na_tls), caps_au);
	transcript("a ID (\"name\" \"x\")\r\nb ENABLE IMAP4rev2\r\nc LOGIN v@a.test secret\r\n"
		   "d ENABLE IMAP4rev2 X-NONE\r\ne ENABLE utf8=accept IMAP4rev2\r\n"
		   "f ENABLE IMAP4rev2\r\ng NAMESPACE\r\nh ID NIL\r\n",
		   want);
}

/* RFC 9051 7.1 TOOBIG, 7.1.5 BYE, 9: huge literals refused without a
 * continuation, bad syntax, and BYE after max_errors (5 here) BADs. */
static void test_hostile(void **st)
{
	(void)st;
	read_caps();
	char want[8192];
	snprintf(want, sizeof want,
		 "%sa NO [TOOBIG] Command too large\r\n"
		 "b NO [TOOBIG] Literal size out of range\r\n"
		 "c OK NOOP completed\r\n"
		 "d BAD Missing ')'\r\ne BAD Unterminated quoted string\r\n"
		 "f BAD Unknown command\r\ng BAD Log in first\r\n"
		 "h BAD Unknown command\r\n* BYE Too many invalid commands\r\n",
		 GREET(caps_na_tls));
	transcript("a LOGIN {4294967296}\r\nb NOOP {99999999999999999999}\r\n"
		   "c NOOP\r\nd ID (\"a\" \"b\"\r\ne LOGIN \"x\r\nf FROB\r\ng SELECT INBOX\r\n"
		   "h X\r\ni NOOP\r\n",
		   want);
}

/* RFC 9051 4.3 / 9: a literal is accepted with a continuation and its
 * bytes are taken whole (here a CRLF and a quote inside a password). */
static void test_literals(void **st)
{
	(void)st;
	read_caps();
	char want[8192];
	snprintf(want, sizeof want,
		 "%s+ Ready for literal data\r\n"
		 "a NO [AUTHENTICATIONFAILED] Authentication failed\r\n"
		 "+ Ready for literal data\r\nb OK [CAPABILITY %s] Logged in\r\n",
		 GREET(caps_na_tls), caps_au);
	struct opts o = { .tls = true };
	transcript_opts(&o, "a LOGIN v@a.test {5}\r\na\"\r\nb\r\n"
			"b LOGIN {8}\r\nv@a.test secret\r\n", want, 1);
}

/* RFC 9051 6.3.12, 6.4.5, 6.4.6, 6.4.3, RFC 4315: a folder's life in one
 * transcript (CREATE, APPEND with a literal, FETCH, STORE, EXPUNGE,
 * DELETE), whole and trickled: the literal, the sliced FETCH and the
 * updates must come out the same. The folder is gone at the end, so the
 * second run starts where the first did. */
static void test_message_life(void **st)
{
	(void)st;
	const char *in =
		"a LOGIN v@a.test secret\r\nb CREATE Life\r\nc SELECT Life\r\n"
		"d APPEND Life (\\Flagged) \"01-Jan-2024 10:00:00 +0000\" {37}\r\n"
		"From: a@b.test\r\nSubject: hi\r\n\r\nbody\r\n\r\n"
		"e NOOP\r\nf FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE BODY[TEXT])\r\n"
		"g STORE 1 +FLAGS (\\Deleted)\r\nh UID EXPUNGE 1\r\ni CLOSE\r\n"
		"j DELETE Life\r\n";
	struct buf whole, trickled;
	run_both(in, &whole, &trickled);
	const char *must[] = {
		"b OK", "c OK [READ-WRITE]", "+ Ready for literal data\r\n",
		"* 1 EXISTS\r\n* 1 RECENT\r\nd OK [APPENDUID * 1]", "e OK NOOP completed\r\n",
		("* 1 FETCH (FLAGS (\\Seen \\Flagged \\Recent) INTERNALDATE \" 1-Jan-2024 10:00:00 +0000\" "
		 "RFC822.SIZE 37 BODY[TEXT] {6}\r\nbody\r\n)\r\nf OK"),
		"* 1 FETCH (FLAGS (\\Seen \\Flagged \\Deleted \\Recent))\r\ng OK",
		"* 1 EXPUNGE\r\nh OK", "i OK CLOSE completed\r\n", "j OK",
	};
	const char *p = whole.data;
	for (size_t i = 0; i < sizeof must / sizeof must[0]; i++) {
		const char *q = strstr(p, must[i]);
		if (q == NULL)
			fail_msg("missing, in order:\n%s\n--- in ---\n%s", must[i], whole.data);
		p = q + strlen(must[i]);
	}
	buf_free(&whole);
	buf_free(&trickled);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_login_logout),
		cmocka_unit_test(test_login_failed),
		cmocka_unit_test(test_starttls),
		cmocka_unit_test(test_authenticate),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_updates_and_idle),
		cmocka_unit_test(test_id_enable_namespace),
		cmocka_unit_test(test_hostile),
		cmocka_unit_test(test_literals),
		cmocka_unit_test(test_message_life),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
