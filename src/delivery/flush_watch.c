/* `postbox queue flush` seen by the daemon (flush_watch.h). */
#include "delivery/flush_watch.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>

#include "lib/fs.h"
#include "lib/log.h"
#include "net/watch.h"
#include "queue/queue_sched.h"
#include "queue/queue_store.h"

struct flush_watch {
	struct watch_sub sub;
	struct event *later;           /* the work, outside the watch callback */
	struct queue_index *idx;
	void (*kick)(void *arg);
	void *arg;
	unsigned long count;
	char dir[QUEUE_PATH_MAX];      /* DATA/queue */
	char file[QUEUE_PATH_MAX];     /* DATA/queue/flush */
	char data_dir[QUEUE_PATH_MAX];
};

bool flush_watch_check(struct flush_watch *fw, int64_t now)
{
	/* Removed first: a request made while this one is handled makes a
	 * new file, and another flush. */
	if (unlink(fw->file) < 0)
		return false;
	long n = queue_index_flush(fw->idx, fw->data_dir, now);
	fw->count++;
	if (n < 0)
		log_err("queue flush: cannot read all of %s", fw->dir);
	else
		log_info("queue flush: %ld message%s due now", n, n == 1 ? "" : "s");
	if (fw->kick != NULL)
		fw->kick(fw->arg);
	return true;
}

static void run_later(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	flush_watch_check(arg, (int64_t)time(NULL));
}

/* A watch callback may not touch subscriptions or do slow work: it
 * only schedules the check. */
static void on_change(struct watch_sub *sub, enum watch_event ev, const char *name)
{
	struct flush_watch *fw = sub->arg;
	if (ev == WATCH_EV_OVERFLOW ||
	    (ev == WATCH_EV_CHANGE && name != NULL && strcmp(name, QUEUE_FLUSH_NAME) == 0))
		event_active(fw->later, EV_TIMEOUT, 0);
}

struct flush_watch *flush_watch_new(struct event_base *base, struct watch *w,
				    const char *data_dir, struct queue_index *idx,
				    void (*kick)(void *arg), void *arg, const char **error_r)
{
	struct flush_watch *fw = calloc(1, sizeof *fw);
	if (fw == NULL) {
		*error_r = "out of memory";
		return NULL;
	}
	fw->idx = idx;
	fw->kick = kick;
	fw->arg = arg;
	size_t n = strlen(data_dir);
	if (n + sizeof "/queue/" QUEUE_FLUSH_NAME > sizeof fw->file) {
		*error_r = "data directory path too long";
		free(fw);
		return NULL;
	}
	memcpy(fw->data_dir, data_dir, n + 1);
	memcpy(fw->dir, data_dir, n);
	memcpy(fw->dir + n, "/queue", sizeof "/queue");
	memcpy(fw->file, fw->dir, n + strlen("/queue"));
	memcpy(fw->file + n + strlen("/queue"), "/" QUEUE_FLUSH_NAME, sizeof "/" QUEUE_FLUSH_NAME);
	fw->later = event_new(base, -1, 0, run_later, fw);
	if (fw->later == NULL || fs_mkdir_p(fw->dir, 0700, error_r) < 0 ||
	    (w != NULL && watch_add(w, &fw->sub, fw->dir, WATCH_ENTRIES, on_change, fw,
				    error_r) < 0)) {
		if (fw->later == NULL)
			*error_r = "out of memory";
		flush_watch_free(&fw);
		return NULL;
	}
	flush_watch_check(fw, (int64_t)time(NULL));
	return fw;
}

void flush_watch_free(struct flush_watch **fw)
{
	if (*fw == NULL)
		return;
	watch_remove(&(*fw)->sub);
	if ((*fw)->later != NULL)
		event_free((*fw)->later);
	free(*fw);
	*fw = NULL;
}

unsigned long flush_watch_count(const struct flush_watch *fw)
{
	return fw->count;
}
