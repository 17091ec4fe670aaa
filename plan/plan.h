/* sealinit plan/: the boot plan.  Every decision of a boot -- which images,
 * verified how, mounted where, in which order, with which dm-verity
 * tables, what is skipped and why, what fails the boot -- is made here,
 * from gathered inputs, by pure code that sealinit (init/) and
 * `sealctl doctor` (tools/) share.  init/ only executes the plan.
 *
 * libavb's shape: the planner reaches the world only through struct
 * plan_ops (list and open preboot files, read them, open the system
 * partition, ask whether a module is loaded, print a line), so the same
 * code runs in PID 1, on a host disk image, in unit tests and under the
 * fuzzers.  The lines it prints through ops->log are the console lines of
 * a boot, so doctor shows an integrator exactly what the device will say.
 *
 * Order, as init/ calls it (docs/boot-flow.md):
 *   plan_settings      the kernel command line against the board's policy
 *   plan_modules       a module set (initramfs, boot KC): parsed, ordered,
 *                      its dependencies present before anything loads
 *   plan_boot          preboot listing, the boot KC verified whole in
 *                      memory, the system volume's and every cryptex's
 *                      seal, overlay authorisation and precedence, the
 *                      data volume, the real init's path
 *   plan_overlay_fail  at execution: a target that does not resolve inside
 *                      the new root, or an overlay that does not mount:
 *                      optional layers are dropped, required ones fail
 *   plan_init_check    at execution: where the real init resolved to
 *
 * Every function returns 0 or an error-table code; on an error it has
 * printed the boot's error line(s) through ops->log, and plan->stage names
 * the stage the failure belongs to ("failing boot in stage '...'").
 */
#ifndef SEALINIT_PLAN_PLAN_H
#define SEALINIT_PLAN_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "kc/collection.h"
#include "kc/kc.h"
#include "lib/bytes.h"
#include "lib/err.h"
#include "plan/cmdline.h"
#include "update/update.h"
#include "verify/anchor.h"
#include "verify/seal.h"
#include "verify/set.h"

#define PLAN_SLOT_DEFAULT "slots/a"   /* the factory slot */
#define PLAN_SET_FILE "release.set"   /* in every slot */
#define PLAN_PATH_MAX 256      /* paths in the new root, preboot-relative paths */
#define PLAN_LABEL_MAX SI_CMDLINE_LABEL_MAX
#define PLAN_NAME_MAX SI_SEAL_NAME_MAX
#define PLAN_LIST_MAX 512      /* space-separated lists in the board config */

/* ------------------------------------------------------------ the board */

/* What the command line may choose (CONFIG_CMDLINE_*). */
enum {
	PLAN_ALLOW_LABELS = 1u << 0,
	PLAN_ALLOW_INIT = 1u << 1,
	PLAN_ALLOW_FAILURE = 1u << 2,
};

/* The board's configuration: Kconfig's values in sealinit (and in the
 * sealctl built for that board), or a .config read by doctor. */
struct plan_board {
	char name[64];
	char preboot_label[PLAN_LABEL_MAX + 1];
	char system_label[PLAN_LABEL_MAX + 1];
	char data_label[PLAN_LABEL_MAX + 1];   /* "" or "none": no data volume */
	char system_name[PLAN_NAME_MAX + 1];
	char kc_boot_path[PLAN_PATH_MAX];      /* relative to the preboot volume */
	char kc_aux_path[PLAN_PATH_MAX];       /* relative to the preboot volume, outside the slots */
	char cryptex_dir[PLAN_PATH_MAX];       /* relative to the preboot volume */
	char required[PLAN_LIST_MAX];          /* cryptex names, topmost first */
	char cryptex_targets[PLAN_LIST_MAX];   /* "name=/path ..." pins */
	char real_init[PLAN_PATH_MAX];
	char data_mount[PLAN_PATH_MAX];
	unsigned cmdline_allow;                /* PLAN_ALLOW_* */
	int data_noexec;
	int test_hooks;
	enum si_failure failure;               /* never SI_FAILURE_DEFAULT */
	uint32_t uboot_usages;                 /* for si_anchor_parse */
	int insecure_uboot_all;
	int insecure_no_set;                   /* images may boot without a release set */
	int insecure_tpm_optional;             /* a missing or cleared TPM only warns */
	unsigned trial_boots;                  /* attempts of a set on trial */
	uint64_t kc_max;                       /* bytes */
	unsigned max_cryptexes;
};

