/* sealinit: the sealed image's envelope and manifest body, parsed without
 * authentication.  Pure: bytes in through an si_io, validated structs out.
 *
 * This is the first half of opening a seal (libavb's split): locate and
 * bound the manifest, parse its header far enough to find the key and the
 * signed bytes.  verify/seal.c checks the signature on top of it and only
 * then parses the body; verify/seal_build.c writes what this reads.  Byte
 * layouts: above the parsers in verify/manifest.c, docs/formats.md.
 */
#ifndef SEALINIT_VERIFY_MANIFEST_H
#define SEALINIT_VERIFY_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"
#include "verify/seal.h"
#include "verify/sig.h"

/* The envelope: where the manifest is, and what its header says. */
struct si_envelope {
	uint64_t manifest_offset;  /* from the footer, inside the image */
	uint32_t manifest_size;    /* header + body + signature */
	uint32_t body_size;
	enum si_algo sig_algo;
	uint16_t sig_size;
	uint8_t key_id[32];
	uint64_t image_size;
};

/* Reads the footer and the whole manifest (into m, which must hold
 * SI_MANIFEST_MAX bytes) and parses the footer and the manifest header.
 * Signed bytes: m[0, SI_MANIFEST_HDR_SIZE + body_size); the signature
 * follows them.  Errors: SI_E_ARG, SI_E_SEAL_TRUNC, SI_E_SEAL_MAGIC,
 * SI_E_SEAL_VERSION, SI_E_SEAL_FOOTER, SI_E_SEAL_BOUNDS,
 * SI_E_MANIFEST_HEADER, SI_E_MANIFEST_MAGIC, SI_E_MANIFEST_VERSION,
 * SI_E_MANIFEST_TOO_BIG, SI_E_MANIFEST_TRAILING, SI_E_SIG_ALGO,
 * SI_E_SIG_LEN, and what io->read_at returns. */
int si_envelope_read(const struct si_io *io, uint8_t *m, struct si_envelope *out,
		     struct si_diag *d) SI_WUR;

/* The envelope of a manifest that stands alone in a buffer (a release set
 * file, an update bundle's head: header, body of at most body_max bytes
 * (<= SI_STANDALONE_BODY_MAX), signature, nothing else).  Errors as
 * si_envelope_read's for the header, and SI_E_MANIFEST_TOO_BIG. */
#define SI_STANDALONE_BODY_MAX 65536u
int si_envelope_parse(const uint8_t *m, size_t len, size_t body_max, struct si_envelope *out,
		      struct si_diag *d) SI_WUR;

/* Walks a manifest body's TLV fields: tag (2) | length (2) | value, tags
 * strictly ascending.  si_tlv_next: 1 with the next field in tag, vlen, v
 * and off (offset in the manifest), 0 at the end, or SI_E_MANIFEST_TLV
 * (a header or value past the end) or SI_E_MANIFEST_DUP (a tag repeated or
 * out of order). */
struct si_tlv {
	const uint8_t *body;
	size_t len, pos;
	uint32_t last;
	uint16_t tag, vlen;
	const uint8_t *v;
	uint64_t off;
};
void si_tlv_init(struct si_tlv *t, const uint8_t *body, size_t len);
int si_tlv_next(struct si_tlv *t, struct si_diag *d) SI_WUR;

/* Parses the TLV body of m (read by si_envelope_read) into out: structure
 * and each field's syntax, then the relations between fields and with the
 * image (dm-verity geometry; data < tree < manifest < footer), and the
 * manifest digest.  Nothing here is authenticated.
 * Errors: SI_E_MANIFEST_TLV, SI_E_MANIFEST_DUP, SI_E_MANIFEST_CRITICAL,
 * SI_E_MANIFEST_MISSING, SI_E_MANIFEST_FIELD_LEN, SI_E_MANIFEST_VALUE,
 * SI_E_SEAL_ALGO, SI_E_SEAL_GEOMETRY, SI_E_SEAL_OVERLAP, SI_E_SEAL_BOUNDS.
 * *out is written only on success. */
int si_manifest_parse(const struct si_envelope *env, const uint8_t *m,
		      struct si_manifest *out, struct si_diag *d) SI_WUR;

/* kc_system (0x8010) is required on kc-aux and refused on every other
 * kind: 0, SI_E_MANIFEST_MISSING or SI_E_MANIFEST_VALUE.  Shared with the
 * builder. */
int si_manifest_kc_system_ok(enum si_kind kind, int has, struct si_diag *d);

/* Field syntax, shared with the builder and the anchor's path lists. */
int si_manifest_name_ok(const uint8_t *s, size_t n);     /* 1..64 [A-Za-z0-9._+-], first alnum */
int si_manifest_printable_ok(const uint8_t *s, size_t n); /* 0x20..0x7e */
int si_block_size_ok(uint32_t b);

#endif
