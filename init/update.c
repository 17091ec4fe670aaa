/* sealinit: stage update -- the state record and the recorded floors read
 * from the preboot volume (the newest valid copy of each, saying what
 * recovery did), the decision made by plan_update() (plan/update.c), and
 * that decision carried out: a trial attempt spent, a failed trial rolled
 * back, a staged bundle applied or a revert done (update/engine.c).  The
 * preboot volume is remounted writable only for those writes; a confirmed
 * system writes nothing here. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <unistd.h>

#include "init/boot.h"
#include "init/log.h"
#include "kc/collection.h"
#include "lib/str.h"
#include "patch/zstd.h"
#include "update/engine.h"

#define PREBOOT_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static struct up_posix px;
static struct up_fs fs;
static struct up_floor_store floor_store;

/* The preboot volume writable (rw 1) or read-only again (rw 0). */
static int preboot_rw(int rw)
{
	struct si_diag d;

	if (mount(NULL, PREBOOT_MNT, NULL, MS_REMOUNT | PREBOOT_FLAGS | (rw ? 0 : MS_RDONLY),
		  NULL) == 0)
		return 0;
	si_diag_clear(&d);
	si_diag_field(&d, rw ? "remount read-write" : "remount read-only");
	si_log_error("update", "preboot volume", si_diag_sys(&d, SI_E_MOUNT, PREBOOT_MNT, errno), &d);
	return SI_E_MOUNT;
}

/* What recovery found, when it had to choose. */
static void recovery_line(const char *what, const struct up_record_info *info)
{
	if (info->copy < 0 || info->other_valid)
		return;
	if (info->other_err)
		si_log(SI_LOG_WARN, "sealinit: update: %s: copy %d (seq %llu) taken; the other copy "
		       "is damaged (%s) and is rewritten at the next write", what, info->copy,
		       (unsigned long long)info->seq, si_err_meaning(info->other_err));
}

/* Commits u->next; on failure the boot goes on without writing: a trial
 * attempt that cannot be counted is not taken (the previous set boots
 * this time), a rollback that cannot be written boots the previous set
 * anyway. */
static int commit(struct boot *b, struct plan_update *u)
{
	struct si_diag d;
	int r;

	r = preboot_rw(1);
	if (r == 0) {
		si_diag_clear(&d);
		r = up_state_store(&fs, &u->next, &d);
		if (r)
			si_log_error("update", "state record", r, &d);
		if (preboot_rw(0) != 0 && r == 0)
			r = SI_E_MOUNT;
	}
	if (r == 0) {
		b->ustate = u->next;
		return 0;
	}
	if (u->action == PLAN_UP_TRIAL && b->ustate.previous) {
		si_log(SI_LOG_ERR, "sealinit: update: the trial attempt could not be counted; "
		       "booting the previous set in %s this time", up_slot_dir(b->ustate.previous));
		u->slot = b->ustate.previous;
	}
	return 0;
}

/* The engine's memory: the patch driver's workers and the hash tree of
 * the image being checked.  Static and untouched on a boot that applies
 * nothing (zero pages are never made resident). */
static uint8_t work[(size_t)CONFIG_UPDATE_MEM_KB * 1024] __attribute__((aligned(64)));
static struct up_plan uplan;

static void engine_log(void *ctx, int level, const char *line)
{
	(void)ctx;
	si_log(level, "%s", line);
}

/* Applies the staged bundle or does the revert (update/engine.c), with
 * the preboot volume writable meanwhile.  0: committed; the state in b
 * is the new one. */
static int run_engine(struct boot *b, const struct up_fs *f, struct plan_update *u)
{
	static struct patch_zstd z;
	struct up_engine e;
	struct si_diag d;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = n > 0 ? (n > 16 ? 16u : (unsigned)n) : 1u;
	size_t zl = patch_zstd_mem(threads);
	int r;

	memset(&e, 0, sizeof e);
	e.fs = f;
	e.floor_store = &floor_store;
	e.root = PREBOOT_MNT;
	e.anchor = &b->anchor;
	e.kc_boot_path = b->board.kc_boot_path;
	e.cryptex_dir = b->board.cryptex_dir;
	e.trial_boots = b->board.trial_boots;
	e.prefix = "sealinit: update";
	e.log = engine_log;
	/* the zstd decoders (one per patch worker), then the engine's */
	zl = (zl + 63) & ~(size_t)63;
	si_diag_clear(&d);
	r = patch_zstd_init(&z, work, zl, threads, 0, &d);
	if (r) {
		si_log_error("update", "zstd decoder", r, &d);
		return r;
	}
	e.decode = patch_zstd_decode;
	e.dctx = &z;
	e.threads = threads;
	e.work = work + zl;
	e.work_len = sizeof work - zl;
	e.st = b->ustate;
	e.floors = b->floors;
	r = preboot_rw(1);
	if (r)
		return r;
	si_diag_clear(&d);
	if (u->action == PLAN_UP_APPLY)
		r = up_apply_staged(&e, &uplan, &d);
	else
		r = up_revert(&e, &d);
	if (r) {
		struct si_diag zd;

		/* a stream's own error says more than the segment's */
		si_diag_clear(&zd);
		if (r != SI_E_BUNDLE_PAYLOAD) {
			int zr = patch_zstd_error(&z, &zd);

			if (zr) {
				r = zr;
				d = zd;
			}
		}
		si_log_error("update", u->action == PLAN_UP_APPLY ? "staged update" : "revert", r, &d);
	}
	patch_zstd_done(&z);
	b->ustate = e.st; /* what was committed: the new set, or the outcome */
	{
		/* the memory an update boot took (bench-update reads it) */
		char st[2048], *l;
		ssize_t n2;
		int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

		n2 = fd >= 0 ? read(fd, st, sizeof st - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n2 > 0) {
			st[n2] = '\0';
			l = strstr(st, "VmHWM:");
			if (l)
				si_log(SI_LOG_INFO, "sealinit: update: peak memory %ld KiB (VmHWM)",
				       strtol(l + 6, NULL, 10));
		}
	}
	sync();
	if (preboot_rw(0) != 0 && r == 0)
		r = SI_E_MOUNT;
	return r;
}

