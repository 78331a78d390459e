/* The IMAP engine (RFC 9051, RFC 3501) for the driver, on IMAP and IMAPS:
 * an imap/ session whose commands run as tasks on worker threads (they
 * use the mail store, which blocks), the password check, and IDLE's
 * watches on the selected folder. */
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
 * last one is being sent, unless the client is that far behind (so a
 * slow reader costs memory for a few slices, not for the whole answer). */
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

struct imap_conn {
	struct serve_conn base;      /* first */
	struct imap_session *session;
	struct serve_auth auth;      /* LOGIN, AUTHENTICATE */
	struct event *timer;         /* IDLE looks */
	bool polling;
	uint8_t idle_mode;           /* enum idle_mode */
	bool changed;                /* a change was reported since the last look began */
	bool look_soon;              /* the timer is set for a reported change */
	/* In IDLE_WATCH: the folder's new/, cur/ and index directory; the
	 * index's files, whose writes are the ones that count there. */
	struct watch_sub subs[SUB_COUNT];
	const char *const *index_files;
};

static void idle_stop(struct imap_conn *g)
{
	for (size_t i = 0; i < SUB_COUNT; i++)
		watch_remove(&g->subs[i]);
	g->idle_mode = IDLE_OFF;
	g->changed = false;
	g->look_soon = false;
}

static void imap_stop(struct serve_conn *sc)
{
	struct imap_conn *g = (struct imap_conn *)sc;
	idle_stop(g);
	serve_auth_fini(&g->auth);
	imap_session_free(&g->session);
	if (g->timer)
		event_free(g->timer);
}

static void start_task(struct imap_conn *g, bool poll);

static void arm_timer(struct imap_conn *g, unsigned ms)
{
	struct timeval tv = { ms / 1000, (long)(ms % 1000) * 1000 };
	evtimer_add(g->timer, &tv);
}

static void look_soon(struct imap_conn *g)
{
	if (!g->look_soon) {
		g->look_soon = true;
		arm_timer(g, WATCH_DELAY_MS);
	}
}

static bool is_index_file(const struct imap_conn *g, const char *name)
{
	for (const char *const *f = g->index_files; name != NULL && *f != NULL; f++)
		if (strcmp(*f, name) == 0)
			return true;
	return false;
}

/* A watch's news (see watch_cb: notes it and arms the timer). */
static void on_change(struct watch_sub *sub, enum watch_event ev, const char *name)
{
	struct imap_conn *g = sub->arg;
	if (ev == WATCH_EV_CHANGE && sub == &g->subs[SUB_INDEX] && !is_index_file(g, name))
		return;
	if (ev == WATCH_EV_LOST)
		g->idle_mode = IDLE_POLL;   /* until this IDLE ends */
	g->changed = true;
	/* A look in progress is followed by another (imap_next); a session
	 * saying goodbye looks no more. */
	if (!g->base.busy && imap_session_next(g->session) == IMAP_NEXT_IDLE)
		look_soon(g);
}

/* First thing in IDLE: subscribes to the selected folder's changes. The
 * IDLE command looked before the watches were there: what changed in
 * between is found by one look soon after. */
static void idle_start(struct imap_conn *g)
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
}

/* In IDLE, after the last look went out: when to look next. */
static void idle_wait(struct imap_conn *g)
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

/* What after the replies went out: the client's next command, under a
 * deadline for it or for the rest of one that has begun (a whole-command
 * deadline: its literals get min_data_rate's time on top). */
static enum serve_next imap_next(struct serve_conn *sc, bool begun, enum serve_wait *wait_r)
{
	struct imap_conn *g = (struct imap_conn *)sc;
	switch (imap_session_next(g->session)) {
	case IMAP_NEXT_RUN:
		return SERVE_NEXT_WORK;   /* a big FETCH goes out in slices */
	case IMAP_NEXT_STARTTLS:
		return SERVE_NEXT_STARTTLS;
	case IMAP_NEXT_CLOSE:
		return SERVE_NEXT_CLOSE;
	case IMAP_NEXT_AUTH:
		return serve_auth_waiting(&g->auth) ? SERVE_NEXT_HOLD : SERVE_NEXT_WORK;
	case IMAP_NEXT_IDLE:
		idle_wait(g);
		break;
	default:
		break;
	}
	if (!imap_session_logged_in(g->session))
		*wait_r = SERVE_WAIT_LOGIN;
	else
		*wait_r = begun ? SERVE_WAIT_COMMAND : SERVE_WAIT_IDLE;
	return SERVE_NEXT_READ;
}

