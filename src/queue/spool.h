#ifndef PB_QUEUE_SPOOL_H
#define PB_QUEUE_SPOOL_H
/* The incoming spool: DATA/queue/ID, one file per message being received.
 * A message streams into its spool file as it arrives, so a session holds
 * only a small staging buffer however big the message is.
 *
 * File format: the message exactly as a Maildir stores it, LF line ends,
 * starting with the trace fields of final delivery (Return-Path:, then our
 * Received:), then the client's content. Local delivery can therefore
 * hard-link the spool file into every recipient's Maildir: one fsync of
 * this file serves them all. (The outbound queue, next, keeps its envelope
 * beside it in a file of its own.)
 *
 * Spool files live in DATA/queue/incoming/ (queue_store.h). A spool file
 * is removed once every target has it durably (a Maildir, or the queue,
 * which links it into DATA/queue/active/), or as soon as its transaction
 * fails. Files left there by a crash belong to messages that were never
 * acknowledged (the 250 comes after delivery or enqueueing), so
 * spool_clean() may remove them at start. */

#include <stddef.h>
#include <stdint.h>

#define SPOOL_PATH_MAX 1024

struct spool_file {
	int fd;                      /* -1 when closed */
	char path[SPOOL_PATH_MAX];   /* "" when removed */
	uint64_t size;               /* octets written */
};

/* Creates DATA/queue/incoming/ID (0600, never through a symlink) and the
 * directories (0700) when missing. 0, or -1 with errno and *error_r. */
int spool_create(const char *data_dir, const char *id, struct spool_file *f,
		 const char **error_r);
/* Appends n octets (to the page cache: no fsync). 0, or -1 with errno. */
int spool_append(struct spool_file *f, const void *p, size_t n);
/* Closes the descriptor; the file stays. */
void spool_close(struct spool_file *f);
/* Closes and unlinks whatever is left of the file. */
void spool_remove(struct spool_file *f);
/* At start: removes every spool file, and whatever of the queue was never
 * acknowledged (queue_recover); queued messages stay. Returns how many
 * files it removed. */
size_t spool_clean(const char *data_dir);

#endif
