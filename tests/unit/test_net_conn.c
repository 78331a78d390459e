/* Outbound connections (conn_connect) against our own accepting side on
 * loopback: plain, implicit TLS and STARTTLS, certificate name checks
 * (required and not), a refused port and a handshake that never comes.
 * And the local side: a unix-domain listener whose peers are known by
 * their Unix user. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <event2/event.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "net/conn.h"
#include "net/limits.h"
#include "net/listener.h"
#include "net/tls.h"

#define NAME "mx.test.example"

static struct event_base *base;
static SSL_CTX *server_ctx, *client_ctx, *client_ctx_untrusting;
static char ca_path[64];

/* --- a self-signed certificate for NAME, made in memory --- */

static char *pem_of(int (*write)(BIO *, void *), void *obj, size_t *len_r)
{
	BIO *b = BIO_new(BIO_s_mem());
	assert_int_equal(write(b, obj), 1);
	char *p;
	long n = BIO_get_mem_data(b, &p);
	char *out = malloc((size_t)n + 1);
	memcpy(out, p, (size_t)n);
	out[n] = '\0';
	*len_r = (size_t)n;
	BIO_free(b);
	return out;
}

static int write_cert(BIO *b, void *x) { return PEM_write_bio_X509(b, x); }
static int write_key(BIO *b, void *k)
{
	return PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL);
}

static void add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
}

static void make_contexts(void)
{
	EVP_PKEY *k = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -60);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, k);
	X509_NAME *n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)NAME, -1, -1, 0);
	X509_set_issuer_name(x, n);
	add_ext(x, NID_basic_constraints, "critical,CA:TRUE");
	add_ext(x, NID_subject_alt_name, "DNS:" NAME);
	assert_true(X509_sign(x, k, EVP_sha256()) > 0);

	size_t cert_len, key_len;
	char *cert = pem_of(write_cert, x, &cert_len);
	char *key = pem_of(write_key, k, &key_len);
	const char *error = NULL;
	server_ctx = tls_server_ctx_new_pem(cert, cert_len, key, key_len, "cert", "key", &error);
	assert_non_null(server_ctx);

	snprintf(ca_path, sizeof ca_path, "/tmp/pb-test-ca-XXXXXX");
	int fd = mkstemp(ca_path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, cert, cert_len), (ssize_t)cert_len);
	close(fd);
	client_ctx = tls_client_ctx_new(ca_path, &error);
	assert_non_null(client_ctx);
	client_ctx_untrusting = tls_client_ctx_new(NULL, &error);
	assert_non_null(client_ctx_untrusting);
	assert_null(tls_client_ctx_new("/nonexistent/ca.pem", &error));
	assert_non_null(strstr(error, "/nonexistent/ca.pem"));
	free(cert);
	free(key);
	X509_free(x);
	EVP_PKEY_free(k);
}

/* --- the accepting side: greets, echoes lines as "250 LINE", STARTTLS --- */

struct line_session {
	struct conn *conn;
	char line[256];
	size_t len;
};

static void *server_open(struct conn *c, void *arg)
{
	(void)arg;
	struct line_session *s = calloc(1, sizeof *s);
	s->conn = c;
	conn_write(c, "220 hi\r\n", 8);
	return s;
}

static void server_line(struct line_session *s, const char *line)
{
	char reply[300];
	if (strcmp(line, "STARTTLS") == 0) {
		conn_write(s->conn, "220 go\r\n", 8);
		assert_int_equal(conn_starttls(s->conn), 0);
	} else if (strcmp(line, "QUIT") == 0) {
		conn_write(s->conn, "221 bye\r\n", 9);
		conn_close_after_flush(s->conn);
	} else if (conn_peer_uid(s->conn) >= 0) {
		int n = snprintf(reply, sizeof reply, "250 %s from %s uid %ld pid %ld\r\n", line,
				 conn_peer(s->conn), conn_peer_uid(s->conn),
				 conn_peer_pid(s->conn));
		conn_write(s->conn, reply, (size_t)n);
	} else {
		int n = snprintf(reply, sizeof reply, "250 %s%s\r\n", line,
				 conn_is_tls(s->conn) ? " (tls)" : "");
		conn_write(s->conn, reply, (size_t)n);
	}
}

