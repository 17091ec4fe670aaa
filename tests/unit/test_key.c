/* Unit tests: PEM/DER key parsing (verify/key.c) on keys made by openssl
 * (tests/vectors/seal/make-vectors.sh); every refusal asserts its error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/t.h"
#include "verify/key.h"

#define VEC "tests/vectors/seal/"

static int pub_file(const char *name, struct si_key *k)
{
	char path[256];
	size_t n;
	uint8_t *b;
	int r;

	snprintf(path, sizeof path, VEC "%s", name);
	b = t_slurp(path, &n);
	r = si_key_parse_public(b, n, k, NULL);
	free(b);
	return r;
}

static int priv_file(const char *name, struct si_privkey *k)
{
	char path[256];
	size_t n;
	uint8_t *b;
	int r;

	snprintf(path, sizeof path, VEC "%s", name);
	b = t_slurp(path, &n);
	r = si_key_parse_private(b, n, k, NULL);
	free(b);
	return r;
}

static void test_good(void)
{
	static const struct {
		const char *base;
		enum si_algo algo;
	} keys[] = {
		{ "ec-sec1", SI_ALGO_ECDSA_P256 },
		{ "ec-pkcs8", SI_ALGO_ECDSA_P256 },
		{ "rsa2048-pkcs1", SI_ALGO_RSA2048 },
		{ "rsa4096-pkcs8", SI_ALGO_RSA4096 },
	};
	size_t i;

	for (i = 0; i < SI_ARRAY_SIZE(keys); i++) {
		static struct si_privkey sk;
		struct si_key pk, pd, pp;
		char name[128];
		uint8_t *der, enc[SI_KEY_DER_MAX];
		size_t dlen, elen;

		snprintf(name, sizeof name, "%s.pem", keys[i].base);
		T_OK(priv_file(name, &sk));
		T_EQ(sk.algo, keys[i].algo);
		/* the private file also serves as a public key */
		T_OK(pub_file(name, &pp));
		snprintf(name, sizeof name, "%s.pub.pem", keys[i].base);
		T_OK(pub_file(name, &pk));
		T_EQ(pk.algo, keys[i].algo);
		T_MEMEQ(pk.fingerprint, sk.pub.fingerprint, 32);
		T_MEMEQ(pp.fingerprint, sk.pub.fingerprint, 32);
		/* raw DER; and our SPKI encoder gives openssl's bytes */
		snprintf(name, sizeof name, VEC "%s.pub.der", keys[i].base);
		der = t_slurp(name, &dlen);
		T_OK(si_key_parse_spki(der, dlen, &pd, NULL));
		T_MEMEQ(pd.fingerprint, pk.fingerprint, 32);
		T_OK(si_key_parse_public(der, dlen, &pd, NULL));
		elen = si_key_encode_spki(&pk, enc, sizeof enc);
		T_EQ(elen, dlen);
		T_MEMEQ(enc, der, dlen);
		T_EQ(si_key_encode_spki(&pk, enc, 10), 0);
		/* DER: trailing byte, every truncation, wrong outer tag */
		{
			uint8_t *x = malloc(dlen + 1);
			size_t cut;
			memcpy(x, der, dlen);
			x[dlen] = 0;
			T_ERR(si_key_parse_spki(x, dlen + 1, &pd, NULL), SI_E_KEY_DER);
			for (cut = 0; cut < dlen; cut++)
				T_ERR(si_key_parse_spki(x, cut, &pd, NULL), SI_E_KEY_DER);
			x[0] = 0x31;
			T_ERR(si_key_parse_spki(x, dlen, &pd, NULL), SI_E_KEY_DER);
			free(x);
		}
		free(der);
		T_OK(si_key_check(&pk, NULL));
	}
	{
		struct si_key a, b;
		T_OK(pub_file("rsa2048-pkcs1.rsapub.pem", &a));
		T_OK(pub_file("rsa2048-pkcs1.pub.pem", &b));
		T_MEMEQ(a.fingerprint, b.fingerprint, 32);
	}
}

static void test_bad(void)
{
	static struct si_privkey sk;
	struct si_key k;
	uint8_t *b;
	size_t n;

	T_ERR(priv_file("bad-rsa1024.pem", &sk), SI_E_KEY_TYPE);
	T_ERR(pub_file("bad-rsa1024.pub.pem", &k), SI_E_KEY_TYPE);
	T_ERR(priv_file("bad-p384.pem", &sk), SI_E_KEY_TYPE);
	T_ERR(pub_file("bad-p384.pub.pem", &k), SI_E_KEY_TYPE);
	T_ERR(priv_file("bad-ed25519.pem", &sk), SI_E_KEY_TYPE);
	T_ERR(pub_file("bad-ed25519.pub.pem", &k), SI_E_KEY_TYPE);
	T_ERR(priv_file("bad-encrypted.pem", &sk), SI_E_KEY_ENCRYPTED);
	T_ERR(pub_file("bad-compressed.pub.pem", &k), SI_E_KEY_TYPE);
	/* a public file is not a private key */
	T_ERR(priv_file("ec-pkcs8.pub.pem", &sk), SI_E_KEY_NOPEM);
	/* not PEM at all, empty, garbage inside the armour */
	T_ERR(si_key_parse_public((const uint8_t *)"hello", 5, &k, NULL), SI_E_KEY_NOPEM);
	T_ERR(si_key_parse_public((const uint8_t *)"", 0, &k, NULL), SI_E_KEY_NOPEM);
	T_ERR(si_key_parse_private((const uint8_t *)"", 0, &sk, NULL), SI_E_KEY_NOPEM);
	{
		static const char bad[] = "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n";
		T_ERR(si_key_parse_public((const uint8_t *)bad, strlen(bad), &k, NULL), SI_E_KEY_PEM);
	}
	{
		static const char empty[] = "-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n";
		T_ERR(si_key_parse_public((const uint8_t *)empty, strlen(empty), &k, NULL), SI_E_KEY_DER);
	}
	/* a point off the curve: change Y */
	b = t_slurp(VEC "ec-pkcs8.pub.der", &n);
	b[n - 1] ^= 1;
	T_ERR(si_key_parse_spki(b, n, &k, NULL), SI_E_KEY_VALUE);
	free(b);
	/* an even RSA modulus */
	b = t_slurp(VEC "rsa2048-pkcs1.pub.der", &n);
	b[n - 6] ^= 1; /* last modulus byte: ... n 02 03 01 00 01 */
	T_ERR(si_key_parse_spki(b, n, &k, NULL), SI_E_KEY_VALUE);
	free(b);
	/* oversized input */
	b = calloc(1, SI_KEY_PEM_MAX + 1);
	memcpy(b, "-----BEGIN", 10);
	T_ERR(si_key_parse_public(b, SI_KEY_PEM_MAX + 1, &k, NULL), SI_E_KEY_TOO_BIG);
	T_ERR(si_key_parse_spki(b, SI_KEY_DER_MAX + 1, &k, NULL), SI_E_KEY_TOO_BIG);
	free(b);
}

int main(void)
{
	test_good();
	test_bad();
	return t_done("test_key");
}
