/* queue_tool: drives the real queue API for the integration tests
 * (tests/integration/test_queue.py), where no daemon path fills the queue
 * yet. Not installed.
 *
 *   queue_tool enqueue DATA [--ret FULL|HDRS] [--envid X] [--notify N]
 *              [--arrival T] SENDER RCPT[=ORCPT]...   (message on stdin)
 *   queue_tool attempt DATA ID INDEX CODE MTA REPLY [NOW]
 *   queue_tool bounce DATA ID HOSTNAME failed|delayed [NOW]
 *   queue_tool crash DATA COUNT BATCH     "ok ID" after each durable batch
 *   queue_tool recover DATA               spool_clean at start: "removed N"
 *   queue_tool bench DATA N               cost of a durable state update
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/fs.h"
#include "queue/bounce.h"
#include "queue/queue_sched.h"
#include "queue/queue_store.h"
#include "queue/spool.h"

static int fail(const char *what, const char *err)
{
	fprintf(stderr, "queue_tool: %s: %s (%s)\n", what, err, strerror(errno));
	return 1;
}

static char *read_stdin(size_t *len_r)
{
	size_t cap = 1 << 16, len = 0;
	char *p = malloc(cap);
	size_t n;
	while (p != NULL && (n = fread(p + len, 1, cap - len, stdin)) > 0) {
		len += n;
		if (len == cap)
			p = realloc(p, cap *= 2);
	}
	*len_r = len;
	return p;
}

/* The spool file as the SMTP server writes it: Return-Path, then the
 * message with LF line ends. */
static int write_spool(const char *data, const char *sender, const char *msg, size_t len,
		       struct queue_env *env, struct spool_file *sf, const char **err)
{
	char rp[600];
	int n = snprintf(rp, sizeof rp, "Return-Path: <%s>\n", sender);
	if (spool_create(data, env->id, sf, err) < 0 || spool_append(sf, rp, (size_t)n) < 0)
		return -1;
	char *lf = malloc(len + 1);
	size_t o = 0;
	if (lf == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!(msg[i] == '\r' && i + 1 < len && msg[i + 1] == '\n'))
			lf[o++] = msg[i];
	}
	int r = spool_append(sf, lf, o);
	free(lf);
	if (r < 0)
		return -1;
	env->offset = (uint64_t)n;
	env->size = sf->size;
	return 0;
}

static unsigned parse_notify(const char *s)
{
	unsigned n = 0;
	if (strstr(s, "NEVER"))
		n |= QUEUE_NOTIFY_NEVER;
	if (strstr(s, "SUCCESS"))
		n |= QUEUE_NOTIFY_SUCCESS;
	if (strstr(s, "FAILURE"))
		n |= QUEUE_NOTIFY_FAILURE;
	if (strstr(s, "DELAY"))
		n |= QUEUE_NOTIFY_DELAY;
	return n;
}

static int cmd_enqueue(int argc, char **argv)
{
	const char *data = argv[2], *err;
	struct queue_env env;
	char id[QUEUE_ID_MAX + 1];
	int i = 3;
	enum queue_ret ret = QUEUE_RET_NONE;
	const char *envid = "";
	unsigned notify = 0;
	int64_t arrival = (int64_t)time(NULL);
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "--ret") == 0)
			ret = strcmp(argv[i + 1], "FULL") == 0 ? QUEUE_RET_FULL : QUEUE_RET_HDRS;
		else if (strcmp(argv[i], "--envid") == 0)
			envid = argv[i + 1];
		else if (strcmp(argv[i], "--notify") == 0)
			notify = parse_notify(argv[i + 1]);
		else if (strcmp(argv[i], "--arrival") == 0)
			arrival = strtoll(argv[i + 1], NULL, 10);
	}
	if (i + 1 >= argc)
		return fail("enqueue", "needs SENDER and RCPT");
	queue_new_id(id);
	if (queue_env_init(&env, id, argv[i], &err) < 0)
		return fail("enqueue", err);
	env.ret = ret;
	env.arrival = arrival;
	queue_env_set_str(&env.envid, envid, QUEUE_ENVID_MAX);
	for (int k = i + 1; k < argc; k++) {
		char *eq = strchr(argv[k], '=');
		if (eq != NULL)
			*eq++ = '\0';
		if (queue_env_add_rcpt(&env, argv[k], eq, notify, &err) < 0)
			return fail("enqueue", err);
	}
	size_t len;
	char *msg = read_stdin(&len);
	struct spool_file sf;
	if (msg == NULL || write_spool(data, argv[i], msg, len, &env, &sf, &err) < 0)
		return fail("spool", "cannot write");
	struct queue_commit c = { .env = &env, .spool_path = sf.path, .spool_fd = sf.fd };
	struct queue_commit *cp = &c;
	queue_commit_batch(data, &cp, 1);
	spool_remove(&sf);
	if (c.error != NULL)
		return fail("commit", c.error);
	printf("%s\n", id);
	queue_env_clear(&env);
	free(msg);
	return 0;
}

