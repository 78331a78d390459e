/* The index of queued messages by due time (queue_sched.h): a binary heap
 * of (due, id) and an open-addressing hash of id -> heap position, so that
 * both "the earliest" and "this one" cost O(log n). */
#include "queue/queue_sched.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "queue/queue_private.h"
#include "queue/queue_store.h"

struct entry {
	int64_t due;
	uint32_t slot;                 /* its place in the hash */
	char id[QUEUE_ID_MAX + 1];
};

struct queue_index {
	struct entry *heap;
	size_t count, cap;
	uint32_t *slots;               /* heap position + 1; 0 = empty */
	size_t nslots;                 /* a power of two, at least twice count */
};

static uint32_t hash(const char *id)
{
	uint32_t h = 2166136261u;
	for (; *id != '\0'; id++)
		h = (h ^ (unsigned char)*id) * 16777619u;
	return h;
}

struct queue_index *queue_index_new(void)
{
	struct queue_index *idx = calloc(1, sizeof *idx);
	if (idx == NULL)
		return NULL;
	idx->nslots = 64;
	idx->slots = calloc(idx->nslots, sizeof *idx->slots);
	if (idx->slots == NULL) {
		free(idx);
		return NULL;
	}
	return idx;
}

void queue_index_free(struct queue_index **idx)
{
	if (*idx == NULL)
		return;
	free((*idx)->heap);
	free((*idx)->slots);
	free(*idx);
	*idx = NULL;
}

size_t queue_index_count(const struct queue_index *idx)
{
	return idx->count;
}

static size_t find_slot(const struct queue_index *idx, const char *id)
{
	size_t mask = idx->nslots - 1;
	for (size_t s = hash(id) & mask;; s = (s + 1) & mask) {
		if (idx->slots[s] == 0 || strcmp(idx->heap[idx->slots[s] - 1].id, id) == 0)
			return s;
	}
}

static int rehash(struct queue_index *idx, size_t nslots)
{
	uint32_t *slots = calloc(nslots, sizeof *slots);
	if (slots == NULL)
		return -1;
	free(idx->slots);
	idx->slots = slots;
	idx->nslots = nslots;
	for (size_t p = 0; p < idx->count; p++) {
		size_t s = find_slot(idx, idx->heap[p].id);
		idx->slots[s] = (uint32_t)(p + 1);
		idx->heap[p].slot = (uint32_t)s;
	}
	return 0;
}

static void place(struct queue_index *idx, size_t p)
{
	idx->slots[idx->heap[p].slot] = (uint32_t)(p + 1);
}

static void swap(struct queue_index *idx, size_t a, size_t b)
{
	struct entry t = idx->heap[a];
	idx->heap[a] = idx->heap[b];
	idx->heap[b] = t;
	place(idx, a);
	place(idx, b);
}

static void sift_up(struct queue_index *idx, size_t p)
{
	while (p > 0 && idx->heap[(p - 1) / 2].due > idx->heap[p].due) {
		swap(idx, p, (p - 1) / 2);
		p = (p - 1) / 2;
	}
}

static void sift_down(struct queue_index *idx, size_t p)
{
	for (;;) {
		size_t l = 2 * p + 1, m = p;
		if (l < idx->count && idx->heap[l].due < idx->heap[m].due)
			m = l;
		if (l + 1 < idx->count && idx->heap[l + 1].due < idx->heap[m].due)
			m = l + 1;
		if (m == p)
			return;
		swap(idx, p, m);
		p = m;
	}
}

bool queue_index_contains(const struct queue_index *idx, const char *id)
{
	return idx->slots[find_slot(idx, id)] != 0;
}

