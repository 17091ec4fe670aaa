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
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <divsufsort.h>

#include "patch/diff_int.h"

#define IDX_STEP 4u /* indexed old positions */
#define IDX_KEY 8u  /* bytes hashed per position */
#define TIE_RUN 256u /* see the covers' overlap in scan_chunk */
#define FILL_RUN 4096u /* see fill_run */
#define BIG_PAIR ((uint64_t)16 << 20) /* see the misses in scan_chunk */

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

/* One search of midx_many: new position i and prefer; out len and pos. */
struct mx_query {
	size_t i;
	uint64_t prefer;
	size_t len, pos;
	uint64_t best_d;           /* the search's state: */
	uint32_t c, h;             /* the chain's next entry; the key's bucket */
	unsigned depth, k, state;  /* entries left, the key, MX_* */
};

enum { MX_HEAD, MX_WALK, MX_DONE };

/* For each query: the longest match of nw[i..nn) (found within four bytes
 * of i), preferring on equal length the candidate whose source is nearest
 * `prefer`: its length from i, and in pos its source for new position i.
 * Each of the four keys' chains is walked newest first to the index's
 * depth; a match of 64 bytes or more ends the search after its key.  The
 * searches go in lockstep, a chain step at a time, each step's loads (the
 * bucket, the entry's old bytes and its link) prefetched for all of them
 * first: a walk is a chain of cache misses, which side by side overlap. */
static void midx_many(const struct midx *x, const uint8_t *nw, size_t nn, struct mx_query *qs,
		      unsigned n)
{
	const uint8_t *old = x->old;
	size_t on = x->on;
	unsigned i, active;

	for (i = 0; i < n; i++) {
		struct mx_query *q = &qs[i];

		q->len = 0;
		q->best_d = UINT64_MAX;
		q->k = 0;
		q->state = MX_DONE;
		if (nn - q->i >= IDX_KEY) {
			q->h = key_hash(nw + q->i, x->bits);
			__builtin_prefetch(&x->head[q->h]);
			q->state = MX_HEAD;
		}
	}
	do {
		active = 0;
		for (i = 0; i < n; i++) {
			struct mx_query *q = &qs[i];

			if (q->state == MX_HEAD) {
				q->c = x->head[q->h];
				q->depth = x->depth;
				q->state = MX_WALK;
			}
			if (q->state == MX_WALK && q->c && q->depth) {
				__builtin_prefetch(old + q->c - 1);
				__builtin_prefetch(&x->chain[(q->c - 1) / IDX_STEP]);
			}
		}
		for (i = 0; i < n; i++) {
			struct mx_query *q = &qs[i];
			size_t k = q->k, at = q->i + k;

			if (q->state != MX_WALK)
				continue;
			active++;
			if (q->c && q->depth) {
				size_t p = q->c - 1, f, b, len, src;
				uint64_t dist;

				q->c = x->chain[p / IDX_STEP];
				q->depth--;
				if (memcmp(old + p, nw + at, IDX_KEY) != 0 || p < k)
					continue;
				/* the candidate aligns old p with new i + k; measure
				 * it from i */
				f = IDX_KEY + match_len(old + p + IDX_KEY, on - p - IDX_KEY,
							nw + at + IDX_KEY, nn - at - IDX_KEY);
				b = 0;
				while (b < k && old[p - 1 - b] == nw[at - 1 - b])
					b++;
				if (b < k)
					continue; /* does not reach back to i: a probe at i + k finds it */
				len = f + k;
				src = p - k;
				dist = src > q->prefer ? src - q->prefer : q->prefer - src;
				if (len > q->len || (len == q->len && dist < q->best_d)) {
					q->len = len;
					q->best_d = dist;
					q->pos = src;
				}
				continue;
			}
			/* this key's chain is walked: the next key, unless done */
			if (q->len >= 64 || ++q->k >= IDX_STEP || q->i + q->k + IDX_KEY > nn) {
				q->state = MX_DONE;
				continue;
			}
			q->h = key_hash(nw + q->i + q->k, x->bits);
			__builtin_prefetch(&x->head[q->h]);
			q->state = MX_HEAD;
		}
	} while (active);
}

/* ------------------------------------------------- the paired file's SA */
/* A suffix array of the old version of the file being scanned finds the
 * longest match however repetitive the data (a kernel module's BTF type
 * records defeat a chain walk of any sane depth); one file at a time, so
 * its memory is four bytes per byte of the largest changed file.
 *
 * Its text is the file with every run of one byte value longer than
 * FILL_RUN cut to FILL_RUN bytes, which stand for the run's last FILL_RUN:
 * in the text as in the file what follows them is what follows the run.
 * No probe is made in a run of FILL_RUN or more in new (fill_run), so a
 * source in a long run serves a shorter run of new and what comes after
 * it, which the kept bytes serve exactly.  A partition image's free space
 * is most of it: the ext4 pair's 128 MiB sort as 24.7 MB (its diff 3.22 ->
 * 2.47 s, its peak 1184 -> 781 MB).  Results are mapped back to the file; a
 * match that reaches the next cut in the text is measured again in the
 * file. */
struct sa_cut {
	size_t t_at;     /* text position where the dropped bytes were */
	size_t real_at;  /* their first position in the file */
	size_t real_end; /* the position after them (the run's end) */
};

struct sa_text {
	const uint8_t *t; /* the text: the file itself when nothing is cut */
	size_t tn;
	int32_t *sa;
	uint8_t *own; /* the cut copy */
	struct sa_cut *cut;
	size_t ncut;
	size_t sa_cap, own_cap, cut_cap; /* kept for the next file */
};

