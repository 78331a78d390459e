/* SMTP command parser: RFC 5321 4.1, RFC 6531, RFC 3030, RFC 1870, RFC 3461. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp/smtp_parse.h"

/* Each line is copied into a heap block of exactly its length, so ASan
 * reports any read past len. The copy lives until the next call, as the
 * parsed str fields point into it. */
static char *copy;
static const char *why;

static enum smtp_parse_result parse_n(const char *line, size_t len, struct smtp_cmd *cmd)
{
	free(copy);
	copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, line, len);
	why = NULL;
	enum smtp_parse_result r = smtp_parse_command(copy, len, cmd, &why);
	if (r != SMTP_PARSE_OK)
		assert_non_null(why);
	return r;
}

static enum smtp_parse_result parse(const char *line, struct smtp_cmd *cmd)
{
	return parse_n(line, strlen(line), cmd);
}

static enum smtp_parse_result p1(const char *line)
{
	struct smtp_cmd cmd;
	return parse(line, &cmd);
}

static void assert_str(struct str s, const char *want)
{
	assert_int_equal(s.len, strlen(want));
	assert_memory_equal(s.p, want, s.len);
}

static int teardown(void **state)
{
	(void)state;
	free(copy);
	copy = NULL;
	return 0;
}

/* RFC 5321 2.4: verbs are case-insensitive. */
static void test_verbs_case_insensitive(void **state)
{
	struct smtp_cmd cmd;
	static const struct { const char *line; enum smtp_verb v; } t[] = {
		{ "EHLO a.test", SMTP_VERB_EHLO }, { "ehlo a.test", SMTP_VERB_EHLO },
		{ "HeLo a.test", SMTP_VERB_HELO }, { "mail FROM:<>", SMTP_VERB_MAIL },
		{ "rCpT to:<a@b.test>", SMTP_VERB_RCPT }, { "data", SMTP_VERB_DATA },
		{ "bdat 1", SMTP_VERB_BDAT }, { "Rset", SMTP_VERB_RSET },
		{ "noop", SMTP_VERB_NOOP }, { "quit", SMTP_VERB_QUIT },
		{ "vrfy x", SMTP_VERB_VRFY }, { "expn x", SMTP_VERB_EXPN },
		{ "help", SMTP_VERB_HELP }, { "starttls", SMTP_VERB_STARTTLS },
		{ "auth PLAIN", SMTP_VERB_AUTH },
	};
	(void)state;
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
		assert_int_equal(parse(t[i].line, &cmd), SMTP_PARSE_OK);
		assert_int_equal(cmd.verb, t[i].v);
	}
	assert_int_equal(parse("mail FROM:<>", &cmd), SMTP_PARSE_OK);
	assert_str(cmd.verb_text, "mail");
	assert_string_equal(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	assert_string_equal(smtp_verb_name(SMTP_VERB_COUNT), "UNKNOWN");
}

/* RFC 5321 4.1.1: the verb is followed by SP or the end of the line. */
static void test_verb_needs_sp_or_eol(void **state)
{
	struct smtp_cmd cmd;
	(void)state;
	assert_int_equal(parse("MAILFROM:<>", &cmd), SMTP_PARSE_UNKNOWN_VERB);
	assert_str(cmd.verb_text, "MAILFROM:<>");
	assert_int_equal(p1("DATAX"), SMTP_PARSE_UNKNOWN_VERB);
	assert_int_equal(p1("MAIL:FROM:<>"), SMTP_PARSE_UNKNOWN_VERB);
	assert_int_equal(p1("EHL"), SMTP_PARSE_UNKNOWN_VERB);
	assert_int_equal(p1(""), SMTP_PARSE_UNKNOWN_VERB);
	assert_int_equal(p1(" DATA"), SMTP_PARSE_UNKNOWN_VERB);
	assert_int_equal(p1("DATA\t"), SMTP_PARSE_UNKNOWN_VERB);
	assert_int_equal(p1("XYZZY foo"), SMTP_PARSE_UNKNOWN_VERB);
}

/* RFC 5321 2.3.8 and 4.1.1: no control octets in a command line. */
static void test_control_octets_rejected(void **state)
{
	static const char ctl[] = { '\0', '\r', '\n', 0x01, 0x1b, 0x1f, 0x7f };
	static const char *lines[] = {
		"MAIL FROM:<a@b.test>", "RCPT TO:<a@b.test> NOTIFY=NEVER",
		"EHLO a.test", "NOOP hello", "XYZZY",
	};
	struct smtp_cmd cmd;
	char buf[64];
	(void)state;
	for (size_t l = 0; l < sizeof lines / sizeof lines[0]; l++) {
		size_t n = strlen(lines[l]);
		for (size_t c = 0; c < sizeof ctl; c++) {
			for (size_t at = 0; at <= n; at++) {
				memcpy(buf, lines[l], at);
				buf[at] = ctl[c];
				memcpy(buf + at + 1, lines[l] + at, n - at);
				assert_int_equal(parse_n(buf, n + 1, &cmd), SMTP_PARSE_BAD_CHAR);
			}
		}
	}
	/* HTAB: never inside MAIL/RCPT (be strict), fine in free text. */
	assert_int_equal(p1("MAIL FROM:<a\t@b.test>"), SMTP_PARSE_BAD_CHAR);
	assert_int_equal(p1("MAIL FROM:<a@b.test>\tSIZE=1"), SMTP_PARSE_BAD_CHAR);
	assert_int_equal(p1("RCPT TO:<\"a\tb\"@b.test>"), SMTP_PARSE_BAD_CHAR);
	assert_int_equal(p1("EHLO a.test\t"), SMTP_PARSE_BAD_CHAR);
	assert_int_equal(parse("NOOP a\tb", &cmd), SMTP_PARSE_OK);
	assert_str(cmd.arg, "a\tb");
}