/* The board sealinit (or this sealctl) was built for. */
void plan_board_kconfig(struct plan_board *b);

/* Reads a Kconfig .config (CONFIG_X=y, CONFIG_X="...", CONFIG_X=123,
 * "# CONFIG_X is not set") over the Kconfig defaults in b: doctor's
 * --config, to predict another build's boot.  Unknown options are
 * skipped; a malformed line or value of a known one is refused.
 * Errors: SI_E_CONFIG (offset: the line), SI_E_TOO_BIG.  b is changed
 * only on success. */
int plan_board_parse_config(const char *buf, size_t len, struct plan_board *b,
			    struct si_diag *d) SI_WUR;

/* ------------------------------------------------------------ operations */

enum plan_ftype {
	PLAN_FT_REG = 1, PLAN_FT_DIR, PLAN_FT_LNK, PLAN_FT_FIFO, PLAN_FT_OTHER,
};

/* The planner's whole view of the world.  Handles are the implementation's
 * (PID 1: file descriptors, kept open so that what was checked is what is
 * mounted: the loop device is attached to that descriptor, and the dm
 * table names that partition's device number). */
struct plan_ops {
	void *ctx;
	/* One console line (no newline); always called, also for success. */
	void (*log)(void *ctx, int level, const char *line);
	/* Calls each(arg, name, len) for every entry of the preboot volume's
	 * directory `dir` (relative), names as raw bytes.  SI_E_OPEN with
	 * errno ENOENT when the directory does not exist. */
	int (*list)(void *ctx, const char *dir,
		    void (*each)(void *arg, const char *name, size_t len), void *arg,
		    struct si_diag *d);
	/* Opens preboot file `path` (relative) without following a symbolic
	 * link anywhere on its path and without blocking; *size its size.
	 * Errors: SI_E_OPEN (errno ENOENT: missing), SI_E_FILE_TYPE (found_s
	 * names what it is: not a regular file), SI_E_IO. */
	int (*open)(void *ctx, const char *path, int *h, uint64_t *size,
		    struct si_diag *d);
	/* Opens the partition with GPT label `label` (after waiting for it,
	 * in PID 1).  On SI_E_PART_NOTFOUND, hint lists the partitions there
	 * are (as the kernel does when root= is wrong). */
	int (*open_part)(void *ctx, const char *label, int *h, uint64_t *size,
			 char *hint, size_t hint_n, struct si_diag *d);
	/* Reads exactly len bytes at off of handle h: 0, SI_E_SHORT, SI_E_IO. */
	int (*read_at)(void *ctx, int h, uint64_t off, void *buf, size_t len);
	void (*close)(void *ctx, int h);
	/* 1 when the running kernel already has module `name` ('-' and '_'
	 * alike); doctor answers from the initramfs it was given. */
	int (*module_loaded)(void *ctx, const char *name);
};

/* ------------------------------------------------------------ settings */

struct plan_settings {
	char preboot_label[PLAN_LABEL_MAX + 1];
	char system_label[PLAN_LABEL_MAX + 1];
	char data_label[PLAN_LABEL_MAX + 1];
	char init[PLAN_PATH_MAX];
	enum si_failure failure;
	int loglevel;                 /* 0: the build's */
	enum si_test_hook test;
};

/* The command line against the board's policy: each option the build does
 * not honour is reported and ignored (one line each), the rest applied.
 * Never fails the boot. */
void plan_settings(const struct plan_board *b, const struct si_cmdline *c,
		   const struct plan_ops *ops, struct plan_settings *out);

/* The banner lines a build prints at every boot for each option that
 * weakens policy (test hooks, command-line choices, insecure keys). */
