#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cli/commands.h"
#include "auth/userdb.h"
#include "lib/config.h"
#include "lib/fs.h"

const char *cli_config_path(int *argc, char **argv)
{
	const char *path = NULL;
	for (int i = 1; i < *argc; i++) {
		if ((strcmp(argv[i], "-c") == 0 || strcmp(argv[i], "--config") == 0) &&
		    i + 1 < *argc) {
			path = argv[i + 1];
			memmove(&argv[i], &argv[i + 2], sizeof(char *) * (size_t)(*argc - i - 1));
			*argc -= 2;
			break;
		}
	}
	return path != NULL ? path : config_default_path();
}

int cli_fail(const char *group, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "postbox %s: ", group);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static char *read_line(FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, f);
	if (n < 0) {
		free(line);
		return NULL;
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return line;
}

static char *prompt_noecho(const char *prompt)
{
	struct termios old, quiet;
	fputs(prompt, stderr);
	fflush(stderr);
	int tty = tcgetattr(STDIN_FILENO, &old) == 0;
	if (tty) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *line = read_line(stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return line;
}

char *cli_read_password(int from_stdin, const char **error_r)
{
	if (from_stdin) {
		char *pw = read_line(stdin);
		if (pw == NULL || pw[0] == '\0') {
			free(pw);
			*error_r = "no password on standard input";
			return NULL;
		}
		return pw;
	}
	if (!isatty(STDIN_FILENO)) {
		*error_r = "standard input is not a terminal (use --password-stdin)";
		return NULL;
	}
	char *a = prompt_noecho("Password: ");
	char *b = a ? prompt_noecho("Again: ") : NULL;
	if (a == NULL || b == NULL || strcmp(a, b) != 0 || a[0] == '\0') {
		*error_r = a && b && a[0] ? "passwords do not match" : "no password given";
		free(a);
		free(b);
		return NULL;
	}
	free(b);
	return a;
}

struct first_error {
	char text[1024];
	bool have;
};

/* Keeps the first error and drops warnings: a config that serve would
 * start with is good enough for the admin commands, and STARTTLS or
 * listener warnings belong to "postbox check", not to every user change. */
static void keep_first_error(void *ctx, enum config_severity sev, const char *msg)
{
	struct first_error *fe = ctx;
	if (sev == CONFIG_ERROR && !fe->have) {
		snprintf(fe->text, sizeof fe->text, "%s", msg);
		fe->have = true;
	}
}

int cli_load_config(const char *group, const char *path, struct config *cfg)
{
	struct first_error fe = { "", false };
	if (config_parse(path, cfg, keep_first_error, &fe) == 0)
		return 0;
	return cli_fail(group, "%s", fe.have ? fe.text : "invalid configuration");
}

struct owner {
	uid_t uid;
	gid_t gid;
};

static int chown_one(int dirfd, const char *name, const struct stat *st, void *ctx)
{
	const struct owner *o = ctx;
	(void)st;
	return fchownat(dirfd, name, o->uid, o->gid, AT_SYMLINK_NOFOLLOW);
}

/* Each directory on the way to rel (rel itself excluded), beneath dfd. */
static int chown_path(int dfd, const char *rel, const struct owner *o)
{
	char part[PATH_MAX];
	for (const char *p = strchr(rel, '/'); p != NULL; p = strchr(p + 1, '/')) {
		snprintf(part, sizeof part, "%.*s", (int)(p - rel), rel);
		int fd = fs_open_beneath(dfd, part, O_PATH | O_DIRECTORY, 0);
		if (fd < 0 || fchownat(fd, "", o->uid, o->gid, AT_EMPTY_PATH) < 0) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
		close(fd);
	}
	return 0;
}

int cli_give_to_server_user(const char *group, const struct config *cfg, const char *rel)
{
	if (cfg->user[0] == '\0' || geteuid() != 0)
		return 0;
	struct passwd *pw = getpwnam(cfg->user);
	if (pw == NULL)
		return cli_fail(group, "[server] user %s does not exist", cfg->user);
	struct owner o = { pw->pw_uid, pw->pw_gid };
	int dfd = open(cfg->data_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return cli_fail(group, "%s: %s", cfg->data_dir, strerror(errno));
	int r = 0;
	for (size_t i = 0; i < USERDB_FILE_COUNT && r == 0; i++)
		r = fs_walk_tree_at(dfd, userdb_files[i], 0, chown_one, &o);
	if (r == 0 && rel != NULL) {
		/* No link followed: a user who owns their Maildir must not get
		 * root to chown anything outside it. */
		const char *last = strrchr(rel, '/');
		char parent[PATH_MAX];
		snprintf(parent, sizeof parent, "%.*s", last ? (int)(last - rel) : 0, rel);
		int pfd = chown_path(dfd, rel, &o) == 0 ?
			  fs_open_beneath(dfd, parent, O_RDONLY | O_DIRECTORY, 0) : -1;
		r = pfd < 0 ? -1 : fs_walk_tree_at(pfd, last ? last + 1 : rel, 16, chown_one, &o);
		if (pfd >= 0)
			close(pfd);
	}
	int e = errno;
	close(dfd);
	return r == 0 ? 0 : cli_fail(group, "chown below %s: %s", cfg->data_dir, strerror(e));
}
