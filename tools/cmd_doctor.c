/* sealctl doctor: sealinit's boot, decided on the host.
 *
 * Runs the planner sealinit runs (plan/: the same code, the same console
 * lines) on a GPT disk image -- or a preboot tree and a system image --
 * with the device tree and the kernel command line the device will boot
 * with, then the checks sealinit makes once the system volume is mounted
 * (overlay targets and the data volume's mount point resolved inside it
 * without symbolic links, the real init resolved inside it), and prints
 * the lines sealinit would print and the plan it would execute.  Exit 0
 * only where the boot would hand off to the real init.
 *
 * What it reads, and how: the disk's GPT (mount/gpt.c); the preboot ext4
 * volume with debugfs (e2fsprogs: rdump, plus "ls -p" for the file types
 * rdump does not recreate); the system volume's file system with
 * fsck.erofs --extract (erofs) or debugfs (ext4).  Nothing is mounted.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/fs.h>

#include "lib/fdio.h"
#include "lib/str.h"
#include "mount/mount.h"
#include "plan/plan.h"
#include "tools/json.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"

/* The --help text and sealctl(1)'s section: docs/man/sealctl.txt. */
#define CMD "doctor"
#define MAX_HANDLES 64
#define DOC_LINES 512

/* ------------------------------------------------------------ state */

struct handle {
	int fd;          /* -1: free */
	uint64_t base;   /* where the object starts in fd */
	uint64_t size;
};

struct doc {
	int json;
	struct plan_board board;
	struct si_cmdline cmdline;
	struct plan_settings set;
	struct plan_ops ops;
	struct si_anchor anchor;
	char tmp[PATH_MAX];
	/* the disk image, or the system image alone */
	int disk_fd;
	uint64_t disk_size;
	struct gpt_table gpt;
	int have_gpt;
	const char *system_path;
	/* the preboot tree */
	int preboot_fd;
	/* initramfs modules: what the kernel will have loaded */
	struct plan_modset initramfs;
	int have_initramfs;
	struct handle h[MAX_HANDLES];
	/* the lines, in order */
	char *lines[DOC_LINES];
	int levels[DOC_LINES];
	unsigned n_lines;
	const char *release;
	const char *fail_stage;
	char verdict[2 * PLAN_PATH_MAX + 64];
};

static struct doc D;

static void doc_log(void *ctx, int level, const char *line)
{
	struct doc *d = ctx;

	if (d->n_lines < DOC_LINES) {
		d->lines[d->n_lines] = strdup(line);
		d->levels[d->n_lines++] = level;
	}
	if (!d->json)
		printf("%s\n", line);
}

static int new_handle(struct doc *d, int fd, uint64_t base, uint64_t size)
{
	int i;

	for (i = 0; i < MAX_HANDLES; i++)
		if (d->h[i].fd < 0) {
			d->h[i].fd = fd;
			d->h[i].base = base;
			d->h[i].size = size;
			return i;
		}
	return -1;
}

/* ------------------------------------------------------------ tools */

/* Runs argv (no shell) in `dir`, stdout into out[0..cap) (NUL-terminated,
 * NULL: discarded), stderr discarded.  Returns the exit status, -1 when it
 * could not run or its output did not fit. */
