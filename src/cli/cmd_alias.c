/* postbox alias add|del|list: virtual aliases and catch-alls ("@domain").
 * A target in another domain is forwarded through the outbound queue. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/address.h"
#include "auth/userdb.h"
#include "cli/commands.h"
#include "lib/config.h"

#define GROUP "alias"

static const char usage_text[] =
	"usage: postbox alias add ALIAS TARGET... [-c FILE]\n"
	"       postbox alias del ALIAS [TARGET...] [-c FILE]\n"
	"       postbox alias list [-c FILE]\n"
	"\n"
	"  add   deliver mail for ALIAS to each TARGET (adds to existing targets)\n"
	"  del   remove ALIAS, or only the given targets\n"
	"  list  print \"ALIAS TARGET\", one pair per line\n"
	"\n"
	"ALIAS is local@domain, or @domain for the domain's catch-all (mail for\n"
	"unknown addresses). Targets are users or other aliases in the [server]\n"
	"domains, or addresses elsewhere (forwarded through the queue).\n"
	"See docs/cli-users.md.\n";

struct alias_args {
	const char *sub;
	const char *alias;
	const char **targets;    /* points into argv */
	size_t count;
};

static bool printable(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	}
	return strlen(s) < 400;
}

static const char *shown(const char *s)
{
	return printable(s) ? s : "(unprintable)";
}

enum parse { PARSE_GO, PARSE_FAILED, PARSE_HELP };

/* targets is argv-sized storage for the TARGET arguments. */
static enum parse parse_args(int argc, char **argv, struct alias_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
			fputs(usage_text, stdout);
			return PARSE_HELP;
		}
		if (arg[0] == '-' && arg[1] != '\0') {
			size_t n = strcspn(arg, "=");
			if (strcmp(arg, "-c") == 0 || strcmp(arg, "--config") == 0)
				cli_fail(GROUP, "%s needs a file name", arg);
			else
				cli_fail(GROUP, "unknown option %.*s (try --help)",
					 n < 40 && printable(arg) ? (int)n : 0, arg);
			return PARSE_FAILED;
		}
		if (a->sub == NULL)
			a->sub = arg;
		else if (a->alias == NULL)
			a->alias = arg;
		else
			a->targets[a->count++] = arg;
	}
	if (a->sub == NULL) {
		cli_fail(GROUP, "missing subcommand: add, del or list (try --help)");
		return PARSE_FAILED;
	}
	return PARSE_GO;
}

static int check_shape(const struct alias_args *a)
{
	if (strcmp(a->sub, "list") == 0) {
		if (a->alias != NULL)
			return cli_fail(GROUP, "list takes no arguments");
		return 0;
	}
	if (strcmp(a->sub, "add") != 0 && strcmp(a->sub, "del") != 0)
		return cli_fail(GROUP, "unknown subcommand %s (try --help)",
				strlen(a->sub) < 40 ? shown(a->sub) : "");
	if (a->alias == NULL)
		return cli_fail(GROUP, "%s needs an ALIAS", a->sub);
	if (strcmp(a->sub, "add") == 0 && a->count == 0)
		return cli_fail(GROUP, "add needs at least one TARGET");
	return 0;
}

/* Every target must be a well-formed address; one in another domain is
 * forwarded through the outbound queue. */
static int check_targets(const struct config *cfg, const struct alias_args *a)
{
	const char *err = NULL;
	struct address t;
	(void)cfg;
	for (size_t i = 0; i < a->count; i++) {
		if (address_parse(a->targets[i], false, &t, &err) < 0)
			return cli_fail(GROUP, "%s: %s", shown(a->targets[i]), err);
	}
	return 0;
}

static void ignore_target(const char *target, void *ctx)
{
	(void)target;
	(void)ctx;
}

struct find_target {
	const char *address;
	bool found;
};

static void match_target(const char *target, void *ctx)
{
	struct find_target *f = ctx;
	if (strcmp(target, f->address) == 0)
		f->found = true;
}

