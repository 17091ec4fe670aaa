/* sealinit: the sealed image's footer and manifest, parsed without
 * authentication (verify/manifest.h).  See docs/formats.md, "Sealed images".
 *
 * Image (all offsets in bytes from the start of the file or partition):
 *
 *   0             data_size    padded_size   hash_offset      +hash_size
 *   | file system | zero pad   | (zero gap)  | dm-verity tree  |
 *
 *   manifest_offset        +manifest_size      image_size-64   image_size
 *   | signed manifest      | (zero gap)        | footer (64)   |
 *
 * Footer (the last 64 bytes; NOT signed, it only locates the manifest):
 *
 *   off size field
 *     0   8  magic            "SEALFTR\0"
 *     8   2  version          1
 *    10   2  footer_size      64
 *    12   4  flags            0
 *    16   8  manifest_offset  from the start of the image
 *    24   4  manifest_size    header + body + signature
 *    28  36  reserved         zero
 *
 * Manifest (little-endian):
 *
 *   off size field
 *     0   4  magic            "SIMF"
 *     4   2  version          1
 *     6   2  header_size      64
 *     8   4  body_size        bytes of TLV body, <= 2048
 *    12   2  sig_algo         1 ecdsa-p256, 2 rsa2048, 3 rsa4096
 *    14   2  sig_size         64, 256, 512
 *    16  32  key_id           fingerprint of the signing key (anchor.h)
 *    48  16  reserved         zero
 *    64   body_size           TLV fields
 *    64+body_size  sig_size   signature over bytes [0, 64 + body_size)
 *
 *   TLV field: tag (2) | length (2) | value (length).  Tags strictly
 *   ascending; bit 15 of the tag = critical (unknown critical: refuse;
 *   unknown non-critical: skip).  Values:
 *
 *   0x8001 kind          u8   1 system 2 cryptex 3 kc-boot 4 kc-system
 *                             5 kc-aux 6 update
 *   0x8002 name          1..64 bytes [A-Za-z0-9._+-], first alnum
 *   0x8003 version       1..64 bytes printable ASCII (0x20..0x7e)
 *   0x8004 rollback      u64
 *   0x8005 fs_type       u8   1 erofs 2 ext4 3 squashfs 4 raw
 *   0x8006 data_size     u64  > 0
 *   0x8007 padded_size   u64  data_size rounded up to data blocks
 *   0x8008 data_block    u32  power of two, 512..65536
 *   0x8009 hash_block    u32  power of two, 512..65536
 *   0x800a hash_algo     u8   1 sha256
 *   0x800b salt          1..256 bytes
 *   0x800c root_hash     digest length of hash_algo (32)
 *   0x800d hash_offset   u64  multiple of hash_block, >= padded_size
 *   0x800e hash_size     u64  = dm-verity tree size for the geometry
 *   0x800f overlay       optional, cryptex only: absolute path, 1..255
 *                        bytes, printable, no "//", "." or ".." parts
 *   0x8010 kc_system     32 bytes, kc-aux only and required there: the
 *                        digest of the kc-system image the aux tier's
 *                        module index was made with
 */
#include <string.h>

#include "lib/str.h"
#include "verify/hashtree.h"
#include "verify/manifest.h"
#include "verify/sha256.h"
#include "verify/sig.h"

/* ---------------------------------------------------------------- names */

static const char *const kind_names[] = {
	NULL, "system", "cryptex", "kc-boot", "kc-system", "kc-aux", "update", "set",
};
static const char *const fs_names[] = { NULL, "erofs", "ext4", "squashfs", "raw" };

const char *si_seal_kind_name(enum si_kind k)
{
	return (unsigned)k < SI_ARRAY_SIZE(kind_names) ? kind_names[k] : NULL;
}

const char *si_seal_fstype_name(enum si_fstype t)
{
	return (unsigned)t < SI_ARRAY_SIZE(fs_names) ? fs_names[t] : NULL;
}

const char *si_seal_hash_name(enum si_hash_algo h)
{
	return h == SI_HASH_SHA256 ? "sha256" : NULL;
}

int si_seal_kind_from_name(const char *s)
{
	size_t i;

	for (i = 1; i < SI_ARRAY_SIZE(kind_names); i++)
		if (!strcmp(s, kind_names[i]))
			return (int)i;
	return 0;
}

