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
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include "lib/fdio.h"
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

/* ------------------------------------------------------------ trees */

/* rel ("kc/boot.kc") as the absolute path fs_resolve takes, where in d. */
static int tree_resolve(int root_fd, const char *rel, unsigned flags, int *fd, struct si_diag *d)
{
	char path[FS_PATH_MAX * 2];
	int r;

	if (snprintf(path, sizeof path, "/%s", rel) >= (int)sizeof path)
		return si_diag_want(d, SI_E_TOO_BIG, "path", sizeof path - 2, strlen(rel));
	r = fs_resolve(root_fd, path, flags | FS_RESOLVE_NO_SYMLINKS, fd, d);
	if (r == SI_E_NOTFOUND)
		r = SI_E_OPEN; /* d holds ENOENT */
	if (r)
		si_diag_where(d, rel, strlen(rel));
	return r;
}

struct linux_dirent64 {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

int fs_tree_list(int root_fd, const char *dir,
		 void (*each)(void *arg, const char *name, size_t len), void *arg,
		 struct si_diag *d)
{
	/* getdents64 directly: opendir/readdir would malloc. */
	uint64_t buf[4096 / 8];
	int pfd, dfd, r;

	r = tree_resolve(root_fd, dir, FS_RESOLVE_DIR, &pfd, d);
	if (r)
		return r;
	dfd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(pfd);
	if (dfd < 0)
		return si_diag_sys(d, SI_E_OPEN, dir, errno);
	for (;;) {
		long n = syscall(SYS_getdents64, dfd, buf, sizeof buf), pos;

		if (n < 0) {
			r = si_diag_sys(d, SI_E_IO, dir, errno);
			break;
		}
		if (n == 0)
			break;
		for (pos = 0; pos < n;) {
			const struct linux_dirent64 *e = (const void *)((const char *)buf + pos);

			if (e->reclen <= offsetof(struct linux_dirent64, name) || e->reclen > n - pos)
				break;
			pos += e->reclen;
			each(arg, e->name,
			     strnlen(e->name, e->reclen - offsetof(struct linux_dirent64, name)));
		}
	}
	close(dfd);
	return r;
}

int fs_tree_open(int root_fd, const char *rel, int *out, uint64_t *size, struct si_diag *d)
{
	char proc[40];
	struct stat st;
	int pfd, fd, r;

	/* O_PATH first: the type is known before anything is opened for
	 * reading (a device node, a FIFO, a socket never is). */
	r = tree_resolve(root_fd, rel, FS_RESOLVE_PATH, &pfd, d);
	if (r)
		return r;
	if (fstat(pfd, &st) != 0) {
		close(pfd);
		return si_diag_sys(d, SI_E_IO, rel, errno);
	}
	if (!S_ISREG(st.st_mode)) {
		close(pfd);
		si_diag_where(d, rel, strlen(rel));
		si_diag_text(d, "a regular file", si_file_type_name(st.st_mode));
		return SI_E_FILE_TYPE;
	}
	snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
	fd = open(proc, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	close(pfd);
	if (fd < 0)
		return si_diag_sys(d, SI_E_OPEN, rel, errno);
	*out = fd;
	*size = (uint64_t)st.st_size;
	return 0;
}

int fs_fd_path_in(int fd, const char *root, char *out, size_t n)
{
	char proc[40], real[FS_PATH_MAX * 4];
	size_t rl = strlen(root);
	ssize_t k;

	snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
	k = readlink(proc, real, sizeof real - 1);
	if (k <= 0)
		return SI_E_IO;
	real[k] = '\0';
	if (strncmp(real, root, rl) != 0 || real[rl] != '/')
		return SI_E_NOTFOUND;
	if (snprintf(out, n, "%s", real + rl) >= (int)n)
		return SI_E_TOO_BIG;
	return 0;
}
