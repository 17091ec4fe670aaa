/* sealinit tests: private keys from tests/vectors/seal/ (run from the top
 * directory).  Shared by the seal and plan tests. */
#ifndef SEALINIT_TESTS_T_KEY_H
#define SEALINIT_TESTS_T_KEY_H

#include <stdio.h>
#include <stdlib.h>

#include "tests/unit/t.h"
#include "verify/key.h"

#define T_VEC "tests/vectors/seal/"

/* Exits 2 when the file is not a usable private key. */
static inline void t_load_key(const char *path, struct si_privkey *k)
{
	size_t n;
	uint8_t *b = t_slurp(path, &n);

	if (si_key_parse_private(b, n, k, NULL) != 0) {
		fprintf(stderr, "%s: not a usable private key\n", path);
		exit(2);
	}
	free(b);
}

#endif
