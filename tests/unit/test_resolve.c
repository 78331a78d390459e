/* Local recipient resolution: users, +detail, aliases (nested, looping,
 * self-referencing), catch-alls, remote targets and the limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "auth/userdb.h"
#include "delivery/resolve.h"
#include "lib/config.h"

struct fixture {
	char dir[512];
	struct userdb *db;
	struct config cfg;
	struct resolve_result res;
};

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void add_user(struct fixture *f, const char *address)
{
	const char *err = NULL;
	if (userdb_user_add(f->db, address, "pw", &err) < 0)
		fail_msg("user %s: %s", address, err);
}

/* alias(f, "a@x", "t1", "t2", NULL) */
static void alias(struct fixture *f, const char *name, ...)
{
	const char *targets[8];
	size_t n = 0;
	va_list ap;
	va_start(ap, name);
	for (const char *t; (t = va_arg(ap, const char *)) != NULL && n < 8;)
		targets[n++] = t;
	va_end(ap);
	const char *err = NULL;
	if (userdb_alias_add(f->db, name, targets, n, &err) < 0)
		fail_msg("alias %s: %s", name, err);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/test_resolve.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	const char *err = NULL;
	if (userdb_open(f->dir, &f->db, &err) < 0)
		return -1;
	memcpy(f->cfg.domains[0], "a.test", 7);
	memcpy(f->cfg.domains[1], "b.test", 7);
	f->cfg.domain_count = 2;
	add_user(f, "alice@a.test");
	add_user(f, "bob@a.test");
	add_user(f, "carol@b.test");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	userdb_close(&f->db);
	nftw(f->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* Resolves local@domain and renders the result as "addr[+detail][!remote] ..."
 * in order, or "UNKNOWN" / "ERROR". */
static const char *resolve(struct fixture *f, const char *local, const char *domain)
{
	static char out[4096];
	const char *err = NULL;
	int r = resolve_local(f->db, &f->cfg, local, domain, &f->res, &err);
	if (r <= 0) {
		assert_int_equal(f->res.count, 0);
		if (r < 0)
			assert_non_null(err);
		return r == 0 ? "UNKNOWN" : "ERROR";
	}
	out[0] = '\0';
	for (size_t i = 0; i < f->res.count; i++) {
		const struct resolved_rcpt *rc = &f->res.rcpt[i];
		size_t n = strlen(out);
		snprintf(out + n, sizeof out - n, "%s%s%s%s%s", i ? " " : "", rc->address,
			 rc->detail[0] ? "+" : "", rc->detail, rc->remote ? "!remote" : "");
		/* The parts always agree with the address. */
		char joined[400];
		snprintf(joined, sizeof joined, "%s@%s", rc->local, rc->domain);
		assert_string_equal(joined, rc->address);
	}
	return out;
}

static void test_users(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(resolve(f, "alice", "a.test"), "alice@a.test");
	assert_string_equal(resolve(f, "ALICE", "a.test"), "alice@a.test");
	assert_string_equal(resolve(f, "Carol", "b.test"), "carol@b.test");
	assert_string_equal(resolve(f, "carol", "a.test"), "UNKNOWN");
	assert_string_equal(resolve(f, "nobody", "a.test"), "UNKNOWN");
	assert_string_equal(resolve(f, "", "a.test"), "UNKNOWN");
	/* Quoted local parts with odd octets simply match nothing. */
	assert_string_equal(resolve(f, "alice@b.test", "a.test"), "UNKNOWN");
	assert_string_equal(resolve(f, "a b", "a.test"), "UNKNOWN");
}

static void test_foreign_domain_never_resolves(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	/* Even a user stored under a foreign domain (say the domain was
	 * dropped from the config) is not a local recipient. */
	assert_int_equal(userdb_user_add(f->db, "dave@c.test", "pw", &err), 0);
	assert_string_equal(resolve(f, "dave", "c.test"), "UNKNOWN");
	assert_string_equal(resolve(f, "alice", "evil.test"), "UNKNOWN");
}

static void test_detail(void **state)
{
	struct fixture *f = *state;
	assert_string_equal(resolve(f, "alice+lists", "a.test"), "alice@a.test+lists");
	assert_string_equal(resolve(f, "Alice+Lists", "a.test"), "alice@a.test+Lists");
	assert_string_equal(resolve(f, "alice+a+b", "a.test"), "alice@a.test+a+b");
	assert_string_equal(resolve(f, "alice+", "a.test"), "alice@a.test");
	assert_string_equal(resolve(f, "+alice", "a.test"), "UNKNOWN");
	assert_string_equal(resolve(f, "nobody+x", "a.test"), "UNKNOWN");
	/* A user whose name holds a '+' is matched exactly first. */
	add_user(f, "x+y@a.test");
	assert_string_equal(resolve(f, "x+y", "a.test"), "x+y@a.test");
	assert_string_equal(resolve(f, "x+z", "a.test"), "UNKNOWN");
	/* The detail applies to an alias of the base name too. */
	alias(f, "sales@a.test", "bob@a.test", NULL);
	assert_string_equal(resolve(f, "sales+q3", "a.test"), "bob@a.test+q3");
}

static void test_alias_basic_and_precedence(void **state)
{
	struct fixture *f = *state;
	alias(f, "postmaster@a.test", "alice@a.test", "bob@a.test", NULL);
	assert_string_equal(resolve(f, "Postmaster", "a.test"), "alice@a.test bob@a.test");
	/* An alias hides a user of the same name. */
	alias(f, "bob@a.test", "carol@b.test", NULL);
	assert_string_equal(resolve(f, "bob", "a.test"), "carol@b.test");
	/* An alias whose targets are all unknown is unknown itself. */
	alias(f, "ghost@a.test", "nobody@a.test", NULL);
	assert_string_equal(resolve(f, "ghost", "a.test"), "UNKNOWN");
}

static void test_alias_nested_and_duplicates(void **state)
{
	struct fixture *f = *state;
	alias(f, "staff@a.test", "alice@a.test", "bob@a.test", NULL);
	alias(f, "team@a.test", "staff@a.test", "Alice@A.test", "carol+team@b.test", NULL);
	/* Targets are taken in address order, depth first. */
	assert_string_equal(resolve(f, "team", "a.test"),
			    "alice@a.test carol@b.test+team bob@a.test");
	/* Diamond: two paths to the same alias deliver once. */
	alias(f, "d1@a.test", "left@a.test", "right@a.test", NULL);
	alias(f, "left@a.test", "leaf@a.test", NULL);
	alias(f, "right@a.test", "leaf@a.test", NULL);
	alias(f, "leaf@a.test", "bob@a.test", NULL);
	alias(f, "@a.test", "carol@b.test", NULL);
	assert_string_equal(resolve(f, "d1", "a.test"), "bob@a.test");
}

static void test_alias_loops(void **state)
{
	struct fixture *f = *state;
	alias(f, "l1@a.test", "l2@a.test", NULL);
	alias(f, "l2@a.test", "l1@a.test", NULL);
	assert_string_equal(resolve(f, "l1", "a.test"), "UNKNOWN");
	alias(f, "l2@a.test", "bob@a.test", NULL);
	assert_string_equal(resolve(f, "l1", "a.test"), "bob@a.test");
	/* "alice -> alice, bob" keeps a copy for alice. */
	alias(f, "alice@a.test", "alice@a.test", "bob@a.test", NULL);
	assert_string_equal(resolve(f, "alice", "a.test"), "alice@a.test bob@a.test");
	assert_string_equal(resolve(f, "alice+x", "a.test"), "alice@a.test+x bob@a.test+x");
}

static void test_catchall(void **state)
{
	struct fixture *f = *state;
	alias(f, "@a.test", "bob@a.test", NULL);
	assert_string_equal(resolve(f, "whoever", "a.test"), "bob@a.test");
	assert_string_equal(resolve(f, "alice", "a.test"), "alice@a.test");
	assert_string_equal(resolve(f, "alice+x", "a.test"), "alice@a.test+x");
	assert_string_equal(resolve(f, "who+x", "a.test"), "bob@a.test+x");
	assert_string_equal(resolve(f, "v%evil.test", "a.test"), "bob@a.test");
	assert_string_equal(resolve(f, "whoever", "b.test"), "UNKNOWN");
	/* A catch-all pointing into its own domain at nobody ends. */
	alias(f, "@b.test", "nobody@b.test", NULL);
	assert_string_equal(resolve(f, "whoever", "b.test"), "UNKNOWN");
}

static void test_remote_targets(void **state)
{
	struct fixture *f = *state;
	/* The CLI refuses these until the queue exists; the table may still
	 * hold them, and they come back marked remote. */
	alias(f, "fwd@a.test", "Someone+x@Remote.TEST", "alice@a.test", NULL);
	assert_string_equal(resolve(f, "fwd+y", "a.test"),
			    "alice@a.test+y someone+x@remote.test!remote");
}

static void test_depth_limit(void **state)
{
	struct fixture *f = *state;
	char name[64], target[64];
	/* c0 -> c1 -> ... -> cN -> bob: fine at RESOLVE_MAX_DEPTH links,
	 * an error one further. */
	for (int i = 0; i <= RESOLVE_MAX_DEPTH; i++) {
		snprintf(name, sizeof name, "c%d@a.test", i);
		snprintf(target, sizeof target, "c%d@a.test", i + 1);
		alias(f, name, i == RESOLVE_MAX_DEPTH ? "bob@a.test" : target, NULL);
	}
	assert_string_equal(resolve(f, "c1", "a.test"), "bob@a.test");
	assert_string_equal(resolve(f, "c0", "a.test"), "ERROR");
}

static void test_target_limit(void **state)
{
	struct fixture *f = *state;
	const char *err = NULL;
	char buf[64];
	for (int i = 0; i < RESOLVE_MAX_TARGETS; i++) {
		snprintf(buf, sizeof buf, "r%d@remote.test", i);
		const char *t[] = { buf };
		assert_int_equal(userdb_alias_add(f->db, "big@a.test", t, 1, &err), 0);
	}
	assert_int_equal(resolve_local(f->db, &f->cfg, "big", "a.test", &f->res, &err), 1);
	assert_int_equal(f->res.count, RESOLVE_MAX_TARGETS);
	alias(f, "bigger@a.test", "big@a.test", "alice@a.test", NULL);
	assert_string_equal(resolve(f, "bigger", "a.test"), "ERROR");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_domain_never_resolves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_detail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias_basic_and_precedence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias_nested_and_duplicates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias_loops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_catchall, setup, teardown),
		cmocka_unit_test_setup_teardown(test_remote_targets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_depth_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_target_limit, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
