/* The configuration file: every key, its defaults, bad values, unknown
 * sections and keys, and that every message names FILE:LINE and the key. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/config.h"
#include "lib/config_values.h"

#define MAX_MSGS 32

struct collected {
	char msg[MAX_MSGS][512];
	bool warning[MAX_MSGS];
	int count;
	int errors;
};

static struct collected got;
static char path[64];
static struct config cfg;

static void collect(void *ctx, enum config_severity sev, const char *msg)
{
	struct collected *c = ctx;
	if (sev == CONFIG_ERROR)
		c->errors++;
	if (c->count < MAX_MSGS) {
		snprintf(c->msg[c->count], sizeof c->msg[0], "%s", msg);
		c->warning[c->count++] = sev == CONFIG_WARNING;
	}
}

/* Writes text to a fresh file and parses it; returns the error count. */
static int parse(const char *text)
{
	snprintf(path, sizeof path, "/tmp/test_config.XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	memset(&got, 0, sizeof got);
	int r = config_parse(path, &cfg, collect, &got);
	unlink(path);
	assert_int_equal(r, got.errors);
	return r;
}

/* True when some message (error or warning) contains every given piece. */
static bool has_msg(const char *a, const char *b)
{
	for (int i = 0; i < got.count; i++) {
		if (strstr(got.msg[i], a) != NULL && (b == NULL || strstr(got.msg[i], b) != NULL))
			return true;
	}
	return false;
}

static void dump(void)
{
	for (int i = 0; i < got.count; i++)
		fprintf(stderr, "  got: %s\n", got.msg[i]);
}

/* "PATH:LINE: " for the current file */
static const char *at(int line)
{
	static char buf[96];
	if (line == 0)
		snprintf(buf, sizeof buf, "%s: ", path);
	else
		snprintf(buf, sizeof buf, "%s:%d: ", path, line);
	return buf;
}

#define BASE "[server]\nhostname = mx.a.test\ndomains = a.test\ndata_dir = /tmp/pbdata\n"

static void expect_ok(const char *text)
{
	if (parse(text) != 0) {
		dump();
		fail_msg("expected no errors");
	}
}

/* One error, on line, mentioning needle. */
static void expect_error(const char *text, int line, const char *needle)
{
	int n = parse(text);
	if (n != 1 || !has_msg(at(line), needle)) {
		dump();
		fail_msg("expected one error on line %d with '%s', got %d", line, needle, n);
	}
}

static void test_defaults(void **state)
{
	(void)state;
	config_defaults(&cfg);
	assert_string_equal(cfg.data_dir, "/var/lib/postbox");
	assert_string_equal(cfg.log, "stderr");
	assert_true(cfg.plaintext_auth_loopback);
	for (int s = 0; s < LISTEN_SERVICE_COUNT; s++)
		assert_int_equal(cfg.listen_count[s], 0);
	assert_int_equal(cfg.smtp_port, 25);
	assert_int_equal(cfg.delivery_tls, DELIVERY_TLS_OPPORTUNISTIC);
	assert_int_equal(cfg.retry_count, 6);
	assert_int_equal(cfg.retry[0], 300);
	assert_int_equal(cfg.retry[5], 4 * 3600);
	assert_int_equal(cfg.max_age, 5 * 86400);
	assert_int_equal(cfg.warn_after, 0);
	assert_int_equal(cfg.message_size, 52428800);
	assert_int_equal(cfg.recipients, 1000);
	assert_int_equal(cfg.connections, 2000);
	assert_int_equal(cfg.connections_per_ip, 50);
	assert_int_equal(cfg.timeout_command, 300);
	assert_int_equal(cfg.timeout_data, 180);
	assert_int_equal(cfg.domain_count, 0);
	assert_string_equal(cfg.tls_cert, "");
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	for (char *p = host; *p; p++)
		*p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
	assert_string_equal(cfg.hostname, host);
}

static void test_every_key(void **state)
{
	(void)state;
	expect_ok("; a full file\n"
		  "[server]\n"
		  "hostname = MX.A.Test.\n"
		  "data_dir = /tmp/pb data\n"
		  "user = root\n"
		  "domains = A.test, b.test\n"
		  "log = syslog\n"
		  "plaintext_auth_loopback = no\n"
		  "[listen]\n"
		  "smtp = 127.0.0.1:2525 [::1]:2525\n"
		  "submission = 127.0.0.1:2587\n"
		  "imap = 127.0.0.1:2143\n"
		  "pop3 = 127.0.0.1:2110\n"
		  "submissions =\n"
		  "[tls]\n"
		  "ca_file =\n"
		  "[dns]\n"
		  "servers = 127.0.0.1:5353 ::1 10.0.0.1\n"
		  "[delivery]\n"
		  "smtp_port = 2525\n"
		  "bind = 127.0.0.2\n"
		  "relay = smart.isp.test:587 [2001:db8::1] 192.0.2.1:26\n"
		  "tls = required\n"
		  "[routes]\n"
		  "B.example = 127.0.0.9:2525\n"
		  "c.example = relay.c.example\n"
		  "[queue]\n"
		  "retry = 1m 90s 1h30m\n"
		  "max_age = 2d\n"
		  "warn_after = 4h\n"
		  "[limits]\n"
		  "message_size = 10M\n"
		  "recipients = 100\n"
		  "connections = 20\n"
		  "connections_per_ip = 5\n"
		  "connections_per_service = 12\n"
		  "timeout_command = 10m\n"
		  "timeout_data = 600\n"
		  "timeout_login = 45s\n"
		  "timeout_tls = 20\n"
		  "min_data_rate = 2000\n");
	assert_int_equal(cfg.connections_per_service, 12);
	assert_int_equal(cfg.timeout_login, 45);
	assert_int_equal(cfg.timeout_tls, 20);
	assert_int_equal(cfg.min_data_rate, 2000);
	assert_string_equal(cfg.hostname, "mx.a.test");
	assert_string_equal(cfg.data_dir, "/tmp/pb data");
	assert_string_equal(cfg.user, "root");
	assert_int_equal(cfg.domain_count, 2);
	assert_string_equal(cfg.domains[0], "a.test");
	assert_string_equal(cfg.domains[1], "b.test");
	assert_string_equal(cfg.log, "syslog");
	assert_false(cfg.plaintext_auth_loopback);
	assert_int_equal(cfg.listen_count[LISTEN_SMTP], 2);
	assert_string_equal(cfg.listen[LISTEN_SMTP][0].host, "127.0.0.1");
	assert_int_equal(cfg.listen[LISTEN_SMTP][0].port, 2525);
	assert_string_equal(cfg.listen[LISTEN_SMTP][1].host, "::1");
	assert_int_equal(cfg.listen_count[LISTEN_SUBMISSION], 1);
	assert_int_equal(cfg.listen_count[LISTEN_SUBMISSIONS], 0);
	assert_int_equal(cfg.listen[LISTEN_POP3][0].port, 2110);
	assert_int_equal(cfg.dns_count, 3);
	assert_int_equal(cfg.dns[0].port, 5353);
	assert_string_equal(cfg.dns[1].host, "::1");
	assert_int_equal(cfg.dns[1].port, 53);
	assert_string_equal(cfg.dns_servers, "127.0.0.1:5353 [::1]:53 10.0.0.1:53");
	assert_int_equal(cfg.smtp_port, 2525);
	assert_string_equal(cfg.delivery_bind, "127.0.0.2");
	assert_int_equal(cfg.relay_count, 3);
	assert_string_equal(cfg.relays[0].host, "smart.isp.test");
	assert_int_equal(cfg.relays[0].port, 587);
	assert_string_equal(cfg.relays[1].host, "2001:db8::1");
	assert_int_equal(cfg.relays[1].port, 0);
	assert_int_equal(cfg.relays[2].port, 26);
	assert_int_equal(cfg.delivery_tls, DELIVERY_TLS_REQUIRED);
	assert_int_equal(cfg.route_count, 2);
	assert_string_equal(cfg.routes[0].domain, "b.example");
	assert_string_equal(cfg.routes[0].host, "127.0.0.9");
	assert_int_equal(cfg.routes[0].port, 2525);
	assert_string_equal(cfg.routes[1].host, "relay.c.example");
	assert_int_equal(cfg.retry_count, 3);
	assert_int_equal(cfg.retry[0], 60);
	assert_int_equal(cfg.retry[1], 90);
	assert_int_equal(cfg.retry[2], 5400);
	assert_int_equal(cfg.max_age, 2 * 86400);
	assert_int_equal(cfg.warn_after, 4 * 3600);
	assert_int_equal(cfg.message_size, 10 * 1024 * 1024);
	assert_int_equal(cfg.recipients, 100);
	assert_int_equal(cfg.connections, 20);
	assert_int_equal(cfg.connections_per_ip, 5);
	assert_int_equal(cfg.timeout_command, 600);
	assert_int_equal(cfg.timeout_data, 600);
	/* STARTTLS services without a certificate: a warning, not an error */
	assert_true(has_msg("warning: not set: STARTTLS is off for smtp, submission, imap, pop3",
			    "[tls] cert:"));
	assert_true(config_is_local_domain(&cfg, "B.TEST", 6));
	assert_true(config_is_local_domain(&cfg, "a.test.", 7));
	assert_false(config_is_local_domain(&cfg, "c.test", 6));
	assert_false(config_is_local_domain(&cfg, "a.tes", 5));
}

static void test_durations(void **state)
{
	(void)state;
	static const struct { const char *s; unsigned v; } ok[] = {
		{ "300", 300 }, { "30s", 30 }, { "5m", 300 }, { "2h", 7200 },
		{ "5d", 432000 }, { "1w", 604800 }, { "1h30m", 5400 }, { "1d12h", 129600 },
	};
	static const char *const bad[] = {
		"", "0", "0s", "5x", "m", "-5m", "5 m", "1h30", "5M", "99999999999d", "1.5h",
	};
	const char *error;
	unsigned v;
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		assert_int_equal(cfgval_duration(ok[i].s, &v, &error), 0);
		assert_int_equal(v, ok[i].v);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(cfgval_duration(bad[i], &v, &error), -1);
	expect_error(BASE "[queue]\nmax_age = soon\n", 6, "[queue] max_age: 'soon': expected a duration");
	expect_error(BASE "[queue]\nretry = 5m ten 1h\n", 6, "[queue] retry: 'ten'");
	/* warn_after: empty is "off", anything else a duration. */
	expect_ok(BASE "[queue]\nwarn_after =\n");
	expect_error(BASE "[queue]\nwarn_after = 0\n", 6, "[queue] warn_after:");
	expect_error(BASE "[limits]\ntimeout_data = 0\n", 6, "[limits] timeout_data:");
}

static void test_sizes_and_counts(void **state)
{
	(void)state;
	const char *error;
	uint64_t v;
	assert_int_equal(cfgval_size("1k", 1, UINT64_MAX, &v, &error), 0);
	assert_int_equal(v, 1024);
	assert_int_equal(cfgval_size("3G", 1, UINT64_MAX, &v, &error), 0);
	assert_int_equal(v, 3ULL << 30);
	assert_int_equal(cfgval_size("7", 1, UINT64_MAX, &v, &error), 0);
	assert_int_equal(v, 7);
	assert_int_equal(cfgval_size("1T", 1, UINT64_MAX, &v, &error), -1);
	assert_int_equal(cfgval_size("M", 1, UINT64_MAX, &v, &error), -1);
	assert_int_equal(cfgval_size("1kk", 1, UINT64_MAX, &v, &error), -1);
	assert_int_equal(cfgval_size("18446744073709551615G", 1, UINT64_MAX, &v, &error), -1);
	assert_int_equal(cfgval_size("+5", 1, UINT64_MAX, &v, &error), -1);

	expect_ok(BASE "[limits]\nmessage_size = 64k\n");
	assert_int_equal(cfg.message_size, 65536);
	expect_error(BASE "[limits]\nmessage_size = 50 MB\n", 6,
		     "[limits] message_size: '50 MB': expected a size in bytes");
	expect_error(BASE "[limits]\nmessage_size = 0\n", 6, "message_size: '0'");
	expect_error(BASE "[limits]\nrecipients = 0\n", 6, "[limits] recipients: '0': expected a whole number");
	expect_error(BASE "[limits]\nconnections = -1\n", 6, "[limits] connections:");
	expect_error(BASE "[limits]\nconnections_per_ip = 5k\n", 6, "[limits] connections_per_ip:");
	/* accepted, but contradicting or below the RFC: warnings */
	expect_ok(BASE "[limits]\nconnections = 10\nconnections_per_ip = 20\n"
		  "message_size = 1000\ntimeout_command = 60\n");
	assert_true(has_msg(at(7), "warning: 20 is more than connections_per_service (5)"));
	assert_true(has_msg(at(8), "[limits] message_size: warning:"));
	assert_true(has_msg(at(9), "[limits] timeout_command: warning:"));
	/* unset, each service may have half of the total */
	assert_int_equal(cfg.connections_per_service, 5);
	expect_ok(BASE "[limits]\nconnections_per_service = 30\nconnections = 10\n");
	assert_true(has_msg(at(6), "[limits] connections_per_service: warning: 30 is more"));
	/* Login penalties: milliseconds, seconds, 0; a cap below the base. */
	expect_ok(BASE "[limits]\nauth_delay = 250ms\nauth_delay_max = 2s\nauth_failures = 5\n");
	assert_int_equal(cfg.auth_delay_ms, 250);
	assert_int_equal(cfg.auth_delay_max_ms, 2000);
	assert_int_equal(cfg.auth_failures, 5);
	expect_ok(BASE "[limits]\nauth_delay = 0\n");
	assert_int_equal(cfg.auth_delay_ms, 0);
	assert_int_equal(cfg.auth_delay_max_ms, 15000);
	expect_error(BASE "[limits]\nauth_delay = 2 s\n", 6, "[limits] auth_delay: '2 s'");
	expect_error(BASE "[limits]\nauth_delay_max = 2h\n", 6, "at most 1 hour");
	expect_error(BASE "[limits]\nauth_delay = 99999999999ms\n", 6, "[limits] auth_delay:");
	expect_ok(BASE "[limits]\nauth_delay = 3s\nauth_delay_max = 1s\n");
	assert_true(has_msg(at(7), "[limits] auth_delay_max: warning: 1000ms is below"));
}

static void test_listen(void **state)
{
	(void)state;
	expect_ok(BASE "[listen]\nsmtp = 0.0.0.0:25 [::]:25\nsmtp = 10.0.0.1:2525\n");
	assert_int_equal(cfg.listen_count[LISTEN_SMTP], 3);
	assert_string_equal(cfg.listen[LISTEN_SMTP][1].host, "::");
	expect_error(BASE "[listen]\nsmtp = 0.0.0.0\n", 6, "[listen] smtp: '0.0.0.0': port missing");
	expect_error(BASE "[listen]\nsmtp = 0.0.0.0:0\n", 6, "expected a port number 1-65535");
	expect_error(BASE "[listen]\nimap = 0.0.0.0:65536\n", 6, "[listen] imap: '0.0.0.0:65536'");
	expect_error(BASE "[listen]\nsmtp = ::1:25\n", 6, "IPv6 address needs brackets");
	expect_error(BASE "[listen]\nsmtp = localhost:25\n", 6, "expected a numeric address");
	expect_error(BASE "[listen]\nsmtp = [::1:25\n", 6, "[listen] smtp:");
	expect_error(BASE "[listen]\npop3 = 300.1.1.1:110\n", 6, "[listen] pop3:");
	/* several problems in one value are all reported */
	assert_int_equal(parse(BASE "[listen]\nsmtp = 1.2.3.4:x 127.0.0.1:25 [::1]\n"), 2);
	assert_int_equal(cfg.listen_count[LISTEN_SMTP], 1);
	expect_error(BASE "[listen]\nsmtp = 1.1.1.1:1 1.1.1.1:2 1.1.1.1:3 1.1.1.1:4 "
		     "1.1.1.1:5 1.1.1.1:6 1.1.1.1:7 1.1.1.1:8 1.1.1.1:9\n", 6, "more than 8");
}

static void test_listen_clashes(void **state)
{
	(void)state;
	expect_error(BASE "[listen]\nsmtp = 127.0.0.1:25\nsubmission = 127.0.0.1:25\n", 7,
		     "[listen] submission: 127.0.0.1:25 clashes with 127.0.0.1:25 of [listen] smtp");
	expect_error(BASE "[listen]\nsmtp = 0.0.0.0:25\nimap = 127.0.0.2:25\n", 7,
		     "clashes with 0.0.0.0:25");
	expect_error(BASE "[listen]\nsmtp = [::1]:25 [::1]:25\n", 6, "[::1]:25 clashes with [::1]:25");
	/* different ports, or different families, do not clash */
	expect_ok(BASE "[listen]\nsmtp = 0.0.0.0:25 [::]:25\nsubmission = 0.0.0.0:587\n");
}

static void test_domains(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"a..b", ".a.b", "-a.b", "a-.b", "a_b.test", "1.2.3.4", "b\xc3\xa4r.test",
		"a.b/c", "",
	};
	char out[256];
	const char *error;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(cfgval_domain(bad[i], out, sizeof out, &error), -1);
	char label[80];
	memset(label, 'a', 64);
	memcpy(label + 64, ".test", 6);
	assert_int_equal(cfgval_domain(label, out, sizeof out, &error), -1);
	assert_int_equal(cfgval_domain("xn--br-via.Test.", out, sizeof out, &error), 0);
	assert_string_equal(out, "xn--br-via.test");
	assert_int_equal(cfgval_domain("localhost", out, sizeof out, &error), 0);

	expect_error("[server]\nhostname = mx.a.test\ndomains = a.test bad..test\n", 3,
		     "[server] domains: 'bad..test': empty label");
	expect_error("[server]\nhostname = mx.a.test\ndomains = a.test A.TEST\n", 3,
		     "'A.TEST': listed twice");
	expect_error("[server]\nhostname = 10.1.1.1\ndomains = a.test\n", 2,
		     "[server] hostname: '10.1.1.1': an IP address is not a domain name");
	expect_error("[server]\nhostname = mx.a.test\ndomains = a.test b\xc3\xa4r.test\n", 3,
		     "xn--");
	/* domains repeated over lines add up */
	expect_ok("[server]\ndomains = a.test\ndomains = b.test\nhostname = mx.a.test\n");
	assert_int_equal(cfg.domain_count, 2);
}

