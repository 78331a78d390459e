#ifndef PB_LIB_LINE_READER_H
#define PB_LIB_LINE_READER_H
/* Assembles protocol command lines from a byte stream, with a hard limit.
 * A line ends at LF (a CR before it is dropped). A line longer than the
 * limit is skipped to its end and reported once, so the session stays in
 * step with the client. Used by every line-based protocol session. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

struct line_reader {
	struct buf line;      /* a partial line */
	bool discarding;      /* inside an overlong line */
	bool ready;           /* the last result was a line in `line` */
	bool bare_lf;         /* the last line ended in LF without CR */
};

enum line_result {
	LINE_NEED_MORE,       /* all bytes taken, no line yet */
	LINE_READY,           /* a whole line */
	LINE_TOO_LONG,        /* an overlong line ended (and was dropped) */
};

/* max: the longest line accepted, line end included. */
void line_reader_init(struct line_reader *r, size_t max);
void line_reader_free(struct line_reader *r);
/* Forgets any partial line (e.g. after STARTTLS). */
void line_reader_reset(struct line_reader *r);
/* Takes bytes from p[0..n) up to the end of the first line; *used_r says
 * how many. With LINE_READY, *line_r and *len_r give the line without its
 * line end, valid until the next call. */
enum line_result line_reader_feed(struct line_reader *r, const char *p, size_t n,
				  size_t *used_r, const char **line_r, size_t *len_r);

#endif
