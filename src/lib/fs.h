#ifndef PB_LIB_FS_H
#define PB_LIB_FS_H
/* Durable file system operations. Everything that must survive a crash goes
 * through here: write to a temporary name, fsync the file, rename into place,
 * fsync the directory. error_r receives a static description on failure and
 * errno is kept. */

#include <stddef.h>
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
/* Writes data to path atomically and durably: path.tmp.PID -> fsync ->
 * rename -> fsync of the parent directory. */
int fs_write_file_durable(const char *path, const void *data, size_t len,
			  mode_t mode, const char **error_r);
/* Reads a whole regular file up to max bytes into a malloc'd, NUL-terminated
 * buffer. */
int fs_read_file(const char *path, size_t max, char **data_r, size_t *len_r,
		 const char **error_r);
/* Copies the parent directory part of path into dir (size dirlen); 0/-1. */
int fs_dirname(const char *path, char *dir, size_t dirlen);

#endif