int queue_index_set(struct queue_index *idx, const char *id, int64_t due)
{
	if (!queue_id_ok(id)) {
		errno = EINVAL;
		return -1;
	}
	size_t s = find_slot(idx, id);
	if (idx->slots[s] != 0) {
		size_t p = idx->slots[s] - 1;
		idx->heap[p].due = due;
		sift_up(idx, p);
		sift_down(idx, idx->slots[s] - 1);
		return 0;
	}
	if (idx->count == idx->cap) {
		size_t cap = idx->cap ? 2 * idx->cap : 64;
		struct entry *h = cap < UINT32_MAX ? realloc(idx->heap, cap * sizeof *h) : NULL;
		if (h == NULL)
			return -1;
		idx->heap = h;
		idx->cap = cap;
	}
	if (2 * (idx->count + 1) > idx->nslots) {
		if (rehash(idx, 2 * idx->nslots) < 0)
			return -1;
		s = find_slot(idx, id);
	}
	size_t p = idx->count++;
	struct entry *e = &idx->heap[p];
	e->due = due;
	e->slot = (uint32_t)s;
	memcpy(e->id, id, strlen(id) + 1);
	place(idx, p);
	sift_up(idx, p);
	return 0;
}

/* Empties slot s, moving later members of its probe run back (linear
 * probing's deletion without tombstones). */
static void clear_slot(struct queue_index *idx, size_t s)
{
	size_t mask = idx->nslots - 1, i = s, j = s;
	idx->slots[i] = 0;
	for (;;) {
		j = (j + 1) & mask;
		if (idx->slots[j] == 0)
			return;
		size_t k = hash(idx->heap[idx->slots[j] - 1].id) & mask;
		/* Does home k lie cyclically in (i, j]? Then j stays. */
		bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
		if (stays)
			continue;
		idx->slots[i] = idx->slots[j];
		idx->heap[idx->slots[i] - 1].slot = (uint32_t)i;
		idx->slots[j] = 0;
		i = j;
	}
}

static void remove_at(struct queue_index *idx, size_t p)
{
	clear_slot(idx, idx->heap[p].slot);
	if (p != --idx->count) {
		idx->heap[p] = idx->heap[idx->count];
		size_t s = idx->heap[p].slot;
		place(idx, p);
		sift_up(idx, p);
		sift_down(idx, idx->slots[s] - 1);
	}
}

bool queue_index_remove(struct queue_index *idx, const char *id)
{
	size_t s = find_slot(idx, id);
	if (idx->slots[s] == 0)
		return false;
	remove_at(idx, idx->slots[s] - 1);
	return true;
}

int64_t queue_index_next_due(const struct queue_index *idx)
{
	return idx->count > 0 ? idx->heap[0].due : INT64_MAX;
}

bool queue_index_pop_due(struct queue_index *idx, int64_t now, char id_r[QUEUE_ID_MAX + 1])
{
	if (idx->count == 0 || idx->heap[0].due > now)
		return false;
	memcpy(id_r, idx->heap[0].id, strlen(idx->heap[0].id) + 1);
	remove_at(idx, 0);
	return true;
}

void queue_index_all_due(struct queue_index *idx, int64_t now)
{
	/* All equal: any order is a heap. */
	for (size_t p = 0; p < idx->count; p++) {
		if (idx->heap[p].due > now)
			idx->heap[p].due = now;
	}
	for (size_t p = idx->count / 2 + 1; p-- > 0;)
		sift_down(idx, p);
}

struct load_ctx {
	struct queue_index *idx;
	const char *data_dir;
	bool only_new;
	long added;
	int failed;
};

static void load_one(const char *id, void *arg)
{
	struct load_ctx *c = arg;
	struct queue_env env;
	const char *err;
	if (c->only_new && queue_index_contains(c->idx, id))
		return;
	if (queue_read_env(c->data_dir, id, &env, &err) < 0) {
		log_err("queue %s: cannot read its envelope: %s", id, err);
		return;
	}
	int64_t due = queue_env_due(&env);
	queue_env_clear(&env);
	if (due == INT64_MAX)
		return;
	if (queue_index_set(c->idx, id, due) < 0)
		c->failed = 1;
	else
		c->added++;
}

long queue_index_load(struct queue_index *idx, const char *data_dir)
{
	struct load_ctx c = { idx, data_dir, false, 0, 0 };
	if (queue_scan(data_dir, load_one, &c) < 0 || c.failed)
		return -1;
	return c.added;
}

long queue_index_flush(struct queue_index *idx, const char *data_dir, int64_t now)
{
	struct load_ctx c = { idx, data_dir, true, 0, 0 };
	long r = queue_scan(data_dir, load_one, &c);
	queue_index_all_due(idx, now);
	return r < 0 || c.failed ? -1 : (long)idx->count;
}
