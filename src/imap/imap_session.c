/* The IMAP session: command reading and dispatch, replies, state. */
#include "imap/imap_private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

#define OUT_MAX (256 * 1024 * 1024)
/* A command's text and literals before login: LOGIN with a user and a
 * password as literals fits many times over; a flood of literals from
 * connections that never log in costs no more than this each. */
#define IMAP_COMMAND_MAX_PRELOGIN (8 * 1024)
/* Literals of commands other than APPEND (e.g. a search string). */
#define SMALL_LITERAL_MAX (64 * 1024)

static const char *const state_names[IMAP_STATE_COUNT] = {
	"NOT_AUTHENTICATED", "AUTHENTICATED", "SELECTED", "LOGOUT"
};

void imap_set_state(struct imap_session *s, enum imap_state to)
{
	if (s->state == IMAP_STATE_LOGOUT)
		return;
	log_debug("imap %s: %s -> %s", s->id, state_names[s->state], state_names[to]);
	if (s->state == IMAP_STATE_NOT_AUTH && to == IMAP_STATE_AUTH)
		imap_reader_set_command_max(s->reader, s->set.max_append > 0 ?
				s->set.max_append + IMAP_LINE_MAX_DEFAULT : IMAP_COMMAND_MAX_DEFAULT);
	s->state = to;
}

static void vline(struct imap_session *s, const char *prefix, const char *fmt, va_list ap)
{
	size_t start = s->out.len;
	if (buf_append_str(&s->out, prefix) < 0 || buf_vprintf(&s->out, fmt, ap) < 0 ||
	    buf_append(&s->out, "\r\n", 2) < 0) {
		/* A client that does not read what it asked for. */
		buf_truncate(&s->out, start);
		imap_set_state(s, IMAP_STATE_LOGOUT);
		s->next = IMAP_NEXT_CLOSE;
	}
}

void imap_untagged(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vline(s, "* ", fmt, ap);
	va_end(ap);
}

void imap_tagged(struct imap_session *s, const char *fmt, ...)
{
	/* Only errors in a row end the session: a long-lived client may get
	 * an occasional BAD by the letter of the RFC. */
	if (strncmp(fmt, "OK", 2) == 0)
		s->errors = 0;
	char prefix[sizeof s->tag + 1];
	snprintf(prefix, sizeof prefix, "%s ", s->tag);
	va_list ap;
	va_start(ap, fmt);
	vline(s, prefix, fmt, ap);
	va_end(ap);
}

static void bad_with_tag(struct imap_session *s, struct str tag, const char *text)
{
	log_info("imap %s: BAD: %s", s->id, text);
	if (tag.len == 0 || tag.len >= sizeof s->tag)
		buf_printf(&s->out, "* BAD %s\r\n", text);
	else
		buf_printf(&s->out, "%.*s BAD %s\r\n", STR_FMT(tag), text);
	if (++s->errors >= s->set.max_errors) {
		buf_append_str(&s->out, "* BYE Too many invalid commands\r\n");
		imap_set_state(s, IMAP_STATE_LOGOUT);
		s->next = IMAP_NEXT_CLOSE;
	}
}

void imap_bad(struct imap_session *s, const char *text)
{
	bad_with_tag(s, str_from(s->tag), text);
}

struct imap_session *imap_session_new(const struct imap_session_settings *set,
				      const char *session_id, bool tls_active)
{
	struct imap_session *s = calloc(1, sizeof *s);
	if (s == NULL)
		return NULL;
	s->set = *set;
	if (s->set.search_cost_max == 0)
		s->set.search_cost_max = IMAP_SEARCH_COST_DEFAULT;
	if (s->set.slice_messages == 0)
		s->set.slice_messages = IMAP_SLICE_MESSAGES_DEFAULT;
	snprintf(s->id, sizeof s->id, "%s", session_id);
	s->tls = tls_active;
	struct imap_reader_settings rs;
	imap_reader_settings_default(&rs);
	rs.literal_minus = false;   /* we offer LITERAL+ (RFC 7888 3) */
	/* Before login a command is small (LOGIN's literals): its budget
	 * grows to an APPEND's when the user is known (imap_set_state). */
	rs.command_max = IMAP_COMMAND_MAX_PRELOGIN;
	s->reader = imap_reader_new(&rs);
	if (s->reader == NULL) {
		free(s);
		return NULL;
	}
	buf_init(&s->out, OUT_MAX);
	s->state = IMAP_STATE_NOT_AUTH;
	s->next = IMAP_NEXT_READ;
	return s;
}

static void end_command(struct imap_session *s)
{
	if (s->cmd_ctx_free != NULL && s->cmd_ctx != NULL)
		s->cmd_ctx_free(s->cmd_ctx);
	s->cmd_ctx = NULL;
	s->cmd_ctx_free = NULL;
	s->cmd = NULL;
	s->args = NULL;
}

void imap_session_free(struct imap_session **sp)
{
	struct imap_session *s = *sp;
	if (s == NULL)
		return;
	end_command(s);
	imap_unselect(s);
	mail_store_free(&s->store);
	imap_reader_free(&s->reader);
	buf_free(&s->out);
	free(s);
	*sp = NULL;
}

void imap_session_greet(struct imap_session *s)
{
	buf_append_str(&s->out, "* OK [CAPABILITY ");
	imap_write_capabilities(s, &s->out);
	buf_printf(&s->out, "] %s IMAP postbox ready\r\n", s->set.hostname);
}

