/* dns/dns_answer.h: the MX walk of RFC 5321 5.1 (order, random among
 * equal preferences, our own name), the null MX of RFC 7505, the route's
 * address order and failures, and the wire parsers under them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "dns/dns_answer.h"

/* A fixed "random" source: returns *ctx % bound, then advances. */
static uint32_t rnd_seq(void *ctx, uint32_t bound)
{
	uint32_t *s = ctx;
	uint32_t v = *s % bound;
	*s = *s * 1103515245u + 12345u;
	return v;
}

static size_t set_mx(struct dns_mx *mx, const char *spec)
{
	/* "10 a.test,20 b.test" */
	size_t n = 0;
	char tmp[512];
	snprintf(tmp, sizeof tmp, "%s", spec);
	for (char *save = NULL, *tok = strtok_r(tmp, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		char *sp = strchr(tok, ' ');
		mx[n].pref = (unsigned)strtoul(tok, NULL, 10);
		snprintf(mx[n].host, sizeof mx[n].host, "%s", sp ? sp + 1 : "");
		n++;
	}
	return n;
}

static size_t order(struct dns_mx *mx, const char *spec, const char *own, uint32_t seed,
		    struct dns_route *route)
{
	size_t n = set_mx(mx, spec);
	memset(route, 0, sizeof *route);
	return dns_mx_order(mx, n, "d.test", own, rnd_seq, &seed, route);
}

static void test_preference_order(void **st)
{
	(void)st;
	struct dns_mx mx[DNS_MX_MAX];
	struct dns_route r;
	size_t n = order(mx, "30 c.test,10 A.Test.,20 b.test", NULL, 1, &r);
	assert_int_equal(n, 3);
	assert_string_equal(mx[0].host, "a.test");   /* lower-cased, final dot gone */
	assert_string_equal(mx[1].host, "b.test");
	assert_string_equal(mx[2].host, "c.test");
	assert_int_equal(mx[0].pref, 10);
}

static void test_equal_preference_random(void **st)
{
	(void)st;
	int first_e1 = 0, first_e2 = 0;
	for (uint32_t seed = 0; seed < 64; seed++) {
		struct dns_mx mx[DNS_MX_MAX];
		struct dns_route r;
		size_t n = order(mx, "10 e1.test,20 z.test,10 e2.test,5 a.test", NULL, seed, &r);
		assert_int_equal(n, 4);
		assert_string_equal(mx[0].host, "a.test");
		assert_string_equal(mx[3].host, "z.test");
		if (strcmp(mx[1].host, "e1.test") == 0)
			first_e1++;
		else if (strcmp(mx[1].host, "e2.test") == 0)
			first_e2++;
		assert_int_equal(mx[1].pref, 10);
		assert_int_equal(mx[2].pref, 10);
	}
	assert_int_equal(first_e1 + first_e2, 64);
	assert_true(first_e1 > 0 && first_e2 > 0);
}

static void test_null_mx(void **st)
{
	(void)st;
	struct dns_mx mx[DNS_MX_MAX];
	struct dns_route r;
	assert_int_equal(order(mx, "0 ", NULL, 1, &r), 0);
	assert_int_equal(r.status, DNS_ROUTE_PERMFAIL);
	assert_string_equal(r.enhanced, "5.1.10");
	assert_non_null(strstr(r.text, "d.test"));
	/* Only null ones, whatever their preference. */
	assert_int_equal(order(mx, "0 ,10 ", NULL, 1, &r), 0);
	assert_string_equal(r.enhanced, "5.1.10");
	/* A null MX among real ones (RFC 7505 says it must not be): the
	 * real ones are used. */
	assert_int_equal(order(mx, "0 ,10 mx.test", NULL, 1, &r), 1);
	assert_string_equal(mx[0].host, "mx.test");
}

static void test_bad_and_repeated_hosts(void **st)
{
	(void)st;
	struct dns_mx mx[DNS_MX_MAX];
	struct dns_route r;
	size_t n = order(mx, "10 bad_name.test,20 x.test,30 192.0.2.1,5 X.test,40 a\\.b.test",
			 NULL, 1, &r);
	assert_int_equal(n, 1);
	assert_string_equal(mx[0].host, "x.test");
	assert_int_equal(mx[0].pref, 5);   /* the better of its two */
	assert_int_equal(order(mx, "10 -x.test,20 192.0.2.1", NULL, 1, &r), 0);
	assert_int_equal(r.status, DNS_ROUTE_PERMFAIL);
	assert_string_equal(r.enhanced, "5.4.4");
}

static void test_own_hostname(void **st)
{
	(void)st;
	struct dns_mx mx[DNS_MX_MAX];
	struct dns_route r;
	/* RFC 5321 5.1: ourselves and every host of equal or higher value go. */
	size_t n = order(mx, "10 a.test,20 me.test,20 b.test,30 c.test,10 a2.test", "ME.test.",
			 7, &r);
	assert_int_equal(n, 2);
	assert_int_equal(mx[0].pref, 10);
	assert_int_equal(mx[1].pref, 10);
	/* We are the best: nothing left, the mail would loop. */
	assert_int_equal(order(mx, "10 me.test,20 b.test", "me.test", 1, &r), 0);
	assert_int_equal(r.status, DNS_ROUTE_PERMFAIL);
	assert_string_equal(r.enhanced, "5.4.6");
	assert_non_null(strstr(r.text, "loops back to myself"));
	/* Tied with the best: the same. */
	assert_int_equal(order(mx, "10 b.test,10 me.test", "me.test", 1, &r), 0);
	/* Not among them, or no name: everything stays. */
	assert_int_equal(order(mx, "10 b.test,20 c.test", "me.test", 1, &r), 2);
	assert_int_equal(order(mx, "10 b.test,20 me.test", NULL, 1, &r), 2);
	assert_int_equal(order(mx, "10 b.test,20 me.test", "", 1, &r), 2);
}

static void test_limits(void **st)
{
	(void)st;
	struct dns_mx mx[DNS_MX_MAX];
	struct dns_route r;
	char spec[2048] = "";
	for (int i = DNS_MX_MAX - 1; i >= 0; i--) {
		size_t len = strlen(spec);
		snprintf(spec + len, sizeof spec - len, "%s%d h%d.test", len ? "," : "", i, i);
	}
	size_t n = order(mx, spec, NULL, 1, &r);
	assert_int_equal(n, DNS_TARGETS_MAX);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(mx[i].pref, i);
}

static struct dns_addr addr(const char *s)
{
	struct dns_addr a = { 0 };
	a.family = strchr(s, ':') ? AF_INET6 : AF_INET;
	assert_int_equal(inet_pton(a.family, s, a.bytes), 1);
	return a;
}

static void answer_set(struct dns_host_answer *a, int fam, enum dns_rcode rc, const char *s1,
		       const char *s2)
{
	a->rc[fam] = rc;
	a->why[fam] = rc == DNS_RC_TEMP ? "timeout" : NULL;
	a->count[fam] = 0;
	if (s1)
		a->addrs[fam][a->count[fam]++] = addr(s1);
	if (s2)
		a->addrs[fam][a->count[fam]++] = addr(s2);
}

static void test_route_build(void **st)
{
	(void)st;
	struct dns_mx hosts[3];
	size_t n = set_mx(hosts, "10 a.test,20 b.test,30 c.test");
	struct dns_host_answer ans[3];
	memset(ans, 0, sizeof ans);
	answer_set(&ans[0], DNS_FAM_V6, DNS_RC_OK, "2001:db8::1", NULL);
	answer_set(&ans[0], DNS_FAM_V4, DNS_RC_OK, "192.0.2.1", "192.0.2.2");
	answer_set(&ans[1], DNS_FAM_V6, DNS_RC_NODATA, NULL, NULL);   /* no address: skipped */
	answer_set(&ans[1], DNS_FAM_V4, DNS_RC_NXDOMAIN, NULL, NULL);
	answer_set(&ans[2], DNS_FAM_V6, DNS_RC_TEMP, NULL, NULL);
	answer_set(&ans[2], DNS_FAM_V4, DNS_RC_OK, "192.0.2.3", NULL);
	struct dns_route r;
	uint32_t seed = 3;
	dns_route_build(&r, DNS_KIND_MX, "d.test", hosts, ans, n, rnd_seq, &seed);
	assert_int_equal(r.status, DNS_ROUTE_OK);
	assert_int_equal(r.count, 2);
	assert_string_equal(r.targets[0].host, "a.test");
	assert_int_equal(r.targets[0].addr_count, 3);
	assert_int_equal(r.targets[0].addrs[0].family, AF_INET6);   /* IPv6 first */
	assert_int_equal(r.targets[0].addrs[1].family, AF_INET);
	assert_string_equal(r.targets[1].host, "c.test");
	assert_int_equal(r.targets[1].pref, 30);

	/* Nothing anywhere, some of it for now: temporary. */
	answer_set(&ans[0], DNS_FAM_V6, DNS_RC_NXDOMAIN, NULL, NULL);
	answer_set(&ans[0], DNS_FAM_V4, DNS_RC_NXDOMAIN, NULL, NULL);
	answer_set(&ans[2], DNS_FAM_V4, DNS_RC_NODATA, NULL, NULL);
	dns_route_build(&r, DNS_KIND_MX, "d.test", hosts, ans, n, rnd_seq, &seed);
	assert_int_equal(r.status, DNS_ROUTE_TEMPFAIL);
	assert_string_equal(r.enhanced, "4.4.3");
	assert_int_equal(r.count, 0);
	/* Nothing, for sure: permanent for MX, 4.4.4 for a configured host. */
	answer_set(&ans[2], DNS_FAM_V6, DNS_RC_NODATA, NULL, NULL);
	dns_route_build(&r, DNS_KIND_MX, "d.test", hosts, ans, n, rnd_seq, &seed);
	assert_int_equal(r.status, DNS_ROUTE_PERMFAIL);
	assert_string_equal(r.enhanced, "5.4.4");
	dns_route_build(&r, DNS_KIND_HOST, "a.test", hosts, ans, 1, rnd_seq, &seed);
	assert_int_equal(r.status, DNS_ROUTE_TEMPFAIL);
	assert_string_equal(r.enhanced, "4.4.4");
	dns_route_build(&r, DNS_KIND_IMPLICIT, "a.test", hosts, ans, 1, rnd_seq, &seed);
	assert_int_equal(r.status, DNS_ROUTE_PERMFAIL);
	assert_string_equal(r.enhanced, "5.1.2");
}

/* --- wire format -------------------------------------------------------- */

struct msg {
	unsigned char b[4096];
	size_t len;
};

static void put(struct msg *m, const void *p, size_t n)
{
	assert_true(m->len + n <= sizeof m->b);
	if (n == 0)
		return;
	memcpy(m->b + m->len, p, n);
	m->len += n;
}

static void put16(struct msg *m, unsigned v)
{
	unsigned char b[2] = { (unsigned char)(v >> 8), (unsigned char)v };
	put(m, b, 2);
}

static void put_name(struct msg *m, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);
		unsigned char l = (unsigned char)n;
		put(m, &l, 1);
		put(m, name, n);
		name += n + (dot ? 1 : 0);
	}
	put(m, "", 1);
}

