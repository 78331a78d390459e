/* The penalty table: open addressing over a fixed array; a key that finds
 * no free or stale slot among its probes takes the least recently counted
 * of them, so the table never grows and a flood of new addresses evicts
 * the quiet ones first. Keys are 64-bit hashes (seeded at start, so nobody can aim a
 * collision at a given user); a rare collision costs a delay, not a
 * lockout. */
#include "server/serve_penalty.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/random.h>

#define PROBES 8

struct slot {
	uint64_t key;        /* 0: free */
	uint32_t failures;
	time_t last;
	uint64_t used;       /* when last touched, in touches: evict the least */
};

struct penalty_table {
	size_t n;
	uint64_t seed;
	uint64_t touches;
	struct slot slots[];
};

struct penalty_table *penalty_table_new(size_t slots)
{
	if (slots < PROBES)
		slots = PROBES;
	struct penalty_table *t = calloc(1, sizeof *t + slots * sizeof t->slots[0]);
	if (t == NULL)
		return NULL;
	t->n = slots;
	if (getrandom(&t->seed, sizeof t->seed, 0) != sizeof t->seed)
		t->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;
	return t;
}

void penalty_table_free(struct penalty_table **t)
{
	free(*t);
	*t = NULL;
}

/* FNV-1a over a kind byte and the text, seeded, then mixed. */
static uint64_t key_of(const struct penalty_table *t, char kind, const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ t->seed;
	h = (h ^ (unsigned char)kind) * 0x100000001b3ULL;
	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h != 0 ? h : 1;
}

/* An IPv6 client has a /64 to pick addresses from: the /64 is what is
 * counted (v4-mapped addresses stay whole). */
static const char *address_key(const char *ip, char *buf, size_t size)
{
	struct in6_addr a;
	if (strchr(ip, ':') == NULL || inet_pton(AF_INET6, ip, &a) != 1 ||
	    IN6_IS_ADDR_V4MAPPED(&a))
		return ip;
	memset(a.s6_addr + 8, 0, 8);
	return inet_ntop(AF_INET6, &a, buf, (socklen_t)size) != NULL ? buf : ip;
}

static bool stale(const struct slot *s, time_t now)
{
	return s->key == 0 || now - s->last > PENALTY_EXPIRE_SECONDS || now < s->last;
}

/* The slot of key, or NULL; with create, a new one (maybe evicting). */
static struct slot *find(struct penalty_table *t, uint64_t key, time_t now, bool create)
{
	struct slot *victim = NULL;
	for (size_t i = 0; i < PROBES; i++) {
		struct slot *s = &t->slots[(key + i) % t->n];
		if (s->key == key)
			return stale(s, now) ? (s->failures = 0, s) : s;
		if (victim == NULL || (stale(s, now) && !stale(victim, now)) ||
		    (!stale(victim, now) && s->used < victim->used))
			victim = s;
	}
	if (!create)
		return NULL;
	victim->key = key;
	victim->failures = 0;
	victim->last = now;
	return victim;
}

static unsigned failures(struct penalty_table *t, char kind, const char *s, time_t now)
{
	struct slot *sl = find(t, key_of(t, kind, s), now, false);
	return sl != NULL ? sl->failures : 0;
}

unsigned penalty_level(struct penalty_table *t, const char *ip, const char *user,
		       time_t now)
{
	char buf[INET6_ADDRSTRLEN];
	unsigned a = failures(t, 'i', address_key(ip, buf, sizeof buf), now), u = failures(t, 'u', user, now);
	if (u > PENALTY_USER_LEVEL_MAX)
		u = PENALTY_USER_LEVEL_MAX;
	return a > u ? a : u;
}

static void count(struct penalty_table *t, char kind, const char *s, time_t now)
{
	struct slot *sl = find(t, key_of(t, kind, s), now, true);
	if (sl->failures < UINT32_MAX)
		sl->failures++;
	sl->last = now;
	sl->used = ++t->touches;
}

void penalty_failed(struct penalty_table *t, const char *ip, const char *user, time_t now)
{
	char buf[INET6_ADDRSTRLEN];
	count(t, 'i', address_key(ip, buf, sizeof buf), now);
	count(t, 'u', user, now);
}

static void forget(struct penalty_table *t, char kind, const char *s, time_t now)
{
	struct slot *sl = find(t, key_of(t, kind, s), now, false);
	if (sl != NULL)
		sl->key = 0;
}

void penalty_succeeded(struct penalty_table *t, const char *ip, const char *user,
		       time_t now)
{
	char buf[INET6_ADDRSTRLEN];
	forget(t, 'i', address_key(ip, buf, sizeof buf), now);
	forget(t, 'u', user, now);
}

unsigned penalty_delay_ms(unsigned level, unsigned base_ms, unsigned max_ms)
{
	if (level == 0)
		return 0;
	uint64_t d = base_ms;
	for (unsigned i = 1; i < level && d < max_ms; i++)
		d *= 2;
	return d > max_ms ? max_ms : (unsigned)d;
}