/* The runs of b[0..n) longer than FILL_RUN: their count and in *dropped
 * the bytes cut from them; with cut non-NULL, the cuts and the cut text in
 * t.  Such a run holds a whole stretch [p, p + FILL_RUN / 2] with p a
 * multiple of FILL_RUN / 2, so only those are looked at, then the run is
 * found both ways from there. */
static size_t sa_cuts(const uint8_t *b, size_t n, struct sa_cut *cut, uint8_t *t,
		      size_t *dropped)
{
	const size_t half = FILL_RUN / 2;
	size_t p, k = 0, tp = 0, last = 0, drop = 0;

	for (p = 0; n > half && p < n - half; p += half) {
		size_t a = p, e = p + 1;
		uint8_t v = b[p];

		if (p < last || b[p + half] != v)
			continue;
		while (e <= p + half && b[e] == v)
			e++;
		if (e <= p + half)
			continue;
		while (a > last && b[a - 1] == v)
			a--;
		while (e < n && b[e] == v)
			e++;
		if (e - a <= FILL_RUN)
			continue;
		if (cut) {
			memcpy(t + tp, b + last, a + FILL_RUN - last);
			tp += a + FILL_RUN - last;
			cut[k].t_at = tp;
			cut[k].real_at = a + FILL_RUN;
			cut[k].real_end = e;
		}
		drop += e - a - FILL_RUN;
		k++;
		last = e;
	}
	if (cut)
		memcpy(t + tp, b + last, n - last);
	*dropped = drop;
	return k;
}

size_t match_sa_text_len(const uint8_t *b, size_t n)
{
	size_t drop;

	(void)sa_cuts(b, n, NULL, NULL, &drop);
	return n - drop;
}

static void sa_text_free(struct sa_text *s)
{
	free(s->sa);
	free(s->own);
	free(s->cut);
	memset(s, 0, sizeof *s);
}

/* The array of b[0..n), its buffers reused.  0, or -1 without memory
 * (or a text over INT32_MAX bytes). */
static int sa_text_build(struct sa_text *s, const uint8_t *b, size_t n)
{
	size_t drop, nc = sa_cuts(b, n, NULL, NULL, &drop), tn = n - drop;

	if (tn > INT32_MAX)
		return -1;
	if (nc) {
		if (nc > s->cut_cap) {
			struct sa_cut *c = realloc(s->cut, nc * sizeof *c);

			if (!c)
				return -1;
			s->cut = c;
			s->cut_cap = nc;
		}
		if (tn > s->own_cap) {
			uint8_t *o = realloc(s->own, tn);

			if (!o)
				return -1;
			s->own = o;
			s->own_cap = tn;
		}
		sa_cuts(b, n, s->cut, s->own, &drop);
	}
	if (tn > s->sa_cap) {
		int32_t *ns = realloc(s->sa, (tn ? tn : 1) * sizeof *ns);

		if (!ns)
			return -1;
		s->sa = ns;
		s->sa_cap = tn;
	}
	s->t = nc ? s->own : b;
	s->tn = tn;
	s->ncut = nc;
	return divsufsort(s->t, s->sa, (int32_t)tn) == 0 ? 0 : -1;
}

/* The first cut whose field (t_at, or real_end) is above p: its index,
 * or ncut. */
