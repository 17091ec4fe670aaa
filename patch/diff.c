/* sealinit patch/: making patches (build server side; sealctl only).
 *
 * Matching: a suffix array of the whole old image (libdivsufsort), then
 * bsdiff's scan (Colin Percival, "Naive differences of executable code",
 * 2003): find the longest exact match of the current new position anywhere
 * in old, accept it when it beats the running approximate match by 8
 * bytes, and extend both neighbours of each accepted match forward and
 * backward while more than half the bytes agree.  Extended regions become
 * ADD (old + difference bytes) and what lies between becomes LIT.  Then
 * ADD regions are split into COPY where the difference is zero for long
 * runs, and zero runs in LIT become ZERO, so the apply neither reads nor
 * decodes bytes it does not need.
 *
 * Encoding: the ops are cut at segment boundaries; each segment's control,
 * difference and literal streams are compressed separately with zstd at
 * level 19+ (written in the docs: why zstd), in parallel. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <divsufsort.h>
#include <zstd.h>

#include "lib/bytes.h"
#include "patch/diff.h"
#include "patch/patch.h"
#include "patch/zstd.h"

struct op {
	uint8_t kind;
	uint64_t dst, src, len;
};

struct ops {
	struct op *v;
	size_t n, cap;
};

static int ops_push(struct ops *o, uint8_t kind, uint64_t dst, uint64_t src, uint64_t len)
{
	if (len == 0)
		return 0;
	if (o->n && o->v[o->n - 1].kind == kind && o->v[o->n - 1].dst + o->v[o->n - 1].len == dst &&
	    (kind >= PATCH_OP_LIT || o->v[o->n - 1].src + o->v[o->n - 1].len == src)) {
		o->v[o->n - 1].len += len;
		return 0;
	}
	if (o->n == o->cap) {
		size_t nc = o->cap ? o->cap * 2 : 4096;
		struct op *nv = realloc(o->v, nc * sizeof *nv);

		if (!nv)
			return SI_E_NOMEM;
		o->v = nv;
		o->cap = nc;
	}
	o->v[o->n].kind = kind;
	o->v[o->n].dst = dst;
	o->v[o->n].src = src;
	o->v[o->n].len = len;
	o->n++;
	return 0;
}

static size_t matchlen(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
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

/* Longest match of nw[0..nn) among old's suffixes; binary search on sa.
 * The search compares at most SEARCH_CAP bytes: beyond that any suffix in
 * the range is as good (the final matchlen measures the real length), and
 * uncapped compares made the scan quadratic in long repeated regions. */
#define SEARCH_CAP 4096

static size_t sa_longest(const int32_t *sa, const uint8_t *old, size_t on, const uint8_t *nw,
			size_t nn, size_t *pos)
{
	size_t lo = 0, hi = on - 1, x, y, cap = nn < SEARCH_CAP ? nn : SEARCH_CAP;

	while (hi - lo >= 2) {
		size_t mid = lo + (hi - lo) / 2, s = (size_t)sa[mid];
		size_t n = on - s < cap ? on - s : cap;
		int c = memcmp(old + s, nw, n);

		if (c < 0 || (c == 0 && on - s < cap))
			lo = mid;
		else
			hi = mid;
	}
	x = matchlen(old + sa[lo], on - (size_t)sa[lo], nw, nn);
	y = matchlen(old + sa[hi], on - (size_t)sa[hi], nw, nn);
	if (x > y) {
		*pos = (size_t)sa[lo];
		return x;
	}
	*pos = (size_t)sa[hi];
	return y;
}

#define COPY_MIN 512 /* exact runs at least this long leave ADD for COPY */
#define ZERO_MIN 64 /* zero runs at least this long leave LIT for ZERO */

