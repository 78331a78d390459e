#include "smtp/smtp_data.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

/* Where the reader is within a line. "Line start" is after a CR LF pair
 * only (and at the very beginning: the CRLF of the DATA command itself). */
enum {
	ST_BOL = 0,   /* at a line start */
	ST_DOT,       /* DATA: a line start "." was taken off */
	ST_DOT_CR,    /* DATA: line start "." then CR: an LF ends the message */
	ST_TEXT,      /* inside a line */
	ST_CR,        /* a CR inside a line: only an LF makes it a line end */
	ST_END,       /* DATA: CRLF.CRLF seen; BDAT: finished */
};

/* Header field recognition, one line at a time (RFC 5322 2.2, 3.6.8 and
 * the obsolete WSP before the colon of 4.5). */
enum {
	HS_LINE_START = 0,
	HS_NAME,      /* reading the field name */
	HS_WSP,       /* WSP after the name, the colon still to come */
	HS_VALUE,     /* after the colon, or a continuation line */
};

#define TEXT_LINE_OCTETS (SMTP_TEXT_LINE_MAX - 2)   /* 998, without CRLF */

void smtp_data_init(struct smtp_data_reader *r, struct buf *out, size_t max_size,
		    size_t max_header, bool dot_mode)
{
	memset(r, 0, sizeof *r);
	r->out = out;
	r->out_start = out->len;
	r->max_size = max_size;
	r->max_header = max_header;
	r->dot_mode = dot_mode;
	r->state = ST_BOL;
	r->in_header = true;
	r->header_state = HS_LINE_START;
}

/* The first error wins. The message will be refused, so what was stored
 * of it is dropped at once and nothing more is stored or counted; the
 * reader only goes on looking for the end. */
static void set_error(struct smtp_data_reader *r, enum smtp_data_error e)
{
	if (r->error != SMTP_DATA_OK)
		return;
	r->error = e;
	buf_truncate(r->out, r->out_start);
}

static size_t room(size_t used, size_t max)
{
	return used < max ? max - used : 0;
}

/* Checks n more octets of line content against every limit, as if they
 * came one at a time: the limit crossed at the earliest octet decides
 * the error, so the reply never depends on how TCP split the stream. */
static bool content_fits(struct smtp_data_reader *r, size_t n)
{
	struct {
		size_t room;
		enum smtp_data_error error;
	} lim[] = {
		{ room(r->line_len, TEXT_LINE_OCTETS), SMTP_DATA_LINE_TOO_LONG },
		{ room(r->size, r->max_size), SMTP_DATA_TOO_BIG },
		{ r->in_header ? room(r->header_len, r->max_header) : SIZE_MAX,
		  SMTP_DATA_HEADER_TOO_BIG },
		{ r->sink == NULL ? room(r->out->len, r->out->max) : SIZE_MAX,
		  SMTP_DATA_TOO_BIG },
	};
	size_t first = SIZE_MAX;

	for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++)
		if (n > lim[i].room && (first == SIZE_MAX || lim[i].room < lim[first].room))
			first = i;
	if (first == SIZE_MAX)
		return true;
	set_error(r, lim[first].error);
	return false;
}

void smtp_data_set_sink(struct smtp_data_reader *r, smtp_data_sink_fn *sink, void *ctx)
{
	r->sink = sink;
	r->sink_ctx = ctx;
}

void smtp_data_sink_failed(struct smtp_data_reader *r, int e)
{
	set_error(r, e == ENOSPC || e == EDQUOT || e == EFBIG ? SMTP_DATA_NO_SPACE
							       : SMTP_DATA_IO);
}

/* Hands the staging buffer to the sink and empties it. */
static void drain(struct smtp_data_reader *r)
{
	if (r->sink == NULL || r->out->len == 0 || r->error != SMTP_DATA_OK)
		return;
	if (r->sink(r->sink_ctx, r->out->data, r->out->len) < 0)
		smtp_data_sink_failed(r, errno);
	buf_reset(r->out);
}

