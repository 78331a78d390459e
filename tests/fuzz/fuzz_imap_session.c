/* libFuzzer: the whole IMAP session (command reader, argument parsers,
 * every command handler, the mail store behind them) fed arbitrary bytes
 * in arbitrary pieces, before and after login, commands run at once where
 * the server would use a worker thread.
 *
 * The first input byte picks: bit 0 log in first (and allow plaintext
 * logins), bit 1 also SELECT
 * INBOX, bit 2 TLS already on, bit 3 IMAP4rev2 enabled, bits 4-7 the
 * piece size. The store lives in one scratch directory made at start
 * (removed at exit) and is wiped every few thousand runs so it does not
 * grow without end. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imap/imap_session.h"
#include "lib/config.h"
#include "lib/log.h"

static struct config cfg;
static char data_dir[64];
static unsigned long runs;

static int verify(const char *user, const char *password)
{
	if (strcmp(password, "error") == 0)
		return -1;
	return strcmp(user, "v@a.test") == 0 && strcmp(password, "secret") == 0;
}

static void wipe(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s/mail'", data_dir);
	if (system(cmd) != 0)
		abort();
}

static void cleanup(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", data_dir);
	if (system(cmd) != 0)
		return;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(data_dir, sizeof data_dir, "/var/tmp/pb-fuzzimap-XXXXXX");
	if (mkdtemp(data_dir) == NULL)
		abort();
	atexit(cleanup);
	config_defaults(&cfg);
	snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s", data_dir);
	snprintf(cfg.domains[0], sizeof cfg.domains[0], "a.test");
	cfg.domain_count = 1;
	/* The session logs every BAD: to syslog, to keep the fuzzer's own
	 * output (and a sanitizer's report) readable on stderr. */
	log_use_syslog("fuzz_imap_session");
	return 0;
}

/* What the transport does; false once the session wants to close. */
static bool step(struct imap_session *s)
{
	switch (imap_session_next(s)) {
	case IMAP_NEXT_RUN:
		imap_session_run(s);
		break;
	case IMAP_NEXT_AUTH: {
		const char *u, *p;
		imap_session_credentials(s, &u, &p);
		imap_session_auth_done(s, verify(u, p), u[0] == 'x');
		break;
	}
	case IMAP_NEXT_STARTTLS:
		imap_session_tls_started(s);
		break;
	case IMAP_NEXT_IDLE:
		imap_session_idle_poll(s, true);   /* the sleeping store: reopened next */
		break;
	case IMAP_NEXT_CLOSE:
		return false;
	default:
		break;
	}
	buf_reset(imap_session_output(s));
	return true;
}

static bool feed(struct imap_session *s, const char *data, size_t size, size_t piece)
{
	size_t used = 0;
	unsigned stuck = 0;
	while (used < size) {
		enum imap_next next = imap_session_next(s);
		if (next == IMAP_NEXT_READ || next == IMAP_NEXT_IDLE) {
			size_t n = size - used < piece ? size - used : piece;
			size_t u = imap_session_input(s, data + used, n);
			used += u;
			/* Input refused while the session says READ: a bug. */
			if (u > 0 || imap_session_next(s) != next)
				stuck = 0;
			else if (++stuck > 3)
				abort();
		}
		if (!step(s))
			return false;
	}
	/* Let a command that wants slices finish. */
	for (int i = 0; i < 100000 && imap_session_next(s) == IMAP_NEXT_RUN; i++)
		step(s);
	return imap_session_next(s) != IMAP_NEXT_RUN;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (++runs % 4096 == 0)
		wipe();
	uint8_t mode = data[0];
	struct imap_session_settings set = {
		.hostname = "mx.a.test",
		.cfg = &cfg,
		.tls_available = true,
		.plaintext_auth = (mode & 1) != 0,
		.max_append = 65536,
		.max_errors = 20,
	};
	struct imap_session *s = imap_session_new(&set, "fz", mode & 4);
	if (s == NULL)
		return 0;
	imap_session_greet(s);
	buf_reset(imap_session_output(s));
	static const char login[] = "L1 LOGIN v@a.test secret\r\n";
	static const char rev2[] = "L2 ENABLE IMAP4rev2\r\n";
	static const char select[] = "L3 SELECT INBOX\r\n";
	bool open = true;
	if (mode & 1) {
		open = feed(s, login, sizeof login - 1, sizeof login);
		if (open && (mode & 8))
			open = feed(s, rev2, sizeof rev2 - 1, sizeof rev2);
		if (open && (mode & 2))
			open = feed(s, select, sizeof select - 1, sizeof select);
	}
	size_t piece = (size_t)(mode >> 4) * 7 + 1;
	if (open)
		feed(s, (const char *)data + 1, size - 1, piece);
	imap_session_free(&s);
	return 0;
}
