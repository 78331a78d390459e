#include "net/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "lib/log.h"

/* A connection over a limit waits a little before it is refused: the peer
 * may have just closed another one whose end the loop has not handled yet
 * (epoll reports a busy loop's sockets a few dozen at a time, and libevent
 * defers the callback that sees the end). PARKED_TURNS looks, each at
 * least PARKED_WAIT_MS after the last, each in a later turn of the loop. */
#define PARKED_MAX 64
#define PARKED_TURNS 10
#define PARKED_WAIT_MS 10

struct parked {
	int fd;
	struct sockaddr_storage sa;
	int salen;
	unsigned turns;
};

struct listener {
	struct evconnlistener *ev;
	const struct conn_service *svc;
	struct conn_limits *total;
	struct event_base *base;
	struct event *retry;
	struct parked parked[PARKED_MAX];
	size_t n_parked;
	bool local;                   /* a unix-domain socket */
};

/* Takes a slot in the total and in the service's caps, or none. */
static bool take_slots(struct listener *l, const struct sockaddr *sa, bool *total_hit_r)
{
	if (!conn_limits_take(l->total, sa, total_hit_r))
		return false;
	if (l->svc->limits == NULL || conn_limits_take(l->svc->limits, sa, total_hit_r))
		return true;
	conn_limits_release(l->total, sa);
	return false;
}

static void refuse(struct listener *l, int fd, const struct sockaddr *sa, bool total_hit)
{
	char peer[INET6_ADDRSTRLEN] = "?";
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, peer, sizeof peer);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, peer, sizeof peer);
	else if (sa->sa_family == AF_UNIX)
		snprintf(peer, sizeof peer, "local uid %u", conn_local_uid(sa));
	log_warn("%s: refused [%s]: too many connections%s", l->svc->proto->name, peer,
		 total_hit ? "" : " from this address");
	/* Best effort, non-blocking: a full socket buffer just loses it. */
	if (!l->svc->implicit_tls && l->svc->busy_reply != NULL)
		(void)!send(fd, l->svc->busy_reply, strlen(l->svc->busy_reply),
			    MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

static void arm_retry(struct listener *l)
{
	struct timeval wait = { 0, PARKED_WAIT_MS * 1000 };
	event_add(l->retry, &wait);
}

static void retry_cb(evutil_socket_t unused, short what, void *arg)
{
	struct listener *l = arg;
	(void)unused;
	(void)what;
	size_t n = l->n_parked, kept = 0;
	for (size_t i = 0; i < n; i++) {
		struct parked p = l->parked[i];
		const struct sockaddr *sa = (const struct sockaddr *)&p.sa;
		bool total_hit;
		if (take_slots(l, sa, &total_hit))
			conn_accept(l->base, l->svc, p.fd, sa, p.salen, l->total);
		else if (++p.turns < PARKED_TURNS)
			l->parked[kept++] = p;
		else
			refuse(l, p.fd, sa, total_hit);
	}
	l->n_parked = kept;
	if (kept > 0)
		arm_retry(l);
}

static void accept_cb(struct evconnlistener *ev, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct listener *l = arg;
	(void)ev;
	struct sockaddr_storage local;
	if (l->local) {
		struct ucred cred;
		socklen_t len = sizeof cred;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			close(fd);
			return;
		}
		salen = (int)conn_local_peer((unsigned)cred.uid, (unsigned)cred.pid, &local);
		sa = (struct sockaddr *)&local;
	}
	bool total_hit;
	if (take_slots(l, sa, &total_hit)) {
		conn_accept(l->base, l->svc, fd, sa, salen, l->total);
		return;
	}
	if (l->n_parked == PARKED_MAX || (size_t)salen > sizeof l->parked[0].sa) {
		refuse(l, fd, sa, total_hit);
		return;
	}
	struct parked *p = &l->parked[l->n_parked++];
	p->fd = fd;
	p->salen = salen;
	p->turns = 0;
	memcpy(&p->sa, sa, (size_t)salen);
	if (!evtimer_pending(l->retry, NULL))
		arm_retry(l);
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

/* A non-blocking listening socket. IPV6_V6ONLY: without it "::" also
 * takes the IPv4 port, and "0.0.0.0:25 [::]:25" fails with EADDRINUSE. */
static int bind_socket(const struct sockaddr_storage *ss, int len)
{
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    (ss->ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) < 0) ||
	    bind(fd, (const struct sockaddr *)ss, (socklen_t)len) < 0 || listen(fd, 1024) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static struct listener *listener_new(struct event_base *base, int fd, const char *name,
				     const struct conn_service *svc,
				     struct conn_limits *total, const char **error_r);

struct listener *listener_open(struct event_base *base, const char *host,
			       unsigned short port, const struct conn_service *svc,
			       struct conn_limits *total, const char **error_r)
{
	static char err[300];
	struct sockaddr_storage ss;
	int len;
	if (make_addr(host, port, &ss, &len) < 0) {
		snprintf(err, sizeof err, "listen address %s is not numeric", host);
		*error_r = err;
		return NULL;
	}
	bool v6 = ss.ss_family == AF_INET6;
	char name[INET6_ADDRSTRLEN + 16];
	snprintf(name, sizeof name, "%s%s%s:%u", v6 ? "[" : "", host, v6 ? "]" : "", port);
	return listener_new(base, bind_socket(&ss, len), name, svc, total, error_r);
}

/* A listener on the bound socket fd (-1: binding failed, errno says why). */
static struct listener *listener_new(struct event_base *base, int fd, const char *name,
				     const struct conn_service *svc,
				     struct conn_limits *total, const char **error_r)
{
	static char err[300];
	struct listener *l = calloc(1, sizeof *l);
	if (l == NULL) {
		if (fd >= 0)
			close(fd);
		*error_r = "out of memory";
		return NULL;
	}
	l->svc = svc;
	l->total = total;
	l->base = base;
	if (fd >= 0) {
		l->ev = evconnlistener_new(base, accept_cb, l, LEV_OPT_CLOSE_ON_FREE, -1, fd);
		if (l->ev == NULL)
			close(fd);
	}
	l->retry = l->ev ? evtimer_new(base, retry_cb, l) : NULL;
	if (l->retry == NULL) {
		snprintf(err, sizeof err, "cannot listen on %s for %s: %s", name,
			 svc->proto->name, strerror(errno));
		*error_r = err;
		if (l->ev)
			evconnlistener_free(l->ev);
		free(l);
		return NULL;
	}
	return l;
}

/* Binds path, replacing a stale socket but nothing else. -1 with errno. */
static int bind_unix(const char *path, unsigned mode)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	struct stat st;
	if (strlen(path) >= sizeof un.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(un.sun_path, path, strlen(path) + 1);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errno = EEXIST;
			return -1;
		}
		(void)unlink(path);
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&un, sizeof un) < 0 || chmod(path, mode) < 0 ||
	    listen(fd, 128) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

struct listener *listener_open_unix(struct event_base *base, const char *path,
				    unsigned mode, const struct conn_service *svc,
				    struct conn_limits *total, const char **error_r)
{
	struct listener *l = listener_new(base, bind_unix(path, mode), path, svc, total, error_r);
	if (l != NULL)
		l->local = true;
	return l;
}

void listener_close(struct listener **l)
{
	if (*l == NULL)
		return;
	for (size_t i = 0; i < (*l)->n_parked; i++)
		close((*l)->parked[i].fd);
	event_free((*l)->retry);
	evconnlistener_free((*l)->ev);
	free(*l);
	*l = NULL;
}
