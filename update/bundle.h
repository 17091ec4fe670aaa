/* sealinit update/: update bundles -- one file that takes a device from one
 * release set to the next (a rapid security response), checked by the
 * running OS when it stages it and again by sealinit before it applies it.
 *
 * Layout (docs/formats.md, "Update bundles"), little-endian:
 *
 *   [0, head_len)      the head: a manifest in the sealed-image manifest's
 *                      envelope (header, TLV body, signature), kind 6
 *                      "update", signed by a key with the `update` usage
 *   [head_len, 4 KiB-aligned)  zeros
 *   payloads           back to back, each 4 KiB-aligned, at the offsets the
 *                      head gives: the target set file, then per image its
 *                      forward and reverse patches (sealctl diff's format)
 *
 * Head body, tags ascending:
 *   0x8001 kind        u8   6
 *   0x8002 name        the target release's id ("13.3.1a")
 *   0x8003 version     the target release's version ("13.3.1 (a)")
 *   0x8004 rollback    u64  the target set's rollback index
 *   0x8040 base        32   SHA-256 of the base set file (the set the
 *                           forward patches apply to)
 *   0x8041 base_name   the base release's id (for people: not trusted
 *                           beyond the digest)
 *   0x8042 target      u64 offset | u64 length | 32 SHA-256: the target
 *                           set file (its own signature is checked too)
 *   0x8043 entries     back to back, one per image of the target set and
 *                      per image the base has and the target drops:
 *        kind u8 | name_len u8 | name | action u8 | reserved u8 (0)
 *        | base_digest 32 (the base image's manifest digest; zeros: none)
 *        | base_size u64  (the base image file's size; 0: none)
 *        | target_digest 32 (zeros: none)  | target_size u64
 *        | fwd: offset u64 | length u64 | SHA-256 32   (zeros: none)
 *        | rev: offset u64 | length u64 | SHA-256 32   (zeros: none)
 *      actions: 0 same (no payload: the base image is kept), 1 patch
 *      (forward patch base -> target, reverse patch target -> base),
 *      2 whole (a patch from nothing: the image is new, or a patch would be
 *      larger; rev as for 1 when there is a base), 3 drop (the target set
 *      has no such image; rev restores it from nothing).
 *   0x8044 payload_end u64: the file's size
 *
 * The signature covers the head, hence the target set's digest and every
 * payload's length and SHA-256: no payload can be swapped between bundles,
 * and a payload is checked against its digest before one byte of it is
 * used.  Limits: 16 KiB of body, SI_SET_MAX_IMAGES * 2 entries.
 */
#ifndef SEALINIT_UPDATE_BUNDLE_H
#define SEALINIT_UPDATE_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"
#include "verify/anchor.h"
#include "verify/seal.h"
#include "verify/set.h"

#define UP_BUNDLE_BODY_MAX 16384
#define UP_BUNDLE_HEAD_MAX (SI_MANIFEST_HDR_SIZE + UP_BUNDLE_BODY_MAX + 512)
#define UP_BUNDLE_ALIGN 4096u
#define UP_BUNDLE_MAX_ENTRIES (2 * SI_SET_MAX_IMAGES)

#define UP_TAG_BASE 0x8040
#define UP_TAG_BASE_NAME 0x8041
#define UP_TAG_TARGET 0x8042
#define UP_TAG_ENTRIES 0x8043
#define UP_TAG_PAYLOAD_END 0x8044

enum up_action { UP_ACT_SAME = 0, UP_ACT_PATCH = 1, UP_ACT_WHOLE = 2, UP_ACT_DROP = 3 };

struct up_payload {
	uint64_t off, len;         /* len 0: none */
	uint8_t sha256[32];
};

struct up_entry {
	enum si_kind kind;
	char name[SI_SEAL_NAME_MAX + 1];
	enum up_action action;
	uint8_t base_digest[32];
	uint64_t base_size;
	uint8_t target_digest[32];
	uint64_t target_size;
	struct up_payload fwd, rev;
};

struct up_bundle {
	char name[SI_SEAL_NAME_MAX + 1];
	char version[SI_SEAL_VERSION_MAX + 1];
	uint64_t rollback_index;
	uint8_t base_set[32];
	char base_name[SI_SEAL_NAME_MAX + 1];
	struct up_payload target;  /* the target set file */
	unsigned n;
	struct up_entry e[UP_BUNDLE_MAX_ENTRIES];
	uint64_t payload_end;      /* the bundle file's size */
	uint32_t head_len;         /* bytes of the signed head */
	enum si_algo sig_algo;
	uint8_t key_id[32];
	unsigned key_index;        /* the signing key in the anchor (verified only) */
};

/* Parses and authenticates a bundle's head, buf[0..len) (at least the
 * head; len may be more): envelope, signature by the anchor key it names
 * with the `update` usage, the body and every relation in it (payloads
 * 4 KiB-aligned, inside the file, not overlapping, in order; entries
 * unique by kind and name, actions consistent with their digests and
 * payloads), the rollback index against the anchor's floor and
 * recorded_floor.  file_size is the bundle file's size (payload_end must
 * be it).  Errors: the envelope's, SI_E_SEAL_KEY_UNKNOWN, SI_E_SIG_*,
 * SI_E_SEAL_USAGE, SI_E_SEAL_KIND, SI_E_MANIFEST_*, SI_E_BUNDLE (a field
 * or relation; the field names it), SI_E_SEAL_ROLLBACK.  *out is written
 * only on success. */
int up_bundle_open(const uint8_t *buf, size_t len, uint64_t file_size,
		   const struct si_anchor *anchor, uint64_t recorded_floor,
		   struct up_bundle *out, struct si_diag *d) SI_WUR;

/* The same without the signature, usage or rollback (inspect, fuzzing,
 * the tools that build a bundle).  Nothing in it may be trusted. */
int up_bundle_open_unverified(const uint8_t *buf, size_t len, uint64_t file_size,
			      struct up_bundle *out, struct si_diag *d) SI_WUR;

/* The entry for an image of this kind and name, or NULL. */
const struct up_entry *up_bundle_find(const struct up_bundle *b, enum si_kind kind,
				      const char *name);

/* Host side: encodes the head body of b (its fields as given; payload
 * offsets already laid out) and signs it, into out[0..cap).  The head is
 * read back with up_bundle_open_unverified before it is returned.  Errors:
 * SI_E_ARG, SI_E_BUNDLE, SI_E_MANIFEST_TOO_BIG, the signer's. */
int up_bundle_head_build(const struct up_bundle *b, const struct si_signer *sg,
			 uint8_t *out, size_t cap, size_t *len, struct si_diag *d) SI_WUR;

/* Host side: a bundle from two slot directories (each with its
 * release.set; every image checked against its set), written through
 * write(off, bytes) -- the caller sizes the file to out->payload_end (the
 * padding between payloads is zeros).  note() is told each entry made. */
struct patch_diff_opts;
struct up_create_args {
	const char *from, *to;             /* slot directories */
	const char *kc_boot_path, *cryptex_dir;
	const struct si_signer *signer;
	const struct patch_diff_opts *diff;
	const char *patch_cache;           /* NULL, or a directory of patches by key */
	int (*write)(void *ctx, uint64_t off, const void *p, size_t n);
	void *wctx;
	void (*note)(void *ctx, const struct up_entry *e, size_t fwd, size_t rev);
	void *nctx;
};
int up_bundle_create(const struct up_create_args *a, struct up_bundle *out,
		     struct si_diag *d) SI_WUR;

/* The first payload offset after a head of head_len bytes. */
uint64_t up_bundle_payload_start(uint32_t head_len);

#endif
