#include "lib/config_values.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_sep(char c)
{
	return c == ' ' || c == '\t' || c == ',';
}

int cfgval_next_token(const char **p, char *tok)
{
	const char *s = *p;
	while (is_sep(*s))
		s++;
	if (*s == '\0') {
		*p = s;
		return 0;
	}
	size_t n = 0;
	while (s[n] != '\0' && !is_sep(s[n]))
		n++;
	*p = s + n;
	if (n >= CFGVAL_TOKEN_MAX) {
		tok[0] = '\0';
		return -1;
	}
	memcpy(tok, s, n);
	tok[n] = '\0';
	return 1;
}

int cfgval_bool(const char *s, bool *value_r, const char **error_r)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*value_r = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*value_r = false;
			return 0;
		}
	}
	*error_r = "expected yes or no";
	return -1;
}

/* Leading decimal digits of s as a number; *end_r points after them. Our
 * own loop rather than strtoull, which accepts signs and blanks. */
static int parse_digits(const char *s, uint64_t *value_r, const char **end_r)
{
	uint64_t v = 0;
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*value_r = v;
	*end_r = p;
	return 0;
}

int cfgval_count(const char *s, uint64_t min, uint64_t max, uint64_t *value_r,
		 const char **error_r)
{
	const char *end;
	uint64_t v;
	if (parse_digits(s, &v, &end) < 0 || *end != '\0') {
		*error_r = "expected a whole number";
		return -1;
	}
	if (v < min || v > max) {
		*error_r = "number out of range";
		return -1;
	}
	*value_r = v;
	return 0;
}

int cfgval_size(const char *s, uint64_t min, uint64_t max, uint64_t *value_r,
		const char **error_r)
{
	const char *end;
	uint64_t v, mult = 1;
	if (parse_digits(s, &v, &end) < 0) {
		*error_r = "expected a size in bytes with an optional k, M or G suffix (e.g. 50M)";
		return -1;
	}
	switch (*end) {
	case '\0': break;
	case 'k': case 'K': mult = 1024; end++; break;
	case 'm': case 'M': mult = 1024 * 1024; end++; break;
	case 'g': case 'G': mult = 1024 * 1024 * 1024; end++; break;
	default: end = "?"; break;
	}
	if (*end != '\0') {
		*error_r = "expected a size in bytes with an optional k, M or G suffix (e.g. 50M)";
		return -1;
	}
	if (v > max / mult || v * mult < min || v * mult > max) {
		*error_r = "size out of range";
		return -1;
	}
	*value_r = v * mult;
	return 0;
}

static uint64_t unit_seconds(char c)
{
	switch (c) {
	case 's': return 1;
	case 'm': return 60;
	case 'h': return 3600;
	case 'd': return 86400;
	case 'w': return 7 * 86400;
	default: return 0;
	}
}

int cfgval_duration(const char *s, unsigned *secs_r, const char **error_r)
{
	uint64_t total = 0;
	const char *p = s;
	*error_r = "expected a duration such as 300, 30s, 5m, 2h, 5d or 1h30m";
	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		uint64_t v, unit = 1;
		if (parse_digits(p, &v, &p) < 0)
			return -1;
		if (*p != '\0') {
			unit = unit_seconds(*p++);
			if (unit == 0)
				return -1;
		} else if (total != 0) {
			return -1; /* "1h30" is ambiguous: minutes or seconds? */
		}
		if (v > (UINT_MAX - total) / unit) {
			*error_r = "duration too long";
			return -1;
		}
		total += v * unit;
	}
	if (total == 0) {
		*error_r = "a duration must be at least 1 second";
		return -1;
	}
	*secs_r = (unsigned)total;
	return 0;
}

int cfgval_port(const char *s, unsigned short *port_r, const char **error_r)
{
	uint64_t v;
	if (cfgval_count(s, 1, 65535, &v, error_r) < 0) {
		*error_r = "expected a port number 1-65535";
		return -1;
	}
	*port_r = (unsigned short)v;
	return 0;
}

static int check_label(const char *l, size_t n, const char **error_r)
{
	if (n == 0) {
		*error_r = "empty label (two dots in a row, or a leading dot)";
		return -1;
	}
	if (n > 63) {
		*error_r = "a label is longer than 63 characters";
		return -1;
	}
	if (l[0] == '-' || l[n - 1] == '-') {
		*error_r = "a label starts or ends with '-'";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)l[i];
		if ((unsigned char)c >= 0x80) {
			*error_r = "non-ASCII name: write it in its xn-- (IDNA A-label) form";
			return -1;
		}
		if (!isalnum(c) && c != '-') {
			*error_r = "a domain has only letters, digits, '-' and '.'";
			return -1;
		}
	}
	return 0;
}