static void run_task(struct worker_job *job)
{
	struct imap_conn *g = (struct imap_conn *)job;
	if (g->polling)
		/* Woken by the watches: a closed index connection costs
		 * nothing while it waits, and a reopen per change is cheap.
		 * Polling every IDLE_POLL_MS keeps it open. */
		imap_session_idle_poll(g->session, g->idle_mode == IDLE_WATCH);
	else
		imap_session_run(g->session);
}

/* The password check's answer, after its delay. */
static void auth_answer(struct serve_conn *sc, int result, bool close)
{
	imap_session_auth_done(((struct imap_conn *)sc)->session, result, close);
}

static void start_task(struct imap_conn *g, bool poll)
{
	g->polling = poll;
	serve_conn_submit(&g->base, run_task, NULL);
}

/* SERVE_NEXT_WORK: the next slice of a command, or a password check. */
static void imap_work(struct serve_conn *sc)
{
	struct imap_conn *g = (struct imap_conn *)sc;
	if (imap_session_next(g->session) == IMAP_NEXT_AUTH) {
		const char *user, *password;
		imap_session_credentials(g->session, &user, &password);
		serve_auth_check(&g->auth, user, password);
		return;
	}
	start_task(g, false);
}

static void timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct imap_conn *g = arg;
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

static int imap_start(struct serve_conn *sc)
{
	struct imap_conn *g = (struct imap_conn *)sc;
	struct conn *c = sc->conn;
	const struct config *cfg = &sc->cfg->cfg;
	struct imap_session_settings set = {
		.hostname = cfg->hostname,
		.cfg = cfg,
		.tls_available = sc->srv->tls_ctx != NULL,
		.plaintext_auth = cfg->plaintext_auth_loopback && conn_peer_is_loopback(c),
		.max_append = cfg->message_size,
		.max_errors = 20,
		.slice_messages = cfg->imap_slice,
	};
	serve_auth_init(&g->auth, sc, "imap", auth_answer);
	g->timer = evtimer_new(sc->srv->base, timer_fired, g);
	g->session = g->timer ? imap_session_new(&set, conn_id(c), conn_is_tls(c)) : NULL;
	return g->session != NULL ? 0 : -1;
}

static void imap_greet(struct serve_conn *sc)
{
	imap_session_greet(((struct imap_conn *)sc)->session);
}

static size_t imap_feed(struct serve_conn *sc, const char *data, size_t len)
{
	struct imap_conn *g = (struct imap_conn *)sc;
	if (serve_auth_waiting(&g->auth))
		return 0;
	size_t used = imap_session_input(g->session, data, len);
	if (imap_session_next(g->session) != IMAP_NEXT_IDLE) {
		evtimer_del(g->timer);
		idle_stop(g);
	}
	return used;
}

static struct buf *imap_output(struct serve_conn *sc)
{
	return imap_session_output(((struct imap_conn *)sc)->session);
}

static void imap_goodbye(struct serve_conn *sc, enum serve_bye why)
{
	struct imap_conn *g = (struct imap_conn *)sc;
	evtimer_del(g->timer);
	idle_stop(g);
	serve_auth_fini(&g->auth);
	imap_session_goodbye(g->session, why == SERVE_BYE_TIMEOUT ? "Autologout; idle for too long"
								 : "Server shutting down");
}

static void imap_tls_started(struct serve_conn *sc)
{
	imap_session_tls_started(((struct imap_conn *)sc)->session);
}

static void imap_setup(struct server *srv)
{
	(void)srv;
	mail_store_set_parser(&imap_msg_parser);
}

const struct serve_engine serve_imap_engine = {
	.name = "imap",
	.busy_reply = "* BYE Too many connections\r\n",
	.size = sizeof(struct imap_conn),
	/* RFC 9051 5.4: an autologout timer of at least 30 minutes. */
	.idle_seconds = 30 * 60 + 60,
	.output_keep = OUTPUT_KEEP,
	.high_water = OUTPUT_HIGH_WATER,
	.setup = imap_setup,
	.start = imap_start,
	.greet = imap_greet,
	.stop = imap_stop,
	.feed = imap_feed,
	.output = imap_output,
	.next = imap_next,
	.work = imap_work,
	.goodbye = imap_goodbye,
	.tls_started = imap_tls_started,
};