/* Splits input into lines for handle(); returns what it used. */
static size_t feed_lines(struct line_session *s, const char *data, size_t len,
			 void (*handle)(struct line_session *s, const char *line))
{
	size_t used = 0;
	while (used < len) {
		char ch = data[used++];
		if (ch == '\n') {
			if (s->len > 0 && s->line[s->len - 1] == '\r')
				s->len--;
			s->line[s->len] = '\0';
			s->len = 0;
			handle(s, s->line);
			if (strcmp(s->line, "STARTTLS") == 0 || strcmp(s->line, "220 go") == 0)
				break;   /* nothing after it is read as plaintext */
		} else if (s->len + 1 < sizeof s->line) {
			s->line[s->len++] = ch;
		}
	}
	return used;
}

static size_t server_input(void *session, const char *data, size_t len)
{
	return feed_lines(session, data, len, server_line);
}

static void server_nothing(void *session) { (void)session; }
static void server_close(void *session) { free(session); }

static const struct conn_proto server_proto = {
	.name = "test-in", .open = server_open, .input = server_input,
	.timeout = server_nothing, .tls_ready = server_nothing,
	.shutdown = server_nothing, .close = server_close,
};

/* --- the connecting side: PING, then QUIT; or STARTTLS first --- */

struct outcome {
	struct line_session s;
	bool starttls;          /* ask for STARTTLS after the greeting */
	bool opened, failed, closed, tls, verified;
	char reply[128];        /* the answer to PING */
	char reason[192];       /* connect_failed's, or conn_error at close */
};

static void client_line(struct line_session *s, const char *line)
{
	struct outcome *o = (struct outcome *)s;
	if (strcmp(line, "220 hi") == 0 && o->starttls && !conn_is_tls(s->conn)) {
		conn_write(s->conn, "STARTTLS\r\n", 10);
	} else if (strcmp(line, "220 go") == 0) {
		assert_int_equal(conn_starttls(s->conn), 0);
	} else if (strcmp(line, "220 hi") == 0) {
		conn_write(s->conn, "PING\r\n", 6);
	} else if (strncmp(line, "250 ", 4) == 0) {
		snprintf(o->reply, sizeof o->reply, "%s", line);
		conn_write(s->conn, "QUIT\r\n", 6);
	} else if (strncmp(line, "221", 3) == 0) {
		conn_close_after_flush(s->conn);
	}
}

static void *client_open(struct conn *c, void *arg)
{
	struct outcome *o = arg;
	o->opened = true;
	o->s.conn = c;
	o->tls = conn_is_tls(c);
	o->verified = conn_tls_verified(c);
	return o;
}

static size_t client_input(void *session, const char *data, size_t len)
{
	return feed_lines(session, data, len, client_line);
}

static void client_tls_ready(void *session)
{
	struct outcome *o = session;
	o->tls = true;
	o->verified = conn_tls_verified(o->s.conn);
	conn_write(o->s.conn, "PING\r\n", 6);
}

static void client_close(void *session)
{
	struct outcome *o = session;
	o->closed = true;
	snprintf(o->reason, sizeof o->reason, "%s", conn_error(o->s.conn));
	event_base_loopbreak(base);
}

static void client_failed(void *arg, const char *reason)
{
	struct outcome *o = arg;
	o->failed = true;
	snprintf(o->reason, sizeof o->reason, "%s", reason);
	event_base_loopbreak(base);
}

static const struct conn_proto client_proto = {
	.name = "test-out", .open = client_open, .input = client_input,
	.timeout = server_nothing, .tls_ready = client_tls_ready,
	.shutdown = server_nothing, .close = client_close, .connect_failed = client_failed,
};

/* --- a listening socket on 127.0.0.1 that hands connections to conn_accept --- */

struct listening {
	int fd;
	struct sockaddr_in sa;
	struct event *ev;
	struct conn_service svc;
	struct conn_limits *total;
};

static void accept_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct listening *l = arg;
	struct sockaddr_in peer;
	socklen_t len = sizeof peer;
	int c = accept4(fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (c < 0)
		return;
	bool total_hit;
	assert_true(conn_limits_take(l->total, (struct sockaddr *)&peer, &total_hit));
	conn_accept(base, &l->svc, c, (struct sockaddr *)&peer, (int)len, l->total);
}

