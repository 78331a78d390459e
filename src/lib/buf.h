#ifndef PB_LIB_BUF_H
#define PB_LIB_BUF_H
/* The one buffer type: owned bytes with an explicit length and a required
 * maximum size. Always NUL-terminated (data[len] == 0) so it can be handed
 * to C APIs, but the length is what counts: contents may hold NUL bytes.
 * Growing past max fails with -1 instead of allocating: callers turn that
 * into a protocol reply, never a crash. */

#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <string.h>

struct buf {
	char *data;   /* NULL until the first append */
	size_t len;
	size_t cap;   /* allocated, excluding the NUL */
	size_t max;   /* hard limit on len */
};

/* A borrowed view of bytes; never owns. */
struct str {
	const char *p;
	size_t len;
};

#define STR_LIT(s) ((struct str){ (s), sizeof(s) - 1 })
#define STR_FMT(s) (int)(s).len, (s).p   /* for "%.*s" */

void buf_init(struct buf *b, size_t max);
/* Frees the storage; the buffer can be reused after buf_init. */
void buf_free(struct buf *b);
/* Empties the buffer but keeps the storage. */
void buf_reset(struct buf *b);
/* Frees the storage of an empty buffer that holds more than keep bytes of
 * it, so a long-lived buffer gives back what one big reply made it take. */
void buf_shrink(struct buf *b, size_t keep);

/* Each returns 0, or -1 when the result would exceed max or memory ran out
 * (errno ENOBUFS or ENOMEM); on -1 the buffer is unchanged. */
int buf_reserve(struct buf *b, size_t extra);
static inline int buf_append(struct buf *b, const void *p, size_t n);
static inline int buf_append_str(struct buf *b, const char *s);
static inline int buf_append_char(struct buf *b, char c);
/* buf_append when the bytes do not fit in the storage there is. */
int buf_append_grow(struct buf *b, const void *p, size_t n);
/* v in decimal: what "%llu" gives, without printf's cost (hot reply
 * paths such as FETCH write several numbers per message). */
int buf_append_u64(struct buf *b, unsigned long long v);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Removes the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);
/* Shortens to n bytes (n <= len). */
void buf_truncate(struct buf *b, size_t n);
/* Takes ownership of the storage away from the buffer: the caller frees
 * the returned pointer; the buffer is left empty. Never NULL on success. */
char *buf_steal(struct buf *b, size_t *len_r);

/* Gives an empty buffer storage that buf_steal took from a buffer of the
 * same max, cap bytes of it (the buffer's cap then, NUL excluded), so big
 * storage can be used again instead of freed. 0, or -1 when b is not
 * empty or cap is over b->max (b and data are then left as they were). */
int buf_adopt(struct buf *b, char *data, size_t cap);

static inline struct str buf_str(const struct buf *b)
{
	return (struct str){ b->data ? b->data : "", b->len };
}

static inline struct str str_from(const char *s);
bool str_eq(struct str a, struct str b);
bool str_case_eq(struct str a, struct str b);
bool str_case_eq_cstr(struct str a, const char *s);
bool str_has_prefix_case(struct str s, const char *prefix);
/* Index of the first c in s, or -1. */
long str_chr(struct str s, char c);
/* Parses all of s as a decimal number <= max; 0 or -1. */
int str_to_u64(struct str s, unsigned long long max, unsigned long long *r);
/* A NUL-terminated heap copy (NULL on allocation failure). */
char *str_dup(struct str s);

/* Appends are inline: a reply is built from many short pieces (a FETCH
 * response of 100,000 messages makes over a million), and most need no
 * more than a copy into room the buffer already has. */
static inline int buf_append(struct buf *b, const void *p, size_t n)
{
	if (b->data == NULL || n > b->cap - b->len)
		return buf_append_grow(b, p, n);
	if (n > 0)   /* p may be NULL then */
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

static inline int buf_append_str(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

static inline int buf_append_char(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

static inline struct str str_from(const char *s)
{
	size_t n = 0;
	while (s[n] != '\0')
		n++;
	return (struct str){ s, n };
}

#endif