/* The literal sizes a command may announce: APPEND's messages up to the
 * message size limit, anything else small (RFC 9051 7.1 TOOBIG). */
static void on_literal(struct imap_session *s)
{
	const struct imap_literal_info *li = imap_reader_literal(s->reader);
	bool append = str_case_eq_cstr(li->name, "APPEND");
	uint64_t max = append ? s->set.max_append : SMALL_LITERAL_MAX;
	if (li->size > max) {
		imap_reader_literal_reject(s->reader, true,
					   append ? "Message too large" : "Literal too large");
		return;
	}
	if (imap_reader_literal_accept(s->reader))
		buf_append_str(&s->out, IMAP_LITERAL_CONTINUATION);
}

static void start_command(struct imap_session *s)
{
	const struct imap_command *c = imap_reader_command(s->reader);
	const struct imap_command_def *def = imap_command_find(c->name, c->uid);
	const char *err = NULL;
	snprintf(s->tag, sizeof s->tag, "%.*s", STR_FMT(c->tag));
	if (def == NULL) {
		imap_bad(s, "Unknown command");
		return;
	}
	if (!(def->states & (1u << s->state))) {
		imap_bad(s, s->state == IMAP_STATE_NOT_AUTH ? "Log in first"
							      : "Command not valid in this state");
		return;
	}
	if (imap_reader_args(s->reader, &s->args, &err) < 0) {
		imap_bad(s, err);
		return;
	}
	s->cmd = def;
	s->uid = c->uid;
	s->cmd_stage = 0;
	if (def->flags & IMAP_CMD_ON_LOOP)
		imap_session_run(s);
	else
		s->next = IMAP_NEXT_RUN;
}

static void on_line(struct imap_session *s)
{
	struct str line = imap_reader_line(s->reader);
	if (s->idling) {
		s->idling = false;
		if (str_case_eq_cstr(line, "DONE")) {
			imap_tagged(s, "OK IDLE terminated");
		} else {
			imap_bad(s, "Expected DONE");
		}
		s->next = IMAP_NEXT_READ;
		end_command(s);
		return;
	}
	/* An AUTHENTICATE continuation: the command runs again with it. */
	s->next = IMAP_NEXT_RUN;
	if (s->cmd != NULL && (s->cmd->flags & IMAP_CMD_ON_LOOP))
		imap_session_run(s);
}

size_t imap_session_input(struct imap_session *s, const char *data, size_t len)
{
	size_t used = 0;
	while (used < len && (s->next == IMAP_NEXT_READ || s->next == IMAP_NEXT_IDLE)) {
		size_t n;
		enum imap_read_result r = imap_reader_feed(s->reader, data + used, len - used, &n);
		used += n;
		switch (r) {
		case IMAP_READ_COMMAND:
			start_command(s);
			break;
		case IMAP_READ_LITERAL:
			on_literal(s);
			break;
		case IMAP_READ_LINE:
			on_line(s);
			break;
		case IMAP_READ_BAD: {
			const struct imap_read_error *e = imap_reader_error(s->reader);
			if (e->toobig && e->tag.len > 0 && e->tag.len < sizeof s->tag)
				buf_printf(&s->out, "%.*s NO [TOOBIG] %s\r\n", STR_FMT(e->tag),
					   e->text);
			else
				bad_with_tag(s, e->tag, e->text);
			break;
		}
		case IMAP_READ_FATAL:
			imap_session_goodbye(s, imap_reader_error(s->reader)->text);
			break;
		default:
			break;
		}
		if (n == 0 && r == IMAP_READ_MORE)
			break;
	}
	return used;
}

enum imap_next imap_session_next(const struct imap_session *s)
{
	return s->next;
}

bool imap_session_logged_in(const struct imap_session *s)
{
	return s->state == IMAP_STATE_AUTH || s->state == IMAP_STATE_SELECTED;
}

void imap_session_run(struct imap_session *s)
{
	s->next = IMAP_NEXT_READ;
	if (s->cmd == NULL)
		return;
	s->awaiting_line = false;
	int r = s->cmd->run(s);
	if (r != 0) {
		/* Done: next is READ, or what the command asked (CLOSE...). An
		 * idle session keeps no index pages: thousands of them may wait. */
		end_command(s);
		mail_store_trim(s->store);
		return;
	}
	if (s->idling)
		mail_store_trim(s->store);
	if (s->idling)
		s->next = IMAP_NEXT_IDLE;
	else if (s->awaiting_line)
		s->next = IMAP_NEXT_READ;   /* the line runs the command again */
	else if (s->next == IMAP_NEXT_READ)
		s->next = IMAP_NEXT_RUN;    /* the next slice */
}

struct mail_folder *imap_session_selected(struct imap_session *s)
{
	return s->state == IMAP_STATE_SELECTED ? s->folder : NULL;
}

struct buf *imap_session_output(struct imap_session *s)
{
	return &s->out;
}

void imap_session_tls_started(struct imap_session *s)
{
	s->tls = true;
	imap_reader_reset(s->reader);
	s->next = IMAP_NEXT_READ;
}

void imap_session_goodbye(struct imap_session *s, const char *text)
{
	buf_printf(&s->out, "* BYE %s\r\n", text);
	imap_set_state(s, IMAP_STATE_LOGOUT);
	s->next = IMAP_NEXT_CLOSE;
}