static size_t cut_find(const struct sa_text *s, size_t p, int by_real)
{
	size_t lo = 0, hi = s->ncut;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if ((by_real ? s->cut[mid].real_end : s->cut[mid].t_at) <= p)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* A file position in the text (to rank sources by distance): a position
 * in a cut run at its place from the run's end in the kept bytes. */
static size_t sa_to_text(const struct sa_text *s, size_t r)
{
	size_t k = s->ncut ? cut_find(s, r, 1) : 0;

	if (k < s->ncut && r >= s->cut[k].real_at - FILL_RUN) {
		size_t left = s->cut[k].real_end - r;

		return s->cut[k].t_at - (left < FILL_RUN ? left : FILL_RUN);
	}
	return k ? r - (s->cut[k - 1].real_end - s->cut[k - 1].t_at) : r;
}

/* A text position in the file, and in *next the text position up to which
 * the text from it is the file from there (a match reaching it is measured
 * again in the file).  The kept bytes of a cut run are its last FILL_RUN
 * in the file: what follows them in the text follows the run there. */
static size_t sa_to_file(const struct sa_text *s, size_t p, size_t *next)
{
	size_t k = s->ncut ? cut_find(s, p, 0) : 0;

	if (k < s->ncut && p >= s->cut[k].t_at - FILL_RUN) {
		*next = k + 1 < s->ncut ? s->cut[k + 1].t_at : s->tn;
		return s->cut[k].real_end - (s->cut[k].t_at - p);
	}
	*next = k < s->ncut ? s->cut[k].t_at : s->tn;
	return k ? p + (s->cut[k - 1].real_end - s->cut[k - 1].t_at) : p;
}

struct local {
	const struct match_pair *v;
	size_t n, cur;
	struct sa_text st;
	int built; /* st holds pair cur */
	/* a pair split between two threads: its array, built before them */
	const struct match_pair *shared;
	const struct sa_text *shared_st;
	const struct sa_text *use; /* the array of the current pair */
};

#define SEARCH_CAP 4096

/* One search of sa_many: in nw[0..nn) and prefer; out len and pos. */
struct sa_query {
	const uint8_t *nw;
	size_t nn, prefer;
	size_t len, pos;
	size_t lo, hi, llo, lhi, mid, q, cap; /* the search's state */
};

/* For each query: the longest match of nw[0..nn) among the suffixes of
 * b[0..bn), and among the neighbours as long as it the one nearest
 * `prefer` (its delta is the cheapest).  Binary search that skips the
 * prefix both bounds share.  The searches go in lockstep, each step's
 * loads prefetched for all of them first: one search is a chain of cache
 * misses (a suffix array entry, then the text it points to, 28 times for
 * a 177 MB file), and sixteen of them side by side wait on their misses
 * together, 5.4 times as fast here as one after the other. */
static void sa_many(const int32_t *sa, const uint8_t *b, size_t bn, struct sa_query *qs,
		    unsigned n)
{
	unsigned i, active;

	for (i = 0; i < n; i++) {
		struct sa_query *x = &qs[i];

		x->cap = x->nn < SEARCH_CAP ? x->nn : SEARCH_CAP;
		x->lo = 0;
		x->hi = bn - 1;
		x->llo = match_len(b + sa[x->lo], bn - (size_t)sa[x->lo], x->nw, x->cap);
		x->lhi = match_len(b + sa[x->hi], bn - (size_t)sa[x->hi], x->nw, x->cap);
		x->mid = x->lo + (x->hi - x->lo) / 2;
		__builtin_prefetch(&sa[x->mid]);
	}
	do {
		active = 0;
		for (i = 0; i < n; i++) {
			struct sa_query *x = &qs[i];

			if (x->hi - x->lo < 2)
				continue;
			x->q = (size_t)sa[x->mid];
			__builtin_prefetch(b + x->q + (x->llo < x->lhi ? x->llo : x->lhi));
		}
		for (i = 0; i < n; i++) {
			struct sa_query *x = &qs[i];
			size_t m = x->llo < x->lhi ? x->llo : x->lhi, q = x->q, l;

			if (x->hi - x->lo < 2)
				continue;
			l = m + match_len(b + q + m, bn - q - m, x->nw + m, x->cap - m);
			if (l == x->cap || q + l == bn || b[q + l] < x->nw[l]) {
				x->lo = x->mid;
				x->llo = l;
			} else {
				x->hi = x->mid;
				x->lhi = l;
			}
			if (x->hi - x->lo >= 2) {
				x->mid = x->lo + (x->hi - x->lo) / 2;
				__builtin_prefetch(&sa[x->mid]);
				active++;
			}
		}
	} while (active);
	/* best: the bound that matches more; its neighbours' text fetched */
	for (i = 0; i < n; i++) {
		struct sa_query *x = &qs[i];
		size_t best = x->llo >= x->lhi ? x->lo : x->hi, k;

		x->mid = best;
		x->len = x->llo >= x->lhi ? x->llo : x->lhi;
		x->pos = (size_t)sa[best];
		if (x->len >= 64)
			continue;
		for (k = best >= 8 ? best - 8 : 0; k <= best + 8 && k < bn; k++)
			__builtin_prefetch(b + sa[k]);
	}
	for (i = 0; i < n; i++) {
		struct sa_query *x = &qs[i];
		size_t best = x->mid, bl = x->len, k, bd;

		bd = x->pos > x->prefer ? x->pos - x->prefer : x->prefer - x->pos;
		/* A long match amortizes its delta; short ones are where a near
		 * source pays, and cheap to compare. */
		for (k = 1; k <= 8 && bl < 64; k++) { /* both sides of best */
			int side;

			for (side = -1; side <= 1; side += 2) {
				size_t j = side < 0 ? best - k : best + k, q, d;

				if ((side < 0 && best < k) || (side > 0 && j >= bn))
					continue;
				q = (size_t)sa[j];
				if (match_len(b + q, bn - q, x->nw, bl) < bl)
					continue;
				d = q > x->prefer ? q - x->prefer : x->prefer - q;
				if (d < bd) {
					bd = d;
					x->pos = q;
				}
			}
		}
		if (bl == x->cap)
			x->len = match_len(b + x->pos, bn - x->pos, x->nw, x->nn);
	}
}

/* sa_many in the file b[0..bn) through its text: prefer and pos are file
 * positions. */
static void sa_text_many(const struct sa_text *st, const uint8_t *b, size_t bn,
			 struct sa_query *q, unsigned n)
{
	unsigned k;

	for (k = 0; k < n; k++)
		q[k].prefer = sa_to_text(st, q[k].prefer);
	sa_many(st->sa, st->t, st->tn, q, n);
	for (k = 0; k < n; k++) {
		size_t next, f = sa_to_file(st, q[k].pos, &next);

		if (q[k].pos + q[k].len >= next) /* the file goes on otherwise */
			q[k].len = match_len(b + f, bn - f, q[k].nw, q[k].nn);
		q[k].pos = f;
	}
}

/* The pair that holds new position i; NULL outside pairs. */
static const struct match_pair *pair_at(struct local *l, size_t i)
{
	while (l->cur < l->n && l->v[l->cur].new_hi <= i) {
		l->cur++;
		l->built = 0;
	}
	if (l->cur >= l->n || l->v[l->cur].new_lo > i)
		return NULL;
	return &l->v[l->cur];
}

/* The current pair's suffix array, built the first time it is needed: a
 * file whose changes the global index explains (a kernel module whose
 * signature changed) never needs one.  0, or -1 without memory for it. */
static int local_sa(struct local *l, const uint8_t *old)
{
	const struct match_pair *pr = &l->v[l->cur];

	if (l->built)
		return 0;
	if (l->shared && pr->old_lo == l->shared->old_lo && pr->old_hi == l->shared->old_hi) {
		l->use = l->shared_st;
		l->built = 1;
		return 0;
	}
	if (sa_text_build(&l->st, old + pr->old_lo, (size_t)(pr->old_hi - pr->old_lo)) != 0)
		return -1;
	l->use = &l->st;
	l->built = 1;
	return 0;
}

/* The step to the next probe after `misses` probes in a row found nothing
 * (see the scan). */
static size_t miss_step(size_t misses)
{
	return misses < 8 ? 1 : misses < 32 ? 2 : misses < 128 ? 4 : 8;
}

/* Searches made ahead: those of the positions the scan probes next if it
 * goes on finding nothing, in one sa_many or midx_many.  A result is a
 * function of its position and preferred source alone (and, for a suffix
 * array, of the pair), so one taken from here is the one a search would
 * give. */
#define SA_AHEAD 16
struct ahead {
	const struct match_pair *pr; /* the pair whose array they searched; NULL: the index */
	unsigned n, next;            /* results held, the next one */
	size_t sc[SA_AHEAD], len[SA_AHEAD], pos[SA_AHEAD];
	uint64_t want[SA_AHEAD];
};

/* The result held for new position sc under want: its index, or -1. */
static int ahead_find(struct ahead *ah, size_t sc, uint64_t want)
{
	while (ah->next < ah->n && ah->sc[ah->next] < sc)
		ah->next++;
	if (ah->next < ah->n && ah->sc[ah->next] == sc && ah->want[ah->next] == want)
		return (int)ah->next++;
	return -1;
}

/* Plans up to n searches: sc, then the positions the scan probes if each
 * one misses (miss_step), while they are before end and the misses before
 * them under limit; each with its want.  Returns how many (sc at least). */
static unsigned ahead_plan(struct ahead *ah, size_t sc, size_t nn, int64_t lastoffset,
			   size_t misses, unsigned n, size_t end, size_t limit)
{
	size_t p = sc, m = misses;
	unsigned k;

	for (k = 0; k < n && p < nn && (k == 0 || (m < limit && p < end)); k++) {
		ah->sc[k] = p;
		ah->want[k] = (uint64_t)((int64_t)p + lastoffset);
		p += miss_step(++m);
	}
	ah->n = k;
	ah->next = 1; /* the first is the caller's */
	return k;
}

/* The paired file's best match for new position sc under want (the
 * source the current alignment gives): *pos and the length. */
static size_t sa_probe(struct ahead *ah, const struct local *loc, const struct match_pair *pr,
		       const uint8_t *old, const uint8_t *nw, size_t nn, size_t sc,
		       int64_t lastoffset, size_t misses, size_t *pos)
{
	size_t pb = (size_t)pr->old_lo;
	struct sa_query q[SA_AHEAD];
	unsigned k, n;
	int at;

	if (ah->pr == pr && (at = ahead_find(ah, sc, (uint64_t)((int64_t)sc + lastoffset))) >= 0) {
		*pos = ah->pos[at];
		return ah->len[at];
	}
	/* in a run of misses the next probes are known; after a match, the
	 * next one is likely to be another (a few ahead only) */
	n = ahead_plan(ah, sc, nn, lastoffset, misses, misses >= 8 ? SA_AHEAD : 4,
		       (size_t)pr->new_hi, SIZE_MAX);
	for (k = 0; k < n; k++) {
		q[k].nw = nw + ah->sc[k];
		q[k].nn = nn - ah->sc[k];
		q[k].prefer = ah->want[k] > pb ? (size_t)(ah->want[k] - pb) : 0;
	}
	sa_text_many(loc->use, old + pb, (size_t)(pr->old_hi - pb), q, n);
	for (k = 0; k < n; k++) {
		ah->len[k] = q[k].len;
		ah->pos[k] = q[k].pos + pb;
	}
	ah->pr = pr;
	*pos = ah->pos[0];
	return ah->len[0];
}

/* midx_many's best match for new position sc under want: the length, and
 * its source in *pos when it is not 0.  pr: the position's pair, or NULL.
 * The scan walks the index where no suffix array serves, and in a run of
 * misses until the sixteenth (then the array alone). */
static size_t mx_probe(struct ahead *ah, const struct midx *x, const struct match_pair *pr,
		       const uint8_t *nw, size_t nn, size_t sc, int64_t lastoffset, size_t misses,
		       size_t *pos)
{
	struct mx_query q[SA_AHEAD];
	unsigned k, n;
	int at = ahead_find(ah, sc, (uint64_t)((int64_t)sc + lastoffset));

	if (at < 0) {
		n = ahead_plan(ah, sc, nn, lastoffset, misses,
			       misses >= 8 || !pr ? SA_AHEAD : 4, pr ? (size_t)pr->new_hi : nn,
			       pr ? 16 : SIZE_MAX);
		for (k = 0; k < n; k++) {
			q[k].i = ah->sc[k];
			q[k].prefer = ah->want[k];
		}
		midx_many(x, nw, nn, q, n);
		for (k = 0; k < n; k++) {
			ah->len[k] = q[k].len;
			ah->pos[k] = q[k].pos;
		}
		at = 0;
	}
	if (ah->len[at])
		*pos = ah->pos[at];
	return ah->len[at];
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
	return eq >= 12 && at ? at : 0;
}

/* The length of the run of one byte value at new[i] when it is FILL_RUN
 * bytes or more, else 0.  The scan does not probe in such a run: the
 * index's chains for it are the longest (a zero key: every free block of
 * a file system), walked newest first to a fixed depth, so they offered
 * only old positions near the end of the image, each matching a few
 * hundred bytes before the image ended: a 512 MB ext4 image's free space
 * came out as 1.77 million ADD ops of 272 bytes, each reading the same
 * old bytes (an apply 4.4x hpatchz's).  Left unmatched, the run is in the
 * literal between two covers, where zeros are one ZERO op (emit_lit) and
 * another byte value costs zstd next to nothing; only the cover whose
 * alignment goes on over it exactly still takes it (the cruise).  Now:
 * 478 MB of ZERO, the patch 1.74 -> 1.73 MB, the diff 17 -> 9 s. */
static size_t fill_run(const uint8_t *nw, size_t nn, size_t i)
{
	const uint64_t ones = 0x0101010101010101ull;
	uint64_t w;
	size_t j;

	if (nn - i < FILL_RUN)
		return 0;
	w = ones * nw[i];
	if (si_le64(nw + i) != w || si_le64(nw + i + FILL_RUN - 8) != w)
		return 0;
	for (j = i + 8; nn - j >= 8 && si_le64(nw + j) == w; j += 8)
		;
	while (j < nn && nw[j] == nw[i])
		j++;
	return j - i >= FILL_RUN ? j - i : 0;
}

static int eq_at(const uint8_t *old, size_t on, const uint8_t *nw, size_t i, int64_t d)
{
	int64_t o = (int64_t)i + d;

	return o >= 0 && (uint64_t)o < on && old[o] == nw[i];
}

/* What a source far from the current one costs more: each byte of the
 * delta's varint past the first is high-entropy patch. */
static size_t far_cost(size_t pos, size_t want, long penalty)
{
	uint64_t d = pos > want ? pos - want : want - pos, z = d << 1;
	size_t n = 0;

	while (z >= 128) {
		z >>= 7;
		n++;
	}
	return n * (size_t)penalty;
}

/* A candidate's far cost: from the current alignment's source, or from
 * the same offset in the file's old version, whichever is nearer (a new
 * file's first match is not far just because the last one was another
 * file's). */
static size_t far_penalty(struct local *l, size_t sc, size_t pos, size_t want, long penalty)
{
	const struct match_pair *pr = pair_at(l, sc);
	size_t a = far_cost(pos, want, penalty), b;

	if (!pr)
		return a;
	b = far_cost(pos, (size_t)(pr->old_lo + (sc - pr->new_lo)), penalty);
	return a < b ? a : b;
}

/* When new position i is in one of the ranges (sorted): the bytes from i
 * to its end, else 0. */
static size_t range_left(const struct patch_ext *r, size_t n, uint64_t i)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r[mid].off + r[mid].len <= i)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && r[lo].off <= i ? (size_t)(r[lo].off + r[lo].len - i) : 0;
}

