/* The message command family's table (FETCH in imap_cmd_fetch.c, STORE
 * in imap_cmd_store.c) and what its commands share: sequence sets as UID
 * ranges of the view, flags, CONDSTORE. */
#include "imap/imap_message.h"

#include <stdlib.h>

imap_cmd_fn imap_cmd_fetch, imap_cmd_store;

#define SE IMAP_STATES_SE
#define MSG_FLAGS (IMAP_CMD_UID | IMAP_CMD_NO_EXPUNGE)

const struct imap_command_def imap_commands_message[] = {
	{ "FETCH", SE, MSG_FLAGS, imap_cmd_fetch, NULL },
	{ "STORE", SE, MSG_FLAGS, imap_cmd_store, NULL },
	{ NULL, 0, 0, NULL, "BINARY" },
	{ NULL, 0, 0, NULL, "CONDSTORE" },
	{ NULL, 0, 0, NULL, NULL },
};

/* "*" and reversed ranges resolved against last; 0 when the range lies
 * wholly above last (UIDs only; sequence numbers were checked). */
static bool resolve(const struct imap_seq_range *in, uint32_t last, struct mail_range *out)
{
	uint32_t lo = in->lo == IMAP_SEQ_STAR ? last : in->lo;
	uint32_t hi = in->hi == IMAP_SEQ_STAR ? last : in->hi;
	if (lo > hi) {
		uint32_t t = lo;
		lo = hi;
		hi = t;
	}
	if (lo > last || last == 0)
		return false;
	out->lo = lo;
	out->hi = hi > last ? last : hi;
	return true;
}

int imap_msg_uid_ranges(struct imap_session *s, const struct imap_seqset *set, bool uid,
			struct mail_range **uids_r, size_t *n_r)
{
	uint32_t count = mail_folder_count(s->folder);
	uint32_t last = uid ? mail_folder_seq_to_uid(s->folder, count) : count;
	struct mail_range *r;
	size_t n = 0;
	if (set->searchres) {
		if (imap_saved_uids(s, uids_r, n_r) == 0)
			return 0;
		imap_tagged(s, "NO [SERVERBUG] Out of memory");
		return -1;
	}
	r = malloc((set->count > 0 ? set->count : 1) * sizeof *r);
	if (r == NULL) {
		imap_tagged(s, "NO [SERVERBUG] Out of memory");
		return -1;
	}
	for (size_t i = 0; i < set->count; i++) {
		const struct imap_seq_range *q = &set->ranges[i];
		bool beyond = (q->lo != IMAP_SEQ_STAR && q->lo > count) ||
			      (q->hi != IMAP_SEQ_STAR && q->hi > count) || count == 0;
		if (!uid && beyond) {
			free(r);
			imap_bad(s, "Invalid message sequence number");
			return -1;
		}
		if (resolve(q, last, &r[n]))
			n++;
	}
	n = mail_ranges_normalize(r, n);
	if (uid) {
		*uids_r = r;
		*n_r = n;
		return 0;
	}
	int ret = mail_folder_seqs_to_uids(s->folder, r, n, uids_r, n_r);
	free(r);
	if (ret < 0) {
		imap_tagged(s, "NO [SERVERBUG] Out of memory");
		return -1;
	}
	return 0;
}

static void write_range(struct buf *out, const char **sep, uint32_t lo, uint32_t hi)
{
	if (lo == hi)
		buf_printf(out, "%s%u", *sep, lo);
	else
		buf_printf(out, "%s%u:%u", *sep, lo, hi);
	*sep = ",";
}

void imap_msg_write_set(struct imap_session *s, struct buf *out,
			const struct mail_range *uids, size_t n, bool uid)
{
	const char *sep = "";
	uint32_t lo = 0, hi = 0;
	for (size_t i = 0; i < n; i++) {
		if (uid) {
			write_range(out, &sep, uids[i].lo, uids[i].hi);
			continue;
		}
		for (uint64_t u = uids[i].lo; u <= uids[i].hi; u++) {
			uint32_t seq = mail_folder_uid_to_seq(s->folder, (uint32_t)u);
			if (seq == 0)
				continue;
			if (lo != 0 && seq == hi + 1) {
				hi = seq;
				continue;
			}
			if (lo != 0)
				write_range(out, &sep, lo, hi);
			lo = hi = seq;
		}
	}
	if (lo != 0)
		write_range(out, &sep, lo, hi);
}

unsigned imap_msg_flags_to_store(unsigned f)
{
	static const struct { unsigned from, to; } map[] = {
		{ IMAP_FLAG_ANSWERED, MAIL_ANSWERED }, { IMAP_FLAG_FLAGGED, MAIL_FLAGGED },
		{ IMAP_FLAG_DELETED, MAIL_DELETED }, { IMAP_FLAG_SEEN, MAIL_SEEN },
		{ IMAP_FLAG_DRAFT, MAIL_DRAFT },
	};
	unsigned r = 0;
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
		if (f & map[i].from)
			r |= map[i].to;
	}
	return r;
}

void imap_msg_condstore_on(struct imap_session *s)
{
	s->enabled |= IMAP_ENABLED_CONDSTORE;
}
