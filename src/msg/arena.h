#ifndef PB_MSG_ARENA_H
#define PB_MSG_ARENA_H
/* A bump allocator for one parsed message: the MIME part tree, its strings
 * and parameters all live here and go in one msg_arena_free(). Blocks are
 * never moved, so pointers into the arena stay valid until it is freed.
 * The total is capped: a hostile message cannot make the parse allocate
 * more than max bytes. */

#include <stddef.h>

#include "lib/buf.h"

struct msg_arena_block;

struct msg_arena {
	struct msg_arena_block *head;
	size_t used;   /* bytes handed out, all blocks */
	size_t max;    /* cap on used */
};

void msg_arena_init(struct msg_arena *a, size_t max);
/* Frees every block; the arena can be reused after msg_arena_init. */
void msg_arena_free(struct msg_arena *a);
/* Zeroed, max_align_t-aligned memory, or NULL (out of memory or past max). */
void *msg_arena_alloc(struct msg_arena *a, size_t n);
/* A copy of s (NUL-terminated, s.p == NULL stays NULL); 0 or -1. */
int msg_arena_strdup(struct msg_arena *a, struct str s, struct str *r);

#endif
