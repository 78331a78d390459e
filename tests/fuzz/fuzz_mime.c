/* libFuzzer target: the MIME parser and everything built on it.
 *
 * The input is a message. It is parsed; BODY and BODYSTRUCTURE of the
 * root and ENVELOPE of every message node are written; every part is
 * looked up by its section path, plus sections made from the input's own
 * octets; each leaf is transfer-decoded, its parameters and subject
 * decoded. Invariants checked: sections stay inside the message, CRLF
 * sizes are never below raw sizes, and the input with every bare LF made
 * CRLF gives the very same BODYSTRUCTURE (IMAP sizes are CRLF sizes). */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msg/address.h"
#include "msg/encoded_word.h"
#include "msg/imap_format.h"
#include "msg/mime.h"
#include "msg/transfer.h"

#include "../imap_wellformed.h"

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "CHECK failed: %s (line %d)\n", #x, __LINE__); abort(); } } while (0)

#define OUT_MAX ((size_t)16 << 20)

static void check_section(const struct msg_mime *m, const char *sec, size_t n)
{
	struct msg_section s;
	const char *error;
	if (msg_mime_section(m, (struct str){ sec, n }, &s, &error) < 0)
		return;
	CHECK(s.offset <= m->len && s.size.octets <= m->len - s.offset);
	CHECK(s.size.crlf_octets >= s.size.octets && s.size.lines <= s.size.octets);
}

static void visit(const struct msg_mime *m, const struct msg_part *p, struct buf *path,
		  struct buf *scratch)
{
	CHECK(p->body_offset >= p->header_offset && p->body_offset <= m->len);
	CHECK(p->body.octets <= m->len - p->body_offset);
	check_section(m, path->data ? path->data : "", path->len);
	if (p->envelope != NULL) {
		buf_reset(scratch);
		CHECK(msg_imap_write_envelope(scratch, p, true) == 0);
		CHECK(imap_wellformed(scratch->data, scratch->len));
		buf_reset(scratch);
		msg_encoded_words_decode(p->envelope[MSG_ENV_SUBJECT], scratch);
	}
	if (p->children == NULL) {
		const char *error;
		buf_reset(scratch);
		msg_transfer_decode(p->cte, (struct str){ m->msg + p->body_offset, p->body.octets },
				    scratch, &error);
	}
	for (unsigned i = 0; i < p->param_count; i++) {
		buf_reset(scratch);
		CHECK(msg_param_decode(&p->params[i], scratch) == 0);
	}
	size_t base = path->len;
	unsigned n = 1;
	for (const struct msg_part *c = p->children; c != NULL; c = c->next, n++) {
		if (!p->is_multipart) {
			visit(m, c, path, scratch);   /* inside a message/rfc822 */
			break;
		}
		buf_printf(path, "%s%u", base > 0 ? "." : "", n);
		visit(m, c, path, scratch);
		buf_truncate(path, base);
	}
}

static char *bodystructure(const char *data, size_t size, struct msg_mime **m_r)
{
	const char *error;
	struct buf out;
	if (msg_mime_parse(data, size, m_r, &error) < 0)
		return NULL;
	buf_init(&out, OUT_MAX);
	CHECK(msg_imap_write_body(&out, (*m_r)->root, true, false) == 0);
	CHECK(imap_wellformed(out.data, out.len));
	return buf_steal(&out, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct msg_mime *m = NULL, *m2 = NULL;
	char *bs = bodystructure((const char *)data, size, &m);
	if (bs == NULL)
		return 0;
	struct buf path, scratch, crlf;
	buf_init(&path, 1 << 16);
	buf_init(&scratch, OUT_MAX);
	CHECK(msg_imap_write_body(&scratch, m->root, false, true) == 0);
	visit(m, m->root, &path, &scratch);
	/* Sections spelled by the input itself: its last line, and each
	 * 12-octet window of its first 256 octets. */
	for (size_t i = 0; i + 12 <= size && i < 256; i += 12)
		check_section(m, (const char *)data + i, 12);
	const char *nl = size ? memrchr(data, '\n', size) : NULL;
	if (nl != NULL)
		check_section(m, nl + 1, size - (size_t)(nl + 1 - (const char *)data));
	struct msg_address_list *list;
	const char *error;
	if (msg_address_parse((struct str){ (const char *)data, size }, &list, &error) == 0)
		msg_address_list_free(&list);

	buf_init(&crlf, size * 2 + 1);
	for (size_t i = 0; i < size; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			buf_append_char(&crlf, '\r');
		buf_append_char(&crlf, (char)data[i]);
	}
	char *bs2 = bodystructure(crlf.data ? crlf.data : "", crlf.len, &m2);
	/* A message whose first line ends in CRLF goes out as stored: its
	 * bare LFs are data (RFC 3516 4.4), and adding CRs changes it. One
	 * with LF line ends is sent with CRLF, so both must agree. */
	if (bs2 != NULL && m->part_count < MSG_MIME_MAX_PARTS &&
	    !msg_crlf_native((const char *)data, size)) {
		if (strcmp(bs, bs2) != 0) {
			fprintf(stderr, "LF:   %s\nCRLF: %s\n", bs, bs2);
			abort();
		}
	}
	free(bs);
	free(bs2);
	msg_mime_free(&m);
	msg_mime_free(&m2);
	buf_free(&crlf);
	buf_free(&path);
	buf_free(&scratch);
	return 0;
}
