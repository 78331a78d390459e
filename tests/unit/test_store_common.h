/* Helpers shared by the test_store_*.c files (a scratch data directory,
 * appending and listing messages). Included, not compiled alone. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store.h"

static char data_dir[256];
static char root[512];

__attribute__((unused)) static int setup(void **st)
{
	(void)st;
	snprintf(data_dir, sizeof data_dir, "/var/tmp/pb-store-XXXXXX");
	if (mkdtemp(data_dir) == NULL)
		return -1;
	snprintf(root, sizeof root, "%s/mail/a.test/alice", data_dir);
	return 0;
}

__attribute__((unused)) static int teardown(void **st)
{
	(void)st;
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", data_dir);
	return system(cmd) == 0 ? 0 : -1;
}

__attribute__((unused)) static struct mail_store *open_store(void)
{
	struct mail_store *s = NULL;
	const char *err = NULL;
	if (mail_store_maildir_open(data_dir, "a.test", "alice", &s, &err) < 0)
		fail_msg("open: %s", err);
	return s;
}

__attribute__((unused)) static uint32_t append_msg(struct mail_store *s, const char *folder, const char *msg,
			   unsigned flags)
{
	struct iovec iov = { (void *)msg, strlen(msg) };
	uint32_t uidv, uid;
	const char *err = NULL;
	if (mail_store_append(s, folder, &iov, 1, flags, NULL, 0, &uidv, &uid, &err) < 0)
		fail_msg("append: %s", err);
	return uid;
}

/* Number of files in ROOT/SUB (e.g. "cur", ".Sent/cur"). */
__attribute__((unused)) static int count_files(const char *sub)
{
	char path[800];
	snprintf(path, sizeof path, "%s/%s", root, sub);
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	int n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* The name of the first file in ROOT/SUB into out. */
__attribute__((unused)) static int first_file(const char *sub, char *out, size_t outlen)
{
	char path[800];
	snprintf(path, sizeof path, "%s/%s", root, sub);
	DIR *d = opendir(path);
	if (d == NULL)
		return -1;
	struct dirent *e;
	int r = -1;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(out, outlen, "%s", e->d_name);
		r = 0;
		break;
	}
	closedir(d);
	return r;
}

/* Writes a file by hand into ROOT/SUB/NAME, as another program would. */
__attribute__((unused)) static void drop_file(const char *sub, const char *name, const char *content)
{
	char path[900];
	snprintf(path, sizeof path, "%s/%s/%s", root, sub, name);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
}

/* Syncs and brings the view up to date; returns the changes. */
/* COPY (and MOVE) in one go: the steps store.h gives, one prepare. */
__attribute__((unused)) static int copy_msgs(struct mail_folder *f, const struct mail_range *r,
					     size_t n, const char *dest, bool move,
					     struct mail_copy_result *cr, const char **err)
{
	struct mail_copy *c = NULL;
	int rc = mail_copy_begin(f, dest, &c, err);
	if (rc == 0)
		rc = mail_copy_prepare(c, r, n, err);
	if (rc == 0)
		rc = mail_copy_commit(c, cr, err);
	mail_copy_free(&c);
	if (rc == 0 && move && cr->count > 0) {
		struct mail_range *moved = NULL;
		size_t nmoved = 0;
		rc = mail_ranges_from_ids(cr->src_uids, cr->count, &moved, &nmoved);
		if (rc == 0)
			rc = mail_folder_expunge(f, moved, nmoved, true, err);
		free(moved);
	}
	return rc;
}

__attribute__((unused)) static void changes(struct mail_folder *f, struct mail_changes *ch)
{
	const char *err = NULL;
	if (mail_folder_sync(f, &err) < 0)
		fail_msg("sync: %s", err);
	if (mail_folder_changes(f, 0, ch, &err) < 0)
		fail_msg("changes: %s", err);
}

/* The flags of uid, or -1 when not listed. */
__attribute__((unused)) static int flags_of(struct mail_folder *f, uint32_t uid)
{
	struct mail_range r = { uid, uid };
	struct mail_iter *it;
	const struct mail_msg *m;
	const char *err;
	int flags = -1;
	assert_int_equal(mail_folder_iter_init(f, &r, 1, 0, &it, &err), 0);
	if (mail_folder_iter_next(it, &m, &err) == 1)
		flags = (int)m->flags;
	mail_folder_iter_deinit(&it);
	return flags;
}
