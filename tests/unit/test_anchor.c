/* Unit tests for verify/anchor.c: every rejection asserts its exact code.
 * Device trees are built here with libfdt's sequential-write API, keys
 * derived from fixed seeds, so the cases are exact and reproducible. */
#include <string.h>

#include <bearssl.h>
#include <libfdt.h>

#include "tests/unit/t.h"
#include "verify/anchor.h"

static uint8_t ec_pub[65], ec_pub2[65];
static uint8_t ec_many[CONFIG_MAX_KEYS + 1][65];
static uint8_t rsa_mod[256];

static void make_keys(void)
{
	br_hmac_drbg_context rng;
	br_ec_private_key sk;
	uint8_t skbuf[BR_EC_KBUF_PRIV_MAX_SIZE];
	br_ec_public_key pk;
	uint8_t pkbuf[BR_EC_KBUF_PUB_MAX_SIZE];
	size_t i;

	br_hmac_drbg_init(&rng, &br_sha256_vtable, "anchor-test", 11);
	br_ec_keygen(&rng.vtable, &br_ec_p256_m15, &sk, skbuf, BR_EC_secp256r1);
	br_ec_compute_pub(&br_ec_p256_m15, &pk, pkbuf, &sk);
	memcpy(ec_pub, pk.q, 65);
	br_ec_keygen(&rng.vtable, &br_ec_p256_m15, &sk, skbuf, BR_EC_secp256r1);
	br_ec_compute_pub(&br_ec_p256_m15, &pk, pkbuf, &sk);
	memcpy(ec_pub2, pk.q, 65);
	for (i = 0; i < SI_ARRAY_SIZE(ec_many); i++) {
		br_ec_keygen(&rng.vtable, &br_ec_p256_m15, &sk, skbuf, BR_EC_secp256r1);
		br_ec_compute_pub(&br_ec_p256_m15, &pk, pkbuf, &sk);
		memcpy(ec_many[i], pk.q, 65);
	}
	/* The parser checks form, not primality: top bit set, odd. */
	for (i = 0; i < sizeof rsa_mod; i++)
		rsa_mod[i] = (uint8_t)(0x5a ^ i);
	rsa_mod[0] |= 0x80;
	rsa_mod[255] |= 1;
}

/* What one test tree holds; zero fields take the valid default. */
struct tree {
	int no_anchor, two_anchors, no_keys, many_keys;
	const char *key_name;
	const char *algorithm;
	int algorithm_len; /* bytes incl. NUL; 0 = strlen+1 */
	const char *usages;
	int usages_len;
	const uint8_t *pub;
	int pub_len;
	const char *extra_prop;
	int floor_len;
	int dup_key;
	int rsa_key, rsa_no_exp, rsa_even;
	int uboot_rsa, uboot_ec, uboot_usages;
	const char *targets;   /* overlay-targets of the native key */
	int targets_len;
	const char *uboot_targets; /* sealinit,overlay-targets of key-ec */
	int uboot_targets_len;
};

/* What U-Boot keys without sealinit,usages may sign (the build's default). */
static uint32_t uboot_default;

static uint8_t blob[65536];

