/* EXPUNGE and UID EXPUNGE (RFC 9051 6.4.3, RFC 4315 2.1). */
#include "imap/imap_search.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"

int imap_cmd_expunge(struct imap_session *s)
{
	struct mail_range *uids = NULL;
	size_t n = 0;
	const char *err = NULL;
	const char *what = s->uid ? "UID EXPUNGE" : "EXPUNGE";
	if (s->uid) {
		struct imap_seqset *set = NULL;
		bool bad;
		if (imap_arg_get_seqset(s->args, true, &set, &err) < 0 ||
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
