/* Glue for IMAP and IMAPS: a net/ connection and an imap/ session whose
 * commands run as tasks on worker threads (they use the mail store and
 * password hashing, which block). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "server/serve.h"
#include "server/serve_auth.h"
#include "imap/imap_message.h"
#include "imap/imap_session.h"
#include "lib/log.h"
#include "net/watch.h"
#include "store/store.h"

/* RFC 9051 5.4: an autologout timer of at least 30 minutes. */
#define IMAP_IDLE_SECONDS (30 * 60 + 60)
/* IDLE waits for the kernel to report changes in the folder's new/ and
 * cur/ and in the index (net/watch.h), and then looks (polls) once:
 * thousands of IDLE sessions cost nothing while nothing changes.
 *
 * How long a reported change waits for its look: the rest of a burst (a
 * delivery's rename and index commit, a STORE's renames and commit)
 * joins it, and a session looks at most ten times a second. */
#define WATCH_DELAY_MS 100
/* The safety look while watching, as Dovecot's mailbox_idle_check_interval
 * (30 s): for what inotify cannot see (changes made on another host of a
 * network file system). The kernel reports overflows and removed
 * directories, so nothing is missed silently on a local disk. Spread over
 * SAFETY_SPREAD_MS so that sessions which started together do not all
 * look in the same instant; at 5,000 sessions this is ~150 looks a
 * second, against 12,500 at IDLE_POLL_MS. */
#define SAFETY_POLL_MS (30 * 1000)
#define SAFETY_SPREAD_MS 5000
/* Without watches (no inotify, a watch limit reached, a directory that
 * went): looks this often, within the one second promised with room for
 * the look itself. */
#define IDLE_POLL_MS 400
/* Two FETCH slices (imap_cmd_fetch.c): the next slice is made while the
 * last one is being sent, unless the client is that far behind. */
#define OUTPUT_HIGH_WATER (2 * 1024 * 1024)
/* Output storage an idle session may keep; a big reply's is given back. */
#define OUTPUT_KEEP (64 * 1024)

/* How an IDLE session learns of changes. */
enum idle_mode {
	IDLE_OFF,        /* not in IDLE */
	IDLE_WATCH,      /* watches, and a safety look now and then */
	IDLE_POLL,       /* looks every IDLE_POLL_MS */
	IDLE_QUIET,      /* no folder selected: nothing to look at */
};

enum { SUB_NEW, SUB_CUR, SUB_INDEX, SUB_COUNT };

struct imap_glue {
	struct serve_glue base;      /* first */
	struct imap_session *session;
	struct serve_auth auth;      /* LOGIN, AUTHENTICATE */
	struct event *timer;         /* IDLE looks */
	bool polling;
	bool wait_drain;             /* the next slice waits for the client to read */
	uint8_t idle_mode;           /* enum idle_mode */
	bool changed;                /* a change was reported since the last look began */
	bool look_soon;              /* the timer is set for a reported change */
	/* In IDLE_WATCH: the folder's new/, cur/ and index directory; the
	 * index's files, whose writes are the ones that count there. */
	struct watch_sub subs[SUB_COUNT];
	const char *const *index_files;
};

static void idle_stop(struct imap_glue *g)
{
	for (size_t i = 0; i < SUB_COUNT; i++)
		watch_remove(&g->subs[i]);
	g->idle_mode = IDLE_OFF;
	g->changed = false;
	g->look_soon = false;
}

static void glue_free(struct serve_glue *base)
{
	struct imap_glue *g = (struct imap_glue *)base;
	idle_stop(g);
	serve_auth_fini(&g->auth);
	imap_session_free(&g->session);
	serve_glue_fini(&g->base);
	if (g->timer)
		event_free(g->timer);
	free(g);
}

static void start_task(struct imap_glue *g, bool poll);

static void arm_timer(struct imap_glue *g, unsigned ms)
{
	struct timeval tv = { ms / 1000, (long)(ms % 1000) * 1000 };
	evtimer_add(g->timer, &tv);
}

static void look_soon(struct imap_glue *g)
{
	if (!g->look_soon) {
		g->look_soon = true;
		arm_timer(g, WATCH_DELAY_MS);
	}
}

static bool is_index_file(const struct imap_glue *g, const char *name)
{
	for (const char *const *f = g->index_files; name != NULL && *f != NULL; f++)
		if (strcmp(*f, name) == 0)
			return true;
	return false;
}

/* A watch's news (see watch_cb: notes it and arms the timer). */
static void on_change(struct watch_sub *sub, enum watch_event ev, const char *name)
{
	struct imap_glue *g = sub->arg;
	if (ev == WATCH_EV_CHANGE && sub == &g->subs[SUB_INDEX] && !is_index_file(g, name))
		return;
	if (ev == WATCH_EV_LOST)
		g->idle_mode = IDLE_POLL;   /* until this IDLE ends */
	g->changed = true;
	/* A look in progress is followed by another (proceed); a session
	 * saying goodbye looks no more. */
	if (!g->base.busy && imap_session_next(g->session) == IMAP_NEXT_IDLE)
		look_soon(g);
}

