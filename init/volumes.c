/* sealinit: the volume stages of PID 1 -- storage, the boot kernel
 * collection, the system volume, the cryptexes and the data volume.
 *
 * Every image is authenticated by si_seal_open() before anything in it is
 * used: its dm-verity table, its file system and (for the kernel
 * collection, verified whole in memory) its modules.  Every error is logged
 * here, once, with the image, the field, expected and found values.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "init/boot.h"
#include "init/log.h"
#include "kc/collection.h"
#include "kc/kc.h"
#include "lib/fdio.h"
#include "lib/str.h"

/* ---------------------------------------------------------------- I/O */

struct fd_io {
	int fd;
};

static int fd_read_at(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct fd_io *f = ctx;
	return si_pread_full(f->fd, off, buf, len, NULL);
}

/* Size of a regular file or block device open on fd. */
static int fd_size(int fd, uint64_t *size)
{
	struct stat st;

	if (fstat(fd, &st) != 0)
		return -1;
	if (S_ISBLK(st.st_mode))
		return ioctl(fd, BLKGETSIZE64, size) == 0 ? 0 : -1;
	*size = (uint64_t)st.st_size;
	return 0;
}

static void mkdirs(const char *path)
{
	char p[FS_PATH_MAX];
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

/* ---------------------------------------------------------------- reports */

static void record_image(struct boot *b, const struct si_seal *s, const char *on)
{
	struct boot_image *im;
	const struct si_key *k = &b->anchor.keys[s->key_index];

	if (b->n_images >= BOOT_MAX_IMAGES)
		return;
	im = &b->images[b->n_images++];
	memcpy(im->name, s->m.name, sizeof im->name);
	im->kind = si_seal_kind_name(s->m.kind);
	memcpy(im->version, s->m.version, sizeof im->version);
	si_hex(im->root_hash, s->m.root_hash, s->m.root_hash_len);
	memcpy(im->key_id, k->id, sizeof im->key_id);
	im->rollback_index = s->m.rollback_index;
	snprintf(im->mounted_on, sizeof im->mounted_on, "%s", on);
}

/* "sealinit: verified cryptex 'os' 13.3.1 (rollback 1) sha256,ecdsa-p256:platform root 3fa2... OK" */
static void log_verified(const struct boot *b, const char *stage, const struct si_seal *s)
{
	char root[17];

	si_hex(root, s->m.root_hash, 8);
	si_log(SI_LOG_NOTICE, "sealinit: %s: verified %s '%s' %s (rollback %llu) %s,%s:%s root %s... OK",
	       stage, si_seal_kind_name(s->m.kind), s->m.name, s->m.version,
	       (unsigned long long)s->m.rollback_index, si_seal_hash_name(s->m.hash_algo),
	       si_algo_name(s->m.sig_algo), b->anchor.keys[s->key_index].id, root);
}

/* The line an integrator reads when an image fails: which image, what. */
static void log_image_error(const char *stage, const char *kind, const char *name,
			    int err, struct si_diag *d)
{
	char what[160];

	snprintf(what, sizeof what, "%s '%s'", kind, name);
	si_log_error(stage, what, err, d);
}

/* After an unknown-key error: which keys the anchor holds. */
static void hint_keys(const struct boot *b, const uint8_t *want)
{
	char line[400], fp[17];
	struct si_buf sb;
	unsigned i;

	si_buf_init(&sb, line, sizeof line);
	for (i = 0; i < b->anchor.n_keys; i++) {
		si_hex(fp, b->anchor.keys[i].fingerprint, 8);
		si_buf_printf(&sb, "%s%s (%s)", i ? ", " : "", b->anchor.keys[i].id, fp);
	}
	si_hex(fp, want, 8);
	si_log(SI_LOG_ERR, "sealinit: hint: the image is signed by key %s...; the anchor holds %s", fp, line);
}

/* Opens and authenticates a sealed image; logs any failure (and leaves
 * its diagnostic in *d for the caller's records). */
static int open_seal(struct boot *b, const char *stage, const char *kind_label,
		     const char *name, const struct si_io *io, uint32_t usage,
		     struct si_seal *s, struct si_diag *d)
{
	int r;

	r = si_seal_open(io, &b->anchor, usage, 0, s, d);
	if (r == 0)
		return 0;
	log_image_error(stage, kind_label, name, r, d);
	if (r == SI_E_SEAL_KEY_UNKNOWN) {
		struct si_seal_unverified u;
		struct si_diag ud;

		if (si_seal_open_unverified(io, &u, &ud) == 0)
			hint_keys(b, u.m.key_id);
	}
	return r;
}

/* ---------------------------------------------------------------- storage */

/* Waits for a partition to appear (the disk is probed asynchronously). */
static int wait_partition(const char *stage, const char *label, char *path, size_t n)
{
	static struct part_table t;
	struct timespec start, now, nap = { 0, 10 * 1000 * 1000 };
	struct si_diag d;
	int r;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		r = part_find_by_label(label, &t, path, n, &d);
		if (r != SI_E_PART_NOTFOUND)
			break;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
		    CONFIG_DEVICE_WAIT_MS)
			break;
		nanosleep(&nap, NULL);
	}
	if (r == 0)
		return 0;
	si_log_error(stage, label, r, &d);
	if (r == SI_E_PART_NOTFOUND) {
		char line[400];

		/* As the kernel lists partitions when root= is wrong. */
		if (!part_table_hint(&t, line, sizeof line))
			snprintf(line, sizeof line, "none");
		si_log(SI_LOG_ERR, "sealinit: hint: waited %d ms; block devices: %s",
		       CONFIG_DEVICE_WAIT_MS, line);
	}
	return r;
}

