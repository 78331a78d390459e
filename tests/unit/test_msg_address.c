/* RFC 5322 3.4 address lists into IMAP ENVELOPE addresses; obs syntax and
 * broken input. Each list is rendered as "(name adl mailbox host)..." with
 * NIL for absent, so a case reads like the IMAP it becomes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "msg/address.h"

static void put(struct buf *b, struct str s)
{
	if (s.p == NULL)
		buf_append_str(b, "NIL");
	else
		buf_printf(b, "\"%.*s\"", STR_FMT(s));
}

static char *render(const char *value)
{
	struct msg_address_list *l = NULL;
	const char *error = NULL;
	assert_int_equal(msg_address_parse(str_from(value), &l, &error), 0);
	struct buf b;
	buf_init(&b, 1 << 20);
	buf_append_str(&b, "");
	for (size_t i = 0; i < l->count; i++) {
		const struct msg_address *a = &l->addrs[i];
		buf_append_char(&b, '(');
		put(&b, a->name);
		buf_append_char(&b, ' ');
		put(&b, a->route);
		buf_append_char(&b, ' ');
		put(&b, a->mailbox);
		buf_append_char(&b, ' ');
		put(&b, a->host);
		buf_append_str(&b, a->invalid ? ")!" : ")");
	}
	msg_address_list_free(&l);
	assert_null(l);
	return buf_steal(&b, NULL);
}

static void check(const char *value, const char *want)
{
	char *got = render(value);
	if (strcmp(got, want) != 0)
		fail_msg("input  %s\ngot    %s\nwanted %s", value, got, want);
	free(got);
}

static void test_simple(void **state)
{
	check("a@b.example", "(NIL NIL \"a\" \"b.example\")");
	check("Terry Gray <gray@cac.washington.edu>",
	      "(\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")");
	check(" minutes@CNRI.Reston.VA.US,\r\n John Klensin <KLENSIN@MIT.EDU>",
	      "(NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")"
	      "(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")");
	check("<a@b>", "(NIL NIL \"a\" \"b\")");
	check("", "");
	check(" , ,, ", "");
}

static void test_quoted_and_comments(void **state)
{
	check("\"Doe, John \\\"JD\\\"\" <jd@x.test>",
	      "(\"Doe, John \"JD\"\" NIL \"jd\" \"x.test\")");   /* render() does not escape */
	check("jd@x.test (John Doe)", "(\"John Doe\" NIL \"jd\" \"x.test\")");
	check("John (middle) Doe <jd (c) @ x . test>", "(\"John Doe\" NIL \"jd\" \"x.test\")");
	check("\"john doe\"@x.test", "(NIL NIL \"john doe\" \"x.test\")");
	check("=?utf-8?q?J=C3=B6rg?= <j@x.test>", "(\"=?utf-8?q?J=C3=B6rg?=\" NIL \"j\" \"x.test\")");
	check("a@[192.0.2.1]", "(NIL NIL \"a\" \"[192.0.2.1]\")");
	check("Mr. Smith <s@x.test>", "(\"Mr. Smith\" NIL \"s\" \"x.test\")");
}

static void test_groups(void **state)
{
	check("undisclosed-recipients:;",
	      "(NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)");
	check("A Group: a@b, C <c@d>; e@f",
	      "(NIL NIL \"A Group\" NIL)(NIL NIL \"a\" \"b\")(\"C\" NIL \"c\" \"d\")"
	      "(NIL NIL NIL NIL)(NIL NIL \"e\" \"f\")");
	/* No ';': the group still ends. */
	check("g: a@b", "(NIL NIL \"g\" NIL)(NIL NIL \"a\" \"b\")(NIL NIL NIL NIL)");
}

static void test_obs(void **state)
{
	check("Joe <@relay1.test,@relay2.test:joe@x.test>",
	      "(\"Joe\" \"@relay1.test,@relay2.test\" \"joe\" \"x.test\")");
	check("joe . q @ x . test", "(NIL NIL \"joe.q\" \"x.test\")");
	check("a@b,,c@d", "(NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")");
}

