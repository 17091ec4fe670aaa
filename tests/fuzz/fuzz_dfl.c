/* libFuzzer target: deflate members in decompressed space (patch/gz.c,
 * kind 3), the code the apply runs on the old image's gzip members and
 * zlib streams (split) and on the patch's data and parse (join).  Input
 * byte 0 picks the mode:
 *   even: the rest is a member.  Whatever split accepts, join must give
 *         back byte for byte (the property the diff relies on), and its
 *         data must be what the plain inflate makes of the stream.
 *   odd:  the rest is data (byte 1: its share of the rest, in 256ths)
 *         then a parse, joined; a result that splits must join back byte
 *         for byte.
 * Members are kept under 256 KiB. */
#include <stdlib.h>
#include <string.h>

#include "patch/gz.h"
#include "tests/unit/t_xzbuf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CAP (1u << 18)
#define DCAP (CAP * 16) /* data: deflate expands up to 1032 times */

static struct patch_dfl *z;
static struct patch_inflate *inf;
static struct xbuf in, dat, par, out, ref, dat2, par2;

static void setup(void)
{
	struct xbuf *v[] = { &in, &dat, &par, &out, &ref, &dat2, &par2 };
	size_t i;

	z = malloc(sizeof *z);
	inf = malloc(sizeof *inf);
	for (i = 0; i < sizeof v / sizeof v[0]; i++) {
		v[i]->cap = v[i] == &dat || v[i] == &ref || v[i] == &dat2 ? DCAP : CAP * 4;
		v[i]->p = malloc(v[i]->cap);
		if (!v[i]->p)
			abort();
	}
	if (!z || !inf)
		abort();
}

static int split(struct xbuf *m, struct xbuf *d, struct xbuf *p)
{
	struct xpair t = { d, p, DCAP };
	uint64_t dl = 0, pl = 0;

	d->n = p->n = 0;
	return patch_dfl_split(z, xbuf_read, m, m->n, xpair_write, &t, 0, DCAP, DCAP, CAP * 4, &dl,
			       &pl, NULL);
}

static int join(struct xbuf *d, struct xbuf *p, struct xbuf *m, uint64_t *ml)
{
	struct xpair t = { d, p, DCAP };

	m->n = 0;
	return patch_dfl_join(z, xpair_read, &t, 0, d->n, DCAP, p->n, xbuf_write, m, m->cap, ml,
			      NULL);
}

/* The member's deflate stream inflated plainly into ref: its header is a
 * gzip one (from the parse's first container bytes) or zlib's two. */
static void check_data(const struct xbuf *m, const struct xbuf *p, const struct xbuf *d)
{
	uint64_t hl = 0, used, ol, tl = m->p[0] == 0x1f ? 8 : 4;
	uint32_t crc;
	size_t k;

	/* 0xf0, LEB128 length */
	for (k = 1; p->n > 1 && p->p[0] == 0xf0 && k < p->n && k < 4; k++) {
		hl |= (uint64_t)(p->p[k] & 0x7f) << (7 * (k - 1));
		if (!(p->p[k] & 0x80))
			break;
	}

	if (hl == 0 || hl + tl > m->n)
		abort(); /* split always writes the header first */
	ref.n = 0;
	if (patch_inflate_run(inf, xbuf_read, (void *)m, hl, m->n - hl - tl, xbuf_write, &ref, 0,
			      DCAP, NULL, &used, &ol, &crc) != 0 ||
	    used != m->n - hl - tl || ol != d->n || memcmp(ref.p, d->p, d->n) != 0)
		abort(); /* split's data is not the stream's */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t ml = 0;

	if (!z)
		setup();
	if (size < 1 || size - 1 > CAP)
		return 0;
	if (!(data[0] & 1)) {
		memcpy(in.p, data + 1, size - 1);
		in.n = size - 1;
		if (split(&in, &dat, &par) != 0)
			return 0;
		if (join(&dat, &par, &out, &ml) != 0 || ml != in.n || memcmp(out.p, in.p, in.n) != 0)
			abort(); /* accepted, but not given back */
		check_data(&in, &par, &dat);
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
	if (split(&out, &dat2, &par2) != 0)
		return 0;
	if (join(&dat2, &par2, &in, &ml) != 0 || ml != out.n || memcmp(in.p, out.p, out.n) != 0)
		abort();
	return 0;
}
