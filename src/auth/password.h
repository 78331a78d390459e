#ifndef PB_AUTH_PASSWORD_H
#define PB_AUTH_PASSWORD_H
/* Password hashing with yescrypt (libcrypt, "$y$..."). Both functions are
 * slow on purpose (tens of milliseconds): never call them on the event loop.
 * Neither keeps nor logs the password. */

#include <stddef.h>

#define PASSWORD_MAX 1024        /* longer input is refused, not truncated */
#define PASSWORD_HASH_MAX 384    /* CRYPT_OUTPUT_SIZE */

/* Hashes password with a fresh random salt into hash_r (size >= 
 * PASSWORD_HASH_MAX). 0 or -1 (error_r: static text). */
int password_hash(const char *password, char *hash_r, size_t size,
		  const char **error_r);
/* 1 when password matches hash, 0 when not, -1 when hash is unusable.
 * The final comparison takes the same time wherever the strings differ. */
int password_verify(const char *password, const char *hash);
/* Burns the same time as a password_verify of a real user, so that a login
 * for an unknown user cannot be told apart by its timing. Returns 0. */
int password_verify_dummy(const char *password);

#endif