static void test_server_values(void **state)
{
	(void)state;
	expect_error(BASE "log = file\n", 5, "[server] log: 'file': expected stderr or syslog");
	expect_error(BASE "plaintext_auth_loopback = maybe\n", 5,
		     "[server] plaintext_auth_loopback: 'maybe': expected yes or no");
	expect_ok(BASE "plaintext_auth_loopback = YES\n");
	assert_true(cfg.plaintext_auth_loopback);
	expect_error(BASE "user = no such user\n", 5, "[server] user: 'no such user'");
	/* A warning, not an error: postbox init writes user = postbox before
	 * that user exists; serve refuses to start until it does. */
	expect_ok(BASE "user = pb-nonexistent-user\n");
	assert_true(has_msg(at(5), "warning: no such system user 'pb-nonexistent-user': create"
			    " it before postbox serve (useradd --system"));
	expect_error(BASE "[tls]\nca_file = /tmp/\x01x\n", 6, "[tls] ca_file: '/tmp/?x': contains a control character");
	/* the hostname set twice: the second line is the error */
	expect_error(BASE "hostname = other.a.test\n", 5, "set twice (first on line 2)");
	/* hostname without a dot: accepted with a warning */
	expect_ok("[server]\nhostname = mx\ndomains = a.test\n");
	assert_true(has_msg(at(2), "[server] hostname: warning: 'mx' is not fully qualified"));
}

