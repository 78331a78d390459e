/* FETCH and UID FETCH (RFC 9051 6.4.5, 6.4.9; RFC 3516 BINARY; RFC 7162
 * CONDSTORE MODSEQ and CHANGEDSINCE). The answer goes out in slices: each
 * run walks the index from where the last one stopped until about
 * SLICE_BYTES of output are ready, so FETCH 1:* of a huge mailbox never
 * holds more than one slice (and one message's file) in memory. */
#include "imap/imap_message.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"

/* Each slice costs a hand-over between threads and a new walk of the
 * index (about a quarter of a millisecond), so slices are large: 1 MiB
 * less room for the message that crosses the mark, so the session's buffer
 * stays at 1 MiB. 256 KiB slices made 150 hand-overs of FETCH 1:* on
 * 100,000 messages, and cost 8% more time. */
#define SLICE_BYTES (960 * 1024)

struct fetch_ctx {
	struct imap_fetch *fetch;
	struct mail_range *uids;    /* what is left to walk */
	size_t n, i;
	unsigned fields;            /* enum mail_fetch_fields */
	bool flags_always;          /* \Seen was set: report FLAGS */
	bool missing;               /* messages expunged meanwhile */
	bool unknown_cte;
	struct imap_msg_file file;
	struct imap_msg_stream stream;   /* a whole message being sent */
	bool streaming;
};

static void ctx_free(void *p)
{
	struct fetch_ctx *c = p;
	imap_fetch_free(&c->fetch);
	free(c->uids);
	imap_msg_file_clear(&c->file);
	imap_msg_stream_close(&c->stream);
	free(c);
}

/* Whether the items read the message in a way that sets \Seen. */
static bool sets_seen(const struct imap_fetch *f)
{
	if (f->items & (IMAP_FETCH_RFC822 | IMAP_FETCH_RFC822_TEXT))
		return true;
	for (size_t i = 0; i < f->section_count; i++) {
		if (!f->sections[i].peek)
			return true;
	}
	return false;
}

static unsigned store_fields(const struct imap_fetch *f)
{
	unsigned fields = 0;
	if (f->items & IMAP_FETCH_ENVELOPE)
		fields |= MAIL_FETCH_ENVELOPE;
	if (f->items & (IMAP_FETCH_BODY | IMAP_FETCH_BODYSTRUCTURE))
		fields |= MAIL_FETCH_BODYSTRUCTURE;
	if (f->items & IMAP_FETCH_RFC822_HEADER)
		fields |= MAIL_FETCH_HEADER_RAW;
	for (size_t i = 0; i < f->section_count; i++) {
		const struct imap_fetch_section *sec = &f->sections[i];
		if (sec->kind == IMAP_SECTION_BODY && sec->part_count == 0 &&
		    sec->text != IMAP_SECTION_ALL && sec->text != IMAP_SECTION_TEXT)
			fields |= MAIL_FETCH_HEADER_RAW;
	}
	return fields;
}

/* RFC 7162 3.2.6: UID FETCH (CHANGEDSINCE m VANISHED) first reports the
 * UIDs of the set expunged since m. The set is taken as sent, not cut to
 * the UIDs that exist ("*" reaches every UID ever given). On -1 a tagged
 * reply has been written. */
static int write_vanished(struct imap_session *s, const struct imap_seqset *set,
			  uint64_t since)
{
	struct mail_range *want = malloc((set->count > 0 ? set->count : 1) * sizeof *want);
	struct mail_range *gone = NULL;
	size_t ngone = 0;
	const char *err = "out of memory";
	if (want == NULL) {
		imap_tagged(s, "NO [SERVERBUG] Out of memory");
		return -1;
	}
	for (size_t i = 0; i < set->count; i++) {
		const struct imap_seq_range *q = &set->ranges[i];
		want[i].lo = q->lo == IMAP_SEQ_STAR ? UINT32_MAX : q->lo;
		want[i].hi = q->hi == IMAP_SEQ_STAR ? UINT32_MAX : q->hi;
	}
	int r = mail_folder_expunged_since(s->folder, since, want, set->count, &gone, &ngone,
					   &err);
	free(want);
	if (r < 0) {
		imap_store_error(s, "UID FETCH", err);
		return -1;
	}
	if (ngone > 0) {
		buf_append_str(&s->out, "* VANISHED (EARLIER) ");
		imap_msg_write_set(s, &s->out, gone, ngone, true);
		buf_append_str(&s->out, "\r\n");
	}
	free(gone);
	return 0;
}

