/* libFuzzer target: xz members in decompressed space (patch/xz.c), the
 * code the apply runs on the old image's xz streams (split) and on the
 * patch's data and parse (join).  Input byte 0 picks the mode:
 *   even: the rest is a member.  Whatever split accepts, join must give
 *         back byte for byte (the property the diff relies on), and when
 *         the stream's one block has no filter before LZMA2, liblzma must
 *         decode it to the same data when it accepts it too (liblzma also
 *         checks the stored CRC, which split copies unread).
 *   odd:  the rest is data (its first byte: how much) then a parse, joined
 *         (join copies container bytes unread, so what it makes need not
 *         split); a result that splits must join back byte for byte.
 * The window is smaller than the data here only for long inputs: runs
 * are kept under 1 MiB of data. */
#include <stdlib.h>
#include <string.h>

#include <lzma.h>

#include "patch/xz.h"
#include "tests/unit/t_xzbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP (1u << 20)

static struct patch_xz *z;
static struct xbuf in, dat, par, out, ref, dat2, par2;

static void setup(void)
{
	struct xbuf *v[] = { &in, &dat, &par, &out, &ref, &dat2, &par2 };
	size_t i;

	z = malloc(sizeof *z);
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		v[i]->p = malloc(CAP);
		v[i]->cap = CAP;
		if (!v[i]->p)
			abort();
	}
	if (!z)
		abort();
}

static int split(struct xbuf *m, struct xbuf *d, struct xbuf *p, uint64_t *used)
{
	struct xpair t = { d, p, CAP };
	uint64_t dl, pl;

	d->n = p->n = 0;
	return patch_xz_split(z, xbuf_read, m, m->n, xpair_write, &t, xpair_read, &t, 0, CAP, CAP,
			      CAP, &dl, &pl, used, NULL);
}

static int join(struct xbuf *d, struct xbuf *p, struct xbuf *m, uint64_t *ml)
{
	struct xpair t = { d, p, CAP };

	m->n = 0;
	return patch_xz_join(z, xpair_read, &t, 0, d->n, CAP, p->n, xbuf_write, m, CAP, ml, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t used = 0, ml = 0;

	if (!z)
		setup();
	if (size < 1 || size - 1 > CAP)
		return 0;
	if (!(data[0] & 1)) {
		memcpy(in.p, data + 1, size - 1);
		in.n = size - 1;
		if (split(&in, &dat, &par, &used) != 0)
			return 0;
		if (join(&dat, &par, &out, &ml) != 0 || ml != used || memcmp(out.p, in.p, used) != 0)
			abort(); /* accepted, but not given back */
		/* one block (at 12), one filter: LZMA2's output is the data */
		if (in.n > 13 && (in.p[13] & 3) == 0) {
			uint64_t limit = UINT64_MAX;
			size_t ip = 0, op = 0;

			if (lzma_stream_buffer_decode(&limit, LZMA_IGNORE_CHECK, NULL, in.p, &ip,
						      (size_t)used, ref.p, &op, CAP) == LZMA_OK &&
			    ip == used && (op != dat.n || memcmp(ref.p, dat.p, op) != 0))
				abort(); /* liblzma decodes it to other data */
		}
		return 0;
	}
	if (size >= 2) {
		size_t dn = (size_t)data[1] * (size - 2) / 256;

		memcpy(dat.p, data + 2, dn);
		dat.n = dn;
		memcpy(par.p, data + 2 + dn, size - 2 - dn);
		par.n = size - 2 - dn;
		if (join(&dat, &par, &out, &ml) != 0 || split(&out, &dat2, &par2, &used) != 0)
			return 0;
		if (join(&dat2, &par2, &ref, &ml) != 0 || ml != used || memcmp(ref.p, out.p, used) != 0)
			abort(); /* accepted, but not given back */
	}
	return 0;
}
