/* sealinit patch/: xz members in decompressed space (see xz.h).
 *
 * The LZMA coding below is written once for both directions: each
 * function takes the value to code and returns the value coded, so the
 * decoder (split) and the encoder (join) cannot disagree on the model.
 * It follows the LZMA specification (lzma-specification.txt of the LZMA
 * SDK) and the .xz file format 1.0.4 / LZMA2 chunk layout; no code of
 * either was copied.
 *
 * Everything read from a member is checked here: the stream header's
 * CRC-32, each block header's size, flags, filters (the last one LZMA2,
 * its dictionary), CRC-32 and padding, each chunk's control, sizes and
 * properties, every distance against the data since the dictionary reset
 * and the dictionary size, the range coder's first byte and its end (all
 * compressed bytes used, the code zero), the block padding, the index's
 * CRC-32 and the footer's magic.  The integrity check stored after each
 * block (CRC-32, CRC-64 or SHA-256 of the data with the filters undone)
 * is copied, not computed: a damaged old member gives the segments that
 * read it other sources, so other bytes, which their hashes refuse, and
 * every byte of the new one is checked by the segment hashes. */
#include <string.h>

#include "lib/bytes.h"
#include "patch/gz.h"
#include "patch/xz.h"

/* the coder's parts, inlined into each direction of code_sym */
#define XZ_INLINE inline __attribute__((always_inline))

enum { SYM_LIT, SYM_MATCH, SYM_SHORTREP, SYM_REP0, SYM_REP1, SYM_REP2, SYM_REP3 };

struct xz_sym {
	unsigned kind, len;
	uint32_t dist;
	unsigned byte;
};

#define XZ_FAIL(d, field, exp, got) xz_fail((d), (field), (uint64_t)(exp), (uint64_t)(got))

static int xz_fail(struct si_diag *d, const char *field, uint64_t exp, uint64_t got)
{
	return si_diag_want(d, SI_E_PATCH_EXPAND, field, exp, got);
}

/* ----------------------------------------------------------- range coder */
static XZ_INLINE void rc_shift_low(struct xz_rc *rc)
{
	if ((uint32_t)rc->low < 0xFF000000u || (rc->low >> 32) != 0) {
		uint8_t carry = (uint8_t)(rc->low >> 32);
		uint8_t t = rc->cache;

		do {
			if (rc->pos < rc->len)
				rc->buf[rc->pos++] = (uint8_t)(t + carry);
			else
				rc->err = 1;
			t = 0xFF;
		} while (--rc->cache_size != 0);
		rc->cache = (uint8_t)(rc->low >> 24);
	}
	rc->cache_size++;
	rc->low = (rc->low & 0x00FFFFFFu) << 8;
}

static XZ_INLINE uint8_t rc_in(struct xz_rc *rc)
{
	if (rc->pos < rc->len)
		return rc->buf[rc->pos++];
	rc->err = 1;
	return 0;
}

static XZ_INLINE void rc_norm(struct xz_rc *rc)
{
	if (rc->range < (1u << 24)) {
		rc->range <<= 8;
		if (rc->enc)
			rc_shift_low(rc);
		else
			rc->code = rc->code << 8 | rc_in(rc);
	}
}

/* Encoder: output into buf[0..cap). */
static void rc_enc_init(struct xz_rc *rc, uint8_t *buf, size_t cap)
{
	memset(rc, 0, sizeof *rc);
	rc->enc = 1;
	rc->range = 0xFFFFFFFFu;
	rc->cache_size = 1;
	rc->buf = buf;
	rc->len = cap;
}

static void rc_enc_flush(struct xz_rc *rc)
{
	int i;

	for (i = 0; i < 5; i++)
		rc_shift_low(rc);
}

/* Decoder over buf[0..len): the first byte must be 0. */
static int rc_dec_init(struct xz_rc *rc, uint8_t *buf, size_t len)
{
	int i;

	memset(rc, 0, sizeof *rc);
	rc->range = 0xFFFFFFFFu;
	rc->buf = buf;
	rc->len = len;
	if (len < 5 || buf[0] != 0)
		return -1;
	rc->pos = 1;
	for (i = 1; i < 5; i++)
		rc->code = rc->code << 8 | rc_in(rc);
	return rc->code == 0xFFFFFFFFu ? -1 : 0;
}

static XZ_INLINE unsigned rc_bit(struct xz_rc *rc, uint16_t *p, unsigned bit)
{
	uint32_t bound = (rc->range >> 11) * *p;

	if (rc->enc) {
		if (!bit) {
			rc->range = bound;
			*p = (uint16_t)(*p + ((2048u - *p) >> 5));
		} else {
			rc->low += bound;
			rc->range -= bound;
			*p = (uint16_t)(*p - (*p >> 5));
		}
	} else if (rc->code < bound) {
		rc->range = bound;
		*p = (uint16_t)(*p + ((2048u - *p) >> 5));
		bit = 0;
	} else {
		rc->range -= bound;
		rc->code -= bound;
		*p = (uint16_t)(*p - (*p >> 5));
		bit = 1;
	}
	rc_norm(rc);
	return bit;
}

/* n bits of v (most significant first) at probability 1/2. */
static XZ_INLINE uint32_t rc_direct(struct xz_rc *rc, uint32_t v, unsigned n)
{
	uint32_t out = 0;
	unsigned b;

	while (n--) {
		rc->range >>= 1;
		if (rc->enc) {
			b = (v >> n) & 1;
			if (b)
				rc->low += rc->range;
		} else {
			b = rc->code >= rc->range;
			if (b)
				rc->code -= rc->range;
		}
		out = out << 1 | b;
		rc_norm(rc);
	}
	return out;
}

/* A bit tree of `bits` levels, most significant bit first (p[1..2^bits)). */
static XZ_INLINE unsigned rc_tree(struct xz_rc *rc, uint16_t *p, unsigned bits, unsigned v)
{
	unsigned m = 1, i = bits;

	while (i--)
		m = m << 1 | rc_bit(rc, &p[m], (v >> i) & 1);
	return m - (1u << bits);
}

