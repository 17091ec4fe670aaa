/* sealinit: PID 1's boot state and stages (init/ only). */
#ifndef SEALINIT_INIT_BOOT_H
#define SEALINIT_INIT_BOOT_H

#include <time.h>

#include "init/cmdline.h"
#include "mount/mount.h"
#include "verify/anchor.h"
#include "verify/seal.h"

#define BOOT_MAX_STAGES 12
#define BOOT_MAX_IMAGES (CONFIG_MAX_CRYPTEXES + 2)
#define BOOT_MAX_SKIPPED CONFIG_MAX_CRYPTEXES

#define NEWROOT "/newroot"
#define RUNDIR "/run/sealinit"
#define PREBOOT_MNT RUNDIR "/preboot"
#define CRYPTEX_MNT RUNDIR "/cryptex"

/* What status.json reports of one verified image. */
struct boot_image {
	char name[SI_SEAL_NAME_MAX + 1];
	const char *kind;
	char version[SI_SEAL_VERSION_MAX + 1];
	char root_hash[2 * SI_SEAL_DIGEST_MAX + 1];
	char key_id[SI_KEY_ID_MAX + 1];
	uint64_t rollback_index;
	char mounted_on[FS_PATH_MAX];
};

struct boot_skip {
	char name[SI_SEAL_NAME_MAX + 1];
	char reason[200];
};

struct boot {
	struct timespec t0, stage_t0;
	const char *stage;
	unsigned n_stages;
	struct {
		const char *name;
		unsigned us;
	} timing[BOOT_MAX_STAGES];
	struct si_cmdline cmdline;
	int failure;                   /* enum si_failure */
	struct si_anchor anchor;
	const char *preboot_label, *system_label, *data_label;
	char kernel_release[65];
	unsigned n_images, n_skipped;
	struct boot_image images[BOOT_MAX_IMAGES];
	struct boot_skip skipped[BOOT_MAX_SKIPPED];
	unsigned n_layers;
	struct fs_layer layers[CONFIG_MAX_CRYPTEXES];
	char data_dev[64];
};

/* Reads a whole small file into buf; 0, -errno, or -EFBIG when it does
 * not fit in cap bytes (a full buffer is an error, never a truncation). */
int boot_read_file(const char *path, char *buf, size_t cap, size_t *len);

/* Each stage logs its own errors (once) and returns 0 or the error. */
int stage_storage(struct boot *b);
int stage_kc(struct boot *b);
int stage_system(struct boot *b);
int stage_cryptexes(struct boot *b);
int stage_data(struct boot *b);
int stage_status(const struct boot *b, unsigned elapsed_us);

#endif
