#ifndef PB_SERVER_SERVE_PRIV_H
#define PB_SERVER_SERVE_PRIV_H
/* Root and the privileged parent of postbox serve (see serve_priv.c). */

#include <stdbool.h>
#include <stddef.h>

#include "lib/config.h"

/* Refuses root without [server] user: -1 with a one-line error naming the
 * cause and the fix. */
int serve_priv_check(const struct config *cfg, const char **error_r);
/* When serve will drop root (root, with a [server] user other than root)
 * and has a TLS key: forks. Returns 0 in the server (*link_r its end of
 * the socket pair, -1 when there is no parent), 1 in the parent once the
 * server has exited (*exit_status_r its status), -1 on failure. Call it
 * before any thread, socket or store exists. */
int serve_priv_fork(const char *config_path, const struct config *cfg, int *link_r,
		    int *exit_status_r, const char **error_r);
/* After binding: gives DATA, DATA/mail and postbox.db* to [server] user
 * and becomes that user for good (nothing when not root or user = root). */
int serve_priv_drop(const struct config *cfg, const char **error_r);

/* The server's side. Asks the parent for the certificate and key (0/-1). */
int serve_priv_request(int link);
/* What the parent read for a reload: the configuration (it may name
 * files only root can read, which config_load checks) and the PEM texts. */
struct serve_creds {
	struct config cfg;
	char *buf;
	const char *cert, *key;      /* PEM, in buf */
	size_t cert_len, key_len;
};
/* Reads the parent's answer when link is readable: 1 with c filled (clear
 * it; c is large: not on a small stack), 2 when the parent could not read
 * them (error_r says why), 0 when nothing was there, -1 when the parent
 * is gone or misbehaved. */
int serve_priv_receive(int link, struct serve_creds *c, const char **error_r);
/* Wipes and frees. */
void serve_creds_clear(struct serve_creds *c);

#endif
