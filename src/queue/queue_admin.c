/* `postbox queue` (queue_admin.h). */
#include "queue/queue_admin.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue_store.h"

struct id_list {
	char (*ids)[QUEUE_ID_MAX + 1];
	size_t n, cap;
	int failed;
};

static void collect(const char *id, void *arg)
{
	struct id_list *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 64;
		void *p = realloc(l->ids, cap * sizeof *l->ids);
		if (p == NULL) {
			l->failed = 1;
			return;
		}
		l->ids = p;
		l->cap = cap;
	}
	memcpy(l->ids[l->n++], id, strlen(id) + 1);
}

static int cmp_id(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* The queue's ids, oldest first (an id starts with its time in hex). */
static int list_ids(const char *data_dir, struct id_list *l, const char **error_r)
{
	memset(l, 0, sizeof *l);
	if (queue_scan(data_dir, collect, l) < 0 || l->failed) {
		free(l->ids);
		*error_r = l->failed ? "out of memory" : "cannot read the queue directory";
		return -1;
	}
	if (l->n > 1)
		qsort(l->ids, l->n, sizeof *l->ids, cmp_id);
	return 0;
}

/* "3d4h", "2h5m", "45s": the two largest units. */
static void span(int64_t s, char *out, size_t outlen)
{
	static const struct { char c; int64_t secs; } u[] = {
		{ 'd', 86400 }, { 'h', 3600 }, { 'm', 60 }, { 's', 1 },
	};
	if (s < 0)
		s = 0;
	for (size_t i = 0; i < 4; i++) {
		if (s < u[i].secs && i < 3)
			continue;
		int64_t a = s / u[i].secs, rest = s % u[i].secs;
		if (i < 3 && rest / u[i + 1].secs > 0)
			snprintf(out, outlen, "%lld%c%lld%c", (long long)a, u[i].c,
				 (long long)(rest / u[i + 1].secs), u[i + 1].c);
		else
			snprintf(out, outlen, "%lld%c", (long long)a, u[i].c);
		return;
	}
}

/* What a remote server or a client wrote is shown, not obeyed: a
 * multi-line reply stays on its line, an escape sequence cannot drive
 * the administrator's terminal. */
static void clean(char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
	}
}

static void clean_env(struct queue_env *env)
{
	clean(env->sender);
	clean(env->envid);
	for (size_t i = 0; i < env->rcpt_count; i++) {
		clean(env->rcpts[i].addr);
		clean(env->rcpts[i].orcpt);
		clean(env->rcpts[i].mta);
		clean(env->rcpts[i].reply);
	}
}

static const char *shown_sender(const struct queue_env *env)
{
	return env->sender[0] != '\0' ? env->sender : "<>";
}

static void print_rcpt(const struct queue_rcpt *r, int64_t now, FILE *out)
{
	char next[48] = "";
	if (r->state == QUEUE_DEFERRED || r->state == QUEUE_PENDING) {
		char in[24];
		span(r->next - now, in, sizeof in);
		snprintf(next, sizeof next, ", next in %s", r->next > now ? in : "0s");
	}
	fprintf(out, "    %-8s %s (attempts %u%s)%s%s\n", queue_state_name(r->state), r->addr,
		r->attempts, next, r->reply[0] != '\0' ? " " : "", r->reply);
}

int queue_admin_list(const char *data_dir, int64_t now, FILE *out, const char **error_r)
{
	struct id_list l;
	uint64_t total = 0;
	if (list_ids(data_dir, &l, error_r) < 0)
		return -1;
	if (l.n == 0) {
		fprintf(out, "Mail queue is empty\n");
		free(l.ids);
		return 0;
	}
	fprintf(out, "%-28s %8s %10s  %s\n", "ID", "AGE", "SIZE", "SENDER");
	for (size_t i = 0; i < l.n; i++) {
		struct queue_env env;
		const char *err;
		char age[24];
		if (queue_read_env(data_dir, l.ids[i], &env, &err) < 0) {
			if (errno != ENOENT)   /* gone since the scan: delivered */
				fprintf(out, "%-28s (unreadable envelope: %s)\n", l.ids[i], err);
			continue;
		}
		clean_env(&env);
		span(now - env.arrival, age, sizeof age);
		fprintf(out, "%-28s %8s %10llu  %s\n", env.id, age, (unsigned long long)env.size,
			shown_sender(&env));
		for (size_t k = 0; k < env.rcpt_count; k++)
			print_rcpt(&env.rcpts[k], now, out);
		total += env.size;
		queue_env_clear(&env);
	}
	fprintf(out, "-- %zu message%s, %llu octets\n", l.n, l.n == 1 ? "" : "s",
		(unsigned long long)total);
	free(l.ids);
	return 0;
}

static const char *notify_text(unsigned n, char *out, size_t outlen)
{
	static const char *const names[] = { "NEVER", "SUCCESS", "FAILURE", "DELAY" };
	out[0] = '\0';
	if (n == 0)
		return "-";
	for (unsigned b = 0; b < 4; b++) {
		if (n & (1u << b))
			snprintf(out + strlen(out), outlen - strlen(out), "%s%s",
				 out[0] ? "," : "", names[b]);
	}
	return out;
}

