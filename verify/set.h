/* sealinit: release sets -- one signed manifest per release (Apple's
 * ticket, AVB's vbmeta) that binds the images of that release together.
 *
 * A set names the release ("13.3.1 (a)"), the system volume it runs on
 * (its root hash), and every platform image of the release (kernel
 * collections, cryptexes) by kind, name, the SHA-256 of its signed
 * manifest and its rollback index.  sealinit checks the active set's
 * signature once per boot; an image in the set must then match its entry
 * byte for byte (its manifest digest), which authenticates it without a
 * second signature check, and an image not in the set is refused: no mix
 * and match of releases.  The integrator's kc-aux collection stands
 * outside the set, on its own usage.
 *
 * Encoding: a manifest in the sealed-image manifest's envelope (header,
 * TLV body, signature: docs/formats.md, "Release sets"), alone in its file,
 * kind 7 "set", signed by a key with the `update` usage:
 *
 *   0x8001 kind        u8   7
 *   0x8002 name        the release's id, [A-Za-z0-9._+-] ("13.3.1a")
 *   0x8003 version     printable ("13.3.1 (a)")
 *   0x8004 rollback    u64  the set's own rollback index
 *   0x8020 system      32   the system volume's root hash
 *   0x8021 images      entries back to back, each:
 *                        kind u8 | name_len u8 | name | digest (32) |
 *                        rollback u64
 *                      kinds kc-boot, kc-system, cryptex; names unique.
 *   0x8022 system_digest  32  the system volume's manifest digest: with it
 *                      the system volume is vouched for by the set like
 *                      every image, and a boot checks one signature
 */
#ifndef SEALINIT_VERIFY_SET_H
#define SEALINIT_VERIFY_SET_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"
#include "verify/anchor.h"
#include "verify/key.h"
#include "verify/manifest.h"
#include "verify/seal.h"

#define SI_SET_MAX_IMAGES 16
#define SI_TAG_SET_SYSTEM 0x8020
#define SI_TAG_SET_IMAGES 0x8021
#define SI_TAG_SET_SYSTEM_DIGEST 0x8022

struct si_set_image {
	enum si_kind kind;
	char name[SI_SEAL_NAME_MAX + 1];
	uint8_t digest[32];        /* SHA-256 of the image's manifest bytes */
	uint64_t rollback_index;
};

struct si_set {
	char name[SI_SEAL_NAME_MAX + 1];
	char version[SI_SEAL_VERSION_MAX + 1];
	uint64_t rollback_index;
	uint8_t system_root[32];
	uint8_t system_digest[32]; /* the system volume's manifest digest */
	unsigned n;
	struct si_set_image img[SI_SET_MAX_IMAGES];
	uint8_t digest[32];        /* SHA-256 of the set manifest's bytes */
	uint32_t size;             /* bytes of the set manifest */
	enum si_algo sig_algo;
	uint8_t key_id[32];
	unsigned key_index;        /* the signing key in the anchor (verified only) */
};

/* Opens a set manifest, buf[0..len) (the whole file): envelope, signature
 * by the anchor key it names, that key's `update` usage, the body, the
 * set's rollback index against the anchor's floor and recorded_floor.
 * Errors: the envelope's and the manifest header's, SI_E_SEAL_KEY_UNKNOWN,
 * SI_E_SIG_*, SI_E_SEAL_USAGE, SI_E_SEAL_KIND (not a set), SI_E_MANIFEST_*
 * (field names it), SI_E_SET_IMAGES (an entry malformed, repeated, of a
 * kind a set does not hold, or too many), SI_E_SEAL_ROLLBACK.
 * *out is written only on success. */
int si_set_open(const uint8_t *buf, size_t len, const struct si_anchor *anchor,
		uint64_t recorded_floor, struct si_set *out, struct si_diag *d) SI_WUR;

/* The same without the signature, the usage or rollback: for inspect, the
 * fuzzer, and sealctl's update tools reading what they are about to sign
 * or check.  key_index is 0.  Nothing in it may be trusted. */
int si_set_open_unverified(const uint8_t *buf, size_t len, struct si_set *out,
			   struct si_diag *d) SI_WUR;

/* Manifests that stand alone (a release set, an update bundle's head).
 * si_standalone_head_len: the length of the manifest at the start of
 * buf[0..len) from its header (body at most body_max); SI_E_SHORT when
 * buf is shorter.  si_standalone_open: its envelope and, when anchor is
 * given, its signature by the anchor key it names (*key; NULL without
 * anchor); `what` ("set", "bundle") prefixes field names.  Usage, body and
 * rollback are the caller's. */
int si_standalone_head_len(const uint8_t *buf, size_t len, size_t body_max, size_t *head,
			   struct si_diag *d) SI_WUR;
int si_standalone_open(const uint8_t *buf, size_t len, size_t body_max,
		       const struct si_anchor *anchor, const char *what, struct si_envelope *env,
		       const struct si_key **key, struct si_diag *d) SI_WUR;

/* After the body: the signing key's `update` usage and the rollback
 * index against the anchor's floor and recorded_floor; *key_index. */
int si_standalone_authorize(const struct si_key *key, const struct si_anchor *anchor,
			    const char *what, uint64_t rollback, uint64_t recorded_floor,
			    unsigned *key_index, struct si_diag *d) SI_WUR;

/* The set's entry for an image of this kind and name, or NULL. */
const struct si_set_image *si_set_find(const struct si_set *s, enum si_kind kind,
				       const char *name);

/* An image vouched for by an authenticated set: u's manifest must be byte
 * for byte the one the set names (its digest, compared in constant time),
 * with the set's rollback index; the key it names must be in the anchor
 * with the usage its kind needs (no signature is checked again: the set's
 * signature covers these exact bytes).  Then the kind asked for, rollback
 * against the anchor's floor and recorded_floor.  The seal made is as good
 * as si_seal_open()'s.  Errors: SI_E_SET_MEMBER (not in the set),
 * SI_E_SET_DIGEST (another image under that name), SI_E_SEAL_KEY_UNKNOWN,
 * SI_E_SEAL_USAGE, SI_E_SEAL_KIND, SI_E_SEAL_ROLLBACK.  *out only on
 * success. */
int si_seal_from_set(const struct si_seal_unverified *u, const struct si_set *set,
		     const struct si_anchor *anchor, uint32_t required_usage,
		     uint64_t recorded_floor, struct si_seal *out, struct si_diag *d) SI_WUR;

/* ---------------------------------------------------------------- host side */

struct si_set_params {
	const char *name;          /* the release's id */
	const char *version;       /* what people read */
	uint64_t rollback_index;
	uint8_t system_root[32];
	uint8_t system_digest[32];
	unsigned n;
	struct si_set_image img[SI_SET_MAX_IMAGES];
};

/* Encodes and signs a set manifest into out[0..cap); its length in *len.
 * It is read back with si_set_open (the key as a one-key anchor) before it
 * is returned (sg->pub as a one-key anchor).  Errors: SI_E_ARG, SI_E_MANIFEST_VALUE, SI_E_MANIFEST_TOO_BIG,
 * SI_E_SET_IMAGES, SI_E_SIGN, and si_set_open's. */
int si_set_build(const struct si_set_params *p, const struct si_signer *sg,
		 uint8_t *out, size_t cap, size_t *len, struct si_diag *d) SI_WUR;

#endif
