/* sealinit: the trust anchor, read from the device tree.
 *
 * Binding: docs/bindings/sealinit,trust-anchor.yaml.  Two sources of keys:
 *  - the native node, compatible "sealinit,trust-anchor", whose subnodes
 *    key-<id> carry algorithm, usages and public-key (and rsa-exponent);
 *  - U-Boot's verified-boot nodes /signature/key-<name> (what mkimage -K
 *    writes): RSA rsa,num-bits/rsa,modulus/rsa,exponent, ECDSA
 *    ecdsa,curve/ecdsa,x-point/ecdsa,y-point.  Least privilege: such a
 *    key signs what its "sealinit,usages" string list grants, and without
 *    one only the caller's default (CONFIG_UBOOT_KEY_USAGES: nothing
 *    unless the board says otherwise).
 *
 * A key that may sign cryptexes also says where they may be overlaid:
 * "overlay-targets" (U-Boot keys: "sealinit,overlay-targets"), a list of
 * absolute paths; a cryptex's signed target must be one of them or lie
 * below one.  Without the list the key's cryptexes overlay nothing.
 *
 * Pure: bytes in, validated struct out.  The caller owns all storage.
 */
#ifndef SEALINIT_VERIFY_ANCHOR_H
#define SEALINIT_VERIFY_ANCHOR_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"

enum si_algo {
	SI_ALGO_NONE = 0,
	SI_ALGO_ECDSA_P256 = 1, /* ECDSA P-256 over SHA-256 */
	SI_ALGO_RSA2048 = 2,    /* RSA PKCS#1 v1.5 over SHA-256 */
	SI_ALGO_RSA4096 = 3,
};

/* What a key may sign: one bit per image kind. */
enum si_usage {
	SI_USAGE_SYSTEM = 1u << 0,
	SI_USAGE_CRYPTEX = 1u << 1,
	SI_USAGE_KC_BOOT = 1u << 2,
	SI_USAGE_KC_SYSTEM = 1u << 3,
	SI_USAGE_KC_AUX = 1u << 4,
	SI_USAGE_UPDATE = 1u << 5,
	SI_USAGE_ALL = (1u << 6) - 1,
};

enum si_key_source {
	SI_KEY_NATIVE = 1,
	SI_KEY_UBOOT = 2,
};

#define SI_KEY_ID_MAX 32   /* bytes of an id, without the NUL */
#define SI_KEY_PUB_MAX 512 /* RSA-4096 modulus */
#define SI_KEY_TARGETS_MAX 8      /* overlay targets per key */
#define SI_KEY_TARGETS_BYTES 512  /* all of them, each with its NUL */

/* A public key.  pub holds, for ECDSA P-256, the 65-byte SEC1 uncompressed
 * point (04 || X || Y); for RSA the big-endian modulus, exactly bits/8
 * bytes, with rsa_e the big-endian exponent without leading zeros.
 *
 * fingerprint = SHA-256("SIK1" || algo (1 byte) || pub_len (2, LE) || pub
 *                       || e_len (1) || e)
 * names the key in manifests; the same key from either source has the same
 * fingerprint, so a key made once serves FIT images and seals. */
struct si_key {
	char id[SI_KEY_ID_MAX + 1];
	enum si_algo algo;
	enum si_key_source source;
	uint32_t usages;
	uint16_t pub_len;
	uint8_t e_len;
	uint8_t pub[SI_KEY_PUB_MAX];
	uint8_t e[8];
	uint8_t fingerprint[32];
	int has_usages;       /* usages came from the node (not a default) */
	uint8_t n_targets;
	/* n_targets absolute normalised paths, each NUL-terminated, back to
	 * back: where this key's cryptexes may be overlaid. */
	char targets[SI_KEY_TARGETS_BYTES];
};

struct si_anchor {
	unsigned n_keys;
	int has_floor;
	uint64_t rollback_floor;
	struct si_key keys[CONFIG_MAX_KEYS];
};

/* Checks the whole blob (fdt_check_full) and collects every key from both
 * sources.  uboot_default_usages: what a U-Boot key without
 * "sealinit,usages" may sign (least privilege: 0).  Errors: SI_E_FDT_BAD, SI_E_ANCHOR_MISSING, SI_E_ANCHOR_DUP,
 * SI_E_ANCHOR_PROP, SI_E_ANCHOR_NOKEY, SI_E_ANCHOR_KEYNAME,
 * SI_E_ANCHOR_KEYDUP, SI_E_ANCHOR_ALGO, SI_E_ANCHOR_KEYLEN,
 * SI_E_ANCHOR_USAGE, SI_E_ANCHOR_TOO_MANY, SI_E_ANCHOR_KEYVAL,
 * SI_E_ANCHOR_TARGET (an overlay target that is not an absolute normalised
 * path, repeated, or too many).
 * On error, d->field names the node and property ("/sealinit/key-a/usages")
 * in d->found_s, d->field the property.  *out is written only on success. */
int si_anchor_parse(const uint8_t *fdt, size_t len, uint32_t uboot_default_usages,
		    struct si_anchor *out, struct si_diag *d) SI_WUR;

/* The key with this fingerprint, or NULL. */
const struct si_key *si_anchor_find(const struct si_anchor *a,
				    const uint8_t fingerprint[32]);

/* 1 when path (absolute, normalised) is one of k's overlay targets or
 * lies below one (component-wise: "/opt" allows "/opt/app", not
 * "/optimal"). */
int si_key_allows_target(const struct si_key *k, const char *path);

/* Computes k->fingerprint from algo, pub and e. */
void si_key_fingerprint(struct si_key *k);

/* Names: "ecdsa-p256", "rsa2048", "rsa4096"; "system", "cryptex", ... */
const char *si_algo_name(enum si_algo a);
const char *si_usage_name(enum si_usage u);
/* Parses one usage name; 0 when unknown. */
uint32_t si_usage_from_name(const char *s, size_t len);
/* "system,cryptex,..." of a usage mask, into buf. */
void si_usages_format(uint32_t usages, char *buf, size_t n);

#endif
