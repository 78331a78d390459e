/* From records to a route: the MX walk of RFC 5321 5.1, the null MX of
 * RFC 7505 and the address order of each host. Pure: randomness comes in
 * through dns_random_fn so the tests can fix it. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dns/dns_answer.h"
#include "lib/config_values.h"

uint32_t dns_random_system(void *ctx, uint32_t bound)
{
	(void)ctx;
	return arc4random_uniform(bound);
}

void dns_route_fail(struct dns_route *route, enum dns_route_status status,
		    const char *enhanced, const char *fmt, ...)
{
	route->status = status;
	route->count = 0;
	snprintf(route->enhanced, sizeof route->enhanced, "%s", enhanced);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(route->text, sizeof route->text, fmt, ap);
	va_end(ap);
}

/* Fisher-Yates over n elements of size sz (small: the element is copied
 * through a buffer of that size). */
static void shuffle(void *base, size_t n, size_t sz, dns_random_fn *rnd, void *rctx)
{
	unsigned char tmp[sizeof(struct dns_mx)];
	unsigned char *a = base;
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd(rctx, (uint32_t)i);
		if (j == i - 1)
			continue;
		memcpy(tmp, a + (i - 1) * sz, sz);
		memcpy(a + (i - 1) * sz, a + j * sz, sz);
		memcpy(a + j * sz, tmp, sz);
	}
}

/* Drops root targets, bad names and repeats, lower-casing the rest.
 * Sets *null_seen when a root target was there. Returns the count kept. */
static size_t mx_clean(struct dns_mx *mx, size_t count, bool *null_seen)
{
	size_t kept = 0;
	*null_seen = false;
	for (size_t i = 0; i < count; i++) {
		const char *err;
		char name[DNS_NAME_MAX + 1];
		if (mx[i].host[0] == '\0') {
			*null_seen = true;
			continue;
		}
		if (cfgval_domain(mx[i].host, name, sizeof name, &err) < 0)
			continue;
		bool repeat = false;
		for (size_t k = 0; k < kept && !repeat; k++)
			repeat = strcmp(mx[k].host, name) == 0;
		if (repeat) {
			/* The same host at two preferences: the better one counts. */
			for (size_t k = 0; k < kept; k++)
				if (strcmp(mx[k].host, name) == 0 && mx[i].pref < mx[k].pref)
					mx[k].pref = mx[i].pref;
			continue;
		}
		mx[kept].pref = mx[i].pref;
		memcpy(mx[kept].host, name, strlen(name) + 1);
		kept++;
	}
	return kept;
}

/* Insertion sort by preference: stable, so the shuffle before it decides
 * the order among equal preferences. n <= DNS_MX_MAX. */
static void mx_sort(struct dns_mx *mx, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct dns_mx cur = mx[i];
		size_t j = i;
		while (j > 0 && mx[j - 1].pref > cur.pref) {
			mx[j] = mx[j - 1];
			j--;
		}
		mx[j] = cur;
	}
}

/* own_hostname in the form of a cleaned MX host ("" when none or bad). */
static void own_name(const char *own_hostname, char *out, size_t outsize)
{
	const char *err;
	out[0] = '\0';
	if (own_hostname != NULL && own_hostname[0] != '\0' &&
	    cfgval_domain(own_hostname, out, outsize, &err) < 0)
		out[0] = '\0';
}

size_t dns_mx_order(struct dns_mx *mx, size_t count, const char *domain,
		    const char *own_hostname, dns_random_fn *rnd, void *rctx,
		    struct dns_route *route)
{
	bool null_seen;
	if (count > DNS_MX_MAX)
		count = DNS_MX_MAX;
	size_t n = mx_clean(mx, count, &null_seen);
	if (n == 0 && null_seen) {
		dns_route_fail(route, DNS_ROUTE_PERMFAIL, "5.1.10",
			       "domain %s does not accept mail (null MX, RFC 7505)", domain);
		return 0;
	}
	if (n == 0) {
		dns_route_fail(route, DNS_ROUTE_PERMFAIL, "5.4.4",
			       "no valid host name among the MX records of %s", domain);
		return 0;
	}
	shuffle(mx, n, sizeof *mx, rnd, rctx);
	mx_sort(mx, n);