/* Parses and checks the command; on 0, s->cmd_ctx holds the state. */
static int fetch_start(struct imap_session *s)
{
	struct imap_seqset *set = NULL;
	struct imap_fetch *fetch = NULL;
	const char *err = NULL;
	if (imap_arg_get_seqset(&s->args[0], true, &set, &err) < 0 ||
	    imap_parse_fetch(s->args + 1, &fetch, &err) < 0) {
		imap_seqset_free(&set);
		imap_bad(s, err);
		return -1;
	}
	if (fetch->vanished && (!s->uid || !(s->enabled & IMAP_ENABLED_QRESYNC))) {
		/* RFC 7162 3.2.6 */
		imap_seqset_free(&set);
		imap_fetch_free(&fetch);
		imap_bad(s, s->uid ? "VANISHED needs QRESYNC, which is not enabled" :
			 "VANISHED is only for UID FETCH");
		return -1;
	}
	struct fetch_ctx *c = calloc(1, sizeof *c);
	if (c == NULL) {
		imap_seqset_free(&set);
		imap_fetch_free(&fetch);
		imap_tagged(s, "NO [SERVERBUG] Out of memory");
		return -1;
	}
	c->fetch = fetch;
	imap_msg_stream_init(&c->stream);
	s->cmd_ctx = c;
	s->cmd_ctx_free = ctx_free;
	int r = imap_msg_uid_ranges(s, set, s->uid, &c->uids, &c->n);
	if (r == 0 && fetch->vanished)
		r = write_vanished(s, set, fetch->changedsince_modseq);
	imap_seqset_free(&set);
	if (r < 0)
		return -1;
	c->fields = store_fields(fetch);
	if (fetch->changedsince || (fetch->items & IMAP_FETCH_MODSEQ))
		imap_msg_condstore_on(s);
	if (!s->readonly && sets_seen(fetch) && c->n > 0) {
		struct mail_range *failed = NULL;
		size_t nfailed = 0;
		if (mail_folder_store_flags(s->folder, c->uids, c->n, MAIL_FLAGS_ADD, MAIL_SEEN,
					    NULL, 0, &failed, &nfailed, &err) < 0) {
			imap_store_error(s, "FETCH", err);
			return -1;
		}
		free(failed);
		c->flags_always = true;
	}
	return 0;
}

static void write_internaldate(struct buf *out, time_t t)
{
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	if (localtime_r(&t, &tm) == NULL) {
		t = 0;
		gmtime_r(&t, &tm);
	}
	long off = tm.tm_gmtoff / 60;
	char sign = off < 0 ? '-' : '+';
	if (off < 0)
		off = -off;
	buf_printf(out, "INTERNALDATE \"%2d-%s-%04d %02d:%02d:%02d %c%02ld%02ld\"", tm.tm_mday,
		   months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		   tm.tm_sec, sign, off / 60, off % 60);
}

/* ENVELOPE, BODY or BODYSTRUCTURE: from the index's cache, or computed
 * from the file when the cache has none. */
static int write_structure(struct imap_session *s, struct fetch_ctx *c,
			   const struct mail_msg *m, unsigned item, const char **error_r)
{
	const char *cached = item == IMAP_FETCH_ENVELOPE ? m->envelope :
			     item == IMAP_FETCH_BODY ? m->body : m->bodystructure;
	const char *name = item == IMAP_FETCH_ENVELOPE ? "ENVELOPE " :
			   item == IMAP_FETCH_BODY ? "BODY " : "BODYSTRUCTURE ";
	char *made = NULL;
	if (cached == NULL) {
		if (imap_msg_file_load(s->folder, m->uid, &c->file, error_r) < 0)
			return -1;
		if (c->file.mime == NULL &&
		    msg_mime_parse(c->file.data, c->file.len, &c->file.mime, error_r) < 0)
			return -1;
		int r = imap_msg_structure(c->file.mime,
					   item == IMAP_FETCH_ENVELOPE ? &made : NULL,
					   item == IMAP_FETCH_BODYSTRUCTURE ? &made : NULL,
					   item == IMAP_FETCH_BODY ? &made : NULL);
		if (r < 0) {
			*error_r = "cannot compute the structure";
			return -1;
		}
		cached = made;
	}
	int r = buf_append_str(&s->out, name) < 0 || buf_append_str(&s->out, cached) < 0 ? -1 : 0;
	free(made);
	if (r < 0)
		*error_r = "out of memory";
	return r;
}

