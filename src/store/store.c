/* The generic face of the mail store: each call goes through the
 * implementation's vtable, so the servers never know which store they use. */
#include "store/store.h"

#include <errno.h>
#include <stdlib.h>

void mail_changes_clear(struct mail_changes *ch)
{
	free(ch->expunged_seqs);
	free(ch->expunged_uids);
	free(ch->changed_uids);
	*ch = (struct mail_changes){ 0 };
}

void mail_copy_result_clear(struct mail_copy_result *r)
{
	free(r->src_uids);
	free(r->dst_uids);
	*r = (struct mail_copy_result){ 0 };
}

void mail_folder_info_free(struct mail_folder_info **list, size_t count)
{
	if (*list == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		free((*list)[i].name);
	free(*list);
	*list = NULL;
}

static int range_cmp(const void *a, const void *b)
{
	const struct mail_range *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

size_t mail_ranges_normalize(struct mail_range *r, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (r[i].lo > r[i].hi) {
			uint32_t t = r[i].lo;
			r[i].lo = r[i].hi;
			r[i].hi = t;
		}
	}
	qsort(r, n, sizeof *r, range_cmp);
	size_t o = 0;
	for (size_t i = 1; i < n; i++) {
		if (r[o].hi == UINT32_MAX || r[i].lo <= r[o].hi + 1) {
			if (r[i].hi > r[o].hi)
				r[o].hi = r[i].hi;
		} else {
			r[++o] = r[i];
		}
	}
	return o + 1;
}

int mail_ranges_from_ids(const uint32_t *uids, size_t n, struct mail_range **r_r,
			 size_t *n_r)
{
	*r_r = NULL;
	*n_r = 0;
	if (n == 0)
		return 0;
	struct mail_range *r = malloc(n * sizeof *r);
	if (r == NULL)
		return -1;
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		if (o > 0 && r[o - 1].hi + 1 == uids[i])
			r[o - 1].hi = uids[i];
		else
			r[o++] = (struct mail_range){ uids[i], uids[i] };
	}
	*r_r = r;
	*n_r = o;
	return 0;
}

void mail_store_trim(struct mail_store *s)
{
	if (s != NULL)
		s->v->trim(s);
}

void mail_store_sleep(struct mail_store *s)
{
	if (s == NULL)
		return;
	if (s->v->sleep != NULL)
		s->v->sleep(s);
	else
		s->v->trim(s);
}

void mail_store_free(struct mail_store **s)
{
	if (*s == NULL)
		return;
	(*s)->v->free(*s);
	*s = NULL;
}

int mail_store_ensure_defaults(struct mail_store *s, const char **error_r)
{
	return s->v->ensure_defaults(s, error_r);
}

int mail_store_list(struct mail_store *s, struct mail_folder_info **list_r,
		    size_t *count_r, const char **error_r)
{
	return s->v->list(s, list_r, count_r, error_r);
}

int mail_store_create(struct mail_store *s, const char *name, const char **error_r)
{
	return s->v->create(s, name, error_r);
}

int mail_store_delete(struct mail_store *s, const char *name, const char **error_r)
{
	return s->v->remove(s, name, error_r);
}

int mail_store_rename(struct mail_store *s, const char *from, const char *to,
		      const char **error_r)
{
	return s->v->rename(s, from, to, error_r);
}

int mail_store_subscribe(struct mail_store *s, const char *name, bool on,
			 const char **error_r)
{
	return s->v->subscribe(s, name, on, error_r);
}

int mail_store_status(struct mail_store *s, const char *name, struct mail_status *st_r,
		      const char **error_r)
{
	return s->v->status(s, name, st_r, error_r);
}

int mail_store_append(struct mail_store *s, const char *name, const struct iovec *iov,
		      int iovcnt, unsigned flags, const char *keywords, time_t internal_date,
		      uint32_t *uidvalidity_r, uint32_t *uid_r, const char **error_r)
{
	return s->v->append(s, name, iov, iovcnt, flags, keywords, internal_date,
			    uidvalidity_r, uid_r, error_r);
}

int mail_folder_open(struct mail_store *s, const char *name, unsigned open_flags,
		     struct mail_folder **f_r, const char **error_r)
{
	return s->v->folder_open(s, name, open_flags, f_r, error_r);
}

void mail_folder_close(struct mail_folder **f)
{
	if (*f == NULL)
		return;
	(*f)->store->v->folder_close(*f);
	*f = NULL;
}

int mail_folder_keywords(struct mail_folder *f, char **keywords_r, const char **error_r)
{
	return f->store->v->folder_keywords(f, keywords_r, error_r);
}

int mail_folder_claim_recent(struct mail_folder *f, uint32_t *lo_r, uint32_t *hi_r,
			     const char **error_r)
{
	return f->store->v->folder_claim_recent(f, lo_r, hi_r, error_r);
}

int mail_folder_status(struct mail_folder *f, struct mail_status *st_r,
		       const char **error_r)
{
	return f->store->v->folder_status(f, st_r, error_r);
}

int mail_folder_sync(struct mail_folder *f, const char **error_r)
{
	return f->store->v->folder_sync(f, error_r);
}

int mail_folder_poll(struct mail_folder *f, bool *changed_r, const char **error_r)
{
	return f->store->v->folder_poll(f, changed_r, error_r);
}

int mail_folder_changes(struct mail_folder *f, uint64_t since_modseq,
			struct mail_changes *ch_r, const char **error_r)
{
	return f->store->v->folder_changes(f, since_modseq, ch_r, error_r);
}

