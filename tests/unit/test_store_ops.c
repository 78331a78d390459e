/* The mail store's operations one by one on a real directory: defaults,
 * names, folders, append, list, flags, expunge, copy, move, POP3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_store_common.h"

static const char msg1[] =
	"From: Alice <alice@a.test>\nTo: bob@b.test\nSubject: =?utf-8?q?hi?=\n"
	"Date: Sun, 29 Nov 2026 02:24:32 +0100\nMessage-ID: <1@a.test>\n"
	"References: <0@a.test>\n <00@a.test>\n\nbody line 1\nline 2\n";

static void test_defaults_and_list(void **st)
{
	(void)st;
	struct mail_store *s = open_store();
	const char *err;
	assert_int_equal(mail_store_ensure_defaults(s, &err), 0);
	assert_int_equal(mail_store_ensure_defaults(s, &err), 0);
	assert_int_equal(mail_store_create(s, "Archive/2024", &err), 0);
	struct mail_folder_info *l;
	size_t n;
	assert_int_equal(mail_store_list(s, &l, &n, &err), 0);
	assert_int_equal(n, 7);
	assert_string_equal(l[0].name, "INBOX");
	assert_true(l[0].attrs & MAIL_ATTR_SUBSCRIBED);
	assert_true(l[0].attrs & MAIL_ATTR_HAS_NO_CHILDREN);
	assert_string_equal(l[1].name, "Archive");
	assert_true(l[1].attrs & MAIL_ATTR_ARCHIVE);
	assert_true(l[1].attrs & MAIL_ATTR_HAS_CHILDREN);
	assert_string_equal(l[2].name, "Archive/2024");
	assert_false(l[2].attrs & MAIL_ATTR_SUBSCRIBED);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(l[i].name, "Sent") == 0)
			assert_true(l[i].attrs & MAIL_ATTR_SENT);
		if (strcmp(l[i].name, "Junk") == 0)
			assert_true(l[i].attrs & MAIL_ATTR_JUNK);
	}
	mail_folder_info_free(&l, n);
	assert_null(l);
	struct stat sb;
	char path[700];
	snprintf(path, sizeof path, "%s/.Archive.2024/cur", root);
	assert_int_equal(stat(path, &sb), 0);
	mail_store_free(&s);
	assert_null(s);
}

static void test_names(void **st)
{
	(void)st;
	struct mail_store *s = open_store();
	const char *err;
	const char *bad[] = { "../x", "a/../../b", ".hidden", "a/.b", "a//b", "/a", "a/",
			      "", "..", "a\nb", "a\tb", "x\x7f", "a*", "b%",
			      "\xc3\x28", "\xed\xa0\x80", "\xc0\xaf", "a\xc2\x85" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_false(mail_store_name_valid(bad[i]));
		assert_int_equal(mail_store_create(s, bad[i], &err), -1);
	}
	/* A dot inside a name and non-ASCII names round-trip. */
	const char *good[] = { "a.b", "Entw\xc3\xbc" "rfe", "\xe6\x97\xa5\xe6\x9c\xac",
			       "x&y", "emoji \xf0\x9f\x93\xac", "P/Q.R" };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
		assert_int_equal(mail_store_create(s, good[i], &err), 0);
	assert_int_equal(mail_store_create(s, "a.b", &err), -1);
	char path[700];
	struct stat sb;
	snprintf(path, sizeof path, "%s/.a&AC4-b/cur", root);
	assert_int_equal(stat(path, &sb), 0);
	snprintf(path, sizeof path, "%s/.Entw&APw-rfe/cur", root);
	assert_int_equal(stat(path, &sb), 0);
	snprintf(path, sizeof path, "%s/.x&-y/cur", root);
	assert_int_equal(stat(path, &sb), 0);
	struct mail_folder_info *l;
	size_t n;
	assert_int_equal(mail_store_list(s, &l, &n, &err), 0);
	size_t found = 0;
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < sizeof good / sizeof good[0]; j++)
			found += strcmp(l[i].name, good[j]) == 0;
		if (strcmp(l[i].name, "P") == 0)
			assert_true(l[i].attrs & MAIL_ATTR_NOSELECT);
	}
	assert_int_equal(found, sizeof good / sizeof good[0]);
	mail_folder_info_free(&l, n);
	/* "inbox" is INBOX. */
	append_msg(s, "inbox", msg1, 0);
	struct mail_status sts;
	assert_int_equal(mail_store_status(s, "INBOX", &sts, &err), 0);
	assert_int_equal(sts.messages, 1);
	mail_store_free(&s);
}

