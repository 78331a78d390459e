#ifndef PB_SERVER_SERVE_SENDER_H
#define PB_SERVER_SERVE_SENDER_H
/* The addresses a user may submit mail as (envelope sender and From:),
 * looked up once at login for the SMTP submission session: the user's own
 * address and every alias that delivers to it, as Postfix does with
 * smtpd_sender_login_maps = $virtual_alias_maps. An alias counts when one
 * of its targets is the user (or "user+detail", or another alias the user
 * owns); a list alias thus belongs to each of its members. Catch-alls
 * ("@domain") are never owned: receiving everything of a domain is not
 * a licence to send as anybody in it. Addresses come lower-cased. */

#include <stddef.h>

struct userdb;

struct sender_owned {
	char **v;            /* v[0] is the user */
	size_t n;
};

/* Runs on a worker thread (SQLite). Stops after max + 1 addresses (the
 * caller refuses that many rather than cutting). 0, or -1 with *error_r
 * (static text). */
int sender_owned_lookup(struct userdb *db, const char *user, size_t max,
			struct sender_owned *out, const char **error_r);
void sender_owned_free(struct sender_owned *o);

#endif
