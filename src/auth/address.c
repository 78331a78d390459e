#include "auth/address.h"

#include <string.h>

/* RFC 5322 atext minus '/', '%' and '!' (see address.h for why). */
static bool local_char_ok(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("#$&'*+-=?^_`{|}~", c) != NULL;
}

static bool local_valid(const char *s, size_t len)
{
	if (len == 0 || len > ADDRESS_LOCAL_MAX || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.') {
			if (s[i + 1] == '.')
				return false;
		} else if (!local_char_ok(c)) {
			return false;
		}
	}
	return true;
}

static bool label_valid(const char *s, size_t len)
{
	if (len == 0 || len > 63 || s[0] == '-' || s[len - 1] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

bool address_domain_valid(const char *domain, size_t len)
{
	if (len == 0 || len > ADDRESS_DOMAIN_MAX)
		return false;
	size_t start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && domain[i] != '.')
			continue;
		if (!label_valid(domain + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

void address_lower(const char *s, size_t len, char *out)
{
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		out[i] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	out[len] = '\0';
}

int address_parse(const char *s, bool catchall_ok, struct address *a,
		  const char **error_r)
{
	const char *at = strchr(s, '@');
	if (at == NULL || strchr(at + 1, '@') != NULL) {
		*error_r = "not an address of the form local@domain";
		return -1;
	}
	size_t llen = (size_t)(at - s), dlen = strlen(at + 1);
	if (llen == 0 && !catchall_ok) {
		*error_r = "empty local part";
		return -1;
	}
	if (llen > 0 && !local_valid(s, llen)) {
		*error_r = llen > ADDRESS_LOCAL_MAX ? "local part longer than 64 octets" :
			"invalid local part (letters, digits, dots and #$&'*+-=?^_`{|}~ only)";
		return -1;
	}
	if (!address_domain_valid(at + 1, dlen)) {
		*error_r = "invalid domain";
		return -1;
	}
	address_lower(s, llen, a->local);
	address_lower(at + 1, dlen, a->domain);
	memcpy(a->address, a->local, llen);
	a->address[llen] = '@';
	memcpy(a->address + llen + 1, a->domain, dlen + 1);
	return 0;
}
