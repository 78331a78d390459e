/* The store against the world: deliveries while a folder is selected, two
 * handles (and two threads) on one user, files changed by other programs,
 * a deleted index.db, UIDs after restarts, the MIME parser hook. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>

#include "delivery/local.h"
#include "queue/spool.h"
#include "test_store_common.h"

static void deliver(const char *msg)
{
	struct local_target t = { "a.test", "alice" };
	struct local_job job;
	struct spool_file sp;
	static unsigned serial;
	char id[16];
	const char *err;
	memset(&job, 0, sizeof job);
	snprintf(id, sizeof id, "T%u", ++serial);
	assert_int_equal(spool_create(data_dir, id, &sp, &err), 0);
	assert_int_equal(spool_append(&sp, msg, strlen(msg)), 0);
	job.spool_path = sp.path;
	job.spool_fd = sp.fd;
	job.size = sp.size;
	job.targets = &t;
	job.target_count = 1;
	struct local_job *jobs[] = { &job };
	local_deliver_now(data_dir, jobs, 1);
	spool_close(&sp);
	assert_null(job.error);
}

/* Issue 7: one writer and one name function for delivery, APPEND and
 * COPY: "SECS.M<6 digits>P<7 digits>Q<10 digits>.", 0600, so that names
 * compare in the order they were made. */
