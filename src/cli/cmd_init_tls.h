#ifndef PB_CLI_CMD_INIT_TLS_H
#define PB_CLI_CMD_INIT_TLS_H
/* The key and self-signed certificate that postbox init writes. */

#include <stddef.h>
#include <sys/types.h>

/* Generates an EC P-256 key and a two-year self-signed X.509 v3 certificate
 * for hostname (CN and subjectAltName DNS:hostname, serverAuth), and writes
 * them durably as PEM: the key with mode 0600, the certificate 0644. With
 * owner != (uid_t)-1 the key is handed to that user (serve reloads it on
 * SIGHUP after dropping root). Copies the expiry date (YYYY-MM-DD) to until.
 * Returns 0, or -1 after printing "postbox init: cause". */
int init_tls_write(const char *hostname, const char *cert_path, const char *key_path,
		   uid_t owner, char *until, size_t untilsize);

#endif
