#ifndef PB_QUEUE_QUEUE_PRIVATE_H
#define PB_QUEUE_QUEUE_PRIVATE_H
/* Shared inside src/queue/ only: the names of the layout (queue_store.h). */

#include <stdbool.h>
#include <stddef.h>

#define QUEUE_INCOMING "incoming"
#define QUEUE_ACTIVE "active"
#define QUEUE_ENV_SUFFIX ".env"

/* DATA/queue[/sub][/name]suffix into out. 0, or -1 (ENAMETOOLONG). */
int queue_path(const char *data_dir, const char *sub, const char *name, const char *suffix,
	       char *out, size_t outlen);
/* A queue id: 1 to QUEUE_ID_MAX letters and digits (never a path). */
bool queue_id_ok(const char *id);

struct dirent;
struct queue_env;
/* Reads and parses the envelope of id: *valid_r whole-record octets of
 * *len_r in the file. 0, or -1 with *error_r and errno. */
int queue_load_env(const char *data_dir, const char *id, struct queue_env *env,
		   size_t *valid_r, size_t *len_r, const char **error_r);
/* Unlinks each entry of DATA/queue[/sub] that doomed() picks (never a
 * dot file); logs them when sub is not the top. Returns how many. */
size_t queue_clean_dir(const char *data_dir, const char *sub,
		       bool (*doomed)(int dfd, const struct dirent *e));

#endif