	/* RFC 5321 5.1: we are one of the MX hosts; handing the mail to a
	 * host we prefer less than ourselves could send it back to us. */
	char own[DNS_NAME_MAX + 1];
	own_name(own_hostname, own, sizeof own);
	for (size_t i = 0; own[0] != '\0' && i < n; i++) {
		if (strcmp(mx[i].host, own) != 0)
			continue;
		size_t cut = 0;
		while (cut < n && mx[cut].pref < mx[i].pref)
			cut++;
		n = cut;
		break;
	}
	if (n == 0) {
		dns_route_fail(route, DNS_ROUTE_PERMFAIL, "5.4.6",
			       "mail for %s loops back to myself (%s is among its best MX hosts)",
			       domain, own);
		return 0;
	}
	return n < DNS_TARGETS_MAX ? n : DNS_TARGETS_MAX;
}

/* Fills t from one host's answer: IPv6 first (docs/delivery.md), each
 * family in random order. */
static void target_fill(struct dns_target *t, const struct dns_mx *host,
			const struct dns_host_answer *a, dns_random_fn *rnd, void *rctx)
{
	memcpy(t->host, host->host, strlen(host->host) + 1);
	t->pref = host->pref;
	t->addr_count = 0;
	for (int fam = DNS_FAM_V6; fam <= DNS_FAM_V4; fam++) {
		size_t n = a->rc[fam] == DNS_RC_OK ? a->count[fam] : 0;
		if (n > DNS_FAMILY_ADDRS)
			n = DNS_FAMILY_ADDRS;
		memcpy(t->addrs + t->addr_count, a->addrs[fam], n * sizeof(struct dns_addr));
		shuffle(t->addrs + t->addr_count, n, sizeof(struct dns_addr), rnd, rctx);
		t->addr_count += n;
	}
}

void dns_route_build(struct dns_route *route, enum dns_route_kind kind, const char *domain,
		     const struct dns_mx *hosts, const struct dns_host_answer *answers,
		     size_t count, dns_random_fn *rnd, void *rctx)
{
	const char *temp_host = NULL, *temp_why = NULL, *last_host = domain;
	bool nxdomain = false;
	route->status = DNS_ROUTE_OK;
	route->enhanced[0] = route->text[0] = '\0';
	route->count = 0;
	for (size_t i = 0; i < count && i < DNS_TARGETS_MAX; i++) {
		const struct dns_host_answer *a = &answers[i];
		for (int fam = DNS_FAM_V6; fam <= DNS_FAM_V4; fam++) {
			if (a->rc[fam] == DNS_RC_TEMP && temp_host == NULL) {
				temp_host = hosts[i].host;
				temp_why = a->why[fam] ? a->why[fam] : "no answer";
			}
			nxdomain |= a->rc[fam] == DNS_RC_NXDOMAIN;
		}
		last_host = hosts[i].host;
		struct dns_target *t = &route->targets[route->count];
		target_fill(t, &hosts[i], a, rnd, rctx);
		if (t->addr_count > 0)
			route->count++;
	}
	if (route->count > 0)
		return;
	if (temp_host != NULL)
		dns_route_fail(route, DNS_ROUTE_TEMPFAIL, kind == DNS_KIND_HOST ? "4.4.4" : "4.4.3",
			       "DNS lookup of the addresses of %s failed for now (%s)",
			       temp_host, temp_why);
	else if (kind == DNS_KIND_HOST)
		dns_route_fail(route, DNS_ROUTE_TEMPFAIL, "4.4.4",
			       "configured next hop %s has no address in DNS (%s)",
			       last_host, nxdomain ? "host not found" : "no A or AAAA record");
	else if (kind == DNS_KIND_IMPLICIT && nxdomain)
		dns_route_fail(route, DNS_ROUTE_PERMFAIL, "5.1.2",
			       "domain %s not found (NXDOMAIN)", domain);
	else if (kind == DNS_KIND_IMPLICIT)
		dns_route_fail(route, DNS_ROUTE_PERMFAIL, "5.4.4",
			       "domain %s has neither MX nor address records", domain);
	else
		dns_route_fail(route, DNS_ROUTE_PERMFAIL, "5.4.4",
			       "no MX host of %s has an address (last tried: %s, %s)", domain,
			       last_host, nxdomain ? "host not found" : "no A or AAAA record");
}
