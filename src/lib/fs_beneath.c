/* Paths resolved beneath a directory without following symbolic links
 * (fs.h). The kernel does it in one call where it can (openat2, Linux
 * 5.6); elsewhere, or where a sandbox refuses the call, one openat with
 * O_NOFOLLOW per component does the same walk. */
#include "lib/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifdef SYS_openat2
#include <linux/openat2.h>
#endif

#define COMPONENT_MAX 256

static atomic_bool no_openat2;

void fs_beneath_force_walk(bool on)
{
	atomic_store(&no_openat2, on);
}

/* The next component of *p into comp; advances *p past it and its
 * slashes. 0, or -1 (EINVAL: too long; EXDEV: ".." would leave). */
static int next_component(const char **p, char *comp)
{
	size_t n = strcspn(*p, "/");
	if (n >= COMPONENT_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(comp, *p, n);
	comp[n] = '\0';
	*p += n;
	*p += strspn(*p, "/");
	if (strcmp(comp, "..") == 0) {
		errno = EXDEV;
		return -1;
	}
	return 0;
}

/* Opens every component but the last as a directory, without following
 * a link; returns the parent's fd (dirfd itself when there is no parent
 * component: *own_r false) and leaves the last component in last. */
static int walk_parent(int dirfd, const char *rel, char *last, bool *own_r)
{
	const char *p = rel;
	int fd = dirfd;
	*own_r = false;
	for (;;) {
		if (next_component(&p, last) < 0)
			goto fail;
		if (*p == '\0')
			return fd;
		if (last[0] == '\0' || strcmp(last, ".") == 0)
			continue;
		int next = openat(fd, last, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			goto fail;
		if (*own_r)
			close(fd);
		fd = next;
		*own_r = true;
	}
fail:
	if (*own_r) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return -1;
}

static int open_walk(int dirfd, const char *rel, int flags, mode_t mode)
{
	char last[COMPONENT_MAX];
	bool own;
	int parent = walk_parent(dirfd, rel, last, &own);
	if (parent < 0)
		return -1;
	int fd = openat(parent, last[0] != '\0' ? last : ".", flags, mode);
	int e = errno;
	if (own)
		close(parent);
	errno = e;
	return fd;
}

int fs_open_beneath(int dirfd, const char *rel, int flags, mode_t mode)
{
	flags |= O_CLOEXEC | O_NOFOLLOW;
	if (rel[0] == '/') {
		errno = EXDEV;
		return -1;
	}
	if (rel[0] == '\0' || strcmp(rel, ".") == 0)
		return openat(dirfd, ".", flags & ~(O_CREAT | O_EXCL | O_TRUNC), mode);
#ifdef SYS_openat2
	if (!atomic_load(&no_openat2)) {
		struct open_how how = {
			.flags = (unsigned long long)flags,
			/* openat2 refuses a mode without O_CREAT (O_TMPFILE
			 * contains O_DIRECTORY's bit: compare it whole). */
			.mode = (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE ? mode : 0,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
		};
		long fd;
		do {
			fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
		} while (fd < 0 && (errno == EAGAIN || errno == EINTR));
		if (fd >= 0 || (errno != ENOSYS && errno != EPERM && errno != E2BIG))
			return (int)fd;
		atomic_store(&no_openat2, true);
	}
#endif
	return open_walk(dirfd, rel, flags, mode);
}

int fs_stat_beneath(int dirfd, const char *rel, struct stat *st_r)
{
	/* O_PATH|O_NOFOLLOW: a final link is opened as itself, not refused. */
	int fd = fs_open_beneath(dirfd, rel, O_PATH, 0);
	if (fd < 0)
		return -1;
	int r = fstat(fd, st_r);
	int e = errno;
	close(fd);
	errno = e;
	return r;
}

int fs_mkdirs_beneath(int dirfd, const char *rel, mode_t mode)
{
	char comp[COMPONENT_MAX];
	const char *p = rel;
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	while (fd >= 0 && *p != '\0') {
		if (next_component(&p, comp) < 0)
			goto fail;
		if (comp[0] == '\0' || strcmp(comp, ".") == 0)
			continue;
		if (mkdirat(fd, comp, mode) < 0 && errno != EEXIST)
			goto fail;
		int next = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0)
			goto fail;
		close(fd);
		fd = next;
	}
	return fd;
fail:;
	int e = errno;
	close(fd);
	errno = e;
	return -1;
}

int fs_walk_tree_at(int dirfd, const char *name, int max_depth,
		    int (*fn)(int dirfd, const char *name, const struct stat *st, void *ctx),
		    void *ctx)
{
	struct stat st;
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return fn(dirfd, name, &st, ctx);
	if (max_depth <= 0) {
		errno = ELOOP;
		return -1;
	}
	int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fs_walk_tree_at(fd, de->d_name, max_depth - 1, fn, ctx) < 0)
			r = -1;
	}
	closedir(d);
	return r == 0 ? fn(dirfd, name, &st, ctx) : -1;
}

static int remove_one(int dirfd, const char *name, const struct stat *st, void *ctx)
{
	(void)ctx;
	return unlinkat(dirfd, name, S_ISDIR(st->st_mode) ? AT_REMOVEDIR : 0);
}

int fs_remove_tree_at(int dirfd, const char *name, int max_depth)
{
	return fs_walk_tree_at(dirfd, name, max_depth, remove_one, NULL);
}