/* The same, least significant bit first. */
static XZ_INLINE unsigned rc_rtree(struct xz_rc *rc, uint16_t *p, unsigned bits, unsigned v)
{
	unsigned m = 1, s = 0, i, b;

	for (i = 0; i < bits; i++) {
		b = rc_bit(rc, &p[m], (v >> i) & 1);
		m = m << 1 | b;
		s |= b << i;
	}
	return s;
}

/* ------------------------------------------------------------ LZMA model */
static void model_reset(struct xz_model *m)
{
	uint16_t *p = &m->is_match[0][0];
	size_t i, n = (size_t)((uint16_t *)(void *)&m->lc - p);

	/* every probability of the struct, which are all the uint16_t
	 * members before lc, starts at one half */
	for (i = 0; i < n; i++)
		p[i] = 1024;
	m->state = 0;
	m->rep[0] = m->rep[1] = m->rep[2] = m->rep[3] = 0;
}

/* len - 2 */
static XZ_INLINE unsigned code_len(struct xz_rc *rc, struct xz_len_probs *c, unsigned ps,
				   unsigned l)
{
	if (!rc_bit(rc, &c->choice, l >= 8))
		return rc_tree(rc, c->low[ps], 3, l);
	if (!rc_bit(rc, &c->choice2, l >= 16))
		return 8 + rc_tree(rc, c->mid[ps], 3, l - 8);
	return 16 + rc_tree(rc, c->high, 8, l - 16);
}

static unsigned dist_slot(uint32_t d)
{
	unsigned n = 31;

	if (d < 4)
		return d;
	while (!(d >> n))
		n--;
	return 2 * n + ((d >> (n - 1)) & 1);
}

/* distance - 1, for a match of length l + 2 */
static XZ_INLINE uint32_t code_dist(struct xz_rc *rc, struct xz_model *m, unsigned l, uint32_t d)
{
	unsigned slot = rc_tree(rc, m->dist_slot[l < 3 ? l : 3], 6, rc->enc ? dist_slot(d) : 0);
	unsigned nb;
	uint32_t base, hi;

	if (slot < 4)
		return slot;
	nb = (slot >> 1) - 1;
	base = (uint32_t)(2 | (slot & 1)) << nb;
	if (slot < 14)
		return base + rc_rtree(rc, m->dist_special + base - slot, nb, d - base);
	hi = rc_direct(rc, (d - base) >> 4, nb - 4);
	return base + (hi << 4) + rc_rtree(rc, m->dist_align, 4, d - base);
}

static XZ_INLINE unsigned code_lit(struct xz_rc *rc, uint16_t *p, int matched, unsigned mb,
				   unsigned byte)
{
	unsigned s = 1, i = 8, off = 0x100, mbit, b;

	if (!matched) {
		while (i--)
			s = s << 1 | rc_bit(rc, &p[s], (byte >> i) & 1);
		return s & 0xFF;
	}
	while (i--) {
		mb <<= 1;
		mbit = mb & off;
		b = rc_bit(rc, &p[off + mbit + s], (byte >> i) & 1);
		s = s << 1 | b;
		off &= b ? mbit : ~mbit;
	}
	return s & 0xFF;
}

/* One symbol at data position pos (since the dictionary reset); prev: the
 * byte before it, mb: the byte at the last distance (used after a match).
 * Encoding codes *s; decoding fills it. */
static XZ_INLINE void code_sym_in(struct xz_rc *rc, struct xz_model *m, uint64_t pos,
				  unsigned prev, unsigned mb, struct xz_sym *s)
{
	unsigned ps = (unsigned)pos & ((1u << m->pb) - 1), st = m->state, l;
	uint32_t d;

	if (!rc_bit(rc, &m->is_match[st][ps], s->kind != SYM_LIT)) {
		unsigned ctx = (((unsigned)pos & ((1u << m->lp) - 1)) << m->lc) + (prev >> (8 - m->lc));

		s->kind = SYM_LIT;
		s->len = 1;
		s->byte = code_lit(rc, m->lit + 0x300 * ctx, st >= 7, mb, s->byte);
		m->state = st < 4 ? 0 : st < 10 ? st - 3 : st - 6;
		return;
	}
	if (!rc_bit(rc, &m->is_rep[st], s->kind != SYM_MATCH)) {
		s->kind = SYM_MATCH;
		l = code_len(rc, &m->len, ps, s->len - 2);
		d = code_dist(rc, m, l, s->dist);
		m->rep[3] = m->rep[2];
		m->rep[2] = m->rep[1];
		m->rep[1] = m->rep[0];
		m->rep[0] = d;
		m->state = st < 7 ? 7 : 10;
		s->len = l + 2;
		s->dist = d;
		return;
	}
	if (!rc_bit(rc, &m->is_rep0[st], s->kind >= SYM_REP1)) {
		if (!rc_bit(rc, &m->is_rep0_long[st][ps], s->kind != SYM_SHORTREP)) {
			s->kind = SYM_SHORTREP;
			s->len = 1;
			m->state = st < 7 ? 9 : 11;
			return;
		}
		s->kind = SYM_REP0;
	} else {
		if (!rc_bit(rc, &m->is_rep1[st], s->kind >= SYM_REP2)) {
			s->kind = SYM_REP1;
			d = m->rep[1];
		} else {
			if (!rc_bit(rc, &m->is_rep2[st], s->kind == SYM_REP3)) {
				s->kind = SYM_REP2;
				d = m->rep[2];
			} else {
				s->kind = SYM_REP3;
				d = m->rep[3];
				m->rep[3] = m->rep[2];
			}
			m->rep[2] = m->rep[1];
		}
		m->rep[1] = m->rep[0];
		m->rep[0] = d;
	}
	s->len = code_len(rc, &m->rep_len, ps, s->len - 2) + 2;
	m->state = st < 7 ? 8 : 11;
}

