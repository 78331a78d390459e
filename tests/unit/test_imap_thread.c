/* RFC 5256 2.1 base subject extraction (SORT SUBJECT, THREAD) and the
 * sequence-set writer of ESEARCH ALL / COPYUID. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "imap/imap_search.h"
#include "imap/imap_thread.h"

static void assert_base(const char *raw, const char *want, bool want_reply)
{
	bool reply = !want_reply;
	char *got = imap_base_subject(raw, &reply);
	assert_non_null(got);
	if (strcmp(got, want) != 0 || reply != want_reply)
		fail_msg("%s: got \"%s\" reply %d, want \"%s\" reply %d", raw ? raw : "(null)",
			 got, reply, want, want_reply);
	free(got);
}

static void test_base_subject(void **state)
{
	(void)state;
	assert_base("Meeting", "MEETING", false);
	assert_base("Re: Meeting", "MEETING", true);
	assert_base("RE: [list] Re: Fwd: hello (fwd)", "HELLO", true);
	assert_base("[fwd: Re: x]", "X", true);
	assert_base("[list] topic", "TOPIC", false);
	assert_base("[only]", "[ONLY]", false);
	assert_base("  Re:   spaced \t  out  ", "SPACED OUT", true);
	assert_base("=?utf-8?q?Re=3A_caf=C3=A9?=", "CAF\xc3\xa9", true);
	assert_base("Fw: x", "X", true);
	assert_base("fwd:x", "X", true);
	assert_base("re [blob]: x", "X", true);
	assert_base("Reply to this", "REPLY TO THIS", false);
	assert_base("Re:", "", true);
	assert_base("", "", false);
	assert_base(NULL, "", false);
	assert_base("x (fwd) (fwd)", "X", true);
	assert_base("[a][b] Re: [c] y", "Y", true);
}

static void assert_set(const uint32_t *v, size_t n, const char *want)
{
	struct buf b;
	buf_init(&b, 1024);
	imap_write_number_set(&b, v, n);
	assert_string_equal(b.data != NULL ? b.data : "", want);
	buf_free(&b);
}

static void test_number_set(void **state)
{
	(void)state;
	assert_set(NULL, 0, "");
	assert_set((uint32_t[]){ 5 }, 1, "5");
	assert_set((uint32_t[]){ 1, 2, 3, 5, 7, 8 }, 6, "1:3,5,7:8");
	assert_set((uint32_t[]){ 9, 3, 4, 1 }, 4, "9,3:4,1");   /* order kept */
	assert_set((uint32_t[]){ 4294967294u, 4294967295u }, 2, "4294967294:4294967295");
}

static void test_seqset_ranges(void **state)
{
	(void)state;
	struct imap_seqset *set;
	struct mail_range *r;
	size_t n;
	const char *err;
	assert_int_equal(imap_seqset_parse(str_from("7:5,*,1,2,10:*"), false, &set, &err), 0);
	assert_int_equal(imap_seqset_ranges(set, 8, &r, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(r[0].lo, 1);
	assert_int_equal(r[0].hi, 2);
	assert_int_equal(r[1].lo, 5);
	assert_int_equal(r[1].hi, 10);   /* "10:*" with * = 8 is 8:10 */
	free(r);
	/* empty folder: "*" alone names nothing; "10:*" is 1:10, all absent */
	assert_int_equal(imap_seqset_ranges(set, 0, &r, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].lo, 1);
	assert_int_equal(r[0].hi, 10);
	free(r);
	imap_seqset_free(&set);
	assert_int_equal(imap_seqset_parse(str_from("1:4294967295,4294967295"), false, &set, &err), 0);
	assert_int_equal(imap_seqset_ranges(set, 3, &r, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].hi, 4294967295u);
	free(r);
	imap_seqset_free(&set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base_subject),
		cmocka_unit_test(test_number_set),
		cmocka_unit_test(test_seqset_ranges),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