/* First thing in IDLE: subscribes to the selected folder's changes. The
 * IDLE command looked before the watches were there: what changed in
 * between is found by one look soon after. */
static void idle_start(struct imap_glue *g)
{
	struct watch *w = g->base.srv->watch;
	struct mail_folder *f = imap_session_selected(g->session);
	struct mail_watch_paths p;
	const char *err = NULL;
	g->changed = false;
	g->look_soon = false;
	if (f == NULL) {
		g->idle_mode = IDLE_QUIET;
		return;
	}
	g->idle_mode = IDLE_POLL;
	if (w == NULL || mail_folder_watch_paths(f, &p) < 0 || p.entry_dir_count > SUB_INDEX)
		return;
	g->index_files = p.index_files;
	for (size_t i = 0; i < p.entry_dir_count; i++)
		if (watch_add(w, &g->subs[i], p.entry_dirs[i], WATCH_ENTRIES, on_change, g,
			      &err) < 0)
			goto fail;
	if (watch_add(w, &g->subs[SUB_INDEX], p.index_dir, WATCH_WRITES, on_change, g,
		      &err) < 0)
		goto fail;
	g->idle_mode = IDLE_WATCH;
	g->changed = true;
	return;
fail:
	/* watch_add logged it; this IDLE polls (idle_stop leaves the mode
	 * off, which would never look again). */
	idle_stop(g);
	g->idle_mode = IDLE_POLL;
	g->idle_mode = IDLE_POLL;
}

/* In IDLE, after the last look went out: when to look next. */
static void idle_wait(struct imap_glue *g)
{
	if (g->idle_mode == IDLE_OFF)
		idle_start(g);
	switch (g->idle_mode) {
	case IDLE_WATCH:
		if (g->changed)
			look_soon(g);
		else
			arm_timer(g, SAFETY_POLL_MS +
				     (unsigned)(((uintptr_t)g >> 6) % SAFETY_SPREAD_MS));
		break;
	case IDLE_POLL:
		arm_timer(g, IDLE_POLL_MS);
		break;
	default:
		break;
	}
}

/* The deadline for the client's next command, or for the rest of one
 * that has begun (a whole-command deadline: its literals get
 * min_data_rate's time on top). */
static void wait_next(struct imap_glue *g, bool begun)
{
	if (!imap_session_logged_in(g->session))
		serve_glue_wait(&g->base, SERVE_WAIT_LOGIN);
	else
		serve_glue_wait(&g->base, begun ? SERVE_WAIT_COMMAND : SERVE_WAIT_IDLE);
}

/* Sends the output, then does what the session wants next; begun: the
 * client's next command has begun to arrive. */
static void proceed_after(struct imap_glue *g, bool begun)
{
	struct buf *out = imap_session_output(g->session);
	enum imap_next next = imap_session_next(g->session);
	/* Not serve_glue_send: a FETCH slice (1 MiB) is handed over, not
	 * copied. */
	conn_write_buf(g->base.conn, out);
	if (next != IMAP_NEXT_RUN)
		buf_shrink(out, OUTPUT_KEEP);
	switch (next) {
	case IMAP_NEXT_RUN:
		/* A big FETCH goes out in slices; the next one is made only while
		 * no more than about two wait to be sent, so a slow reader costs
		 * memory for a few slices, not for the whole answer. */
		if (conn_output_pending(g->base.conn) > OUTPUT_HIGH_WATER) {
			g->wait_drain = true;
			conn_pause(g->base.conn);
		} else {
			start_task(g, false);
		}
		break;
	case IMAP_NEXT_STARTTLS:
		if (conn_starttls(g->base.conn) < 0)
			conn_close_after_flush(g->base.conn);
		break;
	case IMAP_NEXT_CLOSE:
		conn_close_after_flush(g->base.conn);
		break;
	case IMAP_NEXT_IDLE:
		idle_wait(g);
		wait_next(g, begun);
		conn_resume(g->base.conn);
		break;
	case IMAP_NEXT_AUTH: {
		const char *user, *password;
		if (g->base.busy || serve_auth_waiting(&g->auth))
			break;
		imap_session_credentials(g->session, &user, &password);
		serve_auth_check(&g->auth, user, password);
		break;
	}
	default:
		wait_next(g, begun);
		conn_resume(g->base.conn);
		break;
	}
}

static void proceed(struct imap_glue *g)
{
	proceed_after(g, false);
}

static void run_task(struct worker_job *job)
{
	struct imap_glue *g = (struct imap_glue *)job;
	if (g->polling)
		/* Woken by the watches: a closed index connection costs
		 * nothing while it waits, and a reopen per change is cheap.
		 * Polling every IDLE_POLL_MS keeps it open. */
		imap_session_idle_poll(g->session, g->idle_mode == IDLE_WATCH);
	else
		imap_session_run(g->session);
}

