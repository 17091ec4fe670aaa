/* libFuzzer target: the .config reader doctor uses (plan/board.c), and
 * the settings the planner derives from the board it yields. */
#include <stdint.h>
#include <string.h>

#include "plan/plan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(void *ctx, int level, const char *line)
{
	(void)ctx;
	(void)level;
	if (strchr(line, '\n'))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct plan_ops ops = { .log = quiet };
	struct plan_board b, before;
	struct plan_settings s;
	struct si_cmdline c;
	struct si_diag d;

	plan_board_kconfig(&b);
	before = b;
	si_diag_clear(&d);
	if (plan_board_parse_config((const char *)data, size, &b, &d) != 0) {
		if (memcmp(&b, &before, sizeof b) != 0)
			__builtin_trap(); /* changed on error */
		return 0;
	}
	/* Every string field stays NUL-terminated inside its array. */
	if (!memchr(b.name, 0, sizeof b.name) || !memchr(b.required, 0, sizeof b.required) ||
	    !memchr(b.cryptex_targets, 0, sizeof b.cryptex_targets) ||
	    !memchr(b.real_init, 0, sizeof b.real_init) ||
	    !memchr(b.system_label, 0, sizeof b.system_label))
		__builtin_trap();
	memset(&c, 0, sizeof c);
	plan_settings(&b, &c, &ops, &s);
	return 0;
}
