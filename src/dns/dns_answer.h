#ifndef PB_DNS_DNS_ANSWER_H
#define PB_DNS_DNS_ANSWER_H
/* The pure half of routing: DNS answers (wire format) into records, and
 * records into a struct dns_route by the rules of RFC 5321 5.1 and
 * RFC 7505. No I/O and no resolver here, so the unit tests and the fuzzer
 * (tests/fuzz/fuzz_dns_answer.c) drive exactly what dns_route.c runs. */

#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"

enum dns_type { DNS_T_A = 1, DNS_T_MX = 15, DNS_T_AAAA = 28 };

/* What a query came back with. A malformed answer counts as DNS_RC_TEMP
 * (the next try may get a good one). */
enum dns_rcode {
	DNS_RC_OK,        /* NOERROR with records */
	DNS_RC_NODATA,    /* NOERROR, the name exists but has no such record */
	DNS_RC_NXDOMAIN,  /* the name does not exist */
	DNS_RC_TEMP,      /* SERVFAIL, REFUSED, timeout, no server, bad answer */
};

/* MX records read from one answer: the lowest preference values are kept. */
#define DNS_MX_MAX 32

/* host "" is the root, i.e. a null MX (RFC 7505). */
struct dns_mx {
	unsigned pref;
	char host[DNS_NAME_MAX + 1];
};

/* Reads the MX records of an answer (following a CNAME at the top, as
 * the server put it there) into mx[0..*count_r), at most DNS_MX_MAX, the
 * ones with the lowest preference when there are more. Host names are
 * copied as c-ares decodes them (checked later, by dns_mx_order). Returns
 * 0 (count 0: no MX in the answer), or -1 when the answer is malformed. */
int dns_parse_mx(const unsigned char *abuf, size_t alen, struct dns_mx *mx, size_t *count_r);

/* Reads up to max addresses of family (AF_INET: A records; AF_INET6:
 * AAAA) from an answer, following its CNAME chain. Returns 0 (count 0:
 * none), or -1 when the answer is malformed. */
int dns_parse_addrs(const unsigned char *abuf, size_t alen, int family,
		    struct dns_addr *addrs, size_t max, size_t *count_r);

/* A uniform random number in [0, bound) (bound >= 1). */
typedef uint32_t dns_random_fn(void *ctx, uint32_t bound);
/* arc4random_uniform, for production. */
uint32_t dns_random_system(void *ctx, uint32_t bound);

/* Fills route with a permanent or temporary failure. */
void dns_route_fail(struct dns_route *route, enum dns_route_status status,
		    const char *enhanced, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* The MX walk of RFC 5321 5.1 for domain's MX records (count of them,
 * count > 0; rearranged in place): a lone null MX (root target, RFC 7505
 * section 3; also several and nothing else) fails with 5.1.10; a null
 * MX among real ones, a host that is not a valid host name and a repeat
 * of a host are dropped; the rest sorted by preference, random among
 * equal ones (rnd); when own_hostname (may be NULL) is among them, it and
 * every host of equal or higher preference value go, and 5.4.6 when none
 * is left. At most DNS_TARGETS_MAX hosts are kept. Returns the number of
 * hosts in mx[0..), lower-cased, or 0 with route holding the failure. */
size_t dns_mx_order(struct dns_mx *mx, size_t count, const char *domain,
		    const char *own_hostname, dns_random_fn *rnd, void *rctx,
		    struct dns_route *route);

/* The outcome of one host's AAAA and A queries; index 0 is AAAA, 1 is A. */
struct dns_host_answer {
	enum dns_rcode rc[2];
	const char *why[2];             /* static text of a DNS_RC_TEMP */
	size_t count[2];
	struct dns_addr addrs[2][DNS_FAMILY_ADDRS];
};
#define DNS_FAM_V6 0
#define DNS_FAM_V4 1

/* How dns_route_build judges hosts without any address. */
enum dns_route_kind {
	DNS_KIND_MX,          /* hosts from MX records of domain */
	DNS_KIND_IMPLICIT,    /* domain itself, it has no MX */
	DNS_KIND_HOST,        /* a configured next hop: no address is 4.4.4 */
};

/* Makes the route from hosts[0..count) (in order) and their answers:
 * each host with an address becomes a target, IPv6 addresses first, each
 * family shuffled (rnd). With no target at all: a temporary 4.4.3 when
 * some query failed for now, else a permanent 5.4.4 (or 5.1.2 for an
 * implicit MX whose domain vanished between the queries, and a temporary
 * 4.4.4 for DNS_KIND_HOST). route is overwritten. */
void dns_route_build(struct dns_route *route, enum dns_route_kind kind, const char *domain,
		     const struct dns_mx *hosts, const struct dns_host_answer *answers,
		     size_t count, dns_random_fn *rnd, void *rctx);

#endif
