/* sealinit: SHA-256 (FIPS 180-4), the hashing hot loop.
 *
 * One implementation is chosen at run time, once, and used by every call:
 *   "sha-ni"    x86-64 SHA extensions (cpuid leaf 7, EBX bit 29, with SSE4.1)
 *   "armv8-ce"  arm64 crypto extensions (getauxval(AT_HWCAP) & HWCAP_SHA2)
 *   "portable"  plain C, everywhere else
 * The choice is thread-safe (an idempotent atomic store of a value that
 * depends only on the CPU), and no global -m flag is needed: the
 * accelerated functions carry target attributes.
 *
 * Contexts are caller-allocated, hold no pointers and may be copied: a copy
 * of a context that has absorbed a common prefix (a salt) continues from
 * there, which is how the hash tree avoids rehashing the salt.
 */
#ifndef SEALINIT_VERIFY_SHA256_H
#define SEALINIT_VERIFY_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SI_SHA256_LEN 32
#define SI_SHA256_BLOCK 64

struct si_sha256 {
	uint32_t h[8];
	uint64_t count; /* bytes absorbed so far */
	uint8_t buf[SI_SHA256_BLOCK];
};

void si_sha256_init(struct si_sha256 *c);
void si_sha256_update(struct si_sha256 *c, const void *data, size_t len);
/* Writes the digest; the context must be re-initialised before reuse. */
void si_sha256_final(struct si_sha256 *c, uint8_t out[SI_SHA256_LEN]);
void si_sha256(const void *data, size_t len, uint8_t out[SI_SHA256_LEN]);

/* "sha-ni", "armv8-ce" or "portable": what si_sha256_* use on this CPU. */
const char *si_sha256_impl(void);

/* Hashes n equal-length messages prefix || msg[i] (msg[i] = base + i*stride,
 * msg_len bytes each), starting every one from the context `prefix` (which
 * has absorbed the salt), writing digest i to out + i*SI_SHA256_LEN.
 * Interleaves two messages per core where the CPU gains from it.  This is
 * the dm-verity leaf loop; it is exact SHA-256, only faster. */
void si_sha256_many(const struct si_sha256 *prefix, const uint8_t *base,
		    size_t stride, size_t msg_len, size_t n, uint8_t *out);

/* Tests only: nonzero forces the portable code, 0 returns to the CPU's best.
 * Returns the previous forcing state. */
int si_sha256_force_portable(int on);

#endif