static void policy(struct queue_policy *p)
{
	struct config cfg;
	memset(&cfg, 0, sizeof cfg);
	cfg.retry[0] = 300;
	cfg.retry[1] = 600;
	cfg.retry_count = 2;
	cfg.max_age = 5 * 86400;
	queue_policy_from_config(p, &cfg);
}

static int cmd_attempt(int argc, char **argv)
{
	struct queue_msg m;
	struct queue_policy p;
	const char *err;
	if (argc < 8)
		return fail("attempt", "needs DATA ID INDEX CODE MTA REPLY");
	size_t i = strtoul(argv[4], NULL, 10);
	int64_t now = argc > 8 ? strtoll(argv[8], NULL, 10) : (int64_t)time(NULL);
	policy(&p);
	if (queue_open(argv[2], argv[3], true, &m, &err) < 0)
		return fail("open", err);
	if (i >= m.env.rcpt_count ||
	    queue_record_attempt(&p, &m.env, i, (int)strtol(argv[5], NULL, 10), argv[6], argv[7], now) < 0 ||
	    queue_update(&m, &i, 1, &err) < 0)
		return fail("attempt", "cannot record");
	queue_close(&m);
	return 0;
}

static int cmd_bounce(int argc, char **argv)
{
	struct queue_msg m;
	const char *err;
	if (argc < 6)
		return fail("bounce", "needs DATA ID HOSTNAME failed|delayed");
	int64_t now = argc > 6 ? strtoll(argv[6], NULL, 10) : (int64_t)time(NULL);
	enum bounce_kind kind = strcmp(argv[5], "delayed") == 0 ? BOUNCE_DELAYED : BOUNCE_FAILED;
	if (queue_open(argv[2], argv[3], true, &m, &err) < 0)
		return fail("open", err);
	size_t idx[64], n = 0;
	for (size_t i = 0; i < m.env.rcpt_count && n < 64; i++) {
		enum queue_rcpt_state s = m.env.rcpts[i].state;
		if (kind == BOUNCE_FAILED ? s == QUEUE_BOUNCED : s == QUEUE_DEFERRED)
			idx[n++] = i;
	}
	struct bounce_out out;
	int r = bounce_prepare(argv[2], argv[4], &m.env, m.msg_fd, kind, idx, n, now,
			       m.env.arrival + 5 * 86400, &out, &err);
	if (r < 0)
		return fail("bounce", err);
	if (r == 1) {
		printf("none\n");
		queue_close(&m);
		return 0;
	}
	struct queue_commit c = { .env = &out.env, .spool_path = out.spool.path,
				  .spool_fd = out.spool.fd };
	struct queue_commit *cp = &c;
	queue_commit_batch(argv[2], &cp, 1);
	if (c.error != NULL)
		return fail("commit", c.error);
	printf("%s\n", out.env.id);
	bounce_out_clear(&out);
	queue_close(&m);
	return 0;
}

/* Enqueues COUNT messages, BATCH at a time (one group commit each), and
 * says "ok ID" for each as soon as its batch is durable: what a server
 * would acknowledge. The crash test kills it at a random moment. */
