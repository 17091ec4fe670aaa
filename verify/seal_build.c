/* sealinit: the host-side builder of sealed images (verify/seal.h,
 * "Host side"): layout, padding, hash tree, manifest, signature, footer.
 * It writes exactly what verify/manifest.c parses, and reads every image
 * back through si_seal_open() before returning it. */
#include <string.h>

#include "lib/str.h"
#include "verify/hashtree.h"
#include "verify/manifest.h"
#include "verify/seal.h"
#include "verify/set.h"
#include "verify/sig.h"

struct tlv_w {
	uint8_t *p;
	size_t cap, len;
	int over;
};

static void tlv_put(struct tlv_w *w, uint16_t tag, const void *v, size_t n)
{
	if (n > 0xffff || w->cap - w->len < 4 + n) {
		w->over = 1;
		return;
	}
	si_put_le16(w->p + w->len, tag);
	si_put_le16(w->p + w->len + 2, (uint16_t)n);
	if (n)
		memcpy(w->p + w->len + 4, v, n);
	w->len += 4 + n;
}

static void tlv_u64(struct tlv_w *w, uint16_t tag, uint64_t v)
{
	uint8_t b[8];

	si_put_le64(b, v);
	tlv_put(w, tag, b, 8);
}

static void tlv_u32(struct tlv_w *w, uint16_t tag, uint32_t v)
{
	uint8_t b[4];

	si_put_le32(b, v);
	tlv_put(w, tag, b, 4);
}

static void tlv_u8(struct tlv_w *w, uint16_t tag, uint8_t v)
{
	tlv_put(w, tag, &v, 1);
}

static int params_check(const struct si_seal_params *p, uint32_t *dbs,
			uint32_t *hbs, struct si_diag *d)
{
	int r;

	if (!p || !p->name || !p->version || (!p->salt && p->salt_len))
		return SI_E_ARG;
	if (!si_seal_kind_name(p->kind))
		return si_diag_want(d, SI_E_MANIFEST_VALUE, "manifest.kind", SI_KIND_SYSTEM, p->kind);
	if (!si_seal_fstype_name(p->fs_type))
		return si_diag_want(d, SI_E_MANIFEST_VALUE, "manifest.fs_type", SI_FS_EROFS, p->fs_type);
	if (!si_manifest_name_ok((const uint8_t *)p->name, strlen(p->name))) {
		si_diag_field(d, "manifest.name");
		si_diag_text(d, "1..64 of [A-Za-z0-9._+-], first alphanumeric", p->name);
		return SI_E_MANIFEST_VALUE;
	}
	if (!*p->version || strlen(p->version) > SI_SEAL_VERSION_MAX ||
	    !si_manifest_printable_ok((const uint8_t *)p->version, strlen(p->version))) {
		si_diag_field(d, "manifest.version");
		si_diag_text(d, "1..64 printable ASCII characters", p->version);
		return SI_E_MANIFEST_VALUE;
	}
	if (p->salt_len == 0 || p->salt_len > SI_SEAL_SALT_MAX)
		return si_diag_want(d, SI_E_MANIFEST_FIELD_LEN, "manifest.salt", SI_SEAL_SALT_MAX, p->salt_len);
	if (p->overlay) {
		if (p->kind != SI_KIND_CRYPTEX) {
			si_diag_field(d, "manifest.overlay");
			si_diag_text(d, "cryptex", si_seal_kind_name(p->kind));
			return SI_E_MANIFEST_VALUE;
		}
		if (!si_path_ok((const uint8_t *)p->overlay, strlen(p->overlay))) {
			si_diag_field(d, "manifest.overlay");
			si_diag_text(d, "an absolute normalised path", p->overlay);
			return SI_E_MANIFEST_VALUE;
		}
	}
	r = si_manifest_kc_system_ok(p->kind, p->kc_system != NULL, d);
	if (r)
		return r;
	*dbs = p->data_block_size ? p->data_block_size : 4096;
	*hbs = p->hash_block_size ? p->hash_block_size : 4096;
	if (!si_block_size_ok(*dbs) || !si_block_size_ok(*hbs)) {
		si_diag_field(d, "manifest.data_block_size");
		si_diag_values(d, 4096, si_block_size_ok(*dbs) ? *hbs : *dbs);
		return SI_E_SEAL_GEOMETRY;
	}
	if (p->data_size == 0) {
		si_diag_field(d, "manifest.data_size");
		si_diag_values(d, 1, 0);
		return SI_E_SEAL_GEOMETRY;
	}
	return 0;
}

