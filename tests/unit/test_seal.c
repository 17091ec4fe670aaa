/* Unit tests: sealed images (verify/seal.c, verify/rollback.c).  Every
 * rejection asserts its exact error.  Keys come from tests/vectors/seal/
 * (made by openssl; see make-vectors.sh there); run from the top directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "tests/unit/t.h"
#include "tests/unit/t_key.h"
#include "verify/hashtree.h"
#include "verify/rollback.h"
#include "verify/seal.h"
#include "verify/sig.h"

#define VEC "tests/vectors/seal/"

static struct si_privkey key_ec, key_other, key_rsa;

/* ---------------------------------------------------------------- I/O */

static struct si_anchor anchor_for(const struct si_privkey *k, uint32_t usages)
{
	struct si_anchor a;

	memset(&a, 0, sizeof a);
	a.n_keys = 1;
	a.keys[0] = k->pub;
	a.keys[0].usages = usages;
	strcpy(a.keys[0].id, "test");
	return a;
}

static int open_img(const uint8_t *img, size_t len, const struct si_anchor *a,
		    uint32_t req, uint64_t floor, struct si_seal *s, struct si_diag *d)
{
	struct si_mem_io m;
	struct si_io io;

	si_io_mem(&io, &m, img, len);
	si_diag_clear(d);
	return si_seal_open(&io, a, req, floor, s, d);
}

/* ---------------------------------------------------------------- build */

static struct si_seal_params params(enum si_kind kind, uint64_t data_size)
{
	static const uint8_t salt[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct si_seal_params p;

	memset(&p, 0, sizeof p);
	p.kind = kind;
	p.name = "os";
	p.version = "13.3.1 (a)";
	p.rollback_index = 5;
	p.fs_type = SI_FS_EROFS;
	p.data_size = data_size;
	p.salt = salt;
	p.salt_len = sizeof salt;
	p.overlay = kind == SI_KIND_CRYPTEX ? "/usr" : NULL;
	return p;
}

static uint8_t *build(const struct si_seal_params *p, const struct si_privkey *k,
		      size_t *len)
{
	struct si_seal_layout l;
	uint8_t *img;
	uint64_t i;

	if (si_seal_layout(p, k->algo, &l, NULL) != 0)
		exit(3);
	img = calloc(1, (size_t)l.image_size);
	for (i = 0; i < p->data_size; i++)
		img[i] = (uint8_t)(i * 2654435761u >> 13);
	if (si_seal_build(p, k, img, (size_t)l.image_size, 2, NULL) != 0) {
		fprintf(stderr, "si_seal_build failed\n");
		exit(3);
	}
	*len = (size_t)l.image_size;
	return img;
}

/* The manifest body as a list of fields, to edit and re-sign. */
struct ent {
	uint16_t tag, len;
	uint8_t v[600];
};

static size_t body_entries(const uint8_t *img, size_t len, struct ent *e)
{
	const uint8_t *f = img + len - SI_FOOTER_SIZE;
	const uint8_t *m = img + si_le64(f + 16);
	size_t blen = si_le32(m + 8), pos = 0, n = 0;

	while (pos < blen) {
		e[n].tag = si_le16(m + 64 + pos);
		e[n].len = si_le16(m + 64 + pos + 2);
		memcpy(e[n].v, m + 64 + pos + 4, e[n].len);
		pos += 4u + e[n].len;
		n++;
	}
	return n;
}

static struct ent *find(struct ent *e, size_t n, uint16_t tag)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (e[i].tag == tag)
			return &e[i];
	abort();
}

/* A new image: the old data and tree, a manifest made of e[0..n) (+ extra
 * raw body bytes), signed by k, and a footer. */
static uint8_t *remanifest(const uint8_t *img, size_t len, const struct ent *e,
			   size_t n, const uint8_t *extra, size_t nextra,
			   const struct si_privkey *k, size_t *outlen)
{
	uint64_t moff = si_le64(img + len - SI_FOOTER_SIZE + 16);
	size_t blen = nextra, i, slen = 0, total;
	uint8_t *out, *m, *f;

	for (i = 0; i < n; i++)
		blen += 4u + e[i].len;
	total = (size_t)moff + 64 + blen + si_sig_len(k->algo) + SI_FOOTER_SIZE;
	out = calloc(1, total);
	memcpy(out, img, (size_t)moff);
	m = out + moff;
	memcpy(m, "SIMF", 4);
	si_put_le16(m + 4, 1);
	si_put_le16(m + 6, 64);
	si_put_le32(m + 8, (uint32_t)blen);
	si_put_le16(m + 12, (uint16_t)k->algo);
	si_put_le16(m + 14, (uint16_t)si_sig_len(k->algo));
	memcpy(m + 16, k->pub.fingerprint, 32);
	blen = 0;
	for (i = 0; i < n; i++) {
		si_put_le16(m + 64 + blen, e[i].tag);
		si_put_le16(m + 64 + blen + 2, e[i].len);
		memcpy(m + 64 + blen + 4, e[i].v, e[i].len);
		blen += 4u + e[i].len;
	}
	if (nextra)
		memcpy(m + 64 + blen, extra, nextra);
	blen += nextra;
	if (si_sig_sign(k, m, 64 + blen, m + 64 + blen, 512, &slen, NULL) != 0)
		abort();
	f = out + total - SI_FOOTER_SIZE;
	memcpy(f, SI_FOOTER_MAGIC, 8);
	si_put_le16(f + 8, 1);
	si_put_le16(f + 10, 64);
	si_put_le64(f + 16, moff);
	si_put_le32(f + 24, (uint32_t)(64 + blen + slen));
	*outlen = total;
	return out;
}

