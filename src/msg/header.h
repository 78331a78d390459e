#ifndef PB_MSG_HEADER_H
#define PB_MSG_HEADER_H
/* RFC 5322 2.2 header section: fields, folding, the blank line that ends it.
 *
 * Input is bytes in memory with LF or CRLF line ends (Maildir files have LF,
 * SMTP gives CRLF). Nothing here allocates except msg_header_unfold, which
 * appends to a caller's buf. Garbage is tolerated: a line without a colon,
 * or whose name holds white space or control octets (an mbox "From " line),
 * is skipped as a field but stays inside the header section; a header
 * without a blank line ends at the end of the input. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"

/* Fields past this many are skipped (still scanned for the section end). */
#define MSG_HEADER_MAX_FIELDS 10000

struct msg_header_field {
	struct str name;    /* without the colon and trailing white space */
	struct str value;   /* after the colon up to the last line end, folding kept */
	size_t offset;      /* of the field's first octet in the input */
	size_t size;        /* whole field including its final line end */
};

struct msg_header_iter {
	const char *msg;
	size_t len;
	size_t pos;          /* start of the next unread line */
	unsigned fields;     /* fields returned so far */
	unsigned long lines; /* LFs in the section read so far */
	unsigned long bare_lf; /* of which not preceded by CR */
	bool done;
	/* Set once done: the section's length including the blank line,
	 * which is also the offset of the body. */
	size_t header_size;
};

void msg_header_iter_init(struct msg_header_iter *it, const char *msg, size_t len);
/* 1 with *field_r set (pointing into the input), or 0 at the end of the
 * header section; then it->header_size, lines and bare_lf are final. */
int msg_header_next(struct msg_header_iter *it, struct msg_header_field *field_r);
/* Reads to the end of the section; returns header_size (= body offset). */
size_t msg_header_finish(struct msg_header_iter *it);

/* The first field named name (case-insensitive). true with *value_r set to
 * its raw value, or false. */
bool msg_header_find(const char *msg, size_t len, const char *name, struct str *value_r);

/* Unfolds a raw value (RFC 5322 2.2.3): removes CR and LF and trims white
 * space at both ends. Writes at most value.len octets to dst and returns
 * how many. */
size_t msg_header_unfold_to(char *dst, struct str value);
/* Appends the unfolded value to out. 0 or -1 (out full). */
int msg_header_unfold(struct str value, struct buf *out);

/* BODY[HEADER.FIELDS (names)] and HEADER.FIELDS.NOT (RFC 9051 6.4.5):
 * appends the whole fields (folding and line ends as in the input) of the
 * header section header[0..len) whose names are (exclude false) or are not
 * (exclude true) among names[0..n) (case-insensitive), then the blank line
 * "\r\n". 0 or -1 (out full). */
int msg_header_filter(const char *header, size_t len, const struct str *names, size_t n,
		      bool exclude, struct buf *out);

/* value without leading and trailing SP / HTAB / CR / LF. */
struct str msg_str_trim(struct str value);

#endif