static void test_broken(void **state)
{
	check("joe", "(NIL NIL \"joe\" \"MISSING_DOMAIN\")!");
	check("@x.test", "(NIL NIL \"MISSING_MAILBOX\" \"x.test\")!");
	check("Joe <joe@x.test", "(\"Joe\" NIL \"joe\" \"x.test\")!");
	check("\"unbalanced <a@b>", "(NIL NIL \"unbalanced <a@b>\" \"MISSING_DOMAIN\")!");
	check("a@b (unclosed comment", "(\"unclosed comment\" NIL \"a\" \"b\")");
	check("a@b)) , c@d", "(NIL NIL \"a\" \"b\")!(NIL NIL \"c\" \"d\")");
	check("<<<>>>", "");
	check("a@[1.2.3.4", "(NIL NIL \"a\" \"[1.2.3.4\")");
	check("a@[1.2\r\n .3", "(NIL NIL \"a\" \"[1.2 .3\")");
	check("a@[1.2\n .3", "(NIL NIL \"a\" \"[1.2 .3\")");
	check("Joe <joe@x.test> trailing, b@c",
	      "(\"Joe\" NIL \"joe\" \"x.test\")!(NIL NIL \"b\" \"c\")");
	check(";;;:::", "(NIL NIL \"\" NIL)(NIL NIL NIL NIL)");
	check("\\", "");
}

static void test_nul_and_8bit(void **state)
{
	struct msg_address_list *l = NULL;
	const char *error;
	const char v[] = "J\xc3\xb6rg <j\0x@h\xc3\xa9.test>";
	assert_int_equal(msg_address_parse((struct str){ v, sizeof v - 1 }, &l, &error), 0);
	assert_int_equal(l->count, 1);
	assert_int_equal(l->addrs[0].name.len, 5);
	msg_address_list_free(&l);
}

static void test_names_terminated(void **state)
{
	struct msg_address_list *l = NULL;
	const char *error;
	assert_int_equal(msg_address_parse(STR_LIT("a@b ( Real Name  ), \"  x \" <c@d>"), &l, &error), 0);
	assert_int_equal(l->count, 2);
	assert_string_equal(l->addrs[0].name.p, "Real Name");
	assert_string_equal(l->addrs[1].name.p, "x");
	assert_string_equal(l->addrs[1].host.p, "d");
	msg_address_list_free(&l);
}

static void test_limits(void **state)
{
	size_t count = MSG_ADDRESS_MAX + 5000;
	struct buf b;
	buf_init(&b, 1 << 24);
	buf_append_str(&b, "g:");
	for (size_t i = 0; i < count; i++)
		buf_append_str(&b, "a@b,");
	struct msg_address_list *l = NULL;
	const char *error;
	assert_int_equal(msg_address_parse(buf_str(&b), &l, &error), 0);
	assert_int_equal(l->count, MSG_ADDRESS_MAX);
	/* The open group is closed even at the limit. */
	assert_int_equal(l->addrs[l->count - 1].kind, MSG_ADDR_GROUP_END);
	msg_address_list_free(&l);

	/* Deep comment nesting and a huge quoted string. */
	buf_reset(&b);
	for (size_t i = 0; i < 100000; i++)
		buf_append_char(&b, '(');
	buf_append_str(&b, "a@b");
	assert_int_equal(msg_address_parse(buf_str(&b), &l, &error), 0);
	assert_int_equal(l->count, 0);
	msg_address_list_free(&l);
	buf_free(&b);
}

static void test_write_addr_spec(void **state)
{
	struct msg_address a = { .kind = MSG_ADDR_MAILBOX, .mailbox = STR_LIT("john doe"),
				 .host = STR_LIT("x.test") };
	struct buf b;
	buf_init(&b, 100);
	assert_int_equal(msg_address_write_addr_spec(&b, &a), 0);
	assert_string_equal(b.data, "\"john doe\"@x.test");
	buf_reset(&b);
	a.mailbox = STR_LIT("j.d");
	assert_int_equal(msg_address_write_addr_spec(&b, &a), 0);
	assert_string_equal(b.data, "j.d@x.test");
	buf_reset(&b);
	a.mailbox = STR_LIT("a\"b..");
	assert_int_equal(msg_address_write_addr_spec(&b, &a), 0);
	assert_string_equal(b.data, "\"a\\\"b..\"@x.test");
	buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple),
		cmocka_unit_test(test_quoted_and_comments),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_obs),
		cmocka_unit_test(test_broken),
		cmocka_unit_test(test_nul_and_8bit),
		cmocka_unit_test(test_names_terminated),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_write_addr_spec),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
