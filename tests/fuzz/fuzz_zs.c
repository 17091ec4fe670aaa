/* libFuzzer target: zstd frames in decompressed space (patch/zs.c, kind
 * 4), the code the apply runs on the old image's zstd frames (split) and
 * on the patch's data and parse (join).  Input byte 0 picks the mode:
 *   even: the rest is a frame.  Whatever split accepts, join must give
 *         back byte for byte (the property the diff relies on), and its
 *         data must be what libzstd decodes the frame to.
 *   odd:  the rest is data (byte 1: its share of the rest, in 256ths)
 *         then a parse, joined; a result that splits must join back byte
 *         for byte (the frame the split reads: the bytes it used).
 * Frames are kept under 256 KiB, their data under 4 MiB. */
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "patch/zs.h"
#include "tests/unit/t_xzbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP (1u << 18)
#define DCAP (CAP * 16)

static struct patch_zs *z;
static struct xbuf in, dat, par, out, ref, dat2, par2;

static void setup(void)
{
	struct xbuf *v[] = { &in, &dat, &par, &out, &ref, &dat2, &par2 };
	size_t i;

	z = malloc(sizeof *z);
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		v[i]->cap = v[i] == &dat || v[i] == &ref || v[i] == &dat2 ? DCAP : CAP * 4;
		v[i]->p = malloc(v[i]->cap);
		if (!v[i]->p)
			abort();
	}
	if (!z)
		abort();
}

static int split(struct xbuf *m, struct xbuf *d, struct xbuf *p, uint64_t *used)
{
	struct xpair t = { d, p, DCAP };
	uint64_t dl = 0, pl = 0;

	d->n = p->n = 0;
	return patch_zs_split(z, xbuf_read, m, m->n, xpair_write, &t, xpair_read, &t, 0, DCAP, DCAP,
			      CAP * 4, &dl, &pl, used, NULL);
}

static int join(struct xbuf *d, struct xbuf *p, struct xbuf *m, uint64_t *ml)
{
	struct xpair t = { d, p, DCAP };

	m->n = 0;
	return patch_zs_join(z, xpair_read, &t, 0, d->n, DCAP, p->n, xbuf_write, m, m->cap, ml,
			     NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t ml = 0, used = 0;

	if (!z)
		setup();
	if (size < 1 || size - 1 > CAP)
		return 0;
	if (!(data[0] & 1)) {
		size_t rn;

		memcpy(in.p, data + 1, size - 1);
		in.n = size - 1;
		if (split(&in, &dat, &par, &used) != 0)
			return 0;
		if (join(&dat, &par, &out, &ml) != 0 || ml != used || memcmp(out.p, in.p, used) != 0)
			abort(); /* accepted, but not given back */
		/* libzstd may refuse what the split takes (a block larger than
		 * the window); what it decodes must be the split's data */
		rn = ZSTD_decompress(ref.p, ref.cap, in.p, used);
		if (!ZSTD_isError(rn) && (rn != dat.n || memcmp(ref.p, dat.p, rn) != 0))
			abort(); /* split's data is not the frame's */
		return 0;
	}
	if (size < 2)
		return 0;
	{
		size_t rest = size - 2, dn = rest * data[1] / 256;

		memcpy(dat.p, data + 2, dn);
		dat.n = dn;
		memcpy(par.p, data + 2 + dn, rest - dn);
		par.n = rest - dn;
	}
	out.cap = CAP * 4;
	if (join(&dat, &par, &out, &ml) != 0)
		return 0;
	if (split(&out, &dat2, &par2, &used) != 0)
		return 0;
	/* the container bytes are copied as they are: a frame header longer
	 * than its fields say ends the frame the split reads before the end */
	if (join(&dat2, &par2, &in, &ml) != 0 || ml != used || memcmp(in.p, out.p, used) != 0)
		abort();
	return 0;
}
