/* sealinit patch/: kind 4, zstd frames split into data and parse and
 * joined back (zs.h says what the parse holds).  The split is a zstd
 * decoder (RFC 8878: the frame header, raw, RLE and compressed blocks,
 * Huffman-coded literals in one or four streams, FSE-coded sequences with
 * predefined, RLE, described and repeated tables, repeat offsets) that
 * writes down what it decodes; the join is the encoder's last stage only:
 * Huffman codes and FSE states are functions of the tables the parse
 * keeps, so given the symbols they make the same bits.  Every length and
 * table is checked on both sides: the parse is untrusted at the apply
 * (what the join makes is checked by the segments' digests, as every byte
 * of the result is). */
#include <assert.h>
#include <string.h>

#include "lib/bytes.h"
#include "patch/zs.h"

static_assert(ZS_KEEP + ZS_BLOCK_MAX <= ZS_OB, "a block must fit after what is kept");

static int fail(struct patch_zs *z, const char *why)
{
	z->why = why;
	z->vals = 0;
	return SI_E_PATCH_EXPAND;
}

/* A refusal with the value wanted (a bound) and the one found. */
static int fail_v(struct patch_zs *z, const char *why, uint64_t want, uint64_t found)
{
	fail(z, why);
	z->vals = 1;
	z->want = want;
	z->found = found;
	return SI_E_PATCH_EXPAND;
}

/* The refusal r, if any, into d: its field, and its values when it has
 * them (a callback's error names the coder's part only). */
static int report(const struct patch_zs *z, int r, struct si_diag *d)
{
	if (r && d) {
		si_diag_field(d, z->why ? z->why : "zs.parse");
		if (z->why && z->vals)
			si_diag_values(d, z->want, z->found);
	}
	return r;
}

static unsigned hb32(uint32_t v)
{
	return 31u - (unsigned)__builtin_clz(v);
}

/* --------------------------------------------------------------- streams
 * xz.c's (patch_xs_*), by shorter names, and a byte put */
#define st_init patch_xs_init
#define st_flush patch_xs_flush
#define st_put patch_xs_put
#define st_putv patch_xs_put_varint
#define st_get patch_xs_get
#define st_byte patch_xs_byte
#define st_leb patch_xs_varint

static int st_putb(struct xz_stream *s, unsigned b)
{
	uint8_t c = (uint8_t)b;

	return st_put(s, &c, 1);
}

/* ------------------------------------------------------------- bit readers */
/* bits [s, s + n) of p[0..len), bit 0 the low bit of p[0]; n <= 32 */
static uint64_t bits_at(const uint8_t *p, size_t len, uint64_t s, unsigned n)
{
	size_t i = (size_t)(s >> 3), k;
	uint64_t x = 0;

	if (n == 0)
		return 0;
	if (len >= 8 && i <= len - 8) {
		x = si_le64(p + i);
	} else {
		for (k = 0; k < 8 && i + k < len; k++)
			x |= (uint64_t)p[i + k] << (8 * k);
	}
	return (x >> (s & 7)) & (((uint64_t)1 << n) - 1);
}

/* A backward bit stream (4.1 of the RFC: read from its end, the last
 * byte's highest set bit a marker): pos bits left; reading past the start
 * gives zeros and makes pos negative. */
struct br {
	const uint8_t *p;
	size_t len;
	int64_t pos;
};

static int br_init(struct br *b, const uint8_t *p, size_t len)
{
	if (len == 0 || p[len - 1] == 0)
		return -1;
	b->p = p;
	b->len = len;
	b->pos = (int64_t)(8 * (len - 1) + hb32(p[len - 1]));
	return 0;
}

static uint32_t br_peek(const struct br *b, unsigned n)
{
	int64_t s = b->pos - (int64_t)n;

	if (s >= 0)
		return (uint32_t)bits_at(b->p, b->len, (uint64_t)s, n);
	if (b->pos <= 0)
		return 0;
	return (uint32_t)(bits_at(b->p, b->len, 0, (unsigned)b->pos) << (unsigned)-s);
}

static uint32_t br_get(struct br *b, unsigned n)
{
	uint32_t v = br_peek(b, n);

	b->pos -= n;
	return v;
}

/* --------------------------------------------------------------- FSE */
static const int16_t ll_norm[36] = { 4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 2, 2,
				     2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1, -1, -1, -1, -1 };
static const int16_t ml_norm[53] = { 1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1,
				     1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
				     1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1, -1, -1 };
static const int16_t of_norm[29] = { 1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1,
				     1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1 };

static const uint32_t ll_base[36] = {
	0,  1,  2,  3,  4,  5,  6,  7,  8,   9,   10,  11,   12,   13,   14,   15,    16,    18,
	20, 22, 24, 28, 32, 40, 48, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 32768, 65536
};
static const uint8_t ll_bits[36] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  0,  0,  0,  0,  0,  0,  1,  1,
				     1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
static const uint32_t ml_base[53] = {
	3,  4,  5,  6,  7,  8,  9,  10,  11,  12,  13,   14,   15,   16,   17,    18,    19,    20,
	21, 22, 23, 24, 25, 26, 27, 28,  29,  30,  31,   32,   33,   34,   35,    37,    39,    41,
	43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051, 4099, 8195, 16387, 32771, 65539
};
static const uint8_t ml_bits[53] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
				     0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1,
				     2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

enum { T_LL, T_OF, T_ML };
static const unsigned t_maxsym[3] = { 35, 31, 52 }, t_maxlog[3] = { 9, 8, 9 };

