#include "net/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "net/limits.h"
#include "net/tls.h"

#define CLOSE_LINGER_MS 10000
/* Output falls to this before input is taken again (see CONN_OUTPUT_MAX). */
#define OUTPUT_RESUME (CONN_OUTPUT_MAX / 2)
/* The session is handed input this much at a time, and output is looked at
 * between: a command that asks for a long reply (EHLO, HELP, CAPA) cannot
 * queue more than FEED_CHUNK times its reply beyond CONN_OUTPUT_MAX. */
#define FEED_CHUNK 2048
/* A deadline that passes while the session's own work is out is looked at
 * again this often until the session resumes (and sets a new one). */
#define PAUSED_RECHECK_MS 1000
/* libevent hands the kernel at most 16 KiB per write by default: a large
 * reply (FETCH 1:* is tens of MB) then costs thousands of writev calls and
 * event-loop turns. The socket takes what fits; the rest waits as before. */
#define OUTPUT_MAX_SINGLE_WRITE (256 * 1024)
/* conn_write_buf copies output smaller than this: the copy costs less. */
#define HANDOVER_MIN (64 * 1024)
/* Storage of handed-over output once it is sent, kept for the next
 * conn_write_buf: fresh memory for each 1 MiB FETCH slice cost a page
 * fault per 4 KiB on the event loop, a tenth of FETCH 1:*. Only the event
 * loop's thread touches it (libevent calls handover_done there, when the
 * bytes are sent or a connection's buffers are freed). */
#define SPARES_MAX 4

struct conn {
	struct conn *prev, *next;     /* all connections, for shutdown */
	const struct conn_service *svc;
	struct conn_limits *total;    /* counted there and in svc->limits */
	struct event_base *base;
	struct bufferevent *bev;
	struct event *timer;          /* the deadline */
	int fd;
	void *session;
	struct sockaddr_storage sa;
	char peer[INET6_ADDRSTRLEN];
	unsigned short peer_port;
	char id[16];
	char tls_info[160];
	bool tls, paused, closing, starttls_pending, in_input, dead;
	bool handshaking;             /* TLS handshake under way */
	bool counted;                 /* holds its slots in the limits */
	bool throttled;               /* input waits for output to drain */
	bool peer_gone;               /* input ended while the session was paused */
	/* Outbound (svc->client): */
	bool connecting;              /* TCP connect under way */
	bool tls_verify, tls_verified;
	void *open_arg;               /* for proto->open or ->connect_failed */
	char tls_name[256];
	char error[160];              /* why it ended (conn_error) */
	unsigned connect_ms;          /* connect and handshake deadline */
	struct event *connect_ev;     /* the TCP connect under way */
	/* The deadline: ms after dl_start, plus a byte's worth of time at
	 * dl_rate for each byte taken, but never ms after dl_last. */
	unsigned dl_ms, dl_rate;
	uint64_t dl_start, dl_last, dl_bytes;
	unsigned long long out_total;
};

static struct { char *data; size_t cap; } spares[SPARES_MAX];
static size_t n_spares;
static struct conn *all_conns;
static size_t n_conns;
static unsigned long long next_id;