static void start(struct msg *m, const char *qname, unsigned qtype, unsigned ancount)
{
	m->len = 0;
	put16(m, 0x1234);
	put16(m, 0x8180);
	put16(m, 1);
	put16(m, ancount);
	put16(m, 0);
	put16(m, 0);
	put_name(m, qname);
	put16(m, qtype);
	put16(m, 1);
}

/* An RR whose RDATA is rdata (rlen bytes), or a name when rname. */
static void rr(struct msg *m, const char *owner, unsigned type, const void *rdata, size_t rlen,
	       const char *rname)
{
	put_name(m, owner);
	put16(m, type);
	put16(m, 1);
	put16(m, 0);
	put16(m, 300);
	if (rname) {
		struct msg tmp = { .len = 0 };
		put(&tmp, rdata, rlen);
		put_name(&tmp, rname);
		put16(m, (unsigned)tmp.len);
		put(m, tmp.b, tmp.len);
	} else {
		put16(m, (unsigned)rlen);
		put(m, rdata, rlen);
	}
}

static void test_parse_mx(void **st)
{
	(void)st;
	struct msg m;
	struct dns_mx mx[DNS_MX_MAX];
	size_t n;
	/* The domain is a CNAME; the MX records come after it. */
	start(&m, "alias.test", DNS_T_MX, 3);
	rr(&m, "alias.test", 5, NULL, 0, "real.test");
	rr(&m, "real.test", DNS_T_MX, "\x00\x14", 2, "mx2.real.test");
	rr(&m, "real.test", DNS_T_MX, "\x00\x0a", 2, "mx1.real.test");
	assert_int_equal(dns_parse_mx(m.b, m.len, mx, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(mx[0].pref, 20);
	assert_string_equal(mx[1].host, "mx1.real.test");
	/* RFC 7505: "0 ." arrives as the root, an empty host. */
	start(&m, "null.test", DNS_T_MX, 1);
	rr(&m, "null.test", DNS_T_MX, "\x00\x00\x00", 3, NULL);
	assert_int_equal(dns_parse_mx(m.b, m.len, mx, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(mx[0].pref, 0);
	assert_string_equal(mx[0].host, "");
	/* NOERROR without records; a cut answer. */
	start(&m, "none.test", DNS_T_MX, 0);
	assert_int_equal(dns_parse_mx(m.b, m.len, mx, &n), 0);
	assert_int_equal(n, 0);
	start(&m, "cut.test", DNS_T_MX, 1);
	rr(&m, "cut.test", DNS_T_MX, "\x00\x0a", 2, "mx.cut.test");
	assert_int_equal(dns_parse_mx(m.b, m.len - 4, mx, &n), -1);
	/* More records than kept: the lowest preferences stay. */
	start(&m, "many.test", DNS_T_MX, DNS_MX_MAX + 8);
	for (unsigned i = 0; i < DNS_MX_MAX + 8; i++) {
		unsigned char pref[2] = { 0, (unsigned char)(DNS_MX_MAX + 8 - i) };
		char host[32];
		snprintf(host, sizeof host, "h%u.test", i);
		rr(&m, "many.test", DNS_T_MX, pref, 2, host);
	}
	assert_int_equal(dns_parse_mx(m.b, m.len, mx, &n), 0);
	assert_int_equal(n, DNS_MX_MAX);
	for (size_t i = 0; i < n; i++)
		assert_true(mx[i].pref <= DNS_MX_MAX);
}

static void test_parse_addrs(void **st)
{
	(void)st;
	struct msg m;
	struct dns_addr a[DNS_FAMILY_ADDRS];
	size_t n;
	/* A CNAME chain of two links, then the address. */
	start(&m, "x.test", DNS_T_A, 3);
	rr(&m, "x.test", 5, NULL, 0, "y.test");
	rr(&m, "y.test", 5, NULL, 0, "z.test");
	rr(&m, "z.test", DNS_T_A, "\xc0\x00\x02\x07", 4, NULL);
	assert_int_equal(dns_parse_addrs(m.b, m.len, AF_INET, a, DNS_FAMILY_ADDRS, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(a[0].bytes, "\xc0\x00\x02\x07", 4);
	char s[64];
	assert_string_equal(dns_addr_str(&a[0], s, sizeof s), "192.0.2.7");
	/* An address of another name is not ours. */
	start(&m, "x.test", DNS_T_A, 1);
	rr(&m, "other.test", DNS_T_A, "\xc0\x00\x02\x07", 4, NULL);
	assert_int_equal(dns_parse_addrs(m.b, m.len, AF_INET, a, DNS_FAMILY_ADDRS, &n), 0);
	assert_int_equal(n, 0);
	/* AAAA, more than kept. */
	start(&m, "v6.test", DNS_T_AAAA, 6);
	for (int i = 0; i < 6; i++) {
		unsigned char ip[16] = { 0x20, 0x01, 0x0d, 0xb8 };
		ip[15] = (unsigned char)i;
		rr(&m, "v6.test", DNS_T_AAAA, ip, 16, NULL);
	}
	assert_int_equal(dns_parse_addrs(m.b, m.len, AF_INET6, a, DNS_FAMILY_ADDRS, &n), 0);
	assert_int_equal(n, DNS_FAMILY_ADDRS);
	assert_int_equal(a[1].family, AF_INET6);
	assert_string_equal(dns_addr_str(&a[1], s, sizeof s), "2001:db8::1");
	/* A record of a bad RDATA length gives no address (c-ares skips it). */
	start(&m, "bad.test", DNS_T_A, 1);
	rr(&m, "bad.test", DNS_T_A, "\xc0\x00\x02", 3, NULL);
	int rc = dns_parse_addrs(m.b, m.len, AF_INET, a, DNS_FAMILY_ADDRS, &n);
	assert_true(rc == -1 || (rc == 0 && n == 0));
	/* A cut answer. */
	start(&m, "cut.test", DNS_T_A, 1);
	rr(&m, "cut.test", DNS_T_A, "\xc0\x00\x02\x07", 4, NULL);
	assert_int_equal(dns_parse_addrs(m.b, m.len - 2, AF_INET, a, DNS_FAMILY_ADDRS, &n), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_preference_order),
		cmocka_unit_test(test_equal_preference_random),
		cmocka_unit_test(test_null_mx),
		cmocka_unit_test(test_bad_and_repeated_hosts),
		cmocka_unit_test(test_own_hostname),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_route_build),
		cmocka_unit_test(test_parse_mx),
		cmocka_unit_test(test_parse_addrs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
