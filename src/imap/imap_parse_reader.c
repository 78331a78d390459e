/* The IMAP command reader: assembles one command from a byte stream,
 * across the lines that literals join (RFC 9051 2.2.1 and 4.3, RFC 7888,
 * RFC 3516), with every size bounded before anything is stored. */
#include "imap/imap_parse.h"
#include "imap/imap_parse_private.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum rstate {
	RS_LINE,        /* reading command text up to LF */
	RS_ASK,         /* a literal announced: waiting for accept/reject */
	RS_LITERAL,     /* reading the octets of an accepted literal */
	RS_DISCARD,     /* throwing away a refused non-synchronizing literal */
	RS_SKIP,        /* throwing away the rest of a refused command's line */
	RS_BAD,         /* a synchronizing literal was refused: BAD at once */
};

/* Long enough for the longest marker "~{9223372036854775807+}" and a CR. */
#define TAIL_MAX 32
/* Buffer storage kept between commands; anything bigger is freed, so
 * an idle connection costs little after one large APPEND. */
#define IDLE_KEEP 4096
#define LITS_KEEP 16

struct imap_reader {
	struct imap_reader_settings set;
	enum rstate state;
	struct buf text;          /* command text and literal data */
	size_t line_start;        /* offset of the current line in text */
	size_t text_used;         /* command text octets, line ends included */
	uint64_t lit_total;       /* octets of accepted literals */
	uint64_t remaining;       /* octets left of a literal */
	struct imap_lit *lits;
	size_t lit_count, lit_alloc;
	struct imap_literal_info lit;   /* the announced literal */
	size_t lit_marker;        /* its marker's offset in text */
	/* The views handed out point into text, which literal data may move
	 * (realloc): keep offsets and build the views when an event is
	 * returned, as text does not change until the next feed. */
	struct imap_command cmd;
	size_t tag_len;           /* the tag is text[0..tag_len) */
	size_t name_off, name_len;
	bool err_tag;             /* err.tag is the tag */
	size_t args_start;        /* arguments: text[args_start..len) */
	bool head_done;           /* tag and name were looked at */
	bool bad;                 /* the command is refused; err says why */
	struct imap_read_error err;
	bool finished;            /* the last event ended a command */
	bool line_mode;
	struct str line;
	char tail[TAIL_MAX];      /* the end of a line being skipped */
	size_t tail_len;
	struct imap_arg *args;
	bool args_done;
	int args_ret;
	const char *args_error;
};

void imap_reader_settings_default(struct imap_reader_settings *set)
{
	set->line_max = IMAP_LINE_MAX_DEFAULT;
	set->command_max = IMAP_COMMAND_MAX_DEFAULT;
	set->depth_max = IMAP_DEPTH_MAX_DEFAULT;
	set->args_max = IMAP_ARGS_MAX_DEFAULT;
	set->literals_max = IMAP_LITERALS_MAX_DEFAULT;
	set->literal_minus = true;
}

static void next_command(struct imap_reader *r)
{
	free(r->args);
	r->args = NULL;
	r->args_done = false;
	if (r->text.cap > IDLE_KEEP)
		buf_free(&r->text);
	else
		buf_reset(&r->text);
	r->text.max = r->set.line_max;
	if (r->lit_alloc > LITS_KEEP) {
		free(r->lits);
		r->lits = NULL;
		r->lit_alloc = 0;
	}
	r->lit_count = 0;
	r->state = RS_LINE;
	r->line_start = r->text_used = 0;
	r->lit_total = r->remaining = 0;
	r->cmd = (struct imap_command){ { "", 0 }, { "", 0 }, false };
	r->tag_len = r->name_off = r->name_len = 0;
	r->err_tag = false;
	r->args_start = 0;
	r->head_done = r->bad = r->finished = false;
	r->err = (struct imap_read_error){ { "", 0 }, NULL, false };
	r->tail_len = 0;
}