/* ---------------------------------------------------------------- modules */

/* A set of modules for kc_load_graph: their bytes (the verified memory of
 * a kernel collection, or an initramfs file mapped read-only) and, for
 * files, the path finit_module(2) loads. */
struct modset {
	unsigned n;
	const uint8_t *img[CONFIG_MAX_MODULES];
	size_t len[CONFIG_MAX_MODULES];
	char path[CONFIG_MAX_MODULES][80]; /* "": init_module(img) */
	struct kc_modinfo info[CONFIG_MAX_MODULES];
};

static int modset_alias(void *ctx, size_t i, const char *alias, struct si_diag *d)
{
	const struct modset *m = ctx;

	return kc_modinfo_has_alias(m->img[i], m->len[i], alias, d);
}

/* 1 when the kernel has a loadable module of that name (name= or a
 * depends= entry: '-' is '_' there): /sys/module/NAME/initstate exists
 * only for those.  init_module(2) would say EEXIST, but only after
 * checking the module's signature and laying it out. */
static int module_loaded(const char *name)
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

static int modset_load(void *ctx, size_t i, struct si_diag *d)
{
	const struct modset *m = ctx;

	if (module_loaded(m->info[i].name))
		return 0;
	if (m->path[i][0])
		return kc_module_load_file(m->path[i], NULL, d);
	return kc_module_load(m->img[i], m->len[i], NULL, d);
}

static unsigned load_threads(void)
{
	long n;

	if (CONFIG_MODULE_LOAD_THREADS > 0)
		return CONFIG_MODULE_LOAD_THREADS;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 16 ? 16 : (unsigned)n;
}

/* init_module's ENOENT is the kernel's "Unknown symbol": name what the
 * module's depends= lists that the kernel does not have (depends= names
 * only loadable modules, never built-in code). */
static void hint_missing_deps(const struct kc_modinfo *mi)
{
	char deps[KC_DEPENDS_MAX], missing[KC_DEPENDS_MAX] = "";
	char *tok, *save;
	size_t used = 0;

	memcpy(deps, mi->depends, sizeof deps);
	for (tok = strtok_r(deps, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (module_loaded(tok))
			continue;
		used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%s",
					 used ? "," : "", tok);
		if (used >= sizeof missing)
			break;
	}
	if (missing[0])
		si_log(SI_LOG_ERR, "sealinit: hint: %s needs %s (depends=); not loaded: %s",
		       mi->name, mi->depends, missing);
}

