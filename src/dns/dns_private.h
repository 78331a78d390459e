#ifndef PB_DNS_DNS_PRIVATE_H
#define PB_DNS_DNS_PRIVATE_H
/* Inside src/dns: the resolver vtable (STYLE.md 8) that an implementation
 * (dns_cares.c) fills, and the base every implementation shares: calls
 * deferred to the next dns_timeout(), so that no answer is ever given
 * from inside the call that asked for it. */

#include "dns/dns.h"
#include "dns/dns_answer.h"

/* Answers one query exactly once. abuf (alen bytes) is the whole DNS
 * message when rc is DNS_RC_OK (NULL otherwise), valid during the call;
 * why: a static text for DNS_RC_TEMP ("timeout", "SERVFAIL", ...). */
typedef void dns_answer_cb(void *ctx, enum dns_rcode rc, const char *why,
			   const unsigned char *abuf, size_t alen);

struct dns_resolver_ops {
	/* Starts a query of name (a checked host name) for type; cb is
	 * called later, from dns_process/dns_timeout (or from
	 * dns_resolver_free). Returns -1 when out of memory (no call then). */
	int (*query)(struct dns_resolver *r, const char *name, enum dns_type type,
		     dns_answer_cb *cb, void *ctx);
	void (*process)(struct dns_resolver *r, int fd, bool readable, bool writable);
	/* Handles expired timers of queries. */
	void (*timeout)(struct dns_resolver *r);
	/* Milliseconds to the next timer of the implementation, -1: none. */
	long (*next_timeout)(struct dns_resolver *r);
	/* Answers every pending query now (DNS_RC_TEMP "resolver closed");
	 * r->closing is already set, so a query started from such an answer
	 * is deferred with the same answer. */
	void (*cancel_all)(struct dns_resolver *r);
	/* Frees the implementation, r included. Nothing is pending. */
	void (*destroy)(struct dns_resolver *r);
};

struct dns_call;

/* The start of every implementation's struct. */
struct dns_resolver {
	const struct dns_resolver_ops *ops;
	struct dns_io io;
	struct dns_call *calls;        /* deferred, in order */
	struct dns_call **calls_tail;
	bool closing;
};

/* Sets up the base of a new resolver. */
void dns_resolver_init(struct dns_resolver *r, const struct dns_resolver_ops *ops,
		       const struct dns_io *io);
/* Runs fn(ctx) from the next dns_timeout() (asking the owner for one at
 * once). Returns -1 when out of memory (fn is not run then). */
int dns_call_later(struct dns_resolver *r, void (*fn)(void *ctx), void *ctx);
/* Tells the owner when to call dns_timeout() next; call after anything
 * that may have changed the implementation's timers. */
void dns_timer_update(struct dns_resolver *r);

#endif
