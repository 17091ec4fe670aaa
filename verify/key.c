/* sealinit: public and private keys from PEM/DER; see verify/key.h.
 *
 * SubjectPublicKeyInfo (RFC 5280 4.1.2.7), the DER this file reads itself:
 *
 *   30 len                                  SEQUENCE
 *     30 len                                  AlgorithmIdentifier
 *       06 09 2a864886f70d010101              rsaEncryption
 *       05 00                                 NULL parameters
 *     or
 *       06 07 2a8648ce3d0201                  id-ecPublicKey (RFC 5480)
 *       06 08 2a8648ce3d030107                prime256v1
 *     03 len 00 <key>                         BIT STRING, no unused bits
 *
 *   RSA <key> = RSAPublicKey (RFC 8017 A.1.1):
 *     30 len  02 len <modulus>  02 len <publicExponent>
 *   EC <key>  = 04 || X || Y (SEC 1 2.3.3, uncompressed, 65 bytes)
 *
 * DER rules enforced: one-byte tags; definite, minimal lengths (at most two
 * length bytes: nothing here is 64 KiB); INTEGERs positive and minimal;
 * every constructed value consumed exactly; nothing after the outer
 * SEQUENCE.
 */
#include <string.h>

#include <bearssl.h>

#include "verify/key.h"

/* ---------------------------------------------------------------- DER */

struct der {
	const uint8_t *p;
	size_t len, pos;
};

/* Reads one element with tag `tag`; *c and *clen get its contents. */
static int der_get(struct der *r, uint8_t tag, const uint8_t **c, size_t *clen,
		   struct si_diag *d)
{
	size_t rem = r->len - r->pos, n, hl;
	const uint8_t *p = r->p + r->pos;

	if (rem < 2 || p[0] != tag) {
		si_diag_field(d, "der.tag");
		si_diag_offset(d, r->pos);
		si_diag_values(d, tag, rem ? p[0] : 0);
		return SI_E_KEY_DER;
	}
	if (p[1] < 0x80) {
		n = p[1];
		hl = 2;
	} else if (p[1] == 0x81) {
		if (rem < 3 || p[2] < 0x80)
			goto bad_len;
		n = p[2];
		hl = 3;
	} else if (p[1] == 0x82) {
		if (rem < 4 || p[2] == 0)
			goto bad_len;
		n = (size_t)p[2] << 8 | p[3];
		hl = 4;
	} else {
		goto bad_len;
	}
	if (n > rem - hl)
		goto bad_len;
	*c = p + hl;
	*clen = n;
	r->pos += hl + n;
	return 0;
bad_len:
	si_diag_field(d, "der.length");
	si_diag_offset(d, r->pos);
	return SI_E_KEY_DER;
}

static int der_end(const struct der *r, struct si_diag *d)
{
	if (r->pos != r->len) {
		si_diag_field(d, "der.trailing");
		si_diag_offset(d, r->pos);
		si_diag_values(d, r->len, r->pos);
		return SI_E_KEY_DER;
	}
	return 0;
}

/* A positive, minimally encoded INTEGER; leading zero byte stripped. */
static int der_uint(struct der *r, const uint8_t **v, size_t *vlen,
		    struct si_diag *d)
{
	const uint8_t *c;
	size_t n;
	int e = der_get(r, 0x02, &c, &n, d);

	if (e)
		return e;
	if (n == 0 || (c[0] & 0x80) || (n > 1 && c[0] == 0 && !(c[1] & 0x80))) {
		si_diag_field(d, "der.integer");
		return SI_E_KEY_DER;
	}
	if (c[0] == 0 && n > 1) {
		c++;
		n--;
	}
	*v = c;
	*vlen = n;
	return 0;
}

static const uint8_t oid_rsa[] = { 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01 };
static const uint8_t oid_ecpub[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01 };
static const uint8_t oid_p256[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };

/* ---------------------------------------------------------------- checks */