/* Encodes the TLV body into out[0..cap); returns its length or 0. */
static size_t body_encode(const struct si_seal_params *p, uint32_t dbs,
			  uint32_t hbs, const struct si_seal_layout *l,
			  const uint8_t root[32], uint8_t *out, size_t cap)
{
	struct tlv_w w = { out, cap, 0, 0 };

	tlv_u8(&w, SI_TAG_KIND, (uint8_t)p->kind);
	tlv_put(&w, SI_TAG_NAME, p->name, strlen(p->name));
	tlv_put(&w, SI_TAG_VERSION, p->version, strlen(p->version));
	tlv_u64(&w, SI_TAG_ROLLBACK, p->rollback_index);
	tlv_u8(&w, SI_TAG_FSTYPE, (uint8_t)p->fs_type);
	tlv_u64(&w, SI_TAG_DATA_SIZE, p->data_size);
	tlv_u64(&w, SI_TAG_PADDED_SIZE, l->padded_size);
	tlv_u32(&w, SI_TAG_DATA_BLOCK, dbs);
	tlv_u32(&w, SI_TAG_HASH_BLOCK, hbs);
	tlv_u8(&w, SI_TAG_HASH_ALGO, SI_HASH_SHA256);
	tlv_put(&w, SI_TAG_SALT, p->salt, p->salt_len);
	tlv_put(&w, SI_TAG_ROOT_HASH, root, 32);
	tlv_u64(&w, SI_TAG_HASH_OFFSET, l->hash_offset);
	tlv_u64(&w, SI_TAG_HASH_SIZE, l->hash_size);
	if (p->overlay)
		tlv_put(&w, SI_TAG_OVERLAY, p->overlay, strlen(p->overlay));
	if (p->kc_system)
		tlv_put(&w, SI_TAG_KC_SYSTEM, p->kc_system, 32);
	return w.over ? 0 : w.len;
}

int si_seal_layout(const struct si_seal_params *p, enum si_algo sig_algo,
		   struct si_seal_layout *out, struct si_diag *d)
{
	uint8_t body[SI_MANIFEST_BODY_MAX], zero[32] = { 0 };
	struct si_seal_layout l;
	struct vt_geom g;
	uint32_t dbs, hbs;
	uint64_t t;
	size_t blen, slen;
	int r;

	r = params_check(p, &dbs, &hbs, d);
	if (r)
		return r;
	slen = si_sig_len(sig_algo);
	if (!slen)
		return SI_E_SIG_ALGO;
	memset(&l, 0, sizeof l);
	if (si_add_u64(p->data_size, dbs - 1, &t)) {
		si_diag_field(d, "manifest.data_size");
		return SI_E_SEAL_GEOMETRY;
	}
	l.padded_size = t / dbs * dbs;
	r = vt_geom_init(l.padded_size / dbs, dbs, hbs, &g);
	if (r)
		return r;
	if (si_add_u64(l.padded_size, hbs - 1, &t))
		return SI_E_SEAL_GEOMETRY;
	l.hash_offset = t / hbs * hbs;
	l.hash_size = g.tree_size;
	if (si_add_u64(l.hash_offset, l.hash_size, &l.manifest_offset))
		return SI_E_SEAL_GEOMETRY;
	blen = body_encode(p, dbs, hbs, &l, zero, body, sizeof body);
	if (!blen) {
		si_diag_field(d, "manifest.body_size");
		si_diag_values(d, SI_MANIFEST_BODY_MAX, SI_MANIFEST_BODY_MAX + 1);
		return SI_E_MANIFEST_TOO_BIG;
	}
	l.manifest_size = (uint32_t)(SI_MANIFEST_HDR_SIZE + blen + slen);
	if (si_add_u64(l.manifest_offset, l.manifest_size + (uint64_t)SI_FOOTER_SIZE,
		       &l.image_size))
		return SI_E_SEAL_GEOMETRY;
	*out = l;
	return 0;
}
static int privkey_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t *sig,
			size_t cap, size_t *sig_len, struct si_diag *d)
{
	return si_sig_sign(ctx, msg, len, sig, cap, sig_len, d);
}

void si_signer_privkey(struct si_signer *s, const struct si_privkey *key)
{
	s->pub = &key->pub;
	s->sign = privkey_sign;
	s->ctx = (void *)key;
}

/* The image as data || tail, for reading it back. */
struct split_io {
	const uint8_t *data, *tail;
	uint64_t data_len, tail_len;
};

static int split_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	const struct split_io *s = ctx;
	uint8_t *out = buf;

	if (off > s->data_len + s->tail_len || len > s->data_len + s->tail_len - off)
		return SI_E_SHORT;
	while (len) {
		const uint8_t *src = off < s->data_len ? s->data + off : s->tail + (off - s->data_len);
		uint64_t room = off < s->data_len ? s->data_len - off : s->data_len + s->tail_len - off;
		size_t n = room < len ? (size_t)room : len;

		memcpy(out, src, n);
		out += n;
		off += n;
		len -= n;
	}
	return 0;
}