/* Builds the table of normalized counts norm[0..nsym) (4.1.1). */
static int fse_build(struct zs_fse *t, const int16_t *norm, unsigned nsym, unsigned log)
{
	unsigned size = 1u << log, high = size - 1, step = (size >> 1) + (size >> 3) + 3;
	unsigned pos = 0, s, i, u, total = 0;
	uint16_t next[256], fill[256];

	if (nsym == 0 || nsym > 256 || log > 9)
		return -1;
	t->log = log;
	t->nsym = nsym;
	for (s = 0; s < nsym; s++) {
		if (norm[s] == -1) {
			t->sym[high--] = (uint8_t)s;
			next[s] = 1;
			t->cnt[s] = 1;
			total++;
		} else {
			if (norm[s] < 0)
				return -1;
			next[s] = (uint16_t)norm[s];
			t->cnt[s] = (uint16_t)norm[s];
			total += (unsigned)norm[s];
		}
	}
	if (total != size)
		return -1;
	for (s = 0; s < nsym; s++)
		for (i = 0; norm[s] > 0 && i < (unsigned)norm[s]; i++) {
			t->sym[pos] = (uint8_t)s;
			do
				pos = (pos + step) & (size - 1);
			while (pos > high);
		}
	if (pos != 0)
		return -1;
	for (s = 0, i = 0; s < nsym; s++) {
		t->start[s] = (uint16_t)i;
		fill[s] = 0;
		i += t->cnt[s];
	}
	for (u = 0; u < size; u++) {
		unsigned x;

		s = t->sym[u];
		x = next[s]++;
		t->nb[u] = (uint8_t)(log - hb32(x));
		t->base[u] = (uint16_t)((x << t->nb[u]) - size);
		t->by_sym[t->start[s] + fill[s]++] = (uint16_t)u;
	}
	return 0;
}

static int fse_rle(struct zs_fse *t, unsigned sym)
{
	int16_t norm[256];

	memset(norm, 0, sizeof norm);
	norm[sym] = 1;
	return fse_build(t, norm, sym + 1, 0);
}

/* Reads a table description (4.1.1) from p[0..len): its normalized
 * counts, at most maxsym + 1 symbols and accuracy log maxlog; *used: its
 * bytes. */
static int fse_read(struct zs_fse *t, const uint8_t *p, size_t len, unsigned maxsym,
		    unsigned maxlog, size_t *used)
{
	int16_t norm[256];
	uint64_t bit = 4;
	unsigned log, nsym = 0, nb;
	int remaining, threshold, prev0 = 0;

	if (len == 0)
		return -1;
	log = (p[0] & 15) + 5;
	if (log > maxlog)
		return -1;
	remaining = (1 << log) + 1;
	threshold = 1 << log;
	nb = log + 1;
	while (remaining > 1 && nsym <= maxsym) {
		int max, count;
		unsigned v;

		if (prev0) {
			unsigned n0 = nsym, rep;

			do {
				rep = (unsigned)bits_at(p, len, bit, 2);
				bit += 2;
				n0 += rep;
			} while (rep == 3 && n0 <= maxsym + 1);
			if (n0 > maxsym)
				return -1;
			while (nsym < n0)
				norm[nsym++] = 0;
		}
		max = (2 * threshold - 1) - remaining;
		v = (unsigned)bits_at(p, len, bit, nb);
		if ((int)(v & (unsigned)(threshold - 1)) < max) {
			count = (int)(v & (unsigned)(threshold - 1));
			bit += nb - 1;
		} else {
			count = (int)(v & (unsigned)(2 * threshold - 1));
			if (count >= threshold)
				count -= max;
			bit += nb;
		}
		count--;
		remaining -= count < 0 ? -count : count;
		norm[nsym++] = (int16_t)count;
		prev0 = count == 0;
		while (remaining < threshold && threshold > 1) {
			nb--;
			threshold >>= 1;
		}
		if (bit > 8 * (uint64_t)len)
			return -1;
	}
	if (remaining != 1 || nsym == 0)
		return -1;
	*used = (size_t)((bit + 7) >> 3);
	return fse_build(t, norm, nsym, log);
}

/* The split's step: from state s to the next, with the bits it reads. */
static unsigned fse_step(const struct zs_fse *t, unsigned s, struct br *b)
{
	return t->base[s] + br_get(b, t->nb[s]);
}

/* The join's step: the state that codes symbol s and goes on to state ns,
 * and the bits it writes. */
static int fse_enc(const struct zs_fse *t, unsigned s, unsigned ns, unsigned *u, uint32_t *bits,
		   unsigned *nb)
{
	unsigned size = 1u << t->log, c, v, h, k, x;

	if (s >= t->nsym || (c = t->cnt[s]) == 0 || ns >= size)
		return -1;
	v = ns + size;
	h = hb32(c);
	for (k = t->log >= h + 1 ? t->log - h - 1 : t->log - h; k <= t->log - h; k++) {
		x = v >> k;
		if (x >= c && x < 2 * c && t->log - hb32(x) == k) {
			*u = t->by_sym[t->start[s] + (x - c)];
			*nb = k;
			*bits = ns - t->base[*u];
			return t->sym[*u] == s && t->nb[*u] == k && *bits < (1u << k) ? 0 : -1;
		}
	}
	return -1;
}

/* ------------------------------------------------------------- Huffman */
/* The table of weights w[0..n) and the implied last one (4.2.1.3). */
static int huf_build(struct zs_huf *h, const uint8_t *w, unsigned n)
{
	uint32_t total = 0, rest, rank[ZS_HUF_BITS + 2], pos[ZS_HUF_BITS + 2];
	unsigned s, last, mb, k;
	uint8_t ww[256];

	if (n == 0 || n > 255)
		return -1;
	memset(rank, 0, sizeof rank);
	for (s = 0; s < n; s++) {
		if (w[s] > ZS_HUF_BITS)
			return -1;
		ww[s] = w[s];
		total += (1u << w[s]) >> 1;
	}
	if (total == 0)
		return -1;
	mb = hb32(total) + 1;
	if (mb > ZS_HUF_BITS)
		return -1;
	rest = (1u << mb) - total;
	if (rest & (rest - 1))
		return -1;
	last = hb32(rest) + 1;
	ww[n] = (uint8_t)last;
	for (s = 0; s <= n; s++)
		rank[ww[s]]++;
	if (rank[1] < 2 || (rank[1] & 1))
		return -1;
	pos[1] = 0;
	for (k = 1; k <= mb; k++)
		pos[k + 1] = pos[k] + (rank[k] << (k - 1));
	h->max_bits = mb;
	h->nsym = n + 1;
	memset(h->nb, 0, sizeof h->nb);
	for (s = 0; s <= n; s++) {
		uint32_t at, j;

		if (ww[s] == 0)
			continue;
		k = ww[s];
		at = pos[k];
		pos[k] += 1u << (k - 1);
		h->nb[s] = (uint8_t)(mb + 1 - k);
		h->code[s] = (uint16_t)(at >> (k - 1));
		for (j = 0; j < (1u << (k - 1)); j++)
			h->dec[at + j] = (uint16_t)(s | (unsigned)h->nb[s] << 8);
	}
	return 0;
}

