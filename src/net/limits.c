#include "net/limits.h"

#include "net/conn.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Open addressing with tombstone-free deletion would be overkill: the table
 * is sized for the total connection limit and entries with count 0 are
 * reused by the probe. */
struct ip_slot {
	unsigned char addr[16];
	size_t count;
	bool used;
};

struct conn_limits {
	size_t max_total, max_per_ip, total;
	size_t size;  /* power of two */
	struct ip_slot *slots;
};

static void addr_key(const struct sockaddr *sa, unsigned char key[16])
{
	memset(key, 0, 16);
	if (sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	} else if (sa->sa_family == AF_INET) {
		/* As an IPv4-mapped address, so both families share one table. */
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_UNIX) {
		/* A local peer is counted per Unix user (conn_local_peer), in
		 * ::fefe:0:0/96, where no real peer comes from. */
		uint32_t uid = conn_local_uid(sa);
		key[10] = key[11] = 0xfe;
		memcpy(key + 12, &uid, 4);
	}
}

static size_t hash_key(const unsigned char key[16])
{
	uint64_t h = 1469598103934665603ULL;
	for (int i = 0; i < 16; i++)
		h = (h ^ key[i]) * 1099511628211ULL;
	return (size_t)h;
}

struct conn_limits *conn_limits_new(size_t max_total, size_t max_per_ip)
{
	struct conn_limits *l = calloc(1, sizeof *l);
	if (l == NULL)
		return NULL;
	l->size = 64;
	while (l->size < max_total * 2)
		l->size *= 2;
	l->slots = calloc(l->size, sizeof *l->slots);
	if (l->slots == NULL) {
		free(l);
		return NULL;
	}
	l->max_total = max_total;
	l->max_per_ip = max_per_ip;
	return l;
}

void conn_limits_free(struct conn_limits **l)
{
	if (*l == NULL)
		return;
	free((*l)->slots);
	free(*l);
	*l = NULL;
}

void conn_limits_set(struct conn_limits *l, size_t max_total, size_t max_per_ip)
{
	/* The table size stays: it only has to hold distinct live peers,
	 * and a lower total limit makes that smaller, not larger. A higher
	 * one is capped by the table (half full at most). */
	l->max_total = max_total < l->size / 2 ? max_total : l->size / 2;
	l->max_per_ip = max_per_ip;
}

static struct ip_slot *find(struct conn_limits *l, const unsigned char key[16], bool create)
{
	size_t mask = l->size - 1;
	struct ip_slot *free_slot = NULL;
	for (size_t i = hash_key(key) & mask, n = 0; n < l->size; i = (i + 1) & mask, n++) {
		struct ip_slot *s = &l->slots[i];
		if (!s->used)
			return create ? (free_slot ? free_slot : s) : NULL;
		if (memcmp(s->addr, key, 16) == 0)
			return s;
		if (s->count == 0 && free_slot == NULL)
			free_slot = s;
	}
	return create ? free_slot : NULL;
}

bool conn_limits_take(struct conn_limits *l, const struct sockaddr *sa, bool *total_hit_r)
{
	unsigned char key[16];
	*total_hit_r = l->total >= l->max_total;
	if (*total_hit_r)
		return false;
	addr_key(sa, key);
	struct ip_slot *s = find(l, key, true);
	if (s == NULL) {
		*total_hit_r = true;
		return false;
	}
	if (s->used && memcmp(s->addr, key, 16) == 0) {
		if (s->count >= l->max_per_ip)
			return false;
	} else {
		memcpy(s->addr, key, 16);
		s->used = true;
		s->count = 0;
	}
	s->count++;
	l->total++;
	return true;
}

void conn_limits_release(struct conn_limits *l, const struct sockaddr *sa)
{
	unsigned char key[16];
	addr_key(sa, key);
	struct ip_slot *s = find(l, key, false);
	if (s != NULL && s->count > 0) {
		s->count--;
		l->total--;
	}
}

size_t conn_limits_total(const struct conn_limits *l)
{
	return l->total;
}