/* Is new position i in one of the ranges? (sorted, binary search) */
static int in_ranges(const struct patch_ext *code, size_t n, uint64_t i)
{
	return range_left(code, n, i) != 0;
}

/* One chunk of new, scanned on its own (new positions relative to the
 * chunk; pairs and strict ranges translated to it). */
struct chunk {
	const uint8_t *old, *nw;
	size_t on, nn;
	const struct midx *x;
	struct match_pair *pairs;
	size_t npairs;
	struct patch_ext *strict, *elf;
	size_t nstrict, nelf;
	struct patch_ext *skip; /* not probed (match_run) */
	size_t nskip;
	const struct match_pair *shared;
	const struct sa_text *shared_st;
	const struct match_tune *t;
	struct ops o;
	int r;
};

static int scan_chunk(struct chunk *ch)
{
	const uint8_t *old = ch->old, *nw = ch->nw;
	size_t on = ch->on, nn = ch->nn;
	const struct match_pair *pairs = ch->pairs;
	size_t npairs = ch->npairs;
	const struct patch_ext *strict = ch->strict;
	size_t nstrict = ch->nstrict;
	const struct patch_ext *elf = ch->elf;
	size_t nelf = ch->nelf;
	const struct match_tune *t = ch->t;
	const struct midx *xp = ch->x;
	struct ops *o = &ch->o;
	struct local loc = { pairs, npairs, 0, { 0 }, 0, ch->shared, ch->shared_st, NULL };
	struct ahead ahead = { NULL, 0, 0, { 0 }, { 0 }, { 0 }, { 0 } };
	struct ahead mx = { NULL, 0, 0, { 0 }, { 0 }, { 0 }, { 0 } };
	size_t sc = 0, len = 0, pos = 0, lastscan = 0, lastpos = 0;
	size_t fill_lo = SIZE_MAX, fill_hi = 0; /* the runs skipped since the last cover */
	int64_t lastoffset = 0, xw;
	int r = 0;

	while (sc < nn) {
		size_t oldscore = 0, scsc, kept = 0;

		size_t step = 1, misses = 0, short_len = 8;

		for (scsc = sc += len; sc < nn; sc += step) {
			int64_t cs = (int64_t)sc + lastoffset;

			size_t skip = 0;

			if ((kept = range_left(ch->skip, ch->nskip, sc)) != 0) {
				/* an expansion's new member, which the apply
				 * writes: the cover so far ends here, and the scan
				 * goes on after it with the same alignment */
				len = 0;
				break;
			} else if (sc > lastscan && cs >= 0 && (uint64_t)cs + 4 <= on && nn - sc >= 4 &&
				   memcmp(old + cs, nw + sc, 4) == 0) {
				/* the cruise: the current alignment matches here */
				len = match_len(old + cs, on - (size_t)cs, nw + sc, nn - sc);
				pos = (size_t)cs;
			} else if (sc > lastscan && (skip = resumes(old, on, nw, nn, sc, lastoffset))) {
				/* a few changed bytes (an address) in a cover that
				 * goes on: no probe until it matches again */
				len = 0;
			} else if ((skip = fill_run(nw, nn, sc)) != 0) {
				len = 0; /* a long run of one byte: no probe in it */
				if (fill_lo == SIZE_MAX)
					fill_lo = sc;
				fill_hi = sc + skip;
			} else {
				const struct match_pair *pr = pair_at(&loc, sc);

				short_len = pr && pr->old_hi - pr->old_lo >= BIG_PAIR ? 16 : 8;
				/* Until the file's suffix array exists, the global index
				 * first: long matches are found there without it (a kernel
				 * module whose signature changed never needs one); once
				 * built, the array first (its searches cost less than
				 * the chain walks). */
				int global_first = !pr || !loc.built;

				len = 0;
				if (global_first && (!pr || misses < 16))
					len = mx_probe(&mx, xp, pr, nw, nn, sc, lastoffset, misses, &pos);
				if (len < 32 && pr && local_sa(&loc, old) == 0) {
					size_t lp = 0, ll;

					ll = sa_probe(&ahead, &loc, pr, old, nw, nn, sc, lastoffset,
						      misses, &lp);
					if (ll > len) {
						len = ll;
						pos = lp;
					}
				}
				if (!global_first && len < 32 && misses < 16) {
					size_t gp = 0, gl = mx_probe(&mx, xp, pr, nw, nn, sc, lastoffset,
								    misses, &gp);

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
				if (val > oval + (size_t)t->k &&
				    val >= (size_t)(in_ranges(strict, nstrict, sc) ? t->min_strict : t->min) +
						   far_penalty(&loc, sc, pos, lastpos + (sc - lastscan),
							       in_ranges(elf, nelf, sc) ? t->far_elf : t->far))
					break;
			}
			/* Nothing here: after a run of misses (new bytes), probe every
			 * second, fourth, then eighth position (a search in a large
			 * file's suffix array costs microseconds of cache misses); a
			 * match found late is recovered by the backward extension, and
			 * one shorter than the step would not be taken anyway.  A miss
			 * is a match under 8 bytes, and in a paired file of BIG_PAIR
			 * bytes or more under 16: rewritten code is full of 8-byte
			 * matches that start no cover, and each put the probes back to
			 * every byte (libxul.so across a major upgrade, 184 MB: 190
			 * million probes, 156 s of the app pair's diff; 82 s with 16,
			 * the patch 0.07 % smaller; on kernel modules, small files,
			 * 16 makes kc64's patch 0.28 % larger, so not there). */
			misses = len < short_len && !skip ? misses + 1 : 0;
			step = skip ? skip : miss_step(misses);
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
		if (len != oldscore || sc == nn || kept) {
			int64_t s = 0, sf = 0, sb, ss;
			size_t lenf = 0, lenb = 0, i, lim;

			/* in the strict ranges a cover must agree more */
			xw = in_ranges(strict, nstrict, lastscan) ? t->w_strict : t->w;
			/* neither cover extends into a run the scan skipped: it
			 * is literal (ZERO for zeros), which costs less than a
			 * cover's difference bytes where old is not that run
			 * (the cover that does go on over it was the cruise) */
			lim = sc < fill_lo ? sc : fill_lo;
			for (i = 0; lastscan + i < lim && lastpos + i < on;) {
				if (old[lastpos + i] == nw[lastscan + i])
					s++;
				i++;
				if (s * (1 + xw) - (int64_t)i * xw > sf * (1 + xw) - (int64_t)lenf * xw) {
					sf = s;
					lenf = i;
				}
			}
			if (sc < nn && !kept) {
				s = 0;
				sb = 0;
				lim = lastscan > fill_hi ? lastscan : fill_hi;
				for (i = 1; sc >= lim + i && pos >= i; i++) {
					if (old[pos - i] == nw[sc - i])
						s++;
					if (s * (1 + xw) - (int64_t)i * xw > sb * (1 + xw) - (int64_t)lenb * xw) {
						sb = s;
						lenb = i;
					}
				}
			}
			if (lastscan + lenf > sc - lenb) {
				size_t overlap = (lastscan + lenf) - (sc - lenb), lens = 0, tie = 0;

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
						lens = tie = i + 1;
					} else if (s == ss) {
						tie = i + 1;
					}
				}
				/* Where both covers do as well over TIE_RUN bytes or
				 * more (a run of one byte or a short period, longer in
				 * new than in old), the earlier keeps them.  Given to
				 * the later one, lastscan stayed where it was: the
				 * next cover, a few bytes on, tied over the same
				 * stretch again, and each walked the whole gap back,
				 * quadratic in the stretch (a 40 MB ext4 image's free
				 * space: hours; 8 s now).  Shorter ties go to the
				 * later cover, as they always did. */
				if (tie - lens >= TIE_RUN)
					lens = tie;
				lenf += lens - overlap;
				lenb -= lens;
			}
			if ((r = emit_cover(o, old, nw, lastscan, lenf,
					    (int64_t)lastpos - (int64_t)lastscan)) ||
			    (r = emit_lit(o, nw, lastscan + lenf, (sc - lenb) - (lastscan + lenf))))
				break;
			fill_lo = SIZE_MAX;
			fill_hi = 0;
			if (kept) {
				/* the member's bytes (KEEP, ops_keep), then on at
				 * the same alignment where old has it */
				if ((r = emit_lit(o, nw, sc, kept)))
					break;
				sc += kept;
				len = 0;
				lastscan = sc;
				if (lastoffset < -(int64_t)sc)
					lastoffset = -(int64_t)sc;
				lastpos = (size_t)((int64_t)sc + lastoffset);
				continue;
			}
			lastscan = sc - lenb;
			lastpos = pos - lenb;
			lastoffset = (int64_t)pos - (int64_t)sc;
		}
	}
	sa_text_free(&loc.st);
	return r;
}

