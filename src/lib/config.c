/* The INI walk and the per-key values. inih splits "key = value" and strips
 * inline comments; a reader of our own in front of it counts lines (inih does
 * not tell its handler the line), strips leading blanks (so an indented key
 * is a key, never inih's multi-line continuation of the previous value),
 * refuses lines inih would silently split at its 200-byte buffer, and catches
 * syntax errors itself so that all of them are reported, not only the
 * first. */
#include "lib/config.h"
#include "lib/config_private.h"
#include "lib/config_values.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

struct key_def;
typedef void key_parse_fn(struct config_parse_state *st, const struct key_def *k,
			  const char *value);

struct key_def {
	const char *section;
	const char *name;
	key_parse_fn *parse;
	size_t offset;  /* of the field in struct config */
	size_t size;    /* of that field */
	int arg;        /* the service of a [listen] key */
	bool list;      /* may be repeated: the values add up */
};

static const char *const service_names[LISTEN_SERVICE_COUNT] = {
	"smtp", "submission", "submissions", "imap", "imaps", "pop3", "pop3s",
};

static const char *const section_names[] = {
	"server", "listen", "tls", "dns", "delivery", "routes", "queue", "limits",
};

const char *config_service_name(enum listen_service s)
{
	return (unsigned)s < LISTEN_SERVICE_COUNT ? service_names[s] : "?";
}

