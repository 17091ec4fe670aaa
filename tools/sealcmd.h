/* sealctl: helpers the commands share: option parsing, mapped images,
 * keys and anchors from files, numbers and thread counts. */
#ifndef SEALINIT_TOOLS_SEALCMD_H
#define SEALINIT_TOOLS_SEALCMD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "patch/diff.h"
#include "plan/plan.h"
#include "verify/anchor.h"
#include "verify/key.h"
#include "verify/seal.h"

/* A read-only mapping of a whole file or block device. */
struct sealcmd_image {
	int fd;
	int is_blk;
	const uint8_t *map;
	size_t len;
};

/* Returns 0 or a sealctl exit code (after reporting). */
int sealcmd_image_open(const char *cmd, const char *path, struct sealcmd_image *img);
void sealcmd_image_close(struct sealcmd_image *img);

/* Which sealed image img[0..len) is: its (unverified) seal and the SHA-256
 * of its signed manifest.  0 when it is a sealed image with a SHA-256 root
 * hash; an error code (nothing reported) otherwise. */
int sealcmd_seal_id(const uint8_t *img, size_t len, struct si_seal_unverified *s,
		    uint8_t manifest_digest[32]);

/* The bytes a sealed image had as a file: a sealed image written to a
 * partition keeps data, tree and manifest at their offsets and its footer
 * in the partition's last 64 bytes; as a file the footer follows the
 * manifest.  sealcmd_canon_size is that file's size; sealcmd_canon_read
 * reads it (a patch_read_fn over an open fd). */
struct sealcmd_canon {
	int fd;
	uint64_t manifest_end; /* manifest_offset + manifest_size */
	uint64_t footer_off;   /* where the footer is in the partition */
};
uint64_t sealcmd_canon_size(const struct sealcmd_canon *c);
int sealcmd_canon_read(void *ctx, uint64_t off, uint8_t *buf, size_t len);

/* The board this sealctl was built for (its Kconfig): the policy doctor
 * and verify apply, and what U-Boot keys may sign by default. */
const struct plan_board *sealcmd_board(void);

/* Load keys and anchors; 0 or an exit code (after reporting).  A public
 * key file may also be a private key: its public half is used. */
int sealcmd_load_pub(const char *cmd, const char *path, struct si_key *k);
int sealcmd_load_priv(const char *cmd, const char *path, struct si_privkey *k);
int sealcmd_load_anchor(const char *cmd, const char *path, struct si_anchor *a);

/* One option of a command: "--name VALUE" or "--name=VALUE" (or its
 * alias "-o VALUE") into *value; when value is NULL, a flag that sets
 * *flag to 1.  An option given twice is a usage error. */
struct sealcmd_optdef {
	const char *name;
	const char *alias;
	const char **value;
	int *flag;
};

#define SEALCMD_HELP (-1)

/* Parses argv[1..argc): the table's options anywhere, "--" ends them, the
 * other arguments go to positional[0..npos_max) in order (*npos gets how
 * many; NULL npos: exactly... none required).  --help prints the
 * command's help and returns SEALCMD_HELP (the caller returns 0);
 * --list-options prints the table (for completion and tests) likewise.
 * Returns 0, SEALCMD_HELP, or SEALCTL_USAGE after reporting an unknown
 * option, a missing value, an option given twice or an argument too many. */
int sealcmd_parse(const char *cmd, int argc, char **argv,
		  const struct sealcmd_optdef *defs, size_t ndefs,
		  const char **positional, size_t npos_max, size_t *npos);

/* Strict u64 from an option; 0 or SEALCTL_USAGE after reporting. */
int sealcmd_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);
/* A size: a number of bytes, or with a K, M or G suffix (powers of 1024). */
int sealcmd_size(const char *cmd, const char *opt, const char *s, uint64_t *out);
/* --threads N: 0..64, 0 (and no option) meaning every online CPU; *out
 * gets the resolved count (1..64).  0 or SEALCTL_USAGE after reporting. */
int sealcmd_threads(const char *cmd, const char *s, unsigned *out);
/* Sets the progress display: --progress forces it on, else on when
 * stderr is a terminal. */
int sealcmd_progress_wanted(int forced);

/* Sealing, shared by seal and kc (tools/cmd_seal.c). */
struct sealcmd_seal_job {
	struct si_seal_params p;
	const struct si_signer *signer;
	const uint8_t *data;       /* the layout's padded_size bytes */
	const char *data_name;     /* for messages */
	const char *helper;        /* the signing helper, for messages */
	const char *out;
	uint64_t partition_size;   /* 0: the image's own size */
	unsigned threads;
	int progress;              /* phase lines on stderr */
	/* results */
	struct si_seal_layout layout;
	uint64_t written_size;     /* the file's or partition's size */
	uint8_t root_hash[32], manifest_digest[32];
};

/* Checks and fills the parameters (a bad value: usage, 2).  kc_system:
 * the 32-byte digest kc-aux images carry (sealcmd_kc_system), else NULL. */
int sealcmd_seal_params(const char *cmd, struct si_seal_params *p, const char *name,
			const char *kind, const char *version, const char *rb,
			const char *overlay, const uint8_t *kc_system, const char *salthex,
			uint8_t salt[SI_SEAL_SALT_MAX]);
/* The digest of the sealed kc-system image at path (its seal parsed, not
 * verified: the digest names it), with its kernel release (its version)
 * in release[0..SI_SEAL_VERSION_MAX] when release is not NULL; its hash
 * tree is recomputed, so that what is built against it is what its root
 * hash says.  0 or an exit code (after reporting). */
int sealcmd_kc_system(const char *cmd, const char *path, uint8_t digest[32], char *release);
/* Builds and writes the image; 0 or an exit code (after reporting). */
int sealcmd_seal_write(const char *cmd, struct sealcmd_seal_job *j);
void sealcmd_seal_print(const char *cmd, const struct sealcmd_seal_job *j, int json);

/* A release set's or an update bundle's (head) bytes, parsed without
 * trusting them, printed as `set inspect` / `update inspect` do, or as
 * `inspect` does when type is given ("release-set", "bundle": a "type"
 * key in JSON).  size is the bundle file's size.  0 or an exit code
 * (after reporting). */
int sealcmd_set_show(const char *cmd, const char *file, const uint8_t *p, size_t len, int json,
		     const char *type);
int sealcmd_bundle_show(const char *cmd, const char *file, const uint8_t *p, size_t len,
			uint64_t size, int json, const char *type);

/* Checks every image of a slot directory (its *.kc and *.cryptex, where
 * set create reads them): sealed, and its whole hash tree against its
 * signed root hash.  show_progress: a line per image on stderr.  0 or an
 * exit code (after reporting the image). */
int sealcmd_slot_check(const char *cmd, const char *slot, int show_progress);

/* What --progress calls a diff's phase (diff, update create). */
const char *sealcmd_diff_phase_name(enum patch_diff_phase phase);

/* Prints the --json error document for a failed command (main does). */
void sealcmd_json_error(const char *cmd, int exit_code);

#endif
