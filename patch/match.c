/* sealinit patch/: the match finder and cover selection (build side).
 *
 * The index: hash chains over old, one entry per fourth position, keyed by
 * the 8 bytes there (1.5 bytes of memory per old byte, against a suffix
 * array's 4, and built in one linear pass).  Every exact match of at least
 * 11 bytes contains an indexed position; a probe of new position i finds
 * the matches whose indexed position lines up with i, and extends them both
 * ways, so a match is found within its first four bytes.  Chains are walked
 * newest first to a fixed depth.
 *
 * The scan is bsdiff's (Colin Percival, "Naive differences of executable
 * code", 2003): covers are approximate matches, one alignment old = new + d
 * with difference bytes absorbing what changed; a new alignment is taken
 * where its exact match beats the current alignment over the same bytes.
 * Three changes make the covers coarse, which is what the patch size needs
 * (ten million tiny operations cost a third of a patch otherwise):
 *
 * - where the current alignment goes on matching, nothing is probed (the
 *   cruise), which also makes the scan fast on similar images;
 * - a candidate shorter than `big` is judged with what follows it: the
 *   most agreeing minus disagreeing bytes in the next `window` bytes under
 *   its alignment, against the same for the current alignment.  A true
 *   alignment in edited code keeps agreeing after its first mismatch; a
 *   chance match in unrelated bytes does not, and taking it would cost two
 *   operations for bytes that zstd finds in the literal stream anyway;
 * - among candidates of equal length the one nearest the current source
 *   wins (its delta is the cheapest to encode).
 *
 * Where one cover ends and the next begins both are extended into the gap
 * while more bytes agree than not, the overlap split where it scores best
 * (bsdiff's lenf/lenb), and what lies between is literal.
 */
#include <stdlib.h>
#include <string.h>

#include <divsufsort.h>

#include "patch/diff_int.h"

#define IDX_STEP 4u /* indexed old positions */
#define IDX_KEY 8u  /* bytes hashed per position */

struct midx {
	const uint8_t *old;
	size_t on;
	uint32_t *head;  /* bucket -> newest indexed position + 1 */
	uint32_t *chain; /* (pos / IDX_STEP) -> older position + 1 in the bucket */
	unsigned bits;
	unsigned depth;
};

static inline uint32_t key_hash(const uint8_t *p, unsigned bits)
{
	uint64_t a;

	memcpy(&a, p, 8);
	return (uint32_t)((a * 0x9E3779B97F4A7C15ull) >> (64 - bits));
}

static int midx_build(struct midx *x, const uint8_t *old, size_t on, unsigned depth)
{
	size_t n = on / IDX_STEP + 1, p;
	unsigned bits = 10;

	while (bits < 30 && ((size_t)1 << bits) < n)
		bits++;
	x->old = old;
	x->on = on;
	x->bits = bits;
	x->depth = depth;
	x->head = calloc((size_t)1 << bits, sizeof *x->head);
	x->chain = malloc(n * sizeof *x->chain);
	if (!x->head || !x->chain) {
		free(x->head);
		free(x->chain);
		return SI_E_NOMEM;
	}
	for (p = 0; p + IDX_KEY <= on; p += IDX_STEP) {
		uint32_t h = key_hash(old + p, bits);

		x->chain[p / IDX_STEP] = x->head[h];
		x->head[h] = (uint32_t)p + 1;
	}
	return 0;
}

static void midx_free(struct midx *x)
{
	free(x->head);
	free(x->chain);
}

/* The longest match of nw[i..nn) (found within four bytes of i and
 * extended back to `floor_`), preferring on equal length the candidate
 * whose source is nearest `prefer`.  Returns its length from i; *pos is
 * its source for new position i. */
static size_t midx_best(const struct midx *x, const uint8_t *nw, size_t nn, size_t i,
			size_t floor_, uint64_t prefer, size_t *pos)
{
	const uint8_t *old = x->old;
	size_t on = x->on, best = 0, k;
	uint64_t best_d = UINT64_MAX;

	if (nn - i < IDX_KEY)
		return 0;
	for (k = 0; k < IDX_STEP && i + k + IDX_KEY <= nn; k++) {
		uint32_t c = x->head[key_hash(nw + i + k, x->bits)];
		unsigned depth = x->depth;

		for (; c && depth; c = x->chain[(c - 1) / IDX_STEP], depth--) {
			size_t p = c - 1, f, b, len, src;
			uint64_t dist;

			if (memcmp(old + p, nw + i + k, IDX_KEY) != 0)
				continue;
			/* the candidate aligns old p with new i + k; measure it
			 * from i (back to the floor) */
			f = IDX_KEY + match_len(old + p + IDX_KEY, on - p - IDX_KEY,
						nw + i + k + IDX_KEY, nn - i - k - IDX_KEY);
			if (p < k)
				continue;
			b = 0;
			while (b < k && old[p - 1 - b] == nw[i + k - 1 - b])
				b++;
			if (b < k)
				continue; /* does not reach back to i: a probe at i + k finds it */
			len = f + k;
			src = p - k;
			dist = src > prefer ? src - prefer : prefer - src;
			if (len > best || (len == best && dist < best_d)) {
				best = len;
				best_d = dist;
				*pos = src;
			}
		}
		if (best >= 64)
			break;
	}
	(void)floor_;
	return best;
}

