/* The store's parser hook: ENVELOPE, BODYSTRUCTURE and BODY strings of a
 * message, written by src/msg (mime.h, imap_format.h) for the index's
 * cache. */
#include "imap/imap_message.h"

#include <stdlib.h>

#include "msg/imap_format.h"

/* Room for the strings of a hostile message: every parameter value and
 * header can appear once, quoted (escapes double it) or as a literal, plus
 * a few hundred octets of structure per part. */
static size_t structure_max(const struct msg_mime *mime)
{
	return 4 * mime->len + (size_t)mime->part_count * 1024 + 64 * 1024;
}

static int write_one(const struct msg_mime *mime, int what, char **r)
{
	struct buf b;
	int ret;
	if (r == NULL)
		return 0;
	buf_init(&b, structure_max(mime));
	if (what == 0)
		ret = msg_imap_write_envelope(&b, mime->root, false);
	else
		ret = msg_imap_write_body(&b, mime->root, what == 1, false);
	*r = ret == 0 ? buf_steal(&b, NULL) : NULL;
	buf_free(&b);
	return *r != NULL ? 0 : -1;
}

int imap_msg_structure(const struct msg_mime *mime, char **envelope_r,
		       char **bodystructure_r, char **body_r)
{
	char **outs[3] = { envelope_r, bodystructure_r, body_r };
	for (int i = 0; i < 3; i++) {
		if (outs[i] != NULL)
			*outs[i] = NULL;
	}
	for (int i = 0; i < 3; i++) {
		if (write_one(mime, i, outs[i]) < 0) {
			for (int j = 0; j < 3; j++) {
				if (outs[j] != NULL) {
					free(*outs[j]);
					*outs[j] = NULL;
				}
			}
			return -1;
		}
	}
	return 0;
}

static int parse(void *ctx, const char *msg, size_t len, char **envelope_r,
		 char **bodystructure_r, char **body_r)
{
	struct msg_mime *mime;
	const char *err;
	(void)ctx;
	*envelope_r = *bodystructure_r = *body_r = NULL;
	if (msg_mime_parse(msg, len, &mime, &err) < 0)
		return -1;
	int r = imap_msg_structure(mime, envelope_r, bodystructure_r, body_r);
	msg_mime_free(&mime);
	return r;
}

const struct mail_parser imap_msg_parser = { parse, NULL };
