#include "delivery/resolve.h"

#include <stdlib.h>
#include <string.h>

#include "auth/address.h"
#include "lib/log.h"

/* Distinct aliases one resolution may expand. Each expansion is one SQLite
 * lookup, so this bounds the work a hostile alias table could cause. */
#define RESOLVE_MAX_EXPANSIONS 256

#define FIELD_SIZE(f) sizeof(((struct resolved_rcpt *)0)->f)
#define KEY_MAX FIELD_SIZE(address)

struct resolver {
	struct userdb *db;
	const struct config *cfg;
	struct resolve_result *res;
	char (*seen)[KEY_MAX];      /* aliases already expanded */
	size_t seen_count;
	const char *error;
};

/* The targets of one alias, copied out before recursing: the lookup
 * statement is reused by the recursion. */
struct targets {
	char (*v)[KEY_MAX];
	size_t count;
	bool overflow;
};

static int address_resolve(struct resolver *r, const char *local, const char *domain,
			   const char *detail, unsigned depth);

static int fail(struct resolver *r, const char *error)
{
	r->error = error;
	return -1;
}

/* "local@domain" lower-cased into key (KEY_MAX); -1 when the parts are too
 * long to be anything stored, which means "no match". */
static int make_key(const char *local, const char *domain, char *key)
{
	size_t l = strlen(local), d = strlen(domain);
	if (l >= FIELD_SIZE(local) || d >= FIELD_SIZE(domain) || l + d + 2 > KEY_MAX)
		return -1;
	address_lower(local, l, key);
	key[l] = '@';
	address_lower(domain, d, key + l + 1);
	return 0;
}

static bool seen(const struct resolver *r, const char *key)
{
	for (size_t i = 0; i < r->seen_count; i++) {
		if (strcmp(r->seen[i], key) == 0)
			return true;
	}
	return false;
}

/* Appends one mailbox unless it is already there (one delivery per mailbox,
 * whatever number of aliases lead to it). */
static int add_rcpt(struct resolver *r, const char *local, const char *domain,
		    const char *detail, bool remote)
{
	struct resolve_result *res = r->res;
	char key[KEY_MAX];
	if (make_key(local, domain, key) < 0 || strlen(detail) >= FIELD_SIZE(detail))
		return fail(r, "address too long");
	for (size_t i = 0; i < res->count; i++) {
		if (strcmp(res->rcpt[i].address, key) == 0)
			return 0;
	}
	if (res->count == RESOLVE_MAX_TARGETS)
		return fail(r, "too many recipients after alias expansion");
	struct resolved_rcpt *rc = &res->rcpt[res->count++];
	memcpy(rc->address, key, strlen(key) + 1);
	address_lower(local, strlen(local), rc->local);
	address_lower(domain, strlen(domain), rc->domain);
	memcpy(rc->detail, detail, strlen(detail) + 1);
	rc->remote = remote;
	return 0;
}

static void collect(const char *target, void *ctx)
{
	struct targets *t = ctx;
	if (t->count == RESOLVE_MAX_TARGETS || strlen(target) >= KEY_MAX) {
		t->overflow = true;
		return;
	}
	memcpy(t->v[t->count++], target, strlen(target) + 1);
}

/* One alias target: local ones are resolved like any recipient, remote ones
 * are handed back for the queue. */
static int target_resolve(struct resolver *r, const char *target, const char *detail,
			  unsigned depth)
{
	const char *at = strrchr(target, '@');
	char local[FIELD_SIZE(local)];
	size_t l = at != NULL ? (size_t)(at - target) : 0;
	if (at == NULL || l == 0 || l >= sizeof local) {
		log_warn("resolve: ignoring malformed alias target %s", target);
		return 0;
	}
	memcpy(local, target, l);
	local[l] = '\0';
	const char *domain = at + 1;
	if (!config_is_local_domain(r->cfg, domain, strlen(domain)))
		return add_rcpt(r, local, domain, "", true);
	int n = address_resolve(r, local, domain, detail, depth);
	if (n == 0)
		log_warn("resolve: alias target %s is neither a user nor an alias", target);
	return n < 0 ? -1 : 0;
}

