/* sealinit update/: update bundles (update/bundle.h; docs/formats.md,
 * "Update bundles").  The head is authenticated before its body is
 * interpreted; every relation the apply code relies on is checked here,
 * once, so that the engine can trust the structure it is given. */
#include <string.h>

#include "lib/str.h"
#include "update/bundle.h"
#include "update/update.h"
#include "verify/manifest.h"
#include "verify/rollback.h"
#include "verify/sha256.h"

#define ENTRY_FIXED (2 + 2 + 32 + 8 + 32 + 8 + 48 + 48)  /* without the name */

static int field(struct si_diag *d, const char *f, uint64_t off)
{
	return si_diag_at(d, SI_E_BUNDLE, f, off);
}

static int zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

uint64_t up_bundle_payload_start(uint32_t head_len)
{
	return ((uint64_t)head_len + UP_BUNDLE_ALIGN - 1) / UP_BUNDLE_ALIGN * UP_BUNDLE_ALIGN;
}

static void payload_get(const uint8_t *p, struct up_payload *out)
{
	out->off = si_le64(p);
	out->len = si_le64(p + 8);
	memcpy(out->sha256, p + 16, 32);
}

static int entries_parse(const uint8_t *v, size_t n, uint64_t off, struct up_bundle *b,
			 struct si_diag *d)
{
	size_t pos = 0;
	unsigned i;

	b->n = 0;
	while (pos < n) {
		struct up_entry *e;
		size_t nl, q;

		if (b->n == UP_BUNDLE_MAX_ENTRIES) {
			si_diag_values(d, UP_BUNDLE_MAX_ENTRIES, UP_BUNDLE_MAX_ENTRIES + 1);
			return field(d, "bundle.entries", off + pos);
		}
		if (n - pos < 2)
			return field(d, "bundle.entries.entry", off + pos);
		nl = v[pos + 1];
		if (n - pos - 2 < nl + ENTRY_FIXED - 2)
			return field(d, "bundle.entries.entry", off + pos);
		e = &b->e[b->n];
		memset(e, 0, sizeof *e);
		e->kind = (enum si_kind)v[pos];
		if (e->kind != SI_KIND_KC_BOOT && e->kind != SI_KIND_KC_SYSTEM &&
		    e->kind != SI_KIND_CRYPTEX) {
			si_diag_values(d, SI_KIND_CRYPTEX, v[pos]);
			return field(d, "bundle.entries.kind", off + pos);
		}
		if (!si_manifest_name_ok(v + pos + 2, nl)) {
			si_diag_text(d, "[A-Za-z0-9._+-], first alphanumeric", "");
			if (d)
				si_escape(d->found_s, sizeof d->found_s, (const char *)v + pos + 2, nl);
			return field(d, "bundle.entries.name", off + pos + 2);
		}
		memcpy(e->name, v + pos + 2, nl);
		q = pos + 2 + nl;
		e->action = (enum up_action)v[q];
		if (v[q] > UP_ACT_DROP) {
			si_diag_values(d, UP_ACT_DROP, v[q]);
			return field(d, "bundle.entries.action", off + q);
		}
		if (v[q + 1]) {
			si_diag_values(d, 0, v[q + 1]);
			return field(d, "bundle.entries.reserved", off + q + 1);
		}
		q += 2;
		memcpy(e->base_digest, v + q, 32);
		e->base_size = si_le64(v + q + 32);
		memcpy(e->target_digest, v + q + 40, 32);
		e->target_size = si_le64(v + q + 72);
		payload_get(v + q + 80, &e->fwd);
		payload_get(v + q + 128, &e->rev);
		for (i = 0; i < b->n; i++)
			if (b->e[i].kind == e->kind && !strcmp(b->e[i].name, e->name)) {
				si_diag_text(d, "each image once", e->name);
				return field(d, "bundle.entries.name", off + pos + 2);
			}
		pos = q + 176;
		b->n++;
	}
	return 0;
}

