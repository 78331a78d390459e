/* Checks that need the whole file (a key may be set after the one it
 * depends on), and the two ways of reporting: config_load keeps the first
 * error for its caller, config_check prints them all. */
#include "lib/config.h"
#include "lib/config_private.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool is_implicit_tls(enum listen_service s)
{
	return s == LISTEN_SUBMISSIONS || s == LISTEN_IMAPS || s == LISTEN_POP3S;
}

static void check_server(struct config_parse_state *st)
{
	const struct config *cfg = st->cfg;
	const int *kl = st->key_line;
	if (cfg->hostname[0] == '\0')
		config_report(st, CONFIG_ERROR, kl[KEY_HOSTNAME], "server", "hostname",
			      "not set, and this machine's name (gethostname) is not a valid one");
	else if (strchr(cfg->hostname, '.') == NULL)
		config_report(st, CONFIG_WARNING, kl[KEY_HOSTNAME], "server", "hostname",
			      "'%s' is not fully qualified; other servers expect a name "
			      "such as mail.example.org", cfg->hostname);
	if (cfg->domain_count == 0)
		config_report(st, CONFIG_ERROR, kl[KEY_DOMAINS], "server", "domains",
			      "no local domains: set e.g. 'domains = example.org'");
	if (cfg->data_dir[0] == '\0')
		config_report(st, CONFIG_ERROR, kl[KEY_DATA_DIR], "server", "data_dir",
			      "must not be empty");
	/* A warning: postbox init writes "user = postbox" before the
	 * administrator has made that user; serve refuses to start until then. */
	if (cfg->user[0] != '\0' && getpwnam(cfg->user) == NULL)
		config_report(st, CONFIG_WARNING, kl[KEY_USER], "server", "user",
			      "no such system user '%s': create it before postbox serve "
			      "(useradd --system --home-dir %s --shell /usr/sbin/nologin %s)",
			      cfg->user, cfg->data_dir, cfg->user);
}

static void check_readable(struct config_parse_state *st, enum config_key_id id,
			   const char *key, const char *path)
{
	if (path[0] == '\0')
		return;
	/* open, not access(): root passes access() for files it cannot use */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		config_report(st, CONFIG_ERROR, st->key_line[id], "tls", key,
			      "cannot read '%s': %s", path, strerror(errno));
		return;
	}
	close(fd);
}

static void check_tls(struct config_parse_state *st)
{
	const struct config *cfg = st->cfg;
	bool have_cert = cfg->tls_cert[0] != '\0', have_key = cfg->tls_key[0] != '\0';
	char starttls[128] = "";
	size_t n = 0;

	if (have_cert != have_key)
		config_report(st, CONFIG_ERROR, st->key_line[have_cert ? KEY_TLS_CERT : KEY_TLS_KEY],
			      "tls", have_cert ? "key" : "cert",
			      "not set, but [tls] %s is: set both or neither",
			      have_cert ? "cert" : "key");
	check_readable(st, KEY_TLS_CERT, "cert", cfg->tls_cert);
	check_readable(st, KEY_TLS_KEY, "key", cfg->tls_key);
	check_readable(st, KEY_TLS_CA_FILE, "ca_file", cfg->tls_ca_file);
	if (have_cert && have_key)
		return;
	for (int s = 0; s < LISTEN_SERVICE_COUNT; s++) {
		if (cfg->listen_count[s] == 0)
			continue;
		if (is_implicit_tls((enum listen_service)s))
			config_report(st, CONFIG_ERROR, st->key_line[KEY_LISTEN_FIRST + s],
				      "listen", config_service_name((enum listen_service)s),
				      "implicit TLS needs [tls] cert and key");
		else if (n < sizeof starttls)
			n += (size_t)snprintf(starttls + n, sizeof starttls - n, "%s%s",
					      n > 0 ? ", " : "",
					      config_service_name((enum listen_service)s));
	}
	if (n > 0)
		config_report(st, CONFIG_WARNING, 0, "tls", "cert",
			      "not set: STARTTLS is off for %s", starttls);
}

/* Binary form of a listener's address, and whether it is the wildcard. */
static int addr_bin(const struct listen_addr *a, unsigned char bin[16], int *family_r,
		    bool *any_r)
{
	static const unsigned char zero[16];
	*family_r = strchr(a->host, ':') != NULL ? AF_INET6 : AF_INET;
	memset(bin, 0, 16);
	if (inet_pton(*family_r, a->host, bin) != 1)
		return -1;
	*any_r = memcmp(bin, zero, 16) == 0;
	return 0;
}

/* Two listeners that bind() would refuse: the same address and port, or a
 * wildcard and a specific address of the same family on one port. */
static bool clash(const struct listen_addr *a, const struct listen_addr *b)
{
	unsigned char ba[16], bb[16];
	int fa, fb;
	bool anya, anyb;
	if (a->port != b->port || addr_bin(a, ba, &fa, &anya) < 0 ||
	    addr_bin(b, bb, &fb, &anyb) < 0 || fa != fb)
		return false;
	return anya || anyb || memcmp(ba, bb, 16) == 0;
}

