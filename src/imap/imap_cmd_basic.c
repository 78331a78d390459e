/* Commands of any state: CAPABILITY, NOOP, LOGOUT, STARTTLS, ID, ENABLE,
 * NAMESPACE (RFC 9051 6.1, 6.3.1, 6.3.10; RFC 2971; RFC 5161). */
#include "imap/imap_private.h"

#include <stdio.h>
#include <string.h>

#include "lib/log.h"

int imap_cmd_capability(struct imap_session *s)
{
	if (!imap_arg_is_eol(s->args)) {
		imap_bad(s, "CAPABILITY takes no arguments");
		return 1;
	}
	buf_append_str(&s->out, "* CAPABILITY ");
	imap_write_capabilities(s, &s->out);
	buf_append_str(&s->out, "\r\n");
	imap_tagged(s, "OK CAPABILITY completed");
	return 1;
}

int imap_cmd_noop(struct imap_session *s)
{
	if (s->state == IMAP_STATE_SELECTED && imap_send_updates(s, true) < 0)
		return 1;
	imap_tagged(s, "OK NOOP completed");
	return 1;
}

int imap_cmd_logout(struct imap_session *s)
{
	imap_untagged(s, "BYE Logging out");
	imap_tagged(s, "OK LOGOUT completed");
	imap_set_state(s, IMAP_STATE_LOGOUT);
	s->next = IMAP_NEXT_CLOSE;
	return 1;
}

int imap_cmd_starttls(struct imap_session *s)
{
	if (s->tls || !s->set.tls_available) {
		imap_bad(s, s->tls ? "TLS is already active" : "TLS is not available");
		return 1;
	}
	imap_tagged(s, "OK Begin TLS negotiation now");
	s->next = IMAP_NEXT_STARTTLS;
	return 1;
}

int imap_cmd_id(struct imap_session *s)
{
	struct imap_id id;
	const char *err;
	if (imap_parse_id(s->args, &id, &err) < 0) {
		imap_bad(s, err);
		return 1;
	}
	/* One bounded line, whoever sends it and however often. */
	char line[8 * (2 * sizeof(struct log_field) + 4)];
	size_t o = 0;
	line[0] = '\0';
	for (size_t i = 0; i < id.count && i < 8; i++) {
		struct log_field f, v;
		struct str field = id.pairs[i].field, value = id.pairs[i].value;
		int n = snprintf(line + o, sizeof line - o, " %s=\"%s\"",
				 log_field(&f, field.p, field.len),
				 id.pairs[i].value_nil ? "" : log_field(&v, value.p, value.len));
		o += n > 0 && (size_t)n < sizeof line - o ? (size_t)n : 0;
	}
	log_info("imap %s: ID%s%s", s->id, line, id.count > 8 ? " ..." : "");
	imap_untagged(s, "ID (\"name\" \"postbox\")");
	imap_tagged(s, "OK ID completed");
	return 1;
}

int imap_cmd_enable(struct imap_session *s)
{
	/* also: what comes with it, unlisted (QRESYNC implies CONDSTORE,
	 * RFC 7162 3.2.3). */
	static const struct { const char *name; unsigned bit, also; } known[] = {
		{ "IMAP4rev2", IMAP_ENABLED_REV2, 0 },
		{ "UTF8=ACCEPT", IMAP_ENABLED_UTF8, 0 },
		{ "CONDSTORE", IMAP_ENABLED_CONDSTORE, 0 },   /* RFC 7162 3.1 */
		{ "QRESYNC", IMAP_ENABLED_QRESYNC, IMAP_ENABLED_CONDSTORE },
	};
	struct imap_enable en;
	const char *err;
	unsigned before = s->enabled, listed = 0;
	if (imap_parse_enable(s->args, &en, &err) < 0) {
		imap_bad(s, err);
		return 1;
	}
	struct buf line;
	buf_init(&line, 512);
	buf_append_str(&line, "* ENABLED");
	for (size_t i = 0; i < en.count; i++) {
		for (size_t k = 0; k < sizeof known / sizeof known[0]; k++) {
			/* RFC 5161 3.1: only newly enabled ones are listed. */
			if (str_case_eq_cstr(en.caps[i], known[k].name) &&
			    !((before | listed) & known[k].bit)) {
				s->enabled |= known[k].bit | known[k].also;
				listed |= known[k].bit;
				buf_printf(&line, " %s", known[k].name);
			}
		}
	}
	buf_append_str(&line, "\r\n");
	buf_append(&s->out, line.data, line.len);
	buf_free(&line);
	imap_tagged(s, "OK ENABLE completed");
	return 1;
}

int imap_cmd_namespace(struct imap_session *s)
{
	/* One personal namespace, "/" as the hierarchy delimiter. */
	imap_untagged(s, "NAMESPACE ((\"\" \"/\")) NIL NIL");
	imap_tagged(s, "OK NAMESPACE completed");
	return 1;
}
