/* auth/sasl: PLAIN (RFC 4616) and LOGIN as every protocol decodes them:
 * NUL rules, no proxy authorization, limits, UTF-8, cancel, and LOGIN's
 * two steps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "auth/sasl.h"
#include "lib/base64.h"

/* The base64 of n raw bytes, in a static buffer. */
static struct str b64(const char *p, size_t n)
{
	static struct buf b;
	buf_free(&b);
	buf_init(&b, 1 << 16);
	assert_int_equal(base64_encode(&b, p, n), 0);
	return buf_str(&b);
}

#define B64(lit) b64(lit, sizeof(lit) - 1)

static enum sasl_status plain_ir(struct sasl_server *s, struct str ir, const char **err)
{
	const char *ch;
	return sasl_server_start(s, SASL_MECH_PLAIN, &ir, &ch, err);
}

static void test_plain_ok(void **st)
{
	(void)st;
	struct sasl_server s;
	const char *err = NULL;
	/* RFC 4616 4's first example, and with the authzid equal to authcid. */
	assert_int_equal(plain_ir(&s, B64("\0tim\0tanstaaftanstaaf"), &err), SASL_DONE);
	assert_string_equal(s.user, "tim");
	assert_string_equal(s.password, "tanstaaftanstaaf");
	assert_int_equal(plain_ir(&s, B64("Tim\0tim\0pw"), &err), SASL_DONE);
	assert_string_equal(s.user, "tim");
	/* UTF-8 is fine anywhere. */
	assert_int_equal(plain_ir(&s, B64("\0j\xc3\xb6rg\0p\xc3\xa4ss"), &err), SASL_DONE);
	sasl_server_clear(&s);
	assert_int_equal(s.password[0], '\0');
}

static void test_plain_refused(void **st)
{
	(void)st;
	struct sasl_server s;
	const char *err = NULL;
	static const struct {
		const char *msg;
		size_t len;
	} bad[] = {
#define M(x) { x, sizeof(x) - 1 }
		M(""),                       /* "=" */
		M("tim\0tanstaaf"),          /* one NUL */
		M("\0tim\0pw\0"),            /* three NULs */
		M("\0\0pw"),                 /* empty authcid */
		M("\0tim\0"),                /* empty password */
		M("Ursel\0Kurt\0xipj3plmq"), /* RFC 4616 4: proxy, not supported */
		M("\0t\xffm\0pw"),           /* not UTF-8 */
		M("\0tim\0p\xc0\x80w"),      /* overlong NUL */
#undef M
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		err = NULL;
		assert_int_equal(plain_ir(&s, b64(bad[i].msg, bad[i].len), &err), SASL_FAILED);
		assert_non_null(err);
		assert_int_equal(s.password[0], '\0');
	}
	/* Not base64 at all, or padding in the middle. */
	assert_int_equal(plain_ir(&s, STR_LIT("AHRpbQB0YW5z!"), &err), SASL_FAILED);
	assert_int_equal(plain_ir(&s, STR_LIT("AA==AHRpbQ=="), &err), SASL_FAILED);
	/* "=" is the empty initial response: PLAIN cannot use it. */
	assert_int_equal(plain_ir(&s, STR_LIT("="), &err), SASL_FAILED);
}

static void test_limits(void **st)
{
	(void)st;
	struct sasl_server s;
	const char *err = NULL;
	char msg[2 * SASL_PASS_MAX];
	/* The largest user name and password pass; one octet more does not. */
	msg[0] = '\0';
	memset(msg + 1, 'u', SASL_USER_MAX);
	msg[1 + SASL_USER_MAX] = '\0';
	memset(msg + 2 + SASL_USER_MAX, 'p', SASL_PASS_MAX);
	assert_int_equal(plain_ir(&s, b64(msg, 2 + SASL_USER_MAX + SASL_PASS_MAX), &err),
			 SASL_DONE);
	assert_int_equal(strlen(s.user), SASL_USER_MAX);
	assert_int_equal(strlen(s.password), SASL_PASS_MAX);
	msg[2 + SASL_USER_MAX + SASL_PASS_MAX] = 'p';
	assert_int_equal(plain_ir(&s, b64(msg, 3 + SASL_USER_MAX + SASL_PASS_MAX), &err),
			 SASL_FAILED);
	assert_string_equal(err, "password too long");
	/* A huge response is refused before decoding. */
	static char big[16384];
	memset(big, 'A', sizeof big);
	assert_int_equal(plain_ir(&s, (struct str){ big, sizeof big }, &err), SASL_FAILED);
}