static void test_append_and_fetch(void **st)
{
	(void)st;
	struct mail_store *s = open_store();
	const char *err;
	struct iovec iov[2] = { { (void *)msg1, 40 }, { (void *)(msg1 + 40), strlen(msg1) - 40 } };
	uint32_t uidv, uid;
	assert_int_equal(mail_store_append(s, "INBOX", iov, 2, MAIL_SEEN | MAIL_FLAGGED,
					   "$Label1 Work", 1700000000, &uidv, &uid, &err), 0);
	assert_int_equal(uid, 1);
	assert_true(uidv > 0);
	assert_int_equal(append_msg(s, "INBOX", "Subject: two\r\n\r\nx\r\n", 0), 2);
	assert_int_equal(count_files("cur"), 2);
	assert_int_equal(count_files("tmp"), 0);
	char name[300];
	struct mail_folder *f;
	assert_int_equal(mail_folder_open(s, "INBOX", 0, &f, &err), 0);
	assert_int_equal(mail_folder_count(f), 2);
	struct mail_status sts;
	assert_int_equal(mail_folder_status(f, &sts, &err), 0);
	assert_int_equal(sts.uidvalidity, uidv);
	assert_int_equal(sts.uidnext, 3);
	assert_int_equal(sts.first_unseen_seq, 2);
	/* SELECT's numbers do not count; STATUS's do. */
	assert_int_equal(sts.unseen, 0);
	assert_int_equal(mail_store_status(s, "INBOX", &sts, &err), 0);
	assert_int_equal(sts.messages, 2);
	assert_int_equal(sts.unseen, 1);
	struct mail_range all = { 1, UINT32_MAX };
	struct mail_iter *it;
	const struct mail_msg *m;
	assert_int_equal(mail_folder_iter_init(f, &all, 1, MAIL_FETCH_HEADERS |
					       MAIL_FETCH_HEADER_RAW, &it, &err), 0);
	assert_int_equal(mail_folder_iter_next(it, &m, &err), 1);
	assert_int_equal(m->uid, 1);
	assert_int_equal(m->seq, 1);
	assert_int_equal(m->flags, MAIL_SEEN | MAIL_FLAGGED);
	assert_string_equal(m->keywords, "$Label1 Work");
	assert_int_equal(m->internal_date, 1700000000);
	assert_int_equal(m->size, strlen(msg1));
	assert_int_equal(m->vsize, strlen(msg1) + 10);   /* ten LF */
	assert_string_equal(m->h_from, "Alice <alice@a.test>");
	assert_string_equal(m->h_subject, "=?utf-8?q?hi?=");
	assert_string_equal(m->h_references, "<0@a.test> <00@a.test>");
	assert_string_equal(m->h_message_id, "<1@a.test>");
	assert_null(m->h_cc);
	assert_int_equal(m->date_sent, 1795919072 - 3600);
	assert_non_null(strstr(m->header_raw, "Subject:"));
	assert_null(strstr(m->header_raw, "body"));
	assert_non_null(strstr(m->filename, ":2,FS"));
	assert_int_equal(mail_folder_iter_next(it, &m, &err), 1);
	assert_int_equal(m->uid, 2);
	assert_int_equal(m->vsize, m->size);
	assert_int_equal(mail_folder_iter_next(it, &m, &err), 0);
	mail_folder_iter_deinit(&it);
	int fd;
	uint64_t size;
	assert_int_equal(mail_folder_msg_open(f, 1, &fd, &size, &err), 0);
	assert_int_equal(size, strlen(msg1));
	close(fd);
	assert_int_equal(mail_folder_msg_open(f, 9, &fd, &size, &err), -1);
	assert_int_equal(first_file("cur", name, sizeof name), 0);
	mail_folder_close(&f);
	assert_null(f);
	assert_int_equal(mail_store_append(s, "Nope", iov, 2, 0, NULL, 0, &uidv, &uid, &err), -1);
	mail_store_free(&s);
}

