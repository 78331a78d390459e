#ifndef PB_IMAP_MAILBOX_H
#define PB_IMAP_MAILBOX_H
/* Shared by the files of the mailbox command family: imap_cmd_mailbox.c
 * (the table, CREATE DELETE RENAME SUBSCRIBE UNSUBSCRIBE STATUS CHECK),
 * imap_cmd_list.c (LIST, LSUB) and imap_cmd_append.c (APPEND). */

#include "imap/imap_private.h"

imap_cmd_fn imap_cmd_list, imap_cmd_lsub, imap_cmd_append;

/* Writes "* STATUS name (items)" for a folder of the store (UTF-8 name);
 * items are enum imap_status_item bits. 0, or -1 with errno and *error_r
 * from the store and nothing written. */
int imap_mailbox_status_line(struct imap_session *s, const char *name, unsigned items,
			     const char **error_r);

/* Converts a client's mailbox string (as in struct imap_list or
 * struct imap_append) to a UTF-8 store name; on -1 a tagged reply has
 * been written. */
int imap_mailbox_str(struct imap_session *s, struct str raw, char *name, size_t size);

#endif
