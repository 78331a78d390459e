#include "lib/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fs_mkdir_p(const char *path, mode_t mode, const char **error_r)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof tmp) {
		*error_r = "path too long";
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (tmp[i] != '/' && tmp[i] != '\0')
			continue;
		char c = tmp[i];
		tmp[i] = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST) {
			*error_r = "mkdir failed";
			return -1;
		}
		tmp[i] = c;
	}
	return 0;
}

int fs_fsync_dir(const char *dir, const char **error_r)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = "open of directory failed";
		return -1;
	}
	if (fsync(fd) < 0) {
		int e = errno;
		close(fd);
		errno = e;
		*error_r = "fsync of directory failed";
		return -1;
	}
	close(fd);
	return 0;
}

int fs_write_all(int fd, const struct iovec *iov_in, int iovcnt)
{
	struct iovec iov[64];
	if (iovcnt > 64) {
		errno = EINVAL;
		return -1;
	}
	memcpy(iov, iov_in, sizeof(*iov) * (size_t)iovcnt);
	struct iovec *v = iov;
	while (iovcnt > 0) {
		ssize_t w = writev(fd, v, iovcnt);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		size_t left = (size_t)w;
		while (iovcnt > 0 && left >= v->iov_len) {
			left -= v->iov_len;
			v++;
			iovcnt--;
		}
		if (iovcnt > 0) {
			v->iov_base = (char *)v->iov_base + left;
			v->iov_len -= left;
		}
	}
	return 0;
}

int fs_dirname(const char *path, char *dir, size_t dirlen)
{
	const char *slash = strrchr(path, '/');
	if (slash == NULL)
		return snprintf(dir, dirlen, ".") < (int)dirlen ? 0 : -1;
	size_t n = slash == path ? 1 : (size_t)(slash - path);
	if (n >= dirlen)
		return -1;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

int fs_write_file_durable_at(int dirfd, const char *name, const void *data, size_t len,
			     mode_t mode, const char **error_r)
{
	char tmp[NAME_MAX + 1];
	if (strchr(name, '/') != NULL ||
	    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", name, (long)getpid()) >= (int)sizeof tmp) {
		*error_r = "bad file name";
		errno = EINVAL;
		return -1;
	}
	/* A temporary left by a crash (or planted as a link) goes first:
	 * O_EXCL|O_NOFOLLOW then never writes through anything but our own
	 * new file. */
	(void)unlinkat(dirfd, tmp, 0);
	int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		*error_r = "create failed";
		return -1;
	}
	struct iovec iov = { (void *)data, len };
	/* fchmod: the mode asked for, whatever the umask (a config that the
	 * service user must read is 0644 under our umask 077). */
	if (fchmod(fd, mode) < 0 || fs_write_all(fd, &iov, 1) < 0 || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlinkat(dirfd, tmp, 0);
		errno = e;
		*error_r = "write failed";
		return -1;
	}
	if (close(fd) < 0 || renameat(dirfd, tmp, dirfd, name) < 0) {
		int e = errno;
		unlinkat(dirfd, tmp, 0);
		errno = e;
		*error_r = "rename failed";
		return -1;
	}
	if (fsync(dirfd) < 0) {
		*error_r = "fsync of directory failed";
		return -1;
	}
	return 0;
}

int fs_write_file_durable(const char *path, const void *data, size_t len,
			  mode_t mode, const char **error_r)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	if (fs_dirname(path, dir, sizeof dir) < 0) {
		*error_r = "path too long";
		errno = ENAMETOOLONG;
		return -1;
	}
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		*error_r = "open of directory failed";
		return -1;
	}
	int r = fs_write_file_durable_at(dfd, slash != NULL ? slash + 1 : path, data, len,
					 mode, error_r);
	int e = errno;
	close(dfd);
	errno = e;
	return r;
}

size_t fs_read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, (char *)buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

int fs_read_fd(int fd, size_t max, char **data_r, size_t *len_r, const char **error_r)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*error_r = "not a regular file";
		errno = EINVAL;
		return -1;
	}
	if ((unsigned long long)st.st_size > max) {
		close(fd);
		*error_r = "file too large";
		errno = EFBIG;
		return -1;
	}
	size_t size = (size_t)st.st_size;
	char *p = malloc(size + 1);
	if (p == NULL) {
		close(fd);
		*error_r = "out of memory";
		return -1;
	}
	size_t got = fs_read_full(fd, p, size);
	close(fd);
	p[got] = '\0';
	*data_r = p;
	*len_r = got;
	return 0;
}

int fs_read_file(const char *path, size_t max, char **data_r, size_t *len_r,
		 const char **error_r)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*error_r = "open failed";
		return -1;
	}
	return fs_read_fd(fd, max, data_r, len_r, error_r);
}

int fs_read_file_at(int dirfd, const char *rel, size_t max, char **data_r,
		    size_t *len_r, const char **error_r)
{
	/* O_NONBLOCK: a planted FIFO must not hang the open. */
	int fd = fs_open_beneath(dirfd, rel, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0) {
		*error_r = errno == ELOOP ? "a symbolic link" : "open failed";
		return -1;
	}
	return fs_read_fd(fd, max, data_r, len_r, error_r);
}

/* fsyncs of one batch, shared out among a few threads. */
struct fsync_share {
	const int *fds;
	int *errs;
	size_t n;
	atomic_size_t next;
};

static void *fsync_some(void *arg)
{
	struct fsync_share *sh = arg;
	size_t i;
	while ((i = atomic_fetch_add(&sh->next, 1)) < sh->n)
		sh->errs[i] = fsync(sh->fds[i]) < 0 ? errno : 0;
	return NULL;
}

#define FSYNC_THREADS 8

void fs_fsync_many(const int *fds, int *errs_r, size_t n)
{
	struct fsync_share sh = { .fds = fds, .errs = errs_r, .n = n };
	pthread_t th[FSYNC_THREADS];
	size_t started = 0;
	atomic_init(&sh.next, 0);
	while (started < FSYNC_THREADS && started + 1 < n &&
	       pthread_create(&th[started], NULL, fsync_some, &sh) == 0)
		started++;
	fsync_some(&sh);
	for (size_t i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}
