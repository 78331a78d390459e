/* The store's files are reached from the user's root directory, opened
 * once without following a link, and every name below it is resolved
 * with no symbolic link in any component (fs_open_beneath). Whoever can
 * write into a Maildir (its user, with a shell and mutt) can plant links;
 * a link is then simply not part of the store: a linked folder is not a
 * folder, a linked cur/ new/ tmp/ makes its folder unusable, a linked
 * message file is not a message, a linked index.db is refused. */
#include "store/store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fs.h"
#include "store/maildir.h"

static const char *const maildir_subs[] = { "cur", "new", "tmp" };

/* cur/ new/ tmp/ of the Maildir rel beneath dirfd, made when missing
 * (the one writer's open: it tries first and makes only what lacks). */
static int maildir_make_at(int dirfd, const char *rel, const char **error_r)
{
	struct maildir md;
	if (maildir_open_at(dirfd, rel, true, &md, error_r) < 0)
		return -1;
	maildir_close(&md);
	return 0;
}

int store_root_open(struct mstore *ms, int parent_fd, const char *rel, const char **error_r)
{
	ms->root_fd = parent_fd >= 0 ? fs_mkdirs_beneath(parent_fd, rel, 0700) : -1;
	if (parent_fd < 0) {
		/* Given as a path: the directory itself must not be a link. */
		if (fs_mkdir_p(ms->root, 0700, error_r) == 0)
			ms->root_fd = open(ms->root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					   O_CLOEXEC);
	}
	if (ms->root_fd < 0) {
		*error_r = errno == ELOOP || errno == ENOTDIR ?
			   "the Maildir is a symbolic link" : "cannot open the Maildir";
		return -1;
	}
	return maildir_make_at(ms->root_fd, "", error_r);
}

int store_maildir_make(struct mstore *ms, const char *rel, const char **error_r)
{
	return maildir_make_at(ms->root_fd, rel, error_r);
}

/* The folder's directory beneath the root ("" for INBOX), with "/sub". */
static int folder_rel(const struct mfolder *mf, const char *sub, char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s%s%s", mf->rel, mf->rel[0] != '\0' && sub[0] != '\0' ?
			 "/" : "", sub);
	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int store_dir_open(const struct mfolder *mf, const char *sub)
{
	char rel[STORE_DIRNAME_MAX + 16];
	if (folder_rel(mf, sub, rel, sizeof rel) < 0)
		return -1;
	return store_dir_open_root(mf->ms, rel);
}

int store_file_open(const struct mfolder *mf, const char *fname)
{
	char rel[STORE_DIRNAME_MAX + STORE_PATH_MAX + 2];
	struct stat st;
	if (folder_rel(mf, fname, rel, sizeof rel) < 0)
		return -1;
	/* O_NONBLOCK: a FIFO put in place of a message must not hang us. */
	int fd = fs_open_beneath(mf->ms->root_fd, rel, O_RDONLY | O_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EIO;
		return -1;
	}
	return fd;
}

int64_t store_mtime_at(int dirfd, const char *rel, bool want_dir)
{
	struct stat st;
	if (fs_stat_beneath(dirfd, rel, &st) < 0)
		return -1;
	if (want_dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return -1;
	return (int64_t)st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

int64_t store_folder_mtime(const struct mfolder *mf, const char *sub)
{
	char rel[STORE_DIRNAME_MAX + 16];
	if (folder_rel(mf, sub, rel, sizeof rel) < 0)
		return -1;
	return store_mtime_at(mf->ms->root_fd, rel, true);
}

bool store_folder_usable(const struct mfolder *mf)
{
	for (size_t i = 0; i < 3; i++) {
		if (store_folder_mtime(mf, maildir_subs[i]) < 0)
			return false;
	}
	return true;
}

void store_dirs_init(struct store_dirs *d, const struct mfolder *mf)
{
	d->mf = mf;
	d->fd[0] = d->fd[1] = -1;
}

void store_dirs_close(struct store_dirs *d)
{
	for (size_t i = 0; i < 2; i++) {
		if (d->fd[i] >= 0)
			close(d->fd[i]);
		d->fd[i] = -1;
	}
}

/* "cur/NAME" or "new/NAME" -> that directory's fd (opened now if it was
 * not) and NAME's offset; -1 with errno EINVAL for anything else. */
static int sub_of(struct store_dirs *d, const char *fname, const char **base_r)
{
	static const char *const subs[2] = { "cur", "new" };
	for (size_t i = 0; i < 2; i++) {
		if (strncmp(fname, subs[i], 3) != 0 || fname[3] != '/' ||
		    strchr(fname + 4, '/') != NULL || fname[4] == '\0')
			continue;
		if (d->fd[i] < 0)
			d->fd[i] = store_dir_open(d->mf, subs[i]);
		*base_r = fname + 4;
		return d->fd[i];
	}
	errno = EINVAL;
	return -1;
}

int store_dirs_unlink(struct store_dirs *d, const char *fname)
{
	const char *base;
	int dfd = sub_of(d, fname, &base);
	return dfd < 0 ? -1 : unlinkat(dfd, base, 0);
}

int store_dirs_rename(struct store_dirs *d, const char *from, const char *to)
{
	const char *fb, *tb;
	int ffd = sub_of(d, from, &fb);
	int tfd = ffd < 0 ? -1 : sub_of(d, to, &tb);
	return tfd < 0 ? -1 : renameat(ffd, fb, tfd, tb);
}

bool store_file_gone(const struct mfolder *mf, const char *fname)
{
	char rel[STORE_DIRNAME_MAX + STORE_PATH_MAX + 2];
	struct stat st;
	if (folder_rel(mf, fname, rel, sizeof rel) < 0)
		return false;
	if (fs_stat_beneath(mf->ms->root_fd, rel, &st) == 0)
		return !S_ISREG(st.st_mode);   /* replaced by a link: not ours */
	return errno == ENOENT;
}

DIR *store_opendir(const struct mstore *ms, const char *rel)
{
	int fd = fs_open_beneath(ms->root_fd, rel, O_RDONLY | O_DIRECTORY, 0);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (d == NULL && fd >= 0) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

int store_dir_open_root(const struct mstore *ms, const char *rel)
{
	return fs_open_beneath(ms->root_fd, rel, O_RDONLY | O_DIRECTORY, 0);
}

int store_root_fsync(const struct mstore *ms, const char **error_r)
{
	if (fsync(ms->root_fd) < 0) {
		*error_r = "fsync of directory failed";
		return -1;
	}
	return 0;
}
