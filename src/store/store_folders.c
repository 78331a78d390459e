/* Folders: create, delete, rename, subscribe, STATUS and the defaults of a
 * new user. Changes of the directory tree are made under the index's
 * write lock, so two sessions renaming or deleting at once are ordered. */
#include "store/store_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/fs.h"
#include "store/maildir.h"

static int fail(struct mstore *ms, const char **error_r, int err, const char *text)
{
	store_rollback(ms);
	*error_r = text;
	errno = err;
	return -1;
}

/* The folder's directory exists and is a directory, not a link. */
static bool is_dir(struct mstore *ms, const char *name)
{
	char dir[STORE_DIRNAME_MAX + 1];
	struct stat st;
	return store_name_to_dir(name, dir, sizeof dir) == 0 && dir[0] != '\0' &&
	       fstatat(ms->root_fd, dir, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

/* A folder is made under tmp/ with its cur/ new/ tmp/ and the Maildir++
 * "maildirfolder" marker, then renamed into place: it appears whole. */
static int make_folder(struct mstore *ms, const char *name, const char **error_r)
{
	char dir[STORE_DIRNAME_MAX + 1], base[256], tmp[300], marker[320];
	if (store_name_to_dir(name, dir, sizeof dir) < 0 ||
	    maildir_unique_name(base, sizeof base, 0) < 0) {
		*error_r = "invalid mailbox name";
		errno = EINVAL;
		return -1;
	}
	snprintf(tmp, sizeof tmp, "tmp/.create-%s", base);
	snprintf(marker, sizeof marker, "%s/maildirfolder", tmp);
	int tmpfd = store_dir_open_root(ms, "tmp");
	if (tmpfd < 0 || store_maildir_make(ms, tmp, error_r) < 0) {
		if (tmpfd >= 0)
			close(tmpfd);
		*error_r = "cannot create folder";
		return -1;
	}
	int fd = fs_open_beneath(ms->root_fd, marker, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd >= 0)
		close(fd);
	if (renameat(tmpfd, tmp + 4, ms->root_fd, dir) < 0) {
		int e = errno;
		(void)fs_remove_tree_at(tmpfd, tmp + 4, 2);
		close(tmpfd);
		errno = e == ENOTEMPTY ? EEXIST : e;
		*error_r = errno == EEXIST ? "mailbox already exists" : "cannot create folder";
		return -1;
	}
	close(tmpfd);
	return store_root_fsync(ms, error_r);
}

int store_v_create(struct mail_store *s, const char *name, const char **error_r)
{
	struct mstore *ms = (struct mstore *)s;
	char norm[MAIL_NAME_MAX], path[STORE_PATH_MAX];
	if (store_name_normalize(name, norm, sizeof norm) < 0 ||
	    store_folder_path(ms, norm, path, sizeof path) < 0) {
		*error_r = "invalid mailbox name";
		errno = EINVAL;
		return -1;
	}
	if (strcmp(norm, "INBOX") == 0 || is_dir(ms, norm)) {
		*error_r = "mailbox already exists";
		errno = EEXIST;
		return -1;
	}
	if (store_begin(ms, error_r) < 0)
		return -1;
	struct folder_row row;
	/* A row left by a folder removed behind our back starts afresh. */
	if (store_folder_forget(ms, norm, error_r) < 0 || make_folder(ms, norm, error_r) < 0 ||
	    store_folder_row(ms, norm, true, &row, error_r) < 0) {
		int e = errno;
		store_rollback(ms);
		errno = e;
		return -1;
	}
	return store_commit(ms, error_r);
}

int store_v_remove(struct mail_store *s, const char *name, const char **error_r)
{
	struct mstore *ms = (struct mstore *)s;
	char norm[MAIL_NAME_MAX], dir[STORE_DIRNAME_MAX + 1], trash[300], base[256];
	if (store_name_normalize(name, norm, sizeof norm) < 0 ||
	    store_name_to_dir(norm, dir, sizeof dir) < 0)
		return fail(ms, error_r, EINVAL, "invalid mailbox name");
	if (strcmp(norm, "INBOX") == 0)
		return fail(ms, error_r, EPERM, "INBOX cannot be deleted");
	if (maildir_unique_name(base, sizeof base, 0) < 0)
		return fail(ms, error_r, ENAMETOOLONG, "name too long");
	snprintf(trash, sizeof trash, ".deleted-%s", base);
	/* A link in the folder's place is not a folder. */
	if (!is_dir(ms, norm))
		return fail(ms, error_r, ENOENT, "no such mailbox");
	int tmpfd = store_dir_open_root(ms, "tmp");
	if (tmpfd < 0)
		return fail(ms, error_r, errno, "cannot delete folder");
	if (store_begin(ms, error_r) < 0) {
		close(tmpfd);
		return -1;
	}
	/* Out of sight first (one rename), then removed at leisure. */
	if (renameat(ms->root_fd, dir, tmpfd, trash) < 0) {
		int e = errno;
		close(tmpfd);
		return fail(ms, error_r, e, e == ENOENT ? "no such mailbox" :
			    "cannot delete folder");
	}
	if (store_folder_forget(ms, norm, error_r) < 0) {
		store_rollback(ms);
		(void)renameat(tmpfd, trash, ms->root_fd, dir);
		close(tmpfd);
		return -1;
	}
	if (store_commit(ms, error_r) < 0) {
		close(tmpfd);
		return -1;
	}
	(void)store_root_fsync(ms, error_r);
	(void)fs_remove_tree_at(tmpfd, trash, 4);
	close(tmpfd);
	return 0;
}

/* RFC 9051 6.3.6: renaming INBOX moves its messages to the new folder and
 * leaves INBOX empty; the next syncs give them UIDs there. */
static int rename_inbox(struct mstore *ms, const char *to, const char **error_r)
{
	static const char *const subs[] = { "new", "cur" };
	struct folder_row row;
	char tdir[STORE_DIRNAME_MAX + 1], b[STORE_DIRNAME_MAX + 8];
	if (store_folder_forget(ms, to, error_r) < 0 || make_folder(ms, to, error_r) < 0 ||
	    store_folder_row(ms, to, true, &row, error_r) < 0 ||
	    store_name_to_dir(to, tdir, sizeof tdir) < 0)
		return -1;
	for (size_t i = 0; i < 2; i++) {
		snprintf(b, sizeof b, "%s/%s", tdir, subs[i]);
		DIR *d = store_opendir(ms, subs[i]);
		int tfd = store_dir_open_root(ms, b);
		struct dirent *de;
		while (d != NULL && tfd >= 0 && (de = readdir(d)) != NULL) {
			if (de->d_name[0] != '.')
				(void)renameat(dirfd(d), de->d_name, tfd, de->d_name);
		}
		int r = d != NULL && tfd >= 0 && fsync(tfd) == 0 && fsync(dirfd(d)) == 0 ? 0 : -1;
		if (d != NULL)
			closedir(d);
		if (tfd >= 0)
			close(tfd);
		if (r < 0) {
			*error_r = "cannot move INBOX's messages";
			return -1;
		}
	}
	return 0;
}

/* Renames ".A" and every ".A.x" to ".B" and ".B.x", and their rows. */
static int rename_tree(struct mstore *ms, const char *from, const char *to,
		       const char **error_r)
{
	char fdir[STORE_DIRNAME_MAX + 1], tdir[STORE_DIRNAME_MAX + 1];
	char b[STORE_DIRNAME_MAX * 2 + 2];
	if (store_name_to_dir(from, fdir, sizeof fdir) < 0 ||
	    store_name_to_dir(to, tdir, sizeof tdir) < 0)
		return fail(ms, error_r, EINVAL, "invalid mailbox name");
	size_t flen = strlen(fdir);
	DIR *d = store_opendir(ms, "");
	if (d == NULL)
		return fail(ms, error_r, errno, "cannot list folders");
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, fdir, flen) != 0 ||
		    (de->d_name[flen] != '\0' && de->d_name[flen] != '.'))
			continue;
		int n = snprintf(b, sizeof b, "%s%s", tdir, de->d_name + flen);
		if (strlen(tdir) + strlen(de->d_name + flen) > STORE_DIRNAME_MAX ||
		    n >= (int)sizeof b || renameat(ms->root_fd, de->d_name, ms->root_fd, b) < 0) {
			closedir(d);
			return fail(ms, error_r, errno, "cannot rename folder");
		}
	}
	closedir(d);
	sqlite3_stmt *st;
	const char *q = "UPDATE folders SET name = ?2 || substr(name, ?3)"
			" WHERE name = ?1 OR substr(name, 1, ?3) = ?1 || '/'";
	if (sqlite3_prepare_v2(store_db(ms), q, -1, &st, NULL) != SQLITE_OK)
		return store_db_error(ms, "prepare", error_r);
	sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)strlen(from) + 1);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_db_error(ms, "rename", error_r);
	return store_root_fsync(ms, error_r);
}