int si_seal_fstype_from_name(const char *s)
{
	size_t i;

	for (i = 1; i < SI_ARRAY_SIZE(fs_names); i++)
		if (!strcmp(s, fs_names[i]))
			return (int)i;
	return 0;
}

uint32_t si_seal_kind_usage(enum si_kind k)
{
	switch (k) {
	case SI_KIND_SYSTEM: return SI_USAGE_SYSTEM;
	case SI_KIND_CRYPTEX: return SI_USAGE_CRYPTEX;
	case SI_KIND_KC_BOOT: return SI_USAGE_KC_BOOT;
	case SI_KIND_KC_SYSTEM: return SI_USAGE_KC_SYSTEM;
	case SI_KIND_KC_AUX: return SI_USAGE_KC_AUX;
	case SI_KIND_UPDATE: return SI_USAGE_UPDATE;
	case SI_KIND_SET: return SI_USAGE_UPDATE;
	}
	return 0;
}

static size_t hash_digest_len(enum si_hash_algo h)
{
	switch (h) {
	case SI_HASH_SHA256: return 32;
	}
	return 0;
}

/* ---------------------------------------------------------------- checks */

int si_manifest_name_ok(const uint8_t *s, size_t n)
{
	size_t i;

	if (n == 0 || n > SI_SEAL_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		uint8_t c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9');
		if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-' && c != '+')))
			return 0;
	}
	return 1;
}

int si_manifest_printable_ok(const uint8_t *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 0;
	return 1;
}

int si_block_size_ok(uint32_t b)
{
	return b >= 512 && b <= 65536 && (b & (b - 1)) == 0;
}

/* ---------------------------------------------------------------- footer */

/* ---------------------------------------------------------------- footer */

struct footer {
	uint64_t manifest_offset;
	uint32_t manifest_size;
};

static int footer_parse(const uint8_t f[SI_FOOTER_SIZE], uint64_t image_size,
			struct footer *out, struct si_diag *d)
{
	uint64_t body_end = image_size - SI_FOOTER_SIZE; /* caller checked */
	uint64_t moff;
	uint32_t msize;
	size_t i;

	if (memcmp(f, SI_FOOTER_MAGIC, 8) != 0) {
		si_diag_field(d, "footer.magic");
		si_diag_offset(d, body_end);
		si_diag_bytes(d, (const uint8_t *)SI_FOOTER_MAGIC, f, 8);
		return SI_E_SEAL_MAGIC;
	}
	if (si_le16(f + 8) != SI_FOOTER_VERSION) {
		si_diag_field(d, "footer.version");
		si_diag_values(d, SI_FOOTER_VERSION, si_le16(f + 8));
		return SI_E_SEAL_VERSION;
	}
	if (si_le16(f + 10) != SI_FOOTER_SIZE) {
		si_diag_field(d, "footer.footer_size");
		si_diag_values(d, SI_FOOTER_SIZE, si_le16(f + 10));
		return SI_E_SEAL_FOOTER;
	}
	if (si_le32(f + 12) != 0) {
		si_diag_field(d, "footer.flags");
		si_diag_values(d, 0, si_le32(f + 12));
		return SI_E_SEAL_FOOTER;
	}
	for (i = 28; i < SI_FOOTER_SIZE; i++)
		if (f[i]) {
			si_diag_field(d, "footer.reserved");
			si_diag_offset(d, body_end + i);
			si_diag_values(d, 0, f[i]);
			return SI_E_SEAL_FOOTER;
		}
	moff = si_le64(f + 16);
	msize = si_le32(f + 24);
	if (msize < SI_MANIFEST_HDR_SIZE) {
		si_diag_field(d, "footer.manifest_size");
		si_diag_values(d, SI_MANIFEST_HDR_SIZE, msize);
		return SI_E_MANIFEST_HEADER;
	}
	if (msize > SI_MANIFEST_MAX) {
		si_diag_field(d, "footer.manifest_size");
		si_diag_values(d, SI_MANIFEST_MAX, msize);
		return SI_E_MANIFEST_TOO_BIG;
	}
	if (!si_span_ok(moff, msize, body_end)) {
		si_diag_field(d, "footer.manifest_offset");
		/* expected: the last offset at which the manifest still fits */
		si_diag_values(d, body_end - (msize <= body_end ? msize : body_end), moff);
		return SI_E_SEAL_BOUNDS;
	}
	out->manifest_offset = moff;
	out->manifest_size = msize;
	return 0;
}

