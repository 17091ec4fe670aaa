/* sealinit: sealed images -- footer, signed manifest, geometry.
 *
 * A sealed image (a file on the preboot volume, or written raw to a
 * partition) is
 *
 *   data (zero-padded to whole data blocks) | dm-verity hash tree |
 *   signed manifest | footer (64 bytes, the last bytes of the file)
 *
 * Byte-by-byte layout: docs/formats.md, "Sealed images", and above the
 * parsers in verify/seal.c.  Everything the dm-verity table needs is inside
 * the signed manifest; the unsigned footer only says where the manifest is.
 *
 * Boot time: si_seal_open() reads the footer and the manifest through an
 * operations table, authenticates the manifest against the trust anchor,
 * checks usage, rollback and geometry, and fills a struct si_seal that
 * mount/ turns into a dm-verity table.  It allocates nothing and reads
 * nothing but the footer and the manifest (O(1) in the image size).
 *
 * Host side (verify/seal_build.c): si_seal_layout() computes where
 * everything goes and si_seal_build() pads, builds the tree, encodes and
 * signs the manifest and writes the footer into a caller-provided buffer.
 *
 * The split follows libavb's: verify/manifest.c parses the envelope and the
 * body (pure, nothing trusted), verify/seal.c authenticates and applies
 * policy on top, verify/seal_build.c writes what the parser reads.
 */
#ifndef SEALINIT_VERIFY_SEAL_H
#define SEALINIT_VERIFY_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"
#include "verify/anchor.h"
#include "verify/key.h"

#define SI_FOOTER_SIZE 64
#define SI_FOOTER_MAGIC "SEALFTR\0"  /* 8 bytes */
#define SI_FOOTER_VERSION 1
#define SI_MANIFEST_MAGIC "SIMF"     /* 4 bytes */
#define SI_MANIFEST_VERSION 1
#define SI_MANIFEST_HDR_SIZE 64
#define SI_MANIFEST_BODY_MAX 2048
/* Header + largest body + largest signature (RSA-4096). */
#define SI_MANIFEST_MAX (SI_MANIFEST_HDR_SIZE + SI_MANIFEST_BODY_MAX + 512)

#define SI_SEAL_NAME_MAX 64
#define SI_SEAL_VERSION_MAX 64
#define SI_SEAL_OVERLAY_MAX 255
#define SI_SEAL_SALT_MAX 256  /* dm-verity's own limit */
#define SI_SEAL_DIGEST_MAX 64

/* Image kinds; each maps to one usage bit of the anchor (si_seal_kind_usage). */
enum si_kind {
	SI_KIND_SYSTEM = 1,
	SI_KIND_CRYPTEX = 2,
	SI_KIND_KC_BOOT = 3,
	SI_KIND_KC_SYSTEM = 4,
	SI_KIND_KC_AUX = 5,
	SI_KIND_UPDATE = 6,
	SI_KIND_SET = 7,      /* a release set manifest (verify/set.h), not an image */
};

enum si_fstype {
	SI_FS_EROFS = 1,
	SI_FS_EXT4 = 2,
	SI_FS_SQUASHFS = 3,
	SI_FS_RAW = 4,
};

enum si_hash_algo {
	SI_HASH_SHA256 = 1,
};

/* Manifest TLV tags.  Bit 15 is the critical bit: a reader that does not
 * know a critical tag refuses the manifest; unknown non-critical tags are
 * skipped.  Tags appear in strictly ascending order (so at most once). */
enum {
	SI_TAG_CRITICAL = 0x8000,
	SI_TAG_KIND = 0x8001,
	SI_TAG_NAME = 0x8002,
	SI_TAG_VERSION = 0x8003,
	SI_TAG_ROLLBACK = 0x8004,
	SI_TAG_FSTYPE = 0x8005,
	SI_TAG_DATA_SIZE = 0x8006,
	SI_TAG_PADDED_SIZE = 0x8007,
	SI_TAG_DATA_BLOCK = 0x8008,
	SI_TAG_HASH_BLOCK = 0x8009,
	SI_TAG_HASH_ALGO = 0x800a,
	SI_TAG_SALT = 0x800b,
	SI_TAG_ROOT_HASH = 0x800c,
	SI_TAG_HASH_OFFSET = 0x800d,
	SI_TAG_HASH_SIZE = 0x800e,
	SI_TAG_OVERLAY = 0x800f,
	SI_TAG_KC_SYSTEM = 0x8010,
};

/* Reads the image.  read_at returns 0 or a negative si_err (SI_E_IO with
 * errno in the caller's own diag if it wants); it must fill all len bytes. */
struct si_io {
	void *ctx;
	uint64_t size; /* bytes in the file or partition */
	int (*read_at)(void *ctx, uint64_t off, void *buf, size_t len);
};

/* An si_io over bytes already in memory (the boot KC read whole, a mapped
 * file, a test buffer): reads past len return SI_E_SHORT. */
struct si_mem_io {
	const uint8_t *p;
	size_t len;
};