/* True when a directory for name or one of its children exists. */
static bool tree_exists(struct mstore *ms, const char *name)
{
	char dir[STORE_DIRNAME_MAX + 1];
	if (store_name_to_dir(name, dir, sizeof dir) < 0)
		return true;
	size_t len = strlen(dir);
	bool found = false;
	DIR *d = store_opendir(ms, "");
	struct dirent *de;
	while (d != NULL && !found && (de = readdir(d)) != NULL)
		found = strncmp(de->d_name, dir, len) == 0 &&
			(de->d_name[len] == '\0' || de->d_name[len] == '.');
	if (d != NULL)
		closedir(d);
	return found;
}

/* Forgets rows of name and its children (left by folders removed behind
 * our back), so the names are free for the rename. */
static int forget_tree(struct mstore *ms, const char *name, const char **error_r)
{
	sqlite3_stmt *st;
	char *names[64];
	size_t n = 0;
	const char *q = "SELECT name FROM folders WHERE name = ?1 OR"
			" substr(name, 1, ?2) = ?1 || '/' LIMIT 64";
	if (sqlite3_prepare_v2(store_db(ms), q, -1, &st, NULL) != SQLITE_OK)
		return store_db_error(ms, "prepare", error_r);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)strlen(name) + 1);
	while (n < 64 && sqlite3_step(st) == SQLITE_ROW) {
		names[n] = strdup((const char *)sqlite3_column_text(st, 0));
		if (names[n] != NULL)
			n++;
	}
	sqlite3_finalize(st);
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		if (r == 0)
			r = store_folder_forget(ms, names[i], error_r);
		free(names[i]);
	}
	return r;
}

