#ifndef PB_LIB_CONFIG_PRIVATE_H
#define PB_LIB_CONFIG_PRIVATE_H
/* Shared by config.c (the INI walk and per-key values) and config_check.c
 * (checks across keys, done once the whole file is read). Not for use
 * outside src/lib/config*.c. */

#include <stdio.h>

#include "lib/config.h"

/* Where each key was set, so checks across keys can name a line. */
enum config_key_id {
	KEY_HOSTNAME, KEY_DATA_DIR, KEY_USER, KEY_DOMAINS, KEY_LOG, KEY_PLAINTEXT_AUTH,
	KEY_LISTEN_FIRST,
	KEY_LISTEN_LAST = KEY_LISTEN_FIRST + LISTEN_SERVICE_COUNT - 1,
	KEY_TLS_CERT, KEY_TLS_KEY, KEY_TLS_CA_FILE,
	KEY_DNS_SERVERS,
	KEY_SMTP_PORT, KEY_BIND, KEY_RELAY, KEY_DELIVERY_TLS,
	KEY_RETRY, KEY_MAX_AGE, KEY_WARN_AFTER,
	KEY_MESSAGE_SIZE, KEY_RECIPIENTS, KEY_CONNECTIONS, KEY_CONNECTIONS_PER_IP,
	KEY_TIMEOUT_COMMAND, KEY_TIMEOUT_DATA,
	KEY_AUTH_DELAY, KEY_AUTH_DELAY_MAX, KEY_AUTH_FAILURES,
	KEY_CONNECTIONS_PER_SERVICE, KEY_TIMEOUT_LOGIN, KEY_TIMEOUT_TLS, KEY_MIN_DATA_RATE,
	KEY_IMAP_SLICE, KEY_LISTEN_LOCAL,
	KEY_COUNT
};

struct config_parse_state {
	const char *path;
	FILE *f;
	struct config *cfg;
	config_report_fn *report;
	void *report_ctx;

	int line;                 /* of the line inih is working on */
	char *buf;                /* getline buffer */
	size_t cap;
	char section[32];         /* lower case; "" before the first header */
	int section_known;        /* 0 after an unknown or broken header */
	int key_line[KEY_COUNT];  /* 0 = not in the file */
	int route_line[CONFIG_MAX_ROUTES];
	int errors;
	int warnings;
};

/* Reports one problem as "PATH[:LINE]: [SECTION] KEY: [warning: ]TEXT";
 * line 0, section NULL and key NULL leave their part out. */
void config_report(struct config_parse_state *st, enum config_severity sev,
		   int line, const char *section, const char *key,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Checks that need the whole file: hostname, domains, TLS files, listener
 * clashes, limits that contradict each other. */
void config_check_whole(struct config_parse_state *st);

#endif
