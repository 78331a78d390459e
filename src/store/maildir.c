#include "store/maildir.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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

int maildir_open(const char *dir, int *fd_r, const char **error_r)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	*fd_r = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (*fd_r < 0) {
		*error_r = "cannot open the Maildir";
		return -1;
	}
	/* Files are reached as "tmp/NAME" and "new/NAME" from here: a link
	 * planted in place of tmp/ new/ cur/ would take them elsewhere. */
	for (size_t i = 0; i < 3; i++) {
		struct stat st;
		if (fstatat(*fd_r, subs[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode)) {
			close(*fd_r);
			*fd_r = -1;
			*error_r = "a Maildir directory is a symbolic link";
			errno = ELOOP;
			return -1;
		}
	}
	return 0;
}

/* The host part, made once: '/' and ':' would end the name or start its
 * info, so they are escaped in octal as Maildir's definition says. */
static char host[128];
static pthread_once_t host_once = PTHREAD_ONCE_INIT;

static void make_host(void)
{
	char h[100] = "localhost";
	gethostname(h, sizeof h - 1);
	h[sizeof h - 1] = '\0';
	size_t o = 0;
	for (const char *p = h; *p && o + 5 < sizeof host; p++) {
		if (*p == '/' || *p == ':')
			o += (size_t)snprintf(host + o, sizeof host - o, "\\%03o", (unsigned char)*p);
		else
			host[o++] = *p;
	}
	host[o] = '\0';
}

int maildir_unique_name(char *out, size_t outlen, uint64_t size)
{
	static atomic_ulong counter;
	struct timeval tv;
	pthread_once(&host_once, make_host);
	gettimeofday(&tv, NULL);
	unsigned long q = atomic_fetch_add(&counter, 1);
	/* Fixed widths (Linux pids fit in 7 digits): the store sorts new
	 * names by seconds and then as strings. */
	int n = snprintf(out, outlen, "%lld.M%06ldP%07ldQ%010lu.%s,S=%llu",
			 (long long)tv.tv_sec, (long)tv.tv_usec, (long)getpid(), q,
			 host, (unsigned long long)size);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

static void file_init(int dir_fd, struct maildir_file *f)
{
	f->dir_fd = dir_fd;
	f->fd = -1;
	f->name[0] = '\0';
	f->dest[0] = '\0';
	f->in_tmp = false;
	f->published = false;
}

static int rel(char *out, size_t outlen, const char *sub, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", sub, name);
	return n > 0 && (size_t)n < outlen ? 0 : -1;
}

static int new_name(struct maildir_file *f, uint64_t size, const char **error_r)
{
	if (maildir_unique_name(f->name, sizeof f->name, size) < 0) {
		*error_r = "file name too long";
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int maildir_tmp_create(int dir_fd, uint64_t size, struct maildir_file *f,
		       const char **error_r)
{
	char tmp[MAILDIR_NAME_MAX + 8];
	file_init(dir_fd, f);
	if (new_name(f, size, error_r) < 0 || rel(tmp, sizeof tmp, "tmp", f->name) < 0)
		return -1;
	f->fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (f->fd < 0) {
		*error_r = "cannot create file in tmp/";
		return -1;
	}
	f->in_tmp = true;
	return 0;
}

int maildir_file_write(struct maildir_file *f, const struct iovec *iov, int iovcnt,
		       const char **error_r)
{
	if (fs_write_all(f->fd, iov, iovcnt) < 0) {
		*error_r = "write failed";
		return -1;
	}
	return 0;
}

/* Copies src into the open tmp file in bounded chunks. */
static int copy_into(struct maildir_file *f, const char *src_path, const char **error_r)
{
	char chunk[64 * 1024];
	int in = open(src_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0) {
		*error_r = "cannot open the source file";
		return -1;
	}
	int r = 0;
	for (;;) {
		size_t got = fs_read_full(in, chunk, sizeof chunk);
		struct iovec iov = { chunk, got };
		if (got > 0 && maildir_file_write(f, &iov, 1, error_r) < 0) {
			r = -1;
			break;
		}
		if (got < sizeof chunk)
			break;
	}
	int e = errno;
	close(in);
	errno = e;
	return r;
}

int maildir_tmp_link(int dir_fd, const char *src_path, uint64_t size,
		     struct maildir_file *f, const char **error_r)
{
	char tmp[MAILDIR_NAME_MAX + 8];
	file_init(dir_fd, f);
	if (new_name(f, size, error_r) < 0 || rel(tmp, sizeof tmp, "tmp", f->name) < 0)
		return -1;
	if (linkat(AT_FDCWD, src_path, dir_fd, tmp, 0) == 0) {
		f->in_tmp = true;
		return 0;
	}
	if (errno != EXDEV) {
		*error_r = "cannot link into tmp/";
		return -1;
	}
	if (maildir_tmp_create(dir_fd, size, f, error_r) < 0)
		return -1;
	if (copy_into(f, src_path, error_r) < 0) {
		int e = errno;
		maildir_file_discard(f);
		errno = e;
		return -1;
	}
	return 0;
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

int maildir_file_publish(struct maildir_file *f, const char *dest, const char **error_r)
{
	char tmp[MAILDIR_NAME_MAX + 8];
	if (rel(tmp, sizeof tmp, "tmp", f->name) < 0)
		return -1;
	if (dest == NULL) {
		if (rel(f->dest, sizeof f->dest, "new", f->name) < 0)
			return -1;
	} else if (snprintf(f->dest, sizeof f->dest, "%s", dest) >= (int)sizeof f->dest) {
		*error_r = "file name too long";
		errno = ENAMETOOLONG;
		return -1;
	}
	if (renameat(f->dir_fd, tmp, f->dir_fd, f->dest) < 0) {
		*error_r = "rename out of tmp/ failed";
		return -1;
	}
	f->in_tmp = false;
	f->published = true;
	return 0;
}

void maildir_file_discard(struct maildir_file *f)
{
	char tmp[MAILDIR_NAME_MAX + 8];
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
	if (f->in_tmp && rel(tmp, sizeof tmp, "tmp", f->name) == 0)
		unlinkat(f->dir_fd, tmp, 0);
	if (f->published)
		unlinkat(f->dir_fd, f->dest, 0);
	f->in_tmp = false;
	f->published = false;
}

int maildir_sync_dir(int dir_fd, const char *sub, const char **error_r)
{
	int fd = openat(dir_fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		*error_r = "cannot open directory for fsync";
		return -1;
	}
	int r = fsync(fd);
	int e = errno;
	close(fd);
	if (r < 0) {
		errno = e;
		*error_r = "directory fsync failed";
	}
	return r;
}
