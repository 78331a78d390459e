/* postbox: the one binary. Dispatches to a command group; when called as
 * "sendmail" it behaves as "postbox sendmail". */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/commands.h"

struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "serve", cmd_serve, "run every configured service in the foreground" },
	{ "init", cmd_init, "write a config, key and certificate for a domain" },
	{ "check", cmd_check, "validate a configuration file" },
	{ "user", cmd_user, "add, delete, list users or change a password" },
	{ "alias", cmd_alias, "add, delete or list aliases" },
	{ "queue", cmd_queue, "list, show, flush, delete, hold or release queued mail" },
	{ "sendmail", cmd_sendmail, "hand a message on stdin to the daemon, as sendmail(1)" },
};

/* Programs call /usr/sbin/sendmail and mailq: a link to postbox by those
 * names is that command. */
static bool called_as(const char *argv0, const char *name)
{
	const char *base = strrchr(argv0, '/');
	return strcmp(base != NULL ? base + 1 : argv0, name) == 0;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: postbox COMMAND [ARGS] (COMMAND --help for more)\n\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

int main(int argc, char **argv)
{
	/* Mail, indexes and user directories are nobody else's business:
	 * whatever a library creates (SQLite's -wal and -shm) is 0600 / 0700;
	 * what must be readable by others is given its mode explicitly. */
	umask(077);
	if (called_as(argv[0], "sendmail") || called_as(argv[0], "mailq"))
		return cmd_sendmail(argc, argv);
	if (argc < 2) {
		usage(stderr);
		return 1;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	}
	fprintf(stderr, "postbox: unknown command '%s' (try postbox --help)\n", argv[1]);
	return 1;
}