/* 1 when key is an alias (its targets added, even if none of them turned
 * out deliverable: an alias hides a user of the same name), 0 when it is
 * not, -1 on error. */
static int alias_expand(struct resolver *r, const char *key, const char *detail,
			unsigned depth)
{
	struct targets t = { .v = calloc(RESOLVE_MAX_TARGETS, KEY_MAX) };
	if (t.v == NULL)
		return fail(r, "out of memory");
	int ret = 1, n = userdb_alias_targets(r->db, key, collect, &t);
	if (n <= 0)
		ret = n < 0 ? fail(r, "alias lookup failed") : 0;
	else if (t.overflow)
		ret = fail(r, "an alias has too many targets");
	else if (depth >= RESOLVE_MAX_DEPTH)
		ret = fail(r, "aliases nested too deeply");
	else if (r->seen_count == RESOLVE_MAX_EXPANSIONS)
		ret = fail(r, "too many aliases expanded");
	if (ret != 1) {
		free(t.v);
		return ret;
	}
	memcpy(r->seen[r->seen_count++], key, strlen(key) + 1);
	for (size_t i = 0; i < t.count && ret == 1; i++) {
		if (target_resolve(r, t.v[i], detail, depth + 1) < 0)
			ret = -1;
	}
	free(t.v);
	return ret;
}

/* Steps 1 and 2 for one exact address: alias, else user. An alias met again
 * (a loop, or "a -> a, b" to keep a copy) stops there and delivers to the
 * user of that name if there is one, as Postfix does. */
static int exact_resolve(struct resolver *r, const char *local, const char *domain,
			 const char *detail, unsigned depth)
{
	char key[KEY_MAX];
	if (make_key(local, domain, key) < 0)
		return 0;
	bool again = seen(r, key);
	if (!again) {
		int n = alias_expand(r, key, detail, depth);
		if (n != 0)
			return n;
	}
	int u = userdb_user_exists(r->db, local, domain);
	if (u < 0)
		return fail(r, "user lookup failed");
	if (u == 1)
		return add_rcpt(r, local, domain, detail, false) < 0 ? -1 : 1;
	return again ? 1 : 0;
}

static int address_resolve(struct resolver *r, const char *local, const char *domain,
			   const char *detail, unsigned depth)
{
	int n = exact_resolve(r, local, domain, detail, depth);
	if (n != 0)
		return n;
	/* Step 3: "base+detail" is base's, the first '+' separating. */
	const char *plus = strchr(local, '+');
	if (plus != NULL && plus > local) {
		char base[FIELD_SIZE(local)];
		size_t l = (size_t)(plus - local);
		if (l >= sizeof base || strlen(plus + 1) >= FIELD_SIZE(detail))
			return 0;
		memcpy(base, local, l);
		base[l] = '\0';
		detail = plus + 1;
		n = exact_resolve(r, base, domain, detail, depth);
		if (n != 0)
			return n;
	}
	/* Step 4: the catch-all, unless it is what led here. */
	char key[KEY_MAX];
	if (make_key("", domain, key) < 0 || seen(r, key))
		return 0;
	return alias_expand(r, key, detail, depth);
}

int resolve_local(struct userdb *db, const struct config *cfg, const char *local,
		  const char *domain, struct resolve_result *result,
		  const char **error_r)
{
	struct resolver r = { .db = db, .cfg = cfg, .res = result };
	result->count = 0;
	/* Never resolve for a foreign domain, whatever the caller checked:
	 * this is what keeps the MX from relaying. */
	if (!config_is_local_domain(cfg, domain, strlen(domain)))
		return 0;
	r.seen = calloc(RESOLVE_MAX_EXPANSIONS, KEY_MAX);
	if (r.seen == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	int n = address_resolve(&r, local, domain, "", 0);
	free(r.seen);
	if (n < 0) {
		*error_r = r.error != NULL ? r.error : "resolution failed";
		result->count = 0;
		return -1;
	}
	return result->count > 0 ? 1 : 0;
}