static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);
static void timer_cb(evutil_socket_t fd, short what, void *arg);

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct timeval ms_tv(uint64_t ms)
{
	return (struct timeval){ (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
}

/* A closing connection stops counting at once: a client that logs out and
 * comes back must find its slot free, even while its last replies are
 * still on their way or its session's work is still out. */
static void release_slots(struct conn *c)
{
	if (!c->counted)
		return;
	c->counted = false;
	conn_limits_release(c->total, (struct sockaddr *)&c->sa);
	if (c->svc->limits != NULL)
		conn_limits_release(c->svc->limits, (struct sockaddr *)&c->sa);
}

/* Keeps the first reason given: it is the cause, later ones follow from it. */
static void set_error(struct conn *c, const char *why, const char *detail)
{
	if (c->error[0] == '\0')
		snprintf(c->error, sizeof c->error, "%s%s%s", why, detail ? ": " : "",
			 detail ? detail : "");
}

static void conn_free(struct conn *c)
{
	log_info("%s %s: disconnect %s [%s]%s%s", c->svc->proto->name, c->id,
		 c->svc->client ? "to" : "from", c->peer, c->error[0] ? ": " : "", c->error);
	if (c->session != NULL)
		c->svc->proto->close(c->session);
	else if (c->svc->client)
		c->svc->proto->connect_failed(c->open_arg,
					      c->error[0] ? c->error : "connection closed");
	c->session = NULL;
	if (c->bev != NULL)
		bufferevent_free(c->bev);  /* closes fd: BEV_OPT_CLOSE_ON_FREE */
	if (c->connect_ev != NULL) {
		event_free(c->connect_ev);
		close(c->fd);
	}
	if (c->timer != NULL)
		event_free(c->timer);
	release_slots(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		all_conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	n_conns--;
	free(c);
}

/* Frees now, or marks for freeing when we are inside the session's input
 * callback (the session must not vanish under its own feet). */
static void conn_destroy(struct conn *c)
{
	if (c->in_input) {
		c->dead = true;
		return;
	}
	conn_free(c);
}

/* Callers have just set dl_last to the time now. */
static void arm_deadline(struct conn *c)
{
	if (c->dl_ms == 0) {
		evtimer_del(c->timer);
		return;
	}
	uint64_t due = c->dl_start + c->dl_ms;
	if (c->dl_rate > 0) {
		due += c->dl_bytes * 1000 / c->dl_rate;
		if (c->dl_last + c->dl_ms < due)
			due = c->dl_last + c->dl_ms;
	}
	uint64_t now = c->dl_last;
	struct timeval tv = ms_tv(due > now ? due - now : 0);
	evtimer_add(c->timer, &tv);
}

static void set_deadline(struct conn *c, unsigned ms, unsigned min_rate)
{
	c->dl_ms = ms;
	c->dl_rate = min_rate;
	c->dl_start = c->dl_last = now_ms();
	c->dl_bytes = 0;
	/* A peer that takes none of our output for as long is gone too. */
	struct timeval tv = ms_tv(ms);
	if (c->bev != NULL)
		bufferevent_set_timeouts(c->bev, NULL, ms ? &tv : NULL);
	arm_deadline(c);
}

/* SNI, and the name the certificate must carry: checked always (the
 * result is logged and kept), enforced only when verification is asked. */
static int client_tls_setup(struct conn *c, SSL *ssl)
{
	if (c->tls_name[0] != '\0' && (SSL_set_tlsext_host_name(ssl, c->tls_name) != 1 ||
					 SSL_set1_host(ssl, c->tls_name) != 1))
		return -1;
	SSL_set_verify(ssl, c->tls_verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	return 0;
}

static int setup_bev(struct conn *c, bool tls)
{
	int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	if (tls) {
		SSL *ssl = SSL_new(*c->svc->tls_ctx);
		if (ssl == NULL || (c->svc->client && client_tls_setup(c, ssl) < 0)) {
			SSL_free(ssl);
			return -1;
		}
		c->bev = bufferevent_openssl_socket_new(c->base, c->fd, ssl,
							c->svc->client ? BUFFEREVENT_SSL_CONNECTING :
							BUFFEREVENT_SSL_ACCEPTING, opts);
		if (c->bev == NULL) {
			SSL_free(ssl);
			return -1;
		}
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
		c->handshaking = true;
	} else {
		c->bev = bufferevent_socket_new(c->base, c->fd, opts);
		if (c->bev == NULL)
			return -1;
	}
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, CONN_INPUT_MAX);
	bufferevent_setwatermark(c->bev, EV_WRITE, OUTPUT_RESUME, 0);
	(void)bufferevent_set_max_single_write(c->bev, OUTPUT_MAX_SINGLE_WRITE);
	/* The whole handshake has tls_timeout, however it trickles in; a
	 * plain connection gets its deadline from the session. */
	if (tls)
		set_deadline(c, c->svc->client ? c->connect_ms : c->svc->tls_timeout * 1000, 0);
	else
		bufferevent_set_timeouts(c->bev, NULL, NULL);
	/* Reading goes on while paused: a peer that hangs up is noticed. */
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return 0;
}

static struct conn *conn_new(struct event_base *base)
{
	struct conn *c = calloc(1, sizeof *c);
	if (c != NULL)
		c->timer = evtimer_new(base, timer_cb, c);
	if (c != NULL && c->timer == NULL) {
		free(c);
		c = NULL;
	}
	return c;
}

/* Names the peer and enters c in the list of connections. */
static void link_conn(struct conn *c, const struct sockaddr *sa, socklen_t salen)
{
	memcpy(&c->sa, sa, (size_t)salen < sizeof c->sa ? (size_t)salen : sizeof c->sa);
	if (sa->sa_family == AF_UNIX) {
		snprintf(c->peer, sizeof c->peer, "local");
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, c->peer, sizeof c->peer);
		c->peer_port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, c->peer, sizeof c->peer);
		c->peer_port = ntohs(s4->sin_port);
	}
	snprintf(c->id, sizeof c->id, "%06llx", (++next_id) & 0xffffffULL);
	c->next = all_conns;
	if (all_conns)
		all_conns->prev = c;
	all_conns = c;
	n_conns++;
}

/* The session starts: on an accepted connection with the service's
 * context, on an outbound one with conn_connect's argument. */
static void open_session(struct conn *c)
{
	c->session = c->svc->proto->open(c, c->svc->client ? c->open_arg : c->svc->ctx);
	if (c->session == NULL)
		conn_close_after_flush(c);
}

void conn_accept(struct event_base *base, const struct conn_service *svc, int fd,
		 const struct sockaddr *sa, int salen, struct conn_limits *total)
{
	struct conn *c = conn_new(base);
	if (c == NULL) {
		close(fd);
		conn_limits_release(total, sa);
		if (svc->limits != NULL)
			conn_limits_release(svc->limits, sa);
		return;
	}
	c->svc = svc;
	c->total = total;
	c->counted = true;
	c->base = base;
	c->fd = fd;
	link_conn(c, sa, salen);

	bool tls = svc->implicit_tls && *svc->tls_ctx != NULL;
	if (svc->implicit_tls && !tls) {
		log_err("%s: %s[%s] implicit TLS port without a certificate", svc->proto->name,
			c->id, c->peer);
		close(fd);
		c->fd = -1;
		conn_free(c);
		return;
	}
	if (setup_bev(c, tls) < 0) {
		close(fd);
		conn_free(c);
		return;
	}
	log_info("%s %s: connect from [%s]:%u%s", svc->proto->name, c->id, c->peer,
		 c->peer_port, tls ? " (TLS)" : "");
	/* On implicit TLS the session starts once the handshake is done. */
	if (!tls)
		open_session(c);
}

static int socket_for(const struct conn_target *t, const char **error_r)
{
	int fd = socket(t->addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	if (t->bind != NULL && bind(fd, t->bind, t->bind_len) < 0) {
		*error_r = "cannot bind the source address";
		close(fd);
		return -1;
	}
	return fd;
}

/* The TCP connect finished, one way or the other: on success the
 * connection becomes like an accepted one (TLS first when implicit). */
static void connect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	(void)what;
	int err = 0;
	socklen_t len = sizeof err;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	event_free(c->connect_ev);
	c->connect_ev = NULL;
	if (err != 0) {
		set_error(c, "connect failed", strerror(err));
		close(c->fd);
		conn_destroy(c);
		return;
	}
	c->connecting = false;
	set_deadline(c, 0, 0);
	log_info("%s %s: connected to [%s]:%u", c->svc->proto->name, c->id, c->peer,
		 c->peer_port);
	if (setup_bev(c, c->svc->implicit_tls) < 0) {
		set_error(c, "out of memory", NULL);
		close(c->fd);
		conn_destroy(c);
		return;
	}
	if (!c->svc->implicit_tls)
		open_session(c);
}

int conn_connect(struct event_base *base, const struct conn_service *svc,
		 const struct conn_target *t, void *arg, const char **error_r)
{
	int fd = socket_for(t, error_r);
	if (fd < 0)
		return -1;
	struct conn *c = conn_new(base);
	if (c != NULL)
		c->connect_ev = event_new(base, fd, EV_WRITE, connect_cb, c);
	if (c == NULL || c->connect_ev == NULL) {
		if (c != NULL)
			event_free(c->timer);
		free(c);
		close(fd);
		*error_r = "out of memory";
		return -1;
	}
	c->svc = svc;
	c->base = base;
	c->fd = fd;
	c->open_arg = arg;
	c->connecting = true;
	c->connect_ms = t->timeout_ms;
	c->tls_verify = t->tls_verify;
	snprintf(c->tls_name, sizeof c->tls_name, "%s", t->tls_name ? t->tls_name : "");
	link_conn(c, t->addr, t->addr_len);
	if (connect(fd, t->addr, t->addr_len) < 0 && errno != EINPROGRESS) {
		/* Reported from the loop, as every later failure is: the
		 * caller is not called back from inside its own call. */
		set_error(c, "connect failed", strerror(errno));
		struct timeval now = { 0, 0 };
		evtimer_add(c->timer, &now);
		return 0;
	}
	event_add(c->connect_ev, NULL);
	set_deadline(c, t->timeout_ms, 0);
	return 0;
}

/* Hands the session what it can take now, in FEED_CHUNK pieces. */
static size_t feed_session(struct conn *c, struct evbuffer *in)
{
	size_t total = 0;
	while (!c->paused && !c->closing && !c->starttls_pending && c->session != NULL) {
		size_t len = evbuffer_get_length(in);
		if (len == 0)
			break;
		if (conn_output_pending(c) > CONN_OUTPUT_MAX) {
			c->throttled = true;
			break;
		}
		size_t offer = len < FEED_CHUNK ? len : FEED_CHUNK;
		const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)offer);
		size_t used = c->svc->proto->input(c->session, p, offer);
		if (used == 0 && offer < len && !c->dead) {
			/* A session that wants to see more at once gets it all. */
			p = (const char *)evbuffer_pullup(in, -1);
			used = c->svc->proto->input(c->session, p, len);
		}
		if (c->dead)
			break;
		evbuffer_drain(in, used);
		total += used;
		if (used == 0)
			break;
	}
	return total;
}

