/* libFuzzer: the SMTP server session in both roles (commands, DATA and
 * BDAT, STARTTLS, the submission role's SASL exchange, sender rules and
 * header holding) fed arbitrary bytes in arbitrary pieces. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/config.h"
#include "smtp/smtp_server.h"

static struct smtp_server *cur;
static struct config cfg;

static void rcpt_check(void *ctx, const struct smtp_mailbox *mb)
{
	(void)ctx;
	smtp_server_rcpt_done(cur, mb->local[0] == 'x' ? SMTP_RCPT_UNKNOWN
			       : strcmp(mb->domain, "a.test") != 0 ? SMTP_RCPT_REMOTE_UNAVAILABLE
			       : SMTP_RCPT_OK, NULL);
}

static void rcpt_free(void *ctx, void *d)
{
	(void)ctx;
	(void)d;
}

static int spool_open(void *ctx, struct smtp_tx *tx)
{
	(void)ctx;
	(void)tx;
	return 0;
}

static int spool_write(void *ctx, const char *p, size_t n)
{
	(void)ctx;
	(void)p;
	(void)n;
	return 0;
}

static void spool_close(void *ctx)
{
	(void)ctx;
}

static void commit(void *ctx, struct smtp_tx *tx)
{
	(void)ctx;
	smtp_server_commit_done(cur, tx->size % 2 ? NULL : "452 4.3.1 full");
}

static void auth_check(void *ctx, const char *user, const char *password)
{
	(void)ctx;
	static const char *const owned[] = { "a@a.test", "b@a.test" };
	smtp_server_auth_done(cur, (user[0] + password[0]) % 3 == 0 ? SMTP_AUTH_FAILED
				   : (user[0] + password[0]) % 3 == 1 ? SMTP_AUTH_OK
				   : SMTP_AUTH_FAILED_CLOSE, "a@a.test", owned, 2);
}

static const struct smtp_server_hooks hooks = {
	.rcpt_check = rcpt_check, .rcpt_free = rcpt_free, .spool_open = spool_open,
	.spool_write = spool_write, .spool_close = spool_close, .commit = commit,
	.auth_check = auth_check,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	config_defaults(&cfg);
	memcpy(cfg.domains[0], "a.test", 7);
	cfg.domain_count = 1;
	struct smtp_server_settings set = {
		.role = data[0] & 1 ? SMTP_ROLE_SUBMISSION : SMTP_ROLE_MX, .hostname = "h",
		.message_size = 100000, .max_recipients = 5, .max_header = 4000, .max_hops = 5,
		.max_errors = 50, .tls_available = true, .plaintext_auth = data[0] & 4, .cfg = &cfg,
	};
	cur = smtp_server_new(&set, &hooks, NULL, "f", "127.0.0.1", data[0] & 2, "t");
	smtp_server_greet(cur);
	size_t step = (data[0] >> 3) + 1, used = 1;
	while (used < size) {
		size_t n = size - used < step ? size - used : step;
		size_t u = smtp_server_input(cur, (const char *)data + used, n);
		buf_reset(smtp_server_output(cur));
		if (smtp_server_want_starttls(cur))
			smtp_server_tls_started(cur, "t");
		else if (u < n)
			break;
		used += u;
	}
	smtp_server_free(&cur);
	return 0;
}
