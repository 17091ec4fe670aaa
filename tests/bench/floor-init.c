/* The unverified floor of the boot-cost benchmark (tests/bench/bench-boot):
 * an /init that does what every boot of the demo system pays whatever it
 * verifies, and nothing else -- no seal, no signature, no dm-verity, no
 * plan, no log but its last two lines.  Built static for the board
 * (qemu/module.mk), put in place of sealinit in sealinit's own initramfs
 * by tests/bench/mkfloor-initramfs.  A measuring tool, never a boot path:
 * it trusts every byte it reads.
 *
 * Stage by stage, as sealinit names its stages (init/main.c):
 *   mounts       /proc, /sys, /dev, /run, with sealinit's flags
 *   storage      /lib/modules/order by finit_module(2), in the list's
 *                order (sealinit's order with one CPU); the preboot
 *                partition by GPT name (PARTNAME in sysfs), mounted ext4 ro
 *   kc           the boot kernel collection found on preboot (the first
 *                kc/boot.kc of a walk in name order, at any depth up to 3,
 *                so preboot/kc/boot.kc and preboot/slots/a/kc/boot.kc both
 *                work), read whole, and its modules init_module(2)'d from
 *                those bytes in its table's order: the same module images
 *                sealinit loads, unchecked (a module already in is
 *                skipped, as sealinit skips it)
 *   system       the system partition's erofs mounted plain on /newroot
 *                (erofs ignores the hash tree and seal after its blocks)
 *   cryptex      every *.cryptex of the cryptexes/ directory next to that
 *                kc/, in name order: a read-only loop device (direct I/O,
 *                as sealinit attaches it), erofs mounted plain; then one
 *                overlay per target, parents first, the targets baked into
 *                /floor.conf at build time (a floor reads no manifest)
 *   data         the data partition, ext4, nodev,nosuid,noexec
 *   handoff      the real init exists and is executable
 *   switch_root  the API mounts moved into the new root, the initramfs
 *                emptied, the new root moved onto /, chroot
 * then "bench-floor: timing: ..." and "bench-floor: handoff: exec ..." on
 * the console and execv of /sbin/init.  Any failure prints
 * "bench-floor: FAILED: ..." and powers off.
 *
 * /floor.conf, one directive a line:
 *   labels PREBOOT SYSTEM DATA     the GPT partition names
 *   overlay NAME TARGET            NAME.cryptex goes on TARGET
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/loop.h>

#define NEWROOT "/newroot"
#define PREBOOT "/run/floor/preboot"
#define CXDIR "/run/floor/cryptex"
#define MAX_CX 16
#define MAX_STAGES 12

static struct timespec t0, stage_t0;
static struct {
	const char *name;
	long us;
} stages[MAX_STAGES];
static unsigned n_stages;

static long us_since(const struct timespec *a)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - a->tv_sec) * 1000000L + (now.tv_nsec - a->tv_nsec) / 1000;
}

static void stage_end(const char *name)
{
	if (n_stages < MAX_STAGES) {
		stages[n_stages].name = name;
		stages[n_stages].us = us_since(&stage_t0);
		n_stages++;
	}
	clock_gettime(CLOCK_MONOTONIC, &stage_t0);
}

/* The kernel opened /dev/console as fds 0-2 for /init. */
static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof line - 2)
		n = sizeof line - 2;
	line[n++] = '\n';
	(void)!write(1, line, (size_t)n);
}

static void __attribute__((noreturn)) fail(const char *what, const char *arg, int e)
{
	say("bench-floor: FAILED: %s %s: %s", what, arg ? arg : "", e ? strerror(e) : "");
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

/* ---------------------------------------------------------------- config */

static char label_pre[64] = "preboot", label_sys[64] = "system", label_data[64] = "data";
static struct {
	char name[64], target[256];
} ov[MAX_CX];
static unsigned n_ov;

static void read_conf(void)
{
	char line[512], a[256], b[256], c[256];
	FILE *f = fopen("/floor.conf", "re");

	if (!f)
		fail("open", "/floor.conf", errno);
	while (fgets(line, sizeof line, f)) {
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "labels %63s %63s %63s", a, b, c) == 3) {
			snprintf(label_pre, sizeof label_pre, "%s", a);
			snprintf(label_sys, sizeof label_sys, "%s", b);
			snprintf(label_data, sizeof label_data, "%s", c);
		} else if (sscanf(line, "overlay %63s %255s", a, b) == 2 && n_ov < MAX_CX &&
			   b[0] == '/') {
			snprintf(ov[n_ov].name, sizeof ov[n_ov].name, "%s", a);
			snprintf(ov[n_ov].target, sizeof ov[n_ov].target, "%s", b);
			n_ov++;
		} else {
			fail("/floor.conf: bad line", line, 0);
		}
	}
	fclose(f);
}

