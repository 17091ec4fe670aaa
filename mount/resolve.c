/* sealinit mount/: paths resolved inside a root, never out of it.
 *
 * Overlay targets, the data volume's mount point and the real init come
 * from signed manifests or the configuration, but they are looked up in a
 * tree (the system volume, the cryptexes above it) whose symbolic links
 * say where they lead.  Resolving "/usr/lib" in the initramfs's namespace
 * would follow an absolute link out of the new root, or a relative one
 * into the data volume.  openat2(2) with RESOLVE_IN_ROOT treats the tree
 * as "/" for every step, absolute links included (Linux 5.6); the strict
 * mode adds RESOLVE_NO_SYMLINKS.  Kernels without openat2 get a component
 * walk with O_NOFOLLOW, which follows no link at all (strict either way).
 * The caller mounts on "/proc/self/fd/N" of the descriptor returned, so
 * the mount lands on exactly the directory that was checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "lib/str.h"
#include "mount/mount.h"

/* The component of `path` at which a walk without links stops, for the
 * message: "/usr/lib" -> "/usr" when /usr is a link.  Best effort. */
static void culprit(int root_fd, const char *path, struct si_diag *d)
{
	char comp[FS_PATH_MAX];
	const char *p = path;
	int dfd = dup(root_fd);

	while (dfd >= 0 && *p) {
		size_t n;
		struct stat st;
		int next;

		while (*p == '/')
			p++;
		n = strcspn(p, "/");
		if (n == 0 || n >= sizeof comp)
			break;
		memcpy(comp, p, n);
		comp[n] = '\0';
		if (fstatat(dfd, comp, &st, AT_SYMLINK_NOFOLLOW) != 0)
			break;
		if (S_ISLNK(st.st_mode)) {
			size_t upto = (size_t)(p - path) + n;

			si_diag_where(d, path, upto);
			break;
		}
		next = openat(dfd, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		close(dfd);
		dfd = next;
		p += n;
	}
	if (dfd >= 0)
		close(dfd);
}

/* Kernels without openat2: one component at a time, no link followed. */
static int walk(int root_fd, const char *path, int oflags, int *out)
{
	char comp[FS_PATH_MAX];
	const char *p = path;
	int dfd = dup(root_fd), e = 0;

	if (dfd < 0)
		return errno;
	while (*p == '/')
		p++;
	while (*p) {
		size_t n = strcspn(p, "/");
		int last, next;

		if (n >= sizeof comp) {
			e = ENAMETOOLONG;
			break;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n;
		while (*p == '/')
			p++;
		last = *p == '\0';
		next = openat(dfd, comp, (last ? oflags : O_PATH | O_DIRECTORY | O_CLOEXEC) | O_NOFOLLOW);
		if (next < 0) {
			e = errno;
			/* O_PATH | O_NOFOLLOW opens the link itself: say ELOOP. */
			break;
		}
		close(dfd);
		dfd = next;
		if (last) {
			struct stat st;

			if (fstat(dfd, &st) == 0 && S_ISLNK(st.st_mode))
				e = ELOOP;
			break;
		}
	}
	if (e || *path == '\0') {
		if (!e && *path == '\0')
			e = ENOENT;
		close(dfd);
		return e;
	}
	*out = dfd;
	return 0;
}

int fs_resolve(int root_fd, const char *path, unsigned flags, int *out, struct si_diag *d)
{
	struct open_how how;
	int oflags, fd, e;

	if (root_fd < 0 || !path || path[0] != '/' || !out ||
	    (flags & ~(unsigned)(FS_RESOLVE_NO_SYMLINKS | FS_RESOLVE_DIR | FS_RESOLVE_KEEP_ON_EXEC |
				 FS_RESOLVE_PATH)))
		return SI_E_ARG;
	oflags = flags & FS_RESOLVE_DIR ? O_PATH | O_DIRECTORY :
		 flags & FS_RESOLVE_PATH ? O_PATH : O_RDONLY | O_NONBLOCK;
	if (!(flags & FS_RESOLVE_KEEP_ON_EXEC))
		oflags |= O_CLOEXEC;
	memset(&how, 0, sizeof how);
	how.flags = (uint64_t)oflags;
	how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
		      (flags & FS_RESOLVE_NO_SYMLINKS ? RESOLVE_NO_SYMLINKS : 0);
	fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
	e = fd < 0 ? errno : 0;
	if (fd < 0 && (e == ENOSYS || e == E2BIG)) {
		e = walk(root_fd, path, oflags, &fd);
		if (e)
			fd = -1;
	}
	if (fd >= 0) {
		*out = fd;
		return 0;
	}
	si_diag_where(d, path, strlen(path));
	si_diag_errno(d, e);
	switch (e) {
	case ELOOP:
		culprit(root_fd, path, d);
		si_diag_field(d, "symbolic link");
		return SI_E_PATH_SYMLINK;
	case ENOENT:
		return SI_E_NOTFOUND;
	case ENOTDIR:
		return SI_E_FILE_TYPE;
	}
	return SI_E_OPEN;
}
