/* sealinit: release sets (verify/set.h; docs/formats.md, "Release sets").
 * The envelope is the sealed-image manifest's (verify/manifest.c); the
 * body is the set's own TLV fields.  Authenticate before interpreting:
 * the body is parsed only after the signature checked out. */
#include <stdio.h>
#include <string.h>

#include "lib/str.h"
#include "verify/manifest.h"
#include "verify/rollback.h"
#include "verify/set.h"
#include "verify/sha256.h"
#include "verify/sig.h"

static int set_field(struct si_diag *d, int err, const char *field, uint64_t off)
{
	return si_diag_at(d, err, field, off);
}

/* The image list: kind | name_len | name | digest (32) | rollback (8). */
static int images_parse(const uint8_t *v, size_t n, uint64_t off, struct si_set *s,
			struct si_diag *d)
{
	size_t pos = 0;
	unsigned i;

	s->n = 0;
	while (pos < n) {
		struct si_set_image *e;
		size_t nl;

		if (s->n == SI_SET_MAX_IMAGES) {
			si_diag_values(d, SI_SET_MAX_IMAGES, SI_SET_MAX_IMAGES + 1);
			return set_field(d, SI_E_SET_IMAGES, "set.images", off + pos);
		}
		if (n - pos < 2)
			return set_field(d, SI_E_SET_IMAGES, "set.images.entry", off + pos);
		nl = v[pos + 1];
		if (n - pos - 2 < nl + 32 + 8)
			return set_field(d, SI_E_SET_IMAGES, "set.images.entry", off + pos);
		e = &s->img[s->n];
		memset(e, 0, sizeof *e);
		e->kind = (enum si_kind)v[pos];
		if (e->kind != SI_KIND_KC_BOOT && e->kind != SI_KIND_KC_SYSTEM &&
		    e->kind != SI_KIND_CRYPTEX) {
			si_diag_values(d, SI_KIND_CRYPTEX, v[pos]);
			return set_field(d, SI_E_SET_IMAGES, "set.images.kind", off + pos);
		}
		if (!si_manifest_name_ok(v + pos + 2, nl)) {
			si_diag_text(d, "[A-Za-z0-9._+-], first alphanumeric", "");
			if (d)
				si_escape(d->found_s, sizeof d->found_s, (const char *)v + pos + 2, nl);
			return set_field(d, SI_E_SET_IMAGES, "set.images.name", off + pos + 2);
		}
		memcpy(e->name, v + pos + 2, nl);
		memcpy(e->digest, v + pos + 2 + nl, 32);
		e->rollback_index = si_le64(v + pos + 2 + nl + 32);
		for (i = 0; i < s->n; i++)
			if (!strcmp(s->img[i].name, e->name)) {
				si_diag_text(d, "each name once", e->name);
				return set_field(d, SI_E_SET_IMAGES, "set.images.name", off + pos + 2);
			}
		pos += 2 + nl + 32 + 8;
		s->n++;
	}
	return 0;
}

static int body_parse(const uint8_t *b, size_t len, struct si_set *s, struct si_diag *d)
{
	enum { HAVE_KIND = 1, HAVE_NAME = 2, HAVE_VERSION = 4, HAVE_ROLLBACK = 8,
	       HAVE_SYSTEM = 16, HAVE_IMAGES = 32, HAVE_SYSTEM_DIGEST = 64, HAVE_ALL = 127 };
	static const char *const missing[] = { "set.kind", "set.name", "set.version",
					       "set.rollback_index", "set.system", "set.images",
					       "set.system_digest" };
	unsigned have = 0, k;
	struct si_tlv t;
	int r;

	si_tlv_init(&t, b, len);
	while ((r = si_tlv_next(&t, d)) > 0) {
		switch (t.tag) {
		case SI_TAG_KIND:
			if (t.vlen != 1 || t.v[0] != SI_KIND_SET) {
				si_diag_text(d, "set", t.vlen == 1 && si_seal_kind_name((enum si_kind)t.v[0])
						       ? si_seal_kind_name((enum si_kind)t.v[0]) : "?");
				return set_field(d, SI_E_SEAL_KIND, "set.kind", t.off);
			}
			have |= HAVE_KIND;
			break;
		case SI_TAG_NAME:
			if (!si_manifest_name_ok(t.v, t.vlen))
				return set_field(d, SI_E_MANIFEST_VALUE, "set.name", t.off);
			memcpy(s->name, t.v, t.vlen);
			s->name[t.vlen] = '\0';
			have |= HAVE_NAME;
			break;
		case SI_TAG_VERSION:
			if (t.vlen == 0 || t.vlen > SI_SEAL_VERSION_MAX ||
			    !si_manifest_printable_ok(t.v, t.vlen))
				return set_field(d, SI_E_MANIFEST_VALUE, "set.version", t.off);
			memcpy(s->version, t.v, t.vlen);
			s->version[t.vlen] = '\0';
			have |= HAVE_VERSION;
			break;
		case SI_TAG_ROLLBACK:
			if (t.vlen != 8) {
				si_diag_values(d, 8, t.vlen);
				return set_field(d, SI_E_MANIFEST_FIELD_LEN, "set.rollback_index", t.off);
			}
			s->rollback_index = si_le64(t.v);
			have |= HAVE_ROLLBACK;
			break;
		case SI_TAG_SET_SYSTEM:
			if (t.vlen != 32) {
				si_diag_values(d, 32, t.vlen);
				return set_field(d, SI_E_MANIFEST_FIELD_LEN, "set.system", t.off);
			}
			memcpy(s->system_root, t.v, 32);
			have |= HAVE_SYSTEM;
			break;
		case SI_TAG_SET_IMAGES:
			r = images_parse(t.v, t.vlen, t.off + 4, s, d);
			if (r)
				return r;
			have |= HAVE_IMAGES;
			break;
		case SI_TAG_SET_SYSTEM_DIGEST:
			if (t.vlen != 32) {
				si_diag_values(d, 32, t.vlen);
				return set_field(d, SI_E_MANIFEST_FIELD_LEN, "set.system_digest", t.off);
			}
			memcpy(s->system_digest, t.v, 32);
			have |= HAVE_SYSTEM_DIGEST;
			break;
		default:
			if (t.tag & SI_TAG_CRITICAL) {
				si_diag_values(d, 0, t.tag);
				return set_field(d, SI_E_MANIFEST_CRITICAL, "set.tag", t.off);
			}
		}
	}
	if (r < 0)
		return r;
	for (k = 0; k < SI_ARRAY_SIZE(missing); k++)
		if (!(have & (1u << k))) {
			si_diag_field(d, missing[k]);
			return SI_E_MANIFEST_MISSING;
		}
	return 0;
}

