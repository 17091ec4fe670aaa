/* sealinit plan/: a module set, decided before any of it loads
 * (plan/plan.h, "module sets"). */
#include <string.h>

#include "lib/str.h"
#include "plan/plan.h"

static int has_alias(void *ctx, size_t i, const char *alias, struct si_diag *d)
{
	const struct plan_modset *m = ctx;

	return kc_modinfo_has_alias(m->img[i], m->len[i], alias, d);
}

/* "module 'ext4' of the initramfs", or the file when the name is unknown. */
static void module_what(const struct plan_modset *m, unsigned i, int named,
			const char *owner, char *out, size_t n)
{
	struct si_buf b;

	si_buf_init(&b, out, n);
	if (named)
		si_buf_printf(&b, "module '%s' of %s", m->info[i].name, owner);
	else if (m->file[i][0])
		si_buf_printf(&b, "module %s of %s", m->file[i], owner);
	else
		si_buf_printf(&b, "module #%u of %s", i + 1, owner);
}

int plan_modules(struct plan_modset *m, const char *release, const char *stage,
		 const char *owner, const struct plan_ops *ops)
{
	struct si_diag d;
	char what[200];
	unsigned i;
	int r;

	for (i = 0; i < m->n; i++) {
		si_diag_clear(&d);
		r = kc_modinfo_parse(m->img[i], m->len[i], &m->info[i], &d);
		if (r) {
			module_what(m, i, 0, owner, what, sizeof what);
			plan_log_error(ops, stage, what, r, &d);
			return r;
		}
		if (release && *release) {
			r = kc_vermagic_check(&m->info[i], release, &d);
			if (r) {
				module_what(m, i, 1, owner, what, sizeof what);
				plan_log_error(ops, stage, what, r, &d);
				return r;
			}
		}
	}
	/* Every depends= must be here or in the kernel already: the kernel
	 * would refuse the module only after others loaded (ENOENT, "Unknown
	 * symbol"), and depends= never names built-in code. */
	for (i = 0; i < m->n; i++) {
		const char *p = m->info[i].depends;

		while (*p) {
			size_t w = strcspn(p, ","), at;
			char name[KC_NAME_MAX];

			if (w && w < sizeof name && !kc_find(m->info, m->n, p, w, &at)) {
				memcpy(name, p, w);
				name[w] = '\0';
				if (!ops->module_loaded(ops->ctx, name)) {
					si_diag_clear(&d);
					si_diag_field(&d, "depends");
					si_diag_where(&d, m->info[i].name, strlen(m->info[i].name));
					si_diag_text(&d, m->n == 1 ? "the module in the set or loaded" :
						     "each one in the set or loaded", name);
					module_what(m, i, 1, owner, what, sizeof what);
					plan_log_error(ops, stage, what, SI_E_MODULE_DEP, &d);
					return SI_E_MODULE_DEP;
				}
			}
			p += w;
			if (*p == ',')
				p++;
		}
	}
	si_diag_clear(&d);
	r = kc_graph_build(m->info, m->n, has_alias, m, &m->graph, &d);
	if (r) {
		struct si_buf b;

		si_buf_init(&b, what, sizeof what);
		si_buf_printf(&b, "module dependencies of %s", owner);
		plan_log_error(ops, stage, what, r, &d);
		return r;
	}
	return 0;
}
