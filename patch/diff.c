/* sealinit patch/: making patches (build server side; sealctl only).
 *
 * 1. Plan (plan.c): where the images are erofs, their files; gzip members
 *    that decompress and compress back to the same bytes become expansions
 *    (diffed decompressed); the architecture of the executables inside.
 * 2. Match (match.c): covers of the new image against the old one, and of
 *    each expansion's new member against its old member.
 * 3. Predict: the target map from the covers (where each old region went),
 *    then for each approximate cover (ADD) whether rewriting the references
 *    in it (XADD, refs.c) leaves fewer difference bytes; the map keeps only
 *    the pieces that some XADD reference needs.
 * 4. Encode: ops cut at segment boundaries; per segment the control,
 *    difference and literal streams, each compressed with zstd, segments in
 *    parallel; the header, index, tables and expansions around them. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "lib/bytes.h"
#include "patch/diff.h"
#include "patch/diff_int.h"
#include "patch/gz.h"
#include "patch/patch.h"
#include "patch/zstd.h"

int ops_push(struct ops *o, uint8_t kind, uint64_t dst, uint64_t src, uint64_t len)
{
	if (len == 0)
		return 0;
	if (o->n && o->v[o->n - 1].kind == kind && o->v[o->n - 1].dst + o->v[o->n - 1].len == dst &&
	    ((kind != PATCH_OP_COPY && kind != PATCH_OP_ADD && kind != PATCH_OP_XADD) ||
	     o->v[o->n - 1].src + o->v[o->n - 1].len == src)) {
		o->v[o->n - 1].len += len;
		return 0;
	}
	if (diff_grow(&o->v, o->n, &o->cap, sizeof *o->v, 4096))
		return SI_E_NOMEM;
	o->v[o->n].kind = kind;
	o->v[o->n].dst = dst;
	o->v[o->n].src = src;
	o->v[o->n].len = len;
	o->n++;
	return 0;
}

int diff_grow(void *v, size_t n, size_t *cap, size_t elem, size_t first)
{
	void **pv = v, *nv;
	size_t nc;

	if (n < *cap)
		return 0;
	nc = *cap ? *cap * 2 : first;
	nv = realloc(*pv, nc * elem);
	if (!nv)
		return SI_E_NOMEM;
	*pv = nv;
	*cap = nc;
	return 0;
}

#define COPY_MIN 512 /* exact runs at least this long leave ADD for COPY */
#define ZERO_MIN 64  /* zero runs at least this long leave LIT for ZERO */

int emit_cover(struct ops *o, const uint8_t *old, const uint8_t *nw, uint64_t dst, uint64_t len,
	       int64_t d)
{
	(void)old;
	(void)nw;
	/* one ADD per cover: prediction decides on whole covers, and
	 * split_copies() cuts the exact runs out afterwards */
	return ops_push(o, PATCH_OP_ADD, dst, (uint64_t)((int64_t)dst + d), len);
}

int emit_lit(struct ops *o, const uint8_t *nw, uint64_t dst, uint64_t len)
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

/* ------------------------------------------------------------ buffers */
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

static uint64_t zigzag(int64_t v)
{
	return v < 0 ? ((~(uint64_t)v) << 1) | 1 : (uint64_t)v << 1;
}

/* ------------------------------------------------------------- spaces */
/* The apply's source space (old image, then each expansion's old member)
 * and where the diff holds each part. */
struct space {
	const uint8_t *old;
	size_t on;
	const struct diff_plan *plan;
};

static const uint8_t *src_ptr(const struct space *sp, uint64_t src)
{
	uint32_t k;

	if (src < sp->on)
		return sp->old + src;
	for (k = 0; k < sp->plan->nexp; k++) {
		const struct diff_exp *x = &sp->plan->exp[k];

		if (src >= x->src_base && src - x->src_base < x->u_old_len)
			return x->u_old + (src - x->src_base);
	}
	return NULL; /* not reached: ops stay inside their space */
}

/* ADD and XADD covers with long runs that need no difference bytes, the
 * prediction changing nothing there either, as COPY: the apply neither
 * decodes nor adds bytes for them. */
static int split_copies(const struct ops *in, const struct space *sp, const uint8_t *nw,
			int arch, const struct patch_map *m, struct ops *out)
{
	uint8_t *tmp = NULL;
	size_t cap = 0, i;
	int r = 0;

	for (i = 0; i < in->n && r == 0; i++) {
		const struct op *p = &in->v[i];
		const uint8_t *from, *pred;
		uint64_t k = 0, start = 0;

		if (p->kind != PATCH_OP_ADD && p->kind != PATCH_OP_XADD) {
			r = ops_push(out, p->kind, p->dst, p->src, p->len);
			continue;
		}
		from = src_ptr(sp, p->src);
		pred = from;
		if (p->kind == PATCH_OP_XADD) {
			if (p->len > cap) {
				uint8_t *t = realloc(tmp, p->len);

				if (!t) {
					r = SI_E_NOMEM;
					break;
				}
				tmp = t;
				cap = p->len;
			}
			memcpy(tmp, from, p->len);
			patch_refs_predict(arch, tmp, p->len, p->src, p->dst, sp->on, m);
			pred = tmp;
		}
		while (k < p->len) {
			uint64_t j;

			if (from[k] != nw[p->dst + k] || pred[k] != from[k]) {
				k++;
				continue;
			}
			for (j = k; j < p->len && from[j] == nw[p->dst + j] && pred[j] == from[j]; j++)
				;
			if (j - k >= COPY_MIN) {
				if ((r = ops_push(out, p->kind, p->dst + start, p->src + start, k - start)) ||
				    (r = ops_push(out, PATCH_OP_COPY, p->dst + k, p->src + k, j - k)))
					break;
				start = j;
			}
			k = j;
		}
		if (r == 0)
			r = ops_push(out, p->kind, p->dst + start, p->src + start, p->len - start);
	}
	free(tmp);
	return r;
}

