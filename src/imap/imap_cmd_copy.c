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

static int do_copy(struct imap_session *s, bool move)
{
	const char *what = move ? (s->uid ? "UID MOVE" : "MOVE") : (s->uid ? "UID COPY" : "COPY");
	char dest[MAIL_NAME_MAX + 1];
	struct mail_range *uids = NULL;
	size_t n = 0;
	const char *err = NULL;
	if (copy_args(s, dest, sizeof dest, &uids, &n) < 0)
		return 1;
	if (move && s->readonly) {
		free(uids);
		imap_tagged(s, "NO [READ-ONLY] Mailbox is read-only");
		return 1;
	}
	struct mail_copy_result res;
	memset(&res, 0, sizeof res);
	int r = n == 0 ? 0 : mail_folder_copy(s->folder, uids, n, dest, move, &res, &err);
	free(uids);
	if (r < 0) {
		copy_error(s, what, err);
		return 1;
	}
	if (!move) {
		buf_printf(&s->out, "%s OK ", s->tag);
		if (res.count > 0) {
			write_copyuid(&s->out, &res);
			buf_append_char(&s->out, ' ');
		}
		buf_printf(&s->out, "%s completed\r\n", what);
		mail_copy_result_clear(&res);
		return 1;
	}
	/* RFC 6851 4.3: COPYUID in an untagged OK before the EXPUNGEs. */
	if (res.count > 0) {
		buf_append_str(&s->out, "* OK ");
		write_copyuid(&s->out, &res);
		buf_append_str(&s->out, " Moved\r\n");
	}
	mail_copy_result_clear(&res);
	if (imap_report_changes(s, &err) < 0)
		log_err("imap %s: %s report in %s: %s", s->id, what, s->folder_name,
			err ? err : "?");
	imap_tagged(s, "OK %s completed", what);
	return 1;
}

int imap_cmd_copy(struct imap_session *s) { return do_copy(s, false); }
int imap_cmd_move(struct imap_session *s) { return do_copy(s, true); }
