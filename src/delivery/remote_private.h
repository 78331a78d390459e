#ifndef PB_DELIVERY_REMOTE_PRIVATE_H
#define PB_DELIVERY_REMOTE_PRIVATE_H
/* Inside remote delivery: one attempt (remote.c: its steps and groups)
 * and the SMTP session it runs on one connection (remote_session.c). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "delivery/remote.h"
#include "dns/dns.h"
#include "net/worker.h"
#include "queue/queue_store.h"
#include "smtp/smtp_client.h"
#include "net/conn.h"

struct conn;

/* What this attempt found for one recipient. */
struct remote_result {
	bool in_group;       /* belongs to the group being tried */
	bool decided;        /* has its fate for this attempt: no next address */
	bool tried;          /* an outcome to record (else untouched) */
	int code;            /* 250, 450, 550, ... */
	char *reply;         /* "550 5.1.1 ..." (malloc'd) */
	char mta[DNS_NAME_MAX + 1];   /* who said it, "" when we did */
	char relay[DNS_NAME_MAX + 80];  /* "host[addr]:port" for the log, or "none" */
};

/* Recipients with one next hop. */
struct remote_group {
	enum { HOP_MX, HOP_ROUTE, HOP_RELAY } kind;
	char domain[256];    /* HOP_MX: the recipients' domain */
	size_t route;        /* HOP_ROUTE: index in cfg->routes */
};

struct remote_attempt {
	struct worker_job job;           /* first: the pool's view */
	const struct remote_context *rc;
	struct config *cfg;              /* a copy */
	const struct queue_policy *policy;
	char id[QUEUE_ID_MAX + 1];
	int64_t now;
	remote_done_fn *done;
	void *done_ctx;

	/* step 1 and 4, on a worker */
	struct queue_msg msg;
	bool opened;
	int open_errno;
	const char *error;
	int64_t next_due;
	char bounce_id[QUEUE_ID_MAX + 1];  /* a notification queued, or "" */

	/* step 2 and 3 */
	struct remote_result *res;       /* one per recipient */
	size_t res_count;
	struct remote_group *groups;
	size_t *group_of;                /* per recipient: its group, SIZE_MAX: none */
	size_t group_count, group_i;
	struct dns_lookup *lookup;
	struct dns_route route;          /* of the hop being tried */
	size_t hop_i;                    /* HOP_RELAY: which smarthost */
	size_t target_i, addr_i;
	char last_error[512];            /* when no address answered */

	/* the connection being tried (remote_session.c) */
	struct conn *conn;
	struct smtp_client *client;
	bool client_closed;              /* hooks->closed came */
	bool sent;                       /* the message was handed to the engine */
	bool want_tls, tls_verify;
	char host[DNS_NAME_MAX + 1];
	char addr[64];
	unsigned short port;
	struct smtp_client_msg cmsg;
	struct smtp_client_rcpt *crcpts;
	size_t *cidx;                    /* cmsg recipient -> envelope index */
	char **orcpts;                   /* xtext-encoded, per cmsg recipient */
	char *envid;                     /* xtext-encoded, or NULL */
	uint64_t body_pos;
	char *body_buf;
	struct conn_service svc;
};

/* remote_stop() was called: no new connection, no new group. */
extern bool remote_stopping;

/* remote_session.c: tries the current address (a->route.targets
 * [target_i].addrs[addr_i]) for the recipients of the group that are not
 * decided; remote_next_address() is called when that is over, whatever
 * happened. 0, or -1 when nothing could start (the cause is in
 * a->last_error; the caller moves on). */
int remote_session_start(struct remote_attempt *a);
/* remote.c: the connection to the current address is over. */
void remote_next_address(struct remote_attempt *a);
/* remote_record.c: step 4, then remote_finish(). */
void remote_record(struct remote_attempt *a);
/* remote.c: calls done and frees the attempt. */
void remote_finish(struct remote_attempt *a);
/* remote.c: sets recipient i's outcome (reply is copied). */
void remote_set_result(struct remote_attempt *a, size_t i, int code, const char *reply,
		       bool decided);

#endif