/* The boot loader's view of the state (update/loader.c): rewritten when
 * it no longer says what the state record says, so a confirmed boot that
 * changed nothing writes nothing. */
static void loader_env(struct boot *b)
{
	struct si_diag d;
	char want[96], have[96];
	size_t n = up_loader_env_format(&b->ustate, want, sizeof want);
	ssize_t got = -1;
	int fd, r;

	fd = openat(px.root_fd, "loader.env", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd >= 0) {
		got = read(fd, have, sizeof have);
		close(fd);
	}
	if (n == 0 || (got == (ssize_t)n && !memcmp(have, want, n)))
		return;
	/* a factory device (no state record, slot a confirmed) needs none */
	if (got < 0 && b->ustate.seq == 0)
		return;
	if (preboot_rw(1) != 0)
		return;
	si_diag_clear(&d);
	r = up_loader_env_write(&fs, &b->ustate, &d);
	if (r)
		si_log_error("update", "boot loader state (loader.env)", r, &d);
	(void)preboot_rw(0);
}

/* After an update whose boot collection is for another kernel: this
 * kernel cannot boot the new set (its modules would not load), so the
 * machine restarts into it -- the one reboot the user asked for becomes
 * two passes through the boot loader, with nothing to do in between.  The
 * release is read from the new collection's archive header (offset 32:
 * the engine has just recomputed its whole tree); the next boot verifies
 * it like any other. */
static void restart_into_new_kernel(struct boot *b)
{
	char path[96], hdr[96], rel[65];
	size_t n;
	int fd;

	if (b->ustate.outcome != UP_OUT_APPLIED || b->slot != b->ustate.active)
		return;
	snprintf(path, sizeof path, "%s/%s", up_slot_dir(b->slot), b->board.kc_boot_path);
	fd = openat(px.root_fd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return;
	n = read(fd, hdr, sizeof hdr) == (ssize_t)sizeof hdr ? 1 : 0;
	close(fd);
	if (!n || memcmp(hdr, KC_COLL_MAGIC, 8) != 0)
		return;
	memcpy(rel, hdr + 32, 64);
	rel[64] = '\0';
	if (!strcmp(rel, b->kernel_release))
		return;
	si_log(SI_LOG_NOTICE, "sealinit: update: %s runs kernel %s, this is %s: restarting into it "
	       "(no reboot asked of the user)", up_slot_dir(b->slot), rel, b->kernel_release);
	sync();
	reboot(RB_AUTOBOOT);
	si_log(SI_LOG_ERR, "sealinit: update: restart failed (errno %d); booting on", errno);
}

int stage_update(struct boot *b)
{
	struct up_record_info info;
	struct plan_update u;
	struct si_diag d;
	enum up_ftype t = UP_FT_NONE;
	uint64_t sz;
	int fd, r, staged, applied = 0;

	fd = open(PREBOOT_MNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		si_diag_clear(&d);
		si_log_error("update", "preboot volume", si_diag_sys(&d, SI_E_OPEN, PREBOOT_MNT, errno), &d);
		return SI_E_OPEN;
	}
	up_fs_posix(&fs, &px, fd);
	si_diag_clear(&d);
	r = up_state_load(&fs, &b->ustate, &info, &d);
	if (r) {
		si_log_error("update", "state record", r, &d);
		return r;
	}
	recovery_line("state record", &info);
	si_diag_clear(&d);
	up_floor_store_file(&floor_store, &fs);
	r = floor_store.load(floor_store.ctx, &b->floors, &info, &d);
	if (r) {
		si_log_error("update", "rollback floors", r, &d);
		return r;
	}
	recovery_line("rollback floors", &info);
	si_diag_clear(&d);
	staged = fs.stat(fs.ctx, UP_STAGED_BUNDLE, &t, &sz, &d) == 0 && t != UP_FT_NONE;

	if (!b->cmdline.loader_fallback || !plan_update_fallback(&b->ustate, &u, &b->ops))
		plan_update(&b->board, &b->ustate, staged, &u, &b->ops);
	if (u.action == PLAN_UP_APPLY || u.action == PLAN_UP_REVERT) {
		r = run_engine(b, &fs, &u);
		if (r) {
			/* refused or failed: recorded and logged by the engine;
			 * this boot decides again without it */
			plan_update(&b->board, &b->ustate, 0, &u, &b->ops);
			if (u.action == PLAN_UP_REVERT)
				u.action = PLAN_UP_BOOT;
		} else {
			/* committed: the new active set (an update's first trial
			 * attempt is spent by the commit itself) */
			u.action = PLAN_UP_BOOT;
			u.write = 0;
			u.slot = b->ustate.active;
			applied = u.action == PLAN_UP_BOOT && b->ustate.outcome == UP_OUT_APPLIED;
		}
	}
	if (u.write)
		commit(b, &u);
	loader_env(b);
	b->slot = u.slot;
	if (applied)
		restart_into_new_kernel(b);
	si_log(SI_LOG_INFO, "sealinit: update: booting %s (%s)", up_slot_dir(b->slot),
	       plan_update_action_name(u.action));
	return 0;
}
