/* sealinit: stage update -- the state record and the recorded floors read
 * from the preboot volume (the newest valid copy of each, saying what
 * recovery did), the decision made by plan_update() (plan/update.c), and
 * that decision carried out: a trial attempt spent, a failed trial rolled
 * back, a staged bundle applied or a revert done (update/engine.c).  The
 * preboot volume is remounted writable only for those writes; a confirmed
 * system writes nothing here. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "init/boot.h"
#include "init/log.h"
#include "lib/str.h"
#include "patch/zstd.h"
#include "update/engine.h"

#define PREBOOT_FLAGS (MS_NOSUID | MS_NODEV | MS_NOEXEC)

static struct up_posix px;
static struct si_fs fs;
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
	up_floor_store_file(&floor_store, &fs);
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
	return 0;
}