size_t match_batch_check(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn)
{
	struct sa_query sq[SA_AHEAD], s1;
	struct mx_query mq[SA_AHEAD], m1;
	struct midx x;
	int32_t *sa = malloc((on ? on : 1) * sizeof *sa);
	size_t bad = 0, at;
	unsigned k;

	if (!sa || on < IDX_KEY || nn < SA_AHEAD || divsufsort(old, sa, (int32_t)on) != 0 ||
	    midx_build(&x, old, on, 16) != 0) {
		free(sa);
		return SIZE_MAX;
	}
	for (at = 0; at + SA_AHEAD <= nn; at += SA_AHEAD) {
		for (k = 0; k < SA_AHEAD; k++) {
			size_t i = at + (k * 7) % SA_AHEAD; /* out of order, as nothing requires */

			sq[k].nw = nw + i;
			sq[k].nn = nn - i;
			sq[k].prefer = (i * 2654435761u) % on;
			mq[k].i = i;
			mq[k].prefer = sq[k].prefer;
		}
		sa_many(sa, old, on, sq, SA_AHEAD);
		midx_many(&x, nw, nn, mq, SA_AHEAD);
		for (k = 0; k < SA_AHEAD; k++) {
			s1 = sq[k];
			m1 = mq[k];
			sa_many(sa, old, on, &s1, 1);
			midx_many(&x, nw, nn, &m1, 1);
			bad += s1.len != sq[k].len || s1.pos != sq[k].pos;
			bad += m1.len != mq[k].len || (m1.len && m1.pos != mq[k].pos);
		}
	}
	midx_free(&x);
	free(sa);
	return bad;
}

