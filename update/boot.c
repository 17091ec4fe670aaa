/* sealinit update/: the boot's update stage -- what PID 1 runs at every
 * boot, and what the power-loss harness runs on every disk a crash can
 * leave (tests/crash/).  Recovery is this and nothing else: the newest
 * valid copy of each record is taken (up_state_load, the floor store), the
 * decision comes from plan_update() (plan/update.c), and the engine
 * finishes or drops what a crash interrupted (an apply resumes from its
 * checkpoint or starts over out of place; the commit is one record).
 *
 * Every read and write goes through e->fs; the caller provides the
 * engine's memory, its decoder and the hooks that make the preboot volume
 * writable for the writes (a remount in PID 1). */
#include <stdio.h>
#include <string.h>

#include "update/engine.h"

static void line(const struct up_boot *b, int level, const char *what, int r,
		 const struct si_diag *d)
{
	char buf[1024];

	if (!b->e->log)
		return;
	si_error_line(buf, sizeof buf, "update", what, r, d);
	b->e->log(b->e->lctx, level, buf);
	if (*si_err_check(r)) {
		char h[600];

		snprintf(h, sizeof h, "sealinit: hint: %s", si_err_check(r));
		b->e->log(b->e->lctx, level, h);
	}
}

static void say(const struct up_boot *b, int level, const char *text)
{
	if (b->e->log)
		b->e->log(b->e->lctx, level, text);
}

/* What recovery found, when it had to choose between the two copies. */
static void recovery_line(const struct up_boot *b, const char *what,
			  const struct up_record_info *info)
{
	char t[300];

	if (info->copy < 0 || info->other_valid || !info->other_err)
		return;
	snprintf(t, sizeof t, "sealinit: update: %s: copy %d (seq %llu) taken; the other copy "
		 "is damaged (%s) and is rewritten at the next write", what, info->copy,
		 (unsigned long long)info->seq, si_err_meaning(info->other_err));
	say(b, 4, t);
}

static int writable(const struct up_boot *b, int rw)
{
	return b->writable ? b->writable(b->wctx, rw) : 0;
}

/* Commits u->next; on failure the boot goes on without writing: a trial
 * attempt that cannot be counted is not taken (the previous set boots
 * this time), a rollback that cannot be written boots the previous set
 * anyway. */
static void commit(struct up_boot *b, struct plan_update *u)
{
	struct up_engine *e = b->e;
	struct si_diag d;
	int r;

	si_diag_clear(&d);
	r = writable(b, 1);
	if (r == 0) {
		r = up_state_store(e->fs, &u->next, &d);
		if (r)
			line(b, 3, "state record", r, &d);
		if (writable(b, 0) != 0 && r == 0)
			r = SI_E_MOUNT;
	}
	if (r == 0) {
		e->st = u->next;
		return;
	}
	if (u->action == PLAN_UP_TRIAL && e->st.previous) {
		char t[200];

		snprintf(t, sizeof t, "sealinit: update: the trial attempt could not be counted; "
			 "booting the previous set in %s this time", up_slot_dir(e->st.previous));
		say(b, 3, t);
		u->slot = e->st.previous;
	}
}

/* The boot loader's view (loader.env, update/loader.c) follows the state
 * record: rewritten when it says something else -- after this boot's
 * commit, or after a crash between an earlier commit and its rewrite.  A
 * failure is a warning: the file only chooses which signed kernel the
 * loader tries first. */
static void loader_sync(struct up_boot *b)
{
	struct up_engine *e = b->e;
	struct si_diag d;
	int r;

	b->loader_written = 0;
	if (!up_loader_env_needed(e->fs, &e->st))
		return;
	si_diag_clear(&d);
	r = writable(b, 1);
	if (r == 0) {
		r = up_loader_env_write(e->fs, &e->st, &d);
		if (writable(b, 0) != 0 && r == 0)
			r = SI_E_MOUNT;
	}
	if (r)
		line(b, 4, "boot loader state (loader.env)", r, &d);
	else
		b->loader_written = 1;
}

int up_boot_run(struct up_boot *b, struct si_diag *d)
{
	struct up_engine *e = b->e;
	struct up_floor_store file_store;
	const struct up_floor_store *fst = e->floor_store;
	struct up_record_info info;
	struct plan_update u;
	enum si_ftype t = SI_FT_NONE;
	uint64_t sz;
	char text[160];
	int r, staged;

	r = up_state_load(e->fs, &e->st, &info, d);
	if (r) {
		line(b, 3, "state record", r, d);
		return r;
	}
	recovery_line(b, "state record", &info);
	if (!fst) {
		up_floor_store_file(&file_store, e->fs);
		fst = &file_store;
	}
	si_diag_clear(d);
	r = fst->load(fst->ctx, &e->floors, &info, d);
	if (r) {
		line(b, 3, "rollback floors", r, d);
		return r;
	}
	recovery_line(b, "rollback floors", &info);
	if (b->loaded)
		b->loaded(b->wctx, &e->floors);
	si_diag_clear(d);
	staged = e->fs->stat(e->fs->ctx, UP_STAGED_BUNDLE, &t, &sz, d) == 0 && t != SI_FT_NONE;

	if (!b->loader_fallback || !plan_update_fallback(&e->st, &u, b->ops))
		plan_update(b->board, &e->st, staged, &u, b->ops);
	b->engine_ran = b->engine_err = 0;
	if (u.action == PLAN_UP_APPLY || u.action == PLAN_UP_REVERT) {
		r = writable(b, 1);
		if (r == 0) {
			si_diag_clear(d);
			r = u.action == PLAN_UP_APPLY ? up_apply_staged(e, b->plan, d)
						      : up_revert(e, d);
			b->engine_ran = 1;
			b->engine_err = r;
			if (r && b->engine_done)
				b->engine_done(b->wctx, u.action, r, d);
			else if (r)
				line(b, 3, u.action == PLAN_UP_APPLY ? "staged update" : "revert", r, d);
			if (writable(b, 0) != 0 && r == 0)
				r = SI_E_MOUNT;
		}
		if (r) {
			/* refused or failed: recorded and logged by the engine;
			 * this boot decides again without it */
			plan_update(b->board, &e->st, 0, &u, b->ops);
			if (u.action == PLAN_UP_REVERT)
				u.action = PLAN_UP_BOOT;
		} else {
			/* committed: the new active set (an update's first trial
			 * attempt is spent by the commit itself) */
			u.action = PLAN_UP_BOOT;
			u.write = 0;
			u.slot = e->st.active;
		}
	}
	if (u.write)
		commit(b, &u);
	loader_sync(b);
	b->slot = u.slot;
	b->action = u.action;
	snprintf(text, sizeof text, "sealinit: update: booting %s (%s)", up_slot_dir(b->slot),
		 plan_update_action_name(u.action));
	say(b, 6, text);
	si_diag_clear(d);
	return 0;
}
