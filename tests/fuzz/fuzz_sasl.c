/* libFuzzer: the SASL decoder (auth/sasl.h) fed a mechanism, an optional
 * initial response and response lines, as IMAP, POP3 and SMTP AUTH hand
 * them over. The first byte picks the mechanism and whether there is an
 * initial response; lines are split at '\n'. */
#include <stdint.h>
#include <string.h>

#include "auth/sasl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct sasl_server s;
	const char *ch = NULL, *err = NULL;
	enum sasl_mech mech = data[0] & 1 ? SASL_MECH_LOGIN : SASL_MECH_PLAIN;
	bool ir = data[0] & 2;
	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	enum sasl_status st = SASL_CONTINUE;
	bool started = false;
	while (st == SASL_CONTINUE) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct str line = { p, nl ? (size_t)(nl - p) : (size_t)(end - p) };
		if (!started) {
			started = true;
			st = sasl_server_start(&s, mech, ir ? &line : NULL, &ch, &err);
			if (!ir)
				continue;
		} else {
			st = sasl_server_step(&s, line, &ch, &err);
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (st == SASL_DONE && (strlen(s.user) == 0 || strlen(s.user) > SASL_USER_MAX ||
				strlen(s.password) == 0))
		__builtin_trap();
	if (st == SASL_FAILED && err == NULL)
		__builtin_trap();
	sasl_server_clear(&s);
	return 0;
}
