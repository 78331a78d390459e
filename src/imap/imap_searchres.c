/* The saved search result "$" (RFC 5182, part of IMAP4rev2: RFC 9051
 * 6.4.4.1). Kept as UID ranges, so messages expunged afterwards simply
 * drop out and a later command sees sequence numbers of the current
 * view. SELECT, EXAMINE, CLOSE and UNSELECT empty it (RFC 5182 2.1). */
#include "imap/imap_private.h"

#include <stdlib.h>

void imap_saved_clear(struct imap_session *s)
{
	free(s->saved);
	s->saved = NULL;
	s->nsaved = 0;
}

int imap_saved_set(struct imap_session *s, const uint32_t *ids, size_t n, bool uid)
{
	imap_saved_clear(s);
	if (n == 0)
		return 0;
	uint32_t *uids = malloc(n * sizeof *uids);
	if (uids == NULL)
		return -1;
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint32_t u = uid ? ids[i] : mail_folder_seq_to_uid(s->folder, ids[i]);
		if (u != 0)
			uids[k++] = u;
	}
	int r = mail_ranges_from_ids(uids, k, &s->saved, &s->nsaved);
	free(uids);
	return r;
}

int imap_saved_uids(struct imap_session *s, struct mail_range **uids_r, size_t *n_r)
{
	*n_r = 0;
	*uids_r = malloc((s->nsaved > 0 ? s->nsaved : 1) * sizeof **uids_r);
	if (*uids_r == NULL)
		return -1;
	/* Only the messages still in the view; a run may split around the
	 * ones expunged since. */
	size_t cap = s->nsaved > 0 ? s->nsaved : 1, n = 0;
	for (size_t i = 0; i < s->nsaved; i++) {
		for (uint64_t u = s->saved[i].lo; u <= s->saved[i].hi; u++) {
			if (mail_folder_uid_to_seq(s->folder, (uint32_t)u) == 0)
				continue;
			if (n > 0 && (*uids_r)[n - 1].hi + 1 == u) {
				(*uids_r)[n - 1].hi = (uint32_t)u;
				continue;
			}
			if (n == cap) {
				struct mail_range *g = realloc(*uids_r, cap * 2 * sizeof *g);
				if (g == NULL) {
					free(*uids_r);
					*uids_r = NULL;
					return -1;
				}
				*uids_r = g;
				cap *= 2;
			}
			(*uids_r)[n++] = (struct mail_range){ (uint32_t)u, (uint32_t)u };
		}
	}
	*n_r = n;
	return 0;
}
