/* EXPUNGE and UID EXPUNGE (RFC 9051 6.4.3, RFC 4315 2.1), and CLOSE's
 * silent expunge (RFC 9051 6.4.1). */
#include "imap/imap_search.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

/* An expunge's state between slices. */
struct expunge_ctx {
	struct imap_slicer sl;
	bool all;        /* EXPUNGE, CLOSE: every \Deleted message */
};

static void expunge_ctx_free(void *p)
{
	struct expunge_ctx *c = p;
	imap_slicer_fini(&c->sl);
	free(c);
}

/* uids: what UID EXPUNGE names (taken), or NULL for every message. 0,
 * or -1 when a NO went. */
static int expunge_start(struct imap_session *s, struct mail_range *uids, size_t n)
{
	static const struct mail_range every = { 1, UINT32_MAX };
	struct expunge_ctx *c = calloc(1, sizeof *c);
	struct mail_range *r = uids;
	if (r == NULL && (r = malloc(sizeof *r)) != NULL) {
		*r = every;
		n = 1;
	}
	if (c == NULL || r == NULL || imap_slicer_init(&c->sl, r, n) < 0) {
		if (c == NULL)
			free(r);
		free(c);
		imap_tagged(s, "NO [SERVERBUG] Out of memory");
		return -1;
	}
	c->all = uids == NULL;
	s->cmd_ctx = c;
	s->cmd_ctx_free = expunge_ctx_free;
	return 0;
}

/* One slice: the \Deleted messages among the next slice_messages of the
 * view go (a worker job each, imap_slice.c). The last slice of an
 * EXPUNGE reaches past the view: a \Deleted message that came since
 * goes too, as before slices. 1 done, 0 more, -1 failed. */
static int expunge_slice(struct imap_session *s, struct expunge_ctx *c, const char **error_r)
{
	size_t k = 0;
	bool more = false;
	uint64_t max;
	if (imap_slicer_next(s, &c->sl, &k, &more, &max, error_r) < 0)
		return -1;
	if (k == 0 && !c->all)
		return 1;
	if (k == 0)
		return mail_folder_expunge(s->folder, c->sl.uids, c->sl.n, false, error_r) < 0 ?
		       -1 : 1;
	if (!more && c->all)
		c->sl.clip[k - 1].hi = UINT32_MAX;
	if (mail_folder_expunge(s->folder, c->sl.clip, k, false, error_r) < 0)
		return -1;
	return more ? 0 : 1;
}

/* The UID EXPUNGE set as UID ranges; -1 when a reply went. */
static int uid_set(struct imap_session *s, struct mail_range **uids_r, size_t *n_r)
{
	struct imap_seqset *set = NULL;
	const char *err = NULL;
	bool bad;
	if (imap_arg_get_seqset(s->args, true, &set, &err) < 0 ||
	    !imap_arg_is_eol(&s->args[1])) {
		imap_bad(s, err != NULL ? err : "UID EXPUNGE takes one sequence set");
		imap_seqset_free(&set);
		return -1;
	}
	int r = imap_seqset_uids(s, set, true, uids_r, n_r, &bad);
	imap_seqset_free(&set);
	if (r < 0)
		imap_tagged(s, "NO [SERVERBUG] Out of memory");
	return r;
}

static int start(struct imap_session *s)
{
	struct mail_range *uids = NULL;
	size_t n = 0;
	if (s->uid && uid_set(s, &uids, &n) < 0)
		return -1;
	if (!s->uid && !imap_arg_is_eol(s->args)) {
		imap_bad(s, "EXPUNGE takes no arguments");
		return -1;
	}
	if (s->readonly) {
		free(uids);
		imap_tagged(s, "NO [READ-ONLY] Mailbox is read-only");
		return -1;
	}
	if (s->uid && n == 0) {
		free(uids);
		imap_tagged(s, "OK UID EXPUNGE completed");
		return -1;
	}
	return expunge_start(s, s->uid ? uids : NULL, n);
}

/* Each slice reports its EXPUNGE (or VANISHED) responses, so the client's
 * sequence numbers follow the folder slice by slice; a failure in a later
 * slice leaves the earlier slices' messages expunged (and reported). */
int imap_cmd_expunge(struct imap_session *s)
{
	const char *what = s->uid ? "UID EXPUNGE" : "EXPUNGE";
	const char *err = NULL;
	if (s->cmd_ctx == NULL && start(s) < 0)
		return 1;
	int r = expunge_slice(s, s->cmd_ctx, &err);
	if (r < 0) {
		imap_store_error(s, what, err);
		return 1;
	}
	if (imap_report_changes(s, &err) < 0)
		log_err("imap %s: %s report in %s: %s", s->id, what, s->folder_name,
			err ? err : "?");
	if (r == 0)
		return 0;   /* the next slice, after others had their turn */
	imap_tagged(s, "OK %s completed", what);
	return 1;
}

/* RFC 9051 6.4.1: \Deleted messages are expunged silently (no EXPUNGE
 * responses), in slices as EXPUNGE; a failure is logged, and the folder
 * is closed all the same. */
int imap_cmd_close(struct imap_session *s)
{
	const char *err = NULL;
	int r = 1;
	if (s->cmd_ctx == NULL && !s->readonly && expunge_start(s, NULL, 0) < 0)
		return 1;
	if (s->cmd_ctx != NULL && (r = expunge_slice(s, s->cmd_ctx, &err)) < 0)
		log_err("imap %s: CLOSE expunge in %s: %s", s->id, s->folder_name,
			err ? err : "?");
	if (r == 0)
		return 0;
	imap_unselect(s);
	imap_tagged(s, "OK CLOSE completed");
	return 1;
}