/* midx_build on a thread of its own. */
struct midx_job {
	struct midx *x;
	const uint8_t *old;
	size_t on;
	unsigned depth;
	int r;
};

static void *midx_main(void *arg)
{
	struct midx_job *j = arg;

	j->r = midx_build(j->x, j->old, j->on, j->depth);
	return NULL;
}

size_t match_cut_check(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn, size_t *ncut)
{
	struct sa_text st = { 0 };
	struct sa_query c, p;
	int32_t *sa = malloc((on ? on : 1) * sizeof *sa);
	size_t bad = 0, i, k, run;

	*ncut = 0;
	if (!sa || on < 2 || divsufsort(old, sa, (int32_t)on) != 0 ||
	    sa_text_build(&st, old, on) != 0) {
		free(sa);
		sa_text_free(&st);
		return SIZE_MAX;
	}
	*ncut = st.ncut;
	for (i = 0; i < nn; i++) {
		if (fill_run(nw, nn, i))
			continue; /* not probed */
		c.nw = p.nw = nw + i;
		c.nn = p.nn = nn - i;
		c.prefer = p.prefer = (i * 2654435761u) % on;
		sa_many(sa, old, on, &p, 1);
		sa_text_many(&st, old, on, &c, 1);
		/* a true match, measured to its end in the file */
		if (c.pos > on || c.len > on - c.pos || memcmp(old + c.pos, c.nw, c.len) != 0 ||
		    c.len != match_len(old + c.pos, on - c.pos, c.nw, c.nn)) {
			bad++;
			continue;
		}
		/* as long as the whole file's, unless that one's source holds
		 * more than FILL_RUN bytes of one value */
		for (k = 1, run = 1; k < p.len && run <= FILL_RUN; k++)
			run = old[p.pos + k] == old[p.pos + k - 1] ? run + 1 : 1;
		if (c.len < p.len && run <= FILL_RUN)
			bad++;
	}
	free(sa);
	sa_text_free(&st);
	return bad;
}