/* Edits one field and expects `want` from si_seal_open. */
static int edited(const uint8_t *img, size_t len, uint16_t tag, const void *v,
		  size_t vlen)
{
	static struct ent e[32];
	struct si_anchor a = anchor_for(&key_ec, SI_USAGE_ALL);
	struct si_seal s;
	struct si_diag d;
	size_t n = body_entries(img, len, e), olen;
	struct ent *x = find(e, n, tag);
	uint8_t *o;
	int r;

	memcpy(x->v, v, vlen);
	x->len = (uint16_t)vlen;
	o = remanifest(img, len, e, n, NULL, 0, &key_ec, &olen);
	r = open_img(o, olen, &a, 0, 0, &s, &d);
	free(o);
	return r;
}

static void le64(uint8_t *b, uint64_t v)
{
	si_put_le64(b, v);
}

/* ---------------------------------------------------------------- tests */

static void test_roundtrip(void)
{
	struct si_seal_params p = params(SI_KIND_CRYPTEX, 3 * 4096 + 100);
	struct si_anchor a = anchor_for(&key_ec, SI_USAGE_CRYPTEX);
	struct si_seal s;
	struct si_diag d;
	size_t len;
	uint8_t *img = build(&p, &key_ec, &len);

	T_OK(open_img(img, len, &a, SI_USAGE_CRYPTEX, 5, &s, &d));
	T_STREQ(s.m.name, "os");
	T_STREQ(s.m.version, "13.3.1 (a)");
	T_STREQ(s.m.overlay, "/usr");
	T_EQ(s.m.kind, SI_KIND_CRYPTEX);
	T_EQ(s.m.data_size, 3 * 4096 + 100);
	T_EQ(s.m.padded_size, 4 * 4096);
	T_EQ(s.m.data_blocks, 4);
	T_EQ(s.m.hash_offset, 4 * 4096);
	T_EQ(s.m.hash_size, 4096);
	T_EQ(s.m.rollback_index, 5);
	T_EQ(s.m.salt_len, 32);
	T_EQ(s.m.root_hash_len, 32);
	T_EQ(s.m.image_size, len);
	T_EQ(s.m.sig_algo, SI_ALGO_ECDSA_P256);
	T_MEMEQ(s.m.key_id, key_ec.pub.fingerprint, 32);
	/* sealctl zero-pads the partial last block */
	T_EQ(img[3 * 4096 + 100], 0);
	T_EQ(img[4 * 4096 - 1], 0);
	T_OK(si_seal_verify_tree(&s.m, img, len, 2, &d));
	{
		struct si_mem_io m;
		struct si_io io;

		struct si_seal_unverified u;

		si_io_mem(&io, &m, img, len);
		T_OK(si_seal_open_unverified(&io, &u, NULL));
		/* The same fields whether or not the signature was checked. */
		T_MEMEQ(&u.m, &s.m, sizeof u.m);
	}
	free(img);

	/* RSA, one data block: no tree levels at all */
	p = params(SI_KIND_SYSTEM, 4096);
	a = anchor_for(&key_rsa, SI_USAGE_SYSTEM);
	img = build(&p, &key_rsa, &len);
	T_OK(open_img(img, len, &a, SI_USAGE_SYSTEM, 0, &s, &d));
	T_EQ(s.m.hash_size, 0);
	T_EQ(s.m.sig_algo, SI_ALGO_RSA2048);
	T_OK(si_seal_verify_tree(&s.m, img, len, 1, &d));
	img[10] ^= 1;
	T_ERR(si_seal_verify_tree(&s.m, img, len, 1, &d), SI_E_SEAL_ROOT_MISMATCH);
	free(img);
}

