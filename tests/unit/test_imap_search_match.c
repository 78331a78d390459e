/* SEARCH string matching (RFC 9051 6.4.4): a case-insensitive substring of
 * the decoded header value. Plain ASCII values take a fast path in
 * imap_search_eval.c; these transcripts pin down that it answers exactly
 * as the general path (RFC 2047 decoding, Unicode lower case, line ends
 * and tabs as spaces) for values on either side of that line. The store is
 * a real one in a scratch directory under /var/tmp. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "imap/imap_session.h"
#include "lib/config.h"
#include "test_store_common.h"

static struct config cfg;

/* UID n is messages[n - 1]. */
static const char *const messages[] = {
	"From: Zelda Quint <zelda.quint@example.org>\r\nSubject: Quarterly Report\r\n\r\nb\r\n",
	"From: a@b.test\r\nSubject: the QUARTERLY\r\n\tnumbers\r\nX-Tag: Alpha Beta\r\n"
	"X-Fold: ONE\r\n\tTwo\r\n\r\nb\r\n",
	"From: =?UTF-8?Q?Zelda_Gr=C3=BC=C3=9Fe?= <z@b.test>\r\n"
	"Subject: =?UTF-8?B?UXVhcnRlcmx5IEdyw7zDn2U=?=\r\n\r\nb\r\n",
	"From: a@b.test\r\nSubject: \xc3\x84RGER quarterLY\r\n\r\nb\r\n",
	"From: a@b.test\r\nSubject: tab\there =? not a word\r\nX-Tag: al\tpha\r\n\r\nb\r\n",
	"From: a@b.test\r\nSubject: \xff broken QUARTERLY \xc4\xb0stanbul\r\n\r\nb\r\n",
	"From: ZELDA@B.TEST\r\nSubject: nothing here\r\n\r\nb\r\n",
};

/* The store's user, alice@a.test, password "secret". */
static int verify(const char *user, const char *password)
{
	return strcmp(user, "alice@a.test") == 0 && strcmp(password, "secret") == 0;
}

