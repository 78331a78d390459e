/* The IMAP command table and the output helpers every command uses. */
#include "imap/imap_private.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "imap/imap_mutf7.h"
#include "lib/utf8.h"
#include "lib/log.h"

#define NA IMAP_STATES_NA
#define AU IMAP_STATES_AU
#define SE IMAP_STATES_SE
#define ANY (NA | AU | SE)

const struct imap_command_def imap_commands_core[] = {
	{ "CAPABILITY", ANY, IMAP_CMD_ON_LOOP, imap_cmd_capability, NULL },
	{ "NOOP", ANY, 0, imap_cmd_noop, NULL },
	{ "LOGOUT", ANY, IMAP_CMD_ON_LOOP, imap_cmd_logout, NULL },
	{ "STARTTLS", NA, IMAP_CMD_ON_LOOP, imap_cmd_starttls, NULL },
	{ "ID", ANY, IMAP_CMD_ON_LOOP, imap_cmd_id, "ID" },
	{ "ENABLE", AU | SE, IMAP_CMD_ON_LOOP, imap_cmd_enable, "ENABLE UTF8=ACCEPT" },
	{ "NAMESPACE", AU | SE, IMAP_CMD_ON_LOOP, imap_cmd_namespace, "NAMESPACE" },
	{ "LOGIN", NA, IMAP_CMD_ON_LOOP, imap_cmd_login, NULL },
	{ "AUTHENTICATE", NA, IMAP_CMD_ON_LOOP, imap_cmd_authenticate, "SASL-IR" },
	{ "SELECT", AU | SE, 0, imap_cmd_select, "QRESYNC" },
	{ "EXAMINE", AU | SE, 0, imap_cmd_examine, NULL },
	{ "CLOSE", SE, 0, imap_cmd_close, NULL },
	{ "UNSELECT", SE, 0, imap_cmd_unselect, "UNSELECT" },
	{ "IDLE", AU | SE, 0, imap_cmd_idle, "IDLE" },
	{ NULL, 0, 0, NULL, NULL },
};

static const struct imap_command_def *const tables[] = {
	imap_commands_core, imap_commands_mailbox, imap_commands_message, imap_commands_search,
};

const struct imap_command_def *imap_command_find(struct str name, bool uid)
{
	for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
		for (const struct imap_command_def *d = tables[t]; d->name || d->capability; d++) {
			if (d->name != NULL && d->run != NULL && str_case_eq_cstr(name, d->name))
				return uid && !(d->flags & IMAP_CMD_UID) ? NULL : d;
		}
	}
	return NULL;
}

void imap_write_capabilities(struct imap_session *s, struct buf *out)
{
	buf_append_str(out, "IMAP4rev2 IMAP4rev1 LITERAL+");
	for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
		for (const struct imap_command_def *d = tables[t]; d->name || d->capability; d++) {
			if (d->capability != NULL)
				buf_printf(out, " %s", d->capability);
		}
	}
	if (s->state != IMAP_STATE_NOT_AUTH)
		return;
	if (s->set.tls_available && !s->tls)
		buf_append_str(out, " STARTTLS");
	if (s->tls || s->set.plaintext_auth)
		buf_append_str(out, " AUTH=PLAIN AUTH=LOGIN");
	else
		buf_append_str(out, " LOGINDISABLED");
}

/* RFC 9051 4.3: a quoted string holds no CR, LF or NUL and only 7-bit
 * text unless the client speaks UTF-8; a literal holds anything. */
void imap_write_string(struct buf *out, struct str s)
{
	bool quotable = s.len < 1024;
	for (size_t i = 0; i < s.len && quotable; i++) {
		unsigned char c = (unsigned char)s.p[i];
		quotable = c >= 0x20 && c != 0x7f && c < 0x80;
	}
	if (!quotable) {
		buf_printf(out, "{%zu}\r\n", s.len);
		buf_append(out, s.p, s.len);
		return;
	}
	buf_append_char(out, '"');
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] == '"' || s.p[i] == '\\')
			buf_append_char(out, '\\');
		buf_append_char(out, s.p[i]);
	}
	buf_append_char(out, '"');
}