static int body_parse(const uint8_t *body, size_t len, struct up_bundle *b, struct si_diag *d)
{
	enum { HAVE_KIND = 1, HAVE_NAME = 2, HAVE_VERSION = 4, HAVE_ROLLBACK = 8, HAVE_BASE = 16,
	       HAVE_BASE_NAME = 32, HAVE_TARGET = 64, HAVE_ENTRIES = 128, HAVE_END = 256,
	       HAVE_ALL = 511 };
	static const char *const missing[] = { "bundle.kind", "bundle.name", "bundle.version",
					       "bundle.rollback_index", "bundle.base",
					       "bundle.base_name", "bundle.target", "bundle.entries",
					       "bundle.payload_end" };
	unsigned have = 0, k;
	struct si_tlv t;
	int r;

	si_tlv_init(&t, body, len);
	while ((r = si_tlv_next(&t, d)) > 0) {
		uint64_t off = SI_MANIFEST_HDR_SIZE + t.off;

		switch (t.tag) {
		case SI_TAG_KIND:
			if (t.vlen != 1 || t.v[0] != SI_KIND_UPDATE) {
				si_diag_values(d, SI_KIND_UPDATE, t.vlen ? t.v[0] : 0);
				return si_diag_at(d, SI_E_SEAL_KIND, "bundle.kind", off);
			}
			have |= HAVE_KIND;
			break;
		case SI_TAG_NAME:
		case UP_TAG_BASE_NAME: {
			char *dst = t.tag == SI_TAG_NAME ? b->name : b->base_name;

			if (!si_manifest_name_ok(t.v, t.vlen))
				return si_diag_at(d, SI_E_MANIFEST_VALUE, t.tag == SI_TAG_NAME ?
						  "bundle.name" : "bundle.base_name", off);
			memcpy(dst, t.v, t.vlen);
			dst[t.vlen] = '\0';
			have |= t.tag == SI_TAG_NAME ? HAVE_NAME : HAVE_BASE_NAME;
			break;
		}
		case SI_TAG_VERSION:
			if (t.vlen == 0 || t.vlen > SI_SEAL_VERSION_MAX ||
			    !si_manifest_printable_ok(t.v, t.vlen))
				return si_diag_at(d, SI_E_MANIFEST_VALUE, "bundle.version", off);
			memcpy(b->version, t.v, t.vlen);
			b->version[t.vlen] = '\0';
			have |= HAVE_VERSION;
			break;
		case SI_TAG_ROLLBACK:
			if (t.vlen != 8) {
				si_diag_values(d, 8, t.vlen);
				return si_diag_at(d, SI_E_MANIFEST_FIELD_LEN, "bundle.rollback_index", off);
			}
			b->rollback_index = si_le64(t.v);
			have |= HAVE_ROLLBACK;
			break;
		case UP_TAG_BASE:
			if (t.vlen != 32) {
				si_diag_values(d, 32, t.vlen);
				return si_diag_at(d, SI_E_MANIFEST_FIELD_LEN, "bundle.base", off);
			}
			memcpy(b->base_set, t.v, 32);
			have |= HAVE_BASE;
			break;
		case UP_TAG_TARGET:
			if (t.vlen != 48) {
				si_diag_values(d, 48, t.vlen);
				return si_diag_at(d, SI_E_MANIFEST_FIELD_LEN, "bundle.target", off);
			}
			payload_get(t.v, &b->target);
			have |= HAVE_TARGET;
			break;
		case UP_TAG_ENTRIES:
			r = entries_parse(t.v, t.vlen, off + 4, b, d);
			if (r)
				return r;
			have |= HAVE_ENTRIES;
			break;
		case UP_TAG_PAYLOAD_END:
			if (t.vlen != 8) {
				si_diag_values(d, 8, t.vlen);
				return si_diag_at(d, SI_E_MANIFEST_FIELD_LEN, "bundle.payload_end", off);
			}
			b->payload_end = si_le64(t.v);
			have |= HAVE_END;
			break;
		default:
			/* unknown tags: critical ones (< 0x8000) refused, others
			 * skipped as in every manifest */
			if (t.tag < 0x8000)
				return si_diag_at(d, SI_E_MANIFEST_CRITICAL, "bundle.tag", off);
			break;
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

/* A payload inside [start, end), aligned, after *cursor (payloads come in
 * file order and never overlap); len 0 with zero offset and digest means
 * none (only where `optional`). */
static int payload_check(const struct up_payload *p, int optional, uint64_t start,
			 uint64_t end, uint64_t *cursor, const char *f, struct si_diag *d)
{
	if (p->len == 0) {
		if (optional && p->off == 0 && zero(p->sha256, 32))
			return 0;
		si_diag_text(d, optional ? "no payload (all zero) or a non-empty one" :
				 "a non-empty payload", "an empty one");
		return field(d, f, 0);
	}
	if (p->off % UP_BUNDLE_ALIGN || p->off < start || p->off < *cursor ||
	    p->off > end || p->len > end - p->off) {
		si_diag_values(d, *cursor > start ? *cursor : start, p->off);
		return field(d, f, 0);
	}
	*cursor = p->off + p->len;
	return 0;
}

/* The relations between fields (see the header). */
static int relations(struct up_bundle *b, uint64_t file_size, struct si_diag *d)
{
	uint64_t start = up_bundle_payload_start(b->head_len), cursor = start;
	unsigned i;
	int r;

	if (b->payload_end != file_size) {
		si_diag_values(d, b->payload_end, file_size);
		return field(d, "bundle.payload_end (file size)", 0);
	}
	r = payload_check(&b->target, 0, start, file_size, &cursor, "bundle.target", d);
	for (i = 0; r == 0 && i < b->n; i++) {
		const struct up_entry *e = &b->e[i];
		int has_base = !zero(e->base_digest, 32), has_target = !zero(e->target_digest, 32);
		int ok;

		si_diag_where(d, e->name, strlen(e->name));
		switch (e->action) {
		case UP_ACT_SAME:
			ok = has_base && has_target && !memcmp(e->base_digest, e->target_digest, 32) &&
			     e->base_size == e->target_size && e->fwd.len == 0 && e->rev.len == 0;
			break;
		case UP_ACT_PATCH:
			ok = has_base && has_target && e->fwd.len && e->rev.len && e->base_size &&
			     e->target_size;
			break;
		case UP_ACT_WHOLE:
			ok = has_target && e->fwd.len && e->target_size &&
			     (has_base ? e->rev.len && e->base_size : !e->rev.len && !e->base_size);
			break;
		case UP_ACT_DROP:
			ok = has_base && !has_target && !e->fwd.len && e->rev.len && e->base_size &&
			     !e->target_size;
			break;
		default:
			ok = 0;
		}
		if (!ok) {
			si_diag_text(d, "digests, sizes and payloads that fit the action",
				     e->action == UP_ACT_SAME ? "same" : e->action == UP_ACT_PATCH ? "patch" :
				     e->action == UP_ACT_WHOLE ? "whole" : "drop");
			return field(d, "bundle.entries.action", 0);
		}
		r = payload_check(&e->fwd, 1, start, file_size, &cursor, "bundle.entries.forward", d);
		if (r == 0)
			r = payload_check(&e->rev, 1, start, file_size, &cursor, "bundle.entries.reverse", d);
	}
	return r;
}

static int bundle_open(const uint8_t *buf, size_t len, uint64_t file_size,
		       const struct si_anchor *anchor, uint64_t recorded_floor,
		       struct up_bundle *out, struct si_diag *d)
{
	static struct up_bundle b; /* 11 KiB: not on PID 1's stack */
	const struct si_key *key = NULL;
	struct si_envelope env;
	size_t head;
	int r;

	si_diag_clear(d);
	if (!buf || !out)
		return SI_E_ARG;
	r = si_standalone_head_len(buf, len, UP_BUNDLE_BODY_MAX, &head, d);
	if (r == 0)
		r = si_standalone_open(buf, head, UP_BUNDLE_BODY_MAX, anchor, "bundle", &env, &key, d);
	if (r)
		return r;
	/* ---- The head is authentic from here on (when anchor was given). ---- */
	memset(&b, 0, sizeof b);
	b.head_len = (uint32_t)head;
	r = body_parse(buf + SI_MANIFEST_HDR_SIZE, env.body_size, &b, d);
	if (r)
		return r;
	si_diag_where(d, b.name, strlen(b.name));
	r = relations(&b, file_size, d);
	if (r)
		return r;
	si_diag_clear(d);
	si_diag_where(d, b.name, strlen(b.name));
	if (key) {
		r = si_standalone_authorize(key, anchor, "bundle", b.rollback_index, recorded_floor,
					    &b.key_index, d);
		if (r)
			return r;
	}
	b.sig_algo = env.sig_algo;
	memcpy(b.key_id, env.key_id, 32);
	*out = b;
	return 0;
}

int up_bundle_open(const uint8_t *buf, size_t len, uint64_t file_size,
		   const struct si_anchor *anchor, uint64_t recorded_floor,
		   struct up_bundle *out, struct si_diag *d)
{
	if (!anchor)
		return SI_E_ARG;
	return bundle_open(buf, len, file_size, anchor, recorded_floor, out, d);
}

int up_bundle_open_unverified(const uint8_t *buf, size_t len, uint64_t file_size,
			      struct up_bundle *out, struct si_diag *d)
{
	return bundle_open(buf, len, file_size, NULL, 0, out, d);
}

const struct up_entry *up_bundle_find(const struct up_bundle *b, enum si_kind kind,
				      const char *name)
{
	unsigned i;

	for (i = 0; i < b->n; i++)
		if (b->e[i].kind == kind && !strcmp(b->e[i].name, name))
			return &b->e[i];
	return NULL;
}