/* ---------------------------------------------------------------- partitions */

/* /dev/<DEVNAME> of the partition whose uevent says PARTNAME=label, or 0. */
static int find_part(const char *label, char *dev, size_t n)
{
	char path[300], buf[1024], *l, *save;
	struct dirent *e;
	int found = 0;
	DIR *d = opendir("/sys/class/block");

	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		char devname[64] = "";
		int fd, match = 0;
		ssize_t len;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof path, "/sys/class/block/%s/uevent", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof buf - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		for (l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			if (strncmp(l, "DEVNAME=", 8) == 0)
				snprintf(devname, sizeof devname, "%s", l + 8);
			else if (strncmp(l, "PARTNAME=", 9) == 0 && strcmp(l + 9, label) == 0)
				match = 1;
		}
		if (match && devname[0]) {
			snprintf(dev, n, "/dev/%s", devname);
			found = 1;
		}
	}
	closedir(d);
	return found;
}

/* As sealinit waits (CONFIG_DEVICE_WAIT_MS, 10 ms naps): 5 s here. */
static void wait_part(const char *label, char *dev, size_t n)
{
	struct timespec start, nap = { 0, 10 * 1000 * 1000 };

	clock_gettime(CLOCK_MONOTONIC, &start);
	while (!find_part(label, dev, n)) {
		if (us_since(&start) > 5000000L)
			fail("no partition named", label, 0);
		nanosleep(&nap, NULL);
	}
}

/* ---------------------------------------------------------------- modules */

static void load_initramfs_modules(void)
{
	char line[256], path[300];
	FILE *f = fopen("/lib/modules/order", "re");

	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		int fd;

		line[strcspn(line, "\n")] = '\0';
		if (!line[0])
			continue;
		snprintf(path, sizeof path, "/lib/modules/%s", line);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fail("open", path, errno);
		if (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)
			fail("finit_module", path, errno);
		close(fd);
	}
	fclose(f);
}

static int is_dir(const char *p)
{
	struct stat st;

	return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The first DIR/.../kc/boot.kc in name order, depth <= 3 below DIR. */
static int find_kc(const char *dir, int depth, char *out, size_t n)
{
	struct dirent **ent;
	char p[512];
	int i, k, found = 0;

	snprintf(p, sizeof p, "%s/kc/boot.kc", dir);
	if (access(p, R_OK) == 0) {
		snprintf(out, n, "%s", p);
		return 1;
	}
	if (depth == 3)
		return 0;
	k = scandir(dir, &ent, NULL, alphasort);
	for (i = 0; i < k; i++) {
		if (!found && ent[i]->d_name[0] != '.') {
			snprintf(p, sizeof p, "%s/%s", dir, ent[i]->d_name);
			if (is_dir(p))
				found = find_kc(p, depth + 1, out, n);
		}
		free(ent[i]);
	}
	if (k >= 0)
		free(ent);
	return found;
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | p[n];
	return v;
}

/* The collection archive (docs/formats.md, "Kernel collections"): a
 * 96-byte header, then 96-byte entries (name[56], offset, size, 24
 * reserved); bounds checked only so that a wrong file fails loudly. */
static void load_kc_modules(const char *kc)
{
	struct stat st;
	uint8_t *buf;
	uint64_t count, i, got = 0;
	int fd = open(kc, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0)
		fail("open", kc, errno);
	buf = malloc((size_t)st.st_size);
	if (!buf)
		fail("malloc for", kc, ENOMEM);
	while (got < (uint64_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r <= 0)
			fail("read", kc, r < 0 ? errno : EIO);
		got += (uint64_t)r;
	}
	close(fd);
	if (got < 96 || memcmp(buf, "SIKCOLL", 8) != 0)
		fail("not a kernel collection:", kc, 0);
	count = le(buf + 12, 4);
	if (count > (got - 96) / 96)
		fail("module table out of bounds:", kc, 0);
	for (i = 0; i < count; i++) {
		const uint8_t *e = buf + 96 + 96 * i;
		uint64_t off = le(e + 56, 8), size = le(e + 64, 8);
		char name[57], initstate[128], *c;
		struct stat ms;

		memcpy(name, e, 56);
		name[56] = '\0';
		if (off > got || size > got - off)
			fail("module out of bounds:", name, 0);
		snprintf(initstate, sizeof initstate, "/sys/module/%s/initstate", name);
		for (c = initstate + 12; *c && *c != '/'; c++)
			if (*c == '-')
				*c = '_';
		if (stat(initstate, &ms) == 0)
			continue; /* in already (the initramfs had it) */
		if (syscall(SYS_init_module, buf + off, (unsigned long)size, "") != 0 && errno != EEXIST)
			fail("init_module", name, errno);
	}
	free(buf);
}

/* ---------------------------------------------------------------- cryptexes */

static const char *ov_target(const char *name)
{
	unsigned i;

	for (i = 0; i < n_ov; i++)
		if (strcmp(ov[i].name, name) == 0)
			return ov[i].target;
	return NULL;
}

/* A free loop device on FILE, read-only, autoclear, direct I/O where the
 * backing file system allows it (mount/loop.c's choices).  Returns its
 * open descriptor: autoclear detaches the device at the last close, so
 * the caller closes it only once the mount holds the device. */
static int loop_attach(const char *file, char *dev, size_t n)
{
	struct loop_config cfg;
	int ctl, lfd, bfd, nr, tries;

	bfd = open(file, O_RDONLY | O_CLOEXEC);
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (bfd < 0 || ctl < 0)
		fail("open", bfd < 0 ? file : "/dev/loop-control", errno);
	for (tries = 0; tries < 16; tries++) {
		int dio = 1;

		nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0)
			fail("LOOP_CTL_GET_FREE", file, errno);
		snprintf(dev, n, "/dev/loop%d", nr);
		lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0 && errno == ENOENT && mknod(dev, S_IFBLK | 0600, makedev(7, nr)) == 0)
			lfd = open(dev, O_RDWR | O_CLOEXEC);
		if (lfd < 0)
			fail("open", dev, errno);
		for (;;) {
			memset(&cfg, 0, sizeof cfg);
			cfg.fd = (uint32_t)bfd;
			cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR |
					    (dio ? LO_FLAGS_DIRECT_IO : 0);
			if (ioctl(lfd, LOOP_CONFIGURE, &cfg) == 0) {
				close(ctl);
				close(bfd); /* the loop device holds the file */
				return lfd;
			}
			if (errno == EINVAL && dio) {
				dio = 0;
				continue;
			}
			break;
		}
		if (errno != EBUSY)
			fail("LOOP_CONFIGURE", file, errno);
		close(lfd);
	}
	fail("no free loop device for", file, EBUSY);
}

