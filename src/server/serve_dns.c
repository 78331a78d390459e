/* struct dns_io on libevent: one persistent event per socket the resolver
 * watches, one timer. */
#include <event2/event.h>
#include <stdlib.h>

#include "server/serve_dns.h"

struct dns_watch {
	int fd;
	struct event *ev;
	struct serve_dns *sd;
	struct dns_watch *next;
};

struct serve_dns {
	struct event_base *base;
	struct dns_resolver *r;
	struct event *timer;
	struct dns_watch *watches;
};

static void on_fd(evutil_socket_t fd, short what, void *arg)
{
	struct dns_watch *w = arg;
	/* May free w (the resolver closes the socket): w is not used after. */
	dns_process(w->sd->r, (int)fd, (what & EV_READ) != 0, (what & EV_WRITE) != 0);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct serve_dns *sd = arg;
	dns_timeout(sd->r);
}

static void io_watch(void *ctx, int fd, bool read, bool write)
{
	struct serve_dns *sd = ctx;
	struct dns_watch **p = &sd->watches;
	while (*p != NULL && (*p)->fd != fd)
		p = &(*p)->next;
	struct dns_watch *w = *p;
	if (w != NULL) {
		event_free(w->ev);
		w->ev = NULL;
	}
	if (!read && !write) {
		if (w != NULL) {
			*p = w->next;
			free(w);
		}
		return;
	}
	if (w == NULL) {
		w = calloc(1, sizeof *w);
		if (w == NULL)
			return;   /* the query times out instead */
		w->fd = fd;
		w->sd = sd;
		w->next = sd->watches;
		sd->watches = w;
	}
	short what = EV_PERSIST | (read ? EV_READ : 0) | (write ? EV_WRITE : 0);
	w->ev = event_new(sd->base, fd, what, on_fd, w);
	if (w->ev != NULL)
		event_add(w->ev, NULL);
}

static void io_timer(void *ctx, long ms)
{
	struct serve_dns *sd = ctx;
	if (ms < 0) {
		evtimer_del(sd->timer);
		return;
	}
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
	evtimer_add(sd->timer, &tv);
}

int serve_dns_new(struct event_base *base, const struct dns_options *opt,
		  struct serve_dns **sd_r, const char **error_r)
{
	*sd_r = NULL;
	struct serve_dns *sd = calloc(1, sizeof *sd);
	if (sd == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	sd->base = base;
	sd->timer = evtimer_new(base, on_timer, sd);
	struct dns_io io = { io_watch, io_timer, sd };
	if (sd->timer == NULL) {
		*error_r = "out of memory";
		free(sd);
		return -1;
	}
	if (dns_cares_new(opt, &io, &sd->r, error_r) < 0) {
		event_free(sd->timer);
		free(sd);
		return -1;
	}
	*sd_r = sd;
	return 0;
}

struct dns_resolver *serve_dns_resolver(struct serve_dns *sd)
{
	return sd->r;
}

void serve_dns_free(struct serve_dns **sdp)
{
	struct serve_dns *sd = *sdp;
	if (sd == NULL)
		return;
	*sdp = NULL;
	dns_resolver_free(&sd->r);
	while (sd->watches != NULL) {
		struct dns_watch *w = sd->watches;
		sd->watches = w->next;
		if (w->ev != NULL)
			event_free(w->ev);
		free(w);
	}
	event_free(sd->timer);
	free(sd);
}