/* " NAME n" (or "NAME n" first): numbers are written by hand, since
 * printf was a good part of the cost of FETCH 1:* on a big mailbox. */
static void write_number(struct buf *out, const char **sep, const char *name,
			 unsigned long long v)
{
	buf_append_str(out, *sep);
	buf_append_str(out, name);
	buf_append_u64(out, v);
	*sep = " ";
}

/* The items that need no file: UID, FLAGS, INTERNALDATE, RFC822.SIZE,
 * MODSEQ. */
static void write_simple(struct imap_session *s, struct fetch_ctx *c, const struct mail_msg *m,
			 const char **sep)
{
	const struct imap_fetch *f = c->fetch;
	struct buf *out = &s->out;
	if (s->uid || (f->items & IMAP_FETCH_UID))
		write_number(out, sep, "UID ", m->uid);
	if ((f->items & IMAP_FETCH_FLAGS) || c->flags_always) {
		buf_append_str(out, *sep);
		buf_append_str(out, "FLAGS ");
		imap_write_flags(out, m->flags, m->keywords, imap_is_recent(s, m->uid));
		*sep = " ";
	}
	if (f->items & IMAP_FETCH_INTERNALDATE) {
		buf_append_str(out, *sep);
		write_internaldate(out, m->internal_date);
		*sep = " ";
	}
	if (f->items & IMAP_FETCH_RFC822_SIZE)
		write_number(out, sep, "RFC822.SIZE ", m->vsize);
	/* \Seen set by this FETCH is a change CONDSTORE clients track. */
	if ((f->items & IMAP_FETCH_MODSEQ) || f->changedsince ||
	    (c->flags_always && (s->enabled & IMAP_ENABLED_CONDSTORE))) {
		write_number(out, sep, "MODSEQ (", m->modseq);
		buf_append_char(out, ')');
	}
}

static int write_items(struct imap_session *s, struct fetch_ctx *c, const struct mail_msg *m,
		       const char **error_r)
{
	static const unsigned structures[] = { IMAP_FETCH_ENVELOPE, IMAP_FETCH_BODY,
					       IMAP_FETCH_BODYSTRUCTURE };
	static const unsigned rfc822[] = { IMAP_FETCH_RFC822_HEADER, IMAP_FETCH_RFC822_TEXT,
					   IMAP_FETCH_RFC822 };
	const struct imap_fetch *f = c->fetch;
	const char *sep = "";
	write_simple(s, c, m, &sep);
	for (size_t i = 0; i < 3; i++) {
		if (!(f->items & structures[i]))
			continue;
		buf_append_str(&s->out, sep);
		sep = " ";
		if (write_structure(s, c, m, structures[i], error_r) < 0)
			return IMAP_SECTION_FAIL;
	}
	for (size_t i = 0; i < 3; i++) {
		if (!(f->items & rfc822[i]))
			continue;
		buf_append_str(&s->out, sep);
		sep = " ";
		/* The last item of the response may stream (RFC822 is the
		 * last of these three). */
		int r = rfc822[i] == IMAP_FETCH_RFC822 && f->section_count == 0
				? imap_msg_stream_start(s, &s->out, NULL, m, &c->file, &c->stream)
				: IMAP_SECTION_OK;
		if (r == IMAP_SECTION_OK)
			r = imap_fetch_write_rfc822(s, &s->out, rfc822[i], m, &c->file, error_r);
		if (r != IMAP_SECTION_OK)
			return r;
	}
	for (size_t i = 0; i < f->section_count; i++) {
		buf_append_str(&s->out, sep);
		sep = " ";
		int r = i + 1 == f->section_count
				? imap_msg_stream_start(s, &s->out, &f->sections[i], m, &c->file,
							&c->stream)
				: IMAP_SECTION_OK;
		if (r == IMAP_SECTION_OK)
			r = imap_fetch_write_section(s, &s->out, &f->sections[i], m, &c->file,
						     error_r);
		if (r != IMAP_SECTION_OK)
			return r;
	}
	return IMAP_SECTION_OK;
}

/* One "* n FETCH (...)"; a message that cannot be answered in full is
 * left out and noted for the tagged reply. -1 only when output failed;
 * 1 when its last item streams (the response ends in a later slice). */
