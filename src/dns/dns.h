#ifndef PB_DNS_DNS_H
#define PB_DNS_DNS_H
/* Finding the next hop of outbound mail through DNS, without blocking.
 *
 * A delivery driver asks for a domain's route (dns_route_lookup: MX, then
 * the hosts' AAAA and A records) or for one configured host's addresses
 * (dns_host_lookup, "[host]" semantics: no MX) and is answered later by a
 * callback carrying a struct dns_route: either an ordered list of targets
 * to try one after the other, or one failure saying whether to retry
 * (temporary) or bounce (permanent), with the RFC 3463 enhanced status
 * code and a text for the log and the bounce. The rules (RFC 5321 5.1,
 * RFC 7505) are in docs/delivery.md.
 *
 * The resolver is a swappable part (a small vtable, dns_private.h); the
 * one we have is c-ares (dns_cares_new). It owns no event loop: it tells
 * its owner through struct dns_io which descriptors to watch and when to
 * wake it, and the owner calls dns_process() and dns_timeout() from its
 * loop (src/server/serve_dns.h binds that to libevent). Everything runs on
 * the owner's thread; a resolver is not shared between threads. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/config.h"

#define DNS_NAME_MAX 253        /* a host name in text, without the final dot */
#define DNS_TARGETS_MAX 10      /* MX hosts kept (the most preferred ones) */
#define DNS_FAMILY_ADDRS 4      /* addresses kept per host and address family */
#define DNS_TARGET_ADDRS (2 * DNS_FAMILY_ADDRS)

/* One address of a target: family AF_INET6 (16 bytes) or AF_INET (the
 * first 4 bytes), network byte order. */
struct dns_addr {
	int family;
	unsigned char bytes[16];
};

/* One host to try: its name (lower case; a numeric host or an address
 * literal as it was given, brackets included), its MX preference (0 for
 * an implicit MX or a configured host) and its addresses, IPv6 first,
 * then IPv4 (docs/delivery.md says why), each family in random order. */
struct dns_target {
	char host[DNS_NAME_MAX + 1];
	unsigned pref;
	size_t addr_count;            /* >= 1: a host without one is left out */
	struct dns_addr addrs[DNS_TARGET_ADDRS];
};

enum dns_route_status {
	DNS_ROUTE_OK,         /* count >= 1 targets, most preferred first */
	DNS_ROUTE_TEMPFAIL,   /* retry later (4.x.x): DNS did not answer, SERVFAIL */
	DNS_ROUTE_PERMFAIL,   /* bounce now (5.x.x): NXDOMAIN, null MX, loop */
};

struct dns_route {
	enum dns_route_status status;
	/* RFC 3463 code of a failure ("5.1.10", "4.4.3"); "" when OK. */
	char enhanced[12];
	/* A failure in words for the log and the bounce, e.g. "domain x.test
	 * does not accept mail (null MX, RFC 7505)"; "" when OK. */
	char text[384];
	size_t count;
	struct dns_target targets[DNS_TARGETS_MAX];
};

/* --- the owner's side: the event loop ------------------------------- */

/* How the resolver asks its owner for events. Both may be called from
 * inside any dns_* function (including dns_process and dns_timeout). */
struct dns_io {
	/* Watch fd for readability and/or writability and call dns_process()
	 * when it is ready; read == write == false: forget fd (it is about to
	 * be closed). A later call for the same fd replaces the earlier. */
	void (*watch)(void *ctx, int fd, bool read, bool write);
	/* Call dns_timeout() once after ms milliseconds (0: as soon as the
	 * loop can); replaces the earlier request; ms < 0: no call wanted. */
	void (*timer)(void *ctx, long ms);
	void *ctx;
};

struct dns_resolver;

struct dns_options {
	/* Servers to ask, in order; count 0: those of /etc/resolv.conf
	 * (read once, by dns_cares_new). */
	const struct listen_addr *servers;
	size_t server_count;
	/* Per try and server, milliseconds (0: 2000), and tries per server
	 * (0: 2). A silent DNS becomes a temporary failure after about
	 * timeout_ms * tries * servers (c-ares doubles the timeout between
	 * rounds of tries). */
	unsigned timeout_ms;
	unsigned tries;
};

/* The c-ares resolver. io is copied. Returns 0, or -1 with error_r (a
 * static or thread-local text) when c-ares could not start. */
int dns_cares_new(const struct dns_options *opt, const struct dns_io *io,
		  struct dns_resolver **resolver_r, const char **error_r);
/* Ends every lookup still pending: those not cancelled get their callback
 * with a temporary failure ("resolver closed"). Not from inside a callback
 * of this resolver. Sets *resolver to NULL. */
void dns_resolver_free(struct dns_resolver **resolver);
/* fd (watched through dns_io) is ready. */
void dns_process(struct dns_resolver *r, int fd, bool readable, bool writable);
/* The time asked through dns_io.timer has come. */
void dns_timeout(struct dns_resolver *r);

/* --- the delivery driver's side -------------------------------------- */

struct dns_lookup;

/* Answers a lookup exactly once, from inside dns_process or dns_timeout
 * (never from inside the call that started it). route is valid only
 * during the call (copy what is kept); the lookup is gone after it. */
typedef void dns_route_cb(void *ctx, const struct dns_route *route);

/* The route to a mail domain (RFC 5321 5.1): its MX hosts by preference,
 * in random order among equal ones, the domain itself when it has no MX
 * (implicit MX), a permanent 5.1.10 for a null MX (RFC 7505), 5.1.2 for a
 * domain that does not exist, and 4.4.3 when DNS fails for now. MX hosts
 * at or after own_hostname ([server] hostname; NULL or "": none) are
 * left out, and 5.4.6 when that leaves nothing ("loops back to myself").
 * domain: a DNS name (any case, an optional final dot), or an address
 * literal ("[192.0.2.1]", "[IPv6:2001:db8::1]", RFC 5321 4.1.3), which is
 * its own one target (no DNS, no own-name check). Returns the lookup, or
 * NULL when out of memory (nothing is called then); a bad domain name is
 * answered by the callback (5.1.2). */
struct dns_lookup *dns_route_lookup(struct dns_resolver *r, const char *domain,
				    const char *own_hostname, dns_route_cb *cb, void *ctx);

/* The addresses of one configured next hop ([delivery] relay, [routes]),
 * as Postfix treats "[host]": AAAA and A, never MX. host: a name, a
 * numeric IPv4 or IPv6 address, or either in brackets; a numeric one is
 * answered without DNS (still through the callback). A name without an
 * address is a temporary 4.4.4: the configuration, not the mail, is at
 * fault, so the mail waits for the administrator. */
struct dns_lookup *dns_host_lookup(struct dns_resolver *r, const char *host,
				   dns_route_cb *cb, void *ctx);

/* Forgets the callback of a lookup that has not been answered; the lookup
 * finishes its queries quietly. Sets *lookup to NULL. */
void dns_lookup_cancel(struct dns_lookup **lookup);

/* Writes addr as text ("192.0.2.1", "2001:db8::1") into out; returns out. */
const char *dns_addr_str(const struct dns_addr *addr, char *out, size_t outsize);

#endif