uint32_t mail_folder_count(struct mail_folder *f)
{
	return f->store->v->folder_count(f);
}

uint32_t mail_folder_seq_to_uid(struct mail_folder *f, uint32_t seq)
{
	return f->store->v->seq_to_uid(f, seq);
}

uint32_t mail_folder_uid_to_seq(struct mail_folder *f, uint32_t uid)
{
	return f->store->v->uid_to_seq(f, uid);
}

int mail_folder_seqs_to_uids(struct mail_folder *f, const struct mail_range *seqs,
			     size_t n, struct mail_range **uids_r, size_t *n_r)
{
	uint32_t count = mail_folder_count(f);
	struct mail_range *out = calloc(n > 0 ? n : 1, sizeof *out);
	size_t o = 0;
	if (out == NULL)
		return -1;
	/* The view is ascending in both numbers, so a sequence range maps to
	 * one UID range. */
	for (size_t i = 0; i < n; i++) {
		uint32_t lo = seqs[i].lo, hi = seqs[i].hi > count ? count : seqs[i].hi;
		if (lo == 0)
			lo = 1;
		if (lo > hi)
			continue;
		out[o].lo = mail_folder_seq_to_uid(f, lo);
		out[o].hi = mail_folder_seq_to_uid(f, hi);
		o++;
	}
	*uids_r = out;
	*n_r = o;
	return 0;
}

int mail_folder_iter_init(struct mail_folder *f, const struct mail_range *uids, size_t n,
			  unsigned fields, struct mail_iter **it_r, const char **error_r)
{
	return f->store->v->iter_init(f, uids, n, fields, it_r, error_r);
}

int mail_folder_iter_next(struct mail_iter *it, const struct mail_msg **msg_r,
			  const char **error_r)
{
	return it->folder->store->v->iter_next(it, msg_r, error_r);
}

void mail_folder_iter_deinit(struct mail_iter **it)
{
	if (*it == NULL)
		return;
	(*it)->folder->store->v->iter_deinit(*it);
	*it = NULL;
}

int mail_folder_msg_open(struct mail_folder *f, uint32_t uid, int *fd_r,
			 uint64_t *size_r, const char **error_r)
{
	return f->store->v->msg_open(f, uid, fd_r, size_r, error_r);
}

int mail_folder_store_flags(struct mail_folder *f, const struct mail_range *uids,
			    size_t n, enum mail_flag_op op, unsigned flags,
			    const char *keywords, uint64_t unchanged_since,
			    struct mail_range **failed_r, size_t *failed_count_r,
			    const char **error_r)
{
	return f->store->v->store_flags(f, uids, n, op, flags, keywords, unchanged_since,
					failed_r, failed_count_r, error_r);
}

int mail_folder_expunge(struct mail_folder *f, const struct mail_range *uids, size_t n,
			bool any, const char **error_r)
{
	return f->store->v->expunge(f, uids, n, any, error_r);
}

int mail_copy_begin(struct mail_folder *f, const char *dest, struct mail_copy **c_r,
		    const char **error_r)
{
	return f->store->v->copy_begin(f, dest, c_r, error_r);
}

int mail_copy_prepare(struct mail_copy *c, const struct mail_range *uids, size_t n,
		      const char **error_r)
{
	return c->folder->store->v->copy_prepare(c, uids, n, error_r);
}

int mail_copy_commit(struct mail_copy *c, struct mail_copy_result *r, const char **error_r)
{
	return c->folder->store->v->copy_commit(c, r, error_r);
}

void mail_copy_free(struct mail_copy **c)
{
	if (*c == NULL)
		return;
	(*c)->folder->store->v->copy_free(*c);
	*c = NULL;
}

int mail_pop3_open(struct mail_store *s, struct mail_pop3 **p_r, bool *in_use_r,
		   const char **error_r)
{
	return s->v->pop3_open(s, p_r, in_use_r, error_r);
}

int mail_pop3_read(struct mail_pop3 *p, size_t index, char **data_r, size_t *len_r,
		   const char **error_r)
{
	if (index >= p->count) {
		*error_r = "no such message";
		errno = EINVAL;
		return -1;
	}
	return p->store->v->pop3_read(p, index, data_r, len_r, error_r);
}

int mail_pop3_open_msg(struct mail_pop3 *p, size_t index, int *fd_r, uint64_t *size_r,
		       const char **error_r)
{
	if (index >= p->count) {
		*error_r = "no such message";
		errno = EINVAL;
		return -1;
	}
	return p->store->v->pop3_open_msg(p, index, fd_r, size_r, error_r);
}

int mail_pop3_commit(struct mail_pop3 *p, const size_t *indexes, size_t n,
		     const char **error_r)
{
	return p->store->v->pop3_commit(p, indexes, n, error_r);
}

void mail_pop3_close(struct mail_pop3 **p)
{
	if (*p == NULL)
		return;
	(*p)->store->v->pop3_close(*p);
	*p = NULL;
}

int mail_folder_watch_paths(struct mail_folder *f, struct mail_watch_paths *r)
{
	if (f->store->v->folder_watch_paths == NULL)
		return -1;
	return f->store->v->folder_watch_paths(f, r);
}

int mail_folder_expunged_since(struct mail_folder *f, uint64_t since_modseq,
			       const struct mail_range *within, size_t n,
			       struct mail_range **uids_r, size_t *n_r, const char **error_r)
{
	return f->store->v->folder_expunged_since(f, since_modseq, within, n, uids_r, n_r,
						  error_r);
}
