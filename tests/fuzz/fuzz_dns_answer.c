/* libFuzzer: DNS answers as a resolver hands them over, through the
 * answer handling of src/dns (dns/dns_answer.h): the bytes are parsed as
 * an MX answer, whose hosts go through the MX walk (null MX, order, own
 * name), and as A and AAAA answers, whose addresses make the route of
 * those hosts. The first byte picks the own hostname and the random
 * seed; the rest is the DNS message. Traps on a broken promise: a route
 * out of preference order, a target without address, a failure without
 * its code, an answer parsed twice differently. */
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "dns/dns_answer.h"

static uint32_t rnd_fixed(void *ctx, uint32_t bound)
{
	uint32_t *s = ctx;
	*s = *s * 1664525u + 1013904223u;
	return (*s >> 8) % bound;
}

static void check_failure(const struct dns_route *r)
{
	if (r->status == DNS_ROUTE_OK || r->count != 0 || r->text[0] == '\0')
		__builtin_trap();
	char want = r->status == DNS_ROUTE_PERMFAIL ? '5' : '4';
	if (r->enhanced[0] != want || r->enhanced[1] != '.')
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static const char *const owns[] = { NULL, "mx.test", "a", "" };
	const char *own = owns[data[0] & 3];
	uint32_t seed = data[0];
	const unsigned char *msg = data + 1;
	size_t len = size - 1;

	struct dns_mx mx[DNS_MX_MAX], again[DNS_MX_MAX];
	size_t n = 0, n2 = 0;
	int rc = dns_parse_mx(msg, len, mx, &n);
	if (rc != dns_parse_mx(msg, len, again, &n2) || n != n2 || n > DNS_MX_MAX ||
	    (rc < 0 && n != 0))
		__builtin_trap();
	struct dns_route route;
	memset(&route, 0, sizeof route);
	size_t hosts = 0;
	if (rc == 0 && n > 0) {
		hosts = dns_mx_order(mx, n, "fuzz.test", own, rnd_fixed, &seed, &route);
		if (hosts == 0)
			check_failure(&route);
		if (hosts > DNS_TARGETS_MAX)
			__builtin_trap();
		for (size_t i = 0; i < hosts; i++)
			if (mx[i].host[0] == '\0' || (i > 0 && mx[i - 1].pref > mx[i].pref) ||
			    (own != NULL && own[0] != '\0' && strcmp(mx[i].host, own) == 0))
				__builtin_trap();
	}
	if (hosts == 0) {      /* the answer's addresses for an implicit MX */
		memcpy(mx[0].host, "fuzz.test", sizeof "fuzz.test");
		mx[0].pref = 0;
		hosts = 1;
	}

	/* The same bytes as the AAAA and the A answer of every host. */
	struct dns_host_answer ans[DNS_TARGETS_MAX];
	memset(ans, 0, sizeof ans);
	for (int fam = DNS_FAM_V6; fam <= DNS_FAM_V4; fam++) {
		size_t cnt = 0;
		int af = fam == DNS_FAM_V6 ? AF_INET6 : AF_INET;
		int arc = dns_parse_addrs(msg, len, af, ans[0].addrs[fam], DNS_FAMILY_ADDRS, &cnt);
		if (cnt > DNS_FAMILY_ADDRS || (arc < 0 && cnt != 0))
			__builtin_trap();
		for (size_t i = 0; i < hosts; i++) {
			ans[i].rc[fam] = arc < 0 ? DNS_RC_TEMP : cnt ? DNS_RC_OK : DNS_RC_NODATA;
			ans[i].why[fam] = arc < 0 ? "malformed answer" : NULL;
			ans[i].count[fam] = cnt;
			memcpy(ans[i].addrs[fam], ans[0].addrs[fam], sizeof ans[0].addrs[fam]);
		}
	}
	dns_route_build(&route, DNS_KIND_MX, "fuzz.test", mx, ans, hosts, rnd_fixed, &seed);
	if (route.status != DNS_ROUTE_OK) {
		check_failure(&route);
		return 0;
	}
	if (route.count == 0 || route.count > DNS_TARGETS_MAX)
		__builtin_trap();
	for (size_t i = 0; i < route.count; i++) {
		const struct dns_target *t = &route.targets[i];
		if (t->addr_count == 0 || t->addr_count > DNS_TARGET_ADDRS ||
		    (i > 0 && route.targets[i - 1].pref > t->pref))
			__builtin_trap();
		for (size_t k = 1; k < t->addr_count; k++)
			if (t->addrs[k - 1].family == AF_INET && t->addrs[k].family == AF_INET6)
				__builtin_trap();   /* IPv6 first */
	}
	return 0;
}
