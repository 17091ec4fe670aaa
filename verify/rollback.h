/* sealinit: rollback protection.
 *
 * Every manifest carries a rollback index.  An image is refused when its
 * index is below the anchor's floor (the device tree's rollback-floor, set
 * by whoever provisions the device) or below the floor sealinit has
 * recorded for the image's name (passed in by the caller; 0 when none).
 */
#ifndef SEALINIT_VERIFY_ROLLBACK_H
#define SEALINIT_VERIFY_ROLLBACK_H

#include <stdint.h>

#include "lib/bytes.h"
#include "lib/err.h"
#include "verify/anchor.h"

/* Errors: SI_E_SEAL_ROLLBACK, with d->field "manifest.rollback_index
 * (anchor floor)" or "(recorded floor)", d->expected the floor and
 * d->found the index. */
int si_rollback_check(uint64_t index, const struct si_anchor *anchor,
		      uint64_t recorded_floor, struct si_diag *d) SI_WUR;

#endif
