#ifndef PB_STORE_MAILDIR_H
#define PB_STORE_MAILDIR_H
/* Maildir delivery primitives (the qmail discipline): a message is written
 * under tmp/ with a unique name, made durable, then renamed into new/, and
 * new/ is fsync'd. The steps are separate so that a caller can do each step
 * for many messages before the next (group commit). All calls block: run
 * them on a worker thread. */

#include <stdbool.h>
#include <stddef.h>
#include <sys/uio.h>

#include "lib/buf.h"

#define MAILDIR_PATH_MAX 1024

struct maildir_file {
	char tmp_path[MAILDIR_PATH_MAX];
	char new_path[MAILDIR_PATH_MAX];
	char new_dir[MAILDIR_PATH_MAX];
	int fd;               /* open until maildir_file_sync; -1 after */
	bool published;       /* renamed into new/ */
};

/* Builds DATA/mail/DOMAIN/LOCAL into out. Refuses names that could leave
 * the mail directory: empty, ".", "..", a leading dot, '/', control
 * octets. 0 or -1. */
int maildir_user_root(const char *data_dir, const char *domain, const char *local,
		      char *out, size_t outlen, const char **error_r);
/* Creates root/{cur,new,tmp} as needed (mode 0700). */
int maildir_create(const char *root, const char **error_r);

/* Writes the message to root/tmp/UNIQUE,S=SIZE (size = total of iov). */
int maildir_write_tmp(const char *root, const struct iovec *iov, int iovcnt,
		      struct maildir_file *f, const char **error_r);
/* Hard-links an already written file into another Maildir's tmp/, so one
 * message to several local users is stored once per user without being
 * written twice. Falls back to a copy across file systems. */
int maildir_link_tmp(const struct maildir_file *src, const char *root,
		     struct maildir_file *f, const char **error_r);
/* Starts write-back without waiting, so the later fsyncs of a batch find
 * their data already on its way. */
void maildir_file_start_writeback(struct maildir_file *f);
/* fsyncs the file's data and inode and closes it. */
int maildir_file_sync(struct maildir_file *f, const char **error_r);
/* Renames tmp -> new (not yet durable: fsync new_dir afterwards). */
int maildir_file_publish(struct maildir_file *f, const char **error_r);
/* Removes whatever of the file exists (tmp or new) and closes it. */
void maildir_file_discard(struct maildir_file *f);

#endif
