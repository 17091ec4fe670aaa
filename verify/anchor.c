/* sealinit: the trust anchor, from the device tree.
 *
 * Binding (docs/bindings/sealinit,trust-anchor.yaml):
 *
 *   sealinit {
 *       compatible = "sealinit,trust-anchor";
 *       rollback-floor = <0x0 0x5>;          optional, u64 as two cells
 *       key-platform {                      key-<id>, id [a-z0-9-]{1,32}
 *           algorithm = "ecdsa-p256";       or "rsa2048", "rsa4096"
 *           usages = "system", "cryptex";   what this key may sign
 *           public-key = [04 ...];          SEC1 point (65) or modulus (256/512)
 *           rsa-exponent = <65537>;         RSA only, u32
 *           overlay-targets = "/usr", "/opt"; where its cryptexes may go
 *       };
 *   };
 *
 * and U-Boot's verified-boot keys (doc/uImage.FIT/signature.txt):
 *
 *   signature {
 *       key-dev {
 *           algo = "sha256,rsa2048";        "<hash>,rsa2048|rsa4096|ecdsa256"
 *           rsa,num-bits = <2048>;
 *           rsa,modulus = [...];            num-bits/8 bytes, big-endian
 *           rsa,exponent = /bits/ 64 <65537>;
 *           -- or --
 *           ecdsa,curve = "prime256v1";
 *           ecdsa,x-point = [32 bytes]; ecdsa,y-point = [32 bytes];
 *           sealinit,usages = "kc-aux";     optional; default: the caller's
 *                                           (least privilege: nothing)
 *           sealinit,overlay-targets = "/opt/app";  optional
 *       };
 *   };
 *
 * Validation: fdt_check_full() once on the whole blob; then each property
 * has an exact type and length.  Strings must end in their one NUL.  Node
 * names select keys, so a unit address ('@') or an unknown character is
 * refused rather than normalised.  The native node refuses unknown
 * properties and subnodes, so a misspelt "usage" fails loudly instead of
 * granting nothing (or everything).
 */
#include <string.h>

#include <bearssl.h>
#include <libfdt.h>

#include "lib/bytes.h"
#include "lib/str.h"
#include "verify/anchor.h"

#define ANCHOR_COMPAT "sealinit,trust-anchor"

static const char *const si_usage_names[] = {
	"system", "cryptex", "kc-boot", "kc-system", "kc-aux", "update",
};

const char *si_usage_name(enum si_usage u)
{
	unsigned i;

	for (i = 0; i < SI_ARRAY_SIZE(si_usage_names); i++)
		if ((unsigned)u == 1u << i)
			return si_usage_names[i];
	return "?";
}

uint32_t si_usage_from_name(const char *s, size_t len)
{
	unsigned i;

	for (i = 0; i < SI_ARRAY_SIZE(si_usage_names); i++)
		if (strlen(si_usage_names[i]) == len && !memcmp(s, si_usage_names[i], len))
			return 1u << i;
	return 0;
}

void si_usages_format(uint32_t usages, char *buf, size_t n)
{
	struct si_buf b;
	unsigned i;

	si_buf_init(&b, buf, n);
	for (i = 0; i < SI_ARRAY_SIZE(si_usage_names); i++)
		if (usages & (1u << i)) {
			if (b.len)
				si_buf_puts(&b, ",");
			si_buf_puts(&b, si_usage_names[i]);
		}
	if (!b.len)
		si_buf_puts(&b, "none");
}

const char *si_algo_name(enum si_algo a)
{
	switch (a) {
	case SI_ALGO_NONE: return "none";
	case SI_ALGO_ECDSA_P256: return "ecdsa-p256";
	case SI_ALGO_RSA2048: return "rsa2048";
	case SI_ALGO_RSA4096: return "rsa4096";
	}
	return "?";
}

void si_key_fingerprint(struct si_key *k)
{
	br_sha256_context c;
	uint8_t hdr[7];

	memcpy(hdr, "SIK1", 4);
	hdr[4] = (uint8_t)k->algo;
	si_put_le16(hdr + 5, k->pub_len);
	br_sha256_init(&c);
	br_sha256_update(&c, hdr, sizeof hdr);
	br_sha256_update(&c, k->pub, k->pub_len);
	br_sha256_update(&c, &k->e_len, 1);
	br_sha256_update(&c, k->e, k->e_len);
	br_sha256_out(&c, k->fingerprint);
}

