#include "lib/line_reader.h"

#include <string.h>

void line_reader_init(struct line_reader *r, size_t max)
{
	buf_init(&r->line, max);
	r->discarding = false;
	r->ready = false;
	r->bare_lf = false;
}

void line_reader_free(struct line_reader *r)
{
	buf_free(&r->line);
}

void line_reader_reset(struct line_reader *r)
{
	buf_reset(&r->line);
	r->discarding = false;
	r->ready = false;
}

static size_t without_eol(struct line_reader *r, const char *p, size_t n)
{
	n--;  /* the LF */
	r->bare_lf = n == 0 || p[n - 1] != '\r';
	return r->bare_lf ? n : n - 1;
}

enum line_result line_reader_feed(struct line_reader *r, const char *p, size_t n,
				  size_t *used_r, const char **line_r, size_t *len_r)
{
	if (r->ready) {
		buf_reset(&r->line);
		r->ready = false;
	}
	const char *lf = memchr(p, '\n', n);
	size_t take = lf ? (size_t)(lf - p) + 1 : n;
	*used_r = take;
	if (r->discarding) {
		r->discarding = lf == NULL;
		return lf ? LINE_TOO_LONG : LINE_NEED_MORE;
	}
	if (lf != NULL && r->line.len == 0 && take <= r->line.max) {
		/* The common case: a whole line in the input, no copy. */
		*line_r = p;
		*len_r = without_eol(r, p, take);
		return LINE_READY;
	}
	if (buf_append(&r->line, p, take) < 0) {
		buf_reset(&r->line);
		r->discarding = lf == NULL;
		return lf ? LINE_TOO_LONG : LINE_NEED_MORE;
	}
	if (lf == NULL)
		return LINE_NEED_MORE;
	r->ready = true;
	*line_r = r->line.data;
	*len_r = without_eol(r, r->line.data, r->line.len);
	return LINE_READY;
}
