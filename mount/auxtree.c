/* sealinit mount/: what the aux kernel collection's tree may hold, checked
 * on its mounted tree (dm-verity below it) before it is overlaid on the
 * system tier's at /lib/modules.
 *
 * The aux tier is signed by a key that may sign nothing but kc-aux.  Its
 * index (modules.dep and friends) stands over the system tier's, made by
 * depmod with exactly that tier (the planner checked the digest); beyond
 * that it may only add files.  So the tree is:
 *
 *   <release>/                 a directory, the running kernel's release
 *   <release>/modules.*        regular files (depmod's output)
 *   <release>/updates/...      directories and regular *.ko files,
 *                              AUX_DEPTH_MAX levels at most
 *
 * and nothing else: no other name (a file of the system tier's paths would
 * replace it), no symbolic link, no device (an overlay whiteout is a 0/0
 * character device: it would hide a system file), FIFO or socket, and no
 * trusted.overlay.* or user.overlay.* attribute on anything (an opaque
 * directory hides the layers below it; a redirect renames).  Bounded:
 * AUX_ENTRIES_MAX entries. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/str.h"
#include "mount/mount.h"

#define AUX_DEPTH_MAX 8
#define AUX_ENTRIES_MAX 65536u
#define AUX_XATTR_MAX 4096

struct aux_walk {
	unsigned entries;
	char path[256];   /* the entry's path in the tree, for messages */
	struct si_diag *d;
};

static int refuse(struct aux_walk *w, const char *want, const char *found)
{
	si_diag_clear(w->d);
	si_diag_field(w->d, "tree");
	si_diag_where(w->d, w->path, strlen(w->path));
	si_diag_text(w->d, want, found);
	return SI_E_KC_AUX_TREE;
}

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* The entry open on fd may carry no overlay attribute. */
static int xattrs_ok(struct aux_walk *w, int fd)
{
	char names[AUX_XATTR_MAX];
	ssize_t n = flistxattr(fd, names, sizeof names);
	size_t i;

	if (n < 0) {
		if (errno == ENOTSUP)
			return 0;
		if (errno == ERANGE)
			return refuse(w, "no overlay attributes", "a list of attributes too long to read");
		si_diag_clear(w->d);
		return si_diag_sys(w->d, SI_E_KC_AUX_TREE, w->path, errno);
	}
	if (n == 0)
		return 0;
	names[n - 1] = '\0';
	for (i = 0; i < (size_t)n; i += strlen(names + i) + 1) {
		if (has_prefix(names + i, "trusted.overlay.") || has_prefix(names + i, "user.overlay."))
			return refuse(w, "no overlay attributes", names + i);
	}
	return 0;
}

static const char *type_name(mode_t m)
{
	if (S_ISLNK(m))
		return "a symbolic link";
	if (S_ISCHR(m))
		return "a character device (an overlay whiteout is one)";
	if (S_ISBLK(m))
		return "a block device";
	if (S_ISFIFO(m))
		return "a FIFO";
	if (S_ISSOCK(m))
		return "a socket";
	return S_ISDIR(m) ? "a directory" : "a regular file";
}

static int ends_with(const char *s, const char *t)
{
	size_t n = strlen(s), k = strlen(t);

	return n > k && strcmp(s + n - k, t) == 0;
}

/* The directory open on dfd, at depth (0: the tree's root). */
static int walk_dir(struct aux_walk *w, int dfd, unsigned depth, const char *release)
{
	size_t plen = strlen(w->path);
	struct dirent *de;
	DIR *dir;
	int r = xattrs_ok(w, dfd);

	if (r) {
		close(dfd);
		return r;
	}
	dir = fdopendir(dfd);
	if (!dir) {
		si_diag_clear(w->d);
		r = si_diag_sys(w->d, SI_E_KC_AUX_TREE, w->path, errno);
		close(dfd);
		return r;
	}
	while (r == 0 && (errno = 0, de = readdir(dir)) != NULL) {
		struct stat st;
		int fd, is_dir;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		{
			char esc[200];

			si_escape(esc, sizeof esc, de->d_name, strlen(de->d_name));
			w->path[plen] = '\0';
			snprintf(w->path + plen, sizeof w->path - plen, "%s%s", plen ? "/" : "", esc);
		}
		if (++w->entries > AUX_ENTRIES_MAX) {
			r = refuse(w, "at most 65536 entries", "more");
			break;
		}
		if (fstatat(dirfd(dir), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
			si_diag_clear(w->d);
			r = si_diag_sys(w->d, SI_E_KC_AUX_TREE, w->path, errno);
			break;
		}
		is_dir = S_ISDIR(st.st_mode);
		if (!is_dir && !S_ISREG(st.st_mode)) {
			r = refuse(w, "a directory or a regular file", type_name(st.st_mode));
			break;
		}
		/* where each name may stand */
		if (depth == 0) {
			if (!is_dir || strcmp(de->d_name, release) != 0)
				r = refuse(w, "only the directory of the kernel release", de->d_name);
		} else if (depth == 1) {
			if (is_dir ? strcmp(de->d_name, "updates") != 0 : !has_prefix(de->d_name, "modules."))
				r = refuse(w, "updates/ or a modules.* index file", de->d_name);
		} else if (is_dir ? depth >= AUX_DEPTH_MAX : !ends_with(de->d_name, ".ko")) {
			r = refuse(w, is_dir ? "at most 8 levels of directories" : "a *.ko module file",
				   de->d_name);
		}
		if (r)
			break;
		fd = openat(dirfd(dir), de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
			    (is_dir ? O_DIRECTORY : 0));
		if (fd < 0) {
			si_diag_clear(w->d);
			r = si_diag_sys(w->d, SI_E_KC_AUX_TREE, w->path, errno);
			break;
		}
		if (is_dir) {
			r = walk_dir(w, fd, depth + 1, release);
		} else {
			r = xattrs_ok(w, fd);
			close(fd);
		}
	}
	if (r == 0 && errno != 0) {
		w->path[plen] = '\0';
		si_diag_clear(w->d);
		r = si_diag_sys(w->d, SI_E_KC_AUX_TREE, w->path, errno);
	}
	closedir(dir);
	w->path[plen] = '\0';
	return r;
}

int fs_aux_tree_check(int root_fd, const char *release, struct si_diag *d)
{
	struct aux_walk w;
	int fd;

	if (root_fd < 0 || !release || !*release)
		return SI_E_ARG;
	memset(&w, 0, sizeof w);
	w.d = d;
	fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return si_diag_sys(d, SI_E_KC_AUX_TREE, "/", errno);
	return walk_dir(&w, fd, 0, release);
}
