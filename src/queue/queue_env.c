/* The envelope's text format (queue_env.h). The header records come in one
 * fixed order: a file is either exactly what queue_env_format wrote, plus
 * whole update records, or it is refused. */
#include "queue/queue_env.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "queue/queue_private.h"

#define MAGIC "postbox-queue 1"
#define MAX_FIELDS 9

static const char *const state_names[QUEUE_STATE_COUNT] = {
	"pending", "deferred", "sent", "bounced", "held",
};

const char *queue_state_name(enum queue_rcpt_state s)
{
	return (unsigned)s < QUEUE_STATE_COUNT ? state_names[s] : "?";
}

bool queue_state_final(enum queue_rcpt_state s)
{
	return s == QUEUE_SENT || s == QUEUE_BOUNCED;
}

int queue_env_set_str(char **field, const char *s, size_t max)
{
	size_t n = strlen(s);
	bool cut = n > max;
	if (cut)
		n = max >= 3 ? max - 3 : 0;
	char *p = malloc(n + (cut ? 3 : 0) + 1);
	if (p == NULL) {
		errno = ENOMEM;
		return -1;
	}
	memcpy(p, s, n);
	if (cut)
		memcpy(p + n, "...", 3), n += 3;
	p[n] = '\0';
	free(*field);
	*field = p;
	return 0;
}

int queue_env_init(struct queue_env *env, const char *id, const char *sender,
		   const char **error_r)
{
	memset(env, 0, sizeof *env);
	if (!queue_id_ok(id)) {
		*error_r = "bad queue id";
		return -1;
	}
	memcpy(env->id, id, strlen(id) + 1);
	if (strlen(sender) > QUEUE_ADDR_MAX) {
		*error_r = "sender address too long";
		return -1;
	}
	if (queue_env_set_str(&env->sender, sender, QUEUE_ADDR_MAX) < 0 ||
	    queue_env_set_str(&env->envid, "", 0) < 0) {
		queue_env_clear(env);
		*error_r = "out of memory";
		return -1;
	}
	return 0;
}

static void rcpt_free(struct queue_rcpt *r)
{
	free(r->addr);
	free(r->orcpt);
	free(r->mta);
	free(r->reply);
	memset(r, 0, sizeof *r);
}

int queue_env_add_rcpt(struct queue_env *env, const char *addr, const char *orcpt,
		       unsigned notify, const char **error_r)
{
	if (orcpt == NULL)
		orcpt = "";
	if (strlen(addr) == 0 || strlen(addr) > QUEUE_ADDR_MAX || strlen(orcpt) > QUEUE_ORCPT_MAX) {
		*error_r = "recipient address or ORCPT empty or too long";
		return -1;
	}
	if (env->rcpt_count >= QUEUE_RCPT_MAX) {
		*error_r = "too many recipients";
		return -1;
	}
	struct queue_rcpt *r = realloc(env->rcpts, (env->rcpt_count + 1) * sizeof *r);
	if (r == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	env->rcpts = r;
	r = &env->rcpts[env->rcpt_count];
	memset(r, 0, sizeof *r);
	r->notify = notify;
	r->state = QUEUE_PENDING;
	r->next = env->arrival;
	if (queue_env_set_str(&r->addr, addr, QUEUE_ADDR_MAX) < 0 ||
	    queue_env_set_str(&r->orcpt, orcpt, QUEUE_ORCPT_MAX) < 0 ||
	    queue_env_set_str(&r->mta, "", 0) < 0 || queue_env_set_str(&r->reply, "", 0) < 0) {
		rcpt_free(r);
		*error_r = "out of memory";
		return -1;
	}
	env->rcpt_count++;
	return 0;
}

void queue_env_clear(struct queue_env *env)
{
	for (size_t i = 0; i < env->rcpt_count; i++)
		rcpt_free(&env->rcpts[i]);
	free(env->rcpts);
	free(env->sender);
	free(env->envid);
	memset(env, 0, sizeof *env);
}

/* ---- writing ---- */

static int put_esc(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
		int r;
		if (*p < 0x20 || *p == 0x7f || *p == '%') {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			r = buf_append(out, e, 3);
		} else {
			r = buf_append_char(out, (char)*p);
		}
		if (r < 0)
			return -1;
	}
	return 0;
}

static int put_field(struct buf *out, const char *key, const char *value)
{
	if (buf_append_str(out, key) < 0 || buf_append_char(out, '\t') < 0 ||
	    put_esc(out, value) < 0 || buf_append_char(out, '\n') < 0)
		return -1;
	return 0;
}