static void emit(struct smtp_data_reader *r, const char *p, size_t n)
{
	if (r->sink != NULL && r->out->len + n > r->out->max) {
		drain(r);
		if (r->error != SMTP_DATA_OK)
			return;
		/* A run bigger than the whole buffer goes straight through. */
		if (n > r->out->max) {
			if (r->sink(r->sink_ctx, p, n) < 0)
				smtp_data_sink_failed(r, errno);
			return;
		}
	}
	if (buf_append(r->out, p, n) < 0)
		set_error(r, errno == ENOMEM ? SMTP_DATA_NO_MEMORY : SMTP_DATA_TOO_BIG);
}

/* n octets of line content, none of them CR, LF or NUL. */
static void content(struct smtp_data_reader *r, const char *p, size_t n)
{
	if (r->error != SMTP_DATA_OK || !content_fits(r, n))
		return;
	r->line_len += n;
	r->size += n;
	if (r->in_header)
		r->header_len += n;
	emit(r, p, n);
}

static void header_name_end(struct smtp_data_reader *r)
{
	/* RFC 5321 6.3: the Received: count is how loops are found. */
	if (r->head_len == 8 && str_case_eq_cstr((struct str){ r->head, 8 }, "received"))
		r->received_count++;
	r->header_state = HS_VALUE;
}

/* One octet of a header line before its colon. A line that turns out not
 * to be a header field ends the header section and starts the body, as
 * Postfix's cleanup decides: then a message with no header section at
 * all is not mistaken for one with a huge header. */
static void header_byte(struct smtp_data_reader *r, unsigned char c)
{
	bool wsp = c == ' ' || c == '\t';

	switch (r->header_state) {
	case HS_LINE_START:
		if (wsp) {
			r->header_state = HS_VALUE;   /* folded continuation */
			return;
		}
		r->head_len = 0;
		r->header_state = HS_NAME;
		/* fall through */
	case HS_NAME:
		if (c == ':' && r->head_len > 0) {
			header_name_end(r);
			return;
		}
		if (c > ' ' && c < 0x7f && c != ':') {
			if (r->head_len < sizeof r->head)
				r->head[r->head_len++] = (char)c;
			else
				r->head_len = sizeof r->head;   /* too long to matter */
			return;
		}
		if (wsp && r->head_len > 0) {
			r->header_state = HS_WSP;
			return;
		}
		break;
	case HS_WSP:
		if (wsp)
			return;
		if (c == ':') {
			header_name_end(r);
			return;
		}
		break;
	default:
		return;
	}
	r->in_header = false;
}

/* One octet that is not part of a CR LF pair. */
static void text_byte(struct smtp_data_reader *r, unsigned char c)
{
	if (c == '\r') {
		r->state = ST_CR;
		return;
	}
	r->state = ST_TEXT;
	if (c == '\n')
		set_error(r, SMTP_DATA_BARE_CR_LF);
	else if (c == '\0')
		set_error(r, SMTP_DATA_NUL);
	if (r->error != SMTP_DATA_OK)
		return;
	if (c >= 0x80)
		r->eight_bit = true;
	if (r->in_header)
		header_byte(r, c);
	content(r, (const char *)&c, 1);
}

/* A CR that no LF followed (RFC 5321 2.3.8): content, never a line end. */
static void bare_cr(struct smtp_data_reader *r)
{
	set_error(r, SMTP_DATA_BARE_CR_LF);
}

static void line_end(struct smtp_data_reader *r)
{
	r->state = ST_BOL;
	if (r->error != SMTP_DATA_OK)
		return;
	if (r->size > SIZE_MAX - 2 || r->size + 2 > r->max_size ||
	    (r->sink == NULL && r->out->len >= r->out->max)) {
		set_error(r, SMTP_DATA_TOO_BIG);
		return;
	}
	r->size += 2;
	if (r->in_header) {
		if (r->line_len == 0) {
			r->in_header = false;   /* the blank line */
			r->header_size++;
		} else if (r->header_state != HS_VALUE) {
			r->in_header = false;   /* not a field: the body's */
		} else if (r->header_len + 2 > r->max_header) {
			set_error(r, SMTP_DATA_HEADER_TOO_BIG);
			return;
		} else {
			r->header_len += 2;
			r->header_size += r->line_len + 1;
		}
		r->header_state = HS_LINE_START;
	}
	r->line_len = 0;
	emit(r, "\n", 1);
}

