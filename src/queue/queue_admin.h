#ifndef PB_QUEUE_QUEUE_ADMIN_H
#define PB_QUEUE_QUEUE_ADMIN_H
/* What `postbox queue` does (src/cli/cmd_queue.c parses its arguments):
 * safe while the daemon runs, since every change takes the message's
 * lock (queue_store.h) and a message being delivered is refused. */

#include <stdint.h>
#include <stdio.h>

/* Like mailq: each message's id, age, size and sender, then each
 * recipient with its state, attempts and last error. 0, or -1 with
 * *error_r. */
int queue_admin_list(const char *data_dir, int64_t now, FILE *out, const char **error_r);
/* The envelope in full, then the message's header section. */
int queue_admin_show(const char *data_dir, const char *id, int64_t now, FILE *out,
		     const char **error_r);

enum queue_admin_op { QUEUE_OP_DELETE, QUEUE_OP_HOLD, QUEUE_OP_RELEASE, QUEUE_OP_FLUSH };
/* Deletes, holds, releases or makes due now message id ("ALL": every
 * message; a locked one is reported on err and skipped). Release and
 * flush then ask the daemon to look (queue_request_flush). flush with
 * id NULL only asks. 0, or -1 with *error_r (for ALL: how many failed
 * is printed on err first). */
int queue_admin_op(const char *data_dir, enum queue_admin_op op, const char *id, int64_t now,
		   FILE *err, const char **error_r);

#endif
