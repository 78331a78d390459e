/* LIST: the folders are the ".Name" directories of the root. A name whose
 * parent has no directory of its own still has a level in the hierarchy
 * (\Noselect); SPECIAL-USE follows the names mail_store_ensure_defaults
 * creates, so it survives a lost index. */
#include "store/store_private.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct flist {
	struct mail_folder_info *v;
	size_t n, cap;
};

static int flist_add(struct flist *l, const char *name, unsigned attrs)
{
	if (l->n == l->cap) {
		size_t cap = l->cap < 16 ? 16 : l->cap * 2;
		struct mail_folder_info *v = realloc(l->v, cap * sizeof *v);
		if (v == NULL)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	char *copy = strdup(name);
	if (copy == NULL)
		return -1;
	l->v[l->n++] = (struct mail_folder_info){ copy, attrs };
	return 0;
}

static int info_cmp(const void *a, const void *b)
{
	const struct mail_folder_info *x = a, *y = b;
	bool xi = strcmp(x->name, "INBOX") == 0, yi = strcmp(y->name, "INBOX") == 0;
	if (xi != yi)
		return xi ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int scan_root(struct mstore *ms, struct flist *l, const char **error_r)
{
	DIR *d = store_opendir(ms, "");
	if (d == NULL) {
		*error_r = "cannot list folders";
		return -1;
	}
	struct dirent *de;
	char name[MAIL_NAME_MAX], path[STORE_DIRNAME_MAX + 8];
	int r = flist_add(l, "INBOX", 0);
	while (r == 0 && (de = readdir(d)) != NULL) {
		struct stat st;
		if (de->d_name[0] != '.' || store_dir_to_name(de->d_name, name, sizeof name) < 0)
			continue;
		/* A link is not a folder, wherever it points. */
		if (fstatat(ms->root_fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISDIR(st.st_mode))
			continue;
		snprintf(path, sizeof path, "%s/cur", de->d_name);
		r = flist_add(l, name, store_mtime_at(ms->root_fd, path, true) >= 0 ? 0 :
			      MAIL_ATTR_NOSELECT);
	}
	closedir(d);
	if (r < 0)
		*error_r = "out of memory";
	return r;
}

/* Adds "a" and "a/b" for "a/b/c" when they are not there (\Noselect). */
static int add_parents(struct flist *l, const char **error_r)
{
	size_t n = l->n;
	char parent[MAIL_NAME_MAX];
	for (size_t i = 0; i < n; i++) {
		snprintf(parent, sizeof parent, "%s", l->v[i].name);
		char *slash;
		while ((slash = strrchr(parent, '/')) != NULL) {
			*slash = '\0';
			bool have = false;
			for (size_t j = 0; j < l->n && !have; j++)
				have = strcmp(l->v[j].name, parent) == 0;
			if (!have && flist_add(l, parent, MAIL_ATTR_NOSELECT) < 0) {
				*error_r = "out of memory";
				return -1;
			}
		}
	}
	return 0;
}

static unsigned special_use(const char *name)
{
	static const struct {
		const char *name;
		unsigned attr;
	} su[] = {
		{ "Sent", MAIL_ATTR_SENT }, { "Drafts", MAIL_ATTR_DRAFTS },
		{ "Trash", MAIL_ATTR_TRASH }, { "Junk", MAIL_ATTR_JUNK },
		{ "Archive", MAIL_ATTR_ARCHIVE },
	};
	for (size_t i = 0; i < sizeof su / sizeof su[0]; i++) {
		if (strcmp(name, su[i].name) == 0)
			return su[i].attr;
	}
	return 0;
}

/* Sorted: the children of "a" are the names from the first >= "a/" on
 * that start with "a/". */
static bool has_children(const struct flist *l, const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < l->n; i++) {
		if (strncmp(l->v[i].name, name, len) == 0 && l->v[i].name[len] == '/' &&
		    !(l->v[i].attrs & MAIL_ATTR_NONEXISTENT))
			return true;
	}
	return false;
}

static int add_subscribed(struct mstore *ms, struct flist *l, const char **error_r)
{
	char *subs;
	size_t len;
	if (store_subs_read(ms, &subs, &len) < 0) {
		*error_r = "cannot read subscriptions";
		return -1;
	}
	size_t n = l->n;
	for (size_t i = 0; i < n; i++) {
		if (store_subs_has(subs, l->v[i].name))
			l->v[i].attrs |= MAIL_ATTR_SUBSCRIBED;
	}
	for (char *p = subs; *p != '\0';) {
		size_t k = strcspn(p, "\n");
		char save = p[k];
		p[k] = '\0';
		bool have = false;
		for (size_t j = 0; j < n && !have; j++)
			have = strcmp(l->v[j].name, p) == 0;
		if (!have && mail_store_name_valid(p) &&
		    flist_add(l, p, MAIL_ATTR_SUBSCRIBED | MAIL_ATTR_NONEXISTENT |
			      MAIL_ATTR_NOSELECT) < 0) {
			free(subs);
			*error_r = "out of memory";
			return -1;
		}
		p[k] = save;
		p += k + (save == '\n');
	}
	free(subs);
	return 0;
}

int store_v_list(struct mail_store *s, struct mail_folder_info **list_r,
		 size_t *count_r, const char **error_r)
{
	struct mstore *ms = (struct mstore *)s;
	struct flist l = { 0 };
	if (scan_root(ms, &l, error_r) < 0 || add_parents(&l, error_r) < 0 ||
	    add_subscribed(ms, &l, error_r) < 0) {
		mail_folder_info_free(&l.v, l.n);
		return -1;
	}
	qsort(l.v, l.n, sizeof *l.v, info_cmp);
	for (size_t i = 0; i < l.n; i++) {
		l.v[i].attrs |= has_children(&l, l.v[i].name) ? MAIL_ATTR_HAS_CHILDREN :
				MAIL_ATTR_HAS_NO_CHILDREN;
		l.v[i].attrs |= special_use(l.v[i].name);
	}
	*list_r = l.v;
	*count_r = l.n;
	return 0;
}
