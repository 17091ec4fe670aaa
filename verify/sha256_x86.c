/* sealinit: SHA-256 with the x86 SHA extensions (SHA-NI).
 *
 * Intel SDM vol. 2, SHA256RNDS2 / SHA256MSG1 / SHA256MSG2.  The state
 * lives in two registers as ABEF and CDGH; each SHA256RNDS2 does two rounds
 * with W+K from the low 64 bits of its third operand.  Only these functions
 * are compiled for the SHA extensions (target attribute), so the rest of
 * sealinit still runs on any x86-64; si_sha256_have_shani() gates them.
 *
 * One message is bound by SHA256RNDS2's latency; the _x2 and _x4 forms
 * interleave independent messages so the unit has work while each waits. */
#include "verify/sha256_arch.h"

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

int si_sha256_have_shani(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d))
		return 0;
	if (!(c & bit_SSE4_1) || !(c & bit_SSSE3))
		return 0;
	if (__get_cpuid_max(0, NULL) < 7)
		return 0;
	__cpuid_count(7, 0, a, b, c, d);
	return (b >> 29) & 1; /* CPUID.(EAX=7,ECX=0):EBX.SHA[bit 29] */
}

#define SHANI __attribute__((target("sha,sse4.1,ssse3")))

/* Big-endian words from the block: byte swap within each 32-bit lane. */
#define BSWAP_MASK _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL)
#define KV(g) _mm_loadu_si128((const __m128i *)(si_sha256_k + 4 * (g)))

/* Four rounds with the message words in m (W[4g..4g+3]). */
#define RND4(s0, s1, m, g)                                          \
	do {                                                        \
		__m128i t_ = _mm_add_epi32((m), KV(g));             \
		s1 = _mm_sha256rnds2_epu32(s1, s0, t_);             \
		t_ = _mm_shuffle_epi32(t_, 0x0E);                   \
		s0 = _mm_sha256rnds2_epu32(s0, s1, t_);             \
	} while (0)

/* W[4g..] from the four previous groups (FIPS 180-4 6.2.2 step 1):
 * a = W_{g-4}, b = W_{g-3}, c = W_{g-2}, d = W_{g-1}; result into a. */
#define SCHED(a, b, c, d)                                                     \
	(a = _mm_sha256msg2_epu32(                                            \
		 _mm_add_epi32(_mm_sha256msg1_epu32(a, b), _mm_alignr_epi8(d, c, 4)), d))

SHANI static inline void shani_load(const uint32_t h[8], __m128i *abef, __m128i *cdgh)
{
	__m128i t = _mm_loadu_si128((const __m128i *)h);        /* DCBA */
	__m128i u = _mm_loadu_si128((const __m128i *)(h + 4)); /* HGFE */

	t = _mm_shuffle_epi32(t, 0xB1);    /* CDAB */
	u = _mm_shuffle_epi32(u, 0x1B);    /* EFGH */
	*abef = _mm_alignr_epi8(t, u, 8);  /* ABEF */
	*cdgh = _mm_blend_epi16(u, t, 0xF0); /* CDGH */
}

SHANI static inline void shani_store(uint32_t h[8], __m128i abef, __m128i cdgh)
{
	__m128i t = _mm_shuffle_epi32(abef, 0x1B); /* FEBA */
	__m128i u = _mm_shuffle_epi32(cdgh, 0xB1); /* DCHG */

	_mm_storeu_si128((__m128i *)h, _mm_blend_epi16(t, u, 0xF0));       /* DCBA */
	_mm_storeu_si128((__m128i *)(h + 4), _mm_alignr_epi8(u, t, 8)); /* HGFE */
}

#define LOADW(p, i) _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)((p) + 16 * (i))), BSWAP_MASK)

#include "verify/sha256_rounds.h"

SHANI void si_sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t n)
{
	__m128i s0, s1;

	shani_load(h, &s0, &s1);
	for (; n; n--, p += 64) {
		__m128i a0 = s0, a1 = s1;
		__m128i w0 = LOADW(p, 0), w1 = LOADW(p, 1), w2 = LOADW(p, 2), w3 = LOADW(p, 3);

		ROUNDS64(s0, s1, w0, w1, w2, w3);
		s0 = _mm_add_epi32(s0, a0);
		s1 = _mm_add_epi32(s1, a1);
	}
	shani_store(h, s0, s1);
}

