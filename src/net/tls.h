#ifndef PB_NET_TLS_H
#define PB_NET_TLS_H
/* TLS contexts (OpenSSL): the server's, and the client's for outbound mail. A context is reference counted by OpenSSL:
 * reloading on SIGHUP makes a new one for new connections while existing
 * connections keep the old one alive. */

#include <openssl/ssl.h>

/* Loads cert (chain) and key; TLS 1.2 minimum. NULL with error_r set. */
SSL_CTX *tls_server_ctx_new(const char *cert, const char *key, const char **error_r);
/* The same from PEM text in memory (a privileged parent read the files:
 * the key may be unreadable to us); cert and key name them in errors. */
SSL_CTX *tls_server_ctx_new_pem(const char *cert_pem, size_t cert_len, const char *key_pem,
				size_t key_len, const char *cert, const char *key,
				const char **error_r);
/* A client context (outbound SMTP): TLS 1.2 minimum, trusting the system
 * store and ca_file when not NULL or "". Verification is set per
 * connection (conn_target.tls_verify). NULL with error_r set. */
SSL_CTX *tls_client_ctx_new(const char *ca_file, const char **error_r);
/* "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)" */
void tls_describe(SSL *ssl, char *out, size_t outlen);
/* The protocol and cipher names alone, for logs: "TLSv1.3:TLS_AES_..." */
void tls_short(SSL *ssl, char *out, size_t outlen);

#endif
