/* Placeholder until the alias command lands (being written now). */
#include "cli/commands.h"

int cmd_alias(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail("alias", "not built yet");
}