int si_standalone_head_len(const uint8_t *buf, size_t len, size_t body_max, size_t *head,
			   struct si_diag *d)
{
	uint32_t body;
	uint16_t ssize;

	if (!buf || !head)
		return SI_E_ARG;
	if (len < SI_MANIFEST_HDR_SIZE) {
		si_diag_field(d, "manifest.header");
		si_diag_values(d, SI_MANIFEST_HDR_SIZE, len);
		return SI_E_MANIFEST_HEADER;
	}
	body = si_le32(buf + 8);
	ssize = si_le16(buf + 14);
	if (body > body_max) {
		si_diag_field(d, "manifest.body_size");
		si_diag_values(d, body_max, body);
		return SI_E_MANIFEST_TOO_BIG;
	}
	if (ssize > SI_SIG_MAX) {
		si_diag_field(d, "manifest.sig_size");
		si_diag_values(d, SI_SIG_MAX, ssize);
		return SI_E_SIG_LEN;
	}
	*head = SI_MANIFEST_HDR_SIZE + (size_t)body + ssize;
	if (*head > len) {
		si_diag_field(d, "manifest (file size)");
		si_diag_values(d, *head, len);
		return SI_E_SHORT;
	}
	return 0;
}

int si_standalone_open(const uint8_t *buf, size_t len, size_t body_max,
		       const struct si_anchor *anchor, const char *what, struct si_envelope *env,
		       const struct si_key **key_out, struct si_diag *d)
{
	const struct si_key *key = NULL;
	size_t signed_len;
	int r;

	*key_out = NULL;
	r = si_envelope_parse(buf, len, body_max, env, d);
	if (r)
		return r;
	signed_len = SI_MANIFEST_HDR_SIZE + (size_t)env->body_size;
	if (!anchor)
		return 0;
	key = si_anchor_find(anchor, env->key_id);
	if (!key) {
		char hex[65];

		si_hex(hex, env->key_id, 32);
		si_diag_field(d, !strcmp(what, "set") ? "set.key_id" : "bundle.key_id");
		si_diag_text(d, "the fingerprint of an anchor key", hex);
		return SI_E_SEAL_KEY_UNKNOWN;
	}
	r = si_sig_verify(key, env->sig_algo, buf, signed_len, buf + signed_len, env->sig_size, d);
	if (r) {
		si_diag_field(d, !strcmp(what, "set") ? "set.signature" : "bundle.signature");
		si_diag_where(d, key->id, strlen(key->id));
		return r;
	}
	*key_out = key;
	return 0;
}

int si_standalone_authorize(const struct si_key *key, const struct si_anchor *anchor,
			    const char *what, uint64_t rollback, uint64_t recorded_floor,
			    unsigned *key_index, struct si_diag *d)
{
	int r;

	if (!(key->usages & SI_USAGE_UPDATE)) {
		char have[96];

		si_usages_format(key->usages, have, sizeof have);
		si_diag_field(d, !strcmp(what, "set") ? "anchor key usages (set)"
						      : "anchor key usages (bundle)");
		si_diag_text(d, "update", have);
		return SI_E_SEAL_USAGE;
	}
	r = si_rollback_check(rollback, anchor, recorded_floor, d);
	if (r)
		return r;
	*key_index = (unsigned)(key - anchor->keys);
	return 0;
}

