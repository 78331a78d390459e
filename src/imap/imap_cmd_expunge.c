/* EXPUNGE and UID EXPUNGE (RFC 9051 6.4.3, RFC 4315 2.1), and the
 * untagged reports of a folder this session changed itself (also MOVE). */
#include "imap/imap_search.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

static void write_flag_changes(struct imap_session *s, const struct mail_changes *ch)
{
	const char *err = NULL;
	for (size_t i = 0; i < ch->changed_count; i++) {
		struct mail_range r = { ch->changed_uids[i], ch->changed_uids[i] };
		struct mail_iter *it;
		const struct mail_msg *m;
		if (mail_folder_iter_init(s->folder, &r, 1, 0, &it, &err) < 0)
			return;
		while (mail_folder_iter_next(it, &m, &err) == 1) {
			buf_printf(&s->out, "* %u FETCH (UID %u FLAGS ", m->seq, m->uid);
			imap_write_flags(&s->out, m->flags, m->keywords);
			if (s->enabled & (IMAP_ENABLED_CONDSTORE | IMAP_ENABLED_QRESYNC))
				buf_printf(&s->out, " MODSEQ (%llu)", (unsigned long long)m->modseq);
			buf_append_str(&s->out, ")\r\n");
		}
		mail_folder_iter_deinit(&it);
	}
}

int imap_report_changes(struct imap_session *s, const char **error_r)
{
	struct mail_changes ch;
	memset(&ch, 0, sizeof ch);
	if (mail_folder_sync(s->folder, error_r) < 0 ||
	    mail_folder_changes(s->folder, s->known_modseq, &ch, error_r) < 0)
		return -1;
	if (ch.expunged_count > 0 && (s->enabled & IMAP_ENABLED_QRESYNC)) {
		/* RFC 7162 3.2.10: VANISHED replaces EXPUNGE. */
		buf_append_str(&s->out, "* VANISHED ");
		imap_write_number_set(&s->out, ch.expunged_uids, ch.expunged_count);
		buf_append_str(&s->out, "\r\n");
	} else {
		for (size_t i = 0; i < ch.expunged_count; i++)
			imap_untagged(s, "%u EXPUNGE", ch.expunged_seqs[i]);
	}
	if (ch.new_count > 0)
		imap_untagged(s, "%u EXISTS", ch.exists);
	write_flag_changes(s, &ch);
	if (ch.highest_modseq > s->known_modseq)
		s->known_modseq = ch.highest_modseq;
	mail_changes_clear(&ch);
	return 0;
}

int imap_cmd_expunge(struct imap_session *s)
{
	struct mail_range *uids = NULL;
	size_t n = 0;
	const char *err = NULL;
	const char *what = s->uid ? "UID EXPUNGE" : "EXPUNGE";
	if (s->uid) {
		struct imap_seqset *set = NULL;
		bool bad;
		if (imap_arg_get_seqset(s->args, false, &set, &err) < 0 ||
		    !imap_arg_is_eol(&s->args[1])) {
			imap_bad(s, err != NULL ? err : "UID EXPUNGE takes one sequence set");
			imap_seqset_free(&set);
			return 1;
		}
		int r = imap_seqset_uids(s, set, true, &uids, &n, &bad);
		imap_seqset_free(&set);
		if (r < 0) {
			imap_tagged(s, "NO [SERVERBUG] Out of memory");
			return 1;
		}
	} else if (!imap_arg_is_eol(s->args)) {
		imap_bad(s, "EXPUNGE takes no arguments");
		return 1;
	}
	if (s->readonly) {
		free(uids);
		imap_tagged(s, "NO [READ-ONLY] Mailbox is read-only");
		return 1;
	}
	int r = s->uid && n == 0 ? 0 : mail_folder_expunge(s->folder, s->uid ? uids : NULL, n,
								&err);
	free(uids);
	if (r < 0) {
		imap_store_error(s, what, err);
		return 1;
	}
	if (imap_report_changes(s, &err) < 0)
		log_err("imap %s: %s report in %s: %s", s->id, what, s->folder_name,
			err ? err : "?");
	imap_tagged(s, "OK %s completed", what);
	return 1;
}