/* Loads m, each module once the modules it needs are in, on several
 * threads; logs the first error once: "module 'NAME' of OWNER" (the file
 * when its .modinfo does not parse).  0 or the error. */
static int modset_run(struct modset *m, const char *stage, const char *owner)
{
	static struct kc_graph g;
	static struct kc_load_run run;
	const struct kc_load_ops ops = { modset_load, m };
	struct si_diag d;
	char what[200];
	size_t bad = 0;
	unsigned i, threads = load_threads();
	int r;

	for (i = 0; i < m->n; i++) {
		si_diag_clear(&d);
		r = kc_modinfo_parse(m->img[i], m->len[i], &m->info[i], &d);
		if (r) {
			if (m->path[i][0])
				snprintf(what, sizeof what, "module %s of %s", m->path[i], owner);
			else
				snprintf(what, sizeof what, "module #%u of %s", i + 1, owner);
			si_log_error(stage, what, r, &d);
			return r;
		}
	}
	si_diag_clear(&d);
	r = kc_graph_build(m->info, m->n, modset_alias, m, &g, &d);
	if (r) {
		snprintf(what, sizeof what, "module dependencies of %s", owner);
		si_log_error(stage, what, r, &d);
		return r;
	}
	si_diag_clear(&d);
	r = kc_load_graph(&g, &ops, threads, &run, &bad, &d);
	for (i = 0; i < m->n; i++)
		if (run.state[i] == KC_LOAD_DONE)
			si_log(SI_LOG_DEBUG, "sealinit: %s: loaded %s (%u.%03u ms)", stage,
			       m->info[i].name, run.us[i] / 1000, run.us[i] % 1000);
	if (r) {
		snprintf(what, sizeof what, "module '%s' of %s", m->info[bad].name, owner);
		si_log_error(stage, what, r, &d);
		if (r == SI_E_MODULE_LOAD && d.sys_errno == ENOENT)
			hint_missing_deps(&m->info[bad]);
		return r;
	}
	si_log(SI_LOG_DEBUG, "sealinit: %s: %u modules on %u threads", stage, m->n, threads);
	return 0;
}

/* Storage drivers and the preboot volume's file system come from the
 * initramfs (verified with it by the boot loader); then the preboot
 * volume is mounted. */
int stage_storage(struct boot *b)
{
	static char list[4096];
	static struct modset m;
	char dev[64];
	struct si_diag d;
	size_t len = 0;
	char *line, *save;
	unsigned i;
	int r;

	/* The initramfs is verified with the kernel by the boot loader; the
	 * list is still read with bounds: one plain file name a line. */
	r = boot_read_file("/lib/modules/order", list, sizeof list - 1, &len);
	if (r == -ENOENT) {
		len = 0;
	} else if (r) {
		si_diag_clear(&d);
		si_diag_where(&d, "/lib/modules/order", 18);
		si_diag_errno(&d, r == -EFBIG ? EFBIG : -r);
		si_log_error("storage", "initramfs module list", r == -EFBIG ? SI_E_TOO_BIG : SI_E_IO, &d);
		return r == -EFBIG ? SI_E_TOO_BIG : SI_E_IO;
	}
	list[len] = '\0';
	m.n = 0;
	for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct stat st;
		void *p = MAP_FAILED;
		int fd, e = 0;

		if (strchr(line, '/') || line[0] == '.' || m.n >= CONFIG_MAX_MODULES ||
		    strlen(line) + sizeof "/lib/modules/" > sizeof m.path[0]) {
			si_diag_clear(&d);
			si_diag_where(&d, line, strlen(line));
			si_log_error("storage", "/lib/modules/order", SI_E_MODLIST, &d);
			r = SI_E_MODLIST;
			goto unmap;
		}
		snprintf(m.path[m.n], sizeof m.path[0], "/lib/modules/%s", line);
		/* Mapped to read its .modinfo (dependencies); finit_module(2)
		 * loads the file itself. */
		fd = open(m.path[m.n], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) != 0)
			e = errno;
		else if (st.st_size <= 0)
			e = ENODATA;
		else if ((p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) == MAP_FAILED)
			e = errno;
		if (e) {
			si_diag_clear(&d);
			si_diag_where(&d, m.path[m.n], strlen(m.path[m.n]));
			si_diag_errno(&d, e);
			if (fd >= 0)
				close(fd);
			si_log_error("storage", "initramfs module", SI_E_OPEN, &d);
			r = SI_E_OPEN;
			goto unmap;
		}
		close(fd);
		m.img[m.n] = p;
		m.len[m.n] = (size_t)st.st_size;
		m.n++;
	}
	r = modset_run(&m, "storage", "the initramfs");
