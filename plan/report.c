/* sealinit plan/: the planner's console lines (plan/plan.h, "reports").
 * The same text whether PID 1 prints it or doctor predicts it. */
#include <stdarg.h>

#include "lib/str.h"
#include "plan/plan.h"

void plan_log(const struct plan_ops *ops, int level, const char *fmt, ...)
{
	char line[1024];
	struct si_buf b;
	va_list ap;

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