const struct si_key *si_anchor_find(const struct si_anchor *a,
				    const uint8_t fingerprint[32])
{
	unsigned i;

	for (i = 0; i < a->n_keys; i++)
		if (!si_ct_memcmp(a->keys[i].fingerprint, fingerprint, 32))
			return &a->keys[i];
	return NULL;
}

/* ---------------------------------------------------------------- helpers */

/* Records where a problem is: "<node path>" and the property name. */
static int anchor_fail(struct si_diag *d, int err, const void *fdt, int node,
		       const char *prop)
{
	char path[SI_DIAG_STR];

	if (!d)
		return err;
	if (node >= 0 && fdt_get_path(fdt, node, path, sizeof path) == 0)
		si_diag_where(d, path, strlen(path));
	else if (node >= 0)
		si_diag_where(d, "(path too long)", 15);
	si_diag_field(d, prop);
	return err;
}

/* A property that is one string: non-empty, exactly one NUL, at the end. */
static int prop_string(const void *fdt, int node, const char *name,
		       const char **s, size_t *slen)
{
	int len;
	const char *p = fdt_getprop(fdt, node, name, &len);

	if (!p || len < 2 || p[len - 1] != '\0' || memchr(p, '\0', (size_t)len - 1))
		return -1;
	*s = p;
	*slen = (size_t)len - 1;
	return 0;
}

/* A string list: every string non-empty, the last one NUL-terminated.
 * Calls back each usage name into a mask; unknown or repeated names fail. */
static int prop_usages(const void *fdt, int node, const char *name,
		       uint32_t *mask, struct si_diag *d)
{
	const char *p;
	int len, i = 0, start;
	uint32_t m = 0;

	p = fdt_getprop(fdt, node, name, &len);
	if (!p || len < 2 || p[len - 1] != '\0')
		return anchor_fail(d, SI_E_ANCHOR_PROP, fdt, node, name);
	while (i < len) {
		uint32_t u;

		start = i;
		while (p[i] != '\0')
			i++;
		if (i == start)
			return anchor_fail(d, SI_E_ANCHOR_PROP, fdt, node, name);
		u = si_usage_from_name(p + start, (size_t)(i - start));
		if (!u || (m & u)) {
			if (d)
				si_diag_text(d, u ? "each usage once" :
					     "system|cryptex|kc-boot|kc-system|kc-aux|update",
					     p + start);
			return anchor_fail(d, SI_E_ANCHOR_USAGE, fdt, node, name);
		}
		m |= u;
		i++;
	}
	*mask = m;
	return 0;
}

/* A string list of overlay targets: 1..SI_KEY_TARGETS_MAX distinct
 * absolute normalised paths (the manifest's own syntax, si_path_ok). */
static int prop_targets(const void *fdt, int node, const char *name,
			struct si_key *k, struct si_diag *d)
{
	const char *p, *q;
	int len, i = 0, start;

	p = fdt_getprop(fdt, node, name, &len);
	if (!p || len < 2 || p[len - 1] != '\0')
		return anchor_fail(d, SI_E_ANCHOR_PROP, fdt, node, name);
	if ((size_t)len > sizeof k->targets) {
		si_diag_values(d, sizeof k->targets, (uint64_t)len);
		return anchor_fail(d, SI_E_ANCHOR_TARGET, fdt, node, name);
	}
	k->n_targets = 0;
	while (i < len) {
		start = i;
		while (p[i] != '\0')
			i++;
		if (!si_path_ok((const uint8_t *)p + start, (size_t)(i - start))) {
			if (d) {
				si_diag_text(d, "an absolute normalised path", "");
				si_escape(d->found_s, sizeof d->found_s, p + start, (size_t)(i - start));
			}
			return anchor_fail(d, SI_E_ANCHOR_TARGET, fdt, node, name);
		}
		for (q = p; q < p + start; q += strlen(q) + 1)
			if (!strcmp(q, p + start)) {
				if (d)
					si_diag_text(d, "each target once", p + start);
				return anchor_fail(d, SI_E_ANCHOR_TARGET, fdt, node, name);
			}
		if (k->n_targets == SI_KEY_TARGETS_MAX) {
			si_diag_values(d, SI_KEY_TARGETS_MAX, SI_KEY_TARGETS_MAX + 1);
			return anchor_fail(d, SI_E_ANCHOR_TARGET, fdt, node, name);
		}
		k->n_targets++;
		i++;
	}
	memcpy(k->targets, p, (size_t)len);
	return 0;
}

