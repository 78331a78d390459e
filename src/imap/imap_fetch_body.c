/* FETCH of message contents: BODY[section]<partial> and BODY.PEEK, BINARY,
 * BINARY.PEEK and BINARY.SIZE (RFC 3516), RFC822, RFC822.HEADER and
 * RFC822.TEXT (RFC 3501). Maildir files have LF line ends; IMAP sends CRLF
 * and counts octets that way (RFC 9051 2.3.4), so every section is
 * converted before its size is known. */
#include "imap/imap_message.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "msg/header.h"
#include "msg/transfer.h"

/* A file bigger than this is refused rather than read into memory (the
 * SMTP limit keeps real mail far below). */
#define MSG_READ_MAX ((size_t)128 * 1024 * 1024)

void imap_msg_file_clear(struct imap_msg_file *mf)
{
	free(mf->data);
	msg_mime_free(&mf->mime);
	*mf = (struct imap_msg_file){ 0 };
}

static int read_all(int fd, char *data, size_t size, size_t *len_r)
{
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, data + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;   /* shrank meanwhile: what is there */
		got += (size_t)n;
	}
	*len_r = got;
	return 0;
}

int imap_msg_file_load(struct mail_folder *f, uint32_t uid, struct imap_msg_file *mf,
		       const char **error_r)
{
	int fd;
	uint64_t size;
	if (mf->data != NULL && mf->uid == uid)
		return 0;
	imap_msg_file_clear(mf);
	mf->uid = uid;
	if (mail_folder_msg_open(f, uid, &fd, &size, error_r) < 0) {
		mf->gone = errno == ENOENT;
		return -1;
	}
	if (size > MSG_READ_MAX || (mf->data = malloc((size_t)size + 1)) == NULL) {
		close(fd);
		*error_r = size > MSG_READ_MAX ? "message too large" : "out of memory";
		return -1;
	}
	int r = read_all(fd, mf->data, (size_t)size, &mf->len);
	close(fd);
	if (r < 0) {
		imap_msg_file_clear(mf);
		*error_r = "cannot read message";
		return -1;
	}
	mf->data[mf->len] = '\0';
	return 0;
}

static const struct msg_mime *file_mime(struct imap_msg_file *mf, const char **error_r)
{
	if (mf->mime == NULL && msg_mime_parse(mf->data, mf->len, &mf->mime, error_r) < 0)
		return NULL;
	return mf->mime;
}

static const char *const text_names[] = {
	[IMAP_SECTION_ALL] = "", [IMAP_SECTION_HEADER] = "HEADER",
	[IMAP_SECTION_HEADER_FIELDS] = "HEADER.FIELDS",
	[IMAP_SECTION_HEADER_FIELDS_NOT] = "HEADER.FIELDS.NOT",
	[IMAP_SECTION_TEXT] = "TEXT", [IMAP_SECTION_MIME] = "MIME",
};

/* "1.2.HEADER" as src/msg's section lookup wants it (the field list is
 * applied here, so HEADER.FIELDS looks up HEADER). */
static size_t section_path(const struct imap_fetch_section *sec, char *p, size_t size,
			   bool with_text)
{
	struct buf b;
	enum imap_section_text t = sec->text;
	buf_init(&b, size - 1);
	for (size_t i = 0; i < sec->part_count; i++)
		buf_printf(&b, "%s%u", i > 0 ? "." : "", sec->part[i]);
	if (with_text && t != IMAP_SECTION_ALL) {
		if (t == IMAP_SECTION_HEADER_FIELDS || t == IMAP_SECTION_HEADER_FIELDS_NOT)
			t = IMAP_SECTION_HEADER;
		buf_printf(&b, "%s%s", sec->part_count > 0 ? "." : "", text_names[t]);
	}
	size_t n = b.len;
	memcpy(p, b.data != NULL ? b.data : "", n + 1);
	buf_free(&b);
	return n;
}

/* The cached header section, when it is exactly what src/msg would find
 * in the file (so sizes never depend on whether the cache was used). */
static bool cached_header(const struct mail_msg *m, struct str *hdr_r)
{
	struct msg_header_iter it;
	if (m->header_raw == NULL)
		return false;
	struct str h = str_from(m->header_raw);
	if (h.len < 2 || h.p[h.len - 1] != '\n' ||
	    (h.p[h.len - 2] != '\n' && !(h.len >= 3 && h.p[h.len - 2] == '\r' &&
					 h.p[h.len - 3] == '\n')))
		return false;
	msg_header_iter_init(&it, h.p, h.len);
	if (msg_header_finish(&it) != h.len)
		return false;
	*hdr_r = h;
	return true;
}

/* The raw octets a BODY section names, and its part. 1 found, 0 no such
 * part, -1 error. */