static void test_footer(void)
{
	struct si_seal_params p = params(SI_KIND_SYSTEM, 2 * 4096);
	struct si_anchor a = anchor_for(&key_ec, SI_USAGE_ALL);
	struct si_seal s;
	struct si_diag d;
	size_t len;
	uint8_t *img = build(&p, &key_ec, &len), *f = img + len - 64, save[64];

	memcpy(save, f, 64);
	/* truncated: smaller than a footer, and cut by one byte */
	T_ERR(open_img(img, 63, &a, 0, 0, &s, &d), SI_E_SEAL_TRUNC);
	T_EQ(d.expected, 64);
	T_EQ(d.found, 63);
	T_ERR(open_img(img, 0, &a, 0, 0, &s, &d), SI_E_SEAL_TRUNC);
	T_ERR(open_img(img, len - 1, &a, 0, 0, &s, &d), SI_E_SEAL_MAGIC);
	/* wrong magic */
	f[0] ^= 0x20;
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_SEAL_MAGIC);
	T_STREQ(d.field, "footer.magic");
	memcpy(f, save, 64);
	/* unknown version */
	si_put_le16(f + 8, 2);
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_SEAL_VERSION);
	T_EQ(d.found, 2);
	memcpy(f, save, 64);
	/* footer size, flags, reserved */
	si_put_le16(f + 10, 65);
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_SEAL_FOOTER);
	memcpy(f, save, 64);
	f[12] = 1;
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_SEAL_FOOTER);
	memcpy(f, save, 64);
	f[63] = 1;
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_SEAL_FOOTER);
	memcpy(f, save, 64);
	/* offsets past the end */
	si_put_le64(f + 16, len);
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_SEAL_BOUNDS);
	si_put_le64(f + 16, UINT64_MAX - 10);
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_SEAL_BOUNDS);
	memcpy(f, save, 64);
	si_put_le32(f + 24, si_le32(save + 24) + 1); /* runs into the footer */
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_SEAL_BOUNDS);
	/* manifest size: zero, oversized */
	si_put_le32(f + 24, 0);
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_MANIFEST_HEADER);
	si_put_le32(f + 24, SI_MANIFEST_MAX + 1);
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_MANIFEST_TOO_BIG);
	si_put_le32(f + 24, 0xffffffffu);
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_MANIFEST_TOO_BIG);
	memcpy(f, save, 64);
	/* manifest offset pointing into the data: no manifest magic there */
	si_put_le64(f + 16, 0);
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_MANIFEST_MAGIC);
	memcpy(f, save, 64);
	T_OK(open_img(img, len, &a, 0, 0, &s, &d));
	free(img);
}

static void test_manifest_header(void)
{
	struct si_seal_params p = params(SI_KIND_SYSTEM, 4096);
	struct si_anchor a = anchor_for(&key_ec, SI_USAGE_ALL);
	struct si_seal s;
	struct si_diag d;
	size_t len;
	uint8_t *img = build(&p, &key_ec, &len);
	uint8_t *m = img + si_le64(img + len - 64 + 16), save[64];

	memcpy(save, m, 64);
	m[0] = 'X';
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_MANIFEST_MAGIC);
	memcpy(m, save, 64);
	si_put_le16(m + 4, 2);
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_MANIFEST_VERSION);
	memcpy(m, save, 64);
	si_put_le16(m + 6, 72);
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_MANIFEST_HEADER);
	memcpy(m, save, 64);
	m[60] = 1;
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_MANIFEST_HEADER);
	memcpy(m, save, 64);
	si_put_le32(m + 8, 0);
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_MANIFEST_HEADER);
	si_put_le32(m + 8, SI_MANIFEST_BODY_MAX + 1);
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_MANIFEST_TOO_BIG);
	/* body size smaller than what the footer says: trailing bytes */
	memcpy(m, save, 64);
	si_put_le32(m + 8, si_le32(save + 8) - 1);
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_MANIFEST_TRAILING);
	memcpy(m, save, 64);
	si_put_le16(m + 12, 9);
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_SIG_ALGO);
	memcpy(m, save, 64);
	si_put_le16(m + 14, 63);
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_SIG_LEN);
	/* algorithm of another key type with a matching size */
	memcpy(m, save, 64);
	si_put_le16(m + 12, SI_ALGO_RSA2048);
	si_put_le16(m + 14, 256);
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_MANIFEST_HEADER);
	memcpy(m, save, 64);
	T_OK(open_img(img, len, &a, 0, 0, &s, &d));
	free(img);
}