int store_v_rename(struct mail_store *s, const char *from, const char *to,
		   const char **error_r)
{
	struct mstore *ms = (struct mstore *)s;
	char f[MAIL_NAME_MAX], t[MAIL_NAME_MAX];
	if (store_name_normalize(from, f, sizeof f) < 0 ||
	    store_name_normalize(to, t, sizeof t) < 0)
		return fail(ms, error_r, EINVAL, "invalid mailbox name");
	size_t flen = strlen(f);
	if (strcmp(t, "INBOX") == 0 || (strncmp(t, f, flen) == 0 && t[flen] == '/') ||
	    strcmp(f, t) == 0)
		return fail(ms, error_r, EINVAL, "cannot rename to that name");
	if (strcmp(f, "INBOX") != 0 && !is_dir(ms, f))
		return fail(ms, error_r, ENOENT, "no such mailbox");
	if (store_begin(ms, error_r) < 0)
		return -1;
	if (tree_exists(ms, t))
		return fail(ms, error_r, EEXIST, "mailbox already exists");
	int r = forget_tree(ms, t, error_r);
	if (r == 0)
		r = strcmp(f, "INBOX") == 0 ? rename_inbox(ms, t, error_r) :
		    rename_tree(ms, f, t, error_r);
	if (r < 0) {
		int e = errno;
		store_rollback(ms);
		errno = e;
		return -1;
	}
	return store_commit(ms, error_r);
}

