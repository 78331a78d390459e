/* postbox serve: every configured service in the foreground. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "server/serve.h"

int cmd_serve(int argc, char **argv)
{
	const char *config_path = cli_config_path(&argc, argv);
	if (argc > 1) {
		if (strcmp(argv[1], "--help") == 0) {
			printf("usage: postbox serve [-c FILE]\n"
			       "Runs every service configured in FILE in the foreground.\n"
			       "SIGTERM/SIGINT stop cleanly, SIGHUP reloads config and TLS.\n");
			return 0;
		}
		return cli_fail("serve", "unexpected argument '%s'", argv[1]);
	}
	const char *err = NULL;
	if (server_run(config_path, &err) < 0)
		return cli_fail("serve", "%s", err ? err : "cannot start");
	return 0;
}