/* Reads a Huffman description from p[0..len) (4.2.1); *used: its bytes. */
static int huf_read(struct patch_zs *z, const uint8_t *p, size_t len, size_t *used)
{
	uint8_t w[256];
	unsigned n = 0, hb;
	size_t k;

	if (len == 0)
		return -1;
	hb = p[0];
	if (hb >= 128) {
		n = hb - 127;
		if (1 + (n + 1) / 2 > len)
			return -1;
		for (k = 0; k < n; k++)
			w[k] = (uint8_t)(k & 1 ? p[1 + k / 2] & 15 : p[1 + k / 2] >> 4);
		*used = 1 + (n + 1) / 2;
	} else {
		struct br b;
		size_t nc = 0;
		unsigned st[2], i = 0;

		if (hb == 0 || 1 + (size_t)hb > len ||
		    fse_read(&z->wt, p + 1, hb, 255, 6, &nc) || nc >= hb ||
		    br_init(&b, p + 1 + nc, hb - nc))
			return -1;
		st[0] = br_get(&b, z->wt.log);
		st[1] = br_get(&b, z->wt.log);
		if (b.pos < 0)
			return -1;
		/* two states in turn; when a step reads past the stream's
		 * start, the other state's symbol is the last */
		for (;; i ^= 1) {
			if (n + 2 > 255)
				return -1;
			w[n++] = z->wt.sym[st[i]];
			st[i] = fse_step(&z->wt, st[i], &b);
			if (b.pos < 0) {
				w[n++] = z->wt.sym[st[i ^ 1]];
				break;
			}
		}
		*used = 1 + (size_t)hb;
	}
	return huf_build(&z->huf, w, n);
}

/* One stream of n literals at out (4.2.2): consumed exactly. */
static int huf_stream(const struct zs_huf *h, const uint8_t *p, size_t len, uint8_t *out, size_t n)
{
	struct br b;
	size_t i;

	if (br_init(&b, p, len))
		return -1;
	for (i = 0; i < n; i++) {
		unsigned e = h->dec[br_peek(&b, h->max_bits)];

		out[i] = (uint8_t)e;
		b.pos -= e >> 8;
		if (b.pos < 0)
			return -1;
	}
	return b.pos == 0 ? 0 : -1;
}

/* ------------------------------------------------------------- the split */
static int ob_flush(struct patch_zs *z, size_t keep)
{
	size_t n = z->ob_len > keep ? z->ob_len - keep : 0;
	int r;

	if (n == 0)
		return 0;
	if ((r = z->ds.write(z->ds.ctx, z->data_base + z->ob_start, z->u.ob, n)))
		return r;
	memmove(z->u.ob, z->u.ob + n, z->ob_len - n);
	z->ob_len -= n;
	z->ob_start += n;
	return 0;
}

static int out_bytes(struct patch_zs *z, const uint8_t *p, size_t n)
{
	if (n > z->data_max - z->dpos || n > ZS_OB - z->ob_len)
		return fail(z, "zs.data_len");
	memcpy(z->u.ob + z->ob_len, p, n);
	z->ob_len += n;
	z->dpos += n;
	return 0;
}

/* a match of n bytes at distance off back */
static int out_match(struct patch_zs *z, uint64_t off, size_t n)
{
	uint64_t q = z->dpos - off;
	uint8_t *o;
	size_t i = 0;
	int r;

	if (off == 0 || off > z->dpos)
		return fail_v(z, "zs.sequences.offset", z->dpos, off);
	if (n > z->data_max - z->dpos || n > ZS_OB - z->ob_len)
		return fail(z, "zs.data_len");
	o = z->u.ob + z->ob_len;
	if (q < z->ob_start) { /* written out: read it back */
		size_t k = z->ob_start - q < n ? (size_t)(z->ob_start - q) : n;

		if ((r = z->back(z->bctx, z->data_base + q, o, k)))
			return r;
		i = k;
	}
	for (; i < n; i++)
		o[i] = z->u.ob[(size_t)(q + i - z->ob_start)];
	z->ob_len += n;
	z->dpos += n;
	return 0;
}

static int put_desc(struct xz_stream *ps, const uint8_t *p, size_t n)
{
	int r = st_putv(ps, n);

	return r ? r : st_put(ps, p, n);
}

/* A table of a compressed block's sequences section (4.1 of 3.1.1.3.2). */
static int seq_table(struct patch_zs *z, unsigned t, unsigned mode, const uint8_t *p, size_t len,
		     size_t *used)
{
	static const int16_t *norms[3] = { ll_norm, of_norm, ml_norm };
	static const unsigned nsyms[3] = { 36, 29, 53 }, logs[3] = { 6, 5, 6 };
	int r;

	*used = 0;
	switch (mode) {
	case 0:
		if (fse_build(&z->t[t], norms[t], nsyms[t], logs[t]))
			return fail(z, "zs.table");
		break;
	case 1:
		if (len < 1 || p[0] > t_maxsym[t] || fse_rle(&z->t[t], p[0]))
			return fail(z, "zs.table.rle");
		*used = 1;
		if ((r = st_putb(&z->ps, p[0])))
			return r;
		break;
	case 2:
		if (fse_read(&z->t[t], p, len, t_maxsym[t], t_maxlog[t], used) ||
		    *used > ZS_DESC_MAX)
			return fail(z, "zs.table.fse");
		if ((r = put_desc(&z->ps, p, *used)))
			return r;
		break;
	default:
		if (!z->have[t])
			return fail(z, "zs.table.repeat");
	}
	z->have[t] = 1;
	return 0;
}