/* An approximate match: ADD, with long exact runs as COPY. */
static int emit_add(struct ops *o, const uint8_t *old, const uint8_t *nw, uint64_t dst,
		    uint64_t src, uint64_t len)
{
	uint64_t i = 0, start = 0;
	int r;

	while (i < len) {
		uint64_t j;

		if (old[src + i] != nw[dst + i]) {
			i++;
			continue;
		}
		j = i + matchlen(old + src + i, (size_t)(len - i), nw + dst + i, (size_t)(len - i));
		if (j - i >= COPY_MIN) {
			if ((r = ops_push(o, PATCH_OP_ADD, dst + start, src + start, i - start)) ||
			    (r = ops_push(o, PATCH_OP_COPY, dst + i, src + i, j - i)))
				return r;
			start = j;
		}
		i = j;
	}
	return ops_push(o, PATCH_OP_ADD, dst + start, src + start, len - start);
}

static int emit_lit(struct ops *o, const uint8_t *nw, uint64_t dst, uint64_t len)
{
	uint64_t i = 0, start = 0;
	int r;

	while (i < len) {
		uint64_t j = i;

		if (nw[dst + i] != 0) {
			i++;
			continue;
		}
		while (j < len && nw[dst + j] == 0)
			j++;
		if (j - i >= ZERO_MIN) {
			if ((r = ops_push(o, PATCH_OP_LIT, dst + start, 0, i - start)) ||
			    (r = ops_push(o, PATCH_OP_ZERO, dst + i, 0, j - i)))
				return r;
			start = j;
		}
		i = j;
	}
	return ops_push(o, PATCH_OP_LIT, dst + start, 0, len - start);
}

/* bsdiff's scan over new, in its published form, writing ops. */
static int scan(const int32_t *sa, const uint8_t *old, size_t on, const uint8_t *nw, size_t nn,
		struct ops *o, const struct patch_diff_opts *opt)
{
	size_t sc = 0, len = 0, pos = 0, lastscan = 0, lastpos = 0, report = 0;
	int64_t lastoffset = 0;
	int r;

