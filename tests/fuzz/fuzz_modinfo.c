/* libFuzzer target: the ELF .modinfo parser (kc/modinfo.c), and the
 * orderer on what it returns.  Invariants: terminated fields of legal
 * characters; a module that depends on itself is a cycle. */
#include <stdint.h>
#include <string.h>

#include "kc/kc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int legal(const char *s, int comma)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == '-' ||
		      (comma && *s == ',')))
			return 0;
	return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kc_order_ctx ctx;
	struct kc_modinfo m[2];
	uint16_t order[2];
	int r;

	if (kc_modinfo_parse(data, size, &m[0], NULL) != 0)
		return 0;
	if (strnlen(m[0].name, sizeof m[0].name) == sizeof m[0].name ||
	    strnlen(m[0].depends, sizeof m[0].depends) == sizeof m[0].depends ||
	    strnlen(m[0].vermagic, sizeof m[0].vermagic) == sizeof m[0].vermagic)
		__builtin_trap();
	if (!m[0].name[0] || !legal(m[0].name, 0) || !legal(m[0].depends, 1))
		__builtin_trap();
	/* Alone in a collection: it loads, or a dependency is missing or
	 * malformed, or it names itself (a cycle). */
	r = kc_order(m, 1, NULL, 0, &ctx, order, NULL);
	if (r == 0 && (order[0] != 0 || m[0].depends[0]))
		__builtin_trap();
	if (r != 0 && r != SI_E_MOD_MISSING && r != SI_E_MODINFO && r != SI_E_MOD_CYCLE)
		__builtin_trap();
	return 0;
}