static int split_block(struct patch_zs *z, size_t n, unsigned last)
{
	const uint8_t *c = z->cbuf;
	unsigned type = c[0] & 3, sfb = (c[0] >> 2) & 3, sf;
	size_t hl, nlit, p, csz = 0, i;
	uint64_t nseq, sum_ll = 0, start = z->dpos;
	int r;

	/* the literals section */
	if (type < 2) {
		sf = sfb & 1 ? sfb : 0;
		hl = sf == 0 ? 1 : sf == 1 ? 2 : 3;
		if (hl > n)
			return fail(z, "zs.literals.header");
		nlit = sf == 0 ? c[0] >> 3
		       : sf == 1 ? (size_t)(c[0] >> 4) | (size_t)c[1] << 4
				 : (size_t)(c[0] >> 4) | (size_t)c[1] << 4 | (size_t)c[2] << 12;
		if (nlit > ZS_BLOCK_MAX || (type == 0 ? nlit > n - hl : n - hl < 1))
			return fail(z, "zs.literals.size");
		if (type == 0)
			memcpy(z->lit, c + hl, nlit);
		else
			memset(z->lit, c[hl], nlit);
		p = hl + (type == 0 ? nlit : 1);
	} else {
		uint64_t v;
		unsigned bits;
		size_t dl = 0, q;

		sf = sfb;
		hl = sf < 2 ? 3 : sf + 2;
		bits = sf < 2 ? 10 : sf == 2 ? 14 : 18;
		if (hl > n)
			return fail(z, "zs.literals.header");
		for (v = 0, i = 0; i < hl; i++)
			v |= (uint64_t)c[i] << (8 * i);
		nlit = (size_t)((v >> 4) & ((1u << bits) - 1));
		csz = (size_t)((v >> (4 + bits)) & ((1u << bits) - 1));
		if (nlit > ZS_BLOCK_MAX || csz > n - hl || csz == 0)
			return fail(z, "zs.literals.size");
		q = hl;
		if (type == 2) {
			if (huf_read(z, c + q, csz, &dl) || dl >= csz || dl > ZS_DESC_MAX)
				return fail(z, "zs.literals.huffman");
		} else if (!z->huf.max_bits) {
			return fail(z, "zs.literals.treeless");
		}
		q += dl;
		if (sf == 0) {
			if (huf_stream(&z->huf, c + q, hl + csz - q, z->lit, nlit))
				return fail(z, "zs.literals.stream");
		} else {
			size_t seg = (nlit + 3) / 4, sz[4], end = hl + csz, k, at = 0;

			if (end - q < 6 || 3 * seg > nlit)
				return fail(z, "zs.literals.streams");
			sz[0] = si_le16(c + q);
			sz[1] = si_le16(c + q + 2);
			sz[2] = si_le16(c + q + 4);
			q += 6;
			if (sz[0] + sz[1] + sz[2] >= end - q)
				return fail(z, "zs.literals.streams");
			sz[3] = end - q - sz[0] - sz[1] - sz[2];
			for (k = 0; k < 4; k++) {
				size_t cnt = k < 3 ? seg : nlit - 3 * seg;

				if (huf_stream(&z->huf, c + q, sz[k], z->lit + at, cnt))
					return fail(z, "zs.literals.stream");
				q += sz[k];
				at += cnt;
			}
		}
		p = hl + csz;
		if (type == 2 &&
		    ((r = st_putb(&z->ps, 0xd2)) || (r = st_putb(&z->ps, last)) ||
		     (r = st_putb(&z->ps, type | sf << 2)) || (r = st_putv(&z->ps, nlit)) ||
		     (r = put_desc(&z->ps, c + hl, dl))))
			return r;
	}
	if (type != 2 && ((r = st_putb(&z->ps, 0xd2)) || (r = st_putb(&z->ps, last)) ||
			  (r = st_putb(&z->ps, type | sf << 2)) || (r = st_putv(&z->ps, nlit)) ||
			  (type == 1 && (r = st_putb(&z->ps, c[hl])))))
		return r;

	/* the sequences section */
	if (p >= n)
		return fail(z, "zs.sequences.header");
	{
		unsigned form;

		if (c[p] < 128) {
			nseq = c[p];
			form = 1;
		} else if (c[p] < 255) {
			if (n - p < 2)
				return fail(z, "zs.sequences.header");
			nseq = ((uint64_t)(c[p] - 128) << 8) + c[p + 1];
			form = 2;
		} else {
			if (n - p < 3)
				return fail(z, "zs.sequences.header");
			nseq = (uint64_t)c[p + 1] + ((uint64_t)c[p + 2] << 8) + 0x7F00;
			form = 3;
		}
		p += form;
		if (nseq > ZS_SEQ_MAX)
			return fail(z, "zs.sequences.count");
		if ((r = st_putv(&z->ps, nseq)) || (r = st_putb(&z->ps, form)))
			return r;
	}
	if (nseq == 0) {
		if (p != n)
			return fail(z, "zs.sequences.end");
	} else {
		unsigned modes, t, st[3];
		struct br b;
		size_t used, lp = 0;
		uint64_t k;

		if (p >= n || (c[p] & 3))
			return fail(z, "zs.sequences.modes");
		modes = c[p++];
		if ((r = st_putb(&z->ps, modes)))
			return r;
		for (t = 0; t < 3; t++) {
			unsigned m = (modes >> (6 - 2 * t)) & 3;

			if ((r = seq_table(z, t, m, c + p, n - p, &used)))
				return r;
			p += used;
		}
		if (br_init(&b, c + p, n - p))
			return fail(z, "zs.sequences.stream");
		st[T_LL] = br_get(&b, z->t[T_LL].log);
		st[T_OF] = br_get(&b, z->t[T_OF].log);
		st[T_ML] = br_get(&b, z->t[T_ML].log);
		for (k = 0; k < nseq; k++) {
			unsigned ofc = z->t[T_OF].sym[st[T_OF]], llc = z->t[T_LL].sym[st[T_LL]];
			unsigned mlc = z->t[T_ML].sym[st[T_ML]];
			uint32_t ov, ml, ll, off;

			if (ofc > 31 || llc > 35 || mlc > 52)
				return fail(z, "zs.sequences.code");
			ov = (uint32_t)((1ull << ofc) + br_get(&b, ofc));
			ml = ml_base[mlc] + br_get(&b, ml_bits[mlc]);
			ll = ll_base[llc] + br_get(&b, ll_bits[llc]);
			if (k + 1 < nseq) {
				st[T_LL] = fse_step(&z->t[T_LL], st[T_LL], &b);
				st[T_ML] = fse_step(&z->t[T_ML], st[T_ML], &b);
				st[T_OF] = fse_step(&z->t[T_OF], st[T_OF], &b);
			}
			if (b.pos < 0)
				return fail(z, "zs.sequences.stream");
			/* the offset (3.1.1.5): a value over 3 is the offset
			 * + 3, else a repeat one, shifted when ll is 0 */
			if (ov > 3) {
				off = ov - 3;
				z->rep[2] = z->rep[1];
				z->rep[1] = z->rep[0];
				z->rep[0] = off;
			} else {
				unsigned idx = ov - 1 + (ll == 0);

				if (idx == 0) {
					off = z->rep[0];
				} else {
					off = idx == 3 ? z->rep[0] - 1 : z->rep[idx];
					if (idx > 1)
						z->rep[2] = z->rep[1];
					z->rep[1] = z->rep[0];
					z->rep[0] = off;
				}
			}
			if (ll > nlit - lp)
				return fail_v(z, "zs.sequences.literals", nlit - lp, ll);
			/* the block's data (its literals and matches) stays
			 * within a block's size, as the join wants */
			if (z->dpos - start + ml > ZS_BLOCK_MAX - (nlit - lp))
				return fail(z, "zs.block.data_len");
			if ((r = out_bytes(z, z->lit + lp, ll)) || (r = out_match(z, off, ml)))
				return r;
			lp += ll;
			sum_ll += ll;
			if ((r = st_putv(&z->ps, ll)) || (r = st_putv(&z->ps, ml - 3)) ||
			    (r = st_putv(&z->ps, ov - 1)))
				return r;
		}
		if (b.pos != 0)
			return fail(z, "zs.sequences.end");
		if ((r = st_putv(&z->ps, st[T_LL])) || (r = st_putv(&z->ps, st[T_OF])) ||
		    (r = st_putv(&z->ps, st[T_ML])))
			return r;
	}
	return out_bytes(z, z->lit + sum_ll, nlit - sum_ll);
}