void si_io_mem(struct si_io *io, struct si_mem_io *m, const uint8_t *p, size_t len);

/* What a manifest says, checked for syntax and for consistency with itself
 * and the image -- NOT authenticated.  Every field comes from the manifest,
 * except manifest_offset/manifest_size/image_size, which come from the
 * footer and the I/O size and have been checked against them, and digest.
 * Held alone in a struct si_seal_unverified; inside a struct si_seal only
 * after the signature checked out. */
struct si_manifest {
	enum si_kind kind;
	char name[SI_SEAL_NAME_MAX + 1];
	char version[SI_SEAL_VERSION_MAX + 1];
	uint64_t rollback_index;
	enum si_fstype fs_type;
	uint64_t data_size;        /* bytes of file system */
	uint64_t padded_size;      /* data_size rounded up to data blocks */
	uint64_t data_blocks;      /* padded_size / data_block_size */
	uint32_t data_block_size;
	uint32_t hash_block_size;
	enum si_hash_algo hash_algo;
	uint16_t salt_len;
	uint8_t salt[SI_SEAL_SALT_MAX];
	uint8_t root_hash_len;
	uint8_t root_hash[SI_SEAL_DIGEST_MAX];
	uint64_t hash_offset;      /* bytes from the start of the image */
	uint64_t hash_size;        /* bytes of hash tree */
	int has_overlay;
	char overlay[SI_SEAL_OVERLAY_MAX + 1];
	/* kc-aux only, and required there: the digest of the kc-system image
	 * whose modules the aux tier's index (modules.dep and friends) was
	 * made with */
	int has_kc_system;
	uint8_t kc_system[32];
	enum si_algo sig_algo;
	uint8_t key_id[32];        /* fingerprint of the signing key */
	uint64_t manifest_offset;
	uint32_t manifest_size;
	uint64_t image_size;
	/* SHA-256 of the manifest as stored (header, body and signature):
	 * names this exact image in patches and set manifests. */
	uint8_t digest[32];
};

/* An authenticated sealed image: only si_seal_open() makes one, after the
 * manifest's signature verified against the anchor key at key_index, whose
 * usage allows the image's kind, and the rollback check passed.  Code that
 * builds a dm-verity table or loads modules takes only this type. */
struct si_seal {
	struct si_manifest m;
	unsigned key_index;        /* the signing key in the anchor */
	int via_set;               /* vouched for by a release set: its own signature not checked */
};

/* The same fields parsed WITHOUT checking the signature, the usage or
 * rollback: for `sealctl inspect`, hints and fuzzing.  Nothing in it may
 * be trusted, and no verified code path accepts it. */
struct si_seal_unverified {
	struct si_manifest m;
};

/* Opens a sealed image: footer envelope, manifest envelope, signature by the
 * anchor key whose fingerprint the manifest names, usage of that key for the
 * image's kind, the rest of the manifest, rollback and geometry.
 *
 * required_usage: 0, or one SI_USAGE_* bit the image's kind must match.
 * recorded_floor: the lowest rollback index sealinit accepts for this name
 * (0 when none is recorded).
 *
 * Errors: SI_E_SEAL_TRUNC, SI_E_SEAL_MAGIC, SI_E_SEAL_VERSION,
 * SI_E_SEAL_FOOTER, SI_E_SEAL_BOUNDS, SI_E_SEAL_OVERLAP, SI_E_MANIFEST_*,
 * SI_E_SEAL_KEY_UNKNOWN, SI_E_SIG_ALGO, SI_E_SIG_LEN, SI_E_SIG_BAD,
 * SI_E_SEAL_USAGE, SI_E_SEAL_KIND, SI_E_SEAL_ROLLBACK, SI_E_SEAL_GEOMETRY,
 * SI_E_SEAL_ALGO, and whatever io->read_at returns (SI_E_IO).
 * *out is written only on success. */
int si_seal_open(const struct si_io *io, const struct si_anchor *anchor,
		 uint32_t required_usage, uint64_t recorded_floor,
		 struct si_seal *out, struct si_diag *d) SI_WUR;

/* Reads footer and manifest WITHOUT checking the signature, the usage or
 * rollback.  Same errors as si_seal_open but the trust ones. */
int si_seal_open_unverified(const struct si_io *io, struct si_seal_unverified *out,
			    struct si_diag *d) SI_WUR;

/* Full check: recomputes the whole tree over image[0..len) with `threads`
 * workers and compares it with the tree and the root hash the manifest
 * names.  m must come from opening the same bytes (either way: a tree
 * that matches an unverified manifest proves nothing about its origin).
 * Errors: SI_E_SEAL_BOUNDS, and the hash tree's errors (verify/hashtree.h). */
int si_seal_verify_tree(const struct si_manifest *m, const uint8_t *image,
			size_t len, unsigned threads, struct si_diag *d) SI_WUR;
