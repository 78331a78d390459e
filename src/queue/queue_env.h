#ifndef PB_QUEUE_QUEUE_ENV_H
#define PB_QUEUE_QUEUE_ENV_H
/* The envelope of a queued message: who sent it, to whom, with which DSN
 * parameters (RFC 3461), and where each recipient stands. Pure: text in,
 * struct out, and back; the files are queue_store's.
 *
 * Text format (docs/queue.md), one record per line, fields separated by
 * TAB, every field percent-escaped ('%', control octets and DEL become
 * %XX; other octets, UTF-8 included, stay as they are):
 *
 *   postbox-queue 1
 *   id      ID
 *   sender  ADDRESS                (empty: the null sender <>)
 *   envid   ENVID                  (xtext decoded; may be empty)
 *   ret     - | FULL | HDRS
 *   body    7BIT | 8BITMIME
 *   utf8    0 | 1                  (SMTPUTF8)
 *   arrival UNIX-SECONDS
 *   size    OCTETS                 (of the message file)
 *   offset  OCTETS                 (where the content after Return-Path: starts)
 *   warned  0 | 1                  (the delay warning went out)
 *   rcpt    ADDRESS ORCPT NOTIFY STATE ATTEMPTS NEXT MTA REPLY
 *   ...
 *   end     RCPT-COUNT
 *
 * and after "end", appended update records, the last one winning:
 *
 *   u       INDEX STATE ATTEMPTS NEXT MTA REPLY
 *   w       1
 *
 * Everything up to "end" must be whole: anything else is a corrupt file.
 * An update record without its final LF is the trace of a write cut by a
 * crash, before it was reported done: it is ignored (and its attempt made
 * again). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define QUEUE_ID_MAX 32           /* octets, NUL excluded */
#define QUEUE_ADDR_MAX 512        /* RFC 5321 4.5.3.1.3: a path is 256; room for UTF-8 */
#define QUEUE_ORCPT_MAX 1000      /* "addr-type;xtext" as given */
#define QUEUE_ENVID_MAX 100       /* RFC 3461 4.4 */
#define QUEUE_MTA_MAX 300
#define QUEUE_REPLY_MAX 1000      /* a remote reply, multi-line joined; longer is cut with "..." */
#define QUEUE_RCPT_MAX 100000
#define QUEUE_ENV_FILE_MAX (64u << 20)  /* a whole envelope file, updates included */

enum queue_ret { QUEUE_RET_NONE, QUEUE_RET_FULL, QUEUE_RET_HDRS };
enum queue_body { QUEUE_BODY_7BIT, QUEUE_BODY_8BITMIME };

/* RFC 3461 4.1 NOTIFY, as a set; 0 = not given (failures and delays are
 * reported, RFC 3461 4.1 "default"). */
enum queue_notify {
	QUEUE_NOTIFY_NEVER = 1 << 0,
	QUEUE_NOTIFY_SUCCESS = 1 << 1,
	QUEUE_NOTIFY_FAILURE = 1 << 2,
	QUEUE_NOTIFY_DELAY = 1 << 3,
};

enum queue_rcpt_state {
	QUEUE_PENDING,    /* never tried */
	QUEUE_DEFERRED,   /* tried, failed for now: retry at next */
	QUEUE_SENT,       /* final: the next hop took it */
	QUEUE_BOUNCED,    /* final: failed for good (the bounce is queued) */
	QUEUE_HELD,       /* an administrator put it on hold */
	QUEUE_STATE_COUNT
};

struct queue_rcpt {
	char *addr;                /* owned */
	char *orcpt;               /* owned; RFC 3461 ORCPT as "addr-type;address"
				    * (xtext decoded); "" = none */
	unsigned notify;           /* enum queue_notify */
	enum queue_rcpt_state state;
	unsigned attempts;
	int64_t next;              /* unix seconds: the next attempt */
	char *mta;                 /* owned; the host that gave the last reply, "" = none */
	char *reply;               /* owned; the last reply or error, "" = none */
};

struct queue_env {
	char id[QUEUE_ID_MAX + 1];
	char *sender;              /* owned; "" = null sender */
	char *envid;               /* owned; "" = none */
	enum queue_ret ret;
	enum queue_body body;
	bool smtputf8;
	bool warned;
	int64_t arrival;
	uint64_t size;
	uint64_t offset;
	struct queue_rcpt *rcpts;  /* owned */
	size_t rcpt_count;
};

const char *queue_state_name(enum queue_rcpt_state s);
/* true for sent and bounced: nothing more will be done for it. */
bool queue_state_final(enum queue_rcpt_state s);

/* An empty envelope (no recipients). id must be a queue id (letters and
 * digits). 0, or -1 with *error_r. */
int queue_env_init(struct queue_env *env, const char *id, const char *sender,
		   const char **error_r);
/* Adds a pending recipient due at env->arrival. orcpt and reply may be
 * NULL. 0, or -1 with *error_r (too long, a NUL, too many). */
int queue_env_add_rcpt(struct queue_env *env, const char *addr, const char *orcpt,
		       unsigned notify, const char **error_r);
/* Sets a string field (sender, envid, a recipient's reply) to a copy of s,
 * cut to max octets with "..." at the end when longer. 0, or -1 (ENOMEM). */
int queue_env_set_str(char **field, const char *s, size_t max);
/* Frees what env owns; env is then empty. */
void queue_env_clear(struct queue_env *env);

/* Appends the whole envelope (header, recipients, "end") to out. */
int queue_env_format(const struct queue_env *env, struct buf *out);
/* Appends the update record of recipient i to out. */
int queue_env_format_update(const struct queue_env *env, size_t i, struct buf *out);
/* Appends the "warned" update record. */
int queue_env_format_warned(struct buf *out);

/* Parses a whole envelope file into env (cleared first), updates
 * applied. *valid_len_r: the octets up to the last whole record (a torn
 * final update is not counted). 0, or -1 with env empty, *error_r saying
 * what is wrong and *line_r the line (1-based) where it is. */
int queue_env_parse(const char *data, size_t len, struct queue_env *env,
		    size_t *valid_len_r, size_t *line_r, const char **error_r);

#endif
