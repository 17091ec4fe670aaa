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

static int eq_at(const uint8_t *old, size_t on, const uint8_t *nw, size_t i, int64_t d)
{
	int64_t o = (int64_t)i + d;

	return o >= 0 && (uint64_t)o < on && old[o] == nw[i];
}

int match_run(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn,
	      const struct match_tune *t, struct ops *o)
{
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

		for (scsc = sc += len; sc < nn; sc++) {
			int64_t cs = (int64_t)sc + lastoffset;

			/* the cruise: the current alignment matches here */
			if (sc > lastscan && cs >= 0 && (uint64_t)cs + 4 <= on && nn - sc >= 4 &&
			    memcmp(old + cs, nw + sc, 4) == 0) {
				len = match_len(old + cs, on - (size_t)cs, nw + sc, nn - sc);
				pos = (size_t)cs;
			} else {
				len = midx_best(&x, nw, nn, sc, lastscan, (uint64_t)(sc + lastoffset), &pos);
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
			if (eq_at(old, on, nw, sc, lastoffset))
				oldscore--;
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
	return r;
}
