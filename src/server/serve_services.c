/* The table of services: each [listen] service, the engine that serves
 * it and in which role. A service that an engine already speaks is one
 * more row: submission (587) and submissions (465) are the SMTP engine
 * in its submission role (AUTH before MAIL), the second with implicit
 * TLS; the local injection socket is the SMTP engine in a role of
 * its own (SERVE_SERVICE_LOCAL). The driver does not change for them: an engine reads its role
 * from sc->service and its peer from sc->conn (conn_peer, conn_is_tls;
 * on a local socket the caller's Unix user, conn_peer_uid). */
#include <stddef.h>

#include "server/serve.h"
#include "smtp/smtp_server.h"

static const struct serve_service table[] = {
	{ LISTEN_SMTP, &serve_smtp_engine, SMTP_ROLE_MX, false },
	{ LISTEN_SUBMISSION, &serve_smtp_engine, SMTP_ROLE_SUBMISSION, false },
	{ LISTEN_SUBMISSIONS, &serve_smtp_engine, SMTP_ROLE_SUBMISSION, true },
	{ SERVE_SERVICE_LOCAL, &serve_smtp_engine, SMTP_ROLE_LOCAL, false },
	{ LISTEN_IMAP, &serve_imap_engine, 0, false },
	{ LISTEN_IMAPS, &serve_imap_engine, 0, true },
	{ LISTEN_POP3, &serve_pop3_engine, 0, false },
	{ LISTEN_POP3S, &serve_pop3_engine, 0, true },
};

#define TABLE_SIZE (sizeof table / sizeof table[0])

void serve_services_init(struct server *srv)
{
	for (size_t i = 0; i < TABLE_SIZE; i++) {
		const struct serve_engine *e = table[i].engine;
		bool first = true;
		for (size_t j = 0; j < i && first; j++)
			first = table[j].engine != e;
		if (first && e->setup != NULL)
			e->setup(srv);
		serve_driver_bind(srv, &table[i]);
	}
}
