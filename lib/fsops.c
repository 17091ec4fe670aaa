/* sealinit lib/: struct si_fs helpers, and the table over ordinary paths
 * (the host's tools). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "lib/fdio.h"
#include "lib/fsops.h"

int si_fs_read_full(const struct si_fs *fs, int h, uint64_t off, void *buf, size_t len,
		    struct si_diag *d)
{
	return fs->pread(fs->ctx, h, off, buf, len, d);
}

void si_path_dir(const char *path, char *out, size_t n)
{
	const char *s = strrchr(path, '/');
	size_t l;

	if (!n)
		return;
	if (!s) {
		snprintf(out, n, ".");
		return;
	}
	l = (size_t)(s - path);
	if (l == 0)
		l = 1; /* "/x": the root */
	snprintf(out, n, "%.*s", (int)l, path);
}

/* ------------------------------------------------------------ cwd */

static int sys(struct si_diag *d, int err, const char *where)
{
	return si_diag_sys(d, err, where, errno);
}

static int cwd_open(void *ctx, const char *path, enum si_omode mode, int *h, struct si_diag *d)
{
	static const int flags[] = {
		[SI_O_READ] = O_RDONLY,
		[SI_O_WRITE] = O_RDWR | O_CREAT | O_TRUNC,
		[SI_O_RDWR] = O_RDWR | O_CREAT,
		[SI_O_RDWR_EXISTING] = O_RDWR,
	};
	int fd;

	(void)ctx;
	if ((unsigned)mode >= sizeof flags / sizeof flags[0])
		return SI_E_ARG;
	/* Reads through here leave the file's access time alone: the
	 * kernel's check of it on every read was 1.4 % of an apply's CPU
	 * (14,000 reads of the old image on the os pair), and an update is
	 * a metadata write to the flash.  O_NOATIME needs the file's owner
	 * or CAP_FOWNER; without them the file opens as before. */
	fd = open(path, flags[mode] | O_CLOEXEC | (mode == SI_O_READ ? O_NOATIME : 0), 0644);
	if (fd < 0 && mode == SI_O_READ && errno == EPERM)
		fd = open(path, flags[mode] | O_CLOEXEC, 0644);
	if (fd < 0)
		return sys(d, mode == SI_O_READ || mode == SI_O_RDWR_EXISTING ? SI_E_OPEN : SI_E_CREATE,
			   path);
	*h = fd;
	return 0;
}

static int cwd_pread(void *ctx, int h, uint64_t off, void *buf, size_t len, struct si_diag *d)
{
	(void)ctx;
	return si_pread_full(h, off, buf, len, d);
}

static int cwd_pwrite(void *ctx, int h, uint64_t off, const void *buf, size_t len,
		      struct si_diag *d)
{
	int r;

	(void)ctx;
	r = si_pwrite_full(h, off, buf, len, d);
	return r == SI_E_IO ? SI_E_WRITE : r;
}

static int cwd_fsync(void *ctx, int h, struct si_diag *d)
{
	(void)ctx;
	return fsync(h) == 0 ? 0 : sys(d, SI_E_WRITE, NULL);
}

static int cwd_fdatasync(void *ctx, int h, struct si_diag *d)
{
	(void)ctx;
	return fdatasync(h) == 0 ? 0 : sys(d, SI_E_WRITE, NULL);
}

static int cwd_truncate(void *ctx, int h, uint64_t size, struct si_diag *d)
{
	(void)ctx;
	return ftruncate(h, (off_t)size) == 0 ? 0 : sys(d, SI_E_WRITE, NULL);
}

static int cwd_size(void *ctx, int h, uint64_t *size, struct si_diag *d)
{
	struct stat st;

	(void)ctx;
	if (fstat(h, &st) != 0)
		return sys(d, SI_E_IO, NULL);
	if (S_ISBLK(st.st_mode))
		return ioctl(h, BLKGETSIZE64, size) == 0 ? 0 : sys(d, SI_E_IO, NULL);
	*size = (uint64_t)st.st_size;
	return 0;
}

