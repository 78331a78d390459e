#ifndef PB_LIB_CONFIG_H
#define PB_LIB_CONFIG_H
/* The server configuration file (INI, parsed with inih). See
 * docs/postbox.conf.5.md for every key. Loading reports the first problem
 * as "FILE:LINE: [section] key: what is wrong"; config_check collects all.
 * Strings in struct config are always NUL-terminated; lists are filled from
 * index 0 with their *_count. */

#include <stddef.h>
#include <stdbool.h>

#define CONFIG_MAX_LISTEN 8
#define CONFIG_MAX_DOMAINS 64
#define CONFIG_MAX_RELAYS 8
#define CONFIG_MAX_ROUTES 64
#define CONFIG_MAX_RETRY 16
#define CONFIG_MAX_DNS 8

enum listen_service {
	LISTEN_SMTP,
	LISTEN_SUBMISSION,
	LISTEN_SUBMISSIONS,
	LISTEN_IMAP,
	LISTEN_IMAPS,
	LISTEN_POP3,
	LISTEN_POP3S,
	LISTEN_SERVICE_COUNT
};

struct listen_addr {
	char host[64];       /* numeric address, "0.0.0.0", "::" or "127.0.0.1" */
	unsigned short port;
};

struct route {
	char domain[256];
	char host[256];
	unsigned short port;  /* 0 = [delivery] smtp_port */
};

enum delivery_tls { DELIVERY_TLS_OPPORTUNISTIC, DELIVERY_TLS_REQUIRED, DELIVERY_TLS_OFF };

struct config {
	char path[512];               /* the file it was loaded from */

	/* [server] */
	char hostname[256];
	char data_dir[512];
	char user[64];
	char domains[CONFIG_MAX_DOMAINS][256]; /* lower case */
	size_t domain_count;
	char log[16];                  /* "stderr" (default) or "syslog" */
	bool plaintext_auth_loopback;  /* allow AUTH/LOGIN without TLS from 127/8, ::1 */

	/* [listen] */
	struct listen_addr listen[LISTEN_SERVICE_COUNT][CONFIG_MAX_LISTEN];
	size_t listen_count[LISTEN_SERVICE_COUNT];
	/* The local injection socket of postbox sendmail (a path); "" = the
	 * default DATA/public/sendmail, "off" = none (config_local_socket). */
	char listen_local[512];

	/* [tls] */
	char tls_cert[512];
	char tls_key[512];
	char tls_ca_file[512];

	/* [dns] */
	char dns_servers[512];         /* as written, normalised: "addr:port addr:port" */
	struct listen_addr dns[CONFIG_MAX_DNS]; /* parsed; port 53 when absent */
	size_t dns_count;              /* 0 = use /etc/resolv.conf */

	/* [delivery] */
	unsigned short smtp_port;
	char delivery_bind[64];        /* numeric address, "" = any */
	struct route relays[CONFIG_MAX_RELAYS];  /* domain[] unused */
	size_t relay_count;
	enum delivery_tls delivery_tls;

	/* [routes] */
	struct route routes[CONFIG_MAX_ROUTES];
	size_t route_count;

	/* [queue] seconds */
	unsigned retry[CONFIG_MAX_RETRY];  /* the last one repeats */
	size_t retry_count;
	unsigned max_age;
	unsigned warn_after;                /* 0: no delay warning */

	/* [limits] */
	size_t message_size;
	size_t recipients;
	size_t connections;            /* all services together */
	size_t connections_per_service; /* each service; unset: half of connections */
	size_t connections_per_ip;     /* one address, each service */
	unsigned timeout_command;      /* seconds; RFC 5321 4.5.3.2: 5 minutes */
	unsigned timeout_data;         /* seconds between DATA chunks: 3 minutes */
	/* Failed logins (server/serve_penalty.h): the first one's delay, the
	 * cap of its doubling, and how many a connection may make. */
	unsigned auth_delay_ms;        /* 2 s */
	unsigned auth_delay_max_ms;    /* 15 s */
	size_t auth_failures;          /* 3 */
	unsigned timeout_login;        /* seconds from connect to IMAP/POP3 login */
	unsigned timeout_tls;          /* seconds for a whole TLS handshake */
	unsigned min_data_rate;        /* bytes/s a DATA, BDAT or literal must keep */
	size_t imap_slice;             /* messages per STORE slice (worker job) */
};

enum config_severity { CONFIG_ERROR, CONFIG_WARNING };
/* Receives one problem, formatted "FILE:LINE: [section] key: text" (warnings
 * say "warning: " before the text; LINE is left out when no line is to
 * blame, e.g. a required key that is missing). */
typedef void config_report_fn(void *ctx, enum config_severity sev, const char *msg);

/* Fills cfg with the defaults of DESIGN.md (nothing listening; hostname from
 * gethostname(), lower-cased, or "" when that is not a valid name). */
void config_defaults(struct config *cfg);
/* Fills cfg with the defaults, then reads path over them. On failure error_r
 * holds one line (in a thread-local buffer) naming FILE:LINE and the key;
 * warnings (e.g. STARTTLS off for lack of a certificate) go to log_warn. */
int config_load(const char *path, struct config *cfg, const char **error_r);
/* The same without the warnings: for commands whose callers read their
 * stderr (postbox sendmail), where a server's warning is noise. */
int config_load_quiet(const char *path, struct config *cfg, const char **error_r);
/* Validates a file, printing every problem as FILE:LINE: ... to stderr, the
 * warnings too; returns the number of errors found (0 = valid). */
int config_check(const char *path);
/* The engine of both: defaults, then path, then the checks across keys; every
 * problem goes to report. Returns the number of errors (warnings are not
 * counted); cfg is only meaningful when that is 0. */
int config_parse(const char *path, struct config *cfg, config_report_fn *report, void *ctx);
/* True when domain (any case) is one of [server] domains. */
bool config_is_local_domain(const struct config *cfg, const char *domain, size_t len);
/* The path of the local injection socket into out (outlen octets): 0, or
 * -1 when it is off or does not fit. */
int config_local_socket(const struct config *cfg, char *out, size_t outlen);
const char *config_service_name(enum listen_service s);
/* The default config path: $POSTBOX_CONF, else /etc/postbox/postbox.conf. */
const char *config_default_path(void);

#endif
