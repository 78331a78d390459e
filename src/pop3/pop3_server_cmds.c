/* The POP3 verbs: a table of {verb, states, handler} and one handler each. */
#include "pop3/pop3_server_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

typedef void verb_fn(struct pop3_server *s, struct str arg);

struct verb_def {
	const char *name;
	unsigned states;              /* bit per enum pop3_state */
	verb_fn *run;
};

static bool auth_allowed(const struct pop3_server *s)
{
	return s->tls || s->set.plaintext_auth;
}

/* Message numbers are 1-based and must name a message not deleted. */
static struct pop3_msg *message_arg(struct pop3_server *s, struct str arg, size_t *index_r)
{
	unsigned long long n;
	if (str_to_u64(arg, 1ULL << 40, &n) < 0 || n == 0 || n > s->count) {
		pop3_reply(s, "-ERR No such message");
		return NULL;
	}
	if (s->msgs[n - 1].deleted) {
		pop3_reply(s, "-ERR Message %llu already deleted", n);
		return NULL;
	}
	*index_r = (size_t)(n - 1);
	return &s->msgs[n - 1];
}

static void cmd_capa(struct pop3_server *s, struct str arg)
{
	(void)arg;
	pop3_reply(s, "+OK Capability list follows");
	buf_append_str(&s->out, "TOP\r\nUIDL\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nPIPELINING\r\n");
	if (s->state == POP3_STATE_AUTH && auth_allowed(s))
		buf_append_str(&s->out, "USER\r\nSASL PLAIN LOGIN\r\n");
	if (s->state == POP3_STATE_AUTH && s->set.tls_available && !s->tls)
		buf_append_str(&s->out, "STLS\r\n");
	buf_append_str(&s->out, "IMPLEMENTATION postbox\r\n.\r\n");
}

static void cmd_user(struct pop3_server *s, struct str arg)
{
	if (!auth_allowed(s)) {
		pop3_reply(s, "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections");
		return;
	}
	if (arg.len == 0 || arg.len > USER_MAX) {
		pop3_reply(s, "-ERR Syntax: USER name");
		return;
	}
	memcpy(s->user, arg.p, arg.len);
	s->user[arg.len] = '\0';
	s->have_user = true;
	pop3_reply(s, "+OK");
}

static void start_auth(struct pop3_server *s, const char *user, const char *password)
{
	pop3_set_state(s, POP3_STATE_WAIT);
	s->hooks->auth(s->hook_ctx, user, password);
}

static void cmd_pass(struct pop3_server *s, struct str arg)
{
	if (!s->have_user) {
		pop3_reply(s, "-ERR Send USER first");
		return;
	}
	s->have_user = false;
	char *pw = str_dup(arg);
	if (pw == NULL) {
		pop3_reply(s, "-ERR [SYS/TEMP] Out of memory");
		return;
	}
	start_auth(s, s->user, pw);
	explicit_bzero(pw, arg.len);
	free(pw);
}

/* One SASL status (auth/sasl.h): the next "+ " line, the check, or the
 * end (RFC 5034 4). */
static void sasl_next(struct pop3_server *s, enum sasl_status st, const char *challenge,
		      const char *err)
{
	switch (st) {
	case SASL_CONTINUE:
		pop3_set_state(s, POP3_STATE_SASL);
		pop3_reply(s, "+ %s", challenge);
		return;
	case SASL_DONE:
		pop3_set_state(s, POP3_STATE_AUTH);
		snprintf(s->user, sizeof s->user, "%s", s->sasl.user);
		start_auth(s, s->sasl.user, s->sasl.password);
		sasl_server_clear(&s->sasl);
		return;
	case SASL_CANCELLED:
		pop3_set_state(s, POP3_STATE_AUTH);
		pop3_reply(s, "-ERR Authentication cancelled");
		return;
	default:
		pop3_set_state(s, POP3_STATE_AUTH);
		pop3_reply(s, "-ERR [AUTH] Invalid SASL response: %s", err);
		return;
	}
}

