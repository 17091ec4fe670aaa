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
#include "tools/json.h"
#include "tools/out.h"
#include "tools/sealcmd.h"
#include "tools/sealctl.h"

#define CMD "keygen"

static int write_pem(const char *path, const char *banner, const uint8_t *der,
		     size_t len, unsigned flags)
{
	size_t n = br_pem_encode(NULL, der, len, banner, BR_PEM_LINE64);
	char *pem = malloc(n + 1);
	int r;

	if (!pem)
		return sealctl_report(CMD, path, SI_E_NOMEM, NULL);
	br_pem_encode(pem, der, len, banner, BR_PEM_LINE64);
	r = sealctl_out_file(CMD, path, flags, pem, n);
	memset(pem, 0, n);
	free(pem);
	return r;
}

int sealctl_cmd_keygen(int argc, char **argv)
{
	const char *algo = NULL, *out = NULL, *pub = NULL;
	br_hmac_drbg_context rng;
	uint8_t seed[48], der[SI_KEY_DER_MAX], spki[SI_KEY_DER_MAX];
	struct si_key pk;
	size_t dlen = 0, slen;
	unsigned flags;
	int force = 0, json = 0, r;
	const struct sealcmd_optdef defs[] = {
		{ "--algo", NULL, &algo, NULL }, { "--output", "-o", &out, NULL },
		{ "--pub", NULL, &pub, NULL }, { "--force", NULL, NULL, &force },
		{ "--json", NULL, NULL, &json },
	};

	r = sealcmd_parse(CMD, argc, argv, defs, SI_ARRAY_SIZE(defs), NULL, 0, NULL);
	if (r)
		return r == SEALCMD_HELP ? SEALCTL_OK : r;
	if (!algo || !out)
		return sealctl_usage_error(CMD, "--algo and -o are required");
	if (strcmp(algo, "ecdsa-p256") && strcmp(algo, "rsa2048") && strcmp(algo, "rsa4096"))
		return sealctl_usage_error(CMD, "--algo: expected ecdsa-p256, rsa2048 or rsa4096, "
					   "found '%s'", algo);
	if ((r = sealctl_out_distinct(CMD, out, pub)) != 0)
		return r;
	/* Never replace a key without --force: checked before the work, and
	 * again by the rename itself. */
	flags = force ? 0 : SEALCTL_OUT_NOCLOBBER;
	{
		struct stat st;
		const char *paths[2] = { out, pub };
		int i;

		for (i = 0; i < 2; i++)
			if (paths[i] && !force && lstat(paths[i], &st) == 0)
				return sealctl_usage_error(CMD, "%s exists; --force replaces it",
							   paths[i]);
	}
	if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed)
		return sealctl_report_errno(CMD, "getrandom", SI_E_IO, errno);
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
	} else {
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
	}
	memset(&rng, 0, sizeof rng);
	if (dlen == 0)
		return sealctl_report(CMD, algo, SI_E_SIGN, NULL);
	r = write_pem(out, "PRIVATE KEY", der, dlen, flags | SEALCTL_OUT_PRIVATE);
	memset(der, 0, sizeof der);
	if (r)
		return r;
	if (pub) {
		slen = si_key_encode_spki(&pk, spki, sizeof spki);
		if (slen == 0)
			return sealctl_report(CMD, pub, SI_E_TOO_BIG, NULL);
		r = write_pem(pub, "PUBLIC KEY", spki, slen, flags);
		if (r)
			return r;
	}
	si_key_fingerprint(&pk);
	if (json) {
		struct json j;

		json_begin(&j, stdout, CMD, 1);
		json_str(&j, "key_file", out);
		json_str(&j, "public_key_file", pub);
		json_str(&j, "algorithm", algo);
		json_keyid(&j, "key_id", pk.fingerprint);
		json_end(&j);
	} else {
		char id[SEALCTL_KEYID_SHORT + 1];

		sealctl_keyid_short(id, pk.fingerprint);
		printf("%s: %s key %s%s%s\n", out, algo, id, pub ? ", public key in " : "",
		       pub ? pub : "");
	}
	return SEALCTL_OK;
}