static void test_tls(void **state)
{
	(void)state;
	expect_error(BASE "[listen]\nimaps = 127.0.0.1:993\n", 6,
		     "[listen] imaps: implicit TLS needs [tls] cert and key");
	expect_error(BASE "[tls]\ncert = /etc/passwd\n", 6, "[tls] key: not set, but [tls] cert is");
	expect_error(BASE "[tls]\ncert = /nonexistent/cert.pem\nkey = /etc/passwd\n", 6,
		     "[tls] cert: cannot read '/nonexistent/cert.pem'");
	expect_error(BASE "[tls]\nca_file = /nonexistent/ca.pem\n", 6, "[tls] ca_file: cannot read");
	/* readable files: implicit TLS is fine, no STARTTLS warning */
	expect_ok(BASE "[tls]\ncert = /etc/passwd\nkey = /etc/passwd\n"
		  "[listen]\nsubmissions = 127.0.0.1:465\nsmtp = 127.0.0.1:25\n");
	assert_false(has_msg("STARTTLS", NULL));
}

/* A key that is missing has no line to blame: "PATH: [section] key: ..." */
static void test_missing_keys_have_no_line(void **state)
{
	(void)state;
	assert_int_equal(parse("[server]\nhostname = mx.a.test\n"), 1);
	char want[128];
	snprintf(want, sizeof want, "%s: [server] domains: no local domains", path);
	assert_true(has_msg(want, NULL));
	assert_int_equal(parse("[server]\nhostname = mx.a.test\ndomains = a.test\ndata_dir =\n"), 1);
	assert_true(has_msg(at(4), "[server] data_dir: must not be empty"));
}