int si_key_check(const struct si_key *k, struct si_diag *d)
{
	switch (k->algo) {
	case SI_ALGO_NONE:
		break;
	case SI_ALGO_ECDSA_P256: {
		uint8_t q[65], one = 1;
		const br_ec_impl *ec = br_ec_get_default();

		if (k->pub_len != 65 || k->pub[0] != 0x04) {
			si_diag_field(d, "public-key");
			si_diag_values(d, 65, k->pub_len);
			return SI_E_KEY_VALUE;
		}
		memcpy(q, k->pub, 65);
		/* mul() decodes the point and fails unless it lies on the curve. */
		if (ec->mul(q, 65, &one, 1, BR_EC_secp256r1) != 1) {
			si_diag_field(d, "public-key");
			si_diag_text(d, "a point on P-256", "a point off the curve");
			return SI_E_KEY_VALUE;
		}
		return 0;
	}
	case SI_ALGO_RSA2048:
	case SI_ALGO_RSA4096: {
		size_t want = k->algo == SI_ALGO_RSA2048 ? 256 : 512;

		if (k->pub_len != want || !(k->pub[0] & 0x80)) {
			si_diag_field(d, "modulus");
			si_diag_values(d, want * 8, k->pub_len * 8);
			return SI_E_KEY_VALUE;
		}
		if (!(k->pub[want - 1] & 1) || k->e_len == 0 || k->e_len > sizeof k->e ||
		    k->e[0] == 0 || !(k->e[k->e_len - 1] & 1) ||
		    (k->e_len == 1 && k->e[0] == 1)) {
			si_diag_field(d, "exponent");
			return SI_E_KEY_VALUE;
		}
		return 0;
	}
	}
	si_diag_field(d, "algorithm");
	return SI_E_KEY_TYPE;
}

/* Fills k from an RSA modulus and exponent (leading zeros stripped). */
static int rsa_set(struct si_key *k, const uint8_t *n, size_t nlen,
		   const uint8_t *e, size_t elen, struct si_diag *d)
{
	while (nlen && !*n) {
		n++;
		nlen--;
	}
	while (elen && !*e) {
		e++;
		elen--;
	}
	if (nlen == 256)
		k->algo = SI_ALGO_RSA2048;
	else if (nlen == 512)
		k->algo = SI_ALGO_RSA4096;
	else {
		si_diag_field(d, "modulus");
		si_diag_text(d, "2048 or 4096 bits", nlen > 512 ? "more than 4096 bits"
							: "another size");
		return SI_E_KEY_TYPE;
	}
	if (elen == 0 || elen > sizeof k->e) {
		si_diag_field(d, "exponent");
		si_diag_values(d, sizeof k->e, elen);
		return SI_E_KEY_VALUE;
	}
	memcpy(k->pub, n, nlen);
	k->pub_len = (uint16_t)nlen;
	memcpy(k->e, e, elen);
	k->e_len = (uint8_t)elen;
	return 0;
}

static int finish_key(struct si_key *k, struct si_diag *d)
{
	int r = si_key_check(k, d);

	if (r)
		return r;
	k->source = SI_KEY_NATIVE;
	k->usages = 0;
	k->id[0] = '\0';
	si_key_fingerprint(k);
	return 0;
}

/* RSAPublicKey: SEQUENCE { modulus INTEGER, publicExponent INTEGER } */
static int parse_rsa_pub(const uint8_t *der, size_t len, struct si_key *k,
			 struct si_diag *d)
{
	struct der r = { der, len, 0 }, s;
	const uint8_t *c, *n, *e;
	size_t clen, nlen, elen;
	int err;

	if ((err = der_get(&r, 0x30, &c, &clen, d)) || (err = der_end(&r, d)))
		return err;
	s.p = c;
	s.len = clen;
	s.pos = 0;
	if ((err = der_uint(&s, &n, &nlen, d)) || (err = der_uint(&s, &e, &elen, d)) ||
	    (err = der_end(&s, d)))
		return err;
	return rsa_set(k, n, nlen, e, elen, d);
}

int si_key_parse_spki(const uint8_t *der, size_t len, struct si_key *out,
		      struct si_diag *d)
{
	struct der r = { der, len, 0 }, spki, alg;
	const uint8_t *c, *oid, *bits;
	size_t clen, oidlen, bitlen;
	struct si_key k;
	int err;