/* Feeds one octet; true when it completed CRLF.CRLF. */
static bool step(struct smtp_data_reader *r, unsigned char c)
{
	switch (r->state) {
	case ST_BOL:
		/* RFC 5321 4.5.2: the first "." of a line is transparency. */
		if (c == '.' && r->dot_mode) {
			r->state = ST_DOT;
			return false;
		}
		break;
	case ST_DOT:
		if (c == '\r') {
			r->state = ST_DOT_CR;
			return false;
		}
		break;
	case ST_DOT_CR:
		if (c == '\n') {
			r->state = ST_END;
			return true;
		}
		bare_cr(r);
		break;
	case ST_CR:
		if (c == '\n') {
			line_end(r);
			return false;
		}
		bare_cr(r);
		break;
	default:
		break;
	}
	text_byte(r, c);
	return false;
}

static bool has_high_bit(const char *p, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		if (w & 0x8080808080808080ULL)
			return true;
	}
	for (; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return true;
	return false;
}

/* The fast path, inside a line: takes the run of octets up to the next
 * CR, LF or NUL with a few memchr() calls instead of one step per octet.
 * Returns how many octets it took; the octet after them goes to step(). */
static size_t text_run(struct smtp_data_reader *r, const char *p, size_t n)
{
	const char *stop = memchr(p, '\r', n);
	size_t run = stop != NULL ? (size_t)(stop - p) : n;

	if (r->error != SMTP_DATA_OK)
		return r->dot_mode ? run : n;   /* only the end matters now */
	if (run == 0)
		return 0;
	if ((stop = memchr(p, '\n', run)) != NULL)
		run = (size_t)(stop - p);
	if ((stop = memchr(p, '\0', run)) != NULL)
		run = (size_t)(stop - p);
	if (!r->eight_bit && has_high_bit(p, run))
		r->eight_bit = true;
	content(r, p, run);
	return run;
}

int smtp_data_feed(struct smtp_data_reader *r, const char *p, size_t n,
		   size_t *consumed_r)
{
	size_t i = 0;

	if (r->state == ST_END) {
		/* Called again after the end: DATA hands everything back,
		 * a finished BDAT message drops it. */
		*consumed_r = r->dot_mode ? 0 : n;
		return r->dot_mode ? 1 : 0;
	}
	while (i < n) {
		/* In the header only field values can go in runs: field
		 * names are looked at octet by octet. */
		if (r->state == ST_TEXT &&
		    (!r->in_header || r->header_state == HS_VALUE ||
		     r->error != SMTP_DATA_OK)) {
			i += text_run(r, p + i, n - i);
			if (i == n)
				break;
		}
		if (step(r, (unsigned char)p[i++])) {
			drain(r);
			*consumed_r = i;
			return 1;
		}
	}
	*consumed_r = n;
	return 0;
}

void smtp_data_finish(struct smtp_data_reader *r)
{
	if (r->state == ST_END)
		return;
	if (r->state == ST_CR || r->state == ST_DOT_CR)
		bare_cr(r);
	/* RFC 3030 2: a BDAT message need not end in CRLF; store the last
	 * line as if it did, so the stored file ends with a line end. */
	if (r->state != ST_BOL)
		line_end(r);
	r->state = ST_END;
	drain(r);
}

const char *smtp_data_error_reply(enum smtp_data_error e)
{
	switch (e) {
	case SMTP_DATA_OK:
		return "250 2.0.0 Ok";
	case SMTP_DATA_TOO_BIG:
		return "552 5.3.4 Message size exceeds fixed maximum message size";
	case SMTP_DATA_LINE_TOO_LONG:
		return "554 5.6.0 Message contains a line longer than 1000 octets (RFC 5321 4.5.3.1.6)";
	case SMTP_DATA_BARE_CR_LF:
		return "554 5.6.0 Message contains bare CR or LF (RFC 5321 2.3.8)";
	case SMTP_DATA_NUL:
		return "554 5.6.0 Message contains NUL octet";
	case SMTP_DATA_HEADER_TOO_BIG:
		return "552 5.3.4 Message header section too large";
	case SMTP_DATA_NO_MEMORY:
		return "451 4.3.0 Out of memory";
	case SMTP_DATA_NO_SPACE:
		return "452 4.3.1 Error: insufficient system storage";
	case SMTP_DATA_IO:
		return "451 4.3.0 Error: local delivery failed, try again later";
	}
	return "451 4.3.0 Internal error";
}