/* ---------------------------------------------------------------- manifest */

struct mhdr {
	uint32_t body_size;
	enum si_algo sig_algo;
	uint16_t sig_size;
	uint8_t key_id[32];
};

/* The envelope: everything needed to find the key and check the signature,
 * nothing more. */
static int mhdr_parse(const uint8_t *m, size_t len, size_t body_max, struct mhdr *out,
		      struct si_diag *d)
{
	uint32_t body;
	uint16_t algo, ssize;
	size_t want, i;

	if (len < SI_MANIFEST_HDR_SIZE) {
		si_diag_field(d, "manifest.header");
		si_diag_values(d, SI_MANIFEST_HDR_SIZE, len);
		return SI_E_MANIFEST_HEADER;
	}
	if (memcmp(m, SI_MANIFEST_MAGIC, 4) != 0) {
		si_diag_field(d, "manifest.magic");
		si_diag_bytes(d, (const uint8_t *)SI_MANIFEST_MAGIC, m, 4);
		return SI_E_MANIFEST_MAGIC;
	}
	if (si_le16(m + 4) != SI_MANIFEST_VERSION) {
		si_diag_field(d, "manifest.version");
		si_diag_values(d, SI_MANIFEST_VERSION, si_le16(m + 4));
		return SI_E_MANIFEST_VERSION;
	}
	if (si_le16(m + 6) != SI_MANIFEST_HDR_SIZE) {
		si_diag_field(d, "manifest.header_size");
		si_diag_values(d, SI_MANIFEST_HDR_SIZE, si_le16(m + 6));
		return SI_E_MANIFEST_HEADER;
	}
	for (i = 48; i < SI_MANIFEST_HDR_SIZE; i++)
		if (m[i]) {
			si_diag_field(d, "manifest.reserved");
			si_diag_offset(d, i);
			si_diag_values(d, 0, m[i]);
			return SI_E_MANIFEST_HEADER;
		}
	body = si_le32(m + 8);
	if (body == 0) {
		si_diag_field(d, "manifest.body_size");
		si_diag_values(d, 1, 0);
		return SI_E_MANIFEST_HEADER;
	}
	if (body > body_max) {
		si_diag_field(d, "manifest.body_size");
		si_diag_values(d, body_max, body);
		return SI_E_MANIFEST_TOO_BIG;
	}
	algo = si_le16(m + 12);
	ssize = si_le16(m + 14);
	if (si_sig_len((enum si_algo)algo) == 0) {
		si_diag_field(d, "manifest.sig_algo");
		si_diag_values(d, SI_ALGO_ECDSA_P256, algo);
		return SI_E_SIG_ALGO;
	}
	if (ssize != si_sig_len((enum si_algo)algo)) {
		si_diag_field(d, "manifest.sig_size");
		si_diag_values(d, si_sig_len((enum si_algo)algo), ssize);
		return SI_E_SIG_LEN;
	}
	want = SI_MANIFEST_HDR_SIZE + (size_t)body + ssize; /* body <= body_max: no wrap */
	if (want != len) {
		si_diag_field(d, "manifest.body_size");
		si_diag_values(d, len, want);
		return want < len ? SI_E_MANIFEST_TRAILING : SI_E_MANIFEST_HEADER;
	}
	out->body_size = body;
	out->sig_algo = (enum si_algo)algo;
	out->sig_size = ssize;
	memcpy(out->key_id, m + 16, 32);
	return 0;
}

/* Bit per known tag, to find the missing ones. */
static const struct {
	uint16_t tag;
	const char *field;
	int required;
} tag_table[] = {
	{ SI_TAG_KIND, "manifest.kind", 1 },
	{ SI_TAG_NAME, "manifest.name", 1 },
	{ SI_TAG_VERSION, "manifest.version", 1 },
	{ SI_TAG_ROLLBACK, "manifest.rollback_index", 1 },
	{ SI_TAG_FSTYPE, "manifest.fs_type", 1 },
	{ SI_TAG_DATA_SIZE, "manifest.data_size", 1 },
	{ SI_TAG_PADDED_SIZE, "manifest.padded_size", 1 },
	{ SI_TAG_DATA_BLOCK, "manifest.data_block_size", 1 },
	{ SI_TAG_HASH_BLOCK, "manifest.hash_block_size", 1 },
	{ SI_TAG_HASH_ALGO, "manifest.hash_algorithm", 1 },
	{ SI_TAG_SALT, "manifest.salt", 1 },
	{ SI_TAG_ROOT_HASH, "manifest.root_hash", 1 },
	{ SI_TAG_HASH_OFFSET, "manifest.hash_offset", 1 },
	{ SI_TAG_HASH_SIZE, "manifest.hash_size", 1 },
	{ SI_TAG_OVERLAY, "manifest.overlay", 0 },
	{ SI_TAG_KC_SYSTEM, "manifest.kc_system", 0 },
};

