#include "net/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/listener.h>

#include "lib/log.h"

struct listener {
	struct evconnlistener *ev;
	const struct conn_service *svc;
	struct event_base *base;
};

/* The release callback of conn_accept has no context argument: one limits
 * table serves the whole process. */
static struct conn_limits *the_limits;

static void release_slot(const struct sockaddr *sa)
{
	conn_limits_release(the_limits, sa);
}

static void accept_cb(struct evconnlistener *ev, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct listener *l = arg;
	(void)ev;
	bool total_hit;
	if (!conn_limits_take(the_limits, sa, &total_hit)) {
		char peer[INET6_ADDRSTRLEN] = "?";
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr, peer, sizeof peer);
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr, peer, sizeof peer);
		log_warn("%s: refused [%s]: too many connections%s", l->svc->proto->name, peer,
			 total_hit ? "" : " from this address");
		/* Best effort, non-blocking: a full socket buffer just loses it. */
		if (!l->svc->implicit_tls && l->svc->busy_reply != NULL)
			(void)!send(fd, l->svc->busy_reply, strlen(l->svc->busy_reply),
				    MSG_DONTWAIT | MSG_NOSIGNAL);
		close(fd);
		return;
	}
	conn_accept(l->base, l->svc, fd, sa, salen, release_slot);
}

static int make_addr(const char *host, unsigned short port, struct sockaddr_storage *ss,
		     int *len_r)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		*len_r = sizeof *s4;
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		*len_r = sizeof *s6;
		return 0;
	}
	return -1;
}

struct listener *listener_open(struct event_base *base, const char *host,
			       unsigned short port, const struct conn_service *svc,
			       struct conn_limits *limits, const char **error_r)
{
	static char err[300];
	struct sockaddr_storage ss;
	int len;
	if (make_addr(host, port, &ss, &len) < 0) {
		snprintf(err, sizeof err, "listen address %s is not numeric", host);
		*error_r = err;
		return NULL;
	}
	struct listener *l = calloc(1, sizeof *l);
	if (l == NULL) {
		*error_r = "out of memory";
		return NULL;
	}
	the_limits = limits;
	l->svc = svc;
	l->base = base;
	l->ev = evconnlistener_new_bind(base, accept_cb, l,
					LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
						LEV_OPT_CLOSE_ON_EXEC,
					1024, (struct sockaddr *)&ss, len);
	if (l->ev == NULL) {
		snprintf(err, sizeof err, "cannot listen on %s:%u for %s: %s", host, port,
			 svc->proto->name, strerror(errno));
		*error_r = err;
		free(l);
		return NULL;
	}
	return l;
}

void listener_close(struct listener **l)
{
	if (*l == NULL)
		return;
	evconnlistener_free((*l)->ev);
	free(*l);
	*l = NULL;
}