int patch_zs_header_ok(const uint8_t *b, size_t n)
{
	return n >= 6 && si_le32(b) == 0xFD2FB528u && !(b[4] & 0x08) && !(b[4] & 0x03);
}

int patch_zs_split(struct patch_zs *z, patch_read_fn read, void *rctx, uint64_t m_len,
		   patch_write_fn write, void *wctx, patch_read_fn back, void *bctx,
		   uint64_t data_base, uint64_t data_max, uint64_t parse_base, uint64_t parse_max,
		   uint64_t *data_len, uint64_t *parse_len, uint64_t *used, struct si_diag *d)
{
	uint8_t h[18];
	size_t hn = m_len < sizeof h ? (size_t)m_len : sizeof h, hl;
	uint64_t at, fcs = UINT64_MAX;
	unsigned fhd, fcs_n, last = 0, ck;
	int r;

	z->why = NULL;
	z->back = back;
	z->bctx = bctx;
	z->data_base = data_base;
	z->data_max = data_max;
	z->dpos = z->ob_start = 0;
	z->ob_len = 0;
	z->rep[0] = 1;
	z->rep[1] = 4;
	z->rep[2] = 8;
	z->have[0] = z->have[1] = z->have[2] = 0;
	z->huf.max_bits = 0;
	st_init(&z->ps, NULL, write, wctx, parse_base, parse_max);
	st_init(&z->ds, NULL, write, wctx, data_base, data_max);
	if ((r = read(rctx, 0, h, hn)))
		goto out;
	if (!patch_zs_header_ok(h, hn)) {
		r = fail(z, "zs.frame.header");
		goto out;
	}
	fhd = h[4];
	ck = (fhd >> 2) & 1;
	fcs_n = (fhd >> 6) == 0 ? (fhd & 0x20 ? 1 : 0) : 1u << (fhd >> 6);
	hl = 5 + !(fhd & 0x20) + fcs_n;
	if (hl > hn) {
		r = fail(z, "zs.frame.header");
		goto out;
	}
	if (fcs_n) {
		const uint8_t *f = h + 5 + !(fhd & 0x20);

		fcs = fcs_n == 1 ? f[0] : fcs_n == 2 ? si_le16(f) + 256u
			: fcs_n == 4 ? si_le32(f) : si_le64(f);
	}
	if ((r = st_putb(&z->ps, 0xf0)) || (r = st_putv(&z->ps, hl)) || (r = st_put(&z->ps, h, hl)))
		goto out;
	at = hl;
	while (!last) {
		uint8_t bh[3];
		unsigned type;
		size_t bs, n;

		if ((r = ob_flush(z, ZS_KEEP)))
			goto out;
		if (m_len - at < 3) {
			r = fail(z, "zs.block.header");
			goto out;
		}
		if ((r = read(rctx, at, bh, 3)))
			goto out;
		at += 3;
		last = bh[0] & 1;
		type = (bh[0] >> 1) & 3;
		bs = (size_t)(bh[0] >> 3) | (size_t)bh[1] << 5 | (size_t)bh[2] << 13;
		if (type == 3 || bs > ZS_BLOCK_MAX) {
			r = type == 3 ? fail_v(z, "zs.block.type", 2, type)
				      : fail_v(z, "zs.block.size", ZS_BLOCK_MAX, bs);
			goto out;
		}
		n = type == 1 ? 1 : bs;
		if (m_len - at < n) {
			r = fail(z, "zs.block.size");
			goto out;
		}
		if ((r = read(rctx, at, z->cbuf, n)))
			goto out;
		at += n;
		if (type == 2) {
			if (n == 0) {
				r = fail(z, "zs.block.size");
				goto out;
			}
			r = split_block(z, n, last);
		} else {
			if (type == 0)
				r = out_bytes(z, z->cbuf, bs);
			else {
				memset(z->lit, z->cbuf[0], bs);
				r = out_bytes(z, z->lit, bs);
			}
			if (r == 0 &&
			    ((r = st_putb(&z->ps, 0xd0 | type)) || (r = st_putb(&z->ps, last)) ||
			     (r = st_putv(&z->ps, bs)) ||
			     (type == 1 && (r = st_putb(&z->ps, z->cbuf[0])))))
				goto out;
		}
		if (r)
			goto out;
	}
	if (fcs != UINT64_MAX && fcs != z->dpos) {
		r = fail_v(z, "zs.frame.content_size", fcs, z->dpos);
		goto out;
	}
	if (ck) {
		uint8_t c4[4];

		if (m_len - at < 4) {
			r = fail(z, "zs.frame.checksum");
			goto out;
		}
		if ((r = read(rctx, at, c4, 4)) || (r = st_putb(&z->ps, 0xf0)) ||
		    (r = st_putv(&z->ps, 4)) || (r = st_put(&z->ps, c4, 4)))
			goto out;
		at += 4;
	}
	if ((r = st_putb(&z->ps, 0xff)) || (r = st_flush(&z->ps)) || (r = ob_flush(z, 0)))
		goto out;
	*data_len = z->dpos;
	*parse_len = z->ps.off;
	*used = at;
out:
	return report(z, r, d);
}

