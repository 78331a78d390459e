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

/* The highest modseq among the messages, before the change: a message
 * above it afterwards was changed by this STORE. */
static int max_modseq(struct imap_session *s, const struct mail_range *uids, size_t n,
		      uint64_t *max_r, const char **error_r)
{
	struct mail_iter *it;
	const struct mail_msg *m;
	int r;
	*max_r = 0;
	if (mail_folder_iter_init(s->folder, uids, n, 0, &it, error_r) < 0)
		return -1;
	while ((r = mail_folder_iter_next(it, &m, error_r)) == 1) {
		if (m->modseq > *max_r)
			*max_r = m->modseq;
	}
	mail_folder_iter_deinit(&it);
	return r;
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

/* UNCHANGEDSINCE 0 can never hold (every modseq is at least 1): all
 * fail without touching anything (RFC 7162 3.1.3). */
static int store_all_fail(const struct mail_range *uids, size_t n, struct mail_range **failed_r,
			  size_t *nfailed_r)
{
	*failed_r = malloc((n > 0 ? n : 1) * sizeof **failed_r);
	if (*failed_r == NULL)
		return -1;
	if (n > 0)
		memcpy(*failed_r, uids, n * sizeof **failed_r);
	*nfailed_r = n;
	return 0;
}

static int do_store(struct imap_session *s, const struct imap_store *st,
		    const struct mail_range *uids, size_t n)
{
	struct mail_range *failed = NULL;
	size_t nfailed = 0;
	uint64_t before = 0;
	const char *err = NULL;
	struct buf kw;
	buf_init(&kw, MAIL_KEYWORDS_MAX - 1);
	if (join_keywords(st->flags, &kw) < 0) {
		buf_free(&kw);
		imap_tagged(s, "NO [LIMIT] Too many keywords");
		return 1;
	}
	unsigned flags = imap_msg_flags_to_store(st->flags->system);
	int r = max_modseq(s, uids, n, &before, &err);
	if (r == 0 && st->unchangedsince && st->unchangedsince_modseq == 0)
		r = store_all_fail(uids, n, &failed, &nfailed);
	else if (r == 0)
		r = mail_folder_store_flags(s->folder, uids, n, ops[st->mode], flags, kw.data,
					    st->unchangedsince_modseq, &failed, &nfailed, &err);
	buf_free(&kw);
	if (r == 0)
		r = report(s, st, uids, n, failed, nfailed, before, &err);
	if (r < 0) {
		free(failed);
		imap_store_error(s, s->uid ? "UID STORE" : "STORE", err);
		return 1;
	}
	if (nfailed > 0) {
		buf_printf(&s->out, "%s OK [MODIFIED ", s->tag);
		imap_msg_write_set(s, &s->out, failed, nfailed, s->uid);
		buf_append_str(&s->out, "] Conditional STORE failed\r\n");
	} else {
		imap_tagged(s, "OK %s completed", s->uid ? "UID STORE" : "STORE");
	}
	free(failed);
	return 1;
}

int imap_cmd_store(struct imap_session *s)
{
	struct imap_store *st = NULL;
	struct mail_range *uids = NULL;
	size_t n = 0;
	const char *err = NULL;
	if (imap_parse_store(s->args, &st, &err) < 0) {
		imap_bad(s, err);
		return 1;
	}
	if (imap_msg_uid_ranges(s, st->seqset, s->uid, &uids, &n) < 0) {
		imap_store_free(&st);
		return 1;
	}
	if (s->readonly) {
		imap_tagged(s, "NO [READ-ONLY] The mailbox is read-only");
	} else if (n == 0) {
		imap_tagged(s, "OK %s completed", s->uid ? "UID STORE" : "STORE");
	} else {
		if (st->unchangedsince)
			imap_msg_condstore_on(s);
		errno = 0;
		do_store(s, st, uids, n);
	}
	free(uids);
	imap_store_free(&st);
	return 1;
}
