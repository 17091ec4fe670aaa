/* sealinit mount/: read-only mounts, cryptex overlays, and the switch to
 * the new root (the semantics of busybox switch_root and systemd's
 * switch_root(): move the API file systems, empty the initramfs without
 * crossing file systems, MS_MOVE the new root onto "/", chroot).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/str.h"
#include "mount/mount.h"

#define RAMFS_MAGIC_NR 0x858458f6u
#define TMPFS_MAGIC_NR 0x01021994u
#define RM_DEPTH_MAX 32
#define RM_DIRENT_BUF 1024

static int fs_mount_fail(struct si_diag *d, const char *target, const char *field, int e)
{
	si_diag_where(d, target, strlen(target));
	si_diag_field(d, field);
	si_diag_errno(d, e);
	return SI_E_MOUNT;
}

static int fs_join(char *out, size_t n, const char *a, const char *b)
{
	struct si_buf sb;

	si_buf_init(&sb, out, n);
	si_buf_puts(&sb, a);
	si_buf_puts(&sb, (b[0] == '/' && a[0] && a[strlen(a) - 1] == '/') ? b + 1 : b);
	return sb.truncated ? SI_E_TOO_BIG : 0;
}

int fs_mount_ro(const char *dev, const char *target, const char *fstype,
		struct si_diag *d)
{
	const char *data = NULL;

	/* MS_NODEV: the OS gets its devices from devtmpfs, never from an
	 * image.  No MS_NOSUID: the system volume and the cryptexes are
	 * verified and carry the OS's own setuid programs. */
	if (!dev || !target || !fstype)
		return SI_E_ARG;
	if (strcmp(fstype, "ext4") == 0)
		data = "noload";
	else if (strcmp(fstype, "erofs") != 0 && strcmp(fstype, "squashfs") != 0)
		return SI_E_ARG;
	if (mount(dev, target, fstype, MS_RDONLY | MS_NODEV, data) != 0)
		return fs_mount_fail(d, target, fstype, errno);
	return 0;
}

