/* sealinit: rollback protection; see verify/rollback.h. */
#include "verify/rollback.h"

int si_rollback_check(uint64_t index, const struct si_anchor *anchor,
		      uint64_t recorded_floor, struct si_diag *d)
{
	if (anchor && anchor->has_floor && index < anchor->rollback_floor) {
		si_diag_field(d, "manifest.rollback_index (anchor floor)");
		si_diag_values(d, anchor->rollback_floor, index);
		return SI_E_SEAL_ROLLBACK;
	}
	if (index < recorded_floor) {
		si_diag_field(d, "manifest.rollback_index (recorded floor)");
		si_diag_values(d, recorded_floor, index);
		return SI_E_SEAL_ROLLBACK;
	}
	return 0;
}