	if (!der || !out)
		return SI_E_ARG;
	if (len > SI_KEY_DER_MAX) {
		si_diag_values(d, SI_KEY_DER_MAX, len);
		return SI_E_KEY_TOO_BIG;
	}
	memset(&k, 0, sizeof k);
	if ((err = der_get(&r, 0x30, &c, &clen, d)) || (err = der_end(&r, d)))
		return err;
	spki.p = c;
	spki.len = clen;
	spki.pos = 0;
	if ((err = der_get(&spki, 0x30, &c, &clen, d)))
		return err;
	alg.p = c;
	alg.len = clen;
	alg.pos = 0;
	if ((err = der_get(&alg, 0x06, &oid, &oidlen, d)))
		return err;
	if ((err = der_get(&spki, 0x03, &bits, &bitlen, d)) || (err = der_end(&spki, d)))
		return err;
	if (bitlen < 1 || bits[0] != 0) {
		si_diag_field(d, "subjectPublicKey");
		return SI_E_KEY_DER;
	}
	bits++;
	bitlen--;
	if (oidlen == sizeof oid_rsa && !memcmp(oid, oid_rsa, oidlen)) {
		const uint8_t *nul;
		size_t nullen;

		if ((err = der_get(&alg, 0x05, &nul, &nullen, d)) || (err = der_end(&alg, d)))
			return err;
		if (nullen != 0) {
			si_diag_field(d, "algorithm.parameters");
			return SI_E_KEY_DER;
		}
		if ((err = parse_rsa_pub(bits, bitlen, &k, d)))
			return err;
	} else if (oidlen == sizeof oid_ecpub && !memcmp(oid, oid_ecpub, oidlen)) {
		const uint8_t *curve;
		size_t curvelen;

		if ((err = der_get(&alg, 0x06, &curve, &curvelen, d)) ||
		    (err = der_end(&alg, d)))
			return err;
		if (curvelen != sizeof oid_p256 || memcmp(curve, oid_p256, curvelen)) {
			si_diag_field(d, "algorithm.curve");
			si_diag_text(d, "prime256v1", "another curve");
			return SI_E_KEY_TYPE;
		}
		if (bitlen != 65 || bits[0] != 0x04) {
			si_diag_field(d, "subjectPublicKey");
			si_diag_text(d, "uncompressed point (65 bytes, 04||X||Y)",
				     bitlen == 33 ? "compressed point" : "other encoding");
			return bitlen == 33 ? SI_E_KEY_TYPE : SI_E_KEY_VALUE;
		}
		k.algo = SI_ALGO_ECDSA_P256;
		memcpy(k.pub, bits, 65);
		k.pub_len = 65;
	} else {
		si_diag_field(d, "algorithm");
		si_diag_text(d, "rsaEncryption or id-ecPublicKey", "another algorithm");
		return SI_E_KEY_TYPE;
	}
	if ((err = finish_key(&k, d)))
		return err;
	*out = k;
	return 0;
}

/* ---------------------------------------------------------------- PEM */

struct der_sink {
	uint8_t buf[SI_KEY_DER_MAX];
	size_t len;
	int over;
};

static void sink_append(void *ctx, const void *data, size_t len)
{
	struct der_sink *s = ctx;

	if (s->over || len > sizeof s->buf - s->len) {
		s->over = 1;
		return;
	}
	memcpy(s->buf + s->len, data, len);
	s->len += len;
}

/* Finds the first PEM object whose name is in names[] (NULL-terminated);
 * *which gets its index.  Objects with other names are skipped. */
static int pem_find(const uint8_t *buf, size_t len, const char *const *names,
		    struct der_sink *out, int *which, struct si_diag *d)
{
	br_pem_decoder_context pc;
	size_t pos = 0;
	int cur = -1, nl_pushed = 0;

	if (len > SI_KEY_PEM_MAX) {
		si_diag_values(d, SI_KEY_PEM_MAX, len);
		return SI_E_KEY_TOO_BIG;
	}
	br_pem_decoder_init(&pc);
	out->len = 0;
	out->over = 0;
	for (;;) {
		int ev;

		if (pos < len) {
			pos += br_pem_decoder_push(&pc, buf + pos, len - pos);
		} else if (!nl_pushed) {
			/* BearSSL needs the END line terminated. */
			br_pem_decoder_push(&pc, "\n", 1);
			nl_pushed = 1;
		}
		ev = br_pem_decoder_event(&pc);
		if (ev == BR_PEM_BEGIN_OBJ) {
			const char *name = br_pem_decoder_name(&pc);
			int i;

			cur = -1;
			for (i = 0; names[i]; i++)
				if (!strcmp(name, names[i]))
					cur = i;
			out->len = 0;
			out->over = 0;
			br_pem_decoder_setdest(&pc, cur >= 0 ? sink_append : NULL, out);
		} else if (ev == BR_PEM_END_OBJ) {
			if (cur >= 0) {
				if (out->over) {
					si_diag_values(d, SI_KEY_DER_MAX, SI_KEY_DER_MAX + 1);
					return SI_E_KEY_TOO_BIG;
				}
				*which = cur;
				return 0;
			}
		} else if (ev == BR_PEM_ERROR) {
			si_diag_field(d, "pem");
			si_diag_offset(d, pos);
			return SI_E_KEY_PEM;
		} else if (pos >= len && nl_pushed) {
			break;
		}
	}
	si_diag_field(d, "pem");
	si_diag_text(d, names[0], "no such block");
	return SI_E_KEY_NOPEM;
}