int si_seal_build_tail(const struct si_seal_params *p, const struct si_signer *s,
		       const uint8_t *data, uint8_t *tail, size_t tail_len,
		       unsigned threads, struct si_diag *d)
{
	struct si_seal_layout l;
	struct vt_geom g;
	struct si_anchor a;
	struct si_seal check;
	struct split_io sio;
	struct si_io io;
	uint8_t root[VT_DIGEST];
	uint8_t *m, *f;
	uint32_t dbs, hbs;
	size_t blen, slen = 0;
	int r;

	if (!s || !s->pub || !s->sign || !data || !tail)
		return SI_E_ARG;
	r = si_seal_layout(p, s->pub->algo, &l, d);
	if (r)
		return r;
	if (tail_len != l.image_size - l.padded_size) {
		si_diag_field(d, "image.tail");
		si_diag_values(d, l.image_size - l.padded_size, tail_len);
		return SI_E_ARG;
	}
	r = params_check(p, &dbs, &hbs, d);
	if (r)
		return r;
	/* The tree goes straight into the tail; only the gap before it
	 * (hash_offset > padded_size when the blocks differ) is zeroed. */
	memset(tail, 0, (size_t)(l.hash_offset - l.padded_size));
	r = vt_geom_init(l.padded_size / dbs, dbs, hbs, &g);
	if (r)
		return r;
	r = vt_tree_build(&g, p->salt, p->salt_len, data,
			  tail + (l.hash_offset - l.padded_size), root, threads);
	if (r)
		return r;
	m = tail + (l.manifest_offset - l.padded_size);
	memset(m, 0, l.manifest_size);
	blen = body_encode(p, dbs, hbs, &l, root, m + SI_MANIFEST_HDR_SIZE,
			   SI_MANIFEST_BODY_MAX);
	if (!blen)
		return SI_E_MANIFEST_TOO_BIG;
	memcpy(m, SI_MANIFEST_MAGIC, 4);
	si_put_le16(m + 4, SI_MANIFEST_VERSION);
	si_put_le16(m + 6, SI_MANIFEST_HDR_SIZE);
	si_put_le32(m + 8, (uint32_t)blen);
	si_put_le16(m + 12, (uint16_t)s->pub->algo);
	si_put_le16(m + 14, (uint16_t)si_sig_len(s->pub->algo));
	memcpy(m + 16, s->pub->fingerprint, 32);
	r = s->sign(s->ctx, m, SI_MANIFEST_HDR_SIZE + blen, m + SI_MANIFEST_HDR_SIZE + blen,
		    si_sig_len(s->pub->algo), &slen, d);
	if (r)
		return r;
	if (slen != si_sig_len(s->pub->algo))
		return si_diag_want(d, SI_E_SIG_LEN, "manifest.signature",
				    si_sig_len(s->pub->algo), slen);
	f = tail + (l.image_size - SI_FOOTER_SIZE - l.padded_size);
	memset(f, 0, SI_FOOTER_SIZE);
	memcpy(f, SI_FOOTER_MAGIC, 8);
	si_put_le16(f + 8, SI_FOOTER_VERSION);
	si_put_le16(f + 10, SI_FOOTER_SIZE);
	si_put_le64(f + 16, l.manifest_offset);
	si_put_le32(f + 24, l.manifest_size);
	/* Read it back the way sealinit will: a seal that does not open is
	 * never written (and a signer's bad signature stops here). */
	memset(&a, 0, sizeof a);
	a.n_keys = 1;
	a.keys[0] = *s->pub;
	a.keys[0].usages = SI_USAGE_ALL;
	sio.data = data;
	sio.data_len = l.padded_size;
	sio.tail = tail;
	sio.tail_len = tail_len;
	io.ctx = &sio;
	io.size = l.image_size;
	io.read_at = split_read;
	return si_seal_open(&io, &a, 0, 0, &check, d);
}

int si_seal_build(const struct si_seal_params *p, const struct si_privkey *key,
		  uint8_t *img, size_t img_len, unsigned threads,
		  struct si_diag *d)
{
	struct si_seal_layout l;
	struct si_signer s;
	int r;

	if (!key || !img)
		return SI_E_ARG;
	r = si_seal_layout(p, key->algo, &l, d);
	if (r)
		return r;
	if (img_len != l.image_size) {
		si_diag_field(d, "image");
		si_diag_values(d, l.image_size, img_len);
		return SI_E_ARG;
	}
	memset(img + p->data_size, 0, (size_t)(l.padded_size - p->data_size));
	si_signer_privkey(&s, key);
	return si_seal_build_tail(p, &s, img, img + l.padded_size,
				  (size_t)(l.image_size - l.padded_size), threads, d);
}

/* ---------------------------------------------------------------- sets */