static int put_num(struct buf *out, const char *key, unsigned long long v)
{
	return buf_printf(out, "%s\t%llu\n", key, v);
}

static const char *const notify_names[] = { "NEVER", "SUCCESS", "FAILURE", "DELAY" };

static int put_notify(struct buf *out, unsigned notify)
{
	bool first = true;
	if (notify == 0)
		return buf_append_char(out, '-');
	for (unsigned b = 0; b < 4; b++) {
		if (!(notify & (1u << b)))
			continue;
		if ((!first && buf_append_char(out, ',') < 0) ||
		    buf_append_str(out, notify_names[b]) < 0)
			return -1;
		first = false;
	}
	return 0;
}

/* STATE ATTEMPTS NEXT MTA REPLY, TAB first. */
static int put_rcpt_state(struct buf *out, const struct queue_rcpt *r)
{
	if (buf_printf(out, "\t%s\t%u\t%lld\t", state_names[r->state], r->attempts,
		       (long long)r->next) < 0 ||
	    put_esc(out, r->mta) < 0 || buf_append_char(out, '\t') < 0 ||
	    put_esc(out, r->reply) < 0 || buf_append_char(out, '\n') < 0)
		return -1;
	return 0;
}

int queue_env_format(const struct queue_env *env, struct buf *out)
{
	static const char *const rets[] = { "-", "FULL", "HDRS" };
	if (buf_append_str(out, MAGIC "\n") < 0 || put_field(out, "id", env->id) < 0 ||
	    put_field(out, "sender", env->sender) < 0 || put_field(out, "envid", env->envid) < 0 ||
	    put_field(out, "ret", rets[env->ret]) < 0 ||
	    put_field(out, "body", env->body == QUEUE_BODY_8BITMIME ? "8BITMIME" : "7BIT") < 0 ||
	    put_num(out, "utf8", env->smtputf8) < 0 ||
	    buf_printf(out, "arrival\t%lld\n", (long long)env->arrival) < 0 ||
	    put_num(out, "size", env->size) < 0 || put_num(out, "offset", env->offset) < 0 ||
	    put_num(out, "warned", env->warned) < 0)
		return -1;
	for (size_t i = 0; i < env->rcpt_count; i++) {
		const struct queue_rcpt *r = &env->rcpts[i];
		if (buf_append_str(out, "rcpt\t") < 0 || put_esc(out, r->addr) < 0 ||
		    buf_append_char(out, '\t') < 0 || put_esc(out, r->orcpt) < 0 ||
		    buf_append_char(out, '\t') < 0 || put_notify(out, r->notify) < 0 ||
		    put_rcpt_state(out, r) < 0)
			return -1;
	}
	return put_num(out, "end", env->rcpt_count);
}

int queue_env_format_update(const struct queue_env *env, size_t i, struct buf *out)
{
	if (i >= env->rcpt_count || buf_printf(out, "u\t%zu", i) < 0)
		return -1;
	return put_rcpt_state(out, &env->rcpts[i]);
}

int queue_env_format_warned(struct buf *out)
{
	return buf_append_str(out, "w\t1\n");
}

/* ---- reading ---- */

struct line {
	char *f[MAX_FIELDS];   /* unescaped fields, owned */
	size_t n;
};

static void line_clear(struct line *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->f[i]);
	l->n = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Splits p[0..len) at TABs and unescapes each field. A NUL, a bare
 * control octet or a bad escape is an error. */
