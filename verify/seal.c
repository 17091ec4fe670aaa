/* sealinit: opening a sealed image -- authentication and policy on top of
 * the pure envelope and manifest parser (verify/manifest.c).  See
 * verify/seal.h for the API and docs/formats.md, "Sealed images".
 *
 * Order (STYLE: authenticate before interpreting): the envelope only
 * locates the manifest and names the key; the signature over header and
 * body is checked before a single body field is parsed; then the key's
 * usage, the kind asked for, rollback, and the geometry.
 */
#include <string.h>

#include "lib/str.h"
#include "verify/hashtree.h"
#include "verify/manifest.h"
#include "verify/rollback.h"
#include "verify/seal.h"
#include "verify/sig.h"

int si_seal_open(const struct si_io *io, const struct si_anchor *anchor,
		 uint32_t required_usage, uint64_t recorded_floor,
		 struct si_seal *out, struct si_diag *d)
{
	uint8_t m[SI_MANIFEST_MAX];
	struct si_envelope env;
	const struct si_key *key;
	struct si_seal s;
	size_t signed_len;
	int r;

	si_diag_clear(d);
	if (!anchor || !out)
		return SI_E_ARG;
	r = si_envelope_read(io, m, &env, d);
	if (r)
		return r;
	key = si_anchor_find(anchor, env.key_id);
	if (!key) {
		char hex[2 * 32 + 1];

		si_hex(hex, env.key_id, 32);
		si_diag_field(d, "manifest.key_id");
		si_diag_text(d, anchor->n_keys ? "the fingerprint of an anchor key"
					       : "an anchor key (the anchor holds none)", hex);
		return SI_E_SEAL_KEY_UNKNOWN;
	}
	signed_len = SI_MANIFEST_HDR_SIZE + (size_t)env.body_size;
	r = si_sig_verify(key, env.sig_algo, m, signed_len, m + signed_len,
			  env.sig_size, d);
	if (r) {
		si_diag_field(d, "manifest.signature");
		si_diag_where(d, key->id, strlen(key->id));
		return r;
	}
	/* ---- The manifest is authentic from here on. ---- */
	memset(&s, 0, sizeof s);
	s.key_index = (unsigned)(key - anchor->keys);
	r = si_manifest_parse(&env, m, &s.m, d);
	if (r)
		return r;
	if (!(key->usages & si_seal_kind_usage(s.m.kind))) {
		char have[96];

		si_usages_format(key->usages, have, sizeof have);
		si_diag_field(d, "anchor key usages (manifest.kind)");
		si_diag_text(d, si_seal_kind_name(s.m.kind), have);
		return SI_E_SEAL_USAGE;
	}
	if (required_usage && si_seal_kind_usage(s.m.kind) != required_usage) {
		si_diag_field(d, "manifest.kind");
		si_diag_text(d, si_usage_name((enum si_usage)required_usage),
			     si_seal_kind_name(s.m.kind));
		return SI_E_SEAL_KIND;
	}
	r = si_rollback_check(s.m.rollback_index, anchor, recorded_floor, d);
	if (r)
		return r;
	/* ---- Validation ends: s is authentic and consistent with the image. ---- */
	*out = s;
	return 0;
}

int si_seal_open_unverified(const struct si_io *io, struct si_seal_unverified *out,
			    struct si_diag *d)
{
	uint8_t m[SI_MANIFEST_MAX];
	struct si_envelope env;
	int r;

	si_diag_clear(d);
	if (!out)
		return SI_E_ARG;
	r = si_envelope_read(io, m, &env, d);
	if (r)
		return r;
	return si_manifest_parse(&env, m, &out->m, d);
}

static int verify_range(const struct si_manifest *s, const uint8_t *image, size_t len,
			uint64_t first, uint64_t n, unsigned threads, struct si_diag *d)
{
	struct vt_geom g;
	int r;

	if (!s || !image)
		return SI_E_ARG;
	if (!si_span_ok(0, s->padded_size, len) ||
	    !si_span_ok(s->hash_offset, s->hash_size, len)) {
		si_diag_field(d, "image");
		si_diag_values(d, s->image_size, len);
		return SI_E_SEAL_BOUNDS;
	}
	r = vt_geom_init(s->data_blocks, s->data_block_size, s->hash_block_size, &g);
	if (r)
		return r;
	return vt_tree_verify_range(&g, s->salt, s->salt_len, image, image + s->hash_offset,
				    s->root_hash, first, n, threads, d);
}

int si_seal_verify_tree(const struct si_manifest *s, const uint8_t *image,
			size_t len, unsigned threads, struct si_diag *d)
{
	if (!s)
		return SI_E_ARG;
	return verify_range(s, image, len, 0, s->data_blocks, threads, d);
}

int si_seal_verify_tree_range(const struct si_manifest *s, const uint8_t *image, size_t len,
			      uint64_t first, uint64_t n, struct si_diag *d)
{
	return verify_range(s, image, len, first, n, 0, d);
}

