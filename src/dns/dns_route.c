/* Route lookups over any resolver: the MX query, then AAAA and A of every
 * host at once, then dns_route_build. A lookup counts its queries out and
 * ends when the last one is in, whether or not its owner still waits. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "dns/dns_private.h"
#include "lib/config_values.h"

struct dns_lookup;

/* The context of one address query: which host, which family. */
struct addr_query {
	struct dns_lookup *l;
	unsigned host;
	int fam;                    /* DNS_FAM_V6 or DNS_FAM_V4 */
};

struct dns_lookup {
	struct dns_resolver *r;
	dns_route_cb *cb;           /* NULL: cancelled */
	void *ctx;
	enum dns_route_kind kind;
	char domain[DNS_NAME_MAX + 1];
	char own[DNS_NAME_MAX + 1];
	unsigned pending;           /* queries and deferred calls out */
	size_t host_count;
	struct dns_mx hosts[DNS_TARGETS_MAX];
	struct dns_host_answer answers[DNS_TARGETS_MAX];
	struct addr_query aq[DNS_TARGETS_MAX][2];
	struct dns_route route;
};

static void finish(struct dns_lookup *l)
{
	if (l->cb != NULL)
		l->cb(l->ctx, &l->route);
	free(l);
}

static void done_one(struct dns_lookup *l)
{
	if (--l->pending > 0)
		return;
	if (l->host_count > 0)
		dns_route_build(&l->route, l->kind, l->domain, l->hosts, l->answers,
				l->host_count, dns_random_system, NULL);
	finish(l);
}

static void on_addrs(void *ctx, enum dns_rcode rc, const char *why,
		     const unsigned char *abuf, size_t alen)
{
	struct addr_query *q = ctx;
	struct dns_host_answer *a = &q->l->answers[q->host];
	a->rc[q->fam] = rc;
	a->why[q->fam] = why;
	if (rc == DNS_RC_OK &&
	    dns_parse_addrs(abuf, alen, q->fam == DNS_FAM_V6 ? AF_INET6 : AF_INET,
			    a->addrs[q->fam], DNS_FAMILY_ADDRS, &a->count[q->fam]) < 0) {
		a->rc[q->fam] = DNS_RC_TEMP;
		a->why[q->fam] = "malformed answer";
	}
	done_one(q->l);
}

/* Asks AAAA and A of every host; the caller holds one count of pending
 * across this so the lookup cannot end inside the loop. */
static void ask_addresses(struct dns_lookup *l)
{
	for (unsigned i = 0; i < l->host_count; i++)
		for (int fam = DNS_FAM_V6; fam <= DNS_FAM_V4; fam++) {
			struct addr_query *q = &l->aq[i][fam];
			q->l = l;
			q->host = i;
			q->fam = fam;
			enum dns_type t = fam == DNS_FAM_V6 ? DNS_T_AAAA : DNS_T_A;
			l->pending++;
			if (l->r->ops->query(l->r, l->hosts[i].host, t, on_addrs, q) < 0) {
				l->pending--;
				l->answers[i].rc[fam] = DNS_RC_TEMP;
				l->answers[i].why[fam] = "out of memory";
			}
		}
}

static void on_mx(void *ctx, enum dns_rcode rc, const char *why,
		  const unsigned char *abuf, size_t alen)
{
	struct dns_lookup *l = ctx;
	struct dns_mx mx[DNS_MX_MAX];
	size_t n = 0;
	if (rc == DNS_RC_OK && dns_parse_mx(abuf, alen, mx, &n) < 0) {
		rc = DNS_RC_TEMP;
		why = "malformed answer";
	}
	if (rc == DNS_RC_NXDOMAIN) {
		dns_route_fail(&l->route, DNS_ROUTE_PERMFAIL, "5.1.2",
			       "domain %s not found (NXDOMAIN)", l->domain);
	} else if (rc == DNS_RC_TEMP) {
		dns_route_fail(&l->route, DNS_ROUTE_TEMPFAIL, "4.4.3",
			       "DNS lookup of the MX of %s failed for now (%s)", l->domain, why);
	} else if (n == 0) {
		/* RFC 5321 5.1: no MX, the domain itself is the host, at
		 * preference 0 (own name check included: it could be us). */
		l->kind = DNS_KIND_IMPLICIT;
		mx[0].pref = 0;
		memcpy(mx[0].host, l->domain, sizeof mx[0].host);
		n = dns_mx_order(mx, 1, l->domain, l->own, dns_random_system, NULL, &l->route);
	} else {
		n = dns_mx_order(mx, n, l->domain, l->own, dns_random_system, NULL, &l->route);
	}
	if (rc != DNS_RC_NXDOMAIN && rc != DNS_RC_TEMP && n > 0) {
		l->host_count = n;
		memcpy(l->hosts, mx, n * sizeof *mx);
		ask_addresses(l);
	}
	done_one(l);
}

