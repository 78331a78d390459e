#ifndef PB_CLI_COMMANDS_H
#define PB_CLI_COMMANDS_H
/* One entry point per command group. argv[0] is the group name ("user").
 * Each returns the process exit status: 0 success, 1 failure after printing
 * one line "postbox GROUP: cause" to stderr. */

int cmd_serve(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_user(int argc, char **argv);
int cmd_alias(int argc, char **argv);
/* Returns sysexits.h codes, as sendmail's callers expect. */
int cmd_sendmail(int argc, char **argv);
int cmd_queue(int argc, char **argv);

/* Shared by the server-side commands: finds -c FILE / --config FILE in argv
 * (removing it), else config_default_path(). */
const char *cli_config_path(int *argc, char **argv);
/* Loads the config for an admin command: 0, or 1 after printing its first
 * error as "postbox GROUP: FILE:LINE: ..." (warnings are not printed). */
struct config;
int cli_load_config(const char *group, const char *path, struct config *cfg);
/* Prints "postbox GROUP: message" to stderr and returns 1. */
int cli_fail(const char *group, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Reads a password: the first line of stdin with --password-stdin, else
 * from the terminal without echo (twice). Returns malloc'd or NULL. */
char *cli_read_password(int from_stdin, const char **error_r);
/* Run as root with [server] user set (not root), serve works as that user
 * after binding: postbox.db* and, with rel ("mail/DOMAIN/LOCAL", beneath
 * data_dir), the directories to it and its whole tree become theirs,
 * without following a link. 0, or 1 after printing the failure. */
int cli_give_to_server_user(const char *group, const struct config *cfg, const char *rel);

#endif