/* The session reports the verb in its error replies (5.1.7 vs 5.1.3). */
static void test_verb_set_on_error(void **state)
{
	struct smtp_cmd cmd;
	(void)state;
	assert_int_equal(parse("MAIL FROM:<a@@b>", &cmd), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(cmd.verb, SMTP_VERB_MAIL);
	assert_int_equal(parse("RCPT TO:<>", &cmd), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(cmd.verb, SMTP_VERB_RCPT);
}

/* RFC 5321 4.1.1.2, 4.1.2 */
static void test_mail_basic(void **state)
{
	struct smtp_cmd cmd;
	(void)state;
	assert_int_equal(parse("MAIL FROM:<John.Doe@Example.TEST>", &cmd), SMTP_PARSE_OK);
	assert_string_equal(cmd.mailbox.local, "John.Doe");
	assert_string_equal(cmd.mailbox.domain, "example.test");
	assert_false(cmd.null_path);
	assert_false(cmd.mailbox.quoted || cmd.mailbox.literal || cmd.mailbox.utf8);
	assert_int_equal(cmd.param_count, 0);
	assert_str(cmd.arg, "FROM:<John.Doe@Example.TEST>");
	assert_int_equal(parse("MAIL from:<a!#$%&'*+-/=?^_`{|}~z@b.test>", &cmd), SMTP_PARSE_OK);
	assert_string_equal(cmd.mailbox.local, "a!#$%&'*+-/=?^_`{|}~z");
	/* "FROM:" is required, without a space before the colon. */
	assert_int_equal(p1("MAIL TO:<a@b.test>"), SMTP_PARSE_SYNTAX);
	assert_int_equal(p1("MAIL FROM :<a@b.test>"), SMTP_PARSE_SYNTAX);
	assert_int_equal(p1("MAIL"), SMTP_PARSE_SYNTAX);
	assert_int_equal(p1("MAIL FROM:"), SMTP_PARSE_SYNTAX);
	assert_int_equal(p1("RCPT FROM:<a@b.test>"), SMTP_PARSE_SYNTAX);
	assert_int_equal(p1("RCPT TO"), SMTP_PARSE_SYNTAX);
}

/* RFC 5321 4.1.1.2: "<>" is the null reverse-path, MAIL only. */
static void test_null_path(void **state)
{
	struct smtp_cmd cmd;
	(void)state;
	assert_int_equal(parse("MAIL FROM:<> SIZE=100", &cmd), SMTP_PARSE_OK);
	assert_true(cmd.null_path);
	assert_string_equal(cmd.mailbox.local, "");
	assert_string_equal(cmd.mailbox.domain, "");
	assert_int_equal(cmd.param_count, 1);
	assert_int_equal(p1("RCPT TO:<>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("MAIL FROM:<>>"), SMTP_PARSE_SYNTAX);
}

/* RFC 5321 4.1.1.3, 4.5.1: "<Postmaster>" without a domain, RCPT only. */
static void test_rcpt_postmaster(void **state)
{
	struct smtp_cmd cmd;
	(void)state;
	assert_int_equal(parse("RCPT TO:<Postmaster>", &cmd), SMTP_PARSE_OK);
	assert_true(cmd.postmaster);
	assert_string_equal(cmd.mailbox.local, "Postmaster");
	assert_string_equal(cmd.mailbox.domain, "");
	assert_int_equal(parse("RCPT TO:<pOsTmAsTeR>", &cmd), SMTP_PARSE_OK);
	assert_true(cmd.postmaster);
	assert_int_equal(parse("RCPT TO:<postmaster@a.test>", &cmd), SMTP_PARSE_OK);
	assert_false(cmd.postmaster);
	assert_string_equal(cmd.mailbox.domain, "a.test");
	assert_int_equal(p1("MAIL FROM:<Postmaster>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<postmasterx>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<\"postmaster\">"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<@a.test:postmaster>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<Postmaster"), SMTP_PARSE_BAD_ADDRESS);
}

/* RFC 5321 4.1.2 requires the brackets; Postfix tolerates one space
 * after the colon, and so do we, but nothing more. */
static void test_brackets_and_space(void **state)
{
	struct smtp_cmd cmd;
	(void)state;
	assert_int_equal(p1("MAIL FROM:a@b.test"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:a@b.test"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(parse("MAIL FROM: <a@b.test>", &cmd), SMTP_PARSE_OK);
	assert_string_equal(cmd.mailbox.local, "a");
	assert_int_equal(parse("RCPT TO: <a@b.test>", &cmd), SMTP_PARSE_OK);
	assert_int_equal(p1("MAIL FROM:  <a@b.test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("MAIL FROM: a@b.test"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("MAIL FROM:<a@b.test"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("MAIL FROM:<<a@b.test>>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("MAIL FROM:<a@b.test>>"), SMTP_PARSE_SYNTAX);
	assert_int_equal(p1("MAIL FROM:<"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("MAIL FROM:<a@b.test>x"), SMTP_PARSE_SYNTAX);
	assert_int_equal(p1("RCPT TO:<a b@c.test>"), SMTP_PARSE_BAD_ADDRESS);
	/* Address with a display name, as a confused client might send. */
	assert_int_equal(p1("MAIL FROM:Joe <a@b.test>"), SMTP_PARSE_BAD_ADDRESS);
}

/* RFC 5321 4.1.2 Dot-string */
static void test_dot_string(void **state)
{
	(void)state;
	assert_int_equal(p1("RCPT TO:<a.b.c@d.test>"), SMTP_PARSE_OK);
	assert_int_equal(p1("RCPT TO:<.a@d.test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<a.@d.test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<a..b@d.test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<@d.test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<a@>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<a>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<a@b@c.test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<a(b)@c.test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<a,b@c.test>"), SMTP_PARSE_BAD_ADDRESS);
}

/* RFC 5321 4.1.2 Quoted-string: stored unquoted, escapes resolved. */
static void test_quoted_local(void **state)
{
	struct smtp_cmd cmd;
	(void)state;
	assert_int_equal(parse("RCPT TO:<\"a b\"@c.test>", &cmd), SMTP_PARSE_OK);
	assert_string_equal(cmd.mailbox.local, "a b");
	assert_true(cmd.mailbox.quoted);
	assert_int_equal(parse("RCPT TO:<\"a\\\"b\\\\c\"@c.test>", &cmd), SMTP_PARSE_OK);
	assert_string_equal(cmd.mailbox.local, "a\"b\\c");
	/* An "@" or ">" inside quotes is part of the local part only. */
	assert_int_equal(parse("RCPT TO:<\"x@evil.test>\"@c.test>", &cmd), SMTP_PARSE_OK);
	assert_string_equal(cmd.mailbox.local, "x@evil.test>");
	assert_string_equal(cmd.mailbox.domain, "c.test");
	assert_int_equal(p1("RCPT TO:<\"\"@c.test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<\"abc@c.test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<\"abc\\\">"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<\"abc\\"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<\"a\"b@c.test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<a\"b\"@c.test>"), SMTP_PARSE_BAD_ADDRESS);
}

static void fill(char *p, char c, size_t n)
{
	memset(p, c, n);
	p[n] = '\0';
}

/* RFC 5321 4.5.3.1.1: a local part is at most 64 octets as written. */
static void test_local_part_limit(void **state)
{
	struct smtp_cmd cmd;
	char local[200], line[400];
	(void)state;
	fill(local, 'a', 64);
	snprintf(line, sizeof line, "RCPT TO:<%s@c.test>", local);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_OK);
	assert_int_equal(strlen(cmd.mailbox.local), 64);
	fill(local, 'a', 65);
	snprintf(line, sizeof line, "RCPT TO:<%s@c.test>", local);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_BAD_ADDRESS);
	fill(local, 'a', 62);
	snprintf(line, sizeof line, "RCPT TO:<\"%s\"@c.test>", local);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_OK);
	fill(local, 'a', 63);
	snprintf(line, sizeof line, "RCPT TO:<\"%s\"@c.test>", local);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_BAD_ADDRESS);
	fill(local, 'a', 190);
	snprintf(line, sizeof line, "RCPT TO:<\"%s\"@c.test>", local);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_BAD_ADDRESS);
}

/* Builds a domain of labels of the given length, total octets n. */
static void make_domain(char *p, size_t n, size_t label)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (i + 1) % (label + 1) == 0 ? '.' : 'x';
	p[n] = '\0';
}

/* RFC 5321 4.1.2 Domain, 4.5.3.1.2; RFC 1035 2.3.4 label length. */
static void test_domain_rules(void **state)
{
	struct smtp_cmd cmd;
	char dom[400], line[600];
	(void)state;
	assert_int_equal(parse("RCPT TO:<a@Sub-1.EXAMPLE.test>", &cmd), SMTP_PARSE_OK);
	assert_string_equal(cmd.mailbox.domain, "sub-1.example.test");
	assert_int_equal(p1("RCPT TO:<a@localhost>"), SMTP_PARSE_OK);
	assert_int_equal(p1("RCPT TO:<a@-a.test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<a@a-.test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<a@a..test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<a@.a.test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<a@a.test.>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<a@a_b.test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<a@a%b.test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<a@b!c.test>"), SMTP_PARSE_BAD_ADDRESS);
	make_domain(dom, 63, 63);
	snprintf(line, sizeof line, "RCPT TO:<a@%s>", dom);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_OK);
	make_domain(dom, 64, 64);
	snprintf(line, sizeof line, "RCPT TO:<a@%s>", dom);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_BAD_ADDRESS);
	/* A 255-octet domain is a valid domain (RFC 5321 4.5.3.1.2) ... */
	make_domain(dom, 255, 49);
	struct smtp_mailbox mb;
	const char *err;
	char bare[sizeof dom + 2];
	snprintf(bare, sizeof bare, "a@%s", dom);
	assert_int_equal(smtp_parse_mailbox(bare, strlen(bare), &mb, &err), 0);
	assert_int_equal(strlen(mb.domain), 255);
	/* ... but a path is at most 256 octets, "<", "@" and ">" included
	 * (RFC 5321 4.5.3.1.3). */
	snprintf(line, sizeof line, "RCPT TO:<a@%s>", dom);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_BAD_ADDRESS);
	make_domain(dom, 252, 49);
	snprintf(line, sizeof line, "RCPT TO:<a@%s>", dom);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_OK);
	assert_int_equal(strlen(cmd.mailbox.domain), 252);
	make_domain(dom, 253, 49);
	snprintf(line, sizeof line, "MAIL FROM:<a@%s>", dom);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_BAD_ADDRESS);
	/* The source route counts too. */
	make_domain(dom, 200, 49);
	snprintf(line, sizeof line, "MAIL FROM:<@%.60s:a@%s>", dom, dom);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_BAD_ADDRESS);
	make_domain(dom, 256, 49);
	snprintf(line, sizeof line, "RCPT TO:<a@%s>", dom);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_BAD_ADDRESS);
	make_domain(dom, 399, 9);
	snprintf(line, sizeof line, "RCPT TO:<a@%s>", dom);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_BAD_ADDRESS);
}

