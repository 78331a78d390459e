/* The change watcher (watch.h) on Linux inotify: one instance for the
 * process, its descriptor read by the event loop; one kernel watch per
 * directory, found by path when subscribing and by watch descriptor when
 * an event comes, each with its list of subscribers. */
#include "net/watch.h"

#include <errno.h>
#include <limits.h>
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>

#include "lib/log.h"

/* Every kernel watch asks for the same events, whoever subscribes: a
 * directory is added once and never needs its mask changed; each
 * subscriber is told only of what it asked for. */
#define ENTRY_EVENTS (IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)
#define SELF_EVENTS (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT | IN_IGNORED)
#define WATCH_MASK (ENTRY_EVENTS | IN_MODIFY | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
/* Reads per wake-up: a storm of events cannot hold the loop; the rest
 * is read on the next turn (the descriptor stays readable). */
#define READS_PER_WAKE 16
#define WARN_EVERY_SECONDS 60

struct watch_dir {
	struct watch *w;              /* NULL once lost (or the watcher freed) */
	struct watch_dir *path_next, *wd_next;
	struct watch_sub *subs;
	int wd;
	char path[];
};

struct watch {
	int fd;
	struct event *ev;
	/* Two chained hash tables over the same directories. */
	struct watch_dir **by_path, **by_wd;
	size_t buckets;               /* a power of two */
	size_t count;
	time_t last_warn;
	char err[PATH_MAX + 128];
	/* Room for many events; at least one with the longest name. */
	alignas(struct inotify_event) char buf[16384];
};

static size_t path_hash(const char *s)
{
	size_t h = 14695981039346656037u;   /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

static struct watch_dir **path_slot(struct watch *w, const char *path)
{
	return &w->by_path[path_hash(path) & (w->buckets - 1)];
}

static struct watch_dir **wd_slot(struct watch *w, int wd)
{
	return &w->by_wd[(size_t)(unsigned)wd & (w->buckets - 1)];
}

static struct watch_dir *find_path(struct watch *w, const char *path)
{
	struct watch_dir *d = *path_slot(w, path);
	while (d != NULL && strcmp(d->path, path) != 0)
		d = d->path_next;
	return d;
}

static struct watch_dir *find_wd(struct watch *w, int wd)
{
	struct watch_dir *d = *wd_slot(w, wd);
	while (d != NULL && d->wd != wd)
		d = d->wd_next;
	return d;
}

static void link_dir(struct watch *w, struct watch_dir *d)
{
	struct watch_dir **p = path_slot(w, d->path), **q = wd_slot(w, d->wd);
	d->path_next = *p;
	*p = d;
	d->wd_next = *q;
	*q = d;
}

static void unlink_dir(struct watch *w, struct watch_dir *d)
{
	struct watch_dir **p = path_slot(w, d->path);
	while (*p != d)
		p = &(*p)->path_next;
	*p = d->path_next;
	p = wd_slot(w, d->wd);
	while (*p != d)
		p = &(*p)->wd_next;
	*p = d->wd_next;
	w->count--;
}

/* Doubles the tables when they fill; out of memory, the chains just get
 * longer. */
static void maybe_grow(struct watch *w)
{
	if (w->count < w->buckets)
		return;
	size_t old = w->buckets, n = old * 2;
	struct watch_dir **bp = calloc(n, sizeof *bp), **bw = calloc(n, sizeof *bw);
	if (bp == NULL || bw == NULL) {
		free(bp);
		free(bw);
		return;
	}
	struct watch_dir **oldw = w->by_wd;
	free(w->by_path);
	w->by_path = bp;
	w->by_wd = bw;
	w->buckets = n;
	for (size_t i = 0; i < old; i++) {
		struct watch_dir *d = oldw[i], *next;
		for (; d != NULL; d = next) {
			next = d->wd_next;
			link_dir(w, d);
		}
	}
	free(oldw);
}

static void dispatch(struct watch_dir *d, enum watch_event ev, const char *name,
		     unsigned what)
{
	struct watch_sub *sub = d->subs, *next;
	for (; sub != NULL; sub = next) {
		next = sub->next;
		if (ev != WATCH_EV_CHANGE || (sub->what & what))
			sub->cb(sub, ev, name);
	}
}

/* The directory went away or moved (the watch would follow it to its new
 * name): the kernel watch goes, and the subscribers are told. */
static void lose(struct watch *w, struct watch_dir *d)
{
	unlink_dir(w, d);
	/* After IN_IGNORED the kernel already dropped it: EINVAL, harmless. */
	inotify_rm_watch(w->fd, d->wd);
	d->w = NULL;
	d->wd = -1;
	dispatch(d, WATCH_EV_LOST, NULL, 0);
}

static void overflow(struct watch *w)
{
	for (size_t i = 0; i < w->buckets; i++)
		for (struct watch_dir *d = w->by_wd[i]; d != NULL; d = d->wd_next)
			dispatch(d, WATCH_EV_OVERFLOW, NULL, 0);
}

static void handle(struct watch *w, const struct inotify_event *e)
{
	if (e->mask & IN_Q_OVERFLOW) {
		log_warn("watch: kernel event queue overflowed; looking everywhere");
		overflow(w);
		return;
	}
	/* Events of a watch we removed can still be queued: unknown wd. */
	struct watch_dir *d = find_wd(w, e->wd);
	if (d == NULL)
		return;
	if (e->mask & SELF_EVENTS) {
		lose(w, d);
		return;
	}
	unsigned what = ((e->mask & ENTRY_EVENTS) ? WATCH_ENTRIES : 0) |
			((e->mask & IN_MODIFY) ? WATCH_WRITES : 0);
	if (what != 0)
		dispatch(d, WATCH_EV_CHANGE, e->len > 0 ? e->name : NULL, what);
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct watch *w = arg;
	(void)fd;
	(void)what;
	for (int i = 0; i < READS_PER_WAKE; i++) {
		ssize_t n = read(w->fd, w->buf, sizeof w->buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0 && errno != EAGAIN)
				log_err("watch: read: %s", strerror(errno));
			return;
		}
		const char *p = w->buf, *end = w->buf + n;
		while (p + sizeof(struct inotify_event) <= end) {
			const struct inotify_event *e = (const struct inotify_event *)(const void *)p;
			handle(w, e);
			p += sizeof *e + e->len;
		}
	}
}

