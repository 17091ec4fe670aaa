/* libFuzzer target: the device-tree trust-anchor parser (verify/anchor.c).
 * The blob is copied to an 8-byte aligned buffer, as PID 1 reads it. */
#include <stdint.h>
#include <string.h>

#include "verify/anchor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t buf[(CONFIG_MAX_FDT_KB * 1024) / 8];
	struct si_anchor a;
	struct si_diag d;
	char line[512];
	unsigned i;
	int r;

	if (size > sizeof buf)
		return 0;
	memcpy(buf, data, size);
	r = si_anchor_parse((const uint8_t *)buf, size, 0, &a, &d);
	si_diag_format(&d, r, line, sizeof line);
	if (r == 0)
		for (i = 0; i < a.n_keys; i++)
			if (si_anchor_find(&a, a.keys[i].fingerprint) != &a.keys[i])
				__builtin_trap();
	return 0;
}