unmap:
	for (i = 0; i < m.n; i++)
		munmap((void *)m.img[i], m.len[i]);
	if (r)
		return r;
	si_log(SI_LOG_INFO, "sealinit: storage: %u initramfs modules loaded", m.n);

	r = wait_partition("storage", b->preboot_label, dev, sizeof dev);
	if (r)
		return r;
	mkdirs(PREBOOT_MNT);
	/* Read-only until the update stages need to write (staged patches). */
	if (mount(dev, PREBOOT_MNT, "ext4", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) != 0) {
		si_diag_clear(&d);
		si_diag_where(&d, dev, strlen(dev));
		si_diag_errno(&d, errno);
		si_log_error("storage", "preboot volume", SI_E_MOUNT, &d);
		return SI_E_MOUNT;
	}
	si_log(SI_LOG_INFO, "sealinit: storage: preboot volume '%s' (%s) mounted", b->preboot_label, dev);
	return 0;
}

/* ---------------------------------------------------------------- kc */

static uint8_t kc_buf[CONFIG_KC_BOOT_MAX_KB * 1024] __attribute__((aligned(64)));

int stage_kc(struct boot *b)
{
	static struct kc_collection coll;
	static struct modset mods;
	const char *path = PREBOOT_MNT "/" CONFIG_KC_BOOT_PATH;
	char owner[SI_SEAL_NAME_MAX + 16];
	struct si_mem_io mio;
	struct si_io io;
	struct si_seal s;
	struct si_diag d;
	uint64_t size = 0;
	unsigned i;
	int fd, r;

	si_diag_clear(&d);
	si_diag_where(&d, path, strlen(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		si_diag_errno(&d, errno);
		si_log_error("kc", "boot kernel collection", errno == ENOENT ? SI_E_REQUIRED_MISSING : SI_E_OPEN, &d);
		return SI_E_OPEN;
	}
	if (fd_size(fd, &size) != 0 || size > sizeof kc_buf) {
		si_diag_values(&d, sizeof kc_buf, size);
		close(fd);
		si_log_error("kc", "boot kernel collection", SI_E_TOO_BIG, &d);
		return SI_E_TOO_BIG;
	}
	/* Read whole, then verify and use these bytes only: no window between
	 * the check and the use. */
	{
		struct fd_io fio = { fd };
		r = fd_read_at(&fio, 0, kc_buf, (size_t)size);
	}
	close(fd);
	if (r) {
		si_diag_errno(&d, errno);
		si_log_error("kc", "boot kernel collection", r, &d);
		return r;
	}
	si_io_mem(&io, &mio, kc_buf, (size_t)size);
	r = open_seal(b, "kc", "kc-boot", CONFIG_KC_BOOT_PATH, &io, SI_USAGE_KC_BOOT, &s, &d);
	if (r)
		return r;
	if (s.m.fs_type != SI_FS_RAW) {
		si_diag_clear(&d);
		si_diag_text(&d, "raw", si_seal_fstype_name(s.m.fs_type));
		log_image_error("kc", "kc-boot", s.m.name, SI_E_IMAGE_KIND, &d);
		return SI_E_IMAGE_KIND;
	}
	r = si_seal_verify_tree(&s.m, kc_buf, (size_t)size, 0, &d);
	if (r) {
		log_image_error("kc", "kc-boot", s.m.name, r, &d);
		return r;
	}
	/* Validation of the collection's bytes ends here: signed manifest,
	 * then every data block against the root hash. */
	r = kc_coll_parse(kc_buf, (size_t)s.m.data_size, &coll, &d);
	if (r) {
		log_image_error("kc", "kc-boot", s.m.name, r, &d);
		return r;
	}
	r = kc_uname_release(b->kernel_release, sizeof b->kernel_release, &d);
	if (r == 0)
		r = kc_release_check(coll.release, b->kernel_release, &d);
	if (r) {
		log_image_error("kc", "kc-boot", s.m.name, r, &d);
		return r;
	}
	log_verified(b, "kc", &s);
	mods.n = coll.count;
	for (i = 0; i < coll.count; i++) {
		mods.img[i] = kc_buf + coll.mods[i].offset;
		mods.len[i] = (size_t)coll.mods[i].size;
		mods.path[i][0] = '\0';
	}
	snprintf(owner, sizeof owner, "kc-boot '%s'", s.m.name);
	r = modset_run(&mods, "kc", owner);
	if (r)
		return r;
	si_log(SI_LOG_INFO, "sealinit: kc: %u modules loaded from verified memory for %s",
	       coll.count, coll.release);
	record_image(b, &s, "(memory)");
	return 0;
}

/* ---------------------------------------------------------------- verity */

static enum dm_verity_on_error verity_mode(void)
{
	if (IS_ENABLED(CONFIG_VERITY_RESTART))
		return DM_VERITY_RESTART;
	if (IS_ENABLED(CONFIG_VERITY_PANIC))
		return DM_VERITY_PANIC;
	return DM_VERITY_EIO;
}

/* The dm-verity device for a verified seal (its data and tree on `path`, a
 * partition, or a file when `is_file`), mounted read-only on `target`. */
static int verity_mount(const char *stage, const char *kind, const struct si_seal *s,
			const char *dmname, const char *path, int is_file,
			const char *target)
{
	static struct dm_ioc ioc;
	struct fs_sealed out;
	struct si_diag d;
	int r;

	si_diag_clear(&d);
	if (s->m.fs_type != SI_FS_EROFS && s->m.fs_type != SI_FS_EXT4 &&
	    s->m.fs_type != SI_FS_SQUASHFS) {
		si_diag_text(&d, "erofs|ext4|squashfs", si_seal_fstype_name(s->m.fs_type));
		log_image_error(stage, kind, s->m.name, SI_E_IMAGE_KIND, &d);
		return SI_E_IMAGE_KIND;
	}
	mkdirs(target);
	r = fs_sealed_mount(path, is_file ? FS_SEALED_FILE : 0, s, dmname, verity_mode(),
			    target, &ioc, &out, &d);
	if (r)
		log_image_error(stage, kind, s->m.name, r, &d);
	return r;
}

/* ---------------------------------------------------------------- system */

int stage_system(struct boot *b)
{
	char dev[64];
	struct fd_io fio;
	struct si_io io;
	struct si_seal s;
	struct si_diag d;
	int r;

	r = wait_partition("system", b->system_label, dev, sizeof dev);
	if (r)
		return r;
	fio.fd = open(dev, O_RDONLY | O_CLOEXEC);
	if (fio.fd < 0 || fd_size(fio.fd, &io.size) != 0) {
		si_diag_clear(&d);
		si_diag_where(&d, dev, strlen(dev));
		si_diag_errno(&d, errno);
		si_log_error("system", "system volume", SI_E_OPEN, &d);
		if (fio.fd >= 0)
			close(fio.fd);
		return SI_E_OPEN;
	}
	io.ctx = &fio;
	io.read_at = fd_read_at;
	r = open_seal(b, "system", "system volume", dev, &io, SI_USAGE_SYSTEM, &s, &d);
	close(fio.fd);
	if (r)
		return r;
	r = verity_mount("system", "system", &s, "sealinit-system", dev, 0, NEWROOT);
	if (r)
		return r;
	log_verified(b, "system", &s);
	record_image(b, &s, "/");
	return 0;
}

/* ---------------------------------------------------------------- cryptexes */

static int is_required(const char *name)
{
	const char *p = CONFIG_REQUIRED_CRYPTEXES;
	size_t n = strlen(name);

	while (*p) {
		size_t w;

		while (*p == ' ')
			p++;
		w = strcspn(p, " ");
		if (w == n && !memcmp(p, name, n))
			return 1;
		p += w;
	}
	return 0;
}

static void skip(struct boot *b, const char *name, int err, const struct si_diag *d)
{
	struct boot_skip *k;
	size_t n;

	si_log(SI_LOG_WARN, "sealinit: cryptex: skipping optional cryptex '%s'; the boot goes on without it", name);
	if (b->n_skipped >= BOOT_MAX_SKIPPED)
		return;
	k = &b->skipped[b->n_skipped++];
	n = strnlen(name, sizeof k->name - 1);
	memcpy(k->name, name, n);
	k->name[n] = '\0';
	si_diag_format(d, err, k->reason, sizeof k->reason);
}

/* One cryptex file: authenticate, loop, dm-verity, mount; on success adds
 * its overlay layer.  Logs its own errors. */
static int one_cryptex(struct boot *b, const char *name, struct si_diag *d)
{
	char path[1024], target[FS_PATH_MAX], dmname[80], tdir[2 * FS_PATH_MAX];
	struct fd_io fio;
	struct si_io io;
	struct si_seal s;
	struct stat st;
	int r;

	si_diag_clear(d);
	snprintf(path, sizeof path, "%s/%s/%s.cryptex", PREBOOT_MNT, CONFIG_CRYPTEX_DIR, name);
	fio.fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fio.fd < 0 || fd_size(fio.fd, &io.size) != 0) {
		si_diag_where(d, path, strlen(path));
		si_diag_errno(d, errno);
		si_log_error("cryptex", name, SI_E_OPEN, d);
		if (fio.fd >= 0)
			close(fio.fd);
		return SI_E_OPEN;
	}
	io.ctx = &fio;
	io.read_at = fd_read_at;
	r = open_seal(b, "cryptex", "cryptex", name, &io, SI_USAGE_CRYPTEX, &s, d);
	close(fio.fd);
	if (r)
		return r;
	/* The file name chooses nothing: the signed name must match it. */
	if (strcmp(s.m.name, name) != 0) {
		si_diag_field(d, "manifest.name");
		si_diag_text(d, name, s.m.name);
		log_image_error("cryptex", "cryptex", name, SI_E_CRYPTEX_NAME, d);
		return SI_E_CRYPTEX_NAME;
	}
	if (!s.m.has_overlay) {
		si_diag_field(d, "manifest.overlay");
		log_image_error("cryptex", "cryptex", name, SI_E_MANIFEST_MISSING, d);
		return SI_E_MANIFEST_MISSING;
	}
	snprintf(tdir, sizeof tdir, "%s%s", NEWROOT, s.m.overlay);
	if (stat(tdir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		si_diag_field(d, "manifest.overlay");
		si_diag_where(d, s.m.overlay, strlen(s.m.overlay));
		log_image_error("cryptex", "cryptex", name, SI_E_OVERLAY_TARGET, d);
		return SI_E_OVERLAY_TARGET;
	}
	snprintf(dmname, sizeof dmname, "sealinit-cx-%s", s.m.name);
	snprintf(target, sizeof target, "%s/%s", CRYPTEX_MNT, s.m.name);
	r = verity_mount("cryptex", "cryptex", &s, dmname, path, 1, target);
	if (r)
		return r;
	if (b->n_layers < CONFIG_MAX_CRYPTEXES) {
		snprintf(b->layers[b->n_layers].root, FS_PATH_MAX, "%s", target);
		snprintf(b->layers[b->n_layers].target, FS_PATH_MAX, "%s", s.m.overlay);
		b->n_layers++;
	}
	log_verified(b, "cryptex", &s);
	record_image(b, &s, s.m.overlay);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

int stage_cryptexes(struct boot *b)
{
	static char names[CONFIG_MAX_CRYPTEXES][SI_SEAL_NAME_MAX + 1];
	char dir[FS_PATH_MAX];
	struct si_diag d;
	struct dirent *de;
	unsigned n = 0, i;
	const char *p;
	DIR *dp;
	int r;

	snprintf(dir, sizeof dir, "%s/%s", PREBOOT_MNT, CONFIG_CRYPTEX_DIR);
	dp = opendir(dir);
	while (dp && (de = readdir(dp))) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len <= 8 || strcmp(de->d_name + len - 8, ".cryptex"))
			continue;
		if (len - 8 > SI_SEAL_NAME_MAX || n >= CONFIG_MAX_CRYPTEXES) {
			si_diag_clear(&d);
			si_diag_where(&d, de->d_name, len);
			si_diag_values(&d, CONFIG_MAX_CRYPTEXES, n + 1);
			si_log_error("cryptex", dir, SI_E_TOO_BIG, &d);
			closedir(dp);
			return SI_E_TOO_BIG;
		}
		memcpy(names[n], de->d_name, len - 8);
		names[n][len - 8] = '\0';
		n++;
	}
	if (dp)
		closedir(dp);
	qsort(names, n, sizeof names[0], cmp_name);

	/* Every required cryptex must be there. */
	for (p = CONFIG_REQUIRED_CRYPTEXES; *p;) {
		char want[SI_SEAL_NAME_MAX + 1];
		size_t w;

		while (*p == ' ')
			p++;
		w = strcspn(p, " ");
		if (!w)
			break;
		snprintf(want, sizeof want, "%.*s", (int)w, p);
		p += w;
		for (i = 0; i < n && strcmp(names[i], want); i++)
			;
		if (i == n) {
			char path[512];

			snprintf(path, sizeof path, "%s/%s.cryptex", dir, want);
			si_diag_clear(&d);
			si_diag_where(&d, path, strlen(path));
			log_image_error("cryptex", "required cryptex", want, SI_E_REQUIRED_MISSING, &d);
			return SI_E_REQUIRED_MISSING;
		}
	}

	for (i = 0; i < n; i++) {
		r = one_cryptex(b, names[i], &d);
		if (r == 0)
			continue;
		if (is_required(names[i]))
			return r;
		skip(b, names[i], r, &d);
	}
	if (b->n_layers) {
		r = fs_overlay_apply(NEWROOT, b->layers, b->n_layers, &d);
		if (r) {
			si_log_error("cryptex", "overlays", r, &d);
			return r;
		}
	}
	si_log(SI_LOG_INFO, "sealinit: cryptex: %u overlaid, %u skipped", b->n_layers, b->n_skipped);
	return 0;
}