/* Answers a lookup that needs no DNS (a bad name, a numeric host). */
static void answer_now(void *ctx)
{
	done_one(ctx);
}

static struct dns_lookup *lookup_new(struct dns_resolver *r, dns_route_cb *cb, void *ctx)
{
	struct dns_lookup *l = calloc(1, sizeof *l);
	if (l == NULL)
		return NULL;
	l->r = r;
	l->cb = cb;
	l->ctx = ctx;
	l->pending = 1;
	return l;
}

/* Defers the answer already in l->route (or the build of l->hosts). */
static struct dns_lookup *defer(struct dns_lookup *l)
{
	if (dns_call_later(l->r, answer_now, l) < 0) {
		free(l);
		return NULL;
	}
	return l;
}

/* A numeric address, bare or in brackets, inside them with RFC 5321
 * 4.1.3's "IPv6:" tag or without: 1, with the address in a. */
static int numeric_host(const char *host, struct dns_addr *a)
{
	char tmp[64];
	size_t n = strlen(host);
	memset(a, 0, sizeof *a);
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		host++;
		n -= 2;
		if (n > 5 && strncasecmp(host, "IPv6:", 5) == 0) {
			host += 5;
			n -= 5;
		}
	}
	if (n >= sizeof tmp)
		return 0;
	memcpy(tmp, host, n);
	tmp[n] = '\0';
	if (inet_pton(AF_INET, tmp, a->bytes) == 1)
		a->family = AF_INET;
	else if (inet_pton(AF_INET6, tmp, a->bytes) == 1)
		a->family = AF_INET6;
	return a->family != 0;
}

/* Answers l, later, with the one address a named host. */
static struct dns_lookup *numeric_route(struct dns_lookup *l, const char *host,
					const struct dns_addr *a)
{
	l->route.count = 1;
	struct dns_target *t = &l->route.targets[0];
	snprintf(t->host, sizeof t->host, "%s", host);
	t->addrs[0] = *a;
	t->addr_count = 1;
	return defer(l);
}

struct dns_lookup *dns_route_lookup(struct dns_resolver *r, const char *domain,
				    const char *own_hostname, dns_route_cb *cb, void *ctx)
{
	struct dns_lookup *l = lookup_new(r, cb, ctx);
	if (l == NULL)
		return NULL;
	l->kind = DNS_KIND_MX;
	const char *err;
	struct dns_addr a;
	if (own_hostname != NULL && strlen(own_hostname) < sizeof l->own)
		memcpy(l->own, own_hostname, strlen(own_hostname) + 1);
	/* An address literal (RFC 5321 4.1.3) is the host itself: no DNS. */
	if (domain[0] == '[' && numeric_host(domain, &a))
		return numeric_route(l, domain, &a);
	if (cfgval_domain(domain, l->domain, sizeof l->domain, &err) < 0) {
		dns_route_fail(&l->route, DNS_ROUTE_PERMFAIL, "5.1.2",
			       "bad destination domain \"%.*s\": %s", 200, domain, err);
		return defer(l);
	}
	if (r->ops->query(r, l->domain, DNS_T_MX, on_mx, l) < 0) {
		free(l);
		return NULL;
	}
	return l;
}

struct dns_lookup *dns_host_lookup(struct dns_resolver *r, const char *host,
				   dns_route_cb *cb, void *ctx)
{
	struct dns_lookup *l = lookup_new(r, cb, ctx);
	if (l == NULL)
		return NULL;
	l->kind = DNS_KIND_HOST;
	struct dns_addr a;
	const char *err;
	char name[DNS_NAME_MAX + 3];
	size_t n = strlen(host);
	if (numeric_host(host, &a))
		return numeric_route(l, host, &a);
	/* "[name]" is Postfix's way to say "no MX"; we never ask MX here. */
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof name) {
		memcpy(name, host + 1, n - 2);
		name[n - 2] = '\0';
		host = name;
	}
	if (cfgval_domain(host, l->domain, sizeof l->domain, &err) < 0) {
		dns_route_fail(&l->route, DNS_ROUTE_TEMPFAIL, "4.4.4",
			       "bad next hop \"%.*s\": %s", 200, host, err);
		return defer(l);
	}
	l->host_count = 1;
	memcpy(l->hosts[0].host, l->domain, sizeof l->domain);
	ask_addresses(l);
	if (l->pending == 1)      /* both queries failed to start */
		return defer(l);
	l->pending--;
	return l;
}

void dns_lookup_cancel(struct dns_lookup **lookup)
{
	if (*lookup != NULL)
		(*lookup)->cb = NULL;
	*lookup = NULL;
}
