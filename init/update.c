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
#include "update/floor_tpm.h"

#define PREBOOT_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static struct up_posix px;
static struct si_fs fs;
static struct up_floor_store floor_store, floor_file;
static struct up_floor_tpm floor_tpm;
static struct tpm2_dev tpm_dev;
static struct tpm2_ops tpm_ops;

/* What the TPM floor store found (CONFIG_FLOOR_STORE_TPM*): the counter,
 * or -- in a build that may go on without it -- why it is not used. */
static void tpm_floor_line(const struct boot *b)
{
	char line[320];

	if (!IS_ENABLED(CONFIG_FLOOR_TPM))
		return;
	if (floor_tpm.status == 0) {
		si_log(SI_LOG_INFO, "sealinit: update: rollback floors: TPM NV counter 0x%08x = %llu; "
		       "release set floor %llu", floor_tpm.index, (unsigned long long)floor_tpm.value,
		       (unsigned long long)up_floor_of(&b->floors, UP_FLOOR_SET));
		return;
	}
	/* a warning, not an error line: this boot goes on */
	si_diag_format(&floor_tpm.status_diag, floor_tpm.status, line, sizeof line);
	si_log(SI_LOG_WARN, "sealinit: update: TPM rollback floor not read: %s (%s)", line,
	       si_err_name(floor_tpm.status));
	si_log(SI_LOG_WARN, "sealinit: WARNING: INSECURE: booting without the TPM's rollback floor "
	       "(CONFIG_INSECURE_TPM_OPTIONAL): %s; not for production",
	       floor_tpm.file ? "the preboot file's floors only" : "no recorded floors");
}

/* At the handoff, a confirmed system locks the counter until the next
 * reboot: nothing after it can write it (update/floor_tpm.h).  A trial
 * leaves it open for sealctl confirm, which raises it and locks it
 * itself; so does a confirmed set whose rollback index the counter has
 * not reached yet (the factory release before its first confirm). */
void boot_tpm_floor_lock(struct boot *b)
{
	struct si_diag d;
	int r;

	if (!IS_ENABLED(CONFIG_FLOOR_TPM) || floor_tpm.status != 0 || !floor_tpm.tpm)
		return;
	if (!(b->ustate.flags & UP_STATE_CONFIRMED) || floor_tpm.locked)
		return;
	if (b->plan.has_set && floor_tpm.value < b->plan.set.rollback_index) {
		si_log(SI_LOG_NOTICE, "sealinit: update: TPM NV counter 0x%08x = %llu is below the "
		       "confirmed set's rollback index %llu: left open for sealctl confirm",
		       floor_tpm.index, (unsigned long long)floor_tpm.value,
		       (unsigned long long)b->plan.set.rollback_index);
		return;
	}
	si_diag_clear(&d);
	r = tpm2_nv_write_lock(floor_tpm.tpm, floor_tpm.index, &d);
	if (r)
		si_log_error("update", "TPM rollback floor (write lock)", r, &d);
	else
		si_log(SI_LOG_INFO, "sealinit: update: TPM NV counter 0x%08x write-locked until reboot",
		       floor_tpm.index);
}

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

static struct patch_zstd z;

static int writable(void *ctx, int rw)
{
	(void)ctx;
	if (!rw)
		sync();
	return preboot_rw(rw);
}

/* The engine's error line: a stream's own error says more than the
 * segment's. */
static void engine_done(void *ctx, enum plan_up_action a, int r, struct si_diag *d)
{
	struct si_diag zd;

	(void)ctx;
	si_diag_clear(&zd);
	if (r != SI_E_BUNDLE_PAYLOAD) {
		int zr = patch_zstd_error(&z, &zd);

		if (zr) {
			r = zr;
			*d = zd;
		}
	}
	si_log_error("update", a == PLAN_UP_APPLY ? "staged update" : "revert", r, d);
}

/* The memory an update boot took (bench-update reads it). */
static void peak_memory_line(void)
{
	char st[2048], *l;
	ssize_t n;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	n = fd >= 0 ? read(fd, st, sizeof st - 1) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return;
	st[n] = '\0';
	l = strstr(st, "VmHWM:");
	if (l)
		si_log(SI_LOG_INFO, "sealinit: update: peak memory %ld KiB (VmHWM)",
		       strtol(l + 6, NULL, 10));
}