static void test_trust(void)
{
	struct si_seal_params p = params(SI_KIND_CRYPTEX, 5 * 4096);
	struct si_anchor a = anchor_for(&key_ec, SI_USAGE_ALL), b;
	struct si_seal s;
	struct si_diag d;
	size_t len, i;
	uint8_t *img = build(&p, &key_ec, &len);
	uint64_t moff = si_le64(img + len - 64 + 16);

	/* unknown key: the anchor holds another one */
	b = anchor_for(&key_other, SI_USAGE_ALL);
	T_ERR(open_img(img, len, &b, 0, 0, &s, &d), SI_E_SEAL_KEY_UNKNOWN);
	T_STREQ(d.field, "manifest.key_id");
	b.n_keys = 0;
	T_ERR(open_img(img, len, &b, 0, 0, &s, &d), SI_E_SEAL_KEY_UNKNOWN);
	/* the key lacks the usage */
	b = anchor_for(&key_ec, SI_USAGE_SYSTEM | SI_USAGE_KC_AUX);
	T_ERR(open_img(img, len, &b, 0, 0, &s, &d), SI_E_SEAL_USAGE);
	/* right key, wrong kind for the caller */
	T_ERR(open_img(img, len, &a, SI_USAGE_SYSTEM, 0, &s, &d), SI_E_SEAL_KIND);
	/* the same id with another key's value: signature fails */
	b = anchor_for(&key_other, SI_USAGE_ALL);
	memcpy(b.keys[0].fingerprint, key_ec.pub.fingerprint, 32);
	T_ERR(open_img(img, len, &b, 0, 0, &s, &d), SI_E_SIG_BAD);
	/* RSA key under the ECDSA key's id: algorithm mismatch */
	b = anchor_for(&key_rsa, SI_USAGE_ALL);
	memcpy(b.keys[0].fingerprint, key_ec.pub.fingerprint, 32);
	T_ERR(open_img(img, len, &b, 0, 0, &s, &d), SI_E_SIG_ALGO);
	/* every byte of the signed manifest and the signature is covered */
	for (i = 0; i < si_le32(img + len - 64 + 24); i++) {
		int r;
		if (i >= 16 && i < 48)
			continue; /* key id: unknown key instead, checked above */
		img[moff + i] ^= 0x01;
		r = open_img(img, len, &a, 0, 0, &s, &d);
		T_CHECK(r == SI_E_SIG_BAD || ((i < 16 || (i >= 48 && i < 64)) && r != 0),
			"manifest byte %zu flipped: %s", i, si_err_name(r));
		img[moff + i] ^= 0x01;
	}
	/* rollback */
	a.has_floor = 1;
	a.rollback_floor = 6;
	T_ERR(open_img(img, len, &a, 0, 0, &s, &d), SI_E_SEAL_ROLLBACK);
	T_EQ(d.expected, 6);
	T_EQ(d.found, 5);
	T_CHECK(d.field && strstr(d.field, "anchor"), "field %s", d.field);
	a.rollback_floor = 5;
	T_OK(open_img(img, len, &a, 0, 5, &s, &d));
	T_ERR(open_img(img, len, &a, 0, 9, &s, &d), SI_E_SEAL_ROLLBACK);
	T_EQ(d.expected, 9);
	T_EQ(d.found, 5);
	T_CHECK(d.field && strstr(d.field, "recorded"), "field %s", d.field);
	T_ERR(si_rollback_check(0, NULL, 1, NULL), SI_E_SEAL_ROLLBACK);
	T_OK(si_rollback_check(UINT64_MAX, NULL, UINT64_MAX, NULL));
	{
		char line[512];
		si_diag_format(&d, SI_E_SEAL_ROLLBACK, line, sizeof line);
		T_CHECK(strstr(line, "9") && strstr(line, "5"), "%s", line);
	}
	free(img);
}

/* kc_system (0x8010): the kc-system digest an aux tier's index was made
 * with; kc-aux only, and required there -- built, parsed, and refused
 * where it is absent, misplaced or the wrong length. */
static void test_kc_system_field(void)
{
	static const uint8_t sys[32] = { 0x5e, 0x11, [31] = 0x7f };
	struct si_seal_params p = params(SI_KIND_KC_AUX, 4096);
	struct si_anchor a = anchor_for(&key_ec, SI_USAGE_ALL);
	static struct ent e[40];
	struct si_seal_layout l;
	struct si_seal s;
	struct si_diag d;
	size_t len, olen, n;
	uint8_t *img, *o;

	/* the builder: required for kc-aux, refused elsewhere */
	si_diag_clear(&d);
	T_ERR(si_seal_layout(&p, SI_ALGO_ECDSA_P256, &l, &d), SI_E_MANIFEST_MISSING);
	T_STREQ(d.field, "manifest.kc_system");
	p.kc_system = sys;
	T_OK(si_seal_layout(&p, SI_ALGO_ECDSA_P256, &l, NULL));
	{
		struct si_seal_params q = params(SI_KIND_KC_SYSTEM, 4096);

		q.kc_system = sys;
		T_ERR(si_seal_layout(&q, SI_ALGO_ECDSA_P256, &l, NULL), SI_E_MANIFEST_VALUE);
	}
	/* built and read back */
	img = build(&p, &key_ec, &len);
	T_OK(open_img(img, len, &a, 0, 0, &s, &d));
	T_EQ(s.m.has_kc_system, 1);
	T_CHECK(memcmp(s.m.kc_system, sys, 32) == 0, "kc_system read back");
	/* the wrong length */
	T_ERR(edited(img, len, SI_TAG_KC_SYSTEM, sys, 31), SI_E_MANIFEST_FIELD_LEN);
	T_ERR(edited(img, len, SI_TAG_KC_SYSTEM, sys, 0), SI_E_MANIFEST_FIELD_LEN);
	/* a kc-aux manifest without it: missing */
	n = body_entries(img, len, e);
	T_EQ(e[n - 1].tag, SI_TAG_KC_SYSTEM);
	o = remanifest(img, len, e, n - 1, NULL, 0, &key_ec, &olen);
	si_diag_clear(&d);
	T_ERR(open_img(o, olen, &a, 0, 0, &s, &d), SI_E_MANIFEST_MISSING);
	T_STREQ(d.field, "manifest.kc_system");
	free(o);
	/* on another kind: refused, not ignored */
	find(e, n, SI_TAG_KIND)->v[0] = SI_KIND_KC_SYSTEM;
	o = remanifest(img, len, e, n, NULL, 0, &key_ec, &olen);
	si_diag_clear(&d);
	T_ERR(open_img(o, olen, &a, 0, 0, &s, &d), SI_E_MANIFEST_VALUE);
	T_STREQ(d.field, "manifest.kc_system");
	free(o);
	free(img);
}