struct watch *watch_new(struct event_base *base, const char **error_r)
{
	static char err[160];
	struct watch *w = calloc(1, sizeof *w);
	if (w == NULL) {
		*error_r = "out of memory";
		return NULL;
	}
	w->buckets = 64;
	w->by_path = calloc(w->buckets, sizeof *w->by_path);
	w->by_wd = calloc(w->buckets, sizeof *w->by_wd);
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (w->fd < 0) {
		snprintf(err, sizeof err, "inotify: %s%s", strerror(errno),
			 errno == EMFILE ? " (fs.inotify.max_user_instances)" : "");
		*error_r = err;
	} else if (w->by_path == NULL || w->by_wd == NULL) {
		*error_r = "out of memory";
	} else {
		w->ev = event_new(base, w->fd, EV_READ | EV_PERSIST, on_readable, w);
		if (w->ev != NULL && event_add(w->ev, NULL) == 0)
			return w;
		*error_r = "cannot add inotify to the event loop";
	}
	watch_free(&w);
	return NULL;
}

void watch_free(struct watch **wp)
{
	struct watch *w = *wp;
	if (w == NULL)
		return;
	for (size_t i = 0; w->by_wd != NULL && i < w->buckets; i++) {
		struct watch_dir *d = w->by_wd[i], *next;
		for (; d != NULL; d = next) {
			next = d->wd_next;
			for (struct watch_sub *s = d->subs; s != NULL; s = s->next)
				s->dir = NULL;
			free(d);
		}
	}
	if (w->ev != NULL)
		event_free(w->ev);
	if (w->fd >= 0)
		close(w->fd);
	free(w->by_path);
	free(w->by_wd);
	free(w);
	*wp = NULL;
}

static int add_failed(struct watch *w, const char *path, int err, const char **error_r)
{
	snprintf(w->err, sizeof w->err, "cannot watch %s: %s%s", path, strerror(err),
		 err == ENOSPC ? " (fs.inotify.max_user_watches)" : "");
	*error_r = w->err;
	time_t now = time(NULL);
	if (now - w->last_warn >= WARN_EVERY_SECONDS) {
		w->last_warn = now;
		log_warn("watch: %s; polling instead", w->err);
	}
	return -1;
}

int watch_add(struct watch *w, struct watch_sub *sub, const char *path, unsigned what,
	      watch_cb *cb, void *arg, const char **error_r)
{
	size_t len = strlen(path);
	if (len >= PATH_MAX)
		return add_failed(w, "a path", ENAMETOOLONG, error_r);
	struct watch_dir *d = find_path(w, path);
	if (d == NULL) {
		int wd = inotify_add_watch(w->fd, path, WATCH_MASK);
		if (wd < 0)
			return add_failed(w, path, errno, error_r);
		/* The same directory under another name shares its watch. */
		d = find_wd(w, wd);
		if (d == NULL) {
			d = malloc(sizeof *d + len + 1);
			if (d == NULL) {
				inotify_rm_watch(w->fd, wd);
				return add_failed(w, path, ENOMEM, error_r);
			}
			*d = (struct watch_dir){ .w = w, .wd = wd };
			memcpy(d->path, path, len + 1);
			maybe_grow(w);
			link_dir(w, d);
			w->count++;
		}
	}
	*sub = (struct watch_sub){ .next = d->subs, .dir = d, .cb = cb, .arg = arg,
				   .what = what };
	if (d->subs != NULL)
		d->subs->prev = sub;
	d->subs = sub;
	return 0;
}

void watch_remove(struct watch_sub *sub)
{
	struct watch_dir *d = sub->dir;
	if (d == NULL)
		return;
	if (sub->prev != NULL)
		sub->prev->next = sub->next;
	else
		d->subs = sub->next;
	if (sub->next != NULL)
		sub->next->prev = sub->prev;
	sub->next = sub->prev = NULL;
	sub->dir = NULL;
	if (d->subs != NULL)
		return;
	if (d->w != NULL) {
		unlink_dir(d->w, d);
		inotify_rm_watch(d->w->fd, d->wd);
	}
	free(d);
}

size_t watch_count(const struct watch *w)
{
	return w->count;
}
