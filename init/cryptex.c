/* sealinit: stage cryptex -- each planned cryptex through a loop device
 * attached to the descriptor its seal was read through, dm-verity, a
 * read-only mount; then one overlay per target, parents first, each
 * target resolved inside the new root without following a symbolic link
 * and mounted on exactly the directory that was checked.  What fails here
 * goes back to the plan: an optional cryptex is dropped, a required one
 * fails the boot. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "init/boot.h"
#include "init/log.h"

/* Takes an optional cryptex that was mounted but is not used back down. */
static void unmount_cryptex(const struct plan_cryptex *c)
{
	static struct dm_ioc ioc;
	int r;

	(void)umount2(c->mnt, MNT_DETACH);
	r = dm_dev_remove(c->dm_name, &ioc, NULL);
	(void)r;
}

static int mount_one_overlay(struct boot *b, unsigned k)
{
	struct plan *p = &b->plan;
	struct plan_overlay *o = &p->ov[k];
	struct si_diag d;

	for (;;) {
		const char *lowers[CONFIG_MAX_CRYPTEXES];
		char at[40];
		unsigned i;
		int fd = -1, r;

		if (o->dropped)
			return 0;
		si_diag_clear(&d);
		r = fs_resolve(b->newroot_fd, o->target, FS_RESOLVE_DIR | FS_RESOLVE_NO_SYMLINKS, &fd, &d);
		if (r == 0) {
			for (i = 0; i < o->n; i++)
				lowers[i] = p->cx[o->layer[i]].mnt;
			boot_fd_path(fd, at, sizeof at);
			r = fs_overlay_mount(at, lowers, o->n, at, &d);
			close(fd);
			if (r == 0) {
				b->n_overlaid += o->n;
				return 0;
			}
			r = plan_overlay_fail(p, k, r, &d, &b->ops);
		} else {
			r = plan_overlay_resolved(p, k, r, &d, &b->ops);
		}
		/* Optional layers are dropped and the rest tried again. */
		if (r)
			return r;
	}
}

int stage_cryptexes(struct boot *b)
{
	struct plan *p = &b->plan;
	struct fs_sealed out;
	struct si_diag d;
	uint8_t mounted[CONFIG_MAX_CRYPTEXES] = { 0 };
	unsigned i, skipped = 0;
	int r;

	for (i = 0; i < p->n_cx; i++) {
		struct plan_cryptex *c = &p->cx[i];

		if (c->img.state != PLAN_IMG_USE)
			continue;
		r = boot_sealed_mount(b, &c->img, FS_SEALED_FILE, c->dm_name, c->mnt, &out, &d);
		if (r && plan_cryptex_fail(p, i, r, &d, &b->ops))
			return r;
		if (r == 0)
			si_log(SI_LOG_DEBUG, "sealinit: cryptex: '%s' on %s through %s (dm-verity over %s)",
			       c->name, c->mnt, out.dm.path, out.dev);
		mounted[i] = r == 0;
	}
	for (i = 0; i < p->n_ov; i++) {
		r = mount_one_overlay(b, i);
		if (r)
			return r;
	}
	for (i = 0; i < p->n_cx; i++)
		if (p->cx[i].img.state == PLAN_IMG_SKIP) {
			skipped++;
			if (mounted[i])
				unmount_cryptex(&p->cx[i]);
		}
	si_log(SI_LOG_INFO, "sealinit: cryptex: %u overlaid, %u skipped", b->n_overlaid, skipped);
	return 0;
}