static int cmd_crash(int argc, char **argv)
{
	const char *data = argv[2], *err;
	long count = argc > 3 ? strtol(argv[3], NULL, 10) : 100;
	long batch = argc > 4 ? strtol(argv[4], NULL, 10) : 8;
	if (batch < 1 || batch > 64)
		return fail("crash", "BATCH must be 1..64");
	struct queue_env env[64];
	struct spool_file sf[64];
	struct queue_commit c[64], *cp[64];
	char body[8192];
	for (long done = 0; done < count; done += batch) {
		long n = count - done < batch ? count - done : batch;
		for (long k = 0; k < n; k++) {
			char id[QUEUE_ID_MAX + 1];
			queue_new_id(id);
			if (queue_env_init(&env[k], id, "s@a.test", &err) < 0 ||
			    queue_env_add_rcpt(&env[k], "r@remote.test", NULL, 0, &err) < 0)
				return fail("crash", err);
			env[k].arrival = (int64_t)time(NULL);
			/* Content the test can check: the id, then a known pattern. */
			int len = snprintf(body, sizeof body, "Subject: %s\n\n", id);
			for (size_t i = (size_t)len; i + 1 < sizeof body; i++)
				body[i] = (char)('a' + i % 26);
			body[sizeof body - 2] = '\n';
			if (write_spool(data, "s@a.test", body, sizeof body - 1, &env[k], &sf[k],
					&err) < 0)
				return fail("spool", err);
			c[k] = (struct queue_commit){ &env[k], sf[k].path, sf[k].fd, NULL };
			cp[k] = &c[k];
		}
		queue_commit_batch(data, cp, (size_t)n);
		for (long k = 0; k < n; k++) {
			if (c[k].error == NULL)
				printf("ok %s\n", env[k].id);
			spool_remove(&sf[k]);
			queue_env_clear(&env[k]);
		}
		fflush(stdout);
	}
	return 0;
}

static int cmd_recover(char **argv)
{
	printf("removed %zu\n", spool_clean(argv[2]));
	return 0;
}

static double secs_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One recipient's state made durable, N times, both ways: appended to
 * the envelope (fdatasync) and by a rewrite (write-new, fsync, rename,
 * fsync of the directory). Uses message ID (enqueue one first). */
static int cmd_bench(int argc, char **argv)
{
	struct queue_msg m;
	struct queue_policy p;
	const char *err;
	struct timespec t0;
	long n = argc > 4 ? strtol(argv[4], NULL, 10) : 200;
	policy(&p);
	if (queue_open(argv[2], argv[3], true, &m, &err) < 0)
		return fail("open", err);
	size_t i = 0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long k = 0; k < n; k++) {
		m.env.rcpts[0].attempts = (unsigned)k;
		if (queue_update(&m, &i, 1, &err) < 0)
			return fail("update", err);
	}
	double append = secs_since(&t0) / (double)n;
	char path[QUEUE_PATH_MAX];
	struct buf b;
	buf_init(&b, QUEUE_ENV_FILE_MAX);
	snprintf(path, sizeof path, "%s/queue/active/%s.env", argv[2], argv[3]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long k = 0; k < n; k++) {
		buf_reset(&b);
		m.env.rcpts[0].attempts = (unsigned)k;
		if (queue_env_format(&m.env, &b) < 0 ||
		    fs_write_file_durable(path, b.data, b.len, 0600, &err) < 0)
			return fail("rewrite", err);
	}
	double rewrite = secs_since(&t0) / (double)n;
	printf("recipients %zu, envelope %zu octets: append+fdatasync %.0f us, "
	       "rewrite+rename+dir fsync %.0f us, ratio %.2f\n", m.env.rcpt_count, b.len,
	       append * 1e6, rewrite * 1e6, rewrite / append);
	buf_free(&b);
	queue_close(&m);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: queue_tool enqueue|attempt|bounce|crash|recover|bench DATA ...\n");
		return 2;
	}
	if (strcmp(argv[1], "enqueue") == 0)
		return cmd_enqueue(argc, argv);
	if (strcmp(argv[1], "attempt") == 0)
		return cmd_attempt(argc, argv);
	if (strcmp(argv[1], "bounce") == 0)
		return cmd_bounce(argc, argv);
	if (strcmp(argv[1], "crash") == 0)
		return cmd_crash(argc, argv);
	if (strcmp(argv[1], "recover") == 0)
		return cmd_recover(argv);
	if (strcmp(argv[1], "bench") == 0 && argc > 3)
		return cmd_bench(argc, argv);
	fprintf(stderr, "queue_tool: unknown command %s\n", argv[1]);
	return 2;
}