static void test_fields(void)
{
	struct si_seal_params p = params(SI_KIND_CRYPTEX, 2 * 4096);
	struct si_anchor a = anchor_for(&key_ec, SI_USAGE_ALL);
	static struct ent e[40], e2[40];
	struct si_seal s;
	struct si_diag d;
	size_t len, n, olen, i;
	uint8_t *img = build(&p, &key_ec, &len), *o, big[600], b8[8];

	memset(big, 'a', sizeof big);
	/* re-signing unchanged gives a valid image (the helper is honest) */
	n = body_entries(img, len, e);
	T_EQ(n, 15);
	o = remanifest(img, len, e, n, NULL, 0, &key_ec, &olen);
	T_OK(open_img(o, olen, &a, 0, 0, &s, &d));
	free(o);

	/* zero-length and oversized fields */
	T_ERR(edited(img, len, SI_TAG_NAME, "", 0), SI_E_MANIFEST_FIELD_LEN);
	T_ERR(edited(img, len, SI_TAG_NAME, big, 65), SI_E_MANIFEST_FIELD_LEN);
	T_OK(edited(img, len, SI_TAG_NAME, big, 64));
	T_ERR(edited(img, len, SI_TAG_VERSION, "", 0), SI_E_MANIFEST_FIELD_LEN);
	T_ERR(edited(img, len, SI_TAG_VERSION, big, 65), SI_E_MANIFEST_FIELD_LEN);
	T_ERR(edited(img, len, SI_TAG_SALT, "", 0), SI_E_MANIFEST_FIELD_LEN);
	T_ERR(edited(img, len, SI_TAG_SALT, big, 257), SI_E_MANIFEST_FIELD_LEN);
	T_ERR(edited(img, len, SI_TAG_ROOT_HASH, big, 31), SI_E_MANIFEST_FIELD_LEN);
	T_ERR(edited(img, len, SI_TAG_ROOT_HASH, big, 33), SI_E_MANIFEST_FIELD_LEN);
	T_ERR(edited(img, len, SI_TAG_OVERLAY, "", 0), SI_E_MANIFEST_FIELD_LEN);
	T_ERR(edited(img, len, SI_TAG_OVERLAY, big, 256), SI_E_MANIFEST_FIELD_LEN);
	T_ERR(edited(img, len, SI_TAG_ROLLBACK, big, 4), SI_E_MANIFEST_FIELD_LEN);
	T_ERR(edited(img, len, SI_TAG_KIND, "\2\0", 2), SI_E_MANIFEST_FIELD_LEN);
	T_ERR(edited(img, len, SI_TAG_DATA_BLOCK, big, 8), SI_E_MANIFEST_FIELD_LEN);
	/* values */
	T_ERR(edited(img, len, SI_TAG_KIND, "\7", 1), SI_E_MANIFEST_VALUE);
	T_ERR(edited(img, len, SI_TAG_KIND, "\0", 1), SI_E_MANIFEST_VALUE);
	T_ERR(edited(img, len, SI_TAG_FSTYPE, "\5", 1), SI_E_MANIFEST_VALUE);
	T_ERR(edited(img, len, SI_TAG_NAME, "../x", 4), SI_E_MANIFEST_VALUE);
	T_ERR(edited(img, len, SI_TAG_NAME, "-x", 2), SI_E_MANIFEST_VALUE);
	T_ERR(edited(img, len, SI_TAG_VERSION, "1\n", 2), SI_E_MANIFEST_VALUE);
	T_ERR(edited(img, len, SI_TAG_OVERLAY, "usr", 3), SI_E_MANIFEST_VALUE);
	T_ERR(edited(img, len, SI_TAG_OVERLAY, "/usr/../etc", 11), SI_E_MANIFEST_VALUE);
	T_ERR(edited(img, len, SI_TAG_OVERLAY, "/usr//x", 7), SI_E_MANIFEST_VALUE);
	T_ERR(edited(img, len, SI_TAG_OVERLAY, "/usr/", 5), SI_E_MANIFEST_VALUE);
	T_OK(edited(img, len, SI_TAG_OVERLAY, "/", 1));
	T_ERR(edited(img, len, SI_TAG_HASH_ALGO, "\2", 1), SI_E_SEAL_ALGO);
	/* geometry */
	le64(b8, 3 * 4096);
	T_ERR(edited(img, len, SI_TAG_PADDED_SIZE, b8, 8), SI_E_SEAL_GEOMETRY);
	le64(b8, 0);
	T_ERR(edited(img, len, SI_TAG_DATA_SIZE, b8, 8), SI_E_SEAL_GEOMETRY);
	le64(b8, 2 * 4096 + 1);
	T_ERR(edited(img, len, SI_TAG_DATA_SIZE, b8, 8), SI_E_SEAL_GEOMETRY);
	le64(b8, 8192);
	T_ERR(edited(img, len, SI_TAG_HASH_SIZE, b8, 8), SI_E_SEAL_GEOMETRY);
	T_ERR(edited(img, len, SI_TAG_HASH_BLOCK, "\xe8\3\0\0", 4), SI_E_SEAL_GEOMETRY);
	T_ERR(edited(img, len, SI_TAG_DATA_BLOCK, "\0\0\0\0", 4), SI_E_SEAL_GEOMETRY);
	le64(b8, 2 * 4096 + 512);
	T_ERR(edited(img, len, SI_TAG_HASH_OFFSET, b8, 8), SI_E_SEAL_GEOMETRY);
	/* overlapping regions: the tree over the data, the tree over the manifest */
	le64(b8, 4096);
	T_ERR(edited(img, len, SI_TAG_HASH_OFFSET, b8, 8), SI_E_SEAL_OVERLAP);
	le64(b8, 3 * 4096);
	T_ERR(edited(img, len, SI_TAG_HASH_OFFSET, b8, 8), SI_E_SEAL_OVERLAP);
	le64(b8, (uint64_t)1 << 40);
	T_ERR(edited(img, len, SI_TAG_HASH_OFFSET, b8, 8), SI_E_SEAL_BOUNDS);
	le64(b8, UINT64_MAX - 4095);
	T_ERR(edited(img, len, SI_TAG_HASH_OFFSET, b8, 8), SI_E_SEAL_BOUNDS);

	/* structure: duplicates/order, unknown critical, missing, truncated, trailing */
	n = body_entries(img, len, e);
	memcpy(e2, e, sizeof e);
	e2[1] = e2[0]; /* kind twice, name gone */
	o = remanifest(img, len, e2, n, NULL, 0, &key_ec, &olen);
	T_ERR(open_img(o, olen, &a, 0, 0, &s, &d), SI_E_MANIFEST_DUP);
	free(o);
	memcpy(e2, e, sizeof e);
	e2[0] = e[1];
	e2[1] = e[0]; /* out of order */
	o = remanifest(img, len, e2, n, NULL, 0, &key_ec, &olen);
	T_ERR(open_img(o, olen, &a, 0, 0, &s, &d), SI_E_MANIFEST_DUP);
	free(o);
	memcpy(e2, e, sizeof e);
	e2[n].tag = 0x8100;
	e2[n].len = 1;
	o = remanifest(img, len, e2, n + 1, NULL, 0, &key_ec, &olen);
	T_ERR(open_img(o, olen, &a, 0, 0, &s, &d), SI_E_MANIFEST_CRITICAL);
	free(o);
	/* non-critical: skipped (but still in order) */
	memcpy(e2 + 1, e, n * sizeof e[0]);
	e2[0].tag = 0x0001;
	e2[0].len = 3;
	o = remanifest(img, len, e2, n + 1, NULL, 0, &key_ec, &olen);
	T_OK(open_img(o, olen, &a, 0, 0, &s, &d));
	free(o);
	for (i = 0; i < n; i++) {
		int want = e[i].tag == SI_TAG_OVERLAY ? 0 : SI_E_MANIFEST_MISSING;
		memcpy(e2, e, i * sizeof e[0]);
		memcpy(e2 + i, e + i + 1, (n - i - 1) * sizeof e[0]);
		o = remanifest(img, len, e2, n - 1, NULL, 0, &key_ec, &olen);
		T_ERR(open_img(o, olen, &a, 0, 0, &s, &d), want);
		free(o);
	}
	o = remanifest(img, len, e, n, (const uint8_t *)"\x01\x00\x05", 3, &key_ec, &olen);
	T_ERR(open_img(o, olen, &a, 0, 0, &s, &d), SI_E_MANIFEST_TLV);
	free(o);
	o = remanifest(img, len, e, n, (const uint8_t *)"\x01\x90\x05\x00zz", 6, &key_ec, &olen);
	T_ERR(open_img(o, olen, &a, 0, 0, &s, &d), SI_E_MANIFEST_TLV);
	free(o);
	/* overlay on a non-cryptex */
	memcpy(e2, e, sizeof e);
	find(e2, n, SI_TAG_KIND)->v[0] = SI_KIND_SYSTEM;
	o = remanifest(img, len, e2, n, NULL, 0, &key_ec, &olen);
	T_ERR(open_img(o, olen, &a, 0, 0, &s, &d), SI_E_MANIFEST_VALUE);
	free(o);
	/* a body over the cap cannot even be laid out */
	{
		struct si_seal_params q = params(SI_KIND_SYSTEM, 4096);
		struct si_seal_layout l;
		static uint8_t salt[300];
		q.salt = salt;
		q.salt_len = 257;
		T_ERR(si_seal_layout(&q, SI_ALGO_ECDSA_P256, &l, NULL), SI_E_MANIFEST_FIELD_LEN);
		q = params(SI_KIND_SYSTEM, 4096);
		q.name = "bad name";
		T_ERR(si_seal_layout(&q, SI_ALGO_ECDSA_P256, &l, NULL), SI_E_MANIFEST_VALUE);
		q = params(SI_KIND_SYSTEM, 4096);
		q.overlay = "/usr";
		T_ERR(si_seal_layout(&q, SI_ALGO_ECDSA_P256, &l, NULL), SI_E_MANIFEST_VALUE);
		q = params(SI_KIND_SYSTEM, 0);
		T_ERR(si_seal_layout(&q, SI_ALGO_ECDSA_P256, &l, NULL), SI_E_SEAL_GEOMETRY);
	}
	free(img);
}

