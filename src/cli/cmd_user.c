/* postbox user add|del|passwd|list: the user directory from the command
 * line. Passwords come only from a terminal prompt or the first line of
 * standard input, never from argv, where any local user could read them in
 * /proc or ps. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth/address.h"
#include "auth/userdb.h"
#include "cli/commands.h"
#include "lib/config.h"
#include "lib/fs.h"
#include "store/store.h"

#define GROUP "user"

static const char usage_text[] =
	"usage: postbox user add ADDRESS [--password-stdin] [-c FILE]\n"
	"       postbox user del ADDRESS [-c FILE]\n"
	"       postbox user passwd ADDRESS [--password-stdin] [-c FILE]\n"
	"       postbox user list [-c FILE]\n"
	"\n"
	"  add      create a mail user and their Maildir; asks for the password\n"
	"           twice on a terminal\n"
	"  del      delete a user (their mail is kept on disk)\n"
	"  passwd   set a new password\n"
	"  list     print every user, one address per line\n"
	"\n"
	"  --password-stdin  read the password from the first line of standard input\n"
	"  -c FILE           the configuration (default $POSTBOX_CONF, then\n"
	"                    /etc/postbox/postbox.conf)\n"
	"\n"
	"Passwords are never accepted as arguments. See docs/cli-users.md.\n";

struct user_args {
	const char *sub;
	const char *address;
	bool password_stdin;
};

/* True when s can be quoted in a one-line error message as it is. */
static bool printable(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return true;
}

/* Refuses anything that looks like a password option without ever echoing
 * its value: "--password=hunter2" is reported as "--password". */
static int bad_option(const char *arg)
{
	size_t n = strcspn(arg, "=");
	if (strncmp(arg, "--pass", 6) == 0 || strncmp(arg, "-p", 2) == 0)
		return cli_fail(GROUP, "passwords are not accepted as arguments "
				"(use --password-stdin or the prompt)");
	if (strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0)
		return cli_fail(GROUP, "%s needs a file name", arg);
	if (!printable(arg) || n > 40)
		return cli_fail(GROUP, "unknown option");
	return cli_fail(GROUP, "unknown option %.*s (try --help)", (int)n, arg);
}

enum parse { PARSE_GO, PARSE_FAILED, PARSE_HELP };

static enum parse parse_args(int argc, char **argv, struct user_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			fputs(usage_text, stdout);
			return PARSE_HELP;
		}
		if (strcmp(arg, "--password-stdin") == 0) {
			a->password_stdin = true;
		} else if (arg[0] == '-' && arg[1] != '\0') {
			bad_option(arg);
			return PARSE_FAILED;
		} else if (a->sub == NULL) {
			a->sub = arg;
		} else if (a->address == NULL) {
			a->address = arg;
		} else {
			cli_fail(GROUP, "too many arguments (try --help)");
			return PARSE_FAILED;
		}
	}
	if (a->sub == NULL) {
		cli_fail(GROUP, "missing subcommand: add, del, passwd or list (try --help)");
		return PARSE_FAILED;
	}
	return PARSE_GO;
}

/* Checks ADDRESS and that its domain is ours; fills addr. */
static int check_address(const struct config *cfg, const char *s, struct address *addr)
{
	const char *err = NULL;
	if (address_parse(s, false, addr, &err) < 0) {
		if (printable(s))
			return cli_fail(GROUP, "%s: %s", s, err);
		return cli_fail(GROUP, "invalid address: %s", err);
	}
	if (!config_is_local_domain(cfg, addr->domain, strlen(addr->domain)))
		return cli_fail(GROUP, "%s: %s is not one of the [server] domains in %s",
				addr->address, addr->domain, cfg->path);
	return 0;
}

static int open_db(const struct config *cfg, struct userdb **db_r)
{
	const char *err = NULL;
	if (userdb_open(cfg->data_dir, db_r, &err) < 0)
		return cli_fail(GROUP, "cannot open %s/postbox.db: %s", cfg->data_dir, err);
	return 0;
}

/* DATA/mail/DOMAIN/LOCAL, 0700: the Maildir++ root with INBOX and the
 * special-use folders (Sent, Drafts, Trash, Junk, Archive), so mail
 * clients, and mutt reading in place, find them from the start. Existing
 * directories (a re-added user) are kept as they are. */
static int make_maildir(const struct config *cfg, const struct address *a,
			char *dir, size_t size)
{
	const char *err = NULL;
	struct mail_store *store = NULL;
	if (snprintf(dir, size, "%s/mail/%s/%s", cfg->data_dir, a->domain, a->local) >= (int)size)
		return cli_fail(GROUP, "mailbox path too long");
	if (mail_store_maildir_open(cfg->data_dir, a->domain, a->local, &store, &err) < 0 ||
	    mail_store_ensure_defaults(store, &err) < 0) {
		mail_store_free(&store);
		return cli_fail(GROUP, "%s: %s", dir, err ? err : strerror(errno));
	}
	mail_store_free(&store);
	char rel[PATH_MAX];
	snprintf(rel, sizeof rel, "mail/%s/%s", a->domain, a->local);
	return cli_give_to_server_user(GROUP, cfg, rel);
}

