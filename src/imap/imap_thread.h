#ifndef PB_IMAP_THREAD_H
#define PB_IMAP_THREAD_H
/* RFC 5256 base subjects and the THREAD algorithms, shared by SORT and
 * THREAD (imap_cmd_sort.c, imap_thread.c). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* One selected message with what SORT and THREAD compare. Strings are
 * malloc'd (NULL when not asked for); imap_thread_msgs_free frees them. */
struct imap_thread_msg {
	uint32_t uid, seq;
	uint64_t size;
	uint64_t modseq;
	time_t arrival;          /* internal date */
	time_t date;             /* sent date, UTC; internal date when unknown */
	char *from, *to, *cc;    /* sort keys */
	char *subject;           /* base subject */
	bool reply;              /* the subject had Re:/Fwd: (THREAD) */
	char *msgid;             /* "<...>" or NULL */
	char *refs;              /* References, else In-Reply-To; raw */
};

void imap_thread_msgs_free(struct imap_thread_msg *msgs, size_t n);

/* The base subject of RFC 5256 2.1 of a raw (RFC 2047-encoded, maybe
 * NULL) Subject: decoded, white space collapsed, ASCII letters in upper
 * case (i;ascii-casemap, RFC 4790 9.2), without
 * Re:/Fw:/Fwd:, [blob] and (fwd) decorations. *reply_r (may be NULL) says
 * whether any was removed. malloc'd; NULL when out of memory. */
char *imap_base_subject(const char *raw, bool *reply_r);

#endif
