/* DNS answers in wire format into records, with c-ares's parsers (they
 * need no channel, so this stays pure and fuzzable). */
#include <arpa/inet.h>
#include <ares.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "dns/dns_answer.h"

/* c-ares takes an int length; a DNS message is at most 65535 bytes. */
static int answer_len(size_t alen)
{
	return alen > 65535 ? -1 : (int)alen;
}

/* Keeps the lowest preferences: the new record replaces the worst kept
 * one when the table is full and it is better. */
static void mx_keep(struct dns_mx *mx, size_t *count, unsigned pref, const char *host)
{
	size_t at = *count;
	if (at == DNS_MX_MAX) {
		size_t worst = 0;
		for (size_t i = 1; i < DNS_MX_MAX; i++)
			if (mx[i].pref > mx[worst].pref)
				worst = i;
		if (mx[worst].pref <= pref)
			return;
		at = worst;
	} else {
		(*count)++;
	}
	mx[at].pref = pref;
	/* A longer name cannot be a host name: keep it recognisably bad
	 * rather than cut into another, valid one. */
	if (strlen(host) > DNS_NAME_MAX)
		host = "\\too-long";
	memcpy(mx[at].host, host, strlen(host) + 1);
}

int dns_parse_mx(const unsigned char *abuf, size_t alen, struct dns_mx *mx, size_t *count_r)
{
	*count_r = 0;
	int len = answer_len(alen);
	if (len < 0)
		return -1;
	struct ares_mx_reply *head = NULL;
	int st = ares_parse_mx_reply(abuf, len, &head);
	if (st == ARES_ENODATA)
		return 0;
	if (st != ARES_SUCCESS)
		return -1;
	for (struct ares_mx_reply *m = head; m != NULL; m = m->next) {
		/* c-ares writes the root as "" (some versions "."). */
		const char *host = strcmp(m->host, ".") == 0 ? "" : m->host;
		mx_keep(mx, count_r, m->priority, host);
	}
	ares_free_data(head);
	return 0;
}

int dns_parse_addrs(const unsigned char *abuf, size_t alen, int family,
		    struct dns_addr *addrs, size_t max, size_t *count_r)
{
	*count_r = 0;
	int len = answer_len(alen);
	if (len < 0 || max > 64)
		return -1;
	int n = (int)max, st;
	if (family == AF_INET) {
		struct ares_addrttl ttl[64];
		st = ares_parse_a_reply(abuf, len, NULL, ttl, &n);
		if (st == ARES_SUCCESS)
			for (int i = 0; i < n; i++) {
				addrs[i].family = AF_INET;
				memset(addrs[i].bytes, 0, sizeof addrs[i].bytes);
				memcpy(addrs[i].bytes, &ttl[i].ipaddr, 4);
			}
	} else {
		struct ares_addr6ttl ttl[64];
		st = ares_parse_aaaa_reply(abuf, len, NULL, ttl, &n);
		if (st == ARES_SUCCESS)
			for (int i = 0; i < n; i++) {
				addrs[i].family = AF_INET6;
				memcpy(addrs[i].bytes, &ttl[i].ip6addr, 16);
			}
	}
	if (st == ARES_ENODATA)
		return 0;
	if (st != ARES_SUCCESS || n < 0 || (size_t)n > max)
		return -1;
	*count_r = (size_t)n;
	return 0;
}

const char *dns_addr_str(const struct dns_addr *addr, char *out, size_t outsize)
{
	if (inet_ntop(addr->family, addr->bytes, out, (socklen_t)outsize) == NULL)
		snprintf(out, outsize, "?");
	return out;
}