static void test_flags(void **st)
{
	(void)st;
	struct mail_store *s = open_store();
	const char *err;
	append_msg(s, "INBOX", msg1, 0);
	append_msg(s, "INBOX", msg1, MAIL_DRAFT);
	struct mail_folder *f;
	assert_int_equal(mail_folder_open(s, "INBOX", 0, &f, &err), 0);
	struct mail_status sts;
	assert_int_equal(mail_folder_status(f, &sts, &err), 0);
	uint64_t ms0 = sts.highest_modseq;
	struct mail_range one = { 1, 1 }, both = { 1, 2 }, *failed;
	size_t nfailed;
	assert_int_equal(mail_folder_store_flags(f, &both, 1, MAIL_FLAGS_ADD, MAIL_SEEN, "Work",
						 0, &failed, &nfailed, &err), 0);
	assert_int_equal(nfailed, 0);
	assert_int_equal(flags_of(f, 1), MAIL_SEEN);
	assert_int_equal(flags_of(f, 2), MAIL_SEEN | MAIL_DRAFT);
	assert_int_equal(count_files("cur"), 2);
	struct mail_changes ch;
	changes(f, &ch);
	assert_int_equal(ch.changed_count, 2);
	assert_true(ch.highest_modseq > ms0);
	uint64_t ms1 = ch.highest_modseq;
	mail_changes_clear(&ch);
	/* UNCHANGEDSINCE below the message's modseq fails it. */
	assert_int_equal(mail_folder_store_flags(f, &one, 1, MAIL_FLAGS_ADD, MAIL_FLAGGED, NULL,
						 ms1 - 1, &failed, &nfailed, &err), 0);
	assert_int_equal(nfailed, 1);
	assert_int_equal(failed[0].lo, 1);
	free(failed);
	assert_int_equal(flags_of(f, 1), MAIL_SEEN);
	assert_int_equal(mail_folder_store_flags(f, &one, 1, MAIL_FLAGS_REPLACE,
						 MAIL_ANSWERED | MAIL_DELETED, "", ms1, &failed,
						 &nfailed, &err), 0);
	assert_int_equal(flags_of(f, 1), MAIL_ANSWERED | MAIL_DELETED);
	assert_int_equal(mail_folder_store_flags(f, &both, 1, MAIL_FLAGS_REMOVE, MAIL_SEEN,
						 "work", 0, &failed, &nfailed, &err), 0);
	assert_int_equal(flags_of(f, 2), MAIL_DRAFT);
	struct mail_range all = { 1, 10 };
	struct mail_iter *it;
	const struct mail_msg *m;
	assert_int_equal(mail_folder_iter_init(f, &all, 1, 0, &it, &err), 0);
	assert_int_equal(mail_folder_iter_next(it, &m, &err), 1);
	assert_non_null(strstr(m->filename, ":2,RT"));
	assert_string_equal(m->keywords, "");
	assert_int_equal(mail_folder_iter_next(it, &m, &err), 1);
	assert_non_null(strstr(m->filename, ":2,D"));
	mail_folder_iter_deinit(&it);
	mail_folder_close(&f);
	/* Read-only (EXAMINE) refuses STORE. */
	assert_int_equal(mail_folder_open(s, "INBOX", MAIL_OPEN_READONLY, &f, &err), 0);
	assert_int_equal(mail_folder_store_flags(f, &one, 1, MAIL_FLAGS_ADD, MAIL_SEEN, NULL, 0,
						 &failed, &nfailed, &err), -1);
	mail_folder_close(&f);
	mail_store_free(&s);
}

