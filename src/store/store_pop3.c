/* The POP3 maildrop: INBOX locked against other POP3 sessions only (an
 * flock on "pop3.lock" in the user's root, which IMAP never takes), a
 * snapshot of its messages in UID order, and expunge at QUIT. The UIDL is
 * Dovecot's default form, UID and UIDVALIDITY in hex, so POP3 and IMAP
 * name a message alike. */
#include "store/store_private.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "lib/fs.h"

struct mpop3 {
	struct mail_pop3 p;
	struct mail_folder *f;
	struct mail_pop3_msg *msgs;
	size_t count;
	int lock_fd;
};

static int lock_drop(struct mstore *ms, int *fd_r, bool *in_use_r, const char **error_r)
{
	int fd = fs_open_beneath(ms->root_fd, "pop3.lock", O_RDWR | O_CREAT | O_NONBLOCK, 0600);
	if (fd < 0) {
		*error_r = "cannot open the maildrop lock";
		return -1;
	}
	/* flock belongs to the open file: a second session of this process
	 * is refused like one of another process, and the kernel drops it
	 * when a process dies. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		*in_use_r = errno == EWOULDBLOCK;
		*error_r = *in_use_r ? "maildrop in use" : "cannot lock the maildrop";
		close(fd);
		return -1;
	}
	*fd_r = fd;
	return 0;
}

static int snapshot(struct mpop3 *mp, const char **error_r)
{
	static const struct mail_range all = { 1, UINT32_MAX };
	struct mail_status st;
	struct mail_iter *it;
	const struct mail_msg *m;
	if (mail_folder_status(mp->f, &st, error_r) < 0)
		return -1;
	size_t cap = mail_folder_count(mp->f);
	mp->msgs = calloc(cap > 0 ? cap : 1, sizeof *mp->msgs);
	if (mp->msgs == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	if (mail_folder_iter_init(mp->f, &all, 1, 0, &it, error_r) < 0)
		return -1;
	int r;
	while ((r = mail_folder_iter_next(it, &m, error_r)) == 1 && mp->count < cap) {
		struct mail_pop3_msg *pm = &mp->msgs[mp->count++];
		pm->uid = m->uid;
		pm->vsize = m->pop3_size;
		snprintf(pm->uidl, sizeof pm->uidl, "%08X%08X", m->uid, st.uidvalidity);
	}
	mail_folder_iter_deinit(&it);
	return r < 0 ? -1 : 0;
}

int store_v_pop3_open(struct mail_store *s, struct mail_pop3 **p_r, bool *in_use_r,
		      const char **error_r)
{
	struct mstore *ms = (struct mstore *)s;
	struct mpop3 *mp = calloc(1, sizeof *mp);
	*in_use_r = false;
	if (mp == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	mp->p.store = s;
	if (lock_drop(ms, &mp->lock_fd, in_use_r, error_r) < 0) {
		free(mp);
		return -1;
	}
	if (mail_folder_open(s, "INBOX", 0, &mp->f, error_r) < 0 ||
	    snapshot(mp, error_r) < 0) {
		store_v_pop3_close(&mp->p);
		return -1;
	}
	mp->p.msgs = mp->msgs;
	mp->p.count = mp->count;
	*p_r = &mp->p;
	return 0;
}

int store_v_pop3_read(struct mail_pop3 *p, size_t index, char **data_r, size_t *len_r,
		      const char **error_r)
{
	struct mpop3 *mp = (struct mpop3 *)p;
	int fd;
	uint64_t size;
	if (mail_folder_msg_open(mp->f, mp->msgs[index].uid, &fd, &size, error_r) < 0)
		return -1;
	char *data = size < STORE_MSG_MAX ? malloc(size + 1) : NULL;
	size_t got = 0;
	while (data != NULL && got < size) {
		ssize_t n = read(fd, data + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	if (data == NULL || got != size) {
		free(data);
		*error_r = data == NULL ? "out of memory" : "cannot read message";
		return -1;
	}
	data[size] = '\0';
	*data_r = data;
	*len_r = size;
	return 0;
}

int store_v_pop3_open_msg(struct mail_pop3 *p, size_t index, int *fd_r, uint64_t *size_r,
			  const char **error_r)
{
	struct mpop3 *mp = (struct mpop3 *)p;
	return mail_folder_msg_open(mp->f, mp->msgs[index].uid, fd_r, size_r, error_r);
}

int store_v_pop3_commit(struct mail_pop3 *p, const size_t *indexes, size_t n,
			const char **error_r)
{
	struct mpop3 *mp = (struct mpop3 *)p;
	uint32_t *uids = malloc((n > 0 ? n : 1) * sizeof *uids);
	size_t k = 0;
	if (uids == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (indexes[i] < mp->count)
			uids[k++] = mp->msgs[indexes[i]].uid;
	}
	int r = k > 0 ? store_expunge_uids((struct mfolder *)mp->f, uids, k, false,
					   error_r) : 0;
	free(uids);
	return r;
}

void store_v_pop3_close(struct mail_pop3 *p)
{
	struct mpop3 *mp = (struct mpop3 *)p;
	mail_folder_close(&mp->f);
	free(mp->msgs);
	if (mp->lock_fd >= 0)
		close(mp->lock_fd);
	free(mp);
}