static int section_raw(const struct imap_fetch_section *sec, const struct mail_msg *m,
		       struct imap_session *s, struct imap_msg_file *mf, struct str *raw_r,
		       const struct msg_part **part_r, const char **error_r)
{
	char path[IMAP_SECTION_PART_MAX * 12 + 32];
	struct msg_section r;
	bool header_only = sec->part_count == 0 && sec->text != IMAP_SECTION_ALL &&
			   sec->text != IMAP_SECTION_TEXT;
	*part_r = NULL;
	if (header_only && cached_header(m, raw_r))
		return 1;
	if (imap_msg_file_load(s->folder, m->uid, mf, error_r) < 0)
		return -1;
	if (sec->part_count == 0 && sec->text == IMAP_SECTION_ALL) {
		*raw_r = (struct str){ mf->data, mf->len };
		return 1;
	}
	const struct msg_mime *mime = file_mime(mf, error_r);
	if (mime == NULL)
		return -1;
	size_t n = section_path(sec, path, sizeof path, true);
	if (msg_mime_section(mime, (struct str){ path, n }, &r, error_r) < 0)
		return 0;
	*raw_r = (struct str){ mf->data + r.offset, r.size.octets };
	*part_r = r.part;
	return 1;
}

/* Whether the loaded file's octets go out as they are (msg_crlf_native):
 * message and part bodies of a file that has CRLF line ends; header
 * sections are text and always go out with CRLF. */
static bool as_stored(const struct imap_fetch_section *sec, const struct imap_msg_file *mf)
{
	return (sec->text == IMAP_SECTION_ALL || sec->text == IMAP_SECTION_TEXT) &&
	       mf->data != NULL && msg_crlf_native(mf->data, mf->len);
}

/* The section as IMAP sends it (CRLF) into out. */
static int section_crlf(const struct imap_fetch_section *sec, struct str raw,
			const struct imap_msg_file *mf, struct buf *out)
{
	if (as_stored(sec, mf))
		return buf_append(out, raw.p, raw.len);
	if (sec->text != IMAP_SECTION_HEADER_FIELDS && sec->text != IMAP_SECTION_HEADER_FIELDS_NOT)
		return msg_crlf_append(raw, out);
	struct buf tmp;
	buf_init(&tmp, raw.len + 2);
	int r = msg_header_filter(raw.p, raw.len, sec->fields, sec->field_count,
				  sec->text == IMAP_SECTION_HEADER_FIELDS_NOT, &tmp);
	if (r == 0)
		r = msg_crlf_append(buf_str(&tmp), out);
	buf_free(&tmp);
	return r;
}

static void write_field_name(struct buf *out, struct str f)
{
	for (size_t i = 0; i < f.len; i++) {
		if (strchr("(){ %*\"\\]", f.p[i]) != NULL) {
			imap_write_string(out, f);
			return;
		}
	}
	buf_append(out, f.p, f.len);
}

/* "BODY[1.HEADER.FIELDS (A B)]<0>" as the response names the item. */
static void write_item_name(struct buf *out, const char *kind,
			    const struct imap_fetch_section *sec)
{
	char path[IMAP_SECTION_PART_MAX * 12 + 32];
	section_path(sec, path, sizeof path, false);
	buf_printf(out, "%s[%s", kind, path);
	if (sec->text != IMAP_SECTION_ALL)
		buf_printf(out, "%s%s", sec->part_count > 0 ? "." : "", text_names[sec->text]);
	if (sec->field_count > 0) {
		buf_append_str(out, " (");
		for (size_t i = 0; i < sec->field_count; i++) {
			if (i > 0)
				buf_append_char(out, ' ');
			write_field_name(out, sec->fields[i]);
		}
		buf_append_char(out, ')');
	}
	buf_append_char(out, ']');
	if (sec->partial)
		buf_printf(out, "<%llu>", (unsigned long long)sec->offset);
}

/* The data, cut to the partial range, as a literal ({n}, or ~{n} for
 * binary data holding NUL; BODY text never holds NUL: 0x80 stands in). */
static int write_data(struct buf *out, const struct imap_fetch_section *sec, struct buf *data,
		      bool binary)
{
	size_t start = 0, n = data->len;
	if (sec->partial) {
		start = sec->offset < data->len ? (size_t)sec->offset : data->len;
		n = data->len - start;
		if (sec->size < n)
			n = (size_t)sec->size;
	}
	char *p = data->data != NULL ? data->data + start : NULL;
	bool nul = n > 0 && memchr(p, '\0', n) != NULL;
	if (nul && !binary) {
		for (size_t i = 0; i < n; i++)
			if (p[i] == '\0')
				p[i] = (char)0x80;
	}
	if (buf_printf(out, "%s{%zu}\r\n", nul && binary ? "~" : "", n) < 0 ||
	    (n > 0 && buf_append(out, p, n) < 0))
		return -1;
	return 0;
}

