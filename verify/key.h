/* sealinit: public and private keys from PEM/DER.
 *
 * Public keys: "PUBLIC KEY" (X.509 SubjectPublicKeyInfo, RFC 5280 4.1)
 * holding rsaEncryption (RFC 8017 A.1.1) or id-ecPublicKey on prime256v1
 * (RFC 5480), and "RSA PUBLIC KEY" (PKCS#1 RSAPublicKey).  BearSSL has no
 * SPKI decoder, so a small bounded DER reader here does it.
 * Private keys (host side, for signing): "PRIVATE KEY" (PKCS#8),
 * "EC PRIVATE KEY" (RFC 5915) and "RSA PRIVATE KEY" (PKCS#1), decoded by
 * BearSSL's br_skey_decoder; "EC PARAMETERS" blocks (openssl ecparam
 * -genkey) are skipped.  Encrypted keys are refused.
 *
 * Accepted: ECDSA P-256, RSA with a 2048- or 4096-bit modulus.
 * Pure and allocation-free; structs hold no pointers.
 */
#ifndef SEALINIT_VERIFY_KEY_H
#define SEALINIT_VERIFY_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"
#include "verify/anchor.h"

/* Largest PEM text and DER object accepted (an RSA-4096 private key in
 * PKCS#8 is about 2.4 KB of DER, 3.3 KB of PEM). */
#define SI_KEY_PEM_MAX 16384
#define SI_KEY_DER_MAX 4096

/* A private key.  RSA: CRT form as PKCS#1 stores it; the public half
 * (modulus, exponent) is kept too.  EC: the P-256 scalar. */
struct si_privkey {
	enum si_algo algo;
	uint32_t n_bitlen;
	uint8_t x[32];
	uint16_t plen, qlen, dplen, dqlen, iqlen;
	uint8_t p[256], q[256], dp[256], dq[256], iq[256];
	struct si_key pub; /* id empty, usages 0, fingerprint set */
};

/* Parses the first public key in PEM text (or raw DER SPKI when the input
 * does not start with "-----BEGIN").  out->usages = 0, out->id empty,
 * out->source = SI_KEY_NATIVE, fingerprint computed.
 * Errors: SI_E_KEY_PEM, SI_E_KEY_NOPEM, SI_E_KEY_DER, SI_E_KEY_TYPE,
 * SI_E_KEY_VALUE, SI_E_KEY_TOO_BIG. */
int si_key_parse_public(const uint8_t *buf, size_t len, struct si_key *out,
			struct si_diag *d) SI_WUR;

/* Parses SubjectPublicKeyInfo DER.  Same errors as above but PEM ones. */
int si_key_parse_spki(const uint8_t *der, size_t len, struct si_key *out,
		      struct si_diag *d) SI_WUR;

/* Parses the first private key in PEM text.
 * Errors: SI_E_KEY_PEM, SI_E_KEY_NOPEM, SI_E_KEY_DER, SI_E_KEY_TYPE,
 * SI_E_KEY_VALUE, SI_E_KEY_TOO_BIG, SI_E_KEY_ENCRYPTED. */
int si_key_parse_private(const uint8_t *buf, size_t len,
			 struct si_privkey *out, struct si_diag *d) SI_WUR;

/* Encodes a public key as SubjectPublicKeyInfo DER into out (cap bytes);
 * returns the length, or 0 when cap is too small. */
size_t si_key_encode_spki(const struct si_key *k, uint8_t *out, size_t cap);

/* Checks a public key's value: the point is on P-256; the RSA modulus has
 * the algorithm's exact length, top bit set, is odd; the exponent is odd
 * and > 1.  Errors: SI_E_KEY_TYPE, SI_E_KEY_VALUE. */
int si_key_check(const struct si_key *k, struct si_diag *d) SI_WUR;

#endif
