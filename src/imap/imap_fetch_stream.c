/* Whole messages in FETCH (BODY[], BINARY[], their .PEEK, RFC822) streamed from the
 * file: the literal's size is counted in a first pass over the file in
 * bounded chunks, then its octets are appended slice by slice as the
 * client drains the output (imap_cmd_fetch.c), so a 20 MiB message costs
 * a session a chunk, not two copies of the message. The octets are what
 * imap_fetch_body.c would send: the file as stored when it has CRLF line
 * ends (msg_crlf_native), else every bare LF as CRLF; NUL as 0x80, but
 * as NUL in a BINARY[] literal8 (RFC 3516 4.2: a whole message is not
 * transfer-decoded). */
#include "imap/imap_message.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"

#define CHUNK (64 * 1024)

void imap_msg_stream_init(struct imap_msg_stream *st)
{
	*st = (struct imap_msg_stream){ .fd = -1 };
}

void imap_msg_stream_close(struct imap_msg_stream *st)
{
	if (st->fd >= 0)
		close(st->fd);
	st->fd = -1;
}

static ssize_t read_at(int fd, char *buf, size_t n, uint64_t off)
{
	for (;;) {
		ssize_t r = pread(fd, buf, n, (off_t)off);
		if (r >= 0 || errno != EINTR)
			return r;
	}
}

/* The literal's size: the file's octets plus one per bare LF, unless the
 * first line ends in CRLF; and whether it holds a NUL. -1 on a read
 * error. */
static int count(struct imap_msg_stream *st, uint64_t *n_r, bool *nul_r)
{
	char buf[CHUNK];
	uint64_t off = 0, bare = 0;
	bool prev_cr = false, first_line = true;
	ssize_t r;
	*nul_r = false;
	while ((r = read_at(st->fd, buf, sizeof buf, off)) > 0) {
		if (!*nul_r && memchr(buf, '\0', (size_t)r) != NULL)
			*nul_r = true;
		for (const char *p = buf, *end = buf + r; p < end; p++) {
			p = memchr(p, '\n', (size_t)(end - p));
			if (p == NULL)
				break;
			bool cr = p > buf ? p[-1] == '\r' : prev_cr;
			if (first_line)
				st->native = cr;
			first_line = false;
			bare += !cr;
		}
		prev_cr = buf[r - 1] == '\r';
		off += (uint64_t)r;
	}
	if (r < 0)
		return -1;
	*n_r = st->native ? off : off + bare;
	return 0;
}

int imap_msg_stream_start(struct imap_session *s, struct buf *out,
			  const struct imap_fetch_section *sec, const struct mail_msg *m,
			  const struct imap_msg_file *mf, struct imap_msg_stream *st)
{
	const char *err = NULL;
	uint64_t size, n;
	bool nul;
	if (m->size < IMAP_STREAM_MIN || mf->data != NULL ||
	    (sec != NULL && ((sec->kind != IMAP_SECTION_BODY && sec->kind != IMAP_SECTION_BINARY) ||
			     sec->part_count > 0 || sec->text != IMAP_SECTION_ALL ||
			     sec->partial)))
		return IMAP_SECTION_OK;
	imap_msg_stream_init(st);
	st->binary = sec != NULL && sec->kind == IMAP_SECTION_BINARY;
	/* Any trouble: the simple way, which reports it as it always has. */
	if (mail_folder_msg_open(s->folder, m->uid, &st->fd, &size, &err) < 0)
		return IMAP_SECTION_OK;
	if (count(st, &n, &nul) < 0) {
		imap_msg_stream_close(st);
		return IMAP_SECTION_OK;
	}
	st->out_left = n;
	const char *name = sec == NULL ? "RFC822" : st->binary ? "BINARY[]" : "BODY[]";
	if (buf_printf(out, "%s %s{%llu}\r\n", name, st->binary && nul ? "~" : "",
		       (unsigned long long)n) < 0) {
		imap_msg_stream_close(st);
		return IMAP_SECTION_FAIL;
	}
	return IMAP_SECTION_STREAM;
}

/* Appends the converted octets of buf[0..n), at most st->out_left. */
static int put(struct imap_msg_stream *st, struct buf *out, char *buf, size_t n)
{
	for (char *z = st->binary ? NULL : memchr(buf, '\0', n); z != NULL;
	     z = memchr(z, '\0', n - (size_t)(z - buf)))
		*z = (char)0x80;
	const char *p = buf, *end = buf + n;
	while (p < end && st->out_left > 0) {
		const char *nl = st->native ? NULL : memchr(p, '\n', (size_t)(end - p));
		size_t k = (size_t)((nl != NULL ? nl : end) - p);
		bool bare = nl != NULL && !(nl > p ? nl[-1] == '\r' : st->prev_cr);
		if (k > st->out_left)
			k = (size_t)st->out_left;
		if (buf_append(out, p, k) < 0)
			return -1;
		st->out_left -= k;
		st->prev_cr = k > 0 ? p[k - 1] == '\r' : st->prev_cr;
		p += k;
		if (nl == NULL || st->out_left == 0)
			continue;
		const char *eol = bare ? "\r\n" : "\n";
		size_t e = bare ? 2 : 1;
		if (e > st->out_left)
			e = (size_t)st->out_left;
		if (buf_append(out, eol, e) < 0)
			return -1;
		st->out_left -= e;
		st->prev_cr = false;
		p++;
	}
	return 0;
}

int imap_msg_stream_more(struct imap_msg_stream *st, struct buf *out, size_t max,
			 const char **error_r)
{
	char buf[CHUNK];
	size_t done = 0;
	while (st->out_left > 0 && done < max) {
		ssize_t r = read_at(st->fd, buf, sizeof buf, st->in_off);
		if (r < 0) {
			*error_r = "cannot read message";
			return -1;
		}
		if (r == 0) {
			/* The file shrank since it was counted (Maildir files
			 * never change; another program did this): the literal
			 * is still ended with the octets promised. */
			log_warn("imap: a message file shrank while it was sent");
			memset(buf, ' ', sizeof buf);
			r = (ssize_t)(st->out_left < sizeof buf ? st->out_left : sizeof buf);
			st->native = true;
		}
		size_t before = out->len;
		if (put(st, out, buf, (size_t)r) < 0) {
			*error_r = "output too large";
			return -1;
		}
		st->in_off += (uint64_t)r;
		done += out->len - before;
	}
	if (st->out_left > 0)
		return 0;
	imap_msg_stream_close(st);
	return 1;
}
