#include "net/conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>

#include "lib/buf.h"
#include "lib/log.h"
#include "net/tls.h"

/* Reading stops while this much input is waiting to be consumed, so a
 * paused session (committing a message) cannot be flooded. */
#define INPUT_HIGH_WATER (256 * 1024)
#define CLOSE_LINGER_SECONDS 10
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
	struct event_base *base;
	struct bufferevent *bev;
	int fd;
	void *session;
	struct sockaddr_storage sa;
	void (*release)(const struct sockaddr *);
	char peer[INET6_ADDRSTRLEN];
	unsigned short peer_port;
	char id[16];
	char tls_info[160];
	bool tls, paused, closing, starttls_pending, in_input, dead;
	bool handshaking;             /* TLS handshake under way */
	unsigned timeout;
};

static struct { char *data; size_t cap; } spares[SPARES_MAX];
static size_t n_spares;
static struct conn *all_conns;
static size_t n_conns;
static unsigned long long next_id;

static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);

static void conn_free(struct conn *c)
{
	log_info("%s %s: disconnect from [%s]", c->svc->proto->name, c->id, c->peer);
	if (c->session != NULL)
		c->svc->proto->close(c->session);
	c->session = NULL;
	if (c->bev != NULL)
		bufferevent_free(c->bev);  /* closes fd: BEV_OPT_CLOSE_ON_FREE */
	if (c->release != NULL)
		c->release((struct sockaddr *)&c->sa);
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

static int setup_bev(struct conn *c, bool tls)
{
	int opts = BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS;
	if (tls) {
		SSL *ssl = SSL_new(*c->svc->tls_ctx);
		if (ssl == NULL)
			return -1;
		c->bev = bufferevent_openssl_socket_new(c->base, c->fd, ssl,
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
	bufferevent_setwatermark(c->bev, EV_READ, 0, INPUT_HIGH_WATER);
	(void)bufferevent_set_max_single_write(c->bev, OUTPUT_MAX_SINGLE_WRITE);
	conn_set_timeout(c, c->timeout);
	if (!c->paused)
		bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	else
		bufferevent_enable(c->bev, EV_WRITE);
	return 0;
}

void conn_accept(struct event_base *base, const struct conn_service *svc, int fd,
		 const struct sockaddr *sa, int salen,
		 void (*release)(const struct sockaddr *))
{
	struct conn *c = calloc(1, sizeof *c);
	if (c == NULL) {
		close(fd);
		release(sa);
		return;
	}
	c->svc = svc;
	c->base = base;
	c->fd = fd;
	c->release = release;
	c->timeout = svc->idle_timeout;
	memcpy(&c->sa, sa, (size_t)salen < sizeof c->sa ? (size_t)salen : sizeof c->sa);
	if (sa->sa_family == AF_INET6) {
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
	if (!tls) {
		c->session = svc->proto->open(c, svc->ctx);
		if (c->session == NULL)
			conn_close_after_flush(c);
	}
}

static void feed(struct conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	c->in_input = true;
	while (!c->paused && !c->closing && !c->starttls_pending && c->session != NULL) {
		size_t len = evbuffer_get_length(in);
		if (len == 0)
			break;
		const char *p = (const char *)evbuffer_pullup(in, -1);
		size_t used = c->svc->proto->input(c->session, p, len);
		if (c->dead)
			break;
		evbuffer_drain(in, used);
		if (used == 0)
			break;
	}
	c->in_input = false;
	if (c->dead)
		conn_free(c);
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
		if (c->fd >= 0 && c->bev == NULL)
			close(c->fd);
		conn_destroy(c);
	}
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;
	(void)bev;
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) != 0)
		return;
	if (c->starttls_pending)
		start_tls_now(c);
	else if (c->closing)
		conn_destroy(c);
	else if (c->session != NULL && c->svc->proto->drained != NULL)
		c->svc->proto->drained(c->session);
}

static void tls_connected(struct conn *c)
{
	SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
	c->tls = true;
	c->handshaking = false;
	tls_describe(ssl, c->tls_info, sizeof c->tls_info);
	char brief[128];
	tls_short(ssl, brief, sizeof brief);
	log_info("%s %s: TLS established with [%s]: %s", c->svc->proto->name, c->id,
		 c->peer, brief);
	if (c->session == NULL) {
		c->session = c->svc->proto->open(c, c->svc->ctx);
		if (c->session == NULL)
			conn_close_after_flush(c);
	} else {
		c->svc->proto->tls_ready(c->session);
	}
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
		log_info("%s %s: timeout from [%s]%s", c->svc->proto->name, c->id, c->peer,
			 c->handshaking ? " in TLS handshake" : c->closing ? " while closing" : "");
		/* A goodbye cannot go out in the middle of a handshake, and a
		 * peer that stopped reading will not take one. */
		if (c->session != NULL && !c->closing && !c->handshaking) {
			c->svc->proto->timeout(c->session);
			conn_close_after_flush(c);
			return;
		}
		conn_destroy(c);
		return;
	}
	if (what & BEV_EVENT_ERROR) {
		unsigned long e = bufferevent_get_openssl_error(c->bev);
		if (e != 0)
			log_info("%s %s: TLS error from [%s]: %s", c->svc->proto->name, c->id,
				 c->peer, ERR_reason_error_string(e));
	}
	conn_destroy(c);
}

void conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->bev != NULL && len > 0)
		bufferevent_write(c->bev, data, len);
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
	bufferevent_disable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0 || c->handshaking) {
		conn_destroy(c);
		return;
	}
	/* A peer that does not read its last replies is dropped soon. */
	struct timeval tv = { CLOSE_LINGER_SECONDS, 0 };
	bufferevent_set_timeouts(c->bev, NULL, &tv);
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
	bufferevent_disable(c->bev, EV_READ);
}

void conn_resume(struct conn *c)
{
	if (!c->paused)
		return;
	c->paused = false;
	if (c->closing || c->starttls_pending)
		return;
	bufferevent_enable(c->bev, EV_READ);
	/* Pipelined commands may already be waiting: no new read event
	 * would come for them. */
	if (!c->in_input)
		feed(c);
}

void conn_set_timeout(struct conn *c, unsigned seconds)
{
	c->timeout = seconds;
	struct timeval tv = { (time_t)seconds, 0 };
	if (c->bev != NULL)
		bufferevent_set_timeouts(c->bev, seconds ? &tv : NULL, seconds ? &tv : NULL);
}

const char *conn_peer(const struct conn *c) { return c->peer; }
unsigned short conn_peer_port(const struct conn *c) { return c->peer_port; }
const char *conn_id(const struct conn *c) { return c->id; }
bool conn_is_tls(const struct conn *c) { return c->tls; }
const char *conn_tls_info(const struct conn *c) { return c->tls ? c->tls_info : ""; }

bool conn_peer_is_loopback(const struct conn *c)
{
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
