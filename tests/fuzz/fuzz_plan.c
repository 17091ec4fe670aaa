/* libFuzzer target: the diff's plan (patch/plan.c), what it reads of the
 * two images before matching: erofs superblocks, inodes and directories;
 * in other images, gzip headers and deflate streams, zlib streams and
 * zstd frames at any offset (then split and joined: kinds 3 and 4), xz
 * headers, footers
 * and indexes found where a file can begin; the members' pairing.  The
 * images are the build server's, but the plan must not crash, read out of
 * bounds or leak on any bytes, and what it plans must lie inside them.
 * Input: u16 (little-endian) the old image's length, then the old image,
 * then the new one.  Seeds: tests/fuzz/make-corpus (tars with gzip and xz
 * members, erofs images). */
#include <stdlib.h>
#include <string.h>

#include "lib/bytes.h"
#include "patch/diff.h"
#include "patch/diff_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ext_inside(const struct patch_ext *e, unsigned n, size_t img)
{
	unsigned j;

	for (j = 0; j < n; j++)
		if (e[j].len == 0 || e[j].off > img || e[j].len > img - e[j].off)
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct patch_diff_opts o = { .seg_size = 4096, .level = 1, .threads = 1 };
	struct diff_plan p;
	size_t on, nn;
	uint8_t *old, *nw;
	uint32_t k;

	if (size < 2)
		return 0;
	on = si_le16(data);
	if (on > size - 2)
		on = size - 2;
	nn = size - 2 - on;
	/* copies of their own size: a read past either is ASan's */
	old = malloc(on ? on : 1);
	nw = malloc(nn ? nn : 1);
	if (!old || !nw)
		abort();
	memcpy(old, data + 2, on);
	memcpy(nw, data + 2 + on, nn);
	if (diff_plan_make(old, on, nw, nn, &o, &p) == 0) {
		for (k = 0; k < p.nexp; k++) {
			const struct diff_exp *x = &p.exp[k];

			if (!ext_inside(x->old_ext, x->n_old, on) ||
			    !ext_inside(x->new_ext, x->n_new, nn) || x->n_old > 2 || x->n_new > 2)
				abort();
			if (k && x->new_ext[0].off < p.exp[k - 1].new_ext[0].off)
				abort(); /* the format wants them in order */
		}
		diff_plan_free(&p);
	}
	free(old);
	free(nw);
	return 0;
}
