/* libFuzzer: the POP3 session (its command parser and SASL PLAIN decoder)
 * fed arbitrary bytes in arbitrary pieces, with a mailbox behind it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pop3/pop3_server.h"

static struct pop3_server *cur;
static const char msg[] = "Subject: x\n\n.a\nb\n";

static void auth(void *ctx, const char *u, const char *p)
{
	(void)ctx;
	struct pop3_msg m[3] = { { 20, "a", false }, { 20, "b", false }, { 20, "c", false } };
	pop3_server_auth_done(cur, (u[0] + p[0]) % 2 ? POP3_AUTH_OK : POP3_AUTH_FAILED, m, 3);
}

static void retrieve(void *ctx, size_t i)
{
	(void)ctx;
	pop3_server_retrieve_done(cur, i == 2 ? NULL : msg, sizeof msg - 1);
}

static void update(void *ctx, const size_t *idx, size_t n)
{
	(void)ctx;
	(void)idx;
	pop3_server_update_done(cur, n % 2 == 0);
}

static const struct pop3_server_hooks hooks = { auth, retrieve, update };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct pop3_server_settings set = { "h", true, data[0] & 1, 50 };
	cur = pop3_server_new(&set, &hooks, NULL, "f", data[0] & 2);
	size_t step = (data[0] >> 2) + 1, used = 1;
	while (used < size) {
		size_t n = size - used < step ? size - used : step;
		size_t u = pop3_server_input(cur, (const char *)data + used, n);
		buf_reset(pop3_server_output(cur));
		if (pop3_server_want_starttls(cur))
			pop3_server_tls_started(cur);
		else if (u < n)
			break;
		used += u;
	}
	pop3_server_free(&cur);
	return 0;
}
