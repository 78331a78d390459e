/* The addresses a user may submit as (server/serve_sender.c), read from a
 * real user directory in a temporary data directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/userdb.h"
#include "server/serve_sender.h"

static char dir[256];
static struct userdb *db;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void alias(const char *a, const char *t1, const char *t2)
{
	const char *targets[2] = { t1, t2 };
	const char *err = NULL;
	if (userdb_alias_add(db, a, targets, t2 ? 2 : 1, &err) < 0)
		fail_msg("alias %s: %s", a, err);
}

static int setup(void **st)
{
	(void)st;
	const char *tmp = getenv("TMPDIR");
	const char *err = NULL;
	snprintf(dir, sizeof dir, "%s/test_serve_sender.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL || userdb_open(dir, &db, &err) < 0)
		return -1;
	alias("sales@a.test", "alice@a.test", NULL);
	alias("team@a.test", "alice@a.test", "bob@a.test");
	alias("boss@a.test", "sales@a.test", NULL);          /* through an alias */
	alias("lists@a.test", "alice+lists@a.test", NULL);   /* a +detail target */
	alias("@a.test", "alice@a.test", NULL);              /* catch-all */
	alias("fwd@a.test", "alice@elsewhere.test", NULL);
	alias("carol@a.test", "carol@b.test", NULL);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	userdb_close(&db);
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

static bool has(const struct sender_owned *o, const char *a)
{
	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->v[i], a) == 0)
			return true;
	return false;
}

/* Own address first; every alias that leads to the user, through other
 * aliases and +detail targets; never a catch-all or another's alias. */
static void test_owned(void **st)
{
	(void)st;
	struct sender_owned o;
	const char *err = NULL;
	assert_int_equal(sender_owned_lookup(db, "alice@a.test", 100, &o, &err), 0);
	assert_string_equal(o.v[0], "alice@a.test");
	assert_int_equal(o.n, 5);
	assert_true(has(&o, "sales@a.test"));
	assert_true(has(&o, "team@a.test"));
	assert_true(has(&o, "boss@a.test"));
	assert_true(has(&o, "lists@a.test"));
	assert_false(has(&o, "@a.test"));
	assert_false(has(&o, "fwd@a.test"));
	sender_owned_free(&o);
	/* A list alias belongs to each member. */
	assert_int_equal(sender_owned_lookup(db, "bob@a.test", 100, &o, &err), 0);
	assert_int_equal(o.n, 2);
	assert_true(has(&o, "team@a.test"));
	sender_owned_free(&o);
	assert_null(o.v);
}

/* More than max: the lookup stops at max + 1, for the caller to refuse. */
static void test_owned_max(void **st)
{
	(void)st;
	struct sender_owned o;
	const char *err = NULL;
	assert_int_equal(sender_owned_lookup(db, "alice@a.test", 2, &o, &err), 0);
	assert_int_equal(o.n, 3);
	sender_owned_free(&o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_owned),
		cmocka_unit_test(test_owned_max),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