static void sasl_line(struct pop3_server *s, struct str line)
{
	const char *challenge = "", *err = "?";
	enum sasl_status st = sasl_server_step(&s->sasl, line, &challenge, &err);
	sasl_next(s, st, challenge, err);
}

static void cmd_auth(struct pop3_server *s, struct str arg)
{
	if (arg.len == 0) {
		pop3_reply(s, "+OK");
		buf_append_str(&s->out, auth_allowed(s) ? "PLAIN\r\nLOGIN\r\n.\r\n" : ".\r\n");
		return;
	}
	if (!auth_allowed(s)) {
		pop3_reply(s, "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections");
		return;
	}
	long sp = str_chr(arg, ' ');
	struct str mech_name = { arg.p, sp < 0 ? arg.len : (size_t)sp };
	struct str ir = { arg.p + sp + 1, sp < 0 ? 0 : arg.len - (size_t)sp - 1 };
	enum sasl_mech mech;
	const char *challenge = "", *err = "?";
	if (sasl_mech_find(mech_name, &mech) < 0) {
		pop3_reply(s, "-ERR Unsupported authentication mechanism");
		return;
	}
	enum sasl_status st = sasl_server_start(&s->sasl, mech, sp < 0 ? NULL : &ir,
						&challenge, &err);
	sasl_next(s, st, challenge, err);
}

static void cmd_apop(struct pop3_server *s, struct str arg)
{
	(void)arg;
	/* APOP needs the password in clear on the server: we only keep hashes. */
	pop3_reply(s, "-ERR APOP not supported");
}

static void cmd_stls(struct pop3_server *s, struct str arg)
{
	(void)arg;
	if (s->tls || !s->set.tls_available) {
		pop3_reply(s, s->tls ? "-ERR TLS already active" : "-ERR TLS not available");
		return;
	}
	pop3_reply(s, "+OK Begin TLS negotiation");
	pop3_set_state(s, POP3_STATE_TLS);
	s->want_starttls = true;
}

static void cmd_quit(struct pop3_server *s, struct str arg)
{
	(void)arg;
	if (s->state != POP3_STATE_TRANSACTION) {
		pop3_reply(s, "+OK %s closing", s->set.hostname);
		pop3_set_state(s, POP3_STATE_CLOSED);
		s->want_close = true;
		return;
	}
	/* RFC 1939 6: deletions happen only now, in the UPDATE state. */
	size_t *idx = calloc(s->count ? s->count : 1, sizeof *idx);
	size_t n = 0;
	if (idx == NULL) {
		pop3_reply(s, "-ERR [SYS/TEMP] Out of memory");
		return;
	}
	for (size_t i = 0; i < s->count; i++) {
		if (s->msgs[i].deleted)
			idx[n++] = i;
	}
	pop3_set_state(s, POP3_STATE_WAIT);
	s->want_close = true;
	s->hooks->update(s->hook_ctx, idx, n);
	free(idx);
}

static void cmd_stat(struct pop3_server *s, struct str arg)
{
	(void)arg;
	size_t n = 0;
	uint64_t size = 0;
	for (size_t i = 0; i < s->count; i++) {
		if (!s->msgs[i].deleted) {
			n++;
			size += s->msgs[i].size;
		}
	}
	pop3_reply(s, "+OK %zu %llu", n, (unsigned long long)size);
}

static void list_or_uidl(struct pop3_server *s, struct str arg, bool uidl)
{
	size_t i;
	if (arg.len > 0) {
		struct pop3_msg *m = message_arg(s, arg, &i);
		if (m == NULL)
			return;
		if (uidl)
			pop3_reply(s, "+OK %zu %s", i + 1, m->uidl);
		else
			pop3_reply(s, "+OK %zu %llu", i + 1, (unsigned long long)m->size);
		return;
	}
	pop3_reply(s, "+OK");
	for (i = 0; i < s->count; i++) {
		if (s->msgs[i].deleted)
			continue;
		if (uidl)
			buf_printf(&s->out, "%zu %s\r\n", i + 1, s->msgs[i].uidl);
		else
			buf_printf(&s->out, "%zu %llu\r\n", i + 1,
				   (unsigned long long)s->msgs[i].size);
	}
	buf_append_str(&s->out, ".\r\n");
}