/* --------------------------------------------------------- prediction */
static int piece_cmp(const void *a, const void *b)
{
	const struct patch_map_piece *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return x->end > y->end ? -1 : x->end < y->end; /* longer first */
}

/* The target map from the image's covers: each COPY/ADD says where its old
 * bytes went.  Pieces sorted by source; where covers share old bytes the
 * first (longest) keeps them; neighbours that moved alike merge. */
static int map_build(const struct ops *o, size_t on, struct patch_map_piece **out, uint32_t *n)
{
	struct patch_map_piece *v;
	size_t i, m = 0, k;

	for (i = 0; i < o->n; i++)
		m += o->v[i].kind == PATCH_OP_COPY || o->v[i].kind == PATCH_OP_ADD;
	v = malloc((m ? m : 1) * sizeof *v);
	if (!v)
		return SI_E_NOMEM;
	for (i = 0, m = 0; i < o->n; i++) {
		const struct op *p = &o->v[i];

		if ((p->kind != PATCH_OP_COPY && p->kind != PATCH_OP_ADD) || p->src + p->len > on)
			continue;
		v[m].start = p->src;
		v[m].end = p->src + p->len;
		v[m].delta = (int64_t)(p->dst - p->src);
		m++;
	}
	qsort(v, m, sizeof *v, piece_cmp);
	for (i = 0, k = 0; i < m; i++) {
		struct patch_map_piece p = v[i];

		if (k && p.start < v[k - 1].end) {
			if (p.end <= v[k - 1].end)
				continue;
			p.start = v[k - 1].end;
		}
		if (k && v[k - 1].end == p.start && v[k - 1].delta == p.delta) {
			v[k - 1].end = p.end;
			continue;
		}
		v[k++] = p;
	}
	*out = v;
	*n = (uint32_t)k;
	return 0;
}

/* Nonzero bytes of nw[0..n) - pred[0..n). */
static size_t nonzero_diff(const uint8_t *nw, const uint8_t *pred, size_t n)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += nw[i] != pred[i];
	return c;
}

/* Which ADD covers become XADD, and the map they need: a cover changes
 * when rewriting its references leaves fewer nonzero difference bytes; the
 * map then keeps the pieces that some chosen cover's rewritten reference
 * points into (hits), since the others only cost patch bytes. */
static int predict(struct ops *o, const uint8_t *old, size_t on, const uint8_t *nw, int arch,
		   struct patch_map_piece **pieces, uint32_t *npieces, struct patch_diff_stats *st)
{
	struct patch_map_piece *v = NULL;
	uint32_t n = 0, *hits = NULL, *blk = NULL, k, j;
	struct patch_map m;
	uint8_t *tmp = NULL;
	size_t cap = 0, i;
	int r;

	*pieces = NULL;
	*npieces = 0;
	if (arch == PATCH_ARCH_NONE)
		return 0;
	r = map_build(o, on, &v, &n);
	if (r)
		return r;
	hits = calloc(n ? n : 1, sizeof *hits);
	if (!hits) {
		free(v);
		return SI_E_NOMEM;
	}
	memset(&m, 0, sizeof m);
	m.v = v;
	m.n = n;
	blk = malloc(patch_map_index_len(on, n) * sizeof *blk);
	if (!blk) {
		r = SI_E_NOMEM;
		goto out;
	}
	patch_map_index(&m, on, blk);
	for (i = 0; i < o->n; i++) {
		struct op *p = &o->v[i];
		size_t plain, pred;

		if (p->kind != PATCH_OP_ADD || p->src + p->len > on || p->len < 4)
			continue;
		if (p->len > cap) {
			uint8_t *t = realloc(tmp, p->len);

			if (!t) {
				r = SI_E_NOMEM;
				goto out;
			}
			tmp = t;
			cap = p->len;
		}
		memcpy(tmp, old + p->src, p->len);
		if (patch_refs_predict(arch, tmp, p->len, p->src, p->dst, on, &m) == 0)
			continue;
		plain = nonzero_diff(nw + p->dst, old + p->src, p->len);
		pred = nonzero_diff(nw + p->dst, tmp, p->len);
		if (pred < plain) {
			p->kind = PATCH_OP_XADD;
			if (st)
				st->xadd_saved += plain - pred;
		}
	}
	/* the pieces chosen covers use */
	m.hits = hits;
	for (i = 0; i < o->n; i++) {
		struct op *p = &o->v[i];

		if (p->kind != PATCH_OP_XADD)
			continue;
		memcpy(tmp, old + p->src, p->len);
		patch_refs_predict(arch, tmp, p->len, p->src, p->dst, on, &m);
	}
	for (k = 0, j = 0; k < n; k++)
		if (hits[k])
			v[j++] = v[k];
	*pieces = v;
	*npieces = j;
	v = NULL;
	r = 0;
out:
	free(v);
	free(hits);
	free(tmp);
	free(blk);
	return r;
}

