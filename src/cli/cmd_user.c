/* Placeholder until the user command lands (being written now). */
#include "cli/commands.h"

int cmd_user(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail("user", "not built yet");
}