/* The chunks, taken in turn by the threads. */
struct pool {
	struct chunk *ch;
	size_t n;
	atomic_size_t next;
};

static void *chunk_main(void *arg)
{
	struct pool *pl = arg;
	size_t k;

	while ((k = atomic_fetch_add(&pl->next, 1)) < pl->n)
		pl->ch[k].r = scan_chunk(&pl->ch[k]);
	return NULL;
}

/* The chunks' share of pairs and strict ranges, in chunk coordinates. */
static size_t ranges_clip(const struct patch_ext *in, size_t n, size_t lo, size_t hi,
			  struct patch_ext *out)
{
	size_t i, m = 0;

	for (i = 0; i < n; i++) {
		uint64_t a = in[i].off > lo ? in[i].off : lo;
		uint64_t b = in[i].off + in[i].len < hi ? in[i].off + in[i].len : hi;

		if (a < b) {
			out[m].off = a - lo;
			out[m].len = b - a;
			m++;
		}
	}
	return m;
}

static int chunk_clip(struct chunk *ch, size_t lo, size_t hi, const struct match_pair *pairs,
		      size_t npairs, const struct patch_ext *strict, size_t nstrict,
		      const struct patch_ext *elf, size_t nelf, const struct patch_ext *skip,
		      size_t nskip)
{
	size_t i;

	ch->pairs = malloc((npairs + 1) * sizeof *ch->pairs);
	ch->strict = malloc((nstrict + 1) * sizeof *ch->strict);
	ch->elf = malloc((nelf + 1) * sizeof *ch->elf);
	ch->skip = malloc((nskip + 1) * sizeof *ch->skip);
	if (!ch->pairs || !ch->strict || !ch->elf || !ch->skip)
		return SI_E_NOMEM;
	ch->nstrict = ranges_clip(strict, nstrict, lo, hi, ch->strict);
	ch->nelf = ranges_clip(elf, nelf, lo, hi, ch->elf);
	ch->nskip = ranges_clip(skip, nskip, lo, hi, ch->skip);
	for (i = 0; i < npairs; i++) {
		const struct match_pair *p = &pairs[i];
		uint64_t a = p->new_lo > lo ? p->new_lo : lo, b = p->new_hi < hi ? p->new_hi : hi;

		if (a < b) {
			ch->pairs[ch->npairs] = *p;
			ch->pairs[ch->npairs].new_lo = a - lo;
			ch->pairs[ch->npairs].new_hi = b - lo;
			ch->npairs++;
		}
	}
	return 0;
}

