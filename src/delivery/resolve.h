#ifndef PB_DELIVERY_RESOLVE_H
#define PB_DELIVERY_RESOLVE_H
/* Local recipient resolution: turns an envelope recipient in a local domain
 * into the mailboxes it delivers to, the way Postfix's virtual alias and
 * local delivery do:
 *   1. an exact alias "local@domain" (recursively, up to RESOLVE_MAX_DEPTH,
 *      loops broken, duplicates removed);
 *   2. a user "local@domain";
 *   3. with "+detail": the alias or user "local@domain" without the detail
 *      (the detail is kept for the caller; first '+' separates);
 *   4. the domain's catch-all alias "@domain".
 * Targets in non-local domains are returned as remote (for the queue).
 * Local targets of an alias are resolved by the same four steps, so an alias
 * may point at another alias, a user, "user+detail" or fall to a catch-all.
 * An alias met a second time is not expanded again: it delivers to the user
 * of the same name if there is one ("alice -> alice, bob" keeps a copy), so
 * loops end. An alias hides a user of the same name. Every mailbox appears
 * once in the result, whatever number of paths lead to it. Resolution
 * deeper than RESOLVE_MAX_DEPTH, or yielding more than RESOLVE_MAX_TARGETS
 * mailboxes, is an error (-1) rather than a silent truncation.
 * Not thread-safe beyond what the userdb handle is (one per thread). */

#include <stdbool.h>
#include <stddef.h>

#include "lib/config.h"
#include "auth/userdb.h"

#define RESOLVE_MAX_DEPTH 10
#define RESOLVE_MAX_TARGETS 100
#define RESOLVE_ADDRESS_MAX 320

struct resolved_rcpt {
	char address[RESOLVE_ADDRESS_MAX];   /* "local@domain", lower-cased */
	char local[65];
	char domain[256];
	char detail[65];     /* the "+detail" of the address that led to this
			      * mailbox (the original's, unless an alias
			      * target carried its own), or ""; always "" for
			      * remote targets */
	bool remote;         /* domain is not one of the local domains */
};

struct resolve_result {
	struct resolved_rcpt rcpt[RESOLVE_MAX_TARGETS];
	size_t count;
};

/* Returns 1 when the address resolves (result filled, count >= 1), 0 when it
 * is unknown (550 5.1.1), -1 on an internal error (451 4.3.0). local is the
 * unquoted local part, domain lower-case and local. */
int resolve_local(struct userdb *db, const struct config *cfg, const char *local,
		  const char *domain, struct resolve_result *result,
		  const char **error_r);

#endif
