#ifndef PB_DELIVERY_FLUSH_WATCH_H
#define PB_DELIVERY_FLUSH_WATCH_H
/* The daemon's side of `postbox queue flush` (and release): the command
 * creates DATA/queue/flush (queue_request_flush); the daemon's inotify
 * watcher (net/watch.h) sees it on the loop, and the hook removes it,
 * adds to the index what is on disk and not in it (a message released
 * from hold, or injected by another process), makes everything due now
 * (queue_index_flush) and calls kick so that the delivery driver re-arms
 * its timer or starts work at once. No listener, no pid file, and it works
 * whatever user runs the command, as long as it may write DATA/queue/. */

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct queue_index;
struct watch;
struct flush_watch;

/* Watches DATA/queue/ (made when missing) with w; w may be NULL (no
 * inotify): the driver then calls flush_watch_check from its own safety
 * poll. Checks once at once, for a request made while the daemon was
 * down. NULL with *error_r on failure. */
struct flush_watch *flush_watch_new(struct event_base *base, struct watch *w,
				    const char *data_dir, struct queue_index *idx,
				    void (*kick)(void *arg), void *arg, const char **error_r);
void flush_watch_free(struct flush_watch **fw);
/* The hook: when a flush was requested, does it (see above) and returns
 * true. On the loop thread: it reads the envelopes of messages new to the
 * index, nothing else. */
bool flush_watch_check(struct flush_watch *fw, int64_t now);
/* How many flushes it has done (for tests and the log). */
unsigned long flush_watch_count(const struct flush_watch *fw);

#endif
