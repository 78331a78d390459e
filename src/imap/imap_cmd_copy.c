/* COPY, UID COPY, MOVE, UID MOVE (RFC 9051 6.4.7-6.4.8, RFC 4315 COPYUID,
 * RFC 6851 MOVE). */
#include "imap/imap_search.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

/* "[COPYUID v 3:5 10:12]" (RFC 4315 3). */
static void write_copyuid(struct buf *out, const struct mail_copy_result *r)
{
	buf_printf(out, "[COPYUID %u ", r->uidvalidity);
	imap_write_number_set(out, r->src_uids, r->count);
	buf_append_char(out, ' ');
	imap_write_number_set(out, r->dst_uids, r->count);
	buf_append_char(out, ']');
}

static void copy_error(struct imap_session *s, const char *what, const char *err)
{
	if (errno == ENOENT)   /* RFC 9051 6.4.7: the client may CREATE and retry */
		imap_tagged(s, "NO [TRYCREATE] %s: %s", what, err ? err : "no such mailbox");
	else
		imap_store_error(s, what, err);
}

/* The sequence set and destination of COPY / MOVE; -1 when a reply went. */
static int copy_args(struct imap_session *s, char *dest, size_t size,
		     struct mail_range **uids_r, size_t *n_r)
{
	struct imap_seqset *set = NULL;
	const char *err = NULL;
	bool bad = false;
	if (imap_arg_get_seqset(&s->args[0], true, &set, &err) < 0 ||
	    imap_arg_is_eol(&s->args[1]) || !imap_arg_is_eol(&s->args[2])) {
		imap_seqset_free(&set);
		imap_bad(s, err != NULL ? err : "Expected a sequence set and a mailbox");
		return -1;
	}
	if (imap_mailbox_arg(s, &s->args[1], dest, size) < 0) {
		imap_seqset_free(&set);
		return -1;
	}
	int r = imap_seqset_uids(s, set, s->uid, uids_r, n_r, &bad);
	imap_seqset_free(&set);
	if (r < 0 && bad)
		imap_bad(s, "Invalid message sequence number");
	else if (r < 0)
		imap_tagged(s, "NO [SERVERBUG] Out of memory");
	return r;
}

/* A COPY's or MOVE's state between slices. */
enum copy_stage {
	COPY_PREPARE,   /* files linked into the destination's tmp/, a slice at a time */
	COPY_EXPUNGE,   /* MOVE: the sources expunged, a slice at a time */
};

struct copy_ctx {
	enum copy_stage stage;
	bool move;
	struct imap_slicer sl;
	struct mail_copy *copy;
};

static void copy_ctx_free(void *p)
{
	struct copy_ctx *c = p;
	/* A client gone in the middle: what was prepared is unlinked. */
	mail_copy_free(&c->copy);
	imap_slicer_fini(&c->sl);
	free(c);
}

static const char *copy_what(const struct imap_session *s, bool move)
{
	return move ? (s->uid ? "UID MOVE" : "MOVE") : (s->uid ? "UID COPY" : "COPY");
}

/* Parses and checks; on 0, s->cmd_ctx holds the state and slices run. */
static int copy_start(struct imap_session *s, bool move)
{
	const char *what = copy_what(s, move);
	char dest[MAIL_NAME_MAX + 1];
	struct mail_range *uids = NULL;
	size_t n = 0;
	const char *err = NULL;
	if (copy_args(s, dest, sizeof dest, &uids, &n) < 0)
		return -1;
	if (move && s->readonly) {
		free(uids);
		imap_tagged(s, "NO [READ-ONLY] Mailbox is read-only");
		return -1;
	}
	struct copy_ctx *c = calloc(1, sizeof *c);
	if (c == NULL || imap_slicer_init(&c->sl, uids, n) < 0) {
		if (c == NULL)
			free(uids);
		free(c);
		imap_tagged(s, "NO [SERVERBUG] Out of memory");
		return -1;
	}
	c->move = move;
	s->cmd_ctx = c;
	s->cmd_ctx_free = copy_ctx_free;
	if (mail_copy_begin(s->folder, dest, &c->copy, &err) < 0) {
		copy_error(s, what, err);
		return -1;
	}
	return 0;
}