static int map_encode(const struct patch_map_piece *v, uint32_t n, struct buf *b)
{
	uint64_t end = 0;
	int64_t delta = 0;
	uint32_t i;
	int r = 0;

	for (i = 0; i < n && r == 0; i++) {
		r = buf_varint(b, v[i].start - end);
		if (r == 0)
			r = buf_varint(b, v[i].end - v[i].start);
		if (r == 0)
			r = buf_varint(b, zigzag(v[i].delta - delta));
		end = v[i].end;
		delta = v[i].delta;
	}
	return r;
}

/* ------------------------------------------------------------ encoding */
struct seg_out {
	uint8_t *payload; /* ctrl || diff || lit, encoded */
	uint32_t ctrl_len, diff_len, lit_len, ctrl_clen, diff_clen, lit_clen;
	uint8_t codec, arch, diff_mode, lit_filter, lit_bits;
	uint8_t sha256[PATCH_HASH_LEN];
};

/* One segment to encode: its output bytes and the ops that make them. */
struct seg_job {
	const struct ops *o;
	size_t first_op;
	const uint8_t *nw;    /* its output space's bytes (dst indexes them) */
	uint64_t s0, s1;      /* its output range, in dst terms */
	uint64_t cursor;      /* the source delta's start */
	int arch;
};

struct enc {
	const struct space *sp;
	const struct patch_map *map;
	struct seg_job *jobs;
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

/* A LIT piece: its output offset and its length. */
struct lit_piece {
	uint64_t at, len;
};

/* A segment's streams as they are built. */
struct seg_bufs {
	struct buf hdr, dlt, diff, lit, tmp;
	struct buf lits; /* the LIT pieces: struct lit_piece */
	uint64_t cursor;
	int has_xadd;
};

/* One op piece new[a, a+len) into the streams. */
static int emit_piece(struct enc *e, const struct seg_job *j, struct seg_bufs *sb, uint8_t kind,
		      uint64_t a, uint64_t len, uint64_t src)
{
	int r = buf_varint(&sb->hdr, len << 3 | kind);

	if (r == 0 && (kind == PATCH_OP_COPY || kind == PATCH_OP_ADD || kind == PATCH_OP_XADD)) {
		r = buf_varint(&sb->dlt, zigzag((int64_t)(src - sb->cursor)));
		sb->cursor = src + len;
	}
	if (r == 0 && (kind == PATCH_OP_ADD || kind == PATCH_OP_XADD)) {
		const uint8_t *from = src_ptr(e->sp, src);
		size_t at = sb->diff.n;

		if (kind == PATCH_OP_XADD) {
			/* exactly what the apply computes for this piece */
			sb->tmp.n = 0;
			r = buf_put(&sb->tmp, from, (size_t)len);
			if (r == 0)
				patch_refs_predict(j->arch, sb->tmp.p, (size_t)len, src, a, e->sp->on,
						   e->map);
			from = sb->tmp.p;
			sb->has_xadd = 1;
		}
		if (r == 0)
			r = buf_put(&sb->diff, j->nw + a, (size_t)len);
		for (uint64_t q = 0; r == 0 && q < len; q++)
			sb->diff.p[at + q] = (uint8_t)(j->nw[a + q] - from[q]);
	}
	if (r == 0 && kind == PATCH_OP_LIT) {
		struct lit_piece lp = { a, len };

		r = buf_put(&sb->lit, j->nw + a, (size_t)len);
		if (r == 0)
			r = buf_put(&sb->lits, &lp, sizeof lp);
	}
	return r;
}

/* The segment's literal bytes through the x86-64 filter with modulus
 * 2^bits, piece by piece, into out. */
static int lit_filtered(const struct seg_bufs *sb, unsigned bits, struct buf *out,
			size_t *fields)
{
	const struct lit_piece *v = (const struct lit_piece *)(const void *)sb->lits.p;
	size_t n = sb->lits.n / sizeof *v, i, at = 0;

	out->n = 0;
	*fields = 0;
	if (buf_put(out, sb->lit.p, sb->lit.n))
		return SI_E_NOMEM;
	for (i = 0; i < n; i++) {
		*fields += patch_lit_filter(out->p + at, (size_t)v[i].len, v[i].at, bits, 1);
		at += (size_t)v[i].len;
	}
	return 0;
}

#define LIT_TRIAL_LEVEL 7 /* ranks the filter's moduli (level 22 takes 10 times as long) */
#define LIT_FILTER_MIN 4096
#define LIT_SURE 97 /* percent of the plain size under which the ranking is trusted */

/* The literal stream of a segment, compressed into *lit_c, and whether it
 * goes through the x86-64 filter (patch_lit_filter) with which modulus:
 * in an x86-64 segment each modulus is ranked by a fast compression
 * against the plain bytes.  A filter that wins by at least 3 % there is
 * taken (the patch's level then compresses once); a closer one is
 * compressed at the patch's level as well as the plain bytes, and the
 * smaller kept.  The modulus matters: too small and the far references of
 * a large library stay relative, too large and more data that looks like
 * code is rewritten (the app pair's libxul.so, 123 MB of code: 2^28 best).
 * With the filter, sb->lit holds the filtered bytes. */
static int lit_encode(struct enc *e, const struct seg_job *j, struct seg_bufs *sb, ZSTD_CCtx *cc,
		      struct buf *lit_c, struct seg_out *so)
{
	static const unsigned cand[] = { 22, 24, 26, 28, 30, 32 };
	struct buf f = { 0 }, z = { 0 };
	size_t plain_z, best_z, fields, k;
	unsigned best = 0;
	uint32_t cl = 0, fl = 0;
	int r;

