/* Unit tests: release sets (verify/set.c) -- round trip, authentication,
 * every refusal with its exact error, and images vouched for by a set.
 * Keys come from tests/vectors/seal/; run from the top directory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "tests/unit/t.h"
#include "tests/unit/t_key.h"
#include "verify/manifest.h"
#include "verify/set.h"
#include "verify/sha256.h"
#include "verify/sig.h"

static struct si_privkey key_up, key_cx;
static struct si_signer sg_up;  /* key_up's */
static uint8_t buf[4096];
static size_t len;

static struct si_anchor anchor_of(uint32_t up_usages)
{
	struct si_anchor a;

	memset(&a, 0, sizeof a);
	a.n_keys = 2;
	a.keys[0] = key_up.pub;
	a.keys[0].usages = up_usages;
	strcpy(a.keys[0].id, "platform");
	a.keys[1] = key_cx.pub;
	a.keys[1].usages = SI_USAGE_CRYPTEX;
	strcpy(a.keys[1].id, "cx");
	return a;
}

static struct si_set_params params(void)
{
	struct si_set_params p;
	unsigned i;

	memset(&p, 0, sizeof p);
	p.name = "13.3.1a";
	p.version = "13.3.1 (a)";
	p.rollback_index = 3;
	memset(p.system_root, 0x5a, 32);
	memset(p.system_digest, 0x5b, 32);
	p.n = 3;
	p.img[0].kind = SI_KIND_KC_BOOT;
	strcpy(p.img[0].name, "boot");
	p.img[1].kind = SI_KIND_CRYPTEX;
	strcpy(p.img[1].name, "os");
	p.img[2].kind = SI_KIND_CRYPTEX;
	strcpy(p.img[2].name, "app");
	for (i = 0; i < 3; i++) {
		memset(p.img[i].digest, 0x10 + (int)i, 32);
		p.img[i].rollback_index = i + 1;
	}
	return p;
}

static void test_roundtrip(void)
{
	struct si_set_params p = params();
	struct si_anchor a = anchor_of(SI_USAGE_UPDATE);
	struct si_set s;
	struct si_diag d;

	T_OK(si_set_build(&p, &sg_up, buf, sizeof buf, &len, &d));
	T_OK(si_set_open(buf, len, &a, 0, &s, &d));
	T_STREQ(s.name, "13.3.1a");
	T_STREQ(s.version, "13.3.1 (a)");
	T_EQ(s.rollback_index, 3);
	T_EQ(s.n, 3);
	T_EQ(s.size, len);
	T_EQ(s.key_index, 0);
	T_STREQ(s.img[1].name, "os");
	T_EQ(s.img[1].kind, SI_KIND_CRYPTEX);
	T_EQ(s.img[2].rollback_index, 3);
	T_EQ(s.system_root[31], 0x5a);
	T_CHECK(si_set_find(&s, SI_KIND_CRYPTEX, "app") == &s.img[2], "find app");
	T_CHECK(si_set_find(&s, SI_KIND_KC_BOOT, "app") == NULL, "kind matters");
	T_CHECK(si_set_find(&s, SI_KIND_CRYPTEX, "ap") == NULL, "whole names");
	{
		uint8_t dg[32];

		si_sha256(buf, len, dg);
		T_MEMEQ(s.digest, dg, 32);
	}

	/* trust: the key's usage, the signature, rollback */
	a = anchor_of(SI_USAGE_SYSTEM | SI_USAGE_CRYPTEX);
	T_ERR(si_set_open(buf, len, &a, 0, &s, &d), SI_E_SEAL_USAGE);
	T_STREQ(d.field, "anchor key usages (set)");
	a = anchor_of(SI_USAGE_UPDATE);
	T_ERR(si_set_open(buf, len, &a, 4, &s, &d), SI_E_SEAL_ROLLBACK);
	T_EQ(d.expected, 4);
	T_EQ(d.found, 3);
	a.has_floor = 1;
	a.rollback_floor = 5;
	T_ERR(si_set_open(buf, len, &a, 0, &s, &d), SI_E_SEAL_ROLLBACK);
	a = anchor_of(SI_USAGE_UPDATE);
	a.keys[0] = a.keys[1]; /* only the cryptex key */
	a.n_keys = 1;
	T_ERR(si_set_open(buf, len, &a, 0, &s, &d), SI_E_SEAL_KEY_UNKNOWN);
	a = anchor_of(SI_USAGE_UPDATE);
	buf[SI_MANIFEST_HDR_SIZE + 10] ^= 1;
	T_ERR(si_set_open(buf, len, &a, 0, &s, &d), SI_E_SIG_BAD);
	buf[SI_MANIFEST_HDR_SIZE + 10] ^= 1;
	T_ERR(si_set_open(buf, len - 1, &a, 0, &s, &d), SI_E_MANIFEST_HEADER);
	/* the builder refuses what the parser would */
	p = params();
	p.name = "13.3.1 (a)";
	T_ERR(si_set_build(&p, &sg_up, buf, sizeof buf, &len, &d), SI_E_MANIFEST_VALUE);
	p = params();
	strcpy(p.img[2].name, "os");
	T_ERR(si_set_build(&p, &sg_up, buf, sizeof buf, &len, &d), SI_E_SET_IMAGES);
}

