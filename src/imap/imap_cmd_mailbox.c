/* The mailbox command family's table, and CREATE, DELETE, RENAME,
 * SUBSCRIBE, UNSUBSCRIBE, STATUS and CHECK (RFC 9051 6.3.4-6.3.8, 6.3.11;
 * RFC 3501 6.4.1; RFC 6154 3; RFC 8438). LIST and LSUB are in
 * imap_cmd_list.c, APPEND in imap_cmd_append.c. */
#include "imap/imap_mailbox.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"

int imap_mailbox_str(struct imap_session *s, struct str raw, char *name, size_t size)
{
	struct imap_arg arg = { .type = IMAP_ARG_STRING, .str = raw };
	return imap_mailbox_arg(s, &arg, name, size);
}

int imap_mailbox_status_line(struct imap_session *s, const char *name, unsigned items,
			     const char **error_r)
{
	struct mail_status st;
	if (mail_store_status(s->store, name, &st, error_r) < 0)
		return -1;
	const struct { unsigned bit; const char *name; unsigned long long v; } f[] = {
		{ IMAP_STATUS_MESSAGES, "MESSAGES", st.messages },
		{ IMAP_STATUS_UIDNEXT, "UIDNEXT", st.uidnext },
		{ IMAP_STATUS_UIDVALIDITY, "UIDVALIDITY", st.uidvalidity },
		{ IMAP_STATUS_UNSEEN, "UNSEEN", st.unseen },
		{ IMAP_STATUS_DELETED, "DELETED", st.deleted },
		{ IMAP_STATUS_SIZE, "SIZE", st.size },
		{ IMAP_STATUS_RECENT, "RECENT", st.recent },
		{ IMAP_STATUS_HIGHESTMODSEQ, "HIGHESTMODSEQ", st.highest_modseq },
		{ IMAP_STATUS_APPENDLIMIT, "APPENDLIMIT", s->set.max_append },
	};
	const char *sep = "";
	buf_append_str(&s->out, "* STATUS ");
	imap_write_mailbox(s, &s->out, name);
	buf_append_str(&s->out, " (");
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		if (items & f[i].bit) {
			buf_printf(&s->out, "%s%s %llu", sep, f[i].name, f[i].v);
			sep = " ";
		}
	}
	buf_append_str(&s->out, ")\r\n");
	return 0;
}

/* RENAME of the selected folder (or a parent) closes it (RFC 9051 7.1
 * CLOSED): its files moved, the handle would look in the old place.
 * INBOX stays where it is (its messages move out: EXPUNGE follows). */
static void close_if_affected(struct imap_session *s, const char *name)
{
	size_t n = strlen(name);
	if (s->folder == NULL || strcmp(name, "INBOX") == 0 ||
	    strncmp(s->folder_name, name, n) != 0 ||
	    (s->folder_name[n] != '\0' && s->folder_name[n] != '/'))
		return;
	imap_unselect(s);
	imap_untagged(s, "OK [CLOSED] Mailbox closed");
}

/* RFC 6154 3: CREATE name (USE (\Sent)). The store gives special uses
 * by name, so a use is possible only on its default name. */
static int create_use(struct imap_session *s, const struct imap_arg *arg, const char *name)
{
	static const char *const uses[] = { "Sent", "Drafts", "Trash", "Junk", "Archive" };
	const struct imap_arg *p = arg->list;
	if (arg->type != IMAP_ARG_LIST || !imap_arg_atom_is(&p[0], "USE") ||
	    p[1].type != IMAP_ARG_LIST || p[2].type != IMAP_ARG_EOL) {
		imap_bad(s, "Invalid CREATE parameters");
		return -1;
	}
	for (const struct imap_arg *u = p[1].list; u->type != IMAP_ARG_EOL; u++) {
		struct str a;
		bool ok = false;
		for (size_t i = 0; i < sizeof uses / sizeof uses[0] && !ok; i++)
			ok = imap_arg_get_atom(u, &a) && a.len == strlen(uses[i]) + 1 &&
			     a.p[0] == '\\' && strncasecmp(a.p + 1, uses[i], a.len - 1) == 0 &&
			     strcmp(name, uses[i]) == 0;
		if (!ok) {
			imap_tagged(s, "NO [USEATTR] That special use is not possible here");
			return -1;
		}
	}
	return 0;
}

