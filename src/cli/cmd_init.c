/* postbox init DOMAIN: everything a new server needs before its first
 * `postbox serve` — a configuration listening on the standard ports, a data
 * directory, a private key and a self-signed certificate for the host name,
 * and the DNS records that make other post offices find it. The written file
 * is checked with the same parser serve uses, so init never leaves behind a
 * configuration that `postbox check` rejects. */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd_init_tls.h"
#include "cli/commands.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "lib/config_values.h"
#include "lib/fs.h"

struct init_opts {
	char domain[256];
	char hostname[256];
	const char *data_dir;
	const char *config;
	bool force;
	/* absolute paths, filled in as the directories come to exist */
	char conf_dir[PATH_MAX];
	char data_abs[PATH_MAX];
	char cert[PATH_MAX];
	char key[PATH_MAX];
	const struct passwd *pw;  /* the "postbox" system user, when it exists */
};

static int usage(FILE *f, int status)
{
	fprintf(f, "usage: postbox init DOMAIN [--data DIR] [--config FILE] [--hostname HOST] [--force]\n"
		"Writes a configuration for DOMAIN (default $POSTBOX_CONF, then\n"
		"/etc/postbox/postbox.conf), creates the data directory (default\n"
		"/var/lib/postbox), a private key and a self-signed certificate for HOST\n"
		"(default mail.DOMAIN) beside the configuration, and prints the DNS\n"
		"records to publish. --force overwrites an existing configuration.\n");
	return status;
}

/* Returns 0, 1 after printing a failure, or 2 for --help. */
static int parse_args(int argc, char **argv, struct init_opts *o)
{
	const char *domain = NULL, *host = NULL, *error;
	o->data_dir = "/var/lib/postbox";
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
			return 2;
		if (strcmp(a, "--force") == 0) {
			o->force = true;
		} else if ((strcmp(a, "--data") == 0 || strcmp(a, "--hostname") == 0) &&
			   i + 1 < argc) {
			*(a[2] == 'd' ? &o->data_dir : &host) = argv[++i];
		} else if (a[0] == '-' || domain != NULL) {
			usage(stderr, 1);
			return cli_fail("init", "unexpected argument '%s'", a);
		} else {
			domain = a;
		}
	}
	if (domain == NULL) {
		usage(stderr, 1);
		return cli_fail("init", "no DOMAIN given");
	}
	if (cfgval_domain(domain, o->domain, sizeof o->domain, &error) < 0 ||
	    strchr(o->domain, '.') == NULL)
		return cli_fail("init", "'%s' is not a domain name: %s", domain,
				strchr(domain, '.') == NULL ? "expected a name such as example.org" : error);
	char def[300];
	snprintf(def, sizeof def, "mail.%s", o->domain);
	if (host == NULL)
		host = def;
	if (cfgval_domain(host, o->hostname, sizeof o->hostname, &error) < 0)
		return cli_fail("init", "'%s' is not a host name: %s", host, error);
	return 0;
}

/* A path goes into the INI file as a value: nothing that inih would take as
 * a comment, a line end or blanks to strip. */
static int ini_safe(const char *what, const char *p)
{
	size_t n = strlen(p);
	bool bad = n == 0 || p[0] == ' ' || p[n - 1] == ' ' || strchr(p, ';') != NULL ||
		   strchr(p, '#') != NULL;
	for (size_t i = 0; i < n && !bad; i++)
		bad = (unsigned char)p[i] < 0x20 || p[i] == 0x7f;
	return bad ? cli_fail("init", "%s '%s': use a path without ';', '#', control "
			      "characters or blanks at either end", what, p) : 0;
}

/* Creates dir and stores its absolute form, which keeps the config valid
 * whatever directory serve is started from. */
static int make_dir(const char *dir, mode_t mode, char *abs, size_t abslen)
{
	const char *error;
	char real[PATH_MAX];
	if (fs_mkdir_p(dir, mode, &error) < 0)
		return cli_fail("init", "cannot create %s: %s (%s)", dir, error, strerror(errno));
	if (realpath(dir, real) == NULL)
		return cli_fail("init", "%s: %s", dir, strerror(errno));
	if (snprintf(abs, abslen, "%s", real) >= (int)abslen)
		return cli_fail("init", "%s: path too long", dir);
	return 0;
}

static int prepare_paths(struct init_opts *o)
{
	char dir[PATH_MAX];
	struct stat st;
	if (ini_safe("configuration", o->config) || ini_safe("data directory", o->data_dir))
		return 1;
	if (!o->force && stat(o->config, &st) == 0)
		return cli_fail("init", "%s exists (use --force to overwrite it)", o->config);
	if (fs_dirname(o->config, dir, sizeof dir) < 0)
		return cli_fail("init", "%s: path too long", o->config);
	if (make_dir(dir, 0755, o->conf_dir, sizeof o->conf_dir) ||
	    make_dir(o->data_dir, 0750, o->data_abs, sizeof o->data_abs))
		return 1;
	if (snprintf(o->cert, sizeof o->cert, "%s/cert.pem", o->conf_dir) >= (int)sizeof o->cert ||
	    snprintf(o->key, sizeof o->key, "%s/key.pem", o->conf_dir) >= (int)sizeof o->key)
		return cli_fail("init", "%s: path too long", o->conf_dir);
	if (ini_safe("configuration directory", o->conf_dir) || ini_safe("data directory", o->data_abs))
		return 1;
	if (!o->force && (stat(o->cert, &st) == 0 || stat(o->key, &st) == 0))
		return cli_fail("init", "%s or %s exists (use --force to replace them)",
				o->cert, o->key);
	o->pw = getpwnam("postbox");
	/* serve drops to this user after binding: the data is theirs (the key
	 * stays root's: serve's privileged parent reads it at SIGHUP) */
	if (o->pw != NULL && geteuid() == 0 &&
	    chown(o->data_abs, o->pw->pw_uid, o->pw->pw_gid) < 0)
		return cli_fail("init", "chown %s: %s", o->data_abs, strerror(errno));
	return 0;
}

