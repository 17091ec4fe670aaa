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
