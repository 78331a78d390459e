#include "net/tls.h"

#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include "lib/log.h"

/* A server context with our settings, without certificate. */
static SSL_CTX *ctx_base(const char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		*error_r = "SSL_CTX_new failed";
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Mail clients reconnect often; tickets save them a full handshake. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	return ctx;
}

static SSL_CTX *ctx_fail(SSL_CTX *ctx, const char *cert, const char *key, const char **error_r)
{
	static char err[256];
	unsigned long e = ERR_get_error();
	snprintf(err, sizeof err, "cannot load TLS certificate %s / key %s: %s",
		 cert, key, e ? ERR_reason_error_string(e) : "mismatch");
	ERR_clear_error();
	SSL_CTX_free(ctx);
	*error_r = err;
	return NULL;
}

SSL_CTX *tls_server_ctx_new(const char *cert, const char *key, const char **error_r)
{
	SSL_CTX *ctx = ctx_base(error_r);
	if (ctx == NULL)
		return NULL;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		return ctx_fail(ctx, cert, key, error_r);
	return ctx;
}

/* As SSL_CTX_use_certificate_chain_file, from memory. */
static bool use_chain_pem(SSL_CTX *ctx, const char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = b != NULL ? PEM_read_bio_X509_AUX(b, NULL, NULL, NULL) : NULL;
	bool ok = x != NULL && SSL_CTX_use_certificate(ctx, x) == 1;
	X509_free(x);
	while (ok && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			ok = false;
		}
	}
	if (ok)
		ERR_clear_error();   /* the end of the chain: "no start line" */
	BIO_free(b);
	return ok;
}

SSL_CTX *tls_server_ctx_new_pem(const char *cert_pem, size_t cert_len, const char *key_pem,
				size_t key_len, const char *cert, const char *key,
				const char **error_r)
{
	if (cert_len > INT_MAX || key_len > INT_MAX) {
		*error_r = "certificate or key too large";
		return NULL;
	}
	SSL_CTX *ctx = ctx_base(error_r);
	if (ctx == NULL)
		return NULL;
	if (!use_chain_pem(ctx, cert_pem, cert_len))
		return ctx_fail(ctx, cert, key, error_r);
	BIO *b = BIO_new_mem_buf(key_pem, (int)key_len);
	EVP_PKEY *k = b != NULL ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	bool ok = k != NULL && SSL_CTX_use_PrivateKey(ctx, k) == 1 &&
		  SSL_CTX_check_private_key(ctx) == 1;
	EVP_PKEY_free(k);
	BIO_free(b);
	return ok ? ctx : ctx_fail(ctx, cert, key, error_r);
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

SSL_CTX *tls_client_ctx_new(const char *ca_file, const char **error_r)
{
	static char err[256];
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL) {
		*error_r = "SSL_CTX_new failed";
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
	/* A host without a system store still gets its ca_file. */
	(void)SSL_CTX_set_default_verify_paths(ctx);
	if (ca_file != NULL && ca_file[0] != '\0' &&
	    SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		unsigned long e = ERR_get_error();
		snprintf(err, sizeof err, "cannot load CA file %s: %s", ca_file,
			 e ? ERR_reason_error_string(e) : "unreadable");
		ERR_clear_error();
		SSL_CTX_free(ctx);
		*error_r = err;
		return NULL;
	}
	ERR_clear_error();
	return ctx;
}
