/* The local role: mail injected through the unix socket by postbox
 * sendmail. Who may send as whom is decided from the Unix user the kernel
 * names (SO_PEERCRED), as Postfix's postdrop leaves it to the file
 * system: root and the server's own user may use any sender (they stand
 * for the system: cron, bounces, <>); anybody else only an address whose
 * local part is their login name (or login+detail) in one of the [server]
 * domains or the hostname (docs/sendmail.md). */
#include "smtp/smtp_server_private.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/config.h"

bool smtp_role_completes(const struct smtp_server *s)
{
	return s->set.role == SMTP_ROLE_SUBMISSION || s->set.role == SMTP_ROLE_LOCAL;
}

/* Whether local is the login, or the login with a "+detail". */
static bool own_local(const char *login, const char *local)
{
	size_t n = strlen(login);
	return n > 0 && strncasecmp(local, login, n) == 0 && (local[n] == '\0' || local[n] == '+');
}

static bool own_domain(const struct smtp_server *s, const char *domain)
{
	size_t len = strlen(domain);
	if (len > 0 && domain[len - 1] == '.')
		len--;
	return config_is_local_domain(s->set.cfg, domain, strlen(domain)) ||
	       (strlen(s->set.hostname) == len && strncasecmp(s->set.hostname, domain, len) == 0);
}

bool smtp_local_mail_allowed(struct smtp_server *s, const struct smtp_cmd *cmd)
{
	char addr[SMTP_LOCAL_MAX + 2 + SMTP_DOMAIN_MAX + 1];
	if (s->set.local_any_sender)
		return true;
	if (cmd->null_path) {
		smtp_reply(s, "553 5.7.1 <>: Sender address rejected: not allowed for uid %lu",
			   s->set.local_uid);
		return false;
	}
	if (cmd->mailbox.literal || !own_local(s->local_user, cmd->mailbox.local) ||
	    !own_domain(s, cmd->mailbox.domain)) {
		(void)smtp_mailbox_format(&cmd->mailbox, addr, sizeof addr);
		smtp_reply(s, "553 5.7.1 <%s>: Sender address rejected: not owned by uid %lu%s%s",
			   addr, s->set.local_uid, s->local_user[0] ? " " : "", s->local_user);
		return false;
	}
	return true;
}
