/* Key and certificate for postbox init, with the OpenSSL 3 API. EC P-256
 * rather than RSA: every current TLS stack speaks ECDSA, and the key is
 * small and quick to make. Two years of validity: long enough not to bite
 * a new installation, short enough that a forgotten self-signed certificate
 * gets replaced (by a CA-issued one, ideally). */
#include "cli/cmd_init_tls.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cli/commands.h"
#include "lib/fs.h"

#define VALID_DAYS 730

static int ssl_fail(const char *what)
{
	char buf[256] = "unknown error";
	unsigned long e = ERR_get_error();
	if (e != 0)
		ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return cli_fail("init", "%s: %s", what, buf), -1;
}

static int add_ext(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	int r = X509_add_ext(cert, ext, -1);
	X509_EXTENSION_free(ext);
	return r == 1 ? 0 : -1;
}

/* 159 random bits: unique without a serial-number database (RFC 5280 4.1.2.2
 * allows 20 octets; the top bit stays clear to keep it positive). */
static int set_serial(X509 *cert)
{
	unsigned char bytes[20];
	if (RAND_bytes(bytes, sizeof bytes) != 1)
		return -1;
	bytes[0] &= 0x7f;
	BIGNUM *bn = BN_bin2bn(bytes, sizeof bytes, NULL);
	int ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
	BN_free(bn);
	return ok ? 0 : -1;
}

static X509 *make_cert(EVP_PKEY *key, const char *hostname)
{
	char san[300];
	X509 *cert = X509_new();
	X509_NAME *name = cert != NULL ? X509_get_subject_name(cert) : NULL;
	snprintf(san, sizeof san, "DNS:%s", hostname);
	if (cert == NULL || X509_set_version(cert, X509_VERSION_3) != 1 || set_serial(cert) < 0 ||
	    X509_gmtime_adj(X509_getm_notBefore(cert), 0) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(cert), VALID_DAYS, 0, NULL) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
				       (const unsigned char *)hostname, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(cert, name) != 1 || X509_set_pubkey(cert, key) != 1 ||
	    add_ext(cert, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(cert, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(cert, NID_ext_key_usage, "serverAuth") < 0 ||
	    add_ext(cert, NID_subject_key_identifier, "hash") < 0 ||
	    add_ext(cert, NID_subject_alt_name, san) < 0 ||
	    X509_sign(cert, key, EVP_sha256()) == 0) {
		X509_free(cert);
		return NULL;
	}
	return cert;
}

/* PEM of key or cert (exactly one non-NULL), written durably to path. */
static int write_pem(const char *path, EVP_PKEY *key, X509 *cert, mode_t mode)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data;
	const char *error;
	int ok = bio != NULL &&
		 (key != NULL ? PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL)
			      : PEM_write_bio_X509(bio, cert)) == 1;
	long len = ok ? BIO_get_mem_data(bio, &data) : 0;
	if (!ok || len <= 0) {
		BIO_free(bio);
		return ssl_fail(path);
	}
	int r = fs_write_file_durable(path, data, (size_t)len, mode, &error);
	OPENSSL_cleanse(data, (size_t)len);
	BIO_free(bio);
	if (r < 0)
		return cli_fail("init", "%s: %s (%s)", path, error, strerror(errno)), -1;
	return 0;
}

int init_tls_write(const char *hostname, const char *cert_path, const char *key_path,
		   uid_t owner, char *until, size_t untilsize)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	if (key == NULL)
		return ssl_fail("generating an EC P-256 key");
	X509 *cert = make_cert(key, hostname);
	if (cert == NULL) {
		EVP_PKEY_free(key);
		return ssl_fail("making the certificate");
	}
	struct tm tm;
	int r = write_pem(key_path, key, NULL, 0600);
	if (r == 0 && owner != (uid_t)-1 && chown(key_path, owner, (gid_t)-1) < 0) {
		cli_fail("init", "chown %s: %s", key_path, strerror(errno));
		r = -1;
	}
	if (r == 0)
		r = write_pem(cert_path, NULL, cert, 0644);
	if (r == 0 && ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) == 1)
		strftime(until, untilsize, "%Y-%m-%d", &tm);
	else if (untilsize > 0)
		until[0] = '\0';
	X509_free(cert);
	EVP_PKEY_free(key);
	return r;
}
