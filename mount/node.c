/* sealinit mount/: device nodes, for when devtmpfs has not made one (or
 * is not mounted). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>

#include "lib/str.h"
#include "mount/mount.h"

/* mkdir -p of path's parent directories, mode 0755: 0 or the errno. */
static int node_parents(const char *path)
{
	char dir[FS_PATH_MAX];
	size_t i, n = strnlen(path, sizeof dir);

	if (n == sizeof dir)
		return ENAMETOOLONG;
	memcpy(dir, path, n + 1);
	for (i = 1; i < n; i++) {
		if (dir[i] != '/')
			continue;
		dir[i] = '\0';
		if (mkdir(dir, 0755) != 0 && errno != EEXIST)
			return errno;
		dir[i] = '/';
	}
	return 0;
}

int blk_node_ensure(const char *path, unsigned major, unsigned minor,
		    int is_char, struct si_diag *d)
{
	mode_t type = is_char ? S_IFCHR : S_IFBLK;
	dev_t want = makedev(major, minor);
	struct stat st;
	int e;

	if (!path || path[0] != '/')
		return SI_E_ARG;
	si_diag_where(d, path, strlen(path));
	if (stat(path, &st) == 0) {
		if ((st.st_mode & S_IFMT) == type && st.st_rdev == want)
			return 0;
		si_diag_field(d, "node.rdev");
		si_diag_values(d, want, (st.st_mode & S_IFMT) == type ? st.st_rdev : 0);
		return SI_E_NODE;
	}
	if (errno != ENOENT) {
		e = errno;
		goto fail;
	}
	e = node_parents(path);
	if (e)
		goto fail;
	if (mknod(path, type | 0600, want) != 0 && errno != EEXIST) {
		e = errno;
		goto fail;
	}
	if (stat(path, &st) != 0) {
		e = errno;
		goto fail;
	}
	if ((st.st_mode & S_IFMT) != type || st.st_rdev != want) {
		si_diag_field(d, "node.rdev");
		si_diag_values(d, want, st.st_rdev);
		return SI_E_NODE;
	}
	return 0;
fail:
	si_diag_field(d, "node.mknod");
	si_diag_errno(d, e);
	return SI_E_NODE;
}
