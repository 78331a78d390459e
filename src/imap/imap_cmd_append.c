/* APPEND (RFC 9051 6.3.12) with MULTIAPPEND (RFC 3502), UIDPLUS's
 * APPENDUID (RFC 4315) and TRYCREATE. The store makes each message
 * durable (file and directory fsync'd) before it returns, so the tagged
 * OK is sent only for mail on stable storage. */
#include "imap/imap_mailbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>

#include "lib/log.h"

/* The store's flag bits for the parser's. */
static unsigned store_flags(const struct imap_flags *f)
{
	static const struct { unsigned imap, mail; } map[] = {
		{ IMAP_FLAG_SEEN, MAIL_SEEN }, { IMAP_FLAG_ANSWERED, MAIL_ANSWERED },
		{ IMAP_FLAG_FLAGGED, MAIL_FLAGGED }, { IMAP_FLAG_DELETED, MAIL_DELETED },
		{ IMAP_FLAG_DRAFT, MAIL_DRAFT },
	};
	unsigned out = 0;
	for (size_t i = 0; f != NULL && i < sizeof map / sizeof map[0]; i++)
		if (f->system & map[i].imap)
			out |= map[i].mail;
	return out;
}

/* The keywords, space-separated, each once (flags are case-insensitive). */
static int keywords(const struct imap_flags *f, struct buf *out)
{
	for (size_t i = 0; f != NULL && i < f->keyword_count; i++) {
		bool dup = false;
		for (size_t j = 0; j < i && !dup; j++)
			dup = str_case_eq(f->keywords[i], f->keywords[j]);
		if (dup)
			continue;
		if ((out->len > 0 && buf_append_char(out, ' ') < 0) ||
		    buf_append(out, f->keywords[i].p, f->keywords[i].len) < 0)
			return -1;
	}
	return 0;
}

/* RFC 3502 6: all or nothing. The messages already appended are
 * expunged again (they were only ever visible for a moment). */
static void roll_back(struct imap_session *s, const char *name, const uint32_t *uids,
		      size_t n)
{
	struct mail_folder *f = NULL;
	const char *err = NULL;
	struct mail_range *failed = NULL;
	size_t nfailed = 0;
	struct mail_range *r = calloc(n, sizeof *r);
	int ok = r != NULL && mail_folder_open(s->store, name, 0, &f, &err) == 0 ? 0 : -1;
	for (size_t i = 0; r != NULL && i < n; i++)
		r[i] = (struct mail_range){ uids[i], uids[i] };
	if (ok == 0)
		ok = mail_folder_store_flags(f, r, n, MAIL_FLAGS_ADD, MAIL_DELETED, NULL, 0,
					     &failed, &nfailed, &err);
	if (ok == 0)
		ok = mail_folder_expunge(f, r, n, false, &err);
	if (ok < 0)
		log_err("imap %s: MULTIAPPEND rollback in %s: %s", s->id, name,
			err ? err : "out of memory");
	mail_folder_close(&f);
	free(failed);
	free(r);
}

/* "[APPENDUID v 5]" or, for MULTIAPPEND, "[APPENDUID v 5:7,9]". */
static void tagged_ok(struct imap_session *s, uint32_t uidvalidity, const uint32_t *uids,
		      size_t n)
{
	struct buf set;
	buf_init(&set, n * 24 + 16);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j + 1 < n && uids[j + 1] == uids[j] + 1)
			j++;
		buf_printf(&set, i > 0 ? ",%u" : "%u", uids[i]);
		if (j > i)
			buf_printf(&set, ":%u", uids[j]);
		i = j + 1;
	}
	imap_tagged(s, "OK [APPENDUID %u %s] APPEND completed", uidvalidity,
		    set.data != NULL ? set.data : "");
	buf_free(&set);
}

static int append_all(struct imap_session *s, const struct imap_append *ap,
		      const char *name, uint32_t *uids)
{
	uint32_t uidvalidity = 0;
	const char *err = NULL;
	struct buf kw;
	buf_init(&kw, MAIL_KEYWORDS_MAX - 1);
	for (size_t i = 0; i < ap->msg_count; i++) {
		const struct imap_append_msg *m = &ap->msgs[i];
		struct iovec iov = { (void *)m->data.p, m->data.len };
		time_t date = m->has_date ? (m->date.utc > 0 ? (time_t)m->date.utc : 1) : 0;
		buf_reset(&kw);
		if (keywords(m->flags, &kw) < 0) {
			errno = EINVAL;
			err = "too many keywords";
		} else if (mail_store_append(s->store, name, &iov, 1, store_flags(m->flags),
					     kw.data, date, &uidvalidity, &uids[i], &err) == 0) {
			continue;
		}
		int e = errno;
		if (i > 0)
			roll_back(s, name, uids, i);
		buf_free(&kw);
		errno = e;
		if (e == ENOENT)
			imap_tagged(s, "NO [TRYCREATE] APPEND: no such mailbox");
		else
			imap_store_error(s, "APPEND", err);
		return -1;
	}
	buf_free(&kw);
	/* RFC 9051 6.3.12: the selected mailbox shows its new messages. */
	if (s->state == IMAP_STATE_SELECTED)
		imap_send_updates(s, true);
	tagged_ok(s, uidvalidity, uids, ap->msg_count);
	return 0;
}

int imap_cmd_append(struct imap_session *s)
{
	struct imap_append *ap = NULL;
	const char *err = NULL;
	char name[MAIL_NAME_MAX + 1];
	if (imap_parse_append(s->args, &ap, &err) < 0) {
		imap_bad(s, err);
		return 1;
	}
	if (imap_mailbox_str(s, ap->mailbox, name, sizeof name) < 0) {
		imap_append_free(&ap);
		return 1;
	}
	for (size_t i = 0; i < ap->msg_count; i++) {
		if (ap->msgs[i].data.len == 0) {
			imap_append_free(&ap);
			imap_tagged(s, "NO [CANNOT] APPEND: empty message");
			return 1;
		}
	}
	uint32_t *uids = calloc(ap->msg_count, sizeof *uids);
	if (uids == NULL)
		imap_tagged(s, "NO [SERVERBUG] Out of memory");
	else
		(void)append_all(s, ap, name, uids);
	free(uids);
	imap_append_free(&ap);
	return 1;
}