int si_key_allows_target(const struct si_key *k, const char *path)
{
	const char *t = k->targets;
	unsigned i;

	for (i = 0; i < k->n_targets; i++, t += strlen(t) + 1)
		if (si_path_under(path, t))
			return 1;
	return 0;
}

/* Key ids: the node name after "key-".  Native ids are [a-z0-9-]; U-Boot's
 * may also hold [A-Z_.+,].  Never '@': a unit address would let two nodes
 * name one key (the FIT lesson). */
static int key_id(const char *node_name, int uboot, char id[SI_KEY_ID_MAX + 1])
{
	size_t n = strlen(node_name), i;

	if (n <= 4 || memcmp(node_name, "key-", 4) != 0 || n - 4 > SI_KEY_ID_MAX)
		return -1;
	for (i = 4; i < n; i++) {
		char c = node_name[i];
		int ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';

		if (uboot)
			ok = ok || (c >= 'A' && c <= 'Z') || c == '_' || c == '.' ||
			     c == '+' || c == ',';
		if (!ok)
			return -1;
	}
	memcpy(id, node_name + 4, n - 4);
	id[n - 4] = '\0';
	return 0;
}

/* Checks the key's value: an ECDSA point on the curve, an RSA modulus with
 * its top bit set and odd, an exponent odd and > 1. */
static int key_check_value(const struct si_key *k)
{
	if (k->algo == SI_ALGO_ECDSA_P256) {
		static const uint8_t one[1] = { 1 };
		uint8_t pt[65];

		if (k->pub_len != 65 || k->pub[0] != 0x04)
			return -1;
		memcpy(pt, k->pub, sizeof pt);
		/* mul() decodes and validates the point; 1*P == P. */
		return br_ec_p256_m15.mul(pt, sizeof pt, one, sizeof one,
					  BR_EC_secp256r1) ? 0 : -1;
	}
	if (!(k->pub[0] & 0x80) || !(k->pub[k->pub_len - 1] & 1))
		return -1;
	if (k->e_len == 0 || !(k->e[k->e_len - 1] & 1) ||
	    (k->e_len == 1 && k->e[0] == 1))
		return -1;
	return 0;
}

/* Stores a big-endian exponent without its leading zeros. */
static void key_set_e(struct si_key *k, const uint8_t *e, size_t n)
{
	while (n && *e == 0) {
		e++;
		n--;
	}
	memcpy(k->e, e, n);
	k->e_len = (uint8_t)n;
}

static size_t algo_pub_len(enum si_algo a)
{
	switch (a) {
	case SI_ALGO_NONE: return 0;
	case SI_ALGO_ECDSA_P256: return 65;
	case SI_ALGO_RSA2048: return 256;
	case SI_ALGO_RSA4096: return 512;
	}
	return 0;
}

/* ---------------------------------------------------------------- native */

static int parse_native_key(const void *fdt, int node, struct si_key *k,
			    struct si_diag *d)
{
	const char *s, *pname;
	const uint8_t *pub;
	size_t slen;
	int len, prop, r;

	memset(k, 0, sizeof *k);
	k->source = SI_KEY_NATIVE;
	if (key_id(fdt_get_name(fdt, node, NULL), 0, k->id) != 0)
		return anchor_fail(d, SI_E_ANCHOR_KEYNAME, fdt, node, NULL);

