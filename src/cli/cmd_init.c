/* Placeholder until the init command lands (being written now). */
#include "cli/commands.h"

int cmd_init(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail("init", "not built yet");
}