int cfgval_domain(const char *s, char *out, size_t outsize, const char **error_r)
{
	size_t n = strlen(s);
	if (n > 0 && s[n - 1] == '.')
		n--; /* the root dot of "a.test." names the same domain */
	if (n == 0) {
		*error_r = "expected a domain name";
		return -1;
	}
	if (n > 253 || n >= outsize) {
		*error_r = "domain name too long";
		return -1;
	}
	size_t start = 0, last = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.')
			continue;
		if (check_label(s + start, i - start, error_r) < 0)
			return -1;
		last = start;
		start = i + 1;
	}
	/* An all-digit last label is an IPv4 address, or will be mistaken for one */
	size_t d = last;
	while (d < n && isdigit((unsigned char)s[d]))
		d++;
	if (d == n) {
		*error_r = "an IP address is not a domain name";
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
	return 0;
}

int cfgval_ip(const char *s, int *family_r, const char **error_r)
{
	unsigned char bin[16];
	if (inet_pton(AF_INET, s, bin) == 1) {
		*family_r = 4;
		return 0;
	}
	if (inet_pton(AF_INET6, s, bin) == 1) {
		*family_r = 6;
		return 0;
	}
	*error_r = "expected a numeric IPv4 or IPv6 address";
	return -1;
}

/* Splits "host:port" / "[v6]:port" / "host" into host (unbracketed) and
 * port text (NULL when absent). */
static int split_host_port(const char *s, char *host, size_t hostsize,
			   const char **port_r, bool *bracketed_r, const char **error_r)
{
	const char *h = s, *colon;
	size_t hn;
	*bracketed_r = s[0] == '[';
	if (*bracketed_r) {
		const char *close = strchr(s, ']');
		if (close == NULL || (close[1] != '\0' && close[1] != ':')) {
			*error_r = "expected [IPv6-address]:port";
			return -1;
		}
		h = s + 1;
		hn = (size_t)(close - h);
		colon = close[1] == ':' ? close + 1 : NULL;
	} else {
		colon = strchr(s, ':');
		if (colon != NULL && strchr(colon + 1, ':') != NULL) {
			*error_r = "an IPv6 address needs brackets, as in [::1]:25";
			return -1;
		}
		hn = colon != NULL ? (size_t)(colon - s) : strlen(s);
	}
	if (hn == 0 || hn >= hostsize) {
		*error_r = hn == 0 ? "address missing" : "address too long";
		return -1;
	}
	memcpy(host, h, hn);
	host[hn] = '\0';
	*port_r = colon != NULL ? colon + 1 : NULL;
	return 0;
}

int cfgval_addr_port(const char *s, unsigned short default_port,
		     struct listen_addr *addr_r, const char **error_r)
{
	const char *port;
	bool br;
	int family;
	/* With an optional port a bare IPv6 address is unambiguous */
	if (default_port != 0 && strlen(s) < sizeof addr_r->host &&
	    cfgval_ip(s, &family, error_r) == 0 && family == 6) {
		memcpy(addr_r->host, s, strlen(s) + 1);
		addr_r->port = default_port;
		return 0;
	}
	if (split_host_port(s, addr_r->host, sizeof addr_r->host, &port, &br, error_r) < 0)
		return -1;
	if (cfgval_ip(addr_r->host, &family, error_r) < 0) {
		*error_r = "expected a numeric address such as 0.0.0.0:25, 127.0.0.1:25 or [::]:25";
		return -1;
	}
	if (family == 6 && !br) {
		*error_r = "an IPv6 address needs brackets, as in [::1]:25";
		return -1;
	}
	if (port == NULL) {
		if (default_port == 0) {
			*error_r = "port missing: expected address:port, as in 0.0.0.0:25";
			return -1;
		}
		addr_r->port = default_port;
		return 0;
	}
	return cfgval_port(port, &addr_r->port, error_r);
}

int cfgval_host_port(const char *s, struct route *route_r, const char **error_r)
{
	const char *port;
	bool br;
	int family;
	char host[sizeof route_r->host];
	if (split_host_port(s, host, sizeof host, &port, &br, error_r) < 0)
		return -1;
	if (br) {
		if (cfgval_ip(host, &family, error_r) < 0 || family != 6) {
			*error_r = "expected an IPv6 address inside [ ]";
			return -1;
		}
		snprintf(route_r->host, sizeof route_r->host, "%s", host);
	} else if (cfgval_ip(host, &family, error_r) == 0) {
		snprintf(route_r->host, sizeof route_r->host, "%s", host);
	} else if (cfgval_domain(host, route_r->host, sizeof route_r->host, error_r) < 0) {
		*error_r = "expected host[:port] with a host name, IPv4 address or [IPv6 address]";
		return -1;
	}
	route_r->port = 0;
	if (port != NULL && cfgval_port(port, &route_r->port, error_r) < 0)
		return -1;
	return 0;
}

int cfgval_string(const char *s, char *out, size_t outsize, const char **error_r)
{
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++) {
		if (iscntrl((unsigned char)s[i])) {
			*error_r = "contains a control character";
			return -1;
		}
	}
	if (n >= outsize) {
		*error_r = "value too long";
		return -1;
	}
	memcpy(out, s, n + 1);
	return 0;
}