/* RFC 6531 3.3: UTF-8 in local part and domain, well-formed only
 * (RFC 3629 4: no overlongs, surrogates or code points past U+10FFFF). */
static void test_utf8_addresses(void **state)
{
	struct smtp_cmd cmd;
	(void)state;
	assert_int_equal(parse("RCPT TO:<J\xc3\xb6rg@B\xc3\xbc" "cher.test>", &cmd), SMTP_PARSE_OK);
	assert_true(cmd.mailbox.utf8);
	assert_string_equal(cmd.mailbox.local, "J\xc3\xb6rg");
	/* ASCII lower-cased, UTF-8 octets kept as they are */
	assert_string_equal(cmd.mailbox.domain, "b\xc3\xbc" "cher.test");
	assert_int_equal(parse("RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b.test>", &cmd),
			 SMTP_PARSE_OK);
	assert_true(cmd.mailbox.utf8);
	assert_int_equal(parse("RCPT TO:<\"\xf0\x9f\x93\xa7 x\"@a.test>", &cmd), SMTP_PARSE_OK);
	assert_true(cmd.mailbox.utf8 && cmd.mailbox.quoted);
	assert_int_equal(parse("RCPT TO:<a@b.test>", &cmd), SMTP_PARSE_OK);
	assert_false(cmd.mailbox.utf8);
	static const char *bad[] = {
		"RCPT TO:<\xc0\x80@a.test>",          /* overlong NUL */
		"RCPT TO:<\xc1\xbf@a.test>",          /* overlong */
		"RCPT TO:<\xe0\x80\xaf@a.test>",      /* overlong '/' */
		"RCPT TO:<\xed\xa0\x80@a.test>",      /* surrogate */
		"RCPT TO:<\xf4\x90\x80\x80@a.test>",  /* past U+10FFFF */
		"RCPT TO:<\xf5\x80\x80\x80@a.test>",
		"RCPT TO:<\xff@a.test>",
		"RCPT TO:<\x80@a.test>",              /* lone continuation */
		"RCPT TO:<\xc3@a.test>",              /* truncated */
		"RCPT TO:<a@\xe4\xbe.test>",
		"RCPT TO:<\"\xc3\" x@a.test>",
		"RCPT TO:<a@b.t\xc3",                 /* truncated at the end */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(p1(bad[i]), SMTP_PARSE_BAD_ADDRESS);
}

/* RFC 5321 4.1.3 address literals, checked with inet_pton(). */
static void test_address_literals(void **state)
{
	struct smtp_cmd cmd;
	(void)state;
	assert_int_equal(parse("RCPT TO:<a@[192.0.2.1]>", &cmd), SMTP_PARSE_OK);
	assert_true(cmd.mailbox.literal);
	assert_string_equal(cmd.mailbox.domain, "[192.0.2.1]");
	assert_int_equal(parse("RCPT TO:<a@[IPv6:2001:db8::1]>", &cmd), SMTP_PARSE_OK);
	assert_string_equal(cmd.mailbox.domain, "[IPv6:2001:db8::1]");
	assert_int_equal(p1("RCPT TO:<a@[ipv6:::ffff:192.0.2.1]>"), SMTP_PARSE_OK);
	assert_int_equal(parse("RCPT TO:<a@[x-tag:any+content]>", &cmd), SMTP_PARSE_OK);
	assert_true(cmd.mailbox.literal);
	static const char *bad[] = {
		"RCPT TO:<a@[192.0.2]>", "RCPT TO:<a@[192.0.2.256]>",
		"RCPT TO:<a@[192.0.2.1.5]>", "RCPT TO:<a@[01.2.3.4]>",
		"RCPT TO:<a@[IPv6:2001:db8::g]>", "RCPT TO:<a@[IPv6:192.0.2.1]>",
		"RCPT TO:<a@[2001:db8::1]>", "RCPT TO:<a@[]>", "RCPT TO:<a@[tag:]>",
		"RCPT TO:<a@[-:x]>", "RCPT TO:<a@[192.0.2.1>", "RCPT TO:<a@[192.0.2.1",
		"RCPT TO:<a@[a[b]>", "RCPT TO:<a@[a\\b:c]>", "RCPT TO:<a@[1.2.3.4]x>",
		"RCPT TO:<a@[x:a b]>",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(p1(bad[i]), SMTP_PARSE_BAD_ADDRESS);
}

/* RFC 5321 4.1.1.3 and appendix C: the source route is dropped. */
static void test_source_route(void **state)
{
	struct smtp_cmd cmd;
	(void)state;
	assert_int_equal(parse("RCPT TO:<@relay.test,@Other.test:User@Final.test>", &cmd),
			 SMTP_PARSE_OK);
	assert_true(cmd.mailbox.had_route);
	assert_string_equal(cmd.mailbox.local, "User");
	assert_string_equal(cmd.mailbox.domain, "final.test");
	assert_int_equal(parse("MAIL FROM:<@a.test:u@b.test>", &cmd), SMTP_PARSE_OK);
	assert_true(cmd.mailbox.had_route);
	assert_int_equal(parse("MAIL FROM:<u@b.test>", &cmd), SMTP_PARSE_OK);
	assert_false(cmd.mailbox.had_route);
	static const char *bad[] = {
		"RCPT TO:<@a.test>", "RCPT TO:<@a.test:>", "RCPT TO:<@:u@b.test>",
		"RCPT TO:<@a.test,u@b.test>", "RCPT TO:<@a.test,:u@b.test>",
		"RCPT TO:<@a.test;u@b.test>", "RCPT TO:<@[1.2.3.4]:u@b.test>",
		"RCPT TO:<@a.test:@b.test:u@c.test>",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(p1(bad[i]), SMTP_PARSE_BAD_ADDRESS);
}

/* RFC 5321 4.1.2 Mail-parameters; RFC 1870, 6152, 6531 use them. */
static void test_params(void **state)
{
	struct smtp_cmd cmd;
	(void)state;
	assert_int_equal(parse("MAIL FROM:<a@b.test> SIZE=1000   BODY=8BITMIME SMTPUTF8 X-y1=a+b", &cmd),
			 SMTP_PARSE_OK);
	assert_int_equal(cmd.param_count, 4);
	assert_str(cmd.params[0].key, "SIZE");
	assert_str(cmd.params[0].value, "1000");
	assert_true(cmd.params[0].has_value);
	assert_str(cmd.params[2].key, "SMTPUTF8");
	assert_false(cmd.params[2].has_value);
	assert_int_equal(cmd.params[2].value.len, 0);
	assert_str(cmd.params[3].value, "a+b");
	const struct smtp_param *p = smtp_cmd_param(&cmd, "body");
	assert_non_null(p);
	assert_str(p->value, "8BITMIME");
	assert_null(smtp_cmd_param(&cmd, "ENVID"));
	assert_int_equal(parse("RCPT TO:<a@b.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+40b", &cmd),
			 SMTP_PARSE_OK);
	assert_int_equal(cmd.param_count, 2);
	static const char *bad[] = {
		"MAIL FROM:<a@b.test> SIZE=", "MAIL FROM:<a@b.test> =1",
		"MAIL FROM:<a@b.test> -X=1", "MAIL FROM:<a@b.test> S_Z=1",
		"MAIL FROM:<a@b.test> SIZE=1=2", "MAIL FROM:<a@b.test> SIZE==1",
		"MAIL FROM:<a@b.test> X=\xc3\xa9", "MAIL FROM:<a@b.test>SIZE=1",
		"MAIL FROM:<a@b.test> SIZE:1",
		/* one value per keyword (RFC 5321 4.1.2), in any case */
		"MAIL FROM:<a@b.test> SIZE=1 SIZE=99999999",
		"MAIL FROM:<a@b.test> BODY=7BIT body=8BITMIME",
		"RCPT TO:<a@b.test> NOTIFY=NEVER NOTIFY=SUCCESS",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(p1(bad[i]), SMTP_PARSE_SYNTAX);
}

/* RFC 5321 4.1.2: a local part that is not a Dot-string is written as a
 * Quoted-string; the quotes go back on wherever the address is written. */
static void test_mailbox_format(void **state)
{
	static const struct { const char *line, *text; } cases[] = {
		{ "MAIL FROM:<a.b+c@x.test>", "a.b+c@x.test" },
		{ "MAIL FROM:<\"a.b\"@x.test>", "a.b@x.test" },
		{ "MAIL FROM:<\"ceo@bank.example>\"@x.test>", "\"ceo@bank.example>\"@x.test" },
		{ "MAIL FROM:<\"a b\"@x.test>", "\"a b\"@x.test" },
		{ "MAIL FROM:<\"a..b\"@x.test>", "\"a..b\"@x.test" },
		{ "MAIL FROM:<\".a\"@x.test>", "\".a\"@x.test" },
		{ "MAIL FROM:<\"a\\\"b\\\\c\"@x.test>", "\"a\\\"b\\\\c\"@x.test" },
		{ "RCPT TO:<Postmaster>", "Postmaster" },
	};
	struct smtp_cmd cmd;
	char out[SMTP_LOCAL_MAX + 2 + SMTP_DOMAIN_MAX + 1];
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(parse(cases[i].line, &cmd), SMTP_PARSE_OK);
		assert_int_equal(smtp_mailbox_format(&cmd.mailbox, out, sizeof out), 0);
		assert_string_equal(out, cases[i].text);
		/* What is written parses back to the same mailbox. */
		char line[400];
		snprintf(line, sizeof line, "MAIL FROM:<%s>", out);
		struct smtp_cmd again;
		if (cmd.mailbox.domain[0] != '\0') {
			assert_int_equal(parse(line, &again), SMTP_PARSE_OK);
			assert_string_equal(again.mailbox.local, cmd.mailbox.local);
		}
	}
	assert_int_equal(parse("MAIL FROM:<\"a b\"@x.test>", &cmd), SMTP_PARSE_OK);
	assert_int_equal(smtp_mailbox_format(&cmd.mailbox, out, 10), -1);
	assert_string_equal(out, "");
}

static void params_line(char *line, size_t size, const char *cmd, int n)
{
	size_t len = (size_t)snprintf(line, size, "%s", cmd);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(line + len, size - len, " P%d=v%d", i, i);
}

/* SMTP_PARAMS_MAX bounds the parameters (RFC 5321 4.5.3.1 spirit). */
static void test_too_many_params(void **state)
{
	struct smtp_cmd cmd;
	char line[600];
	(void)state;
	params_line(line, sizeof line, "MAIL FROM:<a@b.test>", SMTP_PARAMS_MAX);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.param_count, SMTP_PARAMS_MAX);
	params_line(line, sizeof line, "MAIL FROM:<a@b.test>", SMTP_PARAMS_MAX + 1);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_TOO_MANY_PARAMS);
	params_line(line, sizeof line, "RCPT TO:<a@b.test>", 17);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_TOO_MANY_PARAMS);
}

