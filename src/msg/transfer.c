#include "msg/transfer.h"

#include <string.h>

#include "lib/base64.h"
#include "msg/header.h"

static const char hex_upper[] = "0123456789ABCDEF";

static int hex_of(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

enum msg_cte msg_cte_parse(struct str v)
{
	v = msg_str_trim(v);
	if (v.len == 0 || str_case_eq_cstr(v, "7bit"))
		return MSG_CTE_7BIT;
	if (str_case_eq_cstr(v, "8bit"))
		return MSG_CTE_8BIT;
	if (str_case_eq_cstr(v, "binary"))
		return MSG_CTE_BINARY;
	if (str_case_eq_cstr(v, "base64"))
		return MSG_CTE_BASE64;
	if (str_case_eq_cstr(v, "quoted-printable"))
		return MSG_CTE_QP;
	return MSG_CTE_UNKNOWN;
}

int msg_base64_decode(struct str in, struct buf *out)
{
	/* Output is at most 3/4 of the input: one reservation, then no checks. */
	if (buf_reserve(out, in.len / 4 * 3 + 3) < 0)
		return -1;
	unsigned char *o = (unsigned char *)out->data + out->len;
	const unsigned char *p = (const unsigned char *)in.p;
	unsigned acc = 0, n = 0;
	for (size_t i = 0; i < in.len; i++) {
		int v = base64_value(p[i]);
		if (v < 0) {
			if (p[i] == '=')
				break;
			continue;
		}
		acc = acc << 6 | (unsigned)v;
		if (++n == 4) {
			*o++ = (unsigned char)(acc >> 16);
			*o++ = (unsigned char)(acc >> 8);
			*o++ = (unsigned char)acc;
			acc = 0;
			n = 0;
		}
	}
	if (n >= 2)
		*o++ = (unsigned char)(acc >> (n == 2 ? 4 : 10));
	if (n == 3)
		*o++ = (unsigned char)(acc >> 2);
	out->len = (size_t)((char *)o - out->data);
	out->data[out->len] = '\0';
	return 0;
}

static bool line_end_at(const unsigned char *p, size_t j, size_t n)
{
	return j == n || p[j] == '\n' || (p[j] == '\r' && j + 1 < n && p[j + 1] == '\n');
}

/* Handles the '=' at p[*i]: an escape, a soft line break or, malformed,
 * a literal '='. Returns the octets written to o. */
static size_t qp_equals(const unsigned char *p, size_t n, size_t *i, char *o, bool q)
{
	size_t k = *i;
	if (k + 2 < n) {
		int h = hex_of(p[k + 1]), l = hex_of(p[k + 2]);
		if (h >= 0 && l >= 0) {
			*o = (char)(h << 4 | l);
			*i = k + 3;
			return 1;
		}
	}
	size_t j = k + 1;
	while (!q && j < n && (p[j] == ' ' || p[j] == '\t'))
		j++;
	if (!q && line_end_at(p, j, n)) {
		*i = j == n ? n : p[j] == '\n' ? j + 1 : j + 2;
		return 0;
	}
	*o = '=';
	*i = k + 1;
	return 1;
}

/* Quoted-printable body of qp_decode and q_decode. */
static int qp_common(struct str in, struct buf *out, bool q)
{
	if (buf_reserve(out, in.len) < 0)
		return -1;
	char *o = out->data + out->len;
	const unsigned char *p = (const unsigned char *)in.p;
	size_t i = 0, n = in.len;
	while (i < n) {
		unsigned char c = p[i];
		if (c == '=') {
			o += qp_equals(p, n, &i, o, q);
		} else if (!q && (c == ' ' || c == '\t')) {
			/* Trailing white space was added in transport: drop it. */
			size_t j = i;
			while (j < n && (p[j] == ' ' || p[j] == '\t'))
				j++;
			if (!line_end_at(p, j, n)) {
				memcpy(o, p + i, j - i);
				o += j - i;
			}
			i = j;
		} else {
			*o++ = q && c == '_' ? ' ' : (char)c;
			i++;
		}
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = '\0';
	return 0;
}

int msg_qp_decode(struct str in, struct buf *out)
{
	return qp_common(in, out, false);
}

int msg_q_decode(struct str in, struct buf *out)
{
	return qp_common(in, out, true);
}

int msg_base64_encode_lines(struct str in, bool crlf, struct buf *out)
{
	const unsigned char *p = (const unsigned char *)in.p;
	size_t lines = (in.len + 56) / 57;
	if (buf_reserve(out, (in.len + 2) / 3 * 4 + lines * 2) < 0)
		return -1;
	for (size_t i = 0; i < in.len; i += 57) {
		size_t end = in.len - i < 57 ? in.len : i + 57;
		char *o = out->data + out->len;
		for (size_t k = i; k < end; k += 3) {
			unsigned v = (unsigned)p[k] << 16;
			if (k + 1 < end)
				v |= (unsigned)p[k + 1] << 8;
			if (k + 2 < end)
				v |= p[k + 2];
			*o++ = base64_alphabet[(v >> 18) & 63];
			*o++ = base64_alphabet[(v >> 12) & 63];
			*o++ = k + 1 < end ? base64_alphabet[(v >> 6) & 63] : '=';
			*o++ = k + 2 < end ? base64_alphabet[v & 63] : '=';
		}
		if (crlf)
			*o++ = '\r';
		*o++ = '\n';
		out->len = (size_t)(o - out->data);
	}
	if (out->data != NULL)
		out->data[out->len] = '\0';
	return 0;
}

/* Whether octet i of a line [0, n) must be written as =XX. */
static bool qp_must_escape(const unsigned char *line, size_t i, size_t n, size_t col)
{
	unsigned char c = line[i];
	if (c == '=' || c >= 127 || (c < ' ' && c != '\t'))
		return true;
	if ((c == ' ' || c == '\t') && i + 1 == n)
		return true;   /* trailing white space would be stripped */
	if (col == 0 && c == '.')
		return true;   /* SMTP dot-stuffing and a lone "." */
	return col == 0 && c == 'F' && n - i >= 5 && memcmp(line + i, "From ", 5) == 0;
}

static int qp_encode_line(const unsigned char *line, size_t n, const char *eol,
			  struct buf *out)
{
	size_t col = 0;
	int r = 0;
	for (size_t i = 0; i < n && r == 0; i++) {
		bool esc = qp_must_escape(line, i, n, col);
		size_t tlen = esc ? 3 : 1;
		/* Keep a column for the '=' of a soft break; the last octet
		 * may use it since no break follows. */
		if (col + tlen > (i + 1 == n ? 76 : 75)) {
			r |= buf_append_char(out, '=');
			r |= buf_append_str(out, eol);
			col = 0;
			esc = qp_must_escape(line, i, n, col);
			tlen = esc ? 3 : 1;
		}
		if (esc) {
			char e[3] = { '=', hex_upper[line[i] >> 4], hex_upper[line[i] & 15] };
			r |= buf_append(out, e, 3);
		} else {
			r |= buf_append_char(out, (char)line[i]);
		}
		col += tlen;
	}
	return r < 0 ? -1 : 0;
}

int msg_qp_encode(struct str in, bool crlf, struct buf *out)
{
	const char *eol = crlf ? "\r\n" : "\n";
	const unsigned char *p = (const unsigned char *)in.p;
	size_t pos = 0;
	while (pos < in.len) {
		const unsigned char *nl = memchr(p + pos, '\n', in.len - pos);
		size_t end = nl == NULL ? in.len : (size_t)(nl - p);
		size_t n = end - pos;
		if (nl != NULL && n > 0 && p[end - 1] == '\r')
			n--;
		if (qp_encode_line(p + pos, n, eol, out) < 0)
			return -1;
		if (nl == NULL)
			break;
		if (buf_append_str(out, eol) < 0)
			return -1;
		pos = end + 1;
	}
	return 0;
}

int msg_transfer_decode(enum msg_cte enc, struct str in, struct buf *out,
			const char **error_r)
{
	int r;
	switch (enc) {
	case MSG_CTE_BASE64:
		r = msg_base64_decode(in, out);
		break;
	case MSG_CTE_QP:
		r = msg_qp_decode(in, out);
		break;
	case MSG_CTE_UNKNOWN:
		*error_r = "unknown Content-Transfer-Encoding";
		return -1;
	default:
		r = buf_append(out, in.p, in.len);
		break;
	}
	if (r < 0)
		*error_r = "decoded content too large";
	return r;
}

bool msg_crlf_native(const char *msg, size_t len)
{
	const char *nl = memchr(msg, '\n', len);
	return nl != NULL && nl > msg && nl[-1] == '\r';
}

int msg_crlf_append(struct str in, struct buf *out)
{
	const char *p = in.p, *end = in.p + in.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			return buf_append(out, p, (size_t)(end - p));
		bool bare = nl == in.p || nl[-1] != '\r';
		if (buf_append(out, p, (size_t)(nl - p)) < 0 ||
		    buf_append(out, bare ? "\r\n" : "\n", bare ? 2 : 1) < 0)
			return -1;
		p = nl + 1;
	}
	return 0;
}
