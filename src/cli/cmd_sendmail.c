/* postbox sendmail (also run as "sendmail" or "mailq"): a program on the
 * server hands a message to the running daemon through its local socket
 * ([listen] local), which takes it like any SMTP client's, with the same
 * durability: exit 0 only after the daemon's 250. The daemon knows the
 * calling Unix user from the socket (SO_PEERCRED) and decides which
 * senders that user may use (docs/sendmail.md). Exit codes are
 * sysexits.h's, as sendmail's callers expect. */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "client/sendmail.h"
#include "client/smtp_run.h"
#include "lib/config.h"
#include "queue/queue_admin.h"
#include "queue/queue_store.h"
#include "smtp/smtp_parse.h"

#define HEADER_MAX (1024 * 1024)
#define LINE_MAX_IN (64 * 1024)
#define ADDR_MAX 320

static const char usage_text[] =
	"usage: postbox sendmail [-t] [-i] [-f FROM] [-F NAME] [-N DSN] [-R full|hdrs]\n"
	"                        [-V ENVID] [-C FILE] [RCPT...]   (message on stdin)\n"
	"       postbox sendmail -bp        list the queue (as mailq)\n"
	"       postbox sendmail -q         try every queued message now\n"
	"\n"
	"  -t       take recipients from To:, Cc: and Bcc: (Bcc: is removed)\n"
	"  -i, -oi  a line with a single \".\" does not end the message\n"
	"  -f FROM  envelope sender (as the daemon allows the calling user)\n"
	"  -F NAME  full name for the From: line the message lacks\n"
	"Exit status as sysexits.h: 0 sent, 64 usage, 65 bad input, 69 refused,\n"
	"75 try again later, 77 sender not allowed, 78 configuration. See\n"
	"docs/sendmail.md.\n";

static int fail(int code, const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "postbox sendmail: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return code;
}

/* ---- input: the header section, then the rest of stdin ---- */

struct input {
	const struct sendmail_opts *o;
	struct sendmail_header h;
	struct buf pending;        /* a line read and not yet given */
	size_t h_off, p_off;
	bool eof;
};

static int source_read(void *ctx, char *p, size_t max, size_t *n_r, bool *eof_r)
{
	struct input *in = ctx;
	size_t n = 0;
	while (n < max) {
		if (in->h_off < in->h.text.len) {
			size_t k = in->h.text.len - in->h_off;
			k = k < max - n ? k : max - n;
			memcpy(p + n, in->h.text.data + in->h_off, k);
			in->h_off += k;
			n += k;
		} else if (in->p_off < in->pending.len) {
			size_t k = in->pending.len - in->p_off;
			k = k < max - n ? k : max - n;
			memcpy(p + n, in->pending.data + in->p_off, k);
			in->p_off += k;
			n += k;
		} else if (in->eof || in->h.ended) {
			break;
		} else {
			int r = sendmail_read_line(stdin, in->o, &in->pending);
			in->p_off = 0;
			if (r < 0)
				return -1;
			if (r == 0)
				in->eof = true;
		}
	}
	*n_r = n;
	*eof_r = in->h_off == in->h.text.len && in->p_off == in->pending.len &&
		 (in->eof || in->h.ended);
	return 0;
}

/* ---- the socket ---- */

static long sock_read(void *ctx, char *p, size_t max)
{
	return (long)recv(*(int *)ctx, p, max, 0);
}

