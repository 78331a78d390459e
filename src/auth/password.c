#include "auth/password.h"

#include <crypt.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* A yescrypt hash with the default cost (the one crypt_gensalt_ra picks for
 * count 0) of a random password nobody knows, used to spend the same time on
 * unknown users as on known ones. */
static const char dummy_hash[] =
	"$y$j9T$XbiMKawKI1KqS14QVlaGT0$pgzCC0cFJeYdkO5ECCe24jZ/P5Hr3ZBOngyDqQ2IqB/";

/* crypt_r's scratch area is about 32 KiB: too big for a worker's stack, so it
 * lives on the heap and is wiped before it is freed (it held the password). */
static int run_crypt(const char *password, const char *setting, char *out,
		     size_t size)
{
	struct crypt_data *cd = calloc(1, sizeof *cd);
	if (cd == NULL)
		return -1;
	int ret = -1;
	const char *h = crypt_r(password, setting, cd);
	/* libxcrypt returns a string starting with '*' on failure, never NULL
	 * unless asked to, but check both. */
	if (h != NULL && h[0] != '*') {
		size_t n = strlen(h);
		if (n < size) {
			memcpy(out, h, n + 1);
			ret = 0;
		}
	}
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return ret;
}

int password_hash(const char *password, char *hash_r, size_t size,
		  const char **error_r)
{
	if (password[0] == '\0') {
		*error_r = "empty password";
		return -1;
	}
	if (strlen(password) > PASSWORD_MAX) {
		*error_r = "password too long";
		return -1;
	}
	/* count 0 = libcrypt's recommended cost; NULL rbytes = its own
	 * random source (getrandom). */
	char *setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
	if (setting == NULL) {
		*error_r = "cannot make a salt (yescrypt unsupported?)";
		return -1;
	}
	int ret = run_crypt(password, setting, hash_r, size);
	free(setting);
	if (ret < 0)
		*error_r = "password hashing failed";
	return ret;
}

/* Compares two strings of equal, public length without an early exit. */
static int equal_ct(const char *a, const char *b, size_t n)
{
	volatile unsigned char diff = 0;
	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return diff == 0;
}

int password_verify(const char *password, const char *hash)
{
	char out[PASSWORD_HASH_MAX];
	if (strlen(password) > PASSWORD_MAX)
		return 0;
	if (strncmp(hash, "$y$", 3) != 0 && strncmp(hash, "$7$", 3) != 0 &&
	    strncmp(hash, "$2b$", 4) != 0 && strncmp(hash, "$6$", 3) != 0)
		return -1;  /* refuse weak or unknown schemes (DES, MD5, "") */
	if (run_crypt(password, hash, out, sizeof out) < 0)
		return -1;
	size_t n = strlen(hash);
	int ok = strlen(out) == n && equal_ct(out, hash, n);
	explicit_bzero(out, sizeof out);
	return ok;
}

int password_verify_dummy(const char *password)
{
	(void)password_verify(password, dummy_hash);
	return 0;
}
