/* sealctl: helpers the seal commands share (keygen, seal, verify, inspect,
 * anchor): option parsing, mapped images, keys and anchors from files. */
#ifndef SEALINIT_TOOLS_SEALCMD_H
#define SEALINIT_TOOLS_SEALCMD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "plan/plan.h"
#include "verify/anchor.h"
#include "verify/key.h"
#include "verify/seal.h"

/* A read-only mapping of a whole file or block device. */
struct sealcmd_image {
	int fd;
	const uint8_t *map;
	size_t len;
};

/* Returns 0 or a sealctl exit code (after reporting). */
int sealcmd_image_open(const char *cmd, const char *path, struct sealcmd_image *img);
void sealcmd_image_close(struct sealcmd_image *img);

/* Which sealed image img[0..len) is: its (unverified) seal and the SHA-256
 * of its signed manifest.  0 when it is a sealed image with a SHA-256 root
 * hash; an error code (nothing reported) otherwise. */
int sealcmd_seal_id(const uint8_t *img, size_t len, struct si_seal_unverified *s,
		    uint8_t manifest_digest[32]);

/* The board this sealctl was built for (its Kconfig): the policy doctor
 * and verify apply, and what U-Boot keys may sign by default. */
const struct plan_board *sealcmd_board(void);

/* Load keys and anchors; 0 or an exit code (after reporting). */
int sealcmd_load_pub(const char *cmd, const char *path, struct si_key *k);
int sealcmd_load_priv(const char *cmd, const char *path, struct si_privkey *k);
int sealcmd_load_anchor(const char *cmd, const char *path, struct si_anchor *a);

/* "--name value" or "--name=value" at argv[*i]; advances *i past it.
 * Returns 1 when matched (value in *val), 0 when not, -1 when the value is
 * missing (after reporting). */
int sealcmd_opt(const char *cmd, int argc, char **argv, int *i,
		const char *name, const char **val);
int sealcmd_is_help(const char *arg);

/* One option of a command: "--name VALUE" (or "--name=VALUE") into *value,
 * or, when value is NULL, a flag "--name" that sets *flag to 1. */
struct sealcmd_optdef {
	const char *name;
	const char **value;
	int *flag;
};

#define SEALCMD_HELP (-1)

/* Parses argv[1..argc): the table's options anywhere, the other arguments
 * into positional[0..npos) in order.  Returns 0; SEALCMD_HELP after
 * printing usage(stdout) for --help (the caller returns SEALCTL_OK); or
 * SEALCTL_USAGE after reporting an unknown option, a missing value or one
 * positional argument too many (with usage(stderr)). */
int sealcmd_parse(const char *cmd, int argc, char **argv,
		  const struct sealcmd_optdef *defs, size_t ndefs,
		  const char **positional, size_t npos, void (*usage)(FILE *f));

/* Strict u64 from an option; 0 or SEALCTL_USAGE after reporting. */
int sealcmd_u64(const char *cmd, const char *opt, const char *s, uint64_t *out);

#endif