int config_local_socket(const struct config *cfg, char *out, size_t outlen)
{
	if (strcmp(cfg->listen_local, "off") == 0)
		return -1;
	int n = cfg->listen_local[0] != '\0' ?
		snprintf(out, outlen, "%s", cfg->listen_local) :
		snprintf(out, outlen, "%s/public/sendmail", cfg->data_dir);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

const char *config_default_path(void)
{
	const char *env = getenv("POSTBOX_CONF");
	return env != NULL && env[0] != '\0' ? env : "/etc/postbox/postbox.conf";
}

bool config_is_local_domain(const struct config *cfg, const char *domain, size_t len)
{
	if (len > 0 && domain[len - 1] == '.')
		len--;
	for (size_t i = 0; i < cfg->domain_count; i++) {
		if (strlen(cfg->domains[i]) == len &&
		    strncasecmp(cfg->domains[i], domain, len) == 0)
			return true;
	}
	return false;
}

void config_defaults(struct config *cfg)
{
	static const unsigned retry[] = { 300, 600, 1800, 3600, 7200, 14400 };
	char host[256];
	const char *error;

	memset(cfg, 0, sizeof *cfg);
	host[sizeof host - 1] = '\0';
	if (gethostname(host, sizeof host - 1) < 0 ||
	    cfgval_domain(host, cfg->hostname, sizeof cfg->hostname, &error) < 0)
		cfg->hostname[0] = '\0';
	snprintf(cfg->data_dir, sizeof cfg->data_dir, "/var/lib/postbox");
	snprintf(cfg->log, sizeof cfg->log, "stderr");
	/* As Dovecot: a loopback peer cannot be sniffed, so TLS adds nothing */
	cfg->plaintext_auth_loopback = true;
	cfg->smtp_port = 25;
	cfg->delivery_tls = DELIVERY_TLS_OPPORTUNISTIC;
	memcpy(cfg->retry, retry, sizeof retry);
	cfg->retry_count = sizeof retry / sizeof retry[0];
	cfg->max_age = 5 * 86400;
	cfg->message_size = 52428800;
	cfg->recipients = 1000;
	cfg->connections = 2000;
	cfg->connections_per_ip = 50;
	cfg->connections_per_service = 1000;   /* half of connections: see check_limits */
	cfg->timeout_command = 300;
	cfg->timeout_data = 180;
	cfg->auth_delay_ms = 2000;
	cfg->auth_delay_max_ms = 15000;
	cfg->auth_failures = 3;
	/* Dovecot and Postfix give a client about a minute to log in; a
	 * handshake needs a few round trips. Postfix's smtpd_min_data_rate. */
	cfg->timeout_login = 60;
	cfg->timeout_tls = 30;
	cfg->min_data_rate = 500;
	cfg->imap_slice = 1000;
}

void config_report(struct config_parse_state *st, enum config_severity sev,
		   int line, const char *section, const char *key,
		   const char *fmt, ...)
{
	char where[700], text[1024], msg[1800];
	int n = line > 0 ? snprintf(where, sizeof where, "%s:%d:", st->path, line)
			 : snprintf(where, sizeof where, "%s:", st->path);
	if (section != NULL && n >= 0 && (size_t)n < sizeof where)
		snprintf(where + n, sizeof where - (size_t)n, " [%s]%s%s:", section,
			 key != NULL ? " " : "", key != NULL ? key : "");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	snprintf(msg, sizeof msg, "%s %s%s", where,
		 sev == CONFIG_WARNING ? "warning: " : "", text);
	if (sev == CONFIG_WARNING)
		st->warnings++;
	else
		st->errors++;
	if (st->report != NULL)
		st->report(st->report_ctx, sev, msg);
}

/* A value as it may appear in a message: clipped, without control bytes. */
static const char *shown(const char *s, char out[72])
{
	size_t i;
	for (i = 0; s[i] != '\0' && i < 64; i++)
		out[i] = iscntrl((unsigned char)s[i]) ? '?' : s[i];
	if (s[i] != '\0') {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
	return out;
}

/* An error about the current line's key. */
#define BAD(st, k, ...) \
	config_report((st), CONFIG_ERROR, (st)->line, (k)->section, (k)->name, __VA_ARGS__)

#define FIELD(k, type) ((type *)((char *)st->cfg + (k)->offset))

static void bad_token(struct config_parse_state *st, const struct key_def *k,
		      const char *tok, const char *error)
{
	char sh[72];
	BAD(st, k, "'%s': %s", shown(tok, sh), error);
}

static void parse_string(struct config_parse_state *st, const struct key_def *k,
			 const char *value)
{
	const char *error;
	if (cfgval_string(value, FIELD(k, char), k->size, &error) < 0)
		bad_token(st, k, value, error);
}

static void parse_hostname(struct config_parse_state *st, const struct key_def *k,
			   const char *value)
{
	const char *error;
	if (cfgval_domain(value, FIELD(k, char), k->size, &error) < 0)
		bad_token(st, k, value, error);
}

static void parse_user(struct config_parse_state *st, const struct key_def *k,
		       const char *value)
{
	for (const char *p = value; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-' && *p != '.') {
			bad_token(st, k, value, "expected a system user name, or nothing");
			return;
		}
	}
	parse_string(st, k, value);
}

static void parse_bool(struct config_parse_state *st, const struct key_def *k,
		       const char *value)
{
	const char *error;
	if (cfgval_bool(value, FIELD(k, bool), &error) < 0)
		bad_token(st, k, value, error);
}

static void parse_log(struct config_parse_state *st, const struct key_def *k,
		      const char *value)
{
	if (strcasecmp(value, "stderr") != 0 && strcasecmp(value, "syslog") != 0) {
		bad_token(st, k, value, "expected stderr or syslog");
		return;
	}
	snprintf(st->cfg->log, sizeof st->cfg->log, "%s",
		 strcasecmp(value, "stderr") == 0 ? "stderr" : "syslog");
}

static void parse_domains(struct config_parse_state *st, const struct key_def *k,
			  const char *value)
{
	struct config *cfg = st->cfg;
	char tok[CFGVAL_TOKEN_MAX], dom[256];
	const char *p = value, *error;
	int r;
	while ((r = cfgval_next_token(&p, tok)) != 0) {
		if (r < 0 || cfgval_domain(tok, dom, sizeof dom, &error) < 0) {
			bad_token(st, k, tok, r < 0 ? "domain name too long" : error);
		} else if (config_is_local_domain(cfg, dom, strlen(dom))) {
			bad_token(st, k, tok, "listed twice");
		} else if (cfg->domain_count == CONFIG_MAX_DOMAINS) {
			BAD(st, k, "more than %d domains", CONFIG_MAX_DOMAINS);
			return;
		} else {
			memcpy(cfg->domains[cfg->domain_count++], dom, strlen(dom) + 1);
		}
	}
}

static void parse_listen(struct config_parse_state *st, const struct key_def *k,
			 const char *value)
{
	struct config *cfg = st->cfg;
	size_t *count = &cfg->listen_count[k->arg];
	char tok[CFGVAL_TOKEN_MAX];
	const char *p = value, *error;
	struct listen_addr a;
	int r;
	while ((r = cfgval_next_token(&p, tok)) != 0) {
		if (r < 0 || cfgval_addr_port(tok, 0, &a, &error) < 0) {
			bad_token(st, k, tok, r < 0 ? "too long" : error);
		} else if (*count == CONFIG_MAX_LISTEN) {
			BAD(st, k, "more than %d addresses", CONFIG_MAX_LISTEN);
			return;
		} else {
			cfg->listen[k->arg][(*count)++] = a;
		}
	}
}

static void parse_dns_servers(struct config_parse_state *st, const struct key_def *k,
			      const char *value)
{
	struct config *cfg = st->cfg;
	char tok[CFGVAL_TOKEN_MAX];
	const char *p = value, *error;
	struct listen_addr a;
	int r;
	while ((r = cfgval_next_token(&p, tok)) != 0) {
		if (r < 0 || cfgval_addr_port(tok, 53, &a, &error) < 0) {
			bad_token(st, k, tok, r < 0 ? "too long" : error);
			continue;
		}
		if (cfg->dns_count == CONFIG_MAX_DNS) {
			BAD(st, k, "more than %d servers", CONFIG_MAX_DNS);
			return;
		}
		cfg->dns[cfg->dns_count++] = a;
		size_t n = strlen(cfg->dns_servers);
		bool v6 = strchr(a.host, ':') != NULL;
		snprintf(cfg->dns_servers + n, sizeof cfg->dns_servers - n, "%s%s%s%s:%u",
			 n > 0 ? " " : "", v6 ? "[" : "", a.host, v6 ? "]" : "", a.port);
	}
}

static void parse_port(struct config_parse_state *st, const struct key_def *k,
		       const char *value)
{
	const char *error;
	if (cfgval_port(value, FIELD(k, unsigned short), &error) < 0)
		bad_token(st, k, value, error);
}

static void parse_ip_or_empty(struct config_parse_state *st, const struct key_def *k,
			      const char *value)
{
	const char *error;
	int family;
	if (value[0] != '\0' && cfgval_ip(value, &family, &error) < 0)
		bad_token(st, k, value, "expected a numeric address of this machine, or nothing");
	else
		parse_string(st, k, value);
}

static void parse_relay(struct config_parse_state *st, const struct key_def *k,
			const char *value)
{
	struct config *cfg = st->cfg;
	char tok[CFGVAL_TOKEN_MAX];
	const char *p = value, *error;
	struct route rt;
	int r;
	while ((r = cfgval_next_token(&p, tok)) != 0) {
		memset(&rt, 0, sizeof rt);
		if (r < 0 || cfgval_host_port(tok, &rt, &error) < 0) {
			bad_token(st, k, tok, r < 0 ? "too long" : error);
		} else if (cfg->relay_count == CONFIG_MAX_RELAYS) {
			BAD(st, k, "more than %d relays", CONFIG_MAX_RELAYS);
			return;
		} else {
			cfg->relays[cfg->relay_count++] = rt;
		}
	}
}

static void parse_delivery_tls(struct config_parse_state *st, const struct key_def *k,
			       const char *value)
{
	if (strcasecmp(value, "opportunistic") == 0)
		st->cfg->delivery_tls = DELIVERY_TLS_OPPORTUNISTIC;
	else if (strcasecmp(value, "required") == 0)
		st->cfg->delivery_tls = DELIVERY_TLS_REQUIRED;
	else if (strcasecmp(value, "off") == 0)
		st->cfg->delivery_tls = DELIVERY_TLS_OFF;
	else
		bad_token(st, k, value, "expected opportunistic, required or off");
}

static void parse_retry(struct config_parse_state *st, const struct key_def *k,
			const char *value)
{
	struct config *cfg = st->cfg;
	char tok[CFGVAL_TOKEN_MAX];
	const char *p = value, *error;
	unsigned secs;
	int r;
	while ((r = cfgval_next_token(&p, tok)) != 0) {
		if (r < 0 || cfgval_duration(tok, &secs, &error) < 0) {
			bad_token(st, k, tok, r < 0 ? "too long" : error);
		} else if (cfg->retry_count == CONFIG_MAX_RETRY) {
			BAD(st, k, "more than %d intervals (the last one repeats)",
			    CONFIG_MAX_RETRY);
			return;
		} else {
			cfg->retry[cfg->retry_count++] = secs;
		}
	}
}

static void parse_duration(struct config_parse_state *st, const struct key_def *k,
			   const char *value)
{
	const char *error;
	if (cfgval_duration(value, FIELD(k, unsigned), &error) < 0)
		bad_token(st, k, value, error);
}

/* A duration, or empty for "off" (0). */
static void parse_duration_or_off(struct config_parse_state *st, const struct key_def *k,
				  const char *value)
{
	if (value[0] == '\0')
		*FIELD(k, unsigned) = 0;
	else
		parse_duration(st, k, value);
}

/* Milliseconds: "0", "250ms", or a duration in seconds ("2", "2s", "1m"). */
static void parse_millis(struct config_parse_state *st, const struct key_def *k,
			 const char *value)
{
	const char *error = "expected 0, milliseconds such as 250ms, or a duration such as 2s";
	size_t n = strlen(value);
	uint64_t v;
	unsigned secs = 0;
	if (strcmp(value, "0") == 0) {
		*FIELD(k, unsigned) = 0;
	} else if (n > 2 && strcmp(value + n - 2, "ms") == 0) {
		char digits[16];
		if (n - 2 >= sizeof digits) {
			bad_token(st, k, value, error);
			return;
		}
		memcpy(digits, value, n - 2);
		digits[n - 2] = '\0';
		if (cfgval_count(digits, 0, 3600000, &v, &error) < 0)
			bad_token(st, k, value, error);
		else
			*FIELD(k, unsigned) = (unsigned)v;
	} else if (cfgval_duration(value, &secs, &error) < 0 || secs > 3600) {
		bad_token(st, k, value, secs > 3600 ? "at most 1 hour" : error);
	} else {
		*FIELD(k, unsigned) = secs * 1000;
	}
}

static void parse_size(struct config_parse_state *st, const struct key_def *k,
		       const char *value)
{
	const char *error;
	uint64_t v;
	/* The cap keeps sizes representable in off_t and in the SIZE keyword */
	if (cfgval_size(value, 1, (uint64_t)1 << 40, &v, &error) < 0)
		bad_token(st, k, value, error);
	else
		*FIELD(k, size_t) = (size_t)v;
}

static void parse_count(struct config_parse_state *st, const struct key_def *k,
			const char *value)
{
	const char *error;
	uint64_t v;
	if (cfgval_count(value, 1, 1000000000, &v, &error) < 0)
		bad_token(st, k, value, "expected a whole number from 1 to 1000000000");
	else if (k->size == sizeof(unsigned))   /* min_data_rate */
		*FIELD(k, unsigned) = (unsigned)v;
	else
		*FIELD(k, size_t) = (size_t)v;
}

#define F(field) offsetof(struct config, field), sizeof(((struct config *)0)->field)
#define LISTEN(s) \
	[KEY_LISTEN_FIRST + s] = { "listen", NULL, parse_listen, 0, 0, s, true }

static const struct key_def keys[KEY_COUNT] = {
	[KEY_HOSTNAME] = { "server", "hostname", parse_hostname, F(hostname), 0, false },
	[KEY_DATA_DIR] = { "server", "data_dir", parse_string, F(data_dir), 0, false },
	[KEY_USER] = { "server", "user", parse_user, F(user), 0, false },
	[KEY_DOMAINS] = { "server", "domains", parse_domains, F(domains), 0, true },
	[KEY_LOG] = { "server", "log", parse_log, F(log), 0, false },
	[KEY_PLAINTEXT_AUTH] = { "server", "plaintext_auth_loopback", parse_bool,
				 F(plaintext_auth_loopback), 0, false },
	LISTEN(LISTEN_SMTP), LISTEN(LISTEN_SUBMISSION), LISTEN(LISTEN_SUBMISSIONS),
	LISTEN(LISTEN_IMAP), LISTEN(LISTEN_IMAPS), LISTEN(LISTEN_POP3), LISTEN(LISTEN_POP3S),
	[KEY_TLS_CERT] = { "tls", "cert", parse_string, F(tls_cert), 0, false },
	[KEY_TLS_KEY] = { "tls", "key", parse_string, F(tls_key), 0, false },
	[KEY_TLS_CA_FILE] = { "tls", "ca_file", parse_string, F(tls_ca_file), 0, false },
	[KEY_DNS_SERVERS] = { "dns", "servers", parse_dns_servers, F(dns_servers), 0, true },
	[KEY_SMTP_PORT] = { "delivery", "smtp_port", parse_port, F(smtp_port), 0, false },
	[KEY_BIND] = { "delivery", "bind", parse_ip_or_empty, F(delivery_bind), 0, false },
	[KEY_RELAY] = { "delivery", "relay", parse_relay, F(relays), 0, true },
	[KEY_DELIVERY_TLS] = { "delivery", "tls", parse_delivery_tls, F(delivery_tls), 0, false },
	[KEY_RETRY] = { "queue", "retry", parse_retry, F(retry), 0, true },
	[KEY_MAX_AGE] = { "queue", "max_age", parse_duration, F(max_age), 0, false },
	[KEY_WARN_AFTER] = { "queue", "warn_after", parse_duration_or_off, F(warn_after), 0,
			     false },
	[KEY_MESSAGE_SIZE] = { "limits", "message_size", parse_size, F(message_size), 0, false },
	[KEY_RECIPIENTS] = { "limits", "recipients", parse_count, F(recipients), 0, false },
	[KEY_CONNECTIONS] = { "limits", "connections", parse_count, F(connections), 0, false },
	[KEY_CONNECTIONS_PER_IP] = { "limits", "connections_per_ip", parse_count,
				     F(connections_per_ip), 0, false },
	[KEY_TIMEOUT_COMMAND] = { "limits", "timeout_command", parse_duration,
				  F(timeout_command), 0, false },
	[KEY_TIMEOUT_DATA] = { "limits", "timeout_data", parse_duration,
			       F(timeout_data), 0, false },
	[KEY_AUTH_DELAY] = { "limits", "auth_delay", parse_millis, F(auth_delay_ms), 0, false },
	[KEY_AUTH_DELAY_MAX] = { "limits", "auth_delay_max", parse_millis,
				 F(auth_delay_max_ms), 0, false },
	[KEY_AUTH_FAILURES] = { "limits", "auth_failures", parse_count, F(auth_failures), 0,
				false },
	[KEY_CONNECTIONS_PER_SERVICE] = { "limits", "connections_per_service", parse_count,
					  F(connections_per_service), 0, false },
	[KEY_TIMEOUT_LOGIN] = { "limits", "timeout_login", parse_duration,
				F(timeout_login), 0, false },
	[KEY_TIMEOUT_TLS] = { "limits", "timeout_tls", parse_duration, F(timeout_tls), 0, false },
	[KEY_MIN_DATA_RATE] = { "limits", "min_data_rate", parse_count,
				F(min_data_rate), 0, false },
	[KEY_IMAP_SLICE] = { "limits", "imap_slice", parse_count, F(imap_slice), 0, false },
	[KEY_LISTEN_LOCAL] = { "listen", "local", parse_string, F(listen_local), 0, false },
};

static const char *key_name(const struct key_def *k)
{
	return k->name != NULL ? k->name : service_names[k->arg];
}

/* A list key met for the first time replaces the default, later lines add. */
static void list_reset(struct config *cfg, enum config_key_id id)
{
	if (id >= KEY_LISTEN_FIRST && id <= KEY_LISTEN_LAST)
		cfg->listen_count[id - KEY_LISTEN_FIRST] = 0;
	else if (id == KEY_DOMAINS)
		cfg->domain_count = 0;
	else if (id == KEY_DNS_SERVERS)
		cfg->dns_count = 0, cfg->dns_servers[0] = '\0';
	else if (id == KEY_RELAY)
		cfg->relay_count = 0;
	else if (id == KEY_RETRY)
		cfg->retry_count = 0;
}

static void known_keys(const char *section, char *out, size_t outsize)
{
	size_t n = 0;
	out[0] = '\0';
	for (size_t i = 0; i < KEY_COUNT && n < outsize; i++) {
		if (strcmp(keys[i].section, section) == 0)
			n += (size_t)snprintf(out + n, outsize - n, "%s%s", n > 0 ? ", " : "",
					      key_name(&keys[i]));
	}
}

static void parse_route(struct config_parse_state *st, const char *name, const char *value)
{
	struct config *cfg = st->cfg;
	char dom[256], sh[72];
	const char *error;
	struct route rt;
	memset(&rt, 0, sizeof rt);
	if (cfgval_domain(name, dom, sizeof dom, &error) < 0) {
		config_report(st, CONFIG_ERROR, st->line, "routes", shown(name, sh),
			      "a route's key is the domain it is for: %s", error);
		return;
	}
	for (size_t i = 0; i < cfg->route_count; i++) {
		if (strcmp(cfg->routes[i].domain, dom) == 0) {
			config_report(st, CONFIG_ERROR, st->line, "routes", dom,
				      "set twice (first on line %d)", st->route_line[i]);
			return;
		}
	}
	if (cfgval_host_port(value, &rt, &error) < 0) {
		config_report(st, CONFIG_ERROR, st->line, "routes", dom, "'%s': %s",
			      shown(value, sh), error);
	} else if (cfg->route_count == CONFIG_MAX_ROUTES) {
		config_report(st, CONFIG_ERROR, st->line, "routes", dom,
			      "more than %d routes", CONFIG_MAX_ROUTES);
	} else {
		memcpy(rt.domain, dom, strlen(dom) + 1);
		st->route_line[cfg->route_count] = st->line;
		cfg->routes[cfg->route_count++] = rt;
	}
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct config_parse_state *st = user;
	char key[64], known[256], sh[72];
	(void)section; /* the reader keeps its own, lower-cased copy */
	if (!st->section_known)
		return 1; /* the header was reported; its keys would only repeat it */
	if (st->section[0] == '\0') {
		config_report(st, CONFIG_ERROR, st->line, NULL, NULL,
			      "%s: key outside of any section (start with [server])",
			      shown(name, sh));
		return 1;
	}
	if (strcmp(st->section, "routes") == 0) {
		parse_route(st, name, value);
		return 1;
	}
	size_t n = strlen(name);
	for (size_t i = 0; i < n && i < sizeof key - 1; i++)
		key[i] = (char)tolower((unsigned char)name[i]);
	key[n < sizeof key ? n : sizeof key - 1] = '\0';
	for (size_t i = 0; i < KEY_COUNT; i++) {
		const struct key_def *k = &keys[i];
		if (strcmp(k->section, st->section) != 0 || strcmp(key_name(k), key) != 0)
			continue;
		if (st->key_line[i] != 0 && !k->list) {
			config_report(st, CONFIG_ERROR, st->line, k->section, key,
				      "set twice (first on line %d)", st->key_line[i]);
			return 1;
		}
		if (st->key_line[i] == 0 && k->list)
			list_reset(st->cfg, (enum config_key_id)i);
		st->key_line[i] = st->line;
		struct key_def named = *k;
		named.name = key_name(k);
		k->parse(st, &named, value);
		return 1;
	}
	known_keys(st->section, known, sizeof known);
	config_report(st, CONFIG_ERROR, st->line, st->section, shown(name, sh),
		      "unknown key (known in [%s]: %s)", st->section, known);
	return 1;
}

/* "[ Name ]  ; comment" -> "[name]", noting whether the section is one of ours. */
static char *section_line(struct config_parse_state *st, char *s)
{
	char *close = strchr(s, ']');
	char *after = close != NULL ? close + 1 : NULL;
	while (after != NULL && isspace((unsigned char)*after))
		after++;
	st->section_known = 0;
	if (close == NULL || (*after != '\0' && *after != ';' && *after != '#')) {
		config_report(st, CONFIG_ERROR, st->line, NULL, NULL,
			      "expected a section header such as [server]");
		return NULL;
	}
	char *name = s + 1;
	while (isspace((unsigned char)*name))
		name++;
	char *end = close;
	while (end > name && isspace((unsigned char)end[-1]))
		end--;
	size_t n = (size_t)(end - name);
	for (size_t i = 0; i < n; i++)
		name[i] = (char)tolower((unsigned char)name[i]);
	name[n] = '\0';
	for (size_t i = 0; i < sizeof section_names / sizeof section_names[0]; i++) {
		if (strcmp(name, section_names[i]) == 0) {
			memcpy(st->section, name, n + 1);
			st->section_known = 1;
			memmove(s + 1, name, n);
			memcpy(s + 1 + n, "]", 2);
			return s;
		}
	}
	char sh[72];
	config_report(st, CONFIG_ERROR, st->line, shown(name, sh), NULL, "unknown section "
		      "(known: server, listen, tls, dns, delivery, routes, queue, limits)");
	return NULL;
}

/* "key = value": inih would also split at ':' and treat "key value" as an
 * error it reports once; catch both here, with the reason. */
static char *key_line_ok(struct config_parse_state *st, char *s)
{
	const char *why = NULL;
	char *p;
	for (p = s; *p != '\0' && *p != '='; p++) {
		if (*p == ':' || (*p == ';' && p > s && isspace((unsigned char)p[-1])))
			break;
	}
	if (*p == ':')
		why = "expected 'key = value' (with '=', not ':')";
	else if (*p != '=')
		why = "expected 'key = value' or a [section] header";
	else if (p == s)
		why = "key name missing before '='";
	if (why == NULL)
		return s;
	config_report(st, CONFIG_ERROR, st->line, st->section_known ? st->section : NULL,
		      NULL, "%s", why);
	return NULL;
}

static char *check_line(struct config_parse_state *st, char *s)
{
	if (st->line == 1 && strncmp(s, "\xEF\xBB\xBF", 3) == 0)
		s += 3;
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	if (*s == '\0' || *s == ';' || *s == '#')
		return s;
	return *s == '[' ? section_line(st, s) : key_line_ok(st, s);
}

static char *reader(char *str, int num, void *stream)
{
	struct config_parse_state *st = stream;
	errno = 0;
	ssize_t n = getline(&st->buf, &st->cap, st->f);
	if (n < 0) {
		if (ferror(st->f))
			config_report(st, CONFIG_ERROR, st->line + 1, NULL, NULL,
				      "read error: %s", strerror(errno));
		return NULL;
	}
	st->line++;
	char *s = st->buf;
	if ((size_t)n != strlen(s)) {
		config_report(st, CONFIG_ERROR, st->line, NULL, NULL, "line contains a NUL byte");
		s = NULL;
	} else {
		s = check_line(st, s);
	}
	/* A broken line goes to inih as a blank one: reported once, here */
	size_t len = s != NULL ? strlen(s) : 0;
	if (len + 2 > (size_t)num) {
		config_report(st, CONFIG_ERROR, st->line, st->section_known ? st->section : NULL,
			      NULL, "line longer than %d characters: repeat the key "
			      "on more lines, its values add up", num - 2);
		len = 0;
	}
	if (len > 0)
		memcpy(str, s, len);
	str[len] = '\n';
	str[len + 1] = '\0';
	return str;
}

int config_parse(const char *path, struct config *cfg, config_report_fn *report, void *ctx)
{
	struct config_parse_state *st = calloc(1, sizeof *st);
	if (st == NULL) {
		if (report != NULL)
			report(ctx, CONFIG_ERROR, "out of memory");
		return 1;
	}
	config_defaults(cfg);
	snprintf(cfg->path, sizeof cfg->path, "%s", path);
	st->path = path;
	st->cfg = cfg;
	st->report = report;
	st->report_ctx = ctx;
	st->section_known = 1; /* "" until a header: keys there are reported */
	st->f = fopen(path, "re");
	if (st->f == NULL) {
		config_report(st, CONFIG_ERROR, 0, NULL, NULL, "cannot open: %s", strerror(errno));
	} else {
		int r = ini_parse_stream(reader, st, handler, st);
		if (r != 0 && st->errors == 0)
			config_report(st, CONFIG_ERROR, r > 0 ? r : 0, NULL, NULL, "cannot parse");
		fclose(st->f);
		config_check_whole(st);
	}
	int errors = st->errors;
	free(st->buf);
	free(st);
	return errors;
}