/* serve false: the port listens but nothing is ever accepted or said. */
static void listen_on(struct listening *l, bool implicit_tls, bool serve)
{
	memset(l, 0, sizeof *l);
	l->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	l->sa.sin_family = AF_INET;
	l->sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(l->fd, (struct sockaddr *)&l->sa, sizeof l->sa), 0);
	socklen_t len = sizeof l->sa;
	getsockname(l->fd, (struct sockaddr *)&l->sa, &len);
	assert_int_equal(listen(l->fd, 8), 0);
	l->svc = (struct conn_service){ .proto = &server_proto, .implicit_tls = implicit_tls,
					.tls_ctx = &server_ctx, .tls_timeout = 5 };
	l->total = conn_limits_new(16, 16);
	if (serve) {
		l->ev = event_new(base, l->fd, EV_READ | EV_PERSIST, accept_cb, l);
		event_add(l->ev, NULL);
	}
}

static void unlisten(struct listening *l)
{
	if (l->ev != NULL)
		event_free(l->ev);
	close(l->fd);
	conn_limits_free(&l->total);
}

static void safety_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	*(bool *)arg = true;
	event_base_loopbreak(base);
}

/* Connects to sa as svc and runs the loop until the outcome is known. */
static void run_to(struct outcome *o, SSL_CTX **ctx, bool implicit_tls,
		   const struct sockaddr *sa, socklen_t salen, const char *name, bool verify,
		   unsigned ms)
{
	struct conn_service svc = { .proto = &client_proto, .client = true,
				    .implicit_tls = implicit_tls, .tls_ctx = ctx };
	struct conn_target t = { .addr = sa, .addr_len = salen,
				 .tls_name = name, .tls_verify = verify, .timeout_ms = ms };
	const char *error = NULL;
	assert_int_equal(conn_connect(base, &svc, &t, o, &error), 0);
	bool stuck = false;
	struct event *safety = evtimer_new(base, safety_cb, &stuck);
	struct timeval tv = { 20, 0 };
	evtimer_add(safety, &tv);
	event_base_dispatch(base);
	event_free(safety);
	assert_false(stuck);
	/* Let the other side see the close, too. */
	struct timeval brief = { 0, 50000 };
	event_base_loopexit(base, &brief);
	event_base_dispatch(base);
}

static void run(struct outcome *o, SSL_CTX **ctx, bool implicit_tls,
		const struct sockaddr_in *sa, const char *name, bool verify, unsigned ms)
{
	run_to(o, ctx, implicit_tls, (const struct sockaddr *)sa, sizeof *sa, name, verify, ms);
}

static void test_plain_exchange(void **state)
{
	(void)state;
	struct listening l;
	listen_on(&l, false, true);
	struct outcome o = { 0 };
	run(&o, &client_ctx, false, &l.sa, NULL, false, 2000);
	assert_true(o.opened);
	assert_false(o.failed);
	assert_false(o.tls);
	assert_string_equal(o.reply, "250 PING");
	assert_string_equal(o.reason, "");   /* we closed it, after 221 */
	unlisten(&l);
}

static void test_refused_port_reports_cause(void **state)
{
	(void)state;
	struct listening l;
	listen_on(&l, false, false);
	struct sockaddr_in sa = l.sa;
	unlisten(&l);   /* nobody listens there any more */
	struct outcome o = { 0 };
	run(&o, &client_ctx, false, &sa, NULL, false, 2000);
	assert_false(o.opened);
	assert_true(o.failed);
	assert_non_null(strstr(o.reason, "refused"));
}

static void test_implicit_tls_verified_name(void **state)
{
	(void)state;
	struct listening l;
	listen_on(&l, true, true);
	struct outcome o = { 0 };
	run(&o, &client_ctx, true, &l.sa, NAME, true, 5000);
	assert_true(o.opened);
	assert_true(o.tls);
	assert_true(o.verified);
	assert_string_equal(o.reply, "250 PING (tls)");
	unlisten(&l);
}

static void test_required_verification_refuses_wrong_name(void **state)
{
	(void)state;
	struct listening l;
	listen_on(&l, true, true);
	struct outcome o = { 0 };
	run(&o, &client_ctx, true, &l.sa, "other.example", true, 5000);
	assert_false(o.opened);
	assert_true(o.failed);
	assert_non_null(strstr(o.reason, "TLS handshake failed"));
	assert_non_null(strstr(o.reason, "hostname mismatch"));
	unlisten(&l);
}

static void test_required_verification_refuses_unknown_ca(void **state)
{
	(void)state;
	struct listening l;
	listen_on(&l, true, true);
	struct outcome o = { 0 };
	run(&o, &client_ctx_untrusting, true, &l.sa, NAME, true, 5000);
	assert_true(o.failed);
	assert_non_null(strstr(o.reason, "self-signed"));
	unlisten(&l);
}