/* RFC 5321 4.1.1.1: EHLO/HELO take a domain or an address literal. */
static void test_helo(void **state)
{
	struct smtp_cmd cmd;
	(void)state;
	assert_int_equal(parse("EHLO Mail.Example.TEST", &cmd), SMTP_PARSE_OK);
	assert_str(cmd.helo, "Mail.Example.TEST");
	assert_int_equal(parse("HELO [192.0.2.1]", &cmd), SMTP_PARSE_OK);
	assert_str(cmd.helo, "[192.0.2.1]");
	assert_int_equal(parse("EHLO [IPv6:::1]", &cmd), SMTP_PARSE_OK);
	/* Windows host names; Postfix accepts them. */
	assert_int_equal(parse("EHLO MY_PC", &cmd), SMTP_PARSE_OK);
	assert_int_equal(parse("EHLO a.test ", &cmd), SMTP_PARSE_OK);
	assert_str(cmd.helo, "a.test");
	assert_int_equal(p1("EHLO"), SMTP_PARSE_SYNTAX);
	assert_int_equal(p1("HELO"), SMTP_PARSE_SYNTAX);
	assert_int_equal(p1("EHLO "), SMTP_PARSE_SYNTAX);
	assert_int_equal(p1("EHLO a.test b"), SMTP_PARSE_SYNTAX);
	assert_int_equal(p1("EHLO a..test"), SMTP_PARSE_SYNTAX);
	assert_int_equal(p1("EHLO [1.2.3]"), SMTP_PARSE_SYNTAX);
	assert_int_equal(p1("EHLO a/b"), SMTP_PARSE_SYNTAX);
	assert_int_equal(p1("EHLO <a.test>"), SMTP_PARSE_SYNTAX);
}