/* Deletes again the first n superior names of name that this command
 * created (made[i]: level i was new), deepest first. */
static void remove_parents(struct imap_session *s, const char *name, const bool *made, size_t n)
{
	char parent[MAIL_NAME_MAX + 1];
	const char *err = NULL;
	size_t i = 0;
	const char *ends[MAIL_NAME_MAX / 2 + 1];
	for (const char *p = name; i < n && (p = strchr(p, '/')) != NULL; p++)
		ends[i++] = p;
	while (i-- > 0) {
		if (!made[i])
			continue;
		snprintf(parent, sizeof parent, "%.*s", (int)(ends[i] - name), name);
		if (mail_store_delete(s->store, parent, &err) < 0)
			log_err("imap %s: CREATE rollback of %s: %s", s->id, parent,
				err ? err : "?");
	}
}

/* RFC 9051 6.3.4 and 6.3.6: the superior names of a new name are
 * created too (SHOULD), so each level can be selected; then the name
 * itself when create is set. All or nothing: on failure the levels this
 * command made are removed again. */
static int create_all(struct imap_session *s, const char *name, bool create, const char *what)
{
	char parent[MAIL_NAME_MAX + 1];
	bool made[MAIL_NAME_MAX / 2 + 1];
	const char *err = NULL;
	size_t n = 0;
	for (const char *p = name; (p = strchr(p, '/')) != NULL; p++) {
		snprintf(parent, sizeof parent, "%.*s", (int)(p - name), name);
		made[n] = mail_store_create(s->store, parent, &err) == 0;
		if (!made[n++] && errno != EEXIST)
			goto fail;
	}
	if (!create || mail_store_create(s->store, name, &err) == 0)
		return 0;
fail:
	imap_store_error(s, what, err);
	remove_parents(s, name, made, n);
	return -1;
}

static int cmd_create(struct imap_session *s)
{
	char name[MAIL_NAME_MAX + 2];
	if (imap_arg_is_eol(&s->args[0]) || (!imap_arg_is_eol(&s->args[1]) &&
					     !imap_arg_is_eol(&s->args[2]))) {
		imap_bad(s, "CREATE takes a mailbox name");
		return 1;
	}
	if (imap_mailbox_arg(s, &s->args[0], name, sizeof name) < 0)
		return 1;
	/* RFC 9051 6.3.4: a trailing delimiter announces children. */
	size_t len = strlen(name);
	if (len > 1 && name[len - 1] == '/')
		name[len - 1] = '\0';
	if (!imap_arg_is_eol(&s->args[1]) && create_use(s, &s->args[1], name) < 0)
		return 1;
	if (!mail_store_name_valid(name)) {
		imap_tagged(s, "NO [CANNOT] Invalid mailbox name");
		return 1;
	}
	if (create_all(s, name, true, "CREATE") < 0)
		return 1;
	imap_tagged(s, "OK CREATE completed");
	return 1;
}

static int cmd_delete(struct imap_session *s)
{
	char name[MAIL_NAME_MAX + 1];
	const char *err = NULL;
	if (!imap_arg_is_eol(&s->args[0]) && !imap_arg_is_eol(&s->args[1])) {
		imap_bad(s, "DELETE takes one mailbox name");
		return 1;
	}
	if (imap_mailbox_arg(s, &s->args[0], name, sizeof name) < 0)
		return 1;
	if (strcmp(name, "INBOX") == 0) {
		imap_tagged(s, "NO [CANNOT] INBOX cannot be deleted");
		return 1;
	}
	if (s->folder != NULL && strcmp(s->folder_name, name) == 0) {
		imap_unselect(s);
		imap_untagged(s, "OK [CLOSED] Mailbox closed");
	}
	if (mail_store_delete(s->store, name, &err) < 0) {
		imap_store_error(s, "DELETE", err);
		return 1;
	}
	imap_tagged(s, "OK DELETE completed");
	return 1;
}

