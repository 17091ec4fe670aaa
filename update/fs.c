/* sealinit update/: struct si_fs over a real directory -- the preboot
 * volume, in PID 1 and in the running OS (sealctl).  Every path is
 * resolved below the root without following a symbolic link
 * (mount/resolve.c); every descriptor is O_CLOEXEC. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "mount/mount.h"
#include "update/update.h"

/* The directory holding path, and path's last component. */
static int parent(const struct up_posix *px, const char *path, int *dfd, const char **base,
		  struct si_diag *d)
{
	char dir[UP_PATH_MAX + 2];
	const char *slash = strrchr(path, '/');
	int r;

	*base = slash ? slash + 1 : path;
	if (!**base || !strcmp(*base, ".") || !strcmp(*base, ".."))
		return si_diag_sys(d, SI_E_ARG, path, EINVAL);
	if (!slash) {
		*dfd = dup(px->root_fd);
		return *dfd < 0 ? si_diag_sys(d, SI_E_IO, path, errno) : 0;
	}
	if (snprintf(dir, sizeof dir, "/%.*s", (int)(slash - path), path) >= (int)sizeof dir)
		return si_diag_sys(d, SI_E_TOO_BIG, path, ENAMETOOLONG);
	r = fs_resolve(px->root_fd, dir, FS_RESOLVE_DIR | FS_RESOLVE_NO_SYMLINKS, dfd, d);
	if (r)
		si_diag_where(d, path, strlen(path));
	return r;
}

static int px_open(void *ctx, const char *path, enum si_omode mode, int *h, struct si_diag *d)
{
	static const int flags[] = {
		[SI_O_READ] = O_RDONLY,
		[SI_O_WRITE] = O_RDWR | O_CREAT | O_TRUNC,
		[SI_O_RDWR] = O_RDWR | O_CREAT,
		[SI_O_RDWR_EXISTING] = O_RDWR,
	};
	const struct up_posix *px = ctx;
	const char *base;
	struct stat st;
	int dfd, fd, r;

	if ((unsigned)mode >= sizeof flags / sizeof flags[0])
		return SI_E_ARG;
	r = parent(px, path, &dfd, &base, d);
	if (r)
		return r;
	fd = openat(dfd, base, flags[mode] | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644);
	close(dfd);
	if (fd < 0)
		return si_diag_sys(d, errno == ENOENT ? SI_E_OPEN : SI_E_IO, path, errno);
	/* update state is regular files only (a FIFO would block, a device
	 * would be written through) */
	if (fstat(fd, &st) != 0) {
		r = si_diag_sys(d, SI_E_IO, path, errno);
		close(fd);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		si_diag_clear(d);
		si_diag_where(d, path, strlen(path));
		si_diag_text(d, "regular file", si_file_type_name(st.st_mode));
		return SI_E_FILE_TYPE;
	}
	*h = fd;
	return 0;
}

/* Two paths' parents, then fn(dfd1, base1, dfd2, base2). */
static int two(const struct up_posix *px, const char *a, const char *b, int is_link,
	       struct si_diag *d)
{
	const char *ba, *bb;
	int da, db, r, e = 0;

	r = parent(px, a, &da, &ba, d);
	if (r)
		return r;
	r = parent(px, b, &db, &bb, d);
	if (r) {
		close(da);
		return r;
	}
	if ((is_link ? linkat(da, ba, db, bb, 0) : renameat(da, ba, db, bb)) != 0)
		e = errno;
	close(da);
	close(db);
	return e ? si_diag_sys(d, SI_E_IO, a, e) : 0;
}

static int px_rename(void *ctx, const char *from, const char *to, struct si_diag *d)
{
	return two(ctx, from, to, 0, d);
}

static int px_link(void *ctx, const char *from, const char *to, struct si_diag *d)
{
	return two(ctx, from, to, 1, d);
}

static int px_unlink_at(const struct up_posix *px, const char *path, int flags,
			struct si_diag *d)
{
	const char *base;
	int dfd, r, e = 0;

