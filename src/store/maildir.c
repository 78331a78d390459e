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

void maildir_close(struct maildir *md)
{
	int *fds[] = { &md->fd, &md->tmp, &md->new, &md->cur };
	for (size_t i = 0; i < 4; i++) {
		if (*fds[i] >= 0)
			close(*fds[i]);
		*fds[i] = -1;
	}
}

/* The Maildir and its subdirectories, none through a link; with mk, each
 * made first where missing (mkdirat in its parent's fd). */
static int open_dirs(int dirfd, const char *rel, bool mk, struct maildir *md)
{
	static const char *const subs[] = { "tmp", "new", "cur" };
	int *sub_fds[] = { &md->tmp, &md->new, &md->cur };
	md->fd = mk ? fs_mkdirs_beneath(dirfd, rel, 0700) :
		     fs_open_beneath(dirfd, rel, O_RDONLY | O_DIRECTORY, 0);
	for (size_t i = 0; i < 3 && md->fd >= 0; i++) {
		if (mk && mkdirat(md->fd, subs[i], 0700) < 0 && errno != EEXIST)
			return -1;
		*sub_fds[i] = openat(md->fd, subs[i],
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (*sub_fds[i] < 0)
			return -1;
	}
	return md->fd >= 0 ? 0 : -1;
}

int maildir_open_at(int dirfd, const char *rel, bool create, struct maildir *md,
		    const char **error_r)
{
	*md = (struct maildir){ -1, -1, -1, -1 };
	/* Trying first costs nothing; making cur/ new/ tmp/ every time was a
	 * few dozen mkdir calls per message. */
	int r = open_dirs(dirfd, rel, false, md);
	if (r < 0 && errno == ENOENT && create) {
		maildir_close(md);
		r = open_dirs(dirfd, rel, true, md);
	}
	if (r == 0)
		return 0;
	int e = errno;
	maildir_close(md);
	errno = e;
	/* O_NOFOLLOW on a link gives ELOOP; O_DIRECTORY on a link (or a
	 * file) in the path gives ENOTDIR. */
	*error_r = e == ELOOP || e == ENOTDIR ? "a Maildir directory is a symbolic link" :
		   "cannot open the Maildir";
	return -1;
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

static void file_init(const struct maildir *md, struct maildir_file *f)
{
	f->md = md;
	f->dest_fd = -1;
	f->fd = -1;
	f->name[0] = '\0';
	f->dest[0] = '\0';
	f->in_tmp = false;
	f->published = false;
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

int maildir_tmp_create(const struct maildir *md, uint64_t size, struct maildir_file *f,
		       const char **error_r)
{
	file_init(md, f);
	if (new_name(f, size, error_r) < 0)
		return -1;
	f->fd = openat(md->tmp, f->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
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
static int copy_into(struct maildir_file *f, int src_dirfd, const char *src,
		     const char **error_r)
{
	char chunk[64 * 1024];
	int in = openat(src_dirfd, src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
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

int maildir_tmp_link(const struct maildir *md, const char *src_path, uint64_t size,
		     struct maildir_file *f, const char **error_r)
{
	return maildir_tmp_link_at(md, AT_FDCWD, src_path, size, f, error_r);
}

int maildir_tmp_link_at(const struct maildir *md, int src_dirfd, const char *src,
			uint64_t size, struct maildir_file *f, const char **error_r)
{
	file_init(md, f);
	if (new_name(f, size, error_r) < 0)
		return -1;
	if (linkat(src_dirfd, src, md->tmp, f->name, 0) == 0) {
		f->in_tmp = true;
		return 0;
	}
	if (errno != EXDEV) {
		*error_r = "cannot link into tmp/";
		return -1;
	}
	if (maildir_tmp_create(md, size, f, error_r) < 0)
		return -1;
	if (copy_into(f, src_dirfd, src, error_r) < 0) {
		int e = errno;
		maildir_file_discard(f);
		errno = e;
		return -1;
	}
	return 0;
}

int maildir_file_resume(const struct maildir *md, const char *name, struct maildir_file *f)
{
	file_init(md, f);
	if (snprintf(f->name, sizeof f->name, "%s", name) >= (int)sizeof f->name) {
		errno = ENAMETOOLONG;
		return -1;
	}
	f->in_tmp = true;
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

/* The fd of sub ("new" or "cur"), or -1. */
static int sub_fd(const struct maildir *md, const char *sub, size_t len)
{
	if (len == 3 && strncmp(sub, "new", 3) == 0)
		return md->new;
	if (len == 3 && strncmp(sub, "cur", 3) == 0)
		return md->cur;
	return -1;
}

int maildir_file_publish(struct maildir_file *f, const char *dest, const char **error_r)
{
	const char *slash = dest != NULL ? strchr(dest, '/') : NULL;
	const char *name = slash != NULL ? slash + 1 : f->name;
	f->dest_fd = dest == NULL ? f->md->new :
		     slash != NULL ? sub_fd(f->md, dest, (size_t)(slash - dest)) : -1;
	if (f->dest_fd < 0 || strchr(name, '/') != NULL || name[0] == '\0') {
		*error_r = "bad destination in the Maildir";
		errno = EINVAL;
		return -1;
	}
	if (snprintf(f->dest, sizeof f->dest, "%s", name) >= (int)sizeof f->dest) {
		*error_r = "file name too long";
		errno = ENAMETOOLONG;
		return -1;
	}
	if (renameat(f->md->tmp, f->name, f->dest_fd, f->dest) < 0) {
		*error_r = "rename out of tmp/ failed";
		return -1;
	}
	f->in_tmp = false;
	f->published = true;
	return 0;
}

void maildir_file_discard(struct maildir_file *f)
{
	if (f->fd >= 0) {
		close(f->fd);
		f->fd = -1;
	}
	if (f->in_tmp)
		unlinkat(f->md->tmp, f->name, 0);
	if (f->published)
		unlinkat(f->dest_fd, f->dest, 0);
	f->in_tmp = false;
	f->published = false;
}

int maildir_sync_dir(const struct maildir *md, const char *sub, const char **error_r)
{
	int fd = sub_fd(md, sub, strlen(sub));
	if (fd < 0) {
		*error_r = "bad Maildir directory";
		errno = EINVAL;
		return -1;
	}
	if (fsync(fd) < 0) {
		*error_r = "directory fsync failed";
		return -1;
	}
	return 0;
}