	fdt_for_each_property_offset(prop, fdt, node) {
		if (!fdt_getprop_by_offset(fdt, prop, &pname, &len))
			return anchor_fail(d, SI_E_FDT_BAD, fdt, node, NULL);
		if (strcmp(pname, "algorithm") && strcmp(pname, "usages") &&
		    strcmp(pname, "public-key") && strcmp(pname, "rsa-exponent") &&
		    strcmp(pname, "overlay-targets") && strcmp(pname, "phandle")) {
			if (d)
				si_diag_text(d, "algorithm|usages|public-key|rsa-exponent|overlay-targets", pname);
			return anchor_fail(d, SI_E_ANCHOR_PROP, fdt, node, "(unknown property)");
		}
	}
	if (fdt_first_subnode(fdt, node) >= 0)
		return anchor_fail(d, SI_E_ANCHOR_PROP, fdt, node, "(subnode)");

	if (prop_string(fdt, node, "algorithm", &s, &slen) != 0)
		return anchor_fail(d, SI_E_ANCHOR_PROP, fdt, node, "algorithm");
	if (slen == 10 && !memcmp(s, "ecdsa-p256", 10))
		k->algo = SI_ALGO_ECDSA_P256;
	else if (slen == 7 && !memcmp(s, "rsa2048", 7))
		k->algo = SI_ALGO_RSA2048;
	else if (slen == 7 && !memcmp(s, "rsa4096", 7))
		k->algo = SI_ALGO_RSA4096;
	else {
		if (d)
			si_diag_text(d, "ecdsa-p256|rsa2048|rsa4096", s);
		return anchor_fail(d, SI_E_ANCHOR_ALGO, fdt, node, "algorithm");
	}

	r = prop_usages(fdt, node, "usages", &k->usages, d);
	if (r)
		return r;
	k->has_usages = 1;
	if (fdt_getprop(fdt, node, "overlay-targets", NULL)) {
		r = prop_targets(fdt, node, "overlay-targets", k, d);
		if (r)
			return r;
	}

	pub = fdt_getprop(fdt, node, "public-key", &len);
	if (!pub)
		return anchor_fail(d, SI_E_ANCHOR_PROP, fdt, node, "public-key");
	if ((size_t)len != algo_pub_len(k->algo)) {
		si_diag_values(d, algo_pub_len(k->algo), (uint64_t)len);
		return anchor_fail(d, SI_E_ANCHOR_KEYLEN, fdt, node, "public-key");
	}
	memcpy(k->pub, pub, (size_t)len);
	k->pub_len = (uint16_t)len;

	pub = fdt_getprop(fdt, node, "rsa-exponent", &len);
	if (k->algo == SI_ALGO_ECDSA_P256) {
		if (pub)
			return anchor_fail(d, SI_E_ANCHOR_PROP, fdt, node, "rsa-exponent");
	} else {
		if (!pub || len != 4) {
			si_diag_values(d, 4, pub ? (uint64_t)len : 0);
			return anchor_fail(d, SI_E_ANCHOR_PROP, fdt, node, "rsa-exponent");
		}
		key_set_e(k, pub, 4);
	}
	if (key_check_value(k) != 0)
		return anchor_fail(d, SI_E_ANCHOR_KEYVAL, fdt, node, "public-key");
	return 0;
}

/* ---------------------------------------------------------------- U-Boot */

static int parse_uboot_key(const void *fdt, int node, uint32_t default_usages,
			   struct si_key *k, struct si_diag *d)
{
	const char *s, *comma;
	const uint8_t *p, *q;
	size_t slen;
	int len, qlen;

	memset(k, 0, sizeof *k);
	k->source = SI_KEY_UBOOT;
	if (key_id(fdt_get_name(fdt, node, NULL), 1, k->id) != 0)
		return anchor_fail(d, SI_E_ANCHOR_KEYNAME, fdt, node, NULL);
	if (prop_string(fdt, node, "algo", &s, &slen) != 0)
		return anchor_fail(d, SI_E_ANCHOR_PROP, fdt, node, "algo");
	comma = memchr(s, ',', slen);
	if (!comma) {
		if (d)
			si_diag_text(d, "<hash>,rsa2048|rsa4096|ecdsa256", s);
		return anchor_fail(d, SI_E_ANCHOR_ALGO, fdt, node, "algo");
	}
	comma++;
	slen -= (size_t)(comma - s);
	if (slen == 7 && !memcmp(comma, "rsa2048", 7))
		k->algo = SI_ALGO_RSA2048;
	else if (slen == 7 && !memcmp(comma, "rsa4096", 7))
		k->algo = SI_ALGO_RSA4096;
	else if (slen == 8 && !memcmp(comma, "ecdsa256", 8))
		k->algo = SI_ALGO_ECDSA_P256;
	else {
		if (d)
			si_diag_text(d, "<hash>,rsa2048|rsa4096|ecdsa256", s);
		return anchor_fail(d, SI_E_ANCHOR_ALGO, fdt, node, "algo");
	}