static void assert_writer_name(const char *dir, const char *name)
{
	const char *p = strchr(name, '.');
	assert_non_null(p);
	const size_t widths[] = { 6, 7, 10 };
	const char marks[] = { 'M', 'P', 'Q' };
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(p[i == 0 ? 1 : 0], marks[i]);
		p += i == 0 ? 2 : 1;
		size_t n = strspn(p, "0123456789");
		assert_int_equal(n, widths[i]);
		p += n;
	}
	assert_int_equal(*p, '.');
	char path[1200];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_one_writer_for_every_path(void **st)
{
	(void)st;
	struct mail_store *s = open_store();
	const char *err;
	deliver("Subject: delivered\n\n1\n");
	append_msg(s, "INBOX", "Subject: appended\n\n2\n", 0);
	struct mail_folder *f;
	assert_int_equal(mail_store_create(s, "Sent", &err), 0);
	assert_int_equal(mail_folder_open(s, "INBOX", 0, &f, &err), 0);
	struct mail_range all = { 1, UINT32_MAX };
	struct mail_copy_result r;
	assert_int_equal(copy_msgs(f, &all, 1, "Sent", false, &r, &err), 0);
	assert_int_equal(r.count, 2);
	mail_copy_result_clear(&r);
	mail_folder_close(&f);
	const char *dirs[] = { "new", "cur", ".Sent/cur" };
	size_t seen = 0;
	for (size_t i = 0; i < 3; i++) {
		char d[700];
		snprintf(d, sizeof d, "%s/%s", root, dirs[i]);
		DIR *dh = opendir(d);
		assert_non_null(dh);
		struct dirent *e;
		while ((e = readdir(dh)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			assert_writer_name(d, e->d_name);
			seen++;
		}
		closedir(dh);
	}
	assert_int_equal(seen, 4);
	mail_store_free(&s);
}

static void test_delivery_while_selected(void **st)
{
	(void)st;
	struct mail_store *s = open_store();
	const char *err;
	append_msg(s, "INBOX", "Subject: one\n\n1\n", 0);
	struct mail_folder *f;
	assert_int_equal(mail_folder_open(s, "INBOX", 0, &f, &err), 0);
	struct mail_changes ch;
	changes(f, &ch);
	mail_changes_clear(&ch);
	deliver("Subject: two\n\n2\n");
	deliver("Subject: three\n\n3\n");
	bool changed = false;
	assert_int_equal(mail_folder_poll(f, &changed, &err), 0);
	assert_true(changed);
	changes(f, &ch);
	assert_int_equal(ch.new_count, 2);
	assert_int_equal(ch.exists, 3);
	mail_changes_clear(&ch);
	assert_int_equal(mail_folder_seq_to_uid(f, 3), 3);
	/* Selected: new/ is moved to cur/ as Dovecot does. */
	assert_int_equal(count_files("new"), 0);
	assert_int_equal(count_files("cur"), 3);
	struct mail_range r = { 3, 3 };
	struct mail_iter *it;
	const struct mail_msg *m;
	assert_int_equal(mail_folder_iter_init(f, &r, 1, MAIL_FETCH_HEADERS, &it, &err), 0);
	assert_int_equal(mail_folder_iter_next(it, &m, &err), 1);
	assert_string_equal(m->h_subject, "three");
	assert_int_equal(m->seq, 3);
	mail_folder_iter_deinit(&it);
	mail_folder_close(&f);
	/* EXAMINE leaves deliveries in new/. */
	deliver("Subject: four\n\n4\n");
	assert_int_equal(mail_folder_open(s, "INBOX", MAIL_OPEN_READONLY, &f, &err), 0);
	assert_int_equal(mail_folder_count(f), 4);
	assert_int_equal(count_files("new"), 1);
	mail_folder_close(&f);
	mail_store_free(&s);
}

static void test_two_handles(void **st)
{
	(void)st;
	struct mail_store *a = open_store(), *b = open_store();
	const char *err;
	struct mail_folder *fa, *fb;
	append_msg(a, "INBOX", "Subject: 1\n\n1\n", 0);
	assert_int_equal(mail_folder_open(a, "INBOX", 0, &fa, &err), 0);
	assert_int_equal(mail_folder_open(b, "INBOX", 0, &fb, &err), 0);
	assert_int_equal(append_msg(b, "INBOX", "Subject: 2\n\n2\n", 0), 2);
	assert_int_equal(append_msg(a, "INBOX", "Subject: 3\n\n3\n", 0), 3);
	struct mail_range one = { 1, 1 }, *failed;
	size_t nfailed;
	assert_int_equal(mail_folder_store_flags(fb, &one, 1, MAIL_FLAGS_ADD, MAIL_DELETED,
						 NULL, 0, &failed, &nfailed, &err), 0);
	assert_int_equal(mail_folder_store_flags(fa, &one, 1, MAIL_FLAGS_ADD, MAIL_SEEN,
						 NULL, 0, &failed, &nfailed, &err), 0);
	assert_int_equal(flags_of(fa, 1), MAIL_SEEN | MAIL_DELETED);
	struct mail_changes ch;
	changes(fa, &ch);
	assert_int_equal(ch.new_count, 2);
	assert_int_equal(ch.changed_count, 1);
	mail_changes_clear(&ch);
	assert_int_equal(mail_folder_expunge(fb, NULL, 0, false, &err), 0);
	changes(fa, &ch);
	assert_int_equal(ch.expunged_count, 1);
	assert_int_equal(ch.expunged_seqs[0], 1);
	assert_int_equal(ch.exists, 2);
	mail_changes_clear(&ch);
	changes(fb, &ch);
	assert_int_equal(ch.exists, 2);
	mail_changes_clear(&ch);
	assert_int_equal(count_files("cur"), 2);
	mail_folder_close(&fa);
	mail_folder_close(&fb);
	mail_store_free(&a);
	mail_store_free(&b);
}

static void *appender(void *arg)
{
	struct mail_store *s = open_store();
	char msg[64];
	for (int i = 0; i < 40; i++) {
		snprintf(msg, sizeof msg, "Subject: t%ld-%d\n\nx\n", (long)(intptr_t)arg, i);
		append_msg(s, "INBOX", msg, 0);
		if (i % 10 == 0)
			deliver("Subject: delivered\n\nd\n");
	}
	mail_store_free(&s);
	return NULL;
}

static void test_threads(void **st)
{
	(void)st;
	pthread_t t[3];
	for (long i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&t[i], NULL, appender, (void *)(intptr_t)i), 0);
	/* A reader syncing all the while. */
	struct mail_store *s = open_store();
	const char *err;
	struct mail_folder *f;
	assert_int_equal(mail_folder_open(s, "INBOX", 0, &f, &err), 0);
	struct mail_changes ch;
	for (int i = 0; i < 20; i++) {
		changes(f, &ch);
		mail_changes_clear(&ch);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	changes(f, &ch);
	mail_changes_clear(&ch);
	assert_int_equal(mail_folder_count(f), 132);
	for (uint32_t seq = 1; seq <= 132; seq++)
		assert_int_equal(mail_folder_seq_to_uid(f, seq), seq);
	assert_int_equal(count_files("cur"), 132);
	mail_folder_close(&f);
	mail_store_free(&s);
}

static void test_external_changes(void **st)
{
	(void)st;
	struct mail_store *s = open_store();
	const char *err;
	append_msg(s, "INBOX", "Subject: 1\n\n1\n", 0);
	append_msg(s, "INBOX", "Subject: 2\n\n2\n", 0);
	append_msg(s, "INBOX", "Subject: 3\n\n3\n", 0);
	struct mail_folder *f;
	assert_int_equal(mail_store_create(s, "Sent", &err), 0);
	assert_int_equal(mail_folder_open(s, "INBOX", 0, &f, &err), 0);
	struct mail_range all = { 1, UINT32_MAX };
	struct mail_iter *it;
	const struct mail_msg *m;
	char names[3][1100];
	assert_int_equal(mail_folder_iter_init(f, &all, 1, 0, &it, &err), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(mail_folder_iter_next(it, &m, &err), 1);
		snprintf(names[i], sizeof names[i], "%s/%s", root, m->filename);
	}
	mail_folder_iter_deinit(&it);
	/* mutt marks 1 seen and replied (rename), deletes 2, and a file is
	 * dropped into new/ by hand. */
	char to[1200];
	snprintf(to, sizeof to, "%.*sRS", (int)strlen(names[0]), names[0]);
	assert_int_equal(rename(names[0], to), 0);
	assert_int_equal(unlink(names[1]), 0);
	drop_file("new", "1234567890.hand.host", "Subject: by hand\n\nh\n");
	struct mail_changes ch;
	changes(f, &ch);
	assert_int_equal(ch.expunged_count, 1);
	assert_int_equal(ch.expunged_uids[0], 2);
	assert_int_equal(ch.new_count, 1);
	assert_int_equal(ch.changed_count, 1);
	assert_int_equal(ch.changed_uids[0], 1);
	mail_changes_clear(&ch);
	assert_int_equal(flags_of(f, 1), MAIL_SEEN | MAIL_ANSWERED);
	assert_int_equal(mail_folder_seq_to_uid(f, 3), 4);
	int fd;
	uint64_t size;
	assert_int_equal(mail_folder_msg_open(f, 4, &fd, &size, &err), 0);
	assert_int_equal(size, strlen("Subject: by hand\n\nh\n"));
	close(fd);
	/* A rename we have not synced yet: opening still finds the file,
	 * and writes nothing (it may run inside an iteration's read); the
	 * next sync enters the new name. */
	snprintf(to, sizeof to, "%.*sF", (int)strlen(names[2]), names[2]);
	assert_int_equal(rename(names[2], to), 0);
	assert_int_equal(mail_folder_msg_open(f, 3, &fd, &size, &err), 0);
	close(fd);
	assert_int_equal(flags_of(f, 3), 0);
	assert_int_equal(mail_folder_sync(f, &err), 0);
	assert_int_equal(flags_of(f, 3), MAIL_FLAGGED);
	mail_folder_close(&f);
	mail_store_free(&s);
}

/* A link planted in new/ or cur/ is not a message; an indexed file
 * replaced by a link is expunged, never opened. */
static void test_planted_links(void **st)
{
	(void)st;
	struct mail_store *s = open_store();
	const char *err;
	append_msg(s, "INBOX", "Subject: 1\n\n1\n", 0);
	append_msg(s, "INBOX", "Subject: 2\n\n2\n", 0);
	char secret[600], p[1200];
	snprintf(secret, sizeof secret, "%s/secret", data_dir);
	FILE *fp = fopen(secret, "w");
	assert_non_null(fp);
	fputs("Subject: secret\n\nsecret\n", fp);
	fclose(fp);
	snprintf(p, sizeof p, "%s/new/1234567890.link.host", root);
	assert_int_equal(symlink(secret, p), 0);
	snprintf(p, sizeof p, "%s/cur/1234567891.link.host:2,S", root);
	assert_int_equal(symlink(secret, p), 0);
	struct mail_folder *f;
	assert_int_equal(mail_folder_open(s, "INBOX", 0, &f, &err), 0);
	assert_int_equal(mail_folder_count(f), 2);
	/* Message 2's file becomes a link to the secret. */
	struct mail_range two = { 2, 2 };
	struct mail_iter *it;
	const struct mail_msg *m;
	assert_int_equal(mail_folder_iter_init(f, &two, 1, 0, &it, &err), 0);
	assert_int_equal(mail_folder_iter_next(it, &m, &err), 1);
	snprintf(p, sizeof p, "%s/%s", root, m->filename);
	mail_folder_iter_deinit(&it);
	assert_int_equal(unlink(p), 0);
	assert_int_equal(symlink(secret, p), 0);
	int fd;
	uint64_t size;
	assert_int_equal(mail_folder_msg_open(f, 2, &fd, &size, &err), -1);
	struct mail_changes ch;
	changes(f, &ch);
	assert_int_equal(ch.expunged_count, 1);
	assert_int_equal(ch.expunged_uids[0], 2);
	assert_int_equal(ch.new_count, 0);
	mail_changes_clear(&ch);
	assert_int_equal(mail_folder_count(f), 1);
	mail_folder_close(&f);
	mail_store_free(&s);
}

static void test_index_rebuild(void **st)
{
	(void)st;
	struct mail_store *s = open_store();
	const char *err;
	append_msg(s, "INBOX", "Subject: 1\n\n1\n", MAIL_SEEN);
	append_msg(s, "INBOX", "Subject: 2\n\n2\n", 0);
	assert_int_equal(mail_store_create(s, "Work", &err), 0);
	append_msg(s, "Work", "Subject: w\n\nw\n", MAIL_FLAGGED);
	struct mail_status before, after;
	assert_int_equal(mail_store_status(s, "INBOX", &before, &err), 0);
	mail_store_free(&s);
	char path[700];
	snprintf(path, sizeof path, "%s/index.db", root);
	assert_int_equal(unlink(path), 0);
	s = open_store();
	assert_int_equal(mail_store_status(s, "INBOX", &after, &err), 0);
	assert_int_equal(after.messages, 2);
	assert_int_equal(after.unseen, 1);
	assert_int_not_equal(after.uidvalidity, before.uidvalidity);
	struct mail_folder *f;
	assert_int_equal(mail_folder_open(s, "Work", 0, &f, &err), 0);
	assert_int_equal(mail_folder_count(f), 1);
	assert_int_equal(flags_of(f, 1), MAIL_FLAGGED);
	mail_folder_close(&f);
	mail_store_free(&s);
}

static void test_uids_not_reused(void **st)
{
	(void)st;
	struct mail_store *s = open_store();
	const char *err;
	append_msg(s, "INBOX", "Subject: 1\n\n1\n", MAIL_DELETED);
	append_msg(s, "INBOX", "Subject: 2\n\n2\n", MAIL_DELETED);
	struct mail_folder *f;
	assert_int_equal(mail_folder_open(s, "INBOX", 0, &f, &err), 0);
	assert_int_equal(mail_folder_expunge(f, NULL, 0, false, &err), 0);
	mail_folder_close(&f);
	mail_store_free(&s);
	s = open_store();
	assert_int_equal(append_msg(s, "INBOX", "Subject: 3\n\n3\n", 0), 3);
	deliver("Subject: 4\n\n4\n");
	struct mail_status sts;
	assert_int_equal(mail_store_status(s, "INBOX", &sts, &err), 0);
	assert_int_equal(sts.messages, 2);
	assert_int_equal(sts.uidnext, 5);
	mail_store_free(&s);
}

/* A Maildir written by another program: SELECT reads no file; the first
 * listing reads each once (sizes, mtime as internal date, headers),
 * expunged and copied messages included, and a reopened index agrees. */
static void test_read_on_first_need(void **st)
{
	(void)st;
	struct mail_store *s = open_store();
	const char *err;
	char name[64], body[128];
	assert_int_equal(mail_store_ensure_defaults(s, &err), 0);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof name, "%d.M%dP1.other,S=999:2,%s", 1700000000 + i, i,
			 i % 2 ? "S" : "");
		snprintf(body, sizeof body, "Subject: m%d\n\n%s\n", i, i < 10 ? "short" : "longer body");
		drop_file("cur", name, body);
	}
	struct mail_folder *f;
	assert_int_equal(mail_folder_open(s, "INBOX", 0, &f, &err), 0);
	assert_int_equal(mail_folder_count(f), 20);
	struct mail_status sts;
	assert_int_equal(mail_folder_status(f, &sts, &err), 0);
	assert_int_equal(sts.first_unseen_seq, 1);
	/* The name's S=999 is a hint; STATUS SIZE has the files' sizes. */
	assert_int_equal(mail_store_status(s, "INBOX", &sts, &err), 0);
	assert_int_equal(sts.size, 10 * (strlen("Subject: m0\n\nshort\n") + 3) +
				   10 * (strlen("Subject: m10\n\nlonger body\n") + 3));
	assert_int_equal(sts.unseen, 10);
	/* Expunge one not read yet, copy another: both stay right. */
	struct mail_range r5 = { 5, 5 }, r7 = { 7, 7 };
	struct mail_range *failed = NULL;
	size_t nfailed = 0;
	assert_int_equal(mail_folder_store_flags(f, &r5, 1, MAIL_FLAGS_ADD, MAIL_DELETED, NULL, 0,
						 &failed, &nfailed, &err), 0);
	free(failed);
	assert_int_equal(mail_folder_expunge(f, NULL, 0, false, &err), 0);
	struct mail_copy_result cr;
	assert_int_equal(copy_msgs(f, &r7, 1, "Archive", false, &cr, &err), 0);
	mail_copy_result_clear(&cr);
	struct mail_changes ch;
	changes(f, &ch);
	mail_changes_clear(&ch);
	struct mail_range all = { 1, UINT32_MAX };
	struct mail_iter *it;
	const struct mail_msg *m;
	assert_int_equal(mail_folder_iter_init(f, &all, 1, MAIL_FETCH_HEADERS, &it, &err), 0);
	int n = 0;
	while (mail_folder_iter_next(it, &m, &err) == 1) {
		snprintf(body, sizeof body, "m%u", m->uid - 1);
		assert_string_equal(m->h_subject, body);
		assert_int_equal(m->internal_date > 0, 1);
		assert_int_equal(m->vsize, m->size + 3);
		n++;
	}
	assert_int_equal(n, 19);
	mail_folder_iter_deinit(&it);
	mail_folder_close(&f);
	assert_int_equal(mail_folder_open(s, "Archive", 0, &f, &err), 0);
	assert_int_equal(mail_folder_iter_init(f, &all, 1, MAIL_FETCH_HEADERS, &it, &err), 0);
	assert_int_equal(mail_folder_iter_next(it, &m, &err), 1);
	assert_string_equal(m->h_subject, "m6");
	assert_int_equal(m->size, strlen("Subject: m6\n\nshort\n"));
	mail_folder_iter_deinit(&it);
	mail_folder_close(&f);
	mail_store_free(&s);
}

