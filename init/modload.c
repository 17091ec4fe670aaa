/* sealinit: loading a planned module set (plan_modules decided it: every
 * .modinfo parsed, every dependency present, the graph built). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "init/boot.h"
#include "init/log.h"
#include "lib/str.h"

static int load_one(void *ctx, size_t i, struct si_diag *d)
{
	const struct plan_modset *m = ctx;

	if (boot_module_loaded(m->info[i].name))
		return 0;
	if (m->file[i][0])
		return kc_module_load_file(m->file[i], NULL, d);
	return kc_module_load(m->img[i], m->len[i], NULL, d);
}

static unsigned load_threads(void)
{
	long n;

	if (CONFIG_MODULE_LOAD_THREADS > 0)
		return CONFIG_MODULE_LOAD_THREADS;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 16 ? 16 : (unsigned)n;
}

/* init_module's ENOENT is the kernel's "Unknown symbol": name what the
 * module's depends= lists that the kernel does not have. */
static void hint_missing_deps(const struct kc_modinfo *mi)
{
	char deps[KC_DEPENDS_MAX], missing[KC_DEPENDS_MAX] = "";
	char *tok, *save;
	size_t used = 0;

	memcpy(deps, mi->depends, sizeof deps);
	for (tok = strtok_r(deps, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (boot_module_loaded(tok))
			continue;
		used += (size_t)snprintf(missing + used, sizeof missing - used, "%s%s",
					 used ? "," : "", tok);
		if (used >= sizeof missing)
			break;
	}
	if (missing[0])
		si_log(SI_LOG_ERR, "sealinit: hint: %s needs %s (depends=); not loaded: %s",
		       mi->name, mi->depends, missing);
}

int boot_modset_load(struct plan_modset *m, const char *stage, const char *owner)
{
	static struct kc_load_run run;
	const struct kc_load_ops ops = { load_one, m };
	struct si_diag d;
	char what[200];
	size_t bad = 0;
	unsigned i, threads = load_threads();
	int r;

	si_diag_clear(&d);
	r = kc_load_graph(&m->graph, &ops, threads, &run, &bad, &d);
	for (i = 0; i < m->n; i++)
		if (run.state[i] == KC_LOAD_DONE)
			si_log(SI_LOG_DEBUG, "sealinit: %s: loaded %s (%u.%03u ms)", stage,
			       m->info[i].name, run.us[i] / 1000, run.us[i] % 1000);
	if (r) {
		snprintf(what, sizeof what, "module '%s' of %s", m->info[bad].name, owner);
		si_log_error(stage, what, r, &d);
		if (r == SI_E_MODULE_LOAD && d.sys_errno == ENOENT)
			hint_missing_deps(&m->info[bad]);
		return r;
	}
	si_log(SI_LOG_DEBUG, "sealinit: %s: %u modules on %u threads", stage, m->n, threads);
	return 0;
}