	if (k->algo == SI_ALGO_ECDSA_P256) {
		if (prop_string(fdt, node, "ecdsa,curve", &s, &slen) != 0 ||
		    slen != 10 || memcmp(s, "prime256v1", 10) != 0)
			return anchor_fail(d, SI_E_ANCHOR_ALGO, fdt, node, "ecdsa,curve");
		p = fdt_getprop(fdt, node, "ecdsa,x-point", &len);
		q = fdt_getprop(fdt, node, "ecdsa,y-point", &qlen);
		if (!p || !q || len != 32 || qlen != 32) {
			si_diag_values(d, 32, !p ? 0 : (uint64_t)(len != 32 ? len : qlen));
			return anchor_fail(d, SI_E_ANCHOR_KEYLEN, fdt, node,
					   !p || len != 32 ? "ecdsa,x-point" : "ecdsa,y-point");
		}
		k->pub[0] = 0x04;
		memcpy(k->pub + 1, p, 32);
		memcpy(k->pub + 33, q, 32);
		k->pub_len = 65;
	} else {
		p = fdt_getprop(fdt, node, "rsa,num-bits", &len);
		if (!p || len != 4 || si_be32(p) != algo_pub_len(k->algo) * 8) {
			si_diag_values(d, algo_pub_len(k->algo) * 8,
				       p && len == 4 ? si_be32(p) : 0);
			return anchor_fail(d, SI_E_ANCHOR_KEYLEN, fdt, node, "rsa,num-bits");
		}
		p = fdt_getprop(fdt, node, "rsa,modulus", &len);
		if (!p || (size_t)len != algo_pub_len(k->algo)) {
			si_diag_values(d, algo_pub_len(k->algo), p ? (uint64_t)len : 0);
			return anchor_fail(d, SI_E_ANCHOR_KEYLEN, fdt, node, "rsa,modulus");
		}
		memcpy(k->pub, p, (size_t)len);
		k->pub_len = (uint16_t)len;
		p = fdt_getprop(fdt, node, "rsa,exponent", &len);
		if (!p || len != 8) {
			si_diag_values(d, 8, p ? (uint64_t)len : 0);
			return anchor_fail(d, SI_E_ANCHOR_PROP, fdt, node, "rsa,exponent");
		}
		key_set_e(k, p, 8);
	}

	/* Least privilege: this key already signs the kernel and the
	 * initramfs; what else it may sign, the node says, or the caller. */
	if (fdt_getprop(fdt, node, "sealinit,usages", NULL)) {
		int r = prop_usages(fdt, node, "sealinit,usages", &k->usages, d);

		if (r)
			return r;
		k->has_usages = 1;
	} else {
		k->usages = default_usages & SI_USAGE_ALL;
	}
	if (fdt_getprop(fdt, node, "sealinit,overlay-targets", NULL)) {
		int r = prop_targets(fdt, node, "sealinit,overlay-targets", k, d);

		if (r)
			return r;
	}
	if (key_check_value(k) != 0)
		return anchor_fail(d, SI_E_ANCHOR_KEYVAL, fdt, node,
				   k->algo == SI_ALGO_ECDSA_P256 ? "ecdsa,x-point" : "rsa,modulus");
	return 0;
}

/* ---------------------------------------------------------------- anchor */

static int anchor_add(struct si_anchor *a, const struct si_key *k,
		      const void *fdt, int node, struct si_diag *d)
{
	unsigned i;

	for (i = 0; i < a->n_keys; i++)
		if (!strcmp(a->keys[i].id, k->id) ||
		    !memcmp(a->keys[i].fingerprint, k->fingerprint, 32)) {
			if (d)
				si_diag_text(d, "unique id and key", a->keys[i].id);
			return anchor_fail(d, SI_E_ANCHOR_KEYDUP, fdt, node, NULL);
		}
	if (a->n_keys >= SI_ARRAY_SIZE(a->keys)) {
		si_diag_values(d, SI_ARRAY_SIZE(a->keys), a->n_keys + 1);
		return anchor_fail(d, SI_E_ANCHOR_TOO_MANY, fdt, node, NULL);
	}
	a->keys[a->n_keys++] = *k;
	return 0;
}