static void feed(struct conn *c)
{
	c->in_input = true;
	size_t used = feed_session(c, bufferevent_get_input(c->bev));
	c->in_input = false;
	if (c->dead) {
		conn_free(c);
		return;
	}
	if (used > 0 && c->dl_rate > 0 && !c->closing) {
		c->dl_bytes += used;
		c->dl_last = now_ms();
		arm_deadline(c);
	}
	/* What the peer sent before hanging up is done with. */
	if (c->peer_gone && !c->paused && !c->closing && !c->starttls_pending)
		conn_destroy(c);
}

/* Calls a session callback that may close the connection: then it is
 * freed after the call, not under its feet. false when it was. */
static bool guarded(struct conn *c, void (*fn)(void *session))
{
	bool outer = c->in_input;
	c->in_input = true;
	fn(c->session);
	c->in_input = outer;
	if (!outer && c->dead) {
		conn_free(c);
		return false;
	}
	return true;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	feed(arg);
}

static void start_tls_now(struct conn *c)
{
	/* The plaintext bufferevent goes, but the socket stays. */
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	evbuffer_drain(bufferevent_get_input(c->bev), (size_t)-1);
	int fd = c->fd;
	c->fd = dup(fd);
	bufferevent_free(c->bev);
	c->bev = NULL;
	c->starttls_pending = false;
	if (c->fd < 0 || setup_bev(c, true) < 0) {
		log_warn("%s %s: cannot start TLS", c->svc->proto->name, c->id);
		set_error(c, "cannot start TLS", NULL);
		if (c->fd >= 0 && c->bev == NULL)
			close(c->fd);
		conn_destroy(c);
	}
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	(void)bev;
	size_t pending = evbuffer_get_length(bufferevent_get_output(c->bev));
	bool take_input = c->throttled && pending <= OUTPUT_RESUME;
	if (take_input)
		c->throttled = false;
	if (pending == 0) {
		if (c->starttls_pending) {
			start_tls_now(c);
			return;
		}
		if (c->closing) {
			conn_destroy(c);
			return;
		}
		if (c->session != NULL && c->svc->proto->drained != NULL &&
		    !guarded(c, c->svc->proto->drained))
			return;
	}
	if (take_input && !c->in_input)
		feed(c);
}