static void cmd_list(struct pop3_server *s, struct str arg) { list_or_uidl(s, arg, false); }
static void cmd_uidl(struct pop3_server *s, struct str arg) { list_or_uidl(s, arg, true); }

static void fetch(struct pop3_server *s, struct str arg, long top_lines)
{
	size_t i;
	if (message_arg(s, arg, &i) == NULL)
		return;
	s->top_lines = top_lines;
	s->pending_index = i;
	pop3_set_state(s, POP3_STATE_WAIT);
	s->hooks->retrieve(s->hook_ctx, i);
}

static void cmd_retr(struct pop3_server *s, struct str arg) { fetch(s, arg, -1); }

static void cmd_top(struct pop3_server *s, struct str arg)
{
	long sp = str_chr(arg, ' ');
	unsigned long long lines;
	if (sp < 0 || str_to_u64((struct str){ arg.p + sp + 1, arg.len - (size_t)sp - 1 },
				 1UL << 30, &lines) < 0) {
		pop3_reply(s, "-ERR Syntax: TOP msg lines");
		return;
	}
	fetch(s, (struct str){ arg.p, (size_t)sp }, (long)lines);
}

static void cmd_dele(struct pop3_server *s, struct str arg)
{
	size_t i;
	struct pop3_msg *m = message_arg(s, arg, &i);
	if (m == NULL)
		return;
	m->deleted = true;
	pop3_reply(s, "+OK Marked to be deleted");
}

static void cmd_noop(struct pop3_server *s, struct str arg)
{
	(void)arg;
	pop3_reply(s, "+OK");
}

static void cmd_rset(struct pop3_server *s, struct str arg)
{
	(void)arg;
	for (size_t i = 0; i < s->count; i++)
		s->msgs[i].deleted = false;
	pop3_reply(s, "+OK");
}

#define AUTH_ (1u << POP3_STATE_AUTH)
#define TRANS (1u << POP3_STATE_TRANSACTION)

static const struct verb_def verbs[] = {
	{ "CAPA", AUTH_ | TRANS, cmd_capa }, { "USER", AUTH_, cmd_user },
	{ "PASS", AUTH_, cmd_pass },         { "AUTH", AUTH_, cmd_auth },
	{ "APOP", AUTH_, cmd_apop },         { "STLS", AUTH_, cmd_stls },
	{ "QUIT", AUTH_ | TRANS, cmd_quit }, { "STAT", TRANS, cmd_stat },
	{ "LIST", TRANS, cmd_list },         { "UIDL", TRANS, cmd_uidl },
	{ "RETR", TRANS, cmd_retr },         { "TOP", TRANS, cmd_top },
	{ "DELE", TRANS, cmd_dele },         { "NOOP", TRANS, cmd_noop },
	{ "RSET", TRANS, cmd_rset },
};

void pop3_command(struct pop3_server *s, const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f) {
			pop3_reply(s, "-ERR Invalid character in command");
			return;
		}
	}
	if (s->state == POP3_STATE_SASL) {
		sasl_line(s, (struct str){ line, len });
		return;
	}
	struct str l = { line, len };
	long sp = str_chr(l, ' ');
	struct str verb = { line, sp < 0 ? len : (size_t)sp };
	struct str arg = sp < 0 ? (struct str){ "", 0 }
				: (struct str){ line + sp + 1, len - (size_t)sp - 1 };
	for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
		if (!str_case_eq_cstr(verb, verbs[i].name))
			continue;
		if (!(verbs[i].states & (1u << s->state))) {
			pop3_reply(s, "-ERR Command not valid in this state");
			return;
		}
		if (verbs[i].run != cmd_pass)
			s->have_user = s->have_user && verbs[i].run == cmd_capa;
		verbs[i].run(s, arg);
		return;
	}
	pop3_reply(s, "-ERR Unknown command");
}