static void test_delivery_and_dns(void **state)
{
	(void)state;
	expect_error(BASE "[delivery]\ntls = sometimes\n", 6,
		     "[delivery] tls: 'sometimes': expected opportunistic, required or off");
	expect_ok(BASE "[delivery]\ntls = OFF\nbind =\n");
	assert_int_equal(cfg.delivery_tls, DELIVERY_TLS_OFF);
	expect_error(BASE "[delivery]\nsmtp_port = 0\n", 6, "[delivery] smtp_port: '0'");
	expect_error(BASE "[delivery]\nbind = mail.a.test\n", 6, "[delivery] bind: 'mail.a.test'");
	expect_error(BASE "[delivery]\nrelay = bad_host:25\n", 6, "[delivery] relay: 'bad_host:25'");
	expect_error(BASE "[delivery]\nrelay = host.test:99999\n", 6, "port number");
	expect_error(BASE "[dns]\nservers = ns.a.test\n", 6, "[dns] servers: 'ns.a.test'");
	expect_ok(BASE "[dns]\nservers =\n");
	assert_int_equal(cfg.dns_count, 0);
}

static void test_routes(void **state)
{
	(void)state;
	expect_error(BASE "[routes]\nb_x.test = 127.0.0.1:25\n", 6, "[routes] b_x.test: a route's key");
	expect_error(BASE "[routes]\nb.test = 127.0.0.1:0\n", 6, "[routes] b.test: '127.0.0.1:0'");
	expect_error(BASE "[routes]\nb.test = h.test\nB.Test = h2.test\n", 7,
		     "[routes] b.test: set twice (first on line 6)");
	expect_ok(BASE "[routes]\na.test = 127.0.0.1\n");
	assert_true(has_msg(at(6), "[routes] a.test: warning: is a local domain"));
}

