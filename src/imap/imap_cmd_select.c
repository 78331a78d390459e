/* SELECT, EXAMINE, UNSELECT, IDLE and the untagged updates of a
 * selected folder (RFC 9051 6.3.2-6.3.3, 7.4.1, 7.5; RFC 2177; RFC 3691).
 * CLOSE, an expunge, is in imap_cmd_expunge.c. */
#include "imap/imap_private.h"
#include "imap/imap_search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

void imap_unselect(struct imap_session *s)
{
	mail_folder_close(&s->folder);
	imap_saved_clear(s);
	imap_flags_state_clear(s);
	s->folder_name[0] = '\0';
	s->readonly = false;
	s->known_modseq = 0;
	if (s->state == IMAP_STATE_SELECTED)
		imap_set_state(s, IMAP_STATE_AUTH);
}

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
			imap_announce_keywords(s, m->keywords);
			buf_printf(&s->out, "* %u FETCH (UID %u FLAGS ", m->seq, m->uid);
			imap_write_flags(&s->out, m->flags, m->keywords, imap_is_recent(s, m->uid));
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
	if (ch.uidvalidity_changed) {
		/* RFC 9051 2.3.1.1: the client's UIDs are void; it must
		 * SELECT again to learn the new UIDVALIDITY (as Dovecot does,
		 * the session ends). */
		mail_changes_clear(&ch);
		imap_session_goodbye(s, "UIDVALIDITY of the selected mailbox changed");
		return 0;
	}
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
	imap_flags_state_update(s, &ch);
	write_flag_changes(s, &ch);
	if (ch.highest_modseq > s->known_modseq)
		s->known_modseq = ch.highest_modseq;
	mail_changes_clear(&ch);
	return 0;
}

int imap_send_updates(struct imap_session *s, bool allow_expunge)
{
	const char *err = NULL;
	bool changed = false;
	if (!allow_expunge || s->folder == NULL)
		return 0;
	if (mail_folder_poll(s->folder, &changed, &err) < 0 ||
	    (changed && imap_report_changes(s, &err) < 0))
		log_err("imap %s: updates of %s: %s", s->id, s->folder_name, err ? err : "?");
	return 0;  /* a missed update is sent at the next chance */
}

static void select_responses(struct imap_session *s, const struct mail_status *st)
{
	imap_untagged(s, "%u EXISTS", st->messages);
	if (!(s->enabled & IMAP_ENABLED_REV2))
		imap_untagged(s, "%u RECENT", s->recent_count);
	imap_write_flag_lists(s);
	if (st->first_unseen_seq > 0 && !(s->enabled & IMAP_ENABLED_REV2))
		imap_untagged(s, "OK [UNSEEN %u] First unseen", st->first_unseen_seq);
	imap_untagged(s, "OK [UIDVALIDITY %u] UIDs valid", st->uidvalidity);
	imap_untagged(s, "OK [UIDNEXT %u] Predicted next UID", st->uidnext);
	imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest",
		      (unsigned long long)st->highest_modseq);
	/* RFC 9051 6.3.2: the mailbox's LIST response, for its real name. */
	buf_append_str(&s->out, "* LIST () \"/\" ");
	imap_write_mailbox(s, &s->out, s->folder_name);
	buf_append_str(&s->out, "\r\n");
}

static void write_uid_ranges(struct buf *out, const struct mail_range *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (r[i].lo == r[i].hi)
			buf_printf(out, "%s%u", i > 0 ? "," : "", r[i].lo);
		else
			buf_printf(out, "%s%u:%u", i > 0 ? "," : "", r[i].lo, r[i].hi);
	}
}

/* RFC 7162 3.2.5: what the client missed since its modseq, after the
 * SELECT responses: VANISHED (EARLIER) (only of its known UIDs when it
 * sent them), then FETCH UID FLAGS MODSEQ of what changed. The
 * seq-match-data is a hint for servers that forget expunges: the store
 * keeps them all, so it is not needed. */
