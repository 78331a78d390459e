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
#include "queue/queue_private.h"
#include "queue/queue_store.h"

int spool_create(const char *data_dir, const char *id, struct spool_file *f,
		 const char **error_r)
{
	char dir[SPOOL_PATH_MAX];
	f->fd = -1;
	f->path[0] = '\0';
	f->size = 0;
	if (!queue_id_ok(id) || queue_path(data_dir, QUEUE_INCOMING, "", "", dir, sizeof dir) < 0) {
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

/* Spool files of the layout before incoming/ (DATA/queue/ID). */
static bool old_spool(int dfd, const struct dirent *e)
{
	(void)dfd;
	return e->d_type == DT_REG && queue_id_ok(e->d_name);
}

size_t spool_clean(const char *data_dir)
{
	return queue_recover(data_dir) + queue_clean_dir(data_dir, "", old_spool);
}