static int write_body(struct imap_session *s, struct buf *out, const char *name,
		      const struct imap_fetch_section *sec, const struct mail_msg *m,
		      struct imap_msg_file *mf, const char **error_r)
{
	struct str raw;
	const struct msg_part *part;
	int r = section_raw(sec, m, s, mf, &raw, &part, error_r);
	if (r < 0)
		return IMAP_SECTION_FAIL;
	if (name != NULL)
		buf_append_str(out, name);
	else
		write_item_name(out, "BODY", sec);
	if (r == 0)
		return buf_append_str(out, " NIL") < 0 ? IMAP_SECTION_FAIL : IMAP_SECTION_OK;
	struct buf data;
	buf_init(&data, 2 * raw.len + 4);
	r = section_crlf(sec, raw, mf, &data);
	if (r == 0)
		r = buf_append_char(out, ' ');
	if (r == 0)
		r = write_data(out, sec, &data, false);
	buf_free(&data);
	if (r < 0)
		*error_r = "out of memory";
	return r < 0 ? IMAP_SECTION_FAIL : IMAP_SECTION_OK;
}

/* The decoded content BINARY[part] names (RFC 3516 4.2): a leaf is
 * transfer-decoded; a whole message or a multipart is sent as it is. */
static int binary_content(struct imap_session *s, const struct imap_fetch_section *sec,
			  const struct mail_msg *m, struct imap_msg_file *mf, struct buf *data,
			  const char **error_r)
{
	struct imap_fetch_section body = *sec;
	struct str raw;
	const struct msg_part *part;
	body.kind = IMAP_SECTION_BODY;
	body.partial = false;
	int r = section_raw(&body, m, s, mf, &raw, &part, error_r);
	if (r <= 0)
		return r < 0 ? IMAP_SECTION_FAIL : 0;
	buf_init(data, 2 * raw.len + 4);
	if (section_crlf(&body, raw, mf, data) < 0)
		return IMAP_SECTION_FAIL;
	if (part == NULL || part->is_multipart || part->is_message_rfc822)
		return 1;
	if (part->cte == MSG_CTE_UNKNOWN)
		return IMAP_SECTION_UNKNOWN_CTE;
	struct buf dec;
	buf_init(&dec, data->len + 4);
	if (msg_transfer_decode(part->cte, buf_str(data), &dec, error_r) < 0) {
		buf_free(&dec);
		return IMAP_SECTION_FAIL;
	}
	buf_free(data);
	*data = dec;
	return 1;
}

static int write_binary(struct imap_session *s, struct buf *out,
			const struct imap_fetch_section *sec, const struct mail_msg *m,
			struct imap_msg_file *mf, const char **error_r)
{
	struct buf data;
	buf_init(&data, 0);
	int r = binary_content(s, sec, m, mf, &data, error_r);
	if (r < 0) {
		buf_free(&data);
		return r;
	}
	bool size_only = sec->kind == IMAP_SECTION_BINARY_SIZE;
	write_item_name(out, size_only ? "BINARY.SIZE" : "BINARY", sec);
	if (r == 0)
		r = buf_append_str(out, size_only ? " 0" : " NIL");
	else if (size_only)
		r = buf_printf(out, " %zu", data.len);
	else if ((r = buf_append_char(out, ' ')) == 0)
		r = write_data(out, sec, &data, true);
	buf_free(&data);
	if (r < 0)
		*error_r = "out of memory";
	return r < 0 ? IMAP_SECTION_FAIL : IMAP_SECTION_OK;
}

int imap_fetch_write_section(struct imap_session *s, struct buf *out,
			     const struct imap_fetch_section *sec, const struct mail_msg *m,
			     struct imap_msg_file *mf, const char **error_r)
{
	if (sec->kind == IMAP_SECTION_BODY)
		return write_body(s, out, NULL, sec, m, mf, error_r);
	return write_binary(s, out, sec, m, mf, error_r);
}

int imap_fetch_write_rfc822(struct imap_session *s, struct buf *out, unsigned item,
			    const struct mail_msg *m, struct imap_msg_file *mf,
			    const char **error_r)
{
	struct imap_fetch_section sec = { .kind = IMAP_SECTION_BODY };
	const char *name = "RFC822";
	if (item == IMAP_FETCH_RFC822_HEADER) {
		sec.text = IMAP_SECTION_HEADER;
		name = "RFC822.HEADER";
	} else if (item == IMAP_FETCH_RFC822_TEXT) {
		sec.text = IMAP_SECTION_TEXT;
		name = "RFC822.TEXT";
	}
	return write_body(s, out, name, &sec, m, mf, error_r);
}
