/* sealinit plan/: the planner's console lines (plan/plan.h, "reports").
 * The same text whether PID 1 prints it or doctor predicts it. */
#include <stdarg.h>
#include <string.h>

#include "lib/str.h"
#include "plan/plan.h"

void plan_log(const struct plan_ops *ops, int level, const char *fmt, ...)
{
	char line[1024];
	struct si_buf b;
	va_list ap;

	if (!ops || !ops->log)
		return; /* a caller that wants the decision only */
	si_buf_init(&b, line, sizeof line);
	va_start(ap, fmt);
	si_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	ops->log(ops->ctx, level, line);
}

void plan_log_error(const struct plan_ops *ops, const char *stage, const char *what,
		    int err, const struct si_diag *d)
{
	char line[1024];

	si_error_line(line, sizeof line, stage, what, err, d);
	ops->log(ops->ctx, PLAN_LOG_ERR, line);
	if (*si_err_check(err))
		plan_log(ops, PLAN_LOG_ERR, "sealinit: hint: %s", si_err_check(err));
}

void plan_anchor_report(const struct si_anchor *a, const struct plan_ops *ops)
{
	unsigned i;

	for (i = 0; i < a->n_keys; i++) {
		const struct si_key *k = &a->keys[i];
		char usages[96], fp[17], targets[SI_KEY_TARGETS_BYTES];
		const char *t = k->targets;
		struct si_buf tb;
		unsigned j;

		si_usages_format(k->usages, usages, sizeof usages);
		si_hex(fp, k->fingerprint, 8);
		plan_log(ops, PLAN_LOG_INFO, "sealinit: anchor: key '%s' %s%s may sign %s%s (fingerprint %s)",
			 k->id, si_algo_name(k->algo),
			 k->source == SI_KEY_UBOOT ? " from U-Boot /signature" : "", usages,
			 k->source == SI_KEY_UBOOT && !k->has_usages ? " by default" : "", fp);
		if (!k->n_targets)
			continue;
		si_buf_init(&tb, targets, sizeof targets);
		for (j = 0; j < k->n_targets; j++, t += strlen(t) + 1)
			si_buf_printf(&tb, "%s%s", j ? ", " : "", t);
		plan_log(ops, PLAN_LOG_INFO, "sealinit: anchor: key '%s' may overlay cryptexes on %s",
			 k->id, targets);
	}
	if (a->has_floor)
		plan_log(ops, PLAN_LOG_INFO, "sealinit: anchor: rollback floor %llu",
			 (unsigned long long)a->rollback_floor);
	plan_log(ops, PLAN_LOG_NOTICE, "sealinit: anchor: %u key%s OK", a->n_keys,
		 a->n_keys == 1 ? "" : "s");
}