/* ---- subscriptions: DATA/.../subscriptions, one UTF-8 name a line ---- */

int store_subs_read(struct mstore *ms, char **data_r, size_t *len_r)
{
	const char *err;
	if (fs_read_file_at(ms->root_fd, "subscriptions", 1 << 20, data_r, len_r, &err) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	*data_r = strdup("");
	*len_r = 0;
	return *data_r == NULL ? -1 : 0;
}

bool store_subs_has(const char *data, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = data; *p != '\0';) {
		size_t l = strcspn(p, "\n");
		if (l == n && memcmp(p, name, n) == 0)
			return true;
		p += l + (p[l] == '\n');
	}
	return false;
}

static int subs_update(struct mstore *ms, const char *name, bool on, const char **error_r)
{
	char *data;
	size_t len;
	if (store_subs_read(ms, &data, &len) < 0) {
		*error_r = "cannot read subscriptions";
		return -1;
	}
	if (store_subs_has(data, name) == on) {
		free(data);
		return 0;
	}
	struct buf b;
	buf_init(&b, (1 << 20) + MAIL_NAME_MAX + 2);
	int r = 0;
	for (const char *p = data; *p != '\0' && r == 0;) {
		size_t l = strcspn(p, "\n");
		if (l > 0 && !(l == strlen(name) && memcmp(p, name, l) == 0))
			r = buf_append(&b, p, l) < 0 || buf_append_char(&b, '\n') < 0 ? -1 : 0;
		p += l + (p[l] == '\n');
	}
	if (r == 0 && on)
		r = buf_printf(&b, "%s\n", name);
	free(data);
	if (r < 0)
		*error_r = "too many subscriptions";
	else
		r = fs_write_file_durable_at(ms->root_fd, "subscriptions",
					     b.data != NULL ? b.data : "", b.len, 0600, error_r);
	buf_free(&b);
	return r;
}

int store_v_subscribe(struct mail_store *s, const char *name, bool on,
		      const char **error_r)
{
	struct mstore *ms = (struct mstore *)s;
	char norm[MAIL_NAME_MAX];
	if (store_name_normalize(name, norm, sizeof norm) < 0) {
		*error_r = "invalid mailbox name";
		errno = EINVAL;
		return -1;
	}
	/* The index's write lock orders read-modify-write of the file. */
	if (store_begin(ms, error_r) < 0)
		return -1;
	if (subs_update(ms, norm, on, error_r) < 0) {
		store_rollback(ms);
		return -1;
	}
	return store_commit(ms, error_r);
}

int store_v_status(struct mail_store *s, const char *name, struct mail_status *st_r,
		   const char **error_r)
{
	struct mstore *ms = (struct mstore *)s;
	struct mfolder *mf = malloc(sizeof *mf);
	if (mf == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	int r = store_folder_init(ms, name, mf, error_r);
	if (r == 0)
		r = store_sync(mf, false, error_r);
	if (r == 0)
		r = store_count_status(mf, st_r, error_r);
	if (r == 0)
		r = store_status_recent(ms, &mf->row, &st_r->recent, error_r);
	free(mf);
	return r;
}

int store_v_ensure_defaults(struct mail_store *s, const char **error_r)
{
	static const char *const names[] = { "Sent", "Drafts", "Trash", "Junk", "Archive" };
	struct mstore *ms = (struct mstore *)s;
	char *subs;
	size_t len;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (store_v_create(s, names[i], error_r) < 0 && errno != EEXIST)
			return -1;
	}
	if (store_subs_read(ms, &subs, &len) < 0) {
		*error_r = "cannot read subscriptions";
		return -1;
	}
	/* Subscribed once: a user who unsubscribes later stays unsubscribed. */
	bool fresh = len == 0;
	free(subs);
	if (fresh && store_v_subscribe(s, "INBOX", true, error_r) < 0)
		return -1;
	for (size_t i = 0; fresh && i < sizeof names / sizeof names[0]; i++) {
		if (store_v_subscribe(s, names[i], true, error_r) < 0)
			return -1;
	}
	return 0;
}
