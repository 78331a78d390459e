/* delivery/flush_watch: `postbox queue flush` (queue_admin_op, the
 * command's own code) reaches a running daemon through its inotify
 * watcher: the request file goes, every message in the index is due now,
 * a message that appeared on disk since the index was loaded is added,
 * and the driver is kicked; a request left while the daemon was down is
 * done at start. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <event2/event.h>

#include "delivery/flush_watch.h"
#include "lib/fs.h"
#include "net/watch.h"
#include "queue/queue_admin.h"
#include "queue/queue_sched.h"
#include "queue/queue_store.h"
#include "queue/spool.h"
#include "test_queue_common.h"

#define LATER 4000000000LL

static char data[64];
static int kicks;

static void kick(void *arg)
{
	(void)arg;
	kicks++;
}

static void enqueue(const char *id)
{
	queue_test_one(data, id, LATER);     /* due far in the future */
}

static bool flush_file_exists(void)
{
	char p[128];
	struct stat st;
	snprintf(p, sizeof p, "%s/queue/flush", data);
	return stat(p, &st) == 0;
}

static void test_flush_reaches_daemon(void **state)
{
	(void)state;
	const char *err = NULL;
	snprintf(data, sizeof data, "/tmp/test_flush_watch.XXXXXX");
	assert_non_null(mkdtemp(data));
	enqueue("M1");
	enqueue("M2");
	struct event_base *base = event_base_new();
	struct watch *w = watch_new(base, &err);
	assert_non_null(w);
	struct queue_index *idx = queue_index_new();
	assert_int_equal(queue_index_load(idx, data), 2);
	assert_int_equal(queue_index_next_due(idx), LATER);
	struct flush_watch *fw = flush_watch_new(base, w, data, idx, kick, NULL, &err);
	assert_non_null(fw);
	assert_int_equal(flush_watch_count(fw), 0);
	enqueue("M3");           /* as another process would */
	assert_int_equal(queue_admin_op(data, QUEUE_OP_FLUSH, NULL, 0, stderr, &err), 0);
	assert_true(flush_file_exists());
	/* The loop runs until the hook has run: the kernel's event comes
	 * when it comes, so no time limit but ctest's. */
	while (kicks == 0)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(flush_watch_count(fw), 1);
	assert_false(flush_file_exists());
	assert_int_equal(queue_index_count(idx), 3);
	assert_true(queue_index_contains(idx, "M3"));
	assert_true(queue_index_next_due(idx) < LATER);
	char id[QUEUE_ID_MAX + 1];
	int due = 0;
	while (queue_index_pop_due(idx, queue_index_next_due(idx), id))
		due++;
	assert_int_equal(due, 3);
	flush_watch_free(&fw);
	assert_null(fw);

	/* A request made while no daemon ran is done when it starts. */
	assert_int_equal(queue_admin_op(data, QUEUE_OP_FLUSH, NULL, 0, stderr, &err), 0);
	fw = flush_watch_new(base, NULL, data, idx, kick, NULL, &err);
	assert_non_null(fw);
	assert_int_equal(flush_watch_count(fw), 1);
	assert_int_equal(kicks, 2);
	assert_int_equal(queue_index_count(idx), 3);
	assert_false(flush_watch_check(fw, 0));   /* nothing asked */
	flush_watch_free(&fw);
	queue_index_free(&idx);
	watch_free(&w);
	event_base_free(base);
	assert_int_equal(fs_remove_tree_at(AT_FDCWD, data, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_flush_reaches_daemon),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