static int config_text(const struct init_opts *o, struct buf *b)
{
	static const char *const ports[LISTEN_SERVICE_COUNT] = {
		"25", "587", "465", "143", "993", "110", "995",
	};
	time_t now = time(NULL);
	char date[32];
	strftime(date, sizeof date, "%Y-%m-%d", gmtime(&now));
	int r = buf_printf(b, "; postbox configuration for %s, written by postbox init on %s.\n"
			   "; Every key is described in postbox.conf(5); validate with\n"
			   "; postbox check -c %s\n\n"
			   "[server]\nhostname = %s\ndata_dir = %s\n%s\ndomains = %s\nlog = stderr\n"
			   "plaintext_auth_loopback = yes\n\n[listen]\n",
			   o->domain, date, o->config, o->hostname, o->data_abs,
			   "user = postbox", o->domain);
	for (int s = 0; s < LISTEN_SERVICE_COUNT; s++)
		r |= buf_printf(b, "%s = 0.0.0.0:%s\n", config_service_name((enum listen_service)s),
				ports[s]);
	r |= buf_printf(b, "\n[tls]\ncert = %s\nkey = %s\nca_file =\n\n"
			"[dns]\nservers =\n\n"
			"[delivery]\nsmtp_port = 25\nbind =\nrelay =\ntls = opportunistic\n\n"
			"[routes]\n; other.example = 192.0.2.25:25\n\n"
			"[queue]\nretry = 5m 10m 30m 1h 2h 4h\nmax_age = 5d\n\n"
			"[limits]\nmessage_size = 50M\nrecipients = 1000\nconnections = 2000\n"
			"connections_per_ip = 50\ntimeout_command = 5m\ntimeout_data = 3m\n",
			o->cert, o->key);
	return r < 0 ? -1 : 0;
}

static void collect_first(void *ctx, enum config_severity sev, const char *msg)
{
	char *first = ctx;
	if (sev == CONFIG_ERROR && first[0] == '\0')
		snprintf(first, 1024, "%s", msg);
}

static int write_config(const struct init_opts *o)
{
	struct buf b;
	const char *error;
	char first[1024] = "";
	buf_init(&b, 64 * 1024);
	if (config_text(o, &b) < 0) {
		buf_free(&b);
		return cli_fail("init", "configuration text too long");
	}
	int r = fs_write_file_durable(o->config, b.data, b.len, 0644, &error);
	buf_free(&b);
	if (r < 0)
		return cli_fail("init", "%s: %s (%s)", o->config, error, strerror(errno));
	struct config *cfg = malloc(sizeof *cfg);
	if (cfg == NULL)
		return cli_fail("init", "out of memory");
	r = config_parse(o->config, cfg, collect_first, first);
	free(cfg);
	if (r > 0)
		return cli_fail("init", "the written configuration does not pass its check: %s",
				first);
	return 0;
}

static void print_records(const struct init_opts *o, const char *until)
{
	printf("Wrote %s\n"
	       "  data directory  %s\n"
	       "  private key     %s (mode 0600)\n"
	       "  certificate     %s (self-signed for %s, valid until %s)\n\n"
	       "Publish these DNS records (replace the address placeholder):\n\n"
	       "%s. IN MX 10 %s.\n"
	       "%s. IN A <this server's public IPv4 address>\n"
	       "%s. IN TXT \"v=spf1 mx -all\"\n\n"
	       "Also ask the owner of that address for a PTR record naming %s.\n"
	       "Then: postbox check -c %s; postbox user add USER@%s; postbox serve -c %s\n",
	       o->config, o->data_abs, o->key, o->cert, o->hostname, until,
	       o->domain, o->hostname, o->hostname, o->domain, o->hostname,
	       o->config, o->domain, o->config);
	if (o->pw == NULL)
		printf("\nserve binds its ports as root, then runs as [server] user = postbox,"
		       " which does not exist yet. Create it and give it the data directory:\n"
		       "  useradd --system --home-dir %s --shell /usr/sbin/nologin postbox\n"
		       "  chown postbox: %s\n", o->data_abs, o->data_abs);
}

int cmd_init(int argc, char **argv)
{
	struct init_opts o;
	char until[32];
	memset(&o, 0, sizeof o);
	o.config = cli_config_path(&argc, argv);
	int r = parse_args(argc, argv, &o);
	if (r != 0)
		return r == 2 ? usage(stdout, 0) : 1;
	if (prepare_paths(&o) != 0)
		return 1;
	if (init_tls_write(o.hostname, o.cert, o.key, (uid_t)-1, until, sizeof until) < 0 ||
	    write_config(&o) != 0)
		return 1;
	print_records(&o, until);
	return 0;
}
