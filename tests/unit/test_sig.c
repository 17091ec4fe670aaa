/* Unit tests: signatures (verify/sig.c): ECDSA P-256 raw r||s and RSA
 * PKCS#1 v1.5 SHA-256, with openssl-made keys; every failure's error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bearssl.h>

#include "tests/unit/t.h"
#include "verify/sig.h"

#define VEC "tests/vectors/seal/"

static void load(const char *path, struct si_privkey *k)
{
	FILE *f = fopen(path, "rb");
	uint8_t buf[8192];
	size_t n;

	if (!f) {
		fprintf(stderr, "cannot open %s (run from the top directory)\n", path);
		exit(2);
	}
	n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	if (si_key_parse_private(buf, n, k, NULL) != 0)
		exit(2);
}

static void check_algo(const struct si_privkey *k, const struct si_privkey *other)
{
	static const uint8_t msg[] = "SIMF manifest bytes";
	uint8_t sig[SI_SIG_MAX], sig2[SI_SIG_MAX];
	size_t slen = 0, slen2 = 0, i;
	enum si_algo wrong = k->algo == SI_ALGO_ECDSA_P256 ? SI_ALGO_RSA2048 : SI_ALGO_ECDSA_P256;

	T_OK(si_sig_sign(k, msg, sizeof msg, sig, sizeof sig, &slen, NULL));
	T_EQ(slen, si_sig_len(k->algo));
	T_OK(si_sig_verify(&k->pub, k->algo, msg, sizeof msg, sig, slen, NULL));
	/* deterministic (RFC 6979 for ECDSA; PKCS#1 v1.5 always) */
	T_OK(si_sig_sign(k, msg, sizeof msg, sig2, sizeof sig2, &slen2, NULL));
	T_MEMEQ(sig, sig2, slen);
	T_ERR(si_sig_verify(&k->pub, k->algo, msg, sizeof msg - 1, sig, slen, NULL), SI_E_SIG_BAD);
	T_ERR(si_sig_verify(&k->pub, k->algo, msg, sizeof msg, sig, slen - 1, NULL), SI_E_SIG_LEN);
	T_ERR(si_sig_verify(&k->pub, wrong, msg, sizeof msg, sig, slen, NULL), SI_E_SIG_ALGO);
	T_ERR(si_sig_verify(&k->pub, SI_ALGO_NONE, msg, sizeof msg, sig, slen, NULL), SI_E_SIG_ALGO);
	T_ERR(si_sig_verify(&k->pub, (enum si_algo)77, msg, sizeof msg, sig, slen, NULL), SI_E_SIG_ALGO);
	if (other->algo == k->algo)
		T_ERR(si_sig_verify(&other->pub, k->algo, msg, sizeof msg, sig, slen, NULL), SI_E_SIG_BAD);
	for (i = 0; i < slen; i += 7) {
		sig[i] ^= 0x10;
		T_ERR(si_sig_verify(&k->pub, k->algo, msg, sizeof msg, sig, slen, NULL), SI_E_SIG_BAD);
		sig[i] ^= 0x10;
	}
	/* the all-zero and all-ones signatures */
	memset(sig2, 0, slen);
	T_ERR(si_sig_verify(&k->pub, k->algo, msg, sizeof msg, sig2, slen, NULL), SI_E_SIG_BAD);
	memset(sig2, 0xff, slen);
	T_ERR(si_sig_verify(&k->pub, k->algo, msg, sizeof msg, sig2, slen, NULL), SI_E_SIG_BAD);
	T_ERR(si_sig_sign(k, msg, sizeof msg, sig, slen - 1, &slen2, NULL), SI_E_ARG);
}

/* An ECDSA signature from BearSSL's own ASN.1 path, converted: the raw form
 * is what other signers (openssl dgst + conversion, HSMs) produce. */
static void test_interop_raw(const struct si_privkey *k)
{
	static const uint8_t msg[] = "hello";
	uint8_t h[32], asn1[80], raw[64], x[32];
	br_sha256_context c;
	br_ec_private_key sk;
	size_t n;

	br_sha256_init(&c);
	br_sha256_update(&c, msg, sizeof msg);
	br_sha256_out(&c, h);
	memcpy(x, k->x, 32);
	sk.curve = BR_EC_secp256r1;
	sk.x = x;
	sk.xlen = 32;
	n = br_ecdsa_i31_sign_asn1(br_ec_get_default(), &br_sha256_vtable, h, &sk, asn1);
	T_CHECK(n > 0, "asn1 sign");
	T_EQ(br_ecdsa_asn1_to_raw(asn1, n), 64);
	memcpy(raw, asn1, 64);
	T_OK(si_sig_verify(&k->pub, SI_ALGO_ECDSA_P256, msg, sizeof msg, raw, 64, NULL));
}

int main(void)
{
	static struct si_privkey ec, ec2, r2, r4;

	load(VEC "ec-pkcs8.pem", &ec);
	load(VEC "ec-sec1.pem", &ec2);
	load(VEC "rsa2048-pkcs1.pem", &r2);
	load(VEC "rsa4096-pkcs8.pem", &r4);
	check_algo(&ec, &ec2);
	check_algo(&r2, &r4);
	check_algo(&r4, &r2);
	test_interop_raw(&ec);
	T_EQ(si_sig_len(SI_ALGO_ECDSA_P256), 64);
	T_EQ(si_sig_len(SI_ALGO_RSA2048), 256);
	T_EQ(si_sig_len(SI_ALGO_RSA4096), 512);
	return t_done("test_sig");
}