/* The records are read: what the TPM floor store found, in its place
 * among the update stage's lines. */
static struct boot *cur_boot;

static void floors_loaded(void *ctx, const struct up_floors *f)
{
	(void)ctx;
	cur_boot->floors = *f;
	tpm_floor_line(cur_boot);
}

/* After the boot loader was pointed at a set whose boot collection is for
 * another kernel (an update or revert committed, a trial rolled back):
 * this kernel cannot boot that set (its modules would not load), so the
 * machine restarts into it -- the one reboot the user asked for becomes
 * two passes through the boot loader, with nothing to do in between.  The
 * release is read from the collection's archive header (kc_coll_release:
 * checked as the archive parser checks it), only to compare it with this
 * kernel's and name it; the next boot verifies the collection like any
 * other. */
static void restart_into_new_kernel(struct boot *b)
{
	char path[PLAN_PATH_MAX + 16], rel[KC_COLL_RELEASE_MAX + 1];
	uint8_t hdr[KC_COLL_HDR];
	struct si_diag d;
	uint64_t size;
	ssize_t n;
	int fd;

	if ((size_t)snprintf(path, sizeof path, "%s/%s", up_slot_dir(b->slot),
			     b->board.kc_boot_path) >= sizeof path ||
	    fs_tree_open(px.root_fd, path, &fd, &size, &d) != 0)
		return;
	n = read(fd, hdr, sizeof hdr);
	close(fd);
	if (n < 0 || kc_coll_release(hdr, (size_t)n, rel, &d) != 0)
		return;
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
	struct up_engine e;
	struct up_boot ub;
	struct si_diag d;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned threads = n > 0 ? (n > 16 ? 16u : (unsigned)n) : 1u;
	size_t zl = (patch_zstd_mem(threads) + 63) & ~(size_t)63;
	int fd, r, zok;

	fd = open(PREBOOT_MNT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		si_diag_clear(&d);
		si_log_error("update", "preboot volume", si_diag_sys(&d, SI_E_OPEN, PREBOOT_MNT, errno), &d);
		return SI_E_OPEN;
	}
	up_fs_posix(&fs, &px, fd);
	cur_boot = b;
	up_floor_store_config(&floor_store, &floor_file, &floor_tpm, &tpm_dev, &tpm_ops, &fs);
	memset(&e, 0, sizeof e);
	e.fs = &fs;
	e.floor_store = &floor_store;
	e.anchor = &b->anchor;
	e.kc_boot_path = b->board.kc_boot_path;
	e.cryptex_dir = b->board.cryptex_dir;
	e.trial_boots = b->board.trial_boots;
	e.prefix = "sealinit: update";
	e.log = engine_log;
	e.threads = threads;
	/* the zstd decoders (one per patch worker), then the engine's; the
	 * static memory is touched only by a boot that applies something */
	si_diag_clear(&d);
	zok = patch_zstd_init(&z, work, zl, threads, 0, &d) == 0;
	if (zok) {
		e.decode = patch_zstd_decode;
		e.dctx = &z;
	} else {
		si_log_error("update", "zstd decoder", SI_E_NOMEM, &d);
		e.decode = patch_decode_stored;
	}
	e.work = work + zl;
	e.work_len = sizeof work - zl;
	memset(&ub, 0, sizeof ub);
	ub.e = &e;
	ub.board = &b->board;
	ub.ops = &b->ops;
	ub.plan = &uplan;
	ub.writable = writable;
	ub.engine_done = engine_done;
	ub.loaded = floors_loaded;
	ub.loader_fallback = b->cmdline.loader_fallback;
	si_diag_clear(&d);
	r = up_boot_run(&ub, &d);
	if (zok)
		patch_zstd_done(&z);
	b->ustate = e.st;
	b->floors = e.floors;
	if (r)
		return r;
	if (ub.engine_ran)
		peak_memory_line();
	b->slot = ub.slot;
	/* the boot loader was just pointed at another set (an update
	 * committed, a trial rolled back, loader.env behind after a crash):
	 * when that set's kernel is not this one, restart into it.  Only
	 * then, so a loader that does not read loader.env cannot loop. */
	if ((ub.engine_ran && !ub.engine_err) || ub.loader_written)
		restart_into_new_kernel(b);
	return 0;
}