/* -------------------------------------------------------------- the join */
/* A forward bit writer of the bits a backward stream reads. */
struct bw {
	uint8_t *p;
	size_t pos, cap;
	uint64_t acc;
	unsigned n;
	int over;
};

static void bw_put(struct bw *w, uint32_t v, unsigned nb)
{
	if (nb == 0)
		return;
	w->acc |= (uint64_t)(v & (uint32_t)(((uint64_t)1 << nb) - 1)) << w->n;
	w->n += nb;
	while (w->n >= 8) {
		if (w->pos < w->cap)
			w->p[w->pos] = (uint8_t)w->acc;
		else
			w->over = 1;
		w->pos++;
		w->acc >>= 8;
		w->n -= 8;
	}
}

static void bw_close(struct bw *w)
{
	bw_put(w, 1, 1);
	if (w->n)
		bw_put(w, 0, 8 - w->n);
}

/* literals lit[0..n) with the table h as one stream into w */
static void huf_code(const struct zs_huf *h, const uint8_t *lit, size_t n, struct bw *w)
{
	while (n--)
		bw_put(w, h->code[lit[n]], h->nb[lit[n]]);
	bw_close(w);
}

struct jb { /* the block being made in z->cbuf */
	size_t pos;
	int over;
};

static void jb_put(struct patch_zs *z, struct jb *b, const uint8_t *p, size_t n)
{
	if (n > ZS_BLOCK_MAX - b->pos) {
		b->over = 1;
		return;
	}
	memcpy(z->cbuf + b->pos, p, n);
	b->pos += n;
}

static int get_desc(struct patch_zs *z, size_t *n)
{
	uint64_t v;
	int r;

	if ((r = st_leb(&z->ps, &v)))
		return r;
	if (v == 0 || v > ZS_DESC_MAX)
		return fail(z, "zs.parse.description");
	*n = (size_t)v;
	return st_get(&z->ps, z->desc, *n);
}

/* A table of the sequences section from the parse, its bytes (an RLE
 * symbol, a description) appended to out[*on..]. */
static int join_table(struct patch_zs *z, unsigned t, unsigned mode, uint8_t *out, size_t *on)
{
	static const int16_t *norms[3] = { ll_norm, of_norm, ml_norm };
	static const unsigned nsyms[3] = { 36, 29, 53 }, logs[3] = { 6, 5, 6 };
	unsigned s;
	size_t n, used;
	int r;

	switch (mode) {
	case 0:
		if (fse_build(&z->t[t], norms[t], nsyms[t], logs[t]))
			return fail(z, "zs.table");
		break;
	case 1:
		if ((r = st_byte(&z->ps, &s)))
			return r;
		if (s > t_maxsym[t] || fse_rle(&z->t[t], s))
			return fail(z, "zs.parse.table.rle");
		out[(*on)++] = (uint8_t)s;
		break;
	case 2:
		if ((r = get_desc(z, &n)))
			return r;
		if (fse_read(&z->t[t], z->desc, n, t_maxsym[t], t_maxlog[t], &used) || used != n)
			return fail(z, "zs.parse.table.fse");
		memcpy(out + *on, z->desc, n);
		*on += n;
		break;
	default:
		if (!z->have[t])
			return fail(z, "zs.parse.table.repeat");
	}
	z->have[t] = 1;
	return 0;
}

static unsigned ll_code(uint32_t v)
{
	unsigned c;

	if (v < 16)
		return v;
	for (c = 35; ll_base[c] > v; c--)
		;
	return c;
}

static unsigned ml_code(uint32_t v)
{
	unsigned c;

	if (v < 35)
		return v - 3;
	for (c = 52; ml_base[c] > v; c--)
		;
	return c;
}