static int sock_write(void *ctx, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(*(int *)ctx, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int connect_daemon(const struct config *cfg, char *path, size_t pathlen)
{
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	if (config_local_socket(cfg, path, pathlen) < 0 || strlen(path) >= sizeof un.sun_path) {
		errno = ENOENT;
		return -1;
	}
	memcpy(un.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	/* A daemon that stops answering does not hold the caller forever. */
	struct timeval tv = { 600, 0 };
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	if (connect(fd, (struct sockaddr *)&un, sizeof un) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* ---- the envelope ---- */

struct envelope {
	char sender[ADDR_MAX + 1];
	struct smtp_client_rcpt *rcpts;
	char (*addrs)[ADDR_MAX + 1];
	size_t count;
	bool utf8;
};

static bool printable_addr(const char *a)
{
	for (const unsigned char *p = (const unsigned char *)a; *p != '\0'; p++) {
		if (*p < 0x21 || *p == 0x7f || *p == '<' || *p == '>')
			return false;
	}
	return a[0] != '\0' && strlen(a) <= ADDR_MAX;
}

static bool has_8bit(const char *a)
{
	for (; *a != '\0'; a++) {
		if ((unsigned char)*a > 0x7f)
			return true;
	}
	return false;
}

/* addr, "@domain" added when it has none. */
static int qualify(const char *addr, const char *domain, char out[ADDR_MAX + 1])
{
	int n = strchr(addr, '@') != NULL ? snprintf(out, ADDR_MAX + 1, "%s", addr) :
		snprintf(out, ADDR_MAX + 1, "%s@%s", addr, domain);
	return n > 0 && n <= ADDR_MAX && printable_addr(out) ? 0 : -1;
}

static int add_rcpt(struct envelope *e, const char *addr, const char *domain, unsigned notify)
{
	if (qualify(addr, domain, e->addrs[e->count]) < 0)
		return -1;
	e->utf8 |= has_8bit(e->addrs[e->count]);
	e->rcpts[e->count] = (struct smtp_client_rcpt){ .address = e->addrs[e->count],
							.notify = notify };
	e->count++;
	return 0;
}

static unsigned parse_notify(const char *s)
{
	if (s == NULL)
		return 0;
	if (strcmp(s, "never") == 0)
		return SMTP_NOTIFY_NEVER;
	return (strstr(s, "success") ? SMTP_NOTIFY_SUCCESS : 0) |
	       (strstr(s, "failure") ? SMTP_NOTIFY_FAILURE : 0) |
	       (strstr(s, "delay") ? SMTP_NOTIFY_DELAY : 0);
}

/* The calling user's login: who the daemon will see. */
static const char *login_name(void)
{
	struct passwd *pw = getpwuid(getuid());
	return pw != NULL ? pw->pw_name : "nobody";
}

/* ---- the outcome ---- */

static int verdict(const struct envelope *e, const struct smtp_run_result *res)
{
	int worst = SENDMAIL_EX_OK;
	for (size_t i = 0; i < e->count; i++) {
		const struct smtp_run_rcpt *r = &res->rcpts[i];
		if (r->done && r->fate == SMTP_FATE_SENT)
			continue;
		int code = !r->done || r->fate == SMTP_FATE_DEFER ? SENDMAIL_EX_TEMPFAIL :
			   strstr(r->text, " 5.7.") != NULL ? SENDMAIL_EX_NOPERM :
			   r->code == 550 || r->code == 551 ? SENDMAIL_EX_NOUSER :
			   SENDMAIL_EX_UNAVAILABLE;
		fprintf(stderr, "postbox sendmail: <%s>: %s\n", e->addrs[i],
			r->done ? r->text : res->error[0] ? res->error : "not sent");
		/* A refusal for good outranks "try again": retrying won't help. */
		if (worst == SENDMAIL_EX_OK || worst == SENDMAIL_EX_TEMPFAIL)
			worst = code;
	}
	return worst;
}

static int send_message(const struct sendmail_opts *o, const struct config *cfg)
{
	const char *domain = cfg->domain_count > 0 ? cfg->domains[0] : cfg->hostname;
	struct input in = { .o = o };
	buf_init(&in.pending, LINE_MAX_IN);
	struct envelope e = { 0 };
	size_t cap = o->rcpt_count + 1;
	const char *error = NULL;
	int ret = SENDMAIL_EX_OSERR;
	if (sendmail_read_header(stdin, o, HEADER_MAX, domain, &in.h, &in.pending, &error) < 0) {
		ret = fail(errno == EIO ? SENDMAIL_EX_IOERR : SENDMAIL_EX_DATAERR, "%s%s", error,
			   "");
		goto out;
	}
	cap += in.h.rcpt_count;
	e.rcpts = calloc(cap, sizeof *e.rcpts);
	e.addrs = calloc(cap, sizeof *e.addrs);
	if (e.rcpts == NULL || e.addrs == NULL)
		goto out;
	unsigned notify = parse_notify(o->notify);
	for (size_t i = 0; i < o->rcpt_count; i++) {
		if (add_rcpt(&e, o->rcpts[i], domain, notify) < 0) {
			ret = fail(SENDMAIL_EX_USAGE, "bad recipient address: %.200s%s", o->rcpts[i], "");
			goto out;
		}
	}
	const char *p = in.h.rcpts.data;
	for (size_t i = 0; i < in.h.rcpt_count; i++, p += strlen(p) + 1) {
		if (add_rcpt(&e, p, domain, notify) < 0) {
			ret = fail(SENDMAIL_EX_DATAERR, "bad recipient address in the header: %.200s%s",
				   p, "");
			goto out;
		}
	}
	if (e.count == 0) {
		ret = fail(SENDMAIL_EX_USAGE, "no recipients (give them, or -t with To:/Cc:/Bcc:)%s%s",
			   "", "");
		goto out;
	}
	if (e.count > SMTP_CLIENT_RCPT_MAX) {
		ret = fail(SENDMAIL_EX_USAGE, "more than 1000 recipients%s%s", "", "");
		goto out;
	}
	/* -f '<>' or -f '': the null sender (RFC 5321 4.5.5), as sendmail. */
	bool null_sender = o->sender != NULL && (o->sender[0] == '\0' ||
						 strcmp(o->sender, "<>") == 0);
	if (!null_sender &&
	    qualify(o->sender != NULL ? o->sender : login_name(), domain, e.sender) < 0) {
		ret = fail(SENDMAIL_EX_USAGE, "bad sender address: %.200s%s",
			   o->sender ? o->sender : login_name(), "");
		goto out;
	}
	if (!in.h.has_from && o->full_name != NULL) {
		struct buf from;
		buf_init(&from, HEADER_MAX + 1024);
		if (buf_printf(&from, "From: %s <%s>\n", o->full_name, e.sender) < 0 ||
		    buf_append(&from, in.h.text.data, in.h.text.len) < 0) {
			buf_free(&from);
			goto out;
		}
		buf_free(&in.h.text);
		in.h.text = from;
	}
	char path[600];
	int fd = connect_daemon(cfg, path, sizeof path);
	if (fd < 0) {
		ret = fail(SENDMAIL_EX_TEMPFAIL, "cannot reach the postbox daemon at %s: %s", path,
			   strerror(errno));
		goto out;
	}
	struct smtp_client_msg msg = {
		.sender = e.sender, .rcpts = e.rcpts, .rcpt_count = e.count,
		.eight_bit = true, .smtputf8 = e.utf8 || has_8bit(e.sender),
		.ret = o->ret == NULL ? SMTP_RET_NONE :
		       strcmp(o->ret, "full") == 0 ? SMTP_RET_FULL : SMTP_RET_HDRS,
	};
	struct smtp_client_settings set = { .helo_name = "localhost", .tls = SMTP_CLIENT_TLS_OFF };
	struct smtp_run_io io = { .read = sock_read, .write = sock_write, .ctx = &fd };
	struct smtp_run_source src = { .read = source_read, .ctx = &in };
	struct smtp_run_result res = { .rcpts = calloc(e.count, sizeof *res.rcpts) };
	if (res.rcpts == NULL || smtp_run(&set, &io, &msg, &src, &res) < 0)
		ret = fail(SENDMAIL_EX_OSERR, "%s%s", res.rcpts ? res.error : "out of memory", "");
	else
		ret = verdict(&e, &res);
	free(res.rcpts);
	close(fd);
out:
	sendmail_header_free(&in.h);
	buf_free(&in.pending);
	free(e.rcpts);
	free(e.addrs);
	return ret;
}

int cmd_sendmail(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0) {
			fputs(usage_text, stdout);
			return 0;
		}
	}
	char **rcpts = calloc((size_t)argc + 1, sizeof *rcpts);
	struct sendmail_opts o;
	const char *error = NULL;
	if (rcpts == NULL)
		return SENDMAIL_EX_OSERR;
	int ret;
	if (sendmail_parse_args(argc, argv, &o, rcpts, &error) < 0) {
		ret = fail(SENDMAIL_EX_USAGE, "%s (see --help)%s", error, "");
		goto out;
	}
	/* "mailq" is sendmail -bp. */
	const char *base = strrchr(argv[0], '/');
	if (strcmp(base != NULL ? base + 1 : argv[0], "mailq") == 0)
		o.mode = SENDMAIL_MODE_QUEUE;
	struct config *cfg = malloc(sizeof *cfg);
	const char *path = o.config != NULL ? o.config : config_default_path();
	if (cfg == NULL || config_load_quiet(path, cfg, &error) < 0) {
		ret = fail(SENDMAIL_EX_CONFIG, "%s%s", cfg ? error : "out of memory", "");
		free(cfg);
		goto out;
	}
	if (o.mode == SENDMAIL_MODE_QUEUE)
		ret = queue_admin_list(cfg->data_dir, (int64_t)time(NULL), stdout, &error) < 0 ?
		      fail(SENDMAIL_EX_UNAVAILABLE, "%s%s", error, "") : 0;
	else if (o.mode == SENDMAIL_MODE_FLUSH)
		ret = queue_request_flush(cfg->data_dir, &error) < 0 ?
		      fail(SENDMAIL_EX_UNAVAILABLE, "%s%s", error, "") : 0;
	else
		ret = send_message(&o, cfg);
	free(cfg);
out:
	free(rcpts);
	return ret;
}