static void test_unknown_sections_and_keys(void **state)
{
	(void)state;
	expect_error(BASE "hostnme = x\n", 5,
		     "[server] hostnme: unknown key (known in [server]: hostname, data_dir,");
	expect_error(BASE "[listen]\nsmtps = 0.0.0.0:465\n", 6, "[listen] smtps: unknown key");
	/* one error for the header, none for its keys */
	expect_error(BASE "[srever]\nhostname = a\nfoo = b\n", 5,
		     "[srever]: unknown section (known: server, listen,");
	expect_error("hostname = a\n" BASE, 1, "hostname: key outside of any section");
	/* sections and keys are not case-sensitive */
	expect_ok("[ SERVER ]\nHostName = mx.a.test\nDomains = a.test\n");
}

static void test_syntax_errors_all_reported(void **state)
{
	(void)state;
	int n = parse(BASE "just words\n[listen\nsmtp: 127.0.0.1:25\n= x\n[server] junk\n"
		      "recipients = 5\n");
	if (n != 5)
		dump();
	assert_int_equal(n, 5);
	assert_true(has_msg(at(5), "[server]: expected 'key = value' or a [section] header"));
	assert_true(has_msg(at(6), "expected a section header"));
	/* after a broken header, its keys are not blamed again */
	assert_true(has_msg(at(7), "with '=', not ':'"));
	assert_true(has_msg(at(8), "key name missing"));
	assert_true(has_msg(at(9), "expected a section header"));
}

