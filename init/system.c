/* sealinit: stage system -- the system volume through dm-verity on the
 * new root, from the partition descriptor whose seal plan_boot() checked. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
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

int stage_system(struct boot *b)
{
	static struct dm_ioc ioc;
	struct plan_image *im = &b->plan.sys;
	struct fs_sealed out;
	struct si_diag d;
	struct stat st;
	char what[SI_SEAL_NAME_MAX + 32];
	int r;

	boot_mkdirs(PLAN_NEWROOT);
	si_diag_clear(&d);
	r = fs_sealed_mount(im->h, im->file, 0, &im->seal, "sealinit-system", boot_verity_mode(),
			    PLAN_NEWROOT, &ioc, &out, &d);
	b->ops.close(b->ops.ctx, im->h);
	im->h = -1;
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
	return 0;
}