static int join_block(struct patch_zs *z, unsigned last, patch_write_fn write, void *wctx,
		      uint64_t m_max, uint64_t *mpos)
{
	struct jb b = { 0, 0 };
	unsigned lt, type, sf, rle = 0, form, modes = 0, t;
	uint64_t nlit, nseq, v, sum_ll = 0, sum_ml = 0, k, lp = 0;
	uint32_t st[3];
	size_t dl = 0, lhl;
	uint8_t bh[3];
	int r;

	if ((r = st_byte(&z->ps, &lt)) || (r = st_leb(&z->ps, &nlit)))
		return r;
	type = lt & 3;
	sf = lt >> 2;
	if (sf > 3 || (type < 2 && sf == 2) || nlit > ZS_BLOCK_MAX)
		return fail(z, "zs.parse.literals");
	if (type == 1 && (r = st_byte(&z->ps, &rle)))
		return r;
	if (type == 2) {
		size_t used;

		if ((r = get_desc(z, &dl)))
			return r;
		if (huf_read(z, z->desc, dl, &used) || used != dl)
			return fail(z, "zs.parse.huffman");
	} else if (type == 3 && !z->huf.max_bits) {
		return fail(z, "zs.parse.treeless");
	}
	if ((r = st_leb(&z->ps, &nseq)) || (r = st_byte(&z->ps, &form)))
		return r;
	if (nseq > ZS_SEQ_MAX || form < 1 || form > 3 ||
	    (form == 1 ? nseq >= 128 : form == 2 ? nseq >= 0x7F00 : nseq < 0x7F00))
		return fail(z, "zs.parse.sequences");
	if (nseq) {
		if ((r = st_byte(&z->ps, &modes)))
			return r;
		if (modes & 3)
			return fail(z, "zs.parse.modes");
	}
	/* the literals section's header is made last: reserve it */
	lhl = type < 2 ? (sf == 0 ? 1 : sf == 1 ? 2 : 3) : sf < 2 ? 3 : sf + 2;
	b.pos = lhl;
	if (type == 2)
		jb_put(z, &b, z->desc, dl);
	/* the tables, the sequences, then the literals they leave */
	{
		uint8_t descs[ZS_DESC_MAX * 3 + 3];
		size_t dn = 0;

		for (t = 0; nseq && t < 3; t++)
			if ((r = join_table(z, t, (modes >> (6 - 2 * t)) & 3, descs, &dn)))
				return r;
		for (k = 0; k < nseq; k++) {
			uint64_t ml, ov;

			if ((r = st_leb(&z->ps, &v)) || (r = st_leb(&z->ps, &ml)) ||
			    (r = st_leb(&z->ps, &ov)))
				return r;
			if (v > ZS_BLOCK_MAX || ml > ZS_BLOCK_MAX || ov >= 0xFFFFFFFFull ||
			    (sum_ll += v) > nlit || (sum_ml += ml + 3) > ZS_BLOCK_MAX)
				return fail(z, "zs.parse.sequence");
			z->u.seq[k].ll = (uint32_t)v;
			z->u.seq[k].ml = (uint32_t)ml + 3;
			z->u.seq[k].ov = (uint32_t)ov + 1;
			/* the literals from the data, the match skipped */
			if ((r = st_get(&z->ds, z->lit + lp, (size_t)v)) ||
			    (r = st_get(&z->ds, NULL, (size_t)ml + 3)))
				return r;
			lp += v;
		}
		if (nlit + sum_ml > ZS_BLOCK_MAX)
			return fail(z, "zs.parse.block_len");
		if ((r = st_get(&z->ds, z->lit + lp, (size_t)(nlit - lp))))
			return r;
		for (t = 0; nseq && t < 3; t++) {
			if ((r = st_leb(&z->ps, &v)))
				return r;
			if (v >= (1u << z->t[t].log))
				return fail_v(z, "zs.parse.state", (1u << z->t[t].log) - 1, v);
			st[t] = (uint32_t)v;
		}

		/* the literals section */
		if (type == 0) {
			jb_put(z, &b, z->lit, (size_t)nlit);
		} else if (type == 1) {
			for (k = 0; k < nlit; k++)
				if (z->lit[k] != rle)
					return fail(z, "zs.parse.literals.rle");
			z->desc[0] = (uint8_t)rle;
			jb_put(z, &b, z->desc, 1);
		} else {
			struct bw w;
			size_t seg = (size_t)(nlit + 3) / 4, j, at = 0, jt = b.pos;

			for (k = 0; k < nlit; k++)
				if (z->huf.nb[z->lit[k]] == 0 || z->lit[k] >= z->huf.nsym)
					return fail(z, "zs.parse.literals.symbol");
			if (sf == 0) {
				w = (struct bw){ z->cbuf, b.pos, ZS_BLOCK_MAX, 0, 0, 0 };
				huf_code(&z->huf, z->lit, (size_t)nlit, &w);
				if (w.over)
					return fail(z, "zs.block.size");
				b.pos = w.pos;
			} else {
				if (3 * seg > nlit)
					return fail(z, "zs.parse.literals.streams");
				b.pos += 6;
				if (b.pos > ZS_BLOCK_MAX)
					return fail(z, "zs.block.size");
				for (j = 0; j < 4; j++) {
					size_t from = b.pos;
					size_t cnt = j < 3 ? seg : (size_t)nlit - 3 * seg;

					w = (struct bw){ z->cbuf, b.pos, ZS_BLOCK_MAX, 0, 0, 0 };
					huf_code(&z->huf, z->lit + at, cnt, &w);
					if (w.over)
						return fail(z, "zs.block.size");
					b.pos = w.pos;
					at += cnt;
					if (j < 3) {
						if (b.pos - from > 0xFFFF)
							return fail(z, "zs.parse.literals.streams");
						si_put_le16(z->cbuf + jt + 2 * j,
							    (uint16_t)(b.pos - from));
					}
				}
			}
		}
		/* its header, now that the sizes are known */
		{
			uint64_t hv;
			size_t csz = b.pos - lhl, i;

			if (type < 2) {
				if (nlit >= (sf == 0 ? 32u : sf == 1 ? 4096u : 1u << 20))
					return fail(z, "zs.parse.literals.size");
				hv = sf == 0 ? (uint64_t)type | nlit << 3
					     : (uint64_t)type | (uint64_t)sf << 2 | nlit << 4;
			} else {
				unsigned bits = sf < 2 ? 10 : sf == 2 ? 14 : 18;

				if (nlit >= (1u << bits) || csz >= (1u << bits))
					return fail(z, "zs.parse.literals.size");
				hv = (uint64_t)type | (uint64_t)sf << 2 | nlit << 4 |
				     (uint64_t)csz << (4 + bits);
			}
			for (i = 0; i < lhl; i++)
				z->cbuf[i] = (uint8_t)(hv >> (8 * i));
		}
		/* the sequences section */
		{
			uint8_t sh[4];
			size_t shn = 0;

			if (form == 1) {
				sh[shn++] = (uint8_t)nseq;
			} else if (form == 2) {
				sh[shn++] = (uint8_t)(128 + (nseq >> 8));
				sh[shn++] = (uint8_t)nseq;
			} else {
				sh[shn++] = 255;
				sh[shn++] = (uint8_t)(nseq - 0x7F00);
				sh[shn++] = (uint8_t)((nseq - 0x7F00) >> 8);
			}
			if (nseq)
				sh[shn++] = (uint8_t)modes;
			jb_put(z, &b, sh, shn);
			jb_put(z, &b, descs, dn);
		}
	}
	if (nseq) {
		struct bw w = { z->cbuf, b.pos, ZS_BLOCK_MAX, 0, 0, 0 };
		uint32_t s[3] = { st[T_LL], st[T_OF], st[T_ML] };
		uint64_t i = nseq;

		while (i--) {
			const struct zs_seq *q = &z->u.seq[i];
			unsigned llc = ll_code(q->ll), mlc = ml_code(q->ml), ofc = hb32(q->ov);
			unsigned code[3], u, nb;
			uint32_t bits;

			if (q->ll - ll_base[llc] >= (1u << ll_bits[llc]) ||
			    q->ml - ml_base[mlc] >= (1u << ml_bits[mlc]))
				return fail(z, "zs.parse.sequence.length");

			code[T_LL] = llc;
			code[T_OF] = ofc;
			code[T_ML] = mlc;
			if (i + 1 == nseq) {
				for (t = 0; t < 3; t++)
					if (s[t] >= (1u << z->t[t].log) ||
					    z->t[t].sym[s[t]] != code[t])
						return fail(z, "zs.parse.state");
			} else {
				/* the states' steps to sequence i + 1, which the
				 * decoder reads LL, ML, OF: written OF, ML, LL */
				static const unsigned ord[3] = { T_OF, T_ML, T_LL };

				for (t = 0; t < 3; t++) {
					unsigned tt = ord[t];

					if (fse_enc(&z->t[tt], code[tt], s[tt], &u, &bits, &nb))
						return fail(z, "zs.parse.sequence.code");
					bw_put(&w, bits, nb);
					s[tt] = u;
				}
			}
			/* its extra bits, read OF, ML, LL: written LL, ML, OF */
			bw_put(&w, q->ll - ll_base[llc], ll_bits[llc]);
			bw_put(&w, q->ml - ml_base[mlc], ml_bits[mlc]);
			bw_put(&w, q->ov - (1u << ofc), ofc);
		}
		/* the first states, read LL, OF, ML */
		bw_put(&w, s[T_ML], z->t[T_ML].log);
		bw_put(&w, s[T_OF], z->t[T_OF].log);
		bw_put(&w, s[T_LL], z->t[T_LL].log);
		bw_close(&w);
		if (w.over)
			return fail(z, "zs.block.size");
		b.pos = w.pos;
	}
	if (b.over || b.pos > ZS_BLOCK_MAX)
		return fail(z, "zs.block.size");
	bh[0] = (uint8_t)(last | 2u << 1 | (unsigned)(b.pos << 3));
	bh[1] = (uint8_t)(b.pos >> 5);
	bh[2] = (uint8_t)(b.pos >> 13);
	if (3 + b.pos > m_max - *mpos)
		return fail_v(z, "zs.frame.length", m_max, *mpos + 3 + b.pos);
	if ((r = write(wctx, *mpos, bh, 3)) || (r = write(wctx, *mpos + 3, z->cbuf, b.pos)))
		return r;
	*mpos += 3 + b.pos;
	return 0;
}

