#include "net/tls.h"

#include <stdio.h>
#include <openssl/err.h>

#include "lib/log.h"

SSL_CTX *tls_server_ctx_new(const char *cert, const char *key, const char **error_r)
{
	static char err[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*error_r = "SSL_CTX_new failed";
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Mail clients reconnect often; tickets save them a full handshake. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		unsigned long e = ERR_get_error();
		snprintf(err, sizeof err, "cannot load TLS certificate %s / key %s: %s",
			 cert, key, e ? ERR_reason_error_string(e) : "mismatch");
		ERR_clear_error();
		SSL_CTX_free(ctx);
		*error_r = err;
		return NULL;
	}
	return ctx;
}

void tls_describe(SSL *ssl, char *out, size_t outlen)
{
	int alg = 0;
	int bits = SSL_get_cipher_bits(ssl, &alg);
	snprintf(out, outlen, "%s with cipher %s (%d/%d bits)", SSL_get_version(ssl),
		 SSL_get_cipher_name(ssl), bits, alg);
}

void tls_short(SSL *ssl, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s:%s", SSL_get_version(ssl), SSL_get_cipher_name(ssl));
}