struct imap_reader *imap_reader_new(const struct imap_reader_settings *set)
{
	struct imap_reader *r = calloc(1, sizeof *r);
	if (r == NULL)
		return NULL;
	if (set != NULL)
		r->set = *set;
	else
		imap_reader_settings_default(&r->set);
	/* A line must at least hold a tag, a name and its line end. */
	if (r->set.line_max < 16)
		r->set.line_max = 16;
	buf_init(&r->text, r->set.line_max);
	next_command(r);
	return r;
}

void imap_reader_free(struct imap_reader **rp)
{
	struct imap_reader *r = *rp;
	if (r == NULL)
		return;
	free(r->args);
	free(r->lits);
	buf_free(&r->text);
	free(r);
	*rp = NULL;
}

void imap_reader_reset(struct imap_reader *r)
{
	next_command(r);
	r->line_mode = false;
}

void imap_reader_set_command_max(struct imap_reader *r, uint64_t max)
{
	r->set.command_max = max;
}

/* The first reason wins: later ones are consequences. */
static void set_bad(struct imap_reader *r, bool toobig, const char *text)
{
	if (r->bad)
		return;
	r->bad = true;
	r->err.toobig = toobig;
	r->err.text = text;
}

/* tag SP [UID SP] name: from the first line, or for an overlong first
 * line from what was kept of it (complete is false): the tag is known
 * only if the SP after it was seen. */
static void parse_head(struct imap_reader *r, size_t n, bool complete)
{
	const char *p = r->text.data;
	size_t i = 0, j;

	r->head_done = true;
	while (i < n && imap_is_tag_char((unsigned char)p[i]))
		i++;
	if (i == 0 || i == n || p[i] != ' ') {
		bool tag_only = i == n && i > 0 && complete;
		set_bad(r, false, tag_only ? "Missing command" : "Invalid tag");
		if (tag_only) {
			r->tag_len = i;
			r->err_tag = true;
		}
		return;
	}
	r->tag_len = i;
	r->err_tag = true;
	for (;;) {
		j = ++i;
		while (j < n && imap_is_atom_char((unsigned char)p[j]))
			j++;
		if (j == i || (j < n && p[j] != ' ')) {
			set_bad(r, false, "Invalid command name");
			return;
		}
		r->name_off = i;
		r->name_len = j - i;
		r->args_start = j;
		if (r->cmd.uid || !str_case_eq_cstr((struct str){ p + i, j - i }, "UID"))
			return;
		if (j == n) {
			set_bad(r, false, "Missing command after UID");
			return;
		}
		r->cmd.uid = true;
		i = j;
	}
}

/* A literal marker "{n}", "{n+}" or "~{n}" ending p[0..n): 1 with its
 * size and offset, 0 when there is none, -1 when the size does not fit
 * in 63 bits (RFC 9051 number64). */
static int marker_at_end(const char *p, size_t n, uint64_t *size_r, bool *sync_r,
			 bool *binary_r, size_t *marker_r)
{
	size_t e, d;
	uint64_t v = 0;

	if (n < 3 || p[n - 1] != '}')
		return 0;
	e = n - 1;
	*sync_r = p[e - 1] != '+';
	if (!*sync_r)
		e--;
	for (d = e; d > 0 && p[d - 1] >= '0' && p[d - 1] <= '9'; d--)
		;
	if (d == e || d == 0 || p[d - 1] != '{')
		return 0;
	*binary_r = d >= 2 && p[d - 2] == '~';
	*marker_r = *binary_r ? d - 2 : d - 1;
	for (size_t i = d; i < e; i++) {
		unsigned dig = (unsigned)(p[i] - '0');
		if (v > ((uint64_t)INT64_MAX - dig) / 10)
			return -1;
		v = v * 10 + dig;
	}
	*size_r = v;
	return 1;
}