static int looks_pem(const uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i + 10 <= len; i++)
		if (!memcmp(buf + i, "-----BEGIN", 10))
			return 1;
	return 0;
}

static const char *const priv_names[] = {
	"PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY", NULL,
};

static int parse_private_der(const uint8_t *der, size_t len, struct si_privkey *out,
			     struct si_diag *d);

int si_key_parse_public(const uint8_t *buf, size_t len, struct si_key *out,
			struct si_diag *d)
{
	static const char *const names[] = {
		"PUBLIC KEY", "RSA PUBLIC KEY", "PRIVATE KEY", "EC PRIVATE KEY",
		"RSA PRIVATE KEY", "ENCRYPTED PRIVATE KEY", NULL,
	};
	struct der_sink s;
	struct si_key k;
	int which = -1, r;

	if (!buf || !out)
		return SI_E_ARG;
	if (!looks_pem(buf, len)) {
		if (len && buf[0] == 0x30)
			return si_key_parse_spki(buf, len, out, d);
		si_diag_field(d, "pem");
		si_diag_text(d, "-----BEGIN PUBLIC KEY-----", "no PEM header");
		return SI_E_KEY_NOPEM;
	}
	r = pem_find(buf, len, names, &s, &which, d);
	if (r)
		return r;
	memset(&k, 0, sizeof k);
	switch (which) {
	case 0:
		return si_key_parse_spki(s.buf, s.len, out, d);
	case 1:
		if ((r = parse_rsa_pub(s.buf, s.len, &k, d)) || (r = finish_key(&k, d)))
			return r;
		*out = k;
		return 0;
	case 5:
		return SI_E_KEY_ENCRYPTED;
	default: {
		/* A private key: its public half will do. */
		struct si_privkey pk;

		r = parse_private_der(s.buf, s.len, &pk, d);
		if (r == 0)
			*out = pk.pub;
		memset(&pk, 0, sizeof pk);
		return r;
	}
	}
}

static int copy_part(uint8_t *dst, uint16_t *dlen, const unsigned char *src,
		     size_t n, const char *field, struct si_diag *d)
{
	while (n && !*src) {
		src++;
		n--;
	}
	if (n == 0 || n > 256) {
		si_diag_field(d, field);
		si_diag_values(d, 256, n);
		return SI_E_KEY_VALUE;
	}
	memcpy(dst, src, n);
	*dlen = (uint16_t)n;
	return 0;
}

/* modulus and publicExponent of an RSAPrivateKey (RFC 8017 A.1.2):
 *   30 { 02 version, 02 n, 02 e, ... }
 * possibly wrapped in PKCS#8 (RFC 5208):
 *   30 { 02 version, 30 AlgorithmIdentifier, 04 { RSAPrivateKey }, ... } */
static int rsa_pub_from_der(const uint8_t *der, size_t len, const uint8_t **n,
			    size_t *nlen, const uint8_t **e, size_t *elen,
			    struct si_diag *d)
{
	struct der r = { der, len, 0 }, s;
	const uint8_t *c, *ver;
	size_t clen, vlen;
	int err;

	if ((err = der_get(&r, 0x30, &c, &clen, d)))
		return err;
	s.p = c;
	s.len = clen;
	s.pos = 0;
	if ((err = der_uint(&s, &ver, &vlen, d)))
		return err;
	if (s.pos < s.len && s.p[s.pos] == 0x30) {
		const uint8_t *oct;
		size_t olen;

		if ((err = der_get(&s, 0x30, &c, &clen, d)) ||
		    (err = der_get(&s, 0x04, &oct, &olen, d)))
			return err;
		return rsa_pub_from_der(oct, olen, n, nlen, e, elen, d);
	}
	if ((err = der_uint(&s, n, nlen, d)) || (err = der_uint(&s, e, elen, d)))
		return err;
	return 0;
}

