#ifndef PB_LIB_FS_H
#define PB_LIB_FS_H
/* Durable file system operations. Everything that must survive a crash goes
 * through here: write to a temporary name, fsync the file, rename into place,
 * fsync the directory. error_r receives a static description on failure and
 * errno is kept. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>

/* mkdir -p with the given mode; existing directories are fine. */
int fs_mkdir_p(const char *path, mode_t mode, const char **error_r);
/* Opens dir and fsyncs it, making renames and creates in it durable. */
int fs_fsync_dir(const char *dir, const char **error_r);
/* Reads up to len octets, retrying on short reads and EINTR; stops at end
 * of file or an error. Returns the count read. */
size_t fs_read_full(int fd, void *buf, size_t len);
/* Writes all of iov to fd, retrying on short writes and EINTR. */
int fs_write_all(int fd, const struct iovec *iov, int iovcnt);
/* fsyncs the n descriptors at the same time, from a few threads, and puts
 * 0 or each fsync's errno in errs_r[i]. One thread's fsyncs would each
 * wait for their own device cache flush in turn (ext4 without a journal
 * has no commit to share); concurrent ones are merged by the block layer,
 * so a batch costs about one flush. Group commit (local delivery, the
 * queue) uses it for the files of a batch, then fsyncs each directory
 * once. */
void fs_fsync_many(const int *fds, int *errs_r, size_t n);
/* Writes data to path atomically and durably: path.tmp.PID -> fsync ->
 * rename -> fsync of the parent directory. */
int fs_write_file_durable(const char *path, const void *data, size_t len,
			  mode_t mode, const char **error_r);
/* Reads a whole regular file up to max bytes into a malloc'd, NUL-terminated
 * buffer. */
int fs_read_file(const char *path, size_t max, char **data_r, size_t *len_r,
		 const char **error_r);
/* fs_read_file of an open file, which it closes. */
int fs_read_fd(int fd, size_t max, char **data_r, size_t *len_r, const char **error_r);
/* Copies the parent directory part of path into dir (size dirlen); 0/-1. */
int fs_dirname(const char *path, char *dir, size_t dirlen);

/* ---- Beneath a directory, never through a symbolic link ----
 * For trees that someone other than us may write into (a user's Maildir):
 * rel is resolved from dirfd with no symbolic link in any component and
 * without leaving dirfd's tree (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS,
 * or one openat(O_NOFOLLOW) per component where the kernel lacks it), so a
 * planted link can neither redirect the walk nor be opened. A link met on
 * the way fails with errno ELOOP (or ENOTDIR); "" and "." are dirfd itself. */

/* For tests: true makes every call take the per-component walk that
 * kernels without openat2 get. */
void fs_beneath_force_walk(bool on);
/* openat() beneath dirfd; flags as openat's (O_CLOEXEC and O_NOFOLLOW are
 * added). Returns the fd or -1 with errno set. */
int fs_open_beneath(int dirfd, const char *rel, int flags, mode_t mode);
/* lstat() of rel beneath dirfd: a final symbolic link is reported as one
 * (S_ISLNK), never followed. 0 or -1 with errno. */
int fs_stat_beneath(int dirfd, const char *rel, struct stat *st_r);
/* mkdir -p of rel beneath dirfd (mode for what it creates) and opens the
 * last directory: its fd, or -1 with errno (ELOOP/ENOTDIR: a link or a
 * file stands where a directory should). */
int fs_mkdirs_beneath(int dirfd, const char *rel, mode_t mode);
/* fs_read_file of rel beneath dirfd (regular files only). */
int fs_read_file_at(int dirfd, const char *rel, size_t max, char **data_r,
		    size_t *len_r, const char **error_r);
/* fs_write_file_durable of name (one component) in dirfd: the temporary
 * is created O_EXCL|O_NOFOLLOW, renamed over name, and dirfd fsync'd. */
int fs_write_file_durable_at(int dirfd, const char *name, const void *data, size_t len,
			     mode_t mode, const char **error_r);
/* Calls fn for everything below name (one component) in dirfd and then
 * for name itself (depth first: a directory after its entries), never
 * following a link (fn gets the link itself, st from lstat). An error
 * of fn or of the walk is remembered and the walk goes on; -1 then. */
int fs_walk_tree_at(int dirfd, const char *name, int max_depth,
		    int (*fn)(int dirfd, const char *name, const struct stat *st, void *ctx),
		    void *ctx);
/* rm -r of name (one component) in dirfd, depth-first, never following a
 * link (a link is removed, not its target). max_depth bounds the
 * recursion; deeper trees are left in place and -1 returned. */
int fs_remove_tree_at(int dirfd, const char *name, int max_depth);

#endif
