/* sealinit: stage system -- the system volume through dm-verity on the
 * new root, from the partition descriptor whose seal plan_boot() checked. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init/boot.h"
#include "init/log.h"

enum dm_verity_on_error boot_verity_mode(void)
{
	if (IS_ENABLED(CONFIG_VERITY_RESTART))
		return DM_VERITY_RESTART;
	if (IS_ENABLED(CONFIG_VERITY_PANIC))
		return DM_VERITY_PANIC;
	return DM_VERITY_EIO;
}

int boot_sealed_mount(struct boot *b, struct plan_image *im, unsigned flags, const char *dm,
		      const char *mnt, struct fs_sealed *out, struct si_diag *d)
{
	static struct dm_ioc ioc;
	int r;

	boot_mkdirs(mnt);
	si_diag_clear(d);
	r = fs_sealed_mount(im->h, im->file, flags, &im->seal, dm, boot_verity_mode(), mnt, &ioc,
			    out, d);
	b->ops.close(b->ops.ctx, im->h);
	im->h = -1;
	return r;
}

/* The aux tier refused at mount (its line), taken down where it got that
 * far, and skipped: the system tier goes on /lib/modules alone. */
static void aux_skip(struct boot *b, int r, const struct si_diag *d)
{
	static struct dm_ioc ioc;
	struct plan *p = &b->plan;
	char what[SI_SEAL_NAME_MAX + 32];
	int e;

	snprintf(what, sizeof what, "kc-aux '%s'", p->aux.seal.m.name);
	si_log_error("system", what, r, d);
	si_log(SI_LOG_WARN, "sealinit: system: skipping the aux kernel collection %s; "
	       "the boot goes on without its modules", p->aux.file);
	(void)umount2(p->aux_mnt, MNT_DETACH);
	e = dm_dev_remove(p->aux_dm, &ioc, NULL);
	(void)e;
	p->aux.state = PLAN_IMG_SKIP;
	p->aux.err = r;
	si_diag_format(d, r, p->aux.reason, sizeof p->aux.reason);
}

/* The aux kernel collection the plan kept: loop device on the descriptor
 * its seal was read through, dm-verity, erofs on its staging point, its
 * tree checked (mount/auxtree.c: it may only add modules and carry the
 * index).  0 when it may be overlaid; else it is logged, taken down again,
 * and the boot goes on without it. */
static int mount_kc_aux(struct boot *b)
{
	struct plan *p = &b->plan;
	struct plan_image *im = &p->aux;
	struct fs_sealed out;
	struct si_diag d;
	int fd, r;

	r = boot_sealed_mount(b, im, FS_SEALED_FILE, p->aux_dm, p->aux_mnt, &out, &d);
	if (r == 0) {
		fd = open(p->aux_mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (fd < 0) {
			r = si_diag_sys(&d, SI_E_OPEN, p->aux_mnt, errno);
		} else {
			r = fs_aux_tree_check(fd, im->seal.m.version, &d);
			close(fd);
		}
	}
	if (r) {
		aux_skip(b, r, &d);
		return r;
	}
	si_log(SI_LOG_DEBUG, "sealinit: system: kc-aux '%s' on %s through %s (dm-verity over %s)",
	       im->seal.m.name, p->aux_mnt, out.dm.path, out.dev);
	return 0;
}

/* The system kernel collection: loop device on the descriptor its seal
 * was read through, dm-verity, erofs on a staging point, then moved onto
 * /lib/modules resolved inside the new root without a symbolic link, so
 * that every module the OS's modprobe loads comes from verified storage.
 * With an aux tier, an overlay there instead: the aux tier's tree over
 * the system tier's. */
static int mount_kc_system(struct boot *b)
{
	struct plan *p = &b->plan;
	struct plan_image *im = &p->ksys;
	struct fs_sealed out;
	struct si_diag d;
	char what[SI_SEAL_NAME_MAX + 32], at[40];
	int fd = -1, r;

	snprintf(what, sizeof what, "kc-system '%s'", im->seal.m.name);
	r = boot_sealed_mount(b, im, FS_SEALED_FILE, p->ksys_dm, p->ksys_mnt, &out, &d);
	if (r == 0) {
		r = fs_resolve(b->newroot_fd, PLAN_MODULES_DIR, FS_RESOLVE_DIR | FS_RESOLVE_NO_SYMLINKS,
			       &fd, &d);
		if (r == SI_E_NOTFOUND || r == SI_E_FILE_TYPE) {
			si_diag_field(&d, "mount point");
			si_diag_text(&d, "the directory " PLAN_MODULES_DIR " of the system volume",
				     r == SI_E_NOTFOUND ? "nothing" : "a path through a non-directory");
			r = SI_E_OVERLAY_TARGET;
		}
	}
	if (r == 0) {
		boot_fd_path(fd, at, sizeof at);
		if (p->aux.state == PLAN_IMG_USE && mount_kc_aux(b) == 0) {
			const char *lowers[1] = { p->aux_mnt };
			struct si_diag od;
			int e;

			si_diag_clear(&od);
			e = fs_overlay_mount(at, lowers, 1, p->ksys_mnt, &od);
			if (e == 0) {
				close(fd);
				si_log(SI_LOG_INFO, "sealinit: system: kc-system '%s' %s on %s through %s "
				       "(dm-verity over %s), kc-aux '%s' over it", im->seal.m.name,
				       im->seal.m.version, PLAN_MODULES_DIR, out.dm.path, out.dev,
				       p->aux.seal.m.name);
				return 0;
			}
			aux_skip(b, e, &od);
		}
		if (mount(p->ksys_mnt, at, NULL, MS_MOVE, NULL) != 0)
			r = si_diag_sys(&d, SI_E_MOUNT, PLAN_MODULES_DIR, errno);
		close(fd);
	}
	if (r) {
		si_log_error("system", what, r, &d);
		return r;
	}
	si_log(SI_LOG_INFO, "sealinit: system: kc-system '%s' %s on %s through %s (dm-verity over %s)",
	       im->seal.m.name, im->seal.m.version, PLAN_MODULES_DIR, out.dm.path, out.dev);
	return 0;
}

int stage_system(struct boot *b)
{
	struct plan_image *im = &b->plan.sys;
	struct fs_sealed out;
	struct si_diag d;
	struct stat st;
	char what[SI_SEAL_NAME_MAX + 32];
	int r;

	r = boot_sealed_mount(b, im, 0, "sealinit-system", PLAN_NEWROOT, &out, &d);
	snprintf(what, sizeof what, "system volume '%s'", im->seal.m.name);
	if (r) {
		si_log_error("system", what, r, &d);
		return r;
	}
	/* The new root's own device: the real init must be a file of it. */
	b->newroot_fd = open(PLAN_NEWROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (b->newroot_fd < 0 || fstat(b->newroot_fd, &st) != 0) {
		si_log_error("system", what, si_diag_sys(&d, SI_E_OPEN, PLAN_NEWROOT, errno), &d);
		return SI_E_OPEN;
	}
	b->sys_dev = st.st_dev;
	si_log(SI_LOG_INFO, "sealinit: system: mounted on / through %s (dm-verity over %s)",
	       out.dm.path, out.dev);
	if (b->plan.ksys.state == PLAN_IMG_USE)
		return mount_kc_system(b);
	return 0;
}