/* A set manifest with a hand-made body (unsigned: parsed unverified). */
static size_t raw(const uint8_t *body, size_t blen)
{
	memset(buf, 0, sizeof buf);
	memcpy(buf, SI_MANIFEST_MAGIC, 4);
	si_put_le16(buf + 4, SI_MANIFEST_VERSION);
	si_put_le16(buf + 6, SI_MANIFEST_HDR_SIZE);
	si_put_le32(buf + 8, (uint32_t)blen);
	si_put_le16(buf + 12, SI_ALGO_ECDSA_P256);
	si_put_le16(buf + 14, 64);
	memcpy(buf + SI_MANIFEST_HDR_SIZE, body, blen);
	return SI_MANIFEST_HDR_SIZE + blen + 64;
}

static size_t tlv(uint8_t *o, uint16_t tag, const void *v, size_t n)
{
	si_put_le16(o, tag);
	si_put_le16(o + 2, (uint16_t)n);
	memcpy(o + 4, v, n);
	return 4 + n;
}

/* kind, name, version, rollback, system, then images as given */
static size_t body_with(uint8_t *o, const uint8_t *images, size_t ilen, int kind, int skip_system)
{
	uint8_t k = (uint8_t)kind, rb[8] = { 1 }, sys[32] = { 0 };
	size_t n = 0;

	n += tlv(o + n, SI_TAG_KIND, &k, 1);
	n += tlv(o + n, SI_TAG_NAME, "r1", 2);
	n += tlv(o + n, SI_TAG_VERSION, "r 1", 3);
	n += tlv(o + n, SI_TAG_ROLLBACK, rb, 8);
	if (!skip_system)
		n += tlv(o + n, SI_TAG_SET_SYSTEM, sys, 32);
	n += tlv(o + n, SI_TAG_SET_IMAGES, images, ilen);
	if (!skip_system)
		n += tlv(o + n, SI_TAG_SET_SYSTEM_DIGEST, sys, 32);
	return n;
}

static size_t entry(uint8_t *o, int kind, const char *name)
{
	size_t nl = strlen(name);

	o[0] = (uint8_t)kind;
	o[1] = (uint8_t)nl;
	memcpy(o + 2, name, nl);
	memset(o + 2 + nl, 0xee, 40);
	return 2 + nl + 40;
}

static void test_refusals(void)
{
	uint8_t body[2048], im[2048];
	struct si_set s;
	struct si_diag d;
	size_t n, i;
	char name[8];

	n = entry(im, SI_KIND_CRYPTEX, "os");
	T_OK(si_set_open_unverified(buf, raw(body, body_with(body, im, n, SI_KIND_SET, 0)), &s, &d));
	T_EQ(s.n, 1);
	T_ERR(si_set_open_unverified(buf, raw(body, body_with(body, im, n, SI_KIND_CRYPTEX, 0)), &s, &d),
	      SI_E_SEAL_KIND);
	T_ERR(si_set_open_unverified(buf, raw(body, body_with(body, im, n, SI_KIND_SET, 1)), &s, &d),
	      SI_E_MANIFEST_MISSING);
	T_STREQ(d.field, "set.system");
	/* an entry: of the system kind, truncated, named twice, badly named */
	n = entry(im, SI_KIND_SYSTEM, "sys");
	T_ERR(si_set_open_unverified(buf, raw(body, body_with(body, im, n, SI_KIND_SET, 0)), &s, &d),
	      SI_E_SET_IMAGES);
	T_STREQ(d.field, "set.images.kind");
	n = entry(im, SI_KIND_CRYPTEX, "os");
	T_ERR(si_set_open_unverified(buf, raw(body, body_with(body, im, n - 1, SI_KIND_SET, 0)), &s, &d),
	      SI_E_SET_IMAGES);
	n += entry(im + n, SI_KIND_KC_BOOT, "os");
	T_ERR(si_set_open_unverified(buf, raw(body, body_with(body, im, n, SI_KIND_SET, 0)), &s, &d),
	      SI_E_SET_IMAGES);
	T_STREQ(d.field, "set.images.name");
	n = entry(im, SI_KIND_CRYPTEX, "o/s");
	T_ERR(si_set_open_unverified(buf, raw(body, body_with(body, im, n, SI_KIND_SET, 0)), &s, &d),
	      SI_E_SET_IMAGES);
	/* one image more than a set holds */
	for (i = 0, n = 0; i <= SI_SET_MAX_IMAGES; i++) {
		snprintf(name, sizeof name, "c%zu", i);
		n += entry(im + n, SI_KIND_CRYPTEX, name);
	}
	T_ERR(si_set_open_unverified(buf, raw(body, body_with(body, im, n, SI_KIND_SET, 0)), &s, &d),
	      SI_E_SET_IMAGES);
	T_EQ(d.expected, SI_SET_MAX_IMAGES);
	/* an unknown critical field; an unknown optional one is skipped */
	n = entry(im, SI_KIND_CRYPTEX, "os");
	{
		size_t bl = body_with(body, im, n, SI_KIND_SET, 0);

		bl += tlv(body + bl, 0x8030, "x", 1);
		T_ERR(si_set_open_unverified(buf, raw(body, bl), &s, &d), SI_E_MANIFEST_CRITICAL);
		/* (non-critical tags sort below the critical ones: first) */
		bl = tlv(body, 0x0030, "x", 1);
		bl += body_with(body + bl, im, n, SI_KIND_SET, 0);
		T_OK(si_set_open_unverified(buf, raw(body, bl), &s, &d));
	}
}