static int split_line(const char *p, size_t len, struct line *l, const char **error_r)
{
	size_t start = 0;
	l->n = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && p[i] != '\t')
			continue;
		if (l->n == MAX_FIELDS) {
			*error_r = "too many fields";
			return -1;
		}
		char *f = malloc(i - start + 1);
		if (f == NULL) {
			*error_r = "out of memory";
			return -1;
		}
		l->f[l->n++] = f;
		size_t o = 0;
		for (size_t k = start; k < i; k++) {
			unsigned char c = (unsigned char)p[k];
			if (c == '%') {
				int hi = k + 2 < i ? hexval(p[k + 1]) : -1;
				int lo = hi >= 0 ? hexval(p[k + 2]) : -1;
				if (lo < 0 || (hi == 0 && lo == 0)) {
					*error_r = "bad %-escape";
					return -1;
				}
				c = (unsigned char)(hi << 4 | lo);
				k += 2;
			} else if (c < 0x20 || c == 0x7f) {
				*error_r = "control character in a field";
				return -1;
			}
			f[o++] = (char)c;
		}
		f[o] = '\0';
		start = i + 1;
	}
	return 0;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *v_r)
{
	uint64_t v = 0;
	if (*s == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (max - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*v_r = v;
	return 0;
}

static int parse_time(const char *s, int64_t *t_r)
{
	uint64_t v;
	if (parse_u64(s, INT64_MAX, &v) < 0)
		return -1;
	*t_r = (int64_t)v;
	return 0;
}

static int parse_state(const char *s, enum queue_rcpt_state *st_r)
{
	for (unsigned i = 0; i < QUEUE_STATE_COUNT; i++) {
		if (strcmp(s, state_names[i]) == 0) {
			*st_r = (enum queue_rcpt_state)i;
			return 0;
		}
	}
	return -1;
}

static int parse_notify(const char *s, unsigned *n_r)
{
	unsigned n = 0;
	if (strcmp(s, "-") == 0) {
		*n_r = 0;
		return 0;
	}
	while (*s != '\0') {
		size_t len = strcspn(s, ",");
		unsigned b = 0;
		while (b < 4 && !(strlen(notify_names[b]) == len &&
				  memcmp(s, notify_names[b], len) == 0))
			b++;
		if (b == 4 || (n & (1u << b)))
			return -1;
		n |= 1u << b;
		s += len;
		if (*s == ',' && *++s == '\0')
			return -1;
	}
	/* RFC 3461 4.1: NEVER stands alone. */
	if (n == 0 || ((n & QUEUE_NOTIFY_NEVER) && n != QUEUE_NOTIFY_NEVER))
		return -1;
	*n_r = n;
	return 0;
}

/* STATE ATTEMPTS NEXT MTA REPLY from f[0..4]. */
static int parse_rcpt_state(char **f, struct queue_rcpt *r, const char **error_r)
{
	uint64_t attempts;
	enum queue_rcpt_state st;
	int64_t next;
	if (parse_state(f[0], &st) < 0 || parse_u64(f[1], 1000000, &attempts) < 0 ||
	    parse_time(f[2], &next) < 0 || strlen(f[3]) > QUEUE_MTA_MAX ||
	    strlen(f[4]) > QUEUE_REPLY_MAX) {
		*error_r = "bad recipient state";
		return -1;
	}
	r->state = st;
	r->attempts = (unsigned)attempts;
	r->next = next;
	free(r->mta);
	r->mta = f[3];
	f[3] = NULL;
	free(r->reply);
	r->reply = f[4];
	f[4] = NULL;
	return 0;
}

/* The header records, in their order. */
enum hdr { H_ID, H_SENDER, H_ENVID, H_RET, H_BODY, H_UTF8, H_ARRIVAL, H_SIZE, H_OFFSET,
	   H_WARNED, H_COUNT };
static const char *const hdr_keys[H_COUNT] = {
	"id", "sender", "envid", "ret", "body", "utf8", "arrival", "size", "offset", "warned",
};

static int take_str(char **field, char **from, size_t max)
{
	if (strlen(*from) > max)
		return -1;
	free(*field);
	*field = *from;
	*from = NULL;
	return 0;
}

static int parse_bool(const char *s, bool *b_r)
{
	if (strcmp(s, "0") != 0 && strcmp(s, "1") != 0)
		return -1;
	*b_r = s[0] == '1';
	return 0;
}

static int parse_header(enum hdr h, char **v, struct queue_env *env)
{
	uint64_t u;
	switch (h) {
	case H_ID:
		if (!queue_id_ok(*v))
			return -1;
		memcpy(env->id, *v, strlen(*v) + 1);
		return 0;
	case H_SENDER:
		return take_str(&env->sender, v, QUEUE_ADDR_MAX);
	case H_ENVID:
		return take_str(&env->envid, v, QUEUE_ENVID_MAX);
	case H_RET:
		env->ret = strcmp(*v, "FULL") == 0 ? QUEUE_RET_FULL
			 : strcmp(*v, "HDRS") == 0 ? QUEUE_RET_HDRS : QUEUE_RET_NONE;
		return env->ret == QUEUE_RET_NONE && strcmp(*v, "-") != 0 ? -1 : 0;
	case H_BODY:
		env->body = strcmp(*v, "8BITMIME") == 0 ? QUEUE_BODY_8BITMIME : QUEUE_BODY_7BIT;
		return env->body == QUEUE_BODY_7BIT && strcmp(*v, "7BIT") != 0 ? -1 : 0;
	case H_UTF8:
		return parse_bool(*v, &env->smtputf8);
	case H_ARRIVAL:
		return parse_time(*v, &env->arrival);
	case H_SIZE:
		return parse_u64(*v, INT64_MAX, &env->size);
	case H_OFFSET:
		if (parse_u64(*v, INT64_MAX, &u) < 0 || u > env->size)
			return -1;
		env->offset = u;
		return 0;
	case H_WARNED:
		return parse_bool(*v, &env->warned);
	case H_COUNT:
		break;
	}
	return -1;
}

static int parse_rcpt(struct line *l, struct queue_env *env, const char **error_r)
{
	unsigned notify;
	if (l->n != 9 || parse_notify(l->f[3], &notify) < 0) {
		*error_r = "bad recipient record";
		return -1;
	}
	if (queue_env_add_rcpt(env, l->f[1], l->f[2], notify, error_r) < 0)
		return -1;
	return parse_rcpt_state(&l->f[4], &env->rcpts[env->rcpt_count - 1], error_r);
}

static int parse_update(struct line *l, struct queue_env *env, const char **error_r)
{
	uint64_t i;
	if (strcmp(l->f[0], "w") == 0 && l->n == 2 && strcmp(l->f[1], "1") == 0) {
		env->warned = true;
		return 0;
	}
	if (strcmp(l->f[0], "u") != 0 || l->n != 7 ||
	    parse_u64(l->f[1], UINT64_MAX, &i) < 0 || i >= env->rcpt_count) {
		*error_r = "bad update record";
		return -1;
	}
	return parse_rcpt_state(&l->f[2], &env->rcpts[i], error_r);
}

enum part { P_MAGIC, P_HEADER, P_RCPTS, P_UPDATES };

/* One whole line (LF excluded) at position *hdr of part *part. */
static int parse_line(const char *p, size_t n, enum part *part, enum hdr *hdr,
		      struct queue_env *env, const char **error_r)
{
	struct line l = { .n = 0 };
	uint64_t count;
	int r = -1;
	if (*part == P_MAGIC) {
		*error_r = "not a postbox queue envelope (bad first line)";
		if (n == strlen(MAGIC) && memcmp(p, MAGIC, n) == 0) {
			*part = P_HEADER;
			r = 0;
		}
		return r;
	}
	if (split_line(p, n, &l, error_r) < 0) {
		line_clear(&l);
		return -1;
	}
	if (*part == P_HEADER) {
		*error_r = "bad or missing header record";
		if (l.n == 2 && strcmp(l.f[0], hdr_keys[*hdr]) == 0 &&
		    parse_header(*hdr, &l.f[1], env) == 0) {
			r = 0;
			if (++*hdr == H_COUNT)
				*part = P_RCPTS;
		}
	} else if (*part == P_RCPTS && strcmp(l.f[0], "rcpt") == 0) {
		r = parse_rcpt(&l, env, error_r);
	} else if (*part == P_RCPTS && strcmp(l.f[0], "end") == 0) {
		*error_r = "recipient count at \"end\" does not match";
		if (l.n == 2 && parse_u64(l.f[1], QUEUE_RCPT_MAX, &count) == 0 &&
		    count == env->rcpt_count && count > 0) {
			*part = P_UPDATES;
			r = 0;
		}
	} else if (*part == P_UPDATES) {
		r = parse_update(&l, env, error_r);
	} else {
		*error_r = "unknown record";
	}
	line_clear(&l);
	return r;
}

int queue_env_parse(const char *data, size_t len, struct queue_env *env,
		    size_t *valid_len_r, size_t *line_r, const char **error_r)
{
	enum part part = P_MAGIC;
	enum hdr hdr = H_ID;
	size_t pos = 0;
	*line_r = 0;
	memset(env, 0, sizeof *env);
	if (len > QUEUE_ENV_FILE_MAX) {
		*error_r = "envelope file too big";
		return -1;
	}
	while (pos < len) {
		const char *nl = memchr(data + pos, '\n', len - pos);
		++*line_r;
		if (nl == NULL) {
			if (part == P_UPDATES)
				break;     /* an update cut by a crash: never done */
			*error_r = "truncated envelope (no \"end\" record)";
			goto fail;
		}
		size_t n = (size_t)(nl - (data + pos));
		if (memchr(data + pos, '\0', n) != NULL) {
			*error_r = "NUL octet in the envelope";
			goto fail;
		}
		if (parse_line(data + pos, n, &part, &hdr, env, error_r) < 0)
			goto fail;
		pos += n + 1;
	}
	if (part != P_UPDATES) {
		*error_r = "truncated envelope (no \"end\" record)";
		goto fail;
	}
	*valid_len_r = pos;
	*line_r = 0;
	return 0;
fail:
	queue_env_clear(env);
	return -1;
}
