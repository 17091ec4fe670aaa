/* sealinit patch/: making patches (host side: sealctl and the tests link
 * this with libzstd and libdivsufsort; sealinit does not), and sealctl's
 * stream decoder, which is sealinit's (patch/zstd.h). */
#ifndef SEALINIT_PATCH_DIFF_H
#define SEALINIT_PATCH_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"

/* The phases of a diff, in order, for progress reports. */
enum patch_diff_phase {
	PATCH_DIFF_SORT = 0,   /* suffix-sorting the old image (done: 0, then total) */
	PATCH_DIFF_MATCH = 1,  /* matching the new image against it (bytes of new) */
	PATCH_DIFF_ENCODE = 2, /* compressing the segments (segments) */
};

/* Called from the calling thread, or serialised from the compression
 * workers; done == total ends a phase. */
typedef void (*patch_diff_progress_fn)(void *ctx, enum patch_diff_phase phase,
				       uint64_t done, uint64_t total);

struct patch_diff_opts {
	uint32_t seg_size; /* power of two, PATCH_SEG_MIN..PATCH_SEG_MAX; 0:
			    * patch_diff_seg_size of the new image */
	int level;         /* zstd level for every stream */
	unsigned threads;  /* compression workers */
	const struct patch_seals *seals; /* NULL: raw images */
	patch_diff_progress_fn progress; /* NULL: none */
	void *pctx;
	int no_expand;     /* plan no expansions (the trial diffs of an xz member) */
};

/* What the diff found, for `sealctl diff --verbose` and tuning. */
struct patch_diff_stats {
	uint64_t ops[6], bytes[6]; /* by enum patch_op */
	uint64_t ctrl_c, diff_c, lit_c; /* encoded stream bytes */
	uint64_t map_pieces, map_c;     /* the target map: pieces, encoded bytes */
	uint64_t xadd_saved;            /* difference bytes XADD made zero */
	uint64_t nexp;                  /* gzip and xz members diffed decompressed */
	uint64_t gz_reuse;              /* gzip members with a reuse list */
	uint64_t xz_tried, xz_split;    /* xz streams tried both ways, and split */
	uint64_t dfl_split;             /* deflate members split into data and parse */
	uint64_t zs_split;              /* zstd frames split into data and parse */
	uint64_t lit_filtered;          /* segments whose literals the x86-64 filter made smaller */
};

/* The segment size a diff takes by default for a new image of new_size
 * bytes: the largest power of two at most new_size / 16, within 1..4 MiB.
 * An apply's workers take segments one at a time, so the last one to
 * finish ends the apply; at least 16 keep two to eight workers busy to the
 * end where the image allows (on the os pair, 22 MB: 4 MiB segments 37.6
 * ms, 1 MiB 33.9, the patch 2 % larger), and a large image keeps 4 MiB,
 * whose patch is the smallest (docs/formats.md, "Shape"). */
uint32_t patch_diff_seg_size(uint64_t new_size);

/* Makes the patch old -> new in malloc'd memory (*out, *out_len). */
int patch_diff(const uint8_t *old, size_t old_len, const uint8_t *nw, size_t new_len,
	       const struct patch_diff_opts *opt, uint8_t **out, size_t *out_len,
	       struct patch_diff_stats *st, struct si_diag *d) SI_WUR;

/* patch_decode_fn for stored and zstd streams: patch_zstd_decode with a
 * decoder of its own per call (ctx unused; the host may allocate). */
int patch_decode_zstd(void *ctx, int codec, const uint8_t *src, size_t slen, uint8_t *dst,
		      size_t dlen) SI_WUR;

#endif
