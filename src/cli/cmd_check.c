/* Placeholder until the check command lands (being written now). */
#include "cli/commands.h"

int cmd_check(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return cli_fail("check", "not built yet");
}
