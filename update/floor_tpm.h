/* sealinit update/: the TPM 2.0 rollback-floor store (CONFIG_FLOOR_STORE_TPM,
 * CONFIG_FLOOR_STORE_TPM_FILE) behind struct up_floor_store.
 *
 * The release set's floor ("@set") lives in one TPM NV counter
 * (TPM_NT_COUNTER, CONFIG_TPM_NV_INDEX), defined by `sealctl tpm provision`:
 *
 *   attributes  TPM_NT_COUNTER | AUTHWRITE | AUTHREAD | OWNERREAD |
 *               WRITE_STCLEAR | NO_DA; nameAlg SHA-256; empty authValue
 *               and authPolicy; 8 bytes
 *
 * Why these (docs/boot-flow.md, "Rollback floors"):
 *  - a counter only counts up, one NV_Increment at a time: nobody, root
 *    included, can lower it; undefining and defining it again starts the
 *    new counter above the highest value any counter of this TPM held
 *    (Part 1, 37.2.3), so that does not lower it either;
 *  - WRITE_STCLEAR: sealinit write-locks it (NV_WriteLock) before the
 *    handoff of a confirmed system, so until the next reboot nothing can
 *    touch it; during a trial it stays open for `sealctl confirm`, which
 *    raises it and locks it at once.  Raising it is all anybody could do,
 *    and that only refuses releases (denial of service, as wiping the disk
 *    is), never lets an old one boot;
 *  - the exact attributes are checked at every read: an index someone
 *    defined in its place as ordinary memory (writable down) is refused.
 *
 * The store: load = the file pair's floors (TPM_FILE) with "@set" raised
 * to the counter; store = the counter raised to "@set" and write-locked,
 * then the file pair.  A missing TPM, a missing/foreign/unwritten counter
 * or a TPM that answers wrongly fails load -- unless `optional`
 * (CONFIG_INSECURE_TPM_OPTIONAL), when load goes on without the counter
 * and leaves why in status for the caller to warn about.
 */
#ifndef SEALINIT_UPDATE_FLOOR_TPM_H
#define SEALINIT_UPDATE_FLOOR_TPM_H

#include "lib/tpm2.h"
#include "update/update.h"

#define UP_FLOOR_TPM_ATTRS                                                           \
	(TPMA_NV_COUNTER | TPMA_NV_AUTHWRITE | TPMA_NV_AUTHREAD | TPMA_NV_OWNERREAD | \
	 TPMA_NV_WRITE_STCLEAR | TPMA_NV_NO_DA)

/* sealctl tpm's index where the build has no TPM store (Kconfig's default). */
#define UP_TPM_NV_INDEX_DEFAULT 0x01a51000u

/* The Kconfig values, 0 in a build without a TPM store. */
#ifdef CONFIG_FLOOR_TPM
#define UP_TPM_NV_INDEX CONFIG_TPM_NV_INDEX
#define UP_TPM_RAISE_MAX CONFIG_TPM_RAISE_MAX
#else
#define UP_TPM_NV_INDEX 0
#define UP_TPM_RAISE_MAX 0
#endif

struct up_floor_tpm {
	const struct tpm2_ops *tpm;          /* NULL: no TPM (open_err says why) */
	int open_err;
	struct si_diag open_diag;
	uint32_t index;
	const struct up_floor_store *file;   /* the file pair, or NULL (TPM only) */
	int optional;                        /* CONFIG_INSECURE_TPM_OPTIONAL */
	unsigned raise_max;                  /* CONFIG_TPM_RAISE_MAX */
	/* what the last load or store found (the log, sealctl status): */
	int status;                          /* 0: counter read; else why not */
	struct si_diag status_diag;
	uint64_t value;                      /* the counter (status 0) */
	int locked;                          /* write-locked until reboot */
};

/* s over t (t filled by the caller; it outlives s). */
void up_floor_store_tpm(struct up_floor_store *s, struct up_floor_tpm *t);

/* p against what provisioning defines at index: SI_E_TPM_NV_ATTRS (the
 * field names what differs, expected vs found), SI_E_TPM_NV_UNWRITTEN. */
int up_floor_tpm_check(const struct tpm2_nv_public *p, uint32_t index, struct si_diag *d) SI_WUR;

/* The counter's value after checking the index (up_floor_tpm_check);
 * *locked: write-locked now.  Errors: those of tpm2_nv_read_public,
 * tpm2_nv_read_counter and up_floor_tpm_check. */
int up_floor_tpm_read(const struct tpm2_ops *t, uint32_t index, uint64_t *value, int *locked,
		      struct si_diag *d) SI_WUR;

/* Counts the counter up to at least v (nothing when it is there already),
 * at most max increments (SI_E_TPM_FLOOR_STEP before the first), its
 * value after in *now.  Errors: those of up_floor_tpm_read,
 * SI_E_TPM_NV_LOCKED. */
int up_floor_tpm_raise(const struct tpm2_ops *t, uint32_t index, uint64_t v, unsigned max,
		       uint64_t *now, struct si_diag *d) SI_WUR;

/* Provisioning: defines the counter when it is missing (owner password
 * owner[0..olen)) and increments it once when it was never written (a
 * counter starts above every value any counter of this TPM held); then
 * raises it to floor (0: leave it).  *defined: 1 when this call defined
 * it.  A foreign index at the handle: SI_E_TPM_NV_ATTRS; a counter
 * already above floor: SI_E_TPM_FLOOR_ABOVE (nothing changed). */
int up_floor_tpm_provision(const struct tpm2_ops *t, uint32_t index, const uint8_t *owner,
			   size_t olen, uint64_t floor, unsigned max, int *defined, uint64_t *value,
			   struct si_diag *d) SI_WUR;

/* 1 when err is one of the TPM's (what `optional` may go on without). */
int up_floor_tpm_err(int err);

/* The store this build configures (CONFIG_FLOOR_STORE_*) over the preboot
 * volume fs: the file pair alone (file filled, t unused), or the TPM
 * store (t filled: the TPM device opened, or why not in t->open_err;
 * dev must outlive it).  PID 1 and the device's sealctl share this. */
void up_floor_store_config(struct up_floor_store *s, struct up_floor_store *file,
			   struct up_floor_tpm *t, struct tpm2_dev *dev, struct tpm2_ops *ops,
			   const struct si_fs *fs);

#endif