static void task_done(struct worker_job *job)
{
	struct imap_glue *g = (struct imap_glue *)job;
	if (!serve_glue_back(&g->base))
		return;
	if (g->base.shutting_down) {
		imap_session_goodbye(g->session, "Server shutting down");
		proceed(g);
		return;
	}
	proceed(g);
}

/* The password check's answer, after its delay. */
static void auth_answer(struct serve_glue *base, int result, bool close)
{
	struct imap_glue *g = (struct imap_glue *)base;
	imap_session_auth_done(g->session, result, close);
	if (g->base.shutting_down)
		imap_session_goodbye(g->session, "Server shutting down");
	proceed(g);
}

static void start_task(struct imap_glue *g, bool poll)
{
	g->polling = poll;
	serve_glue_submit(&g->base, run_task, task_done);
}

static void timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct imap_glue *g = arg;
	(void)fd;
	(void)what;
	if (g->base.busy)
		return;
	if (imap_session_next(g->session) == IMAP_NEXT_IDLE &&
	    buf_str(imap_session_output(g->session)).len == 0) {
		/* What is reported from now on may be missed by this look. */
		g->changed = false;
		g->look_soon = false;
		start_task(g, true);
	}
}

static void *imap_open(struct conn *c, void *service_ctx)
{
	struct server *srv = service_ctx;
	struct imap_glue *g = calloc(1, sizeof *g);
	if (g == NULL)
		return NULL;
	serve_glue_init(&g->base, srv, c, glue_free);
	const struct config *cfg = &g->base.cfg->cfg;
	struct imap_session_settings set = {
		.hostname = cfg->hostname,
		.cfg = cfg,
		.tls_available = srv->tls_ctx != NULL,
		.plaintext_auth = cfg->plaintext_auth_loopback && conn_peer_is_loopback(c),
		.max_append = cfg->message_size,
		.max_errors = 20,
		.slice_messages = cfg->imap_slice,
	};
	serve_auth_init(&g->auth, &g->base, "imap", auth_answer);
	g->timer = evtimer_new(srv->base, timer_fired, g);
	g->session = g->timer ? imap_session_new(&set, conn_id(c), conn_is_tls(c)) : NULL;
	if (g->session == NULL) {
		glue_free(&g->base);
		return NULL;
	}
	g->base.idle_seconds = IMAP_IDLE_SECONDS;
	imap_session_greet(g->session);
	proceed(g);
	return g;
}

static size_t imap_input(void *session, const char *data, size_t len)
{
	struct imap_glue *g = session;
	if (g->base.busy || serve_auth_waiting(&g->auth))
		return 0;
	size_t used = imap_session_input(g->session, data, len);
	if (imap_session_next(g->session) != IMAP_NEXT_IDLE) {
		evtimer_del(g->timer);
		idle_stop(g);
	}
	proceed_after(g, used > 0);
	return used;
}

static void imap_timeout(void *session)
{
	struct imap_glue *g = session;
	idle_stop(g);
	serve_auth_fini(&g->auth);
	imap_session_goodbye(g->session, "Autologout; idle for too long");
	serve_glue_send(&g->base, imap_session_output(g->session));
}

static void imap_drained(void *session)
{
	struct imap_glue *g = session;
	if (g->wait_drain && !g->base.busy) {
		g->wait_drain = false;
		start_task(g, false);
	}
}

static void imap_tls_ready(void *session)
{
	struct imap_glue *g = session;
	imap_session_tls_started(g->session);
	proceed(g);
}

static void imap_shutdown(void *session)
{
	struct imap_glue *g = session;
	if (serve_glue_shutdown_later(&g->base))
		return;
	evtimer_del(g->timer);
	idle_stop(g);
	serve_auth_fini(&g->auth);
	imap_session_goodbye(g->session, "Server shutting down");
	proceed(g);
}

static void imap_close(void *session)
{
	struct imap_glue *g = session;
	serve_glue_close(&g->base);
}

static const struct conn_proto imap_proto = {
	.name = "imap",
	.open = imap_open,
	.input = imap_input,
	.timeout = imap_timeout,
	.tls_ready = imap_tls_ready,
	.shutdown = imap_shutdown,
	.drained = imap_drained,
	.close = imap_close,
};

void serve_imap_init(struct server *srv)
{
	struct conn_service svc = {
		.proto = &imap_proto,
		.ctx = srv,
		.tls_ctx = &srv->tls_ctx,
		.tls_timeout = srv->cfg->timeout_tls,
		.busy_reply = "* BYE Too many connections\r\n",
	};
	srv->services[LISTEN_IMAP] = svc;
	svc.implicit_tls = true;
	srv->services[LISTEN_IMAPS] = svc;
	mail_store_set_parser(&imap_msg_parser);
}