/* A marker at the end of the current line, outside any quoted string. */
static int line_marker(struct imap_reader *r, uint64_t *size_r, bool *sync_r,
		       bool *binary_r, size_t *marker_r)
{
	const char *p = r->text.data + r->line_start;
	size_t n = r->text.len - r->line_start;
	bool quoted = false;

	for (size_t i = 0; i < n; i++) {
		if (quoted && p[i] == '\\')
			i++;
		else if (p[i] == '"')
			quoted = !quoted;
	}
	if (quoted)
		return 0;
	int m = marker_at_end(p, n, size_r, sync_r, binary_r, marker_r);
	*marker_r += r->line_start;
	return m;
}

/* A literal the reader refuses on its own: a synchronizing one is never
 * sent, so BAD at once; a non-synchronizing one comes anyway and must be
 * read to stay in step. */
static enum imap_read_result auto_reject(struct imap_reader *r, bool toobig,
					 const char *text)
{
	set_bad(r, toobig, text);
	if (r->lit.sync)
		return IMAP_READ_BAD;
	r->remaining = r->lit.size;
	r->state = RS_DISCARD;
	return IMAP_READ_MORE;
}

static enum imap_read_result literal_announced(struct imap_reader *r, int m,
					       uint64_t size, bool sync, bool binary)
{
	uint64_t used = r->text_used + r->lit_total;

	r->lit = (struct imap_literal_info){
		.uid = r->cmd.uid, .size = size, .sync = sync, .binary = binary, .index = r->lit_count,
	};
	if (m < 0) {
		set_bad(r, true, "Literal size out of range");
		return sync ? IMAP_READ_BAD : IMAP_READ_FATAL;
	}
	if (r->bad)
		return auto_reject(r, false, NULL);
	if (r->lit_count >= r->set.literals_max)
		return auto_reject(r, false, "Too many literals");
	if (!sync && r->set.literal_minus && size > IMAP_LITERAL_MINUS_MAX)
		return auto_reject(r, true, "Non-synchronizing literal too large");
	if (used > r->set.command_max || size > r->set.command_max - used)
		return auto_reject(r, true, "Command too large");
	r->state = RS_ASK;
	return IMAP_READ_LITERAL;
}

static enum imap_read_result line_done(struct imap_reader *r)
{
	uint64_t size = 0;
	bool sync = false, binary = false;
	size_t marker = 0;

	if (r->text.len > r->line_start && r->text.data[r->text.len - 1] == '\r')
		buf_truncate(&r->text, r->text.len - 1);
	if (r->line_mode) {
		r->line_mode = false;
		r->line = buf_str(&r->text);
		return IMAP_READ_LINE;
	}
	if (!r->head_done) {
		if (r->text.len == 0) {
			/* A blank line between commands is harmless: skip it. */
			r->text_used = 0;
			return IMAP_READ_MORE;
		}
		parse_head(r, r->text.len, true);
	}
	int m = line_marker(r, &size, &sync, &binary, &marker);
	if (m == 0)
		return r->bad ? IMAP_READ_BAD : IMAP_READ_COMMAND;
	r->lit_marker = marker;
	return literal_announced(r, m, size, sync, binary);
}

static void tail_add(struct imap_reader *r, const char *p, size_t n)
{
	if (n >= TAIL_MAX) {
		memcpy(r->tail, p + n - TAIL_MAX, TAIL_MAX);
		r->tail_len = TAIL_MAX;
		return;
	}
	if (r->tail_len + n > TAIL_MAX) {
		size_t drop = r->tail_len + n - TAIL_MAX;
		memmove(r->tail, r->tail + drop, r->tail_len - drop);
		r->tail_len -= drop;
	}
	memcpy(r->tail + r->tail_len, p, n);
	r->tail_len += n;
}

/* The rest of this line is thrown away; the tail remembers its end in
 * case a non-synchronizing literal follows that must be skipped too. */
static void start_skip(struct imap_reader *r, const char *why)
{
	set_bad(r, false, why);
	if (!r->head_done && !r->line_mode)
		parse_head(r, r->text.len, false);
	r->tail_len = 0;
	if (r->text.len > r->line_start)
		tail_add(r, r->text.data + r->line_start, r->text.len - r->line_start);
	r->state = RS_SKIP;
}