static void build(const struct tree *t)
{
	static const char usages_default[] = "system\0cryptex";
	char name[40];
	int i, n;

	fdt_create(blob, sizeof blob);
	fdt_finish_reservemap(blob);
	fdt_begin_node(blob, "");
	fdt_property_u32(blob, "#address-cells", 2);
	for (n = 0; n < (t->no_anchor ? 0 : t->two_anchors ? 2 : 1); n++) {
		fdt_begin_node(blob, n ? "sealinit2" : "sealinit");
		fdt_property_string(blob, "compatible", "sealinit,trust-anchor");
		if (t->floor_len >= 0) {
			uint8_t fl[8] = { 0, 0, 0, 0, 0, 0, 0, 7 };
			fdt_property(blob, "rollback-floor", fl, t->floor_len ? t->floor_len : 8);
		}
		if (t->extra_prop)
			fdt_property_u32(blob, t->extra_prop, 1);
		for (i = 0; !t->no_keys && i < (t->many_keys ? CONFIG_MAX_KEYS + 1 : 1); i++) {
			uint8_t pub[65];

			if (t->many_keys) {
				snprintf(name, sizeof name, "key-k%d", i);
			} else {
				snprintf(name, sizeof name, "%s", t->key_name ? t->key_name : "key-platform");
			}
			fdt_begin_node(blob, name);
			if (t->rsa_key) {
				uint8_t mod[256];
				memcpy(mod, rsa_mod, 256);
				if (t->rsa_even)
					mod[255] &= 0xfe;
				fdt_property_string(blob, "algorithm", "rsa2048");
				fdt_property(blob, "usages", usages_default, sizeof usages_default);
				fdt_property(blob, "public-key", mod, 256);
				if (!t->rsa_no_exp)
					fdt_property_u32(blob, "rsa-exponent", 65537);
				fdt_end_node(blob);
				continue;
			}
			if (t->algorithm_len)
				fdt_property(blob, "algorithm", t->algorithm, t->algorithm_len);
			else
				fdt_property_string(blob, "algorithm", t->algorithm ? t->algorithm : "ecdsa-p256");
			if (t->usages)
				fdt_property(blob, "usages", t->usages, t->usages_len);
			else
				fdt_property(blob, "usages", usages_default, sizeof usages_default);
			memcpy(pub, ec_pub, 65);
			if (t->many_keys)
				memcpy(pub, ec_many[i], 65);
			fdt_property(blob, "public-key", t->pub ? t->pub : pub,
				     t->pub ? t->pub_len : 65);
			if (t->targets)
				fdt_property(blob, "overlay-targets", t->targets, t->targets_len);
			fdt_end_node(blob);
		}
		if (t->dup_key) {
			fdt_begin_node(blob, "key-other");
			fdt_property_string(blob, "algorithm", "ecdsa-p256");
			fdt_property(blob, "usages", usages_default, sizeof usages_default);
			fdt_property(blob, "public-key", ec_pub, 65);
			fdt_end_node(blob);
		}
		fdt_end_node(blob);
	}
	if (t->uboot_rsa || t->uboot_ec) {
		fdt_begin_node(blob, "signature");
		if (t->uboot_rsa) {
			uint8_t e[8] = { 0, 0, 0, 0, 0, 1, 0, 1 };
			fdt_begin_node(blob, "key-dev");
			fdt_property_string(blob, "algo", "sha256,rsa2048");
			fdt_property_u32(blob, "rsa,num-bits", 2048);
			fdt_property(blob, "rsa,modulus", rsa_mod, 256);
			fdt_property(blob, "rsa,exponent", e, 8);
			fdt_property_string(blob, "required", "conf");
			if (t->uboot_usages)
				fdt_property(blob, "sealinit,usages", "kc-aux", 7);
			fdt_end_node(blob);
		}
		if (t->uboot_ec) {
			fdt_begin_node(blob, "key-ec");
			fdt_property_string(blob, "algo", "sha256,ecdsa256");
			fdt_property_string(blob, "ecdsa,curve", "prime256v1");
			fdt_property(blob, "ecdsa,x-point", ec_pub2 + 1, 32);
			fdt_property(blob, "ecdsa,y-point", ec_pub2 + 33, 32);
			if (t->uboot_targets)
				fdt_property(blob, "sealinit,overlay-targets", t->uboot_targets,
					     t->uboot_targets_len);
			fdt_end_node(blob);
		}
		fdt_end_node(blob);
	}
	fdt_end_node(blob);
	fdt_finish(blob);
}

/* With --dump DIR, every tree built is also written there: the fuzz
 * corpus tests/fuzz/corpus/anchor/ is made this way (tests/fuzz/make-corpus). */
static const char *dump_dir;
static int dump_n;

static int parse(const struct tree *t, struct si_anchor *a, struct si_diag *d)
{
	build(t);
	if (dump_dir) {
		char path[512];
		FILE *f;

		snprintf(path, sizeof path, "%s/tree-%02d.dtb", dump_dir, dump_n++);
		f = fopen(path, "wb");
		if (f) {
			fwrite(blob, 1, fdt_totalsize(blob), f);
			fclose(f);
		}
	}
	return si_anchor_parse(blob, fdt_totalsize(blob), uboot_default, a, d);
}