static void test_expunge(void **st)
{
	(void)st;
	struct mail_store *s = open_store();
	const char *err;
	for (int i = 0; i < 5; i++)
		append_msg(s, "INBOX", msg1, i % 2 == 0 ? MAIL_DELETED : 0);
	struct mail_folder *f;
	assert_int_equal(mail_folder_open(s, "INBOX", 0, &f, &err), 0);
	/* UID EXPUNGE 1:2 removes only uid 1 (2 is not \Deleted). */
	struct mail_range r = { 1, 2 };
	assert_int_equal(mail_folder_expunge(f, &r, 1, false, &err), 0);
	assert_int_equal(mail_folder_count(f), 5);   /* the view waits */
	struct mail_changes ch;
	changes(f, &ch);
	assert_int_equal(ch.expunged_count, 1);
	assert_int_equal(ch.expunged_uids[0], 1);
	assert_int_equal(ch.expunged_seqs[0], 1);
	assert_int_equal(ch.exists, 4);
	mail_changes_clear(&ch);
	assert_int_equal(mail_folder_expunge(f, NULL, 0, false, &err), 0);
	changes(f, &ch);
	assert_int_equal(ch.expunged_count, 2);
	assert_int_equal(ch.expunged_uids[0], 3);
	assert_int_equal(ch.expunged_uids[1], 5);
	/* Descending old sequence numbers: 4 (uid 5) then 2 (uid 3). */
	assert_int_equal(ch.expunged_seqs[0], 4);
	assert_int_equal(ch.expunged_seqs[1], 2);
	mail_changes_clear(&ch);
	assert_int_equal(mail_folder_count(f), 2);
	assert_int_equal(mail_folder_seq_to_uid(f, 1), 2);
	assert_int_equal(mail_folder_seq_to_uid(f, 2), 4);
	assert_int_equal(mail_folder_uid_to_seq(f, 4), 2);
	assert_int_equal(count_files("cur"), 2);
	/* QRESYNC: what was expunged since a modseq. */
	mail_folder_close(&f);
	mail_store_free(&s);
}

static void test_copy_move(void **st)
{
	(void)st;
	struct mail_store *s = open_store();
	const char *err;
	assert_int_equal(mail_store_ensure_defaults(s, &err), 0);
	append_msg(s, "INBOX", msg1, MAIL_SEEN);
	append_msg(s, "INBOX", "Subject: b\n\nb\n", 0);
	append_msg(s, "INBOX", "Subject: c\n\nc\n", MAIL_FLAGGED);
	append_msg(s, "Trash", "Subject: t\n\nt\n", 0);
	struct mail_folder *f;
	assert_int_equal(mail_folder_open(s, "INBOX", 0, &f, &err), 0);
	struct mail_range r = { 1, 2 };
	struct mail_copy_result cr;
	assert_int_equal(copy_msgs(f, &r, 1, "Trash", false, &cr, &err), 0);
	assert_int_equal(cr.count, 2);
	assert_int_equal(cr.src_uids[0], 1);
	assert_int_equal(cr.dst_uids[0], 2);
	assert_int_equal(cr.dst_uids[1], 3);
	struct mail_status sts;
	assert_int_equal(mail_store_status(s, "Trash", &sts, &err), 0);
	assert_int_equal(cr.uidvalidity, sts.uidvalidity);
	assert_int_equal(sts.messages, 3);
	assert_int_equal(sts.unseen, 2);
	mail_copy_result_clear(&cr);
	r = (struct mail_range){ 3, 3 };
	assert_int_equal(copy_msgs(f, &r, 1, "Archive", true, &cr, &err), 0);
	assert_int_equal(cr.count, 1);
	assert_int_equal(cr.dst_uids[0], 1);
	mail_copy_result_clear(&cr);
	struct mail_changes ch;
	changes(f, &ch);
	assert_int_equal(ch.expunged_count, 1);
	assert_int_equal(ch.expunged_uids[0], 3);
	mail_changes_clear(&ch);
	assert_int_equal(count_files("cur"), 2);
	assert_int_equal(count_files(".Archive/cur"), 1);
	assert_int_equal(count_files(".Archive/tmp"), 0);
	mail_folder_close(&f);
	/* The copy keeps flags and the cached headers. */
	assert_int_equal(mail_folder_open(s, "Archive", 0, &f, &err), 0);
	assert_int_equal(flags_of(f, 1), MAIL_FLAGGED);
	struct mail_range all = { 1, 1 };
	struct mail_iter *it;
	const struct mail_msg *m;
	assert_int_equal(mail_folder_iter_init(f, &all, 1, MAIL_FETCH_HEADERS, &it, &err), 0);
	assert_int_equal(mail_folder_iter_next(it, &m, &err), 1);
	assert_string_equal(m->h_subject, "c");
	mail_folder_iter_deinit(&it);
	mail_folder_close(&f);
	mail_store_free(&s);
}

