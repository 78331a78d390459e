/* One delivery attempt of a queued message (remote.h): its steps, its
 * recipients grouped by next hop, and the walk over each hop's targets. */
#include "delivery/remote_private.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"

static size_t n_active;
bool remote_stopping;

size_t remote_active(void)
{
	return n_active;
}

void remote_stop(void)
{
	remote_stopping = true;
}

static void attempt_free(struct remote_attempt *a)
{
	for (size_t i = 0; a->res != NULL && i < a->res_count; i++)
		free(a->res[i].reply);
	free(a->res);
	free(a->groups);
	free(a->group_of);
	free(a->cfg);
	free(a);
	n_active--;
}

void remote_finish(struct remote_attempt *a)
{
	a->done(a->done_ctx, a->id, a->next_due, a->bounce_id[0] ? a->bounce_id : NULL);
	attempt_free(a);
}

void remote_set_result(struct remote_attempt *a, size_t i, int code, const char *reply,
		       bool decided)
{
	struct remote_result *r = &a->res[i];
	char *copy = strdup(reply);
	if (copy == NULL)
		return;   /* the recipient stays as it was: tried again later */
	free(r->reply);
	r->reply = copy;
	r->code = code;
	r->tried = true;
	r->decided = decided;
	snprintf(r->mta, sizeof r->mta, "%s", a->conn != NULL || a->client != NULL ? a->host : "");
	if (a->conn != NULL || a->client != NULL)
		snprintf(r->relay, sizeof r->relay, "%s[%s]:%u", a->host, a->addr, a->port);
	else
		snprintf(r->relay, sizeof r->relay, "none");
}

/* ---- step 2: groups ---- */

static const char *domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');
	return at != NULL ? at + 1 : "";
}

