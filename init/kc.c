/* sealinit: stage kc -- the boot kernel collection's modules, loaded from
 * the memory plan_boot() verified (no window between check and use). */
#include <stdio.h>

#include "init/boot.h"
#include "init/log.h"

int stage_kc(struct boot *b)
{
	char owner[SI_SEAL_NAME_MAX + 16];
	int r;

	snprintf(owner, sizeof owner, "kc-boot '%s'", b->plan.kc.seal.m.name);
	/* From here to the handoff the kernel's module requests are answered
	 * from these verified bytes only. */
	(void)boot_modhelper_arm(b->plan.kc_bytes, (size_t)b->plan.coll.size,
				 b->plan.coll.count && b->plan.coll.mods[0].boot_image
				 ? (size_t)b->plan.coll.mods[0].offset : 0,
				 b->plan.coll.count && b->plan.coll.mods[0].boot_image
				 ? (size_t)b->plan.coll.mods[0].size : 0);
	r = boot_modset_load(&b->plan.kc_mods, "kc", owner);
	if (r)
		return r;
	si_log(SI_LOG_INFO, "sealinit: kc: %u modules loaded from verified memory for %s%s",
	       b->plan.kc_mods.n, b->plan.coll.release,
	       b->plan.kc_mods.n + (b->plan.coll.count && b->plan.coll.mods[0].boot_image) < b->plan.coll.count
	       ? " (the others on the kernel's request)" : "");
	return 0;
}