static int depth_of(const char *p)
{
	int k = 0;

	for (; *p; p++)
		k += *p == '/' && p[1];
	return k;
}

static void mount_cryptexes(const char *setdir)
{
	struct dirent **ent;
	char dir[512], file[600], dev[32], mnt[300];
	char names[MAX_CX][64];
	const char *targets[MAX_CX];
	unsigned n = 0, i, j;
	int k, m, depth, lfd;

	snprintf(dir, sizeof dir, "%s/cryptexes", setdir);
	k = scandir(dir, &ent, NULL, alphasort);
	if (k < 0)
		fail("scandir", dir, errno);
	for (m = 0; m < k; m++) {
		size_t len = strlen(ent[m]->d_name);

		if (len > 8 && strcmp(ent[m]->d_name + len - 8, ".cryptex") == 0 && n < MAX_CX &&
		    len - 8 < sizeof names[0]) {
			memcpy(names[n], ent[m]->d_name, len - 8);
			names[n][len - 8] = '\0';
			targets[n] = ov_target(names[n]);
			if (!targets[n])
				fail("no overlay target in /floor.conf for", ent[m]->d_name, 0);
			snprintf(file, sizeof file, "%s/%s", dir, ent[m]->d_name);
			snprintf(mnt, sizeof mnt, CXDIR "/%s", names[n]);
			mkdir(mnt, 0755);
			lfd = loop_attach(file, dev, sizeof dev);
			if (mount(dev, mnt, "erofs", MS_RDONLY | MS_NODEV, NULL) != 0)
				fail("mount erofs", file, errno);
			close(lfd);
			n++;
		}
		free(ent[m]);
	}
	free(ent);
	/* One overlay per target, parents first; its cryptexes in name order. */
	for (depth = 0; depth < 64; depth++) {
		for (i = 0; i < n; i++) {
			char opts[2048], at[300];
			size_t o = 0;

			if (depth_of(targets[i]) != depth)
				continue;
			for (j = 0; j < i && strcmp(targets[j], targets[i]) != 0; j++)
				;
			if (j < i)
				continue; /* target done */
			o += (size_t)snprintf(opts + o, sizeof opts - o, "lowerdir=");
			for (j = i; j < n; j++)
				if (strcmp(targets[j], targets[i]) == 0)
					o += (size_t)snprintf(opts + o, sizeof opts - o, CXDIR "/%s:", names[j]);
			snprintf(at, sizeof at, NEWROOT "%s", targets[i]);
			snprintf(opts + o, sizeof opts - o, "%s", at);
			if (mount("overlay", at, "overlay", MS_RDONLY | MS_NODEV, opts) != 0)
				fail("mount overlay on", at, errno);
		}
	}
}

