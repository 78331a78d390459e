/* What the index learns from reading a message once: sizes, the common
 * header fields (unfolded, still RFC 2047-encoded: the IMAP layer decodes
 * when it sorts or searches), the Date: as a time_t, and, when a MIME
 * parser is registered, ENVELOPE / BODYSTRUCTURE / BODY. After that FETCH
 * of envelopes and SEARCH of those fields never open a message file. */
#include "store/store_private.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/fs.h"
#include "msg/transfer.h"

#define FIELD_MAX (16 * 1024)

static struct mail_parser parser;
static bool parser_set;

void mail_store_set_parser(const struct mail_parser *p)
{
	parser_set = p != NULL && p->parse != NULL;
	if (parser_set)
		parser = *p;
}

const struct mail_parser *store_parser(void)
{
	return parser_set ? &parser : NULL;
}

static const struct {
	const char *name;
	size_t len;
} fields[8] = {
	{ "from", 4 }, { "to", 2 }, { "cc", 2 }, { "subject", 7 }, { "date", 4 },
	{ "message-id", 10 }, { "in-reply-to", 11 }, { "references", 10 },
};

void store_facts_free(struct msg_facts *f)
{
	for (size_t i = 0; i < 8; i++)
		free(f->h[i]);
	free(f->envelope);
	free(f->bodystructure);
	free(f->body);
	*f = (struct msg_facts){ 0 };
}