/* More files than one batch: the next batches are read on a second
 * thread while the first are written; every message comes out once, in
 * UID order, with its own facts. */
static void test_read_many(void **st)
{
	(void)st;
	struct mail_store *s = open_store();
	const char *err;
	char name[64], body[128];
	enum { MANY = 2600 };
	for (int i = 0; i < MANY; i++) {
		snprintf(name, sizeof name, "%d.M%dP2.many:2,", 1700000000 + i, i);
		snprintf(body, sizeof body, "Subject: n%d\n\n%*s\n", i, i % 50, "");
		drop_file("cur", name, body);
	}
	struct mail_folder *f;
	assert_int_equal(mail_store_create(s, "Sent", &err), 0);
	assert_int_equal(mail_folder_open(s, "INBOX", 0, &f, &err), 0);
	struct mail_range all = { 1, UINT32_MAX };
	struct mail_iter *it;
	const struct mail_msg *m;
	assert_int_equal(mail_folder_iter_init(f, &all, 1, MAIL_FETCH_HEADERS, &it, &err), 0);
	uint32_t n = 0;
	while (mail_folder_iter_next(it, &m, &err) == 1) {
		assert_int_equal(m->uid, n + 1);
		snprintf(body, sizeof body, "n%u", n);
		assert_string_equal(m->h_subject, body);
		assert_int_equal(m->size, strlen(body) + 9 + 2 + n % 50 + 1);
		n++;
	}
	assert_int_equal(n, MANY);
	mail_folder_iter_deinit(&it);
	struct mail_status sts;
	assert_int_equal(mail_store_status(s, "INBOX", &sts, &err), 0);
	assert_int_equal(sts.messages, MANY);
	mail_folder_close(&f);
	mail_store_free(&s);
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	if (d == NULL)
		return -1;
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

/* A sleeping store (IDLE with notification) holds no index connection
 * and no descriptors for it, and every call after works as before:
 * changes by another handle, listing, flags, STATUS. */
static void test_sleep(void **st)
{
	(void)st;
	struct mail_store *s = open_store(), *other = open_store();
	const char *err;
	append_msg(s, "INBOX", "Subject: 1\n\n1\n", 0);
	struct mail_folder *f;
	assert_int_equal(mail_folder_open(s, "INBOX", 0, &f, &err), 0);
	int awake = open_fds();
	mail_store_sleep(s);
	assert_true(open_fds() < awake);
	append_msg(other, "INBOX", "Subject: 2\n\n2\n", 0);
	bool changed = false;
	assert_int_equal(mail_folder_poll(f, &changed, &err), 0);
	assert_true(changed);
	struct mail_changes ch;
	changes(f, &ch);
	assert_int_equal(ch.new_count, 1);
	mail_changes_clear(&ch);
	mail_store_sleep(s);
	struct mail_range all = { 1, UINT32_MAX };
	struct mail_range *failed = NULL;
	size_t nfailed = 0;
	assert_int_equal(mail_folder_store_flags(f, &all, 1, MAIL_FLAGS_ADD, MAIL_SEEN, "k", 0,
						 &failed, &nfailed, &err), 0);
	free(failed);
	mail_store_sleep(s);
	struct mail_iter *it;
	const struct mail_msg *m;
	assert_int_equal(mail_folder_iter_init(f, &all, 1, MAIL_FETCH_HEADERS, &it, &err), 0);
	for (int i = 1; i <= 2; i++) {
		assert_int_equal(mail_folder_iter_next(it, &m, &err), 1);
		assert_int_equal(m->flags, MAIL_SEEN);
		assert_string_equal(m->keywords, "k");
	}
	mail_folder_iter_deinit(&it);
	mail_store_sleep(s);
	struct mail_status sts;
	assert_int_equal(mail_store_status(s, "INBOX", &sts, &err), 0);
	assert_int_equal(sts.messages, 2);
	assert_int_equal(sts.unseen, 0);
	mail_folder_close(&f);
	mail_store_free(&s);
	mail_store_free(&other);
}

static int fake_parse(void *ctx, const char *msg, size_t len, char **env_r, char **bs_r,
		      char **body_r)
{
	(void)ctx;
	(void)msg;
	(void)len;
	*env_r = strdup("(NIL \"env\")");
	*bs_r = strdup("(\"text\" \"plain\")");
	*body_r = strdup("(\"text\")");
	return 0;
}

static void test_parser_hook(void **st)
{
	(void)st;
	struct mail_store *s = open_store();
	const char *err;
	append_msg(s, "INBOX", "Subject: before\n\nb\n", 0);
	struct mail_parser p = { fake_parse, NULL };
	mail_store_set_parser(&p);
	append_msg(s, "INBOX", "Subject: after\n\na\n", 0);
	struct mail_folder *f;
	assert_int_equal(mail_store_create(s, "Sent", &err), 0);
	assert_int_equal(mail_folder_open(s, "INBOX", 0, &f, &err), 0);
	struct mail_range all = { 1, UINT32_MAX };
	struct mail_iter *it;
	const struct mail_msg *m;
	for (int round = 0; round < 2; round++) {
		assert_int_equal(mail_folder_iter_init(f, &all, 1, MAIL_FETCH_ENVELOPE |
						       MAIL_FETCH_BODYSTRUCTURE, &it, &err), 0);
		for (int i = 0; i < 2; i++) {
			assert_int_equal(mail_folder_iter_next(it, &m, &err), 1);
			assert_string_equal(m->envelope, "(NIL \"env\")");
			assert_string_equal(m->body, "(\"text\")");
			assert_null(m->h_subject);
		}
		assert_int_equal(mail_folder_iter_next(it, &m, &err), 0);
		mail_folder_iter_deinit(&it);
	}
	mail_store_set_parser(NULL);
	mail_folder_close(&f);
	mail_store_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_writer_for_every_path, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delivery_while_selected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_handles, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_external_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_planted_links, setup, teardown),
		cmocka_unit_test_setup_teardown(test_index_rebuild, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uids_not_reused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_parser_hook, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_on_first_need, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_many, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sleep, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
