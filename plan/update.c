/* sealinit plan/: the update decision of a boot (plan/plan.h, "update").
 *
 * From the state record and whether a bundle is staged, what this boot
 * does before anything is verified: boot the active set (writing
 * nothing), spend one trial attempt, roll a failed trial back, revert, or
 * apply the staged bundle.  Pure: init/update.c and sealctl doctor carry
 * the decision out; the order of the cases is the policy.
 */
#include <stdio.h>
#include <string.h>

#include "lib/str.h"
#include "plan/plan.h"

const char *plan_update_action_name(enum plan_up_action a)
{
	switch (a) {
	case PLAN_UP_BOOT:
		return "boot";
	case PLAN_UP_TRIAL:
		return "trial";
	case PLAN_UP_ROLLBACK:
		return "rollback";
	case PLAN_UP_REVERT:
		return "revert";
	case PLAN_UP_APPLY:
		return "apply";
	}
	return "?";
}

/* The state after N unconfirmed boots: the previous set back, confirmed
 * (it was before the update), the failed one remembered. */
static void rolled_back(const struct up_state *st, struct up_state *n)
{
	*n = *st;
	n->active = st->previous;
	n->previous = 0;
	n->trial_left = n->trial_total = 0;
	n->flags = UP_STATE_CONFIRMED;
	memcpy(n->failed_set, st->active_set, 32);
	memcpy(n->active_set, st->previous_set, 32);
	memset(n->previous_set, 0, 32);
	n->outcome = UP_OUT_ROLLED_BACK;
	snprintf(n->outcome_text, sizeof n->outcome_text, "not confirmed after %u boots",
		 (unsigned)st->trial_total);
}

void plan_update(const struct plan_board *b, const struct up_state *st, int staged,
		 struct plan_update *u, const struct plan_ops *ops)
{
	const char *dir = up_slot_dir(st->active);
	int trial = !(st->flags & UP_STATE_CONFIRMED);

	(void)b;
	memset(u, 0, sizeof *u);
	u->next = *st;
	u->slot = st->active;
	/* 1. A trial that has spent its attempts ends before anything else:
	 *    the set that never got confirmed is not booted again. */
	if (trial && st->trial_left == 0) {
		if (!st->previous) {
			plan_log(ops, PLAN_LOG_ERR, "sealinit: update: the release set in %s was never "
				 "confirmed and there is no previous set to return to; booting it", dir);
			u->action = PLAN_UP_BOOT;
			return;
		}
		rolled_back(st, &u->next);
		u->action = PLAN_UP_ROLLBACK;
		u->write = 1;
		u->slot = st->previous;
		plan_log(ops, PLAN_LOG_ERR, "sealinit: update: the release set in %s was not confirmed "
			 "after %u boots: rolling back to %s; it will not be tried again", dir,
			 (unsigned)st->trial_total, up_slot_dir(st->previous));
		return;
	}
	/* 2. sealctl revert: back to the previous set (rebuilt from the
	 *    reverse patches when only those are left). */
	if (st->flags & UP_STATE_REVERT) {
		if (!st->previous) {
			plan_log(ops, PLAN_LOG_WARN, "sealinit: update: a revert was asked for, but %s "
				 "has no previous set; ignoring it", dir);
			u->next.flags &= (uint8_t)~UP_STATE_REVERT;
			u->action = trial ? PLAN_UP_TRIAL : PLAN_UP_BOOT;
			u->write = 1;
			if (trial)
				u->next.trial_left--;
			return;
		}
		u->action = PLAN_UP_REVERT;
		return;
	}
	/* 3. A staged bundle: checked again and applied (the engine falls
	 *    back to plan_update(..., staged = 0) when it refuses it). */
	if (staged) {
		u->action = PLAN_UP_APPLY;
		return;
	}
	/* 4. A set on trial: one attempt spent before it is used, so that a
	 *    set that hangs the boot runs out of attempts. */
	if (trial) {
		u->action = PLAN_UP_TRIAL;
		u->write = 1;
		u->next.trial_left--;
		plan_log(ops, PLAN_LOG_NOTICE, "sealinit: update: release set in %s on trial: boot %u of %u "
			 "(the running system confirms it with sealctl confirm)", dir,
			 (unsigned)(st->trial_total - st->trial_left + 1), (unsigned)st->trial_total);
		return;
	}
	/* 5. A confirmed set: nothing is written. */
	u->action = PLAN_UP_BOOT;
}

int plan_update_fallback(const struct up_state *st, struct plan_update *u,
			 const struct plan_ops *ops)
{
	if ((st->flags & UP_STATE_CONFIRMED) || !st->previous)
		return 0;
	memset(u, 0, sizeof *u);
	rolled_back(st, &u->next);
	snprintf(u->next.outcome_text, sizeof u->next.outcome_text,
		 "its kernel did not reach sealinit (the boot loader fell back)");
	u->action = PLAN_UP_ROLLBACK;
	u->write = 1;
	u->slot = st->previous;
	plan_log(ops, PLAN_LOG_ERR, "sealinit: update: the boot loader fell back to %s: the kernel of the "
		 "release set on trial in %s did not reach sealinit; rolling back to %s; it will not be "
		 "tried again", up_slot_dir(st->previous), up_slot_dir(st->active),
		 up_slot_dir(st->previous));
	return 1;
}