/* One flipped bit anywhere in data or tree: the full check names it. */
static void test_flips(void)
{
	/* 130 blocks + a partial one: two tree levels (1 top + 2 leaf blocks) */
	struct si_seal_params p = params(SI_KIND_SYSTEM, 130 * 4096 + 7);
	struct si_anchor a = anchor_for(&key_ec, SI_USAGE_ALL);
	struct si_seal s;
	struct si_diag d;
	size_t len, off, n_data = 0, n_tree = 0;
	uint8_t *img = build(&p, &key_ec, &len);

	T_OK(open_img(img, len, &a, 0, 0, &s, &d));
	T_EQ(s.m.hash_size, 3 * 4096);
	for (off = 0; off < s.m.hash_offset + s.m.hash_size; off += 997) {
		int r, want;
		size_t o = off;

		img[o] ^= (uint8_t)(1u << (o % 8));
		r = si_seal_verify_tree(&s.m, img, len, 2, &d);
		img[o] ^= (uint8_t)(1u << (o % 8));
		if (o < s.m.padded_size) {
			want = SI_E_SEAL_DATA_CORRUPT;
			n_data++;
		} else {
			want = o < s.m.hash_offset + 4096 ? SI_E_SEAL_ROOT_MISMATCH
							: SI_E_SEAL_TREE_CORRUPT;
			n_tree++;
		}
		T_CHECK(r == want, "bit flipped at %zu: got %s, want %s", o,
			si_err_name(r), si_err_name(want));
	}
	/* and the edges: first/last byte of data, padding, tree */
	{
		size_t edges[] = { 0, s.m.data_size - 1, s.m.data_size, s.m.padded_size - 1,
				   s.m.hash_offset, s.m.hash_offset + 4095, s.m.hash_offset + 4096,
				   s.m.hash_offset + s.m.hash_size - 1 };
		size_t i;
		for (i = 0; i < SI_ARRAY_SIZE(edges); i++) {
			img[edges[i]] ^= 0x80;
			T_CHECK(si_seal_verify_tree(&s.m, img, len, 2, &d) != 0, "flip at %zu missed", edges[i]);
			img[edges[i]] ^= 0x80;
		}
	}
	T_CHECK(n_data > 100 && n_tree > 5, "%zu data, %zu tree positions", n_data, n_tree);
	T_OK(si_seal_verify_tree(&s.m, img, len, 2, &d));
	free(img);
}