	while (sc < nn) {
		size_t oldscore = 0, scsc;

		if (opt->progress && sc >= report) {
			opt->progress(opt->pctx, PATCH_DIFF_MATCH, sc, nn);
			report = sc + nn / 200 + 1; /* about every half percent */
		}

		for (scsc = sc += len; sc < nn; sc++) {
			len = on ? sa_longest(sa, old, on, nw + sc, nn - sc, &pos) : 0;
			for (; scsc < sc + len; scsc++)
				if ((int64_t)scsc + lastoffset >= 0 &&
				    (int64_t)scsc + lastoffset < (int64_t)on &&
				    old[scsc + lastoffset] == nw[scsc])
					oldscore++;
			if ((len == oldscore && len != 0) || len > oldscore + 8)
				break;
			if ((int64_t)sc + lastoffset >= 0 && (int64_t)sc + lastoffset < (int64_t)on &&
			    old[sc + lastoffset] == nw[sc])
				oldscore--;
		}
		if (len != oldscore || sc == nn) {
			int64_t s = 0, sf = 0, sb, ss;
			size_t lenf = 0, lenb = 0, i;

			for (i = 0; lastscan + i < sc && lastpos + i < on;) {
				if (old[lastpos + i] == nw[lastscan + i])
					s++;
				i++;
				if (s * 2 - (int64_t)i > sf * 2 - (int64_t)lenf) {
					sf = s;
					lenf = i;
				}
			}
			if (sc < nn) {
				s = 0;
				sb = 0;
				for (i = 1; sc >= lastscan + i && pos >= i; i++) {
					if (old[pos - i] == nw[sc - i])
						s++;
					if (s * 2 - (int64_t)i > sb * 2 - (int64_t)lenb) {
						sb = s;
						lenb = i;
					}
				}
			}
			if (lastscan + lenf > sc - lenb) {
				size_t overlap = (lastscan + lenf) - (sc - lenb), lens = 0;

				s = 0;
				ss = 0;
				for (i = 0; i < overlap; i++) {
					if (nw[lastscan + lenf - overlap + i] ==
					    old[lastpos + lenf - overlap + i])
						s++;
					if (nw[sc - lenb + i] == old[pos - lenb + i])
						s--;
					if (s > ss) {
						ss = s;
						lens = i + 1;
					}
				}
				lenf += lens - overlap;
				lenb -= lens;
			}
			if ((r = emit_add(o, old, nw, lastscan, lastpos, lenf)) ||
			    (r = emit_lit(o, nw, lastscan + lenf, (sc - lenb) - (lastscan + lenf))))
				return r;
			lastscan = sc - lenb;
			lastpos = pos - lenb;
			lastoffset = (int64_t)pos - (int64_t)sc;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ encoding */
struct buf {
	uint8_t *p;
	size_t n, cap;
};

static int buf_put(struct buf *b, const void *p, size_t n)
{
	if (b->cap - b->n < n) {
		size_t nc = b->cap ? b->cap : 4096;
		uint8_t *np;

		while (nc - b->n < n)
			nc *= 2;
		np = realloc(b->p, nc);
		if (!np)
			return SI_E_NOMEM;
		b->p = np;
		b->cap = nc;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
	return 0;
}

static int buf_varint(struct buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;

	do {
		t[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			t[n] |= 0x80;
		n++;
	} while (v);
	return buf_put(b, t, n);
}

struct seg_out {
	uint8_t *payload; /* ctrl || diff || lit, encoded */
	uint32_t ctrl_len, diff_len, lit_len, ctrl_clen, diff_clen, lit_clen;
	uint8_t codec;
	uint8_t sha256[PATCH_HASH_LEN];
};

struct enc {
	const uint8_t *old, *nw;
	size_t on, nn;
	const struct ops *o;
	size_t *first_op; /* per segment: first op overlapping it */
	struct seg_out *segs;
	uint32_t seg_size, nseg;
	int level;
	atomic_uint next;
	atomic_int err;
	const struct patch_diff_opts *opt;
	pthread_mutex_t lock; /* serialises progress reports */
	uint32_t ndone;
};

static int zcompress(ZSTD_CCtx *cc, int level, const struct buf *in, struct buf *out,
		     uint32_t *clen)
{
	size_t bound = ZSTD_compressBound(in->n), r;

	if (in->n == 0) {
		*clen = 0;
		return 0;
	}
	if (out->cap - out->n < bound) {
		uint8_t *np = realloc(out->p, out->n + bound);

		if (!np)
			return SI_E_NOMEM;
		out->p = np;
		out->cap = out->n + bound;
	}
	ZSTD_CCtx_reset(cc, ZSTD_reset_session_and_parameters);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_contentSizeFlag, 0);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 0);
	ZSTD_CCtx_setParameter(cc, ZSTD_c_dictIDFlag, 0);
	r = ZSTD_compress2(cc, out->p + out->n, bound, in->p, in->n);
	if (ZSTD_isError(r))
		return SI_E_NOMEM;
	out->n += r;
	*clen = (uint32_t)r;
	return 0;
}

static int encode_segment(struct enc *e, uint32_t k, ZSTD_CCtx *cc)
{
	uint64_t s0 = (uint64_t)k * e->seg_size, s1 = s0 + e->seg_size, cursor = s0;
	struct buf hdr = { 0 }, dlt = { 0 }, ctrl = { 0 }, diff = { 0 }, lit = { 0 }, pay = { 0 };
	struct seg_out *so = &e->segs[k];
	size_t i;
	int r = 0;

	if (s1 > e->nn)
		s1 = e->nn;
	for (i = e->first_op[k]; i < e->o->n && e->o->v[i].dst < s1 && r == 0; i++) {
		const struct op *op = &e->o->v[i];
		uint64_t a = op->dst > s0 ? op->dst : s0;
		uint64_t b = op->dst + op->len < s1 ? op->dst + op->len : s1;
		uint64_t len = b - a, src = op->src + (a - op->dst), z;

		if (b <= a)
			continue;
		r = buf_varint(&hdr, len << 2 | op->kind);
		if (r == 0 && op->kind <= PATCH_OP_ADD) {
			z = src - cursor;
			/* zig-zag of the signed delta */
			z = (int64_t)z < 0 ? ((~z) << 1) | 1 : z << 1;
			r = buf_varint(&dlt, z);
			cursor = src + len;
		}
		if (r == 0 && op->kind == PATCH_OP_ADD) {
			size_t old_n = diff.n;

			r = buf_put(&diff, e->nw + a, (size_t)len);
			for (uint64_t j = 0; r == 0 && j < len; j++)
				diff.p[old_n + j] = (uint8_t)(e->nw[a + j] - e->old[src + j]);
		}
		if (r == 0 && op->kind == PATCH_OP_LIT)
			r = buf_put(&lit, e->nw + a, (size_t)len);
	}
	/* The control stream: header column length, headers, deltas (two
	 * columns compress better than interleaved fields: 3% of the patch). */
	if (r == 0)
		r = buf_varint(&ctrl, hdr.n);
	if (r == 0 && hdr.n)
		r = buf_put(&ctrl, hdr.p, hdr.n);
	if (r == 0 && dlt.n)
		r = buf_put(&ctrl, dlt.p, dlt.n);
	if (r == 0 && ctrl.n > PATCH_CTRL_MAX(e->seg_size)) {
		/* Too fragmented for the apply's control cap: one literal. */
		uint8_t one[11];
		size_t n = 0;
		uint64_t v = (s1 - s0) << 2 | PATCH_OP_LIT;

		do {
			one[1 + n] = (uint8_t)((v & 0x7f) | (v >> 7 ? 0x80 : 0));
			v >>= 7;
			n++;
		} while (v);
		one[0] = (uint8_t)n;
		ctrl.n = diff.n = lit.n = 0;
		r = buf_put(&ctrl, one, n + 1);
		if (r == 0)
			r = buf_put(&lit, e->nw + s0, (size_t)(s1 - s0));
	}
	if (r == 0)
		r = zcompress(cc, e->level, &ctrl, &pay, &so->ctrl_clen);
	if (r == 0)
		r = zcompress(cc, e->level, &diff, &pay, &so->diff_clen);
	if (r == 0)
		r = zcompress(cc, e->level, &lit, &pay, &so->lit_clen);
	so->codec = PATCH_CODEC_ZSTD;
	so->ctrl_len = (uint32_t)ctrl.n;
	so->diff_len = (uint32_t)diff.n;
	so->lit_len = (uint32_t)lit.n;
	if (r == 0 && pay.n > (size_t)e->seg_size + PATCH_CTRL_MAX(e->seg_size)) {
		/* Incompressible beyond the apply's buffer: store the streams. */
		struct buf st = { 0 };

		if ((r = buf_put(&st, ctrl.p, ctrl.n)) == 0 && (r = buf_put(&st, diff.p, diff.n)) == 0)
			r = buf_put(&st, lit.p, lit.n);
		free(pay.p);
		pay = st;
		so->codec = PATCH_CODEC_STORED;
		so->ctrl_clen = so->ctrl_len;
		so->diff_clen = so->diff_len;
		so->lit_clen = so->lit_len;
	}
	patch_hash(e->nw + s0, (size_t)(s1 - s0), so->sha256);
	so->payload = pay.p;
	free(hdr.p);
	free(dlt.p);
	free(ctrl.p);
	free(diff.p);
	free(lit.p);
	return r;
}

static void *enc_worker(void *arg)
{
	struct enc *e = arg;
	ZSTD_CCtx *cc = ZSTD_createCCtx();

	if (!cc) {
		atomic_store(&e->err, SI_E_NOMEM);
		return NULL;
	}
	while (atomic_load(&e->err) == 0) {
		uint32_t k = atomic_fetch_add(&e->next, 1);
		int r;

		if (k >= e->nseg)
			break;
		r = encode_segment(e, k, cc);
		if (r != 0)
			atomic_store(&e->err, r);
		if (r == 0 && e->opt->progress) {
			pthread_mutex_lock(&e->lock);
			e->ndone++;
			e->opt->progress(e->opt->pctx, PATCH_DIFF_ENCODE, e->ndone, e->nseg);
			pthread_mutex_unlock(&e->lock);
		}
	}
	ZSTD_freeCCtx(cc);
	return NULL;
}

static void chunk_digest(const uint8_t *p, size_t n, uint32_t seg, uint8_t out[PATCH_HASH_LEN])
{
	struct patch_hash h;
	size_t off;

	patch_hash_init(&h);
	for (off = 0; off < n; off += seg) {
		uint8_t c[PATCH_HASH_LEN];

		patch_hash(p + off, n - off < seg ? n - off : seg, c);
		patch_hash_update(&h, c, sizeof c);
	}
	patch_hash_final(&h, out);
}

int patch_diff(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn,
	       const struct patch_diff_opts *opt, uint8_t **out, size_t *out_len,
	       struct patch_diff_stats *st, struct si_diag *d)
{
	struct ops o = { 0 };
	struct enc e;
	int32_t *sa = NULL;
	pthread_t tid[64];
	unsigned nthreads = opt->threads ? opt->threads : 1, started = 0, t;
	uint32_t seg = opt->seg_size, k;
	size_t hl, total, i, pos;
	uint8_t *p = NULL;
	int r = 0;

	memset(&e, 0, sizeof e);
	pthread_mutex_init(&e.lock, NULL);
	if (seg < PATCH_SEG_MIN || seg > PATCH_SEG_MAX || (seg & (seg - 1)))
		return SI_E_ARG;
	if (on >= INT32_MAX || nn / seg >= CONFIG_PATCH_MAX_SEGMENTS ||
	    on / seg >= CONFIG_PATCH_MAX_SEGMENTS) {
		si_diag_field(d, "diff.size");
		si_diag_values(d, INT32_MAX, on);
		return SI_E_TOO_BIG;
	}
	if (nthreads > SI_ARRAY_SIZE(tid))
		nthreads = SI_ARRAY_SIZE(tid);
	if (on > 0) {
		sa = malloc((on ? on : 1) * sizeof *sa);
		if (!sa)
			return SI_E_NOMEM;
		if (opt->progress)
			opt->progress(opt->pctx, PATCH_DIFF_SORT, 0, on);
		if (divsufsort(old, sa, (int32_t)on) != 0) {
			free(sa);
			return SI_E_NOMEM;
		}
		if (opt->progress)
			opt->progress(opt->pctx, PATCH_DIFF_SORT, on, on);
	}
	if (on > 0)
		r = scan(sa, old, on, nw, nn, &o, opt);
	else
		r = emit_lit(&o, nw, 0, nn);
	if (r == 0 && opt->progress)
		opt->progress(opt->pctx, PATCH_DIFF_MATCH, nn, nn);
	free(sa);
	if (r != 0)
		goto out;

	e.old = old;
	e.nw = nw;
	e.on = on;
	e.nn = nn;
	e.o = &o;
	e.seg_size = seg;
	e.nseg = (uint32_t)(nn / seg + (nn % seg != 0));
	e.level = opt->level;
	e.opt = opt;
	e.segs = calloc(e.nseg ? e.nseg : 1, sizeof *e.segs);
	e.first_op = calloc(e.nseg ? e.nseg : 1, sizeof *e.first_op);
	if (!e.segs || !e.first_op) {
		r = SI_E_NOMEM;
		goto out;
	}
	for (i = 0, k = 0; k < e.nseg; k++) {
		uint64_t s0 = (uint64_t)k * seg;

		while (i < o.n && o.v[i].dst + o.v[i].len <= s0)
			i++;
		e.first_op[k] = i;
	}
	if (st) {
		memset(st, 0, sizeof *st);
		for (i = 0; i < o.n; i++) {
			st->ops[o.v[i].kind]++;
			st->bytes[o.v[i].kind] += o.v[i].len;
		}
	}
	for (t = 1; t < nthreads; t++) {
		if (pthread_create(&tid[t], NULL, enc_worker, &e) != 0)
			break;
		started++;
	}
	enc_worker(&e);
	for (t = 0; t < started; t++)
		pthread_join(tid[t + 1], NULL);
	r = atomic_load(&e.err);
	if (r != 0)
		goto out;

	hl = PATCH_HDR_LEN + (size_t)e.nseg * PATCH_ENTRY_LEN +
	     (opt->seals ? PATCH_SEALS_LEN : 0) + PATCH_HASH_LEN;
	total = hl;
	for (k = 0; k < e.nseg; k++)
		total += (size_t)e.segs[k].ctrl_clen + e.segs[k].diff_clen + e.segs[k].lit_clen;
	p = calloc(1, total);
	if (!p) {
		r = SI_E_NOMEM;
		goto out;
	}
	memcpy(p, PATCH_MAGIC, 8);
	si_put_le32(p + 8, PATCH_VERSION);
	si_put_le32(p + 12, (uint32_t)hl);
	if (opt->seals) {
		uint8_t *q = p + PATCH_HDR_LEN + (size_t)e.nseg * PATCH_ENTRY_LEN;

		si_put_le32(p + 16, PATCH_FLAG_SEALS);
		memcpy(q, opt->seals->base_manifest, 32);
		memcpy(q + 32, opt->seals->base_root, 32);
		memcpy(q + 64, opt->seals->target_manifest, 32);
		memcpy(q + 96, opt->seals->target_root, 32);
	}
	si_put_le32(p + 20, seg);
	si_put_le32(p + 24, e.nseg);
	si_put_le64(p + 32, on);
	si_put_le64(p + 40, nn);
	chunk_digest(old, on, seg, p + 48);
	si_put_le64(p + 112, total - hl);
	{
		struct patch_hash nh;

		patch_hash_init(&nh);
		for (k = 0; k < e.nseg; k++)
			patch_hash_update(&nh, e.segs[k].sha256, PATCH_HASH_LEN);
		patch_hash_final(&nh, p + 80);
	}
	pos = 0;
	for (k = 0; k < e.nseg; k++) {
		uint8_t *en = p + PATCH_HDR_LEN + (size_t)k * PATCH_ENTRY_LEN;
		struct seg_out *so = &e.segs[k];
		size_t cl = (size_t)so->ctrl_clen + so->diff_clen + so->lit_clen;

		si_put_le64(en, pos);
		en[8] = so->codec;
		si_put_le32(en + 16, so->ctrl_len);
		si_put_le32(en + 20, so->diff_len);
		si_put_le32(en + 24, so->lit_len);
		si_put_le32(en + 28, so->ctrl_clen);
		si_put_le32(en + 32, so->diff_clen);
		si_put_le32(en + 36, so->lit_clen);
		memcpy(en + 40, so->sha256, PATCH_HASH_LEN);
		memcpy(p + hl + pos, so->payload, cl);
		pos += cl;
		if (st) {
			st->ctrl_c += so->ctrl_clen;
			st->diff_c += so->diff_clen;
			st->lit_c += so->lit_clen;
		}
	}
	patch_hash(p, hl - PATCH_HASH_LEN, p + hl - PATCH_HASH_LEN);
	*out = p;
	*out_len = total;
	p = NULL;
out:
	if (e.segs)
		for (k = 0; k < e.nseg; k++)
			free(e.segs[k].payload);
	free(e.segs);
	free(e.first_op);
	free(o.v);
	free(p);
	pthread_mutex_destroy(&e.lock);
	return r;
}

/* sealctl's decoder is sealinit's (patch/zstd.c), with one decoder in
 * heap memory per call, so it needs no set-up and is safe from every
 * apply worker; sealinit keeps a pool in its own memory instead. */
int patch_decode_zstd(void *ctx, int codec, const uint8_t *src, size_t slen, uint8_t *dst,
		      size_t dlen)
{
	size_t mlen = patch_zstd_mem(1);
	struct patch_zstd *z;
	void *mem;
	int r;

	(void)ctx;
	if (codec != PATCH_CODEC_ZSTD)
		return patch_zstd_decode(NULL, codec, src, slen, dst, dlen);
	z = malloc(sizeof *z);
	mem = aligned_alloc(64, mlen);
	r = z && mem ? patch_zstd_init(z, mem, mlen, 1, 0, NULL) : SI_E_NOMEM;
	if (r == 0) {
		r = patch_zstd_decode(z, codec, src, slen, dst, dlen);
		patch_zstd_done(z);
	}
	free(mem);
	free(z);
	return r;
}