static enum imap_read_result read_line(struct imap_reader *r, const char *p,
				       size_t len, size_t *pos)
{
	const char *start = p + *pos;
	size_t avail = len - *pos;
	const char *lf = memchr(start, '\n', avail);
	size_t n = lf != NULL ? (size_t)(lf - start) : avail;
	size_t room = r->set.line_max - r->text_used;

	if (n >= room) {
		/* Keep what fits (the tag is in it) and skip the rest. */
		n = room > 0 ? room - 1 : 0;
		if (buf_append(&r->text, start, n) == 0) {
			r->text_used += n;
			*pos += n;
		}
		start_skip(r, "Command line too long");
		return IMAP_READ_MORE;
	}
	if (buf_append(&r->text, start, n) < 0) {
		start_skip(r, "Out of memory");
		return IMAP_READ_MORE;
	}
	r->text_used += n;
	*pos += n;
	if (lf == NULL)
		return IMAP_READ_MORE;
	r->text_used++;
	(*pos)++;
	return line_done(r);
}

static enum imap_read_result skip_line(struct imap_reader *r, const char *p,
				       size_t len, size_t *pos)
{
	const char *start = p + *pos;
	size_t avail = len - *pos;
	const char *lf = memchr(start, '\n', avail);
	size_t n = lf != NULL ? (size_t)(lf - start) : avail;
	uint64_t size;
	bool sync, binary;
	size_t marker;

	tail_add(r, start, n);
	*pos += n;
	if (lf == NULL)
		return IMAP_READ_MORE;
	(*pos)++;
	if (r->line_mode) {
		r->line_mode = false;
		return IMAP_READ_BAD;
	}
	if (r->tail_len > 0 && r->tail[r->tail_len - 1] == '\r')
		r->tail_len--;
	int m = marker_at_end(r->tail, r->tail_len, &size, &sync, &binary, &marker);
	if (m == 0 || sync)
		return IMAP_READ_BAD;
	if (m < 0)
		return IMAP_READ_FATAL;
	r->remaining = size;
	r->state = RS_DISCARD;
	return IMAP_READ_MORE;
}

static void read_literal(struct imap_reader *r, const char *p, size_t len, size_t *pos)
{
	size_t n = len - *pos;
	if (r->remaining < n)
		n = (size_t)r->remaining;
	if (r->state == RS_LITERAL && n > 0 && buf_append(&r->text, p + *pos, n) < 0) {
		set_bad(r, false, "Out of memory");
		r->state = RS_DISCARD;
		return;
	}
	*pos += n;
	r->remaining -= n;
	if (r->remaining > 0)
		return;
	if (r->state == RS_LITERAL) {
		r->state = RS_LINE;
		r->line_start = r->text.len;
	} else {
		r->state = RS_SKIP;
		r->tail_len = 0;
	}
}

static enum imap_read_result step(struct imap_reader *r, const char *p, size_t len,
				  size_t *pos)
{
	switch (r->state) {
	case RS_LINE:
		return read_line(r, p, len, pos);
	case RS_SKIP:
		return skip_line(r, p, len, pos);
	case RS_LITERAL:
	case RS_DISCARD:
		read_literal(r, p, len, pos);
		return IMAP_READ_MORE;
	case RS_ASK:
		return IMAP_READ_LITERAL;
	case RS_BAD:
		return IMAP_READ_BAD;
	}
	abort();
}

static void refresh_views(struct imap_reader *r)
{
	const char *base = r->text.data != NULL ? r->text.data : "";
	struct str empty = { "", 0 };

	r->cmd.tag = (struct str){ base, r->tag_len };
	r->cmd.name = r->name_len ? (struct str){ base + r->name_off, r->name_len } : empty;
	r->err.tag = r->err_tag ? r->cmd.tag : empty;
	r->lit.tag = r->cmd.tag;
	r->lit.name = r->cmd.name;
}

