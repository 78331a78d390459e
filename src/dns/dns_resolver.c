/* The part of a resolver that does not depend on its implementation: the
 * owner's entry points and the deferred calls. */
#include <stdlib.h>

#include "dns/dns_private.h"

struct dns_call {
	void (*fn)(void *ctx);
	void *ctx;
	struct dns_call *next;
};

void dns_resolver_init(struct dns_resolver *r, const struct dns_resolver_ops *ops,
		       const struct dns_io *io)
{
	r->ops = ops;
	r->io = *io;
	r->calls = NULL;
	r->calls_tail = &r->calls;
	r->closing = false;
}

int dns_call_later(struct dns_resolver *r, void (*fn)(void *ctx), void *ctx)
{
	struct dns_call *c = malloc(sizeof *c);
	if (c == NULL)
		return -1;
	c->fn = fn;
	c->ctx = ctx;
	c->next = NULL;
	*r->calls_tail = c;
	r->calls_tail = &c->next;
	dns_timer_update(r);
	return 0;
}

void dns_timer_update(struct dns_resolver *r)
{
	if (r->closing)
		return;
	r->io.timer(r->io.ctx, r->calls != NULL ? 0 : r->ops->next_timeout(r));
}

/* Runs the calls queued so far; those they queue wait for the next round,
 * so a chain of deferrals cannot starve the loop. */
static void run_calls(struct dns_resolver *r)
{
	struct dns_call *c = r->calls;
	r->calls = NULL;
	r->calls_tail = &r->calls;
	while (c != NULL) {
		struct dns_call *next = c->next;
		c->fn(c->ctx);
		free(c);
		c = next;
	}
}

void dns_process(struct dns_resolver *r, int fd, bool readable, bool writable)
{
	r->ops->process(r, fd, readable, writable);
	dns_timer_update(r);
}

void dns_timeout(struct dns_resolver *r)
{
	run_calls(r);
	r->ops->timeout(r);
	dns_timer_update(r);
}

void dns_resolver_free(struct dns_resolver **resolver)
{
	struct dns_resolver *r = *resolver;
	if (r == NULL)
		return;
	*resolver = NULL;
	r->io.timer(r->io.ctx, -1);
	r->closing = true;
	r->ops->cancel_all(r);
	/* Every query started from now on is deferred with a failure, so
	 * each lookup ends after a bounded number of rounds. */
	while (r->calls != NULL)
		run_calls(r);
	r->ops->destroy(r);
}
