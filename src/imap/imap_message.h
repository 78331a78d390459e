#ifndef PB_IMAP_MESSAGE_H
#define PB_IMAP_MESSAGE_H
/* Shared by the message command family (imap_cmd_message.c, FETCH,
 * STORE, the body section writer and the store's MIME parser adapter). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_private.h"
#include "msg/mime.h"

/* ---- imap_msg_parser.c ---- */

/* The store's ENVELOPE / BODYSTRUCTURE / BODY computer (src/msg): give it
 * to mail_store_set_parser() once at start-up. The strings are written
 * for any client (8-bit text as literals), so one cache serves all. */
extern const struct mail_parser imap_msg_parser;

/* The same strings from a parsed message, each malloc'd (NULL where the
 * pointer passed is NULL). 0, or -1 (out of memory). */
int imap_msg_structure(const struct msg_mime *mime, char **envelope_r,
		       char **bodystructure_r, char **body_r);

/* ---- imap_cmd_message.c ---- */

/* A sequence set of the command (sequence numbers, or UIDs with
 * uid) as sorted, merged UID ranges of the view. "*" is the last
 * message. A sequence number past the view is an error (RFC 9051 9,
 * "seq-number"): then a tagged BAD has been written and -1 returned.
 * UIDs that do not exist are simply left out (*n_r may be 0). */
int imap_msg_uid_ranges(struct imap_session *s, const struct imap_seqset *set, bool uid,
			struct mail_range **uids_r, size_t *n_r);
/* Writes UID ranges as a sequence set: of UIDs, or (uid false) of the
 * sequence numbers they have in the view. */
void imap_msg_write_set(struct imap_session *s, struct buf *out,
			const struct mail_range *uids, size_t n, bool uid);
/* enum imap_system_flag bits as enum mail_flag bits. */
unsigned imap_msg_flags_to_store(unsigned imap_flags);
/* The client asked for MODSEQ: CONDSTORE is on from now (RFC 7162 3.1). */
void imap_msg_condstore_on(struct imap_session *s);

/* ---- imap_fetch_body.c ---- */

/* One message's file, read and parsed at most once per FETCH response. */
struct imap_msg_file {
	uint32_t uid;
	char *data;
	size_t len;
	struct msg_mime *mime;
	bool gone;             /* expunged meanwhile */
};

void imap_msg_file_clear(struct imap_msg_file *mf);
/* Loads uid's file (and its MIME tree) unless already loaded. 0, or -1
 * with *error_r (mf->gone set when the message no longer exists). */
int imap_msg_file_load(struct mail_folder *f, uint32_t uid, struct imap_msg_file *mf,
		       const char **error_r);

enum imap_section_result {
	IMAP_SECTION_STREAM = 1,         /* the literal streams: imap_fetch_stream */
	IMAP_SECTION_OK = 0,
	IMAP_SECTION_FAIL = -1,          /* server trouble, message gone */
	IMAP_SECTION_UNKNOWN_CTE = -2,   /* BINARY of an unknown encoding */
};

/* Appends " BODY[...]<o> {n}\r\n..." (or BINARY, BINARY.SIZE) for one
 * section of message m. header_raw, when not NULL, is the cached header
 * section (saves reading the file for header-only sections). */
int imap_fetch_write_section(struct imap_session *s, struct buf *out,
			     const struct imap_fetch_section *sec, const struct mail_msg *m,
			     struct imap_msg_file *mf, const char **error_r);
/* RFC822, RFC822.HEADER, RFC822.TEXT (IMAP4rev1), items as the bits of
 * enum imap_fetch_item. */
int imap_fetch_write_rfc822(struct imap_session *s, struct buf *out, unsigned item,
			    const struct mail_msg *m, struct imap_msg_file *mf,
			    const char **error_r);

/* ---- imap_fetch_stream.c ---- */

/* A whole message (BODY[], BINARY[], RFC822) sent from its file in parts
 * as the client drains its output, instead of being read whole: only
 * messages of at least IMAP_STREAM_MIN octets, the rest go the simple
 * way. */
#define IMAP_STREAM_MIN (256 * 1024)

struct imap_msg_stream {
	int fd;                /* -1 when none */
	bool native;           /* CRLF in the file: sent as stored */
	bool binary;           /* BINARY[]: NUL goes out as NUL, in a ~{n} */
	bool prev_cr;          /* the last octet read was a CR */
	uint64_t in_off;       /* next octet of the file to read */
	uint64_t out_left;     /* octets of the literal still to write */
};

void imap_msg_stream_init(struct imap_msg_stream *st);
void imap_msg_stream_close(struct imap_msg_stream *st);
/* For a whole-message BODY or BINARY section (sec; NULL: RFC822)
 * of a big message, when nothing else of the response needed the file:
 * opens it, counts the literal's octets (bare LFs go out as CRLF), writes
 * "NAME {n}\r\n" and returns IMAP_SECTION_STREAM; the literal's octets
 * then come from imap_msg_stream_more(). IMAP_SECTION_OK when the item is
 * to be written the simple way (nothing written). */
int imap_msg_stream_start(struct imap_session *s, struct buf *out,
			  const struct imap_fetch_section *sec, const struct mail_msg *m,
			  const struct imap_msg_file *mf, struct imap_msg_stream *st);
/* Appends about max more octets of the literal. 1 when it is complete,
 * 0 when more follow, -1 on a read error (the literal cannot be ended
 * honestly: the caller drops the connection). */
int imap_msg_stream_more(struct imap_msg_stream *st, struct buf *out, size_t max,
			 const char **error_r);

#endif