#define CHUNK_MIN ((size_t)2 << 20) /* new bytes a chunk holds at least */
#define CHUNK_MAX 64                 /* chunks at most */

/* The scan in chunks of new of about equal size, the same whatever the
 * number of threads (so the patch is too), at most CHUNK_MAX of them; the
 * threads take them in turn, so one with most of the changes does not
 * leave the others idle.  Their ops are concatenated (a cover does not
 * cross a chunk's end, which costs an op or two).  A cut that falls in a
 * pair moves to the pair's start, except in the largest pair cuts fall in,
 * which is shared: its suffix array is built once, before the threads. */
int match_run(const uint8_t *old, size_t on, const uint8_t *nw, size_t nn,
	      const struct match_pair *pairs, size_t npairs, const struct patch_ext *strict,
	      size_t nstrict, const struct patch_ext *elf, size_t nelf,
	      const struct patch_ext *skip, size_t nskip, const struct match_tune *t,
	      unsigned threads, struct ops *o)
{
	struct pool pl;
	struct chunk *ch;
	struct midx x;
	pthread_t tid[8];
	const struct match_pair *shared = NULL;
	struct sa_text shared_st = { 0 };
	struct midx_job mj;
	size_t cut[CHUNK_MAX + 1], i, k, want = nn / CHUNK_MIN, n = 0;
	unsigned nt = threads < 1 ? 1 : threads > 8 ? 8 : threads, started = 0, w;
	int r;

	if (on < IDX_KEY)
		return emit_lit(o, nw, 0, nn);
	want = want < 1 ? 1 : want > CHUNK_MAX ? CHUNK_MAX : want;
	/* the largest pair a cut falls in is the one split (a major upgrade's
	 * largest library is most of the work) */
	for (k = 1; k < want; k++)
		for (i = 0; i < npairs; i++)
			if (pairs[i].new_lo < nn / want * k && nn / want * k < pairs[i].new_hi &&
			    (!shared || pairs[i].new_hi - pairs[i].new_lo >
						shared->new_hi - shared->new_lo))
				shared = &pairs[i];
	cut[0] = 0;
	for (k = 1; k < want; k++) {
		size_t c = nn / want * k;

		for (i = 0; i < npairs; i++)
			if (pairs[i].new_lo < c && c < pairs[i].new_hi && &pairs[i] != shared)
				c = (size_t)pairs[i].new_lo; /* others cut at their start */
		if (c > cut[n])
			cut[++n] = c;
	}
	cut[++n] = nn;
	/* the index on another thread while the shared array is sorted */
	mj.x = &x;
	mj.old = old;
	mj.on = on;
	mj.depth = (unsigned)t->depth;
	mj.r = SI_E_NOMEM;
	if (!shared || nt < 2 || pthread_create(&tid[0], NULL, midx_main, &mj) != 0)
		midx_main(&mj);
	else
		started = 1;
	if (shared && sa_text_build(&shared_st, old + shared->old_lo,
				    (size_t)(shared->old_hi - shared->old_lo)) != 0) {
		sa_text_free(&shared_st);
		shared = NULL; /* each chunk builds its own, if memory allows */
	}
	if (started)
		pthread_join(tid[0], NULL);
	started = 0;
	r = mj.r;
	if (r) {
		sa_text_free(&shared_st);
		return r;
	}
	ch = calloc(n, sizeof *ch);
	if (!ch)
		r = SI_E_NOMEM;
	for (k = 0; k < n && r == 0; k++) {
		ch[k].old = old;
		ch[k].on = on;
		ch[k].nw = nw + cut[k];
		ch[k].nn = cut[k + 1] - cut[k];
		ch[k].x = &x;
		ch[k].t = t;
		ch[k].shared = shared;
		ch[k].shared_st = &shared_st;
		r = chunk_clip(&ch[k], cut[k], cut[k + 1], pairs, npairs, strict, nstrict, elf, nelf,
			       skip, nskip);
	}
	if (r == 0) {
		pl.ch = ch;
		pl.n = n;
		atomic_init(&pl.next, 0);
		for (w = 1; w < nt && w < n; w++) {
			if (pthread_create(&tid[started], NULL, chunk_main, &pl) != 0)
				break;
			started++;
		}
		chunk_main(&pl);
		for (w = 0; w < started; w++)
			pthread_join(tid[w], NULL);
		for (k = 0; k < n && r == 0; k++) {
			r = ch[k].r;
			for (i = 0; r == 0 && i < ch[k].o.n; i++) {
				const struct op *p = &ch[k].o.v[i];

				r = ops_push(o, p->kind, p->dst + cut[k], p->src, p->len);
			}
		}
	}
	for (k = 0; ch && k < n; k++) {
		free(ch[k].pairs);
		free(ch[k].strict);
		free(ch[k].elf);
		free(ch[k].skip);
		free(ch[k].o.v);
	}
	free(ch);
	sa_text_free(&shared_st);
	midx_free(&x);
	return r;
}