static void test_line_handling(void **state)
{
	(void)state;
	/* BOM, CRLF, comments, indented keys, blank lines, inline comments */
	expect_ok("\xEF\xBB\xBF[server]\r\n"
		  "# comment\r\n"
		  "; comment\r\n"
		  "\r\n"
		  "   hostname = mx.a.test   ; the name\r\n"
		  "\tdomains = a.test\r\n"
		  "[limits]\r\n"
		  "recipients = 7 ; inline\r\n");
	assert_string_equal(cfg.hostname, "mx.a.test");
	assert_int_equal(cfg.domain_count, 1);
	assert_int_equal(cfg.recipients, 7);
	/* a line longer than inih's buffer is refused, not split in two */
	char text[600];
	int n = snprintf(text, sizeof text, BASE "domains =");
	while (n < 400)
		n += snprintf(text + n, sizeof text - (size_t)n, " x%d.test", n);
	snprintf(text + n, sizeof text - (size_t)n, "\n");
	expect_error(text, 5, "line longer than");
	/* a NUL byte */
	snprintf(path, sizeof path, "/tmp/test_config.XXXXXX");
	int fd = mkstemp(path);
	assert_int_equal(write(fd, BASE "log = std\0err\n", sizeof(BASE) + 13), (ssize_t)sizeof(BASE) + 13);
	close(fd);
	memset(&got, 0, sizeof got);
	assert_int_equal(config_parse(path, &cfg, collect, &got), 1);
	assert_true(has_msg(at(5), "NUL byte"));
	unlink(path);
}