size_t store_header_len(const char *d, size_t len)
{
	if (len > 0 && d[0] == '\n')
		return 1;
	if (len > 1 && d[0] == '\r' && d[1] == '\n')
		return 2;
	for (const char *p = d, *end = d + len; (p = memchr(p, '\n', (size_t)(end - p))) != NULL;
	     p++) {
		size_t i = (size_t)(p - d);
		if (i + 1 >= len)
			break;
		if (d[i + 1] == '\n')
			return i + 2;
		if (d[i + 1] == '\r' && i + 2 < len && d[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

/* Unfolds a field's value (from after the colon to the end of its last
 * continuation line) into a new string. */
static char *unfold(const char *p, const char *end)
{
	size_t cap = (size_t)(end - p) < FIELD_MAX ? (size_t)(end - p) : FIELD_MAX;
	char *out = malloc(cap + 1);
	size_t n = 0;
	if (out == NULL)
		return NULL;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	for (; p < end && n < cap; p++) {
		if (*p == '\r' || *p == '\n')
			continue;
		out[n++] = *p;
	}
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
		n--;
	out[n] = '\0';
	return out;
}

static void parse_fields(const char *h, size_t len, struct msg_facts *f)
{
	const char *end = h + len;
	for (const char *line = h; line < end;) {
		const char *next = line;
		/* A field runs to the first line end not followed by WSP. */
		do {
			const char *nl = memchr(next, '\n', (size_t)(end - next));
			next = nl != NULL ? nl + 1 : end;
		} while (next < end && (*next == ' ' || *next == '\t'));
		const char *colon = memchr(line, ':', (size_t)(next - line));
		size_t nlen = colon != NULL ? (size_t)(colon - line) : 0;
		for (size_t i = 0; nlen > 0 && i < 8; i++) {
			if (f->h[i] == NULL && nlen == fields[i].len &&
			    strncasecmp(line, fields[i].name, nlen) == 0) {
				f->h[i] = unfold(colon + 1, next);
				break;
			}
		}
		line = next;
	}
}

static uint64_t crlf_size(const char *d, size_t len)
{
	uint64_t extra = 0;
	for (const char *p = d, *end = d + len; (p = memchr(p, '\n', (size_t)(end - p)));
	     p++) {
		if (p == d || p[-1] != '\r')
			extra++;
	}
	return len + extra;
}

/* What POP3 RETR sends (pop3_server.c), stuffing and terminator aside:
 * every line end as CRLF, bare LFs too, also in a message whose first line
 * ends in CRLF (IMAP sends that one as stored: vsize), and a last line
 * without LF ended (a CR there becomes the CRLF). RFC 1939 5: LIST gives
 * "the exact size of the message in octets". */
static uint64_t pop3_size(const char *d, size_t len, uint64_t crlf)
{
	if (len == 0 || d[len - 1] == '\n')
		return crlf;
	return crlf + (d[len - 1] == '\r' ? 1 : 2);
}

int store_parse_data(const char *data, size_t len, struct msg_facts *f)
{
	*f = (struct msg_facts){ 0 };
	f->size = len;
	uint64_t crlf = crlf_size(data, len);
	f->vsize = msg_crlf_native(data, len) ? len : crlf;
	f->psize = pop3_size(data, len, crlf);
	size_t hlen = store_header_len(data, len);
	parse_fields(data, hlen, f);
	if (f->h[4] != NULL)
		f->date_sent = store_parse_date(f->h[4]);
	const struct mail_parser *p = store_parser();
	if (p != NULL && p->parse(p->ctx, data, len, &f->envelope, &f->bodystructure,
				  &f->body) < 0) {
		free(f->envelope);
		free(f->bodystructure);
		free(f->body);
		f->envelope = f->bodystructure = f->body = NULL;
	}
	return 0;
}

int store_parse_fd(int fd, struct msg_facts *f, const char **error_r)
{
	char *data;
	size_t len;
	if (fs_read_fd(fd, STORE_MSG_MAX, &data, &len, error_r) < 0)
		return -1;
	int r = store_parse_data(data, len, f);
	free(data);
	return r;
}

/* ---- RFC 5322 3.3 date-time (and the obsolete forms of 4.3) ---- */

static const char *skip_cfws(const char *p)
{
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p != '(')
			return p;
		int depth = 0;
		for (; *p != '\0'; p++) {
			depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
			if (depth == 0) {
				p++;
				break;
			}
		}
	}
}

static const char *number(const char *p, int maxdigits, int *v_r, int *digits_r)
{
	int v = 0, n = 0;
	while (n < maxdigits && isdigit((unsigned char)p[n])) {
		v = v * 10 + (p[n] - '0');
		n++;
	}
	*v_r = v;
	*digits_r = n;
	return p + n;
}

static int month_of(const char *p)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	for (int i = 0; i < 12; i++) {
		if (strncasecmp(p, months + i * 3, 3) == 0)
			return i;
	}
	return -1;
}

/* Zone offset in seconds east of UTC. */
static long zone_of(const char *p)
{
	static const struct {
		const char *name;
		int hours;
	} zones[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "EST", -5 }, { "EDT", -4 }, { "CST", -6 },
		{ "CDT", -5 }, { "MST", -7 }, { "MDT", -6 }, { "PST", -8 }, { "PDT", -7 },
	};
	if (*p == '+' || *p == '-') {
		int v, n;
		number(p + 1, 4, &v, &n);
		if (n != 4)
			return 0;
		long s = (v / 100) * 3600L + (v % 100) * 60L;
		return *p == '-' ? -s : s;
	}
	for (size_t i = 0; i < sizeof zones / sizeof zones[0]; i++) {
		size_t n = strlen(zones[i].name);
		if (strncasecmp(p, zones[i].name, n) == 0 && !isalpha((unsigned char)p[n]))
			return zones[i].hours * 3600L;
	}
	return 0;
}

time_t store_parse_date(const char *s)
{
	struct tm tm = { 0 };
	int v, n;
	const char *p = skip_cfws(s);
	if (isalpha((unsigned char)*p))       /* day-of-week */
		p = skip_cfws(p + strspn(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"));
	p = skip_cfws(number(p, 2, &tm.tm_mday, &n));
	if (n == 0 || (tm.tm_mon = month_of(p)) < 0)
		return 0;
	p = skip_cfws(number(skip_cfws(p + 3), 4, &v, &n));
	if (n < 2)
		return 0;
	tm.tm_year = (n == 4 ? v : v < 50 ? v + 2000 : v + 1900) - 1900;
	p = number(p, 2, &tm.tm_hour, &n);
	if (n == 0 || *p != ':')
		return 0;
	p = number(p + 1, 2, &tm.tm_min, &n);
	if (n == 0)
		return 0;
	if (*p == ':')
		p = number(p + 1, 2, &tm.tm_sec, &n);
	if (tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 ||
	    tm.tm_sec > 60)
		return 0;
	time_t t = timegm(&tm);
	if (t == (time_t)-1)
		return 0;
	return t - zone_of(skip_cfws(p));
}
