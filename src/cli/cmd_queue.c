/* postbox queue list|show|flush|delete|hold|release [ID]: arguments only;
 * the work is queue/queue_admin.c's. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/commands.h"
#include "lib/config.h"
#include "queue/queue_admin.h"

#define GROUP "queue"

static const char usage_text[] =
	"usage: postbox queue list [-c FILE]\n"
	"       postbox queue show ID [-c FILE]\n"
	"       postbox queue flush [ID|ALL] [-c FILE]\n"
	"       postbox queue delete|hold|release ID|ALL [-c FILE]\n"
	"\n"
	"  list     every queued message: id, age, size, sender, then each\n"
	"           recipient with its state, attempts and last error\n"
	"  show     one message's envelope and headers\n"
	"  flush    ask the running daemon to try every message (or ID) now\n"
	"  delete   remove a message from the queue, without a bounce\n"
	"  hold     stop delivery attempts for a message until release\n"
	"  release  make a held message due again, now\n"
	"\n"
	"A message being delivered at that moment is refused (try again).\n"
	"See docs/queue.md.\n";

static const struct {
	const char *name;
	int op;            /* enum queue_admin_op, or -1: list, -2: show */
	int args;          /* 0: none, 1: ID required, 2: ID optional */
} subs[] = {
	{ "list", -1, 0 }, { "show", -2, 1 }, { "flush", QUEUE_OP_FLUSH, 2 },
	{ "delete", QUEUE_OP_DELETE, 1 }, { "hold", QUEUE_OP_HOLD, 1 },
	{ "release", QUEUE_OP_RELEASE, 1 },
};

static bool printable(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

/* 0 and *sub_r, *id_r; 1 after printing a failure; 2 for --help. */
static int parse_args(int argc, char **argv, size_t *sub_r, const char **id_r)
{
	const char *sub = NULL, *id = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage_text, stdout);
			return 2;
		}
		if (a[0] == '-' && a[1] != '\0') {
			if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0)
				return cli_fail(GROUP, "%s needs a file name", a);
			return cli_fail(GROUP, "unknown option %.40s (try --help)",
					printable(a) ? a : "");
		}
		if (sub == NULL)
			sub = a;
		else if (id == NULL)
			id = a;
		else
			return cli_fail(GROUP, "too many arguments (try --help)");
	}
	if (sub == NULL)
		return cli_fail(GROUP, "missing subcommand: list, show, flush, delete, hold "
				"or release (try --help)");
	for (size_t k = 0; k < sizeof subs / sizeof subs[0]; k++) {
		if (strcmp(sub, subs[k].name) != 0)
			continue;
		if (subs[k].args == 0 && id != NULL)
			return cli_fail(GROUP, "%s takes no ID", sub);
		if (subs[k].args == 1 && id == NULL)
			return cli_fail(GROUP, "%s needs a queue ID", sub);
		if (id != NULL && !printable(id))
			return cli_fail(GROUP, "bad queue ID");
		*sub_r = k;
		*id_r = id;
		return 0;
	}
	return cli_fail(GROUP, "unknown subcommand %.40s (try --help)", printable(sub) ? sub : "");
}

/* The daemon runs as [server] user and must keep reading and locking
 * what this command writes (a rewritten envelope is a new file): run as
 * root, the command works as that user, as Postfix's postsuper works as
 * the mail owner. */
static int become_server_user(const struct config *cfg)
{
	if (geteuid() != 0 || cfg->user[0] == '\0' || strcmp(cfg->user, "root") == 0)
		return 0;
	struct passwd *pw = getpwnam(cfg->user);
	if (pw == NULL)
		return cli_fail(GROUP, "[server] user %s does not exist", cfg->user);
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		return cli_fail(GROUP, "cannot become %s: %s", cfg->user, strerror(errno));
	return 0;
}

static int run(const struct config *cfg, size_t k, const char *id)
{
	const char *err = NULL;
	int64_t now = (int64_t)time(NULL);
	int r;
	if (subs[k].op == -1)
		r = queue_admin_list(cfg->data_dir, now, stdout, &err);
	else if (subs[k].op == -2)
		r = queue_admin_show(cfg->data_dir, id, now, stdout, &err);
	else
		r = queue_admin_op(cfg->data_dir, (enum queue_admin_op)subs[k].op, id, now, stderr,
				   &err);
	if (r < 0)
		return id != NULL ? cli_fail(GROUP, "%.40s: %s", id, err) : cli_fail(GROUP, "%s", err);
	return fflush(stdout) == 0 ? 0 : cli_fail(GROUP, "cannot write the output");
}

int cmd_queue(int argc, char **argv)
{
	const char *path = cli_config_path(&argc, argv);
	const char *id = NULL;
	size_t k = 0;
	int p = parse_args(argc, argv, &k, &id);
	if (p != 0)
		return p == 2 ? 0 : 1;
	struct config *cfg = calloc(1, sizeof *cfg);
	if (cfg == NULL)
		return cli_fail(GROUP, "out of memory");
	int ret = cli_load_config(GROUP, path, cfg);
	if (ret == 0)
		ret = become_server_user(cfg);
	if (ret == 0)
		ret = run(cfg, k, id);
	free(cfg);
	return ret;
}
