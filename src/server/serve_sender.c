/* The addresses a user may submit mail as (serve_sender.h). */
#include "server/serve_sender.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "auth/userdb.h"

struct pair {
	char *alias;
	char *target;
};

struct pairs {
	struct pair *v;
	size_t n, cap;
	bool failed;
};

static void add_pair(const char *alias, const char *target, void *ctx)
{
	struct pairs *p = ctx;
	if (p->failed || alias[0] == '@')   /* catch-alls are nobody's */
		return;
	if (p->n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 64;
		struct pair *v = realloc(p->v, cap * sizeof *v);
		if (v == NULL) {
			p->failed = true;
			return;
		}
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n].alias = strdup(alias);
	p->v[p->n].target = strdup(target);
	if (p->v[p->n].alias == NULL || p->v[p->n].target == NULL) {
		free(p->v[p->n].alias);
		free(p->v[p->n].target);
		p->failed = true;
		return;
	}
	p->n++;
}

/* Whether target (maybe "local+detail@domain") is one of o's. */
static bool owned(const struct sender_owned *o, const char *target)
{
	const char *at = strrchr(target, '@');
	const char *plus = strchr(target, '+');
	size_t base = plus != NULL && at != NULL && plus < at ? (size_t)(plus - target) : 0;
	for (size_t i = 0; i < o->n; i++) {
		if (strcmp(o->v[i], target) == 0)
			return true;
		if (base > 0 && strncmp(o->v[i], target, base) == 0 &&
		    strcmp(o->v[i] + base, at) == 0)
			return true;
	}
	return false;
}

static int push(struct sender_owned *o, const char *address)
{
	char **v = realloc(o->v, (o->n + 1) * sizeof *v);
	if (v == NULL)
		return -1;
	o->v = v;
	if ((o->v[o->n] = strdup(address)) == NULL)
		return -1;
	o->n++;
	return 0;
}

static void pairs_free(struct pairs *p)
{
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].alias);
		free(p->v[i].target);
	}
	free(p->v);
}

int sender_owned_lookup(struct userdb *db, const char *user, size_t max,
			struct sender_owned *out, const char **error_r)
{
	struct pairs p = { 0 };
	out->v = NULL;
	out->n = 0;
	if (userdb_alias_list(db, add_pair, &p, error_r) < 0 || p.failed || push(out, user) < 0) {
		if (p.failed)
			*error_r = "out of memory";
		pairs_free(&p);
		sender_owned_free(out);
		return -1;
	}
	/* Aliases of aliases: until nothing new is found (each round adds
	 * at least one, so at most one round per alias). */
	for (bool more = true; more && out->n <= max;) {
		more = false;
		for (size_t i = 0; i < p.n && out->n <= max; i++) {
			if (owned(out, p.v[i].alias) || !owned(out, p.v[i].target))
				continue;
			if (push(out, p.v[i].alias) < 0) {
				*error_r = "out of memory";
				pairs_free(&p);
				sender_owned_free(out);
				return -1;
			}
			more = true;
		}
	}
	pairs_free(&p);
	return 0;
}

void sender_owned_free(struct sender_owned *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->v[i]);
	free(o->v);
	o->v = NULL;
	o->n = 0;
}