int fs_mount_data(const char *dev, const char *target, const char *fstype,
		  unsigned flags, struct si_diag *d)
{
	unsigned long mf = MS_NODEV | MS_NOSUID;
	const char *c;

	if (!dev || !target || !fstype || !*fstype || (flags & ~(unsigned)FS_DATA_NOEXEC))
		return SI_E_ARG;
	if (flags & FS_DATA_NOEXEC)
		mf |= MS_NOEXEC;
	for (c = fstype; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9')))
			return SI_E_ARG;
	if (mount(dev, target, fstype, mf, NULL) != 0)
		return fs_mount_fail(d, target, fstype, errno);
	return 0;
}

int fs_overlay_mount(const char *target, const char *const *lowers, size_t n,
		     const char *base, struct si_diag *d)
{
	char opts[FS_OVERLAY_OPTS_MAX];
	int r;

	if (!target)
		return SI_E_ARG;
	r = fs_overlay_opts(lowers, n, base, opts, sizeof opts, d);
	if (r)
		return r;
	if (mount("overlay", target, "overlay", MS_RDONLY | MS_NODEV, opts) != 0)
		return fs_mount_fail(d, target, "overlay", errno);
	return 0;
}

static size_t path_depth(const char *p)
{
	size_t k = 0;

	for (; *p; p++)
		k += *p == '/' && p[1] && p[1] != '/';
	return k;
}

int fs_overlay_apply(const char *newroot, const struct fs_layer *layers,
		     size_t n, struct si_diag *d)
{
	/* Static: one page of options and 16 paths are too much stack for
	 * PID 1's habits; this runs once, single-threaded. */
	static char base[FS_PATH_MAX];
	const char *lowers[FS_LAYERS_MAX];
	size_t depth, maxdepth = 0, i, j, k;
	int r;

	if (!newroot || (!layers && n))
		return SI_E_ARG;
	for (i = 0; i < n; i++) {
		if (strnlen(layers[i].target, FS_PATH_MAX) == FS_PATH_MAX ||
		    strnlen(layers[i].root, FS_PATH_MAX) == FS_PATH_MAX)
			return SI_E_ARG;
		if (layers[i].target[0] != '/') {
			si_diag_field(d, "overlay.target");
			si_diag_where(d, layers[i].target, strlen(layers[i].target));
			return SI_E_OVERLAY;
		}
		depth = path_depth(layers[i].target);
		if (depth > maxdepth)
			maxdepth = depth;
	}
	/* Parents first: /usr before /usr/lib, or the child would be hidden.
	 * Within a depth, first appearance decides; each target once. */
	for (depth = 0; depth <= maxdepth; depth++) {
		for (i = 0; i < n; i++) {
			if (path_depth(layers[i].target) != depth)
				continue;
			for (j = 0; j < i; j++)
				if (strcmp(layers[j].target, layers[i].target) == 0)
					break;
			if (j < i)
				continue; /* target done */
			k = 0;
			for (j = i; j < n; j++) {
				if (strcmp(layers[j].target, layers[i].target) != 0)
					continue;
				if (k == FS_LAYERS_MAX) {
					si_diag_field(d, "overlay.layers");
					si_diag_where(d, layers[i].target,
						      strlen(layers[i].target));
					return SI_E_TOO_BIG;
				}
				lowers[k++] = layers[j].root;
			}
			r = fs_join(base, sizeof base, newroot, layers[i].target);
			if (r)
				return r;
			r = fs_overlay_mount(base, lowers, k, base, d);
			if (r)
				return r;
		}
	}
	return 0;
}

/* 0, or the errno of the failed call (never an error-table code). */
static int is_mountpoint(const char *path, int *yes)
{
	char parent[FS_PATH_MAX];
	struct stat a, b;

	if (fs_join(parent, sizeof parent, path, "/..") != 0)
		return ENAMETOOLONG;
	if (stat(path, &a) != 0 || stat(parent, &b) != 0)
		return errno;
	*yes = a.st_dev != b.st_dev || a.st_ino == b.st_ino;
	return 0;
}

int fs_move_api_mounts(const char *newroot, struct si_diag *d)
{
	static const char *const api[] = { "/dev", "/proc", "/sys", "/run" };
	char dst[FS_PATH_MAX];
	struct stat st;
	size_t i;
	int mp;

	if (!newroot)
		return SI_E_ARG;
	for (i = 0; i < SI_ARRAY_SIZE(api); i++) {
		if (is_mountpoint(api[i], &mp) != 0 || !mp)
			continue;
		if (fs_join(dst, sizeof dst, newroot, api[i]) != 0)
			return SI_E_TOO_BIG;
		if (stat(dst, &st) != 0 || !S_ISDIR(st.st_mode)) {
			(void)umount2(api[i], MNT_DETACH);
			continue;
		}
		if (mount(api[i], dst, NULL, MS_MOVE, NULL) != 0)
			return fs_mount_fail(d, api[i], "MS_MOVE", errno);
	}
	return 0;
}

/* getdents64 directly: opendir/readdir would malloc. */
struct rm_dirent {
	uint64_t ino;
	int64_t off;
	unsigned short reclen;
	unsigned char type;
	char name[];
};

/* Deletes what is inside directory dfd, staying on file system `dev`. */
static void rm_tree(int dfd, dev_t dev, int depth)
{
	/* Static per level: recursion depth times one small buffer, no stack
	 * surprises deep in an odd initramfs. */
	static uint64_t bufs[RM_DEPTH_MAX][RM_DIRENT_BUF / 8];
	char *buf = (char *)bufs[depth];
	long n;

	for (;;) {
		long pos;
		int removed = 0;

		n = syscall(SYS_getdents64, dfd, buf, RM_DIRENT_BUF);
		if (n <= 0)
			return;
		for (pos = 0; pos < n;) {
			struct rm_dirent *e = (struct rm_dirent *)(void *)(buf + pos);
			struct stat st;
			int fd;

			if (e->reclen == 0 || e->reclen > n - pos)
				return;
			pos += e->reclen;
			if (strcmp(e->name, ".") == 0 || strcmp(e->name, "..") == 0)
				continue;
			if (fstatat(dfd, e->name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
			    st.st_dev != dev)
				continue; /* another file system: leave it */
			if (S_ISDIR(st.st_mode)) {
				if (depth + 1 >= RM_DEPTH_MAX)
					continue;
				fd = openat(dfd, e->name,
					    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (fd < 0)
					continue;
				if (fstat(fd, &st) == 0 && st.st_dev == dev)
					rm_tree(fd, dev, depth + 1);
				close(fd);
				removed += unlinkat(dfd, e->name, AT_REMOVEDIR) == 0;
			} else {
				removed += unlinkat(dfd, e->name, 0) == 0;
			}
		}
		/* Entries were removed under the directory's cursor: start over
		 * until a full pass removes nothing. */
		if (removed && lseek(dfd, 0, SEEK_SET) != 0)
			return;
	}
}

int fs_switch_root(const char *newroot, struct si_diag *d)
{
	struct statfs sfs;
	struct stat root, nr;
	int mp, r, fd;

	if (!newroot || newroot[0] != '/')
		return SI_E_ARG;
	si_diag_where(d, newroot, strlen(newroot));
	r = is_mountpoint(newroot, &mp);
	if (r != 0 || !mp || stat("/", &root) != 0 || stat(newroot, &nr) != 0 ||
	    root.st_dev == nr.st_dev) {
		si_diag_field(d, "newroot");
		if (r)
			si_diag_errno(d, r);
		return SI_E_NOT_MOUNTPOINT;
	}
	r = fs_move_api_mounts(newroot, d);
	if (r)
		return r;
	if (chdir(newroot) != 0) {
		si_diag_field(d, "chdir");
		si_diag_errno(d, errno);
		return SI_E_SWITCH_ROOT;
	}
	/* Empty the initramfs: its pages are RAM the real system wants back.
	 * Only a ramfs/tmpfs root; a real disk root is never touched. */
	if (statfs("/", &sfs) == 0 &&
	    ((uint32_t)sfs.f_type == RAMFS_MAGIC_NR || (uint32_t)sfs.f_type == TMPFS_MAGIC_NR)) {
		fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd >= 0) {
			rm_tree(fd, root.st_dev, 0);
			close(fd);
		}
	}
	if (mount(".", "/", NULL, MS_MOVE, NULL) != 0) {
		si_diag_field(d, "MS_MOVE");
		si_diag_errno(d, errno);
		return SI_E_SWITCH_ROOT;
	}
	if (chroot(".") != 0) {
		si_diag_field(d, "chroot");
		si_diag_errno(d, errno);
		return SI_E_SWITCH_ROOT;
	}
	if (chdir("/") != 0) {
		si_diag_field(d, "chdir(/)");
		si_diag_errno(d, errno);
		return SI_E_SWITCH_ROOT;
	}
	return 0;
}