static void tls_connected(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	c->tls = true;
	c->handshaking = false;
	set_deadline(c, 0, 0);   /* the session sets its own */
	tls_describe(ssl, c->tls_info, sizeof c->tls_info);
	char brief[128];
	tls_short(ssl, brief, sizeof brief);
	if (c->svc->client)
		c->tls_verified = SSL_get_verify_result(ssl) == X509_V_OK &&
				  SSL_get0_peer_certificate(ssl) != NULL;
	log_info("%s %s: TLS established with [%s]: %s%s", c->svc->proto->name, c->id,
		 c->peer, brief, !c->svc->client ? "" : c->tls_verified ? " (verified)" :
		 " (not verified)");
	if (c->session == NULL)
		open_session(c);
	else
		(void)guarded(c, c->svc->proto->tls_ready);
}

static void expire(struct conn *c, bool sending)
{
	set_error(c, c->connecting ? "connect timed out" :
		  c->handshaking ? "TLS handshake timed out" : "timed out", NULL);
	log_info("%s %s: timeout from [%s]%s", c->svc->proto->name, c->id, c->peer,
		 c->handshaking ? " in TLS handshake" : c->closing ? " while closing" :
		 sending ? " (not reading)" : "");
	/* A goodbye cannot go out in the middle of a handshake, and a peer
	 * that stopped reading will not take one. */
	if (c->session != NULL && !c->closing && !c->handshaking && !sending) {
		c->svc->proto->timeout(c->session);
		conn_close_after_flush(c);
		return;
	}
	conn_destroy(c);
}

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	(void)fd;
	(void)what;
	if (c->connecting && c->error[0] != '\0') {   /* failed at once */
		conn_destroy(c);
		return;
	}
	if (c->paused && !c->closing && !c->handshaking) {
		struct timeval tv = ms_tv(PAUSED_RECHECK_MS);
		evtimer_add(c->timer, &tv);
		return;
	}
	expire(c, false);
}

