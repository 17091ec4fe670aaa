/* sealinit kc/: module load order and the kernel release check.  Pure.
 *
 * The order is Kahn's topological sort where, at every step, the first
 * ready module in the caller's list goes next: the board's module list is
 * the order wherever dependencies allow, and a list that is already right
 * comes back unchanged.  O(n^2 + n*E) for n <= CONFIG_MAX_MODULES.
 */
#include <string.h>

#include "kc/kc.h"
#include "lib/str.h"

static int kc_char_eq(char a, char b)
{
	if (a == '-')
		a = '_';
	if (b == '-')
		b = '_';
	return a == b;
}

/* a (NUL-terminated) against b[0..blen). */
static int kc_name_eqn(const char *a, const char *b, size_t blen)
{
	size_t i;

	for (i = 0; i < blen; i++)
		if (a[i] == '\0' || !kc_char_eq(a[i], b[i]))
			return 0;
	return a[blen] == '\0';
}

int kc_name_eq(const char *a, const char *b)
{
	return kc_name_eqn(a, b, strlen(b));
}

int kc_find(const struct kc_modinfo *mods, size_t n, const char *name, size_t len,
	    size_t *at)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (kc_name_eqn(mods[i].name, name, len)) {
			*at = i;
			return 1;
		}
	return 0;
}

static int kc_missing(struct si_diag *d, const char *module, const char *need,
		      size_t need_len)
{
	char buf[KC_NAME_MAX];

	memcpy(buf, need, need_len);
	buf[need_len] = '\0';
	si_diag_field(d, "depends");
	si_diag_text(d, buf, module);
	return SI_E_MOD_MISSING;
}

static int kc_edge_add(struct kc_order_ctx *c, size_t *ne, size_t from, size_t to,
		       struct si_diag *d)
{
	if (*ne == KC_EDGES_MAX) {
		si_diag_field(d, "depends.edges");
		si_diag_values(d, KC_EDGES_MAX, KC_EDGES_MAX + 1);
		return SI_E_TOO_BIG;
	}
	c->from[*ne] = (uint16_t)from;
	c->to[*ne] = (uint16_t)to;
	c->indeg[to]++;
	(*ne)++;
	return 0;
}

int kc_order(const struct kc_modinfo *mods, size_t n, const struct kc_edge *extra,
	     size_t nextra, struct kc_order_ctx *ctx, uint16_t *order,
	     struct si_diag *d)
{
	size_t i, j, e, ne = 0, k;
	int r;

	if ((!mods && n) || (!extra && nextra) || !ctx || (!order && n))
		return SI_E_ARG;
	if (n > CONFIG_MAX_MODULES) {
		si_diag_field(d, "modules");
		si_diag_values(d, CONFIG_MAX_MODULES, n);
		return SI_E_TOO_BIG;
	}
	memset(ctx->indeg, 0, sizeof ctx->indeg);
	memset(ctx->placed, 0, sizeof ctx->placed);
	for (i = 0; i < n; i++) {
		if (strnlen(mods[i].name, KC_NAME_MAX) == KC_NAME_MAX ||
		    strnlen(mods[i].depends, KC_DEPENDS_MAX) == KC_DEPENDS_MAX)
			return SI_E_ARG;
		for (j = 0; j < i; j++)
			if (kc_name_eq(mods[j].name, mods[i].name)) {
				si_diag_field(d, "name");
				si_diag_text(d, NULL, mods[i].name);
				return SI_E_MOD_DUP;
			}
	}
	/* depends=: "a,b,c", every entry a module of the collection. */
	for (i = 0; i < n; i++) {
		const char *p = mods[i].depends;

		while (*p) {
			size_t len = strcspn(p, ",");

			if (len == 0 || len >= KC_NAME_MAX) {
				si_diag_field(d, "depends");
				si_diag_where(d, mods[i].name, strlen(mods[i].name));
				return SI_E_MODINFO;
			}
			if (!kc_find(mods, n, p, len, &j))
				return kc_missing(d, mods[i].name, p, len);
			r = kc_edge_add(ctx, &ne, j, i, d);
			if (r)
				return r;
			p += len;
			if (*p == ',') {
				p++;
				if (*p == '\0') { /* trailing comma */
					si_diag_field(d, "depends");
					si_diag_where(d, mods[i].name, strlen(mods[i].name));
					return SI_E_MODINFO;
				}
			}
		}
	}
	for (e = 0; e < nextra; e++) {
		const char *b = extra[e].before, *a = extra[e].after;
		size_t bl = strnlen(b, KC_NAME_MAX), al = strnlen(a, KC_NAME_MAX);

		if (bl == KC_NAME_MAX || al == KC_NAME_MAX)
			return SI_E_ARG;
		if (!kc_find(mods, n, b, bl, &j))
			return kc_missing(d, a, b, bl);
		if (!kc_find(mods, n, a, al, &i))
			return kc_missing(d, b, a, al);
		r = kc_edge_add(ctx, &ne, j, i, d);
		if (r)
			return r;
	}

	for (k = 0; k < n; k++) {
		for (i = 0; i < n; i++)
			if (!ctx->placed[i] && ctx->indeg[i] == 0)
				break;
		if (i == n) {
			/* Every unplaced module waits on another unplaced one:
			 * walking back n steps along such edges ends on a cycle. */
			size_t u, steps;

			for (u = 0; ctx->placed[u]; u++)
				;
			for (steps = 0; steps < n; steps++)
				for (e = 0; e < ne; e++)
					if (ctx->to[e] == u && !ctx->placed[ctx->from[e]]) {
						u = ctx->from[e];
						break;
					}
			si_diag_field(d, "depends");
			si_diag_text(d, NULL, mods[u].name);
			return SI_E_MOD_CYCLE;
		}
		ctx->placed[i] = 1;
		ctx->order[k] = (uint16_t)i;
		for (e = 0; e < ne; e++)
			if (ctx->from[e] == i)
				ctx->indeg[ctx->to[e]]--;
	}
	if (n)
		memcpy(order, ctx->order, n * sizeof *order);
	return 0;
}

int kc_release_check(const char *collection, const char *running,
		     struct si_diag *d)
{
	if (!collection || !running)
		return SI_E_ARG;
	if (strcmp(collection, running) == 0 && collection[0])
		return 0;
	si_diag_field(d, "kernel release");
	si_diag_text(d, running, collection);
	return SI_E_KC_RELEASE;
}

int kc_vermagic_check(const struct kc_modinfo *m, const char *release,
		      struct si_diag *d)
{
	char word[KC_VERMAGIC_MAX];
	size_t n;

	if (!m || !release)
		return SI_E_ARG;
	n = strcspn(m->vermagic, " ");
	if (n == strlen(release) && n && memcmp(m->vermagic, release, n) == 0)
		return 0;
	memcpy(word, m->vermagic, n);
	word[n] = '\0';
	si_diag_where(d, m->name, strlen(m->name));
	si_diag_field(d, "vermagic");
	si_diag_text(d, release, word);
	return SI_E_KC_RELEASE;
}