void imap_write_mailbox(struct imap_session *s, struct buf *out, const char *name)
{
	const char *err;
	if (s->enabled & (IMAP_ENABLED_UTF8 | IMAP_ENABLED_REV2)) {
		/* UTF-8 goes in a quoted string (RFC 9051 4.3, RFC 6855 3). */
		struct str n = str_from(name);
		buf_append_char(out, '"');
		for (size_t i = 0; i < n.len; i++) {
			if (n.p[i] == '"' || n.p[i] == '\\')
				buf_append_char(out, '\\');
			buf_append_char(out, n.p[i]);
		}
		buf_append_char(out, '"');
		return;
	}
	struct buf m;
	buf_init(&m, 4 * MAIL_NAME_MAX);
	if (imap_utf8_to_mutf7(str_from(name), &m, &err) < 0)
		buf_reset(&m);
	imap_write_string(out, buf_str(&m));
	buf_free(&m);
}

int imap_mailbox_arg(struct imap_session *s, const struct imap_arg *arg, char *name,
		     size_t size)
{
	struct str raw;
	const char *err = NULL;
	if (imap_arg_get_mailbox(arg, &raw) < 0) {
		imap_bad(s, "Invalid mailbox name");
		return -1;
	}
	struct buf b;
	buf_init(&b, size - 1);
	int r;
	if (s->enabled & (IMAP_ENABLED_UTF8 | IMAP_ENABLED_REV2))
		r = utf8_valid(raw) ? buf_append(&b, raw.p, raw.len) : -1;
	else
		r = imap_mutf7_to_utf8(raw, &b, &err);
	if (r < 0 || b.len == 0) {
		buf_free(&b);
		imap_tagged(s, "NO [CANNOT] Invalid mailbox name%s%s", err ? ": " : "",
			    err ? err : "");
		return -1;
	}
	memcpy(name, b.data, b.len + 1);
	buf_free(&b);
	return 0;
}

void imap_write_flags(struct buf *out, unsigned flags, const char *keywords, bool recent)
{
	static const struct { unsigned bit; const char *name; } names[] = {
		{ MAIL_SEEN, "\\Seen" }, { MAIL_ANSWERED, "\\Answered" },
		{ MAIL_FLAGGED, "\\Flagged" }, { MAIL_DELETED, "\\Deleted" },
		{ MAIL_DRAFT, "\\Draft" },
	};
	const char *sep = "";
	buf_append_char(out, '(');
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (flags & names[i].bit) {
			buf_append_str(out, sep);
			buf_append_str(out, names[i].name);
			sep = " ";
		}
	}
	if (recent) {
		buf_append_str(out, sep);
		buf_append_str(out, "\\Recent");
		sep = " ";
	}
	if (keywords != NULL && keywords[0] != '\0') {
		buf_append_str(out, sep);
		buf_append_str(out, keywords);
	}
	buf_append_char(out, ')');
}

/* Call right after the failing store call: errno says whose fault it is
 * (RFC 5530 response codes). */
void imap_store_error(struct imap_session *s, const char *what, const char *err)
{
	int e = errno;
	if (e == ENOENT) {
		imap_tagged(s, "NO [NONEXISTENT] %s: %s", what, err ? err : "no such mailbox");
	} else if (e == EEXIST) {
		imap_tagged(s, "NO [ALREADYEXISTS] %s: %s", what, err ? err : "already exists");
	} else if (e == EINVAL || e == EPERM) {
		imap_tagged(s, "NO [CANNOT] %s: %s", what, err ? err : "not possible");
	} else if (e == ENOSPC || e == EDQUOT) {
		imap_tagged(s, "NO [OVERQUOTA] %s: out of space", what);
	} else {
		log_err("imap %s: %s for %s: %s", s->id, what, s->user, err ? err : "?");
		imap_tagged(s, "NO [SERVERBUG] %s failed", what);
	}
}
