#include "msg/arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Most messages need one block: a part costs about 300 bytes. */
#define BLOCK_MIN 4096

struct msg_arena_block {
	struct msg_arena_block *next;
	size_t size, pos;
	alignas(max_align_t) unsigned char data[];
};

void msg_arena_init(struct msg_arena *a, size_t max)
{
	a->head = NULL;
	a->used = 0;
	a->max = max;
}

void msg_arena_free(struct msg_arena *a)
{
	struct msg_arena_block *b = a->head;
	while (b != NULL) {
		struct msg_arena_block *next = b->next;
		free(b);
		b = next;
	}
	a->head = NULL;
	a->used = 0;
}

void *msg_arena_alloc(struct msg_arena *a, size_t n)
{
	const size_t align = alignof(max_align_t);
	if (n > SIZE_MAX / 2)
		return NULL;
	n = (n + align - 1) & ~(align - 1);
	if (n == 0)
		n = align;
	if (n > a->max || a->used > a->max - n)
		return NULL;
	struct msg_arena_block *b = a->head;
	if (b == NULL || b->size - b->pos < n) {
		/* Each new block doubles the last, so the count stays logarithmic. */
		size_t size = b == NULL ? BLOCK_MIN : b->size * 2;
		if (size < n)
			size = n;
		b = malloc(sizeof *b + size);
		if (b == NULL)
			return NULL;
		b->size = size;
		b->pos = 0;
		b->next = a->head;
		a->head = b;
	}
	void *p = b->data + b->pos;
	b->pos += n;
	a->used += n;
	memset(p, 0, n);
	return p;
}

int msg_arena_strdup(struct msg_arena *a, struct str s, struct str *r)
{
	if (s.p == NULL) {
		*r = (struct str){ NULL, 0 };
		return 0;
	}
	char *p = msg_arena_alloc(a, s.len + 1);
	if (p == NULL)
		return -1;
	memcpy(p, s.p, s.len);
	p[s.len] = '\0';
	*r = (struct str){ p, s.len };
	return 0;
}