	so->lit_filter = PATCH_LIT_PLAIN;
	so->lit_bits = 0;
	if (j->arch != PATCH_ARCH_X86_64 || sb->lit.n < LIT_FILTER_MIN || sb->lits.n == 0)
		return zcompress(cc, e->level, &sb->lit, lit_c, &so->lit_clen);
	if ((r = zcompress(cc, LIT_TRIAL_LEVEL, &sb->lit, &z, &cl)))
		goto out;
	plain_z = best_z = cl;
	for (k = 0; k < SI_ARRAY_SIZE(cand); k++) {
		if ((r = lit_filtered(sb, cand[k], &f, &fields)))
			goto out;
		if (fields == 0)
			continue; /* nothing rewritten: the plain bytes */
		z.n = 0;
		if ((r = zcompress(cc, LIT_TRIAL_LEVEL, &f, &z, &cl)))
			goto out;
		if (cl < best_z) {
			best_z = cl;
			best = cand[k];
		}
	}
	if (best == 0 || best_z * 100 >= plain_z * LIT_SURE) {
		if ((r = zcompress(cc, e->level, &sb->lit, lit_c, &so->lit_clen)) || best == 0)
			goto out;
	}
	if ((r = lit_filtered(sb, best, &f, &fields)))
		goto out;
	z.n = 0;
	if ((r = zcompress(cc, e->level, &f, &z, &fl)))
		goto out;
	if (lit_c->n == 0 || fl < so->lit_clen) {
		struct buf t = sb->lit;

		sb->lit = f;
		f = t;
		t = *lit_c;
		*lit_c = z;
		z = t;
		so->lit_clen = fl;
		so->lit_filter = PATCH_LIT_X86;
		so->lit_bits = (uint8_t)best;
	}
out:
	free(f.p);
	free(z.p);
	return r;
}

static int encode_segment(struct enc *e, uint32_t k, ZSTD_CCtx *cc)
{
	const struct seg_job *j = &e->jobs[k];
	struct seg_out *so = &e->segs[k];
	uint64_t s0 = j->s0, s1 = j->s1;
	struct seg_bufs sb;
	struct buf ctrl = { 0 }, pay = { 0 };
	int r = 0;
	size_t i;

	memset(&sb, 0, sizeof sb);
	sb.cursor = j->cursor;
	for (i = j->first_op; i < j->o->n && j->o->v[i].dst < s1 && r == 0; i++) {
		const struct op *op = &j->o->v[i];
		uint64_t a = op->dst > s0 ? op->dst : s0;
		uint64_t b = op->dst + op->len < s1 ? op->dst + op->len : s1;
		uint64_t len = b - a, src = op->src + (a - op->dst);

		if (b <= a)
			continue;
		r = emit_piece(e, j, &sb, op->kind, a, len, src);
	}
	/* The control stream: header column length, headers, deltas (two
	 * columns compress better than interleaved fields: 3% of the patch). */
	if (r == 0)
		r = buf_varint(&ctrl, sb.hdr.n);
	if (r == 0 && sb.hdr.n)
		r = buf_put(&ctrl, sb.hdr.p, sb.hdr.n);
	if (r == 0 && sb.dlt.n)
		r = buf_put(&ctrl, sb.dlt.p, sb.dlt.n);
	/* The difference bytes as runs: zstd then sees the nonzero tenth
	 * (faster, and 3% smaller on the os pair) and the apply skips the
	 * zeros; bytes stay when runs would not fit the apply's buffer. */
	so->diff_mode = PATCH_DIFF_BYTES;
	if (r == 0 && sb.diff.n) {
		struct buf runs = { 0 }, nz = { 0 }, all = { 0 };
		size_t q = 0;

		while (r == 0 && q < sb.diff.n) {
			size_t z0 = q, n0;

			while (q < sb.diff.n && sb.diff.p[q] == 0)
				q++;
			n0 = q;
			while (q < sb.diff.n && sb.diff.p[q] != 0)
				q++;
			r = buf_varint(&runs, z0 == n0 ? 0 : n0 - z0);
			if (r == 0)
				r = buf_varint(&runs, q - n0);
			if (r == 0 && q > n0)
				r = buf_put(&nz, sb.diff.p + n0, q - n0);
		}
		if (r == 0)
			r = buf_varint(&all, runs.n);
		if (r == 0 && runs.n)
			r = buf_put(&all, runs.p, runs.n);
		if (r == 0 && nz.n)
			r = buf_put(&all, nz.p, nz.n);
		if (r == 0 && all.n + sb.lit.n <= s1 - s0) {
			free(sb.diff.p);
			sb.diff = all;
			all.p = NULL;
			so->diff_mode = PATCH_DIFF_RUNS;
		}
		free(runs.p);
		free(nz.p);
		free(all.p);
	}
	if (r == 0 && ctrl.n > PATCH_CTRL_MAX(e->seg_size)) {
		/* Too fragmented for the apply's control cap: one literal. */
		ctrl.n = sb.diff.n = sb.lit.n = sb.hdr.n = 0;
		so->diff_mode = PATCH_DIFF_BYTES;
		r = buf_varint(&sb.hdr, (s1 - s0) << 3 | PATCH_OP_LIT);
		if (r == 0)
			r = buf_varint(&ctrl, sb.hdr.n);
		if (r == 0)
			r = buf_put(&ctrl, sb.hdr.p, sb.hdr.n);
		if (r == 0)
			r = buf_put(&sb.lit, j->nw + s0, (size_t)(s1 - s0));
		sb.has_xadd = 0;
		sb.lits.n = 0; /* no filter */
	}
	if (r == 0)
		r = zcompress(cc, e->level, &ctrl, &pay, &so->ctrl_clen);
	if (r == 0)
		r = zcompress(cc, e->level, &sb.diff, &pay, &so->diff_clen);
	if (r == 0) {
		struct buf lc = { 0 };

		r = lit_encode(e, j, &sb, cc, &lc, so);
		if (r == 0 && lc.n)
			r = buf_put(&pay, lc.p, lc.n);
		free(lc.p);
	}
	so->codec = PATCH_CODEC_ZSTD;
	so->arch = sb.has_xadd ? (uint8_t)j->arch : PATCH_ARCH_NONE;
	so->ctrl_len = (uint32_t)ctrl.n;
	so->diff_len = (uint32_t)sb.diff.n;
	so->lit_len = (uint32_t)sb.lit.n;
	if (r == 0 && pay.n > (size_t)e->seg_size + PATCH_CTRL_MAX(e->seg_size)) {
		/* Incompressible beyond the apply's buffer: store the streams. */
		struct buf sto = { 0 };

		if ((r = buf_put(&sto, ctrl.p, ctrl.n)) == 0 && (r = buf_put(&sto, sb.diff.p, sb.diff.n)) == 0)
			r = buf_put(&sto, sb.lit.p, sb.lit.n);
		free(pay.p);
		pay = sto;
		so->codec = PATCH_CODEC_STORED;
		so->ctrl_clen = so->ctrl_len;
		so->diff_clen = so->diff_len;
		so->lit_clen = so->lit_len;
	}
	patch_seg_digest(j->nw + s0, (size_t)(s1 - s0), so->sha256);
	so->payload = pay.p;
	free(sb.hdr.p);
	free(sb.dlt.p);
	free(ctrl.p);
	free(sb.diff.p);
	free(sb.lit.p);
	free(sb.tmp.p);
	free(sb.lits.p);
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

		patch_seg_digest(p + off, n - off < seg ? n - off : seg, c);
		patch_hash_update(&h, c, sizeof c);
	}
	patch_hash_final(&h, out);
}

