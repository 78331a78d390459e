#ifndef PB_AUTH_ADDRESS_H
#define PB_AUTH_ADDRESS_H
/* Addresses as the user directory keeps them: "local@domain", lower-cased.
 *
 * This is stricter than RFC 5321 on purpose. Names here become directory
 * names (DATA/mail/DOMAIN/LOCAL) and alias keys, so a local part is a
 * dot-atom of ASCII atext without '/', '%' and '!' (no path tricks, no
 * look-alikes of percent hacks or bang paths), and a domain is a plain DNS
 * name (no address literals). SMTP's own parser (smtp_parse_mailbox) accepts
 * more; anything it accepts that this refuses simply matches no user.
 * auth sits below smtp in the layering, hence this separate checker. */

#include <stdbool.h>
#include <stddef.h>

#define ADDRESS_LOCAL_MAX 64     /* RFC 5321 4.5.3.1.1 */
#define ADDRESS_DOMAIN_MAX 253   /* a DNS name without its final dot */

struct address {
	char address[ADDRESS_LOCAL_MAX + 1 + ADDRESS_DOMAIN_MAX + 1];
	char local[ADDRESS_LOCAL_MAX + 1];    /* "" for a catch-all "@domain" */
	char domain[ADDRESS_DOMAIN_MAX + 1];
};

/* Checks s and fills a with its lower-cased parts. "@domain" (a catch-all)
 * is accepted only when catchall_ok. 0 or -1 (error_r: static text). */
int address_parse(const char *s, bool catchall_ok, struct address *a,
		  const char **error_r);
/* Checks a domain name alone (the rules above); true when valid. */
bool address_domain_valid(const char *domain, size_t len);
/* Lower-cases ASCII letters of s[0..len) into out (size > len), leaving
 * other octets (UTF-8) alone. */
void address_lower(const char *s, size_t len, char *out);

#endif
