/* sealinit patch/: the format's SHA-256, in one place so the implementation
 * can change (BearSSL's portable code today; verify/sha256.h's SHA-NI/ARMv8
 * code when it lands) without touching the format code. */
#include <assert.h>
#include <string.h>

#include <bearssl.h>

#include "patch/patch.h"

static_assert(sizeof(br_sha256_context) <= sizeof(((struct patch_hash *)0)->state),
	      "patch_hash too small for br_sha256_context");

void patch_hash_init(struct patch_hash *h)
{
	br_sha256_init((br_sha256_context *)(void *)h->state);
}

void patch_hash_update(struct patch_hash *h, const void *p, size_t n)
{
	br_sha256_update((br_sha256_context *)(void *)h->state, p, n);
}

void patch_hash_final(struct patch_hash *h, uint8_t out[PATCH_HASH_LEN])
{
	br_sha256_out((br_sha256_context *)(void *)h->state, out);
}

void patch_hash(const void *p, size_t n, uint8_t out[PATCH_HASH_LEN])
{
	struct patch_hash h;

	patch_hash_init(&h);
	patch_hash_update(&h, p, n);
	patch_hash_final(&h, out);
}