static int cmd_rename(struct imap_session *s)
{
	char from[MAIL_NAME_MAX + 1], to[MAIL_NAME_MAX + 1];
	const char *err = NULL;
	if (imap_args_count(s->args) != 2) {
		imap_bad(s, "RENAME takes two mailbox names");
		return 1;
	}
	if (imap_mailbox_arg(s, &s->args[0], from, sizeof from) < 0 ||
	    imap_mailbox_arg(s, &s->args[1], to, sizeof to) < 0)
		return 1;
	if (!mail_store_name_valid(to)) {
		imap_tagged(s, "NO [CANNOT] Invalid mailbox name");
		return 1;
	}
	if (mail_store_rename(s->store, from, to, &err) < 0) {
		imap_store_error(s, "RENAME", err);
		return 1;
	}
	close_if_affected(s, from);
	if (create_all(s, to, false, "RENAME") < 0)
		return 1;
	imap_tagged(s, "OK RENAME completed");
	return 1;
}

static int do_subscribe(struct imap_session *s, bool on)
{
	char name[MAIL_NAME_MAX + 1];
	const char *err = NULL;
	const char *what = on ? "SUBSCRIBE" : "UNSUBSCRIBE";
	if (imap_args_count(s->args) != 1) {
		imap_bad(s, on ? "SUBSCRIBE takes one mailbox name" :
				 "UNSUBSCRIBE takes one mailbox name");
		return 1;
	}
	if (imap_mailbox_arg(s, &s->args[0], name, sizeof name) < 0)
		return 1;
	if (mail_store_subscribe(s->store, name, on, &err) < 0) {
		imap_store_error(s, what, err);
		return 1;
	}
	imap_tagged(s, "OK %s completed", what);
	return 1;
}

static int cmd_subscribe(struct imap_session *s) { return do_subscribe(s, true); }
static int cmd_unsubscribe(struct imap_session *s) { return do_subscribe(s, false); }

static int cmd_status(struct imap_session *s)
{
	char name[MAIL_NAME_MAX + 1];
	const char *err = NULL;
	unsigned items;
	if (imap_args_count(s->args) != 2) {
		imap_bad(s, "STATUS takes a mailbox and a list of items");
		return 1;
	}
	if (imap_parse_status_items(&s->args[1], &items, &err) < 0) {
		imap_bad(s, err);
		return 1;
	}
	if ((items & IMAP_STATUS_RECENT) && (s->enabled & IMAP_ENABLED_REV2)) {
		imap_bad(s, "RECENT is not an IMAP4rev2 status item");
		return 1;
	}
	if (imap_mailbox_arg(s, &s->args[0], name, sizeof name) < 0)
		return 1;
	if (imap_mailbox_status_line(s, name, items, &err) < 0) {
		imap_store_error(s, "STATUS", err);
		return 1;
	}
	imap_tagged(s, "OK STATUS completed");
	return 1;
}

/* IMAP4rev1 CHECK (RFC 3501 6.4.1): the store is always checkpointed,
 * so it is a NOOP. */
static int cmd_check(struct imap_session *s)
{
	if (!imap_arg_is_eol(s->args)) {
		imap_bad(s, "CHECK takes no arguments");
		return 1;
	}
	imap_send_updates(s, true);
	imap_tagged(s, "OK CHECK completed");
	return 1;
}

#define AU IMAP_STATES_AU
#define SE IMAP_STATES_SE

const struct imap_command_def imap_commands_mailbox[] = {
	{ "CREATE", AU | SE, 0, cmd_create, NULL },
	{ "DELETE", AU | SE, 0, cmd_delete, NULL },
	{ "RENAME", AU | SE, 0, cmd_rename, NULL },
	{ "SUBSCRIBE", AU | SE, 0, cmd_subscribe, NULL },
	{ "UNSUBSCRIBE", AU | SE, 0, cmd_unsubscribe, NULL },
	{ "STATUS", AU | SE, 0, cmd_status, "STATUS=SIZE" },
	{ "CHECK", SE, 0, cmd_check, NULL },
	{ "LIST", AU | SE, 0, imap_cmd_list, "LIST-EXTENDED LIST-STATUS SPECIAL-USE CHILDREN" },
	{ "LSUB", AU | SE, 0, imap_cmd_lsub, NULL },
	{ "APPEND", AU | SE, 0, imap_cmd_append, "UIDPLUS MULTIAPPEND" },
	{ NULL, 0, 0, NULL, NULL },
};
