#ifndef PB_MSG_MIME_H
#define PB_MSG_MIME_H
/* MIME (RFC 2045, 2046, 2231) parsing of a whole message in memory into a
 * part tree: what IMAP BODY[STRUCTURE], BODY[section] and BINARY need and
 * what the client's reader shows.
 *
 * The input has LF or CRLF line ends. Sizes come twice: as stored, and as
 * if every bare LF were CRLF, which is what IMAP reports (RFC 9051 2.3.4)
 * for a Maildir file with LF line ends. Line counts count LFs.
 *
 * The tree is an IMAP tree: the root is the message; a multipart has its
 * parts as children; a message/rfc822 (or message/global) part has one
 * child, the encapsulated message, whose header and body are that part's
 * body. Parsing never fails on content: a missing close delimiter ends at
 * the end of the enclosing body, a multipart without boundary is a leaf,
 * parts deeper than MSG_MIME_MAX_DEPTH are leaves, and past
 * MSG_MIME_MAX_PARTS parts no more are made.
 *
 * Everything lives in one arena freed by msg_mime_free. Strings point into
 * the caller's message or into the arena: the message must stay in place
 * and unchanged until msg_mime_free. */

#include <stdbool.h>
#include <stddef.h>

#include "lib/buf.h"
#include "msg/arena.h"
#include "msg/transfer.h"

#define MSG_MIME_MAX_DEPTH 50
#define MSG_MIME_MAX_PARTS 10000
#define MSG_MIME_MAX_PARAMS 256

/* A Content-Type or Content-Disposition parameter. RFC 2231 continuations
 * are joined: "name*0*", "name*1" become one "name*" whose value keeps the
 * extended form "charset'language'percent%20encoded"; plain ones stay as
 * "name" "value". msg_param_decode gives the UTF-8 text. */
struct msg_param {
	struct str name;
	struct str value;
};

/* Envelope fields of a message node (RFC 9051 7.5.2 order), raw values. */
enum msg_env_field {
	MSG_ENV_DATE, MSG_ENV_SUBJECT, MSG_ENV_FROM, MSG_ENV_SENDER, MSG_ENV_REPLY_TO,
	MSG_ENV_TO, MSG_ENV_CC, MSG_ENV_BCC, MSG_ENV_IN_REPLY_TO, MSG_ENV_MESSAGE_ID,
	MSG_ENV_COUNT
};

struct msg_size {
	size_t octets;        /* as stored */
	size_t crlf_octets;   /* as IMAP sends it: every bare LF counted as CRLF,
			       * unless the message is msg_crlf_native() */
	size_t lines;         /* LFs */
};

struct msg_part {
	struct msg_part *parent, *children, *next;
	unsigned child_count;
	unsigned depth;              /* root 0 */

	size_t header_offset;        /* in the whole message */
	struct msg_size header;      /* header section, blank line included */
	size_t body_offset;
	struct msg_size body;

	/* Content-Type, always set: the default (RFC 2045 5.2, RFC 2046 5.1.5
	 * in a digest) when the header is absent or unusable. */
	struct str type, subtype;
	bool type_explicit;          /* a usable Content-Type was present */
	struct msg_param *params;
	unsigned param_count;

	struct str encoding;         /* Content-Transfer-Encoding token, or absent */
	enum msg_cte cte;
	struct str id, description, md5, location;   /* p == NULL: absent */
	struct str disposition;
	struct msg_param *disp_params;
	unsigned disp_param_count;
	struct str *languages;
	unsigned language_count;

	bool is_multipart;           /* has a boundary and was split */
	bool is_message_rfc822;      /* message/rfc822|global with its child parsed */
	/* Message nodes only (the root and each encapsulated message):
	 * raw, folded values of the envelope fields; NULL elsewhere. */
	struct str *envelope;
};

struct msg_mime {
	struct msg_arena arena;
	const char *msg;
	size_t len;
	struct msg_part *root;
	unsigned part_count;
	bool crlf_native;            /* msg_crlf_native(): sent as stored */
};

/* Parses msg[0..len). 0 with *mime_r set, or -1 (out of memory) with
 * *error_r set. */
int msg_mime_parse(const char *msg, size_t len, struct msg_mime **mime_r,
		   const char **error_r);
void msg_mime_free(struct msg_mime **mime);

/* The first parameter named name (case-insensitive), preferring the RFC
 * 2231 "name*" form when both exist; NULL if none. */
const struct msg_param *msg_param_find(const struct msg_param *params, unsigned count,
				       const char *name);
/* Appends the parameter's value as UTF-8: an RFC 2231 value is
 * percent-decoded and converted from its charset; a plain value has its
 * RFC 2047 encoded words decoded (broken but common in filenames).
 * 0 or -1 (out full). */
int msg_param_decode(const struct msg_param *param, struct buf *out);

/* IMAP section specifiers (RFC 9051 6.4.5). */
enum msg_section_kind {
	MSG_SECTION_PART,        /* "" (whole message) or "1.2": the part's body */
	MSG_SECTION_HEADER,      /* [path.]HEADER */
	MSG_SECTION_HEADER_FIELDS,       /* [path.]HEADER.FIELDS (...) */
	MSG_SECTION_HEADER_FIELDS_NOT,   /* [path.]HEADER.FIELDS.NOT (...) */
	MSG_SECTION_TEXT,        /* [path.]TEXT */
	MSG_SECTION_MIME,        /* path.MIME */
};

struct msg_section {
	enum msg_section_kind kind;
	const struct msg_part *part;   /* the part (PART, MIME) or message node */
	size_t offset;                 /* the octets the section denotes */
	struct msg_size size;          /* for HEADER.FIELDS: the whole header */
	struct str fields;             /* HEADER.FIELDS: the rest, e.g. "(FROM TO)" */
};

/* Looks up a section such as "", "1", "1.2.HEADER", "3.MIME", "TEXT",
 * "HEADER.FIELDS (From)". 0, or -1 with *error_r set when it does not
 * exist or is malformed. A non-multipart message has part "1" (its body). */
int msg_mime_section(const struct msg_mime *mime, struct str section,
		     struct msg_section *r, const char **error_r);

/* The node whose header an IMAP path like "2.1" names, with the same rules;
 * NULL if none. An empty path is the root. */
const struct msg_part *msg_mime_find_part(const struct msg_mime *mime, struct str path);

#endif
