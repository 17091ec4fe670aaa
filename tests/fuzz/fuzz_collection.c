/* libFuzzer target: the kernel-collection archive parser (kc/collection.c),
 * the whole archive and the header's release alone (kc_coll_release). */
#include <stdint.h>
#include <string.h>

#include "kc/collection.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kc_collection c;
	char rel[KC_COLL_RELEASE_MAX + 1];
	struct si_diag d;
	unsigned i;
	int hr;

	hr = kc_coll_release(data, size, rel, &d);
	if (hr == 0 && (strlen(rel) == 0 || strlen(rel) > KC_COLL_RELEASE_MAX))
		__builtin_trap();
	if (kc_coll_parse(data, size, &c, &d) != 0)
		return 0;
	/* an archive that parses has a header whose release reads the same */
	if (hr != 0 || strcmp(rel, c.release) != 0)
		__builtin_trap();
	for (i = 0; i < c.count; i++)
		if (c.mods[i].offset > size || c.mods[i].size > size - c.mods[i].offset)
			__builtin_trap();
	return 0;
}
