/* sealinit update/: the update engine -- what sealinit does at boot with a
 * staged bundle or a revert, and what sealctl does in the running OS
 * (stage, confirm, revert, status), over one preboot volume reached
 * through struct si_fs.
 *
 * Slots hold whole releases (update/update.h).  An update is written out
 * of place into a slot that is neither the active one nor the one holding
 * the release the bundle starts from; every image is applied to a .part
 * file, its whole hash tree recomputed against its target seal, renamed
 * into place; the slot's release.set is written last; then one state
 * record commits it (the atomic step) and the set boots on trial.  A
 * crash anywhere before the commit leaves the old set active and the work
 * done so far reusable (images already in place are checked and kept, the
 * patch driver resumes from its checkpoint); a crash after it leaves the
 * new set active, whole.
 *
 * Every slot made by an update keeps in revert/ the set it came from
 * (base.set) and a reverse patch per changed image: the release it came
 * from can be rebuilt with nothing downloaded (sealctl revert, and a
 * response stacked on another, which starts from the base release).
 */
#ifndef SEALINIT_UPDATE_ENGINE_H
#define SEALINIT_UPDATE_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "patch/patch.h"
#include "plan/plan.h"
#include "update/bundle.h"
#include "update/update.h"
#include "verify/anchor.h"
#include "verify/set.h"

#define UP_REVERT_DIR "revert"
#define UP_BASE_SET "revert/base.set"

struct up_engine {
	const struct si_fs *fs;
	const struct up_floor_store *floor_store; /* NULL: the file store on fs */
	const struct si_anchor *anchor;
	const char *kc_boot_path;      /* in a slot: the boot KC's file */
	const char *cryptex_dir;       /* in a slot: the cryptexes' directory */
	unsigned trial_boots;
	const char *prefix;            /* of log lines: "sealinit: update" */
	void (*log)(void *ctx, int level, const char *line);
	void *lctx;
	patch_decode_fn decode;
	void *dctx;
	unsigned threads;
	uint8_t *work;                 /* bounded memory for the patch driver and the tree */
	size_t work_len;
	/* loaded by up_engine_load */
	struct up_state st;
	struct up_floors floors;
};

/* What a bundle would do on this device (up_bundle_check). */
struct up_plan {
	struct up_bundle b;
	struct si_set target;          /* the target set, authenticated */
	uint8_t target_bytes[SI_MANIFEST_MAX];
	size_t target_len;
	struct si_set base;            /* the set the bundle starts from */
	uint8_t base_bytes[SI_MANIFEST_MAX];
	size_t base_len;
	int stacked;                   /* base is the active set's base, not the active set */
	char base_slot, new_slot;
	uint64_t need, avail;          /* bytes on the preboot volume */
};

/* Reads the state and the floors (newest valid copies). */
int up_engine_load(struct up_engine *e, struct si_diag *d) SI_WUR;

/* The file of an image of a slot: <slot>/<kc path> for the boot KC,
 * <slot>/<kc dir>/<name>.kc for other collections, <slot>/<cryptex
 * dir>/<name>.cryptex. */
void up_image_path(const struct up_engine *e, char slot, enum si_kind kind, const char *name,
		   char *out, size_t n);

/* Checks a bundle against the device before anything is written: its
 * head (signature, `update` usage, floors), its target set (the payload's
 * digest, signature, floors, the head's name, version and index), that it
 * starts from the active set (or, stacked, from the release the active
 * response was made from), that every image of both sets has its entry,
 * that the target is not a set that failed its trial, and the space it
 * needs.  read/size: the bundle (staged, or a file being staged).  On
 * success *p says what applying it does.  Errors: up_bundle_open's,
 * SI_E_BUNDLE, SI_E_BUNDLE_BASE, SI_E_BUNDLE_FAILED, SI_E_SET_*,
 * SI_E_SEAL_ROLLBACK, SI_E_NO_SPACE, I/O. */
int up_bundle_check(struct up_engine *e, int (*read)(void *ctx, uint64_t off, void *buf, size_t len),
		    void *rctx, uint64_t size, int at_boot, struct up_plan *p, struct si_diag *d) SI_WUR;

/* sealinit: applies the staged bundle (checked again: the OS is not
 * trusted), commits the new set on trial, removes the bundle and what
 * no slot needs any more.  A refused or failed bundle is removed and the
 * outcome recorded; the active set is untouched.  p is caller memory. */
int up_apply_staged(struct up_engine *e, struct up_plan *p, struct si_diag *d) SI_WUR;

/* sealinit: the revert asked for: the previous set rebuilt where needed
 * (reverse patches), committed.  A revert that cannot be done (the
 * previous set below a recorded floor, a patch missing) clears the
 * request and records why. */
int up_revert(struct up_engine *e, struct si_diag *d) SI_WUR;

/* sealctl: the running OS's steps. */
int up_stage(struct up_engine *e, int src_fd, uint64_t size, struct up_plan *p,
	     struct si_diag *d) SI_WUR;
int up_confirm(struct up_engine *e, struct si_diag *d) SI_WUR;
int up_request_revert(struct up_engine *e, struct si_diag *d) SI_WUR;
/* Removes the slots the state no longer names and stray work files. */
int up_gc(struct up_engine *e, struct si_diag *d) SI_WUR;

/* The boot's update stage (update/boot.c): the records read (newest valid
 * copies), plan_update() decides, the engine applies or reverts, a trial
 * attempt is counted or a failed trial rolled back.  The caller fills e
 * (fs, floor store, anchor, paths, log, decoder, memory) and the board;
 * `plan` is caller memory for the engine.  On return slot is the slot to
 * boot.  Errors: only a state record or floor store that cannot be read
 * at all (the caller's failure action); everything else is logged and the
 * boot goes on with the set that is whole. */
struct up_boot {
	struct up_engine *e;
	const struct plan_board *board;
	const struct plan_ops *ops;
	struct up_plan *plan;
	/* the preboot volume writable (rw 1) or read-only again (rw 0); NULL:
	 * always writable */
	int (*writable)(void *ctx, int rw);
	/* the engine refused or failed: the caller's line (NULL: the
	 * engine's error line is printed here) */
	void (*engine_done)(void *ctx, enum plan_up_action a, int r, struct si_diag *d);
	/* the records were read (may be NULL): the caller's own lines */
	void (*loaded)(void *ctx, const struct up_floors *f);
	void *wctx;
	/* the boot loader booted the previous set's kernel because the
	 * trial's never reached sealinit (sealinit.loader=fallback) */
	int loader_fallback;
	/* out */
	char slot;
	enum plan_up_action action;
	int engine_ran, engine_err;
	int loader_written; /* loader.env was rewritten by this boot */
};
int up_boot_run(struct up_boot *b, struct si_diag *d) SI_WUR;

/* Reads and authenticates a slot's release.set (floor: the @set floor);
 * buf holds SI_MANIFEST_MAX bytes.  SI_E_SET_MISSING when there is none. */
int up_slot_set(struct up_engine *e, char slot, struct si_set *s, uint8_t *buf, size_t *len,
		struct si_diag *d) SI_WUR;

#endif