/* The same, made twice: on a copy of the coder whose direction the
 * compiler sees as a constant, the coding inlined down to each bit, so the
 * split and the join each run a coder of one direction (a fifth faster on
 * a kernel's 66 MB) from one text. */
static void code_sym(struct xz_rc *rc, struct xz_model *m, uint64_t pos, unsigned prev,
		     unsigned mb, struct xz_sym *s)
{
	struct xz_rc r = *rc;

	if (rc->enc) {
		r.enc = 1;
		code_sym_in(&r, m, pos, prev, mb, s);
	} else {
		r.enc = 0;
		code_sym_in(&r, m, pos, prev, mb, s);
	}
	*rc = r;
}

/* ------------------------------------------------------------- streams */
void patch_xs_init(struct xz_stream *s, patch_read_fn rd, patch_write_fn wr, void *ctx,
		    uint64_t base, uint64_t len)
{
	s->read = rd;
	s->write = wr;
	s->ctx = ctx;
	s->base = base;
	s->len = len;
	s->off = 0;
	s->bpos = s->blen = 0;
	s->ended = 0;
}

int patch_xs_flush(struct xz_stream *s)
{
	int r;

	if (!s->bpos)
		return 0;
	r = s->write(s->ctx, s->base + s->off - s->bpos, s->buf, s->bpos);
	s->bpos = 0;
	return r;
}

/* Writes n bytes; more than len in all: SI_E_PATCH_EXPAND (noted). */
int patch_xs_put(struct xz_stream *s, const uint8_t *p, size_t n)
{
	int r;

	if (!si_span_ok(s->off, n, s->len)) {
		s->ended = 1;
		return SI_E_PATCH_EXPAND;
	}
	while (n) {
		size_t k = sizeof s->buf - s->bpos;

		if (k > n)
			k = n;
		memcpy(s->buf + s->bpos, p, k);
		s->bpos += k;
		s->off += k;
		p += k;
		n -= k;
		if (s->bpos == sizeof s->buf && (r = patch_xs_flush(s)))
			return r;
	}
	return 0;
}

/* Reads n bytes (p NULL: skips them); past len: SI_E_PATCH_EXPAND (noted). */
int patch_xs_get(struct xz_stream *s, uint8_t *p, size_t n)
{
	int r;

	if (!si_span_ok(s->off, n, s->len)) {
		s->ended = 1;
		return SI_E_PATCH_EXPAND;
	}
	while (n) {
		size_t k;

		if (s->bpos == s->blen) {
			uint64_t left = s->len - s->off;

			s->blen = left < sizeof s->buf ? (size_t)left : sizeof s->buf;
			s->bpos = 0;
			if ((r = s->read(s->ctx, s->base + s->off, s->buf, s->blen)))
				return r;
		}
		k = s->blen - s->bpos;
		if (k > n)
			k = n;
		if (p) {
			memcpy(p, s->buf + s->bpos, k);
			p += k;
		}
		s->bpos += k;
		s->off += k;
		n -= k;
	}
	return 0;
}

int patch_xs_byte(struct xz_stream *s, unsigned *b)
{
	uint8_t c;
	int r;

	if (s->bpos < s->blen && s->off < s->len) { /* the common case */
		*b = s->buf[s->bpos++];
		s->off++;
		return 0;
	}
	r = patch_xs_get(s, &c, 1);
	*b = c;
	return r;
}

int patch_xs_varint(struct xz_stream *s, uint64_t *v)
{
	unsigned b, sh = 0;
	int r;

	*v = 0;
	do {
		if (sh > 56) {
			s->ended = 2; /* not a number: malformed, not short */
			return SI_E_PATCH_EXPAND;
		}
		if ((r = patch_xs_byte(s, &b)))
			return r;
		*v |= (uint64_t)(b & 0x7F) << sh;
		sh += 7;
	} while (b & 0x80);
	return 0;
}

