/* sealinit: SHA-256 with the ARMv8 cryptographic extensions.
 *
 * Arm ARM, SHA256H / SHA256H2 / SHA256SU0 / SHA256SU1: the state lives in
 * two registers, ABCD and EFGH, and each SHA256H/H2 pair does four rounds.
 * Only these functions are compiled for the extension (target attribute),
 * and si_sha256_have_armce() asks the kernel (AT_HWCAP) before any runs. */
#include "verify/sha256_arch.h"

#if defined(__aarch64__)
#include <arm_neon.h>
#include <sys/auxv.h>

#ifndef HWCAP_SHA2
#define HWCAP_SHA2 (1UL << 6) /* arch/arm64/include/uapi/asm/hwcap.h */
#endif

int si_sha256_have_armce(void)
{
	return (getauxval(AT_HWCAP) & HWCAP_SHA2) != 0;
}

#if defined(__clang__)
#define ARMCE __attribute__((target("crypto")))
#else
#define ARMCE __attribute__((target("+crypto")))
#endif

/* The instructions by inline assembly: clang 14's arm_neon.h declares the
 * vsha256* intrinsics only when the whole file is built for the extension
 * (__ARM_FEATURE_SHA2), which would let the compiler use it anywhere. */
ARMCE static inline uint32x4_t ce_h(uint32x4_t abcd, uint32x4_t efgh, uint32x4_t wk)
{
	__asm__("sha256h %q0, %q1, %2.4s" : "+w"(abcd) : "w"(efgh), "w"(wk));
	return abcd;
}

ARMCE static inline uint32x4_t ce_h2(uint32x4_t efgh, uint32x4_t abcd, uint32x4_t wk)
{
	__asm__("sha256h2 %q0, %q1, %2.4s" : "+w"(efgh) : "w"(abcd), "w"(wk));
	return efgh;
}

ARMCE static inline uint32x4_t ce_su0(uint32x4_t w0, uint32x4_t w1)
{
	__asm__("sha256su0 %0.4s, %1.4s" : "+w"(w0) : "w"(w1));
	return w0;
}

ARMCE static inline uint32x4_t ce_su1(uint32x4_t t, uint32x4_t w2, uint32x4_t w3)
{
	__asm__("sha256su1 %0.4s, %1.4s, %2.4s" : "+w"(t) : "w"(w2), "w"(w3));
	return t;
}

#define LOADW(p, i) vreinterpretq_u32_u8(vrev32q_u8(vld1q_u8((p) + 16 * (i))))

/* Four rounds with W[4g..4g+3] in m. */
#define RND4(abcd, efgh, m, g)                                        \
	do {                                                          \
		uint32x4_t t_ = vaddq_u32((m), vld1q_u32(si_sha256_k + 4 * (g))); \
		uint32x4_t a_ = abcd;                                 \
		abcd = ce_h(abcd, efgh, t_);                          \
		efgh = ce_h2(efgh, a_, t_);                           \
	} while (0)

/* a = W_{g-4} becomes W_g from b = W_{g-3}, c = W_{g-2}, d = W_{g-1}. */
#define SCHED(a, b, c, d) (a = ce_su1(ce_su0(a, b), c, d))

#include "verify/sha256_rounds.h"

ARMCE void si_sha256_blocks_armce(uint32_t h[8], const uint8_t *p, size_t n)
{
	uint32x4_t s0 = vld1q_u32(h), s1 = vld1q_u32(h + 4);

	for (; n; n--, p += 64) {
		uint32x4_t a0 = s0, a1 = s1;
		uint32x4_t w0 = LOADW(p, 0), w1 = LOADW(p, 1), w2 = LOADW(p, 2), w3 = LOADW(p, 3);

		ROUNDS64(s0, s1, w0, w1, w2, w3);
		s0 = vaddq_u32(s0, a0);
		s1 = vaddq_u32(s1, a1);
	}
	vst1q_u32(h, s0);
	vst1q_u32(h + 4, s1);
}

/* Two messages: most arm64 cores issue SHA256H back to back only from
 * independent chains, so interleaving hides its latency. */
ARMCE void si_sha256_blocks_armce_x2(uint32_t ha[8], const uint8_t *pa, uint32_t hb[8],
				     const uint8_t *pb, size_t n)
{
	uint32x4_t sa0 = vld1q_u32(ha), sa1 = vld1q_u32(ha + 4);
	uint32x4_t sb0 = vld1q_u32(hb), sb1 = vld1q_u32(hb + 4);

	for (; n; n--, pa += 64, pb += 64) {
		uint32x4_t ka0 = sa0, ka1 = sa1, kb0 = sb0, kb1 = sb1;
		uint32x4_t w0A = LOADW(pa, 0), w1A = LOADW(pa, 1), w2A = LOADW(pa, 2), w3A = LOADW(pa, 3);
		uint32x4_t w0B = LOADW(pb, 0), w1B = LOADW(pb, 1), w2B = LOADW(pb, 2), w3B = LOADW(pb, 3);

#define RND4X(g, wa, wb) do { RND4(sa0, sa1, wa, g); RND4(sb0, sb1, wb, g); } while (0)
#define SCHEDX(a, b, c, d) do { SCHED(a##A, b##A, c##A, d##A); SCHED(a##B, b##B, c##B, d##B); } while (0)
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
#undef RND4X
#undef SCHEDX
		sa0 = vaddq_u32(sa0, ka0);
		sa1 = vaddq_u32(sa1, ka1);
		sb0 = vaddq_u32(sb0, kb0);
		sb1 = vaddq_u32(sb1, kb1);
	}
	vst1q_u32(ha, sa0);
	vst1q_u32(ha + 4, sa1);
	vst1q_u32(hb, sb0);
	vst1q_u32(hb + 4, sb1);
}

#else /* not arm64: never selected */

int si_sha256_have_armce(void)
{
	return 0;
}

void si_sha256_blocks_armce(uint32_t h[8], const uint8_t *p, size_t n)
{
	si_sha256_blocks_portable(h, p, n);
}

void si_sha256_blocks_armce_x2(uint32_t ha[8], const uint8_t *pa, uint32_t hb[8],
			       const uint8_t *pb, size_t n)
{
	si_sha256_blocks_portable(ha, pa, n);
	si_sha256_blocks_portable(hb, pb, n);
}

#endif