/* The stored tree against the root hash, then data blocks [first, first +
 * n) only (verify/hashtree.h, vt_tree_verify_range): for a reader that
 * uses part of the data and never the rest.  Errors: those of
 * si_seal_verify_tree; SI_E_ARG when the range is outside the data. */
int si_seal_verify_tree_range(const struct si_manifest *m, const uint8_t *image, size_t len,
			      uint64_t first, uint64_t n, struct si_diag *d) SI_WUR;

/* What si_seal_build needs to know. */
struct si_seal_params {
	enum si_kind kind;
	const char *name;
	const char *version;
	uint64_t rollback_index;
	enum si_fstype fs_type;
	uint64_t data_size;
	uint32_t data_block_size;  /* 0: 4096 */
	uint32_t hash_block_size;  /* 0: 4096 */
	const uint8_t *salt;
	size_t salt_len;
	const char *overlay;       /* NULL: none; cryptex only */
	const uint8_t *kc_system;  /* 32 bytes; kc-aux only, and required there */
};

struct si_seal_layout {
	uint64_t padded_size;
	uint64_t hash_offset;
	uint64_t hash_size;
	uint64_t manifest_offset;
	uint32_t manifest_size;
	uint64_t image_size;       /* total, footer included */
};

/* Where everything goes for these parameters and this signing algorithm.
 * Errors: SI_E_ARG, SI_E_MANIFEST_VALUE, SI_E_MANIFEST_FIELD_LEN,
 * SI_E_SEAL_GEOMETRY, SI_E_MANIFEST_TOO_BIG. */
int si_seal_layout(const struct si_seal_params *p, enum si_algo sig_algo,
		   struct si_seal_layout *out, struct si_diag *d) SI_WUR;

/* Seals img[0..img_len): img_len must equal layout.image_size and the
 * file system must already be at img[0..data_size).  Pads with zeros,
 * builds the tree, writes the manifest signed by `key`, and the footer.
 * Errors: those of si_seal_layout, SI_E_KEY_*, SI_E_SIGN, hash tree errors. */
int si_seal_build(const struct si_seal_params *p, const struct si_privkey *key,
		  uint8_t *img, size_t img_len, unsigned threads,
		  struct si_diag *d) SI_WUR;

/* Who signs a manifest: a private key in memory (si_signer_privkey), or
 * anything else -- an external signing helper, an HSM -- through sign().
 * pub names the key (algorithm, fingerprint); whatever sign() returns is
 * checked against pub before an image is built with it. */
struct si_signer {
	const struct si_key *pub;
	/* Signs msg[0..len) as verify/sig.h encodes signatures for pub's
	 * algorithm; sig holds cap bytes.  0, or an error code (SI_E_SIGN,
	 * SI_E_SIGN_HELPER, ...) with the details in d. */
	int (*sign)(void *ctx, const uint8_t *msg, size_t len, uint8_t *sig,
		    size_t cap, size_t *sig_len, struct si_diag *d);
	void *ctx;
};

/* A signer over a private key in memory (the key must outlive it). */
void si_signer_privkey(struct si_signer *s, const struct si_privkey *key);

/* Seals data that stays where it is: data holds the layout's padded_size
 * bytes (the file system and its zero padding) and is only read; tail
 * (tail_len = image_size - padded_size bytes) receives everything after
 * it: the zero gap, the hash tree, the signed manifest and the footer.
 * The image is data || tail, read back through si_seal_open() with the
 * signer's key before this returns, so a signer that returned a bad
 * signature fails here (SI_E_SIG_BAD).  Lets a caller write the image with
 * write() from a read-only mapping of its input, instead of mapping the
 * output (which turns a full disk into SIGBUS).
 * Errors: those of si_seal_build, SI_E_ARG (tail_len), the signer's. */
/* A manifest in the signed envelope around body[0..blen) (a TLV body the
 * caller encoded, its kind tag first), signed by sg, into out[0..cap);
 * its length in *len.  For release sets and update bundles.  Errors:
 * SI_E_ARG (cap too small), SI_E_MANIFEST_TOO_BIG, SI_E_SIG_LEN, the
 * signer's. */
int si_manifest_sign(const uint8_t *body, size_t blen, const struct si_signer *sg,
		     uint8_t *out, size_t cap, size_t *len, struct si_diag *d) SI_WUR;

int si_seal_build_tail(const struct si_seal_params *p, const struct si_signer *s,
		       const uint8_t *data, uint8_t *tail, size_t tail_len,
		       unsigned threads, struct si_diag *d) SI_WUR;

/* The usage bit an image kind needs. */
uint32_t si_seal_kind_usage(enum si_kind k);
/* Names: "system", "erofs", "sha256"; NULL when unknown. */
const char *si_seal_kind_name(enum si_kind k);
const char *si_seal_fstype_name(enum si_fstype t);
const char *si_seal_hash_name(enum si_hash_algo h);
/* Parse names; 0 when unknown. */
int si_seal_kind_from_name(const char *s);
int si_seal_fstype_from_name(const char *s);

#endif
