/* The resolver implementation on c-ares (1.18, Debian 12): one channel,
 * its sockets and timer handed to the owner's loop through struct dns_io
 * (ARES_OPT_SOCK_STATE_CB), ares_query for each question (no search list:
 * mail domains are fully qualified). */
#include <ares.h>
#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns_private.h"

struct cares_resolver {
	struct dns_resolver base;
	ares_channel channel;
	bool channel_ok;
};

struct cares_query {
	struct cares_resolver *cr;
	dns_answer_cb *cb;
	void *ctx;
	bool submitting;   /* inside ares_query: an answer now must wait */
	bool early;        /* c-ares answered inside ares_query */
	int status;        /* of that early answer */
};

static const char *status_why(int status)
{
	switch (status) {
	case ARES_ETIMEOUT: return "timeout";
	case ARES_ESERVFAIL: return "SERVFAIL";
	case ARES_EREFUSED: return "REFUSED";
	/* c-ares 1.18 ends a query whose every server said SERVFAIL or
	 * REFUSED, or could not be reached, with this one code. */
	case ARES_ECONNREFUSED: return "SERVFAIL, REFUSED or server unreachable";
	case ARES_EFORMERR: return "FORMERR";
	case ARES_EBADRESP: return "malformed answer";
	case ARES_ENOMEM: return "out of memory";
	case ARES_ECANCELLED:
	case ARES_EDESTRUCTION: return "resolver closed";
	default: return ares_strerror(status);
	}
}

static void answer(struct cares_query *q, int status, const unsigned char *abuf, int alen)
{
	enum dns_rcode rc;
	if (status == ARES_SUCCESS && abuf != NULL && alen > 0)
		rc = DNS_RC_OK;
	else if (status == ARES_ENODATA)
		rc = DNS_RC_NODATA;
	else if (status == ARES_ENOTFOUND)
		rc = DNS_RC_NXDOMAIN;
	else
		rc = DNS_RC_TEMP;
	q->cb(q->ctx, rc, rc == DNS_RC_TEMP ? status_why(status) : NULL,
	      rc == DNS_RC_OK ? abuf : NULL, rc == DNS_RC_OK ? (size_t)alen : 0);
	free(q);
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	(void)timeouts;
	struct cares_query *q = arg;
	if (q->submitting) {
		/* Only failures come this early (nothing was read yet). */
		q->early = true;
		q->status = status == ARES_SUCCESS ? ARES_EBADRESP : status;
		return;
	}
	answer(q, status, abuf, alen);
}

static void answer_later(void *ctx)
{
	struct cares_query *q = ctx;
	answer(q, q->status, NULL, 0);
}

static int cares_query(struct dns_resolver *r, const char *name, enum dns_type type,
		       dns_answer_cb *cb, void *ctx)
{
	struct cares_resolver *cr = (struct cares_resolver *)r;
	struct cares_query *q = calloc(1, sizeof *q);
	if (q == NULL)
		return -1;
	q->cr = cr;
	q->cb = cb;
	q->ctx = ctx;
	if (r->closing) {
		q->early = true;
		q->status = ARES_EDESTRUCTION;
	} else {
		q->submitting = true;
		ares_query(cr->channel, name, ns_c_in, (int)type, on_answer, q);
		q->submitting = false;
	}
	if (q->early && dns_call_later(r, answer_later, q) < 0) {
		free(q);
		return -1;
	}
	dns_timer_update(r);
	return 0;
}

static void cares_process(struct dns_resolver *r, int fd, bool readable, bool writable)
{
	struct cares_resolver *cr = (struct cares_resolver *)r;
	ares_process_fd(cr->channel, readable ? fd : ARES_SOCKET_BAD,
			writable ? fd : ARES_SOCKET_BAD);
}

static void cares_timeout(struct dns_resolver *r)
{
	struct cares_resolver *cr = (struct cares_resolver *)r;
	ares_process_fd(cr->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
}

static long cares_next_timeout(struct dns_resolver *r)
{
	struct cares_resolver *cr = (struct cares_resolver *)r;
	struct timeval tv;
	if (ares_timeout(cr->channel, NULL, &tv) == NULL)
		return -1;
	return (long)tv.tv_sec * 1000 + (tv.tv_usec + 999) / 1000;
}

static void cares_cancel_all(struct dns_resolver *r)
{
	struct cares_resolver *cr = (struct cares_resolver *)r;
	ares_cancel(cr->channel);
}

static void cares_destroy(struct dns_resolver *r)
{
	struct cares_resolver *cr = (struct cares_resolver *)r;
	if (cr->channel_ok)
		ares_destroy(cr->channel);
	ares_library_cleanup();
	free(cr);
}

static const struct dns_resolver_ops cares_ops = {
	.query = cares_query,
	.process = cares_process,
	.timeout = cares_timeout,
	.next_timeout = cares_next_timeout,
	.cancel_all = cares_cancel_all,
	.destroy = cares_destroy,
};

static void sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
	struct dns_resolver *r = data;
	r->io.watch(r->io.ctx, fd, readable != 0, writable != 0);
}

/* "a:p,[v6]:p" for ares_set_servers_ports_csv. */
static int servers_csv(const struct dns_options *opt, char *out, size_t outsize)
{
	size_t len = 0;
	out[0] = '\0';
	for (size_t i = 0; i < opt->server_count; i++) {
		const struct listen_addr *a = &opt->servers[i];
		bool v6 = strchr(a->host, ':') != NULL;
		int n = snprintf(out + len, outsize - len, "%s%s%s%s:%u", i ? "," : "",
				 v6 ? "[" : "", a->host, v6 ? "]" : "", a->port);
		if (n < 0 || (size_t)n >= outsize - len)
			return -1;
		len += (size_t)n;
	}
	return 0;
}

int dns_cares_new(const struct dns_options *opt, const struct dns_io *io,
		  struct dns_resolver **resolver_r, const char **error_r)
{
	*resolver_r = NULL;
	int st = ares_library_init(ARES_LIB_INIT_ALL);
	if (st != ARES_SUCCESS) {
		*error_r = ares_strerror(st);
		return -1;
	}
	struct cares_resolver *cr = calloc(1, sizeof *cr);
	if (cr == NULL) {
		ares_library_cleanup();
		*error_r = "out of memory";
		return -1;
	}
	dns_resolver_init(&cr->base, &cares_ops, io);
	struct ares_options o;
	memset(&o, 0, sizeof o);
	o.sock_state_cb = sock_state;
	o.sock_state_cb_data = &cr->base;
	o.timeout = opt->timeout_ms ? (int)opt->timeout_ms : 2000;
	o.tries = opt->tries ? (int)opt->tries : 2;
	int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
	st = ares_init_options(&cr->channel, &o, mask);
	if (st == ARES_SUCCESS) {
		cr->channel_ok = true;
		char csv[CONFIG_MAX_DNS * 80];
		if (opt->server_count > 0 && servers_csv(opt, csv, sizeof csv) < 0)
			st = ARES_EBADSTR;
		else if (opt->server_count > 0)
			st = ares_set_servers_ports_csv(cr->channel, csv);
	}
	if (st != ARES_SUCCESS) {
		*error_r = ares_strerror(st);
		cares_destroy(&cr->base);
		return -1;
	}
	*resolver_r = &cr->base;
	return 0;
}