/* ------------------------------------------------- the paired file's SA */
/* A suffix array of the old version of the file being scanned finds the
 * longest match however repetitive the data (a kernel module's BTF type
 * records defeat a chain walk of any sane depth); one file at a time, so
 * its memory is four bytes per byte of the largest changed file. */
struct local {
	const struct match_pair *v;
	size_t n, cur;
	int32_t *sa;
	size_t sa_cap;
	int built; /* sa holds pair cur */
};

#define SEARCH_CAP 4096

/* Longest match of nw[0..nn) among the suffixes of b[0..bn), and among
 * the neighbours as long as it the one nearest `prefer` (its delta is the
 * cheapest).  Binary search that skips the prefix both bounds share. */
static size_t sa_best(const int32_t *sa, const uint8_t *b, size_t bn, const uint8_t *nw,
		      size_t nn, size_t prefer, size_t *pos)
{
	size_t lo = 0, hi = bn - 1, cap = nn < SEARCH_CAP ? nn : SEARCH_CAP;
	size_t llo, lhi, best, bl, k, bd;

	llo = match_len(b + sa[lo], bn - (size_t)sa[lo], nw, cap);
	lhi = match_len(b + sa[hi], bn - (size_t)sa[hi], nw, cap);
	while (hi - lo >= 2) {
		size_t mid = lo + (hi - lo) / 2, q = (size_t)sa[mid];
		size_t m = llo < lhi ? llo : lhi, l;

		l = m + match_len(b + q + m, bn - q - m, nw + m, cap - m);
		if (l == cap || q + l == bn || b[q + l] < nw[l]) {
			lo = mid;
			llo = l;
		} else {
			hi = mid;
			lhi = l;
		}
	}
	best = llo >= lhi ? lo : hi;
	bl = llo >= lhi ? llo : lhi;
	*pos = (size_t)sa[best];
	bd = *pos > prefer ? *pos - prefer : prefer - *pos;
	/* A long match amortizes its delta; short ones are where a near source
	 * pays, and cheap to compare. */
	for (k = 1; k <= 8 && bl < 64; k++) { /* both sides of best */
		int side;

		for (side = -1; side <= 1; side += 2) {
			size_t j = side < 0 ? best - k : best + k, q, d;

			if ((side < 0 && best < k) || (side > 0 && j >= bn))
				continue;
			q = (size_t)sa[j];
			if (match_len(b + q, bn - q, nw, bl) < bl)
				continue;
			d = q > prefer ? q - prefer : prefer - q;
			if (d < bd) {
				bd = d;
				*pos = q;
			}
		}
	}
	if (bl == cap)
		bl = match_len(b + *pos, bn - *pos, nw, nn);
	return bl;
}

/* The pair that holds new position i, its SA built; NULL outside pairs. */
static const struct match_pair *local_at(struct local *l, const uint8_t *old, size_t i)
{
	const struct match_pair *pr;

	while (l->cur < l->n && l->v[l->cur].new_hi <= i) {
		l->cur++;
		l->built = 0;
	}
	if (l->cur >= l->n || l->v[l->cur].new_lo > i)
		return NULL;
	pr = &l->v[l->cur];
	if (!l->built) {
		size_t n = (size_t)(pr->old_hi - pr->old_lo);

		if (n > l->sa_cap) {
			int32_t *ns = realloc(l->sa, n * sizeof *ns);

			if (!ns)
				return NULL; /* no memory for it: the global index alone */
			l->sa = ns;
			l->sa_cap = n;
		}
		if (divsufsort(old + pr->old_lo, l->sa, (int32_t)n) != 0)
			return NULL;
		l->built = 1;
	}
	return pr;
}

/* Most agreeing minus disagreeing bytes over a prefix of new[i, i+w) under
 * alignment old = new + d. */
static size_t fwd_net(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn, size_t i,
		      int64_t d, size_t w)
{
	int64_t s = 0, best = 0;
	size_t k;

	for (k = 0; k < w && i + k < nn; k++) {
		int64_t o = (int64_t)(i + k) + d;

		if (o < 0 || (uint64_t)o >= on)
			break;
		s += old[o] == nw[i + k] ? 1 : -1;
		if (s > best)
			best = s;
	}
	return (size_t)best;
}

/* When the alignment old = new + d matches at least 10 of the 16 bytes
 * from i and 4 in a row again within them: the distance to that run, else
 * 0. */
static size_t resumes(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn, size_t i,
		      int64_t d)
{
	int64_t o = (int64_t)i + d;
	size_t k, eq = 0, run = 0, at = 0;

	if (o < 0 || (uint64_t)o + 16 > on || nn - i < 16)
		return 0;
	for (k = 0; k < 16; k++) {
		int e = old[o + (int64_t)k] == nw[i + k];

		eq += e;
		run = e ? run + 1 : 0;
		if (run == 4 && !at)
			at = k - 3;
	}
	return eq >= (size_t)diff_tune("RES", 12) && at ? at : 0;
}

