#ifndef PB_MSG_ADDRESS_H
#define PB_MSG_ADDRESS_H
/* RFC 5322 3.4 address lists, with the obsolete syntax of 4.4 (obs-route,
 * obs-local-part, obs-domain, empty list elements), parsed into the shape
 * of the IMAP ENVELOPE address (RFC 9051 7.5.2):
 *
 *   mailbox:      name adl mailbox host        (name, adl may be absent)
 *   group start:  NIL  NIL  "group name" NIL   (kind MSG_ADDR_GROUP_START)
 *   group end:    NIL  NIL  NIL          NIL   (kind MSG_ADDR_GROUP_END)
 *
 * Strings are as in the message, not decoded: display names keep their
 * RFC 2047 encoded words (decode them with encoded_word.h), quoted strings
 * are unquoted and comments removed. Broken input never fails the parse:
 * an address without local part gets mailbox "MISSING_MAILBOX", one
 * without domain gets host "MISSING_DOMAIN" (as Dovecot does, so that a
 * NIL host keeps meaning "group"), and the address is marked invalid. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

#define MSG_ADDRESS_MAX 10000

enum msg_address_kind {
	MSG_ADDR_MAILBOX,
	MSG_ADDR_GROUP_START,
	MSG_ADDR_GROUP_END,
};

struct msg_address {
	enum msg_address_kind kind;
	/* p == NULL means absent (NIL); otherwise NUL-terminated. */
	struct str name;     /* display name */
	struct str route;    /* obs-route as "@a.example,@b.example" */
	struct str mailbox;  /* local part; the group name for GROUP_START */
	struct str host;     /* domain; "[1.2.3.4]" keeps its brackets */
	bool invalid;        /* something was missing or out of place */
};

struct msg_address_list {
	struct msg_address *addrs;
	size_t count;
	char *pool;          /* storage of every string */
};

/* Parses an (unfolded or raw) address-list value. 0 with *list_r set (it may
 * hold no address), or -1 on allocation failure with *error_r set. At most
 * MSG_ADDRESS_MAX entries are kept. */
int msg_address_parse(struct str value, struct msg_address_list **list_r,
		      const char **error_r);
void msg_address_list_free(struct msg_address_list **list);

/* Appends "local@domain" of a mailbox entry (quoting the local part when it
 * needs it) to out. 0 or -1 (out full). */
int msg_address_write_addr_spec(struct buf *out, const struct msg_address *a);

#endif
