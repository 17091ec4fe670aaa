/* sealinit: SHA-256 compression functions, one per instruction set.
 * Private to verify/sha256*.c.  Each processes n whole 64-byte blocks;
 * the _x2 (_x4) forms run two (four) independent messages of n blocks
 * each, interleaved so that the CPU's SHA units overlap their latencies.
 * The accelerated ones exist only where their architecture does; callers
 * test with si_sha256_have_*() first. */
#ifndef SEALINIT_VERIFY_SHA256_ARCH_H
#define SEALINIT_VERIFY_SHA256_ARCH_H

#include <stddef.h>
#include <stdint.h>

extern const uint32_t si_sha256_k[64];

void si_sha256_blocks_portable(uint32_t h[8], const uint8_t *p, size_t n);

/* x86-64 SHA-NI: verify/sha256_x86.c */
int si_sha256_have_shani(void);
void si_sha256_blocks_shani(uint32_t h[8], const uint8_t *p, size_t n);
void si_sha256_blocks_shani_x2(uint32_t ha[8], const uint8_t *pa, uint32_t hb[8],
			       const uint8_t *pb, size_t n);
void si_sha256_blocks_shani_x4(uint32_t *h[4], const uint8_t *const p[4], size_t n);

/* arm64 crypto extensions: verify/sha256_arm64.c */
int si_sha256_have_armce(void);
void si_sha256_blocks_armce(uint32_t h[8], const uint8_t *p, size_t n);
void si_sha256_blocks_armce_x2(uint32_t ha[8], const uint8_t *pa, uint32_t hb[8],
			       const uint8_t *pb, size_t n);

#endif