static void note_error(struct conn *c)
{
	unsigned long e = bufferevent_get_openssl_error(c->bev);
	if (e == 0) {
		int err = EVUTIL_SOCKET_ERROR();
		set_error(c, "connection lost", err ? strerror(err) : NULL);
		return;
	}
	log_info("%s %s: TLS error %s [%s]: %s", c->svc->proto->name, c->id,
		 c->svc->client ? "to" : "from", c->peer, ERR_reason_error_string(e));
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	long v = ssl != NULL ? SSL_get_verify_result(ssl) : X509_V_OK;
	set_error(c, "TLS handshake failed", v != X509_V_OK ?
		  X509_verify_cert_error_string(v) : ERR_reason_error_string(e));
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		tls_connected(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		expire(c, true);
		return;
	}
	/* The peer hung up while its session's work is out, with commands
	 * still unread (e.g. a pipelined QUIT): they are answered, but the
	 * connection counts no more. */
	if ((what & BEV_EVENT_EOF) && !(what & BEV_EVENT_ERROR) && c->paused && !c->closing &&
	    c->session != NULL && evbuffer_get_length(bufferevent_get_input(c->bev)) > 0) {
		c->peer_gone = true;
		release_slots(c);
		bufferevent_disable(c->bev, EV_READ);
		return;
	}
	if (what & BEV_EVENT_ERROR)
		note_error(c);
	else
		set_error(c, "connection closed by peer", NULL);
	conn_destroy(c);
}

void conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->bev != NULL && len > 0) {
		bufferevent_write(c->bev, data, len);
		c->out_total += len;
	}
}

static void handover_done(const void *data, size_t len, void *cap)
{
	(void)len;
	if (n_spares == SPARES_MAX) {
		free((void *)data);
		return;
	}
	spares[n_spares].data = (char *)data;
	spares[n_spares].cap = (size_t)(uintptr_t)cap;
	n_spares++;
}

void conn_write_buf(struct conn *c, struct buf *b)
{
	if (c->bev == NULL || b->len < HANDOVER_MIN) {
		conn_write(c, b->data, b->len);
		buf_reset(b);
		return;
	}
	size_t cap = b->cap, len;
	char *data = buf_steal(b, &len);
	c->out_total += len;
	if (evbuffer_add_reference(bufferevent_get_output(c->bev), data, len, handover_done,
				   (void *)(uintptr_t)cap) < 0) {
		bufferevent_write(c->bev, data, len);
		handover_done(data, len, (void *)(uintptr_t)cap);
	}
	if (n_spares > 0 && buf_adopt(b, spares[n_spares - 1].data,
				      spares[n_spares - 1].cap) == 0)
		n_spares--;
}