static int parse_native(const void *fdt, int node, struct si_anchor *a,
			struct si_key *k, struct si_diag *d)
{
	const char *pname;
	const uint8_t *p;
	int prop, sub, len, r;

	fdt_for_each_property_offset(prop, fdt, node) {
		if (!fdt_getprop_by_offset(fdt, prop, &pname, &len))
			return anchor_fail(d, SI_E_FDT_BAD, fdt, node, NULL);
		if (strcmp(pname, "compatible") && strcmp(pname, "rollback-floor") &&
		    strcmp(pname, "phandle")) {
			if (d)
				si_diag_text(d, "compatible|rollback-floor", pname);
			return anchor_fail(d, SI_E_ANCHOR_PROP, fdt, node, "(unknown property)");
		}
	}
	p = fdt_getprop(fdt, node, "rollback-floor", &len);
	if (p) {
		if (len != 8) {
			si_diag_values(d, 8, (uint64_t)len);
			return anchor_fail(d, SI_E_ANCHOR_PROP, fdt, node, "rollback-floor");
		}
		a->has_floor = 1;
		a->rollback_floor = si_be64(p);
	}
	fdt_for_each_subnode(sub, fdt, node) {
		r = parse_native_key(fdt, sub, k, d);
		if (r)
			return r;
		si_key_fingerprint(k);
		r = anchor_add(a, k, fdt, sub, d);
		if (r)
			return r;
	}
	return 0;
}

int si_anchor_parse(const uint8_t *fdt, size_t len, uint32_t uboot_default_usages,
		    struct si_anchor *out, struct si_diag *d)
{
	/* On the stack (CONFIG_MAX_KEYS * ~600 bytes) so *out is written only
	 * on success. */
	struct si_anchor a;
	struct si_key k;
	int node, other, sig, sub, r;

	si_diag_clear(d);
	if (len < FDT_V17_SIZE || len > (size_t)INT32_MAX) {
		si_diag_values(d, FDT_V17_SIZE, len);
		return SI_E_FDT_BAD;
	}
	r = fdt_check_full(fdt, len);
	if (r != 0) {
		if (d)
			si_diag_text(d, "a valid FDT", fdt_strerror(r));
		return SI_E_FDT_BAD;
	}
	/* Validation of the blob's structure ends here: libfdt's accessors
	 * below stay within the checked blob. */
	memset(&a, 0, sizeof a);

	node = fdt_node_offset_by_compatible(fdt, -1, ANCHOR_COMPAT);
	if (node >= 0) {
		other = fdt_node_offset_by_compatible(fdt, node, ANCHOR_COMPAT);
		if (other >= 0)
			return anchor_fail(d, SI_E_ANCHOR_DUP, fdt, other, NULL);
		r = parse_native(fdt, node, &a, &k, d);
		if (r)
			return r;
	}

	sig = fdt_path_offset(fdt, "/signature");
	if (sig >= 0) {
		fdt_for_each_subnode(sub, fdt, sig) {
			const char *name = fdt_get_name(fdt, sub, NULL);

			/* U-Boot's /signature may hold other nodes; only key-*
			 * are keys, and a key-* we cannot read is an error,
			 * not a silent skip. */
			if (!name || strncmp(name, "key-", 4) != 0)
				continue;
			r = parse_uboot_key(fdt, sub, uboot_default_usages, &k, d);
			if (r)
				return r;
			si_key_fingerprint(&k);
			r = anchor_add(&a, &k, fdt, sub, d);
			if (r)
				return r;
		}
	}

	if (node < 0 && a.n_keys == 0)
		return SI_E_ANCHOR_MISSING;
	if (a.n_keys == 0)
		return anchor_fail(d, SI_E_ANCHOR_NOKEY, fdt, node, NULL);
	*out = a;
	return 0;
}
