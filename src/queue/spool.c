/* The incoming spool's files (format in spool.h). */
#include "queue/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fs.h"

static int queue_dir(const char *data_dir, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/queue", data_dir);
	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Queue ids are ours (hex time and session), never a client's text; the
 * check keeps a bad one from naming a path elsewhere. */
static int id_ok(const char *id)
{
	if (id[0] == '\0')
		return 0;
	for (const char *p = id; *p != '\0'; p++) {
		if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= 'a' && *p <= 'z')))
			return 0;
	}
	return 1;
}

int spool_create(const char *data_dir, const char *id, struct spool_file *f,
		 const char **error_r)
{
	char dir[SPOOL_PATH_MAX];
	f->fd = -1;
	f->path[0] = '\0';
	f->size = 0;
	if (!id_ok(id) || queue_dir(data_dir, dir, sizeof dir) < 0) {
		errno = EINVAL;
		*error_r = "bad spool name";
		return -1;
	}
	int n = snprintf(f->path, sizeof f->path, "%s/%s", dir, id);
	if (n < 0 || (size_t)n >= sizeof f->path) {
		f->path[0] = '\0';
		errno = ENAMETOOLONG;
		*error_r = "spool path too long";
		return -1;
	}
	for (int tries = 0; tries < 2 && f->fd < 0; tries++) {
		f->fd = open(f->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (f->fd < 0 && errno == ENOENT && tries == 0 && fs_mkdir_p(dir, 0700, error_r) < 0)
			break;
	}
	if (f->fd < 0) {
		int e = errno;
		f->path[0] = '\0';
		*error_r = "cannot create spool file";
		errno = e;
		return -1;
	}
	return 0;
}

int spool_append(struct spool_file *f, const void *p, size_t n)
{
	struct iovec iov = { (void *)p, n };
	if (f->fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (fs_write_all(f->fd, &iov, 1) < 0)
		return -1;
	f->size += n;
	return 0;
}

void spool_close(struct spool_file *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

void spool_remove(struct spool_file *f)
{
	spool_close(f);
	if (f->path[0] != '\0')
		unlink(f->path);
	f->path[0] = '\0';
}

size_t spool_clean(const char *data_dir)
{
	char dir[SPOOL_PATH_MAX];
	size_t removed = 0;
	if (queue_dir(data_dir, dir, sizeof dir) < 0)
		return 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (id_ok(e->d_name) && unlinkat(dirfd(d), e->d_name, 0) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}
