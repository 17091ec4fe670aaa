/* sealinit: PID 1's plan_ops -- how the planner sees this machine.
 *
 * The preboot volume is reached through one directory descriptor; every
 * file on it is resolved without following a symbolic link anywhere on its
 * path (mount/resolve.c), its type checked on the descriptor before a byte
 * is read, and opened without blocking (a FIFO put where a cryptex belongs
 * must not hang PID 1).  Handles are file descriptors, kept open by the
 * plan: the loop device of a cryptex is attached to the descriptor its
 * seal was read through, and the system volume's table names the device
 * number of the descriptor that was checked.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "init/boot.h"
#include "init/log.h"
#include "lib/fdio.h"
#include "lib/str.h"

static int preboot_fd = -1;

int boot_ops_preboot(const char *dir)
{
	if (preboot_fd >= 0)
		close(preboot_fd);
	preboot_fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return preboot_fd < 0 ? -1 : 0;
}

void boot_mkdirs(const char *path)
{
	char p[PLAN_PATH_MAX];
	size_t i;

	snprintf(p, sizeof p, "%s", path);
	for (i = 1; p[i]; i++)
		if (p[i] == '/') {
			p[i] = '\0';
			mkdir(p, 0755);
			p[i] = '/';
		}
	mkdir(p, 0755);
}

void boot_fd_path(int fd, char *out, size_t n)
{
	snprintf(out, n, "/proc/self/fd/%d", fd);
}

static int ops_list(void *ctx, const char *dir,
		    void (*each)(void *arg, const char *name, size_t len), void *arg,
		    struct si_diag *d)
{
	(void)ctx;
	return fs_tree_list(preboot_fd, dir, each, arg, d);
}

static int ops_open(void *ctx, const char *path, int *h, uint64_t *size, struct si_diag *d)
{
	(void)ctx;
	return fs_tree_open(preboot_fd, path, h, size, d);
}

int boot_wait_partition(const char *label, char *path, size_t n, char *hint,
			size_t hint_n, struct si_diag *d)
{
	static struct part_table t;
	struct timespec start, now, nap = { 0, 10 * 1000 * 1000 };
	int r;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		si_diag_clear(d);
		r = part_find_by_label(label, &t, path, n, d);
		if (r != SI_E_PART_NOTFOUND)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
		    CONFIG_DEVICE_WAIT_MS)
			break;
		nanosleep(&nap, NULL);
	}
	if (r == SI_E_PART_NOTFOUND && hint && hint_n) {
		char line[400];

		/* As the kernel lists partitions when root= is wrong. */
		if (!part_table_hint(&t, line, sizeof line))
			snprintf(line, sizeof line, "none");
		snprintf(hint, hint_n, "waited %d ms; block devices: %s", CONFIG_DEVICE_WAIT_MS, line);
	}
	return r;
}

static int ops_open_part(void *ctx, const char *label, int *h, uint64_t *size,
			 char *hint, size_t hint_n, struct si_diag *d)
{
	char dev[64];
	struct stat st;
	int fd, r;

	(void)ctx;
	r = boot_wait_partition(label, dev, sizeof dev, hint, hint_n, d);
	if (r)
		return r;
	fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return si_diag_sys(d, SI_E_OPEN, dev, errno);
	if (fstat(fd, &st) != 0 || !S_ISBLK(st.st_mode) || ioctl(fd, BLKGETSIZE64, size) != 0) {
		int e = errno;

		close(fd);
		return si_diag_sys(d, SI_E_NODE, dev, e);
	}
	*h = fd;
	return 0;
}

static int ops_read_at(void *ctx, int h, uint64_t off, void *buf, size_t len)
{
	(void)ctx;
	return si_pread_full(h, off, buf, len, NULL);
}

static void ops_close(void *ctx, int h)
{
	(void)ctx;
	if (h >= 0)
		close(h);
}

/* /sys/module/NAME/initstate exists only for loaded modules ('-' is '_'
 * there).  init_module(2) would say EEXIST, but only after checking the
 * module's signature and laying it out. */
int boot_module_loaded(const char *name)
{
	char path[KC_NAME_MAX + 32];
	struct stat st;
	char *c;

	snprintf(path, sizeof path, "/sys/module/%s/initstate", name);
	for (c = path + 12; *c && *c != '/'; c++)
		if (*c == '-')
			*c = '_';
	return stat(path, &st) == 0;
}

static int ops_module_loaded(void *ctx, const char *name)
{
	(void)ctx;
	return boot_module_loaded(name);
}

static void ops_log(void *ctx, int level, const char *line)
{
	(void)ctx;
	si_log(level, "%s", line);
}

void boot_ops_init(struct boot *b)
{
	b->ops.ctx = b;
	b->ops.log = ops_log;
	b->ops.list = ops_list;
	b->ops.open = ops_open;
	b->ops.open_part = ops_open_part;
	b->ops.read_at = ops_read_at;
	b->ops.close = ops_close;
	b->ops.module_loaded = ops_module_loaded;
}