/* Hints that save a debugging session later; they do not stop the add. */
static void add_notes(struct userdb *db, const struct address *alias,
		      const struct alias_args *a)
{
	struct address t;
	const char *err = NULL;
	struct find_target self = { alias->address, false };
	(void)userdb_alias_targets(db, alias->address, match_target, &self);
	if (alias->local[0] != '\0' && !self.found &&
	    userdb_user_exists(db, alias->local, alias->domain) == 1)
		printf("note: %s is also a user; the alias now takes their mail "
		       "(add %s as a target to keep a copy)\n", alias->address, alias->address);
	for (size_t i = 0; i < a->count; i++) {
		if (address_parse(a->targets[i], false, &t, &err) < 0)
			continue;
		if (userdb_user_exists(db, t.local, t.domain) != 1 &&
		    userdb_alias_targets(db, t.address, ignore_target, NULL) <= 0)
			printf("note: %s is not a user or an alias (yet)\n", t.address);
	}
}

static int alias_add(const struct config *cfg, struct userdb *db, const struct alias_args *a)
{
	struct address alias;
	const char *err = NULL;
	if (address_parse(a->alias, true, &alias, &err) < 0)
		return cli_fail(GROUP, "%s: %s", shown(a->alias), err);
	if (!config_is_local_domain(cfg, alias.domain, strlen(alias.domain)))
		return cli_fail(GROUP, "%s: %s is not one of the [server] domains in %s",
				alias.address, alias.domain, cfg->path);
	if (check_targets(cfg, a) != 0)
		return 1;
	if (userdb_alias_add(db, alias.address, a->targets, a->count, &err) < 0)
		return cli_fail(GROUP, "%s: %s", alias.address, err);
	add_notes(db, &alias, a);
	return 0;
}

static int alias_del(struct userdb *db, const struct alias_args *a)
{
	const char *err = NULL;
	/* Targets are not checked against the config: deleting must work for
	 * whatever is in the table. */
	if (userdb_alias_del(db, a->alias, a->count > 0 ? a->targets : NULL, a->count,
			     &err) < 0)
		return cli_fail(GROUP, "%s: %s", shown(a->alias), err);
	return 0;
}

static void print_pair(const char *alias, const char *target, void *ctx)
{
	(void)ctx;
	printf("%s %s\n", alias, target);
}

static int run_sub(const struct config *cfg, const struct alias_args *a)
{
	struct userdb *db = NULL;
	const char *err = NULL;
	if (userdb_open(cfg->data_dir, &db, &err) < 0)
		return cli_fail(GROUP, "cannot open %s/postbox.db: %s", cfg->data_dir, err);
	int ret;
	if (strcmp(a->sub, "add") == 0)
		ret = alias_add(cfg, db, a);
	else if (strcmp(a->sub, "del") == 0)
		ret = alias_del(db, a);
	else if (userdb_alias_list(db, print_pair, NULL, &err) < 0)
		ret = cli_fail(GROUP, "cannot list aliases: %s", err);
	else
		ret = 0;
	userdb_close(&db);
	if (ret == 0)
		ret = cli_give_to_server_user(GROUP, cfg, NULL);
	return ret;
}

int cmd_alias(int argc, char **argv)
{
	const char *path = cli_config_path(&argc, argv);
	const char **targets = calloc((size_t)argc + 1, sizeof *targets);
	struct config *cfg = calloc(1, sizeof *cfg);
	struct alias_args a = { .targets = targets };
	int ret = 1;
	if (targets == NULL || cfg == NULL) {
		ret = cli_fail(GROUP, "out of memory");
	} else {
		enum parse p = parse_args(argc, argv, &a);
		if (p == PARSE_HELP)
			ret = 0;
		else if (p == PARSE_GO && check_shape(&a) == 0) {
			if (cli_load_config(GROUP, path, cfg) == 0)
				ret = run_sub(cfg, &a);
		}
	}
	free(targets);
	free(cfg);
	return ret;
}
