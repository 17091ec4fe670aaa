/* sealctl: signers for seal and kc -- a private key file, or an external
 * signing helper (tools/signer.c describes its convention). */
#ifndef SEALINIT_TOOLS_SIGNER_H
#define SEALINIT_TOOLS_SIGNER_H

#include <limits.h>

#include "verify/key.h"
#include "verify/seal.h"

struct sealctl_signer {
	struct si_signer s;      /* what verify/seal_build.c calls */
	struct si_privkey priv;  /* a private key file's key (zeroed by _done) */
	struct si_key pub;
	const char *helper;      /* NULL: priv signs */
	char pub_arg[PATH_MAX];  /* the public key file as the helper gets it */
};

/* key is the private key file, or with a helper the public key file.
 * 0 or an exit code (after reporting). */
int sealctl_signer_load(const char *cmd, const char *key, const char *helper,
			struct sealctl_signer *sg);
void sealctl_signer_done(struct sealctl_signer *sg);
/* The file a signing failure concerns: the helper when one signed and the
 * error is the signature's (it failed, lied, or returned the wrong
 * length), else other. */
const char *sealctl_signer_blame(const char *helper, int err, const char *other);
/* SHA256_ECDSA_P256, SHA256_RSA2048, SHA256_RSA4096: the helper's first argument. */
const char *sealctl_signer_algo_name(enum si_algo a);

#endif
