/* STORE and UID STORE (RFC 9051 6.4.6, 6.4.9; RFC 7162 3.1.3
 * UNCHANGEDSINCE and MODIFIED). */
#include "imap/imap_message.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Keywords as the store wants them: space-separated. */
static int join_keywords(const struct imap_flags *f, struct buf *kw)
{
	for (size_t i = 0; i < f->keyword_count; i++) {
		if ((i > 0 && buf_append_char(kw, ' ') < 0) ||
		    buf_append(kw, f->keywords[i].p, f->keywords[i].len) < 0)
			return -1;
	}
	return buf_append(kw, "", 0);
}

static bool in_ranges(const struct mail_range *r, size_t n, uint32_t uid)
{
	for (size_t i = 0; i < n; i++) {
		if (uid >= r[i].lo && uid <= r[i].hi)
			return true;
	}
	return false;
}

/* "* n FETCH (FLAGS ...)" for the messages stored, except those that
 * failed UNCHANGEDSINCE. .SILENT with CONDSTORE still reports the new
 * MODSEQ of the messages changed (RFC 7162 3.1.3). */
static int report(struct imap_session *s, const struct imap_store *st,
		  const struct mail_range *uids, size_t n, const struct mail_range *failed,
		  size_t nfailed, uint64_t before, const char **error_r)
{
	bool condstore = (s->enabled & IMAP_ENABLED_CONDSTORE) != 0;
	struct mail_iter *it;
	const struct mail_msg *m;
	int r;
	if (st->silent && !condstore)
		return 0;
	if (mail_folder_iter_init(s->folder, uids, n, 0, &it, error_r) < 0)
		return -1;
	while ((r = mail_folder_iter_next(it, &m, error_r)) == 1) {
		if (in_ranges(failed, nfailed, m->uid) || (st->silent && m->modseq <= before))
			continue;
		if (!st->silent)
			imap_announce_keywords(s, m->keywords);
		buf_printf(&s->out, "* %u FETCH (", m->seq);
		if (s->uid)
			buf_printf(&s->out, "UID %u ", m->uid);
		if (!st->silent) {
			buf_append_str(&s->out, "FLAGS ");
			imap_write_flags(&s->out, m->flags, m->keywords, imap_is_recent(s, m->uid));
		}
		if (condstore)
			buf_printf(&s->out, "%sMODSEQ (%llu)", st->silent ? "" : " ",
				   (unsigned long long)m->modseq);
		buf_append_str(&s->out, ")\r\n");
	}
	mail_folder_iter_deinit(&it);
	return r;
}

static const enum mail_flag_op ops[] = {
	[IMAP_STORE_REPLACE] = MAIL_FLAGS_REPLACE, [IMAP_STORE_ADD] = MAIL_FLAGS_ADD,
	[IMAP_STORE_REMOVE] = MAIL_FLAGS_REMOVE,
};

/* A STORE's state between slices: the UIDs and the cursor, and the
 * UNCHANGEDSINCE failures so far. */
struct store_ctx {
	struct imap_store *st;
	struct imap_slicer sl;
	unsigned flags;
	struct buf kw;
	struct mail_range *failed;
	size_t nfailed;
};

static void store_ctx_free(void *p)
{
	struct store_ctx *c = p;
	imap_store_free(&c->st);
	imap_slicer_fini(&c->sl);
	free(c->failed);
	buf_free(&c->kw);
	free(c);
}

/* Appends a slice's UNCHANGEDSINCE failures (ascending, above those
 * before). */
static int add_failed(struct store_ctx *c, struct mail_range *f, size_t n)
{
	if (n == 0)
		return 0;
	struct mail_range *a = realloc(c->failed, (c->nfailed + n) * sizeof *a);
	if (a == NULL)
		return -1;
	memcpy(a + c->nfailed, f, n * sizeof *a);
	c->failed = a;
	c->nfailed = mail_ranges_normalize(a, c->nfailed + n);
	return 0;
}

/* One slice: flags set and reported for up to slice_messages messages.
 * 1 at the end, 0 for another slice, -1 when a tagged NO went. */