static void test_list_keys_replace_defaults(void **state)
{
	(void)state;
	expect_ok(BASE "[queue]\nretry = 1m\nretry = 2m 3m\n");
	assert_int_equal(cfg.retry_count, 3);
	assert_int_equal(cfg.retry[0], 60);
	assert_int_equal(cfg.retry[2], 180);
	expect_error(BASE "[queue]\nretry = 1s 2s 3s 4s 5s 6s 7s 8s 9s 10s 11s 12s 13s 14s 15s 16s 17s\n",
		     6, "more than 16");
}

static void test_load_and_check(void **state)
{
	(void)state;
	const char *error;
	snprintf(path, sizeof path, "/tmp/test_config.XXXXXX");
	int fd = mkstemp(path);
	const char *text = BASE "[limits]\nrecipients = many\nconnections = lots\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(config_load(path, &cfg, &error), -1);
	assert_non_null(strstr(error, at(6)));
	assert_non_null(strstr(error, "[limits] recipients: 'many'"));
	assert_string_equal(cfg.path, path);
	assert_int_equal(config_check(path), 2);
	unlink(path);

	assert_int_equal(config_load("/nonexistent/postbox.conf", &cfg, &error), -1);
	assert_string_equal(error, "/nonexistent/postbox.conf: cannot open: No such file or directory");
	assert_int_equal(config_check("/nonexistent/postbox.conf"), 1);
}

static void test_default_path_and_names(void **state)
{
	(void)state;
	setenv("POSTBOX_CONF", "/tmp/x.conf", 1);
	assert_string_equal(config_default_path(), "/tmp/x.conf");
	unsetenv("POSTBOX_CONF");
	assert_string_equal(config_default_path(), "/etc/postbox/postbox.conf");
	assert_string_equal(config_service_name(LISTEN_SMTP), "smtp");
	assert_string_equal(config_service_name(LISTEN_SUBMISSIONS), "submissions");
	assert_string_equal(config_service_name(LISTEN_POP3S), "pop3s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_durations),
		cmocka_unit_test(test_sizes_and_counts),
		cmocka_unit_test(test_listen),
		cmocka_unit_test(test_listen_clashes),
		cmocka_unit_test(test_domains),
		cmocka_unit_test(test_server_values),
		cmocka_unit_test(test_tls),
		cmocka_unit_test(test_missing_keys_have_no_line),
		cmocka_unit_test(test_delivery_and_dns),
		cmocka_unit_test(test_routes),
		cmocka_unit_test(test_unknown_sections_and_keys),
		cmocka_unit_test(test_syntax_errors_all_reported),
		cmocka_unit_test(test_line_handling),
		cmocka_unit_test(test_list_keys_replace_defaults),
		cmocka_unit_test(test_load_and_check),
		cmocka_unit_test(test_default_path_and_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
