/* libFuzzer target: key parsing (verify/key.c) -- PEM armour through
 * BearSSL's decoder, our SubjectPublicKeyInfo/RSAPublicKey DER reader, and
 * private keys through br_skey_decoder.  The same bytes go to each. */
#include <stdint.h>
#include <string.h>

#include "verify/key.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct si_privkey sk;
	struct si_key k, k2;
	struct si_diag d;
	uint8_t der[SI_KEY_DER_MAX];
	char line[512];
	int r;

	si_diag_clear(&d);
	r = si_key_parse_public(data, size, &k, &d);
	si_diag_format(&d, r, line, sizeof line);
	if (r == 0) {
		/* an accepted key re-encodes and parses back to itself */
		size_t n = si_key_encode_spki(&k, der, sizeof der);
		if (n == 0 || si_key_parse_spki(der, n, &k2, NULL) != 0 ||
		    memcmp(k.fingerprint, k2.fingerprint, 32) != 0)
			__builtin_trap();
	}
	si_diag_clear(&d);
	r = si_key_parse_spki(data, size, &k, &d);
	si_diag_format(&d, r, line, sizeof line);
	si_diag_clear(&d);
	r = si_key_parse_private(data, size, &sk, &d);
	si_diag_format(&d, r, line, sizeof line);
	return 0;
}
