/* libFuzzer target: the kernel-collection archive parser (kc/collection.c). */
#include <stdint.h>
#include <string.h>

#include "kc/collection.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kc_collection c;
	struct si_diag d;
	unsigned i;

	if (kc_coll_parse(data, size, &c, &d) != 0)
		return 0;
	for (i = 0; i < c.count; i++)
		if (c.mods[i].offset > size || c.mods[i].size > size - c.mods[i].offset)
			__builtin_trap();
	return 0;
}