/* Images the set vouches for: no second signature, but byte for byte. */
static void test_from_set(void)
{
	static const uint8_t salt[8] = { 1 };
	static uint8_t img[65536];
	struct si_seal_params sp;
	struct si_seal_layout l;
	struct si_set_params p = params();
	struct si_anchor a = anchor_of(SI_USAGE_ALL);
	struct si_seal_unverified u;
	struct si_mem_io m;
	struct si_io io;
	struct si_set s;
	struct si_seal out;
	struct si_diag d;

	memset(&sp, 0, sizeof sp);
	sp.kind = SI_KIND_CRYPTEX;
	sp.name = "app";
	sp.version = "2.0";
	sp.rollback_index = 3;
	sp.fs_type = SI_FS_EROFS;
	sp.data_size = 5000;
	sp.salt = salt;
	sp.salt_len = sizeof salt;
	sp.overlay = "/opt/app";
	T_OK(si_seal_layout(&sp, key_cx.algo, &l, NULL));
	memset(img, 0x33, (size_t)l.image_size);
	T_OK(si_seal_build(&sp, &key_cx, img, (size_t)l.image_size, 1, NULL));
	si_io_mem(&io, &m, img, (size_t)l.image_size);
	T_OK(si_seal_open_unverified(&io, &u, NULL));
	memcpy(p.img[2].digest, u.m.digest, 32);
	T_OK(si_set_build(&p, &sg_up, buf, sizeof buf, &len, NULL));
	T_OK(si_set_open(buf, len, &a, 0, &s, NULL));

	T_OK(si_seal_from_set(&u, &s, &a, SI_USAGE_CRYPTEX, 0, &out, &d));
	T_STREQ(out.m.name, "app");
	T_EQ(out.key_index, 1); /* the image's own key, not the set's */
	T_ERR(si_seal_from_set(&u, &s, &a, SI_USAGE_SYSTEM, 0, &out, &d), SI_E_SEAL_KIND);
	T_ERR(si_seal_from_set(&u, &s, &a, SI_USAGE_CRYPTEX, 4, &out, &d), SI_E_SEAL_ROLLBACK);
	/* the image's key must still hold the usage its kind needs */
	a.keys[1].usages = SI_USAGE_KC_AUX;
	T_ERR(si_seal_from_set(&u, &s, &a, SI_USAGE_CRYPTEX, 0, &out, &d), SI_E_SEAL_USAGE);
	a = anchor_of(SI_USAGE_ALL);
	/* another image under the set's name: the digest differs */
	u.m.digest[5] ^= 1;
	T_ERR(si_seal_from_set(&u, &s, &a, SI_USAGE_CRYPTEX, 0, &out, &d), SI_E_SET_DIGEST);
	T_STREQ(d.field, "manifest digest (release set)");
	u.m.digest[5] ^= 1;
	u.m.rollback_index = 9;
	T_ERR(si_seal_from_set(&u, &s, &a, SI_USAGE_CRYPTEX, 0, &out, &d), SI_E_SET_DIGEST);
	u.m.rollback_index = 3;
	/* not in the set at all */
	strcpy(u.m.name, "tools");
	T_ERR(si_seal_from_set(&u, &s, &a, SI_USAGE_CRYPTEX, 0, &out, &d), SI_E_SET_MEMBER);
	T_STREQ(d.where, "tools");
}

int main(int argc, char **argv)
{
	t_load_key(T_VEC "ec-pkcs8.pem", &key_up);
	t_load_key(T_VEC "ec-sec1.pem", &key_cx);
	si_signer_privkey(&sg_up, &key_up);
	if (argc == 3 && !strcmp(argv[1], "--dump")) {
		/* tests/fuzz/make-corpus: a valid set, the fuzz seed */
		struct si_set_params p = params();
		char path[512];
		FILE *f;

		if (si_set_build(&p, &sg_up, buf, sizeof buf, &len, NULL) != 0)
			return 1;
		snprintf(path, sizeof path, "%s/valid.set", argv[2]);
		f = fopen(path, "wb");
		if (!f)
			return 1;
		fwrite(buf, 1, len, f);
		fclose(f);
		return 0;
	}
	test_roundtrip();
	test_refusals();
	test_from_set();
	return t_done("test_set");
}
