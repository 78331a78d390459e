#ifndef PB_SERVER_SERVE_PENALTY_H
#define PB_SERVER_SERVE_PENALTY_H
/* Authentication penalties (as Dovecot's auth_penalty): failed logins
 * counted per client address and per user, in a table of fixed size whose
 * entries expire. The count gives a level, the level a delay that doubles
 * with each failure up to a cap. The user's count is kept gentle: failures
 * made by others against a user raise that user's level to at most
 * PENALTY_USER_LEVEL_MAX, so an attacker elsewhere cannot lock the real
 * user out, only slow their login a little. An IPv6 client is counted by
 * its /64, from which it could take new addresses at will. Loop thread
 * only. */

#include <stdint.h>
#include <time.h>

/* A failure is forgotten after this long without another. */
#define PENALTY_EXPIRE_SECONDS (60 * 60)
#define PENALTY_USER_LEVEL_MAX 2

struct penalty_table;

/* slots: entries kept at most (addresses and users together). NULL when
 * out of memory. */
struct penalty_table *penalty_table_new(size_t slots);
void penalty_table_free(struct penalty_table **t);

/* The level of a login from ip for user: the address's failures, or the
 * user's up to PENALTY_USER_LEVEL_MAX, whichever is higher. */
unsigned penalty_level(struct penalty_table *t, const char *ip, const char *user,
		       time_t now);
/* Counts a failure against both. */
void penalty_failed(struct penalty_table *t, const char *ip, const char *user, time_t now);
/* A success: the address and the user are forgiven (whoever failed
 * against the user before, this client knew the password; an attacker's
 * next failures raise the user's level again). */
void penalty_succeeded(struct penalty_table *t, const char *ip, const char *user,
		       time_t now);

/* Milliseconds for a level: 0 for 0, else base_ms doubled level-1 times,
 * at most max_ms. */
unsigned penalty_delay_ms(unsigned level, unsigned base_ms, unsigned max_ms);

#endif
