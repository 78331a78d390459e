/* postbox check [-c FILE]: every problem of a configuration file, each as
 * "FILE:LINE: [section] key: problem", then a verdict. Beyond what
 * config_parse sees, it opens the TLS certificate and key the way serve will,
 * so a wrong or mismatched pair shows up here and not at the first STARTTLS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cli/commands.h"
#include "lib/config.h"

static void print_problem(void *ctx, enum config_severity sev, const char *msg)
{
	int *warnings = ctx;
	if (sev == CONFIG_WARNING)
		(*warnings)++;
	fprintf(stderr, "%s\n", msg);
}

static const char *ssl_error(void)
{
	static char buf[256];
	unsigned long e = ERR_get_error();
	if (e == 0)
		return "no PEM data found";
	ERR_error_string_n(e, buf, sizeof buf);
	ERR_clear_error();
	return buf;
}

/* The PEM certificate and key of [tls]: both parse, they belong together,
 * and the certificate is in its validity period. Returns the error count. */
static int check_tls_pair(const struct config *cfg)
{
	FILE *cf = fopen(cfg->tls_cert, "re"), *kf = fopen(cfg->tls_key, "re");
	X509 *cert = cf != NULL ? PEM_read_X509(cf, NULL, NULL, NULL) : NULL;
	const char *cert_err = cert == NULL ? ssl_error() : NULL;
	EVP_PKEY *key = kf != NULL ? PEM_read_PrivateKey(kf, NULL, NULL, NULL) : NULL;
	const char *key_err = key == NULL ? ssl_error() : NULL;
	int errors = 0;

	if (cert == NULL)
		errors++, fprintf(stderr, "%s: [tls] cert: '%s' is not a PEM certificate: %s\n",
				  cfg->path, cfg->tls_cert, cert_err);
	if (key == NULL)
		errors++, fprintf(stderr, "%s: [tls] key: '%s' is not an unencrypted PEM private "
				  "key: %s\n", cfg->path, cfg->tls_key, key_err);
	if (cert != NULL && key != NULL && X509_check_private_key(cert, key) != 1)
		errors++, fprintf(stderr, "%s: [tls] key: does not belong to the certificate "
				  "in '%s'\n", cfg->path, cfg->tls_cert);
	if (cert != NULL && X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0)
		errors++, fprintf(stderr, "%s: [tls] cert: '%s' has expired\n", cfg->path,
				  cfg->tls_cert);
	else if (cert != NULL && X509_cmp_current_time(X509_get0_notBefore(cert)) > 0)
		errors++, fprintf(stderr, "%s: [tls] cert: '%s' is not valid yet\n", cfg->path,
				  cfg->tls_cert);
	else if (cert != NULL && X509_check_host(cert, cfg->hostname, 0, 0, NULL) != 1)
		fprintf(stderr, "%s: [tls] cert: warning: '%s' is not for %s; clients that "
			"verify names will refuse it\n", cfg->path, cfg->tls_cert, cfg->hostname);
	X509_free(cert);
	EVP_PKEY_free(key);
	if (cf != NULL)
		fclose(cf);
	if (kf != NULL)
		fclose(kf);
	return errors;
}

static int usage(FILE *f, int status)
{
	fprintf(f, "usage: postbox check [-c FILE]\n"
		"Validates a configuration file (default $POSTBOX_CONF, then\n"
		"/etc/postbox/postbox.conf) and prints each problem as\n"
		"FILE:LINE: [section] key: problem. Exit status 0 when valid.\n");
	return status;
}

int cmd_check(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return usage(stdout, 0);
	}
	const char *path = cli_config_path(&argc, argv);
	if (argc > 1) {
		usage(stderr, 1);
		return cli_fail("check", "unexpected argument '%s'", argv[1]);
	}
	struct config *cfg = malloc(sizeof *cfg);
	if (cfg == NULL)
		return cli_fail("check", "out of memory");
	int warnings = 0;
	int errors = config_parse(path, cfg, print_problem, &warnings);
	if (errors == 0 && cfg->tls_cert[0] != '\0' && cfg->tls_key[0] != '\0')
		errors = check_tls_pair(cfg);
	free(cfg);
	if (errors > 0)
		return cli_fail("check", "%s: %d error%s", path, errors, errors == 1 ? "" : "s");
	(void)warnings; /* printed above; they do not fail the check */
	printf("%s: ok\n", path);
	return 0;
}