static int write_msg(struct imap_session *s, struct fetch_ctx *c, const struct mail_msg *m)
{
	const char *err = NULL;
	size_t start = s->out.len;
	if (c->fetch->changedsince && m->modseq <= c->fetch->changedsince_modseq)
		return 0;
	if ((c->fetch->items & IMAP_FETCH_FLAGS) || c->flags_always)
		imap_announce_keywords(s, m->keywords);
	buf_append_str(&s->out, "* ");
	buf_append_u64(&s->out, m->seq);
	buf_append_str(&s->out, " FETCH (");
	int r = write_items(s, c, m, &err);
	if (r == IMAP_SECTION_STREAM) {
		imap_msg_file_clear(&c->file);
		c->streaming = true;
		return 1;
	}
	if (r == IMAP_SECTION_OK && buf_append_str(&s->out, ")\r\n") < 0) {
		r = IMAP_SECTION_FAIL;
		err = "output too large";
	}
	bool gone = c->file.gone;
	imap_msg_file_clear(&c->file);
	if (r == IMAP_SECTION_OK)
		return 0;
	buf_truncate(&s->out, start);
	if (r == IMAP_SECTION_UNKNOWN_CTE) {
		c->unknown_cte = true;
		return 0;
	}
	if (gone) {
		c->missing = true;
		return 0;
	}
	log_err("imap %s: FETCH of UID %u in %s: %s", s->id, m->uid, s->folder_name,
		err ? err : "?");
	return -1;
}

/* Moves the walk past uid. */
static void advance(struct fetch_ctx *c, uint32_t uid)
{
	if (uid == UINT32_MAX) {
		c->i = c->n;
		return;
	}
	while (c->i < c->n && c->uids[c->i].hi <= uid)
		c->i++;
	if (c->i < c->n && c->uids[c->i].lo <= uid)
		c->uids[c->i].lo = uid + 1;
}

static int fetch_finish(struct imap_session *s, struct fetch_ctx *c)
{
	const char *cmd = s->uid ? "UID FETCH" : "FETCH";
	if (c->unknown_cte)
		imap_tagged(s, "NO [UNKNOWN-CTE] %s: cannot decode a part's"
			    " Content-Transfer-Encoding", cmd);
	else if (c->missing)
		imap_tagged(s, "NO [EXPUNGEISSUED] %s: some messages were expunged", cmd);
	else
		imap_tagged(s, "OK %s completed", cmd);
	return 1;
}

/* Goes on with a streamed message: 1 when its response is complete. */
static int stream_slice(struct imap_session *s, struct fetch_ctx *c, const char **error_r)
{
	size_t room = s->out.len < SLICE_BYTES ? SLICE_BYTES - s->out.len : 0;
	int r = imap_msg_stream_more(&c->stream, &s->out, room, error_r);
	if (r == 1) {
		c->streaming = false;
		if (buf_append_str(&s->out, ")\r\n") < 0) {
			*error_r = "output too large";
			return -1;
		}
	}
	return r;
}

static int fetch_slice(struct imap_session *s, struct fetch_ctx *c)
{
	struct mail_iter *it;
	const struct mail_msg *m;
	const char *err = NULL;
	if (c->streaming) {
		int r = stream_slice(s, c, &err);
		if (r < 0) {
			/* Half a literal is out: nothing but closing keeps the
			 * client from reading what follows as message data. */
			log_err("imap %s: FETCH: %s", s->id, err);
			imap_set_state(s, IMAP_STATE_LOGOUT);
			s->next = IMAP_NEXT_CLOSE;
			return 1;
		}
		if (r == 0)
			return 0;
	}
	if (c->i >= c->n)
		return fetch_finish(s, c);
	if (mail_folder_iter_init(s->folder, c->uids + c->i, c->n - c->i, c->fields, &it,
				  &err) < 0) {
		imap_store_error(s, "FETCH", err);
		return 1;
	}
	int r;
	bool more = false;
	while ((r = mail_folder_iter_next(it, &m, &err)) == 1) {
		int w = write_msg(s, c, m);
		if (w < 0) {
			err = "cannot fetch a message";
			r = -1;
			break;
		}
		advance(c, m->uid);
		if (w == 1 || s->out.len >= SLICE_BYTES) {
			more = w == 1 || c->i < c->n;
			break;
		}
	}
	mail_folder_iter_deinit(&it);
	if (r < 0) {
		imap_store_error(s, "FETCH", err);
		return 1;
	}
	return more ? 0 : fetch_finish(s, c);
}

int imap_cmd_fetch(struct imap_session *s)
{
	if (s->cmd_ctx == NULL && fetch_start(s) < 0)
		return 1;
	return fetch_slice(s, s->cmd_ctx);
}
