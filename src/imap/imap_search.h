#ifndef PB_IMAP_SEARCH_H
#define PB_IMAP_SEARCH_H
/* The search command family's shared parts: evaluating a parsed SEARCH
 * key tree over the selected folder's view (also for SORT and THREAD),
 * sequence sets to store ranges, and the untagged reports of EXPUNGE,
 * UID EXPUNGE and MOVE.
 *
 * Flag, size, date and header keys are answered from the index (struct
 * mail_msg's cached columns); only BODY and TEXT open message files, and
 * only for the messages every cheaper key of the same AND let through. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_private.h"

/* Called for each message of the view that matches, ascending by UID.
 * m is valid only during the call. Return 0 to go on, -1 to stop (the
 * search then fails with *error_r "out of memory"). */
typedef int imap_search_cb(void *ctx, const struct mail_msg *m);

/* A search runs in slices, as Dovecot's does (its search returns "try
 * again" after a while, and other clients are served in between): each
 * step evaluates keys over messages until about IMAP_SEARCH_SLICE_COST
 * key evaluations (keys x messages) are spent, then the command returns
 * "call me again" and the worker goes to whoever waits next. A search
 * whose keys x candidate messages exceed the session's search_cost_max is
 * refused before it starts with NO [LIMIT] (RFC 5530), so no client can
 * make the server work without end. */
#define IMAP_SEARCH_SLICE_COST 50000

struct imap_search_run;

/* Prepares search over the selected folder's view (search must outlive
 * the run). fields: extra MAIL_FETCH_* columns the callback wants in m.
 * *uses_modseq_r (may be NULL) tells whether a MODSEQ key was used (RFC
 * 7162 3.1.5). 0, or -1 when the tagged NO ([LIMIT] or [SERVERBUG]) has
 * been written. */
int imap_search_begin(struct imap_session *s, const struct imap_search *search,
		      unsigned fields, struct imap_search_run **run_r, bool *uses_modseq_r);
/* One slice: calls cb for each match, ascending by UID. 1 done, 0 more
 * to do (run again, on a later turn), -1 with *error_r. */
int imap_search_step(struct imap_search_run *r, imap_search_cb *cb, void *ctx,
		     const char **error_r);
void imap_search_end(struct imap_search_run **r);
/* imap_search_step for a command (SORT, THREAD): on -1 the failure is
 * logged and its tagged NO [SERVERBUG] written. Same results. */
int imap_search_cmd_step(struct imap_session *s, struct imap_search_run *r,
			 imap_search_cb *cb, void *ctx);

/* CHARSET of SEARCH, SORT, THREAD: true for UTF-8 and US-ASCII. When
 * false, the tagged NO [BADCHARSET (...)] has been written. */
bool imap_search_charset_ok(struct imap_session *s, struct str charset);

/* A sequence set as sorted, merged ranges: "*" is star (the highest
 * sequence number or UID in use; 0 in an empty folder, which makes "*"
 * match nothing). malloc'd; 0, or -1 out of memory. */
int imap_seqset_ranges(const struct imap_seqset *set, uint32_t star,
		       struct mail_range **ranges_r, size_t *n_r);
/* The UIDs a command's sequence set names in the view: for a UID command
 * the set as UIDs, else sequence numbers converted. A sequence number past
 * the view is an error (*bad_r true: answer BAD). 0, or -1. */
int imap_seqset_uids(struct imap_session *s, const struct imap_seqset *set, bool uid,
		     struct mail_range **uids_r, size_t *n_r, bool *bad_r);
/* The highest UID of the view, 0 when empty. */
uint32_t imap_view_max_uid(struct imap_session *s);

/* Appends v[0..n) as an IMAP sequence set, in the given order, with runs
 * of consecutive ascending numbers as "a:b". */
void imap_write_number_set(struct buf *out, const uint32_t *v, size_t n);


imap_cmd_fn imap_cmd_search, imap_cmd_sort, imap_cmd_thread, imap_cmd_copy, imap_cmd_move,
	imap_cmd_expunge;

#endif
