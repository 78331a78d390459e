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

int main(int argc, char **argv)
{
	struct listen_addr servers[CONFIG_MAX_DNS];
	struct dns_options opt = { .servers = servers };
	const char *own = NULL, *err;
	bool host_mode = false, cancel = false, free_early = false;
	unsigned long repeat = 1;
	int c;
	while ((c = getopt(argc, argv, "s:t:T:o:n:HCF")) != -1) {
		switch (c) {
		case 's':
			if (opt.server_count == CONFIG_MAX_DNS ||
			    cfgval_addr_port(optarg, 53, &servers[opt.server_count], &err) < 0)
				return usage();
			opt.server_count++;
			break;
		case 't': opt.timeout_ms = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'T': opt.tries = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'o': own = optarg; break;
		case 'n': repeat = strtoul(optarg, NULL, 10); break;
		case 'H': host_mode = true; break;
		case 'C': cancel = true; break;
		case 'F': free_early = true; break;
		default: return usage();
		}
	}
	if (optind >= argc || repeat == 0 || repeat > 1000)
		return usage();
	struct event_base *base = event_base_new();
	struct serve_dns *sd;
	if (base == NULL || serve_dns_new(base, &opt, &sd, &err) < 0) {
		fprintf(stderr, "dnsq: %s\n", base ? err : "no event base");
		return 2;
	}
	size_t n = (size_t)(argc - optind) * repeat;
	struct result *res = calloc(n, sizeof *res);
	if (res == NULL)
		return 2;
	struct dns_resolver *r = serve_dns_resolver(sd);
	for (size_t i = 0; i < n; i++) {
		res[i].name = argv[optind + (int)(i % (size_t)(argc - optind))];
		struct dns_lookup *l = host_mode
			? dns_host_lookup(r, res[i].name, on_route, &res[i])
			: dns_route_lookup(r, res[i].name, own, on_route, &res[i]);
		if (l == NULL)
			return 2;
		left++;
		if (res[i].done) {
			fprintf(stderr, "dnsq: answered from inside the lookup call\n");
			return 2;
		}
		if (cancel && i % 2 == 1) {
			dns_lookup_cancel(&l);
			res[i].text = strdup("cancelled\n");
			res[i].len = strlen("cancelled\n");
			left--;
		}
	}
	if (free_early)
		serve_dns_free(&sd);
	while (left > 0 && event_base_loop(base, EVLOOP_ONCE) == 0)
		;
	for (size_t i = 0; i < n; i++) {
		if (res[i].text != NULL && strcmp(res[i].text, "cancelled\n") == 0)
			printf("lookup %s\n", res[i].name);
		if (res[i].text != NULL)
			fwrite(res[i].text, 1, res[i].len, stdout);
		free(res[i].text);
	}
	serve_dns_free(&sd);
	event_base_free(base);
	free(res);
	return left == 0 ? 0 : 2;
}