static void test_plain_continuation(void **st)
{
	(void)st;
	struct sasl_server s;
	const char *ch = NULL, *err = NULL;
	assert_int_equal(sasl_server_start(&s, SASL_MECH_PLAIN, NULL, &ch, &err), SASL_CONTINUE);
	assert_string_equal(ch, "");   /* an empty challenge: "+ " */
	assert_int_equal(sasl_server_step(&s, B64("\0a@b\0pw"), &ch, &err), SASL_DONE);
	assert_string_equal(s.user, "a@b");
	assert_int_equal(sasl_server_start(&s, SASL_MECH_PLAIN, NULL, &ch, &err), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(&s, STR_LIT("*"), &ch, &err), SASL_CANCELLED);
}

static void test_login(void **st)
{
	(void)st;
	struct sasl_server s;
	const char *ch = NULL, *err = NULL;
	assert_int_equal(sasl_server_start(&s, SASL_MECH_LOGIN, NULL, &ch, &err), SASL_CONTINUE);
	assert_string_equal(ch, "VXNlcm5hbWU6");   /* "Username:" */
	assert_int_equal(sasl_server_step(&s, B64("alice@a.test"), &ch, &err), SASL_CONTINUE);
	assert_string_equal(ch, "UGFzc3dvcmQ6");   /* "Password:" */
	assert_int_equal(sasl_server_step(&s, B64("secret"), &ch, &err), SASL_DONE);
	assert_string_equal(s.user, "alice@a.test");
	assert_string_equal(s.password, "secret");
	/* An initial response is the user name. */
	struct str ir = B64("bob");
	assert_int_equal(sasl_server_start(&s, SASL_MECH_LOGIN, &ir, &ch, &err), SASL_CONTINUE);
	assert_string_equal(s.user, "bob");
	assert_string_equal(ch, "UGFzc3dvcmQ6");
	assert_int_equal(sasl_server_step(&s, STR_LIT("*"), &ch, &err), SASL_CANCELLED);
	/* NUL, empty and bad base64 are refused at either step. */
	assert_int_equal(sasl_server_start(&s, SASL_MECH_LOGIN, NULL, &ch, &err), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(&s, B64("a\0b"), &ch, &err), SASL_FAILED);
	assert_int_equal(sasl_server_start(&s, SASL_MECH_LOGIN, NULL, &ch, &err), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(&s, B64("a"), &ch, &err), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(&s, STR_LIT(""), &ch, &err), SASL_FAILED);
	assert_int_equal(sasl_server_start(&s, SASL_MECH_LOGIN, NULL, &ch, &err), SASL_CONTINUE);
	assert_int_equal(sasl_server_step(&s, STR_LIT("YQ="), &ch, &err), SASL_FAILED);
}

static void test_mech_names(void **st)
{
	(void)st;
	enum sasl_mech m;
	assert_int_equal(sasl_mech_find(STR_LIT("plain"), &m), 0);
	assert_int_equal(m, SASL_MECH_PLAIN);
	assert_int_equal(sasl_mech_find(STR_LIT("LOGIN"), &m), 0);
	assert_int_equal(m, SASL_MECH_LOGIN);
	assert_int_equal(sasl_mech_find(STR_LIT("CRAM-MD5"), &m), -1);
	assert_int_equal(sasl_mech_find(STR_LIT("PLAINX"), &m), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_ok),
		cmocka_unit_test(test_plain_refused),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_plain_continuation),
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_mech_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
