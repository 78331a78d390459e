/* The selected folder's view (sequence numbers <-> UIDs, RFC 9051 2.3.1)
 * kept as runs of consecutive UIDs: gaps, expunges at the edges and in the
 * middle of a run, and numbers out of range, checked against a plain
 * model of the same view. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "test_store_common.h"

#define N 60

/* The model: model[seq - 1] = uid. */
static uint32_t model[N];
static size_t model_n;

static void check_view(struct mail_folder *f)
{
	assert_int_equal(mail_folder_count(f), model_n);
	for (size_t i = 0; i < model_n; i++) {
		assert_int_equal(mail_folder_seq_to_uid(f, (uint32_t)i + 1), model[i]);
		assert_int_equal(mail_folder_uid_to_seq(f, model[i]), i + 1);
	}
	/* Out of range, and UIDs in the gaps, map to 0. */
	assert_int_equal(mail_folder_seq_to_uid(f, 0), 0);
	assert_int_equal(mail_folder_seq_to_uid(f, (uint32_t)model_n + 1), 0);
	assert_int_equal(mail_folder_uid_to_seq(f, 0), 0);
	assert_int_equal(mail_folder_uid_to_seq(f, 100000), 0);
	for (uint32_t uid = 1; uid <= N; uid++) {
		bool in = false;
		for (size_t i = 0; i < model_n && !in; i++)
			in = model[i] == uid;
		if (!in)
			assert_int_equal(mail_folder_uid_to_seq(f, uid), 0);
	}
}

static void expunge(struct mail_folder *f, const uint32_t *uids, size_t n)
{
	const char *err = NULL;
	struct mail_range *failed = NULL;
	size_t nfailed = 0;
	for (size_t i = 0; i < n; i++) {
		struct mail_range r = { uids[i], uids[i] };
		assert_int_equal(mail_folder_store_flags(f, &r, 1, MAIL_FLAGS_ADD, MAIL_DELETED, NULL,
							 0, &failed, &nfailed, &err), 0);
		free(failed);
		failed = NULL;
	}
	assert_int_equal(mail_folder_expunge(f, NULL, 0, false, &err), 0);
	struct mail_changes ch;
	memset(&ch, 0, sizeof ch);
	changes(f, &ch);
	assert_int_equal(ch.expunged_count, n);
	mail_changes_clear(&ch);
	size_t o = 0;
	for (size_t i = 0; i < model_n; i++) {
		bool gone = false;
		for (size_t k = 0; k < n && !gone; k++)
			gone = model[i] == uids[k];
		if (!gone)
			model[o++] = model[i];
	}
	model_n = o;
}

static void test_view_runs(void **st)
{
	(void)st;
	const char *err = NULL;
	struct mail_store *s = open_store();
	for (uint32_t i = 1; i <= N; i++) {
		assert_int_equal(append_msg(s, "INBOX", "Subject: v\n\nx\n", 0), i);
		model[model_n++] = i;
	}
	struct mail_folder *f = NULL;
	assert_int_equal(mail_folder_open(s, "INBOX", 0, &f, &err), 0);
	assert_int_equal(mail_folder_sync(f, &err), 0);
	check_view(f);
	/* The first and last of the run, then the middle, then whole runs. */
	static const uint32_t round1[] = { 1, N };
	static const uint32_t round2[] = { 30, 31, 17 };
	static const uint32_t round3[] = { 2, 3, 4, 5, 18, 29, 32 };
	expunge(f, round1, 2);
	check_view(f);
	expunge(f, round2, 3);
	check_view(f);
	expunge(f, round3, 7);
	check_view(f);
	/* The index keeps the UIDs as runs too: a new view agrees. */
	struct mail_folder *g = NULL;
	assert_int_equal(mail_folder_open(s, "INBOX", 0, &g, &err), 0);
	check_view(g);
	mail_folder_close(&g);
	/* New mail after gaps extends the view at its end. */
	assert_int_equal(append_msg(s, "INBOX", "Subject: w\n\nx\n", 0), N + 1);
	struct mail_changes ch;
	memset(&ch, 0, sizeof ch);
	changes(f, &ch);
	assert_int_equal(ch.new_count, 1);
	mail_changes_clear(&ch);
	assert_int_equal(mail_folder_seq_to_uid(f, (uint32_t)model_n + 1), N + 1);
	assert_int_equal(mail_folder_uid_to_seq(f, N + 1), model_n + 1);
	/* Sequence ranges become UID ranges across the gaps. */
	struct mail_range seqs[] = { { 1, 3 } }, *uids = NULL;
	size_t nu = 0;
	assert_int_equal(mail_folder_seqs_to_uids(f, seqs, 1, &uids, &nu), 0);
	assert_true(nu >= 1);
	assert_int_equal(uids[0].lo, model[0]);
	free(uids);
	mail_folder_close(&f);
	mail_store_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_view_runs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
