/* Line-end normalisation and dot-stuffing of outgoing content
 * (smtp_client_body.h). */
#include "smtp/smtp_client_body.h"

void smtp_body_enc_init(struct smtp_body_enc *e, bool dot_stuff)
{
	e->dot_stuff = dot_stuff;
	e->line_start = true;
	e->pending_cr = false;
	e->out_octets = 0;
}

static int put(struct smtp_body_enc *e, struct buf *out, const char *p, size_t n)
{
	if (buf_append(out, p, n) < 0)
		return -1;
	e->out_octets += n;
	return 0;
}

static int line_end(struct smtp_body_enc *e, struct buf *out)
{
	e->line_start = true;
	return put(e, out, "\r\n", 2);
}

int smtp_body_encode(struct smtp_body_enc *e, const char *p, size_t n, struct buf *out)
{
	size_t i = 0;
	while (i < n) {
		if (e->pending_cr) {
			/* CR LF is one line end; a CR before anything else
			 * is a line end of its own. */
			e->pending_cr = false;
			if (line_end(e, out) < 0)
				return -1;
			if (p[i] == '\n')
				i++;
			continue;
		}
		/* The run of ordinary octets up to the next CR or LF goes
		 * out in one copy. */
		size_t j = i;
		while (j < n && p[j] != '\r' && p[j] != '\n')
			j++;
		if (j > i) {
			if (e->line_start && e->dot_stuff && p[i] == '.' && put(e, out, ".", 1) < 0)
				return -1;
			if (put(e, out, p + i, j - i) < 0)
				return -1;
			e->line_start = false;
			i = j;
			continue;
		}
		if (p[i] == '\r')
			e->pending_cr = true;
		else if (line_end(e, out) < 0)
			return -1;
		i++;
	}
	return 0;
}

int smtp_body_finish(struct smtp_body_enc *e, struct buf *out)
{
	if (e->pending_cr || !e->line_start) {
		e->pending_cr = false;
		if (line_end(e, out) < 0)
			return -1;
	}
	return e->dot_stuff ? put(e, out, ".\r\n", 3) : 0;
}