static void test_opportunistic_tls_accepts_but_says_unverified(void **state)
{
	(void)state;
	struct listening l;
	listen_on(&l, true, true);
	struct outcome o = { 0 };
	run(&o, &client_ctx, true, &l.sa, "other.example", false, 5000);
	assert_true(o.opened);
	assert_true(o.tls);
	assert_false(o.verified);
	assert_string_equal(o.reply, "250 PING (tls)");
	unlisten(&l);
}

static void test_starttls_upgrade(void **state)
{
	(void)state;
	struct listening l;
	listen_on(&l, false, true);
	struct outcome o = { .starttls = true };
	run(&o, &client_ctx, false, &l.sa, NAME, true, 5000);
	assert_true(o.opened);
	assert_true(o.tls);
	assert_true(o.verified);
	assert_string_equal(o.reply, "250 PING (tls)");
	unlisten(&l);
}

static void test_silent_peer_times_out_in_handshake(void **state)
{
	(void)state;
	struct listening l;
	listen_on(&l, true, false);   /* the kernel accepts; nobody speaks */
	struct outcome o = { 0 };
	run(&o, &client_ctx, true, &l.sa, NAME, false, 300);
	assert_false(o.opened);
	assert_true(o.failed);
	assert_string_equal(o.reason, "TLS handshake timed out");
	unlisten(&l);
}

static void test_unix_listener_names_peer_by_uid(void **state)
{
	(void)state;
	char path[] = "/tmp/pb-test-sock-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	struct conn_service svc = { .proto = &server_proto, .tls_ctx = &server_ctx };
	struct conn_limits *total = conn_limits_new(16, 16);
	const char *error = NULL;
	/* A file that is not a socket is not replaced. */
	assert_null(listener_open_unix(base, path, 0666, &svc, total, &error));
	assert_non_null(strstr(error, path));
	unlink(path);
	/* A stale socket is. */
	struct listener *l = listener_open_unix(base, path, 0666, &svc, total, &error);
	assert_non_null(l);
	listener_close(&l);
	l = listener_open_unix(base, path, 0666, &svc, total, &error);
	assert_non_null(l);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0666);

	struct sockaddr_un un = { .sun_family = AF_UNIX };
	memcpy(un.sun_path, path, sizeof path);
	struct outcome o = { 0 };
	run_to(&o, &client_ctx, false, (const struct sockaddr *)&un, sizeof un, NULL, false,
	       2000);
	char want[128];
	snprintf(want, sizeof want, "250 PING from local uid %ld pid %ld", (long)getuid(),
		 (long)getpid());
	assert_string_equal(o.reply, want);
	listener_close(&l);
	conn_limits_free(&total);
	unlink(path);
}

static void test_local_peers_counted_per_user(void **state)
{
	(void)state;
	struct conn_limits *lim = conn_limits_new(10, 1);
	struct sockaddr_storage a, b, other;
	conn_local_peer(1000, 1, &a);
	conn_local_peer(1000, 2, &b);
	conn_local_peer(1001, 3, &other);
	bool total_hit;
	assert_true(conn_limits_take(lim, (struct sockaddr *)&a, &total_hit));
	assert_false(conn_limits_take(lim, (struct sockaddr *)&b, &total_hit));
	assert_false(total_hit);
	assert_true(conn_limits_take(lim, (struct sockaddr *)&other, &total_hit));
	conn_limits_release(lim, (struct sockaddr *)&a);
	assert_true(conn_limits_take(lim, (struct sockaddr *)&b, &total_hit));
	conn_limits_free(&lim);
}

int main(void)
{
	base = event_base_new();
	make_contexts();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_exchange),
		cmocka_unit_test(test_refused_port_reports_cause),
		cmocka_unit_test(test_implicit_tls_verified_name),
		cmocka_unit_test(test_required_verification_refuses_wrong_name),
		cmocka_unit_test(test_required_verification_refuses_unknown_ca),
		cmocka_unit_test(test_opportunistic_tls_accepts_but_says_unverified),
		cmocka_unit_test(test_starttls_upgrade),
		cmocka_unit_test(test_silent_peer_times_out_in_handshake),
		cmocka_unit_test(test_unix_listener_names_peer_by_uid),
		cmocka_unit_test(test_local_peers_counted_per_user),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	unlink(ca_path);
	SSL_CTX_free(server_ctx);
	SSL_CTX_free(client_ctx);
	SSL_CTX_free(client_ctx_untrusting);
	event_base_free(base);
	return rc;
}