/* The expansions' new members matched, in one scan, each against its own
 * old member first (a pair: its suffix array) and against every old
 * member (the index over all of them: a squashfs file's block whose bytes
 * moved across the old blocks' bounds finds both), into xo[k]: ops in
 * member k's coordinates, sources in the source space (XADD as ADD: no
 * references in a member). */
static int match_members(const struct diff_plan *pl, uint64_t on, const struct match_tune *mt,
			 unsigned nthreads, struct ops *xo)
{
	size_t ao = 0, an = 0, k, np = 0, m = 0;
	uint8_t *old_all, *new_all;
	struct match_pair *pairs = malloc(pl->nexp * sizeof *pairs);
	uint64_t *nlo = malloc((pl->nexp + 1) * sizeof *nlo);
	uint64_t *olo = malloc((pl->nexp + 1) * sizeof *olo);
	struct ops lc = { 0 }, lo = { 0 };
	int r = 0;

	for (k = 0; k < pl->nexp; k++) {
		ao += pl->exp[k].u_old_len;
		an += pl->exp[k].u_new_len;
	}
	old_all = malloc(ao ? ao : 1);
	new_all = malloc(an ? an : 1);
	if (!pairs || !nlo || !olo || !old_all || !new_all) {
		r = SI_E_NOMEM;
		goto out;
	}
	ao = an = 0;
	for (k = 0; k < pl->nexp; k++) {
		const struct diff_exp *x = &pl->exp[k];

		memcpy(old_all + ao, x->u_old, x->u_old_len);
		memcpy(new_all + an, x->u_new, x->u_new_len);
		nlo[k] = an;
		olo[k] = ao;
		if (x->u_old_len >= 64 && x->u_new_len) { /* a suffix array for it */
			pairs[np].new_lo = an;
			pairs[np].new_hi = an + x->u_new_len;
			pairs[np].old_lo = ao;
			pairs[np].old_hi = ao + x->u_old_len;
			np++;
		}
		ao += x->u_old_len;
		an += x->u_new_len;
	}
	nlo[pl->nexp] = an;
	olo[pl->nexp] = ao;
	r = match_run(old_all, ao, new_all, an, pairs, np, NULL, 0, NULL, 0, NULL, 0, mt, nthreads,
		      &lc);
	if (r == 0) {
		struct space xs = { old_all, ao, NULL };

		r = split_copies(&lc, &xs, new_all, PATCH_ARCH_NONE, NULL, &lo);
	}
	/* each op to its member (ops come in order), cut where one ends, and
	 * where its source crosses from one old member to the next (the diff
	 * holds them apart; the apply's source space has them end to end);
	 * sources from the members' start in the source space, after old */
	for (k = 0; r == 0 && k < lo.n; k++) {
		struct op q = lo.v[k];
		int sourced = q.kind == PATCH_OP_COPY || q.kind == PATCH_OP_ADD ||
			      q.kind == PATCH_OP_XADD;

		while (r == 0 && q.len) {
			uint64_t take;

			while (m + 1 < pl->nexp && nlo[m + 1] <= q.dst)
				m++;
			take = nlo[m + 1] - q.dst < q.len ? nlo[m + 1] - q.dst : q.len;
			if (sourced) {
				size_t lo_k = 0, hi_k = pl->nexp;

				while (lo_k + 1 < hi_k) { /* the old member holding q.src */
					size_t mid = (lo_k + hi_k) / 2;

					if (olo[mid] <= q.src)
						lo_k = mid;
					else
						hi_k = mid;
				}
				if (olo[lo_k + 1] - q.src < take)
					take = olo[lo_k + 1] - q.src;
			}
			/* appended, not merged: the piece after a cut at an old
			 * member's end continues it in the source space, but
			 * the diff reads each member from its own buffer */
			if (diff_grow(&xo[m].v, xo[m].n, &xo[m].cap, sizeof *xo[m].v, 256)) {
				r = SI_E_NOMEM;
				break;
			}
			xo[m].v[xo[m].n++] = (struct op){ q.kind == PATCH_OP_XADD ? PATCH_OP_ADD : q.kind,
							  q.dst - nlo[m], sourced ? q.src + on : q.src,
							  take };
			q.dst += take;
			if (sourced)
				q.src += take;
			q.len -= take;
		}
	}
out:
	free(lc.v);
	free(lo.v);
	free(pairs);
	free(nlo);
	free(olo);
	free(old_all);
	free(new_all);
	return r;
}

