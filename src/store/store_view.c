/* The view of an open folder as ascending runs of consecutive UIDs:
 * Maildirs get UIDs in delivery order and lose few, so a 100,000-message
 * view is a handful of runs instead of 400 KB held by every idle session.
 * Sequence numbers come from each run's count of messages before it. */
#include "store/store_private.h"

#include <stdlib.h>

void store_view_clear(struct store_view *v)
{
	free(v->runs);
	*v = (struct store_view){ 0 };
}

static int view_grow(struct store_view *v)
{
	size_t c = v->cap < 4 ? 4 : v->cap * 2;
	struct store_run *r = realloc(v->runs, c * sizeof *r);
	if (r == NULL)
		return -1;
	v->runs = r;
	v->cap = c;
	return 0;
}

int store_view_push_run(struct store_view *v, uint32_t lo, uint32_t hi)
{
	struct store_run *last = v->nruns > 0 ? &v->runs[v->nruns - 1] : NULL;
	if (last != NULL && last->hi + 1 == lo) {
		last->hi = hi;
		v->count += hi - lo + 1;
		return 0;
	}
	if (v->nruns == v->cap && view_grow(v) < 0)
		return -1;
	v->runs[v->nruns++] = (struct store_run){ lo, hi, v->count };
	v->count += hi - lo + 1;
	return 0;
}

void store_view_shrink(struct store_view *v)
{
	if (v->nruns == v->cap)
		return;
	if (v->nruns == 0) {
		free(v->runs);
		v->runs = NULL;
		v->cap = 0;
		return;
	}
	struct store_run *r = realloc(v->runs, v->nruns * sizeof *r);
	if (r != NULL) {
		v->runs = r;
		v->cap = v->nruns;
	}
}

uint32_t store_view_uid(const struct store_view *v, uint32_t seq)
{
	if (seq < 1 || seq > v->count)
		return 0;
	/* The last run with before < seq. */
	size_t lo = 0, hi = v->nruns;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->runs[mid].before < seq)
			lo = mid;
		else
			hi = mid;
	}
	return v->runs[lo].lo + (seq - 1 - v->runs[lo].before);
}

uint32_t store_view_seq(const struct store_view *v, uint32_t uid)
{
	/* The first run with hi >= uid. */
	size_t lo = 0, hi = v->nruns;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v->runs[mid].hi < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == v->nruns || v->runs[lo].lo > uid)
		return 0;
	return v->runs[lo].before + (uid - v->runs[lo].lo) + 1;
}

/* Drops the ascending uids (n of them) from the view; -1 when out of
 * memory, the view unchanged. */
int store_view_remove(struct store_view *v, const uint32_t *uids, size_t n)
{
	if (n == 0 || v->nruns == 0)
		return 0;
	struct store_view nv = { 0 };
	size_t e = 0;
	for (size_t i = 0; i < v->nruns; i++) {
		uint32_t uid = v->runs[i].lo, hi = v->runs[i].hi;
		for (;;) {
			while (e < n && uids[e] < uid)
				e++;
			/* Keep [uid, stop] then skip the expunged uids[e]. */
			uint32_t stop = e < n && uids[e] <= hi ? uids[e] - 1 : hi;
			if (stop >= uid) {
				if (nv.nruns == nv.cap && view_grow(&nv) < 0) {
					free(nv.runs);
					return -1;
				}
				nv.runs[nv.nruns++] = (struct store_run){ uid, stop, nv.count };
				nv.count += stop - uid + 1;
			}
			if (stop == hi)
				break;
			uid = stop + 2;   /* past the expunged one */
			e++;
			if (uid > hi || uid < stop)
				break;
		}
	}
	free(v->runs);
	*v = nv;
	store_view_shrink(v);
	return 0;
}