/* Written raw to a partition larger than the image: the footer moves to the
 * partition's end, the gap before it is zero, everything else unchanged. */
static void test_partition(void)
{
	struct si_seal_params p = params(SI_KIND_SYSTEM, 3 * 4096);
	struct si_anchor a = anchor_for(&key_ec, SI_USAGE_ALL);
	struct si_seal s;
	struct si_diag d;
	size_t len, plen;
	uint8_t *img = build(&p, &key_ec, &len), *part;

	plen = len + 1024 * 1024;
	part = calloc(1, plen);
	memcpy(part, img, len - SI_FOOTER_SIZE);
	memcpy(part + plen - SI_FOOTER_SIZE, img + len - SI_FOOTER_SIZE, SI_FOOTER_SIZE);
	T_OK(open_img(part, plen, &a, 0, 0, &s, &d));
	T_EQ(s.m.image_size, plen);
	T_OK(si_seal_verify_tree(&s.m, part, plen, 1, &d));
	free(part);
	free(img);
}

static void test_vectors(void)
{
	static const char *const files[] = {
		VEC "one-block-ecdsa.sealed", VEC "odd-rsa2048.sealed",
	};
	size_t i, len;

	for (i = 0; i < SI_ARRAY_SIZE(files); i++) {
		uint8_t *img = t_slurp(files[i], &len);
		struct si_mem_io m;
		struct si_io io;
		struct si_seal_unverified s;

		si_io_mem(&io, &m, img, len);
		T_OK(si_seal_open_unverified(&io, &s, NULL));
		T_OK(si_seal_verify_tree(&s.m, img, len, 1, NULL));
		free(img);
	}
}

