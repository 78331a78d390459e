/* Commands over many messages run a slice at a time, each slice its own
 * worker job (the handler returns 0 and is run again after other
 * sessions' work), so that one session's STORE, COPY, MOVE or EXPUNGE of
 * 1:* on a big folder holds a worker for one slice at a time (issue 7).
 * The cursor is a UID, so a slice finds its messages again however the
 * view changed in between. */
#include "imap/imap_private.h"

#include <stdlib.h>

int imap_slicer_init(struct imap_slicer *sl, struct mail_range *uids, size_t n)
{
	*sl = (struct imap_slicer){ .uids = uids, .n = n, .next_uid = 1 };
	sl->clip = malloc((n > 0 ? n : 1) * sizeof *sl->clip);
	if (sl->clip != NULL)
		return 0;
	free(uids);
	sl->uids = NULL;
	return -1;
}

void imap_slicer_fini(struct imap_slicer *sl)
{
	free(sl->uids);
	free(sl->clip);
	*sl = (struct imap_slicer){ 0 };
}

/* The asked-for ranges from the cursor on, into clip; their count. */
static size_t clip_from_cursor(struct imap_slicer *sl)
{
	size_t k = 0;
	for (size_t i = 0; i < sl->n; i++) {
		if (sl->uids[i].hi < sl->next_uid)
			continue;
		sl->clip[k] = sl->uids[i];
		if (sl->clip[k].lo < sl->next_uid)
			sl->clip[k].lo = sl->next_uid;
		k++;
	}
	return k;
}

int imap_slicer_next(struct imap_session *s, struct imap_slicer *sl, size_t *n_r,
		     bool *more_r, uint64_t *max_modseq_r, const char **error_r)
{
	size_t k = clip_from_cursor(sl);
	*n_r = 0;
	*more_r = false;
	*max_modseq_r = 0;
	if (k == 0)
		return 0;
	struct mail_iter *it;
	const struct mail_msg *m;
	size_t seen = 0;
	uint32_t last = 0;
	int r;
	/* UIDs and modseqs only: a slice's files are read by its own work,
	 * when it needs them, not all of them by the first slice. */
	if (mail_folder_iter_init(s->folder, sl->clip, k, MAIL_FETCH_NO_READ, &it,
				  error_r) < 0)
		return -1;
	while ((r = mail_folder_iter_next(it, &m, error_r)) == 1) {
		if (seen == s->set.slice_messages) {
			*more_r = true;
			break;
		}
		last = m->uid;
		if (m->modseq > *max_modseq_r)
			*max_modseq_r = m->modseq;
		seen++;
	}
	mail_folder_iter_deinit(&it);
	if (r < 0)
		return -1;
	if (seen == 0)
		return 0;
	while (k > 0 && sl->clip[k - 1].lo > last)
		k--;
	sl->clip[k - 1].hi = last;
	sl->next_uid = last + 1;
	*n_r = k;
	return 0;
}
