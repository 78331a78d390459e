/* What a selected session has told its client about flags: the keywords
 * listed in FLAGS and PERMANENTFLAGS, which must name every keyword
 * before a FETCH uses it (RFC 9051 7.3.5, RFC 3501 7.2.6), and the
 * messages that are \Recent to this session (IMAP4rev1 only: RFC 3501
 * 2.3.2; IMAP4rev2 dropped it). */
#include "imap/imap_private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"

static const char system_flags[] = "\\Answered \\Flagged \\Deleted \\Seen \\Draft";

/* FLAGS lists at most MAIL_FOLDER_KEYWORDS_MAX octets of keywords: a
 * user who made more has the rest used unannounced rather than FLAGS
 * lines that grow without bound (each repeats the whole list). */
#define KEYWORDS_LIST_MAX MAIL_FOLDER_KEYWORDS_MAX

void imap_flags_state_clear(struct imap_session *s)
{
	free(s->keywords);
	s->keywords = NULL;
	free(s->recent);
	s->recent = NULL;
	s->nrecent = 0;
	s->recent_count = 0;
}

/* "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" with the keywords
 * announced so far. */
void imap_write_flag_lists(struct imap_session *s)
{
	const char *kw = s->keywords != NULL ? s->keywords : "";
	const char *sp = kw[0] != '\0' ? " " : "";
	imap_untagged(s, "FLAGS (%s%s%s)", system_flags, sp, kw);
	if (s->readonly)
		imap_untagged(s, "OK [PERMANENTFLAGS ()] Read-only mailbox");
	else
		imap_untagged(s, "OK [PERMANENTFLAGS (%s%s%s \\*)] Flags permitted",
			      system_flags, sp, kw);
}

/* Adds the keywords not listed yet; true when there were any. */
static bool add_keywords(struct imap_session *s, const char *keywords)
{
	bool added = false;
	for (const char *p = keywords != NULL ? keywords : ""; *p != '\0';) {
		while (*p == ' ')
			p++;
		size_t n = strcspn(p, " ");
		if (n == 0)
			break;
		/* The list's length only when the keyword is new: FETCH
		 * asks this for every keyword of every message. */
		size_t old = 0;
		bool add = !imap_has_keyword(s->keywords, (struct str){ p, n });
		if (add && s->keywords != NULL)
			old = strlen(s->keywords);
		if (add && old + n + 1 <= KEYWORDS_LIST_MAX) {
			char *k = realloc(s->keywords, old + n + 2);
			if (k == NULL)
				return added;
			if (old > 0)
				k[old++] = ' ';
			memcpy(k + old, p, n);
			k[old + n] = '\0';
			s->keywords = k;
			added = true;
		}
		p += n;
	}
	return added;
}

void imap_announce_keywords(struct imap_session *s, const char *keywords)
{
	if (add_keywords(s, keywords))
		imap_write_flag_lists(s);
}

bool imap_is_recent(const struct imap_session *s, uint32_t uid)
{
	for (size_t i = 0; i < s->nrecent; i++)
		if (uid >= s->recent[i].lo && uid <= s->recent[i].hi)
			return true;
	return false;
}

/* Claims the messages no session has had as \Recent (IMAP4rev1 sessions
 * only: a rev2 client would take them from a rev1 one for nothing). */
static void claim_recent(struct imap_session *s)
{
	uint32_t lo, hi;
	const char *err = NULL;
	if (s->enabled & IMAP_ENABLED_REV2)
		return;
	if (mail_folder_claim_recent(s->folder, &lo, &hi, &err) < 0) {
		log_err("imap %s: \\Recent of %s: %s", s->id, s->folder_name, err ? err : "?");
		return;
	}
	if (lo > hi)
		return;
	if (s->nrecent > 0 && s->recent[s->nrecent - 1].hi + 1 == lo) {
		s->recent[s->nrecent - 1].hi = hi;   /* the usual case: one run */
	} else {
		struct mail_range *r = realloc(s->recent, (s->nrecent + 1) * sizeof *r);
		if (r == NULL)
			return;
		s->recent = r;
		s->recent[s->nrecent++] = (struct mail_range){ lo, hi };
	}
	/* The claim is the top of the view (lo..UIDNEXT-1): count down from
	 * the last message, not across the UIDs, which may be sparse. */
	for (uint32_t seq = mail_folder_count(s->folder); seq > 0; seq--) {
		uint32_t uid = mail_folder_seq_to_uid(s->folder, seq);
		if (uid < lo)
			break;
		if (uid <= hi)
			s->recent_count++;
	}
}

int imap_flags_state_select(struct imap_session *s)
{
	const char *err = NULL;
	imap_flags_state_clear(s);
	char *kws = NULL;
	if (mail_folder_keywords(s->folder, &kws, &err) < 0) {
		log_err("imap %s: keywords of %s: %s", s->id, s->folder_name, err ? err : "?");
		return -1;
	}
	s->keywords = kws;   /* each once, within the cap: SELECT lists them */
	claim_recent(s);
	return 0;
}

void imap_flags_state_update(struct imap_session *s, const struct mail_changes *ch)
{
	if (s->enabled & IMAP_ENABLED_REV2)
		return;
	for (size_t i = 0; i < ch->expunged_count; i++)
		if (imap_is_recent(s, ch->expunged_uids[i]) && s->recent_count > 0)
			s->recent_count--;
	/* RFC 3501 7.3.2: with EXISTS, as Dovecot sends it. */
	if (ch->new_count > 0) {
		claim_recent(s);
		imap_untagged(s, "%u RECENT", s->recent_count);
	}
}