static int run(const char *dir, char *const argv[], char *out, size_t cap, size_t *len)
{
	int pfd[2], st;
	size_t got = 0;
	pid_t pid;

	if (pipe2(pfd, O_CLOEXEC) != 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		if (dir && chdir(dir) != 0)
			_exit(127);
		dup2(pfd[1], 1);
		if (null >= 0)
			dup2(null, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(pfd[1]);
	for (;;) {
		char sink[4096];
		ssize_t n = out && got + 1 < cap ? read(pfd[0], out + got, cap - 1 - got)
						 : read(pfd[0], sink, sizeof sink);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (out && got + 1 < cap)
			got += (size_t)n;
		else if (out)
			got = cap; /* overflowed */
	}
	close(pfd[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (out) {
		if (got >= cap)
			return -1;
		out[got] = '\0';
		if (len)
			*len = got;
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Copies bytes [off, off + size) of fd into a new file `path`. */
static int copy_out(int fd, uint64_t off, uint64_t size, const char *path)
{
	static uint8_t buf[1 << 20];
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	uint64_t done = 0;
	int r = 0;

	if (out < 0)
		return SI_E_OPEN;
	while (done < size && !r) {
		size_t n = size - done < sizeof buf ? (size_t)(size - done) : sizeof buf;

		r = si_pread_full(fd, off + done, buf, n, NULL);
		if (!r)
			r = si_pwrite_full(out, done, buf, n, NULL);
		done += n;
	}
	if (close(out) != 0 && !r)
		r = SI_E_IO;
	return r;
}

/* ------------------------------------------------------------ preboot from a disk */

/* One "ls -p" record: /ino/mode/uid/gid/name/size/ (names hold no '/'). */
static void each_record(const char *out, void (*fn)(void *arg, unsigned mode, const char *name,
						    size_t len), void *arg)
{
	const char *p = out;

	while ((p = strchr(p, '/')) != NULL) {
		const char *f[6];
		unsigned k, mode;

		for (k = 0; k < 6 && p; k++) {
			f[k] = p + 1;
			p = strchr(p + 1, '/');
		}
		if (!p || k < 6)
			break;
		mode = (unsigned)strtoul(f[1], NULL, 8);
		fn(arg, mode, f[4], (size_t)(f[5] - 1 - f[4]));
		p = strchr(p + 1, '\n'); /* past "size/" */
		if (!p)
			break;
	}
}

struct special_ctx {
	const char *dir; /* where this directory was dumped */
	unsigned made;
};

/* rdump recreates directories, regular files and symbolic links; anything
 * else (a FIFO, a device node, a socket) is made here, so the tree shows
 * what the volume holds. */
static void make_special(void *arg, unsigned mode, const char *name, size_t len)
{
	struct special_ctx *c = arg;
	char path[PATH_MAX * 3 + NAME_MAX + 2];
	unsigned t = mode & S_IFMT;

	if (t == S_IFDIR || t == S_IFREG || t == S_IFLNK || len == 0 || len > NAME_MAX ||
	    memchr(name, '\0', len))
		return;
	snprintf(path, sizeof path, "%s/%.*s", c->dir, (int)len, name);
	if (t == S_IFCHR || t == S_IFBLK) {
		if (mknod(path, t | 0600, makedev(1, 3)) == 0) {
			c->made++;
			return;
		}
	}
	if (mkfifo(path, 0600) == 0)
		c->made++;
}

static int preboot_from_disk(struct doc *d, const struct gpt_part *p)
{
	char img[PATH_MAX + 16], root[PATH_MAX + 16], req[PATH_MAX + 32];
	static char listing[1 << 20];
	static char dirs[3 + 3 * UP_SLOTS][PLAN_PATH_MAX + 16];
	unsigned i, ndirs;
	int r;

	snprintf(img, sizeof img, "%s/preboot.img", d->tmp);
	snprintf(root, sizeof root, "%s/preboot", d->tmp);
	r = copy_out(d->disk_fd, p->first_lba * d->gpt.sector,
		     (p->last_lba - p->first_lba + 1) * d->gpt.sector, img);
	if (r || mkdir(root, 0700) != 0)
		return sealctl_report(CMD, "preboot volume", r ? r : SI_E_IO, NULL);
	snprintf(req, sizeof req, "rdump / %s", root);
	{
		char *const argv[] = { "debugfs", "-R", req, img, NULL };

		if (run(NULL, argv, NULL, 0, NULL) != 0) {
			sealctl_msg(CMD, "debugfs could not read the preboot volume (is it ext4? is e2fsprogs installed?)");
			return SEALCTL_SYSTEM;
		}
	}
	/* rdump skips what is not a file or a directory (FIFOs, devices,
	 * sockets, links): the directories sealinit reads are listed with
	 * their types and those entries made again, so that the plan sees
	 * what the boot sees. */
	{
		char kcdir[PLAN_PATH_MAX], *slash;
		unsigned k;

		snprintf(kcdir, sizeof kcdir, "%s", d->board.kc_boot_path);
		slash = strrchr(kcdir, '/');
		if (slash)
			*slash = '\0';
		ndirs = 0;
		snprintf(dirs[ndirs++], sizeof dirs[0], "%s", "");
		snprintf(dirs[ndirs++], sizeof dirs[0], "%s", "slots");
		snprintf(dirs[ndirs++], sizeof dirs[0], "%s", UP_STAGED_DIR);
		for (k = 0; k < UP_SLOTS; k++) {
			snprintf(dirs[ndirs++], sizeof dirs[0], "%s", up_slot_dir((char)('a' + k)));
			snprintf(dirs[ndirs++], sizeof dirs[0], "%s/%s", up_slot_dir((char)('a' + k)),
				 d->board.cryptex_dir);
			if (slash)
				snprintf(dirs[ndirs++], sizeof dirs[0], "%s/%s",
					 up_slot_dir((char)('a' + k)), kcdir);
		}
	}
	for (i = 0; i < ndirs; i++) {
		const char *dir = dirs[i];
		struct special_ctx c;

		snprintf(req, sizeof req, "ls -p /%s", dir);
		{
			char *const argv[] = { "debugfs", "-R", req, img, NULL };

			if (run(NULL, argv, listing, sizeof listing, NULL) != 0)
				continue;
		}
		{
			char where[PATH_MAX * 3];

			snprintf(where, sizeof where, "%s/%s", root, dir);
			c.dir = where;
			c.made = 0;
			each_record(listing, make_special, &c);
		}
	}
	d->preboot_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return d->preboot_fd < 0 ? SEALCTL_SYSTEM : 0;
}

/* ------------------------------------------------------------ plan_ops */

static int op_list(void *ctx, const char *dir, void (*each)(void *, const char *, size_t),
		   void *arg, struct si_diag *dg)
{
	struct doc *d = ctx;

	return fs_tree_list(d->preboot_fd, dir, each, arg, dg);
}

static int op_open(void *ctx, const char *path, int *h, uint64_t *size, struct si_diag *dg)
{
	struct doc *d = ctx;
	int fd, r, k;

	r = fs_tree_open(d->preboot_fd, path, &fd, size, dg);
	if (r)
		return r;
	k = new_handle(d, fd, 0, *size);
	if (k < 0) {
		close(fd);
		return SI_E_TOO_BIG;
	}
	*h = k;
	return 0;
}

/* As the boot lists partitions when a label is missing. */
static void gpt_hint(const struct doc *d, char *hint, size_t n)
{
	struct si_buf b;
	unsigned i;

	si_buf_init(&b, hint, n);
	si_buf_puts(&b, "partitions of the disk image: ");
	for (i = 0; i < d->gpt.n; i++)
		si_buf_printf(&b, "%s%u \"%s\"", i ? ", " : "", d->gpt.p[i].index, d->gpt.p[i].label);
	if (!d->gpt.n)
		si_buf_puts(&b, "none");
}

static int disk_errno; /* the last failed read's errno, for the message */

static int disk_read_at(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct doc *d = ctx;
	struct si_diag dg;
	int r;

	si_diag_clear(&dg);
	r = si_pread_full(d->disk_fd, off, buf, len, &dg);
	if (r)
		disk_errno = dg.sys_errno;
	return r;
}

static int op_open_part(void *ctx, const char *label, int *h, uint64_t *size, char *hint,
			size_t hint_n, struct si_diag *dg)
{
	struct doc *d = ctx;
	const struct gpt_part *p;
	int fd, k, r;

	if (!d->have_gpt) {
		/* --system: the image stands for the partition with the
		 * label the boot looks for. */
		struct stat st;

		fd = open(d->system_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0)
			return si_diag_sys(dg, SI_E_OPEN, d->system_path, errno);
		k = new_handle(d, fd, 0, (uint64_t)st.st_size);
		*h = k;
		*size = (uint64_t)st.st_size;
		return k < 0 ? SI_E_TOO_BIG : 0;
	}
	r = gpt_find(&d->gpt, label, &p, dg);
	if (r) {
		gpt_hint(d, hint, hint_n);
		return r;
	}
	fd = dup(d->disk_fd);
	if (fd < 0)
		return si_diag_sys(dg, SI_E_IO, label, errno);
	*size = (p->last_lba - p->first_lba + 1) * d->gpt.sector;
	k = new_handle(d, fd, p->first_lba * d->gpt.sector, *size);
	if (k < 0) {
		close(fd);
		return SI_E_TOO_BIG;
	}
	*h = k;
	return 0;
}

static int op_read_at(void *ctx, int h, uint64_t off, void *buf, size_t len)
{
	struct doc *d = ctx;

	if (h < 0 || h >= MAX_HANDLES || d->h[h].fd < 0 || !si_span_ok(off, len, d->h[h].size))
		return SI_E_SHORT;
	return si_pread_full(d->h[h].fd, d->h[h].base + off, buf, len, NULL);
}

static void op_close(void *ctx, int h)
{
	struct doc *d = ctx;

	if (h >= 0 && h < MAX_HANDLES && d->h[h].fd >= 0) {
		close(d->h[h].fd);
		d->h[h].fd = -1;
	}
}

/* At boot, the initramfs's modules are in the kernel before the plan. */
static int op_module_loaded(void *ctx, const char *name)
{
	struct doc *d = ctx;
	size_t at;

	return d->have_initramfs &&
	       kc_find(d->initramfs.info, d->initramfs.n, name, strlen(name), &at);
}

/* ------------------------------------------------------------ stages */

static int fail(struct doc *d, const char *stage)
{
	const char *action = d->set.failure == SI_FAILURE_PANIC ? "panic" :
			     d->set.failure == SI_FAILURE_RESCUE ? "rescue shell" : "reboot";

	d->fail_stage = stage;
	plan_log(&d->ops, PLAN_LOG_ERR, "sealinit: failing boot in stage '%s' (action: %s)", stage,
		 action);
	snprintf(d->verdict, sizeof d->verdict, "the boot would fail in stage '%s' (action: %s)",
		 stage, action);
	return SEALCTL_FAIL;
}

/* ------------------------------------------------------------ update */

/* The update stage as sealinit runs it, without its writes: the state
 * record and floors from the preboot tree, plan_update()'s decision, the
 * slot that boot would plan.  Applying a staged bundle or a revert is
 * not run here: the plan is the active set's, and a line says so. */
static int stage_update(struct doc *d, char *slot, struct up_state *st, struct up_floors *fl)
{
	struct up_record_info info;
	struct plan_update u;
	struct up_posix px;
	struct si_fs fs;
	struct si_diag dg;
	enum si_ftype t = SI_FT_NONE;
	uint64_t sz;
	int r;

	up_fs_posix(&fs, &px, d->preboot_fd);
	si_diag_clear(&dg);
	r = up_state_load(&fs, st, &info, &dg);
	if (r) {
		plan_log_error(&d->ops, "update", "state record", r, &dg);
		return fail(d, "update");
	}
	si_diag_clear(&dg);
	r = up_floors_load(&fs, fl, &info, &dg);
	if (r) {
		plan_log_error(&d->ops, "update", "rollback floors", r, &dg);
		return fail(d, "update");
	}
	si_diag_clear(&dg);
	plan_update(&d->board, st, fs.stat(fs.ctx, UP_STAGED_BUNDLE, &t, &sz, &dg) == 0 &&
				   t != SI_FT_NONE, &u, &d->ops);
	if (u.action == PLAN_UP_APPLY || u.action == PLAN_UP_REVERT)
		plan_log(&d->ops, PLAN_LOG_NOTICE, "sealctl doctor: the boot would first %s (not "
			 "predicted here); this plan is the active set's", u.action == PLAN_UP_APPLY ?
			 "apply the staged update" : "revert to the previous set");
	*slot = u.slot;
	plan_log(&d->ops, PLAN_LOG_INFO, "sealinit: update: booting %s (%s)", up_slot_dir(u.slot),
		 plan_update_action_name(u.action));
	return 0;
}

static int stage_anchor(struct doc *d, const char *dtb)
{
	struct si_diag dg;
	uint8_t *buf;
	size_t len;
	int r;

	si_diag_clear(&dg);
	r = sealctl_read_file(dtb, (size_t)CONFIG_MAX_FDT_KB * 1024, &buf, &len, &dg);
	if (r)
		return sealctl_report(CMD, dtb, r, &dg);
	si_diag_clear(&dg);
	r = si_anchor_parse(buf, len, d->board.uboot_usages, &d->anchor, &dg);
	free(buf);
	if (r) {
		plan_log_error(&d->ops, "anchor", "trust anchor", r, &dg);
		return fail(d, "anchor");
	}
	plan_anchor_report(&d->anchor, &d->ops);
	return 0;
}

/* The initramfs: a directory, or a cpio archive (gzip'd or not) that is
 * unpacked into the scratch directory. */
static int stage_initramfs(struct doc *d, const char *path)
{
	static char list[4096];
	char dir[PATH_MAX + 16], p[PATH_MAX * 2];
	struct stat st;
	struct si_diag dg;
	size_t len = 0;
	char *line, *save;
	int r;

	if (stat(path, &st) != 0)
		return sealctl_report(CMD, path, si_diag_sys(&dg, SI_E_OPEN, NULL, errno), &dg);
	if (S_ISDIR(st.st_mode)) {
		snprintf(dir, sizeof dir, "%s", path);
	} else {
		char *const argv[] = { "sh", "-c", "{ gzip -dc \"$1\" 2>/dev/null || cat \"$1\"; } | cpio -id --quiet",
				       "sh", realpath(path, p), NULL };

		snprintf(dir, sizeof dir, "%s/initramfs", d->tmp);
		if (mkdir(dir, 0700) != 0 || !argv[4] || run(dir, argv, NULL, 0, NULL) != 0) {
			sealctl_msg(CMD, "%s: could not unpack the initramfs (gzip, cpio)", path);
			return SEALCTL_SYSTEM;
		}
	}
	snprintf(p, sizeof p, "%s/lib/modules/order", dir);
	si_diag_clear(&dg);
	r = si_read_file(p, 0, list, sizeof list - 1, &len, &dg);
	if (r == SI_E_OPEN && dg.sys_errno == ENOENT)
		len = 0;
	else if (r)
		return sealctl_report(CMD, p, r, &dg);
	list[len] = '\0';
	d->initramfs.n = 0;
	for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct plan_modset *m = &d->initramfs;
		uint8_t *img;
		size_t ilen;

		if (m->n >= CONFIG_MAX_MODULES || strchr(line, '/'))
			break;
		snprintf(m->file[m->n], sizeof m->file[0], "/lib/modules/%s", line);
		snprintf(p, sizeof p, "%s/lib/modules/%s", dir, line);
		if (sealctl_read_file(p, 64u << 20, &img, &ilen, NULL) != 0) {
			si_diag_clear(&dg);
			plan_log_error(&d->ops, "storage", "initramfs module",
				       si_diag_sys(&dg, SI_E_OPEN, m->file[m->n], ENOENT), &dg);
			return fail(d, "storage");
		}
		m->img[m->n] = img;
		m->len[m->n] = ilen;
		m->n++;
	}
	d->have_initramfs = 1;
	r = plan_modules(&d->initramfs, d->release, "storage", "the initramfs", &d->ops);
	if (r)
		return fail(d, "storage");
	plan_log(&d->ops, PLAN_LOG_INFO, "sealinit: storage: %u initramfs modules loaded", d->initramfs.n);
	return 0;
}

/* Unpacks the file system of bytes [base, base + size) of fd (erofs with
 * fsck.erofs, ext4 with debugfs) into dir.  0 when it worked. */
static int unpack(struct doc *d, int fd, uint64_t base, uint64_t size, enum si_fstype t,
		  const char *dir, int overwrite)
{
	char img[PATH_MAX + 16], opt[PATH_MAX + 32];

	snprintf(img, sizeof img, "%s/unpack.img", d->tmp);
	if (copy_out(fd, base, size, img) != 0)
		return -1;
	if (t == SI_FS_EROFS) {
		char *const argv[] = { "fsck.erofs", opt, "--no-preserve",
				       overwrite ? "--overwrite" : img, overwrite ? img : NULL, NULL };

		snprintf(opt, sizeof opt, "--extract=%s", dir);
		return run(NULL, argv, NULL, 0, NULL);
	}
	if (t == SI_FS_EXT4) {
		char *const argv[] = { "debugfs", "-R", opt, img, NULL };

		snprintf(opt, sizeof opt, "rdump / %s", dir);
		return run(NULL, argv, NULL, 0, NULL);
	}
	return -1;
}

/* A cryptex's tree laid over target (the overlay, approximated). */
static void unpack_over(struct doc *d, const struct plan_cryptex *c, const char *root,
			const char *target)
{
	const struct handle *h = &d->h[c->img.h];
	char dir[PATH_MAX * 2];

	snprintf(dir, sizeof dir, "%s%s", root, target);
	if (c->img.h < 0 || h->fd < 0 ||
	    unpack(d, h->fd, h->base, c->img.seal.m.data_size, c->img.seal.m.fs_type, dir, 1) != 0)
		fprintf(stderr, "sealctl: doctor: cryptex '%s' was not unpacked over %s: what lies below it is the system volume's\n",
			c->name, target);
}

/* The data volume's files on its mount point (what the real init could be
 * reached through). */
static void unpack_data(struct doc *d, const struct plan *p, const char *root)
{
	const struct gpt_part *gp;
	char dir[PATH_MAX * 2];
	struct si_diag dg;

	if (!d->have_gpt || gpt_find(&d->gpt, p->data_label, &gp, &dg) != 0)
		return;
	snprintf(dir, sizeof dir, "%s%s", root, p->data_mnt);
	if (unpack(d, d->disk_fd, gp->first_lba * d->gpt.sector,
		   (gp->last_lba - gp->first_lba + 1) * d->gpt.sector, SI_FS_EXT4, dir, 1) != 0)
		fprintf(stderr, "sealctl: doctor: the data volume was not unpacked on %s\n", p->data_mnt);
}

/* The checks sealinit makes inside the mounted system volume, on its file
 * system unpacked here. */
/* The aux kernel collection's tree, as sealinit checks it once mounted
 * (mount/auxtree.c) before laying it over the system tier: unpacked (its
 * files, directories, links and devices; erofs-utils' extraction drops
 * extended attributes, so the overlay-attribute rule is sealinit's alone
 * here).  A refused tree is skipped with sealinit's lines. */
static void check_aux(struct doc *d, struct plan *p)
{
	struct plan_image *im = &p->aux;
	const struct handle *h;
	char dir[PATH_MAX + 16], what[SI_SEAL_NAME_MAX + 16];
	struct si_diag dg;
	int fd, r;

	if (im->state != PLAN_IMG_USE || im->h < 0)
		return;
	h = &d->h[im->h];
	snprintf(dir, sizeof dir, "%s/kc-aux", d->tmp);
	if (h->fd < 0 || unpack(d, h->fd, h->base, im->seal.m.data_size, im->seal.m.fs_type, dir, 0) != 0 ||
	    (fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		fprintf(stderr, "sealctl: doctor: kc-aux '%s' was not unpacked: its tree is not checked\n",
			im->seal.m.name);
		return;
	}
	si_diag_clear(&dg);
	r = fs_aux_tree_check(fd, im->seal.m.version, &dg);
	close(fd);
	if (r == 0)
		return;
	/* dg.where is relative to the tree, like sealinit's */
	snprintf(what, sizeof what, "kc-aux '%s'", im->seal.m.name);
	plan_log_error(&d->ops, "system", what, r, &dg);
	plan_log(&d->ops, PLAN_LOG_WARN, "sealinit: system: skipping the aux kernel collection %s; "
		 "the boot goes on without its modules", im->file);
	im->state = PLAN_IMG_SKIP;
	im->err = r;
}

static int stage_inside(struct doc *d, struct plan *p)
{
	char root[PATH_MAX + 16];
	const struct si_manifest *m = &p->sys.seal.m;
	struct handle *h = &d->h[p->sys.h];
	int rootfd, r = 0, fd;
	unsigned i;

	snprintf(root, sizeof root, "%s/system", d->tmp);
	if (mkdir(root, 0700) != 0)
		return sealctl_report(CMD, "system volume", SI_E_IO, NULL);
	r = unpack(d, h->fd, h->base, m->data_size, m->fs_type, root, 0);
	if (r != 0) {
		fprintf(stderr, "sealctl: doctor: the system volume's %s file system was not unpacked: overlay targets and the real init are not checked\n",
			si_seal_fstype_name(m->fs_type));
		return 0;
	}
	rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return SEALCTL_SYSTEM;
	check_aux(d, p);
	/* Overlays, parents first, as the cryptex stage mounts them: each
	 * target resolved in the tree as it stands, then the cryptexes'
	 * trees unpacked over it, the topmost last (its files win). */
	for (i = 0; i < p->n_ov; i++) {
		struct plan_overlay *o = &p->ov[i];
		struct si_diag dg;
		unsigned j;

		if (o->dropped)
			continue;
		si_diag_clear(&dg);
		r = fs_resolve(rootfd, o->target, FS_RESOLVE_DIR | FS_RESOLVE_NO_SYMLINKS, &fd, &dg);
		if (r == 0)
			close(fd);
		if (plan_overlay_resolved(p, i, r, &dg, &d->ops) != 0) {
			close(rootfd);
			return fail(d, "cryptex");
		}
		for (j = o->n; r == 0 && j-- > 0;)
			unpack_over(d, &p->cx[o->layer[j]], root, o->target);
	}
	{
		unsigned used = 0, skipped = 0;

		for (i = 0; i < p->n_ov; i++)
			used += p->ov[i].dropped ? 0 : p->ov[i].n;
		for (i = 0; i < p->n_cx; i++)
			skipped += p->cx[i].img.state == PLAN_IMG_SKIP;
		plan_log(&d->ops, PLAN_LOG_INFO, "sealinit: cryptex: %u overlaid, %u skipped", used, skipped);
	}
	if (p->has_data) {
		struct si_diag dg;

		si_diag_clear(&dg);
		r = fs_resolve(rootfd, p->data_mnt, FS_RESOLVE_DIR | FS_RESOLVE_NO_SYMLINKS, &fd, &dg);
		if (r == 0) {
			close(fd);
			unpack_data(d, p, root);
		} else {
			plan_log_error(&d->ops, "data", p->data_label, r, &dg);
			plan_log(&d->ops, PLAN_LOG_WARN, "sealinit: data: going on without the data volume");
		}
	}
	{
		char resolved[PLAN_PATH_MAX];
		struct si_diag dg;
		struct stat st;
		int exec = 0;

		si_diag_clear(&dg);
		r = fs_resolve(rootfd, p->init, 0, &fd, &dg);
		if (r) {
			r = plan_init_check(p, NULL, 0, PLAN_INIT_ON_OTHER, &dg, &d->ops);
		} else {
			exec = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111);
			if (fs_fd_path_in(fd, root, resolved, sizeof resolved) != 0)
				snprintf(resolved, sizeof resolved, "(outside the system volume)");
			close(fd);
			r = plan_init_check(p, resolved, exec, PLAN_INIT_ON_SYSTEM, &dg, &d->ops);
			if (r == 0)
				snprintf(d->verdict, sizeof d->verdict,
					 "the boot would hand off to %s (%s)", p->init, resolved);
		}
	}
	close(rootfd);
	return r ? fail(d, "handoff") : 0;
}

/* ------------------------------------------------------------ report */

static void print_plan(const struct doc *d, const struct plan *p, int ok)
{
	unsigned i, j;

	if (d->json) {
		struct json js;

		json_begin(&js, stdout, CMD, ok);
		json_bool(&js, "boots", ok);
		if (ok || d->fail_stage)
			json_str(&js, "stage", ok ? "handoff" : d->fail_stage);
		else
			json_null(&js, "stage"); /* no prediction: an input was unusable */
		json_str(&js, "verdict", d->verdict);
		json_arr_begin(&js, "lines");
		for (i = 0; i < d->n_lines; i++)
			json_str(&js, NULL, d->lines[i]);
		json_arr_end(&js);
		if (ok) {
			json_arr_begin(&js, "cryptexes");
			for (i = 0; i < p->n_cx; i++) {
				json_obj_begin(&js, NULL);
				json_str(&js, "name", p->cx[i].name);
				json_bool(&js, "required", p->cx[i].img.required);
				json_str(&js, "state", p->cx[i].img.state == PLAN_IMG_USE ? "use" : "skip");
				json_str(&js, "target", p->cx[i].target);
				json_str(&js, "reason", p->cx[i].img.reason);
				json_obj_end(&js);
			}
			json_arr_end(&js);
			json_str(&js, "init", p->init);
		} else {
			json_null(&js, "cryptexes");
			json_null(&js, "init");
		}
		json_end(&js);
		return;
	}
	printf("\nsealctl: doctor: %s\n", d->verdict);
	if (!ok)
		return;
	printf("plan:\n");
	printf("  kc       %s: kc-boot '%s' for %s, %u modules from verified memory\n", p->kc.file,
	       p->kc.seal.m.name, p->coll.release, p->coll.count);
	if (p->ksys.state == PLAN_IMG_USE)
		printf("  kc       %s: kc-system '%s' for %s through dm-verity on %s\n", p->ksys.file,
		       p->ksys.seal.m.name, p->ksys.seal.m.version, PLAN_MODULES_DIR);
	if (p->aux.state == PLAN_IMG_USE)
		printf("  kc       %s: kc-aux '%s' for %s through dm-verity over it\n", p->aux.file,
		       p->aux.seal.m.name, p->aux.seal.m.version);
	else if (p->aux.state == PLAN_IMG_SKIP)
		printf("  skipped  %s: %s\n", p->aux.file, p->aux.reason);
	printf("  system   partition '%s': system '%s' %s (%s) through dm-verity on /\n", p->sys.file,
	       p->sys.seal.m.name, p->sys.seal.m.version, si_seal_fstype_name(p->sys.seal.m.fs_type));
	for (i = 0; i < p->n_cx; i++) {
		const struct plan_cryptex *c = &p->cx[i];

		if (c->img.state == PLAN_IMG_USE)
			printf("  cryptex  %s (%s, precedence %u): %s -> %s\n", c->name,
			       c->img.required ? "required" : "optional", c->rank, c->img.file, c->mnt);
		else
			printf("  skipped  %s: %s\n", c->name, c->img.reason);
	}
	for (i = 0; i < p->n_ov; i++) {
		if (p->ov[i].dropped)
			continue;
		printf("  overlay  %s:", p->ov[i].target);
		for (j = 0; j < p->ov[i].n; j++)
			printf(" %s", p->cx[p->ov[i].layer[j]].name);
		printf(" (topmost first) over the system volume\n");
	}
	if (p->has_data)
		printf("  data     partition '%s' on %s (nodev,nosuid%s)\n", p->data_label, p->data_mnt,
		       p->data_noexec ? ",noexec" : "");
	printf("  init     %s\n", p->init);
}

/* ------------------------------------------------------------ main */

static void cleanup(struct doc *d)
{
	unsigned i;

	for (i = 0; i < MAX_HANDLES; i++)
		op_close(d, (int)i);
	if (d->preboot_fd >= 0)
		close(d->preboot_fd);
	if (d->disk_fd >= 0)
		close(d->disk_fd);
	for (i = 0; i < d->initramfs.n; i++)
		free((void *)d->initramfs.img[i]);
	for (i = 0; i < d->n_lines; i++)
		free(d->lines[i]);
	if (d->tmp[0]) {
		char *const argv[] = { "rm", "-rf", d->tmp, NULL };

		(void)run(NULL, argv, NULL, 0, NULL);
	}
}

int sealctl_cmd_doctor(int argc, char **argv)
{
	struct up_state ustate;
	struct up_floors floors;
	char slot = 'a';
	const char *disk = NULL, *preboot = NULL, *system = NULL, *dtb = NULL, *cmdline = "",
		   *release = NULL, *initramfs = NULL, *config = NULL;
	static struct plan p;
	static uint8_t kc_buf[CONFIG_KC_BOOT_MAX_KB * 1024];
	struct doc *d = &D;
	struct si_diag dg;
	int m, r, i;

	memset(d, 0, sizeof *d);
	d->disk_fd = d->preboot_fd = -1;
	for (i = 0; i < MAX_HANDLES; i++)
		d->h[i].fd = -1;
	{
		const struct sealcmd_optdef defs[] = {
			{ "--disk", NULL, &disk, NULL }, { "--preboot", NULL, &preboot, NULL },
			{ "--system", NULL, &system, NULL }, { "--dtb", NULL, &dtb, NULL },
			{ "--cmdline", NULL, &cmdline, NULL },
			{ "--kernel-release", NULL, &release, NULL },
			{ "--initramfs", NULL, &initramfs, NULL }, { "--config", NULL, &config, NULL },
			{ "--json", NULL, NULL, &d->json },
		};
		m = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), NULL, 0, NULL);
		if (m)
			return m == SEALCMD_HELP ? SEALCTL_OK : m;
	}
	if (!dtb || !!disk == !!(preboot || system) || (!disk && (!preboot || !system)))
		return sealctl_usage_error(CMD, "--dtb and either --disk or both --preboot and "
					   "--system are required");
	d->board = *sealcmd_board();
	if (config) {
		uint8_t *buf;
		size_t len;

		si_diag_clear(&dg);
		r = sealctl_read_file(config, 1u << 20, &buf, &len, &dg);
		if (r)
			return sealctl_report(CMD, config, r, &dg);
		si_diag_clear(&dg);
		r = plan_board_parse_config((const char *)buf, len, &d->board, &dg);
		free(buf);
		if (r)
			return sealctl_report(CMD, config, r, &dg);
	}
	d->ops.ctx = d;
	d->ops.log = doc_log;
	d->ops.list = op_list;
	d->ops.open = op_open;
	d->ops.open_part = op_open_part;
	d->ops.read_at = op_read_at;
	d->ops.close = op_close;
	d->ops.module_loaded = op_module_loaded;
	snprintf(d->tmp, sizeof d->tmp, "%s/sealctl-doctor.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(d->tmp)) {
		d->tmp[0] = '\0';
		return sealctl_report(CMD, "scratch directory", si_diag_sys(&dg, SI_E_IO, NULL, errno), &dg);
	}
	/* until a stage fails (fail()) or the plan boots: an input sealctl
	 * could not use is no prediction */
	snprintf(d->verdict, sizeof d->verdict, "no prediction: an input could not be used (the error above)");
	d->release = release;

	/* mounts, cmdline: the banner and the command line's verdicts */
	plan_log(&d->ops, PLAN_LOG_NOTICE, "sealinit: starting (board %s)", d->board.name);
	plan_banner(&d->board, &d->ops);
	if (si_cmdline_parse(cmdline, strlen(cmdline), &d->cmdline) != 0) {
		sealctl_msg(CMD, "--cmdline: longer than %d bytes", SI_CMDLINE_MAX);
		cleanup(d);
		return SEALCTL_USAGE;
	}
	plan_settings(&d->board, &d->cmdline, &d->ops, &d->set);

	r = stage_anchor(d, dtb);
	if (r == 0 && initramfs)
		r = stage_initramfs(d, initramfs);
	if (r == 0 && disk) {
		const struct gpt_part *gp;
		struct si_io io;
		struct stat st;
		char hint[400];

		d->disk_fd = open(disk, O_RDONLY | O_CLOEXEC);
		if (d->disk_fd < 0 || fstat(d->disk_fd, &st) != 0) {
			r = sealctl_report(CMD, disk, si_diag_sys(&dg, SI_E_OPEN, NULL, errno), &dg);
			goto out;
		}
		io.ctx = d;
		io.size = (uint64_t)st.st_size;
		io.read_at = disk_read_at;
		/* a disk image or the disk itself; anything else is named */
		if (S_ISBLK(st.st_mode) && ioctl(d->disk_fd, BLKGETSIZE64, &io.size) != 0) {
			r = sealctl_report(CMD, disk, si_diag_sys(&dg, SI_E_IO, NULL, errno), &dg);
			goto out;
		}
		if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
			si_diag_clear(&dg);
			si_diag_text(&dg, "disk image or block device", si_file_type_name(st.st_mode));
			r = sealctl_report(CMD, disk, SI_E_FILE_TYPE, &dg);
			goto out;
		}
		disk_errno = 0;
		r = gpt_read(&io, &d->gpt, &dg);
		if (r) {
			if (r == SI_E_IO && disk_errno && !(dg.flags & SI_DIAG_ERRNO))
				si_diag_errno(&dg, disk_errno);
			r = sealctl_report(CMD, disk, r, &dg);
			goto out;
		}
		d->have_gpt = 1;
		si_diag_clear(&dg);
		r = gpt_find(&d->gpt, d->set.preboot_label, &gp, &dg);
		if (r) {
			plan_log_error(&d->ops, "storage", d->set.preboot_label, r, &dg);
			gpt_hint(d, hint, sizeof hint);
			plan_log(&d->ops, PLAN_LOG_ERR, "sealinit: hint: %s", hint);
			r = fail(d, "storage");
			goto out;
		}
		r = preboot_from_disk(d, gp);
		if (r)
			goto out;
	} else if (r == 0) {
		d->preboot_fd = open(preboot, O_PATH | O_DIRECTORY | O_CLOEXEC);
		d->system_path = system;
		if (d->preboot_fd < 0) {
			r = sealctl_report(CMD, preboot, si_diag_sys(&dg, SI_E_OPEN, NULL, errno), &dg);
			goto out;
		}
	}
	if (r == 0)
		r = stage_update(d, &slot, &ustate, &floors);
	if (r == 0) {
		struct plan_inputs in = {
			.board = &d->board, .set = &d->set, .anchor = &d->anchor,
			.kernel_release = release, .kc_buf = kc_buf, .kc_cap = sizeof kc_buf,
			.slot = up_slot_dir(slot), .floors = &floors,
		};
		static const uint8_t zero[32];

		if (memcmp(ustate.active_set, zero, 32) != 0 && slot == ustate.active)
			in.active_set = ustate.active_set;
		if (d->board.kc_max < in.kc_cap)
			in.kc_cap = (size_t)d->board.kc_max;
		r = plan_boot(&in, &d->ops, &p);
		if (r)
			r = fail(d, p.stage);
		else
			r = stage_inside(d, &p);
	}
out:
	print_plan(d, &p, r == 0);
	cleanup(d);
	return r;
}
