/* sealinit: signatures over manifests, with BearSSL.
 *
 * Digest: SHA-256 of the signed bytes.  Encodings:
 *  - SI_ALGO_ECDSA_P256: raw r || s, 32 bytes each, big-endian (64 bytes;
 *    IEEE P1363 form, not ASN.1);
 *  - SI_ALGO_RSA2048/4096: RSA PKCS#1 v1.5 (RFC 8017 8.2) with the SHA-256
 *    DigestInfo, as long as the modulus (256/512 bytes).
 * sealinit and sealctl call the same si_sig_verify.
 */
#ifndef SEALINIT_VERIFY_SIG_H
#define SEALINIT_VERIFY_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"
#include "verify/anchor.h"
#include "verify/key.h"

#define SI_SIG_MAX 512

/* Signature length for an algorithm; 0 when unknown. */
size_t si_sig_len(enum si_algo a);

/* Verifies sig over msg[0..len) with key k, whose algorithm must be algo.
 * Errors: SI_E_SIG_ALGO (algo unknown or not the key's), SI_E_SIG_LEN,
 * SI_E_SIG_BAD. */
int si_sig_verify(const struct si_key *k, enum si_algo algo,
		  const uint8_t *msg, size_t len, const uint8_t *sig,
		  size_t sig_len, struct si_diag *d) SI_WUR;

/* Signs msg[0..len) (deterministic ECDSA, RFC 6979, for P-256).
 * sig must hold si_sig_len(key->algo) bytes; *sig_len gets the length.
 * Errors: SI_E_SIG_ALGO, SI_E_SIGN. */
int si_sig_sign(const struct si_privkey *key, const uint8_t *msg,
		size_t len, uint8_t *sig, size_t cap, size_t *sig_len,
		struct si_diag *d) SI_WUR;

#endif