/* ------------------------------------------------------- external signers */

/* A signer over a private key that can be told to lie. */
struct fake_signer {
	const struct si_privkey *key;
	int flip;      /* flip a bit of the signature */
	int short_by;  /* return this many bytes fewer */
	int fail;      /* return this error */
};

static int fake_sign(void *ctx, const uint8_t *msg, size_t len, uint8_t *sig, size_t cap,
		     size_t *sig_len, struct si_diag *d)
{
	struct fake_signer *f = ctx;
	int r;

	if (f->fail)
		return f->fail;
	r = si_sig_sign(f->key, msg, len, sig, cap, sig_len, d);
	if (r == 0 && f->flip)
		sig[3] ^= 0x10;
	if (r == 0)
		*sig_len -= (size_t)f->short_by;
	return r;
}

static void test_build_tail(void)
{
	struct si_seal_params p = params(SI_KIND_CRYPTEX, 3 * 4096 + 100);
	struct si_seal_layout l;
	struct fake_signer f = { &key_rsa, 0, 0, 0 };
	struct si_signer sg = { &key_rsa.pub, fake_sign, &f };
	struct si_diag d;
	uint8_t *whole, *data, *tail;
	size_t wlen, tlen;

	/* data || tail is exactly what si_seal_build makes (RSA is deterministic). */
	whole = build(&p, &key_rsa, &wlen);
	T_OK(si_seal_layout(&p, key_rsa.algo, &l, NULL));
	tlen = (size_t)(l.image_size - l.padded_size);
	data = calloc(1, (size_t)l.padded_size);
	tail = malloc(tlen);
	memcpy(data, whole, (size_t)p.data_size);
	T_OK(si_seal_build_tail(&p, &sg, data, tail, tlen, 1, NULL));
	T_CHECK(!memcmp(whole, data, (size_t)l.padded_size) &&
		!memcmp(whole + l.padded_size, tail, tlen), "data || tail == si_seal_build's image");
	/* A signer that returns a wrong signature: read back, refused. */
	f.flip = 1;
	si_diag_clear(&d);
	T_ERR(si_seal_build_tail(&p, &sg, data, tail, tlen, 1, &d), SI_E_SIG_BAD);
	f.flip = 0;
	f.short_by = 1;
	si_diag_clear(&d);
	T_ERR(si_seal_build_tail(&p, &sg, data, tail, tlen, 1, &d), SI_E_SIG_LEN);
	T_EQ(d.expected, 256);
	T_EQ(d.found, 255);
	f.short_by = 0;
	f.fail = SI_E_SIGN_HELPER;
	T_ERR(si_seal_build_tail(&p, &sg, data, tail, tlen, 1, NULL), SI_E_SIGN_HELPER);
	f.fail = 0;
	/* The manifest names pub; a signer holding another key of the same
	 * algorithm (an HSM slot mix-up) produces a signature that fails. */
	sg.pub = &key_ec.pub;
	f.key = &key_ec;
	T_OK(si_seal_build_tail(&p, &sg, data, tail, tlen - 256 + 64, 1, NULL));
	f.key = &key_other;
	T_ERR(si_seal_build_tail(&p, &sg, data, tail, tlen - 256 + 64, 1, NULL), SI_E_SIG_BAD);
	sg.pub = &key_rsa.pub;
	/* The tail's length is the layout's, exactly. */
	f.key = &key_rsa;
	T_ERR(si_seal_build_tail(&p, &sg, data, tail, tlen - 1, 1, NULL), SI_E_ARG);
	T_ERR(si_seal_build_tail(&p, NULL, data, tail, tlen, 1, NULL), SI_E_ARG);
	free(whole);
	free(data);
	free(tail);
}

int main(void)
{
	t_load_key(VEC "ec-pkcs8.pem", &key_ec);
	t_load_key(VEC "ec-sec1.pem", &key_other);
	t_load_key(VEC "rsa2048-pkcs1.pem", &key_rsa);
	test_roundtrip();
	test_footer();
	test_manifest_header();
	test_trust();
	test_fields();
	test_kc_system_field();
	test_flips();
	test_partition();
	test_vectors();
	test_build_tail();
	return t_done("test_seal");
}