/* anchor NULL: not authenticated. */
static int set_open(const uint8_t *buf, size_t len, const struct si_anchor *anchor,
		    uint64_t recorded_floor, struct si_set *out, struct si_diag *d)
{
	struct si_envelope env;
	const struct si_key *key = NULL;
	struct si_set s;
	int r;

	si_diag_clear(d);
	if (!buf || !out)
		return SI_E_ARG;
	r = si_standalone_open(buf, len, SI_MANIFEST_BODY_MAX, anchor, "set", &env, &key, d);
	if (r)
		return r;
	/* ---- The set is authentic from here on (when anchor was given). ---- */
	memset(&s, 0, sizeof s);
	r = body_parse(buf + SI_MANIFEST_HDR_SIZE, env.body_size, &s, d);
	if (r)
		return r;
	si_diag_where(d, s.name, strlen(s.name));
	if (key) {
		r = si_standalone_authorize(key, anchor, "set", s.rollback_index, recorded_floor,
					    &s.key_index, d);
		if (r)
			return r;
	}
	s.sig_algo = env.sig_algo;
	memcpy(s.key_id, env.key_id, 32);
	s.size = (uint32_t)len;
	si_sha256(buf, len, s.digest);
	*out = s;
	return 0;
}

int si_set_open(const uint8_t *buf, size_t len, const struct si_anchor *anchor,
		uint64_t recorded_floor, struct si_set *out, struct si_diag *d)
{
	if (!anchor)
		return SI_E_ARG;
	return set_open(buf, len, anchor, recorded_floor, out, d);
}

int si_set_open_unverified(const uint8_t *buf, size_t len, struct si_set *out,
			   struct si_diag *d)
{
	return set_open(buf, len, NULL, 0, out, d);
}

const struct si_set_image *si_set_find(const struct si_set *s, enum si_kind kind,
				       const char *name)
{
	unsigned i;

	for (i = 0; s && i < s->n; i++)
		if (s->img[i].kind == kind && !strcmp(s->img[i].name, name))
			return &s->img[i];
	return NULL;
}

int si_seal_from_set(const struct si_seal_unverified *u, const struct si_set *set,
		     const struct si_anchor *anchor, uint32_t required_usage,
		     uint64_t recorded_floor, struct si_seal *out, struct si_diag *d)
{
	const struct si_set_image *e;
	const struct si_key *key;
	struct si_seal s;
	char hex[65];
	int r;

	si_diag_clear(d);
	if (!u || !set || !anchor || !out)
		return SI_E_ARG;
	si_diag_where(d, u->m.name, strlen(u->m.name));
	if (u->m.kind == SI_KIND_SYSTEM) {
		/* the system volume: by its manifest digest and root hash */
		if (si_ct_memcmp(set->system_digest, u->m.digest, 32) != 0 ||
		    si_ct_memcmp(set->system_root, u->m.root_hash, 32) != 0) {
			si_diag_field(d, "manifest digest (release set)");
			si_diag_bytes(d, set->system_digest, u->m.digest, 32);
			return SI_E_SET_SYSTEM;
		}
		e = NULL;
		goto vouched;
	}
	e = si_set_find(set, u->m.kind, u->m.name);
	if (!e) {
		si_diag_field(d, "release set");
		si_diag_text(d, "an image the set lists", set->name);
		return SI_E_SET_MEMBER;
	}
	if (si_ct_memcmp(e->digest, u->m.digest, 32) != 0 ||
	    e->rollback_index != u->m.rollback_index) {
		si_diag_field(d, "manifest digest (release set)");
		si_diag_bytes(d, e->digest, u->m.digest, 32);
		return SI_E_SET_DIGEST;
	}
vouched:
	/* ---- These are the exact bytes the set's signature vouches for. ---- */
	key = si_anchor_find(anchor, u->m.key_id);
	if (!key) {
		si_hex(hex, u->m.key_id, 32);
		si_diag_field(d, "manifest.key_id");
		si_diag_text(d, "the fingerprint of an anchor key", hex);
		return SI_E_SEAL_KEY_UNKNOWN;
	}
	if (!(key->usages & si_seal_kind_usage(u->m.kind))) {
		char have[96];

		si_usages_format(key->usages, have, sizeof have);
		si_diag_field(d, "anchor key usages (manifest.kind)");
		si_diag_text(d, si_seal_kind_name(u->m.kind), have);
		return SI_E_SEAL_USAGE;
	}
	if (required_usage && si_seal_kind_usage(u->m.kind) != required_usage) {
		si_diag_field(d, "manifest.kind");
		si_diag_text(d, si_usage_name((enum si_usage)required_usage),
			     si_seal_kind_name(u->m.kind));
		return SI_E_SEAL_KIND;
	}
	r = si_rollback_check(u->m.rollback_index, anchor, recorded_floor, d);
	if (r)
		return r;
	memset(&s, 0, sizeof s);
	s.m = u->m;
	s.key_index = (unsigned)(key - anchor->keys);
	s.via_set = 1;
	*out = s;
	return 0;
}