int patch_xs_put_varint(struct xz_stream *s, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;

	do {
		t[n++] = (uint8_t)((v & 0x7F) | (v > 0x7F ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return patch_xs_put(s, t, n);
}

/* ------------------------------------------------------------- the window
 * Data byte q (since the member's start) is win[q % XZ_WIN] while
 * q >= pos - XZ_WIN (split: the window is written out in order behind it;
 * join: it is read ahead of pos).  Farther bytes come through back. */
static int win_get(struct patch_xz *z, uint64_t q, uint8_t *out, size_t n, uint64_t lo)
{
	size_t i;

	if (q < lo) {
		uint64_t far = lo - q < n ? lo - q : n;
		int r;

		z->far_reads++;
		if ((r = z->back(z->bctx, z->data.base + q, out, (size_t)far)))
			return r;
		out += far;
		q += far;
		n -= (size_t)far;
	}
	for (i = 0; i < n; i++)
		out[i] = z->win[(q + i) & (XZ_WIN - 1)];
	return 0;
}

/* Puts p[0..n) in the window at pos (n at most XZ_WIN). */
static void win_put(struct patch_xz *z, const uint8_t *p, size_t n)
{
	size_t at = (size_t)(z->pos & (XZ_WIN - 1)), k = XZ_WIN - at < n ? XZ_WIN - at : n;

	memcpy(z->win + at, p, k);
	memcpy(z->win, p + k, n - k);
}

/* A chunk that resets the dictionary starts it at pos; one that does not
 * needs an earlier reset in its block (-1: there was none). */
static int chunk_dict(struct patch_xz *z, int reset)
{
	if (reset) {
		z->dict_start = z->pos;
		z->have_dict = 1;
	}
	return z->have_dict ? 0 : -1;
}

/* ============================================================== split */
static int split_flush_data(struct patch_xz *z, int all)
{
	/* write out what the window holds past flushed, in pieces, keeping
	 * at most half the window unwritten */
	while (z->flushed < z->pos && (all || z->pos - z->flushed >= XZ_WIN / 2)) {
		uint64_t q = z->flushed;
		size_t at = (size_t)(q & (XZ_WIN - 1)), n = XZ_WIN - at;
		int r;

		if (n > z->pos - q)
			n = (size_t)(z->pos - q);
		if (!si_span_ok(q, n, z->data.len))
			return SI_E_PATCH_EXPAND;
		if ((r = z->data.write(z->data.ctx, z->data.base + q, z->win + at, n)))
			return r;
		z->flushed += n;
	}
	return 0;
}

static int split_lits(struct patch_xz *z)
{
	while (z->lit_run) {
		unsigned n = z->lit_run > 64 ? 64 : z->lit_run;
		uint8_t t = (uint8_t)(n - 1);
		int r;

		if ((r = patch_xs_put(&z->parse, &t, 1)))
			return r;
		z->lit_run -= n;
	}
	return 0;
}

/* container bytes wait in z->raw, to be one token */
static int split_raw_flush(struct patch_xz *z)
{
	uint8_t t = 0xF0;
	int r;

	if (!z->raw_n)
		return 0;
	if ((r = patch_xs_put(&z->parse, &t, 1)) || (r = patch_xs_put_varint(&z->parse, z->raw_n)) ||
	    (r = patch_xs_put(&z->parse, z->raw, z->raw_n)))
		return r;
	z->raw_n = 0;
	return 0;
}

static int split_tok(struct patch_xz *z, const uint8_t *t, size_t n)
{
	int r = split_lits(z);

	if (!r)
		r = split_raw_flush(z);
	return r ? r : patch_xs_put(&z->parse, t, n);
}

static int split_raw(struct patch_xz *z, const uint8_t *p, size_t n)
{
	int r = split_lits(z);

	while (!r && n) {
		size_t k = sizeof z->raw - z->raw_n;

		if (k > n)
			k = n;
		memcpy(z->raw + z->raw_n, p, k);
		z->raw_n += k;
		p += k;
		n -= k;
		if (z->raw_n == sizeof z->raw)
			r = split_raw_flush(z);
	}
	return r;
}

/* member bytes, copied to the parse as container bytes */
static int split_in_raw(struct patch_xz *z, uint8_t *p, size_t n)
{
	int r = patch_xs_get(&z->in, p, n);

	return r ? r : split_raw(z, p, n);
}

static int emit_len_tok(struct patch_xz *z, unsigned base, unsigned len)
{
	uint8_t t[2];
	size_t n = 1;

	if (len - 2 < 63) {
		t[0] = (uint8_t)(base + len - 2);
	} else {
		t[0] = (uint8_t)(base + 63);
		t[1] = (uint8_t)(len - 65);
		n = 2;
	}
	return split_tok(z, t, n);
}

static int split_sym(struct patch_xz *z, const struct xz_sym *s)
{
	uint8_t t[2];
	int r;

	switch (s->kind) {
	case SYM_LIT:
		z->lit_run++;
		return 0;
	case SYM_MATCH:
		if ((r = emit_len_tok(z, 0x40, s->len)))
			return r;
		return patch_xs_put_varint(&z->parse, s->dist);
	case SYM_REP0:
		return emit_len_tok(z, 0x80, s->len);
	case SYM_SHORTREP:
		t[0] = 0xC0;
		return split_tok(z, t, 1);
	case SYM_REP1:
	case SYM_REP2:
	case SYM_REP3:
		t[0] = (uint8_t)(0xC1 + s->kind - SYM_REP1);
		if ((r = split_tok(z, t, 1)))
			return r;
		return patch_xs_put_varint(&z->parse, s->len - 2);
	}
	return SI_E_PATCH_EXPAND;
}

static int set_props(struct xz_model *m, unsigned p)
{
	if (p >= 9 * 5 * 5)
		return -1;
	m->lc = p % 9;
	p /= 9;
	m->lp = p % 5;
	m->pb = p / 5;
	return m->lc + m->lp > 4 ? -1 : 0;
}

/* One LZMA chunk: cl compressed bytes in z->cbuf making ul data bytes. */
static int split_lzma(struct patch_xz *z, size_t cl, uint32_t ul, struct si_diag *d)
{
	struct xz_sym s;
	uint64_t end = z->pos + ul;
	uint8_t buf[273];
	int r;

	if (rc_dec_init(&z->rc, z->cbuf, cl))
		return XZ_FAIL(d, "xz.chunk.rc_init", 0, z->cbuf[0]);
	while (z->pos < end) {
		uint64_t dpos = z->pos - z->dict_start, lo = z->pos > XZ_WIN ? z->pos - XZ_WIN : 0;
		unsigned prev = 0, mb = 0;
		uint8_t c;

		if (dpos) {
			if ((r = win_get(z, z->pos - 1, &c, 1, lo)))
				return r;
			prev = c;
		}
		if (z->m.state >= 7) {
			if (z->m.rep[0] >= dpos)
				return XZ_FAIL(d, "xz.chunk.distance", dpos, z->m.rep[0]);
			if ((r = win_get(z, z->pos - z->m.rep[0] - 1, &c, 1, lo)))
				return r;
			mb = c;
		}
		memset(&s, 0, sizeof s);
		code_sym(&z->rc, &z->m, dpos, prev, mb, &s);
		if (z->rc.err)
			return XZ_FAIL(d, "xz.chunk.truncated", cl, z->rc.pos);
		if (s.kind == SYM_LIT) {
			c = (uint8_t)s.byte;
			z->win[z->pos & (XZ_WIN - 1)] = c;
			z->pos++;
		} else {
			uint32_t dist = z->m.rep[0];

			if (dist >= dpos || dist >= z->dict_size)
				return XZ_FAIL(d, "xz.chunk.distance", dpos, dist);
			if (s.len > end - z->pos)
				return XZ_FAIL(d, "xz.chunk.length", end - z->pos, s.len);
			if (s.len > dist + 1) {
				/* overlapping: byte by byte, all inside the window */
				unsigned i;

				for (i = 0; i < s.len; i++) {
					z->win[z->pos & (XZ_WIN - 1)] =
						z->win[(z->pos - dist - 1) & (XZ_WIN - 1)];
					z->pos++;
				}
			} else {
				if ((r = win_get(z, z->pos - dist - 1, buf, s.len, lo)))
					return r;
				win_put(z, buf, s.len);
				z->pos += s.len;
			}
		}
		if ((r = split_sym(z, &s)))
			return r;
		if (z->pos - z->flushed >= XZ_WIN / 2 && (r = split_flush_data(z, 0)))
			return r;
	}
	if (z->rc.pos != cl || z->rc.code != 0)
		return XZ_FAIL(d, "xz.chunk.end", cl, z->rc.pos);
	return 0;
}

static int split_block_data(struct patch_xz *z, uint64_t *clen, struct si_diag *d)
{
	uint8_t h[6];
	int r;

	z->have_props = 0;
	z->have_dict = 0;
	*clen = 0;
	for (;;) {
		unsigned c;

		if ((r = patch_xs_get(&z->in, h, 1)))
			return r;
		c = h[0];
		*clen += 1;
		if (c == 0) {
			h[0] = 0xE2;
			return split_tok(z, h, 1);
		}
		if (c == 1 || c == 2) {
			unsigned n;

			if ((r = patch_xs_get(&z->in, h + 1, 2)))
				return r;
			n = ((unsigned)h[1] << 8 | h[2]) + 1;
			if (n > z->data.len - z->pos)
				return XZ_FAIL(d, "xz.data.length", z->data.len, z->pos + n);
			if (chunk_dict(z, c == 1))
				return XZ_FAIL(d, "xz.chunk.dict_reset", 1, c);
			h[0] = 0xE1;
			h[1] = (uint8_t)c;
			if ((r = split_tok(z, h, 2)) || (r = patch_xs_put_varint(&z->parse, n - 1)))
				return r;
			if ((r = patch_xs_get(&z->in, z->cbuf, n)))
				return r;
			win_put(z, z->cbuf, n);
			z->pos += n;
			if ((r = split_flush_data(z, 0)))
				return r;
			*clen += 2 + n;
			continue;
		}
		if (c < 0x80)
			return XZ_FAIL(d, "xz.chunk.control", 0x80, c);
		{
			unsigned reset = (c >> 5) & 3, hl = reset >= 2 ? 5 : 4;
			uint32_t ul;
			size_t cl;
			uint8_t t[3];

			if ((r = patch_xs_get(&z->in, h + 1, hl)))
				return r;
			ul = (((uint32_t)(c & 0x1F) << 16) | (uint32_t)h[1] << 8 | h[2]) + 1;
			cl = ((size_t)h[3] << 8 | h[4]) + 1;
			if (ul > z->data.len - z->pos)
				return XZ_FAIL(d, "xz.data.length", z->data.len, z->pos + ul);
			if (chunk_dict(z, reset == 3))
				return XZ_FAIL(d, "xz.chunk.dict_reset", 3, reset);
			if (reset >= 2) {
				if (set_props(&z->m, h[5]))
					return XZ_FAIL(d, "xz.chunk.props", 224, h[5]);
				z->have_props = 1;
			} else if (!z->have_props) {
				return XZ_FAIL(d, "xz.chunk.props", 2, reset);
			}
			if (reset >= 1) {
				model_reset(&z->m);
			}
			t[0] = 0xE0;
			t[1] = (uint8_t)reset;
			t[2] = h[5];
			if ((r = split_tok(z, t, reset >= 2 ? 3 : 2)))
				return r;
			if ((r = patch_xs_get(&z->in, z->cbuf, cl)))
				return r;
			if ((r = split_lzma(z, cl, ul, d)))
				return r;
			*clen += hl + cl;
		}
	}
}

/* One index byte: read (or given: h[0]), added to the CRC, copied. */
static int idx_byte(struct patch_xz *z, uint8_t *b, int read, uint32_t *crc, uint64_t *k)
{
	int r;

	if (read && (r = patch_xs_get(&z->in, b, 1)))
		return r;
	*crc = patch_crc32(*crc, b, 1);
	(*k)++;
	return split_raw(z, b, 1);
}

static unsigned check_size(unsigned id)
{
	return id == 0 ? 0 : 4u << ((id - 1) / 3);
}

int patch_xz_header_ok(const uint8_t *p, size_t len)
{
	static const uint8_t magic[6] = { 0xFD, '7', 'z', 'X', 'Z', 0 };

	return len >= 12 && !memcmp(p, magic, 6) && p[6] == 0 && (p[7] & 0xF0) == 0 &&
	       patch_crc32(0, p + 6, 2) == si_le32(p + 8);
}

int patch_xz_vli(const uint8_t *p, size_t len, size_t *at, uint64_t *v)
{
	unsigned sh = 0;

	*v = 0;
	for (;;) {
		uint8_t b;

		if (*at >= len || sh > 56)
			return -1;
		b = p[(*at)++];
		if (sh && !b)
			return -1; /* not the shortest form */
		*v |= (uint64_t)(b & 0x7F) << sh;
		sh += 7;
		if (!(b & 0x80))
			return 0;
	}
}

/* A block header (its first byte h[0] already read): checks it, notes the
 * dictionary size, copies it to the parse. */
static int split_block_header(struct patch_xz *z, uint8_t *h, uint64_t *csize, uint64_t *usize,
			      struct si_diag *d)
{
	size_t hl = ((size_t)h[0] + 1) * 4, at = 2;
	unsigned nf, f;
	uint64_t id = 0, psz = 0;
	int r;

	if ((r = patch_xs_get(&z->in, h + 1, hl - 1)))
		return r;
	if (patch_crc32(0, h, hl - 4) != si_le32(h + hl - 4))
		return XZ_FAIL(d, "xz.block.crc32", si_le32(h + hl - 4), patch_crc32(0, h, hl - 4));
	if (h[1] & 0x3C)
		return XZ_FAIL(d, "xz.block.flags", 0, h[1]);
	nf = (h[1] & 3) + 1;
	*csize = *usize = 0;
	if ((h[1] & 0x40) && (patch_xz_vli(h, hl - 4, &at, csize) || !*csize))
		return XZ_FAIL(d, "xz.block.compressed_size", 1, *csize);
	if ((h[1] & 0x80) && patch_xz_vli(h, hl - 4, &at, usize))
		return XZ_FAIL(d, "xz.block.uncompressed_size", 0, at);
	for (f = 0; f < nf; f++) {
		if (patch_xz_vli(h, hl - 4, &at, &id) || patch_xz_vli(h, hl - 4, &at, &psz) ||
		    psz > hl - 4 - at)
			return XZ_FAIL(d, "xz.block.filter", hl, at);
		if ((id == 0x21) != (f == nf - 1))
			return XZ_FAIL(d, "xz.block.filter", 0x21, id);
		at += (size_t)psz;
	}
	if (psz != 1 || h[at - 1] > 40)
		return XZ_FAIL(d, "xz.block.lzma2_props", 40, h[at - 1]);
	z->dict_size = h[at - 1] == 40 ? 0xFFFFFFFFu : (2u | (h[at - 1] & 1)) << (h[at - 1] / 2 + 11);
	for (; at < hl - 4; at++)
		if (h[at])
			return XZ_FAIL(d, "xz.block.padding", 0, h[at]);
	return split_raw(z, h, hl);
}

static int split_run(struct patch_xz *z, patch_read_fn read, void *rctx, uint64_t m_len,
		   patch_write_fn write, void *wctx, patch_read_fn back, void *bctx,
		   uint64_t data_base, uint64_t data_max, uint64_t parse_base, uint64_t parse_max,
		   uint64_t *data_len, uint64_t *parse_len, uint64_t *used, struct si_diag *d)
{
	uint8_t h[1024];
	unsigned csz, sflags;
	uint64_t nrec = 0;
	int r;

	z->pos = z->flushed = z->far_reads = 0;
	z->dict_start = 0;
	z->lit_run = 0;
	z->raw_n = 0;
	z->back = back;
	z->bctx = bctx;
	patch_xs_init(&z->in, read, NULL, rctx, 0, m_len);
	patch_xs_init(&z->data, NULL, write, wctx, data_base, data_max);
	patch_xs_init(&z->parse, NULL, write, wctx, parse_base, parse_max);

	if ((r = patch_xs_get(&z->in, h, 12)))
		return r == SI_E_PATCH_EXPAND ? XZ_FAIL(d, "xz.stream.header", 12, m_len) : r;
	if (!patch_xz_header_ok(h, 12))
		return XZ_FAIL(d, "xz.stream.header", 0, h[7]);
	sflags = h[7];
	csz = check_size(sflags & 0x0F);
	if ((r = split_raw(z, h, 12)))
		return r;
	for (;;) {
		uint64_t cs, us, clen, u0 = z->pos, unpadded;

		if ((r = patch_xs_get(&z->in, h, 1)))
			return r;
		if (h[0] == 0)
			break;
		if ((r = split_block_header(z, h, &cs, &us, d)))
			return r;
		unpadded = ((uint64_t)h[0] + 1) * 4;
		if ((r = split_block_data(z, &clen, d)))
			return r;
		if ((cs && cs != clen) || (us && us != z->pos - u0))
			return XZ_FAIL(d, "xz.block.sizes", cs ? cs : us, cs ? clen : z->pos - u0);
		unpadded += clen;
		/* padding to four bytes (zero) and the check, as they are */
		{
			size_t pad = (size_t)((4 - (unpadded & 3)) & 3), i;

			if ((r = split_in_raw(z, h, pad + csz)))
				return r;
			for (i = 0; i < pad; i++)
				if (h[i])
					return XZ_FAIL(d, "xz.block.padding", 0, h[i]);
		}
		nrec++;
	}
	/* the index (its indicator in h[0]): the number of records, then two
	 * numbers a record, zero padding to four bytes, its CRC-32; then the
	 * stream footer.  Copied as they are, checked on the way. */
	{
		uint64_t n = 0, k = 0, i;
		uint32_t crc = 0;
		unsigned sh = 0;
		uint8_t b = h[0];

		if ((r = idx_byte(z, &b, 0, &crc, &k)))
			return r;
		do {
			if ((r = idx_byte(z, &b, 1, &crc, &k)))
				return r;
			if (sh > 56 || (sh && !b))
				return XZ_FAIL(d, "xz.index.records", nrec, n);
			n |= (uint64_t)(b & 0x7F) << sh;
			sh += 7;
		} while (b & 0x80);
		if (n != nrec)
			return XZ_FAIL(d, "xz.index.records", nrec, n);
		for (i = 0; i < 2 * n; i++) {
			unsigned len = 0;

			do {
				if ((r = idx_byte(z, &b, 1, &crc, &k)))
					return r;
				if (++len > 9)
					return XZ_FAIL(d, "xz.index.record", 9, len);
			} while (b & 0x80);
		}
		while (k & 3) {
			if ((r = idx_byte(z, &b, 1, &crc, &k)))
				return r;
			if (b)
				return XZ_FAIL(d, "xz.index.padding", 0, b);
		}
		if ((r = split_in_raw(z, h, 4 + 12)))
			return r;
		if (si_le32(h) != crc)
			return XZ_FAIL(d, "xz.index.crc32", crc, si_le32(h));
		if (patch_crc32(0, h + 8, 6) != si_le32(h + 4) || si_le32(h + 8) != (k + 4) / 4 - 1 ||
		    h[12] != 0 || h[13] != sflags || h[14] != 'Y' || h[15] != 'Z')
			return XZ_FAIL(d, "xz.stream.footer", (k + 4) / 4 - 1, si_le32(h + 8));
	}
	h[0] = 0xFF;
	if ((r = split_tok(z, h, 1)) || (r = patch_xs_flush(&z->parse)) || (r = split_flush_data(z, 1)))
		return r;
	*data_len = z->pos;
	*parse_len = z->parse.off;
	*used = z->in.off;
	return 0;
}

/* =============================================================== join */
/* Loads data up to `need` bytes past pos into the window. */
static int join_load(struct patch_xz *z, uint64_t need)
{
	int r;

	if (need > z->data.len - z->pos)
		return SI_E_PATCH_EXPAND;
	while (z->avail < z->pos + need) {
		size_t at = (size_t)(z->avail & (XZ_WIN - 1)), n = XZ_WIN - at;
		uint64_t left = z->data.len - z->avail;

		if (n > 65536)
			n = 65536;
		if (n > left)
			n = (size_t)left;
		if ((r = z->data.read(z->data.ctx, z->data.base + z->avail, z->win + at, n)))
			return r;
		z->avail += n;
	}
	return 0;
}

static int join_chunk_end(struct patch_xz *z, unsigned reset, unsigned props, uint32_t ul,
			  struct si_diag *d)
{
	uint8_t h[6];
	size_t cl;
	int r;

	rc_enc_flush(&z->rc);
	if (z->rc.err)
		return XZ_FAIL(d, "xz.join.chunk_size", XZ_CHUNK_C, z->rc.pos);
	cl = z->rc.pos;
	if (!ul)
		return XZ_FAIL(d, "xz.join.chunk_empty", 1, 0);
	h[0] = (uint8_t)(0x80 | reset << 5 | (ul - 1) >> 16);
	h[1] = (uint8_t)((ul - 1) >> 8);
	h[2] = (uint8_t)(ul - 1);
	h[3] = (uint8_t)((cl - 1) >> 8);
	h[4] = (uint8_t)(cl - 1);
	h[5] = (uint8_t)props;
	if ((r = patch_xs_put(&z->in, h, reset >= 2 ? 6 : 5)))
		return r;
	return patch_xs_put(&z->in, z->cbuf, cl);
}

static int join_run(struct patch_xz *z, patch_read_fn read, void *rctx, uint64_t data_base,
		  uint64_t data_len, uint64_t parse_base, uint64_t parse_len, patch_write_fn write,
		  void *wctx, uint64_t m_max, uint64_t *m_len, struct si_diag *d)
{
	unsigned reset = 0, props = 0, t;
	uint32_t ul = 0;
	int in_chunk = 0, r;

	z->pos = z->avail = z->far_reads = 0;
	z->dict_start = 0;
	z->have_dict = z->have_props = 0;
	z->back = read;
	z->bctx = rctx;
	patch_xs_init(&z->data, read, NULL, rctx, data_base, data_len);
	patch_xs_init(&z->parse, read, NULL, rctx, parse_base, parse_len);
	patch_xs_init(&z->in, NULL, write, wctx, 0, m_max);

	for (;;) {
		uint64_t v;
		struct xz_sym s;
		unsigned n = 1, i;

		if ((r = patch_xs_byte(&z->parse, &t)))
			return r == SI_E_PATCH_EXPAND ? XZ_FAIL(d, "xz.parse.truncated", parse_len, z->parse.off) : r;
		if (t >= 0xE0 && in_chunk) {
			if ((r = join_chunk_end(z, reset, props, ul, d)))
				return r;
			in_chunk = 0;
		}
		if (t >= 0xE0) {
			switch (t) {
			case 0xE0:
				if ((r = patch_xs_byte(&z->parse, &reset)))
					return r;
				if (reset > 3 || chunk_dict(z, reset == 3))
					return XZ_FAIL(d, "xz.parse.reset", 3, reset);
				if (reset >= 2) {
					if ((r = patch_xs_byte(&z->parse, &props)))
						return r;
					if (set_props(&z->m, props))
						return XZ_FAIL(d, "xz.parse.props", 224, props);
					z->have_props = 1;
				} else if (!z->have_props) {
					return XZ_FAIL(d, "xz.parse.props", 2, reset);
				}
				if (reset >= 1)
					model_reset(&z->m);
				rc_enc_init(&z->rc, z->cbuf, XZ_CHUNK_C);
				in_chunk = 1;
				ul = 0;
				continue;
			case 0xE1: {
				uint8_t h[3];
				unsigned c;

				if ((r = patch_xs_byte(&z->parse, &c)) || (r = patch_xs_varint(&z->parse, &v)))
					return r;
				if ((c != 1 && c != 2) || v >= 65536 || chunk_dict(z, c == 1))
					return XZ_FAIL(d, "xz.parse.stored", 1, c);
				if ((r = join_load(z, v + 1)))
					return XZ_FAIL(d, "xz.parse.data", z->data.len, z->pos + v + 1);
				h[0] = (uint8_t)c;
				h[1] = (uint8_t)(v >> 8);
				h[2] = (uint8_t)v;
				if ((r = patch_xs_put(&z->in, h, 3)))
					return r;
				/* the window's bytes as they are: at most two spans */
				for (i = 0; i <= v;) {
					size_t at = (size_t)((z->pos + i) & (XZ_WIN - 1));
					size_t k = XZ_WIN - at < v + 1 - i ? XZ_WIN - at : (size_t)(v + 1 - i);

					if ((r = patch_xs_put(&z->in, z->win + at, k)))
						return r;
					i += (unsigned)k;
				}
				z->pos += v + 1;
				continue;
			}
			case 0xE2: {
				uint8_t zero = 0;

				if (!z->have_dict)
					return XZ_FAIL(d, "xz.parse.block_end", 1, 0);
				z->have_dict = z->have_props = 0;
				if ((r = patch_xs_put(&z->in, &zero, 1)))
					return r;
				continue;
			}
			case 0xF0: {
				uint8_t b[256];

				if ((r = patch_xs_varint(&z->parse, &v)))
					return r;
				if (!v)
					return XZ_FAIL(d, "xz.parse.raw", 1, 0);
				while (v) {
					size_t k = v < sizeof b ? (size_t)v : sizeof b;

					if ((r = patch_xs_get(&z->parse, b, k)) || (r = patch_xs_put(&z->in, b, k)))
						return r;
					v -= k;
				}
				continue;
			}
			case 0xFF:
				if (z->have_dict || z->pos != data_len || z->parse.off != parse_len)
					return XZ_FAIL(d, "xz.parse.end", data_len, z->pos);
				if ((r = patch_xs_flush(&z->in)))
					return r;
				*m_len = z->in.off;
				return 0;
			default:
				return XZ_FAIL(d, "xz.parse.token", 0xE0, t);
			}
		}
		if (t > 0xC3)
			return XZ_FAIL(d, "xz.parse.token", 0xC3, t);
		if (!in_chunk)
			return XZ_FAIL(d, "xz.parse.no_chunk", 0xE0, t);
		memset(&s, 0, sizeof s);
		if (t < 0x40) {
			s.kind = SYM_LIT;
			s.len = 1;
			n = t + 1;
		} else if (t < 0xC0) {
			s.kind = t < 0x80 ? SYM_MATCH : SYM_REP0;
			s.len = (t & 0x3F) + 2;
			if ((t & 0x3F) == 0x3F) {
				if ((r = patch_xs_byte(&z->parse, &i)))
					return r;
				if (i > 208)
					return XZ_FAIL(d, "xz.parse.length", 273, 65 + i);
				s.len = 65 + i;
			}
			if (s.kind == SYM_MATCH) {
				if ((r = patch_xs_varint(&z->parse, &v)))
					return r;
				if (v >= 0xFFFFFFFFu)
					return XZ_FAIL(d, "xz.parse.distance", 0xFFFFFFFEu, v);
				s.dist = (uint32_t)v;
			}
		} else if (t == 0xC0) {
			s.kind = SYM_SHORTREP;
			s.len = 1;
		} else if (t <= 0xC3) {
			s.kind = SYM_REP1 + (t - 0xC1);
			if ((r = patch_xs_varint(&z->parse, &v)))
				return r;
			if (v > 271)
				return XZ_FAIL(d, "xz.parse.length", 273, v + 2);
			s.len = (unsigned)v + 2;
		} else {
			return XZ_FAIL(d, "xz.parse.token", 0xC3, t);
		}
		while (n--) {
			uint64_t dpos = z->pos - z->dict_start, lo;
			unsigned prev = 0, mb = 0;
			uint8_t c;

			if ((r = join_load(z, s.len)))
				return XZ_FAIL(d, "xz.parse.data", z->data.len, z->pos + s.len);
			lo = z->avail > XZ_WIN ? z->avail - XZ_WIN : 0;
			if (dpos)
				prev = z->win[(z->pos - 1) & (XZ_WIN - 1)];
			if (z->m.state >= 7) {
				if (z->m.rep[0] >= dpos)
					return XZ_FAIL(d, "xz.parse.distance", dpos, z->m.rep[0]);
				if ((r = win_get(z, z->pos - z->m.rep[0] - 1, &c, 1, lo)))
					return r;
				mb = c;
			}
			if (s.kind == SYM_LIT)
				s.byte = z->win[z->pos & (XZ_WIN - 1)];
			code_sym(&z->rc, &z->m, dpos, prev, mb, &s);
			if (s.kind != SYM_LIT && z->m.rep[0] >= dpos)
				return XZ_FAIL(d, "xz.parse.distance", dpos, z->m.rep[0]);
			if (z->rc.err)
				return XZ_FAIL(d, "xz.join.chunk_size", XZ_CHUNK_C, z->rc.pos);
			if (s.len > XZ_CHUNK_U - ul)
				return XZ_FAIL(d, "xz.join.chunk_data", XZ_CHUNK_U, ul + s.len);
			ul += s.len;
			z->pos += s.len;
		}
	}
}

/* The streams' bounds (st_get, st_put) refuse without naming a field:
 * name the stream that ran out. */
int patch_xz_split(struct patch_xz *z, patch_read_fn read, void *rctx, uint64_t m_len,
		   patch_write_fn write, void *wctx, patch_read_fn back, void *bctx,
		   uint64_t data_base, uint64_t data_max, uint64_t parse_base, uint64_t parse_max,
		   uint64_t *data_len, uint64_t *parse_len, uint64_t *used, struct si_diag *d)
{
	int r;

	si_diag_clear(d);
	r = split_run(z, read, rctx, m_len, write, wctx, back, bctx, data_base, data_max,
		      parse_base, parse_max, data_len, parse_len, used, d);
	if (r == SI_E_PATCH_EXPAND && d && !d->field) {
		if (z->in.ended)
			return XZ_FAIL(d, "xz.stream.truncated", m_len, z->in.off);
		if (z->parse.ended)
			return XZ_FAIL(d, "xz.parse.length", parse_max, z->parse.off);
		return XZ_FAIL(d, "xz.data.length", data_max, z->pos);
	}
	return r;
}

int patch_xz_join(struct patch_xz *z, patch_read_fn read, void *rctx, uint64_t data_base,
		  uint64_t data_len, uint64_t parse_base, uint64_t parse_len, patch_write_fn write,
		  void *wctx, uint64_t m_max, uint64_t *m_len, struct si_diag *d)
{
	int r;

	si_diag_clear(d);
	r = join_run(z, read, rctx, data_base, data_len, parse_base, parse_len, write, wctx, m_max,
		     m_len, d);
	if (r == SI_E_PATCH_EXPAND && d && !d->field) {
		if (z->parse.ended == 2)
			return XZ_FAIL(d, "xz.parse.number", 10, z->parse.off);
		if (z->parse.ended)
			return XZ_FAIL(d, "xz.parse.truncated", parse_len, z->parse.off);
		if (z->in.ended)
			return XZ_FAIL(d, "xz.join.length", m_max, z->in.off);
		return XZ_FAIL(d, "xz.parse.data", data_len, z->pos);
	}
	return r;
}
