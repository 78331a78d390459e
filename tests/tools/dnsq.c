/* dnsq: the DNS route lookup of src/dns on a libevent loop (the
 * server's binding, src/server/serve_dns.c), for the integration tests.
 * Built in the test tree only; not installed.
 *
 *   dnsq [-s ADDR[:PORT]]... [-t MS] [-T TRIES] [-o OWN_HOSTNAME] [-n N] [-H] [-C] [-F]
 *        NAME...
 *
 * Starts N (default 1) lookups of every NAME at once (-H: dns_host_lookup,
 * else dns_route_lookup) and prints, in the order they were started:
 *
 *   lookup NAME
 *   target PREF HOST ADDR ADDR...
 *   status ok | status tempfail 4.4.3 TEXT | status permfail 5.1.10 TEXT
 *   answered K         (K: 0 for the first answer to come, 1 the next...)
 *
 * -C: cancel every second lookup at once (printed "cancelled"); -F: free
 * the resolver before the loop runs (pending lookups end "tempfail").
 * -s: the DNS servers ([dns] servers; none: /etc/resolv.conf); -t, -T: the
 * c-ares timeout per try and tries. Exit 0 when every lookup was answered,
 * 2 on bad usage or a resolver that does not start. */
#include <event2/event.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns/dns.h"
#include "lib/config_values.h"
#include "server/serve_dns.h"

struct result {
	const char *name;
	bool done;
	char *text;           /* the printed block */
	size_t len;
};

static size_t left, answered;

static void on_route(void *ctx, const struct dns_route *route)
{
	struct result *res = ctx;
	FILE *f = open_memstream(&res->text, &res->len);
	if (f == NULL)
		abort();
	fprintf(f, "lookup %s\n", res->name);
	for (size_t i = 0; i < route->count; i++) {
		const struct dns_target *t = &route->targets[i];
		fprintf(f, "target %u %s", t->pref, t->host);
		for (size_t k = 0; k < t->addr_count; k++) {
			char a[64];
			fprintf(f, " %s", dns_addr_str(&t->addrs[k], a, sizeof a));
		}
		fputc('\n', f);
	}
	static const char *const st[] = { "ok", "tempfail", "permfail" };
	fprintf(f, "status %s", st[route->status]);
	if (route->status != DNS_ROUTE_OK)
		fprintf(f, " %s %s", route->enhanced, route->text);
	fprintf(f, "\nanswered %zu\n", answered++);
	fclose(f);
	res->done = true;
	left--;
}

static int usage(void)
{
	fprintf(stderr, "usage: dnsq [-s ADDR[:PORT]]... [-t MS] [-T TRIES] [-o OWN] "
			"[-n N] [-H] [-C] [-F] NAME...\n");
	return 2;
}

struct args {
	struct listen_addr servers[CONFIG_MAX_DNS];
	struct dns_options opt;
	const char *own;
	bool host_mode, cancel, free_early;
	unsigned long repeat;
	char **names;
	size_t name_count;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	const char *err;
	int c;
	a->opt.servers = a->servers;
	a->repeat = 1;
	while ((c = getopt(argc, argv, "s:t:T:o:n:HCF")) != -1) {
		switch (c) {
		case 's':
			if (a->opt.server_count == CONFIG_MAX_DNS ||
			    cfgval_addr_port(optarg, 53, &a->servers[a->opt.server_count],
					     &err) < 0)
				return -1;
			a->opt.server_count++;
			break;
		case 't': a->opt.timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'T': a->opt.tries = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'o': a->own = optarg; break;
		case 'n': a->repeat = strtoul(optarg, NULL, 10); break;
		case 'H': a->host_mode = true; break;
		case 'C': a->cancel = true; break;
		case 'F': a->free_early = true; break;
		default: return -1;
		}
	}
	if (optind >= argc || a->repeat == 0 || a->repeat > 1000)
		return -1;
	a->names = argv + optind;
	a->name_count = (size_t)(argc - optind);
	return 0;
}

/* Starts every lookup (cancelling every second one with -C). */
static int start_lookups(const struct args *a, struct dns_resolver *r, struct result *res,
			 size_t n)
{
	static const char cancelled[] = "cancelled\n";
	for (size_t i = 0; i < n; i++) {
		res[i].name = a->names[i % a->name_count];
		struct dns_lookup *l = a->host_mode
			? dns_host_lookup(r, res[i].name, on_route, &res[i])
			: dns_route_lookup(r, res[i].name, a->own, on_route, &res[i]);
		if (l == NULL)
			return -1;
		left++;
		if (res[i].done) {
			fprintf(stderr, "dnsq: answered from inside the lookup call\n");
			return -1;
		}
		if (a->cancel && i % 2 == 1) {
			dns_lookup_cancel(&l);
			if (asprintf(&res[i].text, "lookup %s\n%s", res[i].name, cancelled) < 0)
				return -1;
			res[i].len = strlen(res[i].text);
			left--;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct args a = { 0 };
	const char *err;
	if (parse_args(argc, argv, &a) < 0)
		return usage();
	struct event_base *base = event_base_new();
	struct serve_dns *sd;
	if (base == NULL || serve_dns_new(base, &a.opt, &sd, &err) < 0) {
		fprintf(stderr, "dnsq: %s\n", base ? err : "no event base");
		return 2;
	}
	size_t n = a.name_count * a.repeat;
	struct result *res = calloc(n, sizeof *res);
	if (res == NULL || start_lookups(&a, serve_dns_resolver(sd), res, n) < 0)
		return 2;
	if (a.free_early)
		serve_dns_free(&sd);
	while (left > 0 && event_base_loop(base, EVLOOP_ONCE) == 0)
		;
	for (size_t i = 0; i < n; i++) {
		if (res[i].text != NULL)
			fwrite(res[i].text, 1, res[i].len, stdout);
		free(res[i].text);
	}
	serve_dns_free(&sd);
	event_base_free(base);
	free(res);
	return left == 0 ? 0 : 2;
}