static int store_slice(struct imap_session *s, struct store_ctx *c)
{
	const struct imap_store *st = c->st;
	struct mail_range *failed = NULL;
	size_t nfailed = 0, k = 0;
	uint64_t before = 0;
	bool more = false;
	const char *err = NULL;
	errno = 0;
	int r = imap_slicer_next(s, &c->sl, &k, &more, &before, &err);
	if (r == 0 && k > 0)
		r = mail_folder_store_flags(s->folder, c->sl.clip, k, ops[st->mode], c->flags,
					    c->kw.data, st->unchangedsince_modseq, &failed,
					    &nfailed, &err);
	if (r == 0 && add_failed(c, failed, nfailed) < 0) {
		err = "out of memory";
		r = -1;
	}
	if (r == 0 && k > 0)
		r = report(s, st, c->sl.clip, k, failed, nfailed, before, &err);
	free(failed);
	if (r < 0) {
		imap_store_error(s, s->uid ? "UID STORE" : "STORE", err);
		return -1;
	}
	return more ? 0 : 1;
}

static void store_done(struct imap_session *s, const struct store_ctx *c)
{
	if (c->nfailed > 0) {
		buf_printf(&s->out, "%s OK [MODIFIED ", s->tag);
		imap_msg_write_set(s, &s->out, c->failed, c->nfailed, s->uid);
		buf_append_str(&s->out, "] Conditional STORE failed\r\n");
	} else {
		imap_tagged(s, "OK %s completed", s->uid ? "UID STORE" : "STORE");
	}
}

/* Parses and checks; on 0, s->cmd_ctx holds the state and slices run. */
static int store_start(struct imap_session *s)
{
	struct imap_store *st = NULL;
	struct mail_range *uids = NULL;
	size_t n = 0;
	const char *err = NULL;
	if (imap_parse_store(s->args, &st, &err) < 0) {
		imap_bad(s, err);
		return -1;
	}
	if (imap_msg_uid_ranges(s, st->seqset, s->uid, &uids, &n) < 0) {
		imap_store_free(&st);
		return -1;
	}
	struct store_ctx *c = NULL;
	if (s->readonly) {
		imap_tagged(s, "NO [READ-ONLY] The mailbox is read-only");
	} else if (n == 0) {
		imap_tagged(s, "OK %s completed", s->uid ? "UID STORE" : "STORE");
	} else if ((c = calloc(1, sizeof *c)) == NULL) {
		imap_tagged(s, "NO [SERVERBUG] Out of memory");
	} else if (imap_slicer_init(&c->sl, uids, n) < 0) {
		free(c);
		imap_store_free(&st);
		imap_tagged(s, "NO [SERVERBUG] Out of memory");
		return -1;
	} else {
		buf_init(&c->kw, MAIL_KEYWORDS_MAX - 1);
		c->st = st;
		c->flags = imap_msg_flags_to_store(st->flags->system);
		s->cmd_ctx = c;
		s->cmd_ctx_free = store_ctx_free;
		if (st->unchangedsince)
			imap_msg_condstore_on(s);
		if (join_keywords(st->flags, &c->kw) < 0) {
			imap_tagged(s, "NO [LIMIT] Too many keywords");
			return -1;
		}
		return 0;
	}
	free(c);
	free(uids);
	imap_store_free(&st);
	return -1;
}

/* Runs in slices of slice_messages messages, each its own worker job,
 * so that a STORE 1:* on a big folder holds a worker for one slice at a
 * time (issue 7). A failure in a later slice leaves the earlier slices'
 * flags set (and reported): STORE is not atomic (RFC 9051 6.4.6). */
int imap_cmd_store(struct imap_session *s)
{
	if (s->cmd_ctx == NULL && store_start(s) < 0)
		return 1;
	struct store_ctx *c = s->cmd_ctx;
	if (c->st->unchangedsince && c->st->unchangedsince_modseq == 0) {
		/* UNCHANGEDSINCE 0 can never hold (every modseq is at least 1):
		 * all fail without touching anything (RFC 7162 3.1.3). */
		if (add_failed(c, c->sl.uids, c->sl.n) < 0) {
			imap_tagged(s, "NO [SERVERBUG] Out of memory");
			return 1;
		}
		store_done(s, c);
		return 1;
	}
	int r = store_slice(s, c);
	if (r == 0)
		return 0;   /* the next slice, after others had their turn */
	if (r > 0)
		store_done(s, c);
	return 1;
}