static void test_valid(void)
{
	struct si_anchor a;
	struct si_diag d;
	struct tree t = { 0 };
	char u[80];

	T_OK(parse(&t, &a, &d));
	T_EQ(a.n_keys, 1);
	T_STREQ(a.keys[0].id, "platform");
	T_EQ(a.keys[0].algo, SI_ALGO_ECDSA_P256);
	T_EQ(a.keys[0].usages, SI_USAGE_SYSTEM | SI_USAGE_CRYPTEX);
	T_EQ(a.has_floor, 1);
	T_EQ(a.rollback_floor, 7);
	si_usages_format(a.keys[0].usages, u, sizeof u);
	T_STREQ(u, "system,cryptex");
	T_CHECK(si_anchor_find(&a, a.keys[0].fingerprint) == &a.keys[0], "find by fingerprint");

	t.rsa_key = 1;
	t.floor_len = -1;
	T_OK(parse(&t, &a, &d));
	T_EQ(a.keys[0].algo, SI_ALGO_RSA2048);
	T_EQ(a.keys[0].e_len, 3);
	T_EQ(a.has_floor, 0);
}

static void test_uboot(void)
{
	struct si_anchor a, b;
	struct si_diag d;
	struct tree t = { .no_anchor = 1, .uboot_rsa = 1, .uboot_ec = 1 };
	struct tree native_rsa = { .rsa_key = 1 };

	/* Least privilege: without sealinit,usages, only the build's default. */
	uboot_default = 0;
	T_OK(parse(&t, &a, &d));
	T_EQ(a.n_keys, 2);
	T_STREQ(a.keys[0].id, "dev");
	T_EQ(a.keys[0].source, SI_KEY_UBOOT);
	T_EQ(a.keys[0].usages, 0);
	T_EQ(a.keys[0].has_usages, 0);
	uboot_default = SI_USAGE_KC_AUX | SI_USAGE_UPDATE;
	T_OK(parse(&t, &a, &d));
	T_EQ(a.keys[0].usages, SI_USAGE_KC_AUX | SI_USAGE_UPDATE);
	uboot_default = SI_USAGE_ALL;
	T_OK(parse(&t, &a, &d));
	T_EQ(a.keys[0].usages, SI_USAGE_ALL);
	T_EQ(a.keys[1].algo, SI_ALGO_ECDSA_P256);
	T_MEMEQ(a.keys[1].pub, ec_pub2, 65);
	/* The same RSA key from both sources has the same fingerprint. */
	T_OK(parse(&native_rsa, &b, &d));
	T_MEMEQ(a.keys[0].fingerprint, b.keys[0].fingerprint, 32);

	t.uboot_usages = 1;
	T_OK(parse(&t, &a, &d));
	T_EQ(a.keys[0].usages, SI_USAGE_KC_AUX);
	T_EQ(a.keys[0].has_usages, 1);
	uboot_default = 0;

	/* A U-Boot key's overlay targets. */
	t.uboot_targets = "/opt/app";
	t.uboot_targets_len = sizeof "/opt/app";
	T_OK(parse(&t, &a, &d));
	T_EQ(a.keys[1].n_targets, 1);
	T_EQ(si_key_allows_target(&a.keys[1], "/opt/app/x"), 1);
	T_EQ(si_key_allows_target(&a.keys[0], "/opt/app"), 0);
	t.uboot_targets = "opt";
	t.uboot_targets_len = 4;
	T_ERR(parse(&t, &a, &d), SI_E_ANCHOR_TARGET);
	t.uboot_targets = NULL;

	/* Native and U-Boot side by side; a duplicate across them is refused. */
	t.no_anchor = 0;
	T_OK(parse(&t, &a, &d));
	T_EQ(a.n_keys, 3);
	t.rsa_key = 1;
	T_ERR(parse(&t, &a, &d), SI_E_ANCHOR_KEYDUP);
}

