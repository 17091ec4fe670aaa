/* sealinit: stage plan -- the preboot volume listed, the boot kernel
 * collection read whole, every seal opened, and every decision of the
 * boot made by plan_boot() (plan/), which prints each verdict.  Nothing
 * is loaded or mounted before the whole plan holds. */
#include <errno.h>
#include <string.h>

#include "init/boot.h"
#include "init/log.h"

static uint8_t kc_buf[CONFIG_KC_BOOT_MAX_KB * 1024] __attribute__((aligned(64)));

int stage_plan(struct boot *b)
{
	struct plan_inputs in = {
		.board = &b->board,
		.set = &b->set,
		.anchor = &b->anchor,
		.kernel_release = b->kernel_release,
		.kc_buf = kc_buf,
		.kc_cap = sizeof kc_buf,
		.slot = up_slot_dir(b->slot),
		.floors = &b->floors,
	};
	static const uint8_t zero[32];
	int r;

	if (boot_ops_preboot(PREBOOT_MNT) != 0) {
		struct si_diag d;

		si_diag_clear(&d);
		si_log_error("plan", "preboot volume", si_diag_sys(&d, SI_E_OPEN, PREBOOT_MNT, errno), &d);
		return SI_E_OPEN;
	}
	if (memcmp(b->ustate.active_set, zero, 32) != 0 && b->slot == b->ustate.active)
		in.active_set = b->ustate.active_set;
	r = plan_boot(&in, &b->ops, &b->plan);
	if (r)
		b->fail_stage = b->plan.stage;
	return r;
}