static int ext_cmp(const void *a, const void *b)
{
	const struct patch_ext *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* The expansions' new extents, sorted: the scan does not probe them and
 * ops_keep makes them KEEP. */
static int keep_ranges(const struct diff_plan *pl, struct patch_ext **out, size_t *n)
{
	struct patch_ext *v = malloc((2 * (size_t)pl->nexp + 1) * sizeof *v);
	uint32_t k;
	unsigned j;

	*out = v;
	*n = 0;
	if (!v)
		return SI_E_NOMEM;
	for (k = 0; k < pl->nexp; k++)
		for (j = 0; j < pl->exp[k].n_new; j++)
			if (pl->exp[k].new_ext[j].len)
				v[(*n)++] = pl->exp[k].new_ext[j];
	qsort(v, *n, sizeof *v, ext_cmp);
	return 0;
}

/* The image's ops with each expansion's new extents (ext[0..ne), sorted:
 * keep_ranges) made KEEP: the apply writes those bytes by compressing the
 * new member again. */
static int ops_keep(const struct ops *in, const struct patch_ext *ext, size_t ne,
		    struct ops *out)
{
	size_t i, x = 0;
	int r = 0;

	for (i = 0; i < in->n && r == 0; i++) {
		struct op p = in->v[i];
		uint64_t end = p.dst + p.len;

		while (x < ne && ext[x].off + ext[x].len <= p.dst)
			x++;
		while (r == 0 && p.dst < end) {
			uint64_t cut = end;

			if (x < ne && ext[x].off < end) {
				if (ext[x].off <= p.dst) {
					/* inside an extent: KEEP up to its end */
					uint64_t ke = ext[x].off + ext[x].len < end ? ext[x].off + ext[x].len : end;

					r = ops_push(out, PATCH_OP_KEEP, p.dst, 0, ke - p.dst);
					p.src += ke - p.dst;
					p.dst = ke;
					if (ke == ext[x].off + ext[x].len)
						x++;
					continue;
				}
				cut = ext[x].off;
			}
			r = ops_push(out, p.kind, p.dst, p.src, cut - p.dst);
			p.src += cut - p.dst;
			p.dst = cut;
		}
	}
	return r;
}

uint32_t patch_diff_seg_size(uint64_t new_size)
{
	uint32_t seg = 1u << 20;

	while (seg < (4u << 20) && (uint64_t)seg * 2 * 16 <= new_size)
		seg *= 2;
	return seg;
}

int patch_diff(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn,
	       const struct patch_diff_opts *opt, uint8_t **out, size_t *out_len,
	       struct patch_diff_stats *st, struct si_diag *d)
{
	struct diff_plan plan;
	struct ops raw = { 0 }, img = { 0 }, *xo = NULL;
	struct patch_ext *keep = NULL;
	size_t nkeep = 0;
	struct patch_map_piece *pieces = NULL;
	uint32_t npieces = 0;
	struct patch_map map = { 0 };
	uint32_t *mapblk = NULL;
	struct space sp;
	struct enc e;
	struct buf mapb = { 0 }, mapz = { 0 };
	pthread_t tid[64];
	unsigned nthreads = opt->threads ? opt->threads : 1, started = 0, t;
	uint32_t seg = opt->seg_size ? opt->seg_size : patch_diff_seg_size(nn), k, nseg_img;
	size_t hl, total, i, pos;
	uint64_t src_base;
	uint8_t *p = NULL;
	int r = 0;
	/* measured on the os, lib and kc64 pairs and 16 MB of the app pair's
	 * code (see docs/formats.md, "Diff") */
	static const struct match_tune mt = { .k = 8, .big = 32, .window = 128, .min = 20,
					      .depth = 16, .min_strict = 48, .w = 1,
					      .w_strict = 2, .far = 12, .far_elf = 4 };

	memset(&e, 0, sizeof e);
	memset(&plan, 0, sizeof plan);
	e.opt = opt;
	if (seg < PATCH_SEG_MIN || seg > PATCH_SEG_MAX || (seg & (seg - 1)))
		return SI_E_ARG;
	if (on >= UINT32_MAX || nn / seg >= CONFIG_PATCH_MAX_SEGMENTS ||
	    on / seg >= CONFIG_PATCH_MAX_SEGMENTS) {
		si_diag_field(d, "diff.size");
		si_diag_values(d, UINT32_MAX, on);
		return SI_E_TOO_BIG;
	}
	if (nthreads > SI_ARRAY_SIZE(tid))
		nthreads = SI_ARRAY_SIZE(tid);
	if (st)
		memset(st, 0, sizeof *st);
	pthread_mutex_init(&e.lock, NULL);

	/* progress: the plan and the index of old are the "sort" phase */
	if (opt->progress)
		opt->progress(opt->pctx, PATCH_DIFF_SORT, 0, on);
	r = diff_plan_make(old, on, nw, nn, opt, &plan);
	if (r)
		goto out;
	if (opt->progress) {
		opt->progress(opt->pctx, PATCH_DIFF_SORT, on, on);
		opt->progress(opt->pctx, PATCH_DIFF_MATCH, 0, nn);
	}
	src_base = on;
	for (k = 0; k < plan.nexp; k++) {
		plan.exp[k].src_base = src_base;
		src_base += plan.exp[k].u_old_len;
	}
	sp.old = old;
	sp.on = on;
	sp.plan = &plan;

	r = keep_ranges(&plan, &keep, &nkeep);
	if (r == 0)
		r = match_run(old, on, nw, nn, plan.pairs, plan.npairs, plan.btf, plan.nbtf, plan.elf,
			      plan.nelf, keep, nkeep, &mt, nthreads, &raw);
	if (r == 0)
		r = predict(&raw, old, on, nw, plan.arch, &pieces, &npieces, st);
	map.v = pieces;
	map.n = npieces;
	if (r == 0 && npieces) {
		mapblk = malloc(patch_map_index_len(on, npieces) * sizeof *mapblk);
		if (!mapblk)
			r = SI_E_NOMEM;
		else
			patch_map_index(&map, on, mapblk);
	}
	if (r == 0)
		r = split_copies(&raw, &sp, nw, plan.arch, &map, &img);
	free(raw.v);
	raw = img;
	memset(&img, 0, sizeof img);
	if (r == 0)
		r = ops_keep(&raw, keep, nkeep, &img);
	free(keep);
	keep = NULL;
	free(raw.v);
	raw.v = NULL;
	if (r)
		goto out;
	xo = calloc(plan.nexp ? plan.nexp : 1, sizeof *xo);
	if (!xo) {
		r = SI_E_NOMEM;
		goto out;
	}
	if (plan.nexp)
		r = match_members(&plan, on, &mt, nthreads, xo);
	if (r)
		goto out;

	if (opt->progress)
		opt->progress(opt->pctx, PATCH_DIFF_MATCH, nn, nn);
	/* the map stream: bounded by what the apply decodes in one worker */
	map.v = pieces;
	map.n = npieces;
	for (;;) {
		mapb.n = 0;
		r = map_encode(pieces, npieces, &mapb);
		if (r)
			goto out;
		if (mapb.n <= seg && npieces <= CONFIG_PATCH_MAP_MAX)
			break;
		npieces /= 2; /* rare: keep the first half */
	}
	if (map.n != npieces) { /* cut: the index again */
		map.n = npieces;
		patch_map_index(&map, on, mapblk);
	}
	if (mapb.n) {
		ZSTD_CCtx *cc = ZSTD_createCCtx();
		uint32_t zl = 0;

		if (!cc) {
			r = SI_E_NOMEM;
			goto out;
		}
		r = zcompress(cc, opt->level, &mapb, &mapz, &zl);
		ZSTD_freeCCtx(cc);
		if (r)
			goto out;
	}

	/* segments: the image's, then each expansion's */
	nseg_img = (uint32_t)(nn / seg + (nn % seg != 0));
	e.nseg = nseg_img;
	for (k = 0; k < plan.nexp; k++)
		e.nseg += (uint32_t)(plan.exp[k].u_new_len / seg + (plan.exp[k].u_new_len % seg != 0));
	if (e.nseg > CONFIG_PATCH_MAX_SEGMENTS) {
		r = SI_E_TOO_BIG;
		goto out;
	}
	e.sp = &sp;
	e.map = &map;
	e.seg_size = seg;
	e.level = opt->level;
	e.segs = calloc(e.nseg ? e.nseg : 1, sizeof *e.segs);
	e.jobs = calloc(e.nseg ? e.nseg : 1, sizeof *e.jobs);
	if (!e.segs || !e.jobs) {
		r = SI_E_NOMEM;
		goto out;
	}
	{
		uint32_t sidx = 0;

		for (k = 0; k <= plan.nexp; k++) {
			const struct ops *o = k == 0 ? &img : &xo[k - 1];
			const uint8_t *bytes = k == 0 ? nw : plan.exp[k - 1].u_new;
			uint64_t len = k == 0 ? nn : plan.exp[k - 1].u_new_len;
			uint64_t cbase = k == 0 ? 0 : plan.exp[k - 1].src_base, s0;

			for (s0 = 0, i = 0; s0 < len; s0 += seg, sidx++) {
				struct seg_job *j = &e.jobs[sidx];

				while (i < o->n && o->v[i].dst + o->v[i].len <= s0)
					i++;
				j->o = o;
				j->first_op = i;
				j->nw = bytes;
				j->s0 = s0;
				j->s1 = s0 + seg < len ? s0 + seg : len;
				j->cursor = cbase + s0;
				j->arch = k == 0 ? plan.arch : PATCH_ARCH_NONE;
			}
		}
	}
	if (st) {
		for (k = 0; k <= plan.nexp; k++) {
			const struct ops *o = k == 0 ? &img : &xo[k - 1];

			for (i = 0; i < o->n; i++) {
				st->ops[o->v[i].kind]++;
				st->bytes[o->v[i].kind] += o->v[i].len;
			}
		}
		st->map_pieces = npieces;
		st->map_c = mapz.n;
		st->nexp = plan.nexp;
		st->gz_reuse = plan.gz_reuse;
		st->xz_tried = plan.xz_tried;
		st->xz_split = st->dfl_split = st->zs_split = 0;
		for (k = 0; k < plan.nexp; k++) {
			st->xz_split += plan.exp[k].kind == PATCH_EXP_XZ;
			st->dfl_split += plan.exp[k].kind == PATCH_EXP_DEFLATE;
			st->zs_split += plan.exp[k].kind == PATCH_EXP_ZSTD;
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

	hl = PATCH_HDR_LEN + (size_t)e.nseg * PATCH_ENTRY_LEN + (opt->seals ? PATCH_SEALS_LEN : 0) +
	     PATCH_TABLES_LEN + (size_t)plan.nexp * PATCH_EXP_LEN + PATCH_HASH_LEN;
	total = hl + mapz.n;
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
	si_put_le32(p + 20, seg);
	si_put_le32(p + 24, e.nseg);
	si_put_le32(p + 28, plan.nexp);
	si_put_le64(p + 32, on);
	si_put_le64(p + 40, nn);
	chunk_digest(old, on, seg, p + 48);
	si_put_le64(p + 112, total - hl);
	si_put_le32(p + 120, npieces);
	si_put_le32(p + 124, (uint32_t)mapz.n);
	{
		uint8_t *q = p + PATCH_HDR_LEN + (size_t)e.nseg * PATCH_ENTRY_LEN;
		struct patch_hash nh;

		if (opt->seals) {
			si_put_le32(p + 16, PATCH_FLAG_SEALS);
			memcpy(q, opt->seals->base_manifest, 32);
			memcpy(q + 32, opt->seals->base_root, 32);
			memcpy(q + 64, opt->seals->target_manifest, 32);
			memcpy(q + 96, opt->seals->target_root, 32);
			q += PATCH_SEALS_LEN;
		}
		si_put_le32(q, (uint32_t)mapb.n);
		q[4] = PATCH_CODEC_ZSTD;
		q += PATCH_TABLES_LEN;
		for (k = 0; k < plan.nexp; k++, q += PATCH_EXP_LEN) {
			const struct diff_exp *x = &plan.exp[k];
			unsigned jx;

			q[0] = x->kind;
			q[1] = x->n_old;
			q[2] = x->n_new;
			q[3] = x->hdr_len;
			si_put_le32(q + 4, x->reuse_len);
			si_put_le64(q + 8, x->u_old_len);
			si_put_le64(q + 16, x->u_new_len);
			for (jx = 0; jx < x->n_old; jx++) {
				si_put_le64(q + 24 + 16 * jx, x->old_ext[jx].off);
				si_put_le64(q + 32 + 16 * jx, x->old_ext[jx].len);
			}
			for (jx = 0; jx < x->n_new; jx++) {
				si_put_le64(q + 56 + 16 * jx, x->new_ext[jx].off);
				si_put_le64(q + 64 + 16 * jx, x->new_ext[jx].len);
			}
			memcpy(q + 88, x->hdr, sizeof x->hdr); /* zero past what it holds */
		}
		patch_hash_init(&nh);
		for (k = 0; k < e.nseg; k++)
			patch_hash_update(&nh, e.segs[k].sha256, PATCH_HASH_LEN);
		patch_hash_final(&nh, p + 80);
	}
	if (mapz.n)
		memcpy(p + hl, mapz.p, mapz.n);
	pos = mapz.n;
	for (k = 0; k < e.nseg; k++) {
		uint8_t *en = p + PATCH_HDR_LEN + (size_t)k * PATCH_ENTRY_LEN;
		struct seg_out *so = &e.segs[k];
		size_t cl = (size_t)so->ctrl_clen + so->diff_clen + so->lit_clen;

		si_put_le64(en, pos);
		en[8] = so->codec;
		en[9] = so->arch;
		en[10] = so->diff_mode;
		en[11] = so->lit_filter;
		en[12] = so->lit_bits;
		si_put_le32(en + 16, so->ctrl_len);
		si_put_le32(en + 20, so->diff_len);
		si_put_le32(en + 24, so->lit_len);
		si_put_le32(en + 28, so->ctrl_clen);
		si_put_le32(en + 32, so->diff_clen);
		si_put_le32(en + 36, so->lit_clen);
		memcpy(en + 40, so->sha256, PATCH_HASH_LEN);
		if (cl)
			memcpy(p + hl + pos, so->payload, cl);
		pos += cl;
		if (st) {
			st->ctrl_c += so->ctrl_clen;
			st->diff_c += so->diff_clen;
			st->lit_c += so->lit_clen;
			st->lit_filtered += so->lit_filter != PATCH_LIT_PLAIN;
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
	free(e.jobs);
	if (xo)
		for (k = 0; k < plan.nexp; k++)
			free(xo[k].v);
	free(xo);
	free(img.v);
	free(raw.v);
	free(keep);
	free(pieces);
	free(mapblk);
	free(mapb.p);
	free(mapz.p);
	free(p);
	diff_plan_free(&plan);
	pthread_mutex_destroy(&e.lock);
	return r;
}

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