static void forget_password(char **pw)
{
	if (*pw == NULL)
		return;
	explicit_bzero(*pw, strlen(*pw));
	free(*pw);
	*pw = NULL;
}

/* add and passwd: the user must be absent (add) or present (passwd) before
 * the password is even asked for. */
static int user_set_password(const struct config *cfg, struct userdb *db,
			     const struct address *a, bool add, bool from_stdin)
{
	const char *err = NULL;
	int exists = userdb_user_exists(db, a->local, a->domain);
	if (exists < 0)
		return cli_fail(GROUP, "%s: user lookup failed", a->address);
	if (add && exists)
		return cli_fail(GROUP, "%s: user already exists", a->address);
	if (!add && !exists)
		return cli_fail(GROUP, "%s: no such user", a->address);
	char *pw = cli_read_password(from_stdin, &err);
	if (pw == NULL)
		return cli_fail(GROUP, "%s", err);
	char dir[PATH_MAX];
	int ret = 0;
	if (add && make_maildir(cfg, a, dir, sizeof dir) != 0)
		ret = 1;
	else if ((add ? userdb_user_add(db, a->address, pw, &err) :
		  userdb_user_passwd(db, a->address, pw, &err)) < 0)
		ret = cli_fail(GROUP, "%s: %s", a->address, err);
	forget_password(&pw);
	if (ret == 0 && add)
		printf("added %s (mail goes to %s)\n", a->address, dir);
	else if (ret == 0)
		printf("password changed for %s\n", a->address);
	return ret;
}

struct alias_scan {
	const char *address;
	size_t hits;
};

static void note_alias(const char *alias, const char *target, void *ctx)
{
	struct alias_scan *s = ctx;
	if (strcmp(target, s->address) == 0) {
		printf("note: alias %s still points to %s\n", alias, target);
		s->hits++;
	}
}

static int user_del(const struct config *cfg, struct userdb *db, const char *s)
{
	struct address a;
	const char *err = NULL;
	/* No domain check: a domain dropped from the config may still have
	 * users to clean up. */
	if (address_parse(s, false, &a, &err) < 0)
		return cli_fail(GROUP, "%s: %s", printable(s) ? s : "address", err);
	if (userdb_user_del(db, a.address, &err) < 0)
		return cli_fail(GROUP, "%s: %s", a.address, err);
	printf("deleted %s; the mail in %s/mail/%s/%s was kept (remove it by hand "
	       "when no longer needed)\n", a.address, cfg->data_dir, a.domain, a.local);
	struct alias_scan scan = { a.address, 0 };
	(void)userdb_alias_list(db, note_alias, &scan, &err);
	return 0;
}

static void print_user(const char *address, void *ctx)
{
	(void)ctx;
	printf("%s\n", address);
}

static int run_sub(const struct config *cfg, struct userdb *db, const struct user_args *a)
{
	const char *err = NULL;
	struct address addr;
	bool add = strcmp(a->sub, "add") == 0, passwd = strcmp(a->sub, "passwd") == 0;
	if (strcmp(a->sub, "list") == 0) {
		if (userdb_user_list(db, print_user, NULL, &err) < 0)
			return cli_fail(GROUP, "cannot list users: %s", err);
		return 0;
	}
	if (strcmp(a->sub, "del") == 0)
		return user_del(cfg, db, a->address);
	if (!add && !passwd)
		return 1;
	if (check_address(cfg, a->address, &addr) != 0)
		return 1;
	return user_set_password(cfg, db, &addr, add, a->password_stdin);
}

/* Checks the argument shape of a subcommand before touching any file. */
static int check_shape(const struct user_args *a)
{
	bool list = strcmp(a->sub, "list") == 0;
	bool with_pw = strcmp(a->sub, "add") == 0 || strcmp(a->sub, "passwd") == 0;
	if (!list && !with_pw && strcmp(a->sub, "del") != 0)
		return cli_fail(GROUP, "unknown subcommand %s (try --help)",
				printable(a->sub) && strlen(a->sub) < 40 ? a->sub : "");
	if (list && a->address != NULL)
		return cli_fail(GROUP, "list takes no address");
	if (!list && a->address == NULL)
		return cli_fail(GROUP, "%s needs an ADDRESS", a->sub);
	if (!with_pw && a->password_stdin)
		return cli_fail(GROUP, "--password-stdin only goes with add and passwd");
	return 0;
}

int cmd_user(int argc, char **argv)
{
	const char *path = cli_config_path(&argc, argv);
	struct user_args a = { 0 };
	enum parse p = parse_args(argc, argv, &a);
	if (p != PARSE_GO)
		return p == PARSE_HELP ? 0 : 1;
	if (check_shape(&a) != 0)
		return 1;
	struct config *cfg = calloc(1, sizeof *cfg);
	if (cfg == NULL)
		return cli_fail(GROUP, "out of memory");
	if (cli_load_config(GROUP, path, cfg) != 0) {
		free(cfg);
		return 1;
	}
	struct userdb *db = NULL;
	int ret = open_db(cfg, &db);
	if (ret == 0)
		ret = run_sub(cfg, db, &a);
	userdb_close(&db);
	/* postbox.db (and its log) made or written by root here stay the
	 * server's. */
	if (ret == 0)
		ret = cli_give_to_server_user(GROUP, cfg, NULL);
	free(cfg);
	return ret;
}
