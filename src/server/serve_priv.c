/* Root, and what serve keeps of it. serve binds its ports as root and then
 * works as [server] user; it refuses to keep root unless told so
 * (user = root). A TLS key is usually readable by root alone, and SIGHUP
 * must be able to load a renewed one after the drop: as Postfix's master
 * and Dovecot's do, a small parent stays root. It is forked before
 * anything else happens (no thread, no socket, no store yet), takes no
 * network input, and does three things: on SIGHUP (its own, or a one-byte
 * request from the server) it reads the config, the certificate and the
 * key and hands the two PEM texts to the server over a socket pair; it
 * passes SIGTERM and SIGINT on; it exits with the server's status. The
 * server never chooses which files the parent reads. */
#include "server/serve_priv.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth/userdb.h"
#include "lib/fs.h"
#include "lib/log.h"

#define PEM_MAX (32 * 1024)           /* each of certificate chain and key */
#define MSG_MAX (sizeof(struct creds_hdr) + sizeof(struct config) + 2 * PEM_MAX)

/* A message: the header, then (ok) struct config, the certificate and
 * the key, or (not ok) an error text. Both ends are the same binary. */
struct creds_hdr {
	uint32_t ok;
	uint32_t cert_len, key_len;   /* not ok: cert_len is the text's */
};

int serve_priv_check(const struct config *cfg, const char **error_r)
{
	if (geteuid() != 0 || cfg->user[0] != '\0')
		return 0;
	*error_r = "refusing to run as root: [server] user is not set; create a system user"
		   " (useradd --system --home-dir DATA --shell /usr/sbin/nologin postbox) and set"
		   " user = postbox, or write user = root to keep root";
	return -1;
}

static bool drops(const struct config *cfg)
{
	return geteuid() == 0 && cfg->user[0] != '\0' && strcmp(cfg->user, "root") != 0;
}

int serve_priv_drop(const struct config *cfg, const char **error_r)
{
	static char err[1400];
	if (!drops(cfg)) {
		if (geteuid() == 0)
			log_warn("[server] user = root: serving as root");
		return 0;
	}
	struct passwd *pw = getpwnam(cfg->user);
	if (pw == NULL) {
		snprintf(err, sizeof err, "[server] user %s does not exist: create it (useradd"
			 " --system --home-dir %s --shell /usr/sbin/nologin %s)", cfg->user,
			 cfg->data_dir, cfg->user);
		*error_r = err;
		return -1;
	}
	char path[1024];
	const char *names[4 + USERDB_FILE_COUNT] = { "", "mail", "queue", "public" };
	for (size_t i = 0; i < USERDB_FILE_COUNT; i++)
		names[4 + i] = userdb_files[i];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s%s%s", cfg->data_dir, i ? "/" : "", names[i]);
		/* DATA may be a link (the administrator's); below it, a link
		 * put there by whoever ran as that user is not followed. */
		int r = i == 0 ? chown(path, pw->pw_uid, pw->pw_gid) :
			lchown(path, pw->pw_uid, pw->pw_gid);
		if (r < 0 && errno != ENOENT) {
			snprintf(err, sizeof err, "chown %s: %s", path, strerror(errno));
			*error_r = err;
			return -1;
		}
	}
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		snprintf(err, sizeof err, "cannot become user %s: %s", cfg->user, strerror(errno));
		*error_r = err;
		return -1;
	}
	log_info("running as user %s", cfg->user);
	return 0;
}

/* ---- the parent ---- */

/* One message: the header, then the certificate and the key (or an error
 * text as "certificate"). */
static void send_creds(int link, const char *config_path)
{
	struct config *cfg = calloc(1, sizeof *cfg);
	char *cert = NULL, *key = NULL;
	size_t clen = 0, klen = 0;
	const char *err = NULL;
	struct creds_hdr h = { 0 };
	if (cfg == NULL)
		err = "out of memory";
	else if (config_load(config_path, cfg, &err) < 0)
		;
	else if (cfg->tls_cert[0] == '\0' || cfg->tls_key[0] == '\0')
		err = "no [tls] cert and key";
	else if (fs_read_file(cfg->tls_cert, PEM_MAX, &cert, &clen, &err) < 0 ||
		 fs_read_file(cfg->tls_key, PEM_MAX, &key, &klen, &err) < 0)
		err = errno == EFBIG ? "certificate or key larger than 32 KiB" :
		      "cannot read the certificate or the key";
	struct iovec iov[4] = { { &h, sizeof h } };
	if (err != NULL) {
		h.cert_len = (uint32_t)strlen(err);
		iov[1] = (struct iovec){ (void *)err, h.cert_len };
	} else {
		h = (struct creds_hdr){ 1, (uint32_t)clen, (uint32_t)klen };
		iov[1] = (struct iovec){ cfg, sizeof *cfg };
		iov[2] = (struct iovec){ cert, clen };
		iov[3] = (struct iovec){ key, klen };
	}
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = err != NULL ? 2 : 4 };
	if (sendmsg(link, &m, MSG_NOSIGNAL) < 0)
		log_err("privileged parent: cannot hand the key over: %s", strerror(errno));
	if (key != NULL)
		explicit_bzero(key, klen);
	free(cert);
	free(key);
	free(cfg);
}

