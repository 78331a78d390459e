#ifndef PB_NET_WATCH_H
#define PB_NET_WATCH_H
/* Changes in directories, pushed by the kernel (Linux inotify) instead of
 * found by polling. One watcher per process (one inotify instance: the
 * kernel allows few per user), run by the event loop. A directory watched
 * for many subscribers has one kernel watch, reference-counted: the first
 * subscriber adds it, the last one to leave removes it.
 *
 * Every event is only a hint that something may have changed: callers
 * look for themselves (IDLE polls the folder), so a spurious event costs
 * one look and a lost one is covered by the caller's slow safety poll. */

#include <stddef.h>

struct event_base;
struct watch;
struct watch_dir;

/* What a subscriber wants to hear of in its directory. */
enum watch_what {
	WATCH_ENTRIES = 1 << 0,   /* entries created, removed, renamed in or out */
	WATCH_WRITES = 1 << 1,    /* files in it written */
};

enum watch_event {
	WATCH_EV_CHANGE,     /* what the subscriber asked for; name: the entry */
	WATCH_EV_OVERFLOW,   /* the kernel dropped events: anything may have changed */
	WATCH_EV_LOST,       /* the directory was removed or moved away: no more
			      * events for this subscription (it stays added
			      * until watch_remove) */
};

struct watch_sub;
/* On the loop thread. name is NULL unless the event is about an entry.
 * A callback must not add or remove subscriptions (they are being walked):
 * it notes what happened and arms a timer. */
typedef void watch_cb(struct watch_sub *sub, enum watch_event ev, const char *name);

/* A subscription, owned (usually embedded) by the subscriber and zeroed
 * before first use. The fields are the watcher's, except arg. */
struct watch_sub {
	struct watch_sub *next, *prev;
	struct watch_dir *dir;        /* NULL: not added */
	watch_cb *cb;
	void *arg;                    /* the subscriber's */
	unsigned what;                /* enum watch_what */
};

/* NULL with *error_r when the system has no inotify or no instance left
 * (fs.inotify.max_user_instances): callers then poll. */
struct watch *watch_new(struct event_base *base, const char **error_r);
/* Removes every kernel watch. Subscriptions still added are detached:
 * watch_remove on them afterwards does nothing. */
void watch_free(struct watch **w);

/* Subscribes to changes in the directory path (an absolute path, at most
 * PATH_MAX). 0, or -1 with *error_r (no such directory, the
 * fs.inotify.max_user_watches limit, out of memory): the subscriber must
 * then poll. Failures are also logged, at most once a minute. */
int watch_add(struct watch *w, struct watch_sub *sub, const char *path, unsigned what,
	      watch_cb *cb, void *arg, const char **error_r);
/* Unsubscribes; the kernel watch goes with its last subscriber. Does
 * nothing when sub is not added. */
void watch_remove(struct watch_sub *sub);
/* Kernel watches held (for tests). */
size_t watch_count(const struct watch *w);

#endif