int si_manifest_sign(const uint8_t *body, size_t blen, const struct si_signer *sg,
		     uint8_t *out, size_t cap, size_t *len, struct si_diag *d)
{
	size_t sl, slen = 0, total;
	int r;

	if (!body || !sg || !sg->pub || !sg->sign || !out || !len)
		return SI_E_ARG;
	if (blen > SI_MANIFEST_BODY_MAX)
		return si_diag_want(d, SI_E_MANIFEST_TOO_BIG, "manifest.body", SI_MANIFEST_BODY_MAX, blen);
	sl = si_sig_len(sg->pub->algo);
	total = SI_MANIFEST_HDR_SIZE + blen + sl;
	if (!sl || total > cap)
		return SI_E_ARG;
	memset(out, 0, total);
	memcpy(out, SI_MANIFEST_MAGIC, 4);
	si_put_le16(out + 4, SI_MANIFEST_VERSION);
	si_put_le16(out + 6, SI_MANIFEST_HDR_SIZE);
	si_put_le32(out + 8, (uint32_t)blen);
	si_put_le16(out + 12, (uint16_t)sg->pub->algo);
	si_put_le16(out + 14, (uint16_t)sl);
	memcpy(out + 16, sg->pub->fingerprint, 32);
	memcpy(out + SI_MANIFEST_HDR_SIZE, body, blen);
	r = sg->sign(sg->ctx, out, SI_MANIFEST_HDR_SIZE + blen, out + SI_MANIFEST_HDR_SIZE + blen,
		     sl, &slen, d);
	if (r)
		return r;
	if (slen != sl)
		return si_diag_want(d, SI_E_SIG_LEN, "signature length", sl, slen);
	*len = total;
	return 0;
}

int si_set_build(const struct si_set_params *p, const struct si_signer *sg,
		 uint8_t *out, size_t cap, size_t *len, struct si_diag *d)
{
	uint8_t body[SI_MANIFEST_BODY_MAX], list[SI_MANIFEST_BODY_MAX];
	struct tlv_w w = { body, sizeof body, 0, 0 };
	struct si_anchor a;
	struct si_set check;
	size_t ln = 0, total = 0;
	unsigned i;
	int r;

	if (!p || !sg || !sg->pub || !out || !len || !p->name || !p->version ||
	    p->n > SI_SET_MAX_IMAGES)
		return SI_E_ARG;
	if (!si_manifest_name_ok((const uint8_t *)p->name, strlen(p->name)) || !*p->version ||
	    strlen(p->version) > SI_SEAL_VERSION_MAX ||
	    !si_manifest_printable_ok((const uint8_t *)p->version, strlen(p->version))) {
		si_diag_field(d, "set.name/version");
		si_diag_text(d, "a name of [A-Za-z0-9._+-] and a printable version", p->name);
		return SI_E_MANIFEST_VALUE;
	}
	for (i = 0; i < p->n; i++) {
		const struct si_set_image *e = &p->img[i];
		size_t nl = strlen(e->name);

		if (ln + 2 + nl + 40 > sizeof list)
			return si_diag_want(d, SI_E_MANIFEST_TOO_BIG, "set.images", sizeof list, ln + 2 + nl + 40);
		list[ln] = (uint8_t)e->kind;
		list[ln + 1] = (uint8_t)nl;
		memcpy(list + ln + 2, e->name, nl);
		memcpy(list + ln + 2 + nl, e->digest, 32);
		si_put_le64(list + ln + 2 + nl + 32, e->rollback_index);
		ln += 2 + nl + 40;
	}
	tlv_u8(&w, SI_TAG_KIND, SI_KIND_SET);
	tlv_put(&w, SI_TAG_NAME, p->name, strlen(p->name));
	tlv_put(&w, SI_TAG_VERSION, p->version, strlen(p->version));
	tlv_u64(&w, SI_TAG_ROLLBACK, p->rollback_index);
	tlv_put(&w, SI_TAG_SET_SYSTEM, p->system_root, 32);
	tlv_put(&w, SI_TAG_SET_IMAGES, list, ln);
	tlv_put(&w, SI_TAG_SET_SYSTEM_DIGEST, p->system_digest, 32);
	if (w.over)
		return si_diag_want(d, SI_E_MANIFEST_TOO_BIG, "set.body", SI_MANIFEST_BODY_MAX, w.len + 1);
	r = si_manifest_sign(body, w.len, sg, out, cap, &total, d);
	if (r)
		return r;
	/* Read it back the way sealinit will. */
	memset(&a, 0, sizeof a);
	a.n_keys = 1;
	a.keys[0] = *sg->pub;
	a.keys[0].usages = SI_USAGE_ALL;
	r = si_set_open(out, total, &a, 0, &check, d);
	if (r)
		return r;
	*len = total;
	return 0;
}