/* The message's header section, from the offset, up to 64 KiB. */
static void print_headers(const char *data_dir, const struct queue_env *env, FILE *out)
{
	char path[QUEUE_PATH_MAX], buf[4096];
	size_t done = 0;
	if (queue_msg_path(data_dir, env->id, path, sizeof path) < 0)
		return;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || lseek(fd, (off_t)env->offset, SEEK_SET) < 0) {
		fprintf(out, "(cannot read the message file)\n");
		if (fd >= 0)
			close(fd);
		return;
	}
	bool nl = true;
	ssize_t n;
	while (done < (64u << 10) && (n = read(fd, buf, sizeof buf)) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n' && nl)
				goto end;
			nl = buf[i] == '\n';
			unsigned char c = (unsigned char)buf[i];
			fputc(c < 0x20 && c != '\n' && c != '\t' ? '?' : c == 0x7f ? '?' : c, out);
		}
		done += (size_t)n;
	}
end:
	close(fd);
}

int queue_admin_show(const char *data_dir, const char *id, int64_t now, FILE *out,
		     const char **error_r)
{
	struct queue_env env;
	char notify[40], age[24];
	static const char *const rets[] = { "-", "FULL", "HDRS" };
	if (queue_read_env(data_dir, id, &env, error_r) < 0)
		return -1;
	clean_env(&env);
	span(now - env.arrival, age, sizeof age);
	fprintf(out, "id: %s\nsender: %s\narrival: %lld (%s ago)\nsize: %llu\n", env.id,
		shown_sender(&env), (long long)env.arrival, age, (unsigned long long)env.size);
	fprintf(out, "envid: %s\nret: %s\nbody: %s\nsmtputf8: %s\nwarned: %s\n",
		env.envid[0] ? env.envid : "-", rets[env.ret],
		env.body == QUEUE_BODY_8BITMIME ? "8BITMIME" : "7BIT",
		env.smtputf8 ? "yes" : "no", env.warned ? "yes" : "no");
	for (size_t k = 0; k < env.rcpt_count; k++) {
		const struct queue_rcpt *r = &env.rcpts[k];
		fprintf(out, "recipient: %s\n  state: %s\n  attempts: %u\n  next: %lld\n"
			"  orcpt: %s\n  notify: %s\n  remote: %s\n  reply: %s\n",
			r->addr, queue_state_name(r->state), r->attempts, (long long)r->next,
			r->orcpt[0] ? r->orcpt : "-", notify_text(r->notify, notify, sizeof notify),
			r->mta[0] ? r->mta : "-", r->reply[0] ? r->reply : "-");
	}
	fputc('\n', out);
	print_headers(data_dir, &env, out);
	queue_env_clear(&env);
	return 0;
}

/* Every recipient still to be tried due at now. */
static int due_now(struct queue_msg *m, int64_t now, const char **error_r)
{
	size_t *idx = calloc(m->env.rcpt_count + 1, sizeof *idx), n = 0;
	if (idx == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	for (size_t i = 0; i < m->env.rcpt_count; i++) {
		struct queue_rcpt *r = &m->env.rcpts[i];
		if (r->state == QUEUE_PENDING || r->state == QUEUE_DEFERRED) {
			r->next = now;
			idx[n++] = i;
		}
	}
	int r = queue_update(m, idx, n, error_r);
	free(idx);
	return r;
}

static int op_one(const char *data_dir, enum queue_admin_op op, const char *id, int64_t now,
		  const char **error_r)
{
	struct queue_msg m;
	if (queue_open(data_dir, id, false, &m, error_r) < 0)
		return -1;
	int r;
	switch (op) {
	case QUEUE_OP_DELETE:
		return queue_remove(&m, error_r);
	case QUEUE_OP_HOLD:
		r = queue_hold(&m, error_r);
		break;
	case QUEUE_OP_RELEASE:
		r = queue_release(&m, now, error_r);
		break;
	default:
		r = due_now(&m, now, error_r);
		break;
	}
	queue_close(&m);
	return r < 0 ? -1 : 0;
}

int queue_admin_op(const char *data_dir, enum queue_admin_op op, const char *id, int64_t now,
		   FILE *err, const char **error_r)
{
	int r = 0;
	if (id == NULL && op != QUEUE_OP_FLUSH) {
		*error_r = "needs a queue ID (or ALL)";
		return -1;
	}
	if (id != NULL && strcmp(id, "ALL") == 0) {
		struct id_list l;
		size_t failed = 0;
		if (list_ids(data_dir, &l, error_r) < 0)
			return -1;
		for (size_t i = 0; i < l.n; i++) {
			const char *e;
			if (op_one(data_dir, op, l.ids[i], now, &e) < 0 && errno != ENOENT) {
				fprintf(err, "postbox queue: %s: %s\n", l.ids[i], e);
				failed++;
			}
		}
		free(l.ids);
		if (failed > 0) {
			*error_r = "some messages were left as they were";
			r = -1;
		}
	} else if (id != NULL) {
		r = op_one(data_dir, op, id, now, error_r);
	}
	if (r == 0 && (op == QUEUE_OP_FLUSH || op == QUEUE_OP_RELEASE) &&
	    queue_request_flush(data_dir, error_r) < 0)
		r = -1;
	return r;
}