size_t conn_output_pending(const struct conn *c)
{
	return c->bev ? evbuffer_get_length(bufferevent_get_output(c->bev)) : 0;
}

void conn_close_after_flush(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	release_slots(c);
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 || c->handshaking) {
		conn_destroy(c);
		return;
	}
	/* A peer that does not read its last replies is dropped soon. */
	set_deadline(c, CLOSE_LINGER_MS, 0);
	bufferevent_enable(c->bev, EV_WRITE);
}

int conn_starttls(struct conn *c)
{
	if (*c->svc->tls_ctx == NULL || c->tls)
		return -1;
	c->starttls_pending = true;
	bufferevent_disable(c->bev, EV_READ);
	evbuffer_drain(bufferevent_get_input(c->bev), (size_t)-1);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 && !c->in_input)
		start_tls_now(c);
	else
		bufferevent_enable(c->bev, EV_WRITE);
	return 0;
}

void conn_pause(struct conn *c)
{
	c->paused = true;
}

void conn_resume(struct conn *c)
{
	if (!c->paused)
		return;
	c->paused = false;
	if (c->closing || c->starttls_pending)
		return;
	/* Pipelined commands may already be waiting: no new read event
	 * would come for them. */
	if (!c->in_input)
		feed(c);
}

void conn_set_deadline(struct conn *c, unsigned ms, unsigned min_rate)
{
	/* A handshake and a closing connection keep their own. */
	if (!c->closing && !c->handshaking)
		set_deadline(c, ms, min_rate);
}

bool conn_has_deadline(const struct conn *c)
{
	return c->dl_ms != 0;
}

unsigned long long conn_output_total(const struct conn *c)
{
	return c->out_total;
}

const char *conn_peer(const struct conn *c) { return c->peer; }
unsigned short conn_peer_port(const struct conn *c) { return c->peer_port; }
const char *conn_id(const struct conn *c) { return c->id; }
bool conn_is_tls(const struct conn *c) { return c->tls; }
const char *conn_tls_info(const struct conn *c) { return c->tls ? c->tls_info : ""; }
bool conn_tls_verified(const struct conn *c) { return c->tls_verified; }
const char *conn_error(const struct conn *c) { return c->error; }

socklen_t conn_local_peer(unsigned uid, unsigned pid, struct sockaddr_storage *ss)
{
	struct sockaddr_un *un = (struct sockaddr_un *)ss;
	memset(ss, 0, sizeof *ss);
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, &uid, sizeof uid);
	memcpy(un->sun_path + sizeof uid, &pid, sizeof pid);
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + sizeof uid + sizeof pid);
}

unsigned conn_local_uid(const struct sockaddr *sa)
{
	unsigned uid;
	memcpy(&uid, ((const struct sockaddr_un *)sa)->sun_path, sizeof uid);
	return uid;
}

long conn_peer_uid(const struct conn *c)
{
	return c->sa.ss_family == AF_UNIX ? (long)conn_local_uid((const struct sockaddr *)&c->sa) : -1;
}

long conn_peer_pid(const struct conn *c)
{
	if (c->sa.ss_family != AF_UNIX)
		return -1;
	unsigned pid;
	memcpy(&pid, ((const struct sockaddr_un *)&c->sa)->sun_path + sizeof(unsigned), sizeof pid);
	return (long)pid;
}

bool conn_peer_is_loopback(const struct conn *c)
{
	if (c->sa.ss_family == AF_UNIX)
		return true;
	if (c->sa.ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&c->sa;
		return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	}
	const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&c->sa;
	return IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr) ||
	       (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && s6->sin6_addr.s6_addr[12] == 127);
}

size_t conn_count(void)
{
	return n_conns;
}

void conn_shutdown_all(void)
{
	struct conn *c = all_conns;
	while (c != NULL) {
		struct conn *next = c->next;
		if (c->session != NULL && !c->closing && !c->handshaking)
			c->svc->proto->shutdown(c->session);
		else if (!c->closing)
			conn_destroy(c);
		c = next;
	}
}
