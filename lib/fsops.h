/* sealinit lib/: one operations table for every file the update path
 * reads or writes -- the update engine, its state records, the patch
 * driver's output and checkpoint, the floor store.  Three implementations
 * share it: the preboot volume under a root descriptor (update/fs.c, in
 * PID 1 and in the running OS), ordinary paths (lib/fsops.c, sealctl on
 * the host), and the power-loss harness's model of a disk that keeps only
 * what was synced (tests/crash/memfs.c).  The same code therefore runs in
 * sealinit, in sealctl and under the harness.
 *
 * Each operation returns 0 or an error-table code with errno in d (d may
 * be NULL).  Handles are the implementation's small integers. */
#ifndef SEALINIT_LIB_FSOPS_H
#define SEALINIT_LIB_FSOPS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"

enum si_ftype { SI_FT_NONE = 0, SI_FT_REG, SI_FT_DIR, SI_FT_BLK, SI_FT_OTHER };

enum si_omode {
	SI_O_READ = 0,      /* read only */
	SI_O_WRITE,         /* create or truncate, read and write */
	SI_O_RDWR,          /* create when missing, keep the content */
	SI_O_RDWR_EXISTING, /* read and write what is there (never created) */
};

struct si_fs {
	void *ctx;
	int (*open)(void *ctx, const char *path, enum si_omode mode, int *h, struct si_diag *d);
	int (*pread)(void *ctx, int h, uint64_t off, void *buf, size_t len, struct si_diag *d);
	int (*pwrite)(void *ctx, int h, uint64_t off, const void *buf, size_t len,
		      struct si_diag *d);
	int (*fsync)(void *ctx, int h, struct si_diag *d);
	int (*fdatasync)(void *ctx, int h, struct si_diag *d);
	int (*truncate)(void *ctx, int h, uint64_t size, struct si_diag *d);
	/* a file's size, or a block device's */
	int (*size)(void *ctx, int h, uint64_t *size, struct si_diag *d);
	int (*close)(void *ctx, int h);
	int (*rename)(void *ctx, const char *from, const char *to, struct si_diag *d);
	int (*unlink)(void *ctx, const char *path, struct si_diag *d);  /* missing: 0 */
	int (*link)(void *ctx, const char *from, const char *to, struct si_diag *d);
	int (*mkdir)(void *ctx, const char *path, struct si_diag *d);   /* present: 0 */
	int (*rmdir)(void *ctx, const char *path, struct si_diag *d);   /* missing: 0 */
	int (*fsync_dir)(void *ctx, const char *path, struct si_diag *d);
	/* what is at path (SI_FT_NONE when nothing), never following a link */
	int (*stat)(void *ctx, const char *path, enum si_ftype *t, uint64_t *size,
		    struct si_diag *d);
	int (*list)(void *ctx, const char *dir, void (*each)(void *arg, const char *name, size_t len),
		    void *arg, struct si_diag *d);
	int (*free_bytes)(void *ctx, uint64_t *bytes, struct si_diag *d);
	/* a hint: start writing this range back (may be NULL) */
	void (*writeback)(void *ctx, int h, uint64_t off, uint64_t len);
};

/* Reads exactly len bytes at off through fs: SI_E_SHORT past the end. */
int si_fs_read_full(const struct si_fs *fs, int h, uint64_t off, void *buf, size_t len,
		    struct si_diag *d) SI_WUR;

/* The directory part of path ("." when it has none) into out[0..n). */
void si_path_dir(const char *path, char *out, size_t n);

/* Ordinary paths, relative to the working directory or absolute, as the
 * host's tools use them (sealctl): symbolic links followed as usual, block
 * devices written in place. */
extern const struct si_fs si_fs_cwd;

#endif