/* Requests from the server: any byte asks for the credentials; EOF
 * means it closed its end (it is exiting). */
static bool serve_requests(int link, const char *config_path)
{
	char buf[16];
	ssize_t n = recv(link, buf, sizeof buf, MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		return false;
	if (n > 0)
		send_creds(link, config_path);
	return true;
}

/* Returns the server's exit status once it has gone. */
static int parent_loop(pid_t child, int link, int sfd, const char *config_path)
{
	bool link_open = true;
	for (;;) {
		struct pollfd p[2] = { { sfd, POLLIN, 0 }, { link, POLLIN, 0 } };
		if (poll(p, link_open ? 2 : 1, -1) < 0 && errno != EINTR)
			return 1;
		if (link_open && (p[1].revents & (POLLIN | POLLHUP | POLLERR)))
			link_open = serve_requests(link, config_path);
		struct signalfd_siginfo si;
		if (!(p[0].revents & POLLIN) || read(sfd, &si, sizeof si) != sizeof si)
			continue;
		int status;
		if (si.ssi_signo == SIGHUP && link_open)
			send_creds(link, config_path);
		else if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			kill(child, (int)si.ssi_signo);
		else if (si.ssi_signo == SIGCHLD && waitpid(child, &status, WNOHANG) == child)
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	}
}

int serve_priv_fork(const char *config_path, const struct config *cfg, int *link_r,
		    int *exit_status_r, const char **error_r)
{
	*link_r = -1;
	if (!drops(cfg) || cfg->tls_cert[0] == '\0')
		return 0;
	int sv[2];
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGCHLD);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		*error_r = "socketpair failed";
		return -1;
	}
	/* One message holds it all: room for two (root may exceed wmem_max). */
	int bufsize = (int)MSG_MAX * 2;
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUFFORCE, &bufsize, sizeof bufsize);
	(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUFFORCE, &bufsize, sizeof bufsize);
	/* Blocked before the fork: no signal is lost in between. */
	sigprocmask(SIG_BLOCK, &set, &old);
	pid_t pid = fork();
	if (pid < 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(sv[0]);
		close(sv[1]);
		*error_r = "fork failed";
		return -1;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(sv[0]);
		*link_r = sv[1];
		return 0;
	}
	close(sv[1]);
	int sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		kill(pid, SIGTERM);
		*error_r = "signalfd failed";
	}
	log_info("privileged parent %ld keeps root to reload the TLS key; server is %ld",
		 (long)getpid(), (long)pid);
	*exit_status_r = sfd < 0 ? 1 : parent_loop(pid, sv[0], sfd, config_path);
	if (sfd < 0)
		waitpid(pid, NULL, 0);
	else
		close(sfd);
	close(sv[0]);
	return 1;
}

/* ---- the server's side ---- */

int serve_priv_request(int link)
{
	return send(link, "R", 1, MSG_DONTWAIT | MSG_NOSIGNAL) == 1 ? 0 : -1;
}

int serve_priv_receive(int link, struct serve_creds *c, const char **error_r)
{
	static char err[256];
	c->buf = NULL;
	char *buf = malloc(MSG_MAX);
	if (buf == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	struct iovec iov = { buf, MSG_MAX };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t n = recvmsg(link, &m, MSG_DONTWAIT);
	struct creds_hdr h;
	if (n <= 0 || (m.msg_flags & MSG_TRUNC) || (size_t)n < sizeof h) {
		free(buf);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return 0;
		*error_r = n == 0 ? "the privileged parent is gone" : "bad message from the parent";
		return -1;
	}
	memcpy(&h, buf, sizeof h);
	size_t body = (size_t)n - sizeof h - (h.ok ? sizeof c->cfg : 0);
	if ((size_t)n < sizeof h + (h.ok ? sizeof c->cfg : 0) ||
	    (uint64_t)h.cert_len + h.key_len != body || (!h.ok && h.key_len != 0)) {
		free(buf);
		*error_r = "bad message from the parent";
		return -1;
	}
	if (!h.ok) {
		snprintf(err, sizeof err, "%.*s", (int)h.cert_len, buf + sizeof h);
		free(buf);
		*error_r = err;
		return 2;
	}
	memcpy(&c->cfg, buf + sizeof h, sizeof c->cfg);
	c->buf = buf;
	c->cert = buf + sizeof h + sizeof c->cfg;
	c->cert_len = h.cert_len;
	c->key = c->cert + h.cert_len;
	c->key_len = h.key_len;
	return 1;
}

void serve_creds_clear(struct serve_creds *c)
{
	if (c->buf != NULL)
		explicit_bzero(c->buf, MSG_MAX);
	free(c->buf);
	c->buf = NULL;
	c->cert = c->key = NULL;
	c->cert_len = c->key_len = 0;
}