/* ---------------------------------------------------------------- data */

int stage_data(struct boot *b)
{
	char dev[64], target[FS_PATH_MAX];
	static struct part_table t;
	struct si_diag d;
	int r;

	if (!b->data_label[0] || !strcmp(b->data_label, "none")) {
		si_log(SI_LOG_INFO, "sealinit: data: no data volume configured");
		return 0;
	}
	/* The disk is up by now: no waiting for an optional volume. */
	r = part_find_by_label(b->data_label, &t, dev, sizeof dev, &d);
	snprintf(target, sizeof target, "%s/data", NEWROOT);
	if (r == 0)
		r = fs_mount_data(dev, target, "ext4", &d);
	if (r) {
		si_log_error("data", b->data_label, r, &d);
		si_log(SI_LOG_WARN, "sealinit: data: going on without the data volume");
		return 0;
	}
	snprintf(b->data_dev, sizeof b->data_dev, "%s", dev);
	si_log(SI_LOG_INFO, "sealinit: data: '%s' (%s) mounted on /data", b->data_label, dev);
	return 0;
}

/* ---------------------------------------------------------------- status */

static void json_str(struct si_buf *sb, const char *s)
{
	si_buf_puts(sb, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			si_buf_printf(sb, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			si_buf_printf(sb, "\\u%04x", c);
		else
			si_buf_putn(sb, (const char *)&c, 1);
	}
	si_buf_puts(sb, "\"");
}

/* /run/sealinit/status.json: what was verified, what was skipped and
 * why, and each stage's time, for the OS to read (it moves with /run). */
int stage_status(const struct boot *b, unsigned elapsed_us)
{
	static char out[16384];
	struct si_buf sb;
	unsigned i;
	int fd, r = 0;

	si_buf_init(&sb, out, sizeof out);
	si_buf_puts(&sb, "{\n  \"board\": ");
	json_str(&sb, CONFIG_BOARD);
	si_buf_puts(&sb, ",\n  \"kernel_release\": ");
	json_str(&sb, b->kernel_release);
	si_buf_puts(&sb, ",\n  \"verified\": [");
	for (i = 0; i < b->n_images; i++) {
		const struct boot_image *im = &b->images[i];

		si_buf_printf(&sb, "%s\n    {\"name\": ", i ? "," : "");
		json_str(&sb, im->name);
		si_buf_puts(&sb, ", \"kind\": ");
		json_str(&sb, im->kind);
		si_buf_puts(&sb, ", \"version\": ");
		json_str(&sb, im->version);
		si_buf_printf(&sb, ", \"rollback_index\": %llu, \"root_hash\": \"%s\", \"key_id\": ",
			      (unsigned long long)im->rollback_index, im->root_hash);
		json_str(&sb, im->key_id);
		si_buf_puts(&sb, ", \"mounted_on\": ");
		json_str(&sb, im->mounted_on);
		si_buf_puts(&sb, "}");
	}
	si_buf_puts(&sb, "\n  ],\n  \"skipped\": [");
	for (i = 0; i < b->n_skipped; i++) {
		si_buf_printf(&sb, "%s\n    {\"name\": ", i ? "," : "");
		json_str(&sb, b->skipped[i].name);
		si_buf_puts(&sb, ", \"reason\": ");
		json_str(&sb, b->skipped[i].reason);
		si_buf_puts(&sb, "}");
	}
	si_buf_puts(&sb, "\n  ],\n  \"timing_us\": {");
	for (i = 0; i < b->n_stages; i++)
		si_buf_printf(&sb, "%s\"%s\": %u", i ? ", " : "", b->timing[i].name, b->timing[i].us);
	si_buf_printf(&sb, "%s\"total\": %u}\n}\n", b->n_stages ? ", " : "", elapsed_us);
	if (sb.truncated)
		si_log(SI_LOG_WARN, "sealinit: status: status.json truncated at %zu bytes", sb.len);

	mkdirs(RUNDIR);
	fd = open(RUNDIR "/status.json", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, out, sb.len) != (ssize_t)sb.len)
		r = SI_E_IO;
	if (fd >= 0)
		close(fd);
	if (r) {
		struct si_diag d;

		si_diag_clear(&d);
		si_diag_where(&d, RUNDIR "/status.json", strlen(RUNDIR "/status.json"));
		si_diag_errno(&d, errno);
		si_log_error("status", "status.json", r, &d);
	}
	return r;
}
