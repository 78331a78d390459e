/* The user directory: schema, file mode, users, passwords, aliases. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/address.h"
#include "auth/password.h"
#include "auth/userdb.h"

struct fixture {
	char dir[512];
	char db_path[PATH_MAX];
	struct userdb *db;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	const char *tmp = getenv("TMPDIR");
	snprintf(f->dir, sizeof f->dir, "%s/test_userdb.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	/* data_dir itself does not exist yet: userdb_open creates it. */
	size_t n = strlen(f->dir);
	memcpy(f->dir + n, "/data", 6);
	snprintf(f->db_path, sizeof f->db_path, "%s/postbox.db", f->dir);
	const char *err = NULL;
	if (userdb_open(f->dir, &f->db, &err) < 0) {
		fprintf(stderr, "userdb_open: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	userdb_close(&f->db);
	assert_null(f->db);
	char *slash = strrchr(f->dir, '/');
	*slash = '\0';
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static char *query_text(const char *path, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char *out = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		out = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

static void test_open_creates_private_wal_db(void **state)
{
	struct fixture *f = *state;
	struct stat st;
	assert_int_equal(stat(f->db_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	char *mode = query_text(f->db_path, "PRAGMA journal_mode");
	assert_string_equal(mode, "wal");
	free(mode);
	char *version = query_text(f->db_path, "PRAGMA user_version");
	assert_string_equal(version, "1");
	free(version);
}

static void test_user_add_and_verify(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	assert_int_equal(userdb_user_add(f->db, "Alice@Example.TEST", "s3cret pw", &err), 0);
	assert_int_equal(userdb_user_exists(f->db, "alice", "example.test"), 1);
	assert_int_equal(userdb_user_exists(f->db, "ALICE", "EXAMPLE.test"), 1);
	assert_int_equal(userdb_user_exists(f->db, "bob", "example.test"), 0);
	assert_int_equal(userdb_verify_password(f->db, "alice@example.test", "s3cret pw"), 1);
	assert_int_equal(userdb_verify_password(f->db, "ALICE@example.TEST", "s3cret pw"), 1);
	assert_int_equal(userdb_verify_password(f->db, "alice@example.test", "s3cret pW"), 0);
	assert_int_equal(userdb_verify_password(f->db, "alice@example.test", ""), 0);
	assert_int_equal(userdb_verify_password(f->db, "bob@example.test", "s3cret pw"), 0);
	assert_int_equal(userdb_verify_password(f->db, "no-at-sign", "s3cret pw"), 0);
}

static void test_hash_is_yescrypt_not_password(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	assert_int_equal(userdb_user_add(f->db, "a@x.test", "PlainTextMarker", &err), 0);
	assert_int_equal(userdb_user_add(f->db, "b@x.test", "PlainTextMarker", &err), 0);
	char *ha = query_text(f->db_path, "SELECT hash FROM users WHERE address='a@x.test'");
	char *hb = query_text(f->db_path, "SELECT hash FROM users WHERE address='b@x.test'");
	assert_non_null(ha);
	assert_memory_equal(ha, "$y$", 3);
	assert_null(strstr(ha, "PlainTextMarker"));
	/* Salted: the same password gives different hashes. */
	assert_string_not_equal(ha, hb);
	free(ha);
	free(hb);
	char *local = query_text(f->db_path, "SELECT local || ' ' || domain FROM users "
				 "WHERE address='a@x.test'");
	assert_string_equal(local, "a x.test");
	free(local);
}

static void test_user_add_duplicate(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	assert_int_equal(userdb_user_add(f->db, "a@x.test", "pw1", &err), 0);
	assert_int_equal(userdb_user_add(f->db, "A@X.TEST", "pw2", &err), -1);
	assert_string_equal(err, "user already exists");
	assert_int_equal(userdb_verify_password(f->db, "a@x.test", "pw1"), 1);
}

static void test_user_bad_addresses(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"noat", "a@b@c.test", "../x@d.test", "a/b@d.test", "a%b@d.test",
		"a!b@d.test", ".a@d.test", "a.@d.test", "a..b@d.test", "a@[127.0.0.1]",
		"a@-x.test", "a@x-.test", "a@x..test", "a@x.test.", "@d.test", "a@",
		"a b@d.test", "a\r@d.test", "a@d\n.test", "\"q\"@d.test", "",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@d.test",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		const char *err = NULL;
		if (userdb_user_add(f->db, bad[i], "pw", &err) == 0)
			fail_msg("accepted bad address '%s'", bad[i]);
		assert_non_null(err);
	}
	const char *err = NULL;
	assert_int_equal(userdb_user_add(f->db, "x@d.test", "", &err), -1);
	assert_string_equal(err, "empty password");
	char big[PASSWORD_MAX + 2];
	memset(big, 'p', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_int_equal(userdb_user_add(f->db, "x@d.test", big, &err), -1);
	assert_int_equal(userdb_user_exists(f->db, "x", "d.test"), 0);
	/* 64 octets is the limit, not 63. */
	assert_int_equal(userdb_user_add(f->db, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
					 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@d.test", "pw", &err), 0);
	assert_int_equal(userdb_user_add(f->db, "first.last+tag_=x@sub.d-1.test", "pw", &err), 0);
}

static void test_user_passwd(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	assert_int_equal(userdb_user_add(f->db, "a@x.test", "old", &err), 0);
	assert_int_equal(userdb_user_passwd(f->db, "A@x.test", "new", &err), 0);
	assert_int_equal(userdb_verify_password(f->db, "a@x.test", "old"), 0);
	assert_int_equal(userdb_verify_password(f->db, "a@x.test", "new"), 1);
	assert_int_equal(userdb_user_passwd(f->db, "b@x.test", "new", &err), -1);
	assert_string_equal(err, "no such user");
}

static void test_user_del(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	assert_int_equal(userdb_user_add(f->db, "a@x.test", "pw", &err), 0);
	assert_int_equal(userdb_user_del(f->db, "A@X.test", &err), 0);
	assert_int_equal(userdb_user_exists(f->db, "a", "x.test"), 0);
	assert_int_equal(userdb_user_del(f->db, "a@x.test", &err), -1);
	assert_string_equal(err, "no such user");
}

struct list {
	char text[1024];
};

static void list_user(const char *address, void *ctx)
{
	struct list *l = ctx;
	size_t n = strlen(l->text);
	snprintf(l->text + n, sizeof l->text - n, "%s;", address);
}

static void list_alias(const char *alias, const char *target, void *ctx)
{
	struct list *l = ctx;
	size_t n = strlen(l->text);
	snprintf(l->text + n, sizeof l->text - n, "%s>%s;", alias, target);
}

static void list_target(const char *target, void *ctx)
{
	list_user(target, ctx);
}

static void test_user_list_sorted(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	struct list l = { "" };
	assert_int_equal(userdb_user_list(f->db, list_user, &l, &err), 0);
	assert_string_equal(l.text, "");
	assert_int_equal(userdb_user_add(f->db, "b@x.test", "pw", &err), 0);
	assert_int_equal(userdb_user_add(f->db, "a@y.test", "pw", &err), 0);
	assert_int_equal(userdb_user_add(f->db, "a@x.test", "pw", &err), 0);
	assert_int_equal(userdb_user_list(f->db, list_user, &l, &err), 0);
	assert_string_equal(l.text, "a@x.test;a@y.test;b@x.test;");
}

static void test_alias_add_list_del(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	const char *t1[] = { "Bob@X.test", "alice@x.test", "bob@x.test" };
	assert_int_equal(userdb_alias_add(f->db, "Team@x.test", t1, 3, &err), 0);
	/* Adding again appends; duplicates are ignored. */
	const char *t2[] = { "carol@y.test", "alice@x.test" };
	assert_int_equal(userdb_alias_add(f->db, "team@x.test", t2, 2, &err), 0);
	struct list l = { "" };
	assert_int_equal(userdb_alias_targets(f->db, "TEAM@x.test", list_target, &l), 3);
	assert_string_equal(l.text, "alice@x.test;bob@x.test;carol@y.test;");
	assert_int_equal(userdb_alias_targets(f->db, "nobody@x.test", list_target, &l), 0);

	const char *d1[] = { "bob@x.test" };
	assert_int_equal(userdb_alias_del(f->db, "team@x.test", d1, 1, &err), 0);
	/* All or nothing: one missing target removes none. */
	const char *d2[] = { "alice@x.test", "bob@x.test" };
	assert_int_equal(userdb_alias_del(f->db, "team@x.test", d2, 2, &err), -1);
	assert_string_equal(err, "the alias has no such target");
	struct list all = { "" };
	assert_int_equal(userdb_alias_list(f->db, list_alias, &all, &err), 0);
	assert_string_equal(all.text, "team@x.test>alice@x.test;team@x.test>carol@y.test;");

	assert_int_equal(userdb_alias_del(f->db, "team@x.test", NULL, 0, &err), 0);
	assert_int_equal(userdb_alias_del(f->db, "team@x.test", NULL, 0, &err), -1);
	assert_string_equal(err, "no such alias");
}

static void test_alias_catchall_and_validation(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	const char *t[] = { "alice@x.test" };
	assert_int_equal(userdb_alias_add(f->db, "@X.Test", t, 1, &err), 0);
	struct list l = { "" };
	assert_int_equal(userdb_alias_targets(f->db, "@x.test", list_target, &l), 1);
	/* A catch-all is never a valid target, nor is an empty list. */
	const char *bad[] = { "alice@x.test", "@x.test" };
	assert_int_equal(userdb_alias_add(f->db, "b@x.test", bad, 2, &err), -1);
	assert_int_equal(userdb_alias_targets(f->db, "b@x.test", list_target, &l), 0);
	assert_int_equal(userdb_alias_add(f->db, "b@x.test", t, 0, &err), -1);
	assert_int_equal(userdb_alias_add(f->db, "b%c@x.test", t, 1, &err), -1);
	assert_int_equal(userdb_alias_del(f->db, "nope", NULL, 0, &err), -1);
}

static void test_reopen_keeps_data(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	assert_int_equal(userdb_user_add(f->db, "a@x.test", "pw", &err), 0);
	userdb_close(&f->db);
	assert_int_equal(userdb_open(f->dir, &f->db, &err), 0);
	assert_int_equal(userdb_verify_password(f->db, "a@x.test", "pw"), 1);
	/* A second handle (another process or thread) sees the same data. */
	struct userdb *other = NULL;
	assert_int_equal(userdb_open(f->dir, &other, &err), 0);
	assert_int_equal(userdb_user_exists(other, "a", "x.test"), 1);
	userdb_close(&other);
	userdb_close(&other);  /* harmless on NULL */
}

static void test_newer_schema_refused(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	userdb_close(&f->db);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(f->db_path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(userdb_open(f->dir, &f->db, &err), -1);
	assert_null(f->db);
	assert_non_null(strstr(err, "newer"));
}

static void test_loose_mode_tightened(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	userdb_close(&f->db);
	assert_int_equal(chmod(f->db_path, 0644), 0);
	assert_int_equal(userdb_open(f->dir, &f->db, &err), 0);
	struct stat st;
	assert_int_equal(stat(f->db_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_password_functions(void **state)
{
	(void)state;
	char hash[PASSWORD_HASH_MAX];
	const char *err = NULL;
	assert_int_equal(password_hash("pw", hash, sizeof hash, &err), 0);
	assert_int_equal(password_verify("pw", hash), 1);
	assert_int_equal(password_verify("pw ", hash), 0);
	/* Weak or broken schemes are refused, not compared. */
	assert_int_equal(password_verify("pw", ""), -1);
	assert_int_equal(password_verify("pw", "abJnggxhB/yWI"), -1);
	assert_int_equal(password_verify("pw", "$1$salt$hash"), -1);
	assert_int_equal(password_verify_dummy("pw"), 0);
}

static void test_address_parse(void **state)
{
	(void)state;
	struct address a;
	const char *err = NULL;
	assert_int_equal(address_parse("Foo.Bar+X@Sub.Example.TEST", false, &a, &err), 0);
	assert_string_equal(a.address, "foo.bar+x@sub.example.test");
	assert_string_equal(a.local, "foo.bar+x");
	assert_string_equal(a.domain, "sub.example.test");
	assert_int_equal(address_parse("@Example.test", false, &a, &err), -1);
	assert_int_equal(address_parse("@Example.test", true, &a, &err), 0);
	assert_string_equal(a.address, "@example.test");
	assert_string_equal(a.local, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_creates_private_wal_db, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_add_and_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hash_is_yescrypt_not_password, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_add_duplicate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_bad_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_passwd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_list_sorted, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias_add_list_del, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias_catchall_and_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reopen_keeps_data, setup, teardown),
		cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loose_mode_tightened, setup, teardown),
		cmocka_unit_test(test_password_functions),
		cmocka_unit_test(test_address_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
