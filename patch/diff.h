/* sealinit patch/: making patches and the zstd stream decoder (host side:
 * sealctl, tests and the fuzzer link these with libzstd;
 * sealinit does not). */
#ifndef SEALINIT_PATCH_DIFF_H
#define SEALINIT_PATCH_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"

struct patch_diff_opts {
	uint32_t seg_size; /* power of two, PATCH_SEG_MIN..PATCH_SEG_MAX */
	int level;         /* zstd level for every stream */
	unsigned threads;  /* compression workers */
	const struct patch_seals *seals; /* NULL: raw images */
};

/* What the diff found, for `sealctl diff --verbose` and tuning. */
struct patch_diff_stats {
	uint64_t ops[6], bytes[6]; /* by enum patch_op */
	uint64_t ctrl_c, diff_c, lit_c; /* encoded stream bytes */
	uint64_t map_pieces, map_c;     /* the target map: pieces, encoded bytes */
	uint64_t xadd_saved;            /* difference bytes XADD made zero */
	uint64_t nexp;                  /* gzip members diffed decompressed */
};

/* Makes the patch old -> new in malloc'd memory (*out, *out_len). */
int patch_diff(const uint8_t *old, size_t old_len, const uint8_t *nw, size_t new_len,
	       const struct patch_diff_opts *opt, uint8_t **out, size_t *out_len,
	       struct patch_diff_stats *st, struct si_diag *d) SI_WUR;

/* patch_decode_fn for stored and zstd streams. */
int patch_decode_zstd(void *ctx, int codec, const uint8_t *src, size_t slen, uint8_t *dst,
		      size_t dlen) SI_WUR;

#endif