static int parse_private_der(const uint8_t *der, size_t len, struct si_privkey *out,
			     struct si_diag *d)
{
	br_skey_decoder_context sk;
	struct si_privkey k;
	int r;

	memset(&k, 0, sizeof k);
	br_skey_decoder_init(&sk);
	br_skey_decoder_push(&sk, der, len);
	switch (br_skey_decoder_key_type(&sk)) {
	case BR_KEYTYPE_EC: {
		const br_ec_private_key *ek = br_skey_decoder_get_ec(&sk);
		unsigned char kbuf[BR_EC_KBUF_PUB_MAX_SIZE];
		br_ec_private_key tmp;
		br_ec_public_key pub;
		uint8_t x[32];

		if (ek->curve != BR_EC_secp256r1) {
			si_diag_field(d, "curve");
			si_diag_values(d, BR_EC_secp256r1, (uint64_t)ek->curve);
			return SI_E_KEY_TYPE;
		}
		if (ek->xlen == 0 || ek->xlen > 32) {
			si_diag_field(d, "privateKey");
			si_diag_values(d, 32, ek->xlen);
			return SI_E_KEY_VALUE;
		}
		k.algo = SI_ALGO_ECDSA_P256;
		memcpy(k.x + 32 - ek->xlen, ek->x, ek->xlen);
		memcpy(x, k.x, 32);
		tmp.curve = BR_EC_secp256r1;
		tmp.x = x;
		tmp.xlen = 32;
		if (br_ec_compute_pub(br_ec_get_default(), &pub, kbuf, &tmp) != 65) {
			memset(x, 0, sizeof x);
			si_diag_field(d, "privateKey");
			return SI_E_KEY_VALUE;
		}
		memset(x, 0, sizeof x);
		k.pub.algo = SI_ALGO_ECDSA_P256;
		memcpy(k.pub.pub, kbuf, 65);
		k.pub.pub_len = 65;
		break;
	}
	case BR_KEYTYPE_RSA: {
		const br_rsa_private_key *rk = br_skey_decoder_get_rsa(&sk);
		const uint8_t *n, *e;
		size_t nlen, elen;

		if (rk->n_bitlen != 2048 && rk->n_bitlen != 4096) {
			si_diag_field(d, "modulus");
			si_diag_text(d, "2048 or 4096 bits", rk->n_bitlen < 2048 ? "fewer bits" : "another size");
			return SI_E_KEY_TYPE;
		}
		k.algo = rk->n_bitlen == 2048 ? SI_ALGO_RSA2048 : SI_ALGO_RSA4096;
		k.n_bitlen = rk->n_bitlen;
		if ((r = copy_part(k.p, &k.plen, rk->p, rk->plen, "prime1", d)) ||
		    (r = copy_part(k.q, &k.qlen, rk->q, rk->qlen, "prime2", d)) ||
		    (r = copy_part(k.dp, &k.dplen, rk->dp, rk->dplen, "exponent1", d)) ||
		    (r = copy_part(k.dq, &k.dqlen, rk->dq, rk->dqlen, "exponent2", d)) ||
		    (r = copy_part(k.iq, &k.iqlen, rk->iq, rk->iqlen, "coefficient", d))) {
			memset(&k, 0, sizeof k);
			return r;
		}
		/* n and e come from the DER itself: BearSSL's
		 * br_rsa_compute_pubexp only handles p = 3 mod 4 (its own
		 * keygen's primes, not openssl's), and the i31
		 * compute_modulus is two words short for 4096-bit keys.  A key
		 * whose n is not p*q fails the signature self-check at sealing. */
		if ((r = rsa_pub_from_der(der, len, &n, &nlen, &e, &elen, d))) {
			memset(&k, 0, sizeof k);
			return r;
		}
		if ((r = rsa_set(&k.pub, n, nlen, e, elen, d))) {
			memset(&k, 0, sizeof k);
			return r;
		}
		break;
	}
	default:
		si_diag_field(d, "der");
		si_diag_values(d, 0, (uint64_t)br_skey_decoder_last_error(&sk));
		/* BR_ERR_X509_UNSUPPORTED and friends: a well-formed key of a
		 * type BearSSL does not decode (e.g. Ed25519). */
		return br_skey_decoder_last_error(&sk) == BR_ERR_X509_UNSUPPORTED
			       ? SI_E_KEY_TYPE : SI_E_KEY_DER;
	}
	memset(&sk, 0, sizeof sk);
	if ((r = finish_key(&k.pub, d))) {
		memset(&k, 0, sizeof k);
		return r;
	}
	*out = k;
	memset(&k, 0, sizeof k);
	return 0;
}