void plan_banner(const struct plan_board *b, const struct plan_ops *ops);

/* ------------------------------------------------------------ module sets */

/* A set of modules to load: their bytes (verified memory of a kernel
 * collection, or initramfs files) and what plan_modules derives. */
struct plan_modset {
	unsigned n;
	const uint8_t *img[CONFIG_MAX_MODULES];
	size_t len[CONFIG_MAX_MODULES];
	char file[CONFIG_MAX_MODULES][80];  /* for messages; "" for KC modules */
	struct kc_modinfo info[CONFIG_MAX_MODULES];
	struct kc_graph graph;
};

/* Parses every module's .modinfo (nothing is loaded before all parse),
 * checks the release when `release` is given (vermagic), builds the load
 * graph, and checks that each depends= is in the set or already in the
 * kernel (ops->module_loaded): a module whose dependency is nowhere would
 * fail in the kernel with ENOENT after others loaded.  `stage` and `owner`
 * ("the initramfs", "kc-boot 'boot'") name it in the error lines.
 * Errors: those of kc_modinfo_parse, kc_vermagic_check, kc_graph_build,
 * SI_E_MODULE_DEP. */
int plan_modules(struct plan_modset *m, const char *release, const char *stage,
		 const char *owner, const struct plan_ops *ops) SI_WUR;

/* ------------------------------------------------------------ the plan */

enum plan_image_state {
	PLAN_IMG_USE = 1,   /* verified; to be mounted */
	PLAN_IMG_SKIP,      /* optional and refused: the boot goes on without it */
};

struct plan_image {
	char file[PLAN_PATH_MAX + PLAN_NAME_MAX + 16]; /* preboot path or partition label */
	int h;                       /* open handle; -1 when closed or none */
	uint64_t size;
	int required;
	enum plan_image_state state;
	struct si_seal seal;         /* valid when state == PLAN_IMG_USE */
	int err;                     /* why skipped */
	char reason[200];
};

struct plan_cryptex {
	struct plan_image img;
	char name[PLAN_NAME_MAX + 1];     /* the file's (== the signed) name */
	char target[PLAN_PATH_MAX];       /* the signed overlay target */
	char mnt[PLAN_PATH_MAX];          /* where its tree is mounted */
	char dm_name[80];
	unsigned rank;                    /* precedence: 0 is topmost */
};

/* One overlay mount: a target and its layers, topmost first. */
struct plan_overlay {
	char target[PLAN_PATH_MAX];
	unsigned n;
	unsigned layer[CONFIG_MAX_CRYPTEXES];  /* indexes into plan.cx */
	int dropped;                           /* every layer dropped: not mounted */
};

/* What a seal is checked against besides its signature: the board, the
 * anchor (the signing key's overlay targets), and the paths no cryptex
 * may cover.  data_mnt NULL: no data volume. */
struct plan_policy {
	const struct plan_board *board;
	const struct si_anchor *anchor;
	const char *init;
	const char *data_mnt;
};

/* What sealinit requires of an authenticated image of its kind, beyond
 * the signature and the key's usage: kc-boot raw; kc-system and kc-aux
 * erofs; system named as the
 * board says; a cryptex signed with the name `name` (NULL: not checked),
 * with an overlay target its key and the board allow and nobody forbids;
 * system and cryptexes of a file system sealinit mounts.  sealctl verify
 * applies the same.  Errors: SI_E_IMAGE_KIND, SI_E_SYSTEM_NAME,
 * SI_E_CRYPTEX_NAME, SI_E_MANIFEST_MISSING, SI_E_OVERLAY_DENIED,
 * SI_E_OVERLAY_FORBIDDEN. */
int plan_seal_check(const struct plan_policy *pol, const struct si_seal *s,
		    const char *name, struct si_diag *d) SI_WUR;