static void check_listen_one(struct config_parse_state *st, int s, size_t i)
{
	const struct config *cfg = st->cfg;
	const struct listen_addr *a = &cfg->listen[s][i];
	for (int t = 0; t <= s; t++) {
		size_t end = t == s ? i : cfg->listen_count[t];
		for (size_t j = 0; j < end; j++) {
			const struct listen_addr *b = &cfg->listen[t][j];
			if (!clash(a, b))
				continue;
			bool v6a = strchr(a->host, ':') != NULL, v6b = strchr(b->host, ':') != NULL;
			config_report(st, CONFIG_ERROR, st->key_line[KEY_LISTEN_FIRST + s],
				      "listen", config_service_name((enum listen_service)s),
				      "%s%s%s:%u clashes with %s%s%s:%u of [listen] %s",
				      v6a ? "[" : "", a->host, v6a ? "]" : "", a->port,
				      v6b ? "[" : "", b->host, v6b ? "]" : "", b->port,
				      config_service_name((enum listen_service)t));
			return;
		}
	}
}

static void check_listen(struct config_parse_state *st)
{
	size_t total = 0;
	for (int s = 0; s < LISTEN_SERVICE_COUNT; s++) {
		for (size_t i = 0; i < st->cfg->listen_count[s]; i++)
			check_listen_one(st, s, i);
		total += st->cfg->listen_count[s];
	}
	if (total == 0)
		config_report(st, CONFIG_WARNING, 0, "listen", NULL,
			      "no addresses: postbox serve will not accept connections");
}

static void check_limits(struct config_parse_state *st)
{
	struct config *cfg = st->cfg;
	const int *kl = st->key_line;
	/* Unset, no service may fill more than half of the total: idle IMAP
	 * connections cannot shut SMTP out. */
	if (kl[KEY_CONNECTIONS_PER_SERVICE] == 0)
		cfg->connections_per_service = cfg->connections > 1 ? cfg->connections / 2 : 1;
	else if (cfg->connections_per_service > cfg->connections)
		config_report(st, CONFIG_WARNING, kl[KEY_CONNECTIONS_PER_SERVICE], "limits",
			      "connections_per_service", "%zu is more than connections (%zu)",
			      cfg->connections_per_service, cfg->connections);
	if (cfg->connections_per_ip > cfg->connections_per_service)
		config_report(st, CONFIG_WARNING, kl[KEY_CONNECTIONS_PER_IP], "limits",
			      "connections_per_ip", "%zu is more than connections_per_service (%zu)",
			      cfg->connections_per_ip, cfg->connections_per_service);
	if (cfg->message_size < 65536)
		config_report(st, CONFIG_WARNING, kl[KEY_MESSAGE_SIZE], "limits", "message_size",
			      "%zu is below the 64k that RFC 5321 4.5.3.1.10 requires",
			      cfg->message_size);
	if (cfg->timeout_command < 300)
		config_report(st, CONFIG_WARNING, kl[KEY_TIMEOUT_COMMAND], "limits",
			      "timeout_command", "%us is below the 5 minutes of RFC 5321 "
			      "4.5.3.2.7; slow clients will be cut off", cfg->timeout_command);
	if (cfg->auth_delay_max_ms < cfg->auth_delay_ms)
		config_report(st, CONFIG_WARNING, kl[KEY_AUTH_DELAY_MAX], "limits",
			      "auth_delay_max", "%ums is below auth_delay (%ums): failed logins "
			      "all wait auth_delay, the delay does not grow",
			      cfg->auth_delay_max_ms, cfg->auth_delay_ms);
	for (size_t i = 0; i < cfg->route_count; i++) {
		const char *d = cfg->routes[i].domain;
		if (config_is_local_domain(cfg, d, strlen(d)))
			config_report(st, CONFIG_WARNING, st->route_line[i], "routes", d,
				      "is a local domain: its mail is delivered here and "
				      "the route is never used");
	}
}

void config_check_whole(struct config_parse_state *st)
{
	check_server(st);
	check_tls(st);
	check_listen(st);
	check_limits(st);
}

struct first_error {
	char *buf;
	size_t size;
	bool have;
	bool quiet;       /* warnings are not the caller's business */
};

static void keep_first(void *ctx, enum config_severity sev, const char *msg)
{
	struct first_error *fe = ctx;
	if (sev == CONFIG_WARNING && fe->quiet)
		return;
	if (sev == CONFIG_WARNING) {
		/* log_warn says "warning" itself */
		const char *w = strstr(msg, "warning: ");
		int n = w != NULL ? (int)(w - msg) : (int)strlen(msg);
		log_warn("%.*s%s", n, msg, w != NULL ? w + 9 : "");
	} else if (!fe->have) {
		snprintf(fe->buf, fe->size, "%s", msg);
		fe->have = true;
	}
}

static int load(const char *path, struct config *cfg, bool quiet, const char **error_r)
{
	static _Thread_local char error[1024];
	struct first_error fe = { error, sizeof error, false, quiet };
	if (config_parse(path, cfg, keep_first, &fe) == 0)
		return 0;
	*error_r = error;
	return -1;
}

int config_load(const char *path, struct config *cfg, const char **error_r)
{
	return load(path, cfg, false, error_r);
}

int config_load_quiet(const char *path, struct config *cfg, const char **error_r)
{
	return load(path, cfg, true, error_r);
}

static void print_problem(void *ctx, enum config_severity sev, const char *msg)
{
	(void)ctx;
	(void)sev;
	fprintf(stderr, "%s\n", msg);
}

int config_check(const char *path)
{
	struct config *cfg = malloc(sizeof *cfg);
	if (cfg == NULL) {
		fprintf(stderr, "%s: out of memory\n", path);
		return 1;
	}
	int errors = config_parse(path, cfg, print_problem, NULL);
	free(cfg);
	return errors;
}
