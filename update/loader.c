/* sealinit update/: the boot loader's view of the update state.
 *
 * A boot loader that cannot read the state record (Debian's U-Boot runs a
 * script: it imports text variables, it does not check SHA-256 records)
 * reads loader.env on the preboot volume, written from the state record
 * after every state write, by sealinit and by the device's sealctl:
 *
 *   active=b                  the slot whose boot KC holds the kernel
 *   previous=a                the slot to fall back to ("" when none)
 *   trial=55e50291755d2a77    16 hex digits of the active set's digest
 *                             while it is on trial, "" once confirmed
 *
 * While `trial` is set the loader counts its own boots of that trial (on
 * storage it can write) and, past its limit, boots `previous`'s kernel
 * with sealinit.loader=fallback: a trial kernel that dies before sealinit
 * runs spends no attempt of sealinit's own counting, so only the loader
 * sees it.  The file is advisory: it chooses which signed kernel the
 * loader tries first; sealinit verifies everything after that against the
 * state record, never against this file.
 */
#include <stdio.h>
#include <string.h>

#include "lib/str.h"
#include "update/update.h"

#define LOADER_ENV "loader.env"
#define LOADER_ENV_NEW "loader.env.new"

size_t up_loader_env_format(const struct up_state *st, char *buf, size_t n)
{
	char trial[17] = "", prev[2] = { st->previous, 0 };
	int len;

	if (!(st->flags & UP_STATE_CONFIRMED))
		si_hex(trial, st->active_set, 8);
	len = snprintf(buf, n, "active=%c\nprevious=%s\ntrial=%s\n", st->active, prev, trial);
	return len < 0 || (size_t)len >= n ? 0 : (size_t)len;
}

/* 1 when loader.env says what st says (read errors: 0). */
static int current(const struct si_fs *fs, const struct up_state *st)
{
	char buf[96], old[96];
	size_t len = up_loader_env_format(st, buf, sizeof buf);
	uint64_t size = 0;
	int h = -1, same = 0;

	if (len && fs->open(fs->ctx, LOADER_ENV, SI_O_READ, &h, NULL) == 0) {
		same = fs->size(fs->ctx, h, &size, NULL) == 0 && size == len &&
		       fs->pread(fs->ctx, h, 0, old, len, NULL) == 0 && memcmp(old, buf, len) == 0;
		fs->close(fs->ctx, h);
	}
	return same;
}

int up_loader_env_needed(const struct si_fs *fs, const struct up_state *st)
{
	enum si_ftype t = SI_FT_NONE;
	uint64_t size;

	/* a factory device (no state record, slot a confirmed) needs none */
	if (st->seq == 0 && !st->previous &&
	    (fs->stat(fs->ctx, LOADER_ENV, &t, &size, NULL) != 0 || t == SI_FT_NONE))
		return 0;
	return !current(fs, st);
}

int up_loader_env_write(const struct si_fs *fs, const struct up_state *st, struct si_diag *d)
{
	char buf[96];
	size_t len = up_loader_env_format(st, buf, sizeof buf);
	int h = -1, r;

	if (len == 0)
		return SI_E_ARG;
	r = fs->open(fs->ctx, LOADER_ENV_NEW, SI_O_WRITE, &h, d);
	if (r)
		return r;
	r = fs->pwrite(fs->ctx, h, 0, buf, len, d);
	if (r == 0)
		r = fs->fsync(fs->ctx, h, d);
	fs->close(fs->ctx, h);
	if (r == 0)
		r = fs->rename(fs->ctx, LOADER_ENV_NEW, LOADER_ENV, d);
	if (r == 0)
		r = fs->fsync_dir(fs->ctx, ".", d);
	return r;
}