static void test_targets(void)
{
	static const char two[] = "/usr\0/opt";
	static const char nine[] = "/a\0/b\0/c\0/d\0/e\0/f\0/g\0/h\0/i";
	static char longest[600];
	struct si_anchor a;
	struct si_diag d;
	struct tree t = { .targets = two, .targets_len = sizeof two };
	size_t i;

	T_OK(parse(&t, &a, &d));
	T_EQ(a.keys[0].n_targets, 2);
	T_EQ(si_key_allows_target(&a.keys[0], "/usr"), 1);
	T_EQ(si_key_allows_target(&a.keys[0], "/usr/lib/x"), 1);
	T_EQ(si_key_allows_target(&a.keys[0], "/opt/app"), 1);
	T_EQ(si_key_allows_target(&a.keys[0], "/optimal"), 0);
	T_EQ(si_key_allows_target(&a.keys[0], "/etc"), 0);
	T_EQ(si_key_allows_target(&a.keys[0], "/"), 0);
	/* no list: the key's cryptexes overlay nothing */
	t.targets = NULL;
	T_OK(parse(&t, &a, &d));
	T_EQ(a.keys[0].n_targets, 0);
	T_EQ(si_key_allows_target(&a.keys[0], "/usr"), 0);

	for (i = 0; i + 1 < sizeof longest; i += 4)
		memcpy(longest + i, "/abc", 4);
	{
		const struct {
			const char *what, *v;
			int len;
		} bad[] = {
			{ "relative", "usr", 4 },
			{ "dot-dot", "/usr/../etc", 12 },
			{ "empty component", "/usr//lib", 10 },
			{ "trailing slash", "/usr/", 6 },
			{ "twice", "/usr\0/usr", 10 },
			{ "empty string", "/usr\0\0/opt", 11 },
			{ "nine", nine, sizeof nine },
			{ "no NUL", "/usr", 4 },
			{ "longer than 512 bytes", longest, sizeof longest },
		};
		for (i = 0; i < SI_ARRAY_SIZE(bad); i++) {
			int r;

			t.targets = bad[i].v;
			t.targets_len = bad[i].len;
			r = parse(&t, &a, &d);
			T_CHECK(r == SI_E_ANCHOR_TARGET || r == SI_E_ANCHOR_PROP,
				"%s: got %s", bad[i].what, si_err_name(r));
			T_CHECK(d.field && !strcmp(d.field, "overlay-targets"), "%s: field %s", bad[i].what,
				d.field ? d.field : "(none)");
		}
	}
}