/* RFC 3030 2: BDAT chunk-size [LAST]. */
static void test_bdat(void **state)
{
	struct smtp_cmd cmd;
	(void)state;
	assert_int_equal(parse("BDAT 1000", &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.bdat_size, 1000);
	assert_false(cmd.bdat_last);
	assert_int_equal(parse("BDAT 0 LAST", &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.bdat_size, 0);
	assert_true(cmd.bdat_last);
	assert_int_equal(parse("bdat 42 last", &cmd), SMTP_PARSE_OK);
	assert_true(cmd.bdat_last);
	assert_int_equal(parse("BDAT 9223372036854775807", &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.bdat_size, INT64_MAX);
	static const char *bad[] = {
		"BDAT", "BDAT LAST", "BDAT -1", "BDAT +1", "BDAT 1.5", "BDAT 0x10",
		"BDAT 9223372036854775808", "BDAT 18446744073709551616",
		"BDAT 99999999999999999999999", "BDAT 1 LAST x", "BDAT 1 FIRST",
		"BDAT 1  LAST", "BDAT  1", "BDAT 1,LAST",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(p1(bad[i]), SMTP_PARSE_SYNTAX);
}

/* RFC 4954 4: AUTH mechanism [initial-response]. */
static void test_auth(void **state)
{
	struct smtp_cmd cmd;
	(void)state;
	assert_int_equal(parse("AUTH PLAIN AGFsaWNlAHNlY3JldA==", &cmd), SMTP_PARSE_OK);
	assert_str(cmd.auth_mech, "PLAIN");
	assert_str(cmd.auth_initial, "AGFsaWNlAHNlY3JldA==");
	assert_int_equal(parse("AUTH LOGIN", &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.auth_initial.len, 0);
	assert_int_equal(parse("AUTH PLAIN =", &cmd), SMTP_PARSE_OK);
	assert_str(cmd.auth_initial, "=");
	assert_int_equal(p1("AUTH SCRAM-SHA-256"), SMTP_PARSE_OK);
	static const char *bad[] = {
		"AUTH", "AUTH PLAIN abc", "AUTH PLAIN ab=c", "AUTH PLAIN a===",
		"AUTH PLAIN ====", "AUTH PL/AIN", "AUTH ABCDEFGHIJKLMNOPQRSTU",
		"AUTH PLAIN AAAA AAAA", "AUTH  PLAIN",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(p1(bad[i]), SMTP_PARSE_SYNTAX);
}

/* RFC 5321 4.1.1.4, 4.1.1.5, 4.1.1.10; RFC 3207 4: no arguments. */
static void test_no_argument_verbs(void **state)
{
	static const char *verbs[] = { "DATA", "RSET", "QUIT", "STARTTLS" };
	char line[64];
	(void)state;
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(p1(verbs[i]), SMTP_PARSE_OK);
		snprintf(line, sizeof line, "%s  ", verbs[i]);
		assert_int_equal(p1(line), SMTP_PARSE_OK);
		snprintf(line, sizeof line, "%s x", verbs[i]);
		assert_int_equal(p1(line), SMTP_PARSE_SYNTAX);
	}
}

/* RFC 5321 4.1.1.6-4.1.1.9: the argument is free text. */
static void test_free_text_verbs(void **state)
{
	struct smtp_cmd cmd;
	(void)state;
	assert_int_equal(parse("VRFY Smith <s@a.test>", &cmd), SMTP_PARSE_OK);
	assert_str(cmd.arg, "Smith <s@a.test>");
	assert_int_equal(parse("NOOP", &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.arg.len, 0);
	assert_int_equal(parse("HELP  MAIL", &cmd), SMTP_PARSE_OK);
	assert_str(cmd.arg, " MAIL");
	assert_int_equal(parse("EXPN list", &cmd), SMTP_PARSE_OK);
	assert_str(cmd.arg, "list");
	assert_int_equal(parse("VRFY ", &cmd), SMTP_PARSE_OK);
	assert_int_equal(cmd.arg.len, 0);
}

/* The parser is given len and must never look past it, even when what
 * follows in memory would change the result. */
static void test_never_reads_past_len(void **state)
{
	static const char *lines[] = {
		"MAIL FROM:<a@b.test> SIZE=10", "RCPT TO:<\"q\\\"x\"@[IPv6:::1]>",
		"RCPT TO:<Postmaster>", "EHLO [192.0.2.1]", "BDAT 10 LAST",
		"AUTH PLAIN AAAA", "RCPT TO:<@a.test,@b.test:c@d.test>",
		"MAIL FROM:<\xc3\xa9@\xe4\xbe\x8b.test>",
	};
	struct smtp_cmd cmd;
	(void)state;
	for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
		for (size_t n = 0; n <= strlen(lines[i]); n++)
			(void)parse_n(lines[i], n, &cmd);
	/* A prefix that is complete only with the octet after it. */
	assert_int_equal(parse_n("MAIL FROM:<a@b.test>", 19, &cmd), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(parse_n("RCPT TO:<postmaster>", 19, &cmd), SMTP_PARSE_BAD_ADDRESS);
}

/* Hostile lines: long, unbalanced, NUL in the path. */
static void test_hostile(void **state)
{
	struct smtp_cmd cmd;
	char line[1200];
	(void)state;
	memcpy(line, "MAIL FROM:<", 11);
	memset(line + 11, 'a', 1000);
	memcpy(line + 1011, "@b.test>", 9);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_BAD_ADDRESS);
	memcpy(line, "MAIL FROM:<a@", 13);
	memset(line + 13, 'b', 1000);
	memcpy(line + 1013, ">", 2);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_BAD_ADDRESS);
	memcpy(line, "MAIL FROM:<\"", 12);
	memset(line + 12, '\\', 1000);
	line[1012] = '\0';
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_BAD_ADDRESS);
	memcpy(line, "RCPT TO:<", 9);
	memset(line + 9, '<', 1000);
	line[1009] = '\0';
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_BAD_ADDRESS);
	memcpy(line, "RCPT TO:<a@[", 12);
	memset(line + 12, '1', 1000);
	memcpy(line + 1012, "]>", 3);
	assert_int_equal(parse(line, &cmd), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(parse_n("RCPT TO:<a\0b@c.test>", 20, &cmd), SMTP_PARSE_BAD_CHAR);
	assert_int_equal(parse_n("RCPT TO:<ab@c.test\0>", 20, &cmd), SMTP_PARSE_BAD_CHAR);
	assert_int_equal(parse_n("RCPT TO:<ab@c.test>\r\nRSET", 25, &cmd), SMTP_PARSE_BAD_CHAR);
	assert_int_equal(p1("RCPT TO:<\"unbalanced@c.test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<a@c.test"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:a@c.test>"), SMTP_PARSE_BAD_ADDRESS);
	assert_int_equal(p1("RCPT TO:<a@[c.test>"), SMTP_PARSE_BAD_ADDRESS);
	/* percent hack and bang path parse as plain local parts; routing
	 * decides on the domain only. */
	assert_int_equal(parse("RCPT TO:<v%other.test@local.test>", &cmd), SMTP_PARSE_OK);
	assert_string_equal(cmd.mailbox.domain, "local.test");
	assert_int_equal(parse("RCPT TO:<other.test!v@local.test>", &cmd), SMTP_PARSE_OK);
	assert_string_equal(cmd.mailbox.domain, "local.test");
}

static void test_parse_mailbox(void **state)
{
	struct smtp_mailbox mb;
	const char *err = NULL;
	(void)state;
	assert_int_equal(smtp_parse_mailbox("Demo@Example.TEST", 17, &mb, &err), 0);
	assert_string_equal(mb.local, "Demo");
	assert_string_equal(mb.domain, "example.test");
	assert_int_equal(smtp_parse_mailbox("\"a b\"@x.test", 12, &mb, &err), 0);
	assert_string_equal(mb.local, "a b");
	assert_int_equal(smtp_parse_mailbox("a@[127.0.0.1]", 13, &mb, &err), 0);
	assert_true(mb.literal);
	assert_int_equal(smtp_parse_mailbox("a@b.test", 7, &mb, &err), 0);
	assert_string_equal(mb.domain, "b.tes");
	assert_int_equal(smtp_parse_mailbox("<a@b.test>", 10, &mb, &err), -1);
	assert_int_equal(smtp_parse_mailbox("a@b.test x", 10, &mb, &err), -1);
	assert_int_equal(smtp_parse_mailbox("a", 1, &mb, &err), -1);
	assert_int_equal(smtp_parse_mailbox("", 0, &mb, &err), -1);
	assert_int_equal(smtp_parse_mailbox("a@b\n.test", 9, &mb, &err), -1);
	assert_int_equal(smtp_parse_mailbox("a\t@b.test", 9, &mb, &err), -1);
	assert_non_null(err);
}

/* RFC 3461 4: xtext, hexchar with upper-case digits only. */
static void test_xtext(void **state)
{
	(void)state;
	assert_true(smtp_xtext_valid(STR_LIT("")));
	assert_true(smtp_xtext_valid(STR_LIT("rfc822;a+40b.test")));
	assert_true(smtp_xtext_valid(STR_LIT("+2B+3D")));
	assert_false(smtp_xtext_valid(STR_LIT("a+4")));
	assert_false(smtp_xtext_valid(STR_LIT("a+")));
	assert_false(smtp_xtext_valid(STR_LIT("a+4a")));
	assert_false(smtp_xtext_valid(STR_LIT("a+G0")));
	assert_false(smtp_xtext_valid(STR_LIT("a=b")));
	assert_false(smtp_xtext_valid(STR_LIT("a b")));
	assert_false(smtp_xtext_valid(STR_LIT("a\x7f")));
	assert_false(smtp_xtext_valid(STR_LIT("\xc3\xa9")));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_verbs_case_insensitive, teardown),
		cmocka_unit_test_teardown(test_verb_needs_sp_or_eol, teardown),
		cmocka_unit_test_teardown(test_control_octets_rejected, teardown),
		cmocka_unit_test_teardown(test_verb_set_on_error, teardown),
		cmocka_unit_test_teardown(test_mail_basic, teardown),
		cmocka_unit_test_teardown(test_null_path, teardown),
		cmocka_unit_test_teardown(test_rcpt_postmaster, teardown),
		cmocka_unit_test_teardown(test_brackets_and_space, teardown),
		cmocka_unit_test_teardown(test_dot_string, teardown),
		cmocka_unit_test_teardown(test_quoted_local, teardown),
		cmocka_unit_test_teardown(test_local_part_limit, teardown),
		cmocka_unit_test_teardown(test_domain_rules, teardown),
		cmocka_unit_test_teardown(test_utf8_addresses, teardown),
		cmocka_unit_test_teardown(test_address_literals, teardown),
		cmocka_unit_test_teardown(test_source_route, teardown),
		cmocka_unit_test_teardown(test_params, teardown),
		cmocka_unit_test_teardown(test_mailbox_format, teardown),
		cmocka_unit_test_teardown(test_too_many_params, teardown),
		cmocka_unit_test_teardown(test_helo, teardown),
		cmocka_unit_test_teardown(test_bdat, teardown),
		cmocka_unit_test_teardown(test_auth, teardown),
		cmocka_unit_test_teardown(test_no_argument_verbs, teardown),
		cmocka_unit_test_teardown(test_free_text_verbs, teardown),
		cmocka_unit_test_teardown(test_never_reads_past_len, teardown),
		cmocka_unit_test_teardown(test_hostile, teardown),
		cmocka_unit_test_teardown(test_parse_mailbox, teardown),
		cmocka_unit_test_teardown(test_xtext, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
