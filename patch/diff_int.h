/* sealinit patch/: what the build side's files share (diff.c, match.c). */
#ifndef SEALINIT_PATCH_DIFF_INT_H
#define SEALINIT_PATCH_DIFF_INT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "lib/err.h"
#include "patch/patch.h"

/* One operation before encoding: new[dst, dst+len) from old[src, ...). */
struct op {
	uint8_t kind;
	uint64_t dst, src, len;
};

struct ops {
	struct op *v;
	size_t n, cap;
};

int ops_push(struct ops *o, uint8_t kind, uint64_t dst, uint64_t src, uint64_t len) SI_WUR;

/* Makes room for one more element in *v (n used of *cap), doubling from
 * first; 0 or SI_E_NOMEM (then *v is unchanged). */
int diff_grow(void *v, size_t n, size_t *cap, size_t elem, size_t first) SI_WUR;

/* Equal leading bytes of a[0..an) and b[0..bn) (inline: the matcher calls
 * it hundreds of millions of times on a large image). */
static inline size_t match_len(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	size_t i, n = an < bn ? an : bn;

	for (i = 0; i + 8 <= n; i += 8) {
		uint64_t x, y;

		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return i + (size_t)(__builtin_ctzll(x ^ y) >> 3);
	}
	for (; i < n && a[i] == b[i]; i++)
		;
	return i;
}

/* A cover new[dst, dst+len) from old[dst+d, ...): ADD, with long exact runs
 * as COPY. */
int emit_cover(struct ops *o, const uint8_t *old, const uint8_t *nw, uint64_t dst,
	       uint64_t len, int64_t d) SI_WUR;
/* Literal new[dst, dst+len), with long zero runs as ZERO. */
int emit_lit(struct ops *o, const uint8_t *nw, uint64_t dst, uint64_t len) SI_WUR;

/* Cover selection (see match.c): a new alignment is taken when its match,
 * judged with the `window` bytes after it when shorter than `big`, beats
 * the current alignment by `k` bytes and reaches `min` (`min_strict` in the
 * strict ranges); covers extend while w-times more bytes agree than not
 * (`w_strict` in the strict ranges); chains are walked to `depth`. */
struct match_tune {
	long k, big, window, min, depth, min_strict, w, w_strict;
	long far, far_elf; /* per byte of a far source delta, outside / inside ELF files */
};

/* A new range matched first against an old range: a file and its old
 * version (sorted by new_lo, disjoint). */
struct match_pair {
	uint64_t new_lo, new_hi, old_lo, old_hi;
};

/* Tests: how many of the searches sa_many and midx_many make in batches
 * of sixteen differ from the same searches made one at a time (at every
 * new position, against old's suffix array and a depth-16 index); SIZE_MAX
 * when they could not be made. */
size_t match_batch_check(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn);

/* The length of the text a file's suffix array is made of: b[0..n) with
 * its runs of one byte value longer than 4096 cut to 4096 (match.c). */
size_t match_sa_text_len(const uint8_t *b, size_t n);

/* Tests: how many of the suffix-array searches made through the array of
 * old with its long runs cut (see match.c) at each new position outside
 * such a run give a match that is not one, or is not measured to its end,
 * or is shorter than the whole file's array finds where that match's
 * source has no run longer than FILL_RUN; the cuts made in *ncut.
 * SIZE_MAX when they could not be made. */
size_t match_cut_check(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn, size_t *ncut);

/* Covers of nw[0..nn) against old[0..on), appended to o.  The ranges of
 * `skip` (sorted, disjoint: the expansions' new extents, which the apply
 * writes itself) are not probed and no cover extends into them. */
int match_run(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn,
	      const struct match_pair *pairs, size_t npairs, const struct patch_ext *strict,
	      size_t nstrict, const struct patch_ext *elf, size_t nelf,
	      const struct patch_ext *skip, size_t nskip, const struct match_tune *t,
	      unsigned threads, struct ops *o) SI_WUR;

/* A gzip or xz member of the new image diffed decompressed (plan.c). */
struct diff_exp {
	struct patch_ext old_ext[2], new_ext[2];
	uint8_t kind, n_old, n_new, hdr_len;
	uint8_t hdr[32];         /* the entry's bytes 88..120, zero past use */
	uint32_t reuse_len;      /* a gzip member's reuse list, at the end of u_new */
	uint8_t *u_old, *u_new;  /* decompressed members (malloc'd) */
	uint64_t u_old_len, u_new_len;
	uint64_t src_base;       /* u_old's place in the source space */
};

/* What the diff knows about the images before matching (plan.c). */
struct diff_plan {
	int arch;          /* enum patch_arch of the executables inside */
	uint32_t xz_tried; /* xz streams whose two forms a trial compared */
	uint32_t gz_reuse; /* gzip members with a reuse list */
	uint32_t nexp;
	struct diff_exp *exp;
	struct match_pair *pairs; /* changed files and their old versions */
	size_t npairs;
	struct patch_ext *btf;    /* BTF sections in the new image, sorted */
	size_t nbtf;
	struct patch_ext *elf;    /* ELF files in the new image, sorted */
	size_t nelf;
};

/* opt: the diff's, for the trials that decide an xz member's form. */
struct patch_diff_opts;
int diff_plan_make(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn,
		   const struct patch_diff_opts *opt, struct diff_plan *p) SI_WUR;
void diff_plan_free(struct diff_plan *p);

#endif
