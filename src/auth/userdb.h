#ifndef PB_AUTH_USERDB_H
#define PB_AUTH_USERDB_H
/* The user directory: users, aliases and catch-alls in DATA/postbox.db
 * (SQLite, WAL). Passwords are stored only as yescrypt hashes (libcrypt).
 * Addresses are stored lower-cased as "local@domain". One handle per thread:
 * a handle must not be shared between threads. Several processes may open
 * the same file (writers wait up to 5 s for each other).
 *
 * Addresses given to add/del/passwd are checked with address_parse()
 * (auth/address.h): a dot-atom local part without '/', '%' or '!', and a
 * plain DNS domain. Whether the domain is local is the caller's business.
 * error_r always receives static text. Callbacks must not call back into
 * the same handle. */

#include <stdbool.h>
#include <stddef.h>

struct userdb;

/* The files of the directory under DATA: the database and SQLite's WAL
 * side files, which must follow it in ownership and mode. */
#define USERDB_FILE_COUNT 3
extern const char *const userdb_files[USERDB_FILE_COUNT];

/* Opens (creating when missing, mode 0600, and data_dir 0700 with it)
 * DATA/postbox.db, creating or checking the schema (PRAGMA user_version). */
int userdb_open(const char *data_dir, struct userdb **db_r, const char **error_r);
void userdb_close(struct userdb **db);

/* Users. address must be "local@domain"; adding an existing one fails
 * ("user already exists"); del and passwd of a missing one fail ("no such
 * user"). add and passwd run yescrypt (slow). */
int userdb_user_add(struct userdb *db, const char *address, const char *password,
		    const char **error_r);
int userdb_user_del(struct userdb *db, const char *address, const char **error_r);
int userdb_user_passwd(struct userdb *db, const char *address, const char *password,
		       const char **error_r);
/* Calls cb for each user in address order; 0 or -1. */
int userdb_user_list(struct userdb *db, void (*cb)(const char *address, void *ctx),
		     void *ctx, const char **error_r);
/* 1 exists, 0 not, -1 error. local and domain compared case-insensitively. */
int userdb_user_exists(struct userdb *db, const char *local, const char *domain);
/* 1 the password matches, 0 it does not (or no such user), -1 error.
 * Runs yescrypt: slow on purpose, call from a worker thread. */
int userdb_verify_password(struct userdb *db, const char *address, const char *password);

/* Aliases. alias is "local@domain", or "@domain" for the domain's catch-all.
 * targets are full addresses, local or remote. add appends targets to an
 * existing alias (duplicates ignored). */
int userdb_alias_add(struct userdb *db, const char *alias, const char *const *targets,
		     size_t count, const char **error_r);
/* Removes the alias entirely (targets == NULL) or just the given targets.
 * Fails with "no such alias" / "the alias has no such target" (nothing is
 * removed then: all or nothing). */
int userdb_alias_del(struct userdb *db, const char *alias, const char *const *targets,
		     size_t count, const char **error_r);
int userdb_alias_list(struct userdb *db,
		      void (*cb)(const char *alias, const char *target, void *ctx),
		      void *ctx, const char **error_r);
/* Calls cb for each target of alias (exact match, lower-cased); returns the
 * number of targets (0 = not an alias) or -1. */
int userdb_alias_targets(struct userdb *db, const char *alias,
			 void (*cb)(const char *target, void *ctx), void *ctx);

#endif
