/* sealinit: signatures over manifests, with BearSSL; see verify/sig.h. */
#include <string.h>

#include <bearssl.h>

#include "verify/sig.h"

size_t si_sig_len(enum si_algo a)
{
	switch (a) {
	case SI_ALGO_NONE: return 0;
	case SI_ALGO_ECDSA_P256: return 64;
	case SI_ALGO_RSA2048: return 256;
	case SI_ALGO_RSA4096: return 512;
	}
	return 0;
}

static void sha256(const uint8_t *msg, size_t len, uint8_t out[32])
{
	br_sha256_context c;

	br_sha256_init(&c);
	br_sha256_update(&c, msg, len);
	br_sha256_out(&c, out);
}

int si_sig_verify(const struct si_key *k, enum si_algo algo,
		  const uint8_t *msg, size_t len, const uint8_t *sig,
		  size_t sig_len, struct si_diag *d)
{
	uint8_t hash[32];
	size_t want = si_sig_len(algo);

	if (!k || !msg || !sig)
		return SI_E_ARG;
	if (want == 0 || k->algo != algo) {
		si_diag_text(d, si_algo_name(k->algo),
			     want ? si_algo_name(algo) : "unknown algorithm");
		return SI_E_SIG_ALGO;
	}
	if (sig_len != want) {
		si_diag_values(d, want, sig_len);
		return SI_E_SIG_LEN;
	}
	sha256(msg, len, hash);
	switch (algo) {
	case SI_ALGO_NONE:
		return SI_E_SIG_ALGO;
	case SI_ALGO_ECDSA_P256: {
		uint8_t q[65];
		br_ec_public_key pk;

		if (k->pub_len != sizeof q)
			return SI_E_SIG_ALGO;
		memcpy(q, k->pub, sizeof q);
		pk.curve = BR_EC_secp256r1;
		pk.q = q;
		pk.qlen = sizeof q;
		if (br_ecdsa_i31_vrfy_raw(br_ec_get_default(), hash, sizeof hash, &pk,
					  sig, sig_len) != 1)
			return SI_E_SIG_BAD;
		return 0;
	}
	case SI_ALGO_RSA2048:
	case SI_ALGO_RSA4096: {
		uint8_t n[SI_KEY_PUB_MAX], e[8], got[32];
		br_rsa_public_key pk;

		if (k->pub_len != want || k->e_len == 0 || k->e_len > sizeof e)
			return SI_E_SIG_ALGO;
		memcpy(n, k->pub, k->pub_len);
		memcpy(e, k->e, k->e_len);
		pk.n = n;
		pk.nlen = k->pub_len;
		pk.e = e;
		pk.elen = k->e_len;
		if (br_rsa_pkcs1_vrfy_get_default()(sig, sig_len, BR_HASH_OID_SHA256,
						     sizeof got, &pk, got) != 1)
			return SI_E_SIG_BAD;
		if (si_ct_memcmp(got, hash, sizeof hash) != 0)
			return SI_E_SIG_BAD;
		return 0;
	}
	}
	return SI_E_SIG_ALGO;
}

int si_sig_sign(const struct si_privkey *key, const uint8_t *msg,
		size_t len, uint8_t *sig, size_t cap, size_t *sig_len,
		struct si_diag *d)
{
	uint8_t hash[32];
	size_t want;

	if (!key || !msg || !sig || !sig_len)
		return SI_E_ARG;
	want = si_sig_len(key->algo);
	if (want == 0)
		return SI_E_SIG_ALGO;
	if (cap < want)
		return SI_E_ARG;
	sha256(msg, len, hash);
	switch (key->algo) {
	case SI_ALGO_NONE:
		return SI_E_SIG_ALGO;
	case SI_ALGO_ECDSA_P256: {
		uint8_t x[32];
		br_ec_private_key sk;
		size_t n;

		memcpy(x, key->x, sizeof x);
		sk.curve = BR_EC_secp256r1;
		sk.x = x;
		sk.xlen = sizeof x;
		n = br_ecdsa_i31_sign_raw(br_ec_get_default(), &br_sha256_vtable, hash,
					  &sk, sig);
		memset(x, 0, sizeof x);
		if (n != want)
			return SI_E_SIGN;
		*sig_len = n;
		return 0;
	}
	case SI_ALGO_RSA2048:
	case SI_ALGO_RSA4096: {
		struct si_privkey k = *key; /* BearSSL wants non-const buffers */
		br_rsa_private_key sk;
		uint32_t ok;

		sk.n_bitlen = k.n_bitlen;
		sk.p = k.p;
		sk.plen = k.plen;
		sk.q = k.q;
		sk.qlen = k.qlen;
		sk.dp = k.dp;
		sk.dplen = k.dplen;
		sk.dq = k.dq;
		sk.dqlen = k.dqlen;
		sk.iq = k.iq;
		sk.iqlen = k.iqlen;
		ok = br_rsa_pkcs1_sign_get_default()(BR_HASH_OID_SHA256, hash,
						     sizeof hash, &sk, sig);
		memset(&k, 0, sizeof k);
		if (ok != 1)
			return SI_E_SIGN;
		*sig_len = want;
		return 0;
	}
	}
	(void)d;
	return SI_E_SIG_ALGO;
}
