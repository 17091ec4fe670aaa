/* sealinit plan/: status.json, what a boot verified and skipped, for the
 * OS to read (/run/sealinit/status.json moves into the new root with /run).
 * Pure formatting; init/ writes the file. */
#ifndef SEALINIT_PLAN_STATUS_H
#define SEALINIT_PLAN_STATUS_H

#include <stddef.h>

#include "plan/plan.h"

struct plan_timing {
	const char *name;
	unsigned us;
};

/* Formats the status of a boot that is handing off into out[0..cap) (always
 * NUL-terminated); returns its length, and sets *truncated when it did
 * not fit.  Untrusted strings are JSON-escaped. */
/* st: the update state this boot ended with (NULL: none known). */
size_t plan_status_json(const struct plan *p, const struct plan_board *b,
			const struct si_anchor *a, const char *release,
			const struct up_state *st,
			const struct plan_timing *t, unsigned n_t, unsigned total_us,
			char *out, size_t cap, int *truncated);

#endif
