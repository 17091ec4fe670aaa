/* sealinit: stage data -- the writable data volume, nodev and nosuid
 * (noexec as Kconfig says), on its mount point resolved inside the new
 * root without a symbolic link: writable data never shows through a
 * verified path.  Optional: a failure is a warning, and the boot goes on
 * without it. */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "init/boot.h"
#include "init/log.h"

int stage_data(struct boot *b)
{
	static struct part_table t;
	const struct plan *p = &b->plan;
	char dev[64], at[40];
	struct si_diag d;
	int fd = -1, r;

	if (!p->has_data) {
		si_log(SI_LOG_INFO, "sealinit: data: no data volume configured");
		return 0;
	}
	/* The disk is up by now: no waiting for an optional volume. */
	si_diag_clear(&d);
	r = part_find_by_label(p->data_label, &t, dev, sizeof dev, &d);
	if (r == 0) {
		si_diag_clear(&d);
		r = fs_resolve(b->newroot_fd, p->data_mnt, FS_RESOLVE_DIR | FS_RESOLVE_NO_SYMLINKS,
			       &fd, &d);
	}
	if (r == 0) {
		boot_fd_path(fd, at, sizeof at);
		r = fs_mount_data(dev, at, "ext4", p->data_noexec ? FS_DATA_NOEXEC : 0, &d);
		close(fd);
	}
	if (r) {
		si_log_error("data", p->data_label, r, &d);
		si_log(SI_LOG_WARN, "sealinit: data: going on without the data volume");
		return 0;
	}
	snprintf(b->data_dev, sizeof b->data_dev, "%s", dev);
	si_log(SI_LOG_INFO, "sealinit: data: '%s' (%s) mounted on %s%s", p->data_label, dev,
	       p->data_mnt, p->data_noexec ? " (nodev,nosuid,noexec)" : " (nodev,nosuid)");
	return 0;
}