enum imap_read_result imap_reader_feed(struct imap_reader *r, const void *data,
				       size_t len, size_t *used_r)
{
	enum imap_read_result res = IMAP_READ_MORE;
	size_t pos = 0;

	if (r->finished)
		next_command(r);
	if (r->state == RS_ASK || r->state == RS_BAD)
		res = step(r, data, len, &pos);
	/* A zero-length literal ends without input: step on while the state
	 * can move without bytes. */
	while (res == IMAP_READ_MORE &&
	       (pos < len || ((r->state == RS_LITERAL || r->state == RS_DISCARD) &&
			      r->remaining == 0)))
		res = step(r, data, len, &pos);
	*used_r = pos;
	if (res != IMAP_READ_MORE && res != IMAP_READ_LITERAL)
		r->finished = true;
	if (res != IMAP_READ_MORE)
		refresh_views(r);
	return res;
}

const struct imap_command *imap_reader_command(const struct imap_reader *r)
{
	return &r->cmd;
}

const struct imap_literal_info *imap_reader_literal(const struct imap_reader *r)
{
	return &r->lit;
}

static int lits_grow(struct imap_reader *r)
{
	if (r->lit_count < r->lit_alloc)
		return 0;
	size_t n = r->lit_alloc ? r->lit_alloc * 2 : 4;
	if (n > r->set.literals_max)
		n = r->set.literals_max;
	struct imap_lit *p = realloc(r->lits, n * sizeof *p);
	if (p == NULL)
		return -1;
	r->lits = p;
	r->lit_alloc = n;
	return 0;
}

bool imap_reader_literal_accept(struct imap_reader *r)
{
	if (r->state != RS_ASK)
		return false;
	if (lits_grow(r) < 0) {
		imap_reader_literal_reject(r, false, "Out of memory");
		return false;
	}
	r->lits[r->lit_count++] = (struct imap_lit){
		.marker = r->lit_marker, .data = r->text.len,
		.size = r->lit.size, .binary = r->lit.binary,
	};
	r->lit_total += r->lit.size;
	/* The buffer may now grow by exactly what was accepted. */
	uint64_t max = r->set.line_max + r->lit_total;
	r->text.max = max > SIZE_MAX - 1 ? SIZE_MAX - 1 : (size_t)max;
	r->remaining = r->lit.size;
	r->state = RS_LITERAL;
	return r->lit.sync;
}

void imap_reader_literal_reject(struct imap_reader *r, bool toobig, const char *reason)
{
	if (r->state != RS_ASK)
		return;
	set_bad(r, toobig, reason != NULL ? reason : "Literal refused");
	if (r->lit.sync) {
		r->state = RS_BAD;
	} else {
		r->remaining = r->lit.size;
		r->state = RS_DISCARD;
	}
}

const struct imap_read_error *imap_reader_error(const struct imap_reader *r)
{
	return &r->err;
}

void imap_reader_want_line(struct imap_reader *r)
{
	r->line_mode = true;
}

struct str imap_reader_line(const struct imap_reader *r)
{
	return r->line;
}

int imap_reader_args(struct imap_reader *r, const struct imap_arg **args_r,
		     const char **error_r)
{
	if (!r->head_done || r->bad || r->name_len == 0) {
		*error_r = "No command";
		return -1;
	}
	if (!r->args_done) {
		struct imap_tokenize_in in = {
			.text = r->text.data, .start = r->args_start, .end = r->text.len,
			.lits = r->lits, .lit_count = r->lit_count,
			.depth_max = r->set.depth_max, .args_max = r->set.args_max,
		};
		r->args_ret = imap_tokenize(&in, &r->args, &r->args_error);
		r->args_done = true;
	}
	if (r->args_ret < 0) {
		*error_r = r->args_error;
		return -1;
	}
	*args_r = r->args;
	return 0;
}
