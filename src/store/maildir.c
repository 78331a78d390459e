#include "store/maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <stdatomic.h>

#include "lib/fs.h"

static bool safe_name(const char *s)
{
	if (s[0] == '\0' || s[0] == '.')
		return false;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '/' || *p < 0x20 || *p == 0x7f)
			return false;
	}
	return true;
}

int maildir_user_root(const char *data_dir, const char *domain, const char *local,
		      char *out, size_t outlen, const char **error_r)
{
	if (!safe_name(domain) || !safe_name(local)) {
		*error_r = "unsafe mailbox name";
		errno = EINVAL;
		return -1;
	}
	int n = snprintf(out, outlen, "%s/mail/%s/%s", data_dir, domain, local);
	if (n < 0 || (size_t)n >= outlen) {
		*error_r = "mailbox path too long";
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int maildir_create(const char *root, const char **error_r)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	char path[MAILDIR_PATH_MAX];
	for (size_t i = 0; i < 3; i++) {
		if (snprintf(path, sizeof path, "%s/%s", root, subs[i]) >= (int)sizeof path) {
			*error_r = "mailbox path too long";
			return -1;
		}
		if (fs_mkdir_p(path, 0700, error_r) < 0)
			return -1;
	}
	return 0;
}

/* Unique names as in qmail's and Dovecot's Maildir: seconds, then
 * M<microseconds>P<pid>Q<per-process counter>, then the host name, so two
 * deliveries can never pick the same name, even from two processes on two
 * hosts sharing the store. ",S=" carries the size so readers need no stat. */
static int unique_name(char *out, size_t outlen, size_t size)
{
	static atomic_ulong counter;
	static char host[128];
	if (host[0] == '\0') {
		char h[100] = "localhost";
		gethostname(h, sizeof h - 1);
		size_t o = 0;
		for (const char *p = h; *p && o + 5 < sizeof host; p++) {
			if (*p == '/' || *p == ':') /* Maildir escapes them octal */
				o += (size_t)snprintf(host + o, sizeof host - o, "\\%03o",
						      (unsigned char)*p);
			else
				host[o++] = *p;
		}
		host[o] = '\0';
	}
	struct timeval tv;
	gettimeofday(&tv, NULL);
	unsigned long q = atomic_fetch_add(&counter, 1);
	int n = snprintf(out, outlen, "%lld.M%ldP%ldQ%lu.%s,S=%zu", (long long)tv.tv_sec,
			 (long)tv.tv_usec, (long)getpid(), q, host, size);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

static int paths_for(const char *root, size_t size, struct maildir_file *f)
{
	char name[256];
	if (unique_name(name, sizeof name, size) < 0)
		return -1;
	int a = snprintf(f->tmp_path, sizeof f->tmp_path, "%s/tmp/%s", root, name);
	int b = snprintf(f->new_path, sizeof f->new_path, "%s/new/%s", root, name);
	int c = snprintf(f->new_dir, sizeof f->new_dir, "%s/new", root);
	if (a < 0 || b < 0 || c < 0 || (size_t)a >= sizeof f->tmp_path ||
	    (size_t)b >= sizeof f->new_path || (size_t)c >= sizeof f->new_dir)
		return -1;
	return 0;
}

int maildir_write_tmp(const char *root, const struct iovec *iov, int iovcnt,
		      struct maildir_file *f, const char **error_r)
{
	size_t size = 0;
	for (int i = 0; i < iovcnt; i++)
		size += iov[i].iov_len;
	f->fd = -1;
	f->published = false;
	if (paths_for(root, size, f) < 0) {
		*error_r = "mailbox path too long";
		errno = ENAMETOOLONG;
		return -1;
	}
	f->fd = open(f->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (f->fd < 0) {
		*error_r = "cannot create file in tmp/";
		return -1;
	}
	if (fs_write_all(f->fd, iov, iovcnt) < 0) {
		*error_r = "write failed";
		int e = errno;
		maildir_file_discard(f);
		errno = e;
		return -1;
	}
	return 0;
}

int maildir_link_tmp(const struct maildir_file *src, const char *root,
		     struct maildir_file *f, const char **error_r)
{
	struct stat st;
	f->fd = -1;
	f->published = false;
	if (stat(src->tmp_path, &st) < 0) {
		*error_r = "source file vanished";
		return -1;
	}
	if (paths_for(root, (size_t)st.st_size, f) < 0) {
		*error_r = "mailbox path too long";
		return -1;
	}
	if (link(src->tmp_path, f->tmp_path) == 0)
		return 0;
	if (errno != EXDEV) {
		*error_r = "link into tmp/ failed";
		return -1;
	}
	char *data;
	size_t len;
	if (fs_read_file(src->tmp_path, (size_t)st.st_size, &data, &len, error_r) < 0)
		return -1;
	struct iovec iov = { data, len };
	int r = maildir_write_tmp(root, &iov, 1, f, error_r);
	free(data);
	return r;
}

void maildir_file_start_writeback(struct maildir_file *f)
{
	if (f->fd >= 0)
		(void)sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
}

int maildir_file_sync(struct maildir_file *f, const char **error_r)
{
	if (f->fd < 0)
		return 0;
	int r = fsync(f->fd);
	int e = errno;
	if (close(f->fd) < 0 && r == 0) {
		r = -1;
		e = errno;
	}
	f->fd = -1;
	if (r < 0) {
		errno = e;
		*error_r = "fsync failed";
	}
	return r;
}

int maildir_file_publish(struct maildir_file *f, const char **error_r)
{
	if (rename(f->tmp_path, f->new_path) < 0) {
		*error_r = "rename into new/ failed";
		return -1;
	}
	f->published = true;
	return 0;
}

void maildir_file_discard(struct maildir_file *f)
{
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
	unlink(f->published ? f->new_path : f->tmp_path);
	f->published = false;
}