int patch_zs_join(struct patch_zs *z, patch_read_fn read, void *rctx, uint64_t data_base,
		  uint64_t data_len, uint64_t parse_base, uint64_t parse_len, patch_write_fn write,
		  void *wctx, uint64_t m_max, uint64_t *m_len, struct si_diag *d)
{
	uint64_t mpos = 0, v;
	unsigned tok, last, phase = 0; /* 0 before the blocks, 1 in them, 2 after */
	int r = 0;

	z->why = NULL;
	z->have[0] = z->have[1] = z->have[2] = 0;
	z->huf.max_bits = 0;
	st_init(&z->ps, read, NULL, rctx, parse_base, parse_len);
	st_init(&z->ds, read, NULL, rctx, data_base, data_len);
	for (;;) {
		if ((r = st_byte(&z->ps, &tok)))
			goto out;
		if (tok == 0xff)
			break;
		if (tok == 0xf0) {
			uint8_t buf[256];

			if ((r = st_leb(&z->ps, &v)))
				goto out;
			if (v == 0 || phase == 1 || v > m_max - mpos) {
				r = fail(z, "zs.parse.container");
				goto out;
			}
			while (v) {
				size_t k = v < sizeof buf ? (size_t)v : sizeof buf;

				if ((r = st_get(&z->ps, buf, k)) || (r = write(wctx, mpos, buf, k)))
					goto out;
				mpos += k;
				v -= k;
			}
			continue;
		}
		if (tok < 0xd0 || tok > 0xd2 || phase == 2) {
			r = fail(z, "zs.parse.token");
			goto out;
		}
		if ((r = st_byte(&z->ps, &last)))
			goto out;
		if (last > 1) {
			r = fail(z, "zs.parse.last");
			goto out;
		}
		phase = last ? 2 : 1;
		if (tok == 0xd2) {
			if ((r = join_block(z, last, write, wctx, m_max, &mpos)))
				goto out;
			continue;
		}
		{
			unsigned type = tok & 3, rb = 0;
			uint8_t bh[3];
			size_t n, k;

			if ((r = st_leb(&z->ps, &v)))
				goto out;
			if (v > ZS_BLOCK_MAX) {
				r = fail(z, "zs.parse.block_len");
				goto out;
			}
			n = (size_t)v;
			if (type == 1 && (r = st_byte(&z->ps, &rb)))
				goto out;
			if ((r = st_get(&z->ds, z->cbuf, n)))
				goto out;
			for (k = 0; type == 1 && k < n; k++)
				if (z->cbuf[k] != rb) {
					r = fail(z, "zs.parse.rle");
					goto out;
				}
			bh[0] = (uint8_t)(last | type << 1 | (unsigned)(n << 3));
			bh[1] = (uint8_t)(n >> 5);
			bh[2] = (uint8_t)(n >> 13);
			z->cbuf[0] = (uint8_t)(type == 1 ? rb : z->cbuf[0]);
			k = type == 1 ? 1 : n;
			if (3 + k > m_max - mpos) {
				r = fail_v(z, "zs.frame.length", m_max, mpos + 3 + k);
				goto out;
			}
			if ((r = write(wctx, mpos, bh, 3)) ||
			    (k && (r = write(wctx, mpos + 3, z->cbuf, k))))
				goto out;
			mpos += 3 + k;
		}
	}
	if (phase != 2 || z->ps.off != parse_len) {
		r = fail_v(z, "zs.parse.end", parse_len, z->ps.off);
		goto out;
	}
	if (z->ds.off != data_len) {
		r = fail_v(z, "zs.parse.end", data_len, z->ds.off);
		goto out;
	}
	*m_len = mpos;
out:
	return report(z, r, d);
}
