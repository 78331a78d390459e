#ifndef PB_LIB_CONFIG_VALUES_H
#define PB_LIB_CONFIG_VALUES_H
/* Value syntaxes of the configuration file, kept apart from the INI walk so
 * each can be unit-tested alone. Every function returns 0 or -1; on -1,
 * error_r holds a static phrase saying what was expected, and the caller adds
 * the file, line, key and offending text. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/config.h"

/* Longest token of a list value; longer ones are an error, not a cut. */
#define CFGVAL_TOKEN_MAX 300

/* Splits lists on spaces, tabs and commas. Copies the next token of *p into
 * tok (size CFGVAL_TOKEN_MAX) and advances *p. Returns 1 with a token, 0 at
 * the end, -1 when the token is too long (it is skipped). */
int cfgval_next_token(const char **p, char *tok);

/* yes/no, true/false, on/off, 1/0 (any case). */
int cfgval_bool(const char *s, bool *value_r, const char **error_r);
/* Plain decimal number within [min, max]. */
int cfgval_count(const char *s, uint64_t min, uint64_t max, uint64_t *value_r,
		 const char **error_r);
/* Bytes: a number with an optional k, M or G suffix (binary: 1k = 1024). */
int cfgval_size(const char *s, uint64_t min, uint64_t max, uint64_t *value_r,
		const char **error_r);
/* Seconds: "300", "30s", "5m", "2h", "5d", "1w", or sums such as "1h30m". */
int cfgval_duration(const char *s, unsigned *secs_r, const char **error_r);
/* A TCP port, 1-65535. */
int cfgval_port(const char *s, unsigned short *port_r, const char **error_r);
/* A DNS domain name in host syntax (LDH labels, A-labels for IDN); copies it
 * lower-cased without a trailing dot into out. */
int cfgval_domain(const char *s, char *out, size_t outsize, const char **error_r);
/* A numeric IPv4 or IPv6 address (no brackets); 4 or 6 in *family_r. */
int cfgval_ip(const char *s, int *family_r, const char **error_r);
/* "addr:port" or "[v6addr]:port", numeric only (a listener binds it). With
 * default_port non-zero the ":port" may be left out, and a bare IPv6
 * address ("::1") is accepted too. */
int cfgval_addr_port(const char *s, unsigned short default_port,
		     struct listen_addr *addr_r, const char **error_r);
/* "host[:port]" where host is a domain, an IPv4 address or "[v6addr]";
 * port 0 when absent. Fills host and port of route_r. */
int cfgval_host_port(const char *s, struct route *route_r, const char **error_r);
/* Copies s into out (size outsize), refusing control characters and values
 * that do not fit (a cut path would name another file). */
int cfgval_string(const char *s, char *out, size_t outsize, const char **error_r);

#endif