static int eq_at(const uint8_t *old, size_t on, const uint8_t *nw, size_t i, int64_t d)
{
	int64_t o = (int64_t)i + d;

	return o >= 0 && (uint64_t)o < on && old[o] == nw[i];
}

int match_run(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn,
	      const struct match_pair *pairs, size_t npairs, const struct match_tune *t,
	      struct ops *o)
{
	struct local loc = { pairs, npairs, 0, NULL, 0, 0 };
	struct midx x;
	size_t sc = 0, len = 0, pos = 0, lastscan = 0, lastpos = 0;
	int64_t lastoffset = 0, xw = diff_tune("EXTW", 1);
	int r;

	if (on < IDX_KEY)
		return emit_lit(o, nw, 0, nn);
	r = midx_build(&x, old, on, (unsigned)t->depth);
	if (r)
		return r;
	while (sc < nn) {
		size_t oldscore = 0, scsc;

		size_t step = 1, misses = 0;

		for (scsc = sc += len; sc < nn; sc += step) {
			int64_t cs = (int64_t)sc + lastoffset;

			size_t skip = 0;

			/* the cruise: the current alignment matches here */
			if (sc > lastscan && cs >= 0 && (uint64_t)cs + 4 <= on && nn - sc >= 4 &&
			    memcmp(old + cs, nw + sc, 4) == 0) {
				len = match_len(old + cs, on - (size_t)cs, nw + sc, nn - sc);
				pos = (size_t)cs;
			} else if (sc > lastscan && (skip = resumes(old, on, nw, nn, sc, lastoffset))) {
				/* a few changed bytes (an address) in a cover that
				 * goes on: no probe until it matches again */
				len = 0;
			} else {
				const struct match_pair *pr = local_at(&loc, old, sc);
				uint64_t want = (uint64_t)((int64_t)sc + lastoffset);

				len = 0;
				if (pr) {
					size_t lp = 0, pb = (size_t)pr->old_lo;

					len = sa_best(loc.sa, old + pb, (size_t)(pr->old_hi - pb), nw + sc,
						      nn - sc, want > pb ? (size_t)(want - pb) : 0, &lp);
					pos = lp + pb;
				}
				if (len < 32 && (!pr || misses < 16)) {
					size_t gp = 0, gl = midx_best(&x, nw, nn, sc, lastscan, want, &gp);

					if (gl > len) {
						len = gl;
						pos = gp;
					}
				}
			}
			for (; scsc < sc + len; scsc++)
				oldscore += eq_at(old, on, nw, scsc, lastoffset);
			if (len == oldscore && len != 0)
				break;
			if (len > oldscore + (size_t)t->k) {
				size_t val = len, oval = oldscore;

				if (len < (size_t)t->big) {
					val += fwd_net(old, on, nw, nn, sc + len,
						       (int64_t)pos - (int64_t)sc, (size_t)t->window);
					oval += fwd_net(old, on, nw, nn, sc + len, lastoffset,
							(size_t)t->window);
				}
				if (val > oval + (size_t)t->k && val >= (size_t)t->min)
					break;
			}
			/* Nothing here: after a run of misses (new bytes), probe every
			 * second, then every fourth position; a match found late is
			 * recovered by the backward extension. */
			misses = len < 8 && !skip ? misses + 1 : 0;
			step = skip ? skip : misses < 32 ? 1 : misses < 128 ? 2 : 4;
			{
				size_t q, e = sc + step < scsc ? sc + step : scsc;

				for (q = sc; q < e; q++)
					oldscore -= eq_at(old, on, nw, q, lastoffset);
				if (scsc < sc + step)
					scsc = sc + step;
			}
			if (sc + step > nn)
				step = nn - sc;
		}
		if (len != oldscore || sc == nn) {
			int64_t s = 0, sf = 0, sb, ss;
			size_t lenf = 0, lenb = 0, i;

			for (i = 0; lastscan + i < sc && lastpos + i < on;) {
				if (old[lastpos + i] == nw[lastscan + i])
					s++;
				i++;
				if (s * (1 + xw) - (int64_t)i * xw > sf * (1 + xw) - (int64_t)lenf * xw) {
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
					if (s * (1 + xw) - (int64_t)i * xw > sb * (1 + xw) - (int64_t)lenb * xw) {
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
			if ((r = emit_cover(o, old, nw, lastscan, lenf,
					    (int64_t)lastpos - (int64_t)lastscan)) ||
			    (r = emit_lit(o, nw, lastscan + lenf, (sc - lenb) - (lastscan + lenf))))
				break;
			lastscan = sc - lenb;
			lastpos = pos - lenb;
			lastoffset = (int64_t)pos - (int64_t)sc;
		}
	}
	midx_free(&x);
	free(loc.sa);
	return r;
}