struct plan_inputs {
	const struct plan_board *board;
	const struct plan_settings *set;
	const struct si_anchor *anchor;
	const char *slot;             /* the active slot's directory ("slots/a") */
	const struct up_floors *floors; /* recorded rollback floors (NULL: none) */
	const uint8_t *active_set;    /* the state's digest of the slot's set (NULL: any) */
	const char *kernel_release;   /* NULL: not checked (doctor without one) */
	uint8_t *kc_buf;              /* where the boot KC is read whole */
	size_t kc_cap;
	int full_trees;               /* doctor --full: every tree recomputed */
};

struct plan {
	const char *stage;            /* of the failure, or of the last step */
	struct plan_policy policy;
	/* the active release set, verified (has_set 0: none, and allowed) */
	int has_set;
	struct si_set set;
	char slot[32];
	/* boot kernel collection: verified whole in memory */
	struct plan_image kc;
	const uint8_t *kc_bytes;
	struct kc_collection coll;
	struct plan_modset kc_mods;
	/* system kernel collection (kc-system, erofs through dm-verity on
	 * /lib/modules of the new root): state 0 when the set lists none */
	struct plan_image ksys;
	char ksys_mnt[PLAN_PATH_MAX];
	char ksys_dm[80];
	/* the integrator's aux collection (kc-aux, outside the set): erofs
	 * through dm-verity, overlaid on the system tier at /lib/modules, its
	 * index (made with exactly that system tier) over the system tier's;
	 * state 0 when there is none, PLAN_IMG_SKIP when refused */
	struct plan_image aux;
	char aux_mnt[PLAN_PATH_MAX];
	char aux_dm[80];
	/* system volume */
	struct plan_image sys;
	char sys_mnt[PLAN_PATH_MAX];
	/* cryptexes, by precedence: rank 0 first */
	unsigned n_cx;
	struct plan_cryptex cx[CONFIG_MAX_CRYPTEXES];
	/* overlays, parents before the targets nested in them */
	unsigned n_ov;
	struct plan_overlay ov[CONFIG_MAX_CRYPTEXES];
	/* data volume */
	int has_data;
	char data_label[PLAN_LABEL_MAX + 1];
	char data_mnt[PLAN_PATH_MAX];
	int data_noexec;
	/* the real init, relative to the new root */
	char init[PLAN_PATH_MAX];
};

/* ------------------------------------------------------------ update */

enum plan_up_action {
	PLAN_UP_BOOT = 0,   /* the active set; nothing written */
	PLAN_UP_TRIAL,      /* the active set on trial: one attempt spent first */
	PLAN_UP_ROLLBACK,   /* attempts spent: the previous set back, the failed one marked */
	PLAN_UP_REVERT,     /* sealctl revert: the previous set back */
	PLAN_UP_APPLY,      /* a staged bundle: checked, applied, committed, on trial */
};

struct plan_update {
	enum plan_up_action action;
	char slot;               /* the slot to boot unless the action changes it */
	int write;               /* `next` is committed before the boot */
	struct up_state next;
};

/* What this boot does about updates, from the state record and whether a
 * bundle is staged (plan/update.c), with its console line.  In order: a
 * trial out of attempts rolls back; a revert asked for; a staged bundle;
 * a trial attempt spent; else the active set, writing nothing. */
void plan_update(const struct plan_board *b, const struct up_state *st, int staged,
		 struct plan_update *u, const struct plan_ops *ops);
const char *plan_update_action_name(enum plan_up_action a);

/* The boot loader fell back (sealinit.loader=fallback on the command
 * line): a set on trial whose kernel never reached sealinit.  Returns 1
 * with a rollback decided in u (the previous set back, the failed one
 * remembered, as when the attempts run out) and its line; 0 when there is
 * no trial to end (u untouched: plan_update decides). */
int plan_update_fallback(const struct up_state *st, struct plan_update *u,
			 const struct plan_ops *ops);

#define PLAN_NEWROOT "/newroot"
#define PLAN_MODULES_DIR "/lib/modules"     /* the system KC, in the new root */
#define PLAN_KSYS_MNT "/run/sealinit/kc-system"
#define PLAN_KAUX_MNT "/run/sealinit/kc-aux"
#define PLAN_CRYPTEX_MNT "/run/sealinit/cryptex"