static void test_rename_delete(void **st)
{
	(void)st;
	struct mail_store *s = open_store();
	const char *err;
	assert_int_equal(mail_store_create(s, "A", &err), 0);
	assert_int_equal(mail_store_create(s, "A/B", &err), 0);
	append_msg(s, "A/B", msg1, 0);
	struct mail_status before, after;
	assert_int_equal(mail_store_status(s, "A/B", &before, &err), 0);
	assert_int_equal(mail_store_rename(s, "A", "C", &err), 0);
	assert_int_equal(mail_store_status(s, "C/B", &after, &err), 0);
	assert_int_equal(after.messages, 1);
	assert_int_equal(after.uidvalidity, before.uidvalidity);
	assert_int_equal(mail_store_status(s, "A/B", &after, &err), -1);
	assert_int_equal(mail_store_rename(s, "C", "C/D", &err), -1);
	assert_int_equal(mail_store_rename(s, "Nope", "E", &err), -1);
	assert_int_equal(mail_store_create(s, "E", &err), 0);
	assert_int_equal(mail_store_rename(s, "C/B", "E", &err), -1);
	/* Deleting a parent keeps the child; the parent becomes \Noselect. */
	assert_int_equal(mail_store_delete(s, "C", &err), 0);
	assert_int_equal(mail_store_status(s, "C/B", &after, &err), 0);
	assert_int_equal(mail_store_delete(s, "INBOX", &err), -1);
	assert_int_equal(mail_store_delete(s, "C", &err), -1);
	struct mail_folder_info *l;
	size_t n;
	assert_int_equal(mail_store_list(s, &l, &n, &err), 0);
	bool seen = false;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(l[i].name, "C") == 0) {
			seen = true;
			assert_true(l[i].attrs & MAIL_ATTR_NOSELECT);
			assert_true(l[i].attrs & MAIL_ATTR_HAS_CHILDREN);
		}
	}
	assert_true(seen);
	mail_folder_info_free(&l, n);
	/* A new folder of a deleted name starts afresh. */
	assert_int_equal(mail_store_delete(s, "C/B", &err), 0);
	assert_int_equal(mail_store_create(s, "C/B", &err), 0);
	assert_int_equal(mail_store_status(s, "C/B", &after, &err), 0);
	assert_int_equal(after.messages, 0);
	assert_int_equal(after.uidnext, 1);
	/* Renaming INBOX moves its messages and leaves it empty. */
	append_msg(s, "INBOX", msg1, MAIL_SEEN);
	append_msg(s, "INBOX", msg1, 0);
	assert_int_equal(mail_store_rename(s, "INBOX", "Old", &err), 0);
	assert_int_equal(mail_store_status(s, "INBOX", &after, &err), 0);
	assert_int_equal(after.messages, 0);
	assert_int_equal(mail_store_status(s, "Old", &after, &err), 0);
	assert_int_equal(after.messages, 2);
	assert_int_equal(after.unseen, 1);
	mail_store_free(&s);
}