static int cwd_close(void *ctx, int h)
{
	(void)ctx;
	return close(h) == 0 ? 0 : SI_E_IO;
}

static int cwd_rename(void *ctx, const char *from, const char *to, struct si_diag *d)
{
	(void)ctx;
	return rename(from, to) == 0 ? 0 : sys(d, SI_E_IO, to);
}

static int cwd_unlink(void *ctx, const char *path, struct si_diag *d)
{
	(void)ctx;
	return unlink(path) == 0 || errno == ENOENT ? 0 : sys(d, SI_E_IO, path);
}

static int cwd_link(void *ctx, const char *from, const char *to, struct si_diag *d)
{
	(void)ctx;
	return link(from, to) == 0 ? 0 : sys(d, SI_E_IO, to);
}

static int cwd_mkdir(void *ctx, const char *path, struct si_diag *d)
{
	(void)ctx;
	return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : sys(d, SI_E_IO, path);
}

static int cwd_rmdir(void *ctx, const char *path, struct si_diag *d)
{
	(void)ctx;
	return rmdir(path) == 0 || errno == ENOENT ? 0 : sys(d, SI_E_IO, path);
}

static int cwd_fsync_dir(void *ctx, const char *path, struct si_diag *d)
{
	int fd, r = 0;

	(void)ctx;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return sys(d, SI_E_IO, path);
	if (fsync(fd) != 0)
		r = sys(d, SI_E_IO, path);
	close(fd);
	return r;
}

static int cwd_stat(void *ctx, const char *path, enum si_ftype *t, uint64_t *size,
		    struct si_diag *d)
{
	struct stat st;

	(void)ctx;
	*t = SI_FT_NONE;
	*size = 0;
	if (lstat(path, &st) != 0)
		return errno == ENOENT || errno == ENOTDIR ? 0 : sys(d, SI_E_IO, path);
	*t = S_ISREG(st.st_mode) ? SI_FT_REG : S_ISDIR(st.st_mode) ? SI_FT_DIR
		: S_ISBLK(st.st_mode) ? SI_FT_BLK : SI_FT_OTHER;
	*size = (uint64_t)st.st_size;
	return 0;
}

static int cwd_list(void *ctx, const char *dir, void (*each)(void *, const char *, size_t),
		    void *arg, struct si_diag *d)
{
	struct dirent *e;
	DIR *dp;

	(void)ctx;
	dp = opendir(dir);
	if (!dp)
		return sys(d, SI_E_OPEN, dir);
	while ((e = readdir(dp)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			each(arg, e->d_name, strlen(e->d_name));
	closedir(dp);
	return 0;
}

static int cwd_free(void *ctx, uint64_t *bytes, struct si_diag *d)
{
	struct statvfs sv;

	(void)ctx;
	if (statvfs(".", &sv) != 0)
		return sys(d, SI_E_IO, ".");
	*bytes = (uint64_t)sv.f_bavail * sv.f_frsize;
	return 0;
}

static void cwd_writeback(void *ctx, int h, uint64_t off, uint64_t len)
{
	(void)ctx;
	(void)sync_file_range(h, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
}

const struct si_fs si_fs_cwd = {
	.ctx = NULL,
	.open = cwd_open,
	.pread = cwd_pread,
	.pwrite = cwd_pwrite,
	.fsync = cwd_fsync,
	.fdatasync = cwd_fdatasync,
	.truncate = cwd_truncate,
	.size = cwd_size,
	.close = cwd_close,
	.rename = cwd_rename,
	.unlink = cwd_unlink,
	.link = cwd_link,
	.mkdir = cwd_mkdir,
	.rmdir = cwd_rmdir,
	.fsync_dir = cwd_fsync_dir,
	.stat = cwd_stat,
	.list = cwd_list,
	.free_bytes = cwd_free,
	.writeback = cwd_writeback,
};