static void qresync_responses(struct imap_session *s, const struct imap_select *sel,
			      uint64_t highest)
{
	struct mail_range *known = NULL, *gone = NULL;
	size_t nknown = 0, ngone = 0;
	const char *err = NULL;
	const struct imap_seqset *k = sel->known_uids;
	if (k != NULL && (known = malloc((k->count > 0 ? k->count : 1) * sizeof *known)) == NULL)
		err = "out of memory";
	for (size_t i = 0; known != NULL && i < k->count; i++, nknown++)
		known[i] = (struct mail_range){ k->ranges[i].lo, k->ranges[i].hi };
	if (err == NULL && mail_folder_expunged_since(s->folder, sel->modseq, known, nknown,
						      &gone, &ngone, &err) == 0 && ngone > 0) {
		buf_append_str(&s->out, "* VANISHED (EARLIER) ");
		write_uid_ranges(&s->out, gone, ngone);
		buf_append_str(&s->out, "\r\n");
	}
	free(known);
	free(gone);
	if (err != NULL)
		log_err("imap %s: QRESYNC of %s: %s", s->id, s->folder_name, err);
	if (sel->modseq >= highest)
		return;
	s->known_modseq = sel->modseq;
	if (imap_report_changes(s, &err) < 0) {
		log_err("imap %s: QRESYNC changes of %s: %s", s->id, s->folder_name,
			err ? err : "?");
		s->known_modseq = highest;
	}
}

/* Opens the folder as the selected one; on -1 a tagged NO is written. */
static int open_folder(struct imap_session *s, const char *name, bool readonly,
		       struct mail_status *st)
{
	const char *err = NULL;
	const char *what = readonly ? "EXAMINE" : "SELECT";
	if (mail_folder_open(s->store, name, readonly ? MAIL_OPEN_READONLY : 0, &s->folder,
			     &err) < 0) {
		imap_store_error(s, what, err);
		return -1;
	}
	/* Open has synced and loaded the view: nothing to do twice. */
	if (mail_folder_status(s->folder, st, &err) < 0) {
		imap_store_error(s, what, err);
		mail_folder_close(&s->folder);
		return -1;
	}
	snprintf(s->folder_name, sizeof s->folder_name, "%s", name);
	s->readonly = readonly;
	s->known_modseq = st->highest_modseq;
	if (imap_flags_state_select(s) < 0) {
		imap_tagged(s, "NO [SERVERBUG] %s failed", what);
		mail_folder_close(&s->folder);
		return -1;
	}
	imap_set_state(s, IMAP_STATE_SELECTED);
	return 0;
}

static int do_select(struct imap_session *s, bool readonly)
{
	struct imap_select *sel = NULL;
	const char *err = NULL;
	char name[MAIL_NAME_MAX + 1];
	if (imap_parse_select(s->args, &sel, &err) < 0) {
		imap_bad(s, err);
		return 1;
	}
	if (sel->qresync && !(s->enabled & IMAP_ENABLED_QRESYNC)) {
		/* RFC 7162 3.2.5 */
		imap_select_free(&sel);
		imap_bad(s, "QRESYNC must be ENABLEd first");
		return 1;
	}
	struct imap_arg marg = { .type = IMAP_ARG_STRING, .str = sel->mailbox };
	if (imap_mailbox_arg(s, &marg, name, sizeof name) < 0) {
		imap_select_free(&sel);
		return 1;
	}
	if (sel->condstore)
		s->enabled |= IMAP_ENABLED_CONDSTORE;   /* RFC 7162 3.1.8 */
	if (s->folder != NULL) {
		imap_unselect(s);
		/* RFC 9051 7.1, RFC 7162 3.2.11: the old mailbox is closed
		 * before the new. */
		imap_untagged(s, "OK [CLOSED] Previous mailbox closed");
	}
	struct mail_status st;
	if (open_folder(s, name, readonly, &st) == 0) {
		select_responses(s, &st);
		if (sel->qresync && sel->uidvalidity == st.uidvalidity)
			qresync_responses(s, sel, st.highest_modseq);
		imap_tagged(s, "OK [%s] %s completed", readonly ? "READ-ONLY" : "READ-WRITE",
			    readonly ? "EXAMINE" : "SELECT");
	}
	imap_select_free(&sel);
	return 1;
}

int imap_cmd_select(struct imap_session *s) { return do_select(s, false); }
int imap_cmd_examine(struct imap_session *s) { return do_select(s, true); }

int imap_cmd_unselect(struct imap_session *s)
{
	imap_unselect(s);
	imap_tagged(s, "OK UNSELECT completed");
	return 1;
}

int imap_cmd_idle(struct imap_session *s)
{
	if (!imap_arg_is_eol(s->args)) {
		imap_bad(s, "IDLE takes no arguments");
		return 1;
	}
	imap_send_updates(s, true);
	buf_append_str(&s->out, "+ idling\r\n");
	imap_reader_want_line(s->reader);
	s->idling = true;
	return 0;
}

void imap_session_idle_poll(struct imap_session *s, bool sleep)
{
	if (s->idling && s->state == IMAP_STATE_SELECTED)
		imap_send_updates(s, true);
	if (sleep && s->idling)
		mail_store_sleep(s->store);
	else
		mail_store_trim(s->store);
}