static int field_len(struct si_diag *d, const char *field, uint64_t off,
		     size_t want, size_t found)
{
	si_diag_offset(d, off);
	return si_diag_want(d, SI_E_MANIFEST_FIELD_LEN, field, want, found);
}

static int field_value(struct si_diag *d, const char *field, uint64_t off,
		       uint64_t want, uint64_t found)
{
	si_diag_offset(d, off);
	return si_diag_want(d, SI_E_MANIFEST_VALUE, field, want, found);
}

/* Diag text with the untrusted value as "found" (escaped, capped). */
static void diag_found(struct si_diag *d, const char *expected,
		       const uint8_t *v, size_t n)
{
	if (!d)
		return;
	si_diag_text(d, expected, "");
	si_escape(d->found_s, sizeof d->found_s, (const char *)v, n);
}

static void copy_text(char *dst, const uint8_t *src, size_t n)
{
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Decodes the TLV body into s.  Structure and per-field syntax only; the
 * relations between fields are checked by seal_check(). */
void si_tlv_init(struct si_tlv *t, const uint8_t *body, size_t len)
{
	t->body = body;
	t->len = len;
	t->pos = 0;
	t->last = 0;
}

int si_tlv_next(struct si_tlv *t, struct si_diag *d)
{
	size_t pos = t->pos, len = t->len;

	if (pos == len)
		return 0;
	t->off = SI_MANIFEST_HDR_SIZE + pos;
	if (len - pos < 4) {
		si_diag_offset(d, t->off);
		return si_diag_want(d, SI_E_MANIFEST_TLV, "manifest.body", 4, len - pos);
	}
	t->tag = si_le16(t->body + pos);
	t->vlen = si_le16(t->body + pos + 2);
	if (t->vlen > len - pos - 4) {
		si_diag_offset(d, t->off);
		return si_diag_want(d, SI_E_MANIFEST_TLV, "manifest.body", len - pos - 4, t->vlen);
	}
	if (t->tag <= t->last) {
		si_diag_offset(d, t->off);
		return si_diag_want(d, SI_E_MANIFEST_DUP, "manifest.tag", t->last + 1, t->tag);
	}
	t->last = t->tag;
	t->v = t->body + pos + 4;
	t->pos = pos + 4 + (size_t)t->vlen;
	return 1;
}

static int body_parse(const uint8_t *b, size_t len, struct si_manifest *s,
		      struct si_diag *d)
{
	uint32_t seen = 0;
	struct si_tlv t;
	size_t i;
	int r;

	si_tlv_init(&t, b, len);
	while ((r = si_tlv_next(&t, d)) > 0) {
		uint16_t tag = t.tag, vlen = t.vlen;
		const uint8_t *v = t.v;
		uint64_t off = t.off;
		size_t idx;

		for (idx = 0; idx < SI_ARRAY_SIZE(tag_table); idx++)
			if (tag_table[idx].tag == tag)
				break;
		if (idx == SI_ARRAY_SIZE(tag_table)) {
			if (tag & SI_TAG_CRITICAL) {
				si_diag_field(d, "manifest.tag");
				si_diag_offset(d, off);
				si_diag_values(d, 0, tag);
				return SI_E_MANIFEST_CRITICAL;
			}
			continue;
		}
		seen |= 1u << idx;
		{
			const char *f = tag_table[idx].field;

			switch (tag) {
			case SI_TAG_KIND:
				if (vlen != 1)
					return field_len(d, f, off, 1, vlen);
				if (!si_seal_kind_name((enum si_kind)v[0]))
					return field_value(d, f, off, SI_KIND_SYSTEM, v[0]);
				s->kind = (enum si_kind)v[0];
				break;
			case SI_TAG_NAME:
				if (vlen == 0 || vlen > SI_SEAL_NAME_MAX)
					return field_len(d, f, off, vlen ? SI_SEAL_NAME_MAX : 1, vlen);
				if (!si_manifest_name_ok(v, vlen)) {
					si_diag_field(d, f);
					si_diag_offset(d, off);
					diag_found(d, "[A-Za-z0-9._+-]", v, vlen);
					return SI_E_MANIFEST_VALUE;
				}
				copy_text(s->name, v, vlen);
				break;
			case SI_TAG_VERSION:
				if (vlen == 0 || vlen > SI_SEAL_VERSION_MAX)
					return field_len(d, f, off, vlen ? SI_SEAL_VERSION_MAX : 1, vlen);
				if (!si_manifest_printable_ok(v, vlen)) {
					si_diag_field(d, f);
					si_diag_offset(d, off);
					diag_found(d, "printable ASCII", v, vlen);
					return SI_E_MANIFEST_VALUE;
				}
				copy_text(s->version, v, vlen);
				break;
			case SI_TAG_ROLLBACK:
				if (vlen != 8)
					return field_len(d, f, off, 8, vlen);
				s->rollback_index = si_le64(v);
				break;
			case SI_TAG_FSTYPE:
				if (vlen != 1)
					return field_len(d, f, off, 1, vlen);
				if (!si_seal_fstype_name((enum si_fstype)v[0]))
					return field_value(d, f, off, SI_FS_EROFS, v[0]);
				s->fs_type = (enum si_fstype)v[0];
				break;
			case SI_TAG_DATA_SIZE:
				if (vlen != 8)
					return field_len(d, f, off, 8, vlen);
				s->data_size = si_le64(v);
				break;
			case SI_TAG_PADDED_SIZE:
				if (vlen != 8)
					return field_len(d, f, off, 8, vlen);
				s->padded_size = si_le64(v);
				break;
			case SI_TAG_DATA_BLOCK:
				if (vlen != 4)
					return field_len(d, f, off, 4, vlen);
				s->data_block_size = si_le32(v);
				break;
			case SI_TAG_HASH_BLOCK:
				if (vlen != 4)
					return field_len(d, f, off, 4, vlen);
				s->hash_block_size = si_le32(v);
				break;
			case SI_TAG_HASH_ALGO:
				if (vlen != 1)
					return field_len(d, f, off, 1, vlen);
				if (!si_seal_hash_name((enum si_hash_algo)v[0])) {
					si_diag_field(d, f);
					si_diag_offset(d, off);
					si_diag_values(d, SI_HASH_SHA256, v[0]);
					return SI_E_SEAL_ALGO;
				}
				s->hash_algo = (enum si_hash_algo)v[0];
				break;
			case SI_TAG_SALT:
				if (vlen == 0 || vlen > SI_SEAL_SALT_MAX)
					return field_len(d, f, off, vlen ? SI_SEAL_SALT_MAX : 1, vlen);
				memcpy(s->salt, v, vlen);
				s->salt_len = vlen;
				break;
			case SI_TAG_ROOT_HASH: {
				/* hash_algo (0x800a) precedes root_hash (0x800c) when present */
				size_t want = hash_digest_len(s->hash_algo);
				if (want == 0) {
					si_diag_field(d, "manifest.hash_algorithm");
					return SI_E_MANIFEST_MISSING;
				}
				if (vlen != want)
					return field_len(d, f, off, want, vlen);
				memcpy(s->root_hash, v, vlen);
				s->root_hash_len = (uint8_t)vlen;
				break;
			}
			case SI_TAG_HASH_OFFSET:
				if (vlen != 8)
					return field_len(d, f, off, 8, vlen);
				s->hash_offset = si_le64(v);
				break;
			case SI_TAG_HASH_SIZE:
				if (vlen != 8)
					return field_len(d, f, off, 8, vlen);
				s->hash_size = si_le64(v);
				break;
			case SI_TAG_OVERLAY:
				if (vlen == 0 || vlen > SI_SEAL_OVERLAY_MAX)
					return field_len(d, f, off, vlen ? SI_SEAL_OVERLAY_MAX : 1, vlen);
				if (!si_path_ok(v, vlen)) {
					si_diag_field(d, f);
					si_diag_offset(d, off);
					diag_found(d, "an absolute normalised path", v, vlen);
					return SI_E_MANIFEST_VALUE;
				}
				copy_text(s->overlay, v, vlen);
				s->has_overlay = 1;
				break;
			case SI_TAG_KC_SYSTEM:
				if (vlen != sizeof s->kc_system)
					return field_len(d, f, off, sizeof s->kc_system, vlen);
				memcpy(s->kc_system, v, vlen);
				s->has_kc_system = 1;
				break;
			}
		}
	}
	if (r < 0)
		return r;
	for (i = 0; i < SI_ARRAY_SIZE(tag_table); i++)
		if (tag_table[i].required && !(seen & (1u << i))) {
			si_diag_field(d, tag_table[i].field);
			si_diag_values(d, tag_table[i].tag, 0);
			return SI_E_MANIFEST_MISSING;
		}
	return 0;
}

int si_manifest_kc_system_ok(enum si_kind kind, int has, struct si_diag *d)
{
	if (!!has == (kind == SI_KIND_KC_AUX))
		return 0;
	si_diag_field(d, "manifest.kc_system");
	if (has) {
		si_diag_text(d, "kc-aux", si_seal_kind_name(kind));
		return SI_E_MANIFEST_VALUE;
	}
	si_diag_values(d, SI_TAG_KC_SYSTEM, 0);
	return SI_E_MANIFEST_MISSING;
}

/* Relations between fields and with the image: dm-verity's geometry, and
 * data < tree < manifest < footer without overlap. */
static int seal_check(struct si_manifest *s, struct si_diag *d)
{
	struct vt_geom g;
	uint64_t rem, hash_end;
	int r;

	if (s->has_overlay && s->kind != SI_KIND_CRYPTEX) {
		si_diag_field(d, "manifest.overlay");
		si_diag_text(d, "cryptex", si_seal_kind_name(s->kind));
		return SI_E_MANIFEST_VALUE;
	}
	r = si_manifest_kc_system_ok(s->kind, s->has_kc_system, d);
	if (r)
		return r;
	if (!si_block_size_ok(s->data_block_size)) {
		si_diag_field(d, "manifest.data_block_size");
		si_diag_values(d, 4096, s->data_block_size);
		return SI_E_SEAL_GEOMETRY;
	}
	if (!si_block_size_ok(s->hash_block_size)) {
		si_diag_field(d, "manifest.hash_block_size");
		si_diag_values(d, 4096, s->hash_block_size);
		return SI_E_SEAL_GEOMETRY;
	}
	if (s->data_size == 0) {
		si_diag_field(d, "manifest.data_size");
		si_diag_values(d, 1, 0);
		return SI_E_SEAL_GEOMETRY;
	}
	rem = s->data_size % s->data_block_size;
	if (s->padded_size < s->data_size ||
	    s->padded_size - s->data_size != (rem ? s->data_block_size - rem : 0)) {
		si_diag_field(d, "manifest.padded_size");
		si_diag_values(d, s->data_size + (rem ? s->data_block_size - rem : 0),
			       s->padded_size);
		return SI_E_SEAL_GEOMETRY;
	}
	s->data_blocks = s->padded_size / s->data_block_size;
	r = vt_geom_init(s->data_blocks, s->data_block_size, s->hash_block_size, &g);
	if (r) {
		si_diag_field(d, "manifest.padded_size");
		return r == SI_E_VT_TOO_BIG ? SI_E_SEAL_GEOMETRY : r;
	}
	if (s->hash_size != g.tree_size) {
		si_diag_field(d, "manifest.hash_size");
		si_diag_values(d, g.tree_size, s->hash_size);
		return SI_E_SEAL_GEOMETRY;
	}
	if (s->hash_offset % s->hash_block_size) {
		si_diag_field(d, "manifest.hash_offset");
		si_diag_values(d, s->hash_offset - s->hash_offset % s->hash_block_size +
				      s->hash_block_size, s->hash_offset);
		return SI_E_SEAL_GEOMETRY;
	}
	if (s->hash_offset < s->padded_size) {
		si_diag_field(d, "manifest.hash_offset");
		si_diag_values(d, s->padded_size, s->hash_offset);
		return SI_E_SEAL_OVERLAP;
	}
	/* A tree that starts past the end is out of bounds; one that starts
	 * inside but runs into the manifest (or further) overlaps it. */
	if (si_add_u64(s->hash_offset, s->hash_size, &hash_end) ||
	    s->hash_offset >= s->image_size - SI_FOOTER_SIZE) {
		si_diag_field(d, "manifest.hash_offset");
		si_diag_values(d, s->image_size - SI_FOOTER_SIZE, s->hash_offset);
		return SI_E_SEAL_BOUNDS;
	}
	if (hash_end > s->manifest_offset) {
		si_diag_field(d, "footer.manifest_offset");
		si_diag_values(d, hash_end, s->manifest_offset);
		return SI_E_SEAL_OVERLAP;
	}
	return 0;
}


int si_envelope_read(const struct si_io *io, uint8_t *m, struct si_envelope *out,
		     struct si_diag *d)
{
	uint8_t foot[SI_FOOTER_SIZE];
	struct footer ft;
	struct mhdr h;
	int r;

	if (!io || !io->read_at || !m || !out)
		return SI_E_ARG;
	if (io->size < SI_FOOTER_SIZE) {
		si_diag_field(d, "footer");
		si_diag_values(d, SI_FOOTER_SIZE, io->size);
		return SI_E_SEAL_TRUNC;
	}
	r = io->read_at(io->ctx, io->size - SI_FOOTER_SIZE, foot, sizeof foot);
	if (r) {
		si_diag_field(d, "footer");
		return r;
	}
	r = footer_parse(foot, io->size, &ft, d);
	if (r)
		return r;
	r = io->read_at(io->ctx, ft.manifest_offset, m, ft.manifest_size);
	if (r) {
		si_diag_field(d, "manifest");
		return r;
	}
	r = mhdr_parse(m, ft.manifest_size, SI_MANIFEST_BODY_MAX, &h, d);
	if (r)
		return r;
	out->manifest_offset = ft.manifest_offset;
	out->manifest_size = ft.manifest_size;
	out->body_size = h.body_size;
	out->sig_algo = h.sig_algo;
	out->sig_size = h.sig_size;
	memcpy(out->key_id, h.key_id, 32);
	out->image_size = io->size;
	return 0;
}

int si_envelope_parse(const uint8_t *m, size_t len, size_t body_max, struct si_envelope *out,
		      struct si_diag *d)
{
	struct mhdr h;
	int r;

	if (!m || !out || body_max > SI_STANDALONE_BODY_MAX)
		return SI_E_ARG;
	if (len > SI_MANIFEST_HDR_SIZE + body_max + SI_SIG_MAX)
		return si_diag_want(d, SI_E_MANIFEST_TOO_BIG, "manifest",
				    SI_MANIFEST_HDR_SIZE + body_max + SI_SIG_MAX, len);
	r = mhdr_parse(m, len, body_max, &h, d);
	if (r)
		return r;
	out->manifest_offset = 0;
	out->manifest_size = (uint32_t)len;
	out->body_size = h.body_size;
	out->sig_algo = h.sig_algo;
	out->sig_size = h.sig_size;
	memcpy(out->key_id, h.key_id, 32);
	out->image_size = len;
	return 0;
}

int si_manifest_parse(const struct si_envelope *env, const uint8_t *m,
		      struct si_manifest *out, struct si_diag *d)
{
	struct si_manifest s;
	int r;

	if (!env || !m || !out)
		return SI_E_ARG;
	memset(&s, 0, sizeof s);
	s.sig_algo = env->sig_algo;
	memcpy(s.key_id, env->key_id, 32);
	s.manifest_offset = env->manifest_offset;
	s.manifest_size = env->manifest_size;
	s.image_size = env->image_size;
	r = body_parse(m + SI_MANIFEST_HDR_SIZE, env->body_size, &s, d);
	if (r)
		return r;
	si_diag_where(d, s.name, strlen(s.name));
	r = seal_check(&s, d);
	if (r)
		return r;
	si_sha256(m, env->manifest_size, s.digest);
	*out = s;
	return 0;
}

/* ---------------------------------------------------------------- memory I/O */

static int mem_read_at(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct si_mem_io *m = ctx;

	if (!si_span_ok(off, len, m->len))
		return SI_E_SHORT;
	memcpy(buf, m->p + off, len);
	return 0;
}

void si_io_mem(struct si_io *io, struct si_mem_io *m, const uint8_t *p, size_t len)
{
	m->p = p;
	m->len = len;
	io->ctx = m;
	io->size = len;
	io->read_at = mem_read_at;
}