	r = parent(px, path, &dfd, &base, d);
	if (r)
		return r;
	if (unlinkat(dfd, base, flags) != 0 && errno != ENOENT)
		e = errno;
	close(dfd);
	return e ? si_diag_sys(d, SI_E_IO, path, e) : 0;
}

static int px_unlink(void *ctx, const char *path, struct si_diag *d)
{
	return px_unlink_at(ctx, path, 0, d);
}

static int px_rmdir(void *ctx, const char *path, struct si_diag *d)
{
	return px_unlink_at(ctx, path, AT_REMOVEDIR, d);
}

static int px_mkdir(void *ctx, const char *path, struct si_diag *d)
{
	const char *base;
	int dfd, r, e = 0;

	r = parent(ctx, path, &dfd, &base, d);
	if (r)
		return r;
	if (mkdirat(dfd, base, 0755) != 0 && errno != EEXIST)
		e = errno;
	close(dfd);
	return e ? si_diag_sys(d, SI_E_IO, path, e) : 0;
}

static int px_fsync_dir(void *ctx, const char *path, struct si_diag *d)
{
	const struct up_posix *px = ctx;
	char abs[UP_PATH_MAX + 2];
	int pfd, fd, r, e = 0;

	snprintf(abs, sizeof abs, "/%s", strcmp(path, ".") ? path : "");
	r = fs_resolve(px->root_fd, abs, FS_RESOLVE_DIR | FS_RESOLVE_NO_SYMLINKS, &pfd, d);
	if (r)
		return r;
	fd = openat(pfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(pfd);
	if (fd < 0 || fsync(fd) != 0)
		e = errno;
	if (fd >= 0)
		close(fd);
	return e ? si_diag_sys(d, SI_E_IO, path, e) : 0;
}

static int px_stat(void *ctx, const char *path, enum si_ftype *t, uint64_t *size,
		   struct si_diag *d)
{
	const struct up_posix *px = ctx;
	const char *base;
	struct stat st;
	int dfd, r;

	r = parent(px, path, &dfd, &base, d);
	if (r == SI_E_NOTFOUND) {
		*t = SI_FT_NONE;
		*size = 0;
		return 0;
	}
	if (r)
		return r;
	r = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW);
	if (r != 0) {
		int e = errno;

		close(dfd);
		if (e == ENOENT || e == ENOTDIR) {
			*t = SI_FT_NONE;
			*size = 0;
			return 0;
		}
		return si_diag_sys(d, SI_E_IO, path, e);
	}
	close(dfd);
	*t = S_ISREG(st.st_mode) ? SI_FT_REG : S_ISDIR(st.st_mode) ? SI_FT_DIR
		: S_ISBLK(st.st_mode) ? SI_FT_BLK : SI_FT_OTHER;
	*size = (uint64_t)st.st_size;
	return 0;
}

static int px_list(void *ctx, const char *dir, void (*each)(void *, const char *, size_t),
		   void *arg, struct si_diag *d)
{
	const struct up_posix *px = ctx;

	return fs_tree_list(px->root_fd, dir, each, arg, d);
}

static int px_free(void *ctx, uint64_t *bytes, struct si_diag *d)
{
	const struct up_posix *px = ctx;
	struct statvfs sv;

	if (fstatvfs(px->root_fd, &sv) != 0)
		return si_diag_sys(d, SI_E_IO, NULL, errno);
	*bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
	return 0;
}

void up_fs_posix(struct si_fs *fs, struct up_posix *px, int root_fd)
{
	px->root_fd = root_fd;
	memset(fs, 0, sizeof *fs);
	/* handles are descriptors: what is done with them is si_fs_cwd's */
	*fs = si_fs_cwd;
	fs->ctx = px;
	fs->open = px_open;
	fs->rename = px_rename;
	fs->unlink = px_unlink;
	fs->link = px_link;
	fs->mkdir = px_mkdir;
	fs->rmdir = px_rmdir;
	fs->fsync_dir = px_fsync_dir;
	fs->stat = px_stat;
	fs->list = px_list;
	fs->free_bytes = px_free;
}
