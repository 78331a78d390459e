#ifndef PB_AUTH_SASL_H
#define PB_AUTH_SASL_H
/* The server side of the SASL mechanisms that carry a password: PLAIN
 * (RFC 4616) and LOGIN (the de-facto mechanism of
 * draft-murchison-sasl-login, which mail clients still use for
 * submission). Sans-I/O: each protocol (IMAP AUTHENTICATE, POP3 AUTH,
 * SMTP AUTH) frames the exchange its own way and feeds the client's
 * responses as they arrive on the wire (base64 text, or "*" to cancel);
 * this file decodes them and says what to send next. One set of rules for
 * every protocol:
 *
 * - Responses are strict base64 (RFC 4648, as RFC 4422 3.3 requires).
 * - PLAIN: [authzid] NUL authcid NUL passwd, exactly two NULs; authcid and
 *   passwd non-empty; all three UTF-8 (RFC 4616 2). No proxy logins: an
 *   authzid must be empty or the authcid itself (ASCII case aside, as
 *   addresses are compared).
 * - LOGIN: the user name, then the password, each a non-empty response
 *   without NUL. An initial response is taken as the user name.
 * - User names up to SASL_USER_MAX octets, passwords up to SASL_PASS_MAX:
 *   longer is refused, not truncated. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

#define SASL_USER_MAX 320        /* an address: 64 + "@" + 255 */
#define SASL_PASS_MAX 1024       /* auth/password.h PASSWORD_MAX */

/* *error_r of a response that is not base64: IMAP answers it with BAD. */
#define SASL_ERROR_BASE64 "invalid base64"

enum sasl_mech {
	SASL_MECH_PLAIN,
	SASL_MECH_LOGIN,
	SASL_MECH_COUNT
};

enum sasl_status {
	SASL_CONTINUE,     /* send the challenge; feed the next response */
	SASL_DONE,         /* user and password are there */
	SASL_CANCELLED,    /* the client sent "*" (RFC 4422 3.5) */
	SASL_FAILED,       /* a malformed response: *error_r says why */
};

struct sasl_server {
	enum sasl_mech mech;
	unsigned step;
	char user[SASL_USER_MAX + 1];
	char password[SASL_PASS_MAX + 1];
};

/* The mechanism named (case-insensitively). 0, or -1 when unknown. */
int sasl_mech_find(struct str name, enum sasl_mech *mech_r);

/* Begins an exchange. initial: the initial response as sent (RFC 4959,
 * RFC 5034: base64, "=" for an empty one), or NULL when there is none.
 * *challenge_r: base64 text to send with SASL_CONTINUE (maybe ""). */
enum sasl_status sasl_server_start(struct sasl_server *s, enum sasl_mech mech,
				   const struct str *initial, const char **challenge_r,
				   const char **error_r);
/* Feeds the client's next response line (base64, or "*"). */
enum sasl_status sasl_server_step(struct sasl_server *s, struct str response,
				  const char **challenge_r, const char **error_r);
/* Wipes the password (and the rest); call when done with s. */
void sasl_server_clear(struct sasl_server *s);

#endif