/* ---------------------------------------------------------------- switch_root */

/* What is inside directory fd, on file system dev only. */
static void rm_tree(int fd, dev_t dev)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;

	if (!d) {
		close(fd);
		return;
	}
	while ((e = readdir(d))) {
		struct stat st;

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != dev)
			continue;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

			if (sub >= 0)
				rm_tree(sub, dev);
			unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR);
		} else {
			unlinkat(dirfd(d), e->d_name, 0);
		}
	}
	closedir(d);
}

static void switch_root(void)
{
	static const char *const api[] = { "/dev", "/proc", "/sys", "/run" };
	char dst[64];
	struct stat root;
	unsigned i;
	int fd;

	for (i = 0; i < sizeof api / sizeof api[0]; i++) {
		snprintf(dst, sizeof dst, NEWROOT "%s", api[i]);
		if (mount(api[i], dst, NULL, MS_MOVE, NULL) != 0)
			fail("move", api[i], errno);
	}
	if (stat("/", &root) != 0 || chdir(NEWROOT) != 0)
		fail("chdir", NEWROOT, errno);
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0)
		rm_tree(fd, root.st_dev);
	if (mount(".", "/", NULL, MS_MOVE, NULL) != 0 || chroot(".") != 0 || chdir("/") != 0)
		fail("switch_root", NEWROOT, errno);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv)
{
	char dev[64], kc[512], setdir[512], line[1024], *slash;
	long total;
	unsigned i;
	size_t o = 0;

	(void)argc;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	stage_t0 = t0;

	mkdir("/proc", 0755);
	mkdir("/sys", 0755);
	mkdir("/dev", 0755);
	mkdir("/run", 0755);
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0 ||
	    mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0 ||
	    (mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755") != 0 && errno != EBUSY) ||
	    mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
		fail("early mounts", NULL, errno);
	stage_end("mounts");

	read_conf();
	load_initramfs_modules();
	wait_part(label_pre, dev, sizeof dev);
	mkdir("/run/floor", 0755);
	mkdir(PREBOOT, 0755);
	mkdir(CXDIR, 0755);
	if (mount(dev, PREBOOT, "ext4", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0)
		fail("mount preboot", dev, errno);
	stage_end("storage");

	if (!find_kc(PREBOOT, 0, kc, sizeof kc))
		fail("no kc/boot.kc on", PREBOOT, ENOENT);
	load_kc_modules(kc);
	stage_end("kc");

	wait_part(label_sys, dev, sizeof dev);
	mkdir(NEWROOT, 0755);
	if (mount(dev, NEWROOT, "erofs", MS_RDONLY | MS_NODEV, NULL) != 0)
		fail("mount system", dev, errno);
	stage_end("system");

	/* The cryptexes live next to the collection: DIR/kc/boot.kc and
	 * DIR/cryptexes/. */
	snprintf(setdir, sizeof setdir, "%s", kc);
	for (i = 0; i < 2; i++) {
		slash = strrchr(setdir, '/');
		if (slash)
			*slash = '\0';
	}
	mount_cryptexes(setdir);
	stage_end("cryptex");

	if (!find_part(label_data, dev, sizeof dev) ||
	    mount(dev, NEWROOT "/data", "ext4", MS_NODEV | MS_NOSUID | MS_NOEXEC, NULL) != 0)
		fail("mount data", label_data, errno);
	stage_end("data");

	if (access(NEWROOT "/sbin/init", X_OK) != 0)
		fail("no init", NEWROOT "/sbin/init", errno);
	stage_end("handoff");

	switch_root();
	stage_end("switch_root");

	total = us_since(&t0);
	for (i = 0; i < n_stages; i++)
		o += (size_t)snprintf(line + o, o < sizeof line ? sizeof line - o : 0, "%s%s %ld.%03ld ms",
				      i ? ", " : "", stages[i].name, stages[i].us / 1000, stages[i].us % 1000);
	say("bench-floor: timing: %s; total %ld.%03ld ms", line, total / 1000, total % 1000);
	total = us_since(&t0);
	say("bench-floor: handoff: exec /sbin/init after %ld.%03ld ms", total / 1000, total % 1000);
	argv[0] = (char *)"/sbin/init";
	execv("/sbin/init", argv);
	fail("exec", "/sbin/init", errno);
}
