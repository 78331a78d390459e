/* The message command family's table: the commands are being written;
 * each entry names the file that holds it. */
#include "imap/imap_private.h"

const struct imap_command_def imap_commands_message[] = {
	{ NULL, 0, 0, NULL, NULL },
};