/* Plans the boot from the inputs, through ops.  p is the caller's
 * (static in PID 1: it is large).  On success every image in it is
 * verified and every handle of a used image is open; on failure the
 * error lines are printed and p->stage names the stage.
 * Errors: every verdict of verify/ and kc/, and SI_E_REQUIRED_MISSING,
 * SI_E_FILE_TYPE, SI_E_CRYPTEX_NAME, SI_E_SYSTEM_NAME, SI_E_IMAGE_KIND,
 * SI_E_OVERLAY_DENIED, SI_E_OVERLAY_FORBIDDEN, SI_E_OVERLAY_SHADOW,
 * SI_E_INIT_PATH, SI_E_TOO_BIG, SI_E_PART_NOTFOUND, SI_E_PART_DUP. */
int plan_boot(const struct plan_inputs *in, const struct plan_ops *ops,
	      struct plan *p) SI_WUR;

/* Closes every handle plan_boot left open. */
void plan_release(struct plan *p, const struct plan_ops *ops);

/* At execution, cryptex i could not be set up (loop, dm-verity, mount):
 * an optional one is skipped (a line) and leaves its overlay; a required
 * one fails the boot (err returned after the error line). */
int plan_cryptex_fail(struct plan *p, unsigned i, int err, const struct si_diag *d,
		      const struct plan_ops *ops) SI_WUR;

/* At execution, overlay ov could not be used: its target did not resolve
 * to a directory inside the new root without a symbolic link (err
 * SI_E_OVERLAY_TARGET; d says which component), or the mount failed.
 * Optional layers are dropped (a line each, and the overlay is tried again
 * without them while a required layer remains); if a required layer is in
 * it, the boot fails.  Returns 0 when the boot goes on (p->ov[ov].n
 * layers remain, or dropped is set), else err after the error line. */
int plan_overlay_fail(struct plan *p, unsigned ov, int err, const struct si_diag *d,
		      const struct plan_ops *ops) SI_WUR;

/* At execution, overlay ov's target was resolved inside the new root
 * (fs_resolve with FS_RESOLVE_DIR | FS_RESOLVE_NO_SYMLINKS): r is its
 * result.  0 goes on; a missing or non-directory target becomes
 * SI_E_OVERLAY_TARGET, and every failure goes to plan_overlay_fail. */
int plan_overlay_resolved(struct plan *p, unsigned ov, int r, struct si_diag *d,
			  const struct plan_ops *ops) SI_WUR;

/* Where the real init resolved to, inside the new root: the path of the
 * file (symbolic links resolved, relative to the new root) and which mount
 * holds it.  It must be a regular executable file of the system volume
 * itself, never below an overlay target or the data volume.
 * Errors: SI_E_INIT_MISSING, SI_E_INIT_PLACE. */
enum plan_init_mount { PLAN_INIT_ON_SYSTEM = 1, PLAN_INIT_ON_OTHER };
int plan_init_check(const struct plan *p, const char *resolved, int is_exec_file,
		    enum plan_init_mount on, const struct si_diag *d,
		    const struct plan_ops *ops) SI_WUR;

/* ------------------------------------------------------------ reports */

/* "sealinit: <stage>: <what>: <meaning (details)> [CODE]" then, when the
 * code has one, "sealinit: hint: <what to check>": the boot's error lines,
 * through ops->log.  `what` is trusted text; untrusted parts are escaped
 * by the caller. */
void plan_log_error(const struct plan_ops *ops, const char *stage, const char *what,
		    int err, const struct si_diag *d);
/* The anchor's keys as the boot lists them: id, algorithm, source, what
 * each may sign and where its cryptexes may go, the floor, "N keys OK". */
void plan_anchor_report(const struct si_anchor *a, const struct plan_ops *ops);

/* printf-style line at `level` through ops->log. */
void plan_log(const struct plan_ops *ops, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

enum { PLAN_LOG_ERR = 3, PLAN_LOG_WARN = 4, PLAN_LOG_NOTICE = 5, PLAN_LOG_INFO = 6,
       PLAN_LOG_DEBUG = 7 };

#endif
