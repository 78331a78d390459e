#ifndef PB_SERVER_SERVE_DNS_H
#define PB_SERVER_SERVE_DNS_H
/* A DNS resolver (dns/dns.h) on a libevent loop: the binding of struct
 * dns_io to events. The resolver's sockets and its one timer become
 * events of base; their callbacks call dns_process and dns_timeout. */

#include "dns/dns.h"

struct event_base;
struct serve_dns;

/* Starts a c-ares resolver on base with opt (dns_cares_new). Returns 0,
 * or -1 with error_r. */
int serve_dns_new(struct event_base *base, const struct dns_options *opt,
		  struct serve_dns **sd_r, const char **error_r);
/* The resolver, for dns_route_lookup and dns_host_lookup. */
struct dns_resolver *serve_dns_resolver(struct serve_dns *sd);
/* Frees the resolver (its pending lookups are answered, see
 * dns_resolver_free), then the events. Sets *sd to NULL. */
void serve_dns_free(struct serve_dns **sd);

#endif