int si_key_parse_private(const uint8_t *buf, size_t len,
			 struct si_privkey *out, struct si_diag *d)
{
	struct der_sink s;
	int which = -1, r;

	if (!buf || !out)
		return SI_E_ARG;
	r = pem_find(buf, len, priv_names, &s, &which, d);
	if (r)
		return r;
	if (which == 3) {
		si_diag_field(d, "pem");
		return SI_E_KEY_ENCRYPTED;
	}
	r = parse_private_der(s.buf, s.len, out, d);
	memset(&s, 0, sizeof s);
	return r;
}

/* ---------------------------------------------------------------- encode */

struct der_w {
	uint8_t *p;
	size_t cap, len;
	int over;
};

static void dw_bytes(struct der_w *w, const void *v, size_t n)
{
	if (w->over || n > w->cap - w->len) {
		w->over = 1;
		return;
	}
	memcpy(w->p + w->len, v, n);
	w->len += n;
}

static void dw_hdr(struct der_w *w, uint8_t tag, size_t n)
{
	uint8_t h[4];
	size_t hl;

	h[0] = tag;
	if (n < 0x80) {
		h[1] = (uint8_t)n;
		hl = 2;
	} else if (n < 0x100) {
		h[1] = 0x81;
		h[2] = (uint8_t)n;
		hl = 3;
	} else {
		h[1] = 0x82;
		h[2] = (uint8_t)(n >> 8);
		h[3] = (uint8_t)n;
		hl = 4;
	}
	dw_bytes(w, h, hl);
}

static size_t hdr_len(size_t n)
{
	return n < 0x80 ? 2 : n < 0x100 ? 3 : 4;
}

static size_t int_len(const uint8_t *v, size_t n)
{
	return n + (v[0] & 0x80 ? 1 : 0);
}

static void dw_uint(struct der_w *w, const uint8_t *v, size_t n)
{
	size_t l = int_len(v, n);

	dw_hdr(w, 0x02, l);
	if (l > n)
		dw_bytes(w, "", 1);
	dw_bytes(w, v, n);
}

size_t si_key_encode_spki(const struct si_key *k, uint8_t *out, size_t cap)
{
	struct der_w w = { out, cap, 0, 0 };
	static const uint8_t nul[2] = { 0x05, 0x00 };

	if (k->algo == SI_ALGO_ECDSA_P256) {
		size_t alg = 2 + sizeof oid_ecpub + 2 + sizeof oid_p256;
		size_t bits = 1 + k->pub_len;
		size_t total = hdr_len(alg) + alg + hdr_len(bits) + bits;

		dw_hdr(&w, 0x30, total);
		dw_hdr(&w, 0x30, alg);
		dw_hdr(&w, 0x06, sizeof oid_ecpub);
		dw_bytes(&w, oid_ecpub, sizeof oid_ecpub);
		dw_hdr(&w, 0x06, sizeof oid_p256);
		dw_bytes(&w, oid_p256, sizeof oid_p256);
		dw_hdr(&w, 0x03, bits);
		dw_bytes(&w, "", 1);
		dw_bytes(&w, k->pub, k->pub_len);
	} else if (k->algo == SI_ALGO_RSA2048 || k->algo == SI_ALGO_RSA4096) {
		size_t alg = 2 + sizeof oid_rsa + 2;
		size_t ni = int_len(k->pub, k->pub_len), ei = int_len(k->e, k->e_len);
		size_t seq = hdr_len(ni) + ni + hdr_len(ei) + ei;
		size_t bits = 1 + hdr_len(seq) + seq;
		size_t total = hdr_len(alg) + alg + hdr_len(bits) + bits;

		dw_hdr(&w, 0x30, total);
		dw_hdr(&w, 0x30, alg);
		dw_hdr(&w, 0x06, sizeof oid_rsa);
		dw_bytes(&w, oid_rsa, sizeof oid_rsa);
		dw_bytes(&w, nul, 2);
		dw_hdr(&w, 0x03, bits);
		dw_bytes(&w, "", 1);
		dw_hdr(&w, 0x30, seq);
		dw_uint(&w, k->pub, k->pub_len);
		dw_uint(&w, k->e, k->e_len);
	} else {
		return 0;
	}
	return w.over ? 0 : w.len;
}