/* After the last slice of the copy: all of it appears at once. 1 done
 * (COPY), 0 the expunge slices follow (MOVE), -1 a NO went. */
static int copy_commit(struct imap_session *s, struct copy_ctx *c)
{
	const char *what = copy_what(s, c->move);
	struct mail_copy_result res;
	const char *err = NULL;
	if (mail_copy_commit(c->copy, &res, &err) < 0) {
		imap_store_error(s, what, err);
		return -1;
	}
	mail_copy_free(&c->copy);
	if (!c->move) {
		buf_printf(&s->out, "%s OK ", s->tag);
		if (res.count > 0) {
			write_copyuid(&s->out, &res);
			buf_append_char(&s->out, ' ');
		}
		buf_printf(&s->out, "%s completed\r\n", what);
		mail_copy_result_clear(&res);
		return 1;
	}
	/* RFC 6851 4.3: COPYUID in an untagged OK before the EXPUNGEs. Then
	 * the sources that were copied go, a slice at a time. */
	struct mail_range *moved = NULL;
	size_t nmoved = 0;
	if (res.count > 0) {
		buf_append_str(&s->out, "* OK ");
		write_copyuid(&s->out, &res);
		buf_append_str(&s->out, " Moved\r\n");
	}
	int r = mail_ranges_from_ids(res.src_uids, res.count, &moved, &nmoved);
	mail_copy_result_clear(&res);
	imap_slicer_fini(&c->sl);
	if (r < 0 || imap_slicer_init(&c->sl, moved, nmoved) < 0) {
		imap_tagged(s, "NO [SERVERBUG] Out of memory");
		return -1;
	}
	c->stage = COPY_EXPUNGE;
	return 0;
}

/* One slice of MOVE's expunge, with its EXPUNGE (or VANISHED) responses
 * (RFC 6851 3.3). 1 done, 0 more, -1 a NO went. */
static int move_expunge_slice(struct imap_session *s, struct copy_ctx *c)
{
	const char *what = copy_what(s, true);
	size_t k = 0;
	bool more = false;
	uint64_t max;
	const char *err = NULL;
	if (imap_slicer_next(s, &c->sl, &k, &more, &max, &err) < 0 ||
	    (k > 0 && mail_folder_expunge(s->folder, c->sl.clip, k, true, &err) < 0)) {
		imap_store_error(s, what, err);
		return -1;
	}
	if (imap_report_changes(s, &err) < 0)
		log_err("imap %s: %s report in %s: %s", s->id, what, s->folder_name,
			err ? err : "?");
	if (more)
		return 0;
	imap_tagged(s, "OK %s completed", what);
	return 1;
}

/* Runs in slices of slice_messages messages, each its own worker job
 * (imap_slice.c). COPY stays all or nothing: the slices only prepare,
 * and one commit at the end makes every copy appear; a failure or a
 * client gone before it leaves nothing in the destination. MOVE is that
 * copy, then the expunge of its sources in slices: a failure there
 * leaves some sources in place beside their copies (a duplicate, never a
 * loss). */
static int do_copy(struct imap_session *s, bool move)
{
	if (s->cmd_ctx == NULL && copy_start(s, move) < 0)
		return 1;
	struct copy_ctx *c = s->cmd_ctx;
	if (c->stage == COPY_EXPUNGE)
		return move_expunge_slice(s, c) == 0 ? 0 : 1;
	size_t k = 0;
	bool more = false;
	uint64_t max;
	const char *err = NULL;
	if (imap_slicer_next(s, &c->sl, &k, &more, &max, &err) < 0 ||
	    (k > 0 && mail_copy_prepare(c->copy, c->sl.clip, k, &err) < 0)) {
		imap_store_error(s, copy_what(s, move), err);
		return 1;
	}
	if (more)
		return 0;   /* the next slice, after others had their turn */
	return copy_commit(s, c) == 0 ? 0 : 1;
}

int imap_cmd_copy(struct imap_session *s) { return do_copy(s, false); }
int imap_cmd_move(struct imap_session *s) { return do_copy(s, true); }
