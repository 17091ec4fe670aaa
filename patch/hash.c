/* sealinit patch/: the format's SHA-256, in one place so the implementation
 * can change without touching the format code.  verify/sha256.h picks
 * SHA-NI / ARMv8 CE at run time (about 5x BearSSL's portable code, which
 * was a third of the apply time). */
#include <assert.h>
#include <string.h>

#include "patch/patch.h"
#include "verify/sha256.h"

static_assert(sizeof(struct si_sha256) <= sizeof(((struct patch_hash *)0)->state),
	      "patch_hash too small for struct si_sha256");

void patch_hash_init(struct patch_hash *h)
{
	si_sha256_init((struct si_sha256 *)(void *)h->state);
}

void patch_hash_update(struct patch_hash *h, const void *p, size_t n)
{
	si_sha256_update((struct si_sha256 *)(void *)h->state, p, n);
}

void patch_hash_final(struct patch_hash *h, uint8_t out[PATCH_HASH_LEN])
{
	si_sha256_final((struct si_sha256 *)(void *)h->state, out);
}

void patch_hash(const void *p, size_t n, uint8_t out[PATCH_HASH_LEN])
{
	si_sha256(p, n, out);
}

static size_t seg_lane_len(size_t len)
{
	return len / (PATCH_SEG_LANES * 64) * 64;
}

unsigned patch_seg_lanes_within(size_t len, size_t n)
{
	size_t q = seg_lane_len(len);

	if (q == 0)
		return PATCH_SEG_LANES; /* empty lanes: nothing to wait for */
	return n / q < PATCH_SEG_LANES ? (unsigned)(n / q) : PATCH_SEG_LANES;
}

void patch_seg_digest_lanes(const uint8_t *p, size_t len, unsigned lo, unsigned hi,
			    uint8_t lanes[PATCH_SEG_LANES][PATCH_HASH_LEN])
{
	size_t q = seg_lane_len(len);
	struct si_sha256 init;

	if (lo >= hi)
		return;
	si_sha256_init(&init);
	si_sha256_many(&init, p + lo * q, q, q, hi - lo, lanes[lo]);
}

void patch_seg_digest_end(const uint8_t *p, size_t len,
			  const uint8_t lanes[PATCH_SEG_LANES][PATCH_HASH_LEN],
			  uint8_t out[PATCH_HASH_LEN])
{
	size_t t = PATCH_SEG_LANES * seg_lane_len(len);
	struct si_sha256 c;

	si_sha256_init(&c);
	si_sha256_update(&c, lanes, PATCH_SEG_LANES * PATCH_HASH_LEN);
	si_sha256_update(&c, p + t, len - t);
	si_sha256_final(&c, out);
}

void patch_seg_digest(const uint8_t *p, size_t len, uint8_t out[PATCH_HASH_LEN])
{
	uint8_t lanes[PATCH_SEG_LANES][PATCH_HASH_LEN];

	patch_seg_digest_lanes(p, len, 0, PATCH_SEG_LANES, lanes);
	patch_seg_digest_end(p, len, (const uint8_t (*)[PATCH_HASH_LEN])lanes, out);
}
