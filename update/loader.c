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

int up_loader_env_write(const struct up_fs *fs, const struct up_state *st, struct si_diag *d)
{
	char buf[96], old[96];
	size_t len = up_loader_env_format(st, buf, sizeof buf);
	uint64_t size = 0;
	int h = -1, r;

	if (len == 0)
		return SI_E_ARG;
	/* unchanged: nothing written */
	if (fs->open(fs->ctx, LOADER_ENV, UP_O_READ, &h, NULL) == 0) {
		r = fs->size(fs->ctx, h, &size, NULL);
		if (r == 0 && size == len && fs->pread(fs->ctx, h, 0, old, len, NULL) == 0 &&
		    memcmp(old, buf, len) == 0) {
			fs->close(fs->ctx, h);
			return 0;
		}
		fs->close(fs->ctx, h);
	}
	r = fs->open(fs->ctx, LOADER_ENV_NEW, UP_O_WRITE, &h, d);
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