static int setup_mailbox(void **st)
{
	const char *err = NULL;
	if (setup(st) < 0)
		return -1;
	config_defaults(&cfg);
	snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", data_dir);
	snprintf(cfg.domains[0], sizeof cfg.domains[0], "a.test");
	cfg.domain_count = 1;
	struct mail_store *ms = open_store();
	if (mail_store_ensure_defaults(ms, &err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof messages / sizeof messages[0]; i++)
		append_msg(ms, "INBOX", messages[i], 0);
	mail_store_free(&ms);
	return 0;
}

/* Runs the session over in, the way the transport would, and returns
 * what it wrote. */
static void run_session(const char *in, struct buf *t)
{
	struct imap_session_settings set = {
		.hostname = "mx.a.test", .cfg = &cfg, .tls_available = true,
		.max_append = 100000, .max_errors = 5,
	};
	struct imap_session *s = imap_session_new(&set, "t1", true);
	size_t used = 0, len = strlen(in);
	assert_non_null(s);
	for (int guard = 0; guard < 100000; guard++) {
		enum imap_next next = imap_session_next(s);
		if (next == IMAP_NEXT_RUN) {
			imap_session_run(s);
		} else if (next == IMAP_NEXT_AUTH) {
			const char *u, *p;
			imap_session_credentials(s, &u, &p);
			imap_session_auth_done(s, verify(u, p), false);
		} else if (next == IMAP_NEXT_CLOSE || used == len) {
			break;
		} else {
			used += imap_session_input(s, in + used, len - used);
		}
		struct buf *out = imap_session_output(s);
		assert_int_equal(buf_append(t, out->data, out->len), 0);
		buf_reset(out);
	}
	imap_session_free(&s);
}

/* One UID SEARCH: the key (possibly with a literal) and the UIDs wanted. */
struct search_case {
	const char *key;
	const char *want;   /* "* SEARCH..." line without CRLF */
};

static void check_cases(const struct search_case *cases, size_t n)
{
	struct buf in, t;
	buf_init(&in, 1 << 16);
	buf_init(&t, 1 << 20);
	buf_append_str(&in, "a LOGIN alice@a.test secret\r\nb SELECT INBOX\r\n");
	for (size_t i = 0; i < n; i++)
		buf_printf(&in, "s%zu UID SEARCH CHARSET UTF-8 %s\r\n", i, cases[i].key);
	run_session(in.data, &t);
	const char *p = t.data;
	for (size_t i = 0; i < n; i++) {
		char tag[32];
		snprintf(tag, sizeof tag, "\r\ns%zu OK", i);
		const char *end = strstr(p, tag);
		if (end == NULL)
			fail_msg("no OK for %s\n--- got ---\n%s", cases[i].key, t.data);
		const char *line = end;
		while (line > p && !(line[-1] == '\n' && line[0] == '*'))
			line--;
		if ((size_t)(end - line) != strlen(cases[i].want) ||
		    strncmp(line, cases[i].want, (size_t)(end - line)) != 0)
			fail_msg("%s: got \"%.*s\", want \"%s\"", cases[i].key, (int)(end - line),
				 line, cases[i].want);
		p = end + 2;
	}
	buf_free(&in);
	buf_free(&t);
}

/* Case, folded lines, tabs and "=?" that opens no encoded word: the
 * ASCII values. */
static void test_ascii(void **st)
{
	(void)st;
	static const struct search_case cases[] = {
		{ "SUBJECT quarterly", "* SEARCH 1 2 3 4 6" },
		{ "SUBJECT QUARTERLY", "* SEARCH 1 2 3 4 6" },
		{ "HEADER Subject \"QuArTeRlY\"", "* SEARCH 1 2 3 4 6" },
		{ "FROM zelda", "* SEARCH 1 3 7" },
		{ "FROM \"ZELDA.QUINT@\"", "* SEARCH 1" },
		{ "SUBJECT \"tab here\"", "* SEARCH 5" },
		{ "SUBJECT \"quarterly numbers\"", "* SEARCH 2" },
		{ "SUBJECT \"quarterly   numbers\"", "* SEARCH" },
		{ "HEADER Subject \"quarterly numbers\"", "* SEARCH 2" },
		{ "HEADER X-Fold \"one two\"", "* SEARCH" },
		{ "HEADER X-Fold \"one   two\"", "* SEARCH 2" },
		{ "SUBJECT \"=? NOT\"", "* SEARCH 5" },
		{ "SUBJECT \"report \"", "* SEARCH" },
		{ "SUBJECT \"\"", "* SEARCH 1 2 3 4 5 6 7" },
		{ "HEADER X-Tag \"alpha beta\"", "* SEARCH 2" },
		{ "HEADER X-Tag \"al pha\"", "* SEARCH 5" },
		{ "HEADER X-Tag \"\"", "* SEARCH 2 5" },
		{ "NOT SUBJECT quarterly", "* SEARCH 5 7" },
	};
	check_cases(cases, sizeof cases / sizeof cases[0]);
}

/* Encoded words, raw UTF-8, broken UTF-8 and needles outside ASCII. */
static void test_non_ascii(void **st)
{
	(void)st;
	static const struct search_case cases[] = {
		{ "SUBJECT {7+}\r\nGR\xc3\x9c\xc3\x9f" "E", "* SEARCH 3" },
		{ "FROM {6+}\r\ngr\xc3\xbc\xc3\x9f", "* SEARCH 3" },
		{ "SUBJECT {6+}\r\n\xc3\xa4rger", "* SEARCH 4" },
		{ "SUBJECT {9+}\r\n\xc3\x84RGER qu", "* SEARCH 4" },
		{ "SUBJECT {2+}\r\n\xc3\xa4", "* SEARCH 4" },
		{ "SUBJECT {8+}\r\nistanbul", "* SEARCH 6" },
		{ "SUBJECT {8+}\r\n\xff broken", "* SEARCH 6" },
		{ "SUBJECT \"quarterly gr\"", "* SEARCH 3" },
	};
	check_cases(cases, sizeof cases / sizeof cases[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ascii),
		cmocka_unit_test(test_non_ascii),
	};
	return cmocka_run_group_tests(tests, setup_mailbox, teardown);
}