static void test_rejections(void)
{
	static const uint8_t short_pub[64] = { 4 };
	static const char bad_usage[] = "system\0root";
	static const char dup_usage[] = "system\0system";
	static const char empty_usage[] = "system\0\0cryptex";
	uint8_t off_curve[65];
	struct si_anchor a;
	struct si_diag d;
	char line[256];
	size_t i;

	memcpy(off_curve, ec_pub, 65);
	off_curve[64] ^= 1;
	struct {
		const char *what;
		struct tree t;
		int err;
		const char *field;
	} cases[] = {
		{ "no anchor", { .no_anchor = 1 }, SI_E_ANCHOR_MISSING, NULL },
		{ "two anchors", { .two_anchors = 1 }, SI_E_ANCHOR_DUP, NULL },
		{ "no keys", { .no_keys = 1 }, SI_E_ANCHOR_NOKEY, NULL },
		{ "too many keys", { .many_keys = 1 }, SI_E_ANCHOR_TOO_MANY, NULL },
		{ "64-byte key", { .pub = short_pub, .pub_len = 64 }, SI_E_ANCHOR_KEYLEN, "public-key" },
		{ "point off the curve", { .pub = off_curve, .pub_len = 65 }, SI_E_ANCHOR_KEYVAL, "public-key" },
		{ "algorithm without NUL", { .algorithm = "ecdsa-p256", .algorithm_len = 10 }, SI_E_ANCHOR_PROP, "algorithm" },
		{ "algorithm with inner NUL", { .algorithm = "ecdsa\0p256", .algorithm_len = 11 }, SI_E_ANCHOR_PROP, "algorithm" },
		{ "unknown algorithm", { .algorithm = "ed25519" }, SI_E_ANCHOR_ALGO, "algorithm" },
		{ "unknown usage", { .usages = bad_usage, .usages_len = sizeof bad_usage }, SI_E_ANCHOR_USAGE, "usages" },
		{ "usage twice", { .usages = dup_usage, .usages_len = sizeof dup_usage }, SI_E_ANCHOR_USAGE, "usages" },
		{ "empty usage", { .usages = empty_usage, .usages_len = sizeof empty_usage }, SI_E_ANCHOR_PROP, "usages" },
		{ "usages without NUL", { .usages = "system", .usages_len = 6 }, SI_E_ANCHOR_PROP, "usages" },
		{ "unit address in key name", { .key_name = "key-platform@1" }, SI_E_ANCHOR_KEYNAME, NULL },
		{ "upper case key name", { .key_name = "key-Platform" }, SI_E_ANCHOR_KEYNAME, NULL },
		{ "not a key node", { .key_name = "platform" }, SI_E_ANCHOR_KEYNAME, NULL },
		{ "id too long", { .key_name = "key-0123456789012345678901234567890123" }, SI_E_ANCHOR_KEYNAME, NULL },
		{ "unknown property", { .extra_prop = "usage" }, SI_E_ANCHOR_PROP, "(unknown property)" },
		{ "floor of 4 bytes", { .floor_len = 4 }, SI_E_ANCHOR_PROP, "rollback-floor" },
		{ "same key twice", { .dup_key = 1 }, SI_E_ANCHOR_KEYDUP, NULL },
		{ "rsa without exponent", { .rsa_key = 1, .rsa_no_exp = 1 }, SI_E_ANCHOR_PROP, "rsa-exponent" },
		{ "rsa even modulus", { .rsa_key = 1, .rsa_even = 1 }, SI_E_ANCHOR_KEYVAL, "public-key" },
	};

	for (i = 0; i < SI_ARRAY_SIZE(cases); i++) {
		int r = parse(&cases[i].t, &a, &d);

		T_CHECK(r == cases[i].err, "%s: got %s, want %s", cases[i].what,
			si_err_name(r), si_err_name(cases[i].err));
		if (cases[i].field)
			T_CHECK(d.field && !strcmp(d.field, cases[i].field),
				"%s: field %s, want %s", cases[i].what,
				d.field ? d.field : "(none)", cases[i].field);
	}

	/* The message an integrator reads names the node, property and sizes. */
	{
		struct tree t = { .pub = short_pub, .pub_len = 64 };
		T_ERR(parse(&t, &a, &d), SI_E_ANCHOR_KEYLEN);
		si_diag_format(&d, SI_E_ANCHOR_KEYLEN, line, sizeof line);
		T_STREQ(line, "public key has the wrong length for its algorithm "
			      "(field public-key in /sealinit/key-platform: expected 65, found 64)");
	}
}

static void test_blob(void)
{
	struct si_anchor a;
	struct si_diag d;
	struct tree t = { 0 };

	build(&t);
	T_ERR(si_anchor_parse(blob, 10, SI_USAGE_ALL, &a, &d), SI_E_FDT_BAD);
	T_ERR(si_anchor_parse(blob, fdt_totalsize(blob) - 1, SI_USAGE_ALL, &a, &d), SI_E_FDT_BAD);
	blob[0] ^= 0xff;
	T_ERR(si_anchor_parse(blob, sizeof blob, SI_USAGE_ALL, &a, &d), SI_E_FDT_BAD);
	build(&t);
	/* Corrupt the structure block: a property length running past the end. */
	{
		uint32_t off = fdt_off_dt_struct(blob);
		uint32_t sz = fdt_size_dt_struct(blob);
		uint32_t i;
		for (i = off; i + 12 <= off + sz; i += 4)
			if (si_be32(blob + i) == FDT_PROP) {
				blob[i + 4] = 0x7f;
				break;
			}
	}
	T_ERR(si_anchor_parse(blob, fdt_totalsize(blob), SI_USAGE_ALL, &a, &d), SI_E_FDT_BAD);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--dump"))
		dump_dir = argv[2];
	make_keys();
	test_valid();
	test_uboot();
	test_targets();
	test_rejections();
	test_blob();
	return t_done("test_anchor");
}
