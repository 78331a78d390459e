#ifndef PB_STORE_MAILDIR_H
#define PB_STORE_MAILDIR_H
/* The one Maildir writer (the qmail discipline), for local delivery, IMAP
 * APPEND and COPY alike: a message gets a unique name from
 * maildir_unique_name(), is written (or hard-linked) under tmp/, made
 * durable, then renamed into new/ or cur/, and that directory is fsync'd. The steps are separate so that a caller
 * can do each step for many messages before the next (group commit).
 *
 * The Maildir and its tmp/ new/ cur/ are opened once, each without
 * following a symbolic link (the Maildir beneath a directory fd: no
 * component may be a link), and the writer keeps a descriptor of each:
 * every create, link, rename, unlink and fsync is made relative to those
 * descriptors with a bare file name, so no later lookup passes through a
 * directory that could have been swapped for a link meanwhile. Files are
 * 0600, O_NOFOLLOW | O_CLOEXEC; directories 0700. All calls block: run
 * them on a worker thread. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define MAILDIR_PATH_MAX 1024
#define MAILDIR_NAME_MAX 256

/* Builds DATA/mail/DOMAIN/LOCAL into out. Refuses names that could leave
 * the mail directory: empty, ".", "..", a leading dot, '/', control
 * octets. 0 or -1. */
int maildir_user_root(const char *data_dir, const char *domain, const char *local,
		      char *out, size_t outlen, const char **error_r);
/* An open Maildir: its directory and its three subdirectories. */
struct maildir {
	int fd, tmp, new, cur;       /* -1 when not open */
};

/* Opens the Maildir rel beneath dirfd (a user's root beneath DATA, a
 * folder beneath the root; "" is dirfd itself) and its tmp/ new/ cur/,
 * none of them through a symbolic link (ELOOP/ENOTDIR: one was met).
 * With create, what is missing is made first (mkdirat relative to the
 * fds, mode 0700). 0, or -1 with errno and md closed. */
int maildir_open_at(int dirfd, const char *rel, bool create, struct maildir *md,
		    const char **error_r);
/* Closes what md holds (idempotent). */
void maildir_close(struct maildir *md);

/* A new file's unique base name, as in qmail's and Dovecot's Maildir:
 * SECONDS.MmicrosPpidQcounter.HOST,S=SIZE. Every number after the seconds
 * is zero-padded to a fixed width, so that names of one process compare
 * (as strings) in the order they were made: UIDs then follow delivery
 * order even within one second. ",S=" carries the size so readers need
 * no stat. 0, or -1 when out is too small. */
int maildir_unique_name(char *out, size_t outlen, uint64_t size);

struct maildir_file {
	const struct maildir *md;         /* not owned */
	int fd;                           /* open while written; -1 after */
	char name[MAILDIR_NAME_MAX];      /* the unique base name */
	char dest[MAILDIR_NAME_MAX + 48]; /* "NAME" or "NAME:2,FL" */
	int dest_fd;                      /* new/ or cur/ of md */
	bool in_tmp;                      /* tmp/NAME exists */
	bool published;                   /* dest exists */
};

/* Creates tmp/NAME for size octets, open for writing in f->fd. */
int maildir_tmp_create(const struct maildir *md, uint64_t size, struct maildir_file *f,
		       const char **error_r);
/* Writes iov to the file made by maildir_tmp_create(). */
int maildir_file_write(struct maildir_file *f, const struct iovec *iov, int iovcnt,
		       const char **error_r);
/* Hard-links an existing message file (a spool file, or a message of
 * another folder: COPY) into tmp/: no data is written, and one fsync of
 * the file serves every Maildir it is linked into. Across file systems the
 * file is copied in bounded chunks instead, and f->fd is left open for its
 * fsync. */
int maildir_tmp_link(const struct maildir *md, const char *src_path, uint64_t size,
		     struct maildir_file *f, const char **error_r);
/* The same, from src beneath src_dirfd (a folder's cur/ or new/), with
 * no symbolic link followed when a copy is made. */
int maildir_tmp_link_at(const struct maildir *md, int src_dirfd, const char *src,
			uint64_t size, struct maildir_file *f, const char **error_r);
/* Takes up again tmp/NAME that an earlier call (maildir_tmp_link*, then
 * maildir_file_sync) left there, so that it can be published or
 * discarded: a caller with many prepared files keeps their names only.
 * 0, or -1 (name too long). */
int maildir_file_resume(const struct maildir *md, const char *name, struct maildir_file *f);
/* Starts write-back without waiting, so the later fsyncs of a batch find
 * their data already on its way. */
void maildir_file_start_writeback(struct maildir_file *f);
/* fsyncs the file's data and inode and closes it (no-op when closed). */
int maildir_file_sync(struct maildir_file *f, const char **error_r);
/* Renames tmp/NAME to dest ("new/NAME" when dest is NULL, else
 * "new/..." or "cur/..." with no further '/'): not yet durable, fsync the
 * directory afterwards. */
int maildir_file_publish(struct maildir_file *f, const char *dest, const char **error_r);
/* Removes whatever of the file exists (tmp or dest) and closes it. */
void maildir_file_discard(struct maildir_file *f);
/* fsyncs the Maildir's subdirectory sub ("new", "cur"). */
int maildir_sync_dir(const struct maildir *md, const char *sub, const char **error_r);

#endif