static void hop_of(const struct config *cfg, const char *domain, struct remote_group *g)
{
	memset(g, 0, sizeof *g);
	for (size_t r = 0; r < cfg->route_count; r++) {
		if (strcasecmp(cfg->routes[r].domain, domain) == 0) {
			g->kind = HOP_ROUTE;
			g->route = r;
			return;
		}
	}
	if (cfg->relay_count > 0) {
		g->kind = HOP_RELAY;
		return;
	}
	g->kind = HOP_MX;
	snprintf(g->domain, sizeof g->domain, "%s", domain);
	for (char *p = g->domain; *p != '\0'; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
}

static bool same_hop(const struct remote_group *x, const struct remote_group *y)
{
	if (x->kind != y->kind)
		return false;
	if (x->kind == HOP_ROUTE)
		return x->route == y->route;
	return x->kind == HOP_RELAY || strcmp(x->domain, y->domain) == 0;
}

static bool to_try(const struct queue_rcpt *r)
{
	return r->state == QUEUE_PENDING || r->state == QUEUE_DEFERRED;
}

static int make_groups(struct remote_attempt *a)
{
	size_t n = a->msg.env.rcpt_count;
	a->res = calloc(n ? n : 1, sizeof *a->res);
	a->res_count = a->res != NULL ? n : 0;
	a->groups = calloc(n ? n : 1, sizeof *a->groups);
	a->group_of = calloc(n ? n : 1, sizeof *a->group_of);
	if (a->res == NULL || a->groups == NULL || a->group_of == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct queue_rcpt *r = &a->msg.env.rcpts[i];
		a->group_of[i] = SIZE_MAX;
		if (!to_try(r))
			continue;
		struct remote_group g;
		hop_of(a->cfg, domain_of(r->addr), &g);
		size_t k = 0;
		while (k < a->group_count && !same_hop(&a->groups[k], &g))
			k++;
		if (k == a->group_count)
			a->groups[a->group_count++] = g;
		a->group_of[i] = k;
	}
	return 0;
}

/* ---- step 3: hops, targets, addresses ---- */

static void start_group(struct remote_attempt *a);
static void try_address(struct remote_attempt *a);

/* Every recipient of the group without a fate gets this one. */
static void settle_group(struct remote_attempt *a, int code, const char *reply)
{
	for (size_t i = 0; i < a->msg.env.rcpt_count; i++) {
		struct remote_result *r = &a->res[i];
		if (a->group_of[i] != a->group_i || r->decided)
			continue;
		/* One that got an answer from some host keeps that answer. */
		if (!r->tried || code >= 500)
			remote_set_result(a, i, code, reply, true);
		r->decided = true;
	}
}

static void next_group(struct remote_attempt *a)
{
	a->group_i++;
	start_group(a);
}

static void route_cb(void *ctx, const struct dns_route *route);

/* Looks up the current hop; false when it could not start. */
static bool lookup_hop(struct remote_attempt *a)
{
	const struct remote_group *g = &a->groups[a->group_i];
	if (g->kind == HOP_MX)
		a->lookup = dns_route_lookup(a->rc->resolver, g->domain, a->cfg->hostname,
					     route_cb, a);
	else
		a->lookup = dns_host_lookup(a->rc->resolver, g->kind == HOP_ROUTE ?
					    a->cfg->routes[g->route].host :
					    a->cfg->relays[a->hop_i].host, route_cb, a);
	return a->lookup != NULL;
}

static bool more_relays(const struct remote_attempt *a)
{
	return a->groups[a->group_i].kind == HOP_RELAY && a->hop_i + 1 < a->cfg->relay_count;
}

static void route_cb(void *ctx, const struct dns_route *route)
{
	struct remote_attempt *a = ctx;
	a->lookup = NULL;
	if (route->status == DNS_ROUTE_OK) {
		a->route = *route;
		a->target_i = a->addr_i = 0;
		try_address(a);
		return;
	}
	bool perm = route->status == DNS_ROUTE_PERMFAIL;
	snprintf(a->last_error, sizeof a->last_error, "%d %s %s", perm ? 550 : 450,
		 route->enhanced, route->text);
	if (more_relays(a)) {
		a->hop_i++;
		if (lookup_hop(a))
			return;
	}
	settle_group(a, perm ? 550 : 450, a->last_error);
	next_group(a);
}

static bool group_open(const struct remote_attempt *a)
{
	for (size_t i = 0; i < a->msg.env.rcpt_count; i++) {
		if (a->group_of[i] == a->group_i && !a->res[i].decided)
			return true;
	}
	return false;
}

/* The next address of the route, the next smarthost, or the end. */
static void try_address(struct remote_attempt *a)
{
	while (group_open(a) && !remote_stopping) {
		if (a->target_i >= a->route.count) {
			if (more_relays(a)) {
				a->hop_i++;
				if (lookup_hop(a))
					return;
			}
			break;
		}
		if (a->addr_i >= a->route.targets[a->target_i].addr_count) {
			a->target_i++;
			a->addr_i = 0;
			continue;
		}
		if (remote_session_start(a) == 0)
			return;
		a->addr_i++;
	}
	/* No address gave every recipient its fate: the rest wait. */
	settle_group(a, 0, a->last_error[0] ? a->last_error : "450 4.4.1 no answer from any host");
	next_group(a);
}

void remote_next_address(struct remote_attempt *a)
{
	a->addr_i++;
	try_address(a);
}

/* ---- steps 1 and 4 on the worker ---- */


static void start_group(struct remote_attempt *a)
{
	while (a->group_i < a->group_count && !remote_stopping) {
		a->hop_i = 0;
		a->last_error[0] = '\0';
		if (lookup_hop(a))
			return;
		settle_group(a, 451, "451 4.3.0 out of memory");
		a->group_i++;
	}
	remote_record(a);
}

static void open_run(struct worker_job *job)
{
	struct remote_attempt *a = (struct remote_attempt *)job;
	a->opened = queue_open(a->cfg->data_dir, a->id, false, &a->msg, &a->error) == 0;
	a->open_errno = errno;
}

static void open_done(struct worker_job *job)
{
	struct remote_attempt *a = (struct remote_attempt *)job;
	if (!a->opened) {
		bool locked = a->open_errno == EWOULDBLOCK;
		if (!locked && a->open_errno != ENOENT)
			log_err("delivery %s: %s", a->id, a->error ? a->error : "cannot open");
		/* Someone else holds it (postbox queue, another attempt): later. */
		a->next_due = locked ? a->now + 60 : INT64_MAX;
		remote_finish(a);
		return;
	}
	if (make_groups(a) < 0) {
		log_err("delivery %s: out of memory", a->id);
		a->group_count = 0;
	}
	start_group(a);
}

int remote_deliver(const struct remote_context *rc, const struct config *cfg,
		   const struct queue_policy *policy, const char *id, int64_t now,
		   remote_done_fn *done, void *ctx)
{
	struct remote_attempt *a = calloc(1, sizeof *a);
	if (a == NULL)
		return -1;
	a->cfg = malloc(sizeof *a->cfg);
	if (a->cfg == NULL) {
		free(a);
		return -1;
	}
	*a->cfg = *cfg;
	a->rc = rc;
	a->policy = policy;
	snprintf(a->id, sizeof a->id, "%s", id);
	a->now = now;
	a->done = done;
	a->done_ctx = ctx;
	a->msg.msg_fd = -1;
	a->job.run = open_run;
	a->job.done = open_done;
	n_active++;
	worker_submit(rc->pool, &a->job);
	return 0;
}

