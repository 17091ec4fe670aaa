/* libFuzzer target: the zstd stream decoder (patch/zstd.c), the code
 * sealinit runs on every zstd stream of a patch.  Input: byte 0 picks the
 * declared output length (below), the rest is the stream.  The window cap
 * is 64 KiB, so the cap's refusals are reached; a 256 KiB output buffer
 * bounds each run.  Differential check against libzstd's one-call API
 * (ZSTD_decompress, heap context): whatever the wrapper accepts, libzstd
 * accepts too, with the same bytes -- and the wrapper never writes past
 * the declared length.
 *   byte 0 < 0xf0: dlen = libzstd's decoded length (or 4096 when it fails),
 *                  minus (byte 0 & 3): exact, or one to three bytes short
 *   byte 0 >= 0xf0: dlen = (byte 0 & 15) * 1024 */
#include <stdlib.h>
#include <string.h>

#include <zstd.h>

#include "patch/zstd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define OUT_MAX (256u * 1024u)
#define GUARD 64u

static struct patch_zstd z;
static uint8_t *zmem, *out, *ref;

static void setup(void)
{
	size_t len = patch_zstd_mem(1);

	zmem = aligned_alloc(64, len);
	out = malloc(OUT_MAX + GUARD);
	ref = malloc(OUT_MAX);
	if (!zmem || !out || !ref || patch_zstd_init(&z, zmem, len, 1, 64 * 1024, NULL) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *src = data + 1;
	size_t slen, dlen, rlen, i;
	struct si_diag d;
	char line[512];
	int r;

	if (!zmem)
		setup();
	if (size < 1)
		return 0;
	slen = size - 1;
	rlen = ZSTD_decompress(ref, OUT_MAX, src, slen);
	if (data[0] >= 0xf0)
		dlen = (size_t)(data[0] & 15u) * 1024u;
	else if (ZSTD_isError(rlen))
		dlen = 4096;
	else
		dlen = rlen >= (data[0] & 3u) ? rlen - (data[0] & 3u) : 0;
	memset(out + dlen, 0x5a, GUARD);
	si_diag_clear(&d);
	r = patch_zstd_frame(&z, src, slen, out, dlen, &d);
	si_diag_format(&d, r, line, sizeof line);
	for (i = 0; i < GUARD; i++)
		if (out[dlen + i] != 0x5a)
			abort(); /* wrote past the declared length */
	if (r == 0 && slen > 0 && (ZSTD_isError(rlen) || rlen != dlen || memcmp(out, ref, dlen) != 0))
		abort(); /* accepted what libzstd refuses, or decoded it otherwise */
	return 0;
}
