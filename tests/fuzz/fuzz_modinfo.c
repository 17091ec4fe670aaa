/* libFuzzer target: the ELF .modinfo parser (kc/modinfo.c), the alias
 * lookup, and the orderer and the load graph on what they return.
 * Invariants: terminated fields of legal characters; a module that
 * depends on itself is a cycle; a graph that builds loads, in an order
 * that keeps every edge. */
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

struct fz {
	const uint8_t *data;
	size_t size;
	unsigned loaded[3], order[3], n;
	const struct kc_graph *g;
};

/* Module 0 is the fuzzed one; 1 and 2 are plain names with no aliases. */
static int fz_alias(void *ctx, size_t i, const char *alias, struct si_diag *d)
{
	const struct fz *f = ctx;

	if (i != 0)
		return 0;
	return kc_modinfo_has_alias(f->data, f->size, alias, d);
}

static int fz_load(void *ctx, size_t i, struct si_diag *d)
{
	struct fz *f = ctx;
	unsigned k;

	(void)d;
	for (k = 0; k < f->g->n_before[i]; k++)
		if (!f->loaded[f->g->before[i][k]])
			__builtin_trap();
	f->loaded[i] = 1;
	f->order[f->n++] = (unsigned)i;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct kc_order_ctx ctx;
	static struct kc_graph g;
	static struct kc_load_run run;
	struct kc_modinfo m[3];
	struct fz f = { data, size, { 0 }, { 0 }, 0, &g };
	const struct kc_load_ops ops = { fz_load, &f };
	uint16_t order[2];
	int r;

	if (kc_modinfo_parse(data, size, &m[0], NULL) != 0)
		return 0;
	if (strnlen(m[0].name, sizeof m[0].name) == sizeof m[0].name ||
	    strnlen(m[0].depends, sizeof m[0].depends) == sizeof m[0].depends ||
	    strnlen(m[0].pre, sizeof m[0].pre) == sizeof m[0].pre ||
	    strnlen(m[0].vermagic, sizeof m[0].vermagic) == sizeof m[0].vermagic)
		__builtin_trap();
	if (!m[0].name[0] || !legal(m[0].name, 0) || !legal(m[0].depends, 1) || !legal(m[0].pre, 1))
		__builtin_trap();
	/* Alone in a collection: it loads, or a dependency is missing or
	 * malformed, or it names itself (a cycle). */
	r = kc_order(m, 1, NULL, 0, &ctx, order, NULL);
	if (r == 0 && (order[0] != 0 || m[0].depends[0]))
		__builtin_trap();
	if (r != 0 && r != SI_E_MOD_MISSING && r != SI_E_MODINFO && r != SI_E_MOD_CYCLE)
		__builtin_trap();

	/* In a set with two modules it may name ("crc32c", "dm-mod"), the
	 * second needing the first: the graph builds or says why, and what
	 * builds loads completely, every module after its predecessors. */
	memset(&m[1], 0, sizeof m[1]);
	memset(&m[2], 0, sizeof m[2]);
	strcpy(m[1].name, "crc32c");
	strcpy(m[2].name, "dm_mod");
	memcpy(m[2].depends, m[0].name, strlen(m[0].name) + 1);
	r = kc_graph_build(m, 3, fz_alias, &f, &g, NULL);
	if (r != 0 && r != SI_E_MOD_DUP && r != SI_E_MOD_CYCLE && r != SI_E_MODINFO &&
	    r != SI_E_TOO_BIG)
		__builtin_trap();
	if (r == 0) {
		if (kc_load_graph(&g, &ops, 1, &run, NULL, NULL) != 0 || f.n != 3)
			__builtin_trap();
	}
	return 0;
}
