/* sealinit: PID 1's boot state and stages (init/ only).
 *
 * init/ gathers the inputs, asks plan/ to decide, and executes the plan:
 * one file per stage, each logging its own execution errors once.
 */
#ifndef SEALINIT_INIT_BOOT_H
#define SEALINIT_INIT_BOOT_H

#include <sys/types.h>
#include <time.h>

#include "mount/mount.h"
#include "plan/plan.h"
#include "plan/status.h"
#include "verify/anchor.h"

#define BOOT_MAX_STAGES 12

#define RUNDIR "/run/sealinit"
#define PREBOOT_MNT RUNDIR "/preboot"

/* Where the trust anchor is read from (CONFIG_ANCHOR_*), and where a copy
 * of the initramfs's blob is left for the running OS. */
#ifdef CONFIG_ANCHOR_INITRAMFS
#define BOOT_ANCHOR_PATH CONFIG_ANCHOR_PATH
#else
#define BOOT_ANCHOR_PATH "/sys/firmware/fdt"
#endif
#define BOOT_ANCHOR_COPY RUNDIR "/anchor.dtb"

struct boot {
	struct timespec t0, stage_t0;
	const char *stage;
	const char *fail_stage;       /* the failing decision's stage, when not `stage` */
	unsigned n_stages;
	struct plan_timing timing[BOOT_MAX_STAGES];
	struct plan_board board;
	struct si_cmdline cmdline;
	struct plan_settings set;
	struct plan_ops ops;          /* init/ops.c: PID 1's view for plan/ */
	struct si_anchor anchor;
	char kernel_release[65];
	struct up_state ustate;       /* the update state (stage update) */
	struct up_floors floors;      /* the recorded rollback floors */
	char slot;                    /* the slot this boot uses */
	struct plan plan;
	int newroot_fd;               /* the system volume's root, once mounted */
	dev_t sys_dev;                /* its device (st_dev) */
	unsigned n_overlaid;
	char data_dev[64];
};

/* PID 1's plan_ops (init/ops.c): the preboot volume through a directory
 * descriptor, files opened without links or blocking, partitions by GPT
 * label after waiting, modules by /sys/module, lines by si_log. */
void boot_ops_init(struct boot *b);
/* Opens the preboot volume's root for boot_ops (after the mount). */
int boot_ops_preboot(const char *dir);

/* Waits up to CONFIG_DEVICE_WAIT_MS for the partition labelled `label`;
 * its node in path.  On SI_E_PART_NOTFOUND, hint lists what there is. */
int boot_wait_partition(const char *label, char *path, size_t n, char *hint,
			size_t hint_n, struct si_diag *d);
/* 1 when the kernel has module `name` loaded (/sys/module/NAME/initstate). */
int boot_module_loaded(const char *name);

/* Loads a planned module set on CONFIG_MODULE_LOAD_THREADS threads: each
 * module once the ones it needs are in; logs the first failure (init/modload.c). */
int boot_modset_load(struct plan_modset *m, const char *stage, const char *owner);

/* The kernel's modprobe helper before the handoff (init/modhelper.c):
 * arm copies the verified boot collection's archive into a sealed memfd
 * -- but bytes [hole, hole + hole_len), the boot image, which the helper
 * never reads: a hole there costs no memory -- and points
 * /proc/sys/kernel/modprobe at /init; disarm (at the handoff) puts
 * /sbin/modprobe back.  main() runs boot_modhelper_main when the kernel
 * starts /init as its helper ("/init -q -- NAME", not PID 1). */
int boot_modhelper_arm(const uint8_t *archive, size_t len, size_t hole, size_t hole_len);
void boot_modhelper_disarm(void);
int boot_modhelper_main(int argc, char **argv);

/* mkdir -p in the initramfs (paths sealinit itself chose). */
void boot_mkdirs(const char *path);

/* CONFIG_VERITY_*: what dm-verity does with a corrupt block. */
enum dm_verity_on_error boot_verity_mode(void);

/* A planned image mounted read-only on mnt (made first) through dm-verity
 * named dm, from the handle its seal was read through, which is closed
 * either way (fs_sealed_mount: flags FS_SEALED_FILE for a file). */
int boot_sealed_mount(struct boot *b, struct plan_image *im, unsigned flags, const char *dm,
		      const char *mnt, struct fs_sealed *out, struct si_diag *d);

/* Mounts a directory from its resolved descriptor: "/proc/self/fd/N". */
void boot_fd_path(int fd, char *out, size_t n);

/* Each stage logs its own errors (once) and returns 0 or the error;
 * plan_boot's errors come with their lines printed and b->plan.stage set. */
int stage_storage(struct boot *b);
int stage_update(struct boot *b);
/* Before the handoff: the TPM floor counter write-locked until reboot on
 * a confirmed system (init/update.c; nothing without a TPM floor store). */
void boot_tpm_floor_lock(struct boot *b);
int stage_plan(struct boot *b);
int stage_kc(struct boot *b);
int stage_system(struct boot *b);
int stage_cryptexes(struct boot *b);
int stage_data(struct boot *b);
/* Resolves and checks the real init, writes status.json; the descriptor
 * to exec (init/handoff.c). */
int stage_handoff_check(struct boot *b, int *init_fd, char *resolved, size_t n);
int stage_status(struct boot *b, unsigned elapsed_us);

#endif