/* Same rounds for two messages, statement by statement, so the compiler
 * keeps both chains in flight (16 XMM registers suffice: 2 x (2 state +
 * 4 schedule + 2 saved) ). */
#define RND4X(g, wa, wb)                 \
	do {                             \
		RND4(sa0, sa1, wa, g);   \
		RND4(sb0, sb1, wb, g);   \
	} while (0)
#define SCHEDX(a, b, c, d)                              \
	do {                                            \
		SCHED(a##A, b##A, c##A, d##A);          \
		SCHED(a##B, b##B, c##B, d##B);          \
	} while (0)

SHANI void si_sha256_blocks_shani_x2(uint32_t ha[8], const uint8_t *pa, uint32_t hb[8],
				     const uint8_t *pb, size_t n)
{
	__m128i sa0, sa1, sb0, sb1;

	shani_load(ha, &sa0, &sa1);
	shani_load(hb, &sb0, &sb1);
	for (; n; n--, pa += 64, pb += 64) {
		__m128i ka0 = sa0, ka1 = sa1, kb0 = sb0, kb1 = sb1;
		__m128i w0A = LOADW(pa, 0), w1A = LOADW(pa, 1), w2A = LOADW(pa, 2), w3A = LOADW(pa, 3);
		__m128i w0B = LOADW(pb, 0), w1B = LOADW(pb, 1), w2B = LOADW(pb, 2), w3B = LOADW(pb, 3);

		RND4X(0, w0A, w0B); RND4X(1, w1A, w1B);
		RND4X(2, w2A, w2B); RND4X(3, w3A, w3B);
		SCHEDX(w0, w1, w2, w3); RND4X(4, w0A, w0B);
		SCHEDX(w1, w2, w3, w0); RND4X(5, w1A, w1B);
		SCHEDX(w2, w3, w0, w1); RND4X(6, w2A, w2B);
		SCHEDX(w3, w0, w1, w2); RND4X(7, w3A, w3B);
		SCHEDX(w0, w1, w2, w3); RND4X(8, w0A, w0B);
		SCHEDX(w1, w2, w3, w0); RND4X(9, w1A, w1B);
		SCHEDX(w2, w3, w0, w1); RND4X(10, w2A, w2B);
		SCHEDX(w3, w0, w1, w2); RND4X(11, w3A, w3B);
		SCHEDX(w0, w1, w2, w3); RND4X(12, w0A, w0B);
		SCHEDX(w1, w2, w3, w0); RND4X(13, w1A, w1B);
		SCHEDX(w2, w3, w0, w1); RND4X(14, w2A, w2B);
		SCHEDX(w3, w0, w1, w2); RND4X(15, w3A, w3B);
		sa0 = _mm_add_epi32(sa0, ka0);
		sa1 = _mm_add_epi32(sa1, ka1);
		sb0 = _mm_add_epi32(sb0, kb0);
		sb1 = _mm_add_epi32(sb1, kb1);
	}
	shani_store(ha, sa0, sa1);
	shani_store(hb, sb0, sb1);
}


/* Four messages: on AMD Zen 5 (this project's benchmark machine) one core
 * hashes 1.6 GB/s with one chain, 2.4 with two, 3.0 with four.  Four
 * chains need more than 16 XMM registers; the saved states spill, which
 * costs less than the latency it hides. */
#define RND4Q(g, w)                                  \
	do {                                         \
		RND4(sa0, sa1, w##A, g);             \
		RND4(sb0, sb1, w##B, g);             \
		RND4(sc0, sc1, w##C, g);             \
		RND4(sd0, sd1, w##D, g);             \
	} while (0)
#define SCHEDQ(a, b, c, d)                                  \
	do {                                                \
		SCHED(a##A, b##A, c##A, d##A);              \
		SCHED(a##B, b##B, c##B, d##B);              \
		SCHED(a##C, b##C, c##C, d##C);              \
		SCHED(a##D, b##D, c##D, d##D);              \
	} while (0)

SHANI void si_sha256_blocks_shani_x4(uint32_t *h[4], const uint8_t *const p[4], size_t n)
{
	const uint8_t *pa = p[0], *pb = p[1], *pc = p[2], *pd = p[3];
	__m128i sa0, sa1, sb0, sb1, sc0, sc1, sd0, sd1;

	shani_load(h[0], &sa0, &sa1);
	shani_load(h[1], &sb0, &sb1);
	shani_load(h[2], &sc0, &sc1);
	shani_load(h[3], &sd0, &sd1);
	for (; n; n--, pa += 64, pb += 64, pc += 64, pd += 64) {
		__m128i ka0 = sa0, ka1 = sa1, kb0 = sb0, kb1 = sb1;
		__m128i kc0 = sc0, kc1 = sc1, kd0 = sd0, kd1 = sd1;
		__m128i w0A = LOADW(pa, 0), w1A = LOADW(pa, 1), w2A = LOADW(pa, 2), w3A = LOADW(pa, 3);
		__m128i w0B = LOADW(pb, 0), w1B = LOADW(pb, 1), w2B = LOADW(pb, 2), w3B = LOADW(pb, 3);
		__m128i w0C = LOADW(pc, 0), w1C = LOADW(pc, 1), w2C = LOADW(pc, 2), w3C = LOADW(pc, 3);
		__m128i w0D = LOADW(pd, 0), w1D = LOADW(pd, 1), w2D = LOADW(pd, 2), w3D = LOADW(pd, 3);

		RND4Q(0, w0); RND4Q(1, w1); RND4Q(2, w2); RND4Q(3, w3);
		SCHEDQ(w0, w1, w2, w3); RND4Q(4, w0);
		SCHEDQ(w1, w2, w3, w0); RND4Q(5, w1);
		SCHEDQ(w2, w3, w0, w1); RND4Q(6, w2);
		SCHEDQ(w3, w0, w1, w2); RND4Q(7, w3);
		SCHEDQ(w0, w1, w2, w3); RND4Q(8, w0);
		SCHEDQ(w1, w2, w3, w0); RND4Q(9, w1);
		SCHEDQ(w2, w3, w0, w1); RND4Q(10, w2);
		SCHEDQ(w3, w0, w1, w2); RND4Q(11, w3);
		SCHEDQ(w0, w1, w2, w3); RND4Q(12, w0);
		SCHEDQ(w1, w2, w3, w0); RND4Q(13, w1);
		SCHEDQ(w2, w3, w0, w1); RND4Q(14, w2);
		SCHEDQ(w3, w0, w1, w2); RND4Q(15, w3);
		sa0 = _mm_add_epi32(sa0, ka0);
		sa1 = _mm_add_epi32(sa1, ka1);
		sb0 = _mm_add_epi32(sb0, kb0);
		sb1 = _mm_add_epi32(sb1, kb1);
		sc0 = _mm_add_epi32(sc0, kc0);
		sc1 = _mm_add_epi32(sc1, kc1);
		sd0 = _mm_add_epi32(sd0, kd0);
		sd1 = _mm_add_epi32(sd1, kd1);
	}
	shani_store(h[0], sa0, sa1);
	shani_store(h[1], sb0, sb1);
	shani_store(h[2], sc0, sc1);
	shani_store(h[3], sd0, sd1);
}

#else /* not x86-64: never selected */

int si_sha256_have_shani(void)
{
	return 0;
}

void si_sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t n)
{
	si_sha256_blocks_portable(h, p, n);
}

void si_sha256_blocks_shani_x2(uint32_t ha[8], const uint8_t *pa, uint32_t hb[8],
			       const uint8_t *pb, size_t n)
{
	si_sha256_blocks_portable(ha, pa, n);
	si_sha256_blocks_portable(hb, pb, n);
}

void si_sha256_blocks_shani_x4(uint32_t *h[4], const uint8_t *const p[4], size_t n)
{
	unsigned i;

	for (i = 0; i < 4; i++)
		si_sha256_blocks_portable(h[i], p[i], n);
}

#endif