static void test_subscribe(void **st)
{
	(void)st;
	struct mail_store *s = open_store();
	const char *err;
	assert_int_equal(mail_store_create(s, "Lists", &err), 0);
	assert_int_equal(mail_store_subscribe(s, "Lists", true, &err), 0);
	assert_int_equal(mail_store_subscribe(s, "Gone/Away", true, &err), 0);
	assert_int_equal(mail_store_subscribe(s, "../x", true, &err), -1);
	struct mail_folder_info *l;
	size_t n;
	assert_int_equal(mail_store_list(s, &l, &n, &err), 0);
	unsigned lists = 0, gone = 0;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(l[i].name, "Lists") == 0)
			lists = l[i].attrs;
		if (strcmp(l[i].name, "Gone/Away") == 0)
			gone = l[i].attrs;
	}
	assert_true(lists & MAIL_ATTR_SUBSCRIBED);
	assert_true(gone & MAIL_ATTR_NONEXISTENT);
	mail_folder_info_free(&l, n);
	assert_int_equal(mail_store_subscribe(s, "Lists", false, &err), 0);
	assert_int_equal(mail_store_list(s, &l, &n, &err), 0);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(l[i].name, "Lists") == 0)
			assert_false(l[i].attrs & MAIL_ATTR_SUBSCRIBED);
	}
	mail_folder_info_free(&l, n);
	mail_store_free(&s);
}

static void test_pop3(void **st)
{
	(void)st;
	struct mail_store *s = open_store(), *s2 = open_store();
	const char *err;
	append_msg(s, "INBOX", "Subject: a\n\naaa\n", 0);
	append_msg(s, "INBOX", "Subject: b\r\n\r\nbbb\r\n", 0);
	append_msg(s, "INBOX", "Subject: c\n\nc\n", 0);
	struct mail_pop3 *p, *p2;
	bool in_use;
	assert_int_equal(mail_pop3_open(s, &p, &in_use, &err), 0);
	assert_int_equal(p->count, 3);
	assert_int_equal(p->msgs[0].vsize, 19);
	assert_int_equal(p->msgs[1].vsize, 19);
	struct mail_status sts;
	assert_int_equal(mail_store_status(s2, "INBOX", &sts, &err), 0);
	char uidl[20];
	snprintf(uidl, sizeof uidl, "%08X%08X", 2u, sts.uidvalidity);
	assert_string_equal(p->msgs[1].uidl, uidl);
	/* A second POP3 session is refused; IMAP goes on. */
	assert_int_equal(mail_pop3_open(s2, &p2, &in_use, &err), -1);
	assert_true(in_use);
	append_msg(s2, "INBOX", "Subject: d\n\nd\n", 0);
	char *data;
	size_t len;
	assert_int_equal(mail_pop3_read(p, 1, &data, &len, &err), 0);
	assert_string_equal(data, "Subject: b\r\n\r\nbbb\r\n");
	free(data);
	assert_int_equal(mail_pop3_read(p, 7, &data, &len, &err), -1);
	size_t del[] = { 0, 2 };
	assert_int_equal(mail_pop3_commit(p, del, 2, &err), 0);
	mail_pop3_close(&p);
	assert_null(p);
	assert_int_equal(mail_pop3_open(s2, &p2, &in_use, &err), 0);
	assert_int_equal(p2->count, 2);
	assert_int_equal(p2->msgs[0].uid, 2);
	assert_int_equal(p2->msgs[1].uid, 4);
	mail_pop3_close(&p2);
	mail_store_free(&s);
	mail_store_free(&s2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_defaults_and_list, setup, teardown),
		cmocka_unit_test_setup_teardown(test_names, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_and_fetch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expunge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_copy_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_subscribe, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pop3, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
