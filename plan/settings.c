/* sealinit plan/: the kernel command line against the board's policy
 * (plan/plan.h, "settings"), and the banner of builds that weaken it. */
#include <string.h>

#include "lib/str.h"
#include "plan/plan.h"

static void set_str(char *dst, size_t n, const char *src)
{
	struct si_buf b;

	si_buf_init(&b, dst, n);
	si_buf_puts(&b, src);
}

/* "'<option>=<value>' ignored: <why> (<CONFIG>)", the value escaped. */
static void ignored(const struct plan_ops *ops, const char *opt, const char *val,
		    const char *why, const char *config)
{
	char v[96];

	si_escape(v, sizeof v, val, strlen(val));
	plan_log(ops, PLAN_LOG_WARN, "sealinit: cmdline: '%s=%s' ignored: %s (%s is off)",
		 opt, v, why, config);
}

static const char *failure_name(enum si_failure f)
{
	switch (f) {
	case SI_FAILURE_DEFAULT: break;
	case SI_FAILURE_PANIC: return "panic";
	case SI_FAILURE_REBOOT: return "reboot";
	case SI_FAILURE_RESCUE: return "rescue";
	}
	return "?";
}

void plan_settings(const struct plan_board *b, const struct si_cmdline *c,
		   const struct plan_ops *ops, struct plan_settings *out)
{
	static const char *const label_opt[] = { "sealinit.preboot", "sealinit.system",
						  "sealinit.data" };
	const char *cl[3] = { c->preboot, c->system, c->data };
	char *dst[3] = { out->preboot_label, out->system_label, out->data_label };
	const char *def[3] = { b->preboot_label, b->system_label, b->data_label };
	unsigned i;

	memset(out, 0, sizeof *out);
	for (i = 0; i < c->n_problems; i++)
		plan_log(ops, PLAN_LOG_WARN, "sealinit: cmdline: %s: '%s' ignored [%s]",
			 si_err_meaning(c->problems[i].err), c->problems[i].option,
			 si_err_name(c->problems[i].err));
	if (c->problems_dropped)
		plan_log(ops, PLAN_LOG_WARN, "sealinit: cmdline: %u more problems not shown",
			 c->problems_dropped);
	if (c->n_problems)
		plan_log(ops, PLAN_LOG_WARN, "sealinit: hint: %s", si_err_check(c->problems[0].err));

	for (i = 0; i < 3; i++) {
		set_str(dst[i], PLAN_LABEL_MAX + 1, def[i]);
		if (!cl[i][0])
			continue;
		if (b->cmdline_allow & PLAN_ALLOW_LABELS)
			set_str(dst[i], PLAN_LABEL_MAX + 1, cl[i]);
		else
			ignored(ops, label_opt[i], cl[i],
				"this build does not let the command line choose partitions",
				"CONFIG_CMDLINE_LABELS");
	}
	set_str(out->init, sizeof out->init, b->real_init);
	if (c->init[0]) {
		if (b->cmdline_allow & PLAN_ALLOW_INIT)
			set_str(out->init, sizeof out->init, c->init);
		else
			ignored(ops, "init", c->init,
				"this build does not let the command line choose the real init",
				"CONFIG_CMDLINE_INIT");
	}
	out->failure = b->failure;
	if (c->failure != SI_FAILURE_DEFAULT) {
		if (b->cmdline_allow & PLAN_ALLOW_FAILURE)
			out->failure = c->failure;
		else
			ignored(ops, "sealinit.failure", failure_name(c->failure),
				"this build does not let the command line choose the failure action",
				"CONFIG_CMDLINE_FAILURE");
	}
	out->loglevel = c->loglevel;
	out->test = c->test;
	if (c->test != SI_TEST_NONE && !b->test_hooks) {
		plan_log(ops, PLAN_LOG_WARN, "sealinit: cmdline: sealinit.test= ignored: this build has no test hooks (CONFIG_TEST_HOOKS)");
		out->test = SI_TEST_NONE;
	}
}

void plan_banner(const struct plan_board *b, const struct plan_ops *ops)
{
	if (b->test_hooks)
		plan_log(ops, PLAN_LOG_WARN, "sealinit: WARNING: development build: test hooks enabled (CONFIG_TEST_HOOKS); not for production");
	if (b->cmdline_allow & (PLAN_ALLOW_INIT | PLAN_ALLOW_FAILURE)) {
		int both = (b->cmdline_allow & PLAN_ALLOW_INIT) && (b->cmdline_allow & PLAN_ALLOW_FAILURE);

		plan_log(ops, PLAN_LOG_WARN, "sealinit: WARNING: development build: the command line may choose %s (%s); not for production",
			 both ? "the real init and the failure action" :
			 (b->cmdline_allow & PLAN_ALLOW_INIT) ? "the real init" : "the failure action",
			 both ? "CONFIG_CMDLINE_INIT, CONFIG_CMDLINE_FAILURE" :
			 (b->cmdline_allow & PLAN_ALLOW_INIT) ? "CONFIG_CMDLINE_INIT" : "CONFIG_CMDLINE_FAILURE");
	}
	if (b->insecure_uboot_all)
		plan_log(ops, PLAN_LOG_WARN, "sealinit: WARNING: INSECURE: U-Boot /signature keys without sealinit,usages may sign every kind of image (CONFIG_INSECURE_UBOOT_KEYS_ALL_USAGES); not for production");
	if (b->insecure_no_set)
		plan_log(ops, PLAN_LOG_WARN, "sealinit: WARNING: INSECURE: images may boot without a release set (CONFIG_INSECURE_NO_SET): releases can be mixed; not for production");
	if (b->insecure_tpm_optional)
		plan_log(ops, PLAN_LOG_WARN, "sealinit: WARNING: INSECURE: a missing or cleared TPM only warns (CONFIG_INSECURE_TPM_OPTIONAL): a downgrade attacker may remove it; not for production");
}
