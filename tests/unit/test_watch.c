/* net/watch: subscribers hear of what they asked for in their directory,
 * share one kernel watch per directory (also under another name), are
 * told when the directory goes, and the watch goes with the last one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>
#include <event2/event.h>

#include "net/watch.h"

struct heard {
	int changes, lost, overflow;
	char last_name[256];
};

static void on_event(struct watch_sub *sub, enum watch_event ev, const char *name)
{
	struct heard *h = sub->arg;
	if (ev == WATCH_EV_CHANGE) {
		h->changes++;
		snprintf(h->last_name, sizeof h->last_name, "%s", name ? name : "");
	} else if (ev == WATCH_EV_LOST) {
		h->lost++;
	} else {
		h->overflow++;
	}
}

struct fixture {
	struct event_base *base;
	struct watch *w;
	char dir[64];
};

static int setup(void **st)
{
	struct fixture *f = calloc(1, sizeof *f);
	const char *err = NULL;
	f->base = event_base_new();
	f->w = watch_new(f->base, &err);
	if (f->w == NULL) {
		fprintf(stderr, "no inotify here: %s\n", err);
		return -1;
	}
	snprintf(f->dir, sizeof f->dir, "/tmp/pbwatch.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	*st = f;
	return 0;
}

static int teardown(void **st)
{
	struct fixture *f = *st;
	char cmd[128];
	watch_free(&f->w);
	event_base_free(f->base);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* Runs the loop until the kernel's events have been read. */
static void settle(struct fixture *f)
{
	struct timeval tv = { 0, 50000 };
	event_base_loopexit(f->base, &tv);
	event_base_dispatch(f->base);
}

static void path_in(const struct fixture *f, const char *name, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", f->dir, name);
}

static void touch(const char *path, const char *data)
{
	FILE *fp = fopen(path, "a");
	assert_non_null(fp);
	fputs(data, fp);
	fclose(fp);
}

static void test_entries_and_writes(void **st)
{
	struct fixture *f = *st;
	struct watch_sub a = { 0 }, b = { 0 };
	struct heard ha = { 0 }, hb = { 0 };
	const char *err = NULL;
	char p[128], q[128];
	assert_int_equal(watch_add(f->w, &a, f->dir, WATCH_ENTRIES, on_event, &ha, &err), 0);
	assert_int_equal(watch_add(f->w, &b, f->dir, WATCH_WRITES, on_event, &hb, &err), 0);
	assert_int_equal(watch_count(f->w), 1);   /* one kernel watch for both */

	path_in(f, "msg", p, sizeof p);
	touch(p, "");                               /* created: entries only */
	settle(f);
	assert_int_equal(ha.changes, 1);
	assert_string_equal(ha.last_name, "msg");
	assert_int_equal(hb.changes, 0);

	touch(p, "more");                           /* written: writes only */
	settle(f);
	assert_int_equal(ha.changes, 1);
	assert_true(hb.changes >= 1);
	assert_string_equal(hb.last_name, "msg");

	path_in(f, "msg:2,S", q, sizeof q);         /* a rename: out and in */
	assert_int_equal(rename(p, q), 0);
	settle(f);
	assert_int_equal(ha.changes, 3);
	assert_string_equal(ha.last_name, "msg:2,S");
	assert_int_equal(unlink(q), 0);
	settle(f);
	assert_int_equal(ha.changes, 4);

	watch_remove(&a);
	assert_int_equal(watch_count(f->w), 1);     /* b still holds it */
	watch_remove(&a);                           /* twice: nothing */
	watch_remove(&b);
	assert_int_equal(watch_count(f->w), 0);
	touch(p, "");
	settle(f);
	assert_int_equal(ha.changes, 4);
}

/* The same directory under another name shares the kernel watch; each
 * name stays usable after the other leaves. */
static void test_alias_shares(void **st)
{
	struct fixture *f = *st;
	struct watch_sub a = { 0 }, b = { 0 };
	struct heard ha = { 0 }, hb = { 0 };
	const char *err = NULL;
	char sub[128], link[128], p[160];
	path_in(f, "cur", sub, sizeof sub);
	path_in(f, "alias", link, sizeof link);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(symlink(sub, link), 0);
	assert_int_equal(watch_add(f->w, &a, sub, WATCH_ENTRIES, on_event, &ha, &err), 0);
	assert_int_equal(watch_add(f->w, &b, link, WATCH_ENTRIES, on_event, &hb, &err), 0);
	assert_int_equal(watch_count(f->w), 1);
	snprintf(p, sizeof p, "%s/x", sub);
	touch(p, "");
	settle(f);
	assert_int_equal(ha.changes, 1);
	assert_int_equal(hb.changes, 1);
	watch_remove(&a);
	assert_int_equal(watch_count(f->w), 1);
	watch_remove(&b);
	assert_int_equal(watch_count(f->w), 0);
}

/* A removed directory: its subscribers are told, the watch is gone, and
 * the subscriptions are still theirs to remove. */
static void test_lost(void **st)
{
	struct fixture *f = *st;
	struct watch_sub a = { 0 }, b = { 0 }, c = { 0 };
	struct heard ha = { 0 }, hb = { 0 };
	const char *err = NULL;
	char sub[128];
	path_in(f, "gone", sub, sizeof sub);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(watch_add(f->w, &a, sub, WATCH_ENTRIES, on_event, &ha, &err), 0);
	assert_int_equal(watch_add(f->w, &b, sub, WATCH_WRITES, on_event, &hb, &err), 0);
	assert_int_equal(rmdir(sub), 0);
	settle(f);
	assert_int_equal(ha.lost, 1);
	assert_int_equal(hb.lost, 1);
	assert_int_equal(watch_count(f->w), 0);
	watch_remove(&a);
	watch_remove(&b);
	/* No such directory now: an error the caller polls after. */
	assert_int_equal(watch_add(f->w, &c, sub, WATCH_ENTRIES, on_event, &ha, &err), -1);
	assert_non_null(strstr(err, "gone"));
	assert_null(c.dir);
	watch_remove(&c);
}

/* Many directories (the tables grow) and a watcher freed while some
 * are still subscribed. */
static void test_many_and_free(void **st)
{
	struct fixture *f = *st;
	enum { N = 300 };
	static struct watch_sub subs[N];
	struct heard h = { 0 };
	const char *err = NULL;
	char sub[128];
	for (int i = 0; i < N; i++) {
		char name[16];
		snprintf(name, sizeof name, "d%d", i);
		path_in(f, name, sub, sizeof sub);
		assert_int_equal(mkdir(sub, 0700), 0);
		subs[i] = (struct watch_sub){ 0 };
		assert_int_equal(watch_add(f->w, &subs[i], sub, WATCH_ENTRIES, on_event, &h,
					   &err), 0);
	}
	assert_int_equal(watch_count(f->w), N);
	path_in(f, "d123/new-file", sub, sizeof sub);
	touch(sub, "");
	settle(f);
	assert_int_equal(h.changes, 1);
	for (int i = 0; i < N; i += 2)
		watch_remove(&subs[i]);
	assert_int_equal(watch_count(f->w), N / 2);
	watch_free(&f->w);
	for (int i = 0; i < N; i++)
		watch_remove(&subs[i]);   /* detached: nothing to do */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_entries_and_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_alias_shares, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_and_free, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
