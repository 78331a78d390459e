/* server/serve_penalty: delays that double up to a cap, the address and
 * the (gently counted) user, forgiveness on success, expiry, and a table
 * that stays bounded under a flood of addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

#include "server/serve_penalty.h"

static void test_delays(void **st)
{
	(void)st;
	assert_int_equal(penalty_delay_ms(0, 2000, 15000), 0);
	assert_int_equal(penalty_delay_ms(1, 2000, 15000), 2000);
	assert_int_equal(penalty_delay_ms(2, 2000, 15000), 4000);
	assert_int_equal(penalty_delay_ms(3, 2000, 15000), 8000);
	assert_int_equal(penalty_delay_ms(4, 2000, 15000), 15000);
	assert_int_equal(penalty_delay_ms(4000000000u, 2000, 15000), 15000);
	assert_int_equal(penalty_delay_ms(3, 100, 300), 300);
}

static void test_address_and_user(void **st)
{
	(void)st;
	struct penalty_table *t = penalty_table_new(64);
	time_t now = 1000000;
	assert_non_null(t);
	assert_int_equal(penalty_level(t, "192.0.2.1", "a@x", now), 0);
	for (unsigned i = 1; i <= 5; i++) {
		penalty_failed(t, "192.0.2.1", "a@x", now);
		assert_int_equal(penalty_level(t, "192.0.2.1", "a@x", now), i);
	}
	/* Another address logging in as the same user: only the gentle
	 * part of the user's count. */
	assert_int_equal(penalty_level(t, "198.51.100.9", "a@x", now), PENALTY_USER_LEVEL_MAX);
	/* The same address as another user: the address's count. */
	assert_int_equal(penalty_level(t, "192.0.2.1", "b@x", now), 5);
	/* IPv6: the /64 counts, whatever the interface identifier. */
	penalty_failed(t, "2001:db8:1:2::1", "c@x", now);
	assert_int_equal(penalty_level(t, "2001:db8:1:2:ffff::9", "d@x", now), 1);
	assert_int_equal(penalty_level(t, "2001:db8:1:3::1", "d@x", now), 0);
	/* Forgotten after an hour without failures. */
	assert_int_equal(penalty_level(t, "192.0.2.1", "a@x", now + PENALTY_EXPIRE_SECONDS + 1), 0);
	/* A success forgives the address and the user. */
	penalty_succeeded(t, "192.0.2.1", "a@x", now);
	assert_int_equal(penalty_level(t, "192.0.2.1", "a@x", now), 0);
	assert_int_equal(penalty_level(t, "198.51.100.9", "a@x", now), 0);
	penalty_table_free(&t);
	assert_null(t);
}

static void test_bounded(void **st)
{
	(void)st;
	struct penalty_table *t = penalty_table_new(256);
	time_t now = 5000000;
	/* An old offender, then a flood of newer addresses: the table keeps
	 * its size; the newest entries are the ones kept. */
	penalty_failed(t, "203.0.113.1", "victim@x", now);
	char ip[32];
	for (unsigned i = 0; i < 100000; i++) {
		snprintf(ip, sizeof ip, "10.%u.%u.%u", i >> 16, (i >> 8) & 255, i & 255);
		penalty_failed(t, ip, "u@x", now + 1 + i / 1000);
	}
	assert_int_equal(penalty_level(t, ip, "nobody@x", now + 100), 1);
	penalty_table_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_delays),
		cmocka_unit_test(test_address_and_user),
		cmocka_unit_test(test_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
