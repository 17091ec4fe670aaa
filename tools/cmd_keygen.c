/* sealctl keygen: a new signing key, PKCS#8 PEM (what openssl genpkey
 * writes), and optionally its public half as SubjectPublicKeyInfo PEM. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <bearssl.h>

#include "lib/str.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"

#define CMD "keygen"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: sealctl keygen --algo ecdsa-p256|rsa2048|rsa4096 -o KEY.pem [--pub PUB.pem]\n\n"
		"Makes a signing key.  KEY.pem is PKCS#8 (\"PRIVATE KEY\"), mode 0600;\n"
		"PUB.pem is the public key (\"PUBLIC KEY\", SubjectPublicKeyInfo) for\n"
		"`sealctl verify --key` and `sealctl anchor --key`.  Keys made with openssl\n"
		"(genpkey, ecparam -genkey, genrsa) work as well.\n\n"
		"exit codes: 0 written; 2 wrong arguments; 3 system error (randomness, I/O)\n");
}

static int write_pem(const char *path, const char *banner, const uint8_t *der,
		     size_t len, int private)
{
	size_t n = br_pem_encode(NULL, der, len, banner, BR_PEM_LINE64);
	char *pem = malloc(n + 1);
	mode_t old = 0;
	int r;

	if (!pem)
		return sealctl_report(CMD, path, SI_E_NOMEM, NULL);
	br_pem_encode(pem, der, len, banner, BR_PEM_LINE64);
	if (private)
		old = umask(077);
	r = sealctl_write_file(path, pem, n);
	if (private)
		umask(old);
	memset(pem, 0, n);
	free(pem);
	if (r) {
		struct si_diag d;
		si_diag_clear(&d);
		si_diag_errno(&d, errno);
		return sealctl_report(CMD, path, r, &d);
	}
	return 0;
}

int sealctl_cmd_keygen(int argc, char **argv)
{
	const char *algo = NULL, *out = NULL, *pub = NULL, *v;
	br_hmac_drbg_context rng;
	uint8_t seed[48], der[SI_KEY_DER_MAX], spki[SI_KEY_DER_MAX];
	struct si_key pk;
	size_t dlen = 0, slen;
	int i = 1, m, r;

	while (i < argc) {
		if (sealcmd_is_help(argv[i])) {
			usage(stdout);
			return SEALCTL_OK;
		}
		if ((m = sealcmd_opt(CMD, argc, argv, &i, "--algo", &v)) != 0) {
			if (m < 0)
				return SEALCTL_USAGE;
			algo = v;
		} else if ((m = sealcmd_opt(CMD, argc, argv, &i, "-o", &v)) != 0) {
			if (m < 0)
				return SEALCTL_USAGE;
			out = v;
		} else if ((m = sealcmd_opt(CMD, argc, argv, &i, "--pub", &v)) != 0) {
			if (m < 0)
				return SEALCTL_USAGE;
			pub = v;
		} else {
			sealctl_msg(CMD, "unexpected argument '%s'", argv[i]);
			usage(stderr);
			return SEALCTL_USAGE;
		}
	}
	if (!algo || !out) {
		sealctl_msg(CMD, "--algo and -o are required");
		usage(stderr);
		return SEALCTL_USAGE;
	}
	if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
		struct si_diag d;
		si_diag_clear(&d);
		si_diag_errno(&d, errno);
		return sealctl_report(CMD, "getrandom", SI_E_IO, &d);
	}
	br_hmac_drbg_init(&rng, &br_sha256_vtable, seed, sizeof seed);
	memset(seed, 0, sizeof seed);
	memset(&pk, 0, sizeof pk);

	if (!strcmp(algo, "ecdsa-p256")) {
		unsigned char kpriv[BR_EC_KBUF_PRIV_MAX_SIZE], kpub[BR_EC_KBUF_PUB_MAX_SIZE];
		br_ec_private_key sk;
		br_ec_public_key ep;
		const br_ec_impl *ec = br_ec_get_default();

		if (br_ec_keygen(&rng.vtable, ec, &sk, kpriv, BR_EC_secp256r1) == 0 ||
		    br_ec_compute_pub(ec, &ep, kpub, &sk) != 65)
			return sealctl_report(CMD, algo, SI_E_SIGN, NULL);
		dlen = br_encode_ec_pkcs8_der(der, &sk, &ep);
		pk.algo = SI_ALGO_ECDSA_P256;
		memcpy(pk.pub, kpub, 65);
		pk.pub_len = 65;
		memset(kpriv, 0, sizeof kpriv);
	} else if (!strcmp(algo, "rsa2048") || !strcmp(algo, "rsa4096")) {
		unsigned bits = !strcmp(algo, "rsa2048") ? 2048 : 4096;
		static unsigned char kpriv[BR_RSA_KBUF_PRIV_SIZE(4096)];
		unsigned char kpub[BR_RSA_KBUF_PUB_SIZE(4096)], dexp[512];
		br_rsa_private_key sk;
		br_rsa_public_key rp;
		size_t dl;
		size_t e;

		if (!br_rsa_keygen_get_default()(&rng.vtable, &sk, kpriv, &rp, kpub, bits, 65537))
			return sealctl_report(CMD, algo, SI_E_SIGN, NULL);
		dl = br_rsa_compute_privexp_get_default()(dexp, &sk, 65537);
		if (dl == 0)
			return sealctl_report(CMD, algo, SI_E_SIGN, NULL);
		if (br_encode_rsa_pkcs8_der(NULL, &sk, &rp, dexp, dl) > sizeof der)
			return sealctl_report(CMD, algo, SI_E_TOO_BIG, NULL);
		dlen = br_encode_rsa_pkcs8_der(der, &sk, &rp, dexp, dl);
		pk.algo = bits == 2048 ? SI_ALGO_RSA2048 : SI_ALGO_RSA4096;
		memcpy(pk.pub, rp.n, rp.nlen);
		pk.pub_len = (uint16_t)rp.nlen;
		for (e = 0; e < rp.elen && rp.e[e] == 0; e++)
			;
		memcpy(pk.e, rp.e + e, rp.elen - e);
		pk.e_len = (uint8_t)(rp.elen - e);
		memset(kpriv, 0, sizeof kpriv);
		memset(dexp, 0, sizeof dexp);
	} else {
		sealctl_msg(CMD, "--algo: expected ecdsa-p256, rsa2048 or rsa4096, found '%s'", algo);
		return SEALCTL_USAGE;
	}
	memset(&rng, 0, sizeof rng);
	if (dlen == 0)
		return sealctl_report(CMD, algo, SI_E_SIGN, NULL);
	r = write_pem(out, "PRIVATE KEY", der, dlen, 1);
	memset(der, 0, sizeof der);
	if (r)
		return r;
	if (pub) {
		slen = si_key_encode_spki(&pk, spki, sizeof spki);
		if (slen == 0)
			return sealctl_report(CMD, pub, SI_E_TOO_BIG, NULL);
		r = write_pem(pub, "PUBLIC KEY", spki, slen, 0);
		if (r)
			return r;
	}
	si_key_fingerprint(&pk);
	{
		char hex[65];
		si_hex(hex, pk.fingerprint, 32);
		printf("%s: %s key, id %s\n", out, algo, hex);
	}
	return SEALCTL_OK;
}
